//! `apt`: Debian packages present, latest or absent, the cache updated, the system upgraded,
//! as ansible-core 2.19.14's `lib/ansible/modules/apt.py` decides it (its `package_status`,
//! `install`, `remove`, `cleanup` and `upgrade`), with `apt-get`, `dpkg-query` and `apt-cache`
//! in place of python-apt, and its result keys. One round trip looks (and updates the cache
//! when it is due), one applies. `deb` files are [`super::apt_deb`]'s.

use serde_json::{Value, json};

use super::apt_deb;
use super::args::{ArgError, Args, Key};
use super::context::ModuleContext;
use super::debversion;
use super::probe::{call, nonce};
use super::remote::Remote;
use super::result::ModuleResult;
use clearfleet_base::glob::fnmatch;
use clearfleet_base::shell::quote;

/// `apt.py`'s `DPKG_OPTIONS`.
const DPKG_OPTIONS: &str = "force-confdef,force-confold";
/// `apt.py`'s `APT_GET_ZERO`: apt-get's line when it did nothing.
const APT_GET_ZERO: &str = "\n0 upgraded, 0 newly installed, 0 to remove";
/// `apt.py`'s `APT_ENV_VARS` (with the C locale `get_best_parsable_locale` finds).
pub(crate) const ENV: &str = "export DEBIAN_FRONTEND=noninteractive DEBIAN_PRIORITY=critical LANG=C \
                   LC_ALL=C LC_MESSAGES=C LC_CTYPE=C LANGUAGE=C\n";
/// `apt.py`'s `APT_GET_CMD`, as `get_bin_path` finds it on Debian.
const APT_GET: &str = "/usr/bin/apt-get";

/// The `state` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AptState {
    Present,
    Latest,
    Absent,
    BuildDep,
    Fixed,
}

/// Arguments of `apt`.
#[derive(Debug, Clone, PartialEq)]
pub struct AptArgs {
    pub packages: Vec<String>,
    /// `deb`: `.deb` files split at commas, or one URL ([`super::apt_deb`]).
    pub deb: Option<String>,
    pub state: AptState,
    pub update_cache: bool,
    pub cache_valid_time: i64,
    pub update_cache_retries: i64,
    pub update_cache_retry_max_delay: i64,
    pub purge: bool,
    pub default_release: Option<String>,
    pub install_recommends: Option<bool>,
    pub force: bool,
    /// `None` for `upgrade: no`.
    pub upgrade: Option<String>,
    pub dpkg_options: String,
    pub autoremove: bool,
    pub autoclean: bool,
    pub fail_on_autoremove: bool,
    pub policy_rc_d: Option<i64>,
    pub only_upgrade: bool,
    pub clean: bool,
    pub allow_unauthenticated: bool,
    pub allow_downgrade: bool,
    pub allow_change_held_packages: bool,
    pub lock_timeout: i64,
}

/// Accepted keys, with `apt.py`'s aliases.
pub const KEYS: &[Key] = &[
    ("state", &[]),
    ("update_cache", &["update-cache"]),
    ("update_cache_retries", &[]),
    ("update_cache_retry_max_delay", &[]),
    ("cache_valid_time", &[]),
    ("purge", &[]),
    ("package", &["pkg", "name"]),
    ("deb", &[]),
    ("default_release", &["default-release"]),
    ("install_recommends", &["install-recommends"]),
    ("force", &[]),
    ("upgrade", &[]),
    ("dpkg_options", &[]),
    ("autoremove", &[]),
    ("autoclean", &[]),
    ("fail_on_autoremove", &[]),
    ("policy_rc_d", &[]),
    ("only_upgrade", &[]),
    ("force_apt_get", &[]),
    ("clean", &[]),
    ("allow_unauthenticated", &["allow-unauthenticated"]),
    (
        "allow_downgrade",
        &["allow-downgrade", "allow_downgrades", "allow-downgrades"],
    ),
    ("allow_change_held_packages", &[]),
    ("lock_timeout", &[]),
    ("auto_install_module_deps", &[]),
];

