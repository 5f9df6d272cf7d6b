//! `service` and `systemd` against a scripted host: the commands each init system's path
//! runs and what the modules make of the answers. These are the paths the differential
//! tests (tests/run_ansible_diff.rs) cannot reach on a machine without a running systemd,
//! OpenRC, insserv or chkconfig.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

use crate::context::ModuleContext;
use crate::remote::{Remote, RemoteError, RemoteOutput};
use crate::{ModuleCall, ModuleResult};
use clearfleet_base::controller_files::ControllerFiles;

/// A host that answers each command by the first rule whose needle it contains (rc 0 and
/// no output otherwise), and records the commands.
struct Scripted {
    rules: Vec<(&'static str, i32, &'static str, &'static str)>,
    seen: Mutex<Vec<String>>,
}

impl Scripted {
    fn new(look: &'static str, rules: &[(&'static str, i32, &'static str, &'static str)]) -> Self {
        let mut all = vec![("uname -s", 0, look, "")];
        all.extend_from_slice(rules);
        Scripted {
            rules: all,
            seen: Mutex::new(Vec::new()),
        }
    }

    /// The commands after the look, each shown by its last line that is not plumbing.
    fn commands(&self) -> Vec<String> {
        let seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        seen.iter()
            .skip(1)
            .map(|c| {
                let c = c.replace("'\"'\"'", "'");
                let c = c.strip_prefix("/bin/sh -c '").unwrap_or(&c);
                let line = c
                    .lines()
                    .find(|l| l.starts_with("exec ") || l.contains(" env -i "))
                    .unwrap_or_default()
                    .to_owned();
                match line.split_once("LC_MESSAGES=C.utf8 ") {
                    Some((_, rest)) => rest.split(" </dev/null").next().unwrap_or("").to_owned(),
                    None => line.trim_start_matches("exec ").to_owned(),
                }
            })
            .collect()
    }
}

impl Remote for Scripted {
    async fn run(
        &self,
        cmd: &str,
        _stdin: Option<Vec<u8>>,
        _timeout: Option<Duration>,
    ) -> Result<RemoteOutput, RemoteError> {
        if let Ok(mut s) = self.seen.lock() {
            s.push(cmd.to_owned());
        }
        let plain = cmd.replace("'\"'\"'", "'");
        let (rc, out, err) = self
            .rules
            .iter()
            .find(|(needle, ..)| plain.contains(needle))
            .map(|(_, rc, out, err)| (*rc, *out, *err))
            .unwrap_or((0, "", ""));
        Ok(RemoteOutput {
            stdout: out.as_bytes().to_vec(),
            stderr: err.as_bytes().to_vec(),
            rc: Some(rc),
            ..RemoteOutput::default()
        })
    }

    async fn run_to(
        &self,
        cmd: &str,
        stdin: Option<Vec<u8>>,
        timeout: Option<Duration>,
        _stdout: &mut (dyn std::io::Write + Send),
    ) -> Result<RemoteOutput, RemoteError> {
        self.run(cmd, stdin, timeout).await
    }

    fn host(&self) -> &str {
        "h"
    }
}

fn go(host: &Scripted, module: &str, args: Value, check: bool) -> ModuleResult {
    let call = ModuleCall::parse(module, &args).unwrap_or_else(|e| panic!("{args}: {e}"));
    let files = ControllerFiles::Disk;
    let ctx = ModuleContext {
        remote: host,
        check_mode: check,
        diff: false,
        become_: false,
        controller_dir: std::path::Path::new("/"),
        role_dir: None,
        files: &files,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    rt.block_on(call.run(&ctx))
}

const COMMON: &str = "system Linux\npath /usr/bin:/bin\nsbin /sbin\nsbin /usr/sbin\n\
                      loc locale /usr/bin/locale\nlocale C\nlocale C.utf8\nrc0d\neuid 0\n";

fn look(extra: &str) -> &'static str {
    Box::leak(format!("{COMMON}{extra}").into_boxed_str())
}

#[test]
fn service_on_a_systemd_host_drives_systemctl() {
    let host = Scripted::new(
        look("bin systemctl /usr/bin/systemctl\nbin service /usr/sbin/service\npid1 systemd\n"),
        &[
            (
                "systemctl show cron",
                0,
                "Id=cron.service\nActiveState=inactive\n",
                "",
            ),
            ("systemctl is-enabled cron", 1, "disabled\n", ""),
        ],
    );
    let r = go(
        &host,
        "service",
        json!({"name": "cron", "state": "started", "enabled": true}),
        false,
    );
    assert!(!r.failed && r.changed, "{r:?}");
    assert_eq!(r.data["state"], "started");
    assert_eq!(r.data["enabled"], true);
    assert_eq!(
        host.commands(),
        [
            "/usr/bin/systemctl is-enabled cron",
            "/usr/bin/systemctl enable cron",
            "/usr/bin/systemctl show cron",
            "/usr/bin/systemctl start cron",
        ]
    );
}

