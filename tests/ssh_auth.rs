//! Host keys, authentication methods, ProxyJump and become, end to end against real sshd hosts.

use crate::support;

use std::process::Command;

use support::cli::{clearfleet, temp_home, write};
use support::sshd::{Agent, Fleet, Inventory};

const KEY_VAR: &str = "ansible_ssh_private_key_file";

/// The fleet's inventory as `cf-pass`, without the key: a password login.
fn as_cf_pass(fleet: &Fleet) -> Inventory {
    fleet
        .inventory()
        .var("ansible_user", "cf-pass")
        .unset_var(KEY_VAR)
}

#[test]
fn changed_host_key_is_refused_under_strict_and_accept_new() {
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let inv = fleet.inventory().write(home.path(), "inv.yml");
    fleet.hosts()[0].regenerate_host_key_and_restart();
    let offered = fleet.hosts()[0].host_key_fingerprint();
    for policy in ["strict", "accept-new"] {
        let run = clearfleet(home.path())
            .args(["ping", "--output", "json", "--host-key-checking", policy])
            .fleet(&inv, fleet.known_hosts_path())
            .run();
        assert_eq!(run.code, 3, "{policy}: {run:?}");
        let h = run.host_json("h01");
        assert_eq!(h["status"], "unreachable", "{h}");
        let error = h["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(&offered),
            "{policy}: fingerprint missing: {error}"
        );
        let known = fleet.known_hosts_path().display().to_string();
        assert!(
            error.contains(&format!("{known}:")),
            "{policy}: file:line missing: {error}"
        );
        assert_eq!(run.host_json("h02")["status"], "ok");
    }
    let run = clearfleet(home.path())
        .args(["ping", "--host-key-checking", "off"])
        .fleet(&inv, fleet.known_hosts_path())
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("warning: host key checking is off"),
        "{}",
        run.stderr
    );
}

#[test]
fn accept_new_learns_unknown_keys_and_strict_refuses_them() {
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let inv = fleet.inventory().write(home.path(), "inv.yml");
    let known = home.path().join("fresh_known_hosts");
    let run = clearfleet(home.path())
        .args(["ping", "--host-key-checking", "strict"])
        .fleet(&inv, &known)
        .run();
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.contains("h01 | UNREACHABLE"), "{}", run.stdout);
    let run = clearfleet(home.path())
        .arg("ping")
        .fleet(&inv, &known)
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    let learnt = std::fs::read_to_string(&known).unwrap_or_default();
    for h in fleet.hosts() {
        assert!(
            learnt.contains(&format!("[127.0.0.1]:{} ", h.port())),
            "{learnt}"
        );
    }
    let run = clearfleet(home.path())
        .args(["ping", "--host-key-checking", "strict"])
        .fleet(&inv, &known)
        .run();
    assert_eq!(run.code, 0, "learnt keys are trusted under strict: {run:?}");
}

#[test]
fn password_authentication_never_shows_the_password() {
    let Some(fleet) = Fleet::with_test_users(1) else {
        return;
    };
    let home = temp_home();
    let password = "cf-pass-secret-1";
    let with_password = |password: &str, name: &str| {
        as_cf_pass(&fleet)
            .var("ansible_password", password)
            .write(home.path(), name)
    };
    let inv = with_password(password, "inv.yml");
    let run = clearfleet(home.path())
        .args(["exec", "-vv", "--report-dir", "rep"])
        .fleet(&inv, fleet.known_hosts_path())
        .args(["--", "id -un; echo cf-pass-secret-1"])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    support::secrets::assert_nowhere(&[password], &run, &[&home.path().join("rep")]);
    // Not even in the most verbose log (every library at trace level).
    let traced = clearfleet(home.path())
        .env("CLEARFLEET_LOG", "trace")
        .args(["exec", "--report-dir", "rep-trace"])
        .fleet(&inv, fleet.known_hosts_path())
        .args(["--", "id -un"])
        .run();
    assert_eq!(traced.code, 0, "{traced:?}");
    support::secrets::assert_nowhere(&[password], &traced, &[&home.path().join("rep-trace")]);
    assert!(run.stdout.contains("cf-pass\n"), "{}", run.stdout);
    assert!(
        !run.all_output().contains(password),
        "password leaked: {run:?}"
    );
    assert!(
        run.stdout.contains("********"),
        "echoed password is masked: {}",
        run.stdout
    );

    let listed = clearfleet(home.path())
        .args(["inventory", "--list", "-i"])
        .arg(&inv)
        .run();
    assert_eq!(listed.code, 0, "{listed:?}");
    assert!(!listed.stdout.contains(password), "{}", listed.stdout);
    assert!(
        listed.stdout.contains("\"ansible_password\": \"********\""),
        "{}",
        listed.stdout
    );

    let wrong = with_password("not-the-password", "wrong.yml");
    let run = clearfleet(home.path())
        .args(["ping", "--output", "json"])
        .fleet(&wrong, fleet.known_hosts_path())
        .run();
    assert_eq!(run.code, 3, "{run:?}");
    let error = run.host_json("h01")["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        error.contains("permission denied") && error.contains("password"),
        "{error}"
    );
    assert!(!run.all_output().contains("not-the-password"));
}

