//! Logs in once per connection, trying methods in a fixed order and never again after success.
//!
//! Order: the target's identity files (errors for missing or undecryptable ones are raised
//! before connecting), then ssh-agent keys, then the default keys (`~/.ssh/id_*`, only when
//! the target names no key), then the password (`password`, or `keyboard-interactive` when the
//! server only offers that). Methods the server stops offering are skipped. Each request has a
//! timeout: russh never answers an auth request sent after success, and a timed-out request
//! leaves the session unusable, so a timeout ends the attempt.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use russh::MethodKind;
use russh::client::{AuthResult, Handle, KeyboardInteractiveAuthResponse};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey};

use super::error::{ConnectError, KeyLoadError};
use super::handler::ClientHandler;
use super::known_hosts::fingerprint;
use super::settings::{PassphrasePrompt, SshSettings};
use super::target::Target;

/// A private key ready to sign, with the file it came from.
#[derive(Clone)]
pub(crate) struct LoadedKey {
    pub path: PathBuf,
    pub key: Arc<PrivateKey>,
}

/// Loads the target's identity files (all must work), before any network traffic.
pub(crate) async fn load_explicit_keys(
    target: &Target,
    settings: &SshSettings,
) -> Result<Vec<LoadedKey>, ConnectError> {
    let mut keys = Vec::new();
    for path in &target.identity_files {
        let key = load_key(settings, path)
            .await
            .map_err(|e| e.into_connect_error(path))?;
        keys.push(LoadedKey {
            path: path.clone(),
            key,
        });
    }
    Ok(keys)
}

/// Loads `path` once per run (see [`super::settings::KeyCache`]).
async fn load_key(settings: &SshSettings, path: &Path) -> Result<Arc<PrivateKey>, KeyLoadError> {
    let mut cache = settings.key_cache.inner.lock().await;
    if let Some(cached) = cache.get(path) {
        return cached.clone();
    }
    let result = load_key_uncached(path.to_path_buf(), settings.passphrase.clone()).await;
    cache.insert(path.to_path_buf(), result.clone());
    result
}

async fn load_key_uncached(
    path: PathBuf,
    passphrase: Option<PassphrasePrompt>,
) -> Result<Arc<PrivateKey>, KeyLoadError> {
    // Reading may block, decryption (bcrypt-pbkdf) is slow, and the callback may prompt.
    tokio::task::spawn_blocking(move || {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyLoadError::Missing);
            }
            Err(e) => return Err(KeyLoadError::Unreadable(e.to_string())),
        };
        match russh::keys::decode_secret_key(&text, None) {
            Ok(key) => Ok(Arc::new(key)),
            Err(russh::keys::Error::KeyIsEncrypted) => {
                let Some(secret) = passphrase.and_then(|ask| ask(&path)) else {
                    return Err(KeyLoadError::NoPassphrase);
                };
                russh::keys::decode_secret_key(&text, Some(secret.expose()))
                    .map(Arc::new)
                    .map_err(|_| KeyLoadError::BadPassphrase)
            }
            Err(e) => Err(KeyLoadError::Invalid(e.to_string())),
        }
    })
    .await
    .unwrap_or_else(|e| Err(KeyLoadError::Invalid(format!("key loading failed: {e}"))))
}

/// Runs one auth request with the per-request timeout.
async fn timed<T, E: std::fmt::Display>(
    step: Duration,
    target: &Target,
    method: &str,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, ConnectError> {
    match tokio::time::timeout(step, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ConnectError::Protocol {
            addr: target.addr(),
            message: format!("{method} authentication: {e}"),
        }),
        Err(_) => Err(ConnectError::AuthTimeout {
            user: target.user.clone(),
            host: target.addr(),
            method: method.to_string(),
        }),
    }
}

/// One authentication run on a fresh handle.
struct Auth<'a> {
    handle: &'a mut Handle<ClientHandler>,
    target: &'a Target,
    step: Duration,
    tried: Vec<String>,
    /// Methods the server still offers (`None` until the first failure says).
    allowed: Option<Vec<MethodKind>>,
    rsa_hash: Option<Option<HashAlg>>,
    /// Public keys offered already (agent keys that duplicate a file are skipped).
    offered: Vec<PublicKey>,
}

/// Authenticates `handle` as `target.user`; see the module docs for the order.
pub(crate) async fn authenticate(
    handle: &mut Handle<ClientHandler>,
    target: &Target,
    settings: &SshSettings,
    explicit: &[LoadedKey],
    step: Duration,
) -> Result<(), ConnectError> {
    let mut auth = Auth {
        handle,
        target,
        step,
        tried: Vec::new(),
        allowed: None,
        rsa_hash: None,
        offered: Vec::new(),
    };

    for k in explicit {
        if auth
            .try_key(format!("publickey {}", k.path.display()), k.key.clone())
            .await?
        {
            return Ok(());
        }
    }

    if settings.use_agent && auth.allows(MethodKind::PublicKey) && auth.try_agent(settings).await? {
        return Ok(());
    }

    if target.identity_files.is_empty() {
        for path in &settings.default_identity_files {
            if !auth.allows(MethodKind::PublicKey) {
                break;
            }
            if !path.exists() {
                continue;
            }
            match load_key(settings, path).await {
                Ok(key) => {
                    if auth
                        .try_key(format!("publickey {}", path.display()), key)
                        .await?
                    {
                        return Ok(());
                    }
                }
                Err(e) => {
                    tracing::debug!(path = %path.display(), error = ?e, "default key not usable; skipped")
                }
            }
        }
    }

    if let Some(password) = &target.password {
        if auth.allows(MethodKind::Password) {
            auth.tried.push("password".into());
            let user = target.user.clone();
            let pw = password.expose().to_string();
            let r = timed(
                step,
                target,
                "password",
                auth.handle.authenticate_password(user, pw),
            )
            .await?;
            if auth.record(r) {
                return Ok(());
            }
        } else if auth.allows(MethodKind::KeyboardInteractive)
            && auth.keyboard_interactive(password.expose()).await?
        {
            return Ok(());
        }
    }

    let mut tried = auth.tried;
    if auth.handle.is_closed() {
        tried.push("then the server closed the connection".into());
    }
    Err(ConnectError::AuthFailed {
        user: target.user.clone(),
        host: target.addr(),
        tried,
    })
}

