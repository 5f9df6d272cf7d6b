//! `service`: a service started, stopped, restarted or reloaded, and enabled at boot or not,
//! as ansible-core 2.19.14's `lib/ansible/modules/service.py` does it on Linux
//! (`LinuxService`): systemd's `systemctl` when systemd runs, else OpenRC's `rc-service` and
//! `rc-update`, else the SysV init script through `service` (or the script itself), enabled
//! with `update-rc.d`, `insserv` or `chkconfig`. Its messages, its check mode (which, as
//! Ansible's, ends the module early with `msg` and without `name` when the state would
//! change), its results (`name`, `changed`, `state`, `enabled`).
//!
//! Which module a `service` task runs (this one, or `systemd` on a host whose `service_mgr`
//! fact is systemd) is the runner's `service` action, as `plugins/action/service.py` picks it.
//!
//! Round trips: 1 look ([`super::service_tools`]), then 1 per command `service.py` runs
//! (the status, the enable look of its tool, the change).

use serde_json::Value;

use super::args::{ArgError, Args, Key};
use super::context::ModuleContext;
use super::probe::call;
use super::remote::Remote;
use super::result::ModuleResult;
use super::service_exec::Exec;
use super::service_linux::Linux;
use super::service_tools;

/// Accepted keys, with `service.py`'s aliases (`use` is the action's).
pub const KEYS: &[Key] = &[
    ("name", &[]),
    ("state", &[]),
    ("sleep", &[]),
    ("pattern", &[]),
    ("enabled", &[]),
    ("runlevel", &[]),
    ("arguments", &["args"]),
    ("use", &[]),
];

/// What a `service` task may be given, checked before the run: the action hands every
/// argument but `use` to the module it picks on the host, `service`, `systemd` or `sysvinit`
/// (whose own arguments and aliases are these too), which checks its own when it runs.
pub const ACTION_KEYS: &[Key] = &[
    ("name", &["service", "unit"]),
    ("state", &[]),
    ("sleep", &[]),
    ("pattern", &[]),
    ("enabled", &[]),
    ("runlevel", &[]),
    ("arguments", &["args"]),
    ("use", &[]),
    ("force", &[]),
    ("masked", &[]),
    ("daemon_reload", &["daemon-reload"]),
    ("daemon_reexec", &["daemon-reexec"]),
    ("scope", &[]),
    ("no_block", &[]),
    ("runlevels", &[]),
    ("daemonize", &[]),
];

/// The `state` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvcState {
    Started,
    Stopped,
    Restarted,
    Reloaded,
}

impl SvcState {
    pub fn name(self) -> &'static str {
        match self {
            SvcState::Started => "started",
            SvcState::Stopped => "stopped",
            SvcState::Restarted => "restarted",
            SvcState::Reloaded => "reloaded",
        }
    }

    fn parse(a: &mut Args) -> Result<Option<SvcState>, ArgError> {
        Ok(
            match a
                .choice(
                    "state",
                    &["started", "stopped", "reloaded", "restarted"],
                    None,
                )?
                .as_deref()
            {
                Some("started") => Some(SvcState::Started),
                Some("stopped") => Some(SvcState::Stopped),
                Some("restarted") => Some(SvcState::Restarted),
                Some("reloaded") => Some(SvcState::Reloaded),
                _ => None,
            },
        )
    }
}

/// Arguments of `service`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceArgs {
    pub name: String,
    pub state: Option<SvcState>,
    pub sleep: Option<i64>,
    pub pattern: Option<String>,
    pub enabled: Option<bool>,
    pub runlevel: String,
    pub arguments: String,
}

