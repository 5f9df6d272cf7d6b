//! `pip`: ansible-core 2.19.14's lib/ansible/modules/pip.py: packages (`name`, `version`) or a
//! `requirements` file installed, upgraded, reinstalled or removed with the host's pip, in a
//! `virtualenv` it creates when missing (`virtualenv_command`, `virtualenv_site_packages`,
//! `virtualenv_python`), with `extra_args`, `editable`, `chdir`, `executable`, `umask` and
//! `break_system_packages`; check mode compares the packages with `pip list --format=freeze`
//! (`pip freeze` where that fails) as pip.py does ([`super::pip_req`]).
//!
//! One round trip: the virtualenv made if needed, pip found as pip.py's `_get_pip` finds it
//! (the virtualenv's `pip3` or `pip`, `executable`, else `python3 -m pip` or `pip3`), the
//! freeze before and after where pip.py compares them (a requirements file, a VCS URL), and the
//! pip command; in check mode the listing instead.

use serde_json::{Value, json};

use super::args::{ArgError, Args, Key};
use super::context::ModuleContext;
use super::pip_req::{Package, canonicalize_name, recover_package_names};
use super::probe::{call, nonce};
use super::remote::Remote;
use super::result::ModuleResult;
use super::unarchive_host::{LOCALE, RECORDS, Rec, Records};
use clearfleet_base::shell::quote;
use clearfleet_base::shlex;

/// Arguments of `pip`.
#[derive(Debug, Clone, PartialEq)]
pub struct PipArgs {
    /// `present`, `absent`, `latest` or `forcereinstall`.
    pub state: String,
    pub name: Option<Vec<String>>,
    pub version: Option<String>,
    pub requirements: Option<String>,
    pub virtualenv: Option<String>,
    pub virtualenv_site_packages: bool,
    pub virtualenv_command: String,
    pub virtualenv_python: Option<String>,
    pub extra_args: Option<String>,
    pub editable: bool,
    pub chdir: Option<String>,
    pub executable: Option<String>,
    pub umask: Option<String>,
    pub break_system_packages: bool,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("state", &[]),
    ("name", &[]),
    ("version", &[]),
    ("requirements", &[]),
    ("virtualenv", &[]),
    ("virtualenv_site_packages", &[]),
    ("virtualenv_command", &[]),
    ("virtualenv_python", &[]),
    ("extra_args", &[]),
    ("editable", &[]),
    ("chdir", &[]),
    ("executable", &[]),
    ("umask", &[]),
    ("break_system_packages", &[]),
];

impl PipArgs {
    /// Parses and checks the arguments (pip.py's argument spec: `required_one_of`,
    /// `mutually_exclusive`, failing when the task runs, in its words).
    pub fn parse(v: &Value) -> Result<PipArgs, ArgError> {
        let mut a = Args::new("pip", KEYS, v)?;
        let run_time = |m: &str| ArgError::at_run_time(None, m);
        if !a.has("name") && !a.has("requirements") {
            return Err(run_time(
                "one of the following is required: name, requirements",
            ));
        }
        if a.has("name") && a.has("requirements") {
            return Err(run_time(
                "parameters are mutually exclusive: name|requirements",
            ));
        }
        if a.has("executable") && a.has("virtualenv") {
            return Err(run_time(
                "parameters are mutually exclusive: executable|virtualenv",
            ));
        }
        let parsed = PipArgs {
            state: a
                .choice(
                    "state",
                    &["present", "absent", "latest", "forcereinstall"],
                    Some("present"),
                )?
                .unwrap_or_default(),
            name: a.list_str("name")?,
            version: a.str("version")?,
            requirements: a.str("requirements")?,
            virtualenv: a.str("virtualenv")?,
            virtualenv_site_packages: a.bool("virtualenv_site_packages", false)?,
            virtualenv_command: a
                .str("virtualenv_command")?
                .unwrap_or_else(|| "virtualenv".into()),
            virtualenv_python: a.str("virtualenv_python")?,
            extra_args: a.str("extra_args")?,
            editable: a.bool("editable", false)?,
            chdir: a.str("chdir")?,
            executable: a.str("executable")?,
            umask: a.str("umask")?,
            break_system_packages: a.bool("break_system_packages", false)?,
        };
        a.finish()?;
        Ok(parsed)
    }

