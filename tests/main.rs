//! The integration tests of clearfleet, one binary (the layout ripgrep uses): each module is the
//! tests of one area, `support` and `common` the helpers they share. Real OpenSSH `sshd`
//! processes on loopback, real Docker hosts for the ClearML upgrade (see README, "Tests").

mod common;
mod playbook;
mod support;

mod accounts;
mod ansible_cfg;
mod ansible_project;
mod ansible_targets;
mod backup;
mod completions;
mod detect;
mod exec;
mod faults;
mod faults_upgrade;
mod fuzz_parsers;
mod host_numbers;
mod interrupt;
mod inventory_cli;
mod layers;
mod live_view;
mod local_files;
mod logging;
mod man_pages;
mod modules;
mod real_docker;
mod release_archive;
mod report_page;
mod reports;
mod rerun;
mod roles;
mod run_ansible_diff;
mod run_async;
mod run_keywords;
mod run_playbook;
mod shlex_python;
mod ssh_args;
mod ssh_auth;
mod ssh_become;
mod ssh_connect;
mod ssh_exec;
mod ssh_persistent_shell;
mod template_ansible_diff;
mod template_errors;
mod template_filters;
mod template_jinja_tests;
mod traps;
mod upgrade;
mod user_ssh_keys;
mod vault;
mod version;
