//! `dnf`: RPM packages present, latest or absent, listed, the cache updated, as ansible-core
//! 2.19.14's `lib/ansible/modules/dnf.py` decides it (`DnfModule.run`, `ensure`,
//! `_mark_package_install`, `list_items`; the arguments of `module_utils/yumdnf.py`), with the
//! `dnf` CLI (dnf 4) and `rpm` in place of the dnf Python API, and its result keys and words.
//! One round trip looks ([`super::dnf_look`]: `rpm -q`, `dnf repoquery`, the cache made), one
//! applies: the marks dnf.py would make (`install`, `upgrade`, `remove`, `autoremove`) given
//! to `dnf shell` with `run`, whose transaction table is the result ([`super::dnf_output`]);
//! in check mode the same with `--assumeno`, so dnf resolves but changes nothing.
//!
//! Differences from dnf.py (docs/playbooks.md lists them too):
//! - Package groups and environments (`@group`) and modularity streams are not handled: the
//!   task fails saying so. Local `.rpm` files are, and URLs of RPMs, fetched first
//!   ([`super::dnf_fetch`]) before the look (dnf.py fetches them after its root and
//!   configuration checks).
//! - dnf.py orders `results` as it iterates Python sets of packages; here the installed and
//!   the removed packages are each sorted by name. `list` results: installed packages first,
//!   then available ones, each by name, version and arch; `list: repos` in `dnf repolist`'s
//!   order (by id).
//! - The CLI looks for `reposdir` inside `installroot` first when it exists there; dnf.py never
//!   does. The configuration file is `/etc/dnf/dnf.conf` of the host (as dnf.py reads it),
//!   given to the CLI with `--config` when `installroot` is not `/`.
//! - `lock_timeout`, `install_repoquery`, `validate_certs` are accepted without effect, as in
//!   dnf.py. A marking error the look did not foresee (a spec it found that dnf then refuses)
//!   does not stop the other marks, as dnf.py's failure list would.
//! - A transaction that fails in rpm (a scriptlet) is reported from dnf's `Error:` line
//!   (`Unknown Error occurred: ...`), not from dnf's history.

use serde_json::{Value, json};

use super::args::{ArgError, Args, Key};
use super::context::ModuleContext;
use super::dnf_fetch;
use super::dnf_look::{self, Look, Pkg, Query};
use super::dnf_output::{self, Outcome};
use super::probe::call;
use super::remote::Remote;
use super::result::ModuleResult;
use clearfleet_base::shell::quote;

/// The `state` argument (`installed` is `present`, `removed` is `absent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnfState {
    Present,
    Latest,
    Absent,
}

/// Arguments of `dnf` (`yumdnf_argument_spec` and dnf.py's `use_backend`).
#[derive(Debug, Clone, PartialEq)]
pub struct DnfArgs {
    /// Stripped and split at commas as `YumDnf.__init__` does.
    pub names: Vec<String>,
    /// `None`: not given (`autoremove` alone means absent).
    pub state: Option<DnfState>,
    pub list: Option<String>,
    pub update_cache: bool,
    pub conf_file: Option<String>,
    pub disable_gpg_check: bool,
    pub disablerepo: Vec<String>,
    pub enablerepo: Vec<String>,
    pub exclude: Vec<String>,
    pub disable_excludes: Option<String>,
    pub installroot: String,
    pub releasever: Option<String>,
    pub autoremove: bool,
    pub download_only: bool,
    pub download_dir: Option<String>,
    pub allow_downgrade: bool,
    pub allowerasing: bool,
    pub best: Option<bool>,
    pub nobest: Option<bool>,
    pub bugfix: bool,
    pub security: bool,
    pub cacheonly: bool,
    pub disable_plugin: Vec<String>,
    pub enable_plugin: Vec<String>,
    pub install_weak_deps: bool,
    pub skip_broken: bool,
    pub update_only: bool,
    pub sslverify: bool,
}