#[test]
fn ssh_agent_authentication() {
    let Some(fleet) = Fleet::start(1) else {
        return;
    };
    let home = temp_home();
    let agent = Agent::start(home.path());
    agent.add(fleet.client_key());
    let inv = fleet
        .inventory()
        .unset_var(KEY_VAR)
        .write(home.path(), "inv.yml");
    let with_agent = clearfleet(home.path())
        .arg("exec")
        .fleet(&inv, fleet.known_hosts_path())
        .env("SSH_AUTH_SOCK", agent.socket())
        .args(["--", "echo via-agent"])
        .run();
    let without_agent = clearfleet(home.path())
        .args(["exec", "--no-agent"])
        .fleet(&inv, fleet.known_hosts_path())
        .env("SSH_AUTH_SOCK", agent.socket())
        .args(["--", "echo via-agent"])
        .run();
    drop(agent);
    assert_eq!(with_agent.code, 0, "{with_agent:?}");
    assert!(with_agent.stdout.contains("via-agent"));
    assert_eq!(without_agent.code, 3, "no key, no agent: {without_agent:?}");
}

#[test]
fn proxyjump_from_ssh_config_reaches_a_host_through_another() {
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let (jump, target) = (&fleet.hosts()[0], &fleet.hosts()[1]);
    let config = write(
        home.path(),
        "ssh_config",
        &format!(
            "Host target\n  HostName 127.0.0.1\n  Port {}\n  User root\n  ProxyJump root@127.0.0.1:{}\n\nHost *\n  IdentityFile {}\n",
            target.port(),
            jump.port(),
            fleet.client_key().display()
        ),
    );
    let inv = write(home.path(), "inv.yml", "all:\n  hosts:\n    target:\n");
    let run = clearfleet(home.path())
        .args(["exec", "-i"])
        .arg(&inv)
        .arg("--ssh-config")
        .arg(&config)
        .arg("--known-hosts")
        .arg(fleet.known_hosts_path())
        .args(["--", "echo ${SSH_CONNECTION##* }"])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!("\n{}\n", target.port())),
        "{}",
        run.stdout
    );
    assert_eq!(jump.accepted_connections(), 1, "went through the jump host");
    assert_eq!(target.accepted_connections(), 1);
}

#[test]
fn become_runs_as_root_with_the_sudo_password() {
    let Some(fleet) = Fleet::builder().test_users(true).build() else {
        return;
    };
    let home = temp_home();
    let password = "cf-sudo-secret-2";
    let as_cf_sudo = || fleet.inventory().var("ansible_user", "cf-sudo");
    let become_with = |pw: &str, name: &str| {
        as_cf_sudo()
            .var("ansible_become", "yes")
            .var("ansible_become_password", pw)
            .write(home.path(), name)
    };
    let inv = become_with(password, "inv.yml");
    for (log, dir) in [(None, "rep"), (Some("trace"), "rep-trace")] {
        let mut cmd = clearfleet(home.path());
        if let Some(level) = log {
            cmd = cmd.env("CLEARFLEET_LOG", level);
        }
        let run = cmd
            .args(["exec", "-vv", "--report-dir", dir])
            .fleet(&inv, fleet.known_hosts_path())
            .args(["--", "id -un; cat"])
            .run();
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.contains("\nroot\n"), "{}", run.stdout);
        support::secrets::assert_nowhere(&[password], &run, &[&home.path().join(dir)]);
    }

    let wrong = become_with("wrong-sudo-pw", "wrong.yml");
    let run = clearfleet(home.path())
        .args(["exec", "--output", "json"])
        .fleet(&wrong, fleet.known_hosts_path())
        .args(["--", "id -un"])
        .run();
    assert_eq!(run.code, 2, "{run:?}");
    let v = run.host_json("h01");
    assert_eq!(v["status"], "failed");
    assert!(
        v["error"]
            .as_str()
            .unwrap_or_default()
            .contains("incorrect sudo password"),
        "{v}"
    );
    assert!(!run.all_output().contains("wrong-sudo-pw"));

    // Without become the same user stays itself.
    let plain = as_cf_sudo().write(home.path(), "plain.yml");
    let run = clearfleet(home.path())
        .arg("exec")
        .fleet(&plain, fleet.known_hosts_path())
        .args(["--", "id -un"])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("\ncf-sudo\n"), "{}", run.stdout);
}

