//! A fleet of real OpenSSH `sshd` processes on 127.0.0.1 for integration tests.
//!
//! Each [`Fleet`] lives in its own temporary directory: a client ed25519 key (authorized for
//! every user through a shared `authorized_keys`), and per host its own host key, config, pid
//! file and log. Hosts listen on free ports of 127.0.0.1 and are killed (with every process
//! they forked) and reaped on drop.
//!
//! When `/usr/sbin/sshd` is missing the fleet is not started and tests skip with a message,
//! except under `CI`, where that is a failure.
//!
//! The test users (`cf-pass`, `cf-sudo`, `cf-nopw`, `cf-docker`, see [`TEST_USERS`]) exist only
//! inside the hosts of a fleet built with [`FleetBuilder::test_users`]: such a host's sshd runs in
//! its own private mount namespace (`unshare -m`) where per-fleet copies of `/etc/passwd`,
//! `/etc/shadow` and `/etc/group` (the machine's lines plus the users'), a private
//! `/etc/sudoers.d` (the machine's rules plus the users') are bind-mounted over the machine's, so
//! `sshd` and the `sudo` of its sessions see them, and nothing else on the machine does. Their
//! homes are under the fleet's temporary directory. Building such a fleet checks
//! [`require_test_users`] (root, sudo, unshare, openssl), which skips the same way.
//!
//! A fleet built with [`FleetBuilder::private_etc`] gives each host its own copy of the whole
//! `/etc` instead (bound over `/etc` in its namespace, so `useradd`'s renames work there):
//! modules that create users, groups or sudoers rules run for real and change only that copy,
//! which [`SshdHost::etc`] shows to the test; and its own empty `/home`, where the homes of
//! those accounts are made (`useradd -m`, `luseradd`), so that none outlives the host.

use std::fs;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clearfleet_ssh::{HostKeyChecking, SshSettings, Target};

const SSHD: &str = "/usr/sbin/sshd";

/// Password of the `cf-pass` test user.
pub const CF_PASS_PASSWORD: &str = "cf-pass-secret-1";
/// sudo password of the `cf-sudo` test user.
pub const CF_SUDO_PASSWORD: &str = "cf-sudo-secret-2";

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Skips (returns false, printing why) or, under `CI`, fails.
fn unavailable(why: &str) -> bool {
    if in_ci() {
        panic!("{why} (required because CI is set); run scripts/setup-test-env.sh");
    }
    eprintln!("SKIPPED: {why}; run scripts/setup-test-env.sh as root to enable this test");
    false
}

/// A test user: name, password, what it may do beyond logging in (sudoers line, groups).
pub struct TestUser {
    pub name: &'static str,
    pub password: &'static str,
    /// The rule of `/etc/sudoers.d/clearfleet-test` for this user, if any.
    pub sudo: Option<&'static str>,
    /// Supplementary groups (created in the namespace's `/etc/group` when the machine lacks
    /// them).
    pub groups: &'static [&'static str],
}

/// The users of a fleet built with [`FleetBuilder::test_users`]. Each has a password (with
/// `UsePAM no`, sshd refuses even key logins to an account whose password is locked).
pub const TEST_USERS: &[TestUser] = &[
    // Password login; not a sudoer.
    TestUser {
        name: "cf-pass",
        password: CF_PASS_PASSWORD,
        sudo: None,
        groups: &[],
    },
    // Key login; sudo to any user with its password.
    TestUser {
        name: "cf-sudo",
        password: CF_SUDO_PASSWORD,
        sudo: Some("cf-sudo ALL=(ALL:ALL) ALL"),
        groups: &[],
    },
    // Key login; passwordless sudo (docker access "through sudo -n" in detection).
    TestUser {
        name: "cf-nopw",
        password: "cf-nopw-unused-3",
        sudo: Some("cf-nopw ALL=(ALL:ALL) NOPASSWD: ALL"),
        groups: &[],
    },
    // Key login; member of the `docker` group (docker access "docker group").
    TestUser {
        name: "cf-docker",
        password: "cf-docker-unused-4",
        sudo: None,
        groups: &["docker"],
    },
];

/// Name of the sudoers file holding the test users' rules (inside the hosts' namespaces only).
pub const TEST_SUDOERS: &str = "clearfleet-test";

