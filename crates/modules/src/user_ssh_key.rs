//! `user`'s `generate_ssh_key`: the account's SSH key pair made with `ssh-keygen` when it is
//! missing (or replaced, with `force`), and reported (`ssh_fingerprint`, `ssh_key_file`,
//! `ssh_public_key`), as `ssh_key_gen`, `ssh_key_fingerprint`, `get_ssh_key_path` and
//! `get_ssh_public_key` of ansible-core 2.19.14's lib/ansible/modules/user.py do. One shell
//! script both decides and (outside a dry run) acts, so the look-up (dry: check mode, or
//! whether a second round trip is needed) and the apply never disagree on what is to be done.

use super::args::{ArgError, Args, Secret};
use super::result::ModuleResult;
use clearfleet_base::shell::quote;

/// The shell variable the passphrase is read into from stdin (never on the session's command
/// line; `ssh-keygen -N` gets it as its argument).
pub const PASSPHRASE_VAR: &str = "cf_key_secret";

/// The key options of `user` (given with `generate_ssh_key: true`).
#[derive(Debug, Clone, PartialEq)]
pub struct SshKeyArgs {
    /// `ssh_key_bits`; 0 (the default) leaves it to `ssh-keygen`.
    pub bits: i64,
    /// `ssh_key_type` (default `rsa`).
    pub kind: String,
    /// `ssh_key_file`: relative to the account's home unless absolute; default `.ssh/id_<type>`.
    pub file: String,
    /// `ssh_key_comment`; `None`: user.py's default, `ansible-generated on <host name>` (the
    /// host's `socket.gethostname()`, `uname -n` here).
    pub comment: Option<String>,
    pub passphrase: Option<Secret>,
}

impl SshKeyArgs {
    /// The key options of `a` (every one is read, so none is left over): `None` unless
    /// `generate_ssh_key` is true.
    pub fn parse(a: &mut Args) -> Result<Option<SshKeyArgs>, ArgError> {
        let generate = a.bool("generate_ssh_key", false)?;
        let bits = a.int("ssh_key_bits")?.unwrap_or(0);
        let kind = a.str("ssh_key_type")?.unwrap_or_else(|| "rsa".to_owned());
        let file = a
            .str("ssh_key_file")?
            .unwrap_or_else(|| format!(".ssh/id_{kind}"));
        let comment = a.str("ssh_key_comment")?;
        let passphrase = a.str("ssh_key_passphrase")?.map(Secret);
        // user.py types it into ssh-keygen's prompt, where a line break ends it.
        if passphrase
            .as_ref()
            .is_some_and(|p| p.0.contains(['\n', '\r']))
        {
            return Err(ArgError::field(
                "ssh_key_passphrase",
                "a passphrase cannot hold a line break",
            ));
        }
        Ok(generate.then_some(SshKeyArgs {
            bits,
            kind,
            file,
            comment,
            passphrase,
        }))
    }

