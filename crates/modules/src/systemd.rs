//! `systemd` (and its name `systemd_service`): a unit started, stopped, restarted or reloaded,
//! enabled, masked, and the manager reloaded or re-executed, as ansible-core 2.19.14's
//! `lib/ansible/modules/systemd_service.py` does it with `systemctl`: its order (daemon-reload,
//! daemon-reexec, `show`, mask, enable, state), its fallbacks where `show` does not answer
//! (`is-enabled`, `list-unit-files`, then `systemctl` itself with `check_rc`), its handling of
//! a chroot or `SYSTEMD_OFFLINE=1` (warnings instead of failures), its messages and results
//! (`name`, `changed`, `status` from `systemctl show`, `enabled`, `state`).
//!
//! Round trips: 1 look ([`super::service_tools`]), then 1 per `systemctl` command the module
//! runs.

use serde_json::{Map, Value, json};

use super::args::{ArgError, Args, Key};
use super::context::ModuleContext;
use super::probe::call;
use super::remote::Remote;
use super::result::ModuleResult;
use super::service_exec::{Exec, Ran};
use super::service_tools::{self, Tools};
use super::systemd_show::{parse_systemctl_show, request_was_ignored};

/// Accepted keys, with `systemd_service.py`'s aliases.
pub const KEYS: &[Key] = &[
    ("name", &["service", "unit"]),
    ("state", &[]),
    ("enabled", &[]),
    ("force", &[]),
    ("masked", &[]),
    ("daemon_reload", &["daemon-reload"]),
    ("daemon_reexec", &["daemon-reexec"]),
    ("scope", &[]),
    ("no_block", &[]),
];

/// Arguments of `systemd`.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemdArgs {
    pub name: Option<String>,
    /// `started`, `stopped`, `restarted` or `reloaded`.
    pub state: Option<String>,
    pub enabled: Option<bool>,
    pub force: bool,
    pub masked: Option<bool>,
    pub daemon_reload: bool,
    pub daemon_reexec: bool,
    pub scope: String,
    pub no_block: bool,
}

fn opt_bool(a: &mut Args, key: &str) -> Result<Option<bool>, ArgError> {
    match a.has(key) {
        true => a.bool(key, false).map(Some),
        false => Ok(None),
    }
}

impl SystemdArgs {
    /// Parses the arguments: `required_by` as Ansible words it.
    pub fn parse(v: &Value) -> Result<SystemdArgs, ArgError> {
        let mut a = Args::new("systemd", KEYS, v)?;
        let parsed = SystemdArgs {
            name: a.str("name")?,
            state: a.choice(
                "state",
                &["reloaded", "restarted", "started", "stopped"],
                None,
            )?,
            enabled: opt_bool(&mut a, "enabled")?,
            force: opt_bool(&mut a, "force")?.unwrap_or(false),
            masked: opt_bool(&mut a, "masked")?,
            daemon_reload: a.bool("daemon_reload", false)?,
            daemon_reexec: a.bool("daemon_reexec", false)?,
            scope: a
                .choice("scope", &["system", "user", "global"], Some("system"))?
                .unwrap_or_default(),
            no_block: a.bool("no_block", false)?,
        };
        a.finish()?;
        // `required_one_of` (state, enabled, masked, daemon_reload, daemon_reexec) always
        // holds: Ansible counts daemon_reload and daemon_reexec, which have defaults.
        if parsed.name.is_none() {
            for (key, given) in [
                ("state", parsed.state.is_some()),
                ("enabled", parsed.enabled.is_some()),
                ("masked", parsed.masked.is_some()),
            ] {
                if given {
                    return Err(ArgError::at_run_time(
                        Some(key),
                        format!("missing parameter(s) required by '{key}': name"),
                    ));
                }
            }
        }
        Ok(parsed)
    }
}

/// The states `systemctl is-enabled` prints for a unit it knows (systemd 244's list).
const VALID_ENABLED_STATES: &[&str] = &[
    "enabled",
    "enabled-runtime",
    "linked",
    "linked-runtime",
    "masked",
    "masked-runtime",
    "static",
    "indirect",
    "disabled",
    "generated",
    "transient",
];

