//! Every module against the local shell ([`LocalRemote`]) in temporary directories: first run
//! changes, second run does not, check mode changes nothing, diffs, argument errors, and
//! values that try to inject a second command.

use std::io::{Read, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use clearfleet_modules::{
    LocalRemote, ModuleCall, ModuleContext, ModuleResult, Remote, validate_args,
};
use serde_json::{Value, json};
use tempfile::TempDir;

/// A temporary "host" and controller directory.
struct T {
    dir: TempDir,
    remote: LocalRemote,
}

impl T {
    fn new() -> T {
        T {
            dir: tempfile::tempdir().expect("tempdir"),
            remote: LocalRemote::new("web1"),
        }
    }

    /// With an output limit of `size` per stream.
    fn with_limit(size: &str) -> T {
        T {
            remote: LocalRemote::new("web1").with_max_output(size.parse().expect("a size")),
            ..T::new()
        }
    }

    fn p(&self, rel: &str) -> String {
        self.dir.path().join(rel).display().to_string()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A context on `remote` with this controller directory, out of check mode.
    fn ctx<'a, R: Remote>(&'a self, remote: &'a R, diff: bool) -> ModuleContext<'a, R> {
        ModuleContext {
            remote,
            check_mode: false,
            diff,
            become_: false,
            controller_dir: self.dir.path(),
            role_dir: None,
            files: &clearfleet_base::controller_files::ControllerFiles::Disk,
        }
    }

    async fn go(&self, module: &str, args: Value, check: bool, diff: bool) -> ModuleResult {
        let call =
            ModuleCall::parse(module, &args).unwrap_or_else(|e| panic!("{module} {args}: {e}"));
        let ctx = ModuleContext {
            check_mode: check,
            ..self.ctx(&self.remote, diff)
        };
        call.run(&ctx).await
    }

    async fn run(&self, module: &str, args: Value) -> ModuleResult {
        self.go(module, args, false, false).await
    }

    /// Runs if the arguments parse (hostile values may be refused up front: fine too).
    async fn try_run(&self, module: &str, args: Value) {
        if let Ok(call) = ModuleCall::parse(module, &args) {
            let _ = call.run(&self.ctx(&self.remote, true)).await;
        }
    }

    async fn check(&self, module: &str, args: Value) -> ModuleResult {
        self.go(module, args, true, true).await
    }
}

fn ok(r: &ModuleResult) {
    assert!(!r.failed, "unexpected failure: {:?}", r);
}

fn mode_of(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(p)
        .expect("stat")
        .permissions()
        .mode()
        & 0o7777
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn arg_err(module: &str, args: Value) -> String {
    match ModuleCall::parse(module, &args) {
        Ok(c) => panic!("{module} {args} parsed: {c:?}"),
        Err(e) => e.to_string(),
    }
}

// ---------- command / shell / raw ----------

#[tokio::test]
async fn command_creates_makes_it_idempotent() {
    let t = T::new();
    let f = t.p("made");
    let args = json!({"_raw_params": format!("touch {f}"), "creates": f});
    let c = t.check("command", args.clone()).await;
    assert!(c.changed && !t.path("made").exists(), "{c:?}");
    let r = t.run("command", args.clone()).await;
    ok(&r);
    assert!(r.changed && t.path("made").exists());
    assert_eq!(r.rc, Some(0));
    assert_eq!(r.data["cmd"], json!(["touch", f]));
    let r = t.run("command", args.clone()).await;
    assert!(!r.changed, "{r:?}");
    assert_eq!(
        r.msg.as_deref(),
        Some(format!("Did not run command since '{f}' exists").as_str())
    );
    let c = t.check("command", args).await;
    assert!(!c.changed);
}

#[tokio::test]
async fn command_free_form_kv_chdir_stdin_removes() {
    let t = T::new();
    std::fs::write(t.path("gone"), "x").expect("write");
    // Ansible's free form: `rm gone removes=gone chdir=<dir>`.
    let r = t
        .run(
            "command",
            json!({"_raw_params": format!("rm gone removes=gone chdir={}", t.p(""))}),
        )
        .await;
    ok(&r);
    assert!(r.changed && !t.path("gone").exists());
    let r = t
        .run(
            "command",
            json!({"_raw_params": format!("rm gone removes=gone chdir={}", t.p(""))}),
        )
        .await;
    assert!(!r.changed);
    assert!(r.msg.unwrap_or_default().contains("does not exist"));
    let r = t
        .run("command", json!({"cmd": "cat", "stdin": "hello"}))
        .await;
    assert_eq!(r.stdout.as_deref(), Some("hello"));
    let r = t
        .run(
            "command",
            json!({"cmd": "printf 'a\\n\\n'", "strip_empty_ends": false}),
        )
        .await;
    assert_eq!(r.stdout.as_deref(), Some("a\n\n"));
    let r = t
        .run("command", json!({"cmd": "pwd", "chdir": t.p("nope")}))
        .await;
    assert!(
        r.failed
            && r.msg
                .unwrap_or_default()
                .contains("Unable to change directory")
    );
    // As Python's `os.chdir` leaves the command: in the directory a link points to, `$PWD`
    // the physical path (ansible-core's command_shell target, "command symlink handling").
    std::fs::create_dir_all(t.path("real/site")).expect("mkdir");
    std::os::unix::fs::symlink(t.path("real"), t.path("link")).expect("symlink");
    let r = t
        .run(
            "shell",
            json!({"cmd": "dirname \"$PWD\"", "chdir": t.p("link/site")}),
        )
        .await;
    ok(&r);
    assert!(
        r.stdout.as_deref().unwrap_or_default().ends_with("/real"),
        "{r:?}"
    );
}

#[tokio::test]
async fn command_does_not_use_a_shell_but_expands_vars() {
    let t = T::new();
    let r = t
        .run(
            "command",
            json!({"cmd": "echo a | b; echo $HOME ~ '$HOME' $NOPE_NOT_SET ${NOPE_NOT_SET}x"}),
        )
        .await;
    ok(&r);
    let home = std::env::var("HOME").unwrap_or_default();
    // The pipe and `;` are plain words; `$HOME` and `~` expand (as Ansible's expand_argument_vars),
    // an unset variable stays as written, braces too (Python's os.path.expandvars).
    assert_eq!(
        r.stdout.unwrap_or_default(),
        format!("a | b; echo {home} {home} {home} $NOPE_NOT_SET ${{NOPE_NOT_SET}}x")
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    // `executable` is ignored by `command`, with Ansible's warning, registered as `warnings`.
    let r = t
        .run(
            "command",
            json!({"cmd": "ls /dev/null", "executable": "/bogus"}),
        )
        .await;
    assert_eq!(r.stdout.as_deref(), Some("/dev/null"));
    assert_eq!(
        r.to_registered()["warnings"],
        json!([
            "As of Ansible 2.4, the parameter 'executable' is no longer supported with the 'command' module. Not using '/bogus'."
        ])
    );
    let r = t.run("command", json!({"argv": ["printf", "%s|", "a b", "$(id)", "`id`"], "expand_argument_vars": false})).await;
    assert_eq!(r.stdout.as_deref(), Some("a b|$(id)|`id`|"));
}

#[tokio::test]
async fn command_failure_and_check_mode() {
    let t = T::new();
    let r = t
        .run(
            "command",
            json!({"_raw_params": "sh -c 'echo oops >&2; exit 3'"}),
        )
        .await;
    assert!(r.failed && r.changed);
    assert_eq!(r.rc, Some(3));
    assert_eq!(r.msg.as_deref(), Some("non-zero return code"));
    assert_eq!(r.stderr.as_deref(), Some("oops"));
    let reg = r.to_registered();
    assert_eq!(reg["stderr_lines"], json!(["oops"]));
    assert_eq!(reg["rc"], json!(3));
    let c = t
        .check(
            "command",
            json!({"_raw_params": format!("touch {}", t.p("x"))}),
        )
        .await;
    assert!(c.skipped_check_mode && !c.changed && !t.path("x").exists());
    assert_eq!(c.to_registered()["skipped"], json!(true));
}

/// A program that cannot be executed fails as Ansible's `run_command` reports it (rc the errno,
/// nothing on stdout or stderr, the words as run, quoted): not as a shell's `exec` (127).
#[tokio::test]
async fn command_of_a_program_that_cannot_run_fails_with_the_errno() {
    let t = T::new();
    std::fs::write(t.path("plain"), "echo hi\n").expect("plain file");
    std::fs::create_dir(t.path("adir")).expect("a directory");
    let cases = [
        (
            "command",
            json!({"_raw_params": "commandthatdoesnotexist --would-be-awkward"}),
            2,
            "commandthatdoesnotexist --would-be-awkward".to_owned(),
        ),
        (
            "command",
            json!({"argv": [t.p("missing/x"), "a b"]}),
            2,
            format!("{} 'a b'", t.p("missing/x")),
        ),
        (
            "command",
            json!({"_raw_params": t.p("adir")}),
            13,
            t.p("adir"),
        ),
        (
            "command",
            json!({"_raw_params": format!("{} x", t.p("plain"))}),
            13,
            format!("{} x", t.p("plain")),
        ),
        (
            "command",
            json!({"_raw_params": "$CF_NOT_SET_EVER/bin/tool"}),
            2,
            "'$CF_NOT_SET_EVER/bin/tool'".to_owned(),
        ),
        (
            "shell",
            json!({"cmd": "echo hi", "executable": t.p("nosh")}),
            2,
            format!("{} -c 'echo hi'", t.p("nosh")),
        ),
    ];
    for (module, args, errno, cmd) in cases {
        let r = t.run(module, args.clone()).await;
        assert!(r.failed && !r.changed, "{args}: {r:?}");
        assert_eq!(r.rc, Some(errno), "{args}");
        assert_eq!(r.msg.as_deref(), Some("Error executing command."), "{args}");
        assert_eq!(
            (r.stdout.as_deref(), r.stderr.as_deref()),
            (Some(""), Some("")),
            "{args}"
        );
        assert_eq!(r.data["cmd"], json!(cmd), "{args}");
        assert!(!r.data.contains_key("start"), "{args}");
    }
    // Through the shell, a missing program is the shell's 127, as under Ansible.
    let r = t
        .run("shell", json!({"cmd": "commandthatdoesnotexist"}))
        .await;
    assert_eq!(r.rc, Some(127));
}

#[tokio::test]
async fn shell_runs_through_sh() {
    let t = T::new();
    let r = t
        .run(
            "shell",
            json!({"_raw_params": "echo one two | wc -w | tr -d ' '; echo err >&2"}),
        )
        .await;
    ok(&r);
    assert_eq!(r.stdout.as_deref(), Some("2"));
    assert_eq!(r.to_registered()["stdout_lines"], json!(["2"]));
    assert_eq!(
        r.data["cmd"],
        json!("echo one two | wc -w | tr -d ' '; echo err >&2")
    );
    let r = t
        .run(
            "shell",
            json!({"cmd": "echo $0", "executable": "/bin/bash"}),
        )
        .await;
    assert_eq!(r.stdout.as_deref(), Some("/bin/bash"));
    let f = t.p("s");
    let args = json!({"_raw_params": format!("echo hi > {f}"), "creates": f});
    assert!(t.check("shell", args.clone()).await.changed);
    assert!(!t.path("s").exists());
    assert!(t.run("shell", args.clone()).await.changed);
    assert!(!t.run("shell", args).await.changed);
    assert!(t.run("shell", json!({"cmd": "exit 1"})).await.failed);
}

#[tokio::test]
async fn raw_is_verbatim_and_skipped_in_check_mode() {
    let t = T::new();
    let r = t
        .run("raw", json!({"_raw_params": "echo raw; exit 0"}))
        .await;
    ok(&r);
    assert_eq!(r.stdout.as_deref(), Some("raw\n"));
    assert!(r.changed);
    let c = t
        .check("raw", json!({"_raw_params": format!("touch {}", t.p("r"))}))
        .await;
    assert!(c.skipped_check_mode && !t.path("r").exists());
}

#[tokio::test]
async fn command_argument_errors() {
    assert!(arg_err("command", json!({"cmd": "ls", "bogus": 1})).contains("bogus"));
    // Ansible's words, the task failing with them when it runs.
    assert_eq!(
        arg_err("command", json!({})),
        "one of the following is required: _raw_params, cmd, argv"
    );
    assert!(
        arg_err("command", json!({"cmd": "ls", "argv": ["ls"]})).contains("mutually exclusive")
    );
    assert!(arg_err("command", json!({"cmd": "echo 'unclosed"})).contains("No closing quotation"));
    assert!(arg_err("shell", json!({"argv": ["ls"]})).contains("argv"));
    // A list where a string is wanted becomes Python's str() of it, as check_type_str converts.
    assert!(ModuleCall::parse("command", &json!({"cmd": "ls", "creates": ["a"]})).is_ok());
    assert!(
        arg_err("command", json!({"cmd": "ls", "strip_empty_ends": "maybe"})).contains("boolean")
    );
}

// ---------- script ----------

#[tokio::test]
async fn script_uploads_runs_and_cleans_up() {
    let t = T::new();
    std::fs::create_dir(t.path("files")).expect("mkdir");
    std::fs::write(
        t.path("files/hello.sh"),
        "#!/bin/sh\necho \"hello $1|$2\"\necho \"$0\" >&2\n",
    )
    .expect("write");
    let r = t
        .run("script", json!({"_raw_params": "hello.sh 'a b' 'x;y'"}))
        .await;
    ok(&r);
    assert!(r.changed);
    assert_eq!(r.stdout.as_deref(), Some("hello a b|x;y\n"));
    let tmp = r.stderr.clone().unwrap_or_default();
    assert!(tmp.contains("clearfleet-hello.sh"), "{tmp}");
    assert!(
        !Path::new(tmp.trim()).exists(),
        "the uploaded script is removed"
    );
    let marker = t.p("done");
    let args = json!({"_raw_params": format!("hello.sh creates={marker}")});
    std::fs::write(&marker, "").expect("write");
    let r = t.run("script", args).await;
    assert!(!r.changed && !r.failed, "{r:?}");
    let c = t.check("script", json!({"_raw_params": "hello.sh"})).await;
    assert!(c.skipped_check_mode);
    let r = t.run("script", json!({"_raw_params": "missing.sh"})).await;
    assert!(r.failed && r.msg.unwrap_or_default().contains("Could not find"));
    std::fs::write(t.path("files/fail.py"), "import sys\nsys.exit(4)\n").expect("write");
    let r = t
        .run("script", json!({"cmd": "fail.py", "executable": "python3"}))
        .await;
    assert!(r.failed);
    assert_eq!(r.rc, Some(4));
}

/// Ansible's script action skips on `creates`/`removes` with its own messages (in check mode
/// too), reports only `changed` in check mode for a script that would run, and asks for a
/// script with `required_one_of`'s words.
#[tokio::test]
async fn script_creates_removes_and_check_mode_skip_as_ansible() {
    let t = T::new();
    std::fs::create_dir(t.path("files")).expect("mkdir");
    std::fs::write(t.path("files/make.sh"), "#!/bin/sh\ntouch \"$1\"\n").expect("write");
    let f = t.p("made");
    let creates = json!({"_raw_params": format!("make.sh {f}"), "creates": f});
    let c = t.check("script", creates.clone()).await;
    assert!(
        c.changed && !c.skipped_check_mode && !t.path("made").exists(),
        "{c:?}"
    );
    assert_eq!(c.to_registered(), json!({"changed": true, "failed": false}));
    ok(&t.run("script", creates.clone()).await);
    for r in [
        t.run("script", creates.clone()).await,
        t.check("script", creates).await,
    ] {
        assert!(r.skipped_check_mode && !r.changed, "{r:?}");
        assert_eq!(r.msg, Some(format!("{f} exists, matching creates option")));
    }
    let gone = t.p("gone");
    let removes = json!({"_raw_params": format!("make.sh {f}"), "removes": gone});
    let r = t.run("script", removes).await;
    assert!(r.skipped_check_mode && !r.changed, "{r:?}");
    assert_eq!(
        r.msg,
        Some(format!("{gone} does not exist, matching removes option"))
    );
    let c = t.check("script", json!({"_raw_params": "make.sh x"})).await;
    assert!(c.skipped_check_mode && !c.changed, "{c:?}");
    assert_eq!(
        c.msg.as_deref(),
        Some("Check mode is not supported for this task.")
    );
    assert_eq!(
        arg_err("script", json!({"chdir": "/tmp"})),
        "one of the following is required: _raw_params, cmd"
    );
}

// ---------- copy / template ----------

#[tokio::test]
async fn copy_content_query_then_apply() {
    let t = T::new();
    let dest = t.p("app.conf");
    let args = json!({"content": "port=80\n", "dest": dest, "mode": "0640"});
    let c = t.check("copy", args.clone()).await;
    assert!(c.changed && !t.path("app.conf").exists(), "{c:?}");
    let d = c.diff.clone().expect("diff");
    assert_eq!((d.before.as_str(), d.after.as_str()), ("", "port=80\n"));
    let r = t.go("copy", args.clone(), false, true).await;
    ok(&r);
    assert!(r.changed);
    assert_eq!(read(&t.path("app.conf")), "port=80\n");
    assert_eq!(mode_of(&t.path("app.conf")), 0o640);
    assert_eq!(
        r.data["checksum"],
        json!("f6f646f13e035c2c329fc95c9e9f2e35749eb556")
    );
    // As Ansible's copy of a new file: the file as written, its md5, where it was staged (gone).
    let reg = r.to_registered();
    assert_eq!(reg["md5sum"], json!("16eace3cd5e757939f94c6cb42ba509c"));
    assert_eq!(
        (&reg["mode"], &reg["size"], &reg["state"]),
        (&json!("0640"), &json!(8), &json!("file"))
    );
    let meta = std::fs::metadata(t.path("app.conf")).expect("written");
    use std::os::unix::fs::MetadataExt as _;
    assert_eq!(
        (&reg["uid"], &reg["gid"]),
        (&json!(meta.uid()), &json!(meta.gid()))
    );
    let staged = reg["src"].as_str().expect("src: the staged file");
    assert!(staged.starts_with(&t.p(".clearfleet.")) && !Path::new(staged).exists());
    assert_eq!(reg["diff"].as_array().map(Vec::len), Some(1));
    let r = t.run("copy", args.clone()).await;
    assert!(!r.changed && !r.failed, "{r:?}");
    assert_eq!(r.data["path"], json!(dest));
    assert!(!r.data.contains_key("md5sum") && !r.data.contains_key("src"));
    // Mode only: changed, content untouched.
    let r = t
        .run(
            "copy",
            json!({"content": "port=80\n", "dest": dest, "mode": "u=rw,g=,o="}),
        )
        .await;
    assert!(r.changed);
    assert_eq!(mode_of(&t.path("app.conf")), 0o600);
    // New content: diff shows before and after; check mode leaves the file.
    let args2 = json!({"content": "port=8080\n", "dest": dest});
    let c = t.check("copy", args2.clone()).await;
    let d = c.diff.expect("diff");
    assert_eq!(
        (d.before.as_str(), d.after.as_str()),
        ("port=80\n", "port=8080\n")
    );
    assert_eq!(read(&t.path("app.conf")), "port=80\n");
    let r = t.run("copy", args2).await;
    assert!(r.changed);
    assert_eq!(read(&t.path("app.conf")), "port=8080\n");
    assert_eq!(
        mode_of(&t.path("app.conf")),
        0o600,
        "an existing file keeps its mode"
    );
    // force: no never replaces.
    let r = t
        .run(
            "copy",
            json!({"content": "other", "dest": dest, "force": false}),
        )
        .await;
    assert!(!r.changed);
    assert_eq!(read(&t.path("app.conf")), "port=8080\n");
}

#[tokio::test]
async fn copy_src_backup_validate_and_directories() {
    let t = T::new();
    std::fs::create_dir(t.path("files")).expect("mkdir");
    std::fs::create_dir(t.path("etc")).expect("mkdir");
    std::fs::write(t.path("files/motd"), "welcome\n").expect("write");
    // dest is a directory: dest/<basename of src>.
    let r = t
        .run("copy", json!({"src": "motd", "dest": t.p("etc")}))
        .await;
    ok(&r);
    assert!(r.changed);
    assert_eq!(read(&t.path("etc/motd")), "welcome\n");
    assert!(
        !t.run("copy", json!({"src": "motd", "dest": t.p("etc/")}))
            .await
            .changed
    );
    // backup keeps the old file.
    let r = t
        .run(
            "copy",
            json!({"content": "new\n", "dest": t.p("etc/motd"), "backup": true}),
        )
        .await;
    let b = r
        .data
        .get("backup_file")
        .and_then(Value::as_str)
        .expect("backup_file")
        .to_owned();
    assert_eq!(read(Path::new(&b)), "welcome\n");
    assert!(b.ends_with('~'));
    // validate failing: the file is not replaced and no temp file is left behind.
    let r = t
        .run(
            "copy",
            json!({"content": "bad\n", "dest": t.p("etc/motd"), "validate": "grep -q good %s"}),
        )
        .await;
    assert!(r.failed && r.msg.unwrap_or_default().contains("failed to validate"));
    assert_eq!(read(&t.path("etc/motd")), "new\n");
    let r = t
        .run(
            "copy",
            json!({"content": "good\n", "dest": t.p("etc/motd"), "validate": "grep -q good %s"}),
        )
        .await;
    assert!(r.changed && !r.failed);
    let leftovers: Vec<_> = std::fs::read_dir(t.path("etc"))
        .expect("ls")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("clearfleet"))
        .collect();
    assert!(leftovers.is_empty());
    // Missing parent directory: a clear failure.
    let r = t
        .run("copy", json!({"content": "x", "dest": t.p("nodir/x")}))
        .await;
    assert!(r.failed && r.msg.unwrap_or_default().contains("does not exist"));
    // Binary content survives the trip.
    std::fs::write(t.path("files/bin"), [0u8, 255, 10, 13, 0]).expect("write");
    assert!(
        t.run("copy", json!({"src": "bin", "dest": t.p("bin")}))
            .await
            .changed
    );
    assert_eq!(
        std::fs::read(t.path("bin")).unwrap_or_default(),
        vec![0u8, 255, 10, 13, 0]
    );
    assert!(
        !t.run("copy", json!({"src": "bin", "dest": t.p("bin")}))
            .await
            .changed
    );
}

/// `copy` of a controller directory (the action's `_walk_dirs` + `_copy_file`): `src` copies the
/// directory, `src/` its contents; `local_follow` follows links or recreates them; new
/// directories get `directory_mode`; a second run changes nothing; two round trips.
#[tokio::test]
async fn copy_controller_directories_recursively() {
    use std::os::unix::fs::symlink;
    let t = T::new();
    for d in ["files/tree/sub", "files/tree/empty"] {
        std::fs::create_dir_all(t.path(d)).expect("mkdir");
    }
    std::fs::write(t.path("files/tree/a.txt"), "a\n").expect("write");
    std::fs::write(t.path("files/tree/sub/b.txt"), "b\n").expect("write");
    symlink("../a.txt", t.path("files/tree/sub/l")).expect("symlink");
    symlink("nowhere", t.path("files/tree/broken")).expect("symlink");
    // No trailing slash: the directory itself, into a dest that does not exist yet.
    let args = json!({"src": "tree", "dest": t.p("out"), "directory_mode": "0700"});
    let c = t.check("copy", args.clone()).await;
    assert!(c.changed && !t.path("out").exists(), "{c:?}");
    let (r, trips) = counted(&t, "copy", args.clone(), false).await;
    ok(&r);
    assert!(r.changed);
    assert_eq!(trips, 2, "one probe, one apply");
    assert_eq!(r.data["dest"], json!(format!("{}/", t.p("out"))));
    assert_eq!(r.data["src"], json!(t.p("files/tree")));
    assert_eq!(read(&t.path("out/tree/a.txt")), "a\n");
    assert_eq!(read(&t.path("out/tree/sub/b.txt")), "b\n");
    // local_follow (the default): the link's file is copied as a file; a broken one stays a link.
    assert_eq!(read(&t.path("out/tree/sub/l")), "a\n");
    assert!(
        !std::fs::symlink_metadata(t.path("out/tree/sub/l"))
            .expect("l")
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_link(t.path("out/tree/broken")).ok(),
        Some("nowhere".into())
    );
    for d in ["out", "out/tree", "out/tree/sub", "out/tree/empty"] {
        assert_eq!(mode_of(&t.path(d)), 0o700, "{d}");
    }
    let (again, trips) = counted(&t, "copy", args.clone(), false).await;
    assert!(!again.changed && !again.failed, "{again:?}");
    assert_eq!(trips, 1, "nothing to apply");
    // A changed file is put back; only that is a change.
    std::fs::write(t.path("out/tree/sub/b.txt"), "changed\n").expect("write");
    assert!(t.run("copy", args).await.changed);
    assert_eq!(read(&t.path("out/tree/sub/b.txt")), "b\n");
    // A trailing slash: the contents; local_follow false recreates the links as links.
    let args = json!({"src": "tree/", "dest": t.p("flat"), "local_follow": false, "mode": "0600"});
    let r = t.run("copy", args.clone()).await;
    ok(&r);
    assert!(r.changed);
    assert_eq!(r.data["src"], json!(format!("{}/", t.p("files/tree"))));
    assert_eq!(read(&t.path("flat/a.txt")), "a\n");
    assert_eq!(mode_of(&t.path("flat/a.txt")), 0o600);
    assert_eq!(
        std::fs::read_link(t.path("flat/sub/l")).ok(),
        Some("../a.txt".into())
    );
    assert!(t.path("flat/empty").is_dir() && !t.path("flat/tree").exists());
    assert!(!t.run("copy", args).await.changed);
    // One file only: the result is that file's.
    std::fs::create_dir_all(t.path("files/one")).expect("mkdir");
    std::fs::write(t.path("files/one/x"), "x").expect("write");
    let r = t
        .run("copy", json!({"src": "one/", "dest": t.p("onedest")}))
        .await;
    assert!(
        r.changed && r.data["dest"] == json!(t.p("onedest/x")),
        "{r:?}"
    );
    let r = t
        .run("copy", json!({"src": "one/", "dest": t.p("onedest")}))
        .await;
    assert!(
        !r.changed && r.data["checksum"] == json!(sha1_of("x")),
        "{r:?}"
    );
}

fn sha1_of(s: &str) -> String {
    clearfleet_modules::probe::sha1_hex(s.as_bytes())
}

/// `remote_src: true`: the copy module on the host. A file (`mode: preserve` takes the
/// source's), then a directory: `src` copies it into dest, `src/` its contents, unchanged on the
/// second run, a changed file copied again (the module's `copy_directory`).
#[tokio::test]
async fn copy_remote_src_files_and_directories() {
    use std::os::unix::fs::PermissionsExt as _;
    let t = T::new();
    std::fs::create_dir_all(t.path("h/dir/s")).expect("mkdir");
    std::fs::write(t.path("h/src.txt"), "foo.txt\n").expect("write");
    std::fs::set_permissions(t.path("h/src.txt"), std::fs::Permissions::from_mode(0o547))
        .expect("chmod");
    let args = json!({"src": t.p("h/src.txt"), "dest": t.p("h/copy.txt"), "mode": "preserve", "remote_src": true});
    let r = t.run("copy", args.clone()).await;
    ok(&r);
    assert!(r.changed);
    assert_eq!(mode_of(&t.path("h/copy.txt")), 0o547);
    assert_eq!(r.data["mode"], json!("0547"));
    assert_eq!(r.data["checksum"], json!(sha1_of("foo.txt\n")));
    assert_eq!(read(&t.path("h/copy.txt")), "foo.txt\n");
    assert!(!t.run("copy", args).await.changed);
    // A missing source, as the module says it.
    let r = t
        .run(
            "copy",
            json!({"src": t.p("h/none"), "dest": t.p("h/x"), "remote_src": true}),
        )
        .await;
    assert!(
        r.failed && r.msg.as_deref() == Some(&format!("Source {} not found", t.p("h/none"))[..])
    );
    // Directories.
    std::fs::write(t.path("h/dir/x"), "x\n").expect("write");
    std::fs::write(t.path("h/dir/s/y"), "y\n").expect("write");
    let into = json!({"src": t.p("h/dir"), "dest": t.p("h/out"), "remote_src": true});
    let c = t.check("copy", into.clone()).await;
    assert!(c.changed && !t.path("h/out").exists(), "{c:?}");
    let r = t.run("copy", into.clone()).await;
    ok(&r);
    assert!(r.changed);
    assert_eq!(read(&t.path("h/out/dir/s/y")), "y\n");
    assert!(!t.run("copy", into.clone()).await.changed);
    let contents = json!({"src": format!("{}/", t.p("h/dir")), "dest": format!("{}/", t.p("h/out2")), "remote_src": true});
    assert!(t.run("copy", contents.clone()).await.changed);
    assert_eq!(read(&t.path("h/out2/x")), "x\n");
    assert!(!t.path("h/out2/dir").exists());
    assert!(!t.run("copy", contents.clone()).await.changed);
    std::fs::write(t.path("h/dir/s/y"), "new\n").expect("write");
    std::fs::write(t.path("h/dir/z"), "z\n").expect("write");
    let c = t.check("copy", contents.clone()).await;
    assert!(c.changed && !t.path("h/out2/z").exists(), "{c:?}");
    assert!(t.run("copy", contents.clone()).await.changed);
    assert_eq!(read(&t.path("h/out2/s/y")), "new\n");
    assert_eq!(read(&t.path("h/out2/z")), "z\n");
    assert!(!t.run("copy", contents).await.changed);
}

/// Internal options and the action's own checks fail when the task runs (parsing defers
/// them), in the action's words.
#[tokio::test]
async fn copy_internal_options_and_action_checks_fail_at_run_time() {
    for (args, msg) in [
        (
            json!({"content": "x", "dest": "/x", "_diff_peek": true}),
            "Invalid parameter specified: \"_diff_peek\"",
        ),
        (
            json!({"src": "a", "dest": "/x", "_original_basename": "b"}),
            "Invalid parameter specified: \"_original_basename\"",
        ),
        (
            json!({"src": "", "dest": "/x"}),
            "src (or content) is required",
        ),
        (json!({"src": "a"}), "dest is required"),
        (
            json!({"content": "x", "dest": "/x/"}),
            "can not use content with a dir as dest",
        ),
        (
            json!({"src": "a", "content": "x", "dest": "/x"}),
            "src and content are mutually exclusive",
        ),
    ] {
        match ModuleCall::parse("copy", &args) {
            Err(e) => assert!(e.at_run_time && e.message == msg, "{args}: {e:?}"),
            Ok(c) => panic!("{args} parsed: {c:?}"),
        }
    }
}

#[tokio::test]
async fn copy_argument_errors() {
    assert!(arg_err("copy", json!({"content": "x"})).contains("dest"));
    assert!(arg_err("copy", json!({"dest": "/x"})).contains("src"));
    assert!(
        arg_err("copy", json!({"content": "x", "src": "y", "dest": "/x"}))
            .contains("mutually exclusive")
    );
    assert!(
        arg_err(
            "copy",
            json!({"content": "x", "dest": "/x", "mode": "0999"})
        )
        .contains("mode")
    );
    assert!(
        ModuleCall::parse(
            "copy",
            &json!({"content": "x", "dest": "/x", "owner": ["a"]})
        )
        .is_ok()
    );
    assert!(
        arg_err(
            "copy",
            json!({"content": "x", "dest": "/x", "validate": "visudo -c"})
        )
        .contains("%s")
    );
    assert!(
        arg_err(
            "copy",
            json!({"content": "x", "dest": "/x", "destination": "/y"})
        )
        .contains("destination")
    );
}

#[tokio::test]
async fn template_writes_rendered_text() {
    let t = T::new();
    let dest = t.p("nginx.conf");
    let args = json!({"src": "nginx.conf.j2", "dest": dest, "_rendered": "listen 80;\n", "trim_blocks": true});
    let c = t.check("template", args.clone()).await;
    assert!(c.changed && !t.path("nginx.conf").exists());
    assert_eq!(c.diff.expect("diff").after, "listen 80;\n");
    assert!(t.run("template", args.clone()).await.changed);
    assert_eq!(read(&t.path("nginx.conf")), "listen 80;\n");
    assert!(!t.run("template", args).await.changed);
    // The engine's way: parse, then attach the rendering.
    let call = ModuleCall::parse("template", &json!({"src": "a.j2", "dest": dest})).expect("parse");
    let ModuleCall::Template(a) = call else {
        panic!("not a template")
    };
    assert!(a.rendered.is_none());
    let a = a.with_rendered("listen 81;\n".into());
    let ctx = t.ctx(&t.remote, true);
    let r = ModuleCall::Template(a).run(&ctx).await;
    let d = r.diff.expect("diff");
    assert_eq!(
        (d.before.as_str(), d.after.as_str()),
        ("listen 80;\n", "listen 81;\n")
    );
    let r = t
        .run("template", json!({"src": "a.j2", "dest": dest}))
        .await;
    assert!(r.failed && r.msg.unwrap_or_default().contains("not rendered"));
}

// ---------- file ----------

#[tokio::test]
async fn file_directory_touch_absent() {
    let t = T::new();
    let d = t.p("a/b/c");
    let args = json!({"path": d, "state": "directory", "mode": "0750"});
    let c = t.check("file", args.clone()).await;
    assert!(c.changed && !t.path("a").exists());
    assert!(c.diff.expect("diff").after.contains("\"directory\""));
    let r = t.run("file", args.clone()).await;
    ok(&r);
    assert!(r.changed && t.path("a/b/c").is_dir());
    assert_eq!(mode_of(&t.path("a/b/c")), 0o750);
    assert!(!t.run("file", args.clone()).await.changed);
    // Mode change on an existing directory, then recurse.
    std::fs::write(t.path("a/b/c/f"), "").expect("write");
    let rec = json!({"path": t.p("a"), "state": "directory", "mode": "0755", "recurse": true});
    assert!(t.run("file", rec.clone()).await.changed);
    assert_eq!(mode_of(&t.path("a/b/c/f")), 0o755);
    assert!(!t.run("file", rec).await.changed);
    // touch: created, then (Ansible) changed each time unless times are preserved.
    let f = t.p("t");
    assert!(
        t.run("file", json!({"path": f, "state": "touch", "mode": "0600"}))
            .await
            .changed
    );
    assert_eq!(mode_of(&t.path("t")), 0o600);
    let keep = json!({"path": f, "state": "touch", "modification_time": "preserve", "access_time": "preserve"});
    assert!(!t.run("file", keep).await.changed);
    // Ansible's documented example: touch with a symbolic mode (from the default 0644).
    let sym = t.p("foo.conf");
    assert!(
        t.run(
            "file",
            json!({"path": sym, "state": "touch", "mode": "u+rw,g-wx,o-rwx"})
        )
        .await
        .changed
    );
    assert_eq!(mode_of(&t.path("foo.conf")), 0o640);
    // state=file only adjusts attributes, fails if missing.
    assert!(
        t.run("file", json!({"path": f, "mode": "u+x"}))
            .await
            .changed
    );
    assert_eq!(mode_of(&t.path("t")), 0o700);
    let r = t
        .run("file", json!({"path": t.p("missing"), "state": "file"}))
        .await;
    assert!(r.failed && r.msg.unwrap_or_default().contains("is absent"));
    // absent: check mode keeps it; then removed; then nothing to do.
    let gone = json!({"path": t.p("a"), "state": "absent"});
    assert!(t.check("file", gone.clone()).await.changed);
    assert!(t.path("a").exists());
    assert!(t.run("file", gone.clone()).await.changed);
    assert!(!t.path("a").exists());
    assert!(!t.run("file", gone).await.changed);
}

/// Whether `chattr` can set the `A` flag in `dir` (ext4 can; tmpfs and overlay cannot).
fn attributes_work_in(dir: &Path) -> bool {
    let probe = dir.join("attr-probe");
    std::fs::write(&probe, "").is_ok()
        && std::process::Command::new("chattr")
            .arg("+A")
            .arg(&probe)
            .output()
            .is_ok_and(|o| o.status.success() && o.stderr.is_empty())
}

/// `attributes` as `set_attributes_if_different` decides and applies it, and `stat`'s
/// `attributes`/`attr_flags`/`version`.
#[tokio::test]
async fn file_attributes_with_lsattr_and_chattr() {
    let t = T::new();
    if !attributes_work_in(t.dir.path()) {
        eprintln!(
            "skipped: chattr cannot set attributes under {:?}",
            t.dir.path()
        );
        return;
    }
    let f = t.p("a");
    std::fs::write(t.path("a"), "").expect("write");
    let flags = |t: &T| {
        let out = std::process::Command::new("lsattr")
            .arg("-d")
            .arg(t.path("a"))
            .output()
            .expect("lsattr");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .replace('-', "")
    };
    let before = flags(&t);
    // Check mode changes nothing and shows the flags before and the request after.
    let c = t
        .check("file", json!({"path": f, "attributes": "+A"}))
        .await;
    assert!(c.changed, "{c:?}");
    assert_eq!(flags(&t), before);
    let d = c.diff.expect("diff");
    assert!(d.after.contains("\"+A\""), "{d:?}");
    let r = t.run("file", json!({"path": f, "attributes": "+A"})).await;
    ok(&r);
    assert!(r.changed && flags(&t).contains('A'), "{r:?}");
    // The exact set again: unchanged.
    let exact = flags(&t);
    assert!(
        !t.run("file", json!({"path": f, "attr": exact}))
            .await
            .changed
    );
    // `-` always runs chattr; an empty request asks nothing.
    let r = t.run("file", json!({"path": f, "attributes": "-A"})).await;
    assert!(r.changed && !flags(&t).contains('A'), "{r:?}");
    assert!(
        !t.run("file", json!({"path": f, "attributes": ""}))
            .await
            .changed
    );
    // `stat` reports them as Ansible's does.
    t.run("file", json!({"path": f, "attributes": "+A"})).await;
    let st = t.run("stat", json!({"path": f})).await;
    let stat = &st.data["stat"];
    assert_eq!(stat["attr_flags"], json!(flags(&t)), "{stat}");
    assert!(
        stat["attributes"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("noatime"))),
        "{stat}"
    );
    assert!(stat["version"].is_string(), "{stat}");
    let no_attrs = t
        .run("stat", json!({"path": f, "get_attributes": false}))
        .await;
    assert!(no_attrs.data["stat"].get("attr_flags").is_none());
    // A flag chattr refuses fails as Ansible's does.
    let bad = t.run("file", json!({"path": f, "attributes": "=Q"})).await;
    assert!(bad.failed, "{bad:?}");
    assert_eq!(bad.msg.as_deref(), Some("chattr failed"));
    assert!(
        bad.data["details"]
            .as_str()
            .is_some_and(|d| d.starts_with("Error while setting attributes: ")),
        "{bad:?}"
    );
    t.run("file", json!({"path": f, "attributes": "-A"})).await;
    // With recurse: refused when the playbook is loaded, not half done.
    let rec = ModuleCall::parse(
        "file",
        &json!({"path": t.p(""), "state": "directory", "recurse": true, "attributes": "A"}),
    );
    assert!(rec.is_err_and(|e| e.message.contains("recurse")));
}

#[tokio::test]
async fn file_diff_peek_tells_whether_a_file_looks_binary() {
    let t = T::new();
    std::fs::write(t.path("text"), "plain\n").expect("write");
    let mut binary = vec![b'x'; 100];
    binary.push(0);
    std::fs::write(t.path("bin"), &binary).expect("write");
    // A NUL after the first 8192 bytes is not looked at.
    let mut late = vec![b'x'; 9000];
    late.push(0);
    std::fs::write(t.path("late"), &late).expect("write");
    for (name, want) in [
        ("text", false),
        ("bin", true),
        ("late", false),
        ("missing", false),
    ] {
        let r = t
            .run("file", json!({"path": t.p(name), "_diff_peek": true}))
            .await;
        ok(&r);
        assert!(!r.changed, "{name}");
        assert_eq!(r.data.get("appears_binary"), Some(&json!(want)), "{name}");
        assert_eq!(r.data.get("path"), Some(&json!(t.p(name))), "{name}");
    }
}

#[tokio::test]
async fn file_links() {
    let t = T::new();
    std::fs::write(t.path("target"), "x").expect("write");
    let link = json!({"src": t.p("target"), "dest": t.p("l"), "state": "link"});
    assert!(t.check("file", link.clone()).await.changed);
    assert!(std::fs::symlink_metadata(t.path("l")).is_err());
    assert!(t.run("file", link.clone()).await.changed);
    assert_eq!(
        std::fs::read_link(t.path("l")).expect("link"),
        t.path("target")
    );
    assert!(!t.run("file", link).await.changed);
    // Relative src, resolved from the link's directory.
    let rel = json!({"src": "target", "path": t.p("rel"), "state": "link"});
    assert!(t.run("file", rel.clone()).await.changed);
    assert_eq!(read(&t.path("rel")), "x");
    assert!(!t.run("file", rel).await.changed);
    // A file in the way: refused without force.
    std::fs::write(t.path("busy"), "y").expect("write");
    let r = t
        .run(
            "file",
            json!({"src": t.p("target"), "path": t.p("busy"), "state": "link"}),
        )
        .await;
    assert!(r.failed && r.msg.unwrap_or_default().contains("refusing"));
    assert!(
        t.run(
            "file",
            json!({"src": t.p("target"), "path": t.p("busy"), "state": "link", "force": true})
        )
        .await
        .changed
    );
    // Missing src needs force.
    let r = t
        .run(
            "file",
            json!({"src": t.p("nope"), "path": t.p("dangling"), "state": "link"}),
        )
        .await;
    assert!(r.failed);
    assert!(
        t.run(
            "file",
            json!({"src": t.p("nope"), "path": t.p("dangling"), "state": "link", "force": true})
        )
        .await
        .changed
    );
    // Hard links.
    let hard = json!({"src": t.p("target"), "path": t.p("h"), "state": "hard"});
    assert!(t.run("file", hard.clone()).await.changed);
    assert!(!t.run("file", hard).await.changed);
    // A link without src, or src with another state: the module's own failures, at run time.
    let no_src = t
        .run("file", json!({"path": t.p("x"), "state": "link"}))
        .await;
    assert_eq!(
        no_src.msg.as_deref(),
        Some("src is required for creating new symlinks")
    );
    std::fs::write(t.path("plain"), "").expect("write");
    let no_state = t
        .run("file", json!({"path": t.p("plain"), "src": t.p("h")}))
        .await;
    assert_eq!(
        no_state.msg.as_deref(),
        Some("src option requires state to be 'link' or 'hard'"),
        "{no_state:?}"
    );
    let src_file = ModuleCall::parse("file", &json!({"path": "/x", "src": "/y", "state": "file"}));
    assert!(src_file.is_err_and(|e| e.at_run_time && e.message.contains("'link' or 'hard'")));
    assert!(arg_err("file", json!({"path": "/x", "state": "present"})).contains("one of"));
    assert!(
        arg_err(
            "file",
            json!({"path": "/x", "state": "file", "recurse": true})
        )
        .contains("recurse")
    );
}

// ---------- lineinfile ----------

#[tokio::test]
async fn lineinfile_present_absent_diff_check() {
    let t = T::new();
    let f = t.p("sshd_config");
    std::fs::write(&f, "Port 22\nPermitRootLogin yes\n").expect("write");
    let args = json!({"path": f, "regexp": "^PermitRootLogin", "line": "PermitRootLogin no"});
    let c = t.check("lineinfile", args.clone()).await;
    assert!(c.changed);
    let d = c.diff.expect("diff");
    assert_eq!(d.after, "Port 22\nPermitRootLogin no\n");
    assert_eq!(d.before, "Port 22\nPermitRootLogin yes\n");
    assert_eq!(read(Path::new(&f)), "Port 22\nPermitRootLogin yes\n");
    let r = t.run("lineinfile", args.clone()).await;
    assert!(r.changed && !r.failed);
    assert_eq!(r.msg.as_deref(), Some("line replaced"));
    assert_eq!(read(Path::new(&f)), "Port 22\nPermitRootLogin no\n");
    assert!(!t.run("lineinfile", args).await.changed);
    // Insert after a match.
    let ins = json!({"path": f, "line": "ListenAddress 0.0.0.0", "insertafter": "^Port"});
    assert_eq!(
        t.run("lineinfile", ins.clone()).await.msg.as_deref(),
        Some("line added")
    );
    assert_eq!(
        read(Path::new(&f)),
        "Port 22\nListenAddress 0.0.0.0\nPermitRootLogin no\n"
    );
    assert!(!t.run("lineinfile", ins).await.changed);
    // Absent.
    let del = json!({"path": f, "regexp": "^Listen", "state": "absent"});
    let r = t.run("lineinfile", del.clone()).await;
    assert_eq!(r.msg.as_deref(), Some("1 line(s) removed"));
    assert_eq!(r.data["found"], json!(1));
    assert!(!t.run("lineinfile", del).await.changed);
    // create: missing file (and directory) created; without create a failure.
    let newf = t.p("new/dir/hosts");
    let r = t
        .run("lineinfile", json!({"path": newf, "line": "127.0.0.1 x"}))
        .await;
    assert!(r.failed && r.msg.unwrap_or_default().contains("does not exist"));
    let cr = json!({"path": newf, "line": "127.0.0.1 x", "create": true, "mode": "0644"});
    assert!(t.check("lineinfile", cr.clone()).await.changed);
    assert!(!t.path("new").exists());
    assert!(t.run("lineinfile", cr.clone()).await.changed);
    assert_eq!(read(Path::new(&newf)), "127.0.0.1 x\n");
    assert!(!t.run("lineinfile", cr).await.changed);
    // Mode-only changes are changes too.
    let r = t
        .run(
            "lineinfile",
            json!({"path": newf, "line": "127.0.0.1 x", "mode": "0600"}),
        )
        .await;
    assert!(r.changed);
    assert_eq!(mode_of(Path::new(&newf)), 0o600);
    // Ansible's documented example: backrefs.
    std::fs::write(&f, "ExecStart=/usr/bin/app --debug\n").expect("write");
    let br = json!({"path": f, "regexp": "^(ExecStart=\\S+)\\s+--debug$", "line": "\\1 --quiet", "backrefs": true});
    assert!(t.run("lineinfile", br.clone()).await.changed);
    assert_eq!(read(Path::new(&f)), "ExecStart=/usr/bin/app --quiet\n");
    assert!(!t.run("lineinfile", br).await.changed);
    assert!(arg_err("lineinfile", json!({"path": f, "line": "x", "nope": 1})).contains("nope"));
    assert!(arg_err("lineinfile", json!({"line": "x"})).contains("path"));
}

// ---------- blockinfile / replace ----------

/// Runs `module` on a [`Wrapped`] local shell: the result and how many round trips it took.
async fn counted(t: &T, module: &str, args: Value, check: bool) -> (ModuleResult, usize) {
    let w = Wrapped::new(None);
    let call = ModuleCall::parse(module, &args).unwrap_or_else(|e| panic!("{module}: {e}"));
    let ctx = ModuleContext {
        check_mode: check,
        ..t.ctx(&w, false)
    };
    let r = call.run(&ctx).await;
    let n = w.lines.lock().map(|l| l.len()).unwrap_or_default();
    (r, n)
}

#[tokio::test]
async fn lineinfile_backrefs_in_the_pattern_and_the_empty_pattern_warning() {
    let t = T::new();
    let f = t.p("f.txt");
    std::fs::write(t.path("f.txt"), "REF x REF\nREF y FER\n").expect("write");
    // ansible-core's lineinfile target: a pattern with a backreference (fancy-regex).
    let args = json!({"path": f, "regexp": "^(REF) .* \\1$", "line": "[\\1]", "backrefs": true});
    let r = t.run("lineinfile", args.clone()).await;
    ok(&r);
    assert!(r.changed);
    assert_eq!(
        std::fs::read_to_string(t.path("f.txt")).unwrap_or_default(),
        "[REF]\nREF y FER\n"
    );
    assert!(!t.run("lineinfile", args).await.changed);
    // An empty regexp matches every line: Ansible's warning, with the result.
    let r = t
        .run(
            "lineinfile",
            json!({"path": f, "regexp": "", "line": "last"}),
        )
        .await;
    ok(&r);
    assert!(
        r.warnings[0].starts_with("The regular expression is an empty string"),
        "{:?}",
        r.warnings
    );
    let r = t
        .run(
            "lineinfile",
            json!({"path": f, "search_string": "", "line": "last"}),
        )
        .await;
    assert!(
        r.warnings[0].starts_with("The search string is an empty string"),
        "{:?}",
        r.warnings
    );
    let r = t
        .run("lineinfile", json!({"path": f, "line": "other"}))
        .await;
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[tokio::test]
async fn blockinfile_query_then_apply() {
    let t = T::new();
    let f = t.p("hosts");
    std::fs::write(&f, "127.0.0.1 localhost\n").expect("write");
    let args = json!({"path": f, "block": "10.0.0.1 db\n10.0.0.2 web", "backup": true});
    // Check mode: the change and the diff, nothing written, one round trip.
    let (c, n) = counted(&t, "blockinfile", args.clone(), true).await;
    assert!(c.changed && n == 1, "{c:?} {n}");
    assert_eq!(read(Path::new(&f)), "127.0.0.1 localhost\n");
    let (r, n) = counted(&t, "blockinfile", args.clone(), false).await;
    assert!(r.changed && n == 2, "{r:?} {n}");
    assert_eq!(r.msg.as_deref(), Some("Block inserted"));
    assert_eq!(
        read(Path::new(&f)),
        "127.0.0.1 localhost\n# BEGIN ANSIBLE MANAGED BLOCK\n10.0.0.1 db\n10.0.0.2 web\n# END ANSIBLE MANAGED BLOCK\n"
    );
    // The backup holds the old text.
    let backup = r.data["backup_file"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(read(Path::new(&backup)), "127.0.0.1 localhost\n");
    // Unchanged: one round trip, no backup.
    let (again, n) = counted(&t, "blockinfile", args, false).await;
    assert!(!again.changed && n == 1 && !again.data.contains_key("backup_file"));
    // A failing validate leaves the file alone.
    let before = read(Path::new(&f));
    let r = t
        .run(
            "blockinfile",
            json!({"path": f, "block": "x", "marker": "# {mark} v", "validate": "false %s"}),
        )
        .await;
    assert!(r.failed && r.msg.unwrap_or_default().contains("failed to validate"));
    assert_eq!(read(Path::new(&f)), before);
    // Through a symlink: the target is edited, the link stays.
    std::os::unix::fs::symlink(&f, t.path("link")).expect("symlink");
    let r = t
        .run(
            "blockinfile",
            json!({"path": t.p("link"), "state": "absent"}),
        )
        .await;
    assert_eq!(r.msg.as_deref(), Some("Block removed"));
    assert_eq!(read(Path::new(&f)), "127.0.0.1 localhost\n");
    assert!(t.path("link").is_symlink());
    assert!(arg_err("blockinfile", json!({"path": f, "nope": 1})).contains("nope"));
}

#[tokio::test]
async fn replace_query_then_apply() {
    let t = T::new();
    let f = t.p("app.conf");
    std::fs::write(&f, "host=a.example\nport=80\nhost=b.example\n").expect("write");
    let args =
        json!({"path": f, "regexp": "^host=(\\w+)\\.example$", "replace": "host=\\1.internal"});
    let c = t.check("replace", args.clone()).await;
    assert!(c.changed);
    assert_eq!(c.msg.as_deref(), Some("2 replacements made"));
    let d = c.diff.expect("diff");
    assert_eq!(d.after, "host=a.internal\nport=80\nhost=b.internal\n");
    assert_eq!(d.before_header.as_deref(), Some(f.as_str()));
    assert_eq!(
        read(Path::new(&f)),
        "host=a.example\nport=80\nhost=b.example\n"
    );
    let (r, n) = counted(&t, "replace", args.clone(), false).await;
    assert!(r.changed && n == 2 && r.rc == Some(0), "{r:?} {n}");
    assert_eq!(
        read(Path::new(&f)),
        "host=a.internal\nport=80\nhost=b.internal\n"
    );
    let (again, n) = counted(&t, "replace", args, false).await;
    assert!(!again.changed && n == 1 && again.msg.as_deref() == Some(""));
    // A failing validate leaves the file alone.
    let r = t
        .run(
            "replace",
            json!({"path": f, "regexp": "80", "replace": "81", "validate": "false %s"}),
        )
        .await;
    assert!(r.failed);
    assert!(read(Path::new(&f)).contains("port=80"));
    // Only the mode: one chmod.
    let (r, n) = counted(
        &t,
        "replace",
        json!({"path": f, "regexp": "nothing", "mode": "0600"}),
        false,
    )
    .await;
    assert!(r.changed && n == 2, "{r:?} {n}");
    assert_eq!(
        r.msg.as_deref(),
        Some("ownership, perms or SE linux context changed")
    );
    assert_eq!(mode_of(Path::new(&f)), 0o600);
    assert!(arg_err("replace", json!({"path": f})).contains("regexp"));
    assert!(
        arg_err(
            "replace",
            json!({"path": f, "regexp": "a", "encoding": "latin-1"})
        )
        .contains("utf-8")
    );
}

// ---------- stat / slurp / fetch ----------

#[tokio::test]
async fn stat_reports_like_ansible() {
    let t = T::new();
    std::fs::write(t.path("f"), "hello\n").expect("write");
    std::os::unix::fs::symlink(t.path("f"), t.path("l")).expect("symlink");
    let r = t.run("stat", json!({"path": t.p("f")})).await;
    ok(&r);
    let s = &r.data["stat"];
    assert_eq!(s["exists"], json!(true));
    assert_eq!(s["isreg"], json!(true));
    assert_eq!(s["size"], json!(6));
    assert_eq!(
        s["checksum"],
        json!("f572d396fae9206628714fb2ce00f72e94f2258f")
    );
    assert_eq!(s["mode"], json!(format!("{:04o}", mode_of(&t.path("f")))));
    // mimetype/charset from the host's `file` (Ansible's `unknown` without it).
    let has_file = std::process::Command::new("sh")
        .args(["-c", "command -v file"])
        .output()
        .is_ok_and(|o| o.status.success());
    let (mimetype, charset) = if has_file {
        ("text/plain", "us-ascii")
    } else {
        ("unknown", "unknown")
    };
    assert_eq!(s["mimetype"], json!(mimetype), "{s}");
    assert_eq!(s["charset"], json!(charset), "{s}");
    let r = t
        .run("stat", json!({"path": t.p("f"), "get_mime": false}))
        .await;
    assert!(r.data["stat"].get("mimetype").is_none(), "{r:?}");
    let r = t
        .run(
            "stat",
            json!({"path": t.p("f"), "checksum_algorithm": "sha256"}),
        )
        .await;
    assert_eq!(
        r.data["stat"]["checksum"],
        json!("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")
    );
    let r = t.run("stat", json!({"path": t.p("l")})).await;
    assert_eq!(r.data["stat"]["islnk"], json!(true));
    assert_eq!(r.data["stat"]["lnk_target"], json!(t.p("f")));
    let r = t
        .run("stat", json!({"path": t.p("l"), "follow": true}))
        .await;
    assert_eq!(r.data["stat"]["isreg"], json!(true));
    let r = t.run("stat", json!({"path": t.p("")})).await;
    assert_eq!(r.data["stat"]["isdir"], json!(true));
    let r = t.run("stat", json!({"path": t.p("missing")})).await;
    assert!(!r.changed && !r.failed);
    assert_eq!(r.data["stat"], json!({"exists": false}));
    assert_eq!(r.to_registered()["stat"]["exists"], json!(false));
    assert!(arg_err("stat", json!({"path": "/x", "checksum_algorithm": "crc"})).contains("one of"));
}

#[tokio::test]
async fn slurp_base64() {
    let t = T::new();
    std::fs::write(t.path("f"), [0u8, b'h', b'i', 10]).expect("write");
    let r = t.run("slurp", json!({"src": t.p("f")})).await;
    ok(&r);
    assert_eq!(r.data["content"], json!("AGhpCg=="));
    assert_eq!(r.data["encoding"], json!("base64"));
    // slurp.py's messages, by errno.
    let r = t.run("slurp", json!({"path": t.p("nope")})).await;
    assert!(r.failed, "{r:?}");
    assert_eq!(r.msg, Some(format!("File not found: {}", t.p("nope"))));
    let r = t.run("slurp", json!({"path": t.p("")})).await;
    assert!(r.failed, "{r:?}");
    assert_eq!(
        r.msg,
        Some(format!(
            "Source is a directory and must be a file: {}",
            t.p("")
        ))
    );
    let r = t.run("slurp", json!({"path": t.p("f/x")})).await;
    assert_eq!(r.msg.as_deref(), Some("Unable to slurp file: {source}"));
}

#[tokio::test]
async fn ping_answers_data_and_changes_nothing() {
    let t = T::new();
    let r = t.run("ping", json!({})).await;
    ok(&r);
    assert!(!r.changed);
    assert_eq!(r.data["ping"], json!("pong"));
    let r = t.check("ping", json!({"data": "hello"})).await;
    assert!(!r.changed && !r.failed);
    assert_eq!(r.data["ping"], json!("hello"));
    let r = t.run("ping", json!({"data": "crash"})).await;
    assert!(
        r.failed && r.msg.as_deref() == Some("Task failed: Module failed: boom"),
        "{r:?}"
    );
    assert!(arg_err("ping", json!({"dat": 1})).contains("dat"));
}

#[tokio::test]
async fn tempfile_creates_files_and_directories_like_ansible() {
    let t = T::new();
    let r = t
        .run("tempfile", json!({"path": t.p(""), "suffix": ".test"}))
        .await;
    ok(&r);
    assert!(r.changed);
    let path = r.data["path"].as_str().expect("path").to_owned();
    let name = Path::new(&path)
        .file_name()
        .expect("name")
        .to_string_lossy();
    // Python's mkstemp: prefix, 8 random characters, suffix; mode 0600.
    assert!(
        name.starts_with("ansible.") && name.ends_with(".test"),
        "{name}"
    );
    assert_eq!(name.len(), "ansible.".len() + 8 + ".test".len());
    assert!(Path::new(&path).is_file());
    assert_eq!(mode_of(Path::new(&path)), 0o600);
    assert_eq!(r.data["state"], json!("file"));
    assert_eq!(r.data["mode"], json!("0600"));
    assert_eq!(r.data["size"], json!(0));
    for key in ["uid", "gid", "owner", "group"] {
        assert!(r.data.get(key).is_some(), "{key} missing: {r:?}");
    }
    let r = t
        .run(
            "tempfile",
            json!({"state": "directory", "path": t.p(""), "prefix": "cf-"}),
        )
        .await;
    ok(&r);
    let dir = r.data["path"].as_str().expect("path").to_owned();
    assert!(Path::new(&dir).is_dir());
    assert_eq!(mode_of(Path::new(&dir)), 0o700);
    assert_eq!(r.data["state"], json!("directory"));
    // Check mode: skipped (Ansible's module does not support it), nothing made.
    let before = std::fs::read_dir(t.dir.path()).expect("ls").count();
    let c = t.check("tempfile", json!({"path": t.p("")})).await;
    assert!(c.skipped_check_mode && !c.changed && !c.failed, "{c:?}");
    assert_eq!(std::fs::read_dir(t.dir.path()).expect("ls").count(), before);
    let r = t.run("tempfile", json!({"path": t.p("missing")})).await;
    assert!(r.failed, "{r:?}");
    let bad = arg_err("tempfile", json!({"prefix": "a/b"}));
    assert!(
        bad.contains("prefix must be a valid file name component, got 'a/b'"),
        "{bad}"
    );
}

#[tokio::test]
async fn fetch_to_host_dirs_and_flat() {
    let t = T::new();
    std::fs::create_dir(t.path("remote")).expect("mkdir");
    std::fs::write(t.path("remote/app.log"), "line\n").expect("write");
    let src = t.p("remote/app.log");
    let args = json!({"src": src, "dest": "out"});
    let c = t.check("fetch", args.clone()).await;
    assert!(c.changed && !t.path("out").exists());
    let r = t.run("fetch", args.clone()).await;
    ok(&r);
    assert!(r.changed);
    let local = t.path("out/web1").join(src.trim_start_matches('/'));
    assert_eq!(read(&local), "line\n");
    assert_eq!(r.data["dest"], json!(local.display().to_string()));
    assert!(!t.run("fetch", args).await.changed);
    let flat = json!({"src": src, "dest": "flat/", "flat": true});
    assert!(t.run("fetch", flat.clone()).await.changed);
    assert_eq!(read(&t.path("flat/app.log")), "line\n");
    assert!(!t.run("fetch", flat).await.changed);
    let r = t
        .run("fetch", json!({"src": t.p("nope"), "dest": "out"}))
        .await;
    assert!(r.failed && r.msg.unwrap_or_default().contains("does not exist"));
    let r = t
        .run(
            "fetch",
            json!({"src": t.p("nope"), "dest": "out", "fail_on_missing": false}),
        )
        .await;
    assert!(!r.failed && !r.changed);
}

// ---------- the output limit ----------

#[tokio::test]
async fn commands_past_the_limit_keep_head_and_tail_and_fail() {
    let t = T::with_limit("1KiB");
    let loud = "printf HEAD; head -c 100000 /dev/zero | tr '\\0' o; printf TAIL; echo warn >&2";
    for module in ["shell", "raw"] {
        let r = t.run(module, json!({"_raw_params": loud})).await;
        assert!(r.failed && r.changed, "{module}: {r:?}");
        assert_eq!(r.rc, Some(0), "the command itself succeeded");
        let msg = r.msg.clone().unwrap_or_default();
        assert!(
            msg.starts_with(
                "stdout was 100008 bytes (97.7 KiB), more than the output limit of 1KiB per stream"
            ) && msg.contains("98984 bytes between them were dropped")
                && msg.ends_with("--max-output SIZE or the clearfleet_max_output variable"),
            "{module}: {msg}"
        );
        let stdout = r.stdout.clone().unwrap_or_default();
        let expected = format!(
            "HEAD{}\n[... clearfleet dropped 98984 bytes of stdout ...]\n{}TAIL",
            "o".repeat(508),
            "o".repeat(508)
        );
        assert_eq!(stdout, expected, "{module}");
        assert_eq!(
            r.stderr.as_deref().map(str::trim_end),
            Some("warn"),
            "{module}"
        );
        let reg = r.to_registered();
        assert_eq!(reg["stdout_dropped"], json!(98984), "{module}");
        assert!(reg.get("stderr_dropped").is_none(), "{module}");
        assert_eq!(
            reg["stdout_lines"][1],
            json!("[... clearfleet dropped 98984 bytes of stdout ...]")
        );
    }
    // Within the limit: as ever.
    let r = t.run("shell", json!({"cmd": "echo small"})).await;
    ok(&r);
    assert!(r.to_registered().get("stdout_dropped").is_none());
}

#[tokio::test]
async fn modules_that_read_content_never_take_a_cut_one_and_fetch_takes_it_all() {
    let t = T::with_limit("1KiB");
    let big: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
    std::fs::write(t.path("big"), &big).expect("write");
    // slurp: no content at all rather than part of it.
    let r = t.run("slurp", json!({"src": t.p("big")})).await;
    assert!(r.failed && r.data.get("content").is_none(), "{r:?}");
    let msg = r.msg.clone().unwrap_or_default();
    assert!(
        msg.contains("stdout was") && msg.contains("--max-output"),
        "{msg}"
    );
    assert!(
        r.data["stdout_dropped"].as_u64().is_some_and(|d| d > 0),
        "{r:?}"
    );
    // lineinfile reads the file it edits: it fails and leaves the file alone.
    let r = t
        .run("lineinfile", json!({"path": t.p("big"), "line": "added"}))
        .await;
    assert!(r.failed && !r.changed, "{r:?}");
    assert_eq!(read(&t.path("big")), big);
    // fetch writes the file as it comes, whatever the limit.
    let r = t
        .run(
            "fetch",
            json!({"src": t.p("big"), "dest": "out", "flat": true}),
        )
        .await;
    ok(&r);
    assert!(r.changed);
    assert_eq!(read(&t.path("out")), big);
    assert!(
        !t.run(
            "fetch",
            json!({"src": t.p("big"), "dest": "out", "flat": true})
        )
        .await
        .changed
    );
    // A small file is slurped as ever.
    std::fs::write(t.path("small"), "hi\n").expect("write");
    let r = t.run("slurp", json!({"src": t.p("small")})).await;
    ok(&r);
    assert_eq!(r.data["content"], json!("aGkK"));
}

// ---------- a tiny HTTP server on 127.0.0.1 ----------

/// Serves canned responses; records each request's head.
fn http_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body_len) = loop {
                let Ok(n) = s.read(&mut chunk) else {
                    break (String::new(), 0);
                };
                if n == 0 {
                    break (String::from_utf8_lossy(&buf).into_owned(), 0);
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..i]).into_owned();
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0usize);
                    while buf.len() < i + 4 + len {
                        match s.read(&mut chunk) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    break (String::from_utf8_lossy(&buf).into_owned(), len);
                }
            };
            let _ = body_len;
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
            if let Ok(mut l) = log.lock() {
                l.push(head.clone());
            }
            let (status, ctype, body): (&str, &str, Vec<u8>) = match path.as_str() {
                "/json" => (
                    "200 OK",
                    "application/json",
                    br#"{"ok": true, "n": [1, 2]}"#.to_vec(),
                ),
                "/file.txt" => ("200 OK", "text/plain", b"hello world\n".to_vec()),
                "/auth" if head.contains("Authorization: Basic dTpzM2NyZXQ=") => {
                    ("200 OK", "text/plain", b"welcome".to_vec())
                }
                "/auth" => ("401 Unauthorized", "text/plain", b"no".to_vec()),
                "/echo" => (
                    "201 Created",
                    "text/plain",
                    head.split("\r\n\r\n")
                        .nth(1)
                        .unwrap_or("")
                        .as_bytes()
                        .to_vec(),
                ),
                "/redirect" => ("302 Found", "text/plain", Vec::new()),
                _ => ("404 Not Found", "text/plain", b"missing".to_vec()),
            };
            let extra = if path == "/redirect" {
                "Location: /json\r\n"
            } else {
                ""
            };
            let resp = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nX-Test-Header: yes\r\n{extra}Connection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    (port, seen)
}

