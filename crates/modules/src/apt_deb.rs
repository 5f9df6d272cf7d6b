//! `apt`'s `deb`: `.deb` files (or one URL, fetched first as `fetch_file` does) installed with
//! `dpkg -i`, as ansible-core 2.19.14's `lib/ansible/modules/apt.py` does it (`install_deb`,
//! with python-apt's `apt.debfile.DebPackage.check` and `missing_deps`): a file whose version is
//! installed already is left alone, one older than the installed version fails unless
//! `allow_downgrade`, its missing dependencies are installed through apt-get first, then dpkg
//! takes the files (`--simulate` in check mode, `--force-all` with `force`).
//!
//! Differences from python-apt's check: `Breaks` of the file and of installed packages are not
//! looked at, conflicts are checked against installed packages by name (not through virtual
//! packages), and a file dpkg-deb cannot read fails with dpkg-deb's words.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::apt::{self, AptArgs, AptState, Found};
use super::context::ModuleContext;
use super::debversion;
use super::fetch_file;
use super::probe::{call, nonce};
use super::remote::Remote;
use super::result::ModuleResult;
use clearfleet_base::shell::quote;

/// The control fields read from each file (`get_field_of_deb` and `DebPackage`'s sections).
const FIELDS: &[&str] = &[
    "Package",
    "Version",
    "Architecture",
    "Depends",
    "Pre-Depends",
    "Conflicts",
    "Replaces",
    "Recommends",
];

/// One `.deb` file and what its control file says.
#[derive(Debug, Default, Clone, PartialEq)]
struct Deb {
    /// The path as `apt.py` passes it to dpkg (for a URL, the file fetched).
    file: String,
    /// `DebPackage` could not open it: python-apt's message.
    unreadable: Option<String>,
    fields: HashMap<String, String>,
}

impl Deb {
    fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", |v| v.as_str())
    }
}

/// One alternative of a relation (`apt_pkg.parse_depends`): a name, an operator (`<`, `<=`,
/// `=`, `>=`, `>`, or empty) and a version.
#[derive(Debug, Clone, PartialEq)]
struct Dep {
    name: String,
    op: String,
    version: String,
}

/// `apt_pkg.parse_depends(s, False)`: or-groups split at `,`, alternatives at `|`, the
/// architecture and profile restrictions dropped, `<<`/`>>` as `<`/`>` and the old `<`/`>` as
/// `<=`/`>=`.
fn parse_depends(s: &str) -> Vec<Vec<Dep>> {
    s.split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(|g| {
            g.split('|')
                .map(|alt| {
                    let alt = alt.trim();
                    let end = alt
                        .find(|c: char| c == '(' || c == '[' || c == '<' || c.is_whitespace())
                        .unwrap_or(alt.len());
                    let (name, after) = alt.split_at(end);
                    let rest = match after.trim_start().strip_prefix('(') {
                        Some(r) => r.split(')').next().unwrap_or_default(),
                        None => "",
                    };
                    let ops = ["<<", "<=", ">=", ">>", "=", "<", ">"];
                    let (op, version) = ops
                        .iter()
                        .find_map(|o| rest.trim().strip_prefix(o).map(|v| (*o, v)))
                        .unwrap_or(("", ""));
                    let op = match op {
                        "<<" => "<",
                        ">>" => ">",
                        "<" => "<=",
                        ">" => ">=",
                        o => o,
                    };
                    Dep {
                        name: name.trim().to_owned(),
                        op: op.to_owned(),
                        version: version.trim().to_owned(),
                    }
                })
                .collect()
        })
        .collect()
}

/// `apt_pkg.check_dep`: whether `version` satisfies `op` `wanted`.
fn check_dep(version: &str, op: &str, wanted: &str) -> bool {
    let c = debversion::compare(version, wanted);
    match op {
        "" => true,
        "<" => c.is_lt(),
        "<=" => c.is_le(),
        "=" => c.is_eq(),
        ">=" => c.is_ge(),
        ">" => c.is_gt(),
        _ => false,
    }
}

/// What `DebPackage.check` says of one file: its failure string (empty when installable) and
/// the packages it found missing before it stopped (`missing_deps`).
#[derive(Debug, Default, PartialEq)]
struct Check {
    failure: Option<String>,
    missing: Vec<String>,
}

