//! Stand-ins for the real images of a ClearML/Trains host: the same binary, copied into a
//! minimal image as `/usr/local/bin/clearml-standin` with links under the names the real
//! image's commands have, acts as that image's processes inside a real Docker container.
//!
//! - `clearml-sim standin-images` lists the images a stand-in registry holds (images.rs);
//!   `clearml-sim standin-store` writes them into a registry's storage (store.rs), and
//!   `host-layout` / `host-install` set up a real-Docker host with them (host.rs).
//! - With `/etc/clearml-standin.json` present (the image's description, one entry of that list;
//!   `CLEARML_STANDIN_CONFIG` overrides the path) or when called as `clearml-standin`, `main`
//!   dispatches on argv[0]'s basename and acts as that command: mongod and the mongo shells,
//!   Elasticsearch, redis-server and redis-cli (stores.rs; Elasticsearch's `POST /_reindex`
//!   from a remote node in reindex.rs, for Trains 0.16's ES 5 → 7 migration script, whose ES 7
//!   container copies every index of its ES 5 container), the server image's apiserver,
//!   webserver, fileserver and async_delete, the services agent and other long-running images
//!   (server.rs), and the small tools the real images have (curl, bash, tini, printenv).
//!
//! Every rule is the simulator's own (mongo.rs, elastic.rs, redis.rs, apiserver.rs, http.rs):
//! the stand-ins only move them onto real processes that reach each other over the network.
//! Between stand-ins (never seen by clearfleet) each data store answers `GET/PUT
//! /_standin/marker` for its data marker on its own port over HTTP (mongod also `POST
//! /_standin/eval` for the shells), and the apiserver answers `GET /_standin/services_agent` for
//! the services agent's credential check.
//!
//! Paths inside the container are absolute; `CLEARML_STANDIN_ROOT` (tests) prefixes them.

pub(crate) mod curl;
pub mod host;
pub mod images;
mod net;
mod reindex;
mod server;
pub mod store;
mod stores;

use crate::releases::ImageKind;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The default place of an image's description inside the container.
pub const CONFIG_PATH: &str = "/etc/clearml-standin.json";

/// One image of the stand-in registry (`clearml-sim standin-images`), and inside the image the
/// content of `/etc/clearml-standin.json` (where `reference`/`tag` may be left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageDesc {
    /// The reference as compose files and clearfleet name it (`mongo:4.4.29`).
    #[serde(default)]
    pub reference: String,
    /// The tag of `reference`.
    #[serde(default)]
    pub tag: String,
    /// The image's name without tag, as docker shows it (`mongo`,
    /// `docker.elastic.co/elasticsearch/elasticsearch`).
    pub name: String,
    /// The repository path in its registry (`library/mongo`, `elasticsearch/elasticsearch`).
    pub repository: String,
    /// The registry host (`registry-1.docker.io`, `docker.elastic.co`).
    pub registry: String,
    /// Whether the simulator's registry model holds this image under some tag (`false` only for
    /// an image `standin-images --era` lists as pulled back then that no tag names any more,
    /// e.g. 1.12.1's `allegroai/clearml:latest`).
    #[serde(default = "yes")]
    pub in_registry: bool,
    pub kind: ImageKind,
    /// Server release, or data-store version (`latest` for the services agent).
    pub version: String,
    pub build: Option<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub exposed_ports: Vec<String>,
    /// Absolute paths that must be symlinks to /usr/local/bin/clearml-standin.
    pub links: Vec<String>,
    /// Files the image must contain: absolute path → content.
    #[serde(default)]
    pub files: indexmap::IndexMap<String, String>,
    /// The broken-image fault: the image's main process exits 1 at start.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub broken: bool,
    /// How often a server process tries to reach a peer that does not answer yet (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Seconds between those tries (default 2; `CLEARML_STANDIN_RETRY_DELAY` overrides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay_seconds: Option<f64>,
}

fn yes() -> bool {
    true
}

impl ImageDesc {
    /// `name:tag` when the tag is known, else the name with the version.
    pub fn display(&self) -> String {
        if self.reference.is_empty() {
            format!("{}:{}", self.name, self.version)
        } else {
            self.reference.clone()
        }
    }

    /// Tries and the wait between them for peers that are not up yet.
    pub fn retry(&self) -> (u32, Duration) {
        let n = self.retries.unwrap_or(4).clamp(1, 1000);
        let secs = std::env::var("CLEARML_STANDIN_RETRY_DELAY")
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .or(self.retry_delay_seconds)
            .unwrap_or(2.0);
        let secs = if secs.is_finite() {
            secs.clamp(0.0, 3600.0)
        } else {
            2.0
        };
        (n, Duration::from_secs_f64(secs))
    }
}

