//! The vocabulary every layer shares: source locations and diagnostics, secrets and their
//! masking, POSIX shell quoting and splitting, Python-exact JSON and float text, Ansible's
//! boolean rule, did-you-mean hints, UTC time stamps, byte sizes and the bounded capture of a
//! command's output. Depends on no other clearfleet crate.

pub mod boolean;
pub mod capture;
pub mod diagnostic;
pub mod python_json;
pub mod secret;
pub mod shell;
pub mod shlex;
pub mod size;
pub mod suggest;
pub mod time;
