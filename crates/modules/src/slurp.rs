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

/// Runs `slurp` (modules/slurp.py of ansible-core 2.19.14): the file read as `open()` reads it,
/// its failure named by the error (`cat`'s, in the C locale) as `main()` names the errno.
pub async fn run<R: Remote>(args: &SlurpArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let script = format!("LC_ALL=C cat -- {}\n", qpath(&args.src));
    let out = match call(ctx, &script, None, None).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    if out.rc == Some(0) {
        return ModuleResult::ok()
            .with(
                "content",
                base64::engine::general_purpose::STANDARD.encode(&out.stdout),
            )
            .with("encoding", "base64")
            .with("source", args.src.clone());
    }
    ModuleResult::fail(failure(&args.src, &out.stderr_text()))
}

/// slurp.py's message for `open()`'s errno, read from `cat`'s error.
fn failure(src: &str, stderr: &str) -> String {
    if stderr.contains("No such file or directory") {
        format!("File not found: {src}")
    } else if stderr.contains("Permission denied") {
        format!("File is not readable: {src}")
    } else if stderr.contains("Is a directory") {
        format!("Source is a directory and must be a file: {src}")
    } else {
        // slurp.py's own message: not an f-string, so `{source}` is printed as written.
        "Unable to slurp file: {source}".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::failure;

    #[test]
    fn names_the_errno_as_slurp_py() {
        let f = |e: &str| failure("/x", &format!("cat: /x: {e}\n"));
        assert_eq!(f("No such file or directory"), "File not found: /x");
        assert_eq!(f("Permission denied"), "File is not readable: /x");
        assert_eq!(
            f("Is a directory"),
            "Source is a directory and must be a file: /x"
        );
        assert_eq!(f("Not a directory"), "Unable to slurp file: {source}");
    }
}