impl AptArgs {
    /// Parses and checks the arguments (`apt.py`'s `mutually_exclusive`; its `required_one_of`
    /// always holds, as `autoremove` has a default).
    pub fn parse(v: &Value) -> Result<AptArgs, ArgError> {
        let mut a = Args::new("apt", KEYS, v)?;
        let given = |k: &str| a.has(k);
        let exclusive: Vec<&str> = ["deb", "package", "upgrade"]
            .into_iter()
            .filter(|k| given(k))
            .collect();
        if exclusive.len() > 1 {
            return Err(ArgError::general(format!(
                "parameters are mutually exclusive: {}",
                exclusive.join("|")
            )));
        }
        let state = match a
            .choice(
                "state",
                &["absent", "build-dep", "fixed", "latest", "present"],
                Some("present"),
            )?
            .as_deref()
        {
            Some("absent") => AptState::Absent,
            Some("build-dep") => AptState::BuildDep,
            Some("fixed") => AptState::Fixed,
            Some("latest") => AptState::Latest,
            _ => AptState::Present,
        };
        let upgrade = a
            .choice(
                "upgrade",
                &["dist", "full", "no", "safe", "yes"],
                Some("no"),
            )?
            .filter(|u| u != "no");
        let parsed = AptArgs {
            packages: a.list_str("package")?.unwrap_or_default(),
            deb: a.str("deb")?,
            state,
            update_cache: a.bool("update_cache", false)?,
            cache_valid_time: a.int("cache_valid_time")?.unwrap_or(0),
            update_cache_retries: a.int("update_cache_retries")?.unwrap_or(5),
            update_cache_retry_max_delay: a.int("update_cache_retry_max_delay")?.unwrap_or(12),
            purge: a.bool("purge", false)?,
            default_release: a.str("default_release")?,
            install_recommends: match a.has("install_recommends") {
                true => Some(a.bool("install_recommends", false)?),
                false => None,
            },
            force: a.bool("force", false)?,
            upgrade,
            dpkg_options: a
                .str("dpkg_options")?
                .unwrap_or_else(|| DPKG_OPTIONS.to_owned()),
            autoremove: a.bool("autoremove", false)?,
            autoclean: a.bool("autoclean", false)?,
            fail_on_autoremove: a.bool("fail_on_autoremove", false)?,
            policy_rc_d: a.int("policy_rc_d")?,
            only_upgrade: a.bool("only_upgrade", false)?,
            clean: a.bool("clean", false)?,
            allow_unauthenticated: a.bool("allow_unauthenticated", false)?,
            allow_downgrade: a.bool("allow_downgrade", false)?,
            allow_change_held_packages: a.bool("allow_change_held_packages", false)?,
            lock_timeout: a.int("lock_timeout")?.unwrap_or(60),
        };
        // Accepted, without effect here: clearfleet drives apt-get only (no aptitude), and needs
        // no python3-apt.
        a.bool("force_apt_get", false)?;
        a.bool("auto_install_module_deps", true)?;
        a.finish()?;
        for p in &parsed.packages {
            if p.matches('=').count() > 1 {
                return Err(ArgError::general(format!("invalid package spec: {p}")));
            }
        }
        Ok(parsed)
    }

    /// The wanted packages: `*` dropped (it means every installed one), names trimmed.
    fn wanted(&self) -> Vec<String> {
        self.packages
            .iter()
            .filter(|p| p.as_str() != "*")
            .map(|p| p.trim().to_owned())
            .collect()
    }

    /// `expand_dpkg_options` and the lock timeout, as `apt.py` joins them.
    pub(crate) fn dpkg_options(&self) -> String {
        let expanded: Vec<String> = self
            .dpkg_options
            .split(',')
            .map(|o| format!("-o \"Dpkg::Options::=--{o}\""))
            .collect();
        format!(
            "{} -o DPkg::Lock::Timeout={}",
            expanded.join(" "),
            self.lock_timeout
        )
    }
}

/// `package_split`: a name, and `=`/`>=` with a version.
fn split_spec(spec: &str) -> (&str, Option<(&str, &str)>) {
    if let Some(i) = spec.find(['>', '=']) {
        let rest = &spec[i..];
        if let Some(v) = rest.strip_prefix(">=") {
            return (&spec[..i], Some((">=", v)));
        }
        if let Some(v) = rest.strip_prefix('=') {
            return (&spec[..i], Some(("=", v)));
        }
    }
    (spec, None)
}

/// What the look found about one package name.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Found {
    /// dpkg's `db:Status-Status` (`installed`, `config-files`, ...), if dpkg knows it.
    pub(crate) status: Option<String>,
    pub(crate) installed_version: Option<String>,
    pub(crate) candidate: Option<String>,
    /// Every version apt knows, highest first (`apt-cache policy`'s version table).
    pub(crate) versions: Vec<String>,
    /// Packages providing it (a virtual package), each with whether it is installed.
    pub(crate) providers: Vec<(String, bool)>,
    /// `apt-mark showauto` lists it.
    pub(crate) auto: bool,
}

/// The look's output: the cache's times, whether it was updated, and each package.
#[derive(Debug, Default)]
pub(crate) struct Look {
    mtime_before: i64,
    mtime_after: Option<i64>,
    stale: bool,
    update_error: Option<String>,
    names: Vec<String>,
    pub(crate) packages: Vec<(String, Found)>,
    clean: Option<(i32, String, String)>,
}