#[test]
fn service_on_a_systemd_host_fails_as_service_py_for_an_unknown_unit() {
    let host = Scripted::new(
        look("bin systemctl /usr/bin/systemctl\ncanary\n"),
        &[(
            "systemctl show nope",
            0,
            "Id=nope.service\nLoadState=not-found\n",
            "",
        )],
    );
    let r = go(
        &host,
        "service",
        json!({"name": "nope", "state": "stopped"}),
        false,
    );
    assert_eq!(
        r.msg.as_deref(),
        Some("systemd could not find the requested service \"'nope'\": ")
    );
}

#[test]
fn service_with_openrc_adds_to_the_runlevel() {
    let host = Scripted::new(
        look("bin rc-service /sbin/rc-service\nbin rc-update /sbin/rc-update\n"),
        &[
            (
                "rc-update show",
                0,
                "  sshd | default\n  crond | boot\n",
                "",
            ),
            ("rc-service crond status", 0, " * status: stopped\n", ""),
        ],
    );
    let r = go(
        &host,
        "service",
        json!({"name": "crond", "enabled": true, "state": "started"}),
        false,
    );
    assert!(!r.failed && r.changed, "{r:?}");
    assert_eq!(
        host.commands(),
        [
            "/sbin/rc-update show",
            "/sbin/rc-update add crond default",
            "/sbin/rc-service crond status",
            "/sbin/rc-service crond status",
            "/sbin/rc-service crond start",
        ]
    );
}

#[test]
fn service_with_chkconfig_reads_runlevels_3_and_5() {
    let host = Scripted::new(
        look("bin chkconfig /sbin/chkconfig\nbin service /sbin/service\ninitscript\n"),
        &[(
            "chkconfig --list httpd",
            0,
            "httpd 0:off 1:off 2:on 3:on 4:on 5:on 6:off\n",
            "",
        )],
    );
    let r = go(
        &host,
        "service",
        json!({"name": "httpd", "enabled": true}),
        false,
    );
    assert!(!r.failed && !r.changed, "{r:?}");
    let r = go(
        &host,
        "service",
        json!({"name": "httpd", "enabled": false}),
        true,
    );
    // Check mode ends the module with `changed` alone, as service.py's exit_json.
    assert!(r.changed);
    assert!(!r.data.contains_key("name"), "{r:?}");
}

#[test]
fn service_with_insserv_decides_by_its_dry_run() {
    let host = Scripted::new(
        look("bin insserv /sbin/insserv\nbin service /usr/sbin/service\ninitscript\n"),
        &[(
            "insserv -n -v ntp",
            0,
            "",
            "insserv: enable service ../init.d/ntp -> rc2.d/S01ntp\n",
        )],
    );
    let r = go(
        &host,
        "service",
        json!({"name": "ntp", "enabled": true}),
        false,
    );
    assert!(!r.failed && r.changed, "{r:?}");
    assert_eq!(
        host.commands(),
        ["/sbin/insserv -n -v ntp", "/sbin/insserv ntp"]
    );
}

#[test]
fn service_refuses_upstart_and_other_systems() {
    let host = Scripted::new(look("bin initctl /sbin/initctl\nupstart_conf\n"), &[]);
    let r = go(
        &host,
        "service",
        json!({"name": "x", "state": "started"}),
        false,
    );
    assert!(r.failed && r.msg.unwrap_or_default().contains("upstart"));
    let host = Scripted::new("system FreeBSD\n", &[]);
    let r = go(
        &host,
        "service",
        json!({"name": "x", "state": "started"}),
        false,
    );
    assert!(r.failed && r.msg.unwrap_or_default().contains("Linux hosts only"));
}

#[test]
fn service_without_any_tool_says_so() {
    let host = Scripted::new(
        look("bin update-rc.d /usr/sbin/update-rc.d\ninitscript\n"),
        &[],
    );
    // An init script but no `service`: the script itself is run.
    let r = go(
        &host,
        "service",
        json!({"name": "x", "state": "stopped"}),
        false,
    );
    assert!(!r.failed, "{r:?}");
    // Its empty status with rc 0 is "running".
    assert_eq!(
        host.commands(),
        ["/etc/init.d/x status", "/etc/init.d/x stop"]
    );
    let host = Scripted::new(look(""), &[]);
    let r = go(
        &host,
        "service",
        json!({"name": "x", "state": "stopped"}),
        false,
    );
    assert_eq!(
        r.msg.as_deref(),
        Some("Could not find the requested service x: host")
    );
}