#[tokio::test]
async fn uri_status_json_headers_auth_body() {
    let t = T::new();
    let (port, seen) = http_server();
    let base = format!("http://127.0.0.1:{port}");
    let r = t.run("uri", json!({"url": format!("{base}/json")})).await;
    ok(&r);
    assert!(!r.changed);
    assert_eq!(r.data["status"], json!(200));
    assert_eq!(r.data["json"], json!({"ok": true, "n": [1, 2]}));
    assert_eq!(r.data["x_test_header"], json!("yes"));
    assert_eq!(r.data["content_type"], json!("application/json"));
    assert!(r.data.get("content").is_none());
    assert_eq!(r.msg.as_deref(), Some("OK (25 bytes)"));
    let r = t
        .run(
            "uri",
            json!({"url": format!("{base}/missing"), "return_content": true}),
        )
        .await;
    assert!(r.failed);
    assert_eq!(r.data["status"], json!(404));
    assert_eq!(r.data["content"], json!("missing"));
    assert_eq!(
        r.msg.as_deref(),
        Some("Status code was 404 and not [200]: HTTP Error 404: Not Found")
    );
    let r = t
        .run(
            "uri",
            json!({"url": format!("{base}/missing"), "status_code": [200, 404]}),
        )
        .await;
    assert!(!r.failed);
    let r = t
        .run("uri", json!({"url": format!("{base}/redirect")}))
        .await;
    assert_eq!(r.data["status"], json!(200));
    assert_eq!(r.data["redirected"], json!(true));
    // Basic auth: the password reaches the server, never the command line or the result.
    let r = t.run("uri", json!({"url": format!("{base}/auth"), "url_username": "u", "url_password": "s3cret", "return_content": true})).await;
    ok(&r);
    assert_eq!(r.data["content"], json!("welcome"));
    assert!(
        !serde_json::to_string(&r.to_registered())
            .unwrap_or_default()
            .contains("s3cret")
    );
    // JSON body.
    let r = t.run("uri", json!({"url": format!("{base}/echo"), "method": "POST", "body_format": "json", "body": {"a": 1}, "status_code": 201, "return_content": true})).await;
    ok(&r);
    assert_eq!(r.data["content"], json!("{\"a\":1}"));
    let last = seen
        .lock()
        .map(|l| l.last().cloned().unwrap_or_default())
        .unwrap_or_default();
    assert!(
        last.starts_with("POST /echo") && last.contains("Content-Type: application/json"),
        "{last}"
    );
    // Connection refused: failed with status -1.
    let dead = TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_port = dead.local_addr().expect("addr").port();
    drop(dead);
    let r = t
        .run(
            "uri",
            json!({"url": format!("http://127.0.0.1:{dead_port}/"), "timeout": 5}),
        )
        .await;
    assert!(r.failed && r.msg.unwrap_or_default().contains("Status code was -1"));
    // Check mode: no request.
    let n = seen.lock().map(|l| l.len()).unwrap_or(0);
    let c = t.check("uri", json!({"url": format!("{base}/json")})).await;
    assert!(c.skipped_check_mode);
    assert_eq!(seen.lock().map(|l| l.len()).unwrap_or(0), n);
    assert!(arg_err("uri", json!({"url": "file:///etc/passwd"})).contains("http"));
    assert!(
        arg_err(
            "uri",
            json!({"url": format!("{base}/"), "status_code": "x"})
        )
        .contains("status_code")
    );
}