/// The look script: `apt-get clean` (with `clean`), the cache's age and, when due, the update
/// (`update_cache_retries` attempts with `apt.py`'s backoff; not in check mode), the package
/// names (for wildcards), then each package's dpkg status, apt policy and providers.
pub(crate) fn look_script(args: &AptArgs, names: &[&str], list_names: bool, check: bool) -> String {
    let mut s = String::from(ENV);
    if args.clean {
        s.push_str(
            "cf_o=$(apt-get clean 2>/tmp/.cf_apt_err.$$); cf_rc=$?\n\
             printf 'clean %s %s\\n' \"$cf_rc\" \"$(printf %s \"$cf_o\" | base64 -w0)\"\n\
             printf 'cleanerr %s\\n' \"$(base64 -w0 </tmp/.cf_apt_err.$$)\"; rm -f /tmp/.cf_apt_err.$$\n",
        );
    }
    s.push_str(
        "cf_mtime() { stat -c %Y /var/lib/apt/periodic/update-success-stamp 2>/dev/null || \
         stat -c %Y /var/lib/apt/lists 2>/dev/null || echo 0; }\n\
         cf_m=$(cf_mtime); echo \"mtime $cf_m\"\n",
    );
    if args.update_cache || args.cache_valid_time > 0 {
        let update = if check {
            String::new()
        } else {
            format!(
                "cf_i=0; cf_err=''\n\
                 while [ $cf_i -lt {retries} ]; do\n\
                 cf_err=$(apt-get update -q 2>&1 >/dev/null) && {{ cf_err=''; break; }}\n\
                 cf_d=$((1 << cf_i)); [ $cf_d -gt {max} ] && cf_d={max}\n\
                 cf_i=$((cf_i + 1)); [ $cf_i -lt {retries} ] && sleep $cf_d\n\
                 done\n\
                 [ -n \"$cf_err\" ] && printf 'updateerr %s\\n' \"$(printf %s \"$cf_err\" | base64 -w0)\"\n",
                retries = args.update_cache_retries.max(1),
                max = args.update_cache_retry_max_delay.max(0),
            )
        };
        s.push_str(&format!(
            "if [ $((cf_m + {valid})) -lt \"$(date +%s)\" ]; then\n\
             echo stale\n{update}echo \"mtime_after $(cf_mtime)\"\nfi\n",
            valid = args.cache_valid_time.max(0),
        ));
    }
    if list_names {
        s.push_str("apt-cache pkgnames 2>/dev/null | sed 's/^/name /'\n");
    }
    let release = args
        .default_release
        .as_deref()
        .map(|r| format!("-t {} ", quote(r)))
        .unwrap_or_default();
    for n in names {
        let q = quote(n);
        s.push_str(&format!(
            "printf 'pkg %s\\n' {q}\n\
             dpkg-query -W -f='dpkg ${{db:Status-Status}} ${{Version}}\\n' -- {q} 2>/dev/null\n\
             apt-cache {release}policy -- {q} 2>/dev/null\n\
             apt-mark showauto -- {q} 2>/dev/null | sed 's/^/auto /'\n\
             apt-cache showpkg -- {q} 2>/dev/null | sed -n '/^Reverse Provides:/,$p' | sed 1d | \
             while read -r cf_p cf_v; do [ -n \"$cf_p\" ] && printf 'provider %s %s\\n' \"$cf_p\" \
             \"$(dpkg-query -W -f='${{db:Status-Status}}' -- \"$cf_p\" 2>/dev/null)\"; done\n"
        ));
    }
    s
}

pub(crate) fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

pub(crate) fn parse_look(out: &str) -> Look {
    let mut look = Look::default();
    let mut current: Option<(String, Found)> = None;
    let mut clean_out = (0, String::new());
    for line in out.lines() {
        if let Some(name) = line.strip_prefix("pkg ") {
            if let Some(done) = current.take() {
                look.packages.push(done);
            }
            current = Some((name.to_owned(), Found::default()));
            continue;
        }
        if let Some(rest) = line.strip_prefix("mtime_after ") {
            look.mtime_after = rest.trim().parse().ok();
        } else if let Some(rest) = line.strip_prefix("mtime ") {
            look.mtime_before = rest.trim().parse().unwrap_or(0);
        } else if line == "stale" {
            look.stale = true;
        } else if let Some(rest) = line.strip_prefix("updateerr ") {
            look.update_error = Some(b64(rest));
        } else if let Some(rest) = line.strip_prefix("clean ") {
            let (rc, o) = rest.split_once(' ').unwrap_or((rest, ""));
            clean_out = (rc.parse().unwrap_or(-1), b64(o));
        } else if let Some(rest) = line.strip_prefix("cleanerr ") {
            look.clean = Some((clean_out.0, clean_out.1.clone(), b64(rest)));
        } else if let Some(name) = line.strip_prefix("name ") {
            look.names.push(name.to_owned());
        } else if let Some((_, f)) = current.as_mut() {
            if let Some(rest) = line.strip_prefix("dpkg ") {
                let (status, version) = rest.split_once(' ').unwrap_or((rest, ""));
                f.status = Some(status.to_owned());
                if status == "installed" {
                    f.installed_version = Some(version.to_owned());
                }
            } else if let Some(rest) = line.strip_prefix("provider ") {
                let (name, status) = rest.split_once(' ').unwrap_or((rest, ""));
                f.providers.push((name.to_owned(), status == "installed"));
            } else if line.starts_with("auto ") {
                f.auto = true;
            } else if let Some(c) = line.trim().strip_prefix("Candidate: ") {
                f.candidate = Some(c.to_owned()).filter(|c| c != "(none)");
            } else if let Some(v) = version_line(line) {
                f.versions.push(v.to_owned());
            }
        }
    }
    if let Some(done) = current {
        look.packages.push(done);
    }
    look
}

