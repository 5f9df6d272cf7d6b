//! Bad input never panics, and every error that comes from a file says where (issue 7, item 9).
//!
//! Property tests over the layers that read what users and hosts write: inventories (YAML and
//! INI), host patterns, playbooks (with and without a real template check), templates
//! (compile, render, eval) and the parsers of what the ClearML probe reads from a host.
//! Inputs are random text and mutations of the fixture files (splice, delete, duplicate
//! lines, special characters, deep nesting, huge numbers, unicode, NUL bytes, tabs).
//!
//! Each property runs `CLEARFLEET_FUZZ_CASES_<PROPERTY>` cases, else `CLEARFLEET_FUZZ_CASES`,
//! else 2,000 (sized for CI); `<PROPERTY>` is the upper-case name given to `config` below
//! (INVENTORY_LOAD, INVENTORY_BYTES, HOST_PATTERNS, PLAYBOOK, TEMPLATES, EXPRESSIONS, DETECT,
//! DOCKER_INSPECT, COMPOSE, VERSIONS). The million-case run is in docs/reliability.md.
//!
//! "Every error has a location" means, precisely:
//! - an inventory error from `Inventory::load` of an existing UTF-8 file is
//!   `InventoryError::Parse` whose diagnostic has a location in a file that exists, and its
//!   Display contains `<file name>:<line>:<col>` with 1 <= line <= lines + 1 and col >= 1.
//!   The only errors about the file as a whole are `InventoryError::Io` naming that very
//!   file (unreadable, or not UTF-8, which the byte-level property provokes);
//! - every diagnostic of a `PlaybookError` from `load_playbook_str` has a location, and its
//!   Display contains `<file name>:<line>:<col>` (a missing include is reported at the
//!   scalar that named it, so nothing in a `load_playbook_str` is about a file as a whole);
//! - a template error has a location in the origin's file, at or after the origin.

use clearfleet_base::diagnostic::Location;
use clearfleet_clearml::probe::{Section, parse_sections};
use clearfleet_clearml::{Releases, compose, containers, detect, version};
use clearfleet_inventory::{Inventory, InventoryError};
use clearfleet_playbook::{NoCheck, PlaybookError, TemplateKind, load_playbook_str};
use clearfleet_template::{Origin, TemplateError, Templates};
use indexmap::IndexMap;
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Cases for one property: `CLEARFLEET_FUZZ_CASES_<PROPERTY>` (upper case), else
/// `CLEARFLEET_FUZZ_CASES`, else 2,000. Underscores in the number are allowed.
fn cases(property: &str) -> u32 {
    let read = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().replace('_', "").parse().ok())
    };
    read(&format!(
        "CLEARFLEET_FUZZ_CASES_{}",
        property.to_ascii_uppercase()
    ))
    .or_else(|| read("CLEARFLEET_FUZZ_CASES"))
    .unwrap_or(2_000)
}

fn config(property: &str) -> Config {
    Config {
        cases: cases(property),
        // Shrinking a failure is worth it; a bounded time keeps CI bounded too.
        max_shrink_iters: 2_000,
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------
// Corpus and mutations

fn fixture_dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(sub)
}

fn read_tree(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            read_tree(&p, out);
        } else if let Ok(text) = std::fs::read_to_string(&p) {
            out.push((p, text));
        }
    }
}

fn corpus(sub: &str) -> &'static [(PathBuf, String)] {
    static INV: OnceLock<Vec<(PathBuf, String)>> = OnceLock::new();
    static PB: OnceLock<Vec<(PathBuf, String)>> = OnceLock::new();
    let cell = if sub == "inventory" { &INV } else { &PB };
    cell.get_or_init(|| {
        let mut v = Vec::new();
        read_tree(&fixture_dir(sub), &mut v);
        assert!(!v.is_empty(), "no fixtures under tests/fixtures/{sub}");
        v
    })
}

