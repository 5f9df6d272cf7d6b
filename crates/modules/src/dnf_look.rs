//! `dnf`'s look, in one round trip: what dnf.py's Base knows before it marks anything — the
//! user (`dnf.util.am_i_root`), the configuration file (`_configure_base`), the metadata made
//! (`fill_sack`, `update_cache`: the repository errors and the release version warning), the
//! installed packages (`rpm -qa`) and, for each spec, what `dnf.subject.Subject(spec)
//! .get_best_query(sack)` finds: the installed and available packages its NEVRA forms match
//! (`rpm -q`, `dnf repoquery`), else those providing it (`--whatprovides`), and the package a
//! path belongs to. A listing (`list`) is read here too.

use std::cmp::Ordering;

use serde_json::{Value, json};

use super::context::ModuleContext;
use super::dnf::DnfArgs;
use super::probe::call;
use super::remote::Remote;
use super::result::ModuleResult;
use super::rpmversion::evr_cmp;
use clearfleet_base::shell::quote;

/// The C locale dnf.py sets (`get_best_parsable_locale`), and Python's output unbuffered so
/// that dnf's stdout and stderr keep their order in one stream.
pub const ENV: &str = "export LC_ALL=C LANG=C LANGUAGE=C LC_MESSAGES=C PYTHONUNBUFFERED=1\n";

/// Without `conf_file`, dnf.py's Base reads the host's `/etc/dnf/dnf.conf` whatever the
/// `installroot`, where the CLI would look inside the installroot first: `--config` names it
/// (`$cf_conf`) when it is there.
pub fn conf_choice(args: &DnfArgs) -> &'static str {
    match args.conf_file.is_none() && args.installroot != "/" {
        true => "cf_conf=''; [ -r /etc/dnf/dnf.conf ] && cf_conf=--config=/etc/dnf/dnf.conf\n",
        false => "",
    }
}

/// What the look asks about.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// A package spec: name, NEVRA, glob, provide or path.
    Spec(String),
    /// A local `.rpm` file (`rpm -qp`).
    File(String),
}

/// `list_items`'s commands.
#[derive(Debug, Clone, PartialEq)]
pub enum Listing {
    Installed,
    Available,
    Upgrades,
    Repos,
    Spec(String),
}

impl Listing {
    pub fn of(command: &str) -> Listing {
        match command {
            "installed" => Listing::Installed,
            "available" => Listing::Available,
            "updates" | "upgrades" => Listing::Upgrades,
            "repos" | "repositories" => Listing::Repos,
            spec => Listing::Spec(spec.to_owned()),
        }
    }
}

/// One package as the look printed it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pkg {
    pub name: String,
    pub epoch: String,
    pub version: String,
    pub release: String,
    pub arch: String,
    /// The repository id; `@System` for an installed package.
    pub repo: String,
    /// 0: not installed (dnf.py's `yumstate: available`).
    pub installtime: i64,
}

impl Pkg {
    /// hawkey's `str(package)`: `name-[epoch:]version-release.arch`, the epoch only when not 0.
    pub fn nevra(&self) -> String {
        let epoch = match self.epoch.as_str() {
            "" | "0" => String::new(),
            e => format!("{e}:"),
        };
        format!(
            "{}-{epoch}{}-{}.{}",
            self.name, self.version, self.release, self.arch
        )
    }

    fn evr(&self) -> (&str, &str, &str) {
        (&self.epoch, &self.version, &self.release)
    }

    /// dnf.py's `_package_dict`.
    fn to_dict(&self) -> Value {
        let epoch = if self.epoch.is_empty() {
            "0"
        } else {
            &self.epoch
        };
        let envra = format!(
            "{epoch}:{}-{}-{}.{}",
            self.name, self.version, self.release, self.arch
        );
        json!({
            "name": self.name,
            "arch": self.arch,
            "epoch": epoch,
            "release": self.release,
            "version": self.version,
            "repo": self.repo,
            "envra": envra,
            "nevra": envra,
            "yumstate": if self.installtime == 0 { "available" } else { "installed" },
        })
    }

    /// `name|epoch|version|release|arch|repo|installtime`, as the look's query formats print.
    fn parse(line: &str, repo: Option<&str>) -> Option<Pkg> {
        let f: Vec<&str> = line.split('|').collect();
        if f.len() < 5 {
            return None;
        }
        let field = |i: usize| f.get(i).map_or("", |s| s.trim()).to_owned();
        Some(Pkg {
            name: field(0),
            epoch: field(1),
            version: field(2),
            release: field(3),
            arch: field(4),
            repo: repo.map_or_else(|| field(5), str::to_owned),
            installtime: f.get(6).and_then(|t| t.trim().parse().ok()).unwrap_or(0),
        })
    }
}