/// A version line of `apt-cache policy`'s table (` *** 1.2-3 500` or `     1.2-3 500`).
fn version_line(line: &str) -> Option<&str> {
    let rest = line
        .strip_prefix(" *** ")
        .or_else(|| line.strip_prefix("     "))?;
    let mut words = rest.split_whitespace();
    let version = words.next()?;
    let priority = words.next()?;
    (words.next().is_none() && priority.parse::<i64>().is_ok()).then_some(version)
}

/// `package_status`'s answer: installed at all, installed matching the spec, the version to
/// install (`Some("")`: let apt-get choose, a virtual package), files on disk.
pub(crate) struct Status {
    installed: bool,
    version_installed: bool,
    installable: Option<String>,
    has_files: bool,
}

/// `package_status`, from what the look found.
pub(crate) fn status(
    name: &str,
    spec: Option<(&str, &str)>,
    f: &Found,
    install: bool,
) -> Result<Status, String> {
    let in_cache = !f.versions.is_empty() || f.installed_version.is_some();
    if !in_cache {
        if !install {
            return Ok(Status {
                installed: false,
                version_installed: false,
                installable: None,
                has_files: false,
            });
        }
        if f.providers.is_empty() {
            return Err(format!("No package matching '{name}' is available"));
        }
        let installed = f.providers.len() == 1 && f.providers[0].1;
        return Ok(Status {
            installed,
            version_installed: installed,
            installable: Some(String::new()),
            has_files: false,
        });
    }
    let has_files = f
        .status
        .as_deref()
        .is_some_and(|s| s != "not-installed" && !s.is_empty());
    let installed = f.installed_version.is_some();
    let best = match spec {
        Some(("=", pattern)) => f.versions.iter().find(|v| fnmatch(pattern, v)).cloned(),
        _ => f.candidate.clone(),
    };
    let Some(current) = &f.installed_version else {
        return Ok(Status {
            installed,
            version_installed: false,
            installable: best,
            has_files,
        });
    };
    let (version_installed, matches_best) = match spec {
        Some(("=", pattern)) => (
            fnmatch(pattern, current),
            best.as_deref().is_some_and(|b| fnmatch(pattern, b)),
        ),
        Some((_, min)) => (
            debversion::compare(current, min).is_ge(),
            best.as_deref()
                .is_some_and(|b| debversion::compare(b, min).is_ge()),
        ),
        None => (true, true),
    };
    let installable = best.filter(|b| b != current && matches_best);
    Ok(Status {
        installed,
        version_installed,
        installable,
        has_files,
    })
}

/// `parse_diff`: apt-get's plan, between its "Reading state information..." line and its
/// "N upgraded" line.
pub(crate) fn parse_diff(out: &str) -> Value {
    let lines: Vec<&str> = out.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == "Resolving dependencies...")
        .or_else(|| {
            lines
                .iter()
                .position(|l| *l == "Reading state information...")
        })
        .map_or(0, |i| i + 1);
    let end = lines
        .iter()
        .position(|l| {
            let digits = l.bytes().take_while(u8::is_ascii_digit).count();
            digits > 0
                && (l[digits..].starts_with(" upgraded")
                    || l[digits..].starts_with(" packages upgraded"))
        })
        .map_or(lines.len(), |i| i + 1);
    json!({"prepared": lines.get(start..end.max(start)).unwrap_or(&[]).join("\n")})
}

/// What one apt-get command printed, and `apt-mark manual` after it.
pub(crate) struct Ran {
    pub(crate) rc: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    mark: Option<(i32, String)>,
}

impl Ran {
    /// `apt.py`'s failure of the command `what` (as its message quotes it): apt-get's stderr in
    /// the message, and its rc, stdout and stderr.
    fn failed(self, what: &str) -> ModuleResult {
        let mut r = ModuleResult::fail(format!("{what} failed: {}", self.stderr));
        r.rc = Some(self.rc);
        r.stdout = Some(self.stdout);
        r.stderr = Some(self.stderr);
        r
    }

    /// `apt.py`'s result of a command that ran: `changed`, apt-get's plan as `diff`, its stdout
    /// and stderr.
    fn done<R: Remote>(self, changed: bool, ctx: &ModuleContext<'_, R>) -> ModuleResult {
        let mut r = ModuleResult {
            changed,
            ..ModuleResult::ok()
        }
        .with("diff", diff_of(ctx, &self.stdout));
        r.stdout = Some(self.stdout);
        r.stderr = Some(self.stderr);
        r
    }
}

