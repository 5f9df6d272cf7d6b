//! `service.py`'s `LinuxService`: the tools chosen for the host, the status of the service,
//! its change of state (`service_control`) and the generic `Service` steps around them. The
//! enabling at boot is [`super::service_enable`]. Each method is the Python one of the same
//! name; `Err` is its `exit_json` or `fail_json`.

use super::remote::Remote;
use super::result::ModuleResult;
use super::service::{ServiceArgs, SvcState};
use super::service_exec::{Exec, Ran, splitlines};
use super::service_tools::Tools;
use clearfleet_base::python_json::repr_str;

/// The module's state between its steps (`Service.__init__`'s attributes).
pub struct Linux<'a, 'e, 'c, R: Remote> {
    pub args: &'a ServiceArgs,
    pub tools: Tools,
    pub exec: Exec<'e, 'c, R>,
    pub check_mode: bool,
    pub svc_cmd: Option<String>,
    pub svc_initscript: Option<String>,
    pub svc_initctl: Option<String>,
    pub enable_cmd: Option<String>,
    pub running: Option<bool>,
    pub crashed: Option<bool>,
    pub action: &'static str,
    pub changed: bool,
    pub svc_change: bool,
}

/// A failure as `fail_json(msg=...)`.
pub fn fail(msg: impl Into<String>) -> ModuleResult {
    ModuleResult::fail(msg)
}

impl<'a, 'e, 'c, R: Remote> Linux<'a, 'e, 'c, R> {
    pub fn new(
        args: &'a ServiceArgs,
        tools: Tools,
        exec: Exec<'e, 'c, R>,
        check_mode: bool,
    ) -> Self {
        Linux {
            args,
            tools,
            exec,
            check_mode,
            svc_cmd: None,
            svc_initscript: None,
            svc_initctl: None,
            enable_cmd: None,
            running: None,
            crashed: None,
            action: "",
            changed: false,
            svc_change: false,
        }
    }

    pub fn name(&self) -> &str {
        &self.args.name
    }

    /// `get_service_tools`: systemd, else upstart, else OpenRC, else the SysV script with
    /// `update-rc.d`, `insserv` or `chkconfig`; then `service` or the script to control it.
    pub fn get_service_tools(&mut self) -> Result<(), Box<ModuleResult>> {
        let t = &self.tools;
        let bin = |b: &str| t.bin(b).map(str::to_owned);
        if t.initscript {
            self.svc_initscript = Some(format!("/etc/init.d/{}", self.args.name));
        }
        if t.systemd_managed() {
            self.svc_cmd = bin("systemctl");
            self.enable_cmd = bin("systemctl");
        } else if t.bin("initctl").is_some() && t.upstart_conf {
            return Err(Box::new(fail(format!(
                "clearfleet's service does not drive upstart (/etc/init/{}.conf and initctl \
                 are on the host)",
                self.args.name
            ))));
        } else if t.bin("rc-service").is_some() {
            self.svc_cmd = bin("rc-service");
            self.enable_cmd = bin("rc-update");
            return Ok(());
        } else if self.svc_initscript.is_some() {
            self.enable_cmd = bin("update-rc.d")
                .or_else(|| bin("insserv"))
                .or_else(|| bin("chkconfig"));
        }
        if self.enable_cmd.is_none() {
            return Err(Box::new(missing(&self.args.name)));
        }
        if self.svc_cmd.is_none() {
            self.svc_cmd = bin("service");
        }
        if self.svc_cmd.is_none() && self.svc_initscript.is_none() {
            return Err(Box::new(fail(
                "cannot find 'service' binary or init script for service,  possible typo in \
                 service name?, aborting",
            )));
        }
        self.svc_initctl = bin("initctl");
        Ok(())
    }

    fn uses(&self, cmd: &Option<String>, tool: &str) -> bool {
        cmd.as_deref().is_some_and(|c| c.ends_with(tool))
    }

    /// `check_ps`: the pattern in a line of `ps auxww` (not one holding `pattern=`). The
    /// command line carries nothing of the task, so it never matches itself.
    pub async fn check_ps(&mut self) -> Result<(), ModuleResult> {
        let ps = self.exec.plain("ps auxww").await?;
        if ps.rc == 0 {
            let pattern = self.args.pattern.as_deref().unwrap_or_default();
            self.running = Some(
                ps.out
                    .split('\n')
                    .any(|l| l.contains(pattern) && !l.contains("pattern=")),
            );
        }
        Ok(())
    }