    /// The script that makes the key of account `name` unless it exists (`force`: replaces
    /// it), then reports it, its events on lines `MARK-k EVENT` ([`KeyReport::parse`]). `dry`:
    /// only says what it would do, as user.py does in check mode (a missing `.ssh` directory
    /// is a change and the end; a missing home is no error). Outside a dry run the passphrase
    /// is read from `$cf_key_secret`, and `cf_kfail=1` is set when the key could not be made.
    pub fn script(&self, name: &str, force: bool, dry: bool, mark: &str) -> String {
        let m = format!("{mark}-k");
        let file = quote(&self.file);
        // os.path.join(home, file) for a relative file.
        let (path, relative) = if self.file.starts_with('/') {
            (format!("k={file}\n"), false)
        } else {
            (
                format!(
                    "case $cf_home in '') k={file};; */) k=\"$cf_home\"{file};; \
                     *) k=\"$cf_home/\"{file};; esac\n"
                ),
                true,
            )
        };
        let mut s = format!(
            "cf_pw=$(getent passwd -- {name} | head -n 1)\n\
             cf_home=$(printf '%s\\n' \"$cf_pw\" | cut -d: -f6)\n\
             cf_owner=$(printf '%s\\n' \"$cf_pw\" | cut -d: -f3,4)\n\
             {path}\
             d=${{k%/*}}; [ -n \"$d\" ] || d=/\n\
             echo {m} path; printf '%s\\n' \"$k\"\n\
             cf_go=1\n",
            name = quote(name),
        );
        if relative && !dry {
            s.push_str(&format!(
                "if [ ! -e \"$cf_home\" ]; then echo {m} nohome; cf_go=0; cf_kfail=1\n"
            ));
        } else {
            s.push_str("if false; then :\n");
        }
        if dry {
            s.push_str(&format!(
                "elif [ ! -e \"$d\" ]; then echo {m} gen; cf_go=0\nfi\n"
            ));
        } else {
            s.push_str(&format!(
                "elif [ ! -e \"$d\" ]; then\n\
                 if ! cf_err=$( {{ mkdir -m 700 -- \"$d\" && chown -- \"$cf_owner\" \"$d\"; }} 2>&1 ); then\n\
                 echo {m} mkdir; echo {m} err; printf '%s\\n' \"$cf_err\"; cf_go=0; cf_kfail=1\n\
                 fi\n\
                 fi\n"
            ));
        }
        let (key_exists, pub_exists) = if force {
            (
                format!("echo {m} warn-key-force; cf_y=y"),
                format!(
                    "echo {m} warn-pub-force{}",
                    if dry { "" } else { "; rm -f -- \"$k.pub\"" }
                ),
            )
        } else {
            (
                format!("echo {m} warn-key-skip; cf_go=0"),
                format!("echo {m} warn-pub-skip; cf_go=0"),
            )
        };
        s.push_str(&format!(
            "cf_y=\n\
             if [ $cf_go = 1 ] && [ -e \"$k\" ]; then {key_exists}; fi\n\
             if [ $cf_go = 1 ] && [ -e \"$k.pub\" ]; then {pub_exists}; fi\n"
        ));
        if dry {
            s.push_str(&format!("if [ $cf_go = 1 ]; then echo {m} gen; fi\n"));
        } else {
            let mut keygen = format!("ssh-keygen -t {}", quote(&self.kind));
            if self.bits > 0 {
                keygen.push_str(&format!(" -b {}", self.bits));
            }
            match &self.comment {
                Some(c) => keygen.push_str(&format!(" -C {}", quote(c))),
                None => keygen.push_str(" -C \"ansible-generated on $(uname -n)\""),
            }
            keygen.push_str(" -f \"$k\" -N ");
            if self.passphrase.is_some() {
                keygen.push_str(&format!("\"${PASSPHRASE_VAR}\""));
            } else {
                keygen.push_str("''");
            }
            // `y` answers ssh-keygen's `Overwrite (y/n)?` for a private key being replaced.
            s.push_str(&format!(
                "if [ $cf_go = 1 ]; then\n\
                 cf_err=$(printf '%s\\n' \"$cf_y\" | {keygen} 2>&1 >/dev/null)\n\
                 cf_krc=$?\n\
                 echo {m} rc $cf_krc; echo {m} err; printf '%s\\n' \"$cf_err\"\n\
                 if [ $cf_krc = 0 ]; then chown -- \"$cf_owner\" \"$k\" \"$k.pub\"; else cf_kfail=1; fi\n\
                 fi\n"
            ));
        }
        // ssh_key_fingerprint: stdout when ssh-keygen succeeds, else its stderr; nothing for
        // a missing key. get_ssh_public_key: the public file, if it can be read.
        s.push_str(&format!(
            "echo {m} fp\n\
             if [ -e \"$k\" ]; then\n\
             if cf_fp=$(ssh-keygen -l -f \"$k\" 2>/dev/null); then printf '%s\\n' \"$cf_fp\"; \
             else ssh-keygen -l -f \"$k\" 2>&1 >/dev/null; fi\n\
             fi\n\
             if [ -f \"$k.pub\" ] && [ -r \"$k.pub\" ]; then echo {m} pub; cat -- \"$k.pub\"; fi\n"
        ));
        s
    }
}