#[tokio::test]
async fn get_url_downloads_once() {
    let t = T::new();
    let (port, seen) = http_server();
    let url = format!("http://127.0.0.1:{port}/file.txt");
    let dest = t.p("file.txt");
    let args = json!({"url": url, "dest": dest, "mode": "0600", "headers": {"X-Token": "abc"}});
    let c = t.check("get_url", args.clone()).await;
    assert!(c.changed && !t.path("file.txt").exists());
    let r = t.run("get_url", args.clone()).await;
    ok(&r);
    assert!(r.changed);
    assert_eq!(read(&t.path("file.txt")), "hello world\n");
    assert_eq!(mode_of(&t.path("file.txt")), 0o600);
    assert!(
        seen.lock()
            .map(|l| l.iter().any(|h| h.contains("X-Token: abc")))
            .unwrap_or(false)
    );
    // An existing dest without `checksum`: get_url.py asks again with `If-Modified-Since`
    // (this server ignores it and sends the file), and the same content changes nothing.
    let n = seen.lock().map(|l| l.len()).unwrap_or(0);
    let r = t.run("get_url", args).await;
    assert!(!r.changed && !r.failed, "{r:?}");
    let asked = seen.lock().map(|l| l.clone()).unwrap_or_default();
    assert_eq!(asked.len(), n + 1, "one request again");
    assert!(
        asked
            .last()
            .is_some_and(|h| h.to_ascii_lowercase().contains("if-modified-since:")),
        "{asked:?}"
    );
    // checksum: matches → no download; force with same content → not changed.
    let sha = "sha256:a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447";
    let r = t
        .run(
            "get_url",
            json!({"url": url, "dest": dest, "checksum": sha}),
        )
        .await;
    assert!(!r.changed && !r.failed, "{r:?}");
    let r = t
        .run("get_url", json!({"url": url, "dest": dest, "force": true}))
        .await;
    assert!(!r.changed && !r.failed, "{r:?}");
    // Wrong checksum: failure, dest untouched.
    let r = t.run("get_url", json!({"url": url, "dest": t.p("other.txt"), "checksum": "sha1:0000000000000000000000000000000000000000"})).await;
    assert!(r.failed && r.msg.unwrap_or_default().contains("did not match"));
    assert!(!t.path("other.txt").exists());
    // Directory dest: file name from the URL.
    std::fs::create_dir(t.path("dl")).expect("mkdir");
    assert!(
        t.run("get_url", json!({"url": url, "dest": t.p("dl")}))
            .await
            .changed
    );
    assert_eq!(read(&t.path("dl/file.txt")), "hello world\n");
    let r = t
        .run(
            "get_url",
            json!({"url": format!("http://127.0.0.1:{port}/missing"), "dest": t.p("m")}),
        )
        .await;
    assert!(r.failed && r.msg.unwrap_or_default().contains("Request failed"));
}

