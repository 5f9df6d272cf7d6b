//! Opens the one SSH connection a host gets for the whole run: TCP (or a tunnel through its
//! jump hosts), handshake, host key check, authentication, with a timeout and bounded retries.
//!
//! - The connect timeout bounds each attempt's TCP + handshake + authentication (russh has no
//!   connect timeout of its own).
//! - Retries (exponential backoff from 200 ms, plus up to 50 % jitter) only follow a refused
//!   connection or one closed/reset before the handshake finished (what sshd's `MaxStartups`
//!   does under load); never authentication, host key or timeout failures.
//! - At most `SshSettings::max_handshakes_per_destination` attempts to one address and port
//!   are in flight at a time (the others wait their turn, outside the connect timeout), so
//!   that many names for one host, or many hosts behind one jump host, stay below sshd's
//!   `MaxStartups` instead of being dropped by it.
//! - A jump host is connected (recursively, host-key-checked and authenticated like any host),
//!   then the target is reached with `direct-tcpip` through it. The jump connections live as
//!   long as the target's.
//! - Keepalives are on (`SshSettings::keepalive_interval`) and russh's inactivity timeout is
//!   off: with it, a silent command longer than the timeout loses its connection.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use russh::client::{self, Handle};
use russh::{Disconnect, Preferred};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use super::auth::{self, LoadedKey};
use super::driver;
use super::error::ConnectError;
use super::handler::ClientHandler;
use super::known_hosts::{self, HostKeyChecking};
use super::settings::SshSettings;
use super::target::Target;

/// One authenticated SSH connection to one host (through its jump chain). `Send + Sync`;
/// clones share the connection. Commands run on their own channels, at most
/// `SshSettings::max_channels` at a time.
#[derive(Clone)]
pub struct Connection {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) handle: Handle<ClientHandler>,
    /// Jump connections, first hop first; kept alive for the tunnel.
    jumps: Vec<Handle<ClientHandler>>,
    pub(crate) channels: Arc<Semaphore>,
    /// One extra channel for killing a timed-out command (max_channels + 1 stays below
    /// OpenSSH's MaxSessions 10 with the default 8).
    pub(crate) killer: Semaphore,
    pub(crate) host: String,
    /// The persistent shell (`None` when turned off in the settings).
    pub(crate) shell: Option<driver::Slot>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("host", &self.inner.host)
            .field("jumps", &self.inner.jumps.len())
            .field("closed", &self.inner.handle.is_closed())
            .finish()
    }
}

type Hop<'a> =
    Pin<Box<dyn Future<Output = Result<Handle<ClientHandler>, ConnectError>> + Send + 'a>>;

impl Connection {
    /// Connects to `target` (through `target.jump`, recursively) and authenticates.
    pub async fn connect(
        target: &Target,
        settings: &SshSettings,
    ) -> Result<Connection, ConnectError> {
        let mut jumps = Vec::new();
        let handle = connect_chain(target, settings, &mut jumps).await?;
        Ok(Connection {
            inner: Arc::new(Inner {
                handle,
                jumps,
                channels: Arc::new(Semaphore::new(settings.max_channels.max(1))),
                killer: Semaphore::new(1),
                host: target.name.clone(),
                // The shell keeps one channel slot for its life: with a single slot, a
                // command that needs its own channel would wait for it forever.
                shell: (settings.persistent_shell && settings.max_channels >= 2)
                    .then(driver::new_slot),
            }),
        })
    }

    /// Whether the connection is gone (host closed it, network, keepalive failures).
    pub fn is_closed(&self) -> bool {
        self.inner.handle.is_closed()
    }

    /// The inventory name of the host.
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// Says goodbye to the host and its jump hosts (last hop first). Commands still running on
    /// other clones of this connection lose it.
    pub async fn close(self) {
        let inner = &self.inner;
        let _ = inner
            .handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await;
        for jump in inner.jumps.iter().rev() {
            let _ = jump.disconnect(Disconnect::ByApplication, "", "en").await;
        }
    }
}

fn connect_chain<'a>(
    target: &'a Target,
    settings: &'a SshSettings,
    jumps: &'a mut Vec<Handle<ClientHandler>>,
) -> Hop<'a> {
    Box::pin(async move {
        // Key problems are reported before any traffic, and not as a jump failure.
        let keys = auth::load_explicit_keys(target, settings).await?;
        let via = match target.jump.as_deref() {
            Some(jump) => Some(connect_chain(jump, settings, jumps).await.map_err(|e| {
                ConnectError::Jump {
                    jump: jump.display(),
                    source: Box::new(e),
                }
            })?),
            None => None,
        };
        let result = connect_with_retries(target, settings, via.as_ref(), &keys).await;
        if let Some(via) = via {
            jumps.push(via);
        }
        result
    })
}

async fn connect_with_retries(
    target: &Target,
    settings: &SshSettings,
    via: Option<&Handle<ClientHandler>>,
    keys: &[LoadedKey],
) -> Result<Handle<ClientHandler>, ConnectError> {
    let limit = target.connect_timeout.unwrap_or(settings.connect_timeout);
    let gate = settings
        .handshake_gates
        .gate(&target.addr(), settings.max_handshakes_per_destination);
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        // Held for the attempt only (not the backoff), and not counted in its timeout.
        let permit = gate.clone().acquire_owned().await.ok();
        let started = Instant::now();
        let err =
            match tokio::time::timeout(limit, attempt_once(target, settings, via, keys, limit))
                .await
            {
                Ok(Ok(handle)) => return Ok(handle),
                Ok(Err(e)) => e,
                Err(_) => ConnectError::Timeout {
                    addr: target.addr(),
                    after: limit,
                },
            };
        drop(permit);
        tracing::debug!(host = %target.name, attempt, elapsed = ?started.elapsed(), error = %err, "connect attempt failed");
        if err.is_transient() && attempt <= settings.connect_retries {
            tokio::time::sleep(backoff(attempt)).await;
            continue;
        }
        return Err(with_attempts(err, attempt));
    }
}

