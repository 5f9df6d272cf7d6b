//! The run's SSH connections, one per host and login, shared: a host's own tasks and the tasks
//! other hosts delegate to it (`delegate_to`) go through the same connection, as Ansible's
//! tasks delegated to a host reach it through that host's connection settings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::OnceCell;

use clearfleet_ssh::{ConnectError, Connection, SshSettings, Target};

/// Which connection: the host's name, where it is reached and who logs in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    host: String,
    address: String,
    port: u16,
    user: String,
}

impl Key {
    fn of(target: &Target) -> Self {
        Key {
            host: target.name.clone(),
            address: target.address.clone(),
            port: target.port,
            user: target.user.clone(),
        }
    }
}

type Slot = Arc<OnceCell<Connection>>;

/// Connections opened on first use and kept until [`Connections::close_host`] or
/// [`Connections::close_all`]. Two tasks asking for the same one at once wait for one connect.
#[derive(Default)]
pub struct Connections {
    open: Mutex<HashMap<Key, Slot>>,
}

impl Connections {
    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Slot>> {
        // A panic while holding this lock leaves the map whole (inserts and removes only).
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The connection to `target`, opened now if it is not yet (a failed connect is tried again
    /// by the next task that asks).
    pub async fn get(
        &self,
        target: &Target,
        ssh: &SshSettings,
    ) -> Result<Connection, ConnectError> {
        let slot = self.lock().entry(Key::of(target)).or_default().clone();
        slot.get_or_try_init(|| Connection::connect(target, ssh))
            .await
            .cloned()
    }

    /// [`Connections::get`] logged in as `user` (`None`: `target`'s own user).
    pub async fn get_as(
        &self,
        target: &Target,
        user: Option<&str>,
        ssh: &SshSettings,
    ) -> Result<Connection, ConnectError> {
        match user {
            Some(u) if u != target.user => {
                let mut target = target.clone();
                target.user = u.to_owned();
                self.get(&target, ssh).await
            }
            _ => self.get(target, ssh).await,
        }
    }

    /// Closes every connection to `host` (its next task connects again). A task delegated to
    /// `host` that is still running loses it, so this is only called between a host's tasks
    /// when the open-file limit cannot hold every connection.
    pub async fn close_host(&self, host: &str) {
        let slots: Vec<Slot> = {
            let mut open = self.lock();
            let keys: Vec<Key> = open.keys().filter(|k| k.host == host).cloned().collect();
            keys.iter().filter_map(|k| open.remove(k)).collect()
        };
        close(slots).await;
    }

    /// Closes every connection of the run.
    pub async fn close_all(&self) {
        let slots: Vec<Slot> = self.lock().drain().map(|(_, s)| s).collect();
        close(slots).await;
    }
}

async fn close(slots: Vec<Slot>) {
    for slot in slots {
        if let Some(connection) = slot.get().cloned() {
            connection.close().await;
        }
    }
}
