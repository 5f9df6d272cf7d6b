//! The vocabulary every layer shares: source locations and diagnostics, secrets and their
//! masking, POSIX shell quoting, UTC time stamps. Depends on no other clearfleet crate.

pub mod diagnostic;
pub mod secret;
pub mod shell;
pub mod time;
