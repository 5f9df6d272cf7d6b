//! `command`, `shell` and `raw`: run what the task says, once; `creates`/`removes` make them
//! idempotent and let check mode predict them, as in Ansible.
//!
//! One round trip: a POSIX sh script changes directory, evaluates `creates`/`removes` (globs
//! `*` and `?` honoured), then `exec`s the command. When the command does not run, the script
//! prints a per-call marker instead, so the command's own output is never mistaken for ours.

use clearfleet_base::time::ansible_timestamp;
use std::time::SystemTime;

use serde_json::{Value, json};

use super::args::{ArgError, Args, Key, extract_kv};
use super::context::ModuleContext;
use super::probe::{call_any, nonce};
use super::remote::{Remote, RemoteOutput};
use super::result::ModuleResult;
use clearfleet_base::shell::quote;
use clearfleet_base::shlex;

/// Arguments of `command` and `shell`.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandArgs {
    /// The command line (`_raw_params` or `cmd`): split with shlex rules for `command`,
    /// given to the shell as is for `shell`.
    pub cmd: Option<String>,
    /// `argv` (command only): the words, each quoted.
    pub argv: Option<Vec<String>>,
    pub chdir: Option<String>,
    pub creates: Option<String>,
    pub removes: Option<String>,
    /// Fed to the command's stdin.
    pub stdin: Option<String>,
    pub stdin_add_newline: bool,
    pub strip_empty_ends: bool,
    /// command: expand `$VAR`, `${VAR}` and a leading `~` in words, as Ansible does.
    pub expand_argument_vars: bool,
    /// shell: the shell to run the command with (default `/bin/sh`).
    pub executable: Option<String>,
}

/// Arguments of `raw`.
#[derive(Debug, Clone, PartialEq)]
pub struct RawArgs {
    /// Sent to the login shell unchanged: raw is the one module whose whole point is an
    /// uninterpreted command line.
    pub cmd: String,
    /// Run as `executable -c 'cmd'` instead.
    pub executable: Option<String>,
}

const FREE_FORM_KEYS: &[&str] = &[
    "chdir",
    "creates",
    "removes",
    "executable",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
    "expand_argument_vars",
];

/// Accepted keys of `command`.
pub const COMMAND_KEYS: &[Key] = &[
    ("_raw_params", &[]),
    ("_uses_shell", &[]),
    ("cmd", &[]),
    ("argv", &[]),
    ("chdir", &[]),
    ("creates", &[]),
    ("removes", &[]),
    ("stdin", &[]),
    ("stdin_add_newline", &[]),
    ("strip_empty_ends", &[]),
    ("expand_argument_vars", &[]),
    ("executable", &[]),
];

/// Accepted keys of `shell` (no `argv`, as in Ansible).
pub const SHELL_KEYS: &[Key] = &[
    ("_raw_params", &[]),
    ("_uses_shell", &[]),
    ("cmd", &[]),
    ("chdir", &[]),
    ("creates", &[]),
    ("removes", &[]),
    ("stdin", &[]),
    ("stdin_add_newline", &[]),
    ("strip_empty_ends", &[]),
    ("executable", &[]),
];

/// Accepted keys of `raw`.
pub const RAW_KEYS: &[Key] = &[("_raw_params", &[]), ("executable", &[])];

/// Ansible's `shell` action refuses `command`'s `expand_argument_vars` when the task runs
/// (plugins/action/shell.py; even set to null), in these words.
pub(super) fn shell_refuses(args: &serde_json::Value) -> Result<(), ArgError> {
    if args.get("expand_argument_vars").is_some() {
        return Err(ArgError::at_run_time(
            Some("expand_argument_vars"),
            "Unsupported parameters for (shell) module: expand_argument_vars",
        ));
    }
    Ok(())
}

