//! The command line, as clap parses it: raw and unvalidated (see `config.rs` for the checked form).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clearfleet_base::capture::MaxOutput;

/// Upgrade fleets of self-hosted ClearML servers over SSH; run commands and playbooks on many
/// hosts at once, Ansible-style.
#[derive(Debug, Parser)]
// The version carries the commit the binary was built from (build/git_version.rs).
#[command(
    name = "clearfleet",
    version = env!("CLEARFLEET_VERSION"),
    about,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Why the command cannot run for want of an inventory (none given by `-i`, a variable
    /// or ansible.cfg), if it needs one.
    pub fn missing_inventory(&self) -> Option<String> {
        let inventory = match &self.command {
            Command::Inventory(a) => &a.inventory,
            Command::Ping(a) => &a.connect.inventory,
            Command::Exec(a) => &a.connect.inventory,
            Command::Detect(a) | Command::Plan(a) => &a.connect.inventory,
            Command::Run(a) => &a.connect.inventory,
            Command::Upgrade(a) => &a.connect.inventory,
            Command::Releases(_) | Command::Completions(_) | Command::Man(_) => return None,
        };
        inventory.is_empty().then(|| {
            "no inventory: give `-i FILE`, set CLEARFLEET_INVENTORY or ANSIBLE_INVENTORY, or `inventory` in ansible.cfg's [defaults]".to_owned()
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the inventory: the same JSON as `ansible-inventory --list`, a graph, or one host.
    Inventory(InventoryArgs),
    /// Connect, authenticate and run `true` on every selected host.
    Ping(PingArgs),
    /// Run a command through `sh -c` on every selected host.
    Exec(ExecArgs),
    /// Detect each host's ClearML or Trains server: version, data stores, layout, and the
    /// upgrade it needs (read-only).
    Detect(DetectArgs),
    /// Run an Ansible-style playbook.
    Run(RunArgs),
    /// Upgrade every selected ClearML server to the target along its safe hop chain, with a
    /// verified backup first and a rollback on any failure.
    Upgrade(UpgradeArgs),
    /// Detect each host, then print the safe upgrade path to the target: hops, data
    /// migrations, or why it is refused (read-only, nothing changes).
    Plan(DetectArgs),
    /// Print the ClearML release data in use: releases and their pins, the upgrade hops with
    /// their pinned images, and the upstream source of each.
    Releases(ReleasesArgs),
    /// Print the shell completion script for bash, zsh or fish (README, "Install" says where
    /// each shell looks for it).
    Completions(CompletionsArgs),
    /// Print the man page clearfleet(1), or write it and one page per subcommand
    /// (clearfleet-upgrade(1), ...) into a directory.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// A shell `clearfleet completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write clearfleet.1 and clearfleet-<command>.1 for every command into DIR (created if
    /// missing) instead of printing clearfleet.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Where the ClearML release data comes from.
#[derive(Debug, Args, Clone, Default)]
pub struct ReleaseDataArgs {
    /// Release data file replacing the built-in table (same format as
    /// playbooks/clearml/releases.yml), checked before any host is contacted.
    #[arg(long = "releases", value_name = "FILE", env = "CLEARFLEET_RELEASES")]
    pub releases: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReleasesArgs {
    #[command(flatten)]
    pub data: ReleaseDataArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Inventory file or directory (YAML or INI); repeat to merge several in order.
    #[arg(
        short = 'i',
        long = "inventory",
        env = "CLEARFLEET_INVENTORY",
        value_delimiter = ','
    )]
    pub inventory: Vec<PathBuf>,
    /// Print the whole inventory as JSON, like `ansible-inventory --list`.
    #[arg(long, group = "action")]
    pub list: bool,
    /// Print the group tree, from GROUP (default `all`).
    #[arg(long, group = "action", num_args = 0..=1, default_missing_value = "all", value_name = "GROUP")]
    pub graph: Option<String>,
    /// Print one host's variables as JSON.
    #[arg(long, group = "action", value_name = "HOST")]
    pub host: Option<String>,
    /// Print the hosts that `--limit` selects, one per line.
    #[arg(long, group = "action")]
    pub list_hosts: bool,
    /// Host pattern selecting hosts for `--list-hosts` (Ansible syntax).
    #[arg(short = 'l', long, value_name = "PATTERN", conflicts_with_all = ["list", "graph", "host"])]
    pub limit: Option<String>,
    /// Show passwords and other secret variables (and values decrypted from Ansible Vault)
    /// instead of masking them.
    #[arg(long)]
    pub show_secrets: bool,
    #[command(flatten)]
    pub vault: VaultArgs,
}

/// The Ansible Vault passwords of a run, as `ansible-playbook` takes them (README, "Ansible
/// Vault"). ansible.cfg's `vault_password_file` and `vault_identity_list` (or
/// `ANSIBLE_VAULT_PASSWORD_FILE`, `ANSIBLE_VAULT_IDENTITY_LIST`) add to them.
#[derive(Debug, Args, Clone, Default)]
pub struct VaultArgs {
    /// Vault password file, or an executable script that prints the password (its label is
    /// `default`); repeatable.
    #[arg(
        long = "vault-password-file",
        visible_alias = "vault-pass-file",
        value_name = "FILE"
    )]
    pub vault_password_file: Vec<PathBuf>,
    /// Ask for the vault password on the terminal (not echoed).
    #[arg(long = "ask-vault-pass", visible_alias = "ask-vault-password")]
    pub ask_vault_pass: bool,
    /// A vault password with a label: `LABEL@FILE`, `LABEL@SCRIPT`, `LABEL@prompt`, or a
    /// source alone (label `default`); repeatable.
    #[arg(long = "vault-id", value_name = "[LABEL@]SOURCE")]
    pub vault_id: Vec<String>,
    /// `vault_password_file` and `vault_identity_list` of ansible.cfg (or their `ANSIBLE_*`
    /// variables), filled by `crate::ansible_cfg::apply`.
    #[arg(skip)]
    pub config: crate::ansible_cfg::VaultSettings,
}

/// How and where to connect: shared by every command that talks to hosts.
#[derive(Debug, Args, Clone)]
pub struct ConnectArgs {
    /// Inventory file or directory (YAML or INI); repeat to merge several in order.
    #[arg(
        short = 'i',
        long = "inventory",
        env = "CLEARFLEET_INVENTORY",
        value_delimiter = ','
    )]
    pub inventory: Vec<PathBuf>,
    /// Host pattern limiting the hosts (Ansible syntax: `web:&prod:!web03`, `~re`, `@file`).
    #[arg(short = 'l', long, value_name = "PATTERN", env = "CLEARFLEET_LIMIT")]
    pub limit: Option<String>,
    /// How many hosts to work on at once (lowered to what the open-file limit allows).
    #[arg(short = 'f', long, default_value_t = 50, env = "CLEARFLEET_FORKS")]
    pub forks: usize,
    /// Remote user when the inventory sets no `ansible_user`.
    #[arg(short = 'u', long, env = "CLEARFLEET_USER")]
    pub user: Option<String>,
    /// Private key file when the inventory sets no `ansible_ssh_private_key_file`.
    #[arg(long, value_name = "FILE", env = "CLEARFLEET_PRIVATE_KEY")]
    pub private_key: Option<PathBuf>,
    /// Ask for the SSH password once, for hosts without `ansible_password`.
    #[arg(short = 'k', long)]
    pub ask_pass: bool,
    /// Run commands with sudo unless `ansible_become` (or a playbook's `become`) says otherwise.
    #[arg(short = 'b', long = "become")]
    pub become_: bool,
    /// User to become where no `ansible_become_user` or `become_user` names one.
    #[arg(long, value_name = "USER")]
    pub become_user: Option<String>,
    /// Ask for the sudo password once, for hosts without `ansible_become_password`.
    #[arg(short = 'K', long)]
    pub ask_become_pass: bool,
    /// Seconds to wait for sudo's password prompt to be answered.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub become_timeout: u64,
    /// OpenSSH client config file (default: ~/.ssh/config when it exists).
    #[arg(long, value_name = "FILE", env = "CLEARFLEET_SSH_CONFIG")]
    pub ssh_config: Option<PathBuf>,
    /// known_hosts file (default: ~/.ssh/known_hosts).
    #[arg(long, value_name = "FILE", env = "CLEARFLEET_KNOWN_HOSTS")]
    pub known_hosts: Option<PathBuf>,
    /// Host key policy; `accept-new` learns unknown keys but refuses changed ones, as OpenSSH does.
    #[arg(long, value_enum, default_value_t = HostKeyCheckingArg::AcceptNew, env = "CLEARFLEET_HOST_KEY_CHECKING")]
    pub host_key_checking: HostKeyCheckingArg,
    /// Seconds allowed for TCP connect, SSH handshake and authentication.
    #[arg(
        long,
        default_value_t = 10,
        value_name = "SECS",
        env = "CLEARFLEET_CONNECT_TIMEOUT"
    )]
    pub connect_timeout: u64,
    /// Extra connection attempts after a refused or reset connection (sshd MaxStartups throttling).
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub connect_retries: u32,
    /// Seconds of silence from a host before an SSH keepalive is sent (0 = none). A host that
    /// leaves `--keepalive-count` keepalives in a row unanswered is unreachable: a cut network
    /// is noticed after about (count + 1) × this.
    #[arg(
        long,
        default_value_t = 15,
        value_name = "SECS",
        env = "CLEARFLEET_KEEPALIVE_INTERVAL"
    )]
    pub keepalive_interval: u64,
    /// Unanswered keepalives after which a host is unreachable (as ssh's ServerAliveCountMax).
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub keepalive_count: u32,
    /// Seconds a remote command may run before it is stopped (0 = no limit).
    #[arg(
        long,
        default_value_t = 0,
        value_name = "SECS",
        env = "CLEARFLEET_TIMEOUT"
    )]
    pub timeout: u64,
    /// Do not offer keys from ssh-agent (SSH_AUTH_SOCK).
    #[arg(long)]
    pub no_agent: bool,
    /// Run every command on its own SSH channel (a new session on the host) instead of in one
    /// long-lived shell per host.
    #[arg(long, env = "CLEARFLEET_NO_PERSISTENT_SHELL")]
    pub no_persistent_shell: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human, env = "CLEARFLEET_OUTPUT")]
    pub output: OutputFormat,
    /// More log output on stderr (-v, -vv).
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only the recap and errors.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Write a report directory: summary.json, hosts/<host>.{json,md}, junit.xml, events.jsonl
    /// and index.html. `upgrade` writes one under reports/<UTC time>/ unless this is `none`.
    #[arg(long, value_name = "DIR|none")]
    pub report_dir: Option<PathBuf>,
    /// Only the hosts that ended with these statuses in the last report (the newest under
    /// reports/, or --from-report); combines with --limit.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "STATUS")]
    pub rerun: Vec<RerunStatus>,
    /// The report directory --rerun reads (its summary.json).
    #[arg(long, value_name = "DIR", requires = "rerun")]
    pub from_report: Option<PathBuf>,
    /// Also write a debug log here, one span per host (secrets masked).
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    #[command(flatten)]
    pub vault: VaultArgs,
    /// What ansible.cfg gives besides flags: `roles_path`, the Vault settings, warnings
    /// (`crate::ansible_cfg::apply` fills it).
    #[arg(skip)]
    pub settings: crate::ansible_cfg::CfgExtras,
}

