//! sudo through real sshd as the `cf-sudo` user (password-protected sudo; the test users exist
//! only in the hosts' namespaces, see tests/support/sshd.rs): right and wrong passwords, no password, stdin, and root.

use crate::support;

use std::time::Duration;

use clearfleet_base::secret::Secret;
use clearfleet_ssh::{Become, Connection, ExecError, ExecOptions, ExitStatus};
use support::Fleet;

fn sudo(password: Option<&str>) -> ExecOptions {
    ExecOptions {
        become_: Some(Become {
            user: "root".into(),
            method: "sudo".into(),
            password: password.map(Secret::new),
            timeout: Duration::from_secs(10),
            exe: None,
            flags: None,
        }),
        ..Default::default()
    }
}

async fn cf_sudo(fleet: &Fleet) -> Connection {
    Connection::connect(&fleet.target(0, "cf-sudo"), &fleet.settings())
        .await
        .expect("cf-sudo key login")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn become_root_with_the_right_password() {
    let Some(fleet) = Fleet::builder().test_users(true).build() else {
        return;
    };
    let conn = cf_sudo(&fleet).await;
    let plain = conn
        .exec("whoami", &ExecOptions::default())
        .await
        .expect("exec");
    assert_eq!(plain.stdout, b"cf-sudo\n");

    let out = conn
        .exec(
            "whoami; echo to-stderr >&2; exit 5",
            &sudo(Some(support::CF_SUDO_PASSWORD)),
        )
        .await
        .expect("become");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "root\n");
    // sudo's lecture and prompt are gone; the command's own stderr stays.
    assert_eq!(String::from_utf8_lossy(&out.stderr), "to-stderr\n");
    assert_eq!(out.exit, ExitStatus::Code(5));

    // stdin reaches the command, after (never instead of) the password; with a timeout too.
    let mut opts = sudo(Some(support::CF_SUDO_PASSWORD));
    opts.stdin = Some(b"payload\n".to_vec());
    opts.timeout = Some(Duration::from_secs(20));
    let out = conn
        .exec("cat; id -un", &opts)
        .await
        .expect("become + stdin");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "payload\nroot\n");
    assert!(
        out.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = format!("{out:?}");
    assert!(!all.contains(support::CF_SUDO_PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_sudo_password_fails_without_leaking_it() {
    let Some(fleet) = Fleet::builder().test_users(true).build() else {
        return;
    };
    let conn = cf_sudo(&fleet).await;
    let wrong = "not-the-sudo-password-42";
    let err = conn
        .exec("touch /tmp/cf-should-not-exist", &sudo(Some(wrong)))
        .await
        .expect_err("wrong password");
    match &err {
        ExecError::BecomeFailed { reason } => assert_eq!(reason, "incorrect sudo password"),
        other => panic!("{other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains(wrong));

    let err = conn
        .exec("whoami", &sudo(None))
        .await
        .expect_err("no password");
    match &err {
        ExecError::BecomeFailed { reason } => assert_eq!(reason, "a password is required"),
        other => panic!("{other:?}"),
    }

    let mut doas = sudo(None);
    if let Some(b) = doas.become_.as_mut() {
        b.method = "doas".into();
    }
    let err = conn.exec("whoami", &doas).await.expect_err("doas");
    assert!(
        matches!(err, ExecError::UnsupportedBecome { .. }),
        "{err:?}"
    );
    // su without a password, by a user that is not root: su asks for one and fails at once.
    let mut su = sudo(None);
    if let Some(b) = su.become_.as_mut() {
        b.method = "su".into();
    }
    let err = conn.exec("whoami", &su).await.expect_err("su");
    match &err {
        ExecError::BecomeFailed { reason } => {
            assert!(reason.starts_with("su did not run the command"), "{reason}")
        }
        other => panic!("{other:?}"),
    }

    // The connection survives all of this.
    let out = conn
        .exec("whoami", &sudo(Some(support::CF_SUDO_PASSWORD)))
        .await
        .expect("become after failures");
    assert_eq!(out.stdout, b"root\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_prompt_means_no_password_is_sent() {
    let Some(fleet) = Fleet::builder().test_users(true).build() else {
        return;
    };
    // root needs no sudo password: the prompt never comes, the command just runs, and the
    // configured password must not end up on the command's stdin.
    let conn = Connection::connect(&fleet.target(0, "root"), &fleet.settings())
        .await
        .expect("root login");
    let mut opts = sudo(Some("unused-password-77"));
    opts.stdin = Some(b"only-this".to_vec());
    if let Some(b) = opts.become_.as_mut() {
        b.user = "cf-pass".into();
    }
    let out = conn.exec("cat; echo; whoami", &opts).await.expect("become");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "only-this\ncf-pass\n");
    assert!(
        out.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_without_sudo_rights_gets_a_clear_reason() {
    let Some(fleet) = Fleet::with_test_users(1) else {
        return;
    };
    let target = fleet.password_target(0, "cf-pass", support::CF_PASS_PASSWORD);
    let conn = Connection::connect(&target, &fleet.settings())
        .await
        .expect("cf-pass login");
    // The right password for cf-pass, but cf-pass is not in sudoers.
    let err = conn
        .exec("whoami", &sudo(Some(support::CF_PASS_PASSWORD)))
        .await
        .expect_err("not a sudoer");
    match &err {
        ExecError::BecomeFailed { reason } => assert_eq!(
            reason, "the login user is not allowed to run sudo as root",
            "{err}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(!format!("{err:?}").contains(support::CF_PASS_PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sudo_prompt_and_marker_are_found_after_more_output_than_the_limit() {
    let Some(fleet) = Fleet::builder().test_users(true).build() else {
        return;
    };
    let conn = cf_sudo(&fleet).await;
    // The login shell's rc file prints 300 kB on each stream before sudo starts: sudo's
    // prompt and success marker come after more than the 16 KiB limit.
    let rc = "head -c 300000 /dev/zero | tr '\\0' o; head -c 300000 /dev/zero | tr '\\0' e >&2\n";
    let write_rc = ExecOptions {
        stdin: Some(rc.as_bytes().to_vec()),
        ..ExecOptions::default()
    };
    let out = conn
        .exec("cat > ~/.bashrc", &write_rc)
        .await
        .expect("write .bashrc");
    assert!(out.success());
    let mut opts = sudo(Some(support::CF_SUDO_PASSWORD));
    opts.max_output = "16KiB".parse().expect("a size");
    let out = conn
        .exec("id -un; echo to-stderr >&2", &opts)
        .await
        .expect("become after the noise");
    assert!(out.success());
    // stdout: the rc file's noise, cut, then the command's output (the marker line gone).
    assert!(
        out.stdout.ends_with(b"ooooroot\n"),
        "{:?}",
        String::from_utf8_lossy(&out.stdout[out.stdout.len() - 40..])
    );
    assert_eq!(out.truncation.stdout_dropped, 300_005 - 16384);
    // stderr: everything up to sudo's prompt is sudo's, dropped as it came.
    assert_eq!(String::from_utf8_lossy(&out.stderr), "to-stderr\n");
    assert_eq!(out.truncation.stderr_dropped, 0);
}
