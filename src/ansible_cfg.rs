//! `ansible.cfg`, found and read as Ansible does, folded into the command line at one place
//! ([`apply`]) so that everything after it sees one set of settings.
//!
//! Precedence, highest first: a command-line flag, a `CLEARFLEET_*` variable, an `ANSIBLE_*`
//! variable, the `ansible.cfg` found, the built-in default. The file is the first of
//! `$ANSIBLE_CONFIG`, `./ansible.cfg` (skipped with a warning when the current directory is
//! world-writable, as Ansible does), `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`.

use std::path::{Path, PathBuf};

use clap::ArgMatches;
use clap::parser::ValueSource;

use crate::cli::{Cli, Command, ConnectArgs, HostKeyCheckingArg};
use clearfleet_base::boolean::ansible_bool_text;

/// Why the configuration cannot be used: invalid input (exit 4).
#[derive(Debug, thiserror::Error)]
pub enum CfgError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {reason}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("invalid `{key}` in {origin}: {reason}")]
    Value {
        key: String,
        origin: String,
        reason: String,
    },
}

/// The Vault settings of the configuration (`vault_password_file`, `vault_identity_list`),
/// already resolved to absolute paths and split into a list; `src/vault_secrets.rs` adds them
/// to the command line's as Ansible does.
#[derive(Debug, Clone, Default)]
pub struct VaultSettings {
    pub password_file: Option<PathBuf>,
    pub identity_list: Vec<String>,
}

/// What the configuration gives besides the command-line flags it fills in.
#[derive(Debug, Clone, Default)]
pub struct CfgExtras {
    /// Where roles are searched after `roles/` beside the playbook.
    pub roles_path: Vec<PathBuf>,
    pub vault: VaultSettings,
    /// The file read, if any.
    pub file: Option<PathBuf>,
    /// Notes for the operator (a skipped world-writable `./ansible.cfg`).
    pub warnings: Vec<String>,
    /// `[defaults] gathering` (`ANSIBLE_GATHERING`): which plays gather facts.
    pub gathering: clearfleet_runner::playbook::Gathering,
}

/// Ansible's default `roles_path`.
fn default_roles_path() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(home) = crate::config::home_dir() {
        out.push(home.join(".ansible/roles"));
    }
    out.push(PathBuf::from("/usr/share/ansible/roles"));
    out.push(PathBuf::from("/etc/ansible/roles"));
    out
}

/// One parsed `ansible.cfg`: `(section, key) -> value`, with the file's directory (relative
/// paths in it are taken from there, as Ansible does).
struct CfgFile {
    path: PathBuf,
    entries: Vec<(String, String, String)>,
}

impl CfgFile {
    fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(s, k, _)| s == section && k == key)
            .map(|(_, _, v)| v.as_str())
    }

    fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

/// Reads INI text as Python's `configparser` does for Ansible: `[section]`, `key = value` or
/// `key: value`, full-line comments with `#` or `;`, inline comments after ` ;`, indented
/// continuation lines, keys lower-cased.
fn parse(path: &Path, text: &str) -> Result<CfgFile, CfgError> {
    let mut entries: Vec<(String, String, String)> = Vec::new();
    let mut section: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let value_part = |s: &str| -> String {
            let s = match s.find(" ;").or_else(|| s.find("\t;")) {
                Some(i) => &s[..i],
                None => s,
            };
            s.trim().to_owned()
        };
        if raw.starts_with([' ', '\t'])
            && let Some(last) = entries.last_mut()
        {
            if !last.2.is_empty() {
                last.2.push('\n');
            }
            last.2.push_str(&value_part(trimmed));
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[') {
            let Some(name) = name.strip_suffix(']') else {
                return Err(CfgError::Syntax {
                    path: path.to_path_buf(),
                    line,
                    reason: format!("a section header must end with `]`: `{trimmed}`"),
                });
            };
            section = Some(name.trim().to_owned());
            continue;
        }
        let Some(sec) = &section else {
            return Err(CfgError::Syntax {
                path: path.to_path_buf(),
                line,
                reason: "a setting before any `[section]` header".to_owned(),
            });
        };
        let split = trimmed.find(['=', ':']);
        let (key, value) = match split {
            Some(i) => (&trimmed[..i], value_part(&trimmed[i + 1..])),
            None => (trimmed, String::new()),
        };
        entries.push((sec.clone(), key.trim().to_ascii_lowercase(), value));
    }
    Ok(CfgFile {
        path: path.to_path_buf(),
        entries,
    })
}

