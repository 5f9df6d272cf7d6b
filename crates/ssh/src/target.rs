//! Works out how to reach one host (address, port, user, keys, password, jump chain) from the
//! inventory, the CLI and `~/.ssh/config`, before any network traffic.
//!
//! Precedence, per setting (highest first), chosen to match what `ansible` + OpenSSH do:
//!
//! | setting | 1 | 2 | 3 | 4 |
//! |---|---|---|---|---|
//! | address | `ansible_host` | ssh_config `HostName` | inventory name | |
//! | port | `ansible_port` | ssh_config `Port` | 22 | |
//! | user | `ansible_user` | CLI `--user` | ssh_config `User` | `$USER` / `$LOGNAME` / passwd |
//! | keys | `ansible_ssh_private_key_file`, else CLI `--private-key` (tried first) | then ssh_config `IdentityFile`s that exist | | |
//! | password | `ansible_password` | CLI `--ask-pass` | | |
//! | jump | `HostParams::proxy_jump` | ssh_config `ProxyJump` | none | |
//! | connect timeout | ssh_config `ConnectTimeout` | `SshSettings::connect_timeout` | | |
//! | known_hosts, checking | `HostParams` (`-o UserKnownHostsFile`, `-o StrictHostKeyChecking` in the `ansible_ssh_*args`) | `SshSettings` | | |
//!
//! Notes:
//! - ssh_config is matched on the inventory name (as `ssh name` would) and, when
//!   `ansible_host` is set, also on that address (which is what Ansible hands to `ssh`); values
//!   from the inventory-name match win.
//! - `-u` is a flag Ansible passes to `ssh`, so it beats ssh_config's `User`, while
//!   `ansible_user` beats `-u`.
//! - A key named in the inventory or on the CLI must exist (an error naming the path, at connect
//!   time); ssh_config `IdentityFile`s that do not exist are skipped, as OpenSSH does.
//! - Jump hosts (`user@host:port`, comma chains) are resolved through ssh_config like any host
//!   (the first hop also gets its own `ProxyJump`). They get no password, and may use the
//!   target's explicit key after their own `IdentityFile`s (bastions usually share the key).

use std::path::PathBuf;
use std::time::Duration;

use super::error::{JumpSpecError, TargetError};
use super::known_hosts::HostKeyChecking;
use super::ssh_config::{HostConfig, SshConfig, jump_hops};
use clearfleet_base::secret::Secret;

/// Longest ProxyJump chain followed; longer means a loop in ssh_config.
const MAX_JUMPS: usize = 8;

/// Per-host connection variables from the inventory. `None` = not set.
#[derive(Debug, Clone, Default)]
pub struct HostParams {
    /// `ansible_host`
    pub address: Option<String>,
    /// `ansible_port`
    pub port: Option<u16>,
    /// `ansible_user`
    pub user: Option<String>,
    /// `ansible_ssh_private_key_file`
    pub private_key: Option<PathBuf>,
    /// `ansible_password` (or `ansible_ssh_pass`)
    pub password: Option<Secret>,
    /// A ProxyJump chain (`[user@]host[:port],...`), e.g. from `-J` in `ansible_ssh_common_args`.
    /// Overrides ssh_config's ProxyJump; `"none"` disables it.
    pub proxy_jump: Option<String>,
    /// `-o UserKnownHostsFile` in `ansible_ssh_common_args` (or `_extra_args`, `ansible_ssh_args`).
    pub known_hosts: Option<PathBuf>,
    /// `-o StrictHostKeyChecking` there.
    pub host_key_checking: Option<HostKeyChecking>,
}

/// Connection defaults from the CLI (`--user`, `--private-key`, `--ask-pass`); inventory
/// variables override them.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub user: Option<String>,
    pub private_key: Option<PathBuf>,
    pub password: Option<Secret>,
}

/// Everything needed to reach one host. `Debug` masks the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The inventory name (or the jump spec's host for a jump host); used in messages.
    pub name: String,
    /// Where to connect (name or IP).
    pub address: String,
    pub port: u16,
    pub user: String,
    /// Keys to try, in order, before the agent. Empty = the default keys (`~/.ssh/id_*`).
    pub identity_files: Vec<PathBuf>,
    pub password: Option<Secret>,
    /// Overrides `SshSettings::connect_timeout` (ssh_config `ConnectTimeout`).
    pub connect_timeout: Option<Duration>,
    /// The last jump host before this one (whose own `jump` is the hop before it).
    pub jump: Option<Box<Target>>,
    /// Overrides `SshSettings::known_hosts` for this host (not its jump hosts).
    pub known_hosts: Option<PathBuf>,
    /// Overrides `SshSettings::host_key_checking` for this host (not its jump hosts).
    pub host_key_checking: Option<HostKeyChecking>,
}

