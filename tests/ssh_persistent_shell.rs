//! The persistent shell (one long-lived login shell per connection, issue #8) against real
//! sshd: commands share one SSH session yet keep their own stdout, stderr, exit code, state
//! and stdin; timeouts and cancellations kill them; stdin and sudo passwords fall back to a
//! channel of their own; `--no-persistent-shell` turns it off.

use crate::support;

use std::time::Duration;

use clearfleet_base::secret::Secret;
use clearfleet_ssh::{Become, Connection, ExecError, ExecOptions, ExitStatus, SshSettings};
use support::Fleet;
use support::cli::{clearfleet, temp_home, write};

async fn connect_with(fleet: &Fleet, user: &str, settings: &SshSettings) -> Connection {
    Connection::connect(&fleet.target(0, user), settings)
        .await
        .expect("connect")
}

async fn run(conn: &Connection, cmd: &str) -> clearfleet_ssh::ExecOutput {
    conn.exec(cmd, &ExecOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

/// SSH sessions (channels that ran a command) the host's sshd started so far.
fn sessions(fleet: &Fleet, i: usize) -> usize {
    fleet.host(i).log().matches("Starting session").count()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_share_one_session_but_not_their_state() {
    let Some(fleet) = Fleet::start(1) else { return };
    let conn = connect_with(&fleet, "root", &fleet.settings()).await;

    let home = run(&conn, "pwd; umask").await;
    assert!(home.success());
    let out = run(
        &conn,
        "cd /tmp; export CF_LEAK=leaked; CF_VAR=set; umask 077; set -e; \
         trap 'echo trapped' EXIT; alias ls=false; f() { :; }; exit 3",
    )
    .await;
    assert_eq!(out.exit, ExitStatus::Code(3));
    assert_eq!(text(&out.stdout), "trapped\n");
    let out = run(
        &conn,
        "pwd; umask; echo \"${CF_LEAK:-unset} ${CF_VAR:-unset}\"; type f >/dev/null 2>&1 || echo no-f",
    )
    .await;
    assert_eq!(
        text(&out.stdout),
        format!("{}unset unset\nno-f\n", text(&home.stdout))
    );
    assert!(out.success());

    // The modules' shape, `/bin/sh -c '<script>'`, is exec'ed by the subshell: same result.
    let out = run(
        &conn,
        "/bin/sh -c 'cd /; export CF_LEAK=1; echo \"it'\"'\"'s\"; exit 7'",
    )
    .await;
    assert_eq!(
        (text(&out.stdout), out.exit),
        ("it's\n".into(), ExitStatus::Code(7))
    );
    let out = run(&conn, "/bin/sh -c 'pwd; echo ${CF_LEAK:-unset}'").await;
    assert_eq!(
        text(&out.stdout),
        format!(
            "{}unset\n",
            text(&home.stdout)
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned()
                + "\n"
        )
    );

    // exec, closed fds and a syntax error end with their command.
    assert_eq!(run(&conn, "exec true").await.exit, ExitStatus::Code(0));
    assert_eq!(
        run(&conn, "exec >&- 2>&- 0<&-; exit 4").await.exit,
        ExitStatus::Code(4)
    );
    let bad = run(&conn, "if then fi").await;
    assert_eq!(bad.exit, ExitStatus::Code(2));
    assert!(text(&bad.stderr).contains("syntax error"), "{bad:?}");
    let quotes = run(
        &conn,
        "echo 'it'\"'\"'s'; printf '%s\\n' \"a\\\\b\" '$HOME'",
    )
    .await;
    assert_eq!(text(&quotes.stdout), "it's\na\\b\n$HOME\n");
    // The login shell (bash for root) interprets commands, as on a channel of their own.
    assert_eq!(
        text(&run(&conn, "[[ 1 == 1 ]] && echo bash").await.stdout),
        "bash\n"
    );
    // Multi-line commands, here-documents, a command ending without a newline.
    let multi = run(&conn, "cat <<'EOF'\nline 1\n  line 2\\\nEOF\necho done").await;
    assert_eq!(text(&multi.stdout), "line 1\n  line 2\\\ndone\n");

    assert_eq!(
        sessions(&fleet, 0),
        1,
        "one shell for all commands:\n{}",
        fleet.host(0).log()
    );
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_is_byte_exact_and_stdin_is_eof() {
    let Some(fleet) = Fleet::start(1) else { return };
    let conn = connect_with(&fleet, "root", &fleet.settings()).await;

    let out = run(&conn, "printf out; printf err >&2").await;
    assert_eq!(
        (out.stdout.as_slice(), out.stderr.as_slice()),
        (&b"out"[..], &b"err"[..])
    );
    let out = run(&conn, "true").await;
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    let out = run(&conn, "printf '\\000\\001\\377\\n\\n'; printf '\\n' >&2").await;
    assert_eq!(out.stdout, b"\0\x01\xff\n\n");
    assert_eq!(out.stderr, b"\n");
    // Lookalikes of the driver's markers are output like any other.
    let out = run(
        &conn,
        "echo 0123 begin; echo 0123 end 0; echo cf-drv-x 1 >&2",
    )
    .await;
    assert_eq!(text(&out.stdout), "0123 begin\n0123 end 0\n");
    assert_eq!(text(&out.stderr), "cf-drv-x 1\n");

    // Large output on both streams at once: 5 MB and 1 MB, exact (under the limit).
    let out = conn
        .exec(
            "head -c 1000000 /dev/zero | tr '\\0' e >&2 & head -c 5000000 /dev/zero | tr '\\0' o; wait",
            &ExecOptions {
                max_output: "8MiB".parse().expect("a size"),
                ..ExecOptions::default()
            },
        )
        .await
        .expect("exec");
    assert!(out.success());
    assert_eq!(out.stdout.len(), 5_000_000);
    assert!(out.stdout.iter().all(|&b| b == b'o'));
    assert_eq!(out.stderr.len(), 1_000_000);
    assert!(out.stderr.iter().all(|&b| b == b'e'));

    // No stdin: a command reading it gets EOF at once, and cannot read the next command.
    let out = tokio::time::timeout(
        Duration::from_secs(10),
        conn.exec(
            "cat; read x; echo \"read=$?\"; head -c 10 </dev/stdin | wc -c",
            &ExecOptions::default(),
        ),
    )
    .await
    .expect("no hang on stdin")
    .expect("exec");
    assert_eq!(text(&out.stdout), "read=1\n0\n");
    assert_eq!(text(&run(&conn, "echo after").await.stdout), "after\n");
    assert_eq!(sessions(&fleet, 0), 1, "{}", fleet.host(0).log());
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_kills_the_command_and_the_next_one_runs() {
    let Some(fleet) = Fleet::start(1) else { return };
    let conn = connect_with(&fleet, "root", &fleet.settings()).await;
    assert!(run(&conn, "true").await.success());
    let marker = format!("cf-pshell-timeout-{}", std::process::id());
    let opts = ExecOptions {
        timeout: Some(Duration::from_millis(800)),
        ..Default::default()
    };
    // The marker is in sh's and in its background child's command line.
    let cmd =
        format!("sh -c 'sh -c \"sleep 300; echo {marker}-child\" & sleep 300; echo {marker}'");
    let err = conn.exec(&cmd, &opts).await.expect_err("must time out");
    assert!(matches!(err, ExecError::Timeout { .. }), "{err:?}");
    assert!(
        support::process_comes_to(&marker, false, Duration::from_secs(3)).await,
        "the timed-out command still runs"
    );
    let out = run(&conn, "echo next").await;
    assert_eq!(out.stdout, b"next\n");
    // The killed shell was replaced by a new one (plus the channel that ran the kill).
    assert_eq!(sessions(&fleet, 0), 3, "{}", fleet.host(0).log());
    assert_eq!(text(&run(&conn, "echo again").await.stdout), "again\n");
    assert_eq!(sessions(&fleet, 0), 3, "{}", fleet.host(0).log());
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_command_is_killed_and_the_shell_replaced() {
    let Some(fleet) = Fleet::start(1) else { return };
    let conn = connect_with(&fleet, "root", &fleet.settings()).await;
    let marker = format!("cf-pshell-cancel-{}", std::process::id());
    let task = {
        let conn = conn.clone();
        let cmd = format!("sh -c 'sleep 300; echo {marker}'");
        tokio::spawn(async move { conn.exec(&cmd, &ExecOptions::default()).await })
    };
    support::abort_once_running(task, &marker).await;
    clearfleet_ssh::cancelled_commands_settled(Duration::from_secs(5)).await;
    assert!(
        support::process_comes_to(&marker, false, Duration::from_secs(5)).await,
        "cancelled command still running"
    );
    let out = tokio::time::timeout(Duration::from_secs(10), run(&conn, "echo next"))
        .await
        .expect("no hang after a cancel");
    assert_eq!(out.stdout, b"next\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_kills_the_shell_reports_it_like_a_channel() {
    let Some(fleet) = Fleet::start(1) else { return };
    let conn = connect_with(&fleet, "root", &fleet.settings()).await;
    let out = run(&conn, "echo before; kill -TERM $$").await;
    assert_eq!(out.exit, ExitStatus::Signal("TERM".into()));
    assert_eq!(out.stdout, b"before\n");
    let out = run(&conn, "echo after").await;
    assert_eq!(out.stdout, b"after\n");
    assert_eq!(sessions(&fleet, 0), 2, "{}", fleet.host(0).log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_and_sudo_passwords_get_their_own_channel() {
    // The sudo half needs the test users; without them only the stdin half runs.
    let users = support::require_test_users();
    let Some(fleet) = Fleet::builder().test_users(users).build() else {
        return;
    };
    let conn = connect_with(&fleet, "root", &fleet.settings()).await;
    assert!(run(&conn, "true").await.success());
    let opts = ExecOptions {
        stdin: Some(b"payload\n".to_vec()),
        ..Default::default()
    };
    let out = conn.exec("cat; echo done", &opts).await.expect("stdin");
    assert_eq!(text(&out.stdout), "payload\ndone\n");
    assert_eq!(sessions(&fleet, 0), 2, "stdin runs on its own channel");
    assert!(run(&conn, "true").await.success());
    assert_eq!(sessions(&fleet, 0), 2, "then the shell again");
    conn.close().await;

    if !users {
        return;
    }
    let conn = connect_with(&fleet, "cf-sudo", &fleet.settings()).await;
    let before = sessions(&fleet, 0);
    assert_eq!(text(&run(&conn, "id -un").await.stdout), "cf-sudo\n");
    let become_ = Become {
        user: "root".into(),
        method: "sudo".into(),
        password: Some(Secret::new(support::CF_SUDO_PASSWORD)),
        timeout: Duration::from_secs(10),
        exe: None,
        flags: None,
    };
    let opts = ExecOptions {
        become_: Some(become_),
        ..Default::default()
    };
    let out = conn.exec("id -un; exit 6", &opts).await.expect("become");
    assert_eq!(text(&out.stdout), "root\n");
    assert_eq!(out.exit, ExitStatus::Code(6));
    assert_eq!(sessions(&fleet, 0) - before, 2, "{}", fleet.host(0).log());
    // A password-less become runs in the shell: sudo asks, gets EOF, and it fails as before.
    let opts = ExecOptions {
        become_: Some(Become::sudo(None)),
        ..Default::default()
    };
    let err = conn
        .exec("id -un", &opts)
        .await
        .expect_err("needs a password");
    assert!(
        matches!(&err, ExecError::BecomeFailed { reason } if reason.contains("password is required")),
        "{err:?}"
    );
    assert_eq!(text(&run(&conn, "echo ok").await.stdout), "ok\n");
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turned_off_every_command_gets_a_session() {
    let Some(fleet) = Fleet::start(1) else { return };
    let settings = SshSettings {
        persistent_shell: false,
        ..fleet.settings()
    };
    let conn = connect_with(&fleet, "root", &settings).await;
    for _ in 0..3 {
        assert!(run(&conn, "true").await.success());
    }
    assert_eq!(sessions(&fleet, 0), 3, "{}", fleet.host(0).log());
    conn.close().await;
}

#[test]
fn a_ten_task_play_opens_one_session_per_host() {
    let Some(fleet) = Fleet::start(2) else { return };
    let home = temp_home();
    let inv = fleet.inventory().write(home.path(), "inv.yml");
    let mut play = String::from(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: sh -c 'echo \"${CF_T:-none}\"'\n      environment:\n        CF_T: only-here\n      register: first\n",
    );
    for k in 1..=9 {
        play.push_str(&format!("    - command: echo task-{k}\n"));
    }
    play.push_str(
        "    - shell: echo \"${CF_T:-none}\"\n      register: last\n    - assert:\n        that:\n          - first.stdout == 'only-here'\n          - last.stdout == 'none'\n",
    );
    let pb = write(home.path(), "play.yml", &play);
    let go = |extra: &[&str]| {
        clearfleet(home.path())
            .arg("run")
            .args(extra)
            .fleet(&inv, fleet.known_hosts_path())
            .arg(&pb)
            .run()
    };
    let before: Vec<usize> = (0..2).map(|i| sessions(&fleet, i)).collect();
    let r = go(&[]);
    assert_eq!(r.code, 0, "{r:?}");
    for (i, b) in before.iter().enumerate() {
        assert_eq!(sessions(&fleet, i) - b, 1, "{}", fleet.host(i).log());
    }
    let before: Vec<usize> = (0..2).map(|i| sessions(&fleet, i)).collect();
    let r = go(&["--no-persistent-shell"]);
    assert_eq!(r.code, 0, "{r:?}");
    for (i, b) in before.iter().enumerate() {
        assert_eq!(sessions(&fleet, i) - b, 11, "{}", fleet.host(i).log());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_past_the_limit_keeps_head_and_tail_and_the_shell_stays_in_step() {
    use crate::ssh_exec::head_and_tail;
    let Some(fleet) = Fleet::start(1) else { return };
    let conn = connect_with(&fleet, "root", &fleet.settings()).await;
    let opts = ExecOptions {
        max_output: "64KiB".parse().expect("a size"),
        ..ExecOptions::default()
    };
    let loud = "{ printf HEAD; head -c 1000000 /dev/zero | tr '\\0' e; printf TAIL; } >&2 & \
                printf HEAD; head -c 3000000 /dev/zero | tr '\\0' o; printf TAIL; wait; exit 3";
    for _ in 0..2 {
        let out = conn.exec(loud, &opts).await.expect("exec");
        assert_eq!(out.exit, ExitStatus::Code(3));
        assert!(out.stdout == head_and_tail(3_000_000, b'o', 65536, "stdout"));
        assert!(out.stderr == head_and_tail(1_000_000, b'e', 65536, "stderr"));
        assert_eq!(out.truncation.stdout_dropped, 3_000_008 - 65536);
        assert_eq!(out.truncation.stderr_dropped, 1_000_008 - 65536);
        // The driver's end markers came after the dropped bytes and were found: the next
        // command gets its own output only.
        let next = run(&conn, "printf next; printf err >&2").await;
        assert_eq!(
            (text(&next.stdout), text(&next.stderr)),
            ("next".into(), "err".into())
        );
    }
    assert_eq!(sessions(&fleet, 0), 1, "{}", fleet.host(0).log());
    conn.close().await;
}
