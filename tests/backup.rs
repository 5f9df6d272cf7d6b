//! The upgrade's backup on real-Docker hosts (issue 16): verified against its manifest for
//! real (a truncated archive, one whose content differs, one missing a file), a restore
//! checked against the manifest before the old server starts, a private backup directory
//! (refused when others may open it; 0700 and 0600 when made), and no secret on any command
//! line of the host during a whole upgrade.

use crate::support;

use std::path::{Path, PathBuf};

use support::argv_watch::ArgvWatch;
use support::cli::{clearfleet, temp_home, write};
use support::docker_host::{DockerFleet, DockerHost};
use support::sshd::CF_SUDO_PASSWORD;
use support::upgrade::{
    assert_serving, checksums, detect, init_args, install, report_dir, result, started_at,
    upgrade_on, write_mirror,
};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/playbooks/clearml/backup.sh");

/// `sh backup.sh ARGS` on this machine in `dir`, with `path` as PATH.
fn script(dir: &Path, path: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new("sh")
        .arg(SCRIPT)
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .unwrap_or_else(|e| panic!("sh backup.sh: {e}"))
}

/// A directory whose tools are BusyBox's applets (its own tar, find, stat, sha256sum, awk,
/// sort, …: none of GNU's long options), or `None` without BusyBox.
fn busybox_tools(dir: &Path) -> Option<String> {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let bin = dir.join("busybox-bin");
    std::fs::create_dir_all(&bin).unwrap_or_else(|e| panic!("{e}"));
    for applet in [
        "sh",
        "tar",
        "gzip",
        "find",
        "stat",
        "sha256sum",
        "awk",
        "sort",
        "sed",
        "tr",
        "cut",
        "mkdir",
        "rm",
        "chmod",
        "chown",
        "cp",
        "ls",
        "id",
        "readlink",
        "dirname",
        "du",
        "df",
        "cat",
        "wc",
        "mktemp",
        "head",
    ] {
        std::os::unix::fs::symlink(busybox, bin.join(applet)).unwrap_or_else(|e| panic!("{e}"));
    }
    Some(bin.display().to_string())
}

