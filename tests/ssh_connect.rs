//! Connecting against real sshd: unreachable hosts, timeouts, known_hosts policies, every
//! authentication method, and ProxyJump.

use crate::support;

use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clearfleet_base::secret::Secret;
use clearfleet_ssh::{
    ConnectError, Connection, Defaults, ExecOptions, HostKeyChecking, HostParams, SshConfig,
    SshSettings, Target,
};
use support::{Agent, Fleet};

async fn whoami(conn: &Connection) -> String {
    let out = conn
        .exec("whoami", &ExecOptions::default())
        .await
        .expect("exec whoami");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn local_target(port: u16) -> Target {
    Target {
        name: "nowhere".into(),
        address: "127.0.0.1".into(),
        port,
        user: "root".into(),
        identity_files: vec![],
        password: None,
        connect_timeout: None,
        jump: None,
        known_hosts: None,
        host_key_checking: None,
    }
}

fn plain_settings() -> SshSettings {
    SshSettings {
        use_agent: false,
        default_identity_files: vec![],
        known_hosts: PathBuf::from("/nonexistent/known_hosts"),
        ..SshSettings::default()
    }
}

#[tokio::test]
async fn closed_port_is_refused_after_retries_quickly() {
    let port = support::free_port();
    let start = Instant::now();
    let err = Connection::connect(&local_target(port), &plain_settings())
        .await
        .expect_err("nothing listens");
    let elapsed = start.elapsed();
    assert!(
        matches!(err, ConnectError::Refused { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    // 2 retries: ~200 ms + ~400 ms backoff (+ jitter), no more.
    assert!(
        elapsed >= Duration::from_millis(550) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    eprintln!("measured: refused after 3 attempts in {elapsed:?}");
}

#[tokio::test]
async fn silent_listener_hits_the_connect_timeout_without_retries() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // Accept and hold connections, never sending a banner.
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        if let Ok((s, _)) = listener.accept() {
            held.push(s);
        }
        std::thread::sleep(Duration::from_secs(3));
    });
    let settings = SshSettings {
        connect_timeout: Duration::from_millis(700),
        ..plain_settings()
    };
    let start = Instant::now();
    let err = Connection::connect(&local_target(port), &settings)
        .await
        .expect_err("no ssh there");
    let elapsed = start.elapsed();
    assert!(matches!(err, ConnectError::Timeout { .. }), "{err:?}");
    assert!(
        elapsed >= Duration::from_millis(650) && elapsed < Duration::from_millis(1500),
        "{elapsed:?}"
    );
    assert!(err.to_string().starts_with("timed out after 0.7s"), "{err}");
    let _ = holder.join();
}

#[tokio::test]
async fn closed_before_banner_is_retried() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for s in listener.incoming().take(3) {
            count.fetch_add(1, Ordering::SeqCst);
            drop(s); // like sshd's MaxStartups drop
        }
    });
    let err = Connection::connect(&local_target(port), &plain_settings())
        .await
        .expect_err("closed");
    assert!(
        matches!(err, ConnectError::ClosedBeforeHandshake { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn strict_checking_refuses_an_unknown_host_with_its_fingerprint() {
    let Some(fleet) = Fleet::builder().empty_known_hosts(true).build() else {
        return;
    };
    let err = Connection::connect(&fleet.target(0, "root"), &fleet.settings())
        .await
        .expect_err("unknown host");
    let fp = fleet.host(0).host_key_fingerprint();
    match &err {
        ConnectError::HostKeyUnknown { fingerprint, .. } => assert_eq!(fingerprint, &fp),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains(&fp), "{err}");
    assert_eq!(
        fs::read_to_string(fleet.known_hosts_path()).expect("read"),
        ""
    );
    assert_eq!(fleet.host(0).accepted_connections(), 0);
}

#[tokio::test]
async fn accept_new_learns_the_key_then_strict_passes() {
    let Some(fleet) = Fleet::builder().hosts(2).empty_known_hosts(true).build() else {
        return;
    };
    let learn = SshSettings {
        host_key_checking: HostKeyChecking::AcceptNew,
        ..fleet.settings()
    };
    // Two hosts learned concurrently.
    let (t0, t1) = (fleet.target(0, "root"), fleet.target(1, "root"));
    let (a, b) = tokio::join!(
        Connection::connect(&t0, &learn),
        Connection::connect(&t1, &learn)
    );
    a.expect("learn host 0").close().await;
    b.expect("learn host 1").close().await;
    let text = fs::read_to_string(fleet.known_hosts_path()).expect("read");
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort();
    let mut want = vec![
        format!(
            "[127.0.0.1]:{} {}",
            fleet.host(0).port(),
            fleet.host(0).public_key_line()
        ),
        format!(
            "[127.0.0.1]:{} {}",
            fleet.host(1).port(),
            fleet.host(1).public_key_line()
        ),
    ];
    want.sort();
    assert_eq!(lines, want);
    // OpenSSH itself agrees with what was written.
    let out = Command::new("ssh-keygen")
        .arg("-F")
        .arg(format!("[127.0.0.1]:{}", fleet.host(0).port()))
        .arg("-f")
        .arg(fleet.known_hosts_path())
        .output()
        .expect("ssh-keygen -F");
    assert!(out.status.success());

    let conn = Connection::connect(&fleet.target(0, "root"), &fleet.settings())
        .await
        .expect("strict after learning");
    assert_eq!(whoami(&conn).await, "root");
    assert_eq!(
        fs::read_to_string(fleet.known_hosts_path()).expect("read"),
        text
    );
}

#[tokio::test]
async fn changed_host_key_fails_under_strict_and_accept_new_but_off_passes() {
    let Some(fleet) = Fleet::start(1) else { return };
    let before = fs::read_to_string(fleet.known_hosts_path()).expect("read");
    fleet.host(0).regenerate_host_key_and_restart();
    let new_fp = fleet.host(0).host_key_fingerprint();
    let location = format!("{}:1", fleet.known_hosts_path().display());
    for policy in [HostKeyChecking::Strict, HostKeyChecking::AcceptNew] {
        let settings = SshSettings {
            host_key_checking: policy,
            ..fleet.settings()
        };
        let err = Connection::connect(&fleet.target(0, "root"), &settings)
            .await
            .expect_err("changed key");
        match &err {
            ConnectError::HostKeyChanged {
                fingerprint, line, ..
            } => {
                assert_eq!(fingerprint, &new_fp);
                assert_eq!(*line, 1);
            }
            other => panic!("{policy:?}: {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains(&new_fp) && msg.contains(&location), "{msg}");
    }
    assert_eq!(
        fs::read_to_string(fleet.known_hosts_path()).expect("read"),
        before
    );
    let off = SshSettings {
        host_key_checking: HostKeyChecking::Off,
        ..fleet.settings()
    };
    let conn = Connection::connect(&fleet.target(0, "root"), &off)
        .await
        .expect("off accepts");
    assert_eq!(whoami(&conn).await, "root");
    assert_eq!(
        fs::read_to_string(fleet.known_hosts_path()).expect("read"),
        before
    );
}

#[tokio::test]
async fn tab_separated_and_hashed_entries_match() {
    let Some(fleet) = Fleet::start(2) else { return };
    let h0 = fleet.host(0);
    let h1 = fleet.host(1);
    let tabbed = format!(
        "# managed by hand\n[127.0.0.1]:{}\t{}\n",
        h0.port(),
        h0.public_key_line().replace(' ', "\t")
    );
    let hashed_file = fleet.dir().join("hashed_hosts");
    fs::write(
        &hashed_file,
        format!("[127.0.0.1]:{} {}\n", h1.port(), h1.public_key_line()),
    )
    .expect("write");
    // Let OpenSSH hash it (HMAC-SHA1 |1|salt|hash), so we match OpenSSH's own output.
    let st = Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&hashed_file)
        .output()
        .expect("ssh-keygen -H");
    assert!(st.status.success());
    let hashed = fs::read_to_string(&hashed_file).expect("read");
    assert!(hashed.starts_with("|1|"), "{hashed}");
    let text = format!("{tabbed}{hashed}");
    fs::write(fleet.known_hosts_path(), &text).expect("write");
    for i in 0..2 {
        let conn = Connection::connect(&fleet.target(i, "root"), &fleet.settings())
            .await
            .unwrap_or_else(|e| panic!("host {i}: {e}"));
        assert_eq!(whoami(&conn).await, "root");
    }
    // AcceptNew must not add duplicates for them either.
    let accept = SshSettings {
        host_key_checking: HostKeyChecking::AcceptNew,
        ..fleet.settings()
    };
    Connection::connect(&fleet.target(0, "root"), &accept)
        .await
        .expect("tabbed under accept-new");
    assert_eq!(
        fs::read_to_string(fleet.known_hosts_path()).expect("read"),
        text
    );
}

#[tokio::test]
async fn password_auth() {
    let Some(fleet) = Fleet::with_test_users(1) else {
        return;
    };
    let target = fleet.password_target(0, "cf-pass", support::CF_PASS_PASSWORD);
    let conn = Connection::connect(&target, &fleet.settings())
        .await
        .expect("password login");
    assert_eq!(whoami(&conn).await, "cf-pass");

    let wrong = "wrong-password-xyz";
    let err = Connection::connect(
        &fleet.password_target(0, "cf-pass", wrong),
        &fleet.settings(),
    )
    .await
    .expect_err("wrong password");
    match &err {
        ConnectError::AuthFailed { user, tried, .. } => {
            assert_eq!(user, "cf-pass");
            assert_eq!(tried, &vec!["password".to_string()]);
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains(wrong));
}

#[tokio::test]
async fn agent_auth_without_identity_files() {
    let Some(fleet) = Fleet::start(1) else { return };
    let agent = Agent::start(fleet.dir());
    agent.add(fleet.client_key());
    let mut target = fleet.target(0, "root");
    target.identity_files.clear();
    let settings = SshSettings {
        use_agent: true,
        agent_socket: Some(agent.socket().to_path_buf()),
        ..fleet.settings()
    };
    let conn = Connection::connect(&target, &settings)
        .await
        .expect("agent login");
    assert_eq!(whoami(&conn).await, "root");

    // Without the agent nothing is left to try.
    let err = Connection::connect(&target, &fleet.settings())
        .await
        .expect_err("no credentials");
    assert!(
        matches!(&err, ConnectError::AuthFailed { tried, .. } if tried.is_empty()),
        "{err:?}"
    );
}

#[tokio::test]
async fn rsa_key_auth_uses_rsa_sha2() {
    let Some(fleet) = Fleet::start(1) else { return };
    let key = fleet.dir().join("id_rsa");
    support::keygen(&key, "rsa", "");
    fleet.authorize_key(&key.with_extension("pub"));
    let mut target = fleet.target(0, "root");
    target.identity_files = vec![key];
    // OpenSSH 9.2 refuses SHA-1 "ssh-rsa" signatures, so success means rsa-sha2-256/512.
    let conn = Connection::connect(&target, &fleet.settings())
        .await
        .expect("rsa login");
    assert_eq!(whoami(&conn).await, "root");
    assert!(
        fleet
            .host(0)
            .log()
            .contains("Accepted publickey for root from 127.0.0.1")
    );
    assert!(fleet.host(0).log().contains("ssh2: RSA SHA256:"));
}

#[tokio::test]
async fn encrypted_key_uses_the_passphrase_callback_once() {
    let Some(fleet) = Fleet::start(1) else { return };
    let key = fleet.dir().join("id_enc");
    support::keygen(&key, "ed25519", "pp-secret-9");
    fleet.authorize_key(&key.with_extension("pub"));
    let mut target = fleet.target(0, "root");
    target.identity_files = vec![key.clone()];

    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let asked_for = key.clone();
    let settings = SshSettings {
        passphrase: Some(Arc::new(move |path: &std::path::Path| {
            counter.fetch_add(1, Ordering::SeqCst);
            assert_eq!(path, asked_for);
            Some(Secret::new("pp-secret-9"))
        })),
        ..fleet.settings()
    };
    for _ in 0..2 {
        let conn = Connection::connect(&target, &settings)
            .await
            .expect("encrypted key login");
        assert_eq!(whoami(&conn).await, "root");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "key decrypted once per run"
    );

    let err = Connection::connect(&target, &fleet.settings())
        .await
        .expect_err("no passphrase");
    assert!(matches!(err, ConnectError::KeyPassphrase { .. }), "{err:?}");
    assert!(err.to_string().contains("no passphrase"), "{err}");

    let wrong = SshSettings {
        passphrase: Some(Arc::new(|_: &std::path::Path| {
            Some(Secret::new("nope-wrong"))
        })),
        ..fleet.settings()
    };
    let err = Connection::connect(&target, &wrong)
        .await
        .expect_err("wrong passphrase");
    assert!(err.to_string().contains("wrong passphrase"), "{err}");
    assert!(!format!("{err:?}").contains("nope-wrong"));
    assert_eq!(fleet.host(0).accepted_connections(), 2);
}

#[tokio::test]
async fn missing_or_unauthorized_keys() {
    let Some(fleet) = Fleet::start(1) else { return };
    let mut target = fleet.target(0, "root");
    let missing = fleet.dir().join("no_such_key");
    target.identity_files = vec![missing.clone()];
    let err = Connection::connect(&target, &fleet.settings())
        .await
        .expect_err("missing key");
    assert!(matches!(err, ConnectError::KeyFile { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );

    let other = fleet.dir().join("id_other");
    support::keygen(&other, "ed25519", "");
    target.identity_files = vec![other.clone()];
    let err = Connection::connect(&target, &fleet.settings())
        .await
        .expect_err("key not authorized");
    match &err {
        ConnectError::AuthFailed { tried, .. } => {
            assert_eq!(tried, &vec![format!("publickey {}", other.display())])
        }
        e => panic!("{e:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("permission denied for root@127.0.0.1:"),
        "{err}"
    );
}

#[tokio::test]
async fn proxy_jump_through_host_a_to_host_b() {
    let Some(fleet) = Fleet::start(2) else { return };
    let (a, b) = (fleet.host(0), fleet.host(1));
    // Resolved the way the runner does: ssh_config names B and its ProxyJump A.
    let config = SshConfig::from_text(
        &format!(
            "Host hostb\n  HostName 127.0.0.1\n  Port {}\n  ProxyJump root@127.0.0.1:{}\n",
            b.port(),
            a.port()
        ),
        None,
    )
    .expect("config");
    let defaults = Defaults {
        user: Some("root".into()),
        private_key: Some(fleet.client_key().to_path_buf()),
        password: None,
    };
    let target = Target::resolve("hostb", &HostParams::default(), &defaults, Some(&config))
        .expect("resolve");
    let jump = target.jump.as_deref().expect("jump");
    assert_eq!((jump.port, jump.user.as_str()), (a.port(), "root"));
    let conn = Connection::connect(&target, &fleet.settings())
        .await
        .expect("connect through A");
    let out = conn
        .exec("echo via-jump", &ExecOptions::default())
        .await
        .expect("exec on B");
    assert_eq!(out.stdout, b"via-jump\n");
    assert_eq!(a.accepted_connections(), 1);
    assert_eq!(b.accepted_connections(), 1);
    assert!(a.log().contains("direct-tcpip") || a.log().contains("Accepted publickey"));
    conn.close().await;

    // B down: the failure is B's, reached through A.
    b.kill();
    let err = Connection::connect(&target, &fleet.settings())
        .await
        .expect_err("B is down");
    assert!(matches!(err, ConnectError::Refused { .. }), "{err:?}");

    // A down: a jump failure naming A.
    a.kill();
    let err = Connection::connect(&target, &fleet.settings())
        .await
        .expect_err("A is down");
    match &err {
        ConnectError::Jump { jump, source } => {
            assert!(jump.ends_with(&format!(":{}", a.port())), "{jump}");
            assert!(
                matches!(**source, ConnectError::Refused { .. }),
                "{source:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn jump_host_key_is_checked_too() {
    let Some(fleet) = Fleet::start(2) else { return };
    let mut target = fleet.target(1, "root");
    target.jump = Some(Box::new(fleet.target(0, "root")));
    // Only B's key is known: A (the jump host) is unknown under strict checking.
    let b_line = format!(
        "[127.0.0.1]:{} {}\n",
        fleet.host(1).port(),
        fleet.host(1).public_key_line()
    );
    fs::write(fleet.known_hosts_path(), b_line).expect("write");
    let err = Connection::connect(&target, &fleet.settings())
        .await
        .expect_err("jump host unknown");
    match &err {
        ConnectError::Jump { source, .. } => {
            assert!(
                matches!(**source, ConnectError::HostKeyUnknown { .. }),
                "{source:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    let mut buf = String::new();
    fs::File::open(fleet.known_hosts_path())
        .and_then(|mut f| f.read_to_string(&mut buf))
        .expect("read");
    assert_eq!(buf.lines().count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_startups_drops_are_retried() {
    // sshd drops connections beyond 2 unauthenticated ones before the banner; the client's
    // backoff and retries must get every one of 6 simultaneous connects through.
    let Some(fleet) = Fleet::builder().hosts(1).max_startups("2").build() else {
        return;
    };
    let settings = SshSettings {
        connect_retries: 6,
        ..fleet.settings()
    };
    let target = fleet.target(0, "root");
    let results =
        futures::future::join_all((0..6).map(|_| Connection::connect(&target, &settings))).await;
    for r in results {
        let conn = r.expect("connect despite MaxStartups");
        conn.close().await;
    }
    assert_eq!(fleet.host(0).accepted_connections(), 6);
    let dropped = fleet
        .host(0)
        .log()
        .lines()
        .filter(|l| l.contains("drop connection") || l.contains("beginning MaxStartups throttling"))
        .count();
    eprintln!("measured: sshd dropped {dropped} of the first attempts (MaxStartups 2)");
}

#[test]
fn the_fleet_inventory_lists_every_host() {
    let Some(fleet) = Fleet::start(2) else { return };
    let text = fleet
        .inventory()
        .host_var("h02", "ansible_user", "cf-pass")
        .group("second", &["h02"])
        .to_string();
    for (i, h) in fleet.hosts().iter().enumerate() {
        assert!(
            text.contains(&format!(
                "    h{:02}:\n      ansible_port: {}\n",
                i + 1,
                h.port()
            )),
            "{text}"
        );
    }
    assert!(
        text.starts_with("all:\n  vars:\n    ansible_host: 127.0.0.1\n    ansible_user: root\n")
    );
    assert!(text.contains(&format!(
        "    ansible_ssh_private_key_file: {}\n",
        fleet.client_key().display()
    )));
    assert!(text.contains("      ansible_user: cf-pass\n"), "{text}");
    assert!(
        text.ends_with("  children:\n    second:\n      hosts:\n        h02:\n"),
        "{text}"
    );
}