/// What the key script reported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyReport {
    /// The key's path (`get_ssh_key_path`).
    pub path: String,
    /// A key was (or, dry, would be) made.
    pub changed: bool,
    pub warnings: Vec<String>,
    /// Why the key could not be made: message and rc, as user.py fails.
    pub failure: Option<(String, i32)>,
    pub fingerprint: String,
    pub public_key: Option<String>,
}

impl KeyReport {
    /// Reads the output of [`SshKeyArgs::script`] for account `name`.
    pub fn parse(out: &str, mark: &str, name: &str) -> KeyReport {
        let prefix = format!("{mark}-k ");
        let mut sections: Vec<(String, String)> = Vec::new();
        let mut events: Vec<String> = Vec::new();
        for line in out.split_inclusive('\n') {
            let bare = line.strip_suffix('\n').unwrap_or(line);
            if let Some(event) = bare.strip_prefix(&prefix) {
                if matches!(event, "path" | "fp" | "pub" | "err") {
                    sections.push((event.to_owned(), String::new()));
                } else {
                    events.push(event.to_owned());
                }
            } else if let Some((_, text)) = sections.last_mut() {
                text.push_str(line);
            }
        }
        let section = |name: &str| {
            sections
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.strip_suffix('\n').unwrap_or(t).to_owned())
        };
        let path = section("path").unwrap_or_default();
        let pub_path = format!("{path}.pub");
        let mut report = KeyReport {
            fingerprint: section("fp").unwrap_or_default().trim().to_owned(),
            public_key: section("pub").map(|p| p.trim().to_owned()),
            ..KeyReport::default()
        };
        let err = section("err").unwrap_or_default();
        for event in &events {
            match event.as_str() {
                "nohome" => {
                    report.failure = Some((format!("User {name} home directory does not exist"), 1))
                }
                "mkdir" => {
                    report.failure = Some((
                        format!("Failed to create {}: {}", dirname(&path), err.trim()),
                        1,
                    ))
                }
                "warn-key-force" => report.warnings.push(format!(
                    "Overwriting existing ssh key private file \"{path}\""
                )),
                "warn-key-skip" => report.warnings.push(format!(
                    "Found existing ssh key private file \"{path}\", no force, so skipping \
                     ssh-keygen generation"
                )),
                "warn-pub-force" => report.warnings.push(format!(
                    "Overwriting existing ssh key public file \"{pub_path}\""
                )),
                "warn-pub-skip" => report.warnings.push(format!(
                    "Found existing ssh key public file \"{pub_path}\", no force, so skipping \
                     ssh-keygen generation"
                )),
                "gen" | "rc 0" => report.changed = true,
                other => {
                    if let Some(rc) = other.strip_prefix("rc ") {
                        // user.py: fail_json(msg=err): ssh-keygen's output as it is.
                        report.failure = Some((err.clone(), rc.trim().parse().unwrap_or(-1)));
                    }
                }
            }
        }
        report.path = path;
        report
    }

    /// `result` with the key's keys (or, when the key could not be made, user.py's
    /// `fail_json(name=..., msg=err, rc=rc)`), its warnings either way.
    pub fn into_result(self, mut result: ModuleResult, name: &str) -> ModuleResult {
        if let Some((msg, rc)) = self.failure {
            let mut failed = ModuleResult::fail(msg).with("name", name);
            failed.rc = Some(rc);
            failed.warnings = self.warnings;
            return failed;
        }
        result.changed |= self.changed;
        result.warnings.extend(self.warnings);
        result
            .with("ssh_fingerprint", self.fingerprint)
            .with("ssh_key_file", self.path)
            .with(
                "ssh_public_key",
                self.public_key.map_or(serde_json::Value::Null, Into::into),
            )
    }
}

