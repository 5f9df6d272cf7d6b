//! The SSH transport: one russh connection per host for the whole run; each command runs in the
//! connection's persistent shell or on a channel of its own.
//!
//! Flow for a host: [`Target::resolve`] (inventory vars + CLI defaults + `~/.ssh/config`) →
//! [`Connection::connect`] (TCP or jump tunnel, handshake, known_hosts policy, authentication;
//! timeout and bounded retries) → [`Connection::exec`] for each command, concurrently if wanted
//! (at most [`SshSettings::max_channels`] channels at once) → [`Connection::close`].
//!
//! Error mapping for the runner: every [`ConnectError`] and [`ExecError::ConnectionLost`] make
//! the host "unreachable"; every other [`ExecError`] makes the task "failed". A non-zero exit
//! status is an [`ExecOutput`], not an error, and so is output past
//! [`ExecOptions::max_output`]: it is cut as it arrives (the channel still read to its end)
//! and [`ExecOutput::truncation`] says what was dropped.
//!
//! Files: `target.rs` (resolving how to reach a host), `ssh_config.rs`, `known_hosts.rs`,
//! `ssh_args.rs` (the OpenSSH options of `ansible_ssh_common_args`), `handler.rs` (russh's
//! callbacks: the host key check), `auth.rs`, `session.rs` (connect,
//! retries, jump hosts), `output.rs` (what a command is given and gives back, its output
//! collected within the limit as it arrives), `exec.rs` (channel loop),
//! `persistent_shell.rs`, `driver.rs` and `shell_frame.rs` (one long-lived shell per
//! connection that runs most commands without a new channel), `become.rs` (sudo),
//! `settings.rs`, `error.rs`.

mod auth;
pub mod r#become;
mod driver;
mod error;
mod exec;
mod handler;
pub mod known_hosts;
mod local_exec;
mod output;
mod persistent_shell;
mod session;
mod settings;
mod shell_frame;
mod ssh_args;
mod ssh_config;
mod target;

pub use self::r#become::Become;
pub use self::error::{ConfigError, ConnectError, ExecError, JumpSpecError, TargetError};
pub use self::known_hosts::HostKeyChecking;
pub use self::local_exec::exec_local;
pub use self::output::{ExecOptions, ExecOutput, ExitStatus, cancelled_commands_settled};
pub use self::session::Connection;
pub use self::settings::{HandshakeGates, KeyCache, PassphrasePrompt, SshSettings};
pub use self::ssh_args::SshArgs;
pub use self::ssh_config::{HostConfig, SshConfig};
pub use self::target::{Defaults, HostParams, Target};
