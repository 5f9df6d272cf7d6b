//! Validated settings built from the command line and the inventory before any host is contacted.
//!
//! Everything a user can get wrong (a bad pattern, a missing key file, a malformed port) is found
//! here and reported as invalid input (exit 4), so a run never starts half-configured.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indexmap::IndexMap;
use serde_json::Value;

use crate::cli::{ConnectArgs, HostKeyCheckingArg};
use crate::error::Error;
use clearfleet_base::boolean::ansible_bool;
use clearfleet_base::capture::{MAX_OUTPUT_VAR, MaxOutput};
use clearfleet_base::home::expand_tilde;
pub use clearfleet_base::home::home_dir;
use clearfleet_base::secret::{Redactor, Secret, is_secret_var};
use clearfleet_inventory::Inventory;
use clearfleet_playbook::connection::{is_local_plugin, unsupported_plugin};
use clearfleet_runner::become_vars;
use clearfleet_runner::config::{BecomeDefaults, HostPlan, RunConfig};
use clearfleet_ssh::{
    Become, Defaults, HostKeyChecking, HostParams, PassphrasePrompt, SshArgs, SshConfig,
    SshSettings, Target,
};

/// Selects the `--limit` hosts of an inventory already loaded and resolves them;
/// `max_output` is `--max-output` (the default for commands without it).
pub fn from_inventory(
    args: &ConnectArgs,
    inventory: &Inventory,
    max_output: MaxOutput,
) -> Result<RunConfig, Error> {
    let names = match &args.limit {
        Some(pattern) => inventory.select(pattern)?,
        None => inventory.select("all")?,
    };
    if names.is_empty() {
        return Err(Error::NoHosts {
            pattern: args.limit.clone().unwrap_or_else(|| "all".to_owned()),
        });
    }
    for name in &names {
        let vars = inventory.host_vars(name).unwrap_or_default();
        if var_str(name, &vars, "ansible_connection")?
            .is_some_and(|c| is_local_plugin(&c) == Some(true))
        {
            return Err(Error::HostVar {
                host: name.clone(),
                var: "ansible_connection".to_owned(),
                reason: "a `local` host runs only in a playbook (`clearfleet run`); this command \
                         reaches its hosts over SSH"
                    .to_owned(),
            });
        }
    }
    for_hosts(args, inventory, names, max_output)
}

/// Resolves how to reach each of `names` (already selected from `inventory`).
pub fn for_hosts(
    args: &ConnectArgs,
    inventory: &Inventory,
    names: Vec<String>,
    max_output: MaxOutput,
) -> Result<RunConfig, Error> {
    let ssh_config = load_ssh_config(args.ssh_config.as_deref())?;
    let ask_pass = if args.ask_pass {
        Some(prompt_secret("SSH password: ")?)
    } else {
        None
    };
    let ask_become_pass = if args.ask_become_pass {
        Some(prompt_secret("BECOME password: ")?)
    } else {
        None
    };
    if let Some(key) = &args.private_key {
        check_key_file(key, "--private-key")?;
    }
    let defaults = Defaults {
        user: args.user.clone(),
        private_key: args.private_key.clone(),
        password: ask_pass.clone(),
    };

    let mut warnings = Vec::new();
    let mut secrets: Vec<Secret> = ask_pass.iter().chain(&ask_become_pass).cloned().collect();
    let planner = Arc::new(Planner {
        args: args.clone(),
        defaults,
        ssh_config,
        ask_become_pass,
        max_output,
    });
    let mut hosts = Vec::with_capacity(names.len());
    for name in names {
        let vars = inventory.host_vars(&name).unwrap_or_default();
        secrets.extend(secret_values(&vars));
        let plan = planner.plan(name, &vars)?;
        if plan.target.host_key_checking == Some(HostKeyChecking::Off) {
            warnings.push(format!(
                "host key checking is off for {} (StrictHostKeyChecking in its ansible_ssh_*args): any host can impersonate it",
                plan.name
            ));
        }
        hosts.push(plan);
    }

    let (forks, max_connections) = cap_forks(args.forks.max(1), &mut warnings);
    if hosts.len() > max_connections {
        warnings.push(format!(
            "the open-file limit (ulimit -n) allows {max_connections} connections at once \
             for {} hosts: a playbook reopens each host's connection for every task",
            hosts.len()
        ));
    }
    let host_key_checking = match args.host_key_checking {
        HostKeyCheckingArg::Strict => HostKeyChecking::Strict,
        HostKeyCheckingArg::AcceptNew => HostKeyChecking::AcceptNew,
        HostKeyCheckingArg::Off => {
            warnings
                .push("host key checking is off: any host can impersonate any other".to_owned());
            HostKeyChecking::Off
        }
    };
    let known_hosts = args
        .known_hosts
        .clone()
        .or_else(|| home_dir().map(|h| h.join(".ssh/known_hosts")))
        .ok_or(Error::NoHome)?;
    let ssh = SshSettings {
        known_hosts,
        host_key_checking,
        connect_timeout: Duration::from_secs(args.connect_timeout.max(1)),
        connect_retries: args.connect_retries,
        keepalive_interval: (args.keepalive_interval > 0)
            .then(|| Duration::from_secs(args.keepalive_interval)),
        keepalive_max: args.keepalive_count,
        use_agent: !args.no_agent,
        max_channels: 8,
        persistent_shell: !args.no_persistent_shell,
        passphrase: Some(passphrase_prompt()),
        ..SshSettings::default()
    };
    Ok(RunConfig {
        hosts,
        ssh: Arc::new(ssh),
        forks,
        max_connections,
        command_timeout: (args.timeout > 0).then(|| Duration::from_secs(args.timeout)),
        max_output,
        redactor: Redactor::new(secrets),
        warnings,
        become_defaults: BecomeDefaults {
            enabled: args.become_,
            user: args.become_user.clone(),
            password: planner.ask_become_pass.clone(),
            timeout: Duration::from_secs(args.become_timeout.max(1)),
        },
        reload_inventory: None,
        new_host: Some(Arc::new(move |name, vars| {
            let vars: IndexMap<String, Value> =
                vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            planner
                .plan(name.to_owned(), &vars)
                .map_err(|e| e.to_string())
        })),
    })
}