/// Accepted keys, with the aliases of `yumdnf_argument_spec`; `use` is the action's (it never
/// reaches the module).
pub const KEYS: &[Key] = &[
    ("allow_downgrade", &[]),
    ("allowerasing", &[]),
    ("autoremove", &[]),
    ("best", &[]),
    ("bugfix", &[]),
    ("cacheonly", &[]),
    ("conf_file", &[]),
    ("disable_excludes", &[]),
    ("disable_gpg_check", &[]),
    ("disable_plugin", &[]),
    ("disablerepo", &[]),
    ("download_only", &[]),
    ("download_dir", &[]),
    ("enable_plugin", &[]),
    ("enablerepo", &[]),
    ("exclude", &[]),
    ("installroot", &[]),
    ("install_repoquery", &[]),
    ("install_weak_deps", &[]),
    ("list", &[]),
    ("name", &["pkg"]),
    ("nobest", &[]),
    ("releasever", &[]),
    ("security", &[]),
    ("skip_broken", &[]),
    ("state", &[]),
    ("update_cache", &["expire-cache"]),
    ("update_only", &[]),
    ("validate_certs", &[]),
    ("sslverify", &[]),
    ("lock_timeout", &[]),
    ("use_backend", &[]),
    ("use", &[]),
];

/// `listify_comma_sep_strings_in_list`: elements with a comma replaced by their parts, which
/// go to the end; `[""]` is no list at all.
fn listify(list: Vec<String>) -> Vec<String> {
    let (split, mut kept): (Vec<String>, Vec<String>) =
        list.into_iter().partition(|e| e.contains(','));
    kept.extend(
        split
            .iter()
            .flat_map(|e| e.split(',').map(|p| p.trim().to_owned())),
    );
    if kept.len() == 1 && kept[0].is_empty() {
        return Vec::new();
    }
    kept
}

impl DnfArgs {
    /// Parses and checks the arguments (`mutually_exclusive`; `required_one_of` always holds,
    /// as `name` has a default).
    pub fn parse(v: &Value) -> Result<DnfArgs, ArgError> {
        let mut a = Args::new("dnf", KEYS, v)?;
        for pair in [["name", "list"], ["best", "nobest"]] {
            if pair.iter().all(|k| a.has(k)) {
                return Err(ArgError::general(format!(
                    "parameters are mutually exclusive: {}",
                    pair.join("|")
                )));
            }
        }
        let state = match a
            .choice(
                "state",
                &["absent", "installed", "latest", "present", "removed"],
                None,
            )?
            .as_deref()
        {
            Some("absent" | "removed") => Some(DnfState::Absent),
            Some("latest") => Some(DnfState::Latest),
            Some(_) => Some(DnfState::Present),
            None => None,
        };
        let list = |a: &mut Args, k: &str| -> Result<Vec<String>, ArgError> {
            Ok(a.list_str(k)?.unwrap_or_default())
        };
        let names: Vec<String> = list(&mut a, "name")?
            .iter()
            .map(|n| n.trim().to_owned())
            .collect();
        let opt_bool = |a: &mut Args, k: &str| -> Result<Option<bool>, ArgError> {
            match a.has(k) {
                true => a.bool(k, false).map(Some),
                false => Ok(None),
            }
        };
        let parsed = DnfArgs {
            names: listify(names),
            state,
            list: a.str("list")?,
            update_cache: a.bool("update_cache", false)?,
            conf_file: a.str("conf_file")?,
            disable_gpg_check: a.bool("disable_gpg_check", false)?,
            disablerepo: listify(list(&mut a, "disablerepo")?),
            enablerepo: listify(list(&mut a, "enablerepo")?),
            exclude: listify(list(&mut a, "exclude")?),
            disable_excludes: a.str("disable_excludes")?,
            installroot: a.str("installroot")?.unwrap_or_else(|| "/".to_owned()),
            releasever: a.str("releasever")?,
            autoremove: a.bool("autoremove", false)?,
            download_only: a.bool("download_only", false)?,
            download_dir: a.str("download_dir")?,
            allow_downgrade: a.bool("allow_downgrade", false)?,
            allowerasing: a.bool("allowerasing", false)?,
            best: opt_bool(&mut a, "best")?,
            nobest: opt_bool(&mut a, "nobest")?,
            bugfix: a.bool("bugfix", false)?,
            security: a.bool("security", false)?,
            cacheonly: a.bool("cacheonly", false)?,
            disable_plugin: list(&mut a, "disable_plugin")?,
            enable_plugin: list(&mut a, "enable_plugin")?,
            install_weak_deps: a.bool("install_weak_deps", true)?,
            skip_broken: a.bool("skip_broken", false)?,
            update_only: a.bool("update_only", false)?,
            sslverify: a.bool("sslverify", true)?,
        };
        // Without effect in dnf.py too (lock_timeout is yum's; validate_certs gave way to
        // sslverify; install_repoquery is deprecated); use_backend and use are the action's.
        a.bool("validate_certs", true)?;
        a.bool("install_repoquery", true)?;
        a.int("lock_timeout")?;
        a.choice(
            "use_backend",
            &["auto", "dnf", "yum", "yum4", "dnf4", "dnf5"],
            Some("auto"),
        )?;
        a.str("use")?;
        a.finish()?;
        Ok(parsed)
    }

