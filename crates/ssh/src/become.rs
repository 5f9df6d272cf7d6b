//! Runs a command as another user with sudo, feeding the password only to sudo's own prompt.
//!
//! The command sent is
//! `sudo -S -p '<prompt marker>' -u '<user>' -H -- sh -c 'echo <success marker>; <command>'`
//! (with `ansible_become_exe` in place of `sudo`, and `ansible_become_flags` in place of `-H`,
//! before `-S`). Both markers are random per command. Reading the channel:
//! - the prompt marker on stderr → send the password + newline (no password configured →
//!   "a password is required"); a second prompt → "incorrect sudo password" (channel killed);
//! - the success marker on stdout → sudo accepted, the command runs: only now is the caller's
//!   stdin sent (so it can never be taken for a password, and the password never reaches the
//!   command's stdin);
//! - neither within `Become::timeout` (after start or after sending the password) → "timed out
//!   waiting for sudo"; the channel ends without the success marker → sudo's own error
//!   ("sudo is not installed", "not allowed to run sudo", or its last stderr line).
//!
//! The success marker line and sudo's stderr up to the last prompt are removed from the output,
//! as it arrives and before the output limit applies, so a prompt or marker that comes after
//! more output than the limit (a login shell's rc files) is still found.
//! The password appears in no output or error: sudo -S does not echo it.

use clearfleet_base::capture::Capture;
use clearfleet_base::shell::quote;
use memchr::memmem;
use std::time::Duration;

use super::error::{ExecError, TargetError};
use clearfleet_base::secret::Secret;

/// Privilege escalation for one command (Ansible's `become`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Become {
    /// Who to become (Ansible's default: `root`).
    pub user: String,
    /// Only `sudo` is supported.
    pub method: String,
    /// sudo's password for the login user (`ansible_become_password` / `--ask-become-pass`).
    pub password: Option<Secret>,
    /// How long to wait for sudo to prompt, or to accept the password.
    pub timeout: Duration,
    /// The sudo executable (`ansible_become_exe`); `None`: `sudo`.
    pub exe: Option<String>,
    /// sudo's options (`become_flags`, already split into words) in place of clearfleet's
    /// `-H`; `-S`, `-p` and `-u` follow them, as the password exchange needs them.
    pub flags: Option<Vec<String>>,
}

impl Become {
    /// A validated become setting; methods other than sudo are an error here, before running.
    pub fn new(
        user: impl Into<String>,
        method: impl Into<String>,
        password: Option<Secret>,
        timeout: Duration,
    ) -> Result<Become, TargetError> {
        let b = Become {
            user: user.into(),
            method: method.into(),
            password,
            timeout,
            exe: None,
            flags: None,
        };
        b.check()
            .map_err(|e| TargetError::UnsupportedBecome { method: e.method })?;
        Ok(b)
    }

    /// `sudo` as root, 10 s prompt timeout.
    pub fn sudo(password: Option<Secret>) -> Become {
        Become {
            user: "root".into(),
            method: "sudo".into(),
            password,
            timeout: Duration::from_secs(10),
            exe: None,
            flags: None,
        }
    }

    /// `su`: ansible-core 2.19.14's lib/ansible/plugins/become/su.py, without a password (su
    /// reads one from a terminal, which clearfleet's channels are not).
    fn is_su(&self) -> bool {
        self.method.eq_ignore_ascii_case("su")
    }

    fn check(&self) -> Result<(), UnsupportedMethod> {
        if self.method.eq_ignore_ascii_case("sudo") || (self.is_su() && self.password.is_none()) {
            Ok(())
        } else {
            Err(UnsupportedMethod {
                method: self.method.clone(),
            })
        }
    }
}

/// A become method other than sudo; each stage reports it in its own error
/// ([`TargetError::UnsupportedBecome`], [`ExecError::UnsupportedBecome`]).
#[derive(Debug, thiserror::Error)]
#[error("become method {method:?} is not supported (sudo is, and su without a password)")]
struct UnsupportedMethod {
    method: String,
}

/// What the exec loop must do after feeding output to [`SudoState`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Write the password and a newline to the channel.
    SendPassword,
    /// sudo accepted: send the caller's stdin (and EOF) now.
    Started,
    /// Give up: close the channel and report this reason.
    Fail(String),
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Phase {
    Waiting,
    PasswordSent,
    Running,
    Failed,
}