/// Pieces that break parsers: structure of YAML, INI and Jinja, numbers, unicode, controls.
const SPECIAL: &[&str] = &[
    "\0",
    "\t",
    "\r",
    "\r\n",
    "\n",
    " ",
    "  ",
    "\u{feff}",
    "\u{2028}",
    "\u{85}",
    "é",
    "😀",
    "\u{200b}",
    "\u{7f}",
    "\u{1}",
    "\\",
    "\"",
    "'",
    "`",
    "#",
    ";",
    ":",
    ": ",
    "- ",
    "-",
    "?",
    "? ",
    "|",
    ">",
    "|-",
    ">+",
    "&a ",
    "*a",
    "<<: *a",
    "!!str ",
    "!!binary ",
    "!vault |",
    "!",
    "%",
    "%YAML 1.2\n",
    "---\n",
    "...\n",
    "---",
    "{",
    "}",
    "[",
    "]",
    "{}",
    "[]",
    ",",
    "=",
    "==",
    "[a]",
    "[a:children]",
    "[a:vars]",
    "[all:vars]",
    "[ungrouped]",
    "[:]",
    "[]",
    "[1:3]",
    "[01:10]",
    "[a:z]",
    "[0:99999999999]",
    "[5:1]",
    "[-1:]",
    "[::2]",
    "host[1:2]",
    "ansible_port=",
    "ansible_port=99999999",
    "ansible_port=-1",
    "ansible_host=[::1]:22",
    "all",
    "ungrouped",
    "children",
    "hosts",
    "vars",
    "children:",
    "hosts:",
    "vars:",
    "99999999999999999999999999999",
    "-9223372036854775809",
    "18446744073709551616",
    "1e400",
    "-1e400",
    "0x",
    "0xFFFFFFFFFFFFFFFFFF",
    "0o777",
    "0b",
    ".nan",
    ".inf",
    "-.inf",
    "NaN",
    "1_000",
    "0755",
    "~",
    "null",
    "yes",
    "no",
    "True",
    "None",
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "{{ x }}",
    "{{ x | default(1) }}",
    "{% if %}",
    "{% for %}",
    "{% endfor %}",
    "{{ (",
    "{{ x[",
    "{{ 'a' % (1,) }}",
    "{{ 1/0 }}",
    "{{ 10**10**10 }}",
    "{{ range(99999999) | list }}",
    "when:",
    "when: x ==",
    "loop:",
    "block:",
    "rescue:",
    "include_tasks: ",
    "import_tasks: ",
    "import_playbook: ",
    "vars_files: ",
    "name:",
    "tasks:",
    "handlers:",
    "hosts: all",
    "become: yes",
    "command: ",
    "shell: ",
    "debug:",
    "  - ",
    "    ",
    "\t- ",
    "x=y",
    "k='v",
    "a b=c",
    "@@cf:",
    "@@cf-rc:",
    "@@cf-rc:99999999999",
    // Whole lines: group structure and includes.
    "\n[g:children]\nall\n",
    "\n[all:children]\nungrouped\n",
    "\n[ungrouped:children]\ng\n",
    "\n[g:children]\ng\n",
    "\n[g]\nh[1:3] x=1\n",
    "\n  children:\n    all:\n",
    "\ng:\n  children:\n    all:\n",
    "\nall:\n  children:\n    ungrouped:\n      children:\n        all:\n",
    "\n- import_playbook: basic.yml\n",
    "\n- import_playbook: includes.yml\n",
    "\n    - import_tasks: tasks/common.yml\n",
    "\n    - include_tasks: tasks/nested.yml\n",
    "\n    - import_tasks: missing.yml\n",
    "\n  vars_files: [vars/common.yml, nope.yml]\n",
    "\n    - include_tasks: \"{{ x }}.yml\"\n",
    "\n    - block:\n      - debug:\n",
];