    /// The options every dnf command gets, as `_configure_base` and `_specify_repositories`
    /// set the Base (quoted words; `$cf_conf` is the look's choice of configuration file).
    pub(crate) fn options(&self) -> String {
        let b = |on: bool| if on { "True" } else { "False" };
        let mut w: Vec<String> = Vec::new();
        match &self.conf_file {
            Some(c) => w.push(quote(&format!("--config={c}"))),
            None if self.installroot != "/" => w.push("$cf_conf".to_owned()),
            None => {}
        }
        if self.installroot != "/" {
            w.push(quote(&format!("--installroot={}", self.installroot)));
        }
        // Without `releasever`, dnf.py's Base has the one detected on `/` (`--releasever=/`).
        let release = self.releasever.as_deref().unwrap_or("/");
        w.push(quote(&format!("--releasever={release}")));
        if self.disable_gpg_check {
            w.push("--nogpgcheck".to_owned());
        } else {
            w.push("--setopt=gpgcheck=True --setopt=localpkg_gpgcheck=True".to_owned());
        }
        w.push(format!("--setopt=sslverify={}", b(self.sslverify)));
        for e in self.exclude.iter().filter(|e| !e.is_empty()) {
            w.push(quote(&format!("--exclude={e}")));
        }
        if let Some(d) = &self.disable_excludes {
            w.push(quote(&format!("--disableexcludes={d}")));
        }
        if self.skip_broken {
            w.push("--setopt=strict=False".to_owned());
        }
        match (self.nobest, self.best) {
            (Some(nobest), _) => w.push(format!("--setopt=best={}", b(!nobest))),
            (None, Some(best)) => w.push(format!("--setopt=best={}", b(best))),
            _ => {}
        }
        if self.download_only {
            w.push("--downloadonly".to_owned());
            if let Some(d) = &self.download_dir {
                w.push(quote(&format!("--destdir={d}")));
            }
        }
        if self.cacheonly {
            w.push("--cacheonly".to_owned());
        }
        w.push(format!(
            "--setopt=clean_requirements_on_remove={} --setopt=install_weak_deps={}",
            b(self.autoremove),
            b(self.install_weak_deps)
        ));
        for (flag, plugins) in [
            ("--disableplugin", &self.disable_plugin),
            ("--enableplugin", &self.enable_plugin),
        ] {
            for p in plugins.iter().filter(|p| !p.is_empty()) {
                w.push(quote(&format!("{flag}={p}")));
            }
        }
        for (flag, repos) in [
            ("--disablerepo", &self.disablerepo),
            ("--enablerepo", &self.enablerepo),
        ] {
            for r in repos.iter().filter(|r| !r.is_empty()) {
                w.push(quote(&format!("{flag}={r}")));
            }
        }
        if self.bugfix {
            w.push("--bugfix".to_owned());
        }
        if self.security {
            w.push("--security".to_owned());
        }
        w.join(" ")
    }
}

/// dnf.py's failure with `results: []` (and `rc: 1` where it gives one).
fn fail(msg: impl Into<String>, rc: bool) -> ModuleResult {
    let mut r = ModuleResult::fail(msg).with("results", json!([]));
    if rc {
        r.rc = Some(1);
    }
    r
}

/// `failure_response` of `ensure`.
fn failure(msg: impl Into<String>, failures: Vec<String>) -> ModuleResult {
    fail(msg, true).with("failures", failures)
}