/// The sudo conversation of one command. It reads the output as it arrives, before any
/// limit is applied (a prompt or marker that comes after more output than the limit is still
/// seen), and holds back only what could be the start of a marker split across two chunks.
pub(crate) struct SudoState {
    prompt: String,
    success: String,
    has_password: bool,
    /// `sudo` or `su`, as failures name it.
    method: &'static str,
    user: String,
    timeout: Duration,
    phase: Phase,
    /// When the current wait (for a prompt or the success marker) times out.
    wait_until: Option<tokio::time::Instant>,
    prompts: usize,
    /// The end of stdout so far that may be the start of the success marker.
    stdout_carry: Vec<u8>,
    /// The end of stderr so far that may be the start of a prompt.
    stderr_carry: Vec<u8>,
    /// The success marker ended a chunk: its newline, if any, starts the next one.
    skip_newline: bool,
}

impl SudoState {
    /// The state and the command line to send; `Err` for an unsupported method.
    pub(crate) fn start(b: &Become, command: &str) -> Result<(SudoState, String), ExecError> {
        b.check()
            .map_err(|e| ExecError::UnsupportedBecome { method: e.method })?;
        // Random (clearfleet_base::random): a command cannot guess the markers, so it cannot fake
        // sudo's success or the end of its output.
        let token = clearfleet_base::random::token().map_err(ExecError::Random)?;
        let prompt = format!("[cf-sudo-{}] ", &token[..16]);
        let success = format!("CF-BECOME-SUCCESS-{}", &token[16..]);
        let inner = format!("echo {success}; {command}");
        if b.is_su() {
            // su.py: `su <flags> <user> -c <sh -c '<success>; <command>'>`.
            let exe = quote(b.exe.as_deref().unwrap_or("su"));
            let flags: String = b
                .flags
                .iter()
                .flatten()
                .map(|w| format!(" {}", quote(w)))
                .collect();
            let shell = format!("sh -c {}", quote(&inner));
            let line = format!("{exe}{flags} {} -c {}", quote(&b.user), quote(&shell));
            return Ok((SudoState::new(b, prompt, success), line));
        }
        let exe = quote(b.exe.as_deref().unwrap_or("sudo"));
        let (flags, home) = match &b.flags {
            None => (String::new(), " -H"),
            Some(words) => (words.iter().map(|w| format!(" {}", quote(w))).collect(), ""),
        };
        let line = format!(
            "{exe}{flags} -S -p {} -u {}{home} -- sh -c {}",
            quote(&prompt),
            quote(&b.user),
            quote(&inner)
        );
        Ok((SudoState::new(b, prompt, success), line))
    }

    fn new(b: &Become, prompt: String, success: String) -> SudoState {
        SudoState {
            prompt,
            success,
            has_password: b.password.is_some(),
            method: if b.is_su() { "su" } else { "sudo" },
            user: b.user.clone(),
            timeout: b.timeout,
            phase: Phase::Waiting,
            wait_until: tokio::time::Instant::now().checked_add(b.timeout),
            prompts: 0,
            stdout_carry: Vec::new(),
            stderr_carry: Vec::new(),
            skip_newline: false,
        }
    }

    pub(crate) fn running(&self) -> bool {
        self.phase == Phase::Running
    }

    /// Deadline of the current wait, if sudo has not answered yet.
    pub(crate) fn deadline(&self) -> Option<tokio::time::Instant> {
        match self.phase {
            Phase::Waiting | Phase::PasswordSent => self.wait_until,
            Phase::Running | Phase::Failed => None,
        }
    }

    pub(crate) fn timed_out(&mut self) -> Action {
        self.phase = Phase::Failed;
        Action::Fail(match self.prompts {
            0 => format!(
                "timed out after {}s waiting for {} to start",
                self.timeout.as_secs_f32(),
                self.method
            ),
            _ => format!(
                "timed out after {}s waiting for sudo to accept the password",
                self.timeout.as_secs_f32()
            ),
        })
    }

    /// Starts the wait for sudo's first answer (call once the command was sent).
    pub(crate) fn arm(&mut self) {
        self.wait_until = tokio::time::Instant::now().checked_add(self.timeout);
    }

    /// Notes that the password was written.
    pub(crate) fn password_sent(&mut self) {
        self.phase = Phase::PasswordSent;
        self.wait_until = tokio::time::Instant::now().checked_add(self.timeout);
    }