fn order(a: &Pkg, b: &Pkg) -> Ordering {
    a.name
        .cmp(&b.name)
        .then_with(|| evr_cmp(a.evr(), b.evr()))
        .then_with(|| a.arch.cmp(&b.arch))
        .then_with(|| a.repo.cmp(&b.repo))
}

/// What the look found for one spec.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    /// Installed packages its NEVRA forms match (`rpm -q`).
    pub installed: Vec<Pkg>,
    /// Available packages its NEVRA forms match (`dnf repoquery`), in repoquery's order.
    pub available: Vec<Pkg>,
    /// With no NEVRA match: installed packages providing it.
    pub installed_provides: Vec<Pkg>,
    /// With no NEVRA match: available packages providing it.
    pub available_provides: Vec<Pkg>,
    /// A path's installed owner (`rpm -qf`).
    pub owner: Option<String>,
}

/// The look's answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Look {
    pub uid: Option<u32>,
    pub conf_readable: bool,
    /// The metadata could not be made: dnf's `Error:` line, without the word.
    pub repo_error: Option<String>,
    /// dnf said it could not detect the release version.
    pub no_releasever: bool,
    /// Every installed package, in rpm's order.
    pub all_installed: Vec<Pkg>,
    pub specs: Vec<(String, Found)>,
    pub files: Vec<(String, Pkg)>,
    /// A listing's available packages (`available`, `upgrades`).
    pub listed: Vec<Pkg>,
    /// `list: repos`: the enabled repositories' ids.
    pub repos: Vec<String>,
}

const RPM_QF: &str = "%{name}|%{epochnum}|%{version}|%{release}|%{arch}|@System|%{installtime}\\n";
const FILE_QF: &str = "%{name}|%{epochnum}|%{version}|%{release}|%{arch}|@commandline|0\\n";
const DNF_QF: &str = "%{name}|%{epoch}|%{version}|%{release}|%{arch}|%{repoid}";

