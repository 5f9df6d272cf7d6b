//! Playbooks held in memory (the built-in upgrade playbook): loaded without a file on disk, its
//! diagnostics naming the files as the operator knows them (`clearml/hop.yml:26:5`).

use clearfleet_base::diagnostic::Location;
use clearfleet_clearml::playbook_vars::PLAYBOOK_FILES;
use clearfleet_playbook::{
    ControllerFiles, Inherited, TemplateKind, load_playbook_from, load_tasks_file,
};
use clearfleet_runner::playbook::TemplateCache;
use std::path::{Path, PathBuf};

/// The built-in files, with `name`'s text replaced by `text` if given.
fn built_in(replace: Option<(&str, &str)>) -> ControllerFiles {
    ControllerFiles::memory(PLAYBOOK_FILES.iter().map(|&(name, text)| match replace {
        Some((n, t)) if n == name => (name, t),
        _ => (name, text),
    }))
}

/// The built-in files as the upgrade loads them, with the real template check.
fn load(files: &ControllerFiles) -> Result<clearfleet_playbook::Playbook, String> {
    let templates = TemplateCache::default();
    let mut check = |src: &str, kind: TemplateKind, at: &Location| templates.check(src, kind, at);
    load_playbook_from(files, Path::new("clearml-upgrade.yml"), &mut check)
        .map_err(|e| e.to_string())
}

#[test]
fn the_built_in_playbook_loads_from_memory_with_its_files_named_relative() {
    let pb = load(&built_in(None)).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&Path> = pb.files.iter().map(|f| f.path.as_path()).collect();
    // Everything it imports at load time, by the names of the embedded set.
    for name in [
        "clearml-upgrade.yml",
        "clearml/preflight.yml",
        "clearml/backup.yml",
        "clearml/migrate.yml",
        "clearml/postcheck.yml",
        "clearml/rollback.yml",
    ] {
        assert!(names.contains(&Path::new(name)), "{name} not in {names:?}");
    }
    for f in &pb.files {
        assert!(f.path.is_relative(), "{:?}", f.path);
        let text = PLAYBOOK_FILES.iter().find(|(n, _)| Path::new(n) == f.path);
        assert_eq!(text.map(|(_, t)| *t), Some(f.text.as_str()), "{:?}", f.path);
    }
    // Every task points into those files, never at a temporary directory.
    let play = &pb.plays[0];
    for t in play
        .tasks
        .iter()
        .chain(&play.pre_tasks)
        .chain(&play.handlers)
    {
        assert!(names.contains(&t.location.path.as_path()), "{}", t.location);
    }
    assert_eq!(pb.source, built_in(None));
}

#[test]
fn a_syntax_error_in_a_built_in_file_names_it_by_its_relative_path() {
    // An imported file: found at load time.
    let broken = "- name: Broken\n  command: [unclosed\n";
    let err = load(&built_in(Some(("clearml/preflight.yml", broken)))).err();
    let err = err.unwrap_or_else(|| panic!("a broken preflight.yml loaded"));
    assert!(
        err.starts_with("clearml/preflight.yml:2:12: invalid YAML: unclosed bracket"),
        "{err}"
    );
    assert!(!err.contains("/tmp"), "{err}");

    // The dynamic include of each hop: read when the run reaches it, from the same files.
    let files = built_in(Some(("clearml/hop.yml", "- name: x\n   bad: indent\n")));
    let templates = TemplateCache::default();
    let mut check = |src: &str, kind: TemplateKind, at: &Location| templates.check(src, kind, at);
    let include = load_tasks_file(
        &files,
        Path::new("clearml/hop.yml"),
        &Inherited::default(),
        false,
        &Default::default(),
        &mut check,
    );
    let err = include.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.starts_with("clearml/hop.yml:2:"), "{err}");
    assert!(err.contains("invalid YAML"), "{err}");

    // A name outside the set is not found, even if the current directory holds such a file.
    let missing = load_tasks_file(
        &files,
        Path::new("Cargo.toml"),
        &Inherited::default(),
        false,
        &Default::default(),
        &mut check,
    );
    let err = missing.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("`Cargo.toml` not found"), "{err}");
    assert!(PathBuf::from("Cargo.toml").exists());
}