/// Python's `os.path.dirname` (posixpath): up to the last `/`, trailing slashes dropped unless
/// it is all slashes.
fn dirname(p: &str) -> &str {
    let head = p.rfind('/').map_or("", |i| &p[..=i]);
    if !head.is_empty() && head.chars().any(|c| c != '/') {
        head.trim_end_matches('/')
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Option<SshKeyArgs> {
        let mut a = Args::new("user", crate::user::KEYS, &v).expect("keys");
        SshKeyArgs::parse(&mut a).expect("parse")
    }

    #[test]
    fn defaults_follow_user_py() {
        assert_eq!(parse(json!({"name": "u", "ssh_key_bits": 2048})), None);
        let k = parse(json!({"name": "u", "generate_ssh_key": "yes", "ssh_key_type": "ed25519"}))
            .expect("generate");
        assert_eq!(k.file, ".ssh/id_ed25519");
        assert_eq!(k.bits, 0);
        assert_eq!(k.comment, None);
    }

    #[test]
    fn values_are_quoted_and_the_passphrase_stays_off_the_command_line() {
        let k = SshKeyArgs {
            bits: 0,
            kind: "rsa; touch /tmp/x".to_owned(),
            file: ".ssh/$(id)".to_owned(),
            comment: Some("a'b".to_owned()),
            passphrase: Some(Secret("hunter2".to_owned())),
        };
        let s = k.script("u; id", true, false, "M");
        assert!(s.contains("-t 'rsa; touch /tmp/x'"), "{s}");
        assert!(s.contains("\"$cf_home/\"'.ssh/$(id)'"), "{s}");
        assert!(s.contains("-C 'a'\"'\"'b'"), "{s}");
        assert!(s.contains("getent passwd -- 'u; id'"), "{s}");
        assert!(s.contains("-N \"$cf_key_secret\""), "{s}");
        assert!(!s.contains("hunter2"));
        assert!(
            !s.contains(" -b "),
            "bits 0 leaves ssh-keygen's default: {s}"
        );
    }

    #[test]
    fn a_report_gives_user_py_fields_and_warnings() {
        let out = "M-k path\n/home/u/.ssh/id_rsa\nM-k warn-key-force\nM-k warn-pub-force\n\
                   M-k rc 0\nM-k err\n\nM-k fp\n3072 SHA256:abc c (RSA)\nM-k pub\nssh-rsa AAA c\n";
        let r = KeyReport::parse(out, "M", "u");
        assert!(r.changed);
        assert_eq!(r.failure, None);
        assert_eq!(r.fingerprint, "3072 SHA256:abc c (RSA)");
        assert_eq!(r.public_key.as_deref(), Some("ssh-rsa AAA c"));
        assert_eq!(
            r.warnings,
            [
                "Overwriting existing ssh key private file \"/home/u/.ssh/id_rsa\"",
                "Overwriting existing ssh key public file \"/home/u/.ssh/id_rsa.pub\""
            ]
        );
        let failed = KeyReport::parse(
            "M-k path\n/h/.ssh/k\nM-k rc 1\nM-k err\nbad type\nM-k fp\n",
            "M",
            "u",
        );
        assert_eq!(failed.failure, Some(("bad type".to_owned(), 1)));
        let skipped =
            KeyReport::parse("M-k path\n/h/.ssh/k\nM-k warn-pub-skip\nM-k fp\n", "M", "u");
        assert!(!skipped.changed);
        assert_eq!(skipped.public_key, None);
        assert_eq!(skipped.fingerprint, "");
        let mkdir = KeyReport::parse(
            "M-k path\n/x/.ssh/k\nM-k mkdir\nM-k err\nno such\n",
            "M",
            "u",
        );
        assert_eq!(
            mkdir.failure,
            Some(("Failed to create /x/.ssh: no such".to_owned(), 1))
        );
    }

    #[test]
    fn dirname_is_pythons() {
        assert_eq!(dirname("/a/b"), "/a");
        assert_eq!(dirname("/a//b"), "/a");
        assert_eq!(dirname("/b"), "/");
        assert_eq!(dirname("b"), "");
    }
}