/// dnf.py's `exit_json` of `ensure`: `msg`, `results`, `rc` 0.
fn done(changed: bool, msg: &str, results: Vec<String>) -> ModuleResult {
    let mut r = ModuleResult {
        changed,
        ..ModuleResult::ok()
    }
    .with_msg(msg)
    .with("results", results);
    r.rc = Some(0);
    r
}

/// dnf.util.is_glob_pattern.
fn is_glob(spec: &str) -> bool {
    spec.contains(['*', '[', '?'])
}

/// What `_parse_spec_group_file` makes of a name.
#[derive(Debug, Clone, PartialEq)]
enum Name {
    /// A local `.rpm` file.
    File(String),
    /// A package spec (a name, NEVRA, glob, provide, or a path).
    Spec(String),
}

fn classify(names: &[String], fetched: &[String]) -> Result<Vec<Name>, Box<ModuleResult>> {
    names
        .iter()
        .map(|n| {
            if n.ends_with(".rpm") || fetched.contains(n) {
                Ok(Name::File(n.clone()))
            } else if n.starts_with('/') {
                Ok(Name::Spec(n.clone()))
            } else if n.starts_with('@') || n.contains('/') {
                Err(Box::new(fail(
                    format!(
                        "clearfleet's dnf does not handle package groups, environments or \
                         modules ({n})"
                    ),
                    false,
                )))
            } else {
                Ok(Name::Spec(n.clone()))
            }
        })
        .collect()
}

/// Runs `dnf`.
pub async fn run<R: Remote>(args: &DnfArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    // URLs fetched first (`_parse_spec_group_file`'s `fetch_file`), then taken as files.
    let fetching = args.list.is_none() && args.names.iter().any(|n| n.contains("://"));
    if !fetching {
        return match run_inner(args, ctx, &[]).await {
            Ok(r) | Err(r) => r,
        };
    }
    let fetched = match dnf_fetch::fetch(ctx, &args.names).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let files: Vec<String> = args
        .names
        .iter()
        .zip(&fetched.names)
        .filter(|(n, _)| n.contains("://"))
        .map(|(_, f)| f.clone())
        .collect();
    let local = DnfArgs {
        names: fetched.names.clone(),
        ..args.clone()
    };
    let r = match run_inner(&local, ctx, &files).await {
        Ok(r) | Err(r) => r,
    };
    if let Some(tmp) = &fetched.tmp {
        dnf_fetch::cleanup(ctx, tmp).await;
    }
    r
}

/// `fetched`: the names that are files fetched from URLs.
async fn run_inner<R: Remote>(
    args: &DnfArgs,
    ctx: &ModuleContext<'_, R>,
    fetched: &[String],
) -> Result<ModuleResult, ModuleResult> {
    // `YumDnf.__init__`.
    for n in &args.names {
        if n.contains(' ') && !n.contains(['@', '>', '<', '=']) {
            return Err(ModuleResult::fail(
                "It appears that a space separated string of packages was passed in as an \
                 argument. To operate on several packages, pass a comma separated string of \
                 packages or a list of packages.",
            ));
        }
    }
    let state = args.state.unwrap_or(match args.autoremove {
        true => DnfState::Absent,
        false => DnfState::Present,
    });
    if args.autoremove && state != DnfState::Absent {
        return Err(fail(
            "Autoremove should be used alone or with state=absent",
            false,
        ));
    }
    let cache_only = args.update_cache && args.names.is_empty() && args.list.is_none();
    let names = match (&args.list, cache_only) {
        (None, false) => classify(&args.names, fetched).map_err(|r| *r)?,
        _ => Vec::new(),
    };
    let upgrade_all = args.names == ["*"] && state == DnfState::Latest;
    let mut queries: Vec<Query> = Vec::new();
    if !upgrade_all {
        for n in &names {
            queries.push(match n {
                Name::File(f) => Query::File(f.clone()),
                // Present and latest pass a glob to dnf as it is; absent asks what it matches.
                Name::Spec(s) if is_glob(s) && state != DnfState::Absent => continue,
                Name::Spec(s) => Query::Spec(s.clone()),
            });
        }
    }
    let listing = args.list.as_deref().map(dnf_look::Listing::of);
    let look = dnf_look::run(ctx, args, &queries, listing.as_ref()).await?;
    let warn = |mut r: ModuleResult| {
        if look.no_releasever {
            r.warnings.push(
                "Unable to detect release version (use \"releasever\" option to specify \
                 release version)"
                    .to_owned(),
            );
        }
        r
    };
    // `run`: the root check comes before the Base is made, for what is not a listing or a
    // cache update.
    if !cache_only && listing.is_none() && !args.download_only && look.uid != Some(0) {
        return Err(fail(
            "This command has to be run under the root user.",
            false,
        ));
    }
    if let Some(conf) = &args.conf_file
        && !look.conf_readable
    {
        return Err(warn(
            fail("cannot read configuration file", false).with("conf_file", conf.clone()),
        ));
    }
    if let Some(msg) = &look.repo_error {
        return Err(warn(fail(msg.clone(), true)));
    }
    if cache_only {
        let mut r = ModuleResult::ok()
            .with_msg("Cache updated")
            .with("results", json!([]));
        r.rc = Some(0);
        return Ok(warn(r));
    }
    if let Some(listing) = &listing {
        let r = ModuleResult::ok()
            .with_msg("")
            .with("results", dnf_look::listed(listing, &look));
        return Ok(warn(r));
    }
    ensure(args, ctx, state, &names, upgrade_all, &look)
        .await
        .map(warn)
        .map_err(warn)
}