impl Target {
    /// Resolves how to reach inventory host `name`; see the module docs for the precedence.
    pub fn resolve(
        name: &str,
        params: &HostParams,
        defaults: &Defaults,
        ssh_config: Option<&SshConfig>,
    ) -> Result<Target, TargetError> {
        let mut hc = lookup(ssh_config, name);
        if let Some(addr) = params.address.as_deref()
            && addr != name
        {
            merge(&mut hc, lookup(ssh_config, addr));
        }

        let address = params
            .address
            .clone()
            .or(hc.host_name.clone())
            .unwrap_or_else(|| name.to_string());
        let port = params.port.or(hc.port).unwrap_or(22);
        let user = match params
            .user
            .clone()
            .or_else(|| defaults.user.clone())
            .or(hc.user.clone())
            .or_else(local_user)
        {
            Some(u) => u,
            None => {
                return Err(TargetError::NoUser {
                    host: name.to_string(),
                });
            }
        };

        let explicit: Vec<PathBuf> = params
            .private_key
            .clone()
            .or_else(|| defaults.private_key.clone())
            .into_iter()
            .collect();
        let mut identity_files = explicit.clone();
        push_existing(&mut identity_files, &hc.identity_files);

        let jump_specs = match params.proxy_jump.as_deref() {
            Some(spec) => split_jump_list(spec),
            None => hc.proxy_jump.clone().unwrap_or_default(),
        };
        let jump = resolve_chain(name, &jump_specs, ssh_config, &explicit, 0)?;

        Ok(Target {
            name: name.to_string(),
            address,
            port,
            user,
            identity_files,
            password: params
                .password
                .clone()
                .or_else(|| defaults.password.clone()),
            connect_timeout: hc.connect_timeout,
            jump,
            known_hosts: params.known_hosts.clone(),
            host_key_checking: params.host_key_checking,
        })
    }

    /// `address:port` (`[address]:port` for IPv6), for messages and TCP connects.
    pub fn addr(&self) -> String {
        if self.address.contains(':') {
            format!("[{}]:{}", self.address, self.port)
        } else {
            format!("{}:{}", self.address, self.port)
        }
    }

    /// How this host is written in known_hosts: `address` for port 22, else `[address]:port`.
    pub fn known_hosts_name(&self) -> String {
        if self.port == 22 {
            self.address.clone()
        } else {
            format!("[{}]:{}", self.address, self.port)
        }
    }

    /// `user@address:port`, for messages.
    pub fn display(&self) -> String {
        format!("{}@{}", self.user, self.addr())
    }
}

fn lookup(cfg: Option<&SshConfig>, host: &str) -> HostConfig {
    cfg.map(|c| c.lookup(host)).unwrap_or_default()
}

/// Fills the unset fields of `into` from `from`.
fn merge(into: &mut HostConfig, from: HostConfig) {
    into.host_name = into.host_name.take().or(from.host_name);
    into.user = into.user.take().or(from.user);
    into.port = into.port.or(from.port);
    if into.identity_files.is_empty() {
        into.identity_files = from.identity_files;
    }
    into.proxy_jump = into.proxy_jump.take().or(from.proxy_jump);
    into.connect_timeout = into.connect_timeout.or(from.connect_timeout);
}

/// Appends the files that exist and are not listed yet.
fn push_existing(list: &mut Vec<PathBuf>, candidates: &[PathBuf]) {
    for path in candidates {
        if !list.contains(path) {
            if path.exists() {
                list.push(path.clone());
            } else {
                tracing::debug!(path = %path.display(), "ssh config IdentityFile does not exist; skipped");
            }
        }
    }
}

fn split_jump_list(spec: &str) -> Vec<String> {
    jump_hops(spec.split(','))
}