/// `DebPackage.check()` (`allow_downgrade=False`, as `apt.py` calls it) against the look.
fn check(deb: &Deb, native: &str, found: &dyn Fn(&str) -> Found) -> Check {
    let fail = |msg: String| Check {
        failure: Some(msg),
        missing: Vec::new(),
    };
    let arch = deb.field("Architecture");
    if arch.is_empty() {
        return fail("No Architecture field in the package".to_owned());
    }
    if arch != "all" && arch != native {
        return fail(format!(
            "Wrong architecture '{arch}' -- Run dpkg --add-architecture to add it and update \
             afterwards"
        ));
    }
    let own = found(deb.field("Package"));
    if let Some(installed) = &own.installed_version
        && debversion::compare(installed, deb.field("Version")).is_gt()
    {
        return fail("A later version is already installed".to_owned());
    }
    // `check_conflicts`: installed packages the file conflicts with, unless it replaces them.
    let replaces = parse_depends(deb.field("Replaces"));
    let mut conflicts = String::new();
    for dep in parse_depends(deb.field("Conflicts")).iter().flatten() {
        let Some(installed) = found(&dep.name).installed_version else {
            continue;
        };
        let replaced = replaces.iter().flatten().any(|r| {
            r.name == dep.name && (r.op.is_empty() || check_dep(&installed, &r.op, &r.version))
        });
        if check_dep(&installed, &dep.op, &dep.version) && !replaced {
            conflicts.push_str(&format!(
                "Conflicts with the installed package '{}'",
                dep.name
            ));
        }
    }
    if !conflicts.is_empty() {
        return fail(conflicts);
    }
    // `_satisfy_depends`: each or-group satisfied by what is installed, else by the first
    // alternative whose candidate would do.
    let mut missing = Vec::new();
    let groups: Vec<Vec<Dep>> = ["Depends", "Pre-Depends"]
        .iter()
        .flat_map(|k| parse_depends(deb.field(k)))
        .collect();
    for group in &groups {
        if satisfied(group, found) {
            continue;
        }
        match satisfy(group, found) {
            Some(name) => missing.push(name),
            None => {
                return Check {
                    failure: Some(format!(
                        "Dependency is not satisfiable: {}\n",
                        unsatisfiable(group)
                    )),
                    missing,
                };
            }
        }
    }
    Check {
        failure: None,
        missing,
    }
}

/// `_is_or_group_satisfied`.
fn satisfied(group: &[Dep], found: &dyn Fn(&str) -> Found) -> bool {
    group.iter().any(|dep| {
        let f = found(&dep.name);
        if f.versions.is_empty() && f.installed_version.is_none() {
            return f.providers.iter().any(|(_, installed)| *installed);
        }
        if f.installed_version
            .as_deref()
            .is_some_and(|v| check_dep(v, &dep.op, &dep.version))
        {
            return true;
        }
        dep.op.is_empty() && f.providers.iter().any(|(_, installed)| *installed)
    })
}

/// `_satisfy_or_group`: the package to install for the group (a virtual package's only
/// provider, for an alternative without a version).
fn satisfy(group: &[Dep], found: &dyn Fn(&str) -> Found) -> Option<String> {
    group.iter().find_map(|dep| {
        let f = found(&dep.name);
        if f.versions.is_empty() && f.installed_version.is_none() {
            return match f.providers.as_slice() {
                [(provider, _)] if dep.op.is_empty() => Some(provider.clone()),
                _ => None,
            };
        }
        let candidate = f.candidate.as_deref()?;
        check_dep(candidate, &dep.op, &dep.version).then(|| dep.name.clone())
    })
}