/// An option `apt.py` puts in its command line when `on`, else the empty word it leaves.
fn opt(on: bool, word: &'static str) -> &'static str {
    if on { word } else { "" }
}

/// Runs `cmd` (a command line of quoted words) with `policy_rc_d` in place, then `mark` (a
/// command line, or nothing), in one round trip.
pub(crate) async fn apply<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    args: &AptArgs,
    cmd: &str,
    mark: Option<&str>,
) -> Result<Ran, ModuleResult> {
    let m = nonce().map_err(|r| *r)?;
    let mut s = String::from(ENV);
    if let Some(code) = args.policy_rc_d {
        // `PolicyRcD`: the old policy-rc.d kept aside, one that exits with the code in place.
        s.push_str(&format!(
            "cf_prc=/usr/sbin/policy-rc.d; cf_bak=''\n\
             if [ -e $cf_prc ]; then cf_bak=$(mktemp -d) && mv $cf_prc \"$cf_bak/\"; fi\n\
             printf '#!/bin/sh\\nexit %d\\n' {code} >$cf_prc && chmod 0755 $cf_prc\n"
        ));
    }
    s.push_str(&format!(
        "{cmd} </dev/null\ncf_rc=$?\nprintf '\\n%s %s\\n' {m} \"$cf_rc\"\n"
    ));
    if args.policy_rc_d.is_some() {
        s.push_str(
            "rm -f $cf_prc; if [ -n \"$cf_bak\" ]; then mv \"$cf_bak/policy-rc.d\" $cf_prc; \
             rmdir \"$cf_bak\"; fi\n",
        );
    }
    if let Some(mark) = mark {
        s.push_str(&format!(
            "cf_mo=$({mark} 2>&1); printf '%s\\n%s' \"$?\" \"$cf_mo\"\n"
        ));
    }
    let out = call(ctx, &s, None, None).await?;
    let text = out.stdout_text();
    let Some((stdout, rest)) = text.rsplit_once(&format!("\n{m} ")) else {
        return Err(ModuleResult::fail(format!(
            "apt-get did not finish: {}",
            out.stderr_text()
        )));
    };
    let (rc, after) = rest.split_once('\n').unwrap_or((rest, ""));
    let mark = mark.map(|_| {
        let (rc, text) = after.split_once('\n').unwrap_or((after, ""));
        (rc.trim().parse().unwrap_or(-1), text.to_owned())
    });
    Ok(Ran {
        rc: rc.trim().parse().unwrap_or(-1),
        stdout: stdout.to_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        mark,
    })
}

/// Joins words as `apt.py` formats its command (empty options leave their spaces).
fn line(words: &[&str]) -> String {
    words.join(" ")
}

/// Runs `apt`.
pub async fn run<R: Remote>(args: &AptArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    match run_inner(args, ctx).await {
        Ok(r) | Err(r) => r,
    }
}

async fn run_inner<R: Remote>(
    args: &AptArgs,
    ctx: &ModuleContext<'_, R>,
) -> Result<ModuleResult, ModuleResult> {
    let check = ctx.check_mode;
    let mut wanted = args.wanted();
    let patterns = wanted
        .iter()
        .any(|p| split_spec(p).0.contains(['*', '?', '[', ']', '!']));
    if patterns {
        // `expand_pkgspec_from_fnmatches`: one look at every name apt knows first.
        let out = call(ctx, &look_script(args, &[], true, true), None, None).await?;
        let known = parse_look(&out.stdout_text()).names;
        let mut expanded = Vec::new();
        for spec in wanted {
            let (name, _) = split_spec(&spec);
            if !name.contains(['*', '?', '[', ']', '!']) {
                expanded.push(spec);
                continue;
            }
            let native = !name.contains(':');
            let matches: Vec<String> = known
                .iter()
                .filter(|k| !(native && k.contains(':')))
                .filter(|k| fnmatch(name, k))
                .cloned()
                .collect();
            if matches.is_empty() {
                return Err(ModuleResult::fail(format!(
                    "No package(s) matching '{name}' available"
                )));
            }
            expanded.extend(matches);
        }
        wanted = expanded;
    }
    let names: Vec<&str> = wanted.iter().map(|p| split_spec(p).0).collect();
    let out = call(ctx, &look_script(args, &names, false, check), None, None).await?;
    let look = parse_look(&out.stdout_text());
    if let Some((rc, stdout, stderr)) = &look.clean {
        if *rc != 0 {
            return Err(ModuleResult::fail("apt-get clean failed")
                .with("stdout", stdout.clone())
                .with("rc", *rc));
        }
        if wanted.is_empty() && args.upgrade.is_none() && args.deb.is_none() {
            let mut r = ModuleResult::changed().with_msg(stdout.clone());
            r.stdout = Some(stdout.clone());
            r.stderr = Some(stderr.clone());
            return Ok(r.with("diff", diff_of(ctx, stdout)));
        }
    }
    if let Some(err) = &look.update_error {
        return Err(ModuleResult::fail(format!(
            "Failed to update apt cache after {} retries: {}",
            args.update_cache_retries,
            if err.trim().is_empty() {
                "unknown reason"
            } else {
                err.trim()
            }
        )));
    }
    let cache_time = look.mtime_after.unwrap_or(look.mtime_before);
    let cache_updated = look.stale && (check || look.mtime_after != Some(look.mtime_before));
    let with_cache = |r: ModuleResult| {
        r.with("cache_updated", cache_updated)
            .with("cache_update_time", cache_time)
    };
    if (args.update_cache || args.cache_valid_time > 0)
        && args.packages.is_empty()
        && args.upgrade.is_none()
        && args.deb.is_none()
    {
        let r = ModuleResult {
            changed: cache_updated,
            ..ModuleResult::ok()
        };
        return Ok(with_cache(r));
    }
    let dpkg = args.dpkg_options();
    if let Some(mode) = &args.upgrade {
        return upgrade(args, ctx, mode, &dpkg).await;
    }
    if let Some(deb) = &args.deb {
        if args.state != AptState::Present {
            return Err(ModuleResult::fail("deb only supports state=present"));
        }
        return apt_deb::install(args, ctx, deb).await;
    }
    if args.state == AptState::Latest && args.packages.iter().any(|p| p == "*") {
        if !wanted.is_empty() {
            return Err(ModuleResult::fail(
                "unable to install additional packages when upgrading all installed packages",
            ));
        }
        return upgrade(args, ctx, "yes", &dpkg).await;
    }
    if wanted.is_empty() {
        for (on, op) in [
            (args.autoclean, "autoclean"),
            (args.autoremove, "autoremove"),
        ] {
            if on {
                return cleanup(args, ctx, op, &dpkg).await;
            }
        }
    }
    let found = |name: &str| {
        look.packages
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f.clone())
            .unwrap_or_default()
    };
    if args.state == AptState::Absent {
        return remove(args, ctx, &wanted, &found, &dpkg).await;
    }
    // `package_status`'s own failures leave the module before the cache keys are added.
    let statuses = wanted
        .iter()
        .map(|spec| {
            let (name, cmp) = split_spec(spec);
            let f = found(name);
            match args.state == AptState::BuildDep {
                true => Ok(None),
                false => status(name, cmp, &f, true).map(|st| Some((st, f.auto))),
            }
        })
        .collect::<Result<Vec<_>, String>>()
        .map_err(ModuleResult::fail)?;
    install(args, ctx, &wanted, statuses, &dpkg)
        .await
        .map(with_cache)
        .map_err(with_cache)
}