#[tokio::test]
async fn wait_for_port_and_path() {
    let t = T::new();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let r = t.run("wait_for", json!({"port": port, "timeout": 5})).await;
    ok(&r);
    assert!(!r.changed);
    assert_eq!(r.data["port"], json!(port));
    drop(listener);
    let r = t
        .run(
            "wait_for",
            json!({"port": port, "state": "stopped", "timeout": 5}),
        )
        .await;
    ok(&r);
    let r = t
        .run(
            "wait_for",
            json!({"host": "127.0.0.1", "port": port, "timeout": 1, "sleep": 0.2}),
        )
        .await;
    assert!(r.failed);
    assert_eq!(
        r.msg.as_deref(),
        Some(format!("Timeout when waiting for 127.0.0.1:{port}").as_str())
    );
    // `elapsed` is the host's count of whole seconds from before `delay`, as wait_for.py's
    // (the `wait_for` target asserts `elapsed == 3` after `timeout: 3`), never the SSH round
    // trip on top.
    assert_eq!(r.data["elapsed"], json!(1), "{:?}", r.data);
    let r = t
        .run(
            "wait_for",
            json!({"port": port, "timeout": 2, "delay": 1, "sleep": 0.3}),
        )
        .await;
    assert!(r.failed);
    assert_eq!(r.data["elapsed"], json!(2), "{:?}", r.data);
    // Nothing to wait for: `delay`, then `timeout` (the target's `elapsed >= 4`).
    let r = t.run("wait_for", json!({"timeout": 1, "delay": 1})).await;
    ok(&r);
    assert_eq!(r.data["elapsed"], json!(2), "{:?}", r.data);
    // Path appears later; search_regex with groups.
    let f = t.p("ready");
    let f2 = f.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(700));
        let _ = std::fs::write(f2, "booting\nlistening on port 8080\n");
    });
    let r = t
        .run(
            "wait_for",
            json!({"path": f, "search_regex": "port (\\d+)", "timeout": 10, "sleep": 0.2}),
        )
        .await;
    ok(&r);
    assert_eq!(r.data["match_groups"], json!(["8080"]));
    let r = t
        .run(
            "wait_for",
            json!({"path": f, "state": "absent", "timeout": 1, "msg": "still there"}),
        )
        .await;
    assert!(r.failed);
    assert_eq!(r.msg.as_deref(), Some("still there"));
    // Runs in check mode as well (it changes nothing).
    assert!(
        !t.check("wait_for", json!({"path": f, "timeout": 1}))
            .await
            .failed
    );
    assert!(arg_err("wait_for", json!({"port": 70000})).contains("port"));
    assert!(arg_err("wait_for", json!({"port": 1, "path": "/x"})).contains("both"));
}