/// Resolves `hops` (first hop first) into the chain whose last hop is returned.
fn resolve_chain(
    host: &str,
    hops: &[String],
    cfg: Option<&SshConfig>,
    explicit_keys: &[PathBuf],
    depth: usize,
) -> Result<Option<Box<Target>>, TargetError> {
    let mut previous: Option<Box<Target>> = None;
    for (i, spec) in hops.iter().enumerate() {
        if depth + i >= MAX_JUMPS {
            return Err(TargetError::JumpTooDeep {
                host: host.to_string(),
                max: MAX_JUMPS,
            });
        }
        let (user, jhost, port) = parse_jump_spec(spec).map_err(|reason| TargetError::BadJump {
            host: host.to_string(),
            spec: spec.clone(),
            reason,
        })?;
        let hc = lookup(cfg, &jhost);
        let jump = if i == 0 {
            // The first hop is reached the way `ssh jhost` would, including its own ProxyJump.
            let own = hc.proxy_jump.clone().unwrap_or_default();
            resolve_chain(host, &own, cfg, explicit_keys, depth + hops.len())?
        } else {
            previous.take()
        };
        let mut identity_files = Vec::new();
        push_existing(&mut identity_files, &hc.identity_files);
        for key in explicit_keys {
            if !identity_files.contains(key) {
                identity_files.push(key.clone());
            }
        }
        let user = match user.or(hc.user.clone()).or_else(local_user) {
            Some(u) => u,
            None => return Err(TargetError::NoUser { host: jhost }),
        };
        previous = Some(Box::new(Target {
            name: jhost.clone(),
            address: hc.host_name.clone().unwrap_or_else(|| jhost.clone()),
            port: port.or(hc.port).unwrap_or(22),
            user,
            identity_files,
            password: None,
            connect_timeout: hc.connect_timeout,
            jump,
            known_hosts: None,
            host_key_checking: None,
        }));
    }
    Ok(previous)
}

/// Parses `[ssh://][user@]host[:port]`, where host may be `[v6addr]`.
fn parse_jump_spec(spec: &str) -> Result<(Option<String>, String, Option<u16>), JumpSpecError> {
    let rest = spec.strip_prefix("ssh://").unwrap_or(spec);
    let (user, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
        Some(_) => return Err(JumpSpecError::EmptyUser),
        None => (None, rest),
    };
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        let (h, after) = inner
            .split_once(']')
            .ok_or(JumpSpecError::UnclosedBracket)?;
        match after {
            "" => (h, None),
            p => (
                h,
                Some(p.strip_prefix(':').ok_or(JumpSpecError::JunkAfterBracket)?),
            ),
        }
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(JumpSpecError::EmptyHost);
    }
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| JumpSpecError::BadPort(p.to_owned()))?,
        ),
        None => None,
    };
    Ok((user, host.to_string(), port))
}