/// A server root whose data has what a manifest must get right: nested directories, an empty
/// file, names with spaces, a backslash, UTF-8 and ` -> `, dot files (`..x` too), a symbolic
/// link, a hard link, a setgid directory, other owners and modes.
fn sample_root(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    let made = std::process::Command::new("sh")
        .arg("-c")
        .arg(
            "set -e; mkdir -p data/mongo/db data/elastic/nodes/0 config .clearfleet;              echo hello > data/mongo/db/collection-0.wt; : > data/empty;              printf 'x\\y' > 'data/back\\slash'; echo é > data/élan; echo s > 'data/sp ace';              ln -s 'a b -> c' 'data/li -> nk'; ln data/mongo/db/collection-0.wt data/hard;              touch data/.hidden data/..dots; chmod 2750 data/elastic; chmod 600 data/empty;              head -c 300000 /dev/urandom > data/elastic/nodes/0/segment;              chown -R 1000:1000 data/mongo 2>/dev/null || true;              echo 'api { }' > config/apiserver.conf; echo 'services: {}' > docker-compose.yml;              printf 'CLEARML_AGENT_SECRET_KEY=s3cr3t\n' > .env; chmod 640 .env;              echo 'clearml-apiserver img sha256:1' > .clearfleet/images",
        )
        .current_dir({
            std::fs::create_dir_all(&root).unwrap_or_else(|e| panic!("{e}"));
            &root
        })
        .status()
        .is_ok_and(|s| s.success());
    assert!(made, "the sample root");
    root
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// backup.sh itself, without Docker, with GNU's tools and with BusyBox's (the tools a host
/// without GNU has; macOS's BSD tools take the same branches except `stat -f`): the same
/// manifest of the same tree, archives that verify, a damaged or different archive named as
/// such, and a restore that brings back exactly what the manifest says.
#[test]
fn the_script_makes_one_manifest_with_gnu_or_busybox_tools_and_catches_differences() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = sample_root(dir.path());
    let gnu = std::env::var("PATH").unwrap_or_default();
    let mut toolsets = vec![("gnu", gnu)];
    match busybox_tools(dir.path()) {
        Some(bin) => toolsets.push(("busybox", bin)),
        None => eprintln!("SKIPPED: no BusyBox: only GNU's tools"),
    }
    let mut manifests = Vec::new();
    for (name, path) in &toolsets {
        let backup = format!("backups/{name}");
        let run = |args: &[&str]| script(dir.path(), path, args);
        let made = run(&["back-up", "root", "root/docker-compose.yml", &backup]);
        assert!(made.status.success(), "{name}: {}", text(&made));
        let verified = run(&["verify", &backup]);
        assert!(verified.status.success(), "{name}: {}", text(&verified));
        let b = dir.path().join(&backup);
        let manifest = std::fs::read_to_string(b.join("manifest.data")).unwrap_or_default();
        for line in [
            "f 600 0:0 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ./empty",
            "l - 0:0 - - ./li -> nk -> a b -> c",
        ] {
            assert!(
                manifest.lines().any(|l| l == line),
                "{name}: {line}
{manifest}"
            );
        }
        assert!(manifest.contains(" ./back\\slash\n") && manifest.contains(" ./élan\n"));
        let files = std::fs::read_to_string(b.join("manifest.files")).unwrap_or_default();
        assert!(
            files
                .lines()
                .any(|l| l.starts_with("f 640 ") && l.ends_with(" ./.env")),
            "{files}"
        );
        manifests.push(manifest.clone());

        // Another archive of other bytes in one file, same size: named.
        let archive = b.join("clearml_backup_data.tgz");
        let kept = std::fs::read(&archive).unwrap_or_default();
        let other = dir.path().join(format!("other-{name}"));
        let swapped = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "set -e; mkdir {o}; tar -xpzf {a} -C {o}; printf Z | dd of={o}/elastic/nodes/0/segment \
                 bs=1 count=1 conv=notrunc 2>/dev/null; tar -czf {a} -C {o} .",
                o = other.display(),
                a = archive.display()
            ))
            .status()
            .is_ok_and(|s| s.success());
        assert!(swapped);
        let caught = run(&["verify", &backup]);
        assert!(
            !caught.status.success()
                && String::from_utf8_lossy(&caught.stderr).trim_end()
                    == "clearml_backup_data.tgz does not match its manifest: \
                        ./elastic/nodes/0/segment: sha256 differs",
            "{name}: {}",
            text(&caught)
        );
        // Half an archive: gzip says so.
        std::fs::write(&archive, &kept[..kept.len() / 2]).unwrap_or_else(|e| panic!("{e}"));
        let cut = run(&["verify", &backup]);
        assert!(
            !cut.status.success()
                && String::from_utf8_lossy(&cut.stderr)
                    .contains("clearml_backup_data.tgz is damaged (gzip -t)"),
            "{name}: {}",
            text(&cut)
        );
        std::fs::write(&archive, &kept).unwrap_or_else(|e| panic!("{e}"));

        // The data changed since, then restored: exactly the manifest again.
        std::fs::write(root.join("data/empty"), "not empty").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(root.join("data/new"), "new").unwrap_or_else(|e| panic!("{e}"));
        let restored = run(&["restore", &backup, "root", "root/docker-compose.yml"]);
        assert!(restored.status.success(), "{name}: {}", text(&restored));
        let now = run(&["manifest", "root/data"]);
        assert_eq!(String::from_utf8_lossy(&now.stdout), manifest, "{name}");
        assert!(
            !b.join(".work").exists(),
            "{name}: the scratch directory is left"
        );
    }
    if manifests.len() == 2 {
        assert_eq!(
            manifests[0], manifests[1],
            "GNU's and BusyBox's manifests differ"
        );
    }
}

/// The path a tar fault (or the test's own tampering) changed: the `tamper ./PATH` or
/// `drop ./PATH` line of `log`.
fn changed_path<'a>(log: &'a str, what: &str) -> &'a str {
    log.lines()
        .find_map(|l| l.strip_prefix(what).map(str::trim))
        .unwrap_or_else(|| panic!("no {what} in {log:?}"))
}

/// The server containers of a host that run (none after a rollback that stopped in its
/// restore: the old server is not started on data that is not the backup).
fn running(host: &DockerHost) -> Vec<String> {
    host.containers()
        .into_iter()
        .filter(|(n, s)| s == "running" && (n.starts_with("clearml-") || n == "async_delete"))
        .map(|(n, _)| n)
        .collect()
}