/// Whether fleets with [`FleetBuilder::test_users`] can run here: root (mount namespaces), sudo,
/// unshare and openssl (password hashes).
pub fn require_test_users() -> bool {
    if !is_root() {
        return unavailable("the test users need root (a private mount namespace per sshd)");
    }
    for (tool, package) in [
        ("/usr/bin/sudo", "sudo"),
        ("/usr/sbin/visudo", "sudo"),
        ("/usr/bin/unshare", "util-linux"),
        ("/usr/bin/openssl", "openssl"),
    ] {
        if !Path::new(tool).exists() {
            return unavailable(&format!("{tool} is missing (package {package})"));
        }
    }
    true
}

/// Lays out the test users under `dir`: `etc/{passwd,shadow,group}` (the machine's files plus
/// the users' lines), `etc/sudoers.d/` (the machine's rules plus theirs) and `home/USER`.
/// Nothing outside `dir` changes.
fn write_test_users(dir: &Path) {
    let etc = dir.join("etc");
    let sudoers_d = etc.join("sudoers.d");
    fs::create_dir_all(&sudoers_d).expect("test users' etc");
    set_mode(dir, 0o755);
    set_mode(&etc, 0o755);
    set_mode(&sudoers_d, 0o755);
    let ours = |line: &str| {
        TEST_USERS
            .iter()
            .any(|u| line.split(':').next() == Some(u.name))
    };
    // The machine's lines, without any user of ours an old setup script left there.
    let machine = |path: &str| -> Vec<String> {
        fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("read {path}: {e}"))
            .lines()
            .filter(|l| !ours(l))
            .map(str::to_owned)
            .collect()
    };
    let mut passwd = machine("/etc/passwd");
    let mut shadow = machine("/etc/shadow");
    let mut group = machine("/etc/group");
    let id_of = |line: &String| line.split(':').nth(2).and_then(|f| f.parse::<u32>().ok());
    let mut used: Vec<u32> = passwd
        .iter()
        .chain(group.iter())
        .filter_map(id_of)
        .collect();
    let mut next_id = || {
        let id = (20000..60000)
            .find(|i| !used.contains(i))
            .expect("a free uid");
        used.push(id);
        id
    };
    let home_root = dir.join("home");
    fs::create_dir_all(&home_root).expect("test users' homes");
    set_mode(&home_root, 0o755);
    let mut rules = String::from(
        "# clearfleet integration tests (this file exists only in the test hosts' namespaces)\n",
    );
    for u in TEST_USERS {
        let id = next_id();
        let home = home_root.join(u.name);
        fs::create_dir_all(&home).expect("test user's home");
        std::os::unix::fs::chown(&home, Some(id), Some(id)).expect("chown home");
        set_mode(&home, 0o755);
        passwd.push(format!(
            "{}:x:{id}:{id}:clearfleet test user:{}:/bin/bash",
            u.name,
            home.display()
        ));
        group.push(format!("{}:x:{id}:", u.name));
        // Last change 2022-01-08, never expires: no forced password change at login.
        shadow.push(format!(
            "{}:{}:19000:0:99999:7:::",
            u.name,
            hash_password(u.password)
        ));
        for g in u.groups {
            match group.iter_mut().find(|l| l.split(':').next() == Some(*g)) {
                Some(line) => {
                    if !line.ends_with(':') {
                        line.push(',');
                    }
                    line.push_str(u.name);
                }
                None => {
                    let gid = next_id();
                    group.push(format!("{g}:x:{gid}:{}", u.name));
                }
            }
        }
        if let Some(rule) = u.sudo {
            rules.push_str(rule);
            rules.push('\n');
        }
    }
    let write_lines = |name: &str, lines: &[String], mode: u32| {
        let path = etc.join(name);
        fs::write(&path, lines.join("\n") + "\n").expect("write test users' file");
        set_mode(&path, mode);
    };
    write_lines("passwd", &passwd, 0o644);
    write_lines("group", &group, 0o644);
    write_lines("shadow", &shadow, 0o640);
    // The machine's own sudo rules stay in force inside (an old setup script's file aside).
    if let Ok(entries) = fs::read_dir("/etc/sudoers.d") {
        for e in entries.flatten() {
            if e.file_name() != TEST_SUDOERS && e.path().is_file() {
                let to = sudoers_d.join(e.file_name());
                fs::copy(e.path(), &to).expect("copy sudoers.d file");
                set_mode(&to, 0o440);
            }
        }
    }
    let file = sudoers_d.join(TEST_SUDOERS);
    fs::write(&file, rules).expect("sudoers file");
    set_mode(&file, 0o440);
    let check = Command::new("visudo")
        .args(["-c", "-q", "-f"])
        .arg(&file)
        .output()
        .expect("run visudo");
    assert!(
        check.status.success(),
        "invalid test sudoers: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

/// A SHA-512 crypt hash of `password` (`openssl passwd -6`), for /etc/shadow.
fn hash_password(password: &str) -> String {
    let mut child = Command::new("openssl")
        .args(["passwd", "-6", "-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl passwd");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write password");
    let out = child.wait_with_output().expect("openssl passwd");
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success() && hash.starts_with("$6$"),
        "openssl passwd -6: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    hash
}

/// Options for [`Fleet`].
#[derive(Debug, Clone)]
pub struct FleetBuilder {
    hosts: usize,
    password_auth: bool,
    max_sessions: Option<u32>,
    max_startups: Option<String>,
    empty_known_hosts: bool,
    /// The hosts see the test users ([`TEST_USERS`]) in their own mount namespace.
    test_users: bool,
    /// Each host's sessions see their own empty `/tmp` (in their own mount namespace).
    private_tmp: bool,
    /// Each host's sessions see their own copy of `/etc` (in their own mount namespace).
    private_etc: bool,
}

impl FleetBuilder {
    pub fn hosts(mut self, n: usize) -> Self {
        self.hosts = n;
        self
    }
    pub fn password_auth(mut self, on: bool) -> Self {
        self.password_auth = on;
        self
    }
    pub fn max_sessions(mut self, n: u32) -> Self {
        self.max_sessions = Some(n);
        self
    }
    pub fn max_startups(mut self, spec: &str) -> Self {
        self.max_startups = Some(spec.to_string());
        self
    }
    /// Give the hosts the test users ([`TEST_USERS`]), visible only to their sshd and its
    /// sessions ([`FleetBuilder::build`] checks [`require_test_users`]).
    pub fn test_users(mut self, on: bool) -> Self {
        self.test_users = on;
        self
    }
    /// Give each host its own empty `/tmp`, seen only by its sshd and its sessions (as each
    /// container of ansible-test has its own): what one host's commands do there, or list
    /// there, never races with another host or with the rest of the machine. The fleet's own
    /// directory stays visible at its path. Needs root and unshare, like the test users.
    pub fn private_tmp(mut self, on: bool) -> Self {
        self.private_tmp = on;
        self
    }
    /// Give each host its own copy of the machine's `/etc` (taken when the host starts), seen
    /// only by its sshd and its sessions: what `useradd`, `groupadd` or a sudoers rule change
    /// there never reaches the machine or another host. The whole directory is bound, not
    /// single files: `useradd` replaces `/etc/passwd` by a rename, which a file binding
    /// refuses. `/home` is the host's own too, empty at first: a home made for an account of
    /// that `/etc` (which ansible-core's `user` target leaves behind) never reaches the machine,
    /// where the next run's `luseradd` would find it ("File exists"). Needs root and unshare,
    /// like the test users (not together with them).
    pub fn private_etc(mut self, on: bool) -> Self {
        self.private_etc = on;
        self
    }
    /// Leave the fleet's known_hosts file empty (it is pre-populated by default).
    pub fn empty_known_hosts(mut self, on: bool) -> Self {
        self.empty_known_hosts = on;
        self
    }

    /// Starts the hosts; `None` (after printing why: the test is skipped) when sshd is not
    /// installed, or the test users are asked for and [`require_test_users`] says no.
    pub fn build(self) -> Option<Fleet> {
        assert!(
            !(self.test_users && self.private_etc),
            "test_users binds files of /etc; private_etc replaces it: choose one"
        );
        if (self.test_users || self.private_tmp || self.private_etc) && !require_test_users() {
            return None;
        }
        if !Path::new(SSHD).exists() {
            unavailable("/usr/sbin/sshd is not installed");
            return None;
        }
        if is_root() && !Path::new("/run/sshd").exists() {
            // sshd refuses to start as root without its privilege separation directory.
            fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        }
        let dir = tempfile::Builder::new()
            .prefix("cf-sshd-")
            .tempdir()
            .expect("tempdir");
        // Non-root users (cf-sudo, cf-pass) must be able to read authorized_keys.
        set_mode(dir.path(), 0o755);
        let client_key = dir.path().join("id_ed25519");
        keygen(&client_key, "ed25519", "");
        let authorized = dir.path().join("authorized_keys");
        fs::copy(client_key.with_extension("pub"), &authorized).expect("authorized_keys");
        set_mode(&authorized, 0o644);
        let users = self.test_users.then(|| {
            let users = dir.path().join("users");
            write_test_users(&users);
            users
        });

        let mut hosts = Vec::new();
        for i in 1..=self.hosts {
            let hdir = dir.path().join(format!("h{i:02}"));
            fs::create_dir(&hdir).expect("host dir");
            let host = SshdHost {
                name: format!("h{i:02}"),
                dir: hdir.clone(),
                host_key: hdir.join("ssh_host_ed25519_key"),
                config: hdir.join("sshd_config"),
                log: hdir.join("sshd.log"),
                authorized_keys: authorized.clone(),
                users: users.clone(),
                options: self.clone(),
                port: Mutex::new(0),
                child: Mutex::new(None),
            };
            keygen(&host.host_key, "ed25519", "");
            host.start_on(None);
            hosts.push(host);
        }
        let known_hosts = dir.path().join("known_hosts");
        let fleet = Fleet {
            dir,
            hosts,
            client_key,
            known_hosts,
        };
        if self.empty_known_hosts {
            fs::write(&fleet.known_hosts, "").expect("known_hosts");
        } else {
            fleet.write_known_hosts();
        }
        Some(fleet)
    }
}

/// Several sshd hosts sharing a client key and a known_hosts file.
pub struct Fleet {
    dir: tempfile::TempDir,
    hosts: Vec<SshdHost>,
    client_key: PathBuf,
    known_hosts: PathBuf,
}

impl Fleet {
    /// An inventory of every host of the fleet (h01…, each with its `ansible_port`), reached at
    /// 127.0.0.1 as root with the client key (`all.vars`). Refine it with the [`Inventory`]
    /// methods, then [`Inventory::write`] it.
    pub fn inventory(&self) -> Inventory {
        Inventory {
            vars: vec![
                ("ansible_host".into(), "127.0.0.1".into()),
                ("ansible_user".into(), "root".into()),
                (
                    "ansible_ssh_private_key_file".into(),
                    self.client_key.display().to_string(),
                ),
            ],
            hosts: self
                .hosts
                .iter()
                .map(|h| (h.name().to_owned(), vec![port_var(h.port())]))
                .collect(),
            groups: Vec::new(),
        }
    }

    pub fn builder() -> FleetBuilder {
        FleetBuilder {
            hosts: 1,
            password_auth: false,
            max_sessions: None,
            max_startups: None,
            empty_known_hosts: false,
            test_users: false,
            private_tmp: false,
            private_etc: false,
        }
    }

    /// `n` hosts with default options; `None` when sshd is missing (test skipped).
    pub fn start(n: usize) -> Option<Fleet> {
        Fleet::builder().hosts(n).build()
    }

    /// `n` hosts with the test users ([`TEST_USERS`]) and password logins; `None` when either
    /// is unavailable (test skipped).
    pub fn with_test_users(n: usize) -> Option<Fleet> {
        Fleet::builder()
            .hosts(n)
            .password_auth(true)
            .test_users(true)
            .build()
    }

    pub fn hosts(&self) -> &[SshdHost] {
        &self.hosts
    }

    /// Host `i` (0-based).
    pub fn host(&self, i: usize) -> &SshdHost {
        &self.hosts[i]
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The client private key, authorized for every user on every host.
    pub fn client_key(&self) -> &Path {
        &self.client_key
    }

    /// A known_hosts file holding every host's key as `[127.0.0.1]:port key` (unless built
    /// with `empty_known_hosts`).
    pub fn known_hosts_path(&self) -> &Path {
        &self.known_hosts
    }

    /// Rewrites known_hosts with the hosts' current keys.
    pub fn write_known_hosts(&self) {
        let mut text = String::new();
        for h in &self.hosts {
            text.push_str(&format!(
                "[127.0.0.1]:{} {}\n",
                h.port(),
                h.public_key_line()
            ));
        }
        fs::write(&self.known_hosts, text).expect("known_hosts");
    }

    /// Adds a public key file to the shared authorized_keys.
    pub fn authorize_key(&self, public_key: &Path) {
        let key = fs::read_to_string(public_key).expect("public key");
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join("authorized_keys"))
            .expect("authorized_keys");
        f.write_all(key.as_bytes()).expect("append key");
    }

    /// Settings for tests: this fleet's known_hosts, strict checking, no agent, no default
    /// keys, short connect timeout.
    pub fn settings(&self) -> SshSettings {
        SshSettings {
            known_hosts: self.known_hosts.clone(),
            host_key_checking: HostKeyChecking::Strict,
            connect_timeout: Duration::from_secs(10),
            use_agent: false,
            default_identity_files: Vec::new(),
            ..SshSettings::default()
        }
    }

    /// Host `i` as `user` logging in with `password` (no key).
    pub fn password_target(&self, i: usize, user: &str, password: &str) -> Target {
        Target {
            identity_files: Vec::new(),
            password: Some(clearfleet_base::secret::Secret::new(password)),
            ..self.target(i, user)
        }
    }

    /// Host `i` as `user` with the client key.
    pub fn target(&self, i: usize, user: &str) -> Target {
        let h = self.host(i);
        Target {
            name: h.name().to_string(),
            address: "127.0.0.1".into(),
            port: h.port(),
            user: user.into(),
            identity_files: vec![self.client_key.clone()],
            password: None,
            connect_timeout: None,
            jump: None,
            known_hosts: None,
            host_key_checking: None,
        }
    }
}

/// A YAML inventory of sshd hosts on 127.0.0.1 (from [`Fleet::inventory`]): `all.vars`, each
/// host with its own vars, and groups of them. Values are written as given (YAML scalars: quote
/// them yourself when they need it).
#[derive(Debug, Clone)]
pub struct Inventory {
    vars: Vec<(String, String)>,
    hosts: Vec<(String, Vec<(String, String)>)>,
    groups: Vec<(String, Vec<String>)>,
}

/// `ansible_port: PORT`.
fn port_var(port: u16) -> (String, String) {
    ("ansible_port".into(), port.to_string())
}

/// Sets `name: value` in `vars`, in place of an earlier value.
fn set_var(vars: &mut Vec<(String, String)>, name: &str, value: String) {
    match vars.iter_mut().find(|(n, _)| n == name) {
        Some(var) => var.1 = value,
        None => vars.push((name.to_owned(), value)),
    }
}

impl Inventory {
    /// `name: value` under `all.vars` (replacing the value it had).
    pub fn var(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        set_var(&mut self.vars, name, value.to_string());
        self
    }

    /// `work_dir: DIR` under `all.vars`, for playbooks that write their files there.
    pub fn work_dir(self, dir: &Path) -> Self {
        self.var("work_dir", dir.display())
    }

    /// Removes `name` from `all.vars` (the client key, for a host that logs in otherwise).
    pub fn unset_var(mut self, name: &str) -> Self {
        self.vars.retain(|(n, _)| n != name);
        self
    }

    /// `name: value` in the vars of `host` (replacing the value it had).
    pub fn host_var(mut self, host: &str, name: &str, value: impl std::fmt::Display) -> Self {
        let Some((_, vars)) = self.hosts.iter_mut().find(|(h, _)| h == host) else {
            panic!("no host {host} in the inventory");
        };
        set_var(vars, name, value.to_string());
        self
    }

    /// Removes `name` from the vars of `host` (its `ansible_port`, for a host reached on the
    /// port a playbook's `port` keyword gives).
    pub fn unset_host_var(mut self, host: &str, name: &str) -> Self {
        let Some((_, vars)) = self.hosts.iter_mut().find(|(h, _)| h == host) else {
            panic!("no host {host} in the inventory");
        };
        vars.retain(|(n, _)| n != name);
        self
    }

    /// Another host, on `port` (of 127.0.0.1 unless its `ansible_host` says otherwise): an
    /// alias of an sshd host, a closed port, a silent listener.
    pub fn host(mut self, name: &str, port: u16) -> Self {
        self.hosts.push((name.to_owned(), vec![port_var(port)]));
        self
    }

    /// Drops every host, to list others with [`Inventory::host`].
    pub fn without_hosts(mut self) -> Self {
        self.hosts.clear();
        self
    }

    /// A group `name` (under `all.children`) of `hosts`.
    pub fn group(mut self, name: &str, hosts: &[&str]) -> Self {
        let hosts = hosts.iter().map(|h| (*h).to_owned()).collect();
        self.groups.push((name.to_owned(), hosts));
        self
    }

    /// Writes the inventory to `dir/name` and returns that path.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        super::cli::write(dir, name, &self.to_string())
    }
}

impl std::fmt::Display for Inventory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "all:\n  vars:")?;
        for (name, value) in &self.vars {
            writeln!(f, "    {name}: {value}")?;
        }
        writeln!(f, "  hosts:")?;
        for (host, vars) in &self.hosts {
            writeln!(f, "    {host}:")?;
            for (name, value) in vars {
                writeln!(f, "      {name}: {value}")?;
            }
        }
        if !self.groups.is_empty() {
            writeln!(f, "  children:")?;
        }
        for (group, hosts) in &self.groups {
            writeln!(f, "    {group}:\n      hosts:")?;
            for host in hosts {
                writeln!(f, "        {host}:")?;
            }
        }
        Ok(())
    }
}

