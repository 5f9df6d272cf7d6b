//! `slurp`: a remote file's content, base64-encoded, in one round trip (`cat`; encoded here).

use base64::Engine;
use serde_json::Value;

use super::args::{ArgError, Args, Key};
use super::context::ModuleContext;
use super::probe::{call, qpath};
use super::remote::Remote;
use super::result::ModuleResult;

/// Arguments of `slurp`.
#[derive(Debug, Clone, PartialEq)]
pub struct SlurpArgs {
    pub src: String,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[("src", &["path"])];

impl SlurpArgs {
    /// Parses and checks the arguments.
    pub fn parse(v: &Value) -> Result<SlurpArgs, ArgError> {
        let mut a = Args::new("slurp", KEYS, v)?;
        let parsed = SlurpArgs {
            src: a.req_str("src")?,
        };
        a.finish()?;
        Ok(parsed)
    }
}

/// Runs `slurp`: exit 2 means missing, 3 a directory, 4 unreadable.
pub async fn run<R: Remote>(args: &SlurpArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let script = format!(
        "p={}\n[ -e \"$p\" ] || exit 2\n[ -d \"$p\" ] && exit 3\ncat \"$p\" || exit 4\n",
        qpath(&args.src)
    );
    let out = match call(ctx, &script, None, None).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    match out.rc {
        Some(0) => ModuleResult::ok()
            .with(
                "content",
                base64::engine::general_purpose::STANDARD.encode(&out.stdout),
            )
            .with("encoding", "base64")
            .with("source", args.src.clone()),
        Some(2) => ModuleResult::fail(format!("file not found: {}", args.src)),
        Some(3) => ModuleResult::fail(format!(
            "source is a directory and must be a file: {}",
            args.src
        )),
        _ => ModuleResult::fail(format!(
            "unable to slurp file {}: {}",
            args.src,
            out.stderr_text()
        )),
    }
}