#[test]
fn ask_pass_and_ask_become_pass_prompt_once_without_echo() {
    let Some(fleet) = Fleet::with_test_users(2) else {
        return;
    };
    let home = temp_home();
    let inv = as_cf_pass(&fleet).write(home.path(), "inv.yml");
    let (code, out) = clearfleet(home.path())
        .terminal(24, 80)
        .args(["exec", "-k"])
        .fleet(&inv, fleet.known_hosts_path())
        .args(["--", "id", "-un"])
        .run_on_terminal("cf-pass-secret-1\n");
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.matches("SSH password:").count(),
        1,
        "one prompt for all hosts: {out}"
    );
    assert_eq!(out.matches("\ncf-pass\n").count(), 2, "{out}");
    assert!(
        !out.contains("cf-pass-secret-1"),
        "typed password not echoed: {out}"
    );

    let inv = fleet
        .inventory()
        .var("ansible_user", "cf-sudo")
        .write(home.path(), "sudo.yml");
    let (code, out) = clearfleet(home.path())
        .terminal(24, 80)
        .args(["exec", "-b", "-K"])
        .fleet(&inv, fleet.known_hosts_path())
        .args(["--", "id", "-un"])
        .run_on_terminal("cf-sudo-secret-2\n");
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches("BECOME password:").count(), 1, "{out}");
    assert_eq!(out.matches("\nroot\n").count(), 2, "{out}");
    assert!(!out.contains("cf-sudo-secret-2"), "{out}");
}

#[test]
fn test_users_exist_only_inside_the_test_hosts() {
    let Some(fleet) = Fleet::with_test_users(1) else {
        return;
    };
    let home = temp_home();
    let inv = as_cf_pass(&fleet)
        .var("ansible_password", support::sshd::CF_PASS_PASSWORD)
        .write(home.path(), "inv.yml");
    // Inside the host: the user logs in with its password, has its home under the fleet's
    // directory, and the sudo rules are there.
    let run = clearfleet(home.path())
        .arg("exec")
        .fleet(&inv, fleet.known_hosts_path())
        .args([
            "--",
            "id -un; pwd; getent passwd cf-sudo >/dev/null && echo has-cf-sudo; ls /etc/sudoers.d",
        ])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("\ncf-pass\n"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains(&format!("{}/users/home/cf-pass\n", fleet.dir().display())),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("has-cf-sudo\n"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains(&format!("{}\n", support::sshd::TEST_SUDOERS)),
        "{}",
        run.stdout
    );
    // On the machine itself, while the fleet runs: no such users, groups, passwords or rules.
    for user in support::sshd::TEST_USERS {
        let getent = Command::new("getent")
            .args(["passwd", user.name])
            .output()
            .unwrap_or_else(|e| panic!("getent: {e}"));
        assert!(
            !getent.status.success() && getent.stdout.is_empty(),
            "{} exists on this machine: {} (old versions of scripts/setup-test-env.sh added it; run the current one to remove it)",
            user.name,
            String::from_utf8_lossy(&getent.stdout)
        );
        for file in ["/etc/passwd", "/etc/shadow", "/etc/group"] {
            let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(
                !text.contains(user.name),
                "{} in the machine's {file}",
                user.name
            );
        }
    }
    let rules: Vec<String> = std::fs::read_dir("/etc/sudoers.d")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        !rules.iter().any(|f| f.contains("clearfleet")),
        "the machine's /etc/sudoers.d: {rules:?}"
    );
    for f in &rules {
        let text = std::fs::read_to_string(format!("/etc/sudoers.d/{f}")).unwrap_or_default();
        assert!(!text.contains("cf-"), "/etc/sudoers.d/{f}: {text}");
    }
}