/// Run by `sh -c` in sshd's new mount namespace: `$0` the test users' files or `-`, `$1` the
/// private `/tmp` or `-`, `$2` where the fleet's directory appears in it (or `-` when the fleet
/// is not under `/tmp`), `$3` the private copy of `/etc` or `-`, `$4` the private `/home` (with
/// that `/etc`) or `-`, then sshd's argv.
const NAMESPACE_MOUNTS: &str = "set -e\n\
    if [ \"$3\" != - ]; then\n\
      mount --bind \"$3\" /etc\n\
    fi\n\
    if [ \"$4\" != - ]; then\n\
      mount --bind \"$4\" /home\n\
    fi\n\
    if [ \"$0\" != - ]; then\n\
      for f in passwd shadow group sudoers.d; do mount --bind \"$0/etc/$f\" \"/etc/$f\"; done\n\
    fi\n\
    if [ \"$1\" != - ]; then\n\
      if [ \"$2\" != - ]; then\n\
        fleet=\"/tmp/${2#\"$1\"/}\"\n\
        mkdir -p \"$2\"\n\
        mount --bind \"$fleet\" \"$2\"\n\
      fi\n\
      mount --rbind \"$1\" /tmp\n\
    fi\n\
    shift 4\n\
    exec \"$@\"";