fn diff_of<R: Remote>(ctx: &ModuleContext<'_, R>, out: &str) -> Value {
    if ctx.diff { parse_diff(out) } else { json!({}) }
}

pub(crate) async fn install<R: Remote>(
    args: &AptArgs,
    ctx: &ModuleContext<'_, R>,
    wanted: &[String],
    statuses: Vec<Option<(Status, bool)>>,
    dpkg: &str,
) -> Result<ModuleResult, ModuleResult> {
    let build_dep = args.state == AptState::BuildDep;
    let upgrade = args.state == AptState::Latest;
    let mut list: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut auto: Vec<String> = Vec::new();
    for (spec, st) in wanted.iter().zip(statuses) {
        let Some((st, is_auto)) = st else {
            list.push(spec.clone());
            continue;
        };
        let (name, cmp) = split_spec(spec);
        names.push(name.to_owned());
        if is_auto {
            auto.push(name.to_owned());
        }
        if !st.installed && args.only_upgrade {
            continue;
        }
        if !st.version_installed && st.installable.is_none() {
            return Err(ModuleResult::fail(format!(
                "no available installation candidate for {spec}"
            )));
        }
        let version = cmp.map(|(_, v)| v);
        match &st.installable {
            Some(v)
                if (!st.installed && !args.only_upgrade) || upgrade || !st.version_installed =>
            {
                list.push(match (v.as_str(), version) {
                    ("", Some(want)) => format!("{name}={want}"),
                    ("", None) => name.to_owned(),
                    (v, _) => format!("{name}={v}"),
                });
            }
            Some(_) if st.version_installed && cmp.is_some_and(|(c, _)| c == "=") => {
                list.push(format!("{name}={}", version.unwrap_or_default()));
            }
            _ => {}
        }
    }
    let check = ctx.check_mode;
    // `mark_installed_manually` runs after every install outside check mode; here only when
    // it would change something (a package apt marked as automatically installed), or when
    // packages are installed.
    let mark_names: Vec<String> = if list.is_empty() { auto } else { names };
    let mark = (!build_dep && !check && !mark_names.is_empty()).then(|| {
        let quoted: Vec<String> = mark_names.iter().map(|n| quote(n)).collect();
        format!("/usr/bin/apt-mark manual {}", quoted.join(" "))
    });
    if list.is_empty() {
        if let Some(mark) = &mark {
            let ran = apply(ctx, args, ":", Some(mark)).await?;
            if let Some(failed) = check_mark(&ran) {
                return Err(failed);
            }
        }
        return Ok(ModuleResult::ok());
    }
    let shown: Vec<String> = list.iter().map(|p| format!("'{p}'")).collect();
    let quoted: Vec<String> = list.iter().map(|p| quote(p)).collect();
    let mut tail = String::new();
    if let Some(rel) = &args.default_release {
        tail.push_str(&format!(" -t '{rel}'"));
    }
    match args.install_recommends {
        Some(false) => tail.push_str(" -o APT::Install-Recommends=no"),
        Some(true) => tail.push_str(" -o APT::Install-Recommends=yes"),
        None => {}
    }
    tail.push_str(opt(args.allow_unauthenticated, " --allow-unauthenticated"));
    tail.push_str(opt(args.allow_downgrade, " --allow-downgrades"));
    tail.push_str(opt(
        args.allow_change_held_packages,
        " --allow-change-held-packages",
    ));
    let head = |packages: &str| {
        if build_dep {
            line(&[
                APT_GET,
                "-y",
                dpkg,
                opt(args.only_upgrade, "--only-upgrade"),
                "",
                opt(args.force, "--force-yes"),
                opt(args.fail_on_autoremove, "--no-remove"),
                opt(check, "--simulate"),
                "build-dep",
                packages,
            ])
        } else {
            line(&[
                APT_GET,
                "-y",
                dpkg,
                opt(args.only_upgrade, "--only-upgrade"),
                opt(args.state == AptState::Fixed, "--fix-broken"),
                opt(args.force, "--force-yes"),
                opt(args.autoremove, "--auto-remove"),
                opt(args.fail_on_autoremove, "--no-remove"),
                opt(check, "--simulate"),
                "install",
                packages,
            ])
        }
    };
    let cmd = format!("{}{}", head(&shown.join(" ")), tail);
    let tail_quoted = match &args.default_release {
        Some(rel) => tail.replacen(&format!(" -t '{rel}'"), &format!(" -t {}", quote(rel)), 1),
        None => tail.clone(),
    };
    let run = format!("{}{}", head(&quoted.join(" ")), tail_quoted);
    let ran = apply(ctx, args, &run, mark.as_deref()).await?;
    if ran.rc != 0 {
        return Err(ran.failed(&format!("'{cmd}'")));
    }
    if let Some(failed) = check_mark(&ran) {
        return Err(failed);
    }
    let changed = !build_dep || !ran.stdout.contains(APT_GET_ZERO);
    Ok(ran.done(changed, ctx))
}

