//! `tempfile`: a new temporary file or directory on the host (`mktemp`), and the path's
//! attributes as Ansible returns them. It always changes something, so check mode skips it
//! (Ansible's module does not support check mode).

use serde_json::Value;

use super::args::{ArgError, Args, Key};
use super::context::ModuleContext;
use super::probe::{Probe, call, probe, qpath};
use super::remote::Remote;
use super::result::ModuleResult;
use clearfleet_base::shell::quote;

/// Arguments of `tempfile`.
#[derive(Debug, Clone, PartialEq)]
pub struct TempfileArgs {
    /// A directory rather than a file (`state: directory`).
    pub directory: bool,
    /// Where to create it; the host's temporary directory (`$TMPDIR`, else `/tmp`) without.
    pub path: Option<String>,
    pub prefix: String,
    pub suffix: String,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("state", &[]),
    ("path", &[]),
    ("prefix", &[]),
    ("suffix", &[]),
];

impl TempfileArgs {
    /// Parses and checks the arguments (a prefix or suffix must be a file name component).
    pub fn parse(v: &Value) -> Result<TempfileArgs, ArgError> {
        let mut a = Args::new("tempfile", KEYS, v)?;
        let state = a.choice("state", &["file", "directory"], Some("file"))?;
        let parsed = TempfileArgs {
            directory: state.as_deref() == Some("directory"),
            path: a.str("path")?,
            prefix: a.str("prefix")?.unwrap_or_else(|| "ansible.".to_owned()),
            suffix: a.str("suffix")?.unwrap_or_default(),
        };
        a.finish()?;
        for (key, value) in [("prefix", &parsed.prefix), ("suffix", &parsed.suffix)] {
            if value.contains('/') {
                return Err(ArgError::general(format!(
                    "{key} must be a valid file name component, got {}",
                    clearfleet_base::python_json::repr_str(value)
                )));
            }
        }
        Ok(parsed)
    }
}

/// The directory as a shell word: `~` and `~/…` are the login's HOME, as Ansible's `path` type
/// expands them on the host.
fn dir_word(path: Option<&str>) -> String {
    match path {
        None => "\"${TMPDIR:-/tmp}\"".to_owned(),
        Some("~") => "\"$HOME\"".to_owned(),
        Some(p) => match p.strip_prefix("~/") {
            Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
            None => qpath(p),
        },
    }
}

/// Runs `tempfile`: `mktemp` (8 random characters between prefix and suffix, mode 0600 for a
/// file, 0700 for a directory), then one stat of what it made.
pub async fn run<R: Remote>(args: &TempfileArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    if ctx.check_mode {
        return ModuleResult::skipped_check("tempfile does not support check mode");
    }
    let script = format!(
        "mktemp {}-p {} --suffix={} {}\n",
        if args.directory { "-d " } else { "" },
        dir_word(args.path.as_deref()),
        quote(&args.suffix),
        quote(&format!("{}XXXXXXXX", args.prefix)),
    );
    let out = match call(ctx, &script, None, None).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let path = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
    if out.rc != Some(0) || path.is_empty() {
        return ModuleResult::fail(format!(
            "cannot create a temporary {}: {}",
            if args.directory { "directory" } else { "file" },
            out.stderr_text()
        ));
    }
    let info = match probe(ctx, &[Probe::stat(&path)]).await {
        Ok(p) => p.infos.into_iter().next().unwrap_or_default(),
        Err(r) => return r,
    };
    info.add_path_info(ModuleResult::changed().with("path", path))
}
