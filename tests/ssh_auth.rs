//! Host keys, authentication methods, ProxyJump and become, end to end against real sshd hosts.

use crate::support;

use std::process::{Command, Stdio};

use support::cli::{clearfleet, temp_home, write};
use support::sshd::Fleet;

fn host_line(name: &str, port: u16, user: &str, vars: &[String]) -> String {
    let mut s = format!(
        "    {name}:\n      ansible_host: 127.0.0.1\n      ansible_port: {port}\n      ansible_user: {user}\n"
    );
    for v in vars {
        s.push_str(&format!("      {v}\n"));
    }
    s
}

fn key_var(fleet: &Fleet) -> String {
    format!(
        "ansible_ssh_private_key_file: {}",
        fleet.client_key().display()
    )
}

#[test]
fn changed_host_key_is_refused_under_strict_and_accept_new() {
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let mut inv = String::from("all:\n  hosts:\n");
    for h in fleet.hosts() {
        inv.push_str(&host_line(h.name(), h.port(), "root", &[key_var(&fleet)]));
    }
    let inv = write(home.path(), "inv.yml", &inv);
    fleet.hosts()[0].regenerate_host_key_and_restart();
    let offered = fleet.hosts()[0].host_key_fingerprint();
    for policy in ["strict", "accept-new"] {
        let run = clearfleet(home.path())
            .args([
                "ping",
                "--output",
                "json",
                "--host-key-checking",
                policy,
                "-i",
            ])
            .arg(&inv)
            .arg("--known-hosts")
            .arg(fleet.known_hosts_path())
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
        .args(["ping", "--host-key-checking", "off", "-i"])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(fleet.known_hosts_path())
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
    let mut inv = String::from("all:\n  hosts:\n");
    for h in fleet.hosts() {
        inv.push_str(&host_line(h.name(), h.port(), "root", &[key_var(&fleet)]));
    }
    let inv = write(home.path(), "inv.yml", &inv);
    let known = home.path().join("fresh_known_hosts");
    let run = clearfleet(home.path())
        .args(["ping", "--host-key-checking", "strict", "-i"])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(&known)
        .run();
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.contains("h01 | UNREACHABLE"), "{}", run.stdout);
    let run = clearfleet(home.path())
        .args(["ping", "-i"])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(&known)
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
        .args(["ping", "--host-key-checking", "strict", "-i"])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(&known)
        .run();
    assert_eq!(run.code, 0, "learnt keys are trusted under strict: {run:?}");
}

#[test]
fn password_authentication_never_shows_the_password() {
    if !support::sshd::require_test_users() {
        return;
    }
    let Some(fleet) = Fleet::builder()
        .hosts(1)
        .password_auth(true)
        .test_users(true)
        .build()
    else {
        return;
    };
    let home = temp_home();
    let h = &fleet.hosts()[0];
    let password = "cf-pass-secret-1";
    let inv = String::from("all:\n  hosts:\n")
        + &host_line(
            h.name(),
            h.port(),
            "cf-pass",
            &[format!("ansible_password: {password}")],
        );
    let inv = write(home.path(), "inv.yml", &inv);
    let run = clearfleet(home.path())
        .args(["exec", "-vv", "--report-dir", "rep", "-i"])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(fleet.known_hosts_path())
        .args(["--", "id -un; echo cf-pass-secret-1"])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    support::secrets::assert_nowhere(&[password], &run, &[&home.path().join("rep")]);
    // Not even in the most verbose log (every library at trace level).
    let traced = clearfleet(home.path())
        .env("CLEARFLEET_LOG", "trace")
        .args(["exec", "--report-dir", "rep-trace", "-i"])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(fleet.known_hosts_path())
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

    let wrong = String::from("all:\n  hosts:\n")
        + &host_line(
            h.name(),
            h.port(),
            "cf-pass",
            &["ansible_password: not-the-password".into()],
        );
    let wrong = write(home.path(), "wrong.yml", &wrong);
    let run = clearfleet(home.path())
        .args(["ping", "--output", "json", "-i"])
        .arg(&wrong)
        .arg("--known-hosts")
        .arg(fleet.known_hosts_path())
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
    let sock = home.path().join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .args(["-D", "-a"])
        .arg(&sock)
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("ssh-agent: {e}"));
    for _ in 0..50 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let added = Command::new("ssh-add")
        .arg(fleet.client_key())
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .unwrap_or_else(|e| panic!("ssh-add: {e}"));
    assert!(added.status.success(), "{added:?}");
    let h = &fleet.hosts()[0];
    let inv = String::from("all:\n  hosts:\n") + &host_line(h.name(), h.port(), "root", &[]);
    let inv = write(home.path(), "inv.yml", &inv);
    let with_agent = clearfleet(home.path())
        .args(["exec", "-i"])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(fleet.known_hosts_path())
        .env("SSH_AUTH_SOCK", &sock)
        .args(["--", "echo via-agent"])
        .run();
    let without_agent = clearfleet(home.path())
        .args(["exec", "--no-agent", "-i"])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(fleet.known_hosts_path())
        .env("SSH_AUTH_SOCK", &sock)
        .args(["--", "echo via-agent"])
        .run();
    let _ = agent.kill();
    let _ = agent.wait();
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
    if !support::sshd::require_test_users() {
        return;
    }
    let Some(fleet) = Fleet::builder().test_users(true).build() else {
        return;
    };
    let home = temp_home();
    let h = &fleet.hosts()[0];
    let password = "cf-sudo-secret-2";
    let vars = |pw: &str| {
        vec![
            key_var(&fleet),
            "ansible_become: yes".to_owned(),
            format!("ansible_become_password: {pw}"),
        ]
    };
    let inv = String::from("all:\n  hosts:\n")
        + &host_line(h.name(), h.port(), "cf-sudo", &vars(password));
    let inv = write(home.path(), "inv.yml", &inv);
    for (log, dir) in [(None, "rep"), (Some("trace"), "rep-trace")] {
        let mut cmd = clearfleet(home.path());
        if let Some(level) = log {
            cmd = cmd.env("CLEARFLEET_LOG", level);
        }
        let run = cmd
            .args(["exec", "-vv", "--report-dir", dir, "-i"])
            .arg(&inv)
            .arg("--known-hosts")
            .arg(fleet.known_hosts_path())
            .args(["--", "id -un; cat"])
            .run();
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.contains("\nroot\n"), "{}", run.stdout);
        support::secrets::assert_nowhere(&[password], &run, &[&home.path().join(dir)]);
    }

    let wrong = String::from("all:\n  hosts:\n")
        + &host_line(h.name(), h.port(), "cf-sudo", &vars("wrong-sudo-pw"));
    let wrong = write(home.path(), "wrong.yml", &wrong);
    let run = clearfleet(home.path())
        .args(["exec", "--output", "json", "-i"])
        .arg(&wrong)
        .arg("--known-hosts")
        .arg(fleet.known_hosts_path())
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
    let plain = String::from("all:\n  hosts:\n")
        + &host_line(h.name(), h.port(), "cf-sudo", &[key_var(&fleet)]);
    let plain = write(home.path(), "plain.yml", &plain);
    let run = clearfleet(home.path())
        .args(["exec", "-i"])
        .arg(&plain)
        .arg("--known-hosts")
        .arg(fleet.known_hosts_path())
        .args(["--", "id -un"])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("\ncf-sudo\n"), "{}", run.stdout);
}