/// A host status of an earlier report, for `--rerun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RerunStatus {
    Failed,
    Unreachable,
    Ok,
    Interrupted,
}

impl RerunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RerunStatus::Failed => "failed",
            RerunStatus::Unreachable => "unreachable",
            RerunStatus::Ok => "ok",
            RerunStatus::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Args)]
pub struct PingArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// How much of a command's output is kept: shared by the commands that run things.
#[derive(Debug, Args, Clone, Copy)]
pub struct OutputArgs {
    /// Bytes of each command's stdout, and of its stderr, kept per task (e.g. 4MiB, 512KiB,
    /// 1000000): past it the first and last halves are kept and the task fails, saying how
    /// much was dropped. A `clearfleet_max_output` variable (host, group, play, task, -e) wins
    /// over this.
    #[arg(
        long,
        value_name = "SIZE",
        default_value_t = MaxOutput::DEFAULT,
        env = "CLEARFLEET_MAX_OUTPUT"
    )]
    pub max_output: MaxOutput,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// The command; several words are joined with spaces, as ssh does.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// The playbook file.
    #[arg(value_name = "PLAYBOOK")]
    pub playbook: PathBuf,
    /// Extra variables, highest precedence: `k=v k2=v2`, JSON `{"k": 1}` or `@vars.yml`
    /// (repeatable).
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub extra_vars: Vec<String>,
    /// Report what would change without changing anything.
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Show content changes of copy, template, lineinfile, blockinfile and replace.
    #[arg(short = 'D', long)]
    pub diff: bool,
    /// Only tasks with these tags (comma-separated, repeatable).
    #[arg(short = 't', long, value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Skip tasks with these tags.
    #[arg(long, value_delimiter = ',')]
    pub skip_tags: Vec<String>,
    /// Start at the first task with this name.
    #[arg(long, value_name = "NAME")]
    pub start_at_task: Option<String>,
    /// Run notified handlers even on hosts that failed (the plays' `force_handlers`
    /// default).
    #[arg(long)]
    pub force_handlers: bool,
}

