//! A real-Docker test host: its own network namespace (reached over a veth pair, see
//! [`super::netns::Link`]) and mount namespace, with its own `sshd`, `dockerd` (data root,
//! socket and containerd of its own), compose v1, v2 or both, a real `curl`, and a registry
//! process that answers as Docker Hub and docker.elastic.co from a hard-linked copy of the
//! stand-in store ([`super::registry`]). Nothing on the machine changes: accounts, /etc,
//! the machine's kernel settings and its own Docker (if any) stay as they are. The inside is
//! set up by `tests/support/docker-host.sh`; see docs/simulator.md, "Real Docker hosts".

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use clearfleet_base::shell::quote;
use serde_json::Value;

use super::netns::{Link, available, sshd_config, trust, wait_for_sshd};
use super::registry::{self, Store};
use super::sshd::Fleet;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/docker-host.sh");
const RUNTIME: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/clamped-runc");

/// What a command run inside the host returned.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Panics unless the command exited 0.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Whether real-Docker hosts can run here (root, iproute2, docker.io, docker-registry);
/// otherwise `false` with a message, or a panic under `CI`.
pub fn available_here() -> bool {
    let missing: Vec<&str> = [
        "/usr/sbin/dockerd",
        "/usr/bin/docker",
        "/usr/bin/docker-registry",
        "/usr/bin/nsenter",
        "/bin/busybox",
    ]
    .into_iter()
    .filter(|p| !Path::new(p).exists())
    .collect();
    let root = rustix::process::geteuid().is_root();
    if root && missing.is_empty() {
        return available();
    }
    let why = if root {
        format!("missing {}", missing.join(", "))
    } else {
        "not root".to_owned()
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "real-Docker hosts cannot run under CI: {why}; run scripts/install-docker.sh"
    );
    eprintln!("SKIPPED: real-Docker hosts: {why}; run scripts/install-docker.sh as root");
    false
}

/// One real-Docker host. Torn down on drop: every process of the host (containers included)
/// killed, its cgroups and namespace removed.
pub struct DockerHost {
    link: Link,
    dir: PathBuf,
    anchor: Option<Child>,
    cgroup: String,
}

impl DockerHost {
    /// Starts a host whose compose is `v1`, `v2` or `both`; its host key joins the fleet's
    /// known_hosts and it authorizes the fleet's client key for root. `None` where real-Docker
    /// hosts cannot run (see [`available_here`]).
    pub fn start(fleet: &Fleet, compose: &str) -> Option<DockerHost> {
        if !available_here() {
            return None;
        }
        let host = Self::launch(fleet, compose);
        trust(fleet, &host.dir, host.address());
        Some(host)
    }