/// The configuration file Ansible would read, if any; `warnings` gets the note of a skipped
/// world-writable `./ansible.cfg`.
fn find(warnings: &mut Vec<String>) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ANSIBLE_CONFIG").filter(|p| !p.is_empty()) {
        let mut p = expand(&p.to_string_lossy(), Path::new("."));
        if p.is_dir() {
            p = p.join("ansible.cfg");
        }
        if p.exists() {
            return Some(p);
        }
    }
    if let Ok(cwd) = std::env::current_dir() {
        let p = cwd.join("ansible.cfg");
        if p.is_file() {
            if world_writable(&cwd) {
                warnings.push(format!(
                    "Ansible is being run in a world writable directory ({}), ignoring it as an ansible.cfg source",
                    cwd.display()
                ));
            } else {
                return Some(p);
            }
        }
    }
    if let Some(home) = crate::config::home_dir() {
        let p = home.join(".ansible.cfg");
        if p.is_file() {
            return Some(p);
        }
    }
    let p = PathBuf::from("/etc/ansible/ansible.cfg");
    p.is_file().then_some(p)
}

fn world_writable(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o002 != 0)
}

/// `~` expanded; a relative path taken from `base`.
fn expand(p: &str, base: &Path) -> PathBuf {
    let p = p.trim();
    let path = clearfleet_base::home::expand_tilde(p, crate::config::home_dir().as_deref());
    if path.is_absolute() {
        path
    } else {
        base.join(path)
    }
}

/// One setting: its `ANSIBLE_*` variable, else the file's `[section] key`, with where it
/// came from (for messages) and the directory relative paths are taken from.
struct Setting {
    value: String,
    origin: String,
    base: PathBuf,
}

fn setting(file: Option<&CfgFile>, env: &str, section: &str, key: &str) -> Option<Setting> {
    if let Some(v) = std::env::var_os(env).filter(|v| !v.is_empty()) {
        return Some(Setting {
            value: v.to_string_lossy().into_owned(),
            origin: format!("${env}"),
            base: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        });
    }
    let f = file?;
    f.get(section, key).map(|v| Setting {
        value: v.to_owned(),
        origin: format!("{} [{section}] {key}", f.path.display()),
        base: f.dir().to_path_buf(),
    })
}

fn bool_of(s: &Setting, key: &str) -> Result<bool, CfgError> {
    ansible_bool_text(&s.value).ok_or_else(|| CfgError::Value {
        key: key.to_owned(),
        origin: s.origin.clone(),
        reason: format!("`{}` is not a boolean", s.value),
    })
}

fn number_of(s: &Setting, key: &str) -> Result<u64, CfgError> {
    s.value.trim().parse::<u64>().map_err(|_| CfgError::Value {
        key: key.to_owned(),
        origin: s.origin.clone(),
        reason: format!("`{}` is not a whole number", s.value),
    })
}

/// Whether the user set `id` on the command line or through its `CLEARFLEET_*` variable.
fn given(m: &ArgMatches, id: &str) -> bool {
    matches!(
        m.value_source(id),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

/// Finds and reads the configuration and fills every setting of `cli` that neither a flag nor
/// a `CLEARFLEET_*` variable gave.
pub fn apply(cli: &mut Cli, matches: &ArgMatches) -> Result<CfgExtras, CfgError> {
    let mut extras = CfgExtras::default();
    let file = match find(&mut extras.warnings) {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|source| CfgError::Read {
                path: path.clone(),
                source,
            })?;
            Some(parse(&path, &text)?)
        }
        None => None,
    };
    extras.file = file.as_ref().map(|f| f.path.clone());
    let file = file.as_ref();
    extras.roles_path = match setting(file, "ANSIBLE_ROLES_PATH", "defaults", "roles_path") {
        Some(s) => s
            .value
            .split(':')
            .filter(|p| !p.trim().is_empty())
            .map(|p| expand(p, &s.base))
            .collect(),
        None => default_roles_path(),
    };
    if let Some(s) = setting(
        file,
        "ANSIBLE_VAULT_PASSWORD_FILE",
        "defaults",
        "vault_password_file",
    ) {
        extras.vault.password_file = Some(expand(&s.value, &s.base));
    }
    if let Some(s) = setting(
        file,
        "ANSIBLE_VAULT_IDENTITY_LIST",
        "defaults",
        "vault_identity_list",
    ) {
        extras.vault.identity_list = s
            .value
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
    }
    if let Some(s) = setting(file, "ANSIBLE_GATHERING", "defaults", "gathering") {
        extras.gathering =
            clearfleet_runner::playbook::Gathering::parse(&s.value).ok_or_else(|| {
                CfgError::Value {
                    key: "gathering".to_owned(),
                    origin: s.origin.clone(),
                    reason: format!(
                        "`{}` is not one of implicit, explicit, smart",
                        s.value.trim()
                    ),
                }
            })?;
    }
    let Some((_, sub)) = matches.subcommand() else {
        return Ok(extras);
    };
    match &mut cli.command {
        Command::Inventory(args) => {
            if !given(sub, "inventory")
                && let Some(s) = setting(file, "ANSIBLE_INVENTORY", "defaults", "inventory")
            {
                args.inventory = inventory_list(&s);
            }
            args.vault.config = extras.vault.clone();
        }
        Command::Ping(a) => connect(&mut a.connect, sub, file, &extras)?,
        Command::Exec(a) => connect(&mut a.connect, sub, file, &extras)?,
        Command::Detect(a) | Command::Plan(a) => connect(&mut a.connect, sub, file, &extras)?,
        Command::Run(a) => connect(&mut a.connect, sub, file, &extras)?,
        Command::Upgrade(a) => connect(&mut a.connect, sub, file, &extras)?,
        Command::Releases(_) | Command::Completions(_) | Command::Man(_) => {}
    }
    Ok(extras)
}

