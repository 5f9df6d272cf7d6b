//! `sysvinit`: a SysV init script's service started, stopped, restarted or reloaded and
//! enabled in runlevels, as ansible-core 2.19.14's `lib/ansible/modules/sysvinit.py` does it
//! (the module the `service` action runs where the `service_mgr` fact is `sysvinit`): the
//! status from `service NAME status` (or the script's), read by its keywords and exit codes,
//! `ps` as the last resort; `update-rc.d` or `chkconfig` for `enabled`/`runlevels`; the script
//! itself for the state. Its result (`name`, `changed`, `status` with one entry for
//! `enabled` and one for the state, each with `changed`, `rc`, `stdout`, `stderr`), messages
//! and warnings, its quirks included (`runlevels` without `enabled` disables; `reloaded` runs
//! `reload` on a stopped service; the state's entry is keyed `null` without a state).
//!
//! Round trips: 1 look ([`super::service_tools`]), the status command (and `ps`), then one
//! per command run.

use serde_json::{Map, Value, json};

use super::args::{ArgError, Args, Key};
use super::context::ModuleContext;
use super::probe::call;
use super::remote::Remote;
use super::result::ModuleResult;
use super::service_exec::{Exec, Ran};
use super::service_tools::{self, Tools};

/// Accepted keys, with `sysvinit.py`'s aliases.
pub const KEYS: &[Key] = &[
    ("name", &["service"]),
    ("state", &[]),
    ("enabled", &[]),
    ("sleep", &[]),
    ("pattern", &[]),
    ("arguments", &["args"]),
    ("runlevels", &[]),
    ("daemonize", &[]),
];

/// Arguments of `sysvinit`.
#[derive(Debug, Clone, PartialEq)]
pub struct SysvinitArgs {
    pub name: String,
    /// `started`, `stopped`, `restarted` or `reloaded`.
    pub state: Option<String>,
    pub enabled: Option<bool>,
    pub sleep: i64,
    pub pattern: Option<String>,
    pub arguments: Option<String>,
    pub runlevels: Option<Vec<String>>,
    pub daemonize: bool,
}

impl SysvinitArgs {
    /// Parses the arguments (`required_one_of=[['state', 'enabled']]`).
    pub fn parse(v: &Value) -> Result<SysvinitArgs, ArgError> {
        let mut a = Args::new("sysvinit", KEYS, v)?;
        let parsed = SysvinitArgs {
            name: a.req_str("name")?,
            state: a.choice(
                "state",
                &["started", "stopped", "restarted", "reloaded"],
                None,
            )?,
            enabled: match a.has("enabled") {
                true => Some(a.bool("enabled", false)?),
                false => None,
            },
            sleep: a.int("sleep")?.unwrap_or(1),
            pattern: a.str("pattern")?,
            arguments: a.str("arguments")?,
            runlevels: a.list_str("runlevels")?,
            daemonize: a.bool("daemonize", false)?,
        };
        a.finish()?;
        if parsed.state.is_none() && parsed.enabled.is_none() {
            return Err(ArgError::at_run_time(
                None,
                "one of the following is required: state, enabled",
            ));
        }
        Ok(parsed)
    }
}

/// Runs `sysvinit` on the host.
pub async fn run<R: Remote>(args: &SysvinitArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    match main(args, ctx).await {
        Ok(r) | Err(r) => r,
    }
}

/// `get_ps`: the pattern in a line of `ps auxww`.
async fn get_ps<R: Remote>(exec: &Exec<'_, '_, R>, pattern: &str) -> Result<bool, ModuleResult> {
    let ps = exec.plain("ps auxww").await?;
    Ok(ps.rc == 0
        && super::service_exec::splitlines(&ps.out)
            .iter()
            .any(|l| l.contains(pattern)))
}

/// `sysv_is_enabled(name, runlevel=rl)`.
fn enabled_in(tools: &Tools, name: &str, rl: &str) -> bool {
    let pattern = if tools.rc0d {
        format!("/etc/rc{rl}.d/S??{name}")
    } else {
        format!("/etc/init.d/rc{rl}.d/S??{name}")
    };
    !tools.glob(&pattern).is_empty()
}