/// Runs clearfleet under a pseudo-terminal (util-linux `script`) typing `input` at its prompts.
fn run_with_tty(home: &std::path::Path, args: &str, input: &str) -> (i32, String) {
    let bin = env!("CARGO_BIN_EXE_clearfleet");
    let mut child = Command::new("script")
        .args(["-qec", &format!("{bin} {args}"), "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("script: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        // Give the prompt time to appear, as a person would.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let _ = stdin.write_all(input.as_bytes());
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The pseudo-terminal turns every newline into CRLF.
    (out.status.code().unwrap_or(-1), text.replace("\r\n", "\n"))
}

#[test]
fn ask_pass_and_ask_become_pass_prompt_once_without_echo() {
    if !support::sshd::require_test_users() {
        return;
    }
    let Some(fleet) = Fleet::builder()
        .hosts(2)
        .password_auth(true)
        .test_users(true)
        .build()
    else {
        return;
    };
    let home = temp_home();
    let mut inv = String::from("all:\n  hosts:\n");
    for h in fleet.hosts() {
        inv.push_str(&host_line(h.name(), h.port(), "cf-pass", &[]));
    }
    let inv = write(home.path(), "inv.yml", &inv);
    let known = fleet.known_hosts_path().display().to_string();
    let (code, out) = run_with_tty(
        home.path(),
        &format!(
            "exec -k -i {} --known-hosts {known} -- id -un",
            inv.display()
        ),
        "cf-pass-secret-1\n",
    );
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

    let mut inv = String::from("all:\n  hosts:\n");
    for h in fleet.hosts() {
        inv.push_str(&host_line(
            h.name(),
            h.port(),
            "cf-sudo",
            &[key_var(&fleet)],
        ));
    }
    let inv = write(home.path(), "sudo.yml", &inv);
    let (code, out) = run_with_tty(
        home.path(),
        &format!(
            "exec -b -K -i {} --known-hosts {known} -- id -un",
            inv.display()
        ),
        "cf-sudo-secret-2\n",
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches("BECOME password:").count(), 1, "{out}");
    assert_eq!(out.matches("\nroot\n").count(), 2, "{out}");
    assert!(!out.contains("cf-sudo-secret-2"), "{out}");
}

#[test]
fn test_users_exist_only_inside_the_test_hosts() {
    if !support::sshd::require_test_users() {
        return;
    }
    let Some(fleet) = Fleet::builder()
        .hosts(1)
        .password_auth(true)
        .test_users(true)
        .build()
    else {
        return;
    };
    let home = temp_home();
    let h = &fleet.hosts()[0];
    let inv = String::from("all:\n  hosts:\n")
        + &host_line(
            h.name(),
            h.port(),
            "cf-pass",
            &[format!(
                "ansible_password: {}",
                support::sshd::CF_PASS_PASSWORD
            )],
        );
    let inv = write(home.path(), "inv.yml", &inv);
    // Inside the host: the user logs in with its password, has its home under the fleet's
    // directory, and the sudo rules are there.
    let run = clearfleet(home.path())
        .args(["exec", "-i"])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(fleet.known_hosts_path())
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
