//! `ping`: proves the host runs a command for us (one round trip, `true`) and answers `data`.

use serde_json::Value;

use super::args::{ArgError, Args, Key};
use super::context::ModuleContext;
use super::probe::call;
use super::remote::Remote;
use super::result::ModuleResult;

/// Arguments of `ping`.
#[derive(Debug, Clone, PartialEq)]
pub struct PingArgs {
    /// What to answer (`pong` by default); `crash` makes the module fail, as Ansible's does.
    pub data: String,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[("data", &[])];

impl PingArgs {
    /// Parses and checks the arguments.
    pub fn parse(v: &Value) -> Result<PingArgs, ArgError> {
        let mut a = Args::new("ping", KEYS, v)?;
        let parsed = PingArgs {
            data: a.str("data")?.unwrap_or_else(|| "pong".to_owned()),
        };
        a.finish()?;
        Ok(parsed)
    }
}

/// Runs `ping`: nothing changes, in check mode too; `{"ping": data}`.
pub async fn run<R: Remote>(args: &PingArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    if let Err(r) = call(ctx, "true\n", None, None).await {
        return r;
    }
    if args.data == "crash" {
        // Ansible's module raises `Exception("boom")` here, which ansible-core 2.19 reports as
        // `Task failed: Module failed: boom` (the ping target matches that message).
        return ModuleResult::fail("Task failed: Module failed: boom");
    }
    ModuleResult::ok().with("ping", args.data.clone())
}