/// The status command's output read as sysvinit.py reads it: `(worked, is_started)`.
fn read_status(name: &str, r: &Ran) -> (bool, bool) {
    if name == "iptables" && r.out.contains("ACCEPT") {
        return (true, true);
    }
    if r.out.matches('\n').count() <= 1 {
        let clean = r.out.to_lowercase().replace(&name.to_lowercase(), "");
        let stopped = [
            "stop",
            "is dead ",
            "dead but ",
            "could not access pid file",
            "inactive",
        ];
        if stopped.iter().any(|s| clean.contains(s)) {
            return (true, false);
        }
        if ["run", "start", "active"]
            .iter()
            .any(|s| clean.contains(s) && !clean.contains("not "))
        {
            return (true, true);
        }
    }
    ([1, 2, 3, 4, 69].contains(&r.rc), false)
}

/// One entry of `status`: `{changed, rc, stdout, stderr}`.
fn entry(changed: bool, ran: Option<&Ran>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("changed".into(), json!(changed));
    m.insert("rc".into(), ran.map_or(Value::Null, |r| json!(r.rc)));
    m.insert("stdout".into(), ran.map_or(Value::Null, |r| json!(r.out)));
    m.insert("stderr".into(), ran.map_or(Value::Null, |r| json!(r.err)));
    m
}