/// A container path as the process sees it: `CLEARML_STANDIN_ROOT` + `p`.
pub fn cpath(p: &str) -> PathBuf {
    match std::env::var_os("CLEARML_STANDIN_ROOT") {
        Some(r) if !r.is_empty() => Path::new(&r).join(p.trim_start_matches('/')),
        _ => PathBuf::from(p),
    }
}

fn config_path() -> PathBuf {
    match std::env::var_os("CLEARML_STANDIN_CONFIG") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => cpath(CONFIG_PATH),
    }
}

/// A line to the container's log (stdout).
pub fn out(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
    let _ = o.flush();
}

/// A line to the container's log (stderr).
pub fn err(line: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{line}");
    let _ = e.flush();
}

/// Leave with `code` (stdout flushed).
pub fn exit(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(code)
}

fn basename(p: &str) -> String {
    Path::new(p)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The stand-in's entry point: `Some(exit code)` when this process is a stand-in (an image's
/// description is present, or argv[0] is `clearml-standin`), `None` to go on as the simulator.
pub fn main(args: &[String]) -> Option<ExitCode> {
    let prog = args.first().map(|a| basename(a)).unwrap_or_default();
    let path = config_path();
    let present = path.exists();
    if !present && prog != "clearml-standin" {
        return None;
    }
    let rest = args.get(1..).unwrap_or(&[]);
    let code = match load_config(&path) {
        Ok(cfg) => run(&cfg, &prog, rest),
        Err(m) => {
            err(&format!("clearml-standin: {m}"));
            2
        }
    };
    let _ = std::io::stdout().flush();
    Some(ExitCode::from(
        u8::try_from(code.clamp(0, 255)).unwrap_or(1),
    ))
}

/// Why the stand-in has no image description.
#[derive(Debug, thiserror::Error)]
enum ConfigError {
    #[error(
        "cannot read the image description {}: {source} (a stand-in image holds it at {CONFIG_PATH}; CLEARML_STANDIN_CONFIG overrides)",
        path.display()
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the image description {} is not valid: {source}", path.display())]
    Invalid {
        path: PathBuf,
        source: serde_json::Error,
    },
}

fn load_config(path: &Path) -> Result<ImageDesc, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ConfigError::Invalid {
        path: path.to_path_buf(),
        source,
    })
}

/// Whether `name` is one of this image's stand-in commands (its links), so that it runs in
/// this process rather than being looked up on PATH.
fn is_own(cfg: &ImageDesc, name: &str) -> bool {
    let b = basename(name);
    cfg.links.iter().any(|l| basename(l) == b) || b == "clearml-standin"
}

/// Run `argv` as the image's `exec "$@"` would: one of the stand-in's own commands in this
/// process, anything else (busybox's `sh`, `sleep`, ...) by exec.
fn exec_args(cfg: &ImageDesc, argv: &[String]) -> i32 {
    let Some(prog) = argv.first() else {
        return 0;
    };
    if is_own(cfg, prog) {
        return run(cfg, &basename(prog), argv.get(1..).unwrap_or(&[]));
    }
    use std::os::unix::process::CommandExt;
    let e = std::process::Command::new(prog)
        .args(argv.get(1..).unwrap_or(&[]))
        .exec();
    err(&format!("exec: {prog}: {e}"));
    if e.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    }
}

/// Act as command `name` of the image `cfg` with `args`.
fn run(cfg: &ImageDesc, name: &str, args: &[String]) -> i32 {
    match name {
        "clearml-standin" => match args.first() {
            Some(cmd) => run(cfg, &basename(cmd), args.get(1..).unwrap_or(&[])),
            None => {
                err(&format!(
                    "clearml-standin: stand-in of {} ({:?} {}); run as one of its commands: {}",
                    cfg.display(),
                    cfg.kind,
                    cfg.version,
                    link_names(cfg)
                ));
                2
            }
        },
        "bash" => bash(cfg, args),
        "tini" => tini(cfg, args),
        "curl" => curl::main(args),
        "printenv" => printenv(args),
        _ => match cfg.kind {
            ImageKind::Mongo => stores::mongo_command(cfg, name, args),
            ImageKind::Elastic => stores::elastic_command(cfg, name, args),
            ImageKind::Redis => stores::redis_command(cfg, name, args),
            ImageKind::Server => server::server_command(cfg, name, args),
            ImageKind::AgentServices => server::agent_command(cfg, name, args),
            ImageKind::Other => server::other_command(cfg, name, args),
        },
    }
}

/// The message and exit code for a command this stand-in does not have.
pub fn unknown(cfg: &ImageDesc, name: &str) -> i32 {
    err(&format!(
        "clearml-standin: `{name}` is not a command of the stand-in of {} (it has: {})",
        cfg.display(),
        link_names(cfg)
    ));
    127
}