impl ServiceArgs {
    /// Parses the arguments (`required_one_of=[['state', 'enabled']]`, as Ansible words it).
    pub fn parse(v: &Value) -> Result<ServiceArgs, ArgError> {
        let mut a = Args::new("service", KEYS, v)?;
        let name = a.req_str("name")?;
        let state = SvcState::parse(&mut a)?;
        let enabled = match a.has("enabled") {
            true => Some(a.bool("enabled", false)?),
            false => None,
        };
        let parsed = ServiceArgs {
            name,
            state,
            sleep: a.int("sleep")?,
            pattern: a.str("pattern")?,
            enabled,
            runlevel: a.str("runlevel")?.unwrap_or_else(|| "default".into()),
            arguments: a.str("arguments")?.unwrap_or_default(),
        };
        // The action's own argument, removed before the module runs.
        a.str("use")?;
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

/// Runs `service` on the host.
pub async fn run<R: Remote>(args: &ServiceArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    match main(args, ctx).await {
        Ok(r) | Err(r) => r,
    }
}

/// `service.py`'s `main`; `Err` is an early `exit_json` or `fail_json`.
async fn main<R: Remote>(
    args: &ServiceArgs,
    ctx: &ModuleContext<'_, R>,
) -> Result<ModuleResult, ModuleResult> {
    let look = call(ctx, &service_tools::script(&args.name), None, None).await?;
    let tools = service_tools::parse(&String::from_utf8_lossy(&look.stdout));
    if tools.system != "Linux" {
        return Err(ModuleResult::fail(format!(
            "clearfleet's service runs on Linux hosts only, not on {} (service.py's {} class)",
            tools.system, tools.system
        )));
    }
    let exec = Exec {
        ctx,
        locale: Some(tools.locale.clone().unwrap_or_else(|| "C".into())),
        prelude: "",
    };
    let mut svc = Linux::new(args, tools, exec, ctx.check_mode);
    svc.get_service_tools().map_err(|e| *e)?;

    let mut result = ModuleResult::ok().with("name", args.name.clone());
    if let Some(enable) = args.enabled {
        svc.service_enable().await?;
        result = result.with("enabled", enable);
    }
    let Some(state) = args.state else {
        result.changed = svc.changed;
        return Ok(result);
    };
    if args.pattern.is_some() {
        svc.check_ps().await?;
    } else {
        svc.get_service_status().await?;
    }
    svc.check_service_changed(state).map_err(|e| *e)?;
    let ran = svc.modify_service_state(state).await?;
    if ran.rc != 0 && !(ran.err.contains("Job is already running")) {
        return Err(ModuleResult::fail(if ran.err.is_empty() {
            ran.out
        } else {
            ran.err
        }));
    }
    result.changed = svc.changed || svc.svc_change;
    // As we may have just bounced the service, service.py shows what it ran.
    let shown = match state {
        SvcState::Stopped => "stopped",
        _ => "started",
    };
    Ok(result.with("state", shown))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arguments_as_service_py_takes_them() {
        let a = ServiceArgs::parse(&json!({"name": "x", "state": "started", "args": "-v"}))
            .expect("parses");
        assert_eq!(a.arguments, "-v");
        assert_eq!(a.runlevel, "default");
        assert_eq!(a.state, Some(SvcState::Started));
        let a = ServiceArgs::parse(&json!({"name": "x", "enabled": "yes", "use": "service"}))
            .expect("parses");
        assert_eq!(a.enabled, Some(true));
        assert_eq!(a.state, None);
        let e = ServiceArgs::parse(&json!({"name": "x"})).expect_err("neither");
        assert_eq!(
            e.message,
            "one of the following is required: state, enabled"
        );
        assert!(e.at_run_time);
        assert!(ServiceArgs::parse(&json!({"state": "started"})).is_err());
        assert!(ServiceArgs::parse(&json!({"name": "x", "state": "running"})).is_err());
        // systemd's arguments pass the check before the run (the action may pick systemd),
        // not the service module's own.
        let systemd_args = json!({"name": "x", "masked": true, "use": "systemd"});
        assert!(crate::validate_args("service", &systemd_args).is_ok());
        assert!(crate::validate_args("service", &json!({"name": "x", "nope": 1})).is_err());
        assert!(ServiceArgs::parse(&systemd_args).is_err());
    }
}