    /// Starts the host and waits for its sshd; its key is not yet in the fleet's known_hosts.
    fn launch(fleet: &Fleet, compose: &str) -> DockerHost {
        let store = registry::store();
        let link = Link::create().unwrap_or_else(|e| panic!("network namespace: {e}"));
        let dir = fleet.dir().join(link.ns());
        let cgroup = format!("clearfleet-{}", link.ns());
        lay_out(&dir, store, &cgroup);
        sshd_config(fleet, &dir, link.address());
        let anchor = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", link.ns()))
            .args(["unshare", "-m", "--propagation", "private", "sh", SCRIPT])
            .arg(&dir)
            .arg(compose)
            .envs(test_users_env(fleet))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                fs::File::create(dir.join("host.log"))
                    .ok()
                    .map_or(Stdio::null(), Stdio::from),
            )
            .spawn()
            .unwrap_or_else(|e| panic!("start the host: {e}"));
        let host = DockerHost {
            link,
            dir,
            anchor: Some(anchor),
            cgroup,
        };
        wait_for_sshd(host.address(), Duration::from_secs(60), || host.logs());
        host
    }

    /// The host's address (sshd on port 22).
    pub fn address(&self) -> &str {
        self.link.address()
    }

    /// The host's entry in a YAML inventory (see [`DockerFleet::inventory_head`]).
    pub fn inventory_entry(&self, label: &str) -> String {
        format!("    {label}:\n      ansible_host: {}\n", self.address())
    }

    /// The host's own directory on the machine; its `/opt` is `dir/opt`, so that
    /// `dir.join("opt/clearml/…")` is the machine path of `/opt/clearml/…` inside.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The machine path of `inside` as the host sees it (through `/proc/PID/root` of a process
    /// in its mount namespace): file systems mounted inside the host, such as a small backup
    /// disk, are seen too.
    pub fn path(&self, inside: &str) -> PathBuf {
        let pid = self.anchor.as_ref().map_or(0, Child::id);
        PathBuf::from(format!("/proc/{pid}/root")).join(inside.trim_start_matches('/'))
    }

    /// Runs `script` as root inside the host, in the background, once its daemon reports a
    /// container event (`docker events --filter type=container --filter F`… for each of
    /// `filters`) whose line `ACTION NAME IMAGE` matches the shell pattern `pattern`: faults
    /// that strike in the middle of a run (a disk filled as the server stops, images deleted
    /// while a hop starts). Events from the moment of the call on count, even those before the
    /// watcher's connection (`--since`); [`DockerHost::hooks_log`] says what fired.
    pub fn on_event(&self, filters: &[&str], pattern: &str, script: &str) {
        let filters: String = std::iter::once("type=container")
            .chain(filters.iter().copied())
            .map(|f| format!(" --filter {}", quote(f)))
            .collect();
        let watch = format!(
            "docker events --since \"$since\"{filters} --format '{{{{.Action}}}} {{{{.Actor.Attributes.name}}}} \
             {{{{.Actor.Attributes.image}}}}' | while read -r ev; do case \"$ev\" in {pattern}) \
             echo \"fired on $ev\"; {{ {script}\n}}; echo \"done: $?\"; exit;; esac; done"
        );
        let log = quote(&self.dir.join("hooks.log").display().to_string());
        let started = self.sh(&format!(
            "since=$(date +%s.%N) setsid sh -c {} </dev/null >>{log} 2>&1 &",
            quote(&watch)
        ));
        assert_eq!(started.code, 0, "{}{}", started.stdout, started.stderr);
    }

    /// What the host's event hooks ([`DockerHost::on_event`]) did: `fired on EVENT` and
    /// `done: STATUS` lines with the scripts' output between.
    pub fn hooks_log(&self) -> String {
        fs::read_to_string(self.dir.join("hooks.log")).unwrap_or_default()
    }

    /// The logs of the host's setup, dockerd, registry and sshd (their last lines), for failure
    /// messages.
    pub fn logs(&self) -> String {
        ["host.log", "dockerd.log", "registry.log", "sshd.log"]
            .iter()
            .map(|f| {
                let t = fs::read_to_string(self.dir.join(f)).unwrap_or_default();
                let mut tail: Vec<&str> = t.lines().rev().take(30).collect();
                tail.reverse();
                format!("--- {f}\n{}\n", tail.join("\n"))
            })
            .collect()
    }

    /// `sh -c script` as root inside the host (its mounts and network), with the environment
    /// of an SSH session.
    pub fn sh(&self, script: &str) -> Run {
        let pid = self.anchor.as_ref().map_or(0, Child::id);
        let out = Command::new("nsenter")
            .args(["-t", &pid.to_string(), "-m", "-n", "--"])
            .args(["env", "-i", "HOME=/root", "LC_ALL=C"])
            .arg("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .args(["sh", "-c", script])
            .current_dir("/")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("nsenter: {e}"));
        Run::from(out)
    }

    /// `clearml-sim ARGS` inside the host (e.g. `compose-file --era X`, or `init --era X`, which
    /// lays out a server's files and data).
    pub fn sim(&self, args: &[&str]) -> Run {
        let quoted: Vec<String> = args.iter().map(|a| quote(a)).collect();
        self.sh(&format!(
            "CLEARML_SIM_FSROOT=/ {} {}",
            super::sim(),
            quoted.join(" ")
        ))
    }

    /// Installs ClearML (or Trains) as a site would have: `args` are `clearml-sim init`'s
    /// (`--era X` and the rest), which lays out the server's files and data; then the images of
    /// the compose file are pulled as the site pulled them back then (a `latest` that has moved
    /// on since is pulled while the registry still named that release, then the registry moves
    /// on), and `compose up -d` (v2 where the host has it, else v1) starts the server, and
    /// ClearML Serving with `--serving` (also beside a stopped server). Returns once the
    /// apiserver answers; with `--stopped` the server is not started (no containers), with
    /// `--exited` its containers are created and stopped.
    pub fn install(&self, args: &[&str]) {
        let stopped = args.contains(&"--stopped");
        let exited = args.contains(&"--exited");
        // `init --stopped` and the pulls as back then: the simulator's `host-install`
        // (crates/clearml-sim/src/standin/host.rs, shared with scripts/demo).
        let store = registry::store().dir.display().to_string();
        let storage = self.registry_root().display().to_string();
        let mut install = vec!["host-install", "--store", &store, "--registry", &storage];
        install.extend(args);
        let r = self.sim(&install);
        assert_eq!(
            r.code, 0,
            "clearml-sim {install:?}: {}{}",
            r.stdout, r.stderr
        );
        for l in r.stderr.lines().filter(|l| l.contains("again after")) {
            eprintln!("{l}");
        }
        if !stopped {
            let root = self.server_root();
            self.compose_up(&root);
            if exited {
                self.sh("docker stop $(docker ps -q) >/dev/null").ok();
            } else {
                self.wait_for_apiserver(Duration::from_secs(90));
            }
        }
        if args.contains(&"--serving") {
            self.compose_up("/opt/clearml-serving/docker");
        }
    }

    /// The server's root (where its docker-compose.yml is): /opt/clearml, /opt/trains or a
    /// custom root under /opt.
    pub fn server_root(&self) -> String {
        let found = self.sh("for d in /opt/clearml /opt/trains /opt/*/* /opt/*; do \
             [ -f \"$d/docker-compose.yml\" ] && [ \"$d\" != /opt/clearml-serving/docker ] \
             && echo \"$d\" && break; done");
        let root = found.stdout.trim().to_owned();
        assert!(!root.is_empty(), "no server compose file under /opt");
        root
    }

    /// `compose up -d` in `dir` with the host's compose (v2 where it has it). Once, under load,
    /// dockerd 20.10 failed to start one container of a fresh project ("error running hook
    /// #0: … no such file or directory", libnetwork's prestart hook): the setup then runs `up`
    /// a second time, as a site would, and says so.
    pub fn compose_up(&self, dir: &str) {
        let up = format!(
            "cd {} && if docker compose version >/dev/null 2>&1; then docker compose up -d; \
             else docker-compose up -d; fi",
            quote(dir)
        );
        let mut r = self.sh(&up);
        if r.code != 0 && r.stderr.contains("error running hook") {
            eprintln!(
                "{up}: again after: {}",
                r.stderr.lines().last().unwrap_or("")
            );
            r = self.sh(&up);
        }
        assert_eq!(r.code, 0, "{up}: {}{}\n{}", r.stdout, r.stderr, self.logs());
    }

    /// Waits until the apiserver answers on 8008 inside the host (`debug.ping`: 200, or 404
    /// from the Trains releases whose API has no such call).
    pub fn wait_for_apiserver(&self, limit: Duration) {
        let started = std::time::Instant::now();
        loop {
            let r = self
                .sh("curl -s -m 2 -o /dev/null -w '%{http_code}' http://localhost:8008/debug.ping");
            if matches!(r.stdout.trim(), "200" | "404") {
                return;
            }
            if started.elapsed() > limit {
                let ps = self.sh(
                    "docker ps -a --format '{{.Names}} {{.Image}} {{.Status}}'; \
                     for c in $(docker ps -aq); do docker logs --tail 5 $c 2>&1; done",
                );
                panic!(
                    "the apiserver did not answer within {limit:?} ({}):\n{}{}",
                    r.stdout, ps.stdout, ps.stderr
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Faults made real, named as `clearml-sim inject` names them:
    /// `--broken-tag REF` (the registry's REF becomes an image whose main process exits at
    /// start), `--missing-tag REF` ("manifest unknown"), `--latest REPO=VERSION` (the registry's
    /// `REPO:latest`, and `REPO:VERSION` where the repository has plain version tags, are that
    /// release), `--max-map-count N` (the host's `vm.max_map_count`), `--memory-mb N` (the
    /// host's MemTotal), `--avx off` (no AVX flags in the host's /proc/cpuinfo), `--chown-data
    /// UID` (the server's data tree, for real), `--disk PATH=SIZE` (a file system of SIZE, e.g.
    /// `64m`, mounted at PATH inside the host, mode 0700: a small disk), `--tar-fault MODE`
    /// (the data archive the upgrade's backup writes is damaged: see [`DockerHost::tar_fault`]),
    /// `--fill-disk-on-down PATH`
    /// (another process fills PATH's file system as soon as the apiserver container dies, i.e.
    /// as the upgrade stops the server), `--kill-dockerd` (SIGKILL to the host's dockerd: the
    /// containers keep running under their shims, the docker CLI gets no answer), `--clear` (the
    /// registry as upstream's again).
    /// Anything else panics: it is not real yet.
    pub fn inject(&self, args: &[&str]) {
        let store = registry::store();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || {
                *it.next()
                    .unwrap_or_else(|| panic!("inject {flag} needs a value"))
            };
            match *flag {
                "--broken-tag" => {
                    let r = value();
                    self.retag(r, &store.broken_twin(r));
                }
                "--missing-tag" => self.remove_tag(value()),
                "--latest" => {
                    let v = value();
                    let (repo, version) = v
                        .split_once('=')
                        .unwrap_or_else(|| panic!("--latest REPO=VERSION, not {v}"));
                    let seed = store.server_release(repo, version);
                    self.retag(&format!("{repo}:latest"), &seed);
                    if repo != "allegroai/clearml" {
                        self.retag(&format!("{repo}:{version}"), &seed);
                    }
                }
                "--max-map-count" => {
                    let n = value();
                    fs::write(self.dir.join("proc/max_map_count"), format!("{n}\n"))
                        .unwrap_or_else(|e| panic!("{e}"));
                }
                "--memory-mb" => {
                    let mb: u64 = value().parse().unwrap_or_else(|e| panic!("{e}"));
                    let p = self.dir.join("proc/meminfo");
                    let t = fs::read_to_string(&p).unwrap_or_default();
                    let t: Vec<String> = t
                        .lines()
                        .map(|l| {
                            if l.starts_with("MemTotal:") {
                                format!("MemTotal:       {} kB", mb * 1024)
                            } else {
                                l.to_owned()
                            }
                        })
                        .collect();
                    fs::write(&p, t.join("\n") + "\n").unwrap_or_else(|e| panic!("{e}"));
                }
                "--avx" => {
                    let on = value() == "on";
                    let p = self.dir.join("proc/cpuinfo");
                    let t = if on {
                        fs::read_to_string("/proc/cpuinfo").unwrap_or_default()
                    } else {
                        let t = fs::read_to_string(&p).unwrap_or_default();
                        t.lines()
                            .map(|l| {
                                if l.starts_with("flags") {
                                    l.split(' ')
                                        .filter(|f| !f.starts_with("avx"))
                                        .collect::<Vec<_>>()
                                        .join(" ")
                                } else {
                                    l.to_owned()
                                }
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                            + "\n"
                    };
                    fs::write(&p, t).unwrap_or_else(|e| panic!("{e}"));
                }
                "--chown-data" => {
                    let uid = value();
                    let root = self.server_root();
                    self.sh(&format!(
                        "chown -R {}:{} {}/data",
                        quote(uid),
                        quote(uid),
                        quote(&root)
                    ))
                    .ok();
                }
                "--disk" => {
                    let v = value();
                    let (path, size) = v
                        .split_once('=')
                        .unwrap_or_else(|| panic!("--disk PATH=SIZE, not {v}"));
                    // Private (0700), as a backup disk must be: the preflight refuses a
                    // backup directory others may open.
                    self.sh(&format!(
                        "mkdir -p {p} && mount -t tmpfs -o size={},mode=0700 cf-disk {p}",
                        quote(size),
                        p = quote(path)
                    ))
                    .ok();
                }
                "--tar-fault" => self.tar_fault(value()),
                "--fill-disk-on-down" => {
                    let fill = quote(&format!("{}/.cf-fill", value()));
                    self.on_event(
                        &["event=die", "container=clearml-apiserver"],
                        "*",
                        &format!("dd if=/dev/zero of={fill} bs=1M; df -m {fill}"),
                    );
                }
                "--kill-dockerd" => {
                    let pid = fs::read_to_string(self.dir.join("dockerd.pid"))
                        .unwrap_or_else(|e| panic!("dockerd.pid: {e}"));
                    self.sh(&format!(
                        "kill -9 {p}; while kill -0 {p} 2>/dev/null; do sleep 0.05; done",
                        p = pid.trim()
                    ))
                    .ok();
                }
                "--clear" => {
                    // The registry as upstream's is again (the host's settings stay).
                    let root = self.registry_root();
                    fs::remove_dir_all(&root).unwrap_or_else(|e| panic!("{e}"));
                    let out = Command::new("cp")
                        .arg("-al")
                        .arg(&store.root)
                        .arg(&root)
                        .output()
                        .unwrap_or_else(|e| panic!("cp -al: {e}"));
                    assert!(out.status.success(), "cp -al: {out:?}");
                }
                other => panic!("inject {other}: not a real fault on real-Docker hosts yet"),
            }
        }
    }

    /// From now on `tar -czf …/clearml_backup_data.tgz -C DIR .` (the upgrade's backup, in
    /// either argument form) writes a damaged archive, by a `tar` in front of the real one on
    /// the host's PATH (its /usr/local/bin): `truncate` (cut to half its size: not a whole gzip
    /// file), `tamper` (a valid archive of the data with the first byte of its first non-empty
    /// file changed: same size, other content) or `drop` (a valid archive without that file).
    /// Every other use of tar is the real one. `/opt/tar-fault.log` says what was done.
    pub fn tar_fault(&self, mode: &str) {
        assert!(
            ["truncate", "tamper", "drop"].contains(&mode),
            "--tar-fault truncate|tamper|drop, not {mode}"
        );
        let wrapper = format!(
            r#"#!/bin/sh
# A fault of the clearfleet tests (DockerHost::tar_fault, {mode}): the backup's data archive is damaged.
case $1 in czf|-czf) ;; *) exec /bin/tar "$@" ;; esac
case $2 in */clearml_backup_data.tgz) ;; *) exec /bin/tar "$@" ;; esac
out=$2 dir= prev=
for a in "$@"; do [ "$prev" = -C ] && dir=$a; prev=$a; done
if [ {mode} = truncate ]; then
    /bin/tar "$@" || exit
    n=$(stat -c %s "$out")
    truncate -s $((n / 2)) "$out" && echo "truncate $out $n" >>/opt/tar-fault.log
    exit
fi
t=$(mktemp -d) || exit 1
cp -a "$dir/." "$t/" && chmod --reference="$dir" "$t" && chown --reference="$dir" "$t" || exit 1
f=$(cd "$t" && find . -type f -size +0 | LC_ALL=C sort | head -n 1)
if [ {mode} = tamper ]; then
    c=X; [ "$(head -c 1 "$t/$f")" = X ] && c=Y
    printf %s "$c" | dd of="$t/$f" bs=1 count=1 conv=notrunc 2>/dev/null || exit 1
else
    rm -f "$t/$f"
fi
echo "{mode} $f" >>/opt/tar-fault.log
/bin/tar -czf "$out" -C "$t" . ; rc=$?
rm -rf "$t"
exit $rc
"#
        );
        let path = self.dir.join("empty/tar");
        fs::write(&path, wrapper).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        self.sh("chmod 755 /usr/local/bin/tar").ok();
    }

    /// What [`DockerHost::tar_fault`] did: `truncate ARCHIVE SIZE`, `tamper ./PATH` or
    /// `drop ./PATH` lines.
    pub fn tar_fault_log(&self) -> String {
        fs::read_to_string(self.dir.join("opt/tar-fault.log")).unwrap_or_default()
    }

    /// The host's mount namespace (the `/proc/PID/ns/mnt` link of its processes: its sshd,
    /// every SSH session and what they run, its dockerd).
    pub fn mount_namespace(&self) -> String {
        let pid = self.anchor.as_ref().map_or(0, Child::id);
        fs::read_link(format!("/proc/{pid}/ns/mnt"))
            .map(|l| l.to_string_lossy().into_owned())
            .unwrap_or_else(|e| panic!("the host's mount namespace: {e}"))
    }

    /// The names and states of the host's containers (`docker ps -a`).
    pub fn containers(&self) -> Vec<(String, String)> {
        self.sh("docker ps -a --format '{{.Names}} {{.State}}'")
            .ok()
            .stdout
            .lines()
            .filter_map(|l| l.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())))
            .collect()
    }

    /// The host's registry storage (a copy of the store).
    pub fn registry_root(&self) -> PathBuf {
        self.dir.join("registry")
    }

    /// From now on the host's registry lacks `reference` ("manifest unknown").
    pub fn remove_tag(&self, reference: &str) {
        let (repo, tag) = registry::registry_path(reference);
        let d = self.registry_root().join(format!(
            "docker/registry/v2/repositories/{repo}/_manifests/tags/{tag}"
        ));
        fs::remove_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    }

    /// From now on `reference` in the host's registry names the image that `to` names in the
    /// store (a registry reference or a hidden one).
    pub fn retag(&self, reference: &str, to: &str) {
        let img = registry::store().image(to);
        let (repo, tag) = registry::registry_path(reference);
        let manifest = self.manifest(&img.manifest);
        let blobs = blobs_of(&manifest);
        registry::tag_manifest(&self.registry_root(), &repo, &tag, &img.manifest, &blobs);
    }

    fn manifest(&self, digest: &str) -> Value {
        let h = digest.trim_start_matches("sha256:");
        let p = self.registry_root().join(format!(
            "docker/registry/v2/blobs/sha256/{}/{h}/data",
            &h[..2]
        ));
        serde_json::from_slice(&fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }
}

