//! How `service` and `systemd` run their commands on the host: one command line per round
//! trip, split into words as Python's `shlex.split` splits the string the modules build
//! (`"%s %s %s" % (svc_cmd, action, arguments)`), each word quoted for the host's shell.
//!
//! - [`Exec::plain`]: `AnsibleModule.run_command` (the task's environment, plus the parsable
//!   locale where `service.py`'s `execute_command` adds it).
//! - [`Exec::daemonized`]: `execute_command(cmd, daemonize=True)`, which `service.py` uses for
//!   every start, stop, reload and status: the command runs from `/`, in a new session where
//!   `setsid` exists, with an environment of the locale alone (`Popen(env=lang_env)`: no PATH,
//!   nothing of the task's), its output collected in files so a daemon that keeps them open does
//!   not hold the connection, its stdin `/dev/null`.

use super::context::ModuleContext;
use super::probe::call;
use super::remote::Remote;
use super::result::ModuleResult;
use clearfleet_base::shell::quote;

/// What a command gave: Python's `(rc, stdout, stderr)`, the output as text, untrimmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ran {
    pub rc: i32,
    pub out: String,
    pub err: String,
}

/// The words of `cmd` quoted for the shell, as `run_command` splits a string.
pub fn words(cmd: &str) -> Result<String, clearfleet_base::shlex::ShlexError> {
    let words = clearfleet_base::shlex::split(cmd, false)?;
    Ok(words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" "))
}

/// The runner of one module call's commands.
pub struct Exec<'a, 'c, R: Remote> {
    pub ctx: &'a ModuleContext<'c, R>,
    /// `get_best_parsable_locale`'s choice on the host (`None`: the module adds no locale).
    pub locale: Option<String>,
    /// Shell lines run before each command (`systemd`'s `XDG_RUNTIME_DIR`).
    pub prelude: &'static str,
}

impl<R: Remote> Exec<'_, '_, R> {
    /// `run_command(cmd)` with the locale, if any, added to the environment.
    pub async fn plain(&self, cmd: &str) -> Result<Ran, ModuleResult> {
        let argv = words(cmd).map_err(|e| ModuleResult::fail(e.to_string()))?;
        let locale = match &self.locale {
            Some(l) => {
                let l = quote(l);
                format!("LANG={l} LC_ALL={l} LC_MESSAGES={l}; export LANG LC_ALL LC_MESSAGES\n")
            }
            None => String::new(),
        };
        let script = format!("{}{locale}exec {argv}\n", self.prelude);
        self.ran(&script).await
    }

    /// `execute_command(cmd, daemonize=True)`: the locale alone as environment.
    pub async fn daemonized(&self, cmd: &str) -> Result<Ran, ModuleResult> {
        let l = quote(self.locale.as_deref().unwrap_or("C"));
        self.detached(cmd, &format!("env -i LANG={l} LC_ALL={l} LC_MESSAGES={l} "))
            .await
    }

    /// `module_utils.service.daemonize(module, cmd)` (`sysvinit`'s `daemonize: true`): as
    /// [`Exec::daemonized`], with the environment kept.
    pub async fn daemonized_keep_env(&self, cmd: &str) -> Result<Ran, ModuleResult> {
        self.detached(cmd, "").await
    }

    /// `cmd` from `/`, in a new session, its output through files.
    async fn detached(&self, cmd: &str, env: &str) -> Result<Ran, ModuleResult> {
        let argv = words(cmd).map_err(|e| ModuleResult::fail(e.to_string()))?;
        let script = format!(
            "{prelude}cd / || exit 1\n\
             t=$(mktemp -d) || exit 1\n\
             if command -v setsid >/dev/null 2>&1; then set -- setsid; else set --; fi\n\
             \"$@\" {env}{argv} </dev/null >\"$t/o\" 2>\"$t/e\"\n\
             rc=$?\n\
             cat \"$t/o\"; cat \"$t/e\" >&2; rm -rf \"$t\"\n\
             exit $rc\n",
            prelude = self.prelude
        );
        self.ran(&script).await
    }

    async fn ran(&self, script: &str) -> Result<Ran, ModuleResult> {
        let out = call(self.ctx, script, None, None).await?;
        Ok(Ran {
            rc: out.rc.unwrap_or(-1),
            out: String::from_utf8_lossy(&out.stdout).into_owned(),
            err: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// `get_best_parsable_locale` from `locale -a`'s lines: the first of Ansible's preferences the
/// host has, else `C`.
pub fn best_locale(available: &[&str]) -> String {
    [
        "C.utf8",
        "C.UTF-8",
        "en_US.utf8",
        "en_US.UTF-8",
        "C",
        "POSIX",
    ]
    .into_iter()
    .find(|p| available.contains(p))
    .unwrap_or("C")
    .to_owned()
}

/// Python's `str.splitlines()`: breaks at `\n`, `\r`, `\r\n`, `\v`, `\f`, `\x1c`-`\x1e`,
/// `\x85`, `\u2028` and `\u2029`; no empty last line after a final break.
pub fn splitlines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let brk = matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if !brk {
            continue;
        }
        out.push(&s[start..i]);
        start = i + c.len_utf8();
        if c == '\r' && chars.peek().is_some_and(|(_, n)| *n == '\n') {
            chars.next();
            start += 1;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_split_as_shlex_and_quoted() {
        assert_eq!(
            words("/usr/sbin/service x start  'a b'").ok(),
            Some("/usr/sbin/service x start 'a b'".to_owned())
        );
        assert!(words("a 'b").is_err());
    }

    #[test]
    fn the_locale_is_ansibles_first_preference() {
        assert_eq!(best_locale(&["C", "C.utf8", "POSIX"]), "C.utf8");
        assert_eq!(best_locale(&["en_US.UTF-8", "C"]), "en_US.UTF-8");
        assert_eq!(best_locale(&[]), "C");
    }

    #[test]
    fn lines_split_as_python() {
        assert_eq!(splitlines("a\r\nb\rc\n"), ["a", "b", "c"]);
        assert_eq!(splitlines("a\x0cb\u{2028}c\r"), ["a", "b", "c"]);
        assert_eq!(splitlines("a\n\nb"), ["a", "", "b"]);
        assert!(splitlines("").is_empty());
    }
}