    /// New stdout bytes: hands the command's stdout among them to `out` (the success marker
    /// line taken out).
    pub(crate) fn on_stdout(&mut self, data: &[u8], out: &mut dyn FnMut(&[u8])) -> Option<Action> {
        if data.is_empty() {
            return None;
        }
        if self.phase == Phase::Running || self.phase == Phase::Failed {
            let data = if std::mem::take(&mut self.skip_newline) {
                data.strip_prefix(b"\n").unwrap_or(data)
            } else {
                data
            };
            out(data);
            return None;
        }
        let mut buf = std::mem::take(&mut self.stdout_carry);
        buf.extend_from_slice(data);
        let marker = self.success.as_bytes();
        match memmem::find(&buf, marker) {
            Some(pos) => {
                out(&buf[..pos]);
                let mut end = pos + marker.len();
                if buf.get(end) == Some(&b'\n') {
                    end += 1;
                } else if end == buf.len() {
                    self.skip_newline = true;
                }
                out(&buf[end..]);
                self.phase = Phase::Running;
                Some(Action::Started)
            }
            None => {
                let keep = buf.len().min(marker.len() - 1);
                out(&buf[..buf.len() - keep]);
                self.stdout_carry = buf[buf.len() - keep..].to_vec();
                None
            }
        }
    }

    /// New stderr bytes, kept in `stderr`; looks for prompts. A prompt and everything before
    /// it are sudo's, not the command's: `stderr` is emptied of them.
    pub(crate) fn on_stderr(&mut self, data: &[u8], stderr: &mut Capture) -> Option<Action> {
        stderr.push(data);
        if self.phase == Phase::Running || self.phase == Phase::Failed {
            return None;
        }
        let mut buf = std::mem::take(&mut self.stderr_carry);
        buf.extend_from_slice(data);
        let marker = self.prompt.as_bytes();
        let mut from = 0;
        let mut action = None;
        while let Some(pos) = memmem::find(&buf[from..], marker) {
            from += pos + marker.len();
            self.prompts += 1;
            action = Some(if self.prompts > 1 {
                self.phase = Phase::Failed;
                Action::Fail("incorrect sudo password".into())
            } else if self.has_password {
                Action::SendPassword
            } else {
                self.phase = Phase::Failed;
                Action::Fail("a password is required".into())
            });
            if self.phase == Phase::Failed {
                break;
            }
        }
        let rest = &buf[from..];
        if from > 0 {
            // A prompt is longer than what is carried over, so it ended inside `data`: what
            // follows it is the part of `data` to keep.
            stderr.clear();
            stderr.push(rest);
        }
        let keep = rest.len().min(marker.len() - 1);
        self.stderr_carry = rest[rest.len() - keep..].to_vec();
        action
    }

    /// Removes any stray prompt from the command's stderr once it is done (sudo's output up
    /// to the last prompt was dropped as it came).
    pub(crate) fn clean_stderr(&self, stderr: &mut Vec<u8>) {
        let marker = self.prompt.as_bytes();
        while let Some(pos) = memmem::find(stderr, marker) {
            stderr.drain(pos..pos + marker.len());
        }
    }