/// One sshd process (and its config, keys and log).
pub struct SshdHost {
    name: String,
    dir: PathBuf,
    host_key: PathBuf,
    config: PathBuf,
    log: PathBuf,
    authorized_keys: PathBuf,
    /// The test users' files (see [`write_test_users`]), bind-mounted in sshd's namespace.
    users: Option<PathBuf>,
    options: FleetBuilder,
    port: Mutex<u16>,
    child: Mutex<Option<Child>>,
}

impl SshdHost {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn port(&self) -> u16 {
        *self.port.lock().expect("port lock")
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port())
    }

    /// The HOME of every session of this host (sshd's `SetEnv HOME`).
    pub fn home(&self) -> PathBuf {
        self.dir.join("home")
    }

    /// Empties this host's own `/tmp` ([`FleetBuilder::private_tmp`]; nothing to do without
    /// one), as a fresh container's would be. Only between runs: a session may be using it.
    pub fn empty_private_tmp(&self) {
        if !self.options.private_tmp {
            return;
        }
        let tmp = self.dir.join("tmp");
        // The fleet's directory is mounted on its namespace's mount point here: kept.
        let fleet = self.dir.parent().and_then(Path::file_name);
        for entry in fs::read_dir(&tmp).into_iter().flatten().flatten() {
            if Some(entry.file_name().as_os_str()) != fleet {
                let p = entry.path();
                let _ = fs::remove_dir_all(&p).or_else(|_| fs::remove_file(&p));
            }
        }
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `type base64` of the host key.
    pub fn public_key_line(&self) -> String {
        let text = fs::read_to_string(self.host_key.with_extension("pub")).expect("host pub key");
        let mut f = text.split_whitespace();
        format!(
            "{} {}",
            f.next().expect("key type"),
            f.next().expect("key data")
        )
    }

    /// `SHA256:…` of the host key, as `ssh-keygen -l` prints it.
    pub fn host_key_fingerprint(&self) -> String {
        let out = Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(self.host_key.with_extension("pub"))
            .output()
            .expect("ssh-keygen -l");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            .expect("fingerprint field")
            .to_string()
    }

    /// Lines "Accepted publickey/password for …" in the log: one per authenticated connection.
    pub fn accepted_connections(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("Accepted publickey for") || l.contains("Accepted password for"))
            .count()
    }

    /// Kills sshd and every process it forked (connection handlers, sessions, commands).
    pub fn kill(&self) {
        let mut child = self.child.lock().expect("child lock");
        if let Some(mut c) = child.take() {
            kill_tree(c.id());
            let _ = c.wait();
        }
    }

    /// Kills the host, gives it a new host key and starts it again on the same port.
    pub fn regenerate_host_key_and_restart(&self) {
        self.kill();
        let _ = fs::remove_file(&self.host_key);
        let _ = fs::remove_file(self.host_key.with_extension("pub"));
        keygen(&self.host_key, "ed25519", "");
        let port = self.port();
        self.start_on(Some(port));
    }

    /// The arguments of [`NAMESPACE_MOUNTS`] when this host's sshd runs in its own mount
    /// namespace (test users or a private `/tmp`), `None` when it shares the machine's.
    fn namespace_mounts(&self) -> Option<[std::ffi::OsString; 5]> {
        let private_tmp = self.options.private_tmp.then(|| {
            let tmp = self.dir.join("tmp");
            fs::create_dir_all(&tmp).expect("private tmp");
            set_mode(&tmp, 0o1777);
            tmp
        });
        let private_etc = self.options.private_etc.then(|| self.copy_etc());
        let private_home = self.options.private_etc.then(|| {
            let homes = self.dir.join("homes");
            fs::create_dir_all(&homes).expect("private /home");
            set_mode(&homes, 0o755);
            homes
        });
        if self.users.is_none() && private_tmp.is_none() && private_etc.is_none() {
            return None;
        }
        let or_dash = |p: Option<&Path>| p.map_or_else(|| "-".into(), |p| p.as_os_str().to_owned());
        // The fleet's directory (config, keys, homes) is under /tmp: seen again at its path.
        let fleet = self.dir.parent().expect("the fleet's directory");
        let fleet_in_tmp = private_tmp
            .as_ref()
            .and_then(|tmp| Some(tmp.join(fleet.strip_prefix("/tmp").ok()?)));
        Some([
            or_dash(self.users.as_deref()),
            or_dash(private_tmp.as_deref()),
            or_dash(fleet_in_tmp.as_deref()),
            or_dash(private_etc.as_deref()),
            or_dash(private_home.as_deref()),
        ])
    }

    /// This host's copy of the machine's `/etc` ([`FleetBuilder::private_etc`]): taken once,
    /// kept across restarts of the host.
    fn copy_etc(&self) -> PathBuf {
        let etc = self.dir.join("etc");
        if !etc.is_dir() {
            let out = Command::new("cp")
                .arg("-a")
                .arg("/etc")
                .arg(&etc)
                .output()
                .expect("run cp -a /etc");
            assert!(
                out.status.success(),
                "cp -a /etc {}: {}",
                etc.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        etc
    }

    /// This host's private `/etc` as the machine sees it ([`FleetBuilder::private_etc`]):
    /// read `passwd`, `group`, `shadow` there to see what the host's sessions did.
    pub fn etc(&self) -> PathBuf {
        self.dir.join("etc")
    }

    fn write_config(&self, port: u16) {
        let o = &self.options;
        let mut c = format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {}\nPidFile {}\nAuthorizedKeysFile {}\n\
             StrictModes no\nUsePAM no\nPasswordAuthentication {}\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nPermitRootLogin yes\nSubsystem sftp internal-sftp\nLogLevel VERBOSE\n",
            self.host_key.display(),
            self.dir.join("sshd.pid").display(),
            self.authorized_keys.display(),
            if o.password_auth { "yes" } else { "no" },
        );
        // Root's ~/.bashrc on the build machines runs `pyenv init`, whose rehash lock, left
        // behind when a test kills a login shell in it (timeouts, Ctrl-C), makes every later
        // login wait 60 s. Test hosts get an empty HOME, as real servers' non-interactive
        // logins have no such rc files (the benchmark's hosts do the same).
        let home = self.home();
        if !home.is_dir() {
            fs::create_dir(&home).expect("host home");
            set_mode(&home, 0o1777);
        }
        c.push_str(&format!("SetEnv HOME={}\n", home.display()));
        if let Some(n) = o.max_sessions {
            c.push_str(&format!("MaxSessions {n}\n"));
        }
        if let Some(s) = &o.max_startups {
            c.push_str(&format!("MaxStartups {s}\n"));
        }
        fs::write(&self.config, c).expect("sshd_config");
    }

    /// Starts sshd on `port` (or a free port), retrying with another free port when the port
    /// got taken meanwhile. Panics with the log when sshd dies.
    fn start_on(&self, port: Option<u16>) {
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = port.unwrap_or_else(free_port);
            self.write_config(port);
            let mut argv: Vec<std::ffi::OsString> = Vec::new();
            if let Some(mounts) = self.namespace_mounts() {
                // Every step execs, so the child's pid ends up being sshd's.
                argv.extend(
                    [
                        "unshare",
                        "-m",
                        "--propagation",
                        "private",
                        "sh",
                        "-c",
                        NAMESPACE_MOUNTS,
                    ]
                    .map(Into::into),
                );
                argv.extend(mounts);
            }
            argv.push(SSHD.into());
            let child = Command::new(&argv[0])
                .args(&argv[1..])
                .args(["-D", "-e", "-f"])
                .arg(&self.config)
                .arg("-E")
                .arg(&self.log)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn sshd");
            *self.port.lock().expect("port lock") = port;
            let mut child = child;
            let started = Instant::now();
            let ready = loop {
                if let Ok(Some(_status)) = child.try_wait() {
                    break false;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    break true;
                }
                if started.elapsed() > Duration::from_secs(30) {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "sshd {} not listening after 30 s; log:\n{}",
                        self.name,
                        self.log()
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            if ready {
                *self.child.lock().expect("child lock") = Some(child);
                return;
            }
            last_log = self.log();
            if !last_log.contains("Address already in use") {
                break;
            }
        }
        panic!("sshd {} failed to start; log:\n{last_log}", self.name);
    }
}

impl Drop for SshdHost {
    fn drop(&mut self) {
        self.kill();
    }
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|u| u.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false)
}