/// The look script.
pub fn script(args: &DnfArgs, queries: &[Query], listing: Option<&Listing>) -> String {
    let mut s = String::from(ENV);
    s.push_str(conf_choice(args));
    let root = match args.installroot.as_str() {
        "/" => String::new(),
        r => format!("--root {} ", quote(r)),
    };
    let opts = args.options();
    s.push_str(&format!(
        "cf_err=$(mktemp) || exit 1\n\
         cf_dnf() {{ dnf {opts} \"$@\" 2>>\"$cf_err\"; }}\n\
         cf_rpm() {{ rpm {root}\"$@\" 2>/dev/null; }}\n\
         echo \"U $(id -u)\"\n"
    ));
    if let Some(conf) = &args.conf_file {
        s.push_str(&format!(
            "if [ -r {c} ]; then echo 'C 1'; else echo 'C 0'; fi\n",
            c = quote(conf)
        ));
    }
    let rpm_qf = |tag: &str| quote(&format!("{tag} {RPM_QF}"));
    let dnf_qf = |tag: &str| quote(&format!("{tag} {DNF_QF}"));
    s.push_str(&format!("cf_rpm -qa --qf {}\n", rpm_qf("Q")));
    // The Base's metadata: made (expired first with update_cache) as `fill_sack` makes it.
    let make = match (args.cacheonly, args.update_cache) {
        (true, _) => "cf_dnf -q repolist >/dev/null",
        (false, true) => "cf_dnf -q makecache --refresh >/dev/null",
        (false, false) => "cf_dnf -q makecache >/dev/null",
    };
    s.push_str(&format!(
        "{make}; cf_rc=$?; echo \"R $cf_rc\"\n\
         if [ $cf_rc -eq 0 ]; then\n"
    ));
    for (i, q) in queries.iter().enumerate() {
        s.push_str(&format!("echo 'S {i}'\n"));
        match q {
            Query::File(f) => s.push_str(&format!(
                "rpm -qp --qf {} -- {} 2>/dev/null\n",
                quote(&format!("K {FILE_QF}")),
                quote(f)
            )),
            Query::Spec(spec) => {
                let q = quote(spec);
                let glob = spec.contains(['*', '[', '?']);
                if spec.starts_with('/') {
                    s.push_str(&format!(
                        "cf_rpm -qf --qf 'F %{{name}}\\n' -- {q} | grep '^F '\n"
                    ));
                }
                let installed = match glob {
                    true => format!("cf_rpm -qa --qf {} -- {q}", rpm_qf("I")),
                    false => format!("cf_rpm -q --qf {} -- {q} | grep '^I '", rpm_qf("I")),
                };
                s.push_str(&format!(
                    "cf_i=$({installed}); [ -n \"$cf_i\" ] && printf '%s\\n' \"$cf_i\"\n\
                     cf_a=$(cf_dnf -q repoquery --qf {aq} -- {q}); \
                     [ -n \"$cf_a\" ] && printf '%s\\n' \"$cf_a\"\n\
                     if [ -z \"$cf_i$cf_a\" ]; then\n\
                     cf_rpm -q --whatprovides --qf {wq} -- {q} | grep '^W '\n\
                     cf_dnf -q repoquery --qf {vq} --whatprovides={q}\n\
                     fi\n",
                    aq = dnf_qf("A"),
                    wq = rpm_qf("W"),
                    vq = dnf_qf("V"),
                ));
            }
        }
    }
    match listing {
        Some(Listing::Available) => {
            s.push_str(&format!("cf_dnf -q repoquery --qf {}\n", dnf_qf("L")));
        }
        Some(Listing::Upgrades) => {
            s.push_str(&format!(
                "cf_dnf -q repoquery --upgrades --qf {}\n",
                dnf_qf("L")
            ));
        }
        Some(Listing::Repos) => s.push_str(
            "cf_dnf -q repolist --enabled | while read -r cf_id cf_rest; do \
             [ \"$cf_id\" = repo ] || [ -z \"$cf_id\" ] || echo \"P $cf_id\"; done\n",
        ),
        _ => {}
    }
    s.push_str("fi\nprintf 'E %s\\n' \"$(base64 -w0 <\"$cf_err\")\"; rm -f \"$cf_err\"\n");
    s
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Reads the look's output (`queries` in the order the script asked them).
pub fn parse(out: &str, queries: &[Query]) -> Look {
    let mut look = Look::default();
    let mut current: Option<usize> = None;
    let mut found: Vec<Found> = vec![Found::default(); queries.len()];
    let mut rc = 0;
    let mut errors = String::new();
    for line in out.lines() {
        let Some((tag, rest)) = line.split_once(' ') else {
            continue;
        };
        let f = current.and_then(|i| found.get_mut(i));
        match (tag, f) {
            ("U", _) => look.uid = rest.trim().parse().ok(),
            ("C", _) => look.conf_readable = rest.trim() == "1",
            ("R", _) => rc = rest.trim().parse().unwrap_or(1),
            ("E", _) => errors = b64(rest),
            ("S", _) => current = rest.trim().parse().ok(),
            ("Q", _) => look.all_installed.extend(Pkg::parse(rest, None)),
            ("L", _) => look.listed.extend(Pkg::parse(rest, None)),
            ("P", _) => look.repos.push(rest.trim().to_owned()),
            ("K", Some(_)) => {
                if let (Some(Query::File(file)), Some(p)) =
                    (current.and_then(|i| queries.get(i)), Pkg::parse(rest, None))
                {
                    look.files.push((file.clone(), p));
                }
            }
            ("F", Some(f)) => f.owner = Some(rest.trim().to_owned()),
            ("I", Some(f)) => f.installed.extend(Pkg::parse(rest, None)),
            ("A", Some(f)) => f.available.extend(Pkg::parse(rest, None)),
            ("W", Some(f)) => f.installed_provides.extend(Pkg::parse(rest, None)),
            ("V", Some(f)) => f.available_provides.extend(Pkg::parse(rest, None)),
            _ => {}
        }
    }
    look.no_releasever = errors.contains("Unable to detect release version");
    if rc != 0 {
        let why = errors
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("Error: "))
            .map_or_else(|| errors.trim().to_owned(), str::to_owned);
        look.repo_error = Some(why);
    }
    for (q, mut f) in queries.iter().zip(found) {
        if let Query::Spec(spec) = q {
            // repoquery matches names whatever their case; hawkey's Subject does not.
            if !spec.contains(['*', '[', '?']) {
                f.available.retain(|p| spec.starts_with(p.name.as_str()));
            }
            look.specs.push((spec.clone(), f));
        }
    }
    look
}

impl Look {
    fn found(&self, spec: &str) -> Option<&Found> {
        self.specs.iter().find(|(s, _)| s == spec).map(|(_, f)| f)
    }