/// `ensure`: the marks (`dnf shell` commands), the results dnf.py gives before resolving, and
/// the failures it collects.
struct Marks {
    lines: Vec<String>,
    results: Vec<String>,
    failures: Vec<String>,
    allowerasing: bool,
}

impl Marks {
    fn push(&mut self, op: &str, spec: &str) {
        self.lines.push(format!("{op} {}", quote(spec)));
    }
}

fn mark(
    args: &DnfArgs,
    state: DnfState,
    names: &[Name],
    upgrade_all: bool,
    look: &Look,
) -> Result<Marks, Box<ModuleResult>> {
    let mut m = Marks {
        lines: Vec::new(),
        results: Vec::new(),
        failures: Vec::new(),
        allowerasing: args.allowerasing,
    };
    if upgrade_all {
        m.lines.push("upgrade".to_owned());
        return Ok(m);
    }
    let files: Vec<&String> = names
        .iter()
        .filter_map(|n| match n {
            Name::File(f) => Some(f),
            Name::Spec(_) => None,
        })
        .collect();
    let specs: Vec<String> = names
        .iter()
        .filter_map(|n| match n {
            // `_parse_spec_group_file`: a path an installed package provides is that package.
            Name::Spec(s) => Some(look.owner(s).unwrap_or(s).to_owned()),
            Name::File(_) => None,
        })
        .collect();
    let upgrade = state == DnfState::Latest;
    if state == DnfState::Absent {
        if !files.is_empty() {
            return Err(Box::new(fail(
                "Cannot remove paths -- please specify package name.",
                false,
            )));
        }
        for spec in &specs {
            match look.installed(spec) {
                true => m.push("remove", spec),
                false => m.results.push(format!("No match for argument: {spec}")),
            }
        }
        // "Like the dnf CLI we want to allow recursive removal of dependent packages".
        m.allowerasing = true;
        if args.autoremove {
            m.lines.push("autoremove".to_owned());
        }
        return Ok(m);
    }
    // `_install_remote_rpms`.
    for f in &files {
        let newer = look.file_pkg(f).is_some_and(|p| look.newer_installed(p));
        if !args.update_only && (!newer || args.allow_downgrade) {
            m.push("install", f);
        }
        m.results.push(format!("Installed {f}"));
    }
    if args.update_only {
        for spec in &specs {
            match look.installed(spec) {
                true => m.push("upgrade", spec),
                false => m.results.push(format!(
                    "Packages providing {spec} not installed due to update_only specified"
                )),
            }
        }
        return Ok(m);
    }
    // `_mark_package_install`.
    for spec in &specs {
        if is_glob(spec) {
            if upgrade {
                m.push("upgrade", spec);
            }
            m.push("install", spec);
        } else if look.spec_newer_installed(spec) {
            if args.allow_downgrade {
                m.push("install", spec);
            }
        } else if look.installed(spec) {
            if upgrade {
                m.push("upgrade", spec);
            }
        } else if look.available(spec) {
            m.push("install", spec);
        } else {
            let msg = format!("No package {spec} available.");
            match args.skip_broken {
                false => m.failures.push(msg),
                true => m.results.push(msg),
            }
        }
    }
    Ok(m)
}