    /// Why sudo did not run the command (the channel ended without the success marker).
    pub(crate) fn failure_reason(&self, stderr: &[u8], exit: Option<u32>) -> String {
        let text = String::from_utf8_lossy(stderr).replace(&self.prompt, "");
        let lower = text.to_lowercase();
        if exit == Some(127)
            || lower.contains("sudo: not found")
            || lower.contains("sudo: command not found")
        {
            "sudo is not installed on the host".into()
        } else if lower.contains("not in the sudoers") || lower.contains("is not allowed to") {
            format!("the login user is not allowed to run sudo as {}", self.user)
        } else if lower.contains("incorrect password") || self.prompts > 1 {
            "incorrect sudo password".into()
        } else {
            let last = text
                .lines()
                .map(str::trim)
                .rfind(|l| !l.is_empty())
                .unwrap_or("no output");
            format!("{} did not run the command: {last}", self.method)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_method_is_an_error_up_front() {
        let err = Become::new("root", "doas", None, Duration::from_secs(1)).expect_err("doas");
        assert!(err.to_string().contains("\"doas\""), "{err}");
        assert!(Become::new("root", "sudo", None, Duration::from_secs(1)).is_ok());
        assert!(Become::new("root", "su", None, Duration::from_secs(1)).is_ok());
        let pw = Some(Secret::new("x"));
        assert!(Become::new("root", "su", pw, Duration::from_secs(1)).is_err());
    }

    #[test]
    fn su_runs_the_command_through_sh_as_su_py_builds_it() {
        let b = Become::new("app", "su", None, Duration::from_secs(1)).expect("su");
        let (_, line) = SudoState::start(&b, "id").expect("su");
        assert!(line.starts_with("su app -c 'sh -c "), "{line}");
        assert!(line.contains("CF-BECOME-SUCCESS-"), "{line}");
    }

    #[test]
    fn command_line_shape() {
        let b = Become::sudo(Some(Secret::new("pw")));
        let (st, line) = SudoState::start(&b, "echo 'hi'").expect("sudo");
        assert!(line.starts_with("sudo -S -p '[cf-sudo-"), "{line}");
        assert!(
            line.contains(" -u root -H -- sh -c 'echo CF-BECOME-SUCCESS-"),
            "{line}"
        );
        assert!(line.ends_with(r#"; echo '"'"'hi'"'"''"#), "{line}");
        assert!(!line.contains("pw"));
        assert!(st.deadline().is_some());
    }

    #[test]
    fn exe_and_flags_replace_sudo_and_its_home_option() {
        let b = Become {
            exe: Some("/usr/local/bin/my sudo".into()),
            flags: Some(vec!["-E".into(), "--preserve-env=A B".into()]),
            ..Become::sudo(None)
        };
        let (_, line) = SudoState::start(&b, "id").expect("sudo");
        assert!(
            line.starts_with("'/usr/local/bin/my sudo' -E '--preserve-env=A B' -S -p '[cf-sudo-"),
            "{line}"
        );
        assert!(line.contains(" -u root -- sh -c "), "{line}");
    }

    use clearfleet_base::capture::{MaxOutput, Stream};

    fn capture(limit: u64) -> Capture {
        Capture::new(MaxOutput::new(limit).unwrap_or_else(|| panic!("limit")))
    }

    fn stdout_of(st: &mut SudoState, chunks: &[&[u8]]) -> (Vec<u8>, Vec<Option<Action>>) {
        let mut out = Vec::new();
        let actions = chunks
            .iter()
            .map(|c| st.on_stdout(c, &mut |b: &[u8]| out.extend_from_slice(b)))
            .collect();
        (out, actions)
    }

    #[tokio::test]
    async fn prompt_split_across_chunks_then_success() {
        let b = Become::sudo(Some(Secret::new("pw")));
        let (mut st, _) = SudoState::start(&b, "id").expect("sudo");
        let prompt = st.prompt.clone();
        let mut stderr = capture(1 << 20);
        let (a, z) = prompt.split_at(5);
        assert_eq!(st.on_stderr(b"lecture\n", &mut stderr), None);
        assert_eq!(st.on_stderr(a.as_bytes(), &mut stderr), None);
        assert_eq!(
            st.on_stderr(z.as_bytes(), &mut stderr),
            Some(Action::SendPassword)
        );
        st.password_sent();
        let success = format!("{}\nuid=0", st.success);
        let (a, z) = success.as_bytes().split_at(4);
        let (stdout, actions) = stdout_of(&mut st, &[a, z]);
        assert_eq!(actions, vec![None, Some(Action::Started)]);
        assert_eq!(stdout, b"uid=0");
        assert_eq!(st.on_stderr(b"warning\n", &mut stderr), None);
        let (mut stderr, _) = stderr.finish(Stream::Stderr);
        st.clean_stderr(&mut stderr);
        assert_eq!(stderr, b"warning\n");
    }

    #[tokio::test]
    async fn markers_are_found_after_more_output_than_the_limit() {
        // A login shell's rc files print 100 KiB on stderr and on stdout before sudo's prompt
        // and marker; the limit is 1 KiB. Split at every position around the markers.
        let b = Become::sudo(Some(Secret::new("pw")));
        let noise = vec![b'n'; 100 * 1024];
        let (probe, _) = SudoState::start(&b, "id").expect("sudo");
        for cut in 0..probe.prompt.len().max(probe.success.len()) + 2 {
            let (mut st, _) = SudoState::start(&b, "id").expect("sudo");
            let mut stderr = capture(1024);
            let mut err = noise.clone();
            err.extend_from_slice(st.prompt.as_bytes());
            err.extend_from_slice(b"after the prompt\n");
            let (x, y) = err.split_at(noise.len() + cut.min(st.prompt.len()));
            let actions = [st.on_stderr(x, &mut stderr), st.on_stderr(y, &mut stderr)];
            assert_eq!(
                actions.iter().flatten().collect::<Vec<_>>(),
                [&Action::SendPassword],
                "cut {cut}"
            );
            st.password_sent();
            let mut out = noise.clone();
            out.extend_from_slice(format!("{}\nthe command's output", st.success).as_bytes());
            let (x, y) = out.split_at(noise.len() + cut.min(st.success.len() + 1));
            let (stdout, actions) = stdout_of(&mut st, &[x, y]);
            assert_eq!(
                actions.iter().flatten().collect::<Vec<_>>(),
                [&Action::Started],
                "cut {cut}"
            );
            assert!(st.running());
            let mut expected = noise.clone();
            expected.extend_from_slice(b"the command's output");
            assert_eq!(stdout, expected, "cut {cut}");
            let (stderr, dropped) = stderr.finish(Stream::Stderr);
            assert_eq!(stderr, b"after the prompt\n", "cut {cut}");
            assert_eq!(dropped, 0);
        }
    }

    #[tokio::test]
    async fn a_marker_at_the_end_of_a_chunk_takes_its_newline_from_the_next() {
        let (mut st, _) = SudoState::start(&Become::sudo(None), "id").expect("sudo");
        let success = st.success.clone();
        let (stdout, _) = stdout_of(&mut st, &[success.as_bytes(), b"\nout\n"]);
        assert_eq!(stdout, b"out\n");
    }

    #[tokio::test]
    async fn second_prompt_is_a_wrong_password_and_no_password_fails() {
        let b = Become::sudo(Some(Secret::new("pw")));
        let (mut st, _) = SudoState::start(&b, "id").expect("sudo");
        let mut stderr = capture(1 << 20);
        let prompt = st.prompt.clone();
        assert_eq!(
            st.on_stderr(prompt.as_bytes(), &mut stderr),
            Some(Action::SendPassword)
        );
        st.password_sent();
        assert_eq!(
            st.on_stderr(
                format!("Sorry, try again.\n{prompt}").as_bytes(),
                &mut stderr
            ),
            Some(Action::Fail("incorrect sudo password".into()))
        );

        let (mut st, _) = SudoState::start(&Become::sudo(None), "id").expect("sudo");
        let prompt = st.prompt.clone();
        assert_eq!(
            st.on_stderr(prompt.as_bytes(), &mut stderr),
            Some(Action::Fail("a password is required".into()))
        );
    }

    #[tokio::test]
    async fn failure_reasons() {
        let (st, _) = SudoState::start(&Become::sudo(None), "id").expect("sudo");
        assert_eq!(
            st.failure_reason(b"sh: 1: sudo: not found\n", Some(127)),
            "sudo is not installed on the host"
        );
        assert!(
            st.failure_reason(b"bob is not in the sudoers file.\n", Some(1))
                .contains("not allowed")
        );
        assert_eq!(
            st.failure_reason(b"sudo: something odd\n", Some(1)),
            "sudo did not run the command: sudo: something odd"
        );
    }
}

#[cfg(test)]
mod timeout_tests {
    use super::*;

    #[tokio::test]
    async fn timeouts_say_what_was_awaited() {
        let b = Become::sudo(Some(Secret::new("pw")));
        let (mut st, _) = SudoState::start(&b, "id").expect("sudo");
        st.arm();
        assert_eq!(
            st.timed_out(),
            Action::Fail("timed out after 10s waiting for sudo to start".into())
        );
        assert_eq!(st.deadline(), None);
        let (mut st, _) = SudoState::start(&b, "id").expect("sudo");
        let prompt = st.prompt.clone();
        let mut stderr = Capture::new(clearfleet_base::capture::MaxOutput::DEFAULT);
        assert_eq!(
            st.on_stderr(prompt.as_bytes(), &mut stderr),
            Some(Action::SendPassword)
        );
        st.password_sent();
        assert!(st.deadline().is_some());
        assert_eq!(
            st.timed_out(),
            Action::Fail("timed out after 10s waiting for sudo to accept the password".into())
        );
    }
}