/// What planning a host needs besides its variables: for the inventory's hosts and for those
/// a playbook's `add_host` creates.
struct Planner {
    args: ConnectArgs,
    defaults: Defaults,
    ssh_config: Option<SshConfig>,
    ask_become_pass: Option<Secret>,
    /// `--max-output`.
    max_output: MaxOutput,
}

impl Planner {
    /// How to reach host `name` with variables `vars`.
    fn plan(&self, name: String, vars: &IndexMap<String, Value>) -> Result<HostPlan, Error> {
        let params = host_params(&name, vars)?;
        if let Some(key) = &params.private_key {
            check_key_file(
                key,
                &format!("ansible_ssh_private_key_file of host `{name}`"),
            )?;
        }
        let target = Target::resolve(&name, &params, &self.defaults, self.ssh_config.as_ref())
            .map_err(|source| Error::Target {
                host: name.clone(),
                source,
            })?;
        let (wanted, settings) =
            become_for(&name, vars, &self.args, self.ask_become_pass.as_ref())?;
        let max_output = host_max_output(&name, vars)?.unwrap_or(self.max_output);
        Ok(HostPlan {
            name,
            target,
            become_: wanted.then_some(settings),
            max_output,
        })
    }
}

fn load_ssh_config(explicit: Option<&Path>) -> Result<Option<SshConfig>, Error> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match SshConfig::default_path() {
            Some(p) if p.exists() => p,
            _ => return Ok(None),
        },
    };
    SshConfig::load(&path)
        .map(Some)
        .map_err(|source| Error::SshConfig { path, source })
}

fn check_key_file(path: &Path, what: &str) -> Result<(), Error> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(Error::KeyFile {
            path: path.to_path_buf(),
            what: what.to_owned(),
            reason: "not a regular file".to_owned(),
        }),
        Err(e) => Err(Error::KeyFile {
            path: path.to_path_buf(),
            what: what.to_owned(),
            reason: e.to_string(),
        }),
    }
}

fn prompt_secret(prompt: &str) -> Result<Secret, Error> {
    rpassword::prompt_password(prompt)
        .map(Secret::new)
        .map_err(Error::Prompt)
}

/// Asks once per key file for its passphrase, whatever the number of hosts using it.
fn passphrase_prompt() -> PassphrasePrompt {
    let cache: Mutex<HashMap<PathBuf, Option<Secret>>> = Mutex::new(HashMap::new());
    Arc::new(move |path: &Path| {
        // Holding the lock while prompting keeps concurrent hosts from prompting at once.
        let mut cache = cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                rpassword::prompt_password(format!(
                    "Enter passphrase for key '{}': ",
                    path.display()
                ))
                .ok()
                .map(Secret::new)
            })
            .clone()
    })
}

fn secret_values(vars: &IndexMap<String, Value>) -> Vec<Secret> {
    vars.iter()
        .filter(|(k, _)| is_secret_var(k))
        .filter_map(|(_, v)| v.as_str().map(Secret::new))
        .collect()
}