#[test]
fn systemd_with_a_running_manager_restarts_and_reports_status() {
    let host = Scripted::new(
        look("plain systemctl /usr/bin/systemctl\n"),
        &[(
            "--no-block show x",
            0,
            "Id=x.service\nLoadState=loaded\nActiveState=active\nExecStart={ path=/bin/x ;\n status=0/0 }\n",
            "",
        )],
    );
    let r = go(
        &host,
        "systemd",
        json!({"name": "x", "state": "restarted", "daemon_reload": true, "no_block": true}),
        false,
    );
    assert!(!r.failed && r.changed, "{r:?}");
    assert_eq!(r.data["state"], "started");
    assert_eq!(
        r.data["status"]["ExecStart"],
        "{ path=/bin/x ;\n status=0/0 }"
    );
    assert_eq!(
        host.commands(),
        [
            "/usr/bin/systemctl --no-block daemon-reload",
            "/usr/bin/systemctl --no-block show x",
            "/usr/bin/systemctl --no-block restart x",
        ]
    );
}

#[test]
fn systemd_reports_a_unit_that_fails_to_load() {
    let host = Scripted::new(
        look("plain systemctl /usr/bin/systemctl\n"),
        &[(
            "systemctl show x",
            0,
            "LoadState=error\nLoadError=org.freedesktop.systemd1.BadUnitSetting \"bad\"\n",
            "",
        )],
    );
    let r = go(
        &host,
        "systemd",
        json!({"name": "x", "state": "started"}),
        false,
    );
    assert_eq!(
        r.msg.as_deref(),
        Some("Error loading unit file 'x': org.freedesktop.systemd1.BadUnitSetting \"bad\"")
    );
}

#[test]
fn systemd_in_a_chroot_warns_where_it_would_fail() {
    let host = Scripted::new(
        look("plain systemctl /usr/bin/systemctl\nchroot\n"),
        &[
            ("systemctl daemon-reload", 1, "", "Running in chroot\n"),
            (
                "systemctl show x",
                0,
                "Running in chroot, ignoring command 'show'\n",
                "",
            ),
            ("systemctl is-enabled x", 0, "enabled\n", ""),
        ],
    );
    let r = go(
        &host,
        "systemd",
        json!({"name": "x", "state": "started", "daemon_reload": true}),
        false,
    );
    assert!(!r.failed && !r.changed, "{r:?}");
    assert_eq!(r.warnings.len(), 2, "{r:?}");
    assert!(r.warnings[0].starts_with("daemon-reload failed, but target is a chroot"));
}

#[test]
fn systemd_needs_systemctl() {
    let host = Scripted::new(look(""), &[]);
    let r = go(
        &host,
        "systemd",
        json!({"name": "x", "enabled": true}),
        false,
    );
    assert_eq!(
        r.msg.as_deref(),
        Some(
            "Failed to find required executable \"systemctl\" in paths: /usr/bin:/bin:/sbin:/usr/sbin"
        )
    );
}

#[test]
fn systemd_takes_an_init_script_as_found_and_reads_its_links() {
    let host = Scripted::new(
        look("plain systemctl /usr/bin/systemctl\nsysv_exists\nlink /etc/rc2.d/S01legacy\n"),
        &[
            ("systemctl show legacy", 1, "", "Failed to connect to bus\n"),
            ("systemctl is-enabled legacy -l", 1, "", ""),
            ("systemctl is-enabled legacy", 1, "", ""),
            ("systemctl list-unit-files legacy", 0, "", ""),
        ],
    );
    let r = go(
        &host,
        "systemd",
        json!({"name": "legacy", "enabled": true}),
        false,
    );
    assert!(!r.failed && !r.changed, "{r:?}");
    assert_eq!(r.data["enabled"], true);
    let value: &Value = &r.data["status"];
    assert_eq!(value, &json!({}));
}

#[test]
fn sysvinit_with_chkconfig_enables_in_runlevels_and_reports_an_illegal_one() {
    let host = Scripted::new(
        look("bin chkconfig /sbin/chkconfig\nsysv_exists\n"),
        &[
            ("/etc/init.d/ntp status", 3, "ntp is stopped\n", ""),
            (
                "chkconfig --level 35 ntp on",
                1,
                "",
                "illegal runlevel specified\n",
            ),
        ],
    );
    let r = go(
        &host,
        "sysvinit",
        json!({"name": "ntp", "enabled": true, "runlevels": ["3", "5"]}),
        false,
    );
    assert_eq!(
        r.msg.as_deref(),
        Some("Illegal runlevel specified for enable operation on service ntp")
    );
    assert_eq!(r.data["status"]["enabled"]["rc"], 1, "{r:?}");
    assert_eq!(
        host.commands(),
        [
            "/etc/init.d/ntp status",
            "/sbin/chkconfig --level 35 ntp on"
        ]
    );
}

#[test]
fn sysvinit_falls_back_to_ps_and_warns() {
    let host = Scripted::new(
        look("sysv_exists\n"),
        &[
            ("/etc/init.d/odd status", 5, "a\nb\nc\n", ""),
            ("ps auxww", 0, "root 1 odd --daemon\n", ""),
        ],
    );
    let r = go(
        &host,
        "sysvinit",
        json!({"name": "odd", "state": "started"}),
        false,
    );
    assert!(!r.failed && !r.changed, "{r:?}");
    assert_eq!(
        r.warnings,
        ["Used ps output to match service name and determine it is up, this is very unreliable"]
    );
}