#[derive(Debug, Args, Clone)]
pub struct UpgradeArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub data: ReleaseDataArgs,
    /// The release to reach (default: the latest in the release data).
    #[arg(long, value_name = "VERSION")]
    pub target: Option<String>,
    /// Detect and plan only: print what would happen per host, change nothing.
    #[arg(long)]
    pub check: bool,
    /// Run Trains 0.16's Elasticsearch 5 → 7 migration script (trains-server-0.16.0-migration.zip,
    /// fetched like the compose files) on Trains ≤ 0.15 hosts instead of refusing them; its
    /// preconditions (python, disk, memory) are checked first.
    #[arg(long)]
    pub allow_es_migration: bool,
    /// Upgrade hosts whose compose file differs from upstream's file of their release (extra
    /// services, other ports, images or environment): those changes are dropped with the old
    /// file, which stays in the backup. Without it such hosts are refused, the differences
    /// listed.
    #[arg(long)]
    pub discard_compose_changes: bool,
    /// Compose files from DIR/<version>/docker-compose.yml (a controller directory) or
    /// URL/<version>/docker-compose.yml, for sites without internet.
    #[arg(long, value_name = "DIR|URL")]
    pub compose_mirror: Option<String>,
    /// Where backups go (default: `<root>-backup-<UTC time>` beside each root). Never deleted.
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<String>,
    /// Upgrade hosts in batches: a number or a percentage.
    #[arg(long, value_name = "N|P%")]
    pub serial: Option<String>,
    /// Stop starting new batches once more than P% of a batch failed.
    #[arg(long, value_name = "P")]
    pub max_fail_percentage: Option<f64>,
    /// Seconds to wait for a server to answer after each `up` (and after a rollback).
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub wait: u64,
    /// Use this upgrade playbook instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub playbook: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DetectArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    pub data: ReleaseDataArgs,
    /// The release to plan for (default: the latest in the release data).
    #[arg(long, value_name = "VERSION")]
    pub target: Option<String>,
    /// Plan Trains ≤ 0.15 hosts through the Elasticsearch 5 → 7 migration script instead of
    /// refusing them.
    #[arg(long)]
    pub allow_es_migration: bool,
    /// Plan hosts whose compose file differs from upstream's too (their changes are dropped).
    #[arg(long)]
    pub discard_compose_changes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HostKeyCheckingArg {
    Strict,
    AcceptNew,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
}
