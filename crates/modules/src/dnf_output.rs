//! What `dnf shell ... run` printed (stdout and stderr in their order, the C locale): the
//! transaction table dnf lists before it asks (dnf.py's `base.transaction.install_set` and
//! `remove_set`), the dependency problem `resolve` printed (dnf.py's `DepsolveError`), and
//! the `Error:` of the transaction (a GPG check, a download, rpm).

use super::dnf_look::Pkg;

/// A package the transaction installs; `replaces`: an upgrade or a downgrade (the installed
/// version of its name and arch goes).
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub pkg: Pkg,
    pub replaces: bool,
}

/// The outcome of one `dnf shell` run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub install: Vec<Planned>,
    /// NEVRAs removed (the table's removals and the packages obsoletes replace).
    pub remove: Vec<String>,
    /// The depsolve problem as `str(DepsolveError)` words it (`\n Problem: ...`).
    pub problem: Option<String>,
    /// The transaction's error, without `Error: `.
    pub error: Option<String>,
    /// The line before `Error: GPG check FAILED` (why the signature check failed).
    pub gpg: Option<String>,
}

/// A table row's package from its words: name, arch, `[epoch:]version-release`, repository.
fn row(words: &[&str]) -> Option<Pkg> {
    let (name, arch, evr, repo) = (words.first()?, words.get(1)?, words.get(2)?, words.get(3)?);
    let (epoch, vr) = evr.split_once(':').unwrap_or(("0", evr));
    let (version, release) = vr.rsplit_once('-').unwrap_or((vr, ""));
    Some(Pkg {
        name: (*name).to_owned(),
        epoch: epoch.to_owned(),
        version: version.to_owned(),
        release: release.to_owned(),
        arch: (*arch).to_owned(),
        repo: (*repo).to_owned(),
        installtime: 0,
    })
}

/// `name.arch` and `[epoch:]version-release` of a `replacing` line as a NEVRA.
fn replaced(name_arch: &str, evr: &str) -> String {
    let (name, arch) = name_arch.rsplit_once('.').unwrap_or((name_arch, ""));
    let evr = evr.strip_prefix("0:").unwrap_or(evr);
    format!("{name}-{evr}.{arch}")
}

#[derive(Clone, Copy, PartialEq)]
enum Section {
    None,
    Install { replaces: bool },
    Remove,
    Skip,
}

fn section(header: &str) -> Section {
    if header.starts_with("Removing") {
        Section::Remove
    } else if header.starts_with("Skipping") {
        Section::Skip
    } else if header.starts_with("Upgrading") || header.starts_with("Downgrading") {
        Section::Install { replaces: true }
    } else {
        Section::Install { replaces: false }
    }
}

/// Reads the output; `check`: dnf was told `--assumeno` (its "Operation aborted." is no
/// error).
pub fn parse(out: &str, check: bool) -> Outcome {
    let lines: Vec<&str> = out.lines().collect();
    let rule = |l: &str| l.starts_with("=====");
    let table = lines
        .windows(3)
        .position(|w| rule(w[0]) && w[1].contains("Package") && rule(w[2]));
    let mut o = Outcome::default();
    let before = &lines[..table.unwrap_or(lines.len())];
    if let Some(start) = before.iter().position(|l| l.starts_with(" Problem")) {
        let block: Vec<&str> = before[start..]
            .iter()
            .take_while(|l| l.starts_with(' ') && !l.trim().is_empty())
            .copied()
            .collect();
        o.problem = Some(format!("\n{}", block.join("\n")));
    }
    let Some(top) = table else {
        return o;
    };
    let mut at = top + 3;
    let mut current = Section::None;
    let mut words: Vec<&str> = Vec::new();
    while let Some(line) = lines.get(at) {
        if line.trim().is_empty() || line.starts_with("Transaction Summary") {
            break;
        }
        at += 1;
        if !line.starts_with(' ') {
            current = section(line.trim_end_matches(':'));
            words.clear();
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.first() == Some(&"replacing") {
            if let (Some(na), Some(evr)) = (w.get(1), w.get(2)) {
                o.remove.push(replaced(na, evr));
            }
            continue;
        }
        words.extend(w);
        if words.len() < 4 {
            // A long name alone on its line: the rest of the row follows.
            continue;
        }
        if let Some(pkg) = row(&words) {
            match current {
                Section::Install { replaces } => o.install.push(Planned { pkg, replaces }),
                Section::Remove => o.remove.push(pkg.nevra()),
                Section::Skip | Section::None => {}
            }
        }
        words.clear();
    }
    let rest = &lines[at.min(lines.len())..];
    for (i, line) in rest.iter().enumerate() {
        let Some(e) = line.strip_prefix("Error: ") else {
            continue;
        };
        if check && e == "Operation aborted." {
            continue;
        }
        if e == "GPG check FAILED" {
            let why = rest[..i]
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_owned());
            o.gpg = Some(why.unwrap_or_default());
            break;
        }
        let more: Vec<&str> = rest[i + 1..]
            .iter()
            .take_while(|l| l.starts_with(' ') && !l.trim().is_empty())
            .copied()
            .collect();
        let mut text = e.to_owned();
        for m in more {
            text.push('\n');
            text.push_str(m);
        }
        o.error = Some(text);
        break;
    }
    o
}
