//! What the simulator's parts share: command output (`Out`), errors, the mapping from host
//! paths to real paths (CLEARML_SIM_FSROOT), and the container model the services' rules read
//! (a stand-in builds it from its own environment).

use crate::releases::ImageKind;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("clearml-sim: {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("clearml-sim: state file {path} is not valid: {msg}")]
    BadState { path: String, msg: String },
}

pub fn io_err(path: &Path, source: std::io::Error) -> SimError {
    SimError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The JSON state file at `p`, or None when it does not exist.
pub fn load_json<T: serde::de::DeserializeOwned>(p: &Path) -> Result<Option<T>, SimError> {
    match std::fs::read_to_string(p) {
        Ok(s) => serde_json::from_str(&s)
            .map(Some)
            .map_err(|e| SimError::BadState {
                path: p.display().to_string(),
                msg: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(p, e)),
    }
}

/// What a command prints and its exit code.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Out {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Out {
    pub fn ok(stdout: impl Into<String>) -> Out {
        Out {
            stdout: stdout.into(),
            stderr: String::new(),
            code: 0,
        }
    }
    pub fn fail(code: i32, stderr: impl Into<String>) -> Out {
        let mut s: String = stderr.into();
        if !s.is_empty() && !s.ends_with('\n') {
            s.push('\n');
        }
        Out {
            stdout: String::new(),
            stderr: s,
            code,
        }
    }
    pub fn line(&mut self, s: &str) {
        self.stdout.push_str(s);
        self.stdout.push('\n');
    }
    pub fn eline(&mut self, s: &str) {
        self.stderr.push_str(s);
        self.stderr.push('\n');
    }
}

impl From<SimError> for Out {
    fn from(e: SimError) -> Out {
        Out::fail(125, e.to_string())
    }
}

/// Where the host's files live.
#[derive(Debug, Clone)]
pub struct Host {
    pub fsroot: PathBuf,
    pub cwd: PathBuf,
}

impl Host {
    pub fn from_env() -> Host {
        let fsroot = std::env::var_os("CLEARML_SIM_FSROOT")
            .map_or_else(|| PathBuf::from("/"), PathBuf::from);
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        Host { fsroot, cwd }
    }

    /// Real path of a host path. Relative paths are taken from the real CWD.
    pub fn path(&self, p: &str) -> PathBuf {
        if p.starts_with("/dev/") || p.starts_with("/proc/") {
            return PathBuf::from(p);
        }
        match p.strip_prefix('/') {
            Some(rest) => self.fsroot.join(rest),
            None => self.cwd.join(p),
        }
    }
}

pub fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Mount {
    #[serde(rename = "Type")]
    pub kind: String,
    pub source: String,
    pub destination: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Exited,
    Restarting,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Redis,
    Mongo,
    Elastic,
    Fileserver,
    Apiserver,
    Webserver,
    AsyncDelete,
    AgentServices,
    Other,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(default)]
pub struct ServerErrors {
    pub missed_es_upgrade: bool,
    pub es_connection_error: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub image: String,
    pub image_id: String,
    pub kind: ImageKind,
    pub role: Role,
    /// Server release or data-store version of the image the container was created from.
    pub version: String,
    pub build: Option<String>,
    pub entrypoint: Vec<String>,
    pub command: Vec<String>,
    pub env: Vec<String>,
    pub labels: IndexMap<String, String>,
    pub mounts: Vec<Mount>,
    /// Host ports the container holds: published ones (`HOST:CONTAINER`) or, on the host
    /// network, the ports its process listens on.
    pub ports: Vec<String>,
    /// `host` for compose's `network_mode: host` / `docker run --network host` (Trains 0.10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    pub restart_policy: String,
    pub privileged: bool,
    pub status: Status,
    pub exit_code: i32,
    pub restart_count: u32,
    pub restarting_since: Option<u64>,
    pub created: u64,
    pub started_at: u64,
    pub finished_at: u64,
    pub logs: Vec<String>,
    #[serde(default)]
    pub server_errors: ServerErrors,
}

impl Container {
    /// A running container of `image` (`kind`, `version`, `build`) in `role` with environment
    /// `env`: what the rules need of one (a stand-in builds itself so).
    pub fn running(
        name: String,
        image: String,
        kind: ImageKind,
        role: Role,
        version: String,
        build: Option<String>,
        env: Vec<String>,
    ) -> Container {
        Container {
            id: hex_id(&format!("standin/{name}/{}", std::process::id())),
            name,
            image,
            image_id: String::new(),
            kind,
            role,
            version,
            build,
            entrypoint: vec![],
            command: vec![],
            env,
            labels: IndexMap::new(),
            mounts: vec![],
            ports: vec![],
            network_mode: None,
            restart_policy: "no".into(),
            privileged: false,
            status: Status::Running,
            exit_code: 0,
            restart_count: 0,
            restarting_since: None,
            created: 0,
            started_at: 0,
            finished_at: 0,
            logs: vec![],
            server_errors: ServerErrors::default(),
        }
    }

    pub fn env_var(&self, k: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find_map(|e| e.split_once('=').filter(|(a, _)| *a == k).map(|(_, v)| v))
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 64 hex characters derived from `seed` (FNV-1a, four lanes).
pub fn hex_id(seed: &str) -> String {
    let mut out = String::with_capacity(64);
    for lane in 0u64..4 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ lane.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for b in seed.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    out
}

/// Ownership of a real path (uid), if it exists.
pub fn owner_uid(p: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).ok().map(|m| m.uid())
}

/// Write a file, creating parent dirs.
pub fn write_file(p: &Path, data: &[u8]) -> Result<(), SimError> {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).map_err(|e| io_err(d, e))?;
    }
    std::fs::write(p, data).map_err(|e| io_err(p, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_through_fsroot() {
        let h = Host {
            fsroot: PathBuf::from("/tmp/r"),
            cwd: PathBuf::from("/tmp/r/opt/clearml"),
        };
        assert_eq!(
            h.path("/opt/clearml/data"),
            PathBuf::from("/tmp/r/opt/clearml/data")
        );
    }

    #[test]
    fn ids_are_64_hex_characters() {
        assert_eq!(hex_id("a").len(), 64);
    }
}