    /// pip.py's `state_map`.
    fn state_args(&self) -> &'static [&'static str] {
        match self.state.as_str() {
            "absent" => &["uninstall", "-y"],
            "latest" => &["install", "-U"],
            "forcereinstall" => &["install", "-U", "--force-reinstall"],
            _ => &["install"],
        }
    }
}

/// Python's `int(s, 8)` of `umask` (`Err`: its ValueError's text).
fn umask_value(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let digits = t
        .strip_prefix("0o")
        .or_else(|| t.strip_prefix("0O"))
        .unwrap_or(t);
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|_| !digits.is_empty() && !digits.starts_with('+'))
        .ok_or_else(|| format!("invalid literal for int() with base 8: '{s}'"))
}

/// Python's `os.path.join`.
fn py_join(a: &str, b: &str) -> String {
    if b.starts_with('/') {
        b.to_owned()
    } else if a.is_empty() || a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

/// `_is_venv_command`: `pyvenv`, or a command given `-m venv`.
fn is_venv_command(words: &[String]) -> bool {
    if words.first().is_some_and(|w| w == "pyvenv") {
        return true;
    }
    let mut it = words.iter().skip(1);
    while let Some(w) = it.next() {
        if w == "-m" {
            return it.next().is_some_and(|m| m == "venv");
        }
        if let Some(m) = w.strip_prefix("-m") {
            return m.trim_start_matches('=') == "venv";
        }
    }
    false
}

/// What the script is to do after finding pip.
struct Plan {
    /// The packages, as pip.py passes them.
    packages: Vec<Package>,
    extra: Vec<String>,
    /// A failure pip.py reports once pip is found (`version` with several packages, ...).
    stop: Option<ModuleResult>,
    /// Check mode: the listing to compare with (else pip.py reports a change at once).
    list: bool,
    /// Freeze before and after (a requirements file or a VCS URL).
    freeze: bool,
}

fn plan(args: &PipArgs, check: bool) -> Plan {
    let names = args.name.clone().unwrap_or_default();
    let has_vcs = names.iter().any(|n| {
        ["svn+", "git+", "hg+", "bzr+"]
            .iter()
            .any(|p| n.starts_with(p))
    });
    let mut stop = None;
    let mut packages: Vec<Package> = Vec::new();
    if !names.is_empty() {
        packages = recover_package_names(&names)
            .iter()
            .map(|n| Package::new(n, None))
            .collect();
        if let Some(v) = &args.version {
            if packages.len() > 1 {
                stop = Some(ModuleResult::fail(
                    "'version' argument is ambiguous when installing multiple package distributions. \
                     Please specify version restrictions next to each package in 'name' argument.",
                ));
            } else if packages[0].has_version_specifier() {
                stop = Some(ModuleResult::fail(
                    "The 'version' argument conflicts with any version specifier provided along with a package name. \
                     Please keep the version specifier, but remove the 'version' argument.",
                ));
            } else {
                packages[0] = Package::new(&packages[0].to_text(), Some(v));
            }
        }
    }
    let mut extra_args = args.extra_args.clone();
    if args.editable {
        let mut list: Vec<String> = extra_args
            .as_deref()
            .map(|e| e.split(' ').map(str::to_owned).collect())
            .unwrap_or_default();
        if !list.iter().any(|a| a == "-e") {
            list.push("-e".into());
            extra_args = Some(list.join(" "));
        }
    }
    let extra = match extra_args.as_deref().filter(|e| !e.is_empty()) {
        Some(e) => match shlex::split(e, false) {
            Ok(w) => w,
            Err(err) => {
                stop = stop.or(Some(ModuleResult::fail(format!("extra_args: {err}"))));
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    if stop.is_none() && names.is_empty() && args.requirements.is_none() {
        let mut r = ModuleResult::ok();
        r.warnings
            .push("No valid name or requirements file found.".into());
        stop = Some(r);
    }
    let mut list = false;
    if check && stop.is_none() {
        let extra_given = extra_args.as_deref().is_some_and(|e| !e.is_empty());
        if extra_given || args.requirements.is_some() || args.state == "latest" || names.is_empty()
        {
            stop = Some(ModuleResult::changed());
        } else {
            list = true;
        }
    }
    Plan {
        packages,
        extra,
        stop,
        list,
        freeze: !check && (args.requirements.is_some() || has_vcs),
    }
}

/// The script (see the module documentation); `venv`: the virtualenv's path, `chdir` as given.
fn script(args: &PipArgs, n: &str, plan: &Plan, check: bool, venv: Option<&str>) -> String {
    let mut s = format!(
        "n={n}\n{RECORDS}\
         cf_d=$(mktemp -d \"${{TMPDIR:-/tmp}}/clearfleet-pip.XXXXXXXX\") || exit 1\n\
         trap 'rm -rf \"$cf_d\"' EXIT\n\
         _cf_a() {{ k=$1; shift; printf '%s\\n' \"$@\" >\"$cf_d/o\"; : >\"$cf_d/e\"; _cf_e \"$k\" 0; }}\n\
         _cf_paths() {{ cf_p=$PATH; for cf_s in /sbin /usr/sbin /usr/local/sbin; do case \":$PATH:\" in *\":$cf_s:\"*) ;; *) [ -e \"$cf_s\" ] && cf_p=$cf_p:$cf_s ;; esac; done; printf '%s' \"$cf_p\"; }}\n\
         _cf_bin() {{ cf_o=$IFS; IFS=:; for cf_x in $(_cf_paths); do IFS=$cf_o; [ -n \"$cf_x\" ] || continue; \
         if [ -e \"$cf_x/$1\" ] && [ ! -d \"$cf_x/$1\" ] && [ -x \"$cf_x/$1\" ]; then printf '%s' \"$cf_x/$1\"; return 0; fi; done; IFS=$cf_o; return 1; }}\n\
         {LOCALE}"
    );
    if let Some(u) = &args.umask
        && let Ok(bits) = umask_value(u)
    {
        s.push_str(&format!("umask {bits:o}\n"));
    }
    if args.break_system_packages {
        s.push_str("PIP_BREAK_SYSTEM_PACKAGES=1; export PIP_BREAK_SYSTEM_PACKAGES\n");
    }
    s.push_str(&match &args.chdir {
        Some(c) => format!("c={}\n", quote(c)),
        None => "c=${TMPDIR:-${TEMP:-${TMP:-/tmp}}}\n".to_owned(),
    });
    s.push_str("_cf_v chdir \"$c\"\n");
    if let Some(env) = venv {
        let words = shlex::split(&args.virtualenv_command, false).unwrap_or_default();
        let first = words.first().cloned().unwrap_or_default();
        s.push_str(&format!(
            "e={}\nif [ ! -e \"$e/bin/activate\" ]; then _cf_v created \"\"\n",
            quote(env)
        ));
        if check {
            s.push_str("exit 0\n");
        }
        if first.contains('/') {
            s.push_str(&format!("v={}\n", quote(&first)));
        } else {
            s.push_str(&format!(
                "v=$(_cf_bin {}) || {{ _cf_v nobin \"$(_cf_paths)\"; exit 0; }}\n",
                quote(&first)
            ));
        }
        s.push_str("_cf_v venv0 \"$v\"\n");
        let rest: Vec<String> = words.iter().skip(1).map(|w| quote(w)).collect();
        s.push_str(&format!("set -- \"$v\" {}\n", rest.join(" ")));
        if args.virtualenv_site_packages {
            s.push_str("set -- \"$@\" --system-site-packages\n");
        } else {
            s.push_str(
                "\"$v\" --help </dev/null >\"$cf_d/o\" 2>\"$cf_d/e\"; r=$?\n\
                 if [ $r != 0 ]; then _cf_e help $r; exit 0; fi\n\
                 if tr -s ' \\t\\r\\n' '\\n\\n\\n\\n' <\"$cf_d/o\" | grep -qx -- --no-site-packages; then set -- \"$@\" --no-site-packages; fi\n",
            );
        }
        if !is_venv_command(&words) {
            match &args.virtualenv_python {
                Some(p) => s.push_str(&format!("set -- \"$@\" {}\n", quote(&format!("-p{p}")))),
                None => s.push_str("set -- \"$@\" \"-p$(_cf_bin python3)\"\n"),
            }
        } else if args.virtualenv_python.is_some() {
            s.push_str("_cf_v venvpython \"\"; exit 0\n");
        }
        s.push_str(
            "set -- \"$@\" \"$e\"; _cf_a venvcmd \"$@\"\n\
             ( cd \"$c\" 2>/dev/null; exec \"$@\" ) </dev/null >\"$cf_d/o\" 2>\"$cf_d/e\"; r=$?; _cf_e venv $r\n\
             [ $r = 0 ] || exit 0\nfi\n\
             if [ -e \"$e/bin/pip3\" ] && [ ! -d \"$e/bin/pip3\" ] && [ -x \"$e/bin/pip3\" ]; then set -- \"$e/bin/pip3\"\n\
             elif [ -e \"$e/bin/pip\" ] && [ ! -d \"$e/bin/pip\" ] && [ -x \"$e/bin/pip\" ]; then set -- \"$e/bin/pip\"\n\
             else _cf_v nopip \"\"; exit 0; fi\n",
        );
    } else if let Some(exe) = &args.executable {
        if exe.starts_with('/') {
            s.push_str(&format!("set -- {}\n", quote(exe)));
        } else {
            s.push_str(&format!(
                "cf_e=$(_cf_bin {}) || {{ _cf_v nopipbin \"\"; exit 0; }}; set -- \"$cf_e\"\n",
                quote(exe)
            ));
        }
    } else {
        s.push_str(
            "cf_y=$(_cf_bin python3)\n\
             if [ -n \"$cf_y\" ] && \"$cf_y\" -c 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec(\"pip\") else 1)' </dev/null >/dev/null 2>&1; then set -- \"$cf_y\" -m pip\n\
             else cf_e=$(_cf_bin pip3) || { _cf_v nopipbin \"\"; exit 0; }; set -- \"$cf_e\"; fi\n",
        );
    }
    s.push_str("_cf_a pip \"$@\"\n");
    if plan.stop.is_some() && !plan.list {
        s.push_str("exit 0\n");
        return s;
    }
    s.push_str(
        "_cf_pk() { cf_k=$1; shift\n\
         ( cd \"$c\" 2>/dev/null; LANG=$l LC_ALL=$l LC_MESSAGES=$l; export LANG LC_ALL LC_MESSAGES; exec \"$@\" list --format=freeze ) </dev/null >\"$cf_d/o\" 2>\"$cf_d/e\"; r=$?\n\
         if [ $r = 0 ]; then _cf_e \"$cf_k-list\" 0; return 0; fi\n\
         ( cd \"$c\" 2>/dev/null; exec \"$@\" freeze ) </dev/null >\"$cf_d/o\" 2>\"$cf_d/e\"; r=$?; _cf_e \"$cf_k-freeze\" $r; return $r; }\n",
    );
    if plan.list {
        s.push_str("_cf_pk list \"$@\"\nexit 0\n");
        return s;
    }
    if plan.freeze {
        s.push_str("_cf_pk before \"$@\" || exit 0\n");
    }
    let mut words: Vec<String> = args.state_args().iter().map(|w| quote(w)).collect();
    words.extend(plan.extra.iter().map(|w| quote(w)));
    match &args.name {
        Some(names) if !names.is_empty() => {
            words.extend(plan.packages.iter().map(|p| quote(&p.to_text())));
        }
        _ => {
            if let Some(r) = &args.requirements {
                words.push("-r".into());
                words.push(quote(r));
            }
        }
    }
    s.push_str(&format!(
        "( cd \"$c\" 2>/dev/null; {}exec \"$@\" {} ) </dev/null >\"$cf_d/o\" 2>\"$cf_d/e\"; _cf_e run $?\n",
        if venv.is_some() {
            "PATH=\"$e/bin:$PATH\"; export PATH; "
        } else {
            ""
        },
        words.join(" ")
    ));
    if plan.freeze {
        s.push_str("_cf_pk after \"$@\"\n");
    }
    s
}

/// pip.py's `_fail`: `cmd` and the output so far.
fn failed(cmd: Value, out: &str, err: &str) -> ModuleResult {
    let mut msg = String::new();
    if !out.is_empty() {
        msg.push_str(&format!("stdout: {out}"));
    }
    if !err.is_empty() {
        msg.push_str(&format!("\n:stderr: {err}"));
    }
    ModuleResult::fail(msg).with("cmd", cmd)
}

/// The listing record (`list` or `freeze`) named `k`, and the command it ran.
fn listing<'a>(recs: &'a Records, k: &str, pip: &[String]) -> Option<(&'a Rec, String)> {
    for kind in ["list", "freeze"] {
        if let Some(r) = recs.get(&format!("{k}-{kind}")) {
            let mut cmd = pip.to_vec();
            cmd.push(kind.into());
            if kind == "list" {
                cmd.push("--format=freeze".into());
            }
            return Some((r, cmd.join(" ")));
        }
    }
    None
}

/// Runs `pip`.
pub async fn run<R: Remote>(args: &PipArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let venv = args.virtualenv.as_ref().map(|e| match &args.chdir {
        Some(c) => py_join(c, e),
        None => e.clone(),
    });
    if let Some(u) = &args.umask
        && let Err(details) = umask_value(u)
    {
        return ModuleResult::fail("umask must be an octal integer").with("details", details);
    }
    if args.state == "latest" && args.version.is_some() {
        return ModuleResult::fail("version is incompatible with state=latest");
    }
    let n = match nonce() {
        Ok(n) => n,
        Err(r) => return *r,
    };
    let plan = plan(args, ctx.check_mode);
    let out = match call(
        ctx,
        &script(args, &n, &plan, ctx.check_mode, venv.as_deref()),
        None,
        None,
    )
    .await
    {
        Ok(o) => o,
        Err(r) => return r,
    };
    let recs = match Records::parse(&out.stdout, &n) {
        Ok(r) => r,
        Err(e) => return ModuleResult::fail(format!("pip: {e}")),
    };
    if recs.get("chdir").is_none() {
        return ModuleResult::fail(format!(
            "pip could not run on the host (rc={:?}): {}",
            out.rc,
            out.stderr_text()
        ));
    }
    let (mut stdout, mut stderr) = (String::new(), String::new());
    let created = recs.get("created").is_some();
    if created && ctx.check_mode {
        return ModuleResult::changed();
    }
    let venv_words = shlex::split(&args.virtualenv_command, false).unwrap_or_default();
    if let Some(paths) = recs.value("nobin") {
        return ModuleResult::fail(format!(
            "Failed to find required executable \"{}\" in paths: {paths}",
            venv_words.first().cloned().unwrap_or_default()
        ));
    }
    if let Some(h) = recs.get("help") {
        return ModuleResult::fail(format!(
            "Could not get output from {} --help: {}{}",
            recs.value("venv0").unwrap_or_default(),
            h.out_text(),
            h.err_text()
        ));
    }
    if recs.get("venvpython").is_some() {
        return ModuleResult::fail(
            "virtualenv_python should not be used when using the venv module or pyvenv as virtualenv_command",
        );
    }
    if let Some(v) = recs.get("venv") {
        stdout.push_str(&v.out_text());
        stderr.push_str(&v.err_text());
        if v.rc != 0 {
            let cmd: Vec<String> = recs
                .value("venvcmd")
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect();
            return failed(json!(cmd), &stdout, &stderr);
        }
    }
    if recs.get("nopip").is_some() {
        return ModuleResult::fail(format!(
            "Unable to find pip in the virtualenv, {}, under any of these names: pip3, pip. Make sure pip is present in the virtualenv.",
            venv.clone().unwrap_or_default()
        ));
    }
    if recs.get("nopipbin").is_some() {
        let which = args.executable.clone().unwrap_or_else(|| "pip3".into());
        return ModuleResult::fail(format!(
            "Unable to find any of {which} to use.  pip needs to be installed."
        ));
    }
    let pip: Vec<String> = recs
        .value("pip")
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    if let (Some(stop), false) = (&plan.stop, plan.list) {
        return stop.clone();
    }
    let with_output = |mut r: ModuleResult, out: &str, err: &str| {
        r.stdout = Some(out.to_owned());
        r.stderr = Some(err.to_owned());
        r
    };
    if plan.list {
        let Some((rec, cmd)) = listing(&recs, "list", &pip) else {
            return ModuleResult::fail("pip: the host printed no package list");
        };
        stdout.push_str(&rec.out_text());
        stderr.push_str(&rec.err_text());
        if rec.rc != 0 {
            let words: Vec<&str> = cmd.split(' ').collect();
            return failed(json!(words), &rec.out_text(), &rec.err_text());
        }
        let installed: Vec<&str> = stdout
            .split('\n')
            .filter(|p| {
                !p.is_empty()
                    && !p.starts_with("You are using")
                    && !p.starts_with("You should consider")
            })
            .collect();
        let present = |p: &Package| {
            installed.iter().any(|line| {
                let parts: Vec<&str> = line.split("==").collect();
                let [name, version] = parts[..] else {
                    return false;
                };
                canonicalize_name(name) == p.name && p.is_satisfied_by(version)
            })
        };
        let changed = plan.packages.iter().any(|p| {
            let is = present(p);
            (args.state == "present" && !is) || (args.state == "absent" && is)
        });
        let mut r = ModuleResult::ok().with("cmd", cmd);
        r.changed = changed;
        return with_output(r, &stdout, &stderr);
    }
    let before = match plan.freeze {
        true => match listing(&recs, "before", &pip) {
            Some((rec, cmd)) if rec.rc != 0 => {
                let words: Vec<&str> = cmd.split(' ').collect();
                return failed(json!(words), &rec.out_text(), &rec.err_text());
            }
            Some((rec, _)) => Some(rec.out_text()),
            None => return ModuleResult::fail("pip: the host printed no package list"),
        },
        false => None,
    };
    let mut cmd = pip.clone();
    cmd.extend(args.state_args().iter().map(|w| (*w).to_owned()));
    cmd.extend(plan.extra.iter().cloned());
    match &args.name {
        Some(names) if !names.is_empty() => cmd.extend(plan.packages.iter().map(Package::to_text)),
        _ => {
            if let Some(r) = &args.requirements {
                cmd.push("-r".into());
                cmd.push(r.clone());
            }
        }
    }
    let Some(ran) = recs.get("run") else {
        return ModuleResult::fail(format!(
            "pip could not run on the host (rc={:?}): {}",
            out.rc,
            out.stderr_text()
        ));
    };
    let (pip_out, pip_err) = (ran.out_text(), ran.err_text());
    stdout.push_str(&pip_out);
    stderr.push_str(&pip_err);
    let not_installed = pip_out.contains("not installed") || pip_err.contains("not installed");
    if ran.rc != 0 && !(ran.rc == 1 && args.state == "absent" && not_installed) {
        return failed(json!(cmd), &stdout, &stderr);
    }
    let changed = if args.state == "absent" {
        pip_out.contains("Successfully uninstalled")
    } else {
        match &before {
            None => pip_out.contains("Successfully installed"),
            Some(b) => {
                listing(&recs, "after", &pip)
                    .map(|(r, _)| r.out_text())
                    .as_ref()
                    != Some(b)
            }
        }
    };
    let mut r = ModuleResult::ok()
        .with("cmd", cmd)
        .with("name", args.name.clone().map_or(Value::Null, |n| json!(n)))
        .with(
            "version",
            args.version.clone().map_or(Value::Null, Value::String),
        )
        .with("state", args.state.clone())
        .with(
            "requirements",
            args.requirements.clone().map_or(Value::Null, Value::String),
        )
        .with("virtualenv", venv.map_or(Value::Null, Value::String));
    r.changed = changed || created;
    with_output(r, &stdout, &stderr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venv_commands_and_umasks() {
        let w = |s: &str| shlex::split(s, false).unwrap_or_default();
        assert!(is_venv_command(&w("python3 -m venv")));
        assert!(is_venv_command(&w("pyvenv")));
        assert!(!is_venv_command(&w("virtualenv")));
        assert!(!is_venv_command(&w("python3 -m virtualenv")));
        assert_eq!(umask_value("0022"), Ok(0o22));
        assert_eq!(umask_value("077"), Ok(0o77));
        assert_eq!(
            umask_value("8"),
            Err("invalid literal for int() with base 8: '8'".into())
        );
    }

    #[test]
    fn check_mode_reports_a_change_at_once_where_pip_py_does() {
        let args = |v: Value| PipArgs::parse(&v).unwrap_or_else(|e| panic!("{e}"));
        let p = plan(
            &args(json!({"name": "a", "extra_args": "--no-index"})),
            true,
        );
        assert!(p.stop.as_ref().is_some_and(|r| r.changed) && !p.list);
        let p = plan(&args(json!({"name": ["a>=1", "<2", "b"]})), true);
        assert!(p.list);
        assert_eq!(
            p.packages.iter().map(Package::to_text).collect::<Vec<_>>(),
            ["a<2,>=1", "b"]
        );
        let p = plan(&args(json!({"name": ["a", "b"], "version": "1"})), false);
        assert!(p.stop.as_ref().is_some_and(|r| r.failed));
        let p = plan(
            &args(json!({"name": "a", "editable": true, "extra_args": "-q"})),
            false,
        );
        assert_eq!(p.extra, ["-q", "-e"]);
    }

    #[test]
    fn arguments_as_the_spec() {
        let e = PipArgs::parse(&json!({"state": "present"}));
        assert!(
            e.is_err_and(|e| e.message == "one of the following is required: name, requirements")
        );
        let e = PipArgs::parse(&json!({"name": "a", "requirements": "r.txt"}));
        assert!(e.is_err_and(|e| e.message.contains("name|requirements")));
    }
}