/// Moves `k=v` words for known keys out of `_raw_params` (`command: touch x creates=x`).
pub(super) fn lift_free_form(args: &serde_json::Value) -> serde_json::Value {
    let mut args = args.clone();
    if let Some(obj) = args.as_object_mut()
        && let Some(Value::String(raw)) = obj.get("_raw_params").cloned()
    {
        let (rest, kv) = extract_kv(&raw, FREE_FORM_KEYS);
        obj.insert("_raw_params".into(), Value::String(rest));
        for (k, v) in kv {
            obj.entry(k).or_insert(Value::String(v));
        }
    }
    args
}

impl CommandArgs {
    /// Parses `command` (`shell == false`) or `shell` arguments.
    pub fn parse(args: &serde_json::Value, shell: bool) -> Result<CommandArgs, ArgError> {
        let module = if shell { "shell" } else { "command" };
        let keys = if shell { SHELL_KEYS } else { COMMAND_KEYS };
        let lifted = lift_free_form(args);
        if shell {
            shell_refuses(&lifted)?;
        }
        let mut a = Args::new(module, keys, &lifted)?;
        let raw = a.str("_raw_params")?.filter(|s| !s.trim().is_empty());
        a.value("_uses_shell");
        let cmd = a.str("cmd")?.filter(|s| !s.trim().is_empty());
        let argv = if shell { None } else { a.list_str("argv")? };
        let given = [raw.is_some(), cmd.is_some(), argv.is_some()];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(ArgError::general(format!(
                "{module}: parameters are mutually exclusive: cmd|argv|free-form command"
            )));
        }
        let cmd = raw.or(cmd);
        if cmd.is_none() && argv.as_ref().is_none_or(Vec::is_empty) {
            // Ansible's words (AnsibleModule's `required_one_of`), when the task runs.
            return Err(ArgError::at_run_time(
                None,
                "one of the following is required: _raw_params, cmd, argv",
            ));
        }
        if !shell && let Some(c) = &cmd {
            shlex::split(c, false).map_err(|e| ArgError::field("cmd", e.to_string()))?;
        }
        let parsed = CommandArgs {
            cmd,
            argv,
            chdir: a.str("chdir")?,
            creates: a.str("creates")?,
            removes: a.str("removes")?,
            stdin: a.str("stdin")?,
            stdin_add_newline: a.bool("stdin_add_newline", true)?,
            strip_empty_ends: a.bool("strip_empty_ends", true)?,
            expand_argument_vars: a.bool("expand_argument_vars", true)?,
            executable: a.str("executable")?,
        };
        a.finish()?;
        Ok(parsed)
    }

    /// The words `command` runs.
    fn words(&self) -> Vec<String> {
        match (&self.argv, &self.cmd) {
            (Some(v), _) => v.clone(),
            (None, Some(c)) => shlex::split(c, false).unwrap_or_default(),
            (None, None) => Vec::new(),
        }
    }
}

impl RawArgs {
    /// Parses `raw` arguments.
    pub fn parse(args: &serde_json::Value) -> Result<RawArgs, ArgError> {
        let mut a = Args::new("raw", RAW_KEYS, &lift_free_form(args))?;
        let cmd = a
            .str("_raw_params")?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| ArgError::general("raw: no command given"))?;
        let parsed = RawArgs {
            cmd,
            executable: a.str("executable")?,
        };
        a.finish()?;
        Ok(parsed)
    }
}

/// `chdir`, `creates` and `removes`, shared with `script`.
#[derive(Debug, Clone, Default)]
pub(super) struct Guard<'a> {
    pub chdir: Option<&'a str>,
    /// `cd -P`: the directory with its links resolved, as Python's `os.chdir` leaves a
    /// command of the `command`/`shell` modules (`$PWD` is the physical path there); the
    /// `script` action's plain `cd` keeps the path as written.
    pub physical: bool,
    pub creates: Option<&'a str>,
    pub removes: Option<&'a str>,
}

