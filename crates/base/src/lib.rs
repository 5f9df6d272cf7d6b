//! The vocabulary every layer shares: source locations and diagnostics, secrets and their
//! masking, Ansible Vault's format and cipher, POSIX shell quoting and splitting, Python-exact
//! JSON and float text, Ansible's boolean rule, did-you-mean hints, UTC time stamps, the
//! controller files a playbook reads (disk or memory), random tokens from the OS, private files
//! written without following a symbolic link, `*`/`?` wildcards and Python's `fnmatch`, byte
//! sizes, the bounded capture of a command's output, and the strings authors wrote (2.19's
//! trust). Depends on no other clearfleet crate.

pub mod boolean;
pub mod capture;
pub mod controller_files;
pub mod diagnostic;
pub mod glob;
pub mod home;
pub mod private_files;
pub mod python_json;
pub mod random;
pub mod secret;
pub mod shell;
pub mod shlex;
pub mod size;
pub mod suggest;
pub mod time;
pub mod trust;
pub mod vault;