fn blobs_of(manifest: &Value) -> Vec<String> {
    let mut v: Vec<String> = manifest["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["digest"].as_str().map(str::to_owned))
        .collect();
    if let Some(c) = manifest["config"]["digest"].as_str() {
        v.push(c.to_owned());
    }
    v
}

/// Everything the inside script mounts, under `dir`: the simulator's `host-layout`
/// (crates/clearml-sim/src/standin/host.rs, shared with scripts/demo).
fn lay_out(dir: &Path, store: &Store, cgroup: &str) {
    let out = Command::new(super::sim())
        .arg("host-layout")
        .arg(dir)
        .arg("--store")
        .arg(&store.dir)
        .args(["--cgroup", cgroup, "--runtime", RUNTIME])
        .output()
        .unwrap_or_else(|e| panic!("clearml-sim host-layout: {e}"));
    assert!(
        out.status.success(),
        "clearml-sim host-layout: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The pids of every process whose mount namespace is `mnt` (a `/proc/PID/ns/mnt` link).
fn pids_in(mnt: &str) -> Vec<i32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|pid| {
            fs::read_link(format!("/proc/{pid}/ns/mnt")).is_ok_and(|l| l.to_string_lossy() == mnt)
        })
        .collect()
}

/// The cgroup directories of `name` under every v1 hierarchy (and v2's root), deepest first.
fn cgroup_dirs(name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut roots: Vec<PathBuf> = fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join(name))
        .collect();
    roots.push(Path::new("/sys/fs/cgroup").join(name));
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(d).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&e.path(), out);
            }
        }
        out.push(d.to_path_buf());
    }
    for r in roots.into_iter().filter(|r| r.is_dir()) {
        walk(&r, &mut out);
    }
    out
}