/// `mark_installed_manually`'s failure.
fn check_mark(ran: &Ran) -> Option<ModuleResult> {
    match &ran.mark {
        Some((rc, out)) if *rc != 0 => {
            let mut r = ModuleResult::fail(format!("'apt-mark manual' failed: {out}"));
            r.rc = Some(*rc);
            Some(r)
        }
        _ => None,
    }
}

async fn remove<R: Remote>(
    args: &AptArgs,
    ctx: &ModuleContext<'_, R>,
    wanted: &[String],
    found: &dyn Fn(&str) -> Found,
    dpkg: &str,
) -> Result<ModuleResult, ModuleResult> {
    let mut list = Vec::new();
    for spec in wanted {
        let (name, cmp) = split_spec(spec);
        let st = status(name, cmp, &found(name), false).map_err(ModuleResult::fail)?;
        if st.version_installed || (st.has_files && args.purge) {
            list.push(spec.clone());
        }
    }
    if list.is_empty() {
        return Ok(ModuleResult::ok());
    }
    let shown: Vec<String> = list.iter().map(|p| format!("'{p}'")).collect();
    let quoted: Vec<String> = list.iter().map(|p| quote(p)).collect();
    let cmd = |packages: &str| {
        line(&[
            APT_GET,
            "-q",
            "-y",
            dpkg,
            opt(args.purge, "--purge"),
            opt(args.force, "--force-yes"),
            opt(args.autoremove, "--auto-remove"),
            opt(ctx.check_mode, "--simulate"),
            opt(
                args.allow_change_held_packages,
                "--allow-change-held-packages",
            ),
            "remove",
            packages,
        ])
    };
    let ran = apply(ctx, args, &cmd(&quoted.join(" ")), None).await?;
    if ran.rc != 0 {
        return Err(ran.failed(&format!("'apt-get remove {}'", shown.join(" "))));
    }
    Ok(ran.done(true, ctx))
}

/// `cleanup`: `apt-get autoremove` or `autoclean`, changed when apt-get says it removed
/// something (`CLEAN_OP_CHANGED_STR`).
async fn cleanup<R: Remote>(
    args: &AptArgs,
    ctx: &ModuleContext<'_, R>,
    op: &str,
    dpkg: &str,
) -> Result<ModuleResult, ModuleResult> {
    let cmd = line(&[
        APT_GET,
        "-y",
        dpkg,
        opt(args.purge, "--purge"),
        opt(args.force, "--force-yes"),
        op,
        opt(ctx.check_mode, "--simulate"),
    ]);
    let ran = apply(ctx, args, &cmd, None).await?;
    if ran.rc != 0 {
        return Err(ran.failed(&format!("'apt-get {op}'")));
    }
    let marker = if op == "autoremove" {
        "The following packages will be REMOVED"
    } else {
        "Del "
    };
    let changed = ran.stdout.contains(marker);
    Ok(ran.done(changed, ctx))
}

