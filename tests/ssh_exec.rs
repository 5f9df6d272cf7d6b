//! Running commands over one connection against real sshd: output capture, concurrency above
//! MaxSessions, large outputs, timeouts and lost connections.

use crate::support;

use std::time::{Duration, Instant};

use clearfleet_base::capture::MaxOutput;
use clearfleet_ssh::{Connection, ExecError, ExecOptions, ExitStatus};
use support::Fleet;

async fn connect(fleet: &Fleet, i: usize) -> Connection {
    Connection::connect(&fleet.target(i, "root"), &fleet.settings())
        .await
        .expect("connect")
}

fn limit(size: &str) -> MaxOutput {
    size.parse().unwrap_or_else(|e| panic!("{size}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdout_stderr_exit_and_stdin_are_captured_apart() {
    let Some(fleet) = Fleet::start(1) else { return };
    let conn = connect(&fleet, 0).await;
    let out = conn
        .exec(
            "printf out; printf err >&2; exit 3",
            &ExecOptions::default(),
        )
        .await
        .expect("exec");
    assert_eq!(out.stdout, b"out");
    assert_eq!(out.stderr, b"err");
    assert_eq!(out.exit, ExitStatus::Code(3));

    let opts = ExecOptions {
        stdin: Some(b"line one\nline two\n".to_vec()),
        ..Default::default()
    };
    let out = conn.exec("cat; echo done", &opts).await.expect("exec cat");
    assert_eq!(out.stdout, b"line one\nline two\ndone\n");
    assert!(out.success());

    // With a timeout the shell's pid line is taken out of stderr.
    let opts = ExecOptions {
        timeout: Some(Duration::from_secs(20)),
        ..Default::default()
    };
    let out = conn
        .exec("printf out; printf 'err\\n' >&2; exit 4", &opts)
        .await
        .expect("exec with timeout");
    assert_eq!(out.stdout, b"out");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.exit, ExitStatus::Code(4));

    // No stdin given: EOF is sent, so a command reading stdin does not hang.
    let out = conn
        .exec("cat; echo eof", &ExecOptions::default())
        .await
        .expect("exec");
    assert_eq!(out.stdout, b"eof\n");

    let out = conn
        .exec("kill -TERM $$", &ExecOptions::default())
        .await
        .expect("exec");
    assert_eq!(out.exit, ExitStatus::Signal("TERM".into()));

    // Sequential exec cost on loopback.
    let start = Instant::now();
    for _ in 0..20 {
        let out = conn
            .exec("true", &ExecOptions::default())
            .await
            .expect("true");
        assert!(out.success());
    }
    eprintln!(
        "measured: {:.1} ms per sequential exec",
        start.elapsed().as_secs_f64() * 1000.0 / 20.0
    );
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_execs_share_one_connection() {
    // MaxSessions 10 (the default, explicit here): 20 at once must still all succeed.
    let Some(fleet) = Fleet::builder().hosts(1).max_sessions(10).build() else {
        return;
    };
    let conn = connect(&fleet, 0).await;
    let start = Instant::now();
    let runs = (0..20).map(|i| {
        let conn = conn.clone();
        async move {
            conn.exec(&format!("sleep 0.2; echo {i}"), &ExecOptions::default())
                .await
        }
    });
    let results = futures::future::join_all(runs).await;
    let elapsed = start.elapsed();
    for (i, r) in results.into_iter().enumerate() {
        let out = r.unwrap_or_else(|e| panic!("exec {i} failed: {e}"));
        assert_eq!(out.stdout, format!("{i}\n").into_bytes());
        assert_eq!(out.exit, ExitStatus::Code(0));
    }
    eprintln!("measured: 20 concurrent execs (sleep 0.2) in {elapsed:?}");
    assert_eq!(
        fleet.host(0).accepted_connections(),
        1,
        "{}",
        fleet.host(0).log()
    );
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_output_does_not_stall_a_parallel_exec() {
    let Some(fleet) = Fleet::start(1) else { return };
    let conn = connect(&fleet, 0).await;
    let big_conn = conn.clone();
    let big = tokio::spawn(async move {
        let start = Instant::now();
        let opts = ExecOptions {
            max_output: limit("32MiB"),
            ..ExecOptions::default()
        };
        let r = big_conn.exec("head -c 20000000 /dev/zero", &opts).await;
        (r, start.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    let quick = conn
        .exec("echo quick", &ExecOptions::default())
        .await
        .expect("quick exec");
    let quick_time = start.elapsed();
    assert_eq!(quick.stdout, b"quick\n");
    let (big, big_time) = big.await.expect("join");
    let big = big.expect("big exec");
    assert_eq!(big.stdout.len(), 20_000_000);
    assert!(big.stdout.iter().all(|&b| b == 0));
    assert_eq!(big.exit, ExitStatus::Code(0));
    eprintln!("measured: 20 MB output in {big_time:?}; parallel small exec in {quick_time:?}");
    assert!(quick_time < Duration::from_secs(5), "{quick_time:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_kills_the_remote_command() {
    let Some(fleet) = Fleet::start(1) else { return };
    let conn = connect(&fleet, 0).await;
    let marker = format!("cf-timeout-marker-{}", std::process::id());
    let opts = ExecOptions {
        timeout: Some(Duration::from_millis(800)),
        ..Default::default()
    };
    let start = Instant::now();
    let err = conn
        .exec(&format!("sleep 300; echo {marker}"), &opts)
        .await
        .expect_err("must time out");
    assert!(matches!(err, ExecError::Timeout { .. }), "{err:?}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(
        support::process_comes_to(&marker, false, Duration::from_secs(3)).await,
        "remote command still running after timeout; log:\n{}",
        fleet.host(0).log()
    );
    // The connection is still usable.
    let out = conn
        .exec("echo still-here", &ExecOptions::default())
        .await
        .expect("exec after timeout");
    assert_eq!(out.stdout, b"still-here\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_host_mid_command_is_connection_lost() {
    let Some(fleet) = Fleet::start(1) else { return };
    let conn = connect(&fleet, 0).await;
    let running = {
        let conn = conn.clone();
        tokio::spawn(async move {
            conn.exec("sleep 30; echo never", &ExecOptions::default())
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start = Instant::now();
    fleet.host(0).kill();
    let result = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("exec must end soon after the host dies")
        .expect("join");
    let err = result.expect_err("no exit status may be invented");
    assert!(matches!(err, ExecError::ConnectionLost { .. }), "{err:?}");
    eprintln!("measured: connection loss noticed in {:?}", start.elapsed());
    // Later commands fail the same way, quickly.
    let err = conn
        .exec("true", &ExecOptions::default())
        .await
        .expect_err("connection is gone");
    assert!(matches!(err, ExecError::ConnectionLost { .. }), "{err:?}");
    assert!(conn.is_closed());
}

/// Commands on a channel of their own cancelled at increasing delays after the call (before
/// the channel opens, between the exec request and the login shell's pid line, while they
/// run) leave nothing running on the host. The narrowest window (the pid line printed but not
/// read yet when the command is dropped, where the kill now reads it from the channel first)
/// cannot be hit on purpose from here; this checks every moment around it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_cancelled_at_any_moment_leave_nothing_running() {
    let Some(fleet) = Fleet::start(1) else { return };
    let conn = Connection::connect(&fleet.target(0, "root"), &fleet.settings())
        .await
        .expect("connect");
    let mut started = 0;
    for (i, delay_ms) in [2u64, 5, 10, 20, 30, 50, 80, 120].into_iter().enumerate() {
        let marker = format!("cf-early-cancel-{}-{i}", std::process::id());
        // stdin keeps it on a channel of its own (the persistent shell takes no stdin).
        let opts = ExecOptions {
            stdin: Some(b"x".to_vec()),
            ..Default::default()
        };
        let evidence = std::env::temp_dir().join(&marker);
        let cmd = format!("touch {}; sleep 300; echo {marker}", evidence.display());
        let _ = tokio::time::timeout(Duration::from_millis(delay_ms), conn.exec(&cmd, &opts)).await;
        clearfleet_ssh::cancelled_commands_settled(Duration::from_secs(10)).await;
        if std::fs::remove_file(&evidence).is_ok() {
            started += 1;
        }
        assert!(
            support::process_comes_to(&marker, false, Duration::from_secs(5)).await,
            "cancelled after {delay_ms} ms and still running"
        );
    }
    eprintln!("{started} of 8 commands had started when they were cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_exec_kills_the_command_and_frees_its_channel() {
    let Some(fleet) = Fleet::start(1) else { return };
    let settings = clearfleet_ssh::SshSettings {
        max_channels: 1,
        ..fleet.settings()
    };
    let conn = Connection::connect(&fleet.target(0, "root"), &settings)
        .await
        .expect("connect");
    let marker = format!("cf-cancel-marker-{}", std::process::id());
    let task = {
        let conn = conn.clone();
        let cmd = format!("sleep 300; echo {marker}");
        tokio::spawn(async move {
            let opts = ExecOptions {
                timeout: Some(Duration::from_secs(600)),
                ..Default::default()
            };
            conn.exec(&cmd, &opts).await
        })
    };
    support::abort_once_running(task, &marker).await;
    assert!(
        support::process_comes_to(&marker, false, Duration::from_secs(5)).await,
        "cancelled command still running"
    );
    // The only channel slot is free again.
    let out = tokio::time::timeout(
        Duration::from_secs(10),
        conn.exec("echo next", &ExecOptions::default()),
    )
    .await
    .expect("slot freed")
    .expect("exec");
    assert_eq!(out.stdout, b"next\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_max_sessions_below_max_channels_is_absorbed() {
    // A hardened sshd (MaxSessions 2) refuses channels beyond 2; with max_channels 8 the
    // refused opens are retried until a session frees up.
    let Some(fleet) = Fleet::builder().hosts(1).max_sessions(2).build() else {
        return;
    };
    let conn = connect(&fleet, 0).await;
    let runs = (0..6).map(|i| {
        let conn = conn.clone();
        async move {
            conn.exec(&format!("sleep 0.3; echo {i}"), &ExecOptions::default())
                .await
        }
    });
    for (i, r) in futures::future::join_all(runs)
        .await
        .into_iter()
        .enumerate()
    {
        let out = r.unwrap_or_else(|e| panic!("exec {i}: {e}"));
        assert_eq!(out.stdout, format!("{i}\n").into_bytes());
    }
}

/// A command printing `HEAD`, `n` bytes of `fill` and `TAIL` on stdout, and the same with
/// `m` bytes of `e` on stderr, at once; it exits 3.
fn loud(n: u64, m: u64) -> String {
    format!(
        "{{ printf HEAD; head -c {m} /dev/zero | tr '\\0' e; printf TAIL; }} >&2 & \
         printf HEAD; head -c {n} /dev/zero | tr '\\0' o; printf TAIL; wait; exit 3"
    )
}

/// What `HEAD` + `n` × `fill` + `TAIL` becomes under `limit` on `stream`.
pub fn head_and_tail(n: u64, fill: u8, limit: u64, stream: &str) -> Vec<u8> {
    let total = n + 8;
    let byte = |i: u64| match i {
        0..4 => b"HEAD"[i as usize],
        i if i >= total - 4 => b"TAIL"[(i - (total - 4)) as usize],
        _ => fill,
    };
    if total <= limit {
        return (0..total).map(byte).collect();
    }
    let head = limit / 2;
    let mut out: Vec<u8> = (0..head).map(byte).collect();
    out.push(b'\n');
    out.extend_from_slice(
        format!(
            "[... clearfleet dropped {} bytes of {stream} ...]\n",
            total - limit
        )
        .as_bytes(),
    );
    out.extend((total - (limit - head)..total).map(byte));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_past_the_limit_keeps_its_head_and_tail_on_a_channel() {
    let Some(fleet) = Fleet::start(1) else { return };
    let settings = clearfleet_ssh::SshSettings {
        persistent_shell: false,
        ..fleet.settings()
    };
    let conn = Connection::connect(&fleet.target(0, "root"), &settings)
        .await
        .expect("connect");
    let opts = ExecOptions {
        max_output: limit("64KiB"),
        ..ExecOptions::default()
    };
    let out = conn
        .exec(&loud(3_000_000, 1_000_000), &opts)
        .await
        .expect("exec");
    assert_eq!(out.exit, ExitStatus::Code(3));
    assert!(
        out.stdout == head_and_tail(3_000_000, b'o', 65536, "stdout"),
        "{}",
        String::from_utf8_lossy(&out.stdout[..200])
    );
    assert!(out.stderr == head_and_tail(1_000_000, b'e', 65536, "stderr"));
    assert_eq!(out.truncation.stdout_dropped, 3_000_008 - 65536);
    assert_eq!(out.truncation.stderr_dropped, 1_000_008 - 65536);
    assert_eq!(out.truncation.limit, limit("64KiB"));

    // Nothing set: 4 MiB per stream.
    let out = conn
        .exec(&loud(5_000_000, 10), &ExecOptions::default())
        .await
        .expect("exec");
    assert_eq!(out.truncation.stdout_dropped, 5_000_008 - 4 * 1024 * 1024);
    assert!(out.stdout == head_and_tail(5_000_000, b'o', 4 * 1024 * 1024, "stdout"));
    assert_eq!(out.stderr, b"HEADeeeeeeeeeeTAIL");
    assert_eq!(out.truncation.stderr_dropped, 0);

    // The channels were read to their end: the connection goes on.
    let after = conn
        .exec("echo after", &ExecOptions::default())
        .await
        .expect("exec after");
    assert_eq!(after.stdout, b"after\n");
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_to_writes_all_of_stdout_whatever_the_limit() {
    let Some(fleet) = Fleet::start(1) else { return };
    for persistent_shell in [true, false] {
        let settings = clearfleet_ssh::SshSettings {
            persistent_shell,
            ..fleet.settings()
        };
        let conn = Connection::connect(&fleet.target(0, "root"), &settings)
            .await
            .expect("connect");
        let opts = ExecOptions {
            max_output: limit("1KiB"),
            ..ExecOptions::default()
        };
        let mut file = Vec::new();
        let out = conn
            .exec_to(&loud(3_000_000, 2000), &opts, &mut file)
            .await
            .expect("exec_to");
        assert!(
            file == head_and_tail(3_000_000, b'o', u64::MAX, "stdout"),
            "shell {persistent_shell}: {} bytes",
            file.len()
        );
        assert!(out.stdout.is_empty());
        assert_eq!(out.truncation.stdout_dropped, 0);
        // stderr keeps to the limit.
        assert!(out.stderr == head_and_tail(2000, b'e', 1024, "stderr"));
        assert_eq!(out.exit, ExitStatus::Code(3));
        conn.close().await;
    }
}