fn var_str(
    host: &str,
    vars: &IndexMap<String, Value>,
    name: &str,
) -> Result<Option<String>, Error> {
    match vars.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(Error::HostVar {
            host: host.to_owned(),
            var: name.to_owned(),
            reason: format!("expected a string, found {other}"),
        }),
    }
}

fn first_var(
    host: &str,
    vars: &IndexMap<String, Value>,
    names: &[&str],
) -> Result<Option<String>, Error> {
    for name in names {
        if let Some(v) = var_str(host, vars, name)? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// Reads the `ansible_*` connection variables, so existing inventories work unchanged.
fn host_params(host: &str, vars: &IndexMap<String, Value>) -> Result<HostParams, Error> {
    // `local` hosts are planned too: a playbook runs their tasks on the controller (the
    // commands without playbooks refuse them, see `from_inventory`).
    if let Some(kind) = var_str(host, vars, "ansible_connection")?
        && is_local_plugin(&kind).is_none()
        && !clearfleet_playbook::template::is_template(&kind)
    {
        return Err(Error::HostVar {
            host: host.to_owned(),
            var: "ansible_connection".to_owned(),
            reason: unsupported_plugin(kind.trim(), "the variable `ansible_connection`"),
        });
    }
    let ssh_args = ssh_args(host, vars)?;
    let port = match first_var(host, vars, &["ansible_port", "ansible_ssh_port"])? {
        None => None,
        Some(p) => Some(p.trim().parse::<u16>().map_err(|_| Error::HostVar {
            host: host.to_owned(),
            var: "ansible_port".to_owned(),
            reason: format!("`{p}` is not a TCP port"),
        })?),
    };
    Ok(HostParams {
        address: first_var(host, vars, &["ansible_host", "ansible_ssh_host"])?,
        port,
        user: first_var(host, vars, &["ansible_user", "ansible_ssh_user"])?,
        private_key: first_var(
            host,
            vars,
            &["ansible_ssh_private_key_file", "ansible_private_key_file"],
        )?
        .map(|p| expand_tilde(&p, home_dir().as_deref())),
        password: first_var(
            host,
            vars,
            &[
                "ansible_password",
                "ansible_ssh_pass",
                "ansible_ssh_password",
            ],
        )?
        .map(Secret::new),
        proxy_jump: ssh_args.proxy_jump,
        known_hosts: ssh_args.known_hosts,
        host_key_checking: ssh_args.host_key_checking,
    })
}

/// The OpenSSH options of the host's `ansible_ssh_args`, `ansible_ssh_common_args` and
/// `ansible_ssh_extra_args`, in the order Ansible puts them on `ssh`'s command line (the first
/// value of an option wins).
fn ssh_args(host: &str, vars: &IndexMap<String, Value>) -> Result<SshArgs, Error> {
    let mut args = SshArgs::default();
    let home = home_dir();
    for var in [
        "ansible_ssh_args",
        "ansible_ssh_common_args",
        "ansible_ssh_extra_args",
    ] {
        if let Some(text) = var_str(host, vars, var)? {
            args.read(&text, home.as_deref())
                .map_err(|reason| Error::HostVar {
                    host: host.to_owned(),
                    var: var.to_owned(),
                    reason,
                })?;
        }
    }
    Ok(args)
}

/// The host's `clearfleet_max_output`, checked before any host is contacted (a playbook's
/// task may still set its own).
fn host_max_output(host: &str, vars: &IndexMap<String, Value>) -> Result<Option<MaxOutput>, Error> {
    match vars.get(MAX_OUTPUT_VAR) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => MaxOutput::from_var(v)
            .map(Some)
            .map_err(|e| Error::HostVar {
                host: host.to_owned(),
                var: MAX_OUTPUT_VAR.to_owned(),
                reason: e.to_string(),
            }),
    }
}

/// The host's become settings, and whether they apply to every command by default: its
/// inventory's become variables ([`become_vars`]) over `-b`, `--become-user` and `-K`, which
/// Ansible orders lowest (the defaults of the `become*` keywords).
fn become_for(
    host: &str,
    vars: &IndexMap<String, Value>,
    args: &ConnectArgs,
    ask_become_pass: Option<&Secret>,
) -> Result<(bool, Become), Error> {
    let bad = |var: &str, reason: String| Error::HostVar {
        host: host.to_owned(),
        var: var.to_owned(),
        reason,
    };
    let wanted = match vars.get(become_vars::ENABLED) {
        None | Some(Value::Null) => args.become_,
        Some(v) => ansible_bool(v).ok_or_else(|| {
            bad(
                become_vars::ENABLED,
                format!("expected a boolean, found {v}"),
            )
        })?,
    };
    // Another method is refused where it is used (the host's commands under `exec`, the tasks
    // that become in a playbook), as Ansible fails only what becomes with it.
    let method = var_str(host, vars, become_vars::METHOD)?
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "sudo".to_owned());
    let last = |names: &[&'static str]| match become_vars::last_set(names, |n| vars.get(n)) {
        None => Ok(None),
        Some((name, _)) => var_str(host, vars, name),
    };
    let user = match last(become_vars::USER)? {
        Some(u) => u,
        None => args
            .become_user
            .clone()
            .unwrap_or_else(|| "root".to_owned()),
    };
    let password = last(become_vars::PASSWORD)?
        .map(Secret::new)
        .or_else(|| ask_become_pass.cloned());
    let flags = match become_vars::last_set(become_vars::FLAGS, |n| vars.get(n)) {
        None => None,
        Some((name, _)) => var_str(host, vars, name)?
            .map(|text| {
                become_vars::sudo_flags(&text, password.is_some())
                    .map_err(|e| bad(name, e.to_string()))
            })
            .transpose()?,
    };
    Ok((
        wanted,
        Become {
            user,
            method,
            password,
            timeout: Duration::from_secs(args.become_timeout.max(1)),
            exe: last(become_vars::EXE)?,
            flags,
        },
    ))
}

