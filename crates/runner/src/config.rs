//! What a run needs, validated: the hosts in inventory order and how to reach each, the SSH
//! settings and limits. Built by the binary from the command line and the inventory.

use std::sync::Arc;
use std::time::Duration;

use clearfleet_base::capture::MaxOutput;
use clearfleet_base::secret::{Redactor, Secret};
use clearfleet_ssh::{Become, SshSettings, Target};

/// What the runner needs to work on one host.
#[derive(Debug, Clone)]
pub struct HostPlan {
    pub name: String,
    pub target: Target,
    /// How `clearfleet exec` becomes on the host (its inventory's become variables over `-b`,
    /// `--become-user`, `-K`); a playbook's tasks decide their own from all their variables.
    pub become_: Option<Become>,
    /// Kept of each output stream of a command (`clearfleet_max_output` of the host, else
    /// `--max-output`); a playbook task's own variables may set another.
    pub max_output: MaxOutput,
}

/// How `meta: refresh_inventory` reads the run's inventory sources again (with the run's
/// vault): the reason when they do not load.
pub type InventoryReload =
    Arc<dyn Fn() -> Result<clearfleet_inventory::Inventory, String> + Send + Sync>;

/// How the binary plans a host `add_host` created during a run, from its inventory variables
/// (the same reading as for the inventory's hosts): the reason when they do not say how.
pub type NewHostPlan = Arc<
    dyn Fn(&str, &serde_json::Map<String, serde_json::Value>) -> Result<HostPlan, String>
        + Send
        + Sync,
>;

/// The validated run: selected hosts in inventory order, SSH settings and limits.
pub struct RunConfig {
    pub hosts: Vec<HostPlan>,
    pub ssh: Arc<SshSettings>,
    pub forks: usize,
    /// Connections the open-file limit lets the run hold at once. A playbook keeps each host's
    /// connection from task to task; with more hosts than this it reopens them for each task.
    pub max_connections: usize,
    pub command_timeout: Option<Duration>,
    /// `--max-output` (or its default): the limit where no `clearfleet_max_output` variable
    /// sets one.
    pub max_output: MaxOutput,
    /// Masks every password the run knows of in anything printed.
    pub redactor: Redactor,
    /// Notes for the operator found while validating (forks lowered, host keys not checked).
    pub warnings: Vec<String>,
    /// Plans the hosts `add_host` creates; `None` leaves them unreachable.
    pub new_host: Option<NewHostPlan>,
    /// Reads the inventory again for `meta: refresh_inventory`; `None`: the run cannot.
    pub reload_inventory: Option<InventoryReload>,
    /// What the command line and `ansible.cfg` say of become, for a playbook's tasks.
    pub become_defaults: BecomeDefaults,
}

/// The command line's and `ansible.cfg`'s become settings (`-b`, `--become-user`, `-K`,
/// `--become-timeout`). In Ansible they are the defaults of the `become*` keywords
/// (lib/ansible/playbook/base.py, `context.cliargs_deferred_get`) and the `-K` password is
/// below the become plugin's variables (lib/ansible/executor/task_executor.py,
/// `_set_connection_options`): a playbook's keywords and variables beat them.
#[derive(Debug, Clone)]
pub struct BecomeDefaults {
    pub enabled: bool,
    pub user: Option<String>,
    pub password: Option<Secret>,
    /// How long sudo may take to prompt or to accept the password.
    pub timeout: Duration,
}

impl Default for BecomeDefaults {
    fn default() -> Self {
        BecomeDefaults {
            enabled: false,
            user: None,
            password: None,
            timeout: Duration::from_secs(10),
        }
    }
}

impl RunConfig {
    /// The plan of a host that cannot be reached (never connected to: the host is marked
    /// unreachable before any task).
    pub(crate) fn unreachable_plan(&self, name: &str) -> HostPlan {
        HostPlan {
            name: name.to_owned(),
            target: Target {
                name: name.to_owned(),
                address: name.to_owned(),
                port: 22,
                user: String::new(),
                identity_files: Vec::new(),
                password: None,
                connect_timeout: None,
                jump: None,
                known_hosts: None,
                host_key_checking: None,
            },
            become_: None,
            max_output: self.max_output,
        }
    }
}