/// `XDG_RUNTIME_DIR` as the module sets it when unset.
const XDG: &str = "[ -n \"${XDG_RUNTIME_DIR+x}\" ] || { XDG_RUNTIME_DIR=/run/user/$(id -u); \
                   export XDG_RUNTIME_DIR; }\n";

/// Runs `systemd` on the host.
pub async fn run<R: Remote>(args: &SystemdArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    match main(args, ctx).await {
        Ok(r) | Err(r) => r,
    }
}

/// What one call knows as it goes: the host's look, the command runner, the result.
struct Unit<'a, 'e, 'c, R: Remote> {
    args: &'a SystemdArgs,
    tools: Tools,
    exec: Exec<'e, 'c, R>,
    systemctl: String,
    check_mode: bool,
    result: ModuleResult,
    status: Map<String, Value>,
}

impl<R: Remote> Unit<'_, '_, '_, R> {
    async fn run(&self, cmd: &str) -> Result<Ran, ModuleResult> {
        self.exec.plain(cmd).await
    }

    /// Where `daemon-reload` or `daemon-reexec` failing is only a warning.
    fn chroot_or_offline(&self) -> bool {
        self.tools.chroot || self.tools.offline
    }

    /// `daemon-reload` / `daemon-reexec`, unless in check mode.
    async fn daemon(&mut self, what: &str) -> Result<(), ModuleResult> {
        let r = self.run(&format!("{} {what}", self.systemctl)).await?;
        if r.rc != 0 {
            if self.chroot_or_offline() {
                self.result.warnings.push(format!(
                    "{what} failed, but target is a chroot or systemd is offline. Continuing. \
                     Error was: {} / {}",
                    r.rc, r.err
                ));
            } else {
                return Err(ModuleResult::fail(format!(
                    "failure {} during {what}: {}",
                    r.rc, r.err
                )));
            }
        }
        Ok(())
    }

    /// `run_command(systemctl, check_rc=True)`'s failure.
    fn check_rc(&self, r: Ran) -> ModuleResult {
        let cmd = clearfleet_base::shlex::split(&self.systemctl, false)
            .unwrap_or_default()
            .iter()
            .map(|w| clearfleet_base::shell::quote(w))
            .collect::<Vec<_>>()
            .join(" ");
        let mut f = ModuleResult::fail(r.err.trim_end().to_owned());
        f.rc = Some(r.rc);
        f.stdout = Some(r.out);
        f.stderr = Some(r.err);
        f.with("cmd", cmd)
    }

    /// The look at the unit: `show`, else `is-enabled`, else `list-unit-files`. Whether
    /// systemd knows it.
    async fn find(&mut self, unit: &str) -> Result<bool, ModuleResult> {
        let sc = self.systemctl.clone();
        let r = self.run(&format!("{sc} show '{unit}'")).await?;
        if r.rc == 0 && !(request_was_ignored(&r.out) || request_was_ignored(&r.err)) {
            if r.out.is_empty() {
                return Ok(false);
            }
            self.status = parse_systemctl_show(&r.out);
            let load = self.status.get("LoadState").and_then(Value::as_str);
            let is_systemd = load.is_some_and(|l| l != "not-found");
            let masked = load == Some("masked");
            if is_systemd
                && !masked
                && let Some(e) = self.status.get("LoadError").and_then(Value::as_str)
            {
                return Err(ModuleResult::fail(format!(
                    "Error loading unit file '{unit}': {e}"
                )));
            }
            return Ok(is_systemd);
        }
        if !r.err.is_empty() && r.rc == 1 && r.err.contains("Failed to parse bus message") {
            // ansible/ansible#71528.
            self.status = parse_systemctl_show(&r.out);
            let (base, sep, _) = match unit.split_once('@') {
                Some((b, _)) => (b, "@", ()),
                None => (unit, "", ()),
            };
            let search = format!("{base}{sep}");
            let l = self
                .run(&format!("{sc} list-unit-files '{search}*'"))
                .await?;
            let is_systemd = l.out.contains(&search);
            let a = self.run(&format!("{sc} is-active '{unit}'")).await?;
            self.status
                .insert("ActiveState".into(), json!(a.out.trim_end_matches('\n')));
            return Ok(is_systemd);
        }
        let e = self.run(&format!("{sc} is-enabled '{unit}'")).await?;
        if VALID_ENABLED_STATES.contains(&e.out.trim()) {
            return Ok(true);
        }
        let l = self.run(&format!("{sc} list-unit-files '{unit}'")).await?;
        if l.rc == 0 {
            return Ok(true);
        }
        let bare = self.run(&sc).await?;
        if bare.rc != 0 {
            return Err(self.check_rc(bare));
        }
        Ok(false)
    }

    /// `masked`: `is-enabled` says `masked` or not; `mask`/`unmask` where it differs.
    async fn mask(&mut self, unit: &str, want: bool, found: bool) -> Result<(), ModuleResult> {
        let sc = self.systemctl.clone();
        let r = self.run(&format!("{sc} is-enabled '{unit}'")).await?;
        if (r.out.trim() == "masked") == want {
            return Ok(());
        }
        self.result.changed = true;
        if self.check_mode {
            return Ok(());
        }
        let action = if want { "mask" } else { "unmask" };
        let r = self.run(&format!("{sc} {action} '{unit}'")).await?;
        if r.rc != 0 {
            if !found {
                return Err(super::service_linux::missing(unit));
            }
            return Err(ModuleResult::fail(format!(
                "Failed to {action} the service ({unit}): {}",
                r.err.trim()
            )));
        }
        Ok(())
    }

    /// `enabled`: `is-enabled -l` (or the SysV links of an init script) against the wish.
    async fn enable(
        &mut self,
        unit: &str,
        want: bool,
        found: bool,
        is_initd: bool,
    ) -> Result<(), ModuleResult> {
        if !found {
            return Err(super::service_linux::missing(unit));
        }
        let sc = self.systemctl.clone();
        let r = self.run(&format!("{sc} is-enabled '{unit}' -l")).await?;
        let enabled = match r.rc {
            // Enabled, unless only for now, indirectly or as an alias: enable it anyway.
            0 => !matches!(r.out.trim_end(), "enabled-runtime" | "indirect" | "alias"),
            1 => {
                self.args.scope == "system"
                    && is_initd
                    && !r.out.trim().ends_with("disabled")
                    && self.tools.sysv_is_enabled(unit)
            }
            _ => false,
        };
        self.result.data.insert("enabled".into(), json!(enabled));
        if enabled == want {
            return Ok(());
        }
        self.result.changed = true;
        if !self.check_mode {
            let action = if want { "enable" } else { "disable" };
            let r = self.run(&format!("{sc} {action} '{unit}'")).await?;
            if r.rc != 0 {
                return Err(ModuleResult::fail(format!(
                    "Unable to {action} service {unit}: {}{}",
                    r.out, r.err
                )));
            }
        }
        self.result.data.insert("enabled".into(), json!(!enabled));
        Ok(())
    }

    /// `state`: the unit's `ActiveState` decides; without one, a chroot or offline systemd
    /// warns, anything else is "Service is in unknown state".
    async fn state(&mut self, unit: &str, want: &str, found: bool) -> Result<(), ModuleResult> {
        if !found {
            return Err(super::service_linux::missing(unit));
        }
        self.result.data.insert("state".into(), json!(want));
        let Some(active) = self
            .status
            .get("ActiveState")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            if self.chroot_or_offline() {
                self.result.warnings.push(
                    "Target is a chroot or systemd is offline. This can lead to false positives \
                     or prevent the init system tools from working."
                        .into(),
                );
                return Ok(());
            }
            return Err(ModuleResult::fail("Service is in unknown state")
                .with("status", Value::Object(self.status.clone())));
        };
        let running = active == "active" || active == "activating";
        let action = match want {
            "started" => (!running).then_some("start"),
            "stopped" => (running || active == "deactivating").then_some("stop"),
            other => {
                self.result.data.insert("state".into(), json!("started"));
                Some(match (running, other) {
                    (false, _) => "start",
                    (true, "restarted") => "restart",
                    (true, _) => "reload",
                })
            }
        };
        if let Some(action) = action {
            self.result.changed = true;
            if !self.check_mode {
                let sc = self.systemctl.clone();
                let r = self.run(&format!("{sc} {action} '{unit}'")).await?;
                if r.rc != 0 {
                    return Err(ModuleResult::fail(format!(
                        "Unable to {action} service {unit}: {}",
                        r.err
                    )));
                }
            }
        }
        Ok(())
    }
}