    /// `get_service_status`.
    pub async fn get_service_status(&mut self) -> Result<Option<bool>, ModuleResult> {
        if self.uses(&self.svc_cmd, "systemctl") {
            return self.get_systemd_service_status().await;
        }
        self.action = "status";
        let Ran { rc, out, .. } = self.service_control().await?;
        if let Some(initctl) = self.svc_initctl.clone()
            && self.running.is_none()
        {
            let st = self
                .exec
                .plain(&format!(
                    "{initctl} status {} {}",
                    self.args.name, self.args.arguments
                ))
                .await?;
            if st.out.contains("stop/waiting") {
                self.running = Some(false);
            } else if st.out.contains("start/running") {
                self.running = Some(true);
            }
        }
        if self.uses(&self.svc_cmd, "rc-service") && self.running.is_none() {
            let cmd = self.svc_cmd.clone().unwrap_or_default();
            let st = self
                .exec
                .plain(&format!("{cmd} {} status", self.args.name))
                .await?;
            self.running = Some(st.out.contains("started"));
            self.crashed = Some(st.err.contains("crashed"));
        }
        if self.running.is_none() && [1, 2, 3, 4, 69].contains(&rc) {
            self.running = Some(false);
        }
        if self.running.is_none() && out.matches('\n').count() <= 1 {
            self.running = status_words(&out, &self.args.name);
        }
        if self.running.is_none() && rc == 0 {
            self.running = Some(true);
        }
        if self.running.is_none() && self.args.name == "iptables" && out.contains("ACCEPT") {
            self.running = Some(true);
        }
        Ok(self.running)
    }

    /// `get_systemd_service_status` from `get_systemd_status_dict`.
    async fn get_systemd_service_status(&mut self) -> Result<Option<bool>, ModuleResult> {
        let unit = self.args.name.clone();
        let cmd = self.enable_cmd.clone().unwrap_or_default();
        let show = self.exec.plain(&format!("{cmd} show '{unit}'")).await?;
        if show.rc != 0 {
            return Err(fail(format!(
                "failure {} running systemctl show for {}: {}",
                show.rc,
                repr_str(&unit),
                show.err
            )));
        }
        if show.out.contains("LoadState=not-found") {
            return Err(fail(format!(
                "systemd could not find the requested service \"{}\": {}",
                repr_str(&unit),
                show.err
            )));
        }
        let d = status_dict(&show.out);
        let (running, crashed) = match d.iter().find(|(k, _)| k == "ActiveState") {
            Some((_, v)) if v == "active" => (true, false),
            Some((_, v)) if v == "failed" => (false, true),
            Some(_) => (false, false),
            None => {
                return Err(fail(format!(
                    "No ActiveState value in systemctl show output for {}",
                    repr_str(&unit)
                )));
            }
        };
        self.running = Some(running);
        self.crashed = Some(crashed);
        Ok(self.running)
    }

    /// `get_systemd_service_enabled`.
    pub async fn get_systemd_service_enabled(&mut self) -> Result<bool, ModuleResult> {
        let cmd = self.enable_cmd.clone().unwrap_or_default();
        let r = self
            .exec
            .plain(&format!("{cmd} is-enabled {}", self.args.name))
            .await?;
        Ok(if r.rc == 0 {
            true
        } else if r.out.starts_with("disabled") {
            false
        } else if self.tools.initscript_x {
            self.tools.started_in_a_runlevel(&self.args.name)
        } else {
            false
        })
    }

    /// `check_service_changed`.
    pub fn check_service_changed(&mut self, state: SvcState) -> Result<(), Box<ModuleResult>> {
        let Some(running) = self.running else {
            return Err(Box::new(fail(
                "failed determining service state, possible typo of service name?",
            )));
        };
        self.svc_change = match state {
            SvcState::Restarted => true,
            SvcState::Started => !running,
            SvcState::Reloaded => true,
            SvcState::Stopped => running,
        };
        if self.check_mode && self.svc_change {
            return Err(Box::new(
                ModuleResult::changed().with_msg("service state changed"),
            ));
        }
        Ok(())
    }

    /// `modify_service_state`.
    pub async fn modify_service_state(&mut self, state: SvcState) -> Result<Ran, ModuleResult> {
        if !self.svc_change {
            return Ok(Ran::default());
        }
        let running = self.running == Some(true);
        self.action = match state {
            SvcState::Started => "start",
            SvcState::Reloaded if !running => "start",
            SvcState::Stopped => "stop",
            SvcState::Reloaded => "reload",
            SvcState::Restarted => "restart",
        };
        self.service_control().await
    }