/// File descriptors a host may hold at once (its socket, and a jump host's).
const FDS_PER_HOST: u64 = 2;
/// Descriptors kept for everything else: std streams, known_hosts, logs, reports.
const FDS_RESERVED: u64 = 64;

/// Raises the soft open-file limit to the hard one, then lowers `forks` to what fits in it:
/// `(forks, connections the limit allows at once)`.
fn cap_forks(forks: usize, warnings: &mut Vec<String>) -> (usize, usize) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if let (Some(cur), max) = (limit.current, limit.maximum)
        && max.is_none_or(|m| m > cur)
    {
        let raised = rustix::process::Rlimit {
            current: Some(max.unwrap_or(cur.max(65536))),
            maximum: max,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            limit = getrlimit(Resource::Nofile);
        }
    }
    let Some(soft) = limit.current else {
        return (forks, usize::MAX);
    };
    let allowed = usize::try_from(soft.saturating_sub(FDS_RESERVED) / FDS_PER_HOST)
        .unwrap_or(usize::MAX)
        .max(1);
    if forks > allowed {
        warnings.push(format!(
            "--forks lowered from {forks} to {allowed}: the open-file limit (ulimit -n) is {soft}"
        ));
        (allowed, allowed)
    } else {
        (forks, allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> IndexMap<String, Value> {
        serde_json::from_value(v).unwrap_or_default()
    }

    #[test]
    fn reads_ansible_connection_variables() {
        let v = vars(json!({"ansible_host": "10.0.0.1", "ansible_port": "2222",
            "ansible_user": "deploy", "ansible_ssh_pass": "pw12"}));
        let p = host_params("h", &v).expect("valid vars");
        assert_eq!(p.address.as_deref(), Some("10.0.0.1"));
        assert_eq!(p.port, Some(2222));
        assert_eq!(p.user.as_deref(), Some("deploy"));
        assert_eq!(p.password.as_ref().map(Secret::expose), Some("pw12"));
    }

    #[test]
    fn rejects_a_bad_port_and_unknown_connection_types() {
        let err = host_params("h", &vars(json!({"ansible_port": "http"})))
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("`http` is not a TCP port")),
            "{err:?}"
        );
        let err = host_params("h", &vars(json!({"ansible_connection": "winrm"})))
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("winrm")),
            "{err:?}"
        );
        for local in ["local", "ansible.builtin.local", "smart"] {
            assert!(
                host_params("h", &vars(json!({ "ansible_connection": local }))).is_ok(),
                "{local}"
            );
        }
    }

    #[test]
    fn secret_variable_names() {
        assert!(is_secret_var("ansible_become_password"));
        assert!(is_secret_var("CLEARML_AGENT_GIT_PASS"));
        assert!(is_secret_var("clearml_agent_secret_key"));
        assert!(!is_secret_var("ansible_host"));
        assert!(!is_secret_var("secret_port"));
        assert!(!is_secret_var("ansible_ssh_private_key_file"));
    }

    #[test]
    fn forks_never_exceed_the_open_file_limit() {
        let mut warnings = Vec::new();
        let (forks, connections) = cap_forks(usize::MAX / 4, &mut warnings);
        assert!(forks < usize::MAX / 4);
        assert_eq!(forks, connections);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("ulimit -n"));
    }
}
