//! Differential check against `ansible-playbook --syntax-check` (ansible-core 2.19): every
//! example both accept, and for each diagnostic fixture whether Ansible rejects it too or
//! only finds it at run time (clearfleet is stricter there, on purpose: before any host).
//! Skipped with a message when ansible-playbook is absent, but fails when `CI` is set.

use super::examples::EXAMPLES;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Diagnostic fixtures ansible-playbook --syntax-check also rejects.
const ANSIBLE_REJECTS: &[&str] = &[
    "force_handlers_not_boolean",
    "block_with_module",
    "collection_module",
    "collections_unknown_module",
    "conflicting_actions",
    "end_role_outside_role",
    "free_form_unbalanced_quote",
    "hosts_missing",
    "import_templated",
    "keyword_typo_beside_module",
    "listen_on_task",
    "no_action",
    "play_not_mapping",
    "playbook_not_list",
    "register_invalid",
    "role_missing",
    "task_at_play_level",
    "task_not_mapping",
    "unknown_builtin_module",
    "unknown_module_keyword_typo",
    "unknown_play_keyword",
    "vars_bad_name",
    "vars_prompt_unknown_key",
    "yaml_syntax",
];

/// Diagnostic fixtures Ansible accepts at syntax-check time: it fails them at run time
/// (types, module arguments, templates, expressions) or supports what clearfleet does not.
const ANSIBLE_ACCEPTS: &[&str] = &[
    "args_on_wrong_module",
    "become_not_boolean",
    "connection_unsupported",
    "debugger_interactive",
    "debugger_unknown",
    "delegate_empty",
    "loop_not_list",
    "meta_unsupported",
    "retries_not_a_number",
    "serial_boolean",
    "order_unknown",
    "throttle_not_number",
    "strategy_typo",
    "template_syntax",
    "unknown_module_argument",
    "unsupported_keyword",
    "vault_value",
    "when_syntax",
    "with_nested",
];

/// `ansible-playbook` from `$CLEARFLEET_ANSIBLE_BIN_DIR` (what scripts/test exports), the
/// repository's `.venv-ansible` (scripts/install-ansible.sh), or `PATH`.
fn ansible_playbook() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CLEARFLEET_ANSIBLE_BIN_DIR") {
        let bin = PathBuf::from(dir).join("ansible-playbook");
        return bin.is_file().then_some(bin);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-ansible/bin");
    std::iter::once(venv)
        .chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ))
        .map(|d| d.join("ansible-playbook"))
        .find(|p| p.is_file())
}

fn syntax_ok(bin: &Path, playbook: &Path) -> (bool, String) {
    let out = Command::new(bin)
        .args(["--syntax-check", "-i", "localhost,"])
        .arg(playbook)
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_DEPRECATION_WARNINGS", "0")
        .env("ANSIBLE_LOCALHOST_WARNING", "0")
        .env(
            "ANSIBLE_LOCAL_TEMP",
            std::env::temp_dir().join("clearfleet-ansible-tmp"),
        )
        .output();
    match out {
        Ok(o) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => (false, format!("cannot run {}: {e}", bin.display())),
    }
}

#[test]
fn ansible_agrees_on_examples_and_mistakes() {
    let Some(bin) = ansible_playbook() else {
        let msg = "ansible-playbook not found (set CLEARFLEET_ANSIBLE_BIN_DIR or PATH; see scripts/install-ansible.sh)";
        assert!(std::env::var_os("CI").is_none(), "CI is set but {msg}");
        eprintln!("SKIPPED ansible_agrees_on_examples_and_mistakes: {msg}");
        return;
    };
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixtures = manifest.join("tests/fixtures/playbook_diagnostics");
    // (playbook, label, whether ansible should accept it)
    let mut jobs: Vec<(PathBuf, String, bool)> = EXAMPLES
        .iter()
        .map(|p| (manifest.join(p), format!("example {p}"), true))
        .collect();
    for (names, expect_ok) in [(ANSIBLE_REJECTS, false), (ANSIBLE_ACCEPTS, true)] {
        for name in names {
            jobs.push((
                fixtures.join(format!("{name}.yml")),
                (*name).to_owned(),
                expect_ok,
            ));
        }
    }
    // Two workers: ansible-playbook takes about half a second to start.
    let (a, b) = jobs.split_at(jobs.len() / 2);
    let run = |part: &[(PathBuf, String, bool)]| -> Vec<String> {
        part.iter()
            .filter_map(|(path, label, expect_ok)| {
                let (ok, out) = syntax_ok(&bin, path);
                (ok != *expect_ok).then(|| {
                    format!("{label}: ansible accepted={ok}, expected {expect_ok}:\n{out}")
                })
            })
            .collect()
    };
    let disagreements: Vec<String> = std::thread::scope(|s| {
        let first = s.spawn(|| run(a));
        let mut out = run(b);
        out.extend(
            first
                .join()
                .unwrap_or_else(|_| vec!["worker panicked".to_owned()]),
        );
        out
    });
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn every_diagnostic_fixture_is_classified() {
    let Ok(dir) = std::fs::read_dir("tests/fixtures/playbook_diagnostics") else {
        panic!("no fixtures directory")
    };
    for entry in dir.flatten() {
        let name = entry
            .file_name()
            .to_string_lossy()
            .trim_end_matches(".yml")
            .to_owned();
        assert!(
            ANSIBLE_REJECTS.contains(&name.as_str()) || ANSIBLE_ACCEPTS.contains(&name.as_str()),
            "classify {name} in tests/playbook/ansible.rs"
        );
    }
}