impl Auth<'_> {
    fn allows(&self, method: MethodKind) -> bool {
        self.allowed.as_ref().is_none_or(|m| m.contains(&method))
    }

    /// Records a result; true on success.
    fn record(&mut self, result: AuthResult) -> bool {
        match result {
            AuthResult::Success => true,
            AuthResult::Failure {
                remaining_methods, ..
            } => {
                self.allowed = Some(remaining_methods.to_vec());
                false
            }
        }
    }

    /// The signature hash for RSA keys (rsa-sha2-512/256 when the server lists them).
    async fn rsa_hash(&mut self) -> Result<Option<HashAlg>, ConnectError> {
        if let Some(h) = self.rsa_hash {
            return Ok(h);
        }
        let h = timed(
            self.step,
            self.target,
            "publickey",
            self.handle.best_supported_rsa_hash(),
        )
        .await?
        .flatten();
        self.rsa_hash = Some(h);
        Ok(h)
    }

    async fn try_key(&mut self, label: String, key: Arc<PrivateKey>) -> Result<bool, ConnectError> {
        if !self.allows(MethodKind::PublicKey) || self.offered.contains(key.public_key()) {
            return Ok(false);
        }
        let hash = if key.algorithm().is_rsa() {
            self.rsa_hash().await?
        } else {
            None
        };
        self.offered.push(key.public_key().clone());
        self.tried.push(label);
        let user = self.target.user.clone();
        let r = timed(
            self.step,
            self.target,
            "publickey",
            self.handle
                .authenticate_publickey(user, PrivateKeyWithHashAlg::new(key, hash)),
        )
        .await?;
        Ok(self.record(r))
    }

    /// Tries every plain key the agent holds. Agent problems are logged and skipped.
    async fn try_agent(&mut self, settings: &SshSettings) -> Result<bool, ConnectError> {
        let socket = settings
            .agent_socket
            .clone()
            .or_else(|| std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from));
        let Some(socket) = socket else {
            return Ok(false);
        };
        let mut agent = match tokio::time::timeout(self.step, AgentClient::connect_uds(&socket))
            .await
        {
            Ok(Ok(a)) => a,
            other => {
                tracing::debug!(socket = %socket.display(), result = ?other.map(|r| r.err()), "ssh-agent not usable");
                return Ok(false);
            }
        };
        let identities = match tokio::time::timeout(self.step, agent.request_identities()).await {
            Ok(Ok(ids)) => ids,
            other => {
                tracing::debug!(result = ?other.map(|r| r.err()), "ssh-agent did not list keys");
                return Ok(false);
            }
        };
        for id in identities {
            let AgentIdentity::PublicKey { key, .. } = id else {
                continue; // certificates are not supported
            };
            if !self.allows(MethodKind::PublicKey) {
                break;
            }
            if self.offered.contains(&key) {
                continue;
            }
            let hash = if key.algorithm().is_rsa() {
                self.rsa_hash().await?
            } else {
                None
            };
            self.offered.push(key.clone());
            self.tried.push(format!("agent key {}", fingerprint(&key)));
            let user = self.target.user.clone();
            let r = tokio::time::timeout(
                self.step,
                self.handle
                    .authenticate_publickey_with(user, key, hash, &mut agent),
            )
            .await;
            match r {
                Ok(Ok(result)) => {
                    if self.record(result) {
                        return Ok(true);
                    }
                }
                Ok(Err(e)) => tracing::debug!(error = %e, "ssh-agent could not sign"),
                Err(_) => {
                    return Err(ConnectError::AuthTimeout {
                        user: self.target.user.clone(),
                        host: self.target.addr(),
                        method: "agent".into(),
                    });
                }
            }
        }
        Ok(false)
    }

    /// keyboard-interactive, answering hidden prompts with the password (a few rounds at most).
    async fn keyboard_interactive(&mut self, password: &str) -> Result<bool, ConnectError> {
        self.tried.push("keyboard-interactive".into());
        let user = self.target.user.clone();
        let mut reply = timed(
            self.step,
            self.target,
            "keyboard-interactive",
            self.handle
                .authenticate_keyboard_interactive_start(user, None::<String>),
        )
        .await?;
        for _round in 0..5 {
            match reply {
                KeyboardInteractiveAuthResponse::Success => return Ok(true),
                KeyboardInteractiveAuthResponse::Failure {
                    remaining_methods, ..
                } => {
                    self.allowed = Some(remaining_methods.to_vec());
                    return Ok(false);
                }
                KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                    let answers = prompts
                        .iter()
                        .map(|p| {
                            if p.echo {
                                String::new()
                            } else {
                                password.to_string()
                            }
                        })
                        .collect();
                    reply = timed(
                        self.step,
                        self.target,
                        "keyboard-interactive",
                        self.handle
                            .authenticate_keyboard_interactive_respond(answers),
                    )
                    .await?;
                }
            }
        }
        Ok(false)
    }
}