// ---------- registry, results, injection ----------

#[tokio::test]
async fn registry_and_registered_shape() {
    // `set_fact` and `add_host` take any name (a variable); `package` hands its arguments to
    // the module it picks on the host, which checks them; `validate_argument_spec`'s action
    // takes any (validate_argument_spec.py checks only `argument_spec`).
    for m in clearfleet_modules::MODULES.iter().filter(|m| {
        !matches!(
            **m,
            "set_fact" | "add_host" | "package" | "validate_argument_spec"
        )
    }) {
        assert!(
            validate_args(m, &json!({"definitely_not_a_key": 1})).is_err(),
            "{m}"
        );
    }
    assert!(
        validate_args(
            "copy",
            &json!({"content": "{{ x }}", "dest": "{{ d }}", "mode": "{{ m }}"})
        )
        .is_ok()
    );
    assert!(validate_args("command", &json!({"_raw_params": "ls creates=/x"})).is_ok());
    assert!(validate_args("nope", &json!({})).is_err());
    let e = ModuleCall::parse("file", &json!({"path": "/x", "colour": "red"}))
        .expect_err("unknown key");
    assert_eq!(e.field.as_deref(), Some("colour"));
    let t = T::new();
    let r = t.run("command", json!({"argv": ["echo", "a"]})).await;
    let reg = r.to_registered();
    for k in [
        "changed",
        "failed",
        "rc",
        "stdout",
        "stdout_lines",
        "stderr",
        "stderr_lines",
        "msg",
        "cmd",
        "start",
        "end",
        "delta",
    ] {
        assert!(reg.get(k).is_some(), "{k} missing from {reg}");
    }
    assert_eq!(reg["stdout_lines"], json!(["a"]));
}