/// The commands of the stand-in of `cfg`, comma-separated.
fn link_names(cfg: &ImageDesc) -> String {
    cfg.links
        .iter()
        .map(|l| basename(l))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The broken-image fault: the main process exits 1 at once.
pub fn check_broken(cfg: &ImageDesc) {
    if cfg.broken {
        err(&format!(
            "clearml-standin: injected failure: image {} exits at start",
            cfg.display()
        ));
        exit(1);
    }
}

/// `tini [-flags] -- PROG ARGS`: runs PROG (tini itself only reaps and forwards signals).
fn tini(cfg: &ImageDesc, args: &[String]) -> i32 {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') {
            break;
        }
        i += 1;
    }
    match args.get(i..) {
        Some(rest) if !rest.is_empty() => exec_args(cfg, rest),
        _ => {
            err("tini (tini version 0.19.0)\nUsage: tini [OPTIONS] PROGRAM -- [ARGS] | --version");
            1
        }
    }
}

/// `bash`: a script file that is one of the stand-in's commands (`/bin/bash bin/es-docker`) runs
/// here; anything else goes to the image's `/bin/sh` (busybox). As PID 1 (a compose
/// `entrypoint: bash -c "..."`), `sh` runs as a child so that a SIGTERM ends the container at
/// once with 0; otherwise `sh` replaces this process.
fn bash(cfg: &ImageDesc, args: &[String]) -> i32 {
    let first_operand = args.iter().find(|a| !a.starts_with('-'));
    let script_mode = args.first().is_some_and(|a| !a.starts_with('-'));
    if script_mode
        && let Some(file) = first_operand
        && is_own(cfg, file)
    {
        let pos = args.iter().position(|a| a == file).unwrap_or(0);
        return run(cfg, &basename(file), args.get(pos + 1..).unwrap_or(&[]));
    }
    let sh = if Path::new("/bin/sh").exists() {
        "/bin/sh"
    } else {
        "sh"
    };
    if std::process::id() != 1 {
        use std::os::unix::process::CommandExt;
        let e = std::process::Command::new(sh).arg0("sh").args(args).exec();
        err(&format!("bash: cannot run {sh}: {e}"));
        return 127;
    }
    let mut term = Term::install();
    let child = std::process::Command::new(sh).args(args).spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            err(&format!("bash: cannot run {sh}: {e}"));
            return 127;
        }
    };
    loop {
        match child.try_wait() {
            Ok(Some(st)) => {
                use std::os::unix::process::ExitStatusExt;
                return st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0));
            }
            Ok(None) => {}
            Err(e) => {
                err(&format!("bash: {e}"));
                return 1;
            }
        }
        if term.sleep(Duration::from_millis(100)) {
            exit(0);
        }
    }
}

fn printenv(args: &[String]) -> i32 {
    if args.is_empty() {
        for (k, v) in std::env::vars_os() {
            out(&format!("{}={}", k.to_string_lossy(), v.to_string_lossy()));
        }
        return 0;
    }
    let mut code = 0;
    for a in args {
        match std::env::var_os(a) {
            Some(v) => out(&v.to_string_lossy()),
            None => code = 1,
        }
    }
    code
}

/// The signals that end a stand-in's main process (docker stop sends SIGTERM; PID 1 ignores
/// signals it has no handler for, so the handler must exist): SIGTERM, SIGINT, SIGQUIT.
pub struct Term {
    rt: Option<tokio::runtime::Runtime>,
    sigs: Vec<tokio::signal::unix::Signal>,
}

impl Term {
    /// Install the handlers (as early as possible in a long-running role).
    pub fn install() -> Term {
        use tokio::signal::unix::{SignalKind, signal};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        let rt = match rt {
            Ok(rt) => rt,
            Err(e) => {
                err(&format!(
                    "clearml-standin: no signal handling ({e}): docker stop will have to kill"
                ));
                return Term {
                    rt: None,
                    sigs: vec![],
                };
            }
        };
        let sigs = rt.block_on(async {
            [
                SignalKind::terminate(),
                SignalKind::interrupt(),
                SignalKind::quit(),
            ]
            .into_iter()
            .filter_map(|k| signal(k).ok())
            .collect::<Vec<_>>()
        });
        Term { rt: Some(rt), sigs }
    }

    /// Sleep `d`; `true` when a terminating signal arrived meanwhile.
    pub fn sleep(&mut self, d: Duration) -> bool {
        let Some(rt) = &self.rt else {
            std::thread::sleep(d);
            return false;
        };
        let sigs = &mut self.sigs;
        rt.block_on(async {
            let any = async {
                let futs: Vec<_> = sigs.iter_mut().map(|s| Box::pin(s.recv())).collect();
                if futs.is_empty() {
                    std::future::pending::<()>().await;
                }
                futures::future::select_all(futs).await;
            };
            tokio::select! {
                _ = any => true,
                _ = tokio::time::sleep(d) => false,
            }
        })
    }

    /// Serve until a terminating signal, then leave with 0.
    pub fn wait(&mut self) -> ! {
        loop {
            if self.sleep(Duration::from_secs(3600)) {
                exit(0);
            }
        }
    }
}
