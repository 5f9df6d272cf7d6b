//! The russh client handler of every connection (a host's own, or a jump host's): the host key
//! check. Apart from `session.rs`, which connects with it, so that `auth.rs` can name the
//! handle's type without depending on the session.

use std::sync::{Arc, Mutex};

use russh::client;
use russh::keys::PublicKeyOrCertificate;

use super::error::ConnectError;
use super::known_hosts::{self, HostKeyChecking};

/// russh callbacks: only the host key check is ours; a refusal is kept in `rejection` so the
/// caller gets our error instead of russh's generic "unknown server key".
pub struct ClientHandler {
    host: String,
    settings_known_hosts: std::path::PathBuf,
    policy: HostKeyChecking,
    rejection: Arc<Mutex<Option<ConnectError>>>,
}

impl client::Handler for ClientHandler {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let verdict = match offered {
            PublicKeyOrCertificate::PublicKey { key, .. } => {
                known_hosts::verify(self.policy, &self.settings_known_hosts, &self.host, key)
            }
            PublicKeyOrCertificate::Certificate(_) if self.policy == HostKeyChecking::Off => Ok(()),
            PublicKeyOrCertificate::Certificate(_) => Err(ConnectError::HostCertificate {
                host: self.host.clone(),
            }),
        };
        match verdict {
            Ok(()) => Ok(true),
            Err(e) => {
                if let Ok(mut slot) = self.rejection.lock() {
                    *slot = Some(e);
                }
                Ok(false)
            }
        }
    }
}

impl ClientHandler {
    /// The handler for `host` (its known_hosts name), checking against `known_hosts` with
    /// `policy`; a refused key's error goes to `rejection`.
    pub(crate) fn new(
        host: String,
        known_hosts: std::path::PathBuf,
        policy: HostKeyChecking,
        rejection: Arc<Mutex<Option<ConnectError>>>,
    ) -> Self {
        ClientHandler {
            host,
            settings_known_hosts: known_hosts,
            policy,
            rejection,
        }
    }
}