pub fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// `ssh-keygen -t kind -N passphrase -f path` (bcrypt rounds kept low: debug builds decrypt
/// slowly).
pub fn keygen(path: &Path, kind: &str, passphrase: &str) {
    let mut cmd = Command::new("ssh-keygen");
    cmd.args([
        "-q",
        "-t",
        kind,
        "-N",
        passphrase,
        "-C",
        "clearfleet-test",
        "-f",
    ])
    .arg(path);
    if kind == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    if !passphrase.is_empty() {
        cmd.args(["-a", "2"]);
    }
    let out = cmd.output().expect("run ssh-keygen");
    assert!(
        out.status.success(),
        "ssh-keygen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// Every descendant of `root` (children first found through /proc/*/stat).
fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid …"; comm may hold spaces and parentheses.
            let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                continue;
            };
            if let Some(ppid) = after
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u32>().ok())
            {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for &(pid, ppid) in &parent_of {
            if ppid == p && !out.contains(&pid) {
                out.push(pid);
                frontier.push(pid);
            }
        }
    }
    out
}

pub fn kill_tree(root: u32) {
    let _ = Command::new("kill")
        .args(["-STOP", &root.to_string()])
        .status();
    let mut pids = descendants(root);
    pids.push(root);
    let args: Vec<String> = pids.iter().map(u32::to_string).collect();
    let _ = Command::new("kill")
        .arg("-KILL")
        .args(&args)
        .stderr(Stdio::null())
        .status();
}

/// A running `ssh-agent` on its own socket, killed on drop.
pub struct Agent {
    child: Child,
    socket: PathBuf,
}

impl Agent {
    /// Starts `ssh-agent -D -a <dir>/agent.sock` and waits for the socket.
    pub fn start(dir: &Path) -> Agent {
        let socket = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ssh-agent");
        let started = Instant::now();
        while !socket.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "ssh-agent socket did not appear"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Agent { child, socket }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// `ssh-add key`.
    pub fn add(&self, key: &Path) {
        let out = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .output()
            .expect("run ssh-add");
        assert!(
            out.status.success(),
            "ssh-add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