    /// The installed package a path belongs to.
    pub fn owner(&self, spec: &str) -> Option<&str> {
        self.found(spec)?.owner.as_deref()
    }

    /// `_is_installed`: the Subject's best query has an installed package (a NEVRA match
    /// anywhere decides; else what provides it). A name the look did not ask about (a path's
    /// owner) is installed if rpm lists it.
    pub fn installed(&self, spec: &str) -> bool {
        match self.found(spec) {
            Some(f) if !f.installed.is_empty() => true,
            Some(f) if !f.available.is_empty() => false,
            Some(f) => !f.installed_provides.is_empty(),
            None => self.all_installed.iter().any(|p| p.name == spec),
        }
    }

    /// Whether dnf could mark the spec for installation at all.
    pub fn available(&self, spec: &str) -> bool {
        self.found(spec).is_some_and(|f| {
            !f.available.is_empty()
                || !f.available_provides.is_empty()
                || !f.installed_provides.is_empty()
        })
    }

    /// `_is_newer_version_installed` of a spec: its best solution is a NEVRA match with more
    /// than a name, and the installed package of that name is newer than the first match.
    pub fn spec_newer_installed(&self, spec: &str) -> bool {
        let Some(f) = self.found(spec) else {
            return false;
        };
        // With an installed match, the query's first package is that one (the system repo is
        // loaded first): never newer than itself.
        let Some(first) = f.installed.first().or(f.available.first()) else {
            return false;
        };
        if !f.installed.is_empty() || spec == first.name {
            return false;
        }
        self.all_installed
            .iter()
            .find(|p| p.name == first.name)
            .is_some_and(|p| evr_cmp(p.evr(), first.evr()) == Ordering::Greater)
    }

    /// The package of a local `.rpm` file.
    pub fn file_pkg(&self, file: &str) -> Option<&Pkg> {
        self.files.iter().find(|(f, _)| f == file).map(|(_, p)| p)
    }

    /// `_is_newer_version_installed` of a package: the highest installed of its name and arch
    /// is newer.
    pub fn newer_installed(&self, pkg: &Pkg) -> bool {
        self.all_installed
            .iter()
            .filter(|p| p.name == pkg.name && p.arch == pkg.arch)
            .max_by(|a, b| evr_cmp(a.evr(), b.evr()))
            .is_some_and(|p| evr_cmp(p.evr(), pkg.evr()) == Ordering::Greater)
    }

    /// The installed packages an upgrade or downgrade to `pkg` replaces: same name and arch.
    pub fn replaced_by(&self, pkg: &Pkg) -> Vec<&Pkg> {
        self.all_installed
            .iter()
            .filter(|p| p.name == pkg.name && p.arch == pkg.arch)
            .filter(|p| evr_cmp(p.evr(), pkg.evr()) != Ordering::Equal)
            .collect()
    }
}

/// `list_items`'s results.
pub fn listed(listing: &Listing, look: &Look) -> Value {
    fn dicts(pkgs: &[Pkg]) -> Vec<Value> {
        let mut sorted: Vec<&Pkg> = pkgs.iter().collect();
        sorted.sort_by(|a, b| order(a, b));
        sorted.into_iter().map(Pkg::to_dict).collect()
    }
    let items = match listing {
        Listing::Installed => dicts(&look.all_installed),
        Listing::Available | Listing::Upgrades => dicts(&look.listed),
        Listing::Repos => look
            .repos
            .iter()
            .map(|r| json!({"repoid": r, "state": "enabled"}))
            .collect(),
        Listing::Spec(spec) => match look.found(spec) {
            Some(f) if !f.installed.is_empty() || !f.available.is_empty() => {
                let mut v = dicts(&f.installed);
                v.extend(dicts(&f.available));
                v
            }
            Some(f) => {
                let mut v = dicts(&f.installed_provides);
                v.extend(dicts(&f.available_provides));
                v
            }
            None => Vec::new(),
        },
    };
    Value::Array(items)
}

/// Runs the look.
pub async fn run<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    args: &DnfArgs,
    queries: &[Query],
    listing: Option<&Listing>,
) -> Result<Look, ModuleResult> {
    let mut queries = queries.to_vec();
    if let Some(Listing::Spec(spec)) = listing {
        queries.push(Query::Spec(spec.clone()));
    }
    let out = call(ctx, &script(args, &queries, listing), None, None).await?;
    Ok(parse(&out.stdout_text(), &queries))
}