/// `upgrade` with apt-get (`apt.py` takes aptitude for `yes`/`full` when it is installed and
/// `force_apt_get` is false; clearfleet always drives apt-get): `dist`/`full` are
/// `dist-upgrade`, `yes`/`safe` `upgrade --with-new-pkgs`.
async fn upgrade<R: Remote>(
    args: &AptArgs,
    ctx: &ModuleContext<'_, R>,
    mode: &str,
    dpkg: &str,
) -> Result<ModuleResult, ModuleResult> {
    let autoremove = opt(args.autoremove, "--auto-remove");
    let command = if mode == "dist" || mode == "full" {
        format!("dist-upgrade {autoremove}")
    } else {
        format!("upgrade --with-new-pkgs {autoremove}")
    };
    let mut cmd = line(&[
        APT_GET,
        "-y",
        dpkg,
        opt(args.force, "--force-yes"),
        opt(args.fail_on_autoremove, "--no-remove"),
        opt(args.allow_unauthenticated, "--allow-unauthenticated"),
        opt(args.allow_downgrade, "--allow-downgrades"),
        opt(ctx.check_mode, "--simulate"),
        &command,
    ]);
    if let Some(rel) = &args.default_release {
        cmd.push_str(&format!(" -t {}", quote(rel)));
    }
    let ran = apply(ctx, args, &cmd, None).await?;
    if ran.rc != 0 {
        // `apt.py`'s upgrade failure carries no stderr.
        let mut r = ran.failed(&format!("'{APT_GET} {command}'"));
        r.stderr = None;
        return Err(r);
    }
    let changed = !ran.stdout.contains(APT_GET_ZERO);
    let msg = ran.stdout.clone();
    let mut r = ran.done(changed, ctx).with_msg(msg);
    // Nothing upgraded: `apt.py` exits without a diff.
    if !changed {
        r.data.remove("diff");
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_split_as_package_split() {
        assert_eq!(split_spec("foo"), ("foo", None));
        assert_eq!(split_spec("foo=1.0*"), ("foo", Some(("=", "1.0*"))));
        assert_eq!(split_spec("foo>=2"), ("foo", Some((">=", "2"))));
    }

    #[test]
    fn the_look_is_read_per_package() {
        let out = "mtime 100\nstale\nmtime_after 200\npkg libuser\ndpkg installed 1:0.64~dfsg-1\n\
                   libuser:\n  Installed: 1:0.64~dfsg-1\n  Candidate: 1:0.64~dfsg-2\n  Version table:\n\
                   \x20    1:0.64~dfsg-2 500\n        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n\
                   \x20*** 1:0.64~dfsg-1 100\n        100 /var/lib/dpkg/status\n\
                   auto libuser\npkg mail-transport-agent\nprovider exim4-daemon-light installed\n";
        let look = parse_look(out);
        assert_eq!((look.mtime_before, look.mtime_after), (100, Some(200)));
        assert!(look.stale);
        let (name, f) = &look.packages[0];
        assert_eq!(name, "libuser");
        assert_eq!(f.installed_version.as_deref(), Some("1:0.64~dfsg-1"));
        assert_eq!(f.candidate.as_deref(), Some("1:0.64~dfsg-2"));
        assert_eq!(f.versions, ["1:0.64~dfsg-2", "1:0.64~dfsg-1"]);
        assert!(f.auto);
        let st = status("libuser", None, f, true).expect("libuser's status");
        assert!(st.installed && st.version_installed);
        assert_eq!(st.installable.as_deref(), Some("1:0.64~dfsg-2"));
        let pinned =
            status("libuser", Some(("=", "1:0.64~dfsg-1")), f, true).expect("a pinned status");
        assert!(pinned.version_installed);
        let (_, virt) = &look.packages[1];
        assert_eq!(virt.providers, [("exim4-daemon-light".to_owned(), true)]);
        let st = status("mail-transport-agent", None, virt, true).expect("a virtual status");
        assert!(st.installed);
        let none = status("nope", None, &Found::default(), true);
        assert_eq!(
            none.err().as_deref(),
            Some("No package matching 'nope' is available")
        );
    }

    #[test]
    fn the_diff_is_apt_gets_plan() {
        let out = "Reading package lists...\nBuilding dependency tree...\nReading state information...\n\
                   The following NEW packages will be installed:\n  hello\n\
                   0 upgraded, 1 newly installed, 0 to remove and 0 not upgraded.\nInst hello\n";
        assert_eq!(
            parse_diff(out)["prepared"],
            "The following NEW packages will be installed:\n  hello\n\
             0 upgraded, 1 newly installed, 0 to remove and 0 not upgraded."
        );
    }

    #[test]
    fn arguments_as_apt_py_checks_them() {
        assert!(AptArgs::parse(&json!({"state": "present"})).is_ok());
        assert!(AptArgs::parse(&json!({"name": "a", "upgrade": "dist"})).is_err());
        let a = AptArgs::parse(&json!({"pkg": ["a", "b=1"], "update-cache": true}))
            .expect("arguments apt.py accepts");
        assert_eq!(a.packages, ["a", "b=1"]);
        assert!(a.update_cache);
        assert_eq!(
            a.dpkg_options(),
            "-o \"Dpkg::Options::=--force-confdef\" -o \"Dpkg::Options::=--force-confold\" \
             -o DPkg::Lock::Timeout=60"
        );
        assert!(AptArgs::parse(&json!({"name": "a=1=2"})).is_err());
    }
}