/// One edit of a text, chosen by the generator.
#[derive(Debug, Clone)]
enum Edit {
    /// Insert `SPECIAL[k]` at a position.
    Insert(usize, usize),
    /// Insert random text at a position.
    InsertText(usize, String),
    /// Delete the line at an index.
    DeleteLine(usize),
    /// Duplicate the line at an index.
    DuplicateLine(usize),
    /// Move a line elsewhere.
    SwapLines(usize, usize),
    /// Insert lines `start..start+len` of corpus file `file` before a line.
    Splice {
        file: usize,
        start: usize,
        len: usize,
        at: usize,
    },
    /// Remove a range of characters.
    DeleteRange(usize, usize),
    /// Cut the text at a position.
    Truncate(usize),
    /// Indent or dedent a line by some spaces.
    Indent(usize, usize, bool),
    /// Deeply nested brackets / mappings / list items at a position.
    Nest(usize, u8, usize),
    /// Replace a number-looking run of digits with a huge one.
    HugeNumber(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let pos = any::<usize>();
    prop_oneof![
        4 => (pos, 0..SPECIAL.len()).prop_map(|(p, k)| Edit::Insert(p, k)),
        2 => (pos, any::<String>().prop_map(|s| s.chars().take(12).collect()))
            .prop_map(|(p, s)| Edit::InsertText(p, s)),
        2 => pos.prop_map(Edit::DeleteLine),
        2 => pos.prop_map(Edit::DuplicateLine),
        1 => (pos, pos).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        2 => (pos, pos, 1usize..12, pos)
            .prop_map(|(file, start, len, at)| Edit::Splice { file, start, len, at }),
        1 => (pos, 1usize..40).prop_map(|(p, n)| Edit::DeleteRange(p, n)),
        1 => pos.prop_map(Edit::Truncate),
        1 => (pos, 1usize..9, any::<bool>()).prop_map(|(l, n, d)| Edit::Indent(l, n, d)),
        1 => (pos, 0u8..6, 1usize..400).prop_map(|(p, k, n)| Edit::Nest(p, k, n)),
        1 => (pos, 10usize..400).prop_map(|(p, n)| Edit::HugeNumber(p, n)),
    ]
}

fn boundary(s: &str, pos: usize) -> usize {
    let mut p = if s.is_empty() { 0 } else { pos % (s.len() + 1) };
    while !s.is_char_boundary(p) {
        p -= 1;
    }
    p
}

fn apply(text: &str, edits: &[Edit], pool: &[(PathBuf, String)]) -> String {
    let mut s = text.to_owned();
    for e in edits {
        match e {
            Edit::Insert(p, k) => {
                let p = boundary(&s, *p);
                s.insert_str(p, SPECIAL[*k % SPECIAL.len()]);
            }
            Edit::InsertText(p, t) => {
                let p = boundary(&s, *p);
                s.insert_str(p, t);
            }
            Edit::DeleteRange(p, n) => {
                let a = boundary(&s, *p);
                let b = boundary(&s, a.saturating_add(*n).min(s.len()));
                if b > a {
                    s.replace_range(a..b, "");
                }
            }
            Edit::Truncate(p) => {
                let p = boundary(&s, *p);
                s.truncate(p);
            }
            Edit::Nest(p, kind, n) => {
                let p = boundary(&s, *p);
                let piece = match kind {
                    0 => "[".repeat(*n),
                    1 => "{a: ".repeat(*n),
                    2 => (0..*n)
                        .map(|i| format!("{}- \n", " ".repeat(i * 2 % 200)))
                        .collect(),
                    3 => (0..*n)
                        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
                        .collect(),
                    4 => format!("{{{{ {}1{} }}}}", "(".repeat(*n), ")".repeat(*n)),
                    _ => "{% if x %}".repeat(*n),
                };
                s.insert_str(p, &piece);
            }
            Edit::HugeNumber(p, n) => {
                let p = boundary(&s, *p);
                s.insert_str(p, &"9".repeat(*n));
            }
            line_edit => {
                let mut lines: Vec<String> = s.split('\n').map(str::to_owned).collect();
                let n = lines.len().max(1);
                match line_edit {
                    Edit::DeleteLine(i) => {
                        lines.remove(i % n); // `split` yields at least one line
                    }
                    Edit::DuplicateLine(i) => {
                        if let Some(l) = lines.get(i % n).cloned() {
                            lines.insert(i % n, l);
                        }
                    }
                    Edit::SwapLines(a, b) => {
                        lines.swap(a % n, b % n);
                    }
                    Edit::Indent(i, k, dedent) => {
                        if let Some(l) = lines.get_mut(i % n) {
                            if *dedent {
                                let cut = l.len() - l.trim_start_matches(' ').len();
                                l.replace_range(..cut.min(*k), "");
                            } else {
                                l.insert_str(0, &" ".repeat(*k));
                            }
                        }
                    }
                    Edit::Splice {
                        file,
                        start,
                        len,
                        at,
                    } => {
                        let src: Vec<&str> = pool[file % pool.len()].1.split('\n').collect();
                        let st = start % src.len().max(1);
                        let end = (st + len).min(src.len());
                        let at = at % (lines.len() + 1);
                        for (k, l) in src[st..end].iter().enumerate() {
                            lines.insert(at + k, (*l).to_owned());
                        }
                    }
                    _ => {}
                }
                s = lines.join("\n");
            }
        }
    }
    s
}

/// A text for a parser: a mutated corpus file (mostly) or random text.
fn text_from(pool: &'static [(PathBuf, String)]) -> impl Strategy<Value = (usize, String)> {
    prop_oneof![
        8 => (0..pool.len(), prop::collection::vec(edit(), 0..8))
            .prop_map(move |(i, edits)| (i, apply(&pool[i].1, &edits, pool))),
        1 => (0..pool.len(), "(?s).{0,300}").prop_map(|(i, s)| (i, s)),
        1 => (0..pool.len(), prop::collection::vec(0..SPECIAL.len(), 0..60))
            .prop_map(|(i, ks)| (i, ks.iter().map(|k| SPECIAL[*k]).collect())),
    ]
}

// ---------------------------------------------------------------------------------------
// Location checks

fn line_count(text: &str) -> usize {
    text.split('\n').count()
}

/// The inventory error must point into `file`, or be about `file` as a whole.
fn check_inventory_error(
    e: &InventoryError,
    file: &Path,
    text: Option<&str>,
) -> Result<(), String> {
    let shown = e.to_string();
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match e {
        InventoryError::Parse(d) => {
            let Some(loc) = &d.location else {
                return Err(format!("diagnostic without a location: {shown}"));
            };
            if loc.path != file {
                return Err(format!(
                    "location in another file ({}): {shown}",
                    loc.path.display()
                ));
            }
            let tag = format!("{name}:{}:{}", loc.line, loc.column);
            if !shown.contains(&tag) {
                return Err(format!("Display lacks `{tag}`: {shown}"));
            }
            if loc.line == 0 || loc.column == 0 {
                return Err(format!("zero line or column: {shown}"));
            }
            if let Some(t) = text
                && loc.line > line_count(t) + 1
            {
                return Err(format!(
                    "line {} past the end ({} lines): {shown}",
                    loc.line,
                    line_count(t)
                ));
            }
            Ok(())
        }
        InventoryError::Io { path, .. } if path == file => {
            if shown.contains(&name) {
                Ok(())
            } else {
                Err(format!("file error that does not name the file: {shown}"))
            }
        }
        other => Err(format!(
            "location-less error from a file: {other:?} / {shown}"
        )),
    }
}

fn check_playbook_error(e: &PlaybookError, file: &Path, text: &str) -> Result<(), String> {
    if e.diagnostics.is_empty() {
        return Err("a playbook error with no diagnostic".into());
    }
    let shown = e.to_string();
    for d in &e.diagnostics {
        let Some(loc) = &d.location else {
            return Err(format!(
                "diagnostic without a location: {d}\n(all: {shown})"
            ));
        };
        let name = loc
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tag = format!("{name}:{}:{}", loc.line, loc.column);
        if name.is_empty() || !shown.contains(&tag) || loc.line == 0 || loc.column == 0 {
            return Err(format!("bad location `{tag}`: {d}"));
        }
        if loc.path == file && loc.line > line_count(text) + 1 {
            return Err(format!("line {} past the end of the text: {d}", loc.line));
        }
    }
    Ok(())
}

/// [`check_template_error`] on every error among `outcomes` (a failed compile, or each use of
/// what compiled): the first complaint.
fn check_template_errors(
    outcomes: &[Result<(), TemplateError>],
    origin: &Origin,
) -> Result<(), String> {
    outcomes
        .iter()
        .filter_map(|r| r.as_ref().err())
        .try_for_each(|e| check_template_error(e, origin))
}

fn check_template_error(e: &TemplateError, origin: &Origin) -> Result<(), String> {
    let shown = e.to_string();
    let Some(loc) = e.location() else {
        return Err(format!("template error without a location: {shown}"));
    };
    if loc.path != origin.file || loc.line < origin.line || loc.column == 0 {
        return Err(format!(
            "template error at {loc} for origin {origin:?}: {shown}"
        ));
    }
    if !shown.contains(&loc.to_string()) {
        return Err(format!("Display lacks {loc}: {shown}"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Inventory

const EXTS: [&str; 3] = ["yml", "ini", ""];

fn load_inventory_text(
    text: &[u8],
    ext: &str,
) -> (
    tempfile::TempDir,
    PathBuf,
    Result<Inventory, InventoryError>,
) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let file = if ext.is_empty() {
        dir.path().join("hosts")
    } else {
        dir.path().join(format!("hosts.{ext}"))
    };
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("write: {e}"));
    let r = Inventory::load(std::slice::from_ref(&file));
    (dir, file, r)
}

/// A host pattern made of the inventory's names and the pattern operators.
fn pattern() -> impl Strategy<Value = Vec<(u8, usize, String)>> {
    prop::collection::vec(
        (0u8..14, any::<usize>(), "[a-z0-9*?.\\[\\]:^$()|+-]{0,6}"),
        1..6,
    )
}

fn build_pattern(inv: &Inventory, parts: &[(u8, usize, String)]) -> String {
    let names: Vec<&str> = inv.host_names().chain(inv.group_names()).collect();
    let pick = |i: usize| names.get(i % names.len().max(1)).copied().unwrap_or("all");
    let mut s = String::new();
    for (k, i, r) in parts {
        match k {
            0 => s.push_str(pick(*i)),
            1 => s.push_str(&format!(":{}", pick(*i))),
            2 => s.push_str(&format!(",&{}", pick(*i))),
            3 => s.push_str(&format!(":!{}", pick(*i))),
            4 => s.push_str(&format!("~{r}")),
            5 => s.push_str(&format!("{}[{}]", pick(*i), (*i as i64 % 7) - 3)),
            6 => s.push_str(&format!(
                "{}[{}:{}]",
                pick(*i),
                (*i % 5) as i64 - 2,
                r.len()
            )),
            7 => s.push_str(&format!("{}[{}:]", pick(*i), r)),
            8 => s.push('*'),
            9 => s.push_str(r),
            10 => s.push_str(SPECIAL[*i % SPECIAL.len()]),
            11 => s.push_str(&format!(
                "{}*",
                pick(*i).chars().take(2).collect::<String>()
            )),
            12 => s.push_str(&format!("@{r}")),
            _ => s.push_str(&format!("[{}]", "9".repeat(*i % 40))),
        }
    }
    s
}

fn known_inventory() -> &'static Inventory {
    static INV: OnceLock<Inventory> = OnceLock::new();
    INV.get_or_init(|| {
        let paths = [
            fixture_dir("inventory/edge_ini/hosts.ini"),
            fixture_dir("inventory/yaml_nested/hosts.yml"),
            fixture_dir("inventory/ini_ranges/hosts.ini"),
        ];
        Inventory::load(&paths).unwrap_or_else(|e| panic!("fixture inventory: {e}"))
    })
}

proptest! {
    #![proptest_config(config("inventory_load"))]

    /// Mutated and random inventories, as .yml, .ini and extension-less files: no panic,
    /// every error located; a loaded inventory answers patterns without panicking.
    #[test]
    fn inventory_load_never_panics_and_errors_are_located(
        (_, text) in text_from(corpus("inventory")),
        ext in 0usize..3,
        pat in pattern(),
    ) {
        let (_dir, file, r) = load_inventory_text(text.as_bytes(), EXTS[ext]);
        match r {
            Ok(inv) => {
                let p = build_pattern(&inv, &pat);
                if let Err(e) = inv.select(&p) {
                    prop_assert!(matches!(e, InventoryError::Pattern { .. }), "{e:?}");
                }
                let _ = inv.to_list_json();
                let _ = inv.to_graph(None);
            }
            Err(e) => {
                if let Err(msg) = check_inventory_error(&e, &file, Some(&text)) {
                    prop_assert!(false, "{}\n--- input ({}) ---\n{:?}", msg, EXTS[ext], text);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(config("inventory_bytes"))]

    /// Raw bytes (invalid UTF-8 included): the only file-wide error is `Io` naming the file.
    #[test]
    fn inventory_bytes_never_panic(
        (_, text) in text_from(corpus("inventory")),
        cut in any::<usize>(),
        junk in prop::collection::vec(any::<u8>(), 0..4),
        ext in 0usize..3,
    ) {
        let mut bytes = text.into_bytes();
        let at = if bytes.is_empty() { 0 } else { cut % bytes.len() };
        bytes.splice(at..at, junk);
        let (_dir, file, r) = load_inventory_text(&bytes, EXTS[ext]);
        if let Err(e) = r {
            let text = std::str::from_utf8(&bytes).ok();
            if let Err(msg) = check_inventory_error(&e, &file, text) {
                prop_assert!(false, "{}", msg);
            }
        }
    }
}

proptest! {
    #![proptest_config(config("host_patterns"))]

    /// Host patterns against a fixed inventory: errors are pattern errors, never panics.
    #[test]
    fn host_patterns_never_panic(pat in pattern(), raw in "(?s).{0,40}") {
        let inv = known_inventory();
        for p in [build_pattern(inv, &pat), raw] {
            match inv.select(&p) {
                Ok(_) => {}
                Err(InventoryError::Pattern { .. }) => {}
                Err(e) => prop_assert!(false, "pattern `{p}`: unexpected {e:?}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Playbooks

/// A template check like `clearfleet run`'s, on a fresh engine.
fn real_check() -> impl FnMut(&str, TemplateKind, &Location) -> Result<(), String> {
    let mut t = Templates::new();
    move |src: &str, kind: TemplateKind, at: &Location| {
        let origin = Origin::new(&at.path, at.line, at.column, "template");
        let r = match kind {
            TemplateKind::Text => t.compile(src, origin.clone()).map(|_| ()),
            TemplateKind::Expression => t.compile_expr(src, origin.clone()).map(|_| ()),
        };
        r.map_err(|e| {
            // The hook's own errors must be located too.
            if let Err(m) = check_template_error(&e, &origin) {
                panic!("{m}");
            }
            e.to_string()
        })
    }
}

proptest! {
    #![proptest_config(config("playbook"))]

    /// Mutated playbooks, loaded as if they were the fixture (so includes resolve to the
    /// fixture's files): no panic, every diagnostic located.
    #[test]
    fn playbook_never_panics_and_errors_are_located(
        (i, text) in text_from(corpus("playbooks")),
        real in any::<bool>(),
    ) {
        let path = &corpus("playbooks")[i].0;
        let r = if real {
            load_playbook_str(path, &text, &mut real_check())
        } else {
            load_playbook_str(path, &text, &mut NoCheck)
        };
        if let Err(e) = r
            && let Err(msg) = check_playbook_error(&e, path, &text)
        {
            prop_assert!(false, "{}\n--- input ---\n{:?}", msg, text);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Templates

/// Jinja-ish source: pieces of expressions, statements, filters and literals.
const JINJA: &[&str] = &[
    "x",
    "y",
    "z",
    "x.a",
    "x['a']",
    "x[0]",
    "x[-1]",
    "y.b.c",
    "missing",
    "missing.a",
    "1",
    "-1",
    "0",
    "1.5",
    "1e308",
    "99999999999999999999",
    "'s'",
    "\"s\"",
    "'\\1'",
    "[1, 2]",
    "{'a': 1}",
    "(1,)",
    "none",
    "None",
    "true",
    "True",
    "omit",
    "+",
    "-",
    "*",
    "/",
    "//",
    "%",
    "**",
    "~",
    "==",
    "!=",
    "<",
    ">=",
    " and ",
    " or ",
    " not ",
    " in ",
    " is ",
    " if ",
    " else ",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    ".",
    "|",
    " | default(1)",
    " | d",
    " | int",
    " | float",
    " | bool",
    " | string",
    " | length",
    " | first",
    " | last",
    " | list",
    " | join(',')",
    " | regex_replace('(a', 'b')",
    " | regex_search('a+')",
    " | to_json",
    " | to_nice_yaml",
    " | from_yaml",
    " | from_json",
    " | b64decode",
    " | b64encode",
    " | hash('sha1')",
    " | combine({})",
    " | dict2items",
    " | items2dict",
    " | map('upper')",
    " | select('defined')",
    " | sort",
    " | unique",
    " | flatten",
    " | min",
    " | max",
    " | sum",
    " | abs",
    " | round",
    " | random",
    " | version('1.0', '<')",
    " | ternary(1, 2)",
    " | split(',')",
    " | replace('a','b')",
    " | format(1)",
    " | indent(4)",
    " | quote",
    " | basename",
    " | dirname",
    " | mandatory",
    " | range",
    " is defined",
    " is undefined",
    " is string",
    " is number",
    " is version('1', '>')",
    " is match('(')",
    " is search('a')",
    "range(3)",
    "lookup('env','HOME')",
    "'%s' % x",
    "'%d' % 'a'",
    "'%(a)s' % x",
    "x()",
    "x.keys()",
    "x.items()",
    "loop",
    "item",
    "hostvars",
    "'é😀'",
    "'\0'",
    "'\t'",
];

const STATEMENTS: &[&str] = &[
    "{{ ",
    " }}",
    "{% if ",
    "{% elif ",
    "{% else %}",
    "{% endif %}",
    "{% for i in ",
    "{% endfor %}",
    "{% set v = ",
    " %}",
    "{% raw %}",
    "{% endraw %}",
    "{# ",
    " #}",
    "{%- ",
    " -%}",
    "{{- ",
    " -}}",
    "{% macro m() %}",
    "{% endmacro %}",
    "{% break %}",
    "{% continue %}",
    "{% filter upper %}",
    "{% endfilter %}",
    "{% with a = 1 %}",
    "{% endwith %}",
    "\n",
    "text",
    "é",
    "\0",
    "\t",
    "{",
    "}",
    "%",
    "#",
];

fn expression() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::collection::vec(0..JINJA.len(), 1..10)
            .prop_map(|ks| ks.iter().map(|k| JINJA[*k]).collect::<String>()),
        1 => "(?s).{0,40}",
    ]
}

fn template_source() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::collection::vec(
            prop_oneof![
                (0..STATEMENTS.len()).prop_map(|k| STATEMENTS[k].to_owned()),
                (0..JINJA.len()).prop_map(|k| JINJA[k].to_owned()),
            ],
            1..14,
        )
        .prop_map(|v| v.concat()),
        2 => expression().prop_map(|e| format!("{{{{ {e} }}}}")),
        1 => "(?s).{0,60}",
    ]
}

/// Random variables: nested JSON with awkward numbers and strings.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        "(?s).{0,12}".prop_map(serde_json::Value::from),
        (0..JINJA.len()).prop_map(|k| serde_json::Value::from(JINJA[k])),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::vec(("[a-z]{1,2}", inner), 0..6)
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Where a fuzzed template says it comes from: `fuzz.yml`, anywhere in its first 5000 lines.
fn origin() -> impl Strategy<Value = Origin> {
    (1usize..5000, 1usize..200).prop_map(|(line, col)| Origin::new("fuzz.yml", line, col, "fuzz"))
}

fn vars() -> impl Strategy<Value = serde_json::Value> {
    (json_value(), json_value(), json_value()).prop_map(
        |(x, y, z)| serde_json::json!({ "x": x, "y": y, "z": z, "item": 1, "loop": [1, 2] }),
    )
}

proptest! {
    #![proptest_config(config("templates"))]

    /// Random templates compiled and rendered with random variables.
    #[test]
    fn templates_never_panic_and_errors_are_located(
        src in template_source(),
        vars in vars(),
        origin in origin(),
    ) {
        let mut t = Templates::new();
        let outcomes = match t.compile(&src, origin.clone()) {
            Ok(id) => vec![t.render(id, &vars).map(|_| ()), t.render_str(id, &vars).map(|_| ())],
            Err(e) => vec![Err(e)],
        };
        if let Err(m) = check_template_errors(&outcomes, &origin) {
            prop_assert!(false, "{} for {:?}", m, src);
        }
    }
}

proptest! {
    #![proptest_config(config("expressions"))]

    /// Random conditions compiled and evaluated (as a value and as a boolean).
    #[test]
    fn expressions_never_panic_and_errors_are_located(
        expr in expression(),
        braces in any::<bool>(),
        vars in vars(),
        origin in origin(),
    ) {
        let mut t = Templates::new();
        let src = if braces { format!("{{{{ {expr} }}}}") } else { expr };
        let outcomes = match t.compile_expr(&src, origin.clone()) {
            Ok(id) => vec![t.eval(id, &vars).map(|_| ()), t.eval_bool(id, &vars).map(|_| ())],
            Err(e) => vec![Err(e)],
        };
        if let Err(m) = check_template_errors(&outcomes, &origin) {
            prop_assert!(false, "{} for {:?}", m, src);
        }
    }
}

// ---------------------------------------------------------------------------------------
// What a host prints: probe sections, docker inspect, compose files, .env, versions

const INSPECT: &str = r#"[{"Name":"/clearml-apiserver","State":{"Status":"running","Running":true,"ExitCode":0},"RestartCount":0,"Config":{"Image":"allegroai/clearml:1.16.2","Env":["CLEARML_AGENT_GIT_USER=bot","PATH=/usr/bin"],"Labels":{"com.docker.compose.project.config_files":"/opt/clearml/docker-compose.yml"}},"Mounts":[{"Source":"/opt/clearml/config","Destination":"/opt/clearml/config"},{"Source":"/opt/clearml/data/fileserver","Destination":"/mnt/fileserver"}]},{"Name":"/clearml-mongo","State":{"Status":"exited","Running":false,"ExitCode":137},"RestartCount":3,"Config":{"Image":"mongo:4.4.29","Env":null,"Labels":{}},"Mounts":[{"Source":"/opt/clearml/data/mongo_4/db","Destination":"/data/db"}]},{"Name":"/clearml-elastic","State":{"Status":"running","Running":true},"Config":{"Image":"docker.elastic.co/elasticsearch/elasticsearch:7.17.18"},"Mounts":[{"Source":"/opt/clearml/data/elastic_7","Destination":"/usr/share/elasticsearch/data"}]}]"#;

const COMPOSE: &str = "version: \"3.6\"\nservices:\n  apiserver:\n    command:\n    - apiserver\n    container_name: clearml-apiserver\n    image: allegroai/clearml:1.16.2\n    restart: unless-stopped\n    volumes:\n    - /opt/clearml/logs:/var/log/clearml\n    environment:\n      CLEARML_ELASTIC_SERVICE_HOST: elasticsearch\n  elasticsearch:\n    container_name: clearml-elastic\n    image: docker.elastic.co/elasticsearch/elasticsearch:7.17.18\n  mongo:\n    container_name: clearml-mongo\n    image: mongo:4.4.29\n  redis:\n    image: redis:6.2\n  agent-services:\n    image: allegroai/clearml-agent-services:latest\n";

const DOTENV: &str = "# comment\nCLEARML_HOST_IP=10.1.2.3\nexport CLEARML_AGENT_GIT_USER=bot\nCLEARML_AGENT_GIT_PASS='p a\"ss'\nEMPTY=\nQUOTED=\"x\\\"y\"\n";

const SERVER_INFO: &str = "{\"meta\":{},\"data\":{\"version\":\"1.16.2\",\"build\":\"502\",\"uid\":\"abc\",\"api_version\":\"2.30\",\"server_errors\":{}}}\n200";

const VERSION_JSON: &str = "{\"version\":\"1.16.2\",\"number\":\"1.16.2\"}\n200";

fn host_pool() -> &'static [(PathBuf, String)] {
    static POOL: OnceLock<Vec<(PathBuf, String)>> = OnceLock::new();
    POOL.get_or_init(|| {
        [INSPECT, COMPOSE, DOTENV, SERVER_INFO, VERSION_JSON]
            .iter()
            .map(|t| (PathBuf::from("host-output"), (*t).to_owned()))
            .collect()
    })
}

/// Section names the detector reads, with the arguments the probe gives them.
const SECTION_NAMES: &[&str] = &[
    "os",
    "uid",
    "docker-access",
    "http:debug.ping",
    "http:server.info",
    "http:version.json",
    "http:fileserver",
    "compose-v2",
    "compose-v1",
    "names",
    "inspect",
    "mongo-version:clearml-mongo",
    "mongo-fcv:clearml-mongo",
    "elastic:clearml-elastic",
    "redis:clearml-redis",
    "version-py:clearml-apiserver",
    "file:/opt/clearml/docker-compose.yml",
    "env:/opt/clearml/.env",
    "datadir:/opt/clearml",
    "file:/opt/trains/docker-compose.yml",
    "services:clearml-apiserver",
];

fn section_text() -> impl Strategy<Value = String> {
    let good = [
        "Linux\nx86_64",
        "root",
        "group",
        "sudo",
        "denied",
        "missing",
        "Docker Compose version v2.29.1",
        "clearml-apiserver\nclearml-mongo",
        INSPECT,
        COMPOSE,
        DOTENV,
        SERVER_INFO,
        VERSION_JSON,
        "4.4.29",
        "{ \"featureCompatibilityVersion\" : { \"version\" : \"4.4\" } }",
        "{\"version\":{\"number\":\"7.17.18\"}}",
        "redis_version:6.2.14",
        "__version__ = \"1.16.2\"",
        "data\nconfig\nlogs\nmongo\nelastic_7\nmongo_4",
        "{\"ok\":true}\n200",
        "\n000",
    ];
    prop_oneof![
        6 => (0..good.len(), prop::collection::vec(edit(), 0..6))
            .prop_map(move |(k, e)| apply(good[k], &e, host_pool())),
        1 => "(?s).{0,80}",
    ]
}

fn sections() -> impl Strategy<Value = IndexMap<String, Section>> {
    prop::collection::vec(
        (
            prop_oneof![
                8 => (0..SECTION_NAMES.len()).prop_map(|k| SECTION_NAMES[k].to_owned()),
                1 => "[a-z:/.-]{0,16}",
            ],
            section_text(),
            prop::option::of(any::<i32>()),
        ),
        0..16,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(k, text, rc)| (k, Section { text, rc }))
            .collect()
    })
}

fn releases() -> &'static Releases {
    static R: OnceLock<Releases> = OnceLock::new();
    R.get_or_init(|| Releases::builtin().unwrap_or_else(|e| panic!("{e}")))
}

proptest! {
    #![proptest_config(config("detect"))]

    /// Random probe sections: the detector never panics (what it cannot read becomes a note),
    /// and the script output round-trips through `parse_sections` without panicking.
    #[test]
    fn detect_interpret_never_panics(secs in sections(), noise in "(?s).{0,60}") {
        let st = detect::interpret(&secs, releases());
        // Malformed host output is a clear note on that host, not a crash.
        if let Some(s) = secs.get("inspect")
            && let Err(e) = containers::parse_inspect(&s.text)
        {
            prop_assert!(st.notes.contains(&e.to_string()), "{:?}", st.notes);
        }
        // (server.info is only asked once a ClearML or Trains deployment was found.)
        if let Some(s) = secs.get("http:server.info")
            && st.kind.is_some()
        {
            let a = clearfleet_clearml::probe::parse_http(&s.text);
            if a.status == 200 && serde_json::from_str::<serde_json::Value>(&a.body).is_err() {
                prop_assert!(
                    st.notes.iter().any(|n| n.contains("server.info answered something that is not JSON")),
                    "{:?}",
                    st.notes
                );
            }
        }
        for allow_es_migration in [false, true] {
            let _ = clearfleet_clearml::plan(
                &st,
                releases(),
                clearfleet_clearml::Version { major: 2, minor: 3, patch: 0, build: None },
                clearfleet_clearml::PlanOptions { allow_es_migration, ..Default::default() },
            );
        }
        let mut out = String::new();
        for (k, s) in &secs {
            out.push_str(&format!("\n@@cf:{k}\n{}\n", s.text));
            if let Some(rc) = s.rc {
                out.push_str(&format!("@@cf-rc:{rc}\n"));
            }
        }
        out.push_str(&noise);
        let parsed = parse_sections(&out);
        let _ = detect::interpret(&parsed, releases());
    }
}

proptest! {
    #![proptest_config(config("docker_inspect"))]

    /// `docker inspect` output: parsed or a clear error, never a panic.
    #[test]
    fn docker_inspect_never_panics(text in section_text(), raw in "(?s).{0,40}") {
        for t in [&text, &raw, &apply(INSPECT, &[], host_pool())] {
            match containers::parse_inspect(t) {
                Ok(cs) => for c in cs {
                    let _ = containers::classify(&c.name);
                    let _ = c.mount_source("/data/db");
                    let _ = c.env_var("PATH");
                },
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}

proptest! {
    #![proptest_config(config("compose"))]

    /// Compose files and .env files from a host.
    #[test]
    fn compose_and_env_never_panic(text in section_text()) {
        match compose::services(&text) {
            Ok(svcs) => for s in svcs {
                let _ = compose::image_name(&s.image);
                let _ = compose::image_tag(&s.image);
                let _ = version::from_image_tag(&s.image);
            },
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        let _ = compose::parse_env(&text);
    }
}

proptest! {
    #![proptest_config(config("versions"))]

    /// Versions as hosts print them.
    #[test]
    fn versions_never_panic(
        s in prop_oneof![
            "v?[0-9]{0,25}(\\.[0-9]{0,25}){0,4}(-[0-9]{0,25})?[a-z]{0,2}",
            "(?s).{0,30}",
        ],
    ) {
        if let Ok(v) = s.parse::<clearfleet_clearml::Version>() {
            prop_assert_eq!(v.to_string().parse::<clearfleet_clearml::Version>().ok(), Some(v));
        }
        let _ = version::from_version_py(&format!("__version__ = \"{s}\""));
        let _ = version::from_version_py(&s);
        let _ = version::from_image_tag(&format!("allegroai/clearml:{s}"));
        let _ = version::from_image_tag(&s);
    }
}