/// One run, five 2.0 servers, one fault each: a `--backup-dir` others may open (refused by
/// the preflight, nothing stops); a data archive that is truncated, that holds other bytes in
/// one file, or that lacks a file (each fails `Verify the backup`, the server comes back on its
/// untouched data); and an archive that is replaced after its verification by one whose
/// content differs while the 2.3 hop fails (the rollback's restore finds the difference and
/// stops with ROLLBACK FAILED, the old server is not started, the backup is left as it was).
#[test]
fn backup_faults_are_caught_and_every_server_keeps_its_data() {
    let labels = [
        "open-dir",
        "truncated",
        "tampered",
        "dropped",
        "restore-differs",
    ];
    let Some(fleet) = DockerFleet::start(&["v2"; 5]) else {
        return;
    };
    let home = temp_home();
    let mirror = home.path().join("mirror");
    write_mirror(&mirror);
    let args: Vec<Vec<String>> = labels.iter().map(|l| init_args("2.0", l)).collect();
    install(&fleet, &args);
    let inv = support::docker_inventory(&fleet, fleet.hosts().iter().zip(labels));
    let inv = write(home.path(), "inv.yml", &inv);
    let h = |i: usize| fleet.host(i);
    h(0).sh("mkdir -p /opt/backups && chmod 755 /opt/backups")
        .ok();
    h(1).inject(&["--tar-fault", "truncate"]);
    h(2).inject(&["--tar-fault", "tamper"]);
    h(3).inject(&["--tar-fault", "drop"]);
    // The 2.3 server image exits at start; as it starts, another process replaces the
    // verified data archive by a valid one whose first non-empty file holds another first byte.
    h(4).inject(&["--broken-tag", "clearml/server:2.3.0"]);
    h(4).on_event(
        &["event=start"],
        "'start clearml-apiserver clearml/server:2.3.0'*",
        "b=/opt/backups/restore-differs; t=$(mktemp -d); \
         tar -xpzf $b/clearml_backup_data.tgz -C $t && \
         f=$(cd $t && find . -type f -size +0 | LC_ALL=C sort | head -n 1) && \
         c=X && { [ \"$(head -c 1 \"$t/$f\")\" != X ] || c=Y; } && \
         printf %s $c | dd of=\"$t/$f\" bs=1 count=1 conv=notrunc 2>/dev/null && \
         tar -czf $b/clearml_backup_data.tgz -C $t . && echo \"tamper $f\" && \
         sha256sum $b/clearml_backup_data.tgz $b/manifest.data; rm -rf $t",
    );
    let before: Vec<String> = fleet
        .hosts()
        .iter()
        .map(|h| checksums(&h.path("/opt/clearml/data")))
        .collect();
    let started_before = started_at(h(0));

    let run = upgrade_on(home.path(), &inv, &fleet, &mirror)
        .args(["-vv", "--wait", "3", "--backup-dir", "/opt/backups"])
        .run();
    eprintln!(
        "{}",
        run.stdout
            .lines()
            .skip_while(|l| !l.contains("UPGRADE RESULT"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(run.code, 2, "{}", run.stderr);

    assert_eq!(
        result(&run, "open-dir"),
        "not changed: The backup directory is private: non-zero return code: the backup \
         directory /opt/backups is open to other users (drwxr-xr-x): run `chmod 700 \
         '/opt/backups'` (or choose another --backup-dir)"
    );
    assert_eq!(started_at(h(0)), started_before, "open-dir was stopped");
    assert!(!h(0).path("/opt/backups/open-dir").exists());

    let restarted = "restarted 2.0.0 (data untouched, no verified backup): Verify the backup: ";
    assert_eq!(
        result(&run, "truncated"),
        format!(
            "{restarted}gzip: /opt/backups/truncated/clearml_backup_data.tgz: unexpected end \
             of file; clearml_backup_data.tgz is damaged (gzip -t)"
        )
    );
    let tampered = changed_path(&h(2).tar_fault_log(), "tamper").to_owned();
    assert_eq!(
        result(&run, "tampered"),
        format!(
            "{restarted}clearml_backup_data.tgz does not match its manifest: {tampered}: \
             sha256 differs"
        )
    );
    let dropped = changed_path(&h(3).tar_fault_log(), "drop").to_owned();
    assert_eq!(
        result(&run, "dropped"),
        format!(
            "{restarted}clearml_backup_data.tgz does not match its manifest: {dropped}: missing"
        )
    );

    // The way back stopped at the difference, with the old server down and the backup as the
    // hook left it.
    let hooks = h(4).hooks_log();
    let swapped = changed_path(&hooks, "tamper").to_owned();
    assert_eq!(
        result(&run, "restore-differs"),
        format!(
            "ROLLBACK FAILED at Restore data, config, compose file and .env: the restored data \
             does not match its manifest: {swapped}: sha256 differs (the backup in \
             /opt/backups/restore-differs is as it was) (after Wait for the apiserver: the \
             apiserver did not answer /debug.ping in time); restore the backup by hand"
        )
    );
    assert_eq!(running(h(4)), Vec::<String>::new());
    let sums = h(4)
        .sh("cd /opt/backups/restore-differs && sha256sum clearml_backup_data.tgz manifest.data")
        .ok()
        .stdout;
    for line in sums.lines() {
        let (hash, name) = line.split_once("  ").unwrap_or_default();
        assert!(
            hooks.contains(&format!("{hash}  /opt/backups/restore-differs/{name}")),
            "{name} changed after the hook: {sums}\n{hooks}"
        );
    }
    assert!(
        h(4).path("/opt/clearml/.clearfleet/upgrade-in-progress")
            .is_file(),
        "a failed rollback keeps its marker"
    );

    for (i, label) in labels.iter().enumerate().take(4) {
        assert_serving(&detect(home.path(), &inv, &fleet, label), "2.0.0", label);
        assert_eq!(
            checksums(&h(i).path("/opt/clearml/data")),
            before[i],
            "{label}: the data changed"
        );
    }
    let secrets: Vec<String> = labels
        .iter()
        .flat_map(|l| [format!("agent-secret-{l}"), format!("git-pass-{l}")])
        .collect();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    support::secrets::assert_nowhere(&secrets, &run, &[&report_dir(home.path())]);
}

/// One whole upgrade (2.0 → 2.3) as a user that becomes root with a sudo password, on a server
/// with services-agent credentials, a git password and cloud keys in its .env: none of these
/// is ever in the command line of a process of the host (a watch reads them all the time; it
/// sees the canary command the test starts itself). Then the backup: its directory 0700 and
/// every file 0600 (the sessions' umask is 022), nothing of it readable or even listable by
/// another user, and its manifest beside the archive, true to the data that was backed up.
#[test]
fn an_upgrade_keeps_secrets_off_the_command_line_and_its_backup_private() {
    let Some(fleet) = DockerFleet::start_with_test_users(&["v2"]) else {
        return;
    };
    let home = temp_home();
    let mirror = home.path().join("mirror");
    write_mirror(&mirror);
    let host = fleet.host(0);
    let tag = format!("argv{}", std::process::id());
    install(&fleet, &[init_args("2.0", &tag)]);
    let cloud = [format!("aws-secret-{tag}"), format!("azure-key-{tag}")];
    host.sh(&format!(
        "printf 'AWS_ACCESS_KEY_ID=AKIA{tag}\\nAWS_SECRET_ACCESS_KEY={}\\nAZURE_STORAGE_KEY={}\\n' \
         >> /opt/clearml/.env",
        cloud[0], cloud[1]
    ))
    .ok();
    let mut inv = fleet.inventory_head();
    inv.push_str(&host.inventory_entry("watched"));
    inv.push_str(&format!(
        "      ansible_user: cf-sudo\n      ansible_become: true\n      ansible_become_password: {CF_SUDO_PASSWORD}\n"
    ));
    let inv = write(home.path(), "inv.yml", &inv);
    let exec = |cmd: &str| {
        clearfleet(home.path())
            .args(["exec", "--output", "json"])
            .fleet(&inv, fleet.known_hosts_path())
            .args(["--", cmd])
            .run()
    };
    // What the upgrade's commands run under: sudo's session with umask 022.
    let umask = exec("umask");
    assert_eq!(umask.code, 0, "{umask:?}");
    assert_eq!(
        umask.host_json("watched")["stdout"].as_str().map(str::trim),
        Some("0022"),
        "{}",
        umask.stdout
    );
    let data = host.path("/opt/clearml/data");
    let before = checksums(&data);
    let top = host.sh("stat -c '%a %u:%g' /opt/clearml/data").ok().stdout;
    let sizes = host
        .sh("cd /opt/clearml/data && find . -type f -printf '%s %p\\n' | LC_ALL=C sort -k 2")
        .ok()
        .stdout;

    let secrets = [
        format!("agent-secret-{tag}"),
        format!("AK-{tag}"),
        format!("git-pass-{tag}"),
        CF_SUDO_PASSWORD.to_owned(),
        cloud[0].clone(),
        cloud[1].clone(),
    ];
    let canary = format!("canary-{tag}");
    let mut needles = secrets.to_vec();
    needles.push(canary.clone());
    let watch = ArgvWatch::start(host.mount_namespace(), needles);
    let probe = exec(&format!("sh -c 'sleep 0.5' {canary}"));
    assert_eq!(probe.code, 0, "{probe:?}");
    let run = upgrade_on(home.path(), &inv, &fleet, &mirror)
        .args(["-vv", "--wait", "60"])
        .run();
    let seen = watch.stop();
    eprintln!(
        "{} passes over the host's processes, {} processes seen",
        seen.passes, seen.processes
    );
    assert_eq!(
        result(&run, "watched"),
        "upgraded 2.0.0 → 2.3.0",
        "{}",
        run.stderr
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !seen.holding(&canary).is_empty(),
        "the watch did not see the canary: {seen:?}"
    );
    for secret in &secrets {
        assert_eq!(
            seen.holding(secret),
            Vec::<&str>::new(),
            "a secret in a command line"
        );
    }
    // The access key is no secret in the reports (detection shows it); the rest are.
    let secrets: Vec<&str> = secrets
        .iter()
        .filter(|s| !s.starts_with("AK-"))
        .map(String::as_str)
        .collect();
    support::secrets::assert_nowhere(&secrets, &run, &[&report_dir(home.path())]);

    // The backup: 0700 and 0600, root's (the user the upgrade ran as), closed to others.
    let backup = run
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("backup: "))
        .unwrap_or_else(|| panic!("no backup in {}", run.stdout))
        .to_owned();
    assert!(backup.starts_with("/opt/clearml-backup-"), "{backup}");
    let modes = host
        .sh(&format!(
            "cd {backup} && stat -c '%a %U %n' . * .env | sort -k 3"
        ))
        .ok()
        .stdout;
    let modes: Vec<&str> = modes.lines().collect();
    assert_eq!(modes[0], "700 root .", "{modes:?}");
    let files: Vec<&str> = modes[1..]
        .iter()
        .map(|l| &l[l.rfind(' ').map_or(0, |i| i + 1)..])
        .collect();
    for f in [
        ".env",
        "clearml_backup_data.tgz",
        "docker-compose.yml",
        "images",
        "manifest.data",
        "manifest.files",
    ] {
        assert!(files.contains(&f), "{f} is not in the backup: {modes:?}");
    }
    for line in &modes[1..] {
        assert!(line.starts_with("600 root "), "{modes:?}");
    }
    let nobody = |cmd: &str| {
        host.sh(&format!(
            "setpriv --reuid=65534 --regid=65534 --clear-groups {cmd}"
        ))
    };
    let listed = nobody(&format!("ls {backup}"));
    assert!(
        listed.code != 0 && listed.stderr.contains("Permission denied"),
        "another user lists the backup: {}{}",
        listed.stdout,
        listed.stderr
    );
    for f in &files {
        let read = nobody(&format!("cat {backup}/{f}"));
        assert!(
            read.code != 0 && read.stdout.is_empty(),
            "another user reads {f}"
        );
    }

    // The manifest, read back: every file of the data as it was backed up, with its size and
    // SHA-256, sorted by path, the data directory itself first.
    let manifest = std::fs::read_to_string(host.path(&format!("{backup}/manifest.data")))
        .unwrap_or_else(|e| panic!("manifest.data: {e}"));
    let lines: Vec<&str> = manifest.lines().collect();
    let (mode, owner) = top.trim().split_once(' ').unwrap_or_default();
    assert_eq!(lines[0], format!("d {mode} {owner} - - ."), "{manifest}");
    let path = |l: &str| l.splitn(6, ' ').nth(5).unwrap_or_default().to_owned();
    let mut sorted: Vec<String> = lines.iter().map(|l| path(l)).collect();
    sorted.sort();
    assert_eq!(
        lines.iter().map(|l| path(l)).collect::<Vec<_>>(),
        sorted,
        "sorted by path"
    );
    let mut recorded: Vec<String> = lines
        .iter()
        .filter(|l| l.starts_with("f "))
        .map(|l| {
            let f: Vec<&str> = l.splitn(6, ' ').collect();
            format!("{}  {}", f[4], f[5])
        })
        .collect();
    recorded.sort();
    let mut backed_up: Vec<String> = before.lines().map(str::to_owned).collect();
    backed_up.sort();
    assert_eq!(
        recorded, backed_up,
        "manifest.data against the data's sha256sum"
    );
    let mut recorded_sizes: Vec<String> = Vec::new();
    for l in &lines {
        let f: Vec<&str> = l.splitn(6, ' ').collect();
        assert!(
            f.len() == 6 && ["f", "d", "l"].contains(&f[0]),
            "not a manifest line: {l}"
        );
        if f[0] == "f" {
            recorded_sizes.push(format!("{} {}", f[3], f[5]));
        }
    }
    assert_eq!(
        recorded_sizes,
        sizes.lines().collect::<Vec<_>>(),
        "manifest.data against the data's sizes"
    );
}