#[tokio::test]
async fn hostile_values_never_run_a_second_command() {
    let t = T::new();
    let canary = std::env::temp_dir().join(format!(
        "canary-{}-{}",
        std::process::id(),
        t.dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let c = canary.display().to_string();
    // Also a canary without a slash, so paths built from the value stay in one directory.
    let rel = format!("canary-rel-{}", std::process::id());
    let rel_canary = std::env::current_dir().expect("cwd").join(&rel);
    let evil = [
        format!("x; touch {rel}"),
        format!("x$(touch {rel})"),
        format!("x'; touch {rel}; echo '"),
        format!("x\ntouch {rel}\n"),
        format!("x; touch {c}"),
        format!("x$(touch {c})"),
        format!("x`touch {c}`"),
        format!("x' ; touch {c}; echo '"),
        format!("x\" ; touch {c}; echo \""),
        format!("x\ntouch {c}\n"),
        format!("-x; touch {c}"),
    ];
    for e in &evil {
        let p = t.p(e);
        t.try_run("copy", json!({"content": e, "dest": p, "mode": "0644"}))
            .await;
        t.try_run("file", json!({"path": p, "state": "touch"}))
            .await;
        t.try_run(
            "file",
            json!({"path": p, "state": "link", "src": e, "force": true}),
        )
        .await;
        t.try_run(
            "file",
            json!({"path": t.p(&format!("d{e}")), "state": "directory", "owner": e}),
        )
        .await;
        t.try_run(
            "lineinfile",
            json!({"path": p, "line": e, "create": true, "regexp": "^x"}),
        )
        .await;
        t.try_run("stat", json!({"path": p})).await;
        t.try_run("slurp", json!({"src": p})).await;
        t.try_run("fetch", json!({"src": p, "dest": "out"})).await;
        t.try_run(
            "command",
            json!({"argv": ["echo", e], "chdir": p, "creates": p}),
        )
        .await;
        t.try_run("command", json!({"argv": ["true", e]})).await;
        t.try_run(
            "wait_for",
            json!({"path": p, "timeout": 0, "search_regex": e}),
        )
        .await;
        t.try_run(
            "wait_for",
            json!({"host": e, "port": 1, "timeout": 0, "connect_timeout": 1}),
        )
        .await;
        t.try_run(
            "get_url",
            json!({"url": format!("http://127.0.0.1:1/{e}"), "dest": p, "timeout": 1}),
        )
        .await;
        t.try_run("uri", json!({"url": format!("http://127.0.0.1:1/{}", e.replace('\n', "")), "headers": {"X": e}, "timeout": 1})).await;
        assert!(
            !canary.exists() && !rel_canary.exists(),
            "injection through {e:?}"
        );
    }
    // Those names were data: the files exist under their exact names.
    for e in &evil[..4] {
        let name = format!("copy{e}");
        let r = t
            .run("copy", json!({"content": e, "dest": t.p(&name)}))
            .await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(read(&t.path(&name)), *e);
        let r = t
            .run(
                "lineinfile",
                json!({"path": t.p(&name), "line": "y; touch z"}),
            )
            .await;
        assert!(
            r.changed && read(&t.path(&name)).ends_with("\ny; touch z\n"),
            "{e:?}"
        );
    }
    // And a value that is meant as data does reach the file byte for byte.
    let p = t.p("data");
    assert!(
        t.run("copy", json!({"content": evil[0], "dest": p}))
            .await
            .changed
    );
    assert_eq!(read(Path::new(&p)), evil[0]);
}

/// The local shell behind a wrapper that records every command line a module sends and, with
/// `path` set, runs it with that PATH (a host that lacks some tools).
struct Wrapped {
    inner: LocalRemote,
    path: Option<String>,
    lines: Mutex<Vec<String>>,
}

impl Wrapped {
    fn new(path: Option<String>) -> Wrapped {
        Wrapped {
            inner: LocalRemote::new("web1"),
            path,
            lines: Mutex::new(Vec::new()),
        }
    }
}

impl Remote for Wrapped {
    async fn run(
        &self,
        cmd: &str,
        stdin: Option<Vec<u8>>,
        timeout: Option<std::time::Duration>,
    ) -> Result<clearfleet_modules::RemoteOutput, clearfleet_modules::RemoteError> {
        if let Ok(mut l) = self.lines.lock() {
            l.push(cmd.to_owned());
        }
        match &self.path {
            Some(path) => {
                let line = format!("PATH={path}; export PATH; {cmd}");
                self.inner.run(&line, stdin, timeout).await
            }
            None => self.inner.run(cmd, stdin, timeout).await,
        }
    }

    async fn run_to(
        &self,
        cmd: &str,
        stdin: Option<Vec<u8>>,
        timeout: Option<std::time::Duration>,
        stdout: &mut (dyn std::io::Write + Send),
    ) -> Result<clearfleet_modules::RemoteOutput, clearfleet_modules::RemoteError> {
        if let Ok(mut l) = self.lines.lock() {
            l.push(cmd.to_owned());
        }
        let line = match &self.path {
            Some(path) => format!("PATH={path}; export PATH; {cmd}"),
            None => cmd.to_owned(),
        };
        self.inner.run_to(&line, stdin, timeout, stdout).await
    }

    fn host(&self) -> &str {
        "web1"
    }
}

#[tokio::test]
async fn secrets_and_content_never_in_command_lines() {
    let t = T::new();
    let (port, _) = http_server();
    let rec = Wrapped::new(None);
    let ctx = t.ctx(&rec, false);
    let calls = [
        (
            "uri",
            json!({"url": format!("http://127.0.0.1:{port}/auth"), "url_username": "u", "url_password": "s3cret", "headers": {"Authorization-Extra": "tok3n"}, "use_proxy": false}),
        ),
        (
            "get_url",
            json!({"url": format!("http://127.0.0.1:{port}/file.txt"), "dest": t.p("g"), "url_username": "u", "password": "s3cret", "headers": {"X-Key": "tok3n"}}),
        ),
        ("copy", json!({"content": "s3cret tok3n", "dest": t.p("c")})),
        (
            "lineinfile",
            json!({"path": t.p("c"), "line": "s3cret tok3n again"}),
        ),
    ];
    for (m, a) in calls {
        let call = ModuleCall::parse(m, &a).expect("parse");
        assert!(
            !format!("{call:?}").contains("s3cret") || m == "copy" || m == "lineinfile",
            "{m}: Debug shows the password"
        );
        let r = call.run(&ctx).await;
        assert!(!r.failed, "{m}: {r:?}");
        assert!(
            !serde_json::to_string(&r.to_registered())
                .unwrap_or_default()
                .contains("s3cret")
                || m == "lineinfile",
            "{m}"
        );
    }
    let lines = rec.lines.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(lines.len() >= 6);
    for l in lines {
        assert!(!l.contains("s3cret") && !l.contains("tok3n"), "{l}");
    }
}

#[tokio::test]
async fn local_remote_timeout_and_signals() {
    use clearfleet_modules::{Remote, RemoteError};
    let r = LocalRemote::default();
    let e = r
        .run("sleep 5", None, Some(std::time::Duration::from_millis(200)))
        .await;
    assert_eq!(
        e,
        Err(RemoteError::Timeout(std::time::Duration::from_millis(200)))
    );
    let o = r.run("kill -9 $$", None, None).await.expect("run");
    assert_eq!(o.rc, None);
    let t = T::new();
    let res = t.run("shell", json!({"cmd": "kill -9 $$"})).await;
    // The outer shell may report 137 (128 + KILL) instead of the signal: a failure either way.
    assert!(res.failed, "{res:?}");
}

#[tokio::test]
async fn symlinked_destinations() {
    let t = T::new();
    std::fs::write(t.path("real"), "a\n").expect("write");
    std::os::unix::fs::symlink(t.path("real"), t.path("link")).expect("symlink");
    // lineinfile edits the link's target (Ansible writes to the realpath).
    assert!(
        t.run("lineinfile", json!({"path": t.p("link"), "line": "b"}))
            .await
            .changed
    );
    assert_eq!(read(&t.path("real")), "a\nb\n");
    assert!(
        std::fs::symlink_metadata(t.path("link"))
            .expect("lstat")
            .file_type()
            .is_symlink()
    );
    // copy with follow: the target is written, with the target's mode, not the link's 0777.
    let before = mode_of(&t.path("real"));
    assert!(
        t.run(
            "copy",
            json!({"content": "c\n", "dest": t.p("link"), "follow": true})
        )
        .await
        .changed
    );
    assert_eq!(read(&t.path("real")), "c\n");
    assert_eq!(mode_of(&t.path("real")), before);
    assert!(
        !t.run(
            "copy",
            json!({"content": "c\n", "dest": t.p("link"), "follow": true})
        )
        .await
        .changed
    );
    // copy without follow (the default) replaces the link by a file.
    assert!(
        t.run("copy", json!({"content": "d\n", "dest": t.p("link")}))
            .await
            .changed
    );
    assert!(
        std::fs::symlink_metadata(t.path("link"))
            .expect("lstat")
            .is_file()
    );
    assert_ne!(mode_of(&t.path("link")), 0o777);
    assert_eq!(read(&t.path("real")), "c\n");
}

/// A PATH with every tool of /usr/bin and /bin but `missing`.
fn path_without(t: &T, missing: &[&str]) -> String {
    let bin = t.path("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    for dir in ["/usr/bin", "/bin"] {
        for e in std::fs::read_dir(dir).expect("ls").filter_map(|e| e.ok()) {
            let name = e.file_name();
            if missing.iter().any(|m| name == *m) || bin.join(&name).exists() {
                continue;
            }
            let _ = std::os::unix::fs::symlink(e.path(), bin.join(&name));
        }
    }
    bin.display().to_string()
}

#[tokio::test]
async fn get_url_falls_back_to_wget() {
    if !Path::new("/usr/bin/wget").exists() {
        return;
    }
    let t = T::new();
    let (port, seen) = http_server();
    let remote = Wrapped::new(Some(path_without(&t, &["curl"])));
    let ctx = t.ctx(&remote, false);
    let args = json!({"url": format!("http://127.0.0.1:{port}/file.txt"), "dest": t.p("w.txt"), "headers": {"X-Token": "abc"}, "url_username": "u", "url_password": "pw"});
    let r = ModuleCall::parse("get_url", &args)
        .expect("parse")
        .run(&ctx)
        .await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(read(&t.path("w.txt")), "hello world\n");
    assert!(
        seen.lock()
            .map(|l| l
                .iter()
                .any(|h| h.contains("X-Token: abc") && h.contains("Authorization: Basic")))
            .unwrap_or(false)
    );
    let r = ModuleCall::parse(
        "uri",
        &json!({"url": format!("http://127.0.0.1:{port}/json")}),
    )
    .expect("parse")
    .run(&ctx)
    .await;
    assert!(
        r.failed && r.msg.unwrap_or_default().contains("curl"),
        "uri says it needs curl"
    );
}

#[tokio::test]
async fn wait_for_falls_back_to_python_then_fails_clearly() {
    if !Path::new("/usr/bin/python3").exists() {
        return;
    }
    let t = T::new();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let remote = Wrapped::new(Some(path_without(&t, &["nc", "bash", "netcat"])));
    let ctx = t.ctx(&remote, false);
    let r = ModuleCall::parse("wait_for", &json!({"port": port, "timeout": 5}))
        .expect("parse")
        .run(&ctx)
        .await;
    assert!(!r.failed, "{r:?}");
    let t2 = T::new();
    let remote = Wrapped::new(Some(path_without(
        &t2,
        &["nc", "bash", "netcat", "python3", "python"],
    )));
    let ctx = t2.ctx(&remote, false);
    let r = ModuleCall::parse("wait_for", &json!({"port": port, "timeout": 5}))
        .expect("parse")
        .run(&ctx)
        .await;
    assert!(
        r.failed
            && r.msg
                .clone()
                .unwrap_or_default()
                .contains("none of nc, bash or python"),
        "{r:?}"
    );
}

/// A host that answers with fixed output, or loses the connection.
struct Canned {
    out: Result<clearfleet_modules::RemoteOutput, clearfleet_modules::RemoteError>,
}

impl Remote for Canned {
    async fn run(
        &self,
        _cmd: &str,
        _stdin: Option<Vec<u8>>,
        _timeout: Option<std::time::Duration>,
    ) -> Result<clearfleet_modules::RemoteOutput, clearfleet_modules::RemoteError> {
        self.out.clone()
    }

    async fn run_to(
        &self,
        _cmd: &str,
        _stdin: Option<Vec<u8>>,
        _timeout: Option<std::time::Duration>,
        stdout: &mut (dyn std::io::Write + Send),
    ) -> Result<clearfleet_modules::RemoteOutput, clearfleet_modules::RemoteError> {
        let mut out = self.out.clone()?;
        stdout
            .write_all(&std::mem::take(&mut out.stdout))
            .map_err(|e| clearfleet_modules::RemoteError::Other(e.to_string()))?;
        Ok(out)
    }

    fn host(&self) -> &str {
        "web1"
    }
}

fn every_module(t: &T) -> Vec<(&'static str, Value)> {
    std::fs::create_dir_all(t.path("files")).expect("mkdir");
    std::fs::write(t.path("files/s.sh"), "echo hi\n").expect("write");
    vec![
        ("command", json!({"cmd": "ls"})),
        ("shell", json!({"cmd": "ls"})),
        ("raw", json!({"_raw_params": "ls"})),
        ("script", json!({"cmd": "s.sh"})),
        ("copy", json!({"content": "x", "dest": "/x"})),
        (
            "template",
            json!({"src": "t.j2", "dest": "/x", "_rendered": "x"}),
        ),
        ("file", json!({"path": "/x", "state": "directory"})),
        ("file", json!({"path": "/x", "state": "link", "src": "/y"})),
        ("lineinfile", json!({"path": "/x", "line": "x"})),
        ("stat", json!({"path": "/x"})),
        ("slurp", json!({"src": "/x"})),
        ("fetch", json!({"src": "/x", "dest": "out"})),
        (
            "get_url",
            json!({"url": "http://127.0.0.1:1/x", "dest": "/x"}),
        ),
        ("wait_for", json!({"port": 1, "timeout": 1})),
        ("uri", json!({"url": "http://127.0.0.1:1/"})),
        // Canned hosts only: these would change the machine's accounts.
        ("group", json!({"name": "cf-canned"})),
        ("user", json!({"name": "cf-canned", "password": "$6$x$y"})),
    ]
}

#[tokio::test]
async fn malformed_output_and_lost_connections_are_results() {
    use clearfleet_modules::{RemoteError, RemoteOutput};
    let t = T::new();
    let garbage = [
        RemoteOutput {
            rc: Some(0),
            ..RemoteOutput::default()
        },
        RemoteOutput {
            stdout: b"garbage\n".to_vec(),
            stderr: b"boom".to_vec(),
            rc: Some(0),
            ..RemoteOutput::default()
        },
        RemoteOutput {
            stdout: b"e=1\ns=1|2\n]\n".to_vec(),
            rc: Some(0),
            ..RemoteOutput::default()
        },
        RemoteOutput {
            stdout: vec![0xff, 0xfe, b'\n', 0],
            rc: None,
            ..RemoteOutput::default()
        },
        RemoteOutput {
            stdout: b"7 1 1 99999999999\nxyz".to_vec(),
            rc: Some(0),
            ..RemoteOutput::default()
        },
    ];
    for out in garbage {
        let remote = Canned {
            out: Ok(out.clone()),
        };
        let ctx = t.ctx(&remote, true);
        for (m, a) in every_module(&t) {
            let r = ModuleCall::parse(m, &a).expect("parse").run(&ctx).await;
            // Probing modules cannot make sense of it: a failure with a message, never a panic.
            // (Any bytes are a valid slurp, and commands report whatever they printed.)
            if !matches!(m, "command" | "shell" | "raw" | "script" | "slurp") {
                assert!(r.failed && r.msg.is_some(), "{m} with {out:?}: {r:?}");
            }
        }
    }
    let remote = Canned {
        out: Err(RemoteError::Unreachable("connection reset".into())),
    };
    let ctx = t.ctx(&remote, false);
    for (m, a) in every_module(&t) {
        let r = ModuleCall::parse(m, &a).expect("parse").run(&ctx).await;
        assert!(r.unreachable && !r.failed, "{m}: {r:?}");
        assert_eq!(r.to_registered()["unreachable"], json!(true));
    }
    let remote = Canned {
        out: Err(RemoteError::Timeout(std::time::Duration::from_secs(3))),
    };
    let ctx = t.ctx(&remote, false);
    let r = ModuleCall::parse("command", &json!({"cmd": "ls"}))
        .expect("parse")
        .run(&ctx)
        .await;
    assert!(r.failed);
    assert_eq!(
        r.msg.unwrap_or_default(),
        "command timed out after 3s",
        "the limit is in the message"
    );
}