/// `systemd_service.py`'s `main`; `Err` is an early `fail_json`.
async fn main<R: Remote>(
    args: &SystemdArgs,
    ctx: &ModuleContext<'_, R>,
) -> Result<ModuleResult, ModuleResult> {
    if let Some(unit) = &args.name {
        for g in ['*', '?', '['] {
            if unit.contains(g) {
                return Err(ModuleResult::fail(format!(
                    "This module does not currently support using glob patterns, found '{g}' \
                     in service name: {unit}"
                )));
            }
        }
    }
    let name = args.name.as_deref().unwrap_or_default();
    let look = call(ctx, &service_tools::script(name), None, None).await?;
    let tools = service_tools::parse(&String::from_utf8_lossy(&look.stdout));
    let Some(mut systemctl) = tools.systemctl.clone() else {
        return Err(ModuleResult::fail(tools.not_found("systemctl")));
    };
    if args.scope != "system" {
        systemctl.push_str(&format!(" --{}", args.scope));
    }
    if args.no_block {
        systemctl.push_str(" --no-block");
    }
    if args.force {
        systemctl.push_str(" --force");
    }
    let mut u = Unit {
        args,
        tools,
        exec: Exec {
            ctx,
            locale: None,
            prelude: XDG,
        },
        systemctl,
        check_mode: ctx.check_mode,
        result: ModuleResult::ok(),
        status: Map::new(),
    };
    if args.daemon_reload && !u.check_mode {
        u.daemon("daemon-reload").await?;
    }
    if args.daemon_reexec && !u.check_mode {
        u.daemon("daemon-reexec").await?;
    }
    if let Some(unit) = &args.name {
        let is_initd = u.tools.sysv_exists;
        let is_systemd = u.find(unit).await?;
        let found = is_systemd || is_initd;
        if is_initd && !is_systemd {
            u.result.warnings.push(format!(
                "The service ({unit}) is actually an init script but the system is managed by \
                 systemd"
            ));
        }
        if let Some(want) = args.masked {
            u.mask(unit, want, found).await?;
        }
        if let Some(want) = args.enabled {
            u.enable(unit, want, found, is_initd).await?;
        }
        if let Some(want) = &args.state {
            u.state(unit, want, found).await?;
        }
    }
    let status = Value::Object(std::mem::take(&mut u.status));
    let name = args.name.clone().map_or(Value::Null, Value::String);
    Ok(u.result.with("name", name).with("status", status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_as_systemd_service_py_takes_them() {
        let a = SystemdArgs::parse(&json!({"unit": "x.service", "daemon-reload": true}))
            .expect("parses");
        assert_eq!(a.name.as_deref(), Some("x.service"));
        assert!(a.daemon_reload);
        assert_eq!(a.scope, "system");
        // Nothing to do is no error: the defaults count for `required_one_of`.
        assert!(SystemdArgs::parse(&json!({"name": "x"})).is_ok());
        let e = SystemdArgs::parse(&json!({"enabled": true})).expect_err("no name");
        assert_eq!(
            e.message,
            "missing parameter(s) required by 'enabled': name"
        );
        assert!(SystemdArgs::parse(&json!({"name": "x", "scope": "session"})).is_err());
        assert!(
            SystemdArgs::parse(&json!({"name": "x", "pattern": "y", "state": "started"})).is_err()
        );
    }
}