    /// `service_control`: `self.action` through the chosen tool.
    pub async fn service_control(&mut self) -> Result<Ran, ModuleResult> {
        let name = self.args.name.clone();
        let mut arguments = self.args.arguments.clone();
        let svc_cmd = match &self.svc_cmd {
            Some(c) if c.ends_with("systemctl") => {
                arguments = format!("{name} {arguments}");
                c.clone()
            }
            Some(c) if c.ends_with("initctl") => {
                arguments = format!("{name} {arguments}");
                c.clone()
            }
            Some(c) => format!("{c} {name}"),
            None => self.svc_initscript.clone().unwrap_or_default(),
        };
        let rc_service = self.uses(&self.svc_cmd, "rc-service");
        if rc_service && self.action == "start" && self.crashed == Some(true) {
            self.exec.daemonized(&format!("{svc_cmd} zap")).await?;
        }
        let one = |action: &str| {
            if svc_cmd.is_empty() {
                format!("{action} {name} {arguments}")
            } else {
                format!("{svc_cmd} {action} {arguments}")
            }
        };
        if self.action != "restart" || rc_service {
            return self.exec.daemonized(&one(self.action)).await;
        }
        // Not every service supports restart: stop, sleep, start.
        let stop = self.exec.daemonized(&one("stop")).await?;
        if let Some(s) = self.args.sleep.filter(|s| *s > 0) {
            tokio::time::sleep(std::time::Duration::from_secs(s as u64)).await;
        }
        let start = self.exec.daemonized(&one("start")).await?;
        Ok(if stop.rc != 0 && start.rc == 0 {
            start
        } else {
            Ran {
                rc: stop.rc + start.rc,
                out: stop.out + &start.out,
                err: stop.err + &start.err,
            }
        })
    }
}

/// `fail_if_missing(module, False, name, msg='host')`.
pub fn missing(name: &str) -> ModuleResult {
    fail(format!("Could not find the requested service {name}: host"))
}

/// `get_service_status`'s reading of a status line (one line at most): its keywords, the
/// service's name taken out first.
fn status_words(out: &str, name: &str) -> Option<bool> {
    let clean = out.to_lowercase().replace(&name.to_lowercase(), "");
    if clean.contains("stop") {
        Some(false)
    } else if clean.contains("run") {
        Some(!clean.contains("not "))
    } else if clean.contains("start") && !clean.contains("not ") {
        Some(true)
    } else if [
        "could not access pid file",
        "is dead and pid file exists",
        "dead but subsys locked",
        "dead but pid file exists",
    ]
    .iter()
    .any(|k| clean.contains(k))
    {
        Some(false)
    } else {
        None
    }
}

/// `get_systemd_status_dict`'s parse of `systemctl show`, as written (a value starting with
/// `{` runs to a line ending with `}`; the lines between join the buffer, which is never
/// emptied), in order.
pub fn status_dict(out: &str) -> Vec<(String, String)> {
    let mut d: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: String| match d.iter_mut().find(|(key, _)| key == k) {
        Some(slot) => slot.1 = v,
        None => d.push((k.to_owned(), v)),
    };
    let mut key: Option<String> = None;
    let mut value: Option<String> = None;
    let mut buffer: Vec<String> = Vec::new();
    for line in splitlines(out) {
        if let Some((k, v)) = line.split_once('=') {
            match &key {
                None => {
                    value = Some(v.to_owned());
                    if v.trim_start().starts_with('{') && !v.trim_end().ends_with('}') {
                        buffer.push(v.to_owned());
                        key = Some(k.to_owned());
                    } else {
                        set(k, v.to_owned());
                    }
                }
                Some(open) => {
                    if line.trim_end().ends_with('}') {
                        set(open, buffer.join("\n"));
                        key = None;
                    } else if let Some(v) = &value {
                        buffer.push(v.clone());
                    }
                }
            }
        } else if let Some(v) = &value {
            buffer.push(v.clone());
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_read_as_service_py_reads_them() {
        assert_eq!(status_words("cftest is running\n", "cftest"), Some(true));
        assert_eq!(
            status_words("cftest is not running\n", "cftest"),
            Some(false)
        );
        assert_eq!(status_words("stopped\n", "x"), Some(false));
        assert_eq!(status_words("Started\n", "x"), Some(true));
        assert_eq!(status_words("not started\n", "x"), None);
        assert_eq!(
            status_words("dead but pid file exists\n", "svc"),
            Some(false)
        );
        // As in Python, the name is taken out everywhere (`x` of "exists" too).
        assert_eq!(status_words("dead but pid file exists\n", "x"), None);
        // The name is taken out first: "runner" says nothing of running.
        assert_eq!(status_words("runner: ok\n", "runner"), None);
    }

    #[test]
    fn systemctl_show_as_get_systemd_status_dict_parses_it() {
        let d = status_dict(
            "Id=x.service\nExecStart={ path=/bin/x ; argv[]=/bin/x\n a=b }\nActiveState=active\n",
        );
        let get = |k: &str| d.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("Id"), Some("x.service"));
        assert_eq!(get("ActiveState"), Some("active"));
        assert_eq!(get("ExecStart"), Some("{ path=/bin/x ; argv[]=/bin/x"));
        let one_line = status_dict("Description={braces}\nActiveState=failed\n");
        assert_eq!(one_line[0].1, "{braces}");
        assert_eq!(one_line[1].1, "failed");
    }
}