async fn ensure<R: Remote>(
    args: &DnfArgs,
    ctx: &ModuleContext<'_, R>,
    state: DnfState,
    names: &[Name],
    upgrade_all: bool,
    look: &Look,
) -> Result<ModuleResult, ModuleResult> {
    let mut m = mark(args, state, names, upgrade_all, look).map_err(|r| *r)?;
    let failed = |failures: Vec<String>| {
        failure("Failed to install some of the specified packages", failures)
    };
    if !m.failures.is_empty() {
        return Err(failed(m.failures));
    }
    if m.lines.is_empty() {
        return Ok(done(false, "Nothing to do", m.results));
    }
    let check = ctx.check_mode;
    let out = apply(ctx, args, &m, check).await?;
    let o = dnf_output::parse(&out, check);
    if let Some(problem) = &o.problem {
        return Err(failure(
            format!("Depsolve Error occurred: {problem}"),
            Vec::new(),
        ));
    }
    let Outcome {
        install, remove, ..
    } = &o;
    if install.is_empty() && remove.is_empty() {
        if let Some(e) = &o.error {
            return Err(failure(format!("Unknown Error occurred: {e}"), Vec::new()));
        }
        return Ok(done(false, "Nothing to do", m.results));
    }
    let action = match args.download_only {
        true => "Downloaded",
        false => "Installed",
    };
    let mut removed: Vec<String> = remove.clone();
    // An upgrade or a downgrade removes the version installed (BACKWARD_ACTIONS).
    for p in install.iter().filter(|p| p.replaces) {
        removed.extend(look.replaced_by(&p.pkg).into_iter().map(Pkg::nevra));
    }
    removed.sort();
    removed.dedup();
    let mut installed: Vec<String> = install.iter().map(|p| p.pkg.nevra()).collect();
    installed.sort();
    m.results
        .extend(installed.iter().map(|p| format!("{action}: {p}")));
    m.results
        .extend(removed.iter().map(|p| format!("Removed: {p}")));
    if check {
        return Ok(done(
            true,
            "Check mode: No changes made, but would have if not in check mode",
            m.results,
        ));
    }
    // dnf.py's own signature check (`_sig_check_pkg`): its `fail_json(msg)` has no other key.
    if let Some(why) = &o.gpg {
        let who = installed
            .iter()
            .find(|p| why.contains(&format!("{p}.rpm")))
            .cloned()
            .unwrap_or_default();
        return Err(ModuleResult::fail(format!(
            "Failed to validate GPG signature for {who}: {why}"
        )));
    }
    if let Some(e) = &o.error {
        return Err(match e.strip_prefix("Error downloading packages:") {
            Some(rest) => failure(
                format!("Failed to download packages: {}", rest.trim()),
                Vec::new(),
            ),
            None => failure(format!("Unknown Error occurred: {e}"), Vec::new()),
        });
    }
    Ok(done(true, "", m.results))
}

/// The marks given to `dnf shell` (on its stdin), then `run`: `--assumeno` in check mode.
async fn apply<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    args: &DnfArgs,
    m: &Marks,
    check: bool,
) -> Result<String, ModuleResult> {
    let mut input = m.lines.join("\n");
    input.push_str("\nrun\n");
    let script = format!(
        "{env}{conf}dnf {opts} {answer}{erasing} shell /dev/stdin 2>&1\n",
        env = dnf_look::ENV,
        conf = dnf_look::conf_choice(args),
        opts = args.options(),
        answer = if check { "--assumeno" } else { "-y" },
        erasing = if m.allowerasing {
            " --allowerasing"
        } else {
            ""
        },
    );
    let out = call(ctx, &script, Some(input.into_bytes()), None).await?;
    Ok(out.stdout_text())
}

#[cfg(test)]
#[path = "dnf_tests.rs"]
mod tests;
