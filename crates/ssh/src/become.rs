//! Runs a command as another user with sudo, feeding the password only to sudo's own prompt.
//!
//! The command sent is
//! `sudo -S -p '<prompt marker>' -u '<user>' -H -- sh -c 'echo <success marker>; <command>'`.
//! Both markers are random per command. Reading the channel:
//! - the prompt marker on stderr → send the password + newline (no password configured →
//!   "a password is required"); a second prompt → "incorrect sudo password" (channel killed);
//! - the success marker on stdout → sudo accepted, the command runs: only now is the caller's
//!   stdin sent (so it can never be taken for a password, and the password never reaches the
//!   command's stdin);
//! - neither within `Become::timeout` (after start or after sending the password) → "timed out
//!   waiting for sudo"; the channel ends without the success marker → sudo's own error
//!   ("sudo is not installed", "not allowed to run sudo", or its last stderr line).
//!
//! The success marker line and sudo's stderr up to the last prompt are removed from the output.
//! The password appears in no output or error: sudo -S does not echo it.

use clearfleet_base::shell::quote;
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
        }
    }

    fn check(&self) -> Result<(), UnsupportedMethod> {
        if self.method.eq_ignore_ascii_case("sudo") {
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
#[error("become method {method:?} is not supported (only sudo is)")]
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

/// The sudo conversation of one command.
pub(crate) struct SudoState {
    prompt: String,
    success: String,
    has_password: bool,
    user: String,
    timeout: Duration,
    phase: Phase,
    /// When the current wait (for a prompt or the success marker) times out.
    wait_until: Option<tokio::time::Instant>,
    prompts: usize,
    /// Bytes of stderr already searched for the prompt.
    scanned: usize,
    /// End of the last prompt in stderr (everything before is sudo's).
    last_prompt_end: usize,
    /// stdout before the success marker.
    pending_stdout: Vec<u8>,
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
        let line = format!(
            "sudo -S -p {} -u {} -H -- sh -c {}",
            quote(&prompt),
            quote(&b.user),
            quote(&inner)
        );
        Ok((
            SudoState {
                prompt,
                success,
                has_password: b.password.is_some(),
                user: b.user.clone(),
                timeout: b.timeout,
                phase: Phase::Waiting,
                wait_until: tokio::time::Instant::now().checked_add(b.timeout),
                prompts: 0,
                scanned: 0,
                last_prompt_end: 0,
                pending_stdout: Vec::new(),
            },
            line,
        ))
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
                "timed out after {}s waiting for sudo to start",
                self.timeout.as_secs_f32()
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

    /// New stdout bytes; returns what the caller must append to the command's stdout.
    pub(crate) fn on_stdout(&mut self, data: &[u8], stdout: &mut Vec<u8>) -> Option<Action> {
        if self.phase == Phase::Running || self.phase == Phase::Failed {
            stdout.extend_from_slice(data);
            return None;
        }
        self.pending_stdout.extend_from_slice(data);
        let marker = self.success.as_bytes();
        let pos = find(&self.pending_stdout, marker, 0)?;
        let mut end = pos + marker.len();
        if self.pending_stdout.get(end) == Some(&b'\n') {
            end += 1;
        }
        stdout.extend_from_slice(&self.pending_stdout[..pos]);
        stdout.extend_from_slice(&self.pending_stdout[end..]);
        self.pending_stdout.clear();
        self.phase = Phase::Running;
        Some(Action::Started)
    }

    /// `stderr` already holds the new bytes; looks for new prompts.
    pub(crate) fn on_stderr(&mut self, stderr: &[u8]) -> Option<Action> {
        if self.phase == Phase::Running || self.phase == Phase::Failed {
            return None;
        }
        let marker = self.prompt.as_bytes();
        let mut action = None;
        while let Some(pos) = find(stderr, marker, self.scanned) {
            self.scanned = pos + marker.len();
            self.last_prompt_end = self.scanned;
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
        if action.is_none() {
            self.scanned = stderr
                .len()
                .saturating_sub(marker.len() - 1)
                .max(self.scanned);
        }
        action
    }

    /// Removes sudo's own output from stderr (everything up to the last prompt, and any stray
    /// prompt) once the command is done.
    pub(crate) fn clean_stderr(&self, stderr: &mut Vec<u8>) {
        let cut = self.last_prompt_end.min(stderr.len());
        stderr.drain(..cut);
        let marker = self.prompt.as_bytes();
        while let Some(pos) = find(stderr, marker, 0) {
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
            format!("sudo did not run the command: {last}")
        }
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from >= haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_method_is_an_error_up_front() {
        let err = Become::new("root", "su", None, Duration::from_secs(1)).expect_err("su");
        assert!(err.to_string().contains("\"su\""), "{err}");
        assert!(Become::new("root", "sudo", None, Duration::from_secs(1)).is_ok());
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

    #[tokio::test]
    async fn prompt_split_across_chunks_then_success() {
        let b = Become::sudo(Some(Secret::new("pw")));
        let (mut st, _) = SudoState::start(&b, "id").expect("sudo");
        let prompt = st.prompt.clone();
        let mut stderr = b"lecture\n".to_vec();
        let (a, z) = prompt.split_at(5);
        stderr.extend_from_slice(a.as_bytes());
        assert_eq!(st.on_stderr(&stderr), None);
        stderr.extend_from_slice(z.as_bytes());
        assert_eq!(st.on_stderr(&stderr), Some(Action::SendPassword));
        st.password_sent();
        let mut stdout = Vec::new();
        let success = format!("{}\nuid=0", st.success);
        assert_eq!(st.on_stdout(&success.as_bytes()[..4], &mut stdout), None);
        assert_eq!(
            st.on_stdout(&success.as_bytes()[4..], &mut stdout),
            Some(Action::Started)
        );
        assert_eq!(stdout, b"uid=0");
        stderr.extend_from_slice(b"warning\n");
        assert_eq!(st.on_stderr(&stderr), None);
        st.clean_stderr(&mut stderr);
        assert_eq!(stderr, b"warning\n");
    }

    #[tokio::test]
    async fn second_prompt_is_a_wrong_password_and_no_password_fails() {
        let b = Become::sudo(Some(Secret::new("pw")));
        let (mut st, _) = SudoState::start(&b, "id").expect("sudo");
        let mut stderr = st.prompt.clone().into_bytes();
        assert_eq!(st.on_stderr(&stderr), Some(Action::SendPassword));
        st.password_sent();
        stderr.extend_from_slice(format!("Sorry, try again.\n{}", st.prompt).as_bytes());
        assert_eq!(
            st.on_stderr(&stderr),
            Some(Action::Fail("incorrect sudo password".into()))
        );

        let (mut st, _) = SudoState::start(&Become::sudo(None), "id").expect("sudo");
        let stderr = st.prompt.clone().into_bytes();
        assert_eq!(
            st.on_stderr(&stderr),
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
        let stderr = st.prompt.clone().into_bytes();
        assert_eq!(st.on_stderr(&stderr), Some(Action::SendPassword));
        st.password_sent();
        assert!(st.deadline().is_some());
        assert_eq!(
            st.timed_out(),
            Action::Fail("timed out after 10s waiting for sudo to accept the password".into())
        );
    }
}
