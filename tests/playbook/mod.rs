//! The playbook loader: diagnostics, Ansible's rules, the example playbooks, and a
//! differential check against `ansible-playbook --syntax-check`.

mod ansible;
mod diagnostics;
mod examples;
mod memory;
mod no_panic;
mod rules;
mod support;
