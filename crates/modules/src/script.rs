//! `script`: run a controller-side script on the host, without leaving it there.
//!
//! One round trip: the script travels on stdin into a `mktemp` file, is made executable and
//! run (after `chdir`, `creates`/`removes` as in `command`), then removed by a trap. Arguments
//! after the script path are split with shlex rules and each is quoted (Ansible passes them to
//! the remote shell unquoted: `$VAR` in them is not expanded here).

use std::path::Path;

use serde_json::Value;

use super::args::{ArgError, Args, Key};
use super::command::{Guard, Marker, finish, lift_free_form};
use super::context::ModuleContext;
use super::copy::read_source;
use super::probe::{call_any, nonce};
use super::remote::Remote;
use super::result::ModuleResult;
use clearfleet_base::shell::quote;
use clearfleet_base::shlex;

/// Arguments of `script`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptArgs {
    /// The controller-side script (relative: `files/`, then the playbook dir).
    pub path: String,
    /// Its arguments.
    pub args: Vec<String>,
    pub chdir: Option<String>,
    pub creates: Option<String>,
    pub removes: Option<String>,
    /// Run the script with this interpreter (`python3`) instead of its shebang.
    pub executable: Option<String>,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("_raw_params", &[]),
    ("cmd", &[]),
    ("chdir", &[]),
    ("creates", &[]),
    ("removes", &[]),
    ("executable", &[]),
    ("decrypt", &[]),
];

impl ScriptArgs {
    /// Parses and checks the arguments.
    pub fn parse(v: &Value) -> Result<ScriptArgs, ArgError> {
        let mut a = Args::new("script", KEYS, &lift_free_form(v))?;
        let raw = a.str("_raw_params")?.filter(|s| !s.trim().is_empty());
        let cmd = a.str("cmd")?.filter(|s| !s.trim().is_empty());
        if raw.is_some() && cmd.is_some() {
            return Err(ArgError::general(
                "script: parameters are mutually exclusive: cmd|free-form",
            ));
        }
        // Ansible's words (`required_one_of`).
        let line = raw.or(cmd).ok_or_else(|| {
            ArgError::general("one of the following is required: _raw_params, cmd")
        })?;
        let mut words = shlex::split(&line, false)
            .map_err(|e| ArgError::field("cmd", e.to_string()))?
            .into_iter();
        let path = words
            .next()
            .ok_or_else(|| ArgError::general("script: no script given"))?;
        let parsed = ScriptArgs {
            path,
            args: words.collect(),
            chdir: a.str("chdir")?,
            creates: a.str("creates")?,
            removes: a.str("removes")?,
            executable: a.str("executable")?,
        };
        a.bool("decrypt", true)?;
        a.finish()?;
        Ok(parsed)
    }
}

/// Runs `script`. Check mode: skipped unless `creates`/`removes` decide.
pub async fn run<R: Remote>(args: &ScriptArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let guard = Guard {
        chdir: args.chdir.as_deref(),
        physical: false,
        creates: args.creates.as_deref(),
        removes: args.removes.as_deref(),
    };
    if ctx.check_mode && args.creates.is_none() && args.removes.is_none() {
        return ModuleResult::action_skip("Check mode is not supported for this task.");
    }
    let (body, _) = match read_source(ctx, &args.path, "files").await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let n = match nonce() {
        Ok(n) => n,
        Err(r) => return *r,
    };
    let mut script = guard.script(&n, ctx.check_mode);
    let name = Path::new(&args.path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmpl = quote(&format!(
        "clearfleet-{}.XXXXXXXX",
        name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '.', "_")
    ));
    script.push_str(&format!(
        "t=$(mktemp \"${{TMPDIR:-/tmp}}/\"{tmpl}) || {{ echo {n}:setup; exit 0; }}\n\
         trap 'rm -f \"$t\"' EXIT\n\
         cat > \"$t\" && chmod 700 \"$t\" || {{ echo {n}:setup; exit 0; }}\n"
    ));
    let mut line = match &args.executable {
        Some(exe) => format!("{} \"$t\"", quote(exe)),
        None => "\"$t\"".to_owned(),
    };
    for a in &args.args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    script.push_str(&format!("{line} < /dev/null\n"));
    let start = std::time::SystemTime::now();
    let out = match call_any(ctx, &script, Some(body), None).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let end = std::time::SystemTime::now();
    match Guard::marker(&out, &n) {
        Some(Marker::Setup) => ModuleResult::fail(format!(
            "could not upload the script: {}",
            out.stderr_text()
        )),
        // Ansible's script action skips on `creates`/`removes` (in check mode too), and in
        // check mode reports only `changed` for a script that would run.
        Some(Marker::Creates) => ModuleResult::action_skip(format!(
            "{} exists, matching creates option",
            args.creates.as_deref().unwrap_or_default()
        )),
        Some(Marker::Removes) => ModuleResult::action_skip(format!(
            "{} does not exist, matching removes option",
            args.removes.as_deref().unwrap_or_default()
        )),
        Some(Marker::WouldRun) => ModuleResult::changed(),
        Some(m) => guard.not_run(&m, ctx.check_mode).unwrap_or_default(),
        None => {
            // The script action's result has no `start`, `end` or `delta`, and a `msg` only
            // when the script failed (script.py: `msg='non-zero return code'`).
            let mut r = finish(out, false, start, end);
            for k in ["start", "end", "delta"] {
                r.data.remove(k);
            }
            if !r.failed {
                r.msg = None;
            }
            r
        }
    }
}