/// The local user name, as OpenSSH's default: `$USER`, `$LOGNAME`, else the passwd entry of
/// our uid.
pub(crate) fn local_user() -> Option<String> {
    for var in ["USER", "LOGNAME"] {
        if let Ok(v) = std::env::var(var)
            && !v.is_empty()
        {
            return Some(v);
        }
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let _pw = f.next()?;
        (f.next()? == uid).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cfg(text: &str) -> SshConfig {
        SshConfig::from_text(text, Some(Path::new("/home/alice"))).expect("valid config")
    }

    #[test]
    fn built_in_defaults() {
        let t = Target::resolve("web1", &HostParams::default(), &Defaults::default(), None)
            .expect("resolves");
        assert_eq!(t.address, "web1");
        assert_eq!(t.port, 22);
        assert_eq!(Some(t.user.clone()), local_user());
        assert!(t.identity_files.is_empty());
        assert!(t.jump.is_none());
        assert_eq!(t.known_hosts_name(), "web1");
    }

    #[test]
    fn ssh_config_fills_what_inventory_does_not_set() {
        let c = cfg(
            "Host web1\n  HostName 10.0.0.5\n  User cfguser\n  Port 2222\n  ConnectTimeout 3\n",
        );
        let t = Target::resolve(
            "web1",
            &HostParams::default(),
            &Defaults::default(),
            Some(&c),
        )
        .expect("resolves");
        assert_eq!(
            (t.address.as_str(), t.port, t.user.as_str()),
            ("10.0.0.5", 2222, "cfguser")
        );
        assert_eq!(t.connect_timeout, Some(Duration::from_secs(3)));
        assert_eq!(t.known_hosts_name(), "[10.0.0.5]:2222");
        assert_eq!(t.addr(), "10.0.0.5:2222");
    }

    #[test]
    fn inventory_beats_cli_beats_ssh_config_for_user() {
        let c = cfg("Host web1\n  User cfguser\n");
        let cli = Defaults {
            user: Some("cliuser".into()),
            ..Default::default()
        };
        let t = Target::resolve("web1", &HostParams::default(), &cli, Some(&c)).expect("ok");
        assert_eq!(t.user, "cliuser");
        let inv = HostParams {
            user: Some("invuser".into()),
            address: Some("192.0.2.1".into()),
            port: Some(2200),
            ..Default::default()
        };
        let t = Target::resolve("web1", &inv, &cli, Some(&c)).expect("ok");
        assert_eq!(
            (t.user.as_str(), t.address.as_str(), t.port),
            ("invuser", "192.0.2.1", 2200)
        );
    }

    #[test]
    fn keys_and_passwords() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg_key = dir.path().join("cfg_key");
        std::fs::write(&cfg_key, "x").expect("write");
        let text = format!(
            "Host web1\n  IdentityFile {}\n  IdentityFile /nonexistent/key\n",
            cfg_key.display()
        );
        let c = cfg(&text);
        let cli = Defaults {
            private_key: Some("/cli/key".into()),
            password: Some(Secret::new("clipw")),
            ..Default::default()
        };
        let t = Target::resolve("web1", &HostParams::default(), &cli, Some(&c)).expect("ok");
        assert_eq!(
            t.identity_files,
            vec![PathBuf::from("/cli/key"), cfg_key.clone()]
        );
        assert_eq!(t.password.as_ref().map(Secret::expose), Some("clipw"));
        let inv = HostParams {
            private_key: Some("/inv/key".into()),
            password: Some(Secret::new("invpw")),
            ..Default::default()
        };
        let t = Target::resolve("web1", &inv, &cli, Some(&c)).expect("ok");
        assert_eq!(t.identity_files, vec![PathBuf::from("/inv/key"), cfg_key]);
        assert_eq!(t.password.as_ref().map(Secret::expose), Some("invpw"));
        assert!(!format!("{t:?}").contains("invpw"));
    }

    #[test]
    fn ansible_host_also_matches_ssh_config() {
        let c = cfg("Host 10.1.1.1\n  User byaddr\n  Port 2022\nHost web1\n  Port 2200\n");
        let inv = HostParams {
            address: Some("10.1.1.1".into()),
            ..Default::default()
        };
        let t = Target::resolve("web1", &inv, &Defaults::default(), Some(&c)).expect("ok");
        assert_eq!(
            (t.address.as_str(), t.port, t.user.as_str()),
            ("10.1.1.1", 2200, "byaddr")
        );
    }

    #[test]
    fn proxy_jump_chain_from_ssh_config() {
        let c = cfg(
            "Host web1\n  HostName 10.0.0.5\n  ProxyJump alice@bastion:2200,inner\n\
             Host bastion\n  HostName 203.0.113.9\n  ProxyJump outer\n\
             Host inner\n  User inneruser\n  Port 2023\n",
        );
        let inv = HostParams {
            private_key: Some("/inv/key".into()),
            ..Default::default()
        };
        let t = Target::resolve("web1", &inv, &Defaults::default(), Some(&c)).expect("ok");
        let inner = t.jump.as_deref().expect("inner hop");
        assert_eq!(
            (inner.name.as_str(), inner.address.as_str(), inner.port),
            ("inner", "inner", 2023)
        );
        assert_eq!(inner.user, "inneruser");
        assert_eq!(inner.identity_files, vec![PathBuf::from("/inv/key")]);
        assert!(inner.password.is_none());
        let bastion = inner.jump.as_deref().expect("bastion hop");
        assert_eq!(
            (
                bastion.address.as_str(),
                bastion.port,
                bastion.user.as_str()
            ),
            ("203.0.113.9", 2200, "alice")
        );
        let outer = bastion.jump.as_deref().expect("bastion's own ProxyJump");
        assert_eq!((outer.address.as_str(), outer.port), ("outer", 22));
        assert!(outer.jump.is_none());
    }

    #[test]
    fn proxy_jump_from_params_overrides_and_none_disables() {
        let c = cfg("Host web1\n  ProxyJump bastion\n");
        let inv = HostParams {
            proxy_jump: Some("ssh://bob@[2001:db8::1]:2222".into()),
            ..Default::default()
        };
        let t = Target::resolve("web1", &inv, &Defaults::default(), Some(&c)).expect("ok");
        let j = t.jump.as_deref().expect("jump");
        assert_eq!(
            (j.user.as_str(), j.address.as_str(), j.port),
            ("bob", "2001:db8::1", 2222)
        );
        assert_eq!(j.addr(), "[2001:db8::1]:2222");
        let none = HostParams {
            proxy_jump: Some("none".into()),
            ..Default::default()
        };
        let t = Target::resolve("web1", &none, &Defaults::default(), Some(&c)).expect("ok");
        assert!(t.jump.is_none());
    }

    #[test]
    fn jump_loops_and_bad_specs_are_errors() {
        let c = cfg("Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n");
        let err = Target::resolve("a", &HostParams::default(), &Defaults::default(), Some(&c))
            .expect_err("loop");
        assert!(matches!(err, TargetError::JumpTooDeep { .. }), "{err}");
        let inv = HostParams {
            proxy_jump: Some("bastion:notaport".into()),
            ..Default::default()
        };
        let err = Target::resolve("x", &inv, &Defaults::default(), None).expect_err("bad port");
        assert!(err.to_string().contains("bad port"), "{err}");
    }
}