/// Why the command did not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Marker {
    Chdir,
    Creates,
    Removes,
    WouldRun,
    /// `command`/`shell`'s program could not be executed (see [`EXEC_CHECK`]): the errno
    /// Python's `subprocess` would raise, and the words as run, variables expanded.
    Exec {
        errno: i32,
        words: Vec<String>,
    },
    Setup,
}

/// Run before `exec "$@"`: finds the program as Python's `os.execvpe` does (a name with a
/// slash as it is, else the first executable regular file of that name in `$PATH`) and, when
/// there is none, prints `<nonce>:exec<errno>` and the words NUL-separated, and exits 0.
/// Ansible's `run_command` reports that as "Error executing command." with the errno as `rc`
/// and nothing on stdout or stderr (module_utils/basic.py of ansible-core 2.19.14); a shell's
/// own `exec` would print "not found" and exit 127. errno 2 (ENOENT): no such file; 13
/// (EACCES): a directory or a file without execute permission (Python keeps trying the rest of
/// `$PATH` and raises EACCES only if nothing executable follows).
const EXEC_CHECK: &str = r#"_cf_e=
case $1 in
  '') _cf_e=2 ;;
  */*) if [ ! -e "$1" ]; then _cf_e=2; elif [ -d "$1" ] || [ ! -x "$1" ]; then _cf_e=13; fi ;;
  *) _cf_e=2; _cf_ifs=$IFS; IFS=:
     for _cf_d in ${PATH-/bin:/usr/bin}; do
       _cf_f=${_cf_d:-.}/$1
       if [ -f "$_cf_f" ] && [ -x "$_cf_f" ]; then _cf_e=; break; fi
       [ -e "$_cf_f" ] && _cf_e=13
     done
     IFS=$_cf_ifs ;;
esac
"#;

impl Guard<'_> {
    /// The script prefix: exits 0 after printing `<nonce>:<why>` when the command must not
    /// run; with `check`, also when it would.
    pub fn script(&self, nonce: &str, check: bool) -> String {
        let mut s = String::new();
        if let Some(d) = self.chdir {
            s.push_str(&format!(
                "cd {}{} 2>/dev/null || {{ echo {nonce}:chdir; exit 0; }}\n",
                if self.physical { "-P " } else { "" },
                super::probe::qpath(d)
            ));
        }
        if let Some(c) = self.creates {
            s.push_str(&format!(
                "for f in {}; do if [ -e \"$f\" ] || [ -L \"$f\" ]; then echo {nonce}:creates; exit 0; fi; done\n",
                glob_word(c)
            ));
        }
        if let Some(r) = self.removes {
            s.push_str(&format!(
                "_cf_found=; for f in {}; do if [ -e \"$f\" ] || [ -L \"$f\" ]; then _cf_found=1; fi; done\n\
                 [ -n \"$_cf_found\" ] || {{ echo {nonce}:removes; exit 0; }}\n",
                glob_word(r)
            ));
        }
        if check {
            s.push_str(&format!("echo {nonce}:would; exit 0\n"));
        }
        s
    }

    /// The marker the script printed, if the command did not run.
    pub fn marker(out: &RemoteOutput, nonce: &str) -> Option<Marker> {
        let text = String::from_utf8_lossy(&out.stdout);
        let rest = text.trim_end().strip_prefix(nonce)?.strip_prefix(':')?;
        Some(match rest {
            "chdir" => Marker::Chdir,
            "creates" => Marker::Creates,
            "removes" => Marker::Removes,
            "would" => Marker::WouldRun,
            _ => return Some(exec_marker(rest).unwrap_or(Marker::Setup)),
        })
    }

    /// The result for a command that did not run (`None`: it did, or would, run).
    pub fn not_run(&self, marker: &Marker, check: bool) -> Option<ModuleResult> {
        let shoulda = if check { "Would" } else { "Did" };
        Some(match marker {
            Marker::Chdir => ModuleResult::fail(format!(
                "Unable to change directory before execution: {}",
                self.chdir.unwrap_or_default()
            )),
            Marker::Creates => {
                let c = self.creates.unwrap_or_default();
                let mut r = ModuleResult::ok()
                    .with_msg(format!("{shoulda} not run command since '{c}' exists"));
                r.rc = Some(0);
                r.stdout = Some(format!("skipped, since {c} exists"));
                r.stderr = Some(String::new());
                r
            }
            Marker::Removes => {
                let c = self.removes.unwrap_or_default();
                let mut r = ModuleResult::ok().with_msg(format!(
                    "{shoulda} not run command since '{c}' does not exist"
                ));
                r.rc = Some(0);
                r.stdout = Some(format!("skipped, since {c} does not exist"));
                r.stderr = Some(String::new());
                r
            }
            Marker::WouldRun => {
                let mut r =
                    ModuleResult::changed().with_msg("Command would have run if not in check mode");
                r.rc = Some(0);
                r
            }
            Marker::Exec { errno, words } => {
                let mut r = ModuleResult::fail("Error executing command.");
                r.rc = Some(*errno);
                r.stdout = Some(String::new());
                r.stderr = Some(String::new());
                // `_clean_args`: the words shell-quoted and joined.
                let cmd: Vec<String> = words.iter().map(|w| quote(w)).collect();
                r.with("cmd", cmd.join(" "))
            }
            Marker::Setup => return None,
        })
    }
}

/// `exec<errno>\n` and the NUL-separated words [`EXEC_CHECK`] printed after the nonce.
fn exec_marker(rest: &str) -> Option<Marker> {
    let (head, words) = rest.strip_prefix("exec")?.split_once('\n')?;
    Some(Marker::Exec {
        errno: head.parse().ok()?,
        words: words
            .split('\0')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// A path pattern as one shell word: literal parts quoted, `*` and `?` left to the shell.
fn glob_word(pattern: &str) -> String {
    let mut out = String::new();
    let mut lit = String::new();
    for c in pattern.chars() {
        if c == '*' || c == '?' {
            if !lit.is_empty() {
                out.push_str(&quote(&std::mem::take(&mut lit)));
            }
            out.push(c);
        } else {
            lit.push(c);
        }
    }
    if !lit.is_empty() || out.is_empty() {
        out.push_str(&quote(&lit));
    }
    if out.starts_with('-') {
        out.insert_str(0, "./");
    }
    out
}

/// One `command` word: quoted, with `$VAR`/`${VAR}` and a leading `~` expanded by the remote
/// shell inside double quotes (so no other expansion happens). An unset variable stays as
/// written, like Python's `os.path.expandvars`.
pub(super) fn expand_word(w: &str) -> String {
    if !w.contains('$') && !w.starts_with('~') {
        return quote(w);
    }
    let mut out = String::new();
    let mut rest = w;
    if rest == "~" || rest.starts_with("~/") {
        out.push_str("\"$HOME\"");
        rest = &rest[1..];
    }
    out.push('"');
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '$' {
            let tail = &rest[i + 1..];
            let (name, used, braced) = if let Some(inner) = tail.strip_prefix('{') {
                match inner.find('}') {
                    Some(end) if is_ident(&inner[..end]) => (&inner[..end], end + 2, true),
                    _ => ("", 0, false),
                }
            } else {
                let end = tail
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(tail.len());
                (&tail[..end], end, false)
            };
            if is_ident(name) {
                // Unset, the word keeps the text as written: `$NAME` or `${NAME}`.
                if braced {
                    out.push_str(&format!("${{{name}-\\${{{name}\\}}}}"));
                } else {
                    out.push_str(&format!("${{{name}-\\${name}}}"));
                }
                for _ in 0..used {
                    chars.next();
                }
                continue;
            }
        }
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn is_ident(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A `command` or `shell` call made ready to run: the script (guard, then `exec` of the
/// command), what it feeds the command, and how its result is read back. The foreground run
/// and the background job of `async` (`async_job`) share it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Prepared {
    /// The per-call marker the guard prints when the command does not run.
    pub nonce: String,
    pub script: String,
    pub stdin: Option<Vec<u8>>,
    /// `cmd` of the result: the shell line, or the words.
    pub cmd: Value,
    pub strip_empty_ends: bool,
    pub chdir: Option<String>,
    pub creates: Option<String>,
    pub removes: Option<String>,
    pub check_mode: bool,
}

impl Prepared {
    /// `args` made ready.
    pub fn new(
        args: &CommandArgs,
        shell: bool,
        check_mode: bool,
    ) -> Result<Prepared, Box<ModuleResult>> {
        let nonce = nonce()?;
        let guard = Guard {
            chdir: args.chdir.as_deref(),
            physical: true,
            creates: args.creates.as_deref(),
            removes: args.removes.as_deref(),
        };
        let mut script = guard.script(&nonce, check_mode);
        let (line, cmd) = if shell {
            let c = args.cmd.clone().unwrap_or_default();
            let exe = args.executable.as_deref().unwrap_or("/bin/sh");
            (format!("{} -c {}", quote(exe), quote(&c)), json!(c))
        } else {
            let words = args.words();
            let line: Vec<String> = words
                .iter()
                .map(|w| {
                    if args.expand_argument_vars {
                        expand_word(w)
                    } else {
                        quote(w)
                    }
                })
                .collect();
            (line.join(" "), json!(words))
        };
        script.push_str(&format!(
            "set -- {line}\n{EXEC_CHECK}[ -z \"$_cf_e\" ] || {{ printf '%s:exec%s\\n' {nonce} \"$_cf_e\"; printf '%s\\0' \"$@\"; exit 0; }}\nexec \"$@\"\n"
        ));
        let stdin = args.stdin.as_ref().map(|s| {
            let mut s = s.clone();
            if args.stdin_add_newline {
                s.push('\n');
            }
            s.into_bytes()
        });
        Ok(Prepared {
            nonce,
            script,
            stdin,
            cmd,
            strip_empty_ends: args.strip_empty_ends,
            chdir: args.chdir.clone(),
            creates: args.creates.clone(),
            removes: args.removes.clone(),
            check_mode,
        })
    }

    /// Whether the script runs at all: not in check mode without `creates`/`removes`, where
    /// nothing on the host can tell what the command would do (the result is then
    /// [`Prepared::would_run`]'s).
    pub fn runs(&self) -> bool {
        !self.check_mode || self.creates.is_some() || self.removes.is_some()
    }

    /// What a background job keeps of it on the host, to read its result back with
    /// [`Prepared::from_json`] (the script and stdin have run by then).
    pub fn to_json(&self) -> Value {
        json!({
            "nonce": self.nonce,
            "cmd": self.cmd,
            "strip_empty_ends": self.strip_empty_ends,
            "chdir": self.chdir,
            "creates": self.creates,
            "removes": self.removes,
            "check_mode": self.check_mode,
        })
    }

    /// What [`Prepared::to_json`] kept (`None`: not that shape).
    pub fn from_json(v: &Value) -> Option<Prepared> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(Prepared {
            nonce: s("nonce")?,
            script: String::new(),
            stdin: None,
            cmd: v.get("cmd")?.clone(),
            strip_empty_ends: v.get("strip_empty_ends")?.as_bool()?,
            chdir: s("chdir"),
            creates: s("creates"),
            removes: s("removes"),
            check_mode: v.get("check_mode")?.as_bool()?,
        })
    }

    /// The result of check mode without `creates`/`removes`: skipped, with the fields of
    /// Ansible's (`rc` 0, empty output, no times).
    pub fn would_run(&self) -> ModuleResult {
        let mut r = ModuleResult::skipped_check("Command would have run if not in check mode");
        r.rc = Some(0);
        r.stdout = Some(String::new());
        r.stderr = Some(String::new());
        r.with("cmd", self.cmd.clone())
            .with("start", Value::Null)
            .with("end", Value::Null)
            .with("delta", Value::Null)
    }

    /// The result of the script's run, from what it printed and when it started and ended.
    pub fn result(&self, out: RemoteOutput, start: SystemTime, end: SystemTime) -> ModuleResult {
        if !self.runs() {
            return self.would_run();
        }
        let guard = Guard {
            chdir: self.chdir.as_deref(),
            physical: true,
            creates: self.creates.as_deref(),
            removes: self.removes.as_deref(),
        };
        if let Some(m) = Guard::marker(&out, &self.nonce)
            && let Some(r) = guard.not_run(&m, self.check_mode)
        {
            return if r.data.contains_key("cmd") {
                r
            } else {
                r.with("cmd", self.cmd.clone())
            };
        }
        finish(out, self.strip_empty_ends, start, end).with("cmd", self.cmd.clone())
    }
}

/// Runs `command` or `shell`. `command` ignores `executable`, with Ansible's warning.
pub async fn run_command<R: Remote>(
    args: &CommandArgs,
    shell: bool,
    ctx: &ModuleContext<'_, R>,
) -> ModuleResult {
    let mut r = command_result(args, shell, ctx).await;
    if !shell && let Some(exe) = &args.executable {
        r.warnings.push(format!(
            "As of Ansible 2.4, the parameter 'executable' is no longer supported with the 'command' module. Not using '{exe}'."
        ));
    }
    r
}

async fn command_result<R: Remote>(
    args: &CommandArgs,
    shell: bool,
    ctx: &ModuleContext<'_, R>,
) -> ModuleResult {
    let p = match Prepared::new(args, shell, ctx.check_mode) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    if !p.runs() {
        return p.would_run();
    }
    let start = now();
    let out = match call_any(ctx, &p.script, p.stdin.clone(), None).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let end = now();
    p.result(out, start, end)
}

/// Runs `raw`. Check mode: skipped.
pub async fn run_raw<R: Remote>(args: &RawArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    if ctx.check_mode {
        return ModuleResult::skipped_check("raw does not support check mode");
    }
    let line = match &args.executable {
        Some(exe) => format!("{} -c {}", quote(exe), quote(&args.cmd)),
        None => args.cmd.clone(),
    };
    let start = now();
    let out = match ctx.remote.run(&line, None, None).await {
        Ok(o) => o,
        Err(e) => return ModuleResult::from_remote_error(&e),
    };
    let end = now();
    let mut r = finish(out, false, start, end);
    r.data.remove("start");
    r.data.remove("end");
    r.data.remove("delta");
    r
}

/// The result of a command that ran: `changed`, rc, output, timing.
pub(super) fn finish(
    out: RemoteOutput,
    strip: bool,
    start: SystemTime,
    end: SystemTime,
) -> ModuleResult {
    let text = |b: &[u8]| {
        let s = String::from_utf8_lossy(b).into_owned();
        if strip {
            s.trim_end_matches(['\r', '\n']).to_owned()
        } else {
            s
        }
    };
    let mut r = ModuleResult::changed().with_truncation(&out.truncation);
    r.stdout = Some(text(&out.stdout));
    r.stderr = Some(text(&out.stderr));
    r.rc = out.rc;
    match out.rc {
        Some(0) => r.msg = Some(String::new()),
        Some(_) => {
            r.failed = true;
            r.msg = Some("non-zero return code".into());
        }
        None => {
            r.failed = true;
            r.rc = Some(-1);
            r.msg = Some("command was killed by a signal".into());
        }
    }
    // Output cut at the limit fails the task (its output is not all there), unless the task
    // says otherwise (`failed_when`, `ignore_errors`).
    if let Some(why) = out.truncation.message() {
        r.failed = true;
        r.msg = Some(why);
    }
    let delta = end.duration_since(start).unwrap_or_default();
    r.with("start", ansible_timestamp(start))
        .with("end", ansible_timestamp(end))
        .with(
            "delta",
            format!(
                "{}:{:02}:{:02}.{:06}",
                delta.as_secs() / 3600,
                delta.as_secs() / 60 % 60,
                delta.as_secs() % 60,
                delta.subsec_micros()
            ),
        )
}

fn now() -> SystemTime {
    SystemTime::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Python's `shlex.split`, as Ansible's command module splits: a backslash in `"…"` stays
    /// before `$` (the old copy here dropped it), and `\<newline>` outside quotes is a newline.
    #[test]
    fn command_lines_split_like_python() {
        let words = |line: &str| {
            CommandArgs::parse(&serde_json::json!({ "_raw_params": line }), false)
                .map(|c| c.words())
        };
        assert_eq!(
            words(r#"echo "a \$HOME" 'b c'"#),
            Ok(vec![
                "echo".to_owned(),
                r"a \$HOME".to_owned(),
                "b c".to_owned()
            ])
        );
        assert_eq!(
            words("printf a\\\nb"),
            Ok(vec!["printf".to_owned(), "a\nb".to_owned()])
        );
        assert!(words("echo 'open").is_err());
    }

    #[test]
    fn words_are_quoted_and_vars_expanded_safely() {
        assert_eq!(expand_word("a b"), "'a b'");
        assert_eq!(expand_word("$HOME/x"), "\"${HOME-\\$HOME}/x\"");
        assert_eq!(expand_word("${HOME}x"), "\"${HOME-\\${HOME\\}}x\"");
        assert_eq!(expand_word("~/x"), "\"$HOME\"\"/x\"");
        assert_eq!(expand_word("$(id)`id`\"$"), "\"\\$(id)\\`id\\`\\\"\\$\"");
    }

    #[test]
    fn globs_keep_literals_quoted() {
        assert_eq!(glob_word("/tmp/a b/*.txt"), "'/tmp/a b/'*.txt");
        assert_eq!(glob_word("/x;y"), "'/x;y'");
        assert_eq!(glob_word(""), "''");
    }

    /// [`EXEC_CHECK`] under this machine's `sh`: `$PATH` searched as `os.execvpe` searches it.
    #[test]
    fn the_exec_check_searches_path_as_python() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = |n: &str| dir.path().join(n).display().to_string();
        for sub in ["a/tool", "b", "c"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("dir");
        }
        std::fs::write(dir.path().join("b/tool"), "#!/bin/sh\n").expect("tool");
        std::fs::write(dir.path().join("c/tool"), "#!/bin/sh\n").expect("tool");
        std::fs::write(dir.path().join("c/plain"), "").expect("plain");
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            dir.path().join("c/tool"),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
        let errno = |path: &str, word: &str| {
            let out = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(format!(
                    "set -- {}\n{EXEC_CHECK}echo \"$_cf_e\"",
                    quote(word)
                ))
                .env("PATH", path)
                .output()
                .expect("sh");
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        let path = [d("a"), d("b"), d("c")].join(":");
        // A directory and a file without the execute bit come first; the executable one wins.
        assert_eq!(errno(&path, "tool"), "");
        // Only a directory and a non-executable file: EACCES.
        assert_eq!(errno(&[d("a"), d("b")].join(":"), "tool"), "13");
        assert_eq!(errno(&path, "plain"), "13");
        assert_eq!(errno(&path, "nothing"), "2");
        assert_eq!(errno(&path, ""), "2");
        assert_eq!(errno(&path, &d("c/tool")), "");
        assert_eq!(errno(&path, &d("c")), "13");
        assert_eq!(errno(&path, &d("c/nothing")), "2");
        // A word with IFS characters and globs stays one word.
        assert_eq!(errno(&path, "to ol*"), "2");
    }
}