fn kill9(pid: i32) {
    if let Some(p) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
    }
}

impl Drop for DockerHost {
    fn drop(&mut self) {
        let Some(mut anchor) = self.anchor.take() else {
            return;
        };
        // The host's own mount namespace, never the machine's (should its anchor be gone).
        let own = fs::read_link("/proc/self/ns/mnt").ok();
        let mnt = fs::read_link(format!("/proc/{}/ns/mnt", anchor.id()))
            .ok()
            .filter(|m| Some(m) != own.as_ref())
            .map(|l| l.to_string_lossy().into_owned());
        // The containers' processes (their own namespaces, the host's cgroup parent) first,
        // then every process of the host's mount namespace: dockerd, containerd, the shims,
        // docker-proxy, the registry, sshd.
        for _ in 0..50 {
            let mut left = 0;
            for d in cgroup_dirs(&self.cgroup) {
                let procs = fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
                for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                    kill9(pid);
                    left += 1;
                }
            }
            if let Some(m) = &mnt {
                for pid in pids_in(m) {
                    kill9(pid);
                    left += 1;
                }
            }
            if left == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = anchor.kill();
        let _ = anchor.wait();
        for _ in 0..20 {
            let dirs = cgroup_dirs(&self.cgroup);
            if dirs.is_empty() {
                break;
            }
            for d in dirs {
                let _ = fs::remove_dir(&d);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A fleet of real-Docker hosts: the [`Fleet`]'s client key and known_hosts, and its hosts,
/// started in parallel.
pub struct DockerFleet {
    // Dropped in this order: the hosts (torn down), then the fleet's directory, then the turn.
    hosts: Vec<DockerHost>,
    fleet: Fleet,
    _turn: std::sync::MutexGuard<'static, ()>,
}

/// One fleet of real-Docker hosts at a time in a test process: each host is a whole Docker
/// Engine, and two fleets side by side on the 2-core machine made dockerd 20.10 fail container
/// starts now and then (libnetwork's prestart hook: "no such file or directory") while one
/// fleet started containers and the other was torn down.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl DockerFleet {
    /// One host per entry of `compose` (`v1`, `v2` or `both`); `None` where real-Docker hosts
    /// cannot run.
    pub fn start(compose: &[&str]) -> Option<DockerFleet> {
        if !available_here() {
            return None;
        }
        let fleet = Fleet::builder().hosts(0).build()?;
        Some(Self::on(fleet, compose))
    }

    /// Starts one host per entry of `compose` in parallel, for `fleet`'s key and known_hosts.
    fn on(fleet: Fleet, compose: &[&str]) -> DockerFleet {
        let turn = TURN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        registry::store();
        let hosts: Vec<DockerHost> = std::thread::scope(|s| {
            let started: Vec<_> = compose
                .iter()
                .map(|c| s.spawn(|| DockerHost::launch(&fleet, c)))
                .collect();
            started
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        for h in &hosts {
            trust(&fleet, &h.dir, h.address());
        }
        DockerFleet {
            hosts,
            fleet,
            _turn: turn,
        }
    }

    pub fn hosts(&self) -> &[DockerHost] {
        &self.hosts
    }

    pub fn host(&self, i: usize) -> &DockerHost {
        &self.hosts[i]
    }

    /// The fleet: client key, known_hosts.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    pub fn known_hosts_path(&self) -> &Path {
        self.fleet.known_hosts_path()
    }

    /// The head of a YAML inventory (root, the fleet's key); entries follow
    /// ([`DockerHost::inventory_entry`]).
    pub fn inventory_head(&self) -> String {
        format!(
            "all:\n  vars:\n    ansible_user: root\n    ansible_port: 22\n    ansible_ssh_private_key_file: {}\n  hosts:\n",
            self.fleet.client_key().display()
        )
    }

    /// Installs every host at once: `args[i]` are the `clearml-sim init` arguments of host i
    /// (see [`DockerHost::install`]).
    pub fn install(&self, args: &[Vec<&str>]) {
        std::thread::scope(|s| {
            let jobs: Vec<_> = self
                .hosts
                .iter()
                .zip(args)
                .map(|(h, a)| s.spawn(move || h.install(a)))
                .collect();
            for j in jobs {
                j.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            }
        });
    }
}

/// The environment that gives a host the fleet's test users ([`super::sshd::TEST_USERS`]): set
/// when the fleet was built with them (see [`DockerFleet::start_with_test_users`]).
fn test_users_env(fleet: &Fleet) -> Option<(&'static str, PathBuf)> {
    let users = fleet.dir().join("users");
    users
        .join("etc/passwd")
        .is_file()
        .then_some(("CF_TEST_USERS", users))
}

/// Test users and SSH session settings of real-Docker hosts.
impl DockerFleet {
    /// Like [`DockerFleet::start`], with the fleet's test users (cf-pass, cf-sudo, cf-nopw,
    /// cf-docker; see [`super::sshd::TEST_USERS`]) in every host: their `/etc/passwd`,
    /// `/etc/shadow`, `/etc/group` and `/etc/sudoers.d` are bind-mounted inside the host's mount
    /// namespace only (tests/support/docker-host.sh, `CF_TEST_USERS`), before its dockerd starts,
    /// so that `/run/docker.sock` belongs to the `docker` group cf-docker is a member of, and
    /// cf-nopw may `sudo -n docker`. `None` where real-Docker hosts or test users cannot run.
    pub fn start_with_test_users(compose: &[&str]) -> Option<DockerFleet> {
        if !available_here() || !super::sshd::require_test_users() {
            return None;
        }
        let fleet = Fleet::builder().hosts(0).test_users(true).build()?;
        Some(Self::on(fleet, compose))
    }
}

/// SSH session settings of a real-Docker host.
impl DockerHost {
    /// From now on the host's SSH sessions have `HOME=home` (sshd_config `SetEnv`), a directory
    /// other than the login's home from /etc/passwd: sshd rereads its configuration on SIGHUP
    /// (same pid); returns once it listens again.
    pub fn set_session_home(&self, home: &str) {
        let config = self.dir.join("sshd_config");
        let mut c = fs::read_to_string(&config).unwrap_or_else(|e| panic!("{e}"));
        c.push_str(&format!("SetEnv HOME={home}\n"));
        fs::write(&config, c).unwrap_or_else(|e| panic!("{e}"));
        let listening = || {
            fs::read_to_string(self.dir.join("sshd.log"))
                .unwrap_or_default()
                .matches("Server listening on")
                .count()
        };
        let before = listening();
        let pid = self.anchor.as_ref().map_or(0, Child::id);
        kill_hup(pid as i32);
        let started = std::time::Instant::now();
        while listening() <= before {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "sshd did not restart after SIGHUP:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        wait_for_sshd(self.address(), Duration::from_secs(10), || self.logs());
    }
}

fn kill_hup(pid: i32) {
    let p = rustix::process::Pid::from_raw(pid).unwrap_or_else(|| panic!("no pid {pid}"));
    rustix::process::kill_process(p, rustix::process::Signal::HUP)
        .unwrap_or_else(|e| panic!("SIGHUP {pid}: {e}"));
}