fn inventory_list(s: &Setting) -> Vec<PathBuf> {
    s.value
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| expand(p, &s.base))
        .collect()
}

/// The `[defaults]` and `[privilege_escalation]` keys that stand for connection flags.
fn connect(
    args: &mut ConnectArgs,
    m: &ArgMatches,
    file: Option<&CfgFile>,
    extras: &CfgExtras,
) -> Result<(), CfgError> {
    args.settings = extras.clone();
    args.vault.config = extras.vault.clone();
    if !given(m, "inventory")
        && let Some(s) = setting(file, "ANSIBLE_INVENTORY", "defaults", "inventory")
    {
        args.inventory = inventory_list(&s);
    }
    if !given(m, "user")
        && let Some(s) = setting(file, "ANSIBLE_REMOTE_USER", "defaults", "remote_user")
    {
        args.user = Some(s.value.trim().to_owned());
    }
    if !given(m, "private_key")
        && let Some(s) = setting(
            file,
            "ANSIBLE_PRIVATE_KEY_FILE",
            "defaults",
            "private_key_file",
        )
    {
        args.private_key = Some(expand(&s.value, &s.base));
    }
    if !given(m, "forks")
        && let Some(s) = setting(file, "ANSIBLE_FORKS", "defaults", "forks")
    {
        args.forks = usize::try_from(number_of(&s, "forks")?).unwrap_or(usize::MAX);
    }
    if !given(m, "connect_timeout")
        && let Some(s) = setting(file, "ANSIBLE_TIMEOUT", "defaults", "timeout")
    {
        args.connect_timeout = number_of(&s, "timeout")?;
    }
    if !given(m, "host_key_checking")
        && let Some(s) = setting(
            file,
            "ANSIBLE_HOST_KEY_CHECKING",
            "defaults",
            "host_key_checking",
        )
    {
        args.host_key_checking = match bool_of(&s, "host_key_checking")? {
            true => HostKeyCheckingArg::Strict,
            false => HostKeyCheckingArg::Off,
        };
    }
    if !given(m, "become_")
        && let Some(s) = setting(file, "ANSIBLE_BECOME", "privilege_escalation", "become")
    {
        args.become_ = bool_of(&s, "become")?;
    }
    if !given(m, "become_user")
        && let Some(s) = setting(
            file,
            "ANSIBLE_BECOME_USER",
            "privilege_escalation",
            "become_user",
        )
    {
        args.become_user = Some(s.value.trim().to_owned());
    }
    if !given(m, "ask_become_pass")
        && let Some(s) = setting(
            file,
            "ANSIBLE_BECOME_ASK_PASS",
            "privilege_escalation",
            "become_ask_pass",
        )
    {
        args.ask_become_pass = bool_of(&s, "become_ask_pass")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ini_as_configparser_does() {
        let text = "# comment\n[defaults]\ninventory = hosts.ini ; inline\nForks: 7\nroles_path = a\n  b\n; full-line\n[privilege_escalation]\nbecome=True\n";
        let f = parse(Path::new("/x/ansible.cfg"), text).expect("valid");
        assert_eq!(f.get("defaults", "inventory"), Some("hosts.ini"));
        assert_eq!(f.get("defaults", "forks"), Some("7"));
        assert_eq!(f.get("defaults", "roles_path"), Some("a\nb"));
        assert_eq!(f.get("privilege_escalation", "become"), Some("True"));
        assert_eq!(f.dir(), Path::new("/x"));
    }

    #[test]
    fn a_setting_outside_a_section_is_an_error_with_its_line() {
        let err = parse(Path::new("a.cfg"), "\nforks = 3\n").err();
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some("a.cfg:2: a setting before any `[section]` header")
        );
    }
}