/// The or-group as `_satisfy_or_group`'s failure spells it (the versions shown when the
/// group's last alternative has one, as its loop leaves `ver` and `oper`).
fn unsatisfiable(group: &[Dep]) -> String {
    let versioned = group
        .last()
        .is_some_and(|d| !d.op.is_empty() && !d.version.is_empty());
    group
        .iter()
        .map(|d| match versioned {
            true => format!("{} ({} {})", d.name, d.op, d.version),
            false => d.name.clone(),
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// The first look: the URL fetched (into a temporary directory), each file's control fields,
/// dpkg's architecture.
fn look_script(deb: &str, url: bool, sep: &str) -> String {
    let mut s = String::from(apt::ENV);
    let files: Vec<String> = if url {
        let (prefix, ext) = fetch_file::split_multiext(deb);
        s.push_str(
            "w=$(mktemp -d \"${TMPDIR:-/tmp}/clearfleet-apt.XXXXXXXX\") || exit 1\n\
             printf 'tmp %s\\n' \"$w\"\n",
        );
        s.push_str(&fetch_file::script(
            &prefix,
            &ext,
            sep,
            "exit 1",
            "printf 'download %s\\n' \"$(base64 -w0 <\"$w/e\")\"; exit 0",
        ));
        vec!["\"$s\"".to_owned()]
    } else {
        deb.split(',').map(quote).collect()
    };
    s.push_str("printf 'arch %s\\n' \"$(dpkg --print-architecture)\"\n");
    for f in &files {
        s.push_str(&format!(
            "printf 'deb %s\\n' {f}\n\
             if [ ! -e {f} ]; then echo missing\n\
             elif ! cf_e=$(dpkg-deb --info {f} 2>&1 >/dev/null); then \
             printf 'bad %s\\n' \"$(printf %s \"$cf_e\" | base64 -w0)\"\n\
             else\n"
        ));
        for field in FIELDS {
            s.push_str(&format!(
                "printf 'field {field} %s\\n' \"$(dpkg --field {f} {field} | tr '\\n' ' ')\"\n"
            ));
        }
        s.push_str("fi\n");
    }
    s
}

/// What the first look found.
#[derive(Debug, Default)]
struct Look {
    tmp: Option<String>,
    download: Option<String>,
    native: String,
    debs: Vec<Deb>,
}

fn parse_look(out: &str) -> Look {
    let mut look = Look::default();
    for line in out.lines() {
        if let Some(t) = line.strip_prefix("tmp ") {
            look.tmp = Some(t.to_owned());
        } else if let Some(e) = line.strip_prefix("download ") {
            look.download = Some(apt::b64(e));
        } else if let Some(a) = line.strip_prefix("arch ") {
            look.native = a.trim().to_owned();
        } else if let Some(f) = line.strip_prefix("deb ") {
            look.debs.push(Deb {
                file: f.to_owned(),
                ..Deb::default()
            });
        } else if let Some(d) = look.debs.last_mut() {
            if line == "missing" {
                d.unreadable = Some(format!(
                    "E:Could not open file {} - open (2: No such file or directory)",
                    d.file
                ));
            } else if let Some(e) = line.strip_prefix("bad ") {
                d.unreadable = Some(format!("E:{}", apt::b64(e).trim()));
            } else if let Some(rest) = line.strip_prefix("field ") {
                let (k, v) = rest.split_once(' ').unwrap_or((rest, ""));
                d.fields.insert(k.to_owned(), v.trim().to_owned());
            }
        }
    }
    look
}

/// Runs `install_deb` for `args.deb` (its temporary directory removed afterwards).
pub async fn install<R: Remote>(
    args: &AptArgs,
    ctx: &ModuleContext<'_, R>,
    deb: &str,
) -> Result<ModuleResult, ModuleResult> {
    let url = deb.contains("://");
    let sep = format!("--clearfleet-{}--", nonce().map_err(|r| *r)?);
    let script = look_script(deb, url, &sep);
    let stdin = url.then(|| fetch_file::configs(deb, true, &sep).into_bytes());
    let out = call(ctx, &script, stdin, None).await?;
    let look = parse_look(&out.stdout_text());
    let r = install_looked(args, ctx, deb, &look).await;
    if let Some(tmp) = &look.tmp {
        call(ctx, &format!("rm -rf {}", quote(tmp)), None, None).await?;
    }
    r
}

async fn install_looked<R: Remote>(
    args: &AptArgs,
    ctx: &ModuleContext<'_, R>,
    deb: &str,
    look: &Look,
) -> Result<ModuleResult, ModuleResult> {
    if let Some(e) = &look.download {
        return Err(ModuleResult::fail(format!(
            "Failure downloading {}, {}",
            fetch_file::mask_url(deb),
            e.trim()
        )));
    }
    // One look at every package the files name (themselves, dependencies, conflicts).
    let mut names: Vec<String> = Vec::new();
    for d in &look.debs {
        names.push(d.field("Package").to_owned());
        for k in ["Depends", "Pre-Depends", "Conflicts"] {
            names.extend(
                parse_depends(d.field(k))
                    .into_iter()
                    .flatten()
                    .map(|dep| dep.name),
            );
        }
    }
    names.retain(|n| !n.is_empty());
    names.sort();
    names.dedup();
    let quiet = AptArgs {
        update_cache: false,
        cache_valid_time: 0,
        clean: false,
        default_release: None,
        ..args.clone()
    };
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let out = call(
        ctx,
        &apt::look_script(&quiet, &refs, false, true),
        None,
        None,
    )
    .await?;
    let packages = apt::parse_look(&out.stdout_text()).packages;
    let found = |name: &str| {
        packages
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f.clone())
            .unwrap_or_default()
    };
    let mut deps: Vec<String> = Vec::new();
    let mut files: Vec<&str> = Vec::new();
    for d in &look.debs {
        if let Some(e) = &d.unreadable {
            return Err(ModuleResult::fail(format!(
                "Unable to install package: {e}"
            )));
        }
        if let Some(installed) = found(d.field("Package")).installed_version
            && debversion::compare(d.field("Version"), &installed).is_eq()
        {
            continue;
        }
        let c = check(d, &look.native, &found);
        if let Some(failure) = c.failure {
            let later = failure.contains("later version") && args.allow_downgrade;
            if !args.force && !later {
                return Err(ModuleResult::fail(failure));
            }
        }
        deps.extend(c.missing);
        if args.install_recommends == Some(true) {
            deps.extend(
                d.field("Recommends")
                    .split_whitespace()
                    .map(|r| r.trim().to_owned()),
            );
        }
        files.push(&d.file);
    }
    // The dependencies through `install`, as `apt.py` calls it for them.
    let mut before: Option<ModuleResult> = None;
    let mut changed = false;
    if !deps.is_empty() {
        let dep_args = AptArgs {
            state: AptState::Present,
            force: false,
            autoremove: false,
            only_upgrade: false,
            ..quiet.clone()
        };
        let statuses = deps
            .iter()
            .map(|name| {
                apt::status(name, None, &found(name), true).map(|st| Some((st, found(name).auto)))
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(ModuleResult::fail)?;
        let r = apt::install(&dep_args, ctx, &deps, statuses, &args.dpkg_options()).await?;
        changed = r.changed;
        before = Some(r);
    }
    let text = |r: &Option<ModuleResult>, pick: fn(&ModuleResult) -> Option<String>| {
        r.as_ref().and_then(pick)
    };
    let before_out = text(&before, |r| r.stdout.clone());
    let before_err = text(&before, |r| r.stderr.clone());
    let before_diff: Option<Value> = before.as_ref().and_then(|r| r.data.get("diff").cloned());
    if files.is_empty() {
        let mut r = ModuleResult {
            changed,
            ..ModuleResult::ok()
        };
        r.stdout = Some(before_out.unwrap_or_default());
        r.stderr = Some(before_err.unwrap_or_default());
        return Ok(r.with("diff", before_diff.unwrap_or_else(|| json!(""))));
    }
    let mut options: Vec<String> = args
        .dpkg_options
        .split(',')
        .map(|o| format!("--{o}"))
        .collect();
    if ctx.check_mode {
        options.push("--simulate".to_owned());
    }
    if args.force {
        options.push("--force-all".to_owned());
    }
    let cmd = format!("dpkg {} -i {}", options.join(" "), files.join(" "));
    // `run_command` splits the line as a shell would (`shlex`); the words are quoted here.
    let run = cmd
        .split_whitespace()
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ");
    let ran = apt::apply(ctx, args, &run, None).await?;
    let stdout = format!("{}{}", before_out.unwrap_or_default(), ran.stdout);
    let stderr = format!("{}{}", before_err.unwrap_or_default(), ran.stderr);
    let diff = match before_diff {
        Some(Value::Object(mut d)) => {
            if let Some(Value::String(p)) = d.get_mut("prepared") {
                p.push_str("\n\n");
                p.push_str(&ran.stdout);
            }
            Value::Object(d)
        }
        Some(other) => other,
        None => apt::parse_diff(&ran.stdout),
    };
    let mut r = match ran.rc {
        0 => ModuleResult::changed().with("diff", diff),
        _ => ModuleResult::fail(format!("{cmd} failed")),
    };
    r.stdout = Some(stdout);
    r.stderr = Some(stderr);
    match ran.rc {
        0 => Ok(r),
        _ => Err(r),
    }
}

#[cfg(test)]
#[path = "apt_deb_tests.rs"]
mod tests;
