//! The vocabulary every layer shares: source locations and diagnostics, secrets and their
//! masking, POSIX shell quoting and splitting, Python-exact JSON and float text, Ansible's
//! boolean rule, did-you-mean hints, UTC time stamps, the controller files a playbook reads
//! (disk or memory), random tokens from the OS, and private files written without following
//! a symbolic link. Depends on no other clearfleet crate.

pub mod boolean;
pub mod controller_files;
pub mod diagnostic;
pub mod private_files;
pub mod python_json;
pub mod random;
pub mod secret;
pub mod shell;
pub mod shlex;
pub mod suggest;
pub mod time;