/// `sysvinit.py`'s `main`; `Err` is an early `fail_json`.
async fn main<R: Remote>(
    args: &SysvinitArgs,
    ctx: &ModuleContext<'_, R>,
) -> Result<ModuleResult, ModuleResult> {
    let name = args.name.as_str();
    let look = call(ctx, &service_tools::script(name), None, None).await?;
    let tools = service_tools::parse(&String::from_utf8_lossy(&look.stdout));
    if !tools.sysv_exists {
        return Err(ModuleResult::fail(format!(
            "Could not find the requested service {name}: "
        )));
    }
    let script = if name.starts_with('/') {
        name.to_owned()
    } else {
        format!("/etc/init.d/{name}")
    };
    let exec = Exec {
        ctx,
        locale: None,
        prelude: "",
    };
    let mut result = ModuleResult::ok().with("name", name);
    let mut warnings = Vec::new();
    // What the last command gave (`rc, out, err`, which sysvinit.py reuses).
    let mut last: Option<Ran> = None;

    let (mut worked, mut is_started) = (false, false);
    if let Some(pattern) = &args.pattern {
        is_started = get_ps(&exec, pattern).await?;
        worked = is_started;
    } else {
        let cmd = match tools.bin("service") {
            Some(service) => format!("{service} {name} status"),
            None => format!("{script} status"),
        };
        let r = exec.plain(&cmd).await?;
        if r.rc != -1 {
            (worked, is_started) = read_status(name, &r);
        }
        if !worked {
            if r.rc == 0 {
                (worked, is_started) = (true, true);
            } else if get_ps(&exec, name).await? {
                (worked, is_started) = (true, true);
                warnings.push(
                    "Used ps output to match service name and determine it is up, this is very \
                     unreliable"
                        .to_owned(),
                );
            }
        }
        last = Some(r);
    }
    if !worked {
        warnings.push("Unable to determine if service is up, assuming it is down".to_owned());
    }

    // Enable/disable.
    let update_rc_d = tools.bin("update-rc.d").map(str::to_owned);
    let chkconfig = tools.bin("chkconfig").map(str::to_owned);
    let mut enable_changed = false;
    let mut changed = false;
    let command = match &args.runlevels {
        Some(rls) => {
            for rl in rls {
                if args.enabled != Some(enabled_in(&tools, name, rl)) {
                    changed = true;
                    enable_changed = true;
                }
            }
            let (word, on) = match args.enabled == Some(true) {
                true => ("enable", "on"),
                false => ("disable", "off"),
            };
            match (&update_rc_d, &chkconfig) {
                (Some(u), _) => Some(format!("{u} {name} {word} {}", rls.join(" "))),
                (None, Some(c)) => Some(format!("{c} --level {} {name} {on}", rls.concat())),
                _ => None,
            }
        }
        None => {
            if let Some(want) = args.enabled
                && want != tools.sysv_is_enabled(name)
            {
                changed = true;
                enable_changed = true;
            }
            match (args.enabled == Some(true), &update_rc_d, &chkconfig) {
                (true, Some(u), _) => Some(format!("{u} {name} defaults")),
                (true, None, Some(c)) => Some(format!("{c} {name} on")),
                (false, Some(u), _) => Some(format!("{u} {name} disable")),
                (false, None, Some(c)) => Some(format!("{c} {name} off")),
                _ => None,
            }
        }
    };
    if !ctx.check_mode
        && changed
        && let Some(cmd) = command
    {
        last = Some(exec.plain(&cmd).await?);
    }
    let mut enabled_entry = entry(false, None);
    enabled_entry.insert("changed".into(), json!(enable_changed));
    if let Some(rls) = &args.runlevels {
        enabled_entry.insert("runlevels".into(), json!(rls));
    }
    let mut failed_runlevel = false;
    if !ctx.check_mode && enable_changed {
        let r = last.take().unwrap_or_default();
        failed_runlevel = r.err.contains("illegal runlevel specified");
        let e = entry(true, Some(&r));
        for k in ["rc", "stdout", "stderr"] {
            enabled_entry.insert(k.into(), e[k].clone());
        }
    }
    let mut status = Map::new();
    status.insert("enabled".into(), Value::Object(enabled_entry));
    if failed_runlevel {
        let mut f = ModuleResult::fail(format!(
            "Illegal runlevel specified for enable operation on service {name}"
        ))
        .with("name", name)
        .with("status", Value::Object(status));
        f.data.insert("changed".into(), json!(changed));
        return Err(f);
    }
    let state_key = args.state.clone().unwrap_or_else(|| "null".into());
    status.insert(state_key.clone(), Value::Object(entry(false, None)));

    // The state.
    if let Some(state) = &args.state {
        let action = state
            .strip_suffix("ped")
            .or_else(|| state.strip_suffix("ed"))
            .unwrap_or(state);
        let runme = |doit: &'static str| {
            let cmd = format!(
                "{script} {doit} {}",
                args.arguments.as_deref().unwrap_or_default()
            );
            let exec = &exec;
            async move {
                let r = if args.daemonize {
                    exec.daemonized_keep_env(&cmd).await?
                } else {
                    exec.plain(&cmd).await?
                };
                if r.rc != 0 {
                    let mut f = ModuleResult::fail(format!("Failed to {action} service: {name}"));
                    f.rc = Some(r.rc);
                    f.stdout = Some(r.out);
                    f.stderr = Some(r.err);
                    return Err(f);
                }
                Ok(r)
            }
        };
        let doit: Option<&'static str> = match action {
            "restart" => Some("restart"),
            "start" if !is_started => Some("start"),
            "stop" if is_started => Some("stop"),
            "reload" if is_started => Some("reload"),
            // `is_started == (action == 'stop')`: a stopped service is reloaded too.
            "reload" => Some("reload"),
            _ => None,
        };
        if let Some(doit) = doit {
            changed = true;
            if !ctx.check_mode {
                if doit == "restart" {
                    for step in ["stop", "start"] {
                        last = Some(runme(step).await?);
                        if args.sleep > 0 {
                            tokio::time::sleep(std::time::Duration::from_secs(args.sleep as u64))
                                .await;
                        }
                    }
                } else {
                    last = Some(runme(doit).await?);
                }
                status.insert(state_key, Value::Object(entry(true, last.as_ref())));
            } else {
                let mut e = entry(false, None);
                e.insert("changed".into(), json!(true));
                status.insert(state_key, Value::Object(e));
            }
        }
    }
    result.changed = changed;
    result.warnings = warnings;
    Ok(result.with("status", Value::Object(status)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ran(rc: i32, out: &str) -> Ran {
        Ran {
            rc,
            out: out.into(),
            err: String::new(),
        }
    }

    #[test]
    fn status_read_as_sysvinit_py_reads_it() {
        assert_eq!(read_status("x", &ran(0, "x is running\n")), (true, true));
        assert_eq!(
            read_status("x", &ran(3, "x is not running\n")),
            (true, false)
        );
        assert_eq!(read_status("x", &ran(0, "inactive\n")), (true, false));
        assert_eq!(
            read_status("x", &ran(5, "x is not running\n")),
            (false, false)
        );
        assert_eq!(read_status("x", &ran(0, "a\nb\nc\n")), (false, false));
    }

    #[test]
    fn arguments_as_sysvinit_py_takes_them() {
        let a = SysvinitArgs::parse(&json!({"service": "x", "enabled": true, "runlevels": "3,5"}))
            .expect("parses");
        assert_eq!(a.runlevels, Some(vec!["3".to_owned(), "5".to_owned()]));
        assert_eq!(a.sleep, 1);
        assert!(SysvinitArgs::parse(&json!({"name": "x"})).is_err());
    }
}