/// 200 ms, 400 ms, 800 ms… (capped at 5 s) plus up to 50 % random jitter from the OS. Without
/// random bytes there is no jitter: it only spreads the retries of many hosts apart, which is
/// not worth failing a connection for.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(200).saturating_mul(1 << attempt.saturating_sub(1).min(5));
    let base = base.min(Duration::from_secs(5));
    let jitter = match getrandom::u32() {
        Ok(r) => r % 500,
        Err(e) => {
            tracing::debug!(error = %e, "no random jitter for the connect retry");
            0
        }
    };
    base + base.mul_f64(f64::from(jitter) / 1000.0)
}

fn with_attempts(err: ConnectError, n: u32) -> ConnectError {
    match err {
        ConnectError::Refused { addr, .. } => ConnectError::Refused { addr, attempts: n },
        ConnectError::ClosedBeforeHandshake { addr, .. } => {
            ConnectError::ClosedBeforeHandshake { addr, attempts: n }
        }
        other => other,
    }
}

/// See [`client::Config::channel_buffer_size`] in `client_config`.
const CHANNEL_QUEUE: usize = 16;

fn client_config(settings: &SshSettings, known_types: &[String]) -> Arc<client::Config> {
    let mut preferred = Preferred::default();
    if !known_types.is_empty() {
        // Like OpenSSH: ask for a host key type we already know, so a host with several keys
        // is not "unknown" just because it offered another type first.
        let mut algs = preferred.key.to_vec();
        algs.sort_by_key(|a| !known_types.contains(&known_hosts::key_family(a)));
        preferred.key = Cow::Owned(algs);
    }
    Arc::new(client::Config {
        keepalive_interval: settings.keepalive_interval,
        keepalive_max: usize::try_from(settings.keepalive_max).unwrap_or(usize::MAX),
        inactivity_timeout: None,
        nodelay: true,
        preferred,
        // Packets russh queues per channel before its reader takes them (russh's default is
        // 100, 3.2 MiB of 32 KiB packets per channel when the reader lags behind, e.g. many
        // hosts printing at once on a busy controller); every channel is read to its end
        // (exec.rs), so a shorter queue only holds the host back sooner.
        channel_buffer_size: CHANNEL_QUEUE,
        ..Default::default()
    })
}

async fn attempt_once(
    target: &Target,
    settings: &SshSettings,
    via: Option<&Handle<ClientHandler>>,
    keys: &[LoadedKey],
    step: Duration,
) -> Result<Handle<ClientHandler>, ConnectError> {
    let addr = target.addr();
    let host = target.known_hosts_name();
    let known_hosts_file = target.known_hosts.as_ref().unwrap_or(&settings.known_hosts);
    let policy = target
        .host_key_checking
        .unwrap_or(settings.host_key_checking);
    let known_types = if policy == HostKeyChecking::Off {
        Vec::new()
    } else {
        known_hosts::known_key_types(known_hosts_file, &host)
    };
    let config = client_config(settings, &known_types);
    let rejection = Arc::new(Mutex::new(None));
    let handler = ClientHandler::new(host, known_hosts_file.clone(), policy, rejection.clone());
    let connected = match via {
        None => {
            let stream = TcpStream::connect((target.address.as_str(), target.port))
                .await
                .map_err(|e| classify_io(e, &addr))?;
            let _ = stream.set_nodelay(true);
            client::connect_stream(config, stream, handler).await
        }
        Some(jump) => {
            let channel = jump
                .channel_open_direct_tcpip(
                    target.address.clone(),
                    u32::from(target.port),
                    "127.0.0.1",
                    0,
                )
                .await
                .map_err(|e| match e {
                    russh::Error::ChannelOpenFailure(russh::ChannelOpenFailure::ConnectFailed) => {
                        ConnectError::Refused {
                            addr: addr.clone(),
                            attempts: 1,
                        }
                    }
                    other => ConnectError::JumpForward {
                        jump: target
                            .jump
                            .as_deref()
                            .map(Target::display)
                            .unwrap_or_default(),
                        target: addr.clone(),
                        reason: other.to_string(),
                    },
                })?;
            client::connect_stream(config, channel.into_stream(), handler).await
        }
    };
    let mut handle = match connected {
        Ok(h) => h,
        Err(e) => {
            let ours = rejection.lock().ok().and_then(|mut slot| slot.take());
            return Err(ours.unwrap_or_else(|| classify_russh(e, &addr)));
        }
    };
    auth::authenticate(&mut handle, target, settings, keys, step).await?;
    Ok(handle)
}

fn classify_io(e: std::io::Error, addr: &str) -> ConnectError {
    use std::io::ErrorKind::*;
    let addr = addr.to_string();
    match e.kind() {
        ConnectionRefused => ConnectError::Refused { addr, attempts: 1 },
        ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe => {
            ConnectError::ClosedBeforeHandshake { addr, attempts: 1 }
        }
        _ => ConnectError::Io { addr, source: e },
    }
}

fn classify_russh(e: russh::Error, addr: &str) -> ConnectError {
    match e {
        russh::Error::IO(io) => classify_io(io, addr),
        russh::Error::Disconnect | russh::Error::HUP => ConnectError::ClosedBeforeHandshake {
            addr: addr.to_string(),
            attempts: 1,
        },
        other => ConnectError::Protocol {
            addr: addr.to_string(),
            message: other.to_string().to_lowercase(),
        },
    }
}
