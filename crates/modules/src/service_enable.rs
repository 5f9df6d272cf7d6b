//! `LinuxService.service_enable`: the service started at boot or not, by the tool
//! `get_service_tools` chose: `systemctl enable|disable`, OpenRC's `rc-update add|delete`,
//! `update-rc.d NAME defaults|enable|disable` (the `S??NAME` links decide), `insserv [-r]`
//! (its dry run decides) or `chkconfig NAME on|off`. In check mode some of these end the
//! module with `changed` alone, as `service.py`'s `exit_json(changed=...)` does.

use super::remote::Remote;
use super::result::ModuleResult;
use super::service_linux::{Linux, fail};

impl<R: Remote> Linux<'_, '_, '_, R> {
    /// `service_enable`.
    pub async fn service_enable(&mut self) -> Result<(), ModuleResult> {
        let Some(cmd) = self.enable_cmd.clone() else {
            return Err(fail(format!(
                "cannot detect command to enable service {}, typo or init system potentially \
                 unknown",
                self.name()
            )));
        };
        let name = self.name().to_owned();
        let enable = self.args.enabled.unwrap_or(false);
        self.changed = true;
        let action;
        if cmd.ends_with("chkconfig") {
            action = if enable { "on" } else { "off" };
            let mut list = self.exec.plain(&format!("{cmd} --list {name}")).await?;
            if list.err.contains(&format!("chkconfig --add {name}")) {
                self.exec.plain(&format!("{cmd} --add {name}")).await?;
                list = self.exec.plain(&format!("{cmd} --list {name}")).await?;
            }
            if !list.out.contains(&name) {
                return Err(fail(format!("service {name} does not support chkconfig")));
            }
            if list.out.contains(&format!("3:{action}"))
                && list.out.contains(&format!("5:{action}"))
            {
                self.changed = false;
                return Ok(());
            }
        } else if cmd.ends_with("systemctl") {
            action = if enable { "enable" } else { "disable" };
            if self.get_systemd_service_enabled().await? == enable {
                self.changed = false;
                return Ok(());
            }
        } else if cmd.ends_with("rc-update") {
            action = if enable { "add" } else { "delete" };
            let show = self.exec.plain(&format!("{cmd} show")).await?;
            let mut seen = false;
            for line in super::service_exec::splitlines(&show.out) {
                let Some((service, runlevels)) = line.split_once('|') else {
                    return Err(fail(format!(
                        "ValueError: not enough values to unpack (rc-update show: {line:?})"
                    )));
                };
                if service.trim() != name {
                    continue;
                }
                let has = re_split_ws(runlevels).contains(&self.args.runlevel.as_str());
                if enable == has {
                    self.changed = false;
                }
                seen = true;
                break;
            }
            if !seen && !enable {
                self.changed = false;
            }
            if !self.changed {
                return Ok(());
            }
        } else if cmd.ends_with("update-rc.d") {
            return self.update_rc_d(&cmd, &name, enable).await;
        } else if cmd.ends_with("insserv") {
            return self.insserv(&cmd, &name, enable).await;
        } else {
            action = "";
        }
        self.changed = true;
        let line = if cmd.ends_with("rc-update") {
            format!("{cmd} {action} {name} {}", self.args.runlevel)
        } else if cmd.ends_with("systemctl") {
            format!("{cmd} {action} {name}")
        } else {
            format!("{cmd} {name} {action}")
        };
        if self.check_mode {
            return Err(ModuleResult::changed());
        }
        let r = self.exec.plain(&line).await?;
        if r.rc != 0 {
            return Err(fail(if r.err.is_empty() {
                format!("Failure for {action} {name}: rc={} {}", r.rc, r.out)
            } else {
                format!(
                    "Error when trying to {action} {name}: rc={} {}",
                    r.rc, r.err
                )
            }));
        }
        Ok(())
    }

    /// The `update-rc.d` branch: the start links say whether it is enabled; enabling a
    /// service without kill links runs `defaults` first.
    async fn update_rc_d(
        &mut self,
        cmd: &str,
        name: &str,
        enable: bool,
    ) -> Result<(), ModuleResult> {
        let enabled = self.tools.started_in_a_runlevel(name);
        if enable == enabled {
            self.changed = false;
            return Ok(());
        }
        self.changed = true;
        let action = if enable { "enable" } else { "disable" };
        if self.check_mode {
            return Ok(());
        }
        let kill_links = !self.tools.glob(&format!("/etc/rc?.d/K??{name}")).is_empty();
        if enable && !kill_links {
            let r = self.exec.plain(&format!("{cmd} {name} defaults")).await?;
            if r.rc != 0 {
                return Err(fail(if r.err.is_empty() { r.out } else { r.err }));
            }
        }
        let r = self.exec.plain(&format!("{cmd} {name} {action}")).await?;
        if r.rc != 0 {
            return Err(fail(if r.err.is_empty() { r.out } else { r.err }));
        }
        Ok(())
    }

    /// The `insserv` branch: its dry run (`-n -v`) says whether anything would change.
    async fn insserv(&mut self, cmd: &str, name: &str, enable: bool) -> Result<(), ModuleResult> {
        let dry = if enable {
            format!("{cmd} -n -v {name}")
        } else {
            format!("{cmd} -n -r -v {name}")
        };
        let r = self.exec.plain(&dry).await?;
        let wanted = if enable {
            "enable service"
        } else {
            "remove service"
        };
        self.changed = r.err.lines().any(|l| l.contains(wanted));
        if self.check_mode {
            let mut done = ModuleResult::ok();
            done.changed = self.changed;
            return Err(done);
        }
        if !self.changed {
            return Ok(());
        }
        let (line, what) = if enable {
            (format!("{cmd} {name}"), "install")
        } else {
            (format!("{cmd} -r {name}"), "remove")
        };
        let r = self.exec.plain(&line).await?;
        if r.rc != 0 || !r.err.is_empty() {
            return Err(fail(format!(
                "Failed to {what} service. rc: {}, out: {}, err: {}",
                r.rc, r.out, r.err
            )));
        }
        Ok(())
    }
}

/// `re.split(r'\s+', s)`: empty words at the ends kept.
fn re_split_ws(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_ws = false;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            if !in_ws {
                out.push(&s[start..i]);
                in_ws = true;
            }
        } else if in_ws {
            start = i;
            in_ws = false;
        }
    }
    out.push(if in_ws { "" } else { &s[start..] });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runlevels_split_as_re_split() {
        assert_eq!(re_split_ws(" default boot "), ["", "default", "boot", ""]);
        assert_eq!(re_split_ws("default"), ["default"]);
    }
}
