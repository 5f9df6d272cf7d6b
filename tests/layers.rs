//! The workspace's layers, kept by a test: every library crate under `crates/` depends only on
//! crates of a lower rank (docs/design.md, "Crates"), the binary package sits on top, and the
//! simulator is never a normal dependency of anything the product ships.

use std::collections::BTreeMap;
use std::path::Path;

/// The rank of each package: a package may depend only on packages of a lower rank.
const RANKS: &[(&str, u8)] = &[
    ("clearfleet-base", 0),
    ("clearfleet-yaml", 0),
    ("clearfleet-inventory", 1),
    ("clearfleet-ssh", 1),
    ("clearfleet-template", 1),
    ("clearfleet-modules", 1),
    ("clearfleet-clearml", 1),
    ("clearfleet-playbook", 2),
    ("clearfleet-events", 2),
    ("clearfleet-runner", 3),
    ("clearfleet-report", 3),
    ("clearfleet", 4),
];

/// A package's manifest read for what the layering needs: its name and, per dependency
/// table, the workspace packages it names.
struct Manifest {
    name: String,
    normal: Vec<String>,
    dev: Vec<String>,
}

fn read_manifest(path: &Path) -> Manifest {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut m = Manifest {
        name: String::new(),
        normal: Vec::new(),
        dev: Vec::new(),
    };
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.trim_matches(|c| c == '[' || c == ']').to_owned();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match section.as_str() {
            "package" if key == "name" => m.name = value.trim_matches('"').to_owned(),
            "dependencies" if value.contains("path =") => m.normal.push(key.to_owned()),
            "dev-dependencies" if value.contains("path =") => m.dev.push(key.to_owned()),
            _ => {}
        }
    }
    m
}

fn manifests() -> Vec<Manifest> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![read_manifest(&root.join("Cargo.toml"))];
    let mut dirs: Vec<_> = std::fs::read_dir(root.join("crates"))
        .unwrap_or_else(|e| panic!("crates/: {e}"))
        .filter_map(Result::ok)
        .map(|e| e.path().join("Cargo.toml"))
        .filter(|p| p.exists())
        .collect();
    dirs.sort();
    out.extend(dirs.iter().map(|p| read_manifest(p)));
    out
}

#[test]
fn every_crate_depends_only_on_lower_layers() {
    let ranks: BTreeMap<&str, u8> = RANKS.iter().copied().collect();
    let mut wrong = Vec::new();
    for m in manifests() {
        if m.name == "clearml-sim" {
            continue;
        }
        let Some(&own) = ranks.get(m.name.as_str()) else {
            wrong.push(format!("{} has no rank in tests/layers.rs", m.name));
            continue;
        };
        for dep in &m.normal {
            match ranks.get(dep.as_str()) {
                Some(&r) if r < own => {}
                Some(&r) => wrong.push(format!(
                    "{} (rank {own}) depends on {dep} (rank {r})",
                    m.name
                )),
                None => wrong.push(format!("{} depends on {dep}, which has no rank", m.name)),
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn the_simulator_is_never_a_normal_dependency() {
    let all = manifests();
    assert!(
        all.iter().any(|m| m.name == "clearml-sim"),
        "crates/clearml-sim missing"
    );
    for m in &all {
        assert!(
            !m.normal.iter().any(|d| d == "clearml-sim"),
            "{} depends on clearml-sim: `cargo install` would build the simulator into the product",
            m.name
        );
    }
    let sim = all
        .iter()
        .find(|m| m.name == "clearml-sim")
        .map(|m| &m.normal);
    assert_eq!(
        sim.map(Vec::len),
        Some(0),
        "the simulator shares no code with the product"
    );
}

#[test]
fn the_manifest_reader_sees_what_the_workspace_declares() {
    // Guards the two tests above against passing because nothing was read.
    let all = manifests();
    let root = &all[0];
    assert_eq!(root.name, "clearfleet");
    assert!(
        root.normal.iter().any(|d| d == "clearfleet-runner"),
        "{:?}",
        root.normal
    );
    assert!(
        root.dev.iter().any(|d| d == "clearml-sim"),
        "{:?}",
        root.dev
    );
    assert_eq!(
        all.len(),
        RANKS.len() + 1,
        "one manifest per ranked package and the simulator"
    );
}
