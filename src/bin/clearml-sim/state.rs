//! The simulated docker daemon's state (settings, images, containers, failure injections), kept as
//! JSON in the host's state dir, and the mapping from host paths to real paths (CLEARML_SIM_FSROOT).

use crate::releases::ImageKind;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
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

/// Where the host's files and the daemon state live.
#[derive(Debug, Clone)]
pub struct Host {
    pub fsroot: PathBuf,
    pub state_dir: PathBuf,
    pub cwd: PathBuf,
    pub env: BTreeMap<String, String>,
}

impl Host {
    pub fn from_env() -> Host {
        let env: BTreeMap<String, String> = std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        let fsroot = PathBuf::from(
            env.get("CLEARML_SIM_FSROOT")
                .map(String::as_str)
                .unwrap_or("/"),
        );
        let state_dir = env
            .get("CLEARML_SIM_STATE")
            .map(PathBuf::from)
            .unwrap_or_else(|| fsroot.join("var/lib/clearml-sim"));
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        Host {
            fsroot,
            state_dir,
            cwd,
            env,
        }
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

    /// Host path of a real path (inverse of `path`).
    pub fn unpath(&self, real: &Path) -> String {
        let real = normalize_path(real);
        match real.strip_prefix(&self.fsroot) {
            Ok(rest) => format!("/{}", rest.display()).replace("//", "/"),
            Err(_) => real.display().to_string(),
        }
    }

    /// Host path of the process's working directory.
    pub fn host_cwd(&self) -> String {
        self.unpath(&self.cwd)
    }

    pub fn var(&self, k: &str) -> Option<&str> {
        self.env.get(k).map(String::as_str)
    }

    fn state_file(&self) -> PathBuf {
        self.state_dir.join("state.json")
    }

    pub fn load(&self) -> Result<State, SimError> {
        let f = self.state_file();
        match std::fs::read_to_string(&f) {
            Ok(s) => serde_json::from_str(&s).map_err(|e| SimError::BadState {
                path: f.display().to_string(),
                msg: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(io_err(&f, e)),
        }
    }

    pub fn save(&self, st: &State) -> Result<(), SimError> {
        std::fs::create_dir_all(&self.state_dir).map_err(|e| io_err(&self.state_dir, e))?;
        let f = self.state_file();
        let tmp = self
            .state_dir
            .join(format!(".state.json.{}", std::process::id()));
        let body = serde_json::to_string_pretty(st).map_err(|e| SimError::BadState {
            path: f.display().to_string(),
            msg: e.to_string(),
        })?;
        {
            let mut h = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
            h.write_all(body.as_bytes()).map_err(|e| io_err(&tmp, e))?;
        }
        set_mode(&tmp, 0o666);
        std::fs::rename(&tmp, &f).map_err(|e| io_err(&f, e))
    }

    /// Run `f` on the state under an exclusive lock, saving the result.
    pub fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> Result<T, SimError> {
        let _lock = self.lock()?;
        let mut st = self.load()?;
        let r = f(&mut st);
        self.save(&st)?;
        Ok(r)
    }

    fn lock(&self) -> Result<Option<std::fs::File>, SimError> {
        if std::fs::create_dir_all(&self.state_dir).is_err() {
            return Ok(None);
        }
        let p = self.state_dir.join("lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .or_else(|_| std::fs::File::open(&p));
        match file {
            Ok(fh) => {
                set_mode(&p, 0o666);
                let _ = rustix::fs::flock(&fh, rustix::fs::FlockOperation::LockExclusive);
                Ok(Some(fh))
            }
            Err(_) => Ok(None),
        }
    }
}

pub fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
}

fn normalize_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Only root can talk to the daemon.
    #[default]
    Root,
    /// Root and members of the `docker` group.
    Group,
    /// Docker is not installed.
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub compose_v2: bool,
    pub compose_v1: bool,
    pub docker_access: Access,
    pub avx: bool,
    pub free_mb: u64,
    pub os: String,
    /// The uid Elasticsearch runs as (1000 in the official image).
    pub es_uid: u32,
    /// docker-compose v1 1.29.2 against a new engine fails on recreate (KeyError 'ContainerConfig').
    pub v1_recreate_bug: bool,
    /// The kernel's `vm.max_map_count`, as the host's `sysctl` reports it (524288: the host was
    /// prepared as ClearML's install docs say: github.com/clearml/clearml-docs df22ffc,
    /// docs/deploying_clearml/clearml_server_linux_mac.md lines 80-93, `vm.max_map_count=524288`;
    /// 262144 until docs commit 4874fa9b of 2025-08-13).
    pub max_map_count: u64,
    /// Physical memory in MiB as `/proc/meminfo` shows it (`init` default: 16384); `None`:
    /// the machine's own.
    pub memory_mb: Option<u64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            compose_v2: true,
            compose_v1: false,
            docker_access: Access::Group,
            avx: true,
            free_mb: 100_000,
            os: "linux".into(),
            es_uid: 1000,
            v1_recreate_bug: true,
            max_map_count: 524_288,
            memory_mb: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Injections {
    /// Image references whose containers exit 1 at start.
    pub broken_tags: Vec<String>,
    /// Image references the registry does not have (beyond the real table).
    pub missing_tags: Vec<String>,
    /// A host directory whose filesystem `compose down` fills up (another process taking the
    /// disk while the server stops, so that the backup that follows runs out of space).
    pub fill_disk_on_down: Option<String>,
    /// Server repositories whose `latest` the registry has moved on to another release
    /// (`inject --latest clearml/server=2.4.0`): repository → release.
    pub latest: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Image {
    /// The reference this entry is stored under; for a dangling image, the last one that named
    /// it (its repository still gives `RepoDigests`).
    pub reference: String,
    pub id: String,
    /// No reference names it any more (a pull or `docker tag` moved its tag elsewhere): stored
    /// under its ID, shown as `<none>`, still usable by ID.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dangling: bool,
    pub kind: ImageKind,
    pub version: String,
    pub build: Option<String>,
    pub env: Vec<String>,
    pub pulled_at: u64,
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
    pub fn env_var(&self, k: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find_map(|e| e.split_once('=').filter(|(a, _)| *a == k).map(|(_, v)| v))
    }
    pub fn label(&self, k: &str) -> Option<&str> {
        self.labels.get(k).map(String::as_str)
    }
    pub fn host_network(&self) -> bool {
        self.network_mode.as_deref() == Some("host")
    }
    /// The ports `docker ps`/`inspect` show as published: none on the host network.
    pub fn published_ports(&self) -> &[String] {
        if self.host_network() {
            &[]
        } else {
            &self.ports
        }
    }
    pub fn is_up(&self) -> bool {
        self.status == Status::Running
    }
    /// A container in restart loop keeps counting restarts (one per 5 s), as `docker inspect` shows.
    pub fn effective_restarts(&self, now: u64) -> u32 {
        match (self.status, self.restarting_since) {
            (Status::Restarting, Some(t)) => self
                .restart_count
                .saturating_add(u32::try_from(now.saturating_sub(t) / 5).unwrap_or(u32::MAX)),
            _ => self.restart_count,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct State {
    pub settings: Settings,
    pub images: IndexMap<String, Image>,
    pub containers: IndexMap<String, Container>,
    pub inject: Injections,
    pub counter: u64,
}

impl State {
    /// Find a container by name (with or without '/'), full id or unique id prefix.
    pub fn find(&self, key: &str) -> Option<&str> {
        let k = key.trim_start_matches('/');
        if self.containers.contains_key(k) {
            return self.containers.get_key_value(k).map(|(n, _)| n.as_str());
        }
        if k.len() >= 3 {
            let hits: Vec<&str> = self
                .containers
                .values()
                .filter(|c| c.id.starts_with(k))
                .map(|c| c.name.as_str())
                .collect();
            if hits.len() == 1 {
                return hits.first().copied();
            }
        }
        None
    }

    pub fn next_id(&mut self, salt: &str) -> String {
        self.counter += 1;
        hex_id(&format!("{salt}/{}/{}", self.counter, now()))
    }

    /// The image a reference (`repo[:tag]`, normalised) names now.
    pub fn image_by_ref(&self, reference: &str) -> Option<&Image> {
        self.images
            .get(&crate::releases::normalize(reference))
            .filter(|i| !i.dangling)
    }

    /// The image `key` names, as the daemon resolves it: a reference first, then a full image ID
    /// (`sha256:…` or bare hex), then a unique ID prefix. Dangling images are found by ID.
    pub fn resolve_image(&self, key: &str) -> Option<&Image> {
        if let Some(i) = self.image_by_ref(key) {
            return Some(i);
        }
        let hex = key.strip_prefix("sha256:").unwrap_or(key);
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let hex = hex.to_ascii_lowercase();
        let mut hits: Vec<&Image> = Vec::new();
        for i in self.images.values() {
            let id = i.id.trim_start_matches("sha256:");
            if id.starts_with(&hex) && !hits.iter().any(|h| h.id == i.id) {
                hits.push(i);
            }
        }
        match hits.as_slice() {
            // Prefer a tagged entry of that image (its `reference` is a live tag).
            [one] => self
                .images
                .values()
                .find(|i| i.id == one.id && !i.dangling)
                .or(Some(*one)),
            _ => None,
        }
    }

    /// Every reference that names image `id`, in store order.
    pub fn tags_of(&self, id: &str) -> Vec<String> {
        self.images
            .values()
            .filter(|i| i.id == id && !i.dangling)
            .map(|i| i.reference.clone())
            .collect()
    }

    /// Point `reference` at `img` (a pull, `docker tag`, `init`). As docker does, the image the
    /// reference named before is not lost: when no other reference names it, it stays in the
    /// store untagged (dangling), reachable by its ID. A dangling entry of `img` itself goes.
    pub fn set_tag(&mut self, reference: &str, mut img: Image) {
        let r = crate::releases::normalize(reference);
        img.reference = r.clone();
        img.dangling = false;
        let old = self.image_by_ref(&r).cloned();
        self.images.insert(r.clone(), img.clone());
        self.images.shift_remove(&img.id);
        if let Some(o) = old
            && o.id != img.id
            && self.tags_of(&o.id).is_empty()
        {
            self.images.insert(
                o.id.clone(),
                Image {
                    dangling: true,
                    ..o
                },
            );
        }
    }

    /// Distinct images (by ID), as `docker info` counts them.
    pub fn image_count(&self) -> usize {
        let mut ids: Vec<&str> = self.images.values().map(|i| i.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
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

/// RFC 3339 UTC time of a unix timestamp.
pub fn rfc3339(t: u64) -> String {
    let days = i64::try_from(t / 86_400).unwrap_or(0);
    let secs = t % 86_400;
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000000000Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Docker's human duration ("5 minutes", "About an hour").
pub fn human_duration(secs: u64) -> String {
    match secs {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..=59 => format!("{secs} seconds"),
        60..=119 => "About a minute".into(),
        120..=3599 => format!("{} minutes", secs / 60),
        3600..=7199 => "About an hour".into(),
        7200..=172_799 => format!("{} hours", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
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
            state_dir: PathBuf::from("/tmp/s"),
            cwd: PathBuf::from("/tmp/r/opt/clearml"),
            env: BTreeMap::new(),
        };
        assert_eq!(
            h.path("/opt/clearml/data"),
            PathBuf::from("/tmp/r/opt/clearml/data")
        );
        assert_eq!(h.host_cwd(), "/opt/clearml");
        assert_eq!(
            h.unpath(Path::new("/tmp/r/opt/clearml/../trains")),
            "/opt/trains"
        );
    }

    fn img(r: &str, id: &str) -> Image {
        Image {
            reference: r.into(),
            id: id.into(),
            dangling: false,
            kind: ImageKind::Server,
            version: "2.3.0".into(),
            build: None,
            env: vec![],
            pulled_at: 0,
        }
    }

    #[test]
    fn moved_tags_leave_dangling_images_reachable_by_id() {
        let mut st = State::default();
        let a = format!("sha256:{}", hex_id("a"));
        let b = format!("sha256:{}", hex_id("b"));
        st.set_tag("clearml/server", img("x", &a));
        st.set_tag("site/server:keep", img("x", &a));
        assert_eq!(
            st.tags_of(&a),
            ["clearml/server:latest", "site/server:keep"]
        );
        // Moving one of two tags dangles nothing.
        st.set_tag("clearml/server:latest", img("x", &b));
        assert!(!st.images.values().any(|i| i.dangling));
        // Moving the last one does: the image stays, under its ID, found by ID or prefix.
        st.set_tag("site/server:keep", img("x", &b));
        let d = st.images.get(&a).expect("dangling entry");
        assert!(d.dangling && d.reference == "site/server:keep");
        assert_eq!(st.tags_of(&a), Vec::<String>::new());
        assert_eq!(
            st.resolve_image(&a).map(|i| i.id.as_str()),
            Some(a.as_str())
        );
        let short = a.trim_start_matches("sha256:").get(..12).expect("id");
        assert_eq!(
            st.resolve_image(short).map(|i| i.id.as_str()),
            Some(a.as_str())
        );
        assert!(st.image_by_ref(&a).is_none(), "an ID is not a reference");
        assert_eq!(st.image_count(), 2);
        // Tagging it again makes it a tagged image, not a dangling one.
        st.set_tag(
            "clearml/server:2.3.0",
            st.resolve_image(&a).cloned().expect("a"),
        );
        assert!(st.images.get(&a).is_none());
        assert_eq!(st.tags_of(&a), ["clearml/server:2.3.0"]);
        assert!(st.resolve_image("nosuch").is_none() && st.resolve_image("").is_none());
    }

    #[test]
    fn dates_and_durations() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(1_733_356_800), "2024-12-05T00:00:00.000000000Z");
        assert_eq!(human_duration(150), "2 minutes");
        assert_eq!(hex_id("a").len(), 64);
    }
}
