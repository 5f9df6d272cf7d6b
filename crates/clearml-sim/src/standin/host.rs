//! The setup of a real-Docker host (docs/simulator.md, "Real Docker hosts"), shared by the tests'
//! hosts (tests/support/docker_host.rs) and the demo's (scripts/demo):
//!
//! - `clearml-sim standin-store CACHE`: the stand-in store (store.rs) of every image the tests
//!   and the demo may need, built once per build of the simulator under CACHE; prints its path.
//! - `clearml-sim host-layout HOSTDIR --store STORE --cgroup NAME --runtime PATH`: on the
//!   machine, everything tests/support/docker-host.sh mounts inside the host, under HOSTDIR.
//! - `clearml-sim host-install --store STORE --registry DIR --era V [init options]`: inside the
//!   host, `clearml-sim init --stopped` with those options, then the release's images pulled as
//!   the site pulled them back then.

use super::images::{self, UnknownRelease};
use super::store::{self, StoreError};
use crate::releases;
use crate::state::Out;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a host's setup failed.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// Bad command-line arguments (the usage, or an option without its value).
    #[error("{0}")]
    Usage(String),
    #[error("own executable: {0}")]
    OwnExe(#[source] std::io::Error),
    /// A file or directory could not be read, written or made.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The store's `index.json` is not JSON.
    #[error("{}: {source}", path.display())]
    Index {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// An image description did not serialize.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A command could not be started (`what`: the command).
    #[error("{what}: {source}")]
    Spawn {
        what: String,
        source: std::io::Error,
    },
    /// A command failed (`what`: the command; `detail`: what it said).
    #[error("{what}: {detail}")]
    Failed { what: String, detail: String },
    /// The store holds no image under `reference`.
    #[error("{reference} is not in the stand-in store {}", store.display())]
    NotInStore { reference: String, store: PathBuf },
    #[error(transparent)]
    Release(#[from] UnknownRelease),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HostError {
    let path = path.to_path_buf();
    move |source| HostError::Io { path, source }
}

/// Every image the tests and the demo may need: the registry as upstream's is, every release's
/// images as a host of that release holds them (`latest` as it was then), and the releases past
/// the target a moved `latest` can name.
fn wanted() -> Result<Vec<Value>, HostError> {
    let mut all = images::registry_images(&BTreeMap::new());
    // Image-only releases (no compose file, so no host of theirs) come with the moved `latest`.
    for r in releases::RELEASES {
        all.extend(images::era_images(r.version)?);
    }
    let moved = BTreeMap::from([("clearml/server".to_owned(), "2.4.0".to_owned())]);
    all.extend(images::registry_images(&moved));
    Ok(all
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?)
}

/// `clearml-sim standin-store CACHE`.
pub fn standin_store(args: &[String]) -> Out {
    let [cache] = args else {
        return Out::fail(
            2,
            "usage: clearml-sim standin-store CACHE   (prints the path of the store under CACHE)",
        );
    };
    let r = (|| -> Result<PathBuf, HostError> {
        let exe = std::env::current_exe().map_err(HostError::OwnExe)?;
        let cache = absolute(Path::new(cache))?;
        Ok(store::ensure(&cache, &wanted()?, &exe)?)
    })();
    match r {
        Ok(dir) => Out::ok(format!("{}\n", dir.display())),
        Err(m) => Out::fail(1, format!("clearml-sim standin-store: {m}")),
    }
}

fn absolute(p: &Path) -> Result<PathBuf, HostError> {
    fs::create_dir_all(p).map_err(io(p))?;
    fs::canonicalize(p).map_err(io(p))
}

/// `--name VALUE` options, and the words that are not options.
fn options(
    args: &[String],
    names: &[&str],
) -> Result<(BTreeMap<String, String>, Vec<String>), HostError> {
    let mut found = BTreeMap::new();
    let mut words = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if names.contains(&a.as_str()) {
            let v = it
                .next()
                .ok_or_else(|| HostError::Usage(format!("{a} needs a value")))?;
            found.insert(a.clone(), v.clone());
        } else {
            words.push(a.clone());
        }
    }
    Ok((found, words))
}

/// `clearml-sim host-layout HOSTDIR --store STORE --cgroup NAME --runtime PATH`.
pub fn host_layout(args: &[String]) -> Out {
    let usage = "usage: clearml-sim host-layout HOSTDIR --store STORE --cgroup NAME --runtime PATH";
    let r = options(args, &["--store", "--cgroup", "--runtime"]).and_then(|(o, words)| {
        match (
            &words[..],
            o.get("--store"),
            o.get("--cgroup"),
            o.get("--runtime"),
        ) {
            ([dir], Some(s), Some(c), Some(r)) => {
                lay_out(&absolute(Path::new(dir))?, Path::new(s), c, Path::new(r))
            }
            _ => Err(HostError::Usage(usage.to_owned())),
        }
    });
    match r {
        Ok(()) => Out::default(),
        Err(m) => Out::fail(2, format!("clearml-sim host-layout: {m}")),
    }
}

/// Everything the inside script (tests/support/docker-host.sh) mounts, under `dir`: /opt,
/// /etc/docker (daemon.json: the clamped runtime, the cgroup parent `cgroup`), /etc/hosts (the
/// registry names are 127.0.0.1), the CA bundle (the machine's plus the store's CA), /proc files,
/// the registry's configuration and its storage (a hard-linked copy of the store's).
fn lay_out(dir: &Path, store: &Path, cgroup: &str, runtime: &Path) -> Result<(), HostError> {
    for d in ["opt", "etc-docker", "empty", "proc", "docker", "sim-state"] {
        let p = dir.join(d);
        fs::create_dir_all(&p).map_err(io(&p))?;
    }
    let write =
        |name: &str, body: &str| fs::write(dir.join(name), body).map_err(io(&dir.join(name)));
    let store = fs::canonicalize(store).map_err(io(store))?;
    write(
        "etc-docker/daemon.json",
        &serde_json::json!({
            "cgroup-parent": format!("/{cgroup}"),
            "runtimes": {"clamped-runc": {"path": runtime}},
            "default-runtime": "clamped-runc",
            "storage-driver": "overlay2",
            "log-level": "warn",
        })
        .to_string(),
    )?;
    // The machine's hostname (the host shares its UTS namespace) as Debian's installer writes
    // it: sudo warns on stderr about a name it cannot resolve.
    let hostname = fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    write(
        "hosts",
        &format!(
            "127.0.0.1\tlocalhost\n127.0.1.1\t{}\n::1\tlocalhost ip6-localhost\n127.0.0.1\t{}\n",
            hostname.trim(),
            store::REGISTRY_NAMES.join(" ")
        ),
    )?;
    let mut bundle = fs::read_to_string("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
    let ca = store.join("tls/ca.crt");
    bundle.push_str(&fs::read_to_string(&ca).map_err(io(&ca))?);
    write("ca-certificates.crt", &bundle)?;
    for f in ["cpuinfo", "meminfo"] {
        let t = fs::read_to_string(format!("/proc/{f}")).unwrap_or_default();
        write(&format!("proc/{f}"), &t)?;
    }
    // ClearML's documented minimum (clearml-docs, "Deploying ClearML Server: Linux or macOS").
    write("proc/max_map_count", "524288\n")?;
    write(
        "registry.yml",
        &format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  maintenance:\n    readonly:\n      enabled: true\n\
             http:\n  addr: 127.0.0.1:443\n  tls:\n    certificate: {}\n    key: {}\n",
            dir.join("registry").display(),
            store.join("tls/registry.crt").display(),
            store.join("tls/registry.key").display()
        ),
    )?;
    let registry = dir.join("registry");
    if registry.exists() {
        return Ok(());
    }
    let out = Command::new("cp")
        .arg("-al")
        .arg(store.join("storage"))
        .arg(&registry)
        .output()
        .map_err(|source| HostError::Spawn {
            what: "cp -al".to_owned(),
            source,
        })?;
    if !out.status.success() {
        return Err(HostError::Failed {
            what: "cp -al of the store".to_owned(),
            detail: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(())
}

/// After `init`, inside the host: the images of release `era` pulled as the site pulled them
/// back then. For each image a host of that release holds (`standin-images --era`): where the
/// registry as upstream's still names it so, a plain pull; else (a `latest` that has moved on
/// since, a tag no longer served) the host's registry `registry` names it for the pull, then is
/// as upstream's again. Retry messages go to `log`.
pub fn pull_as_then(
    store: &Path,
    registry: &Path,
    era: &str,
    log: &mut Vec<String>,
) -> Result<(), HostError> {
    let path = store.join("index.json");
    let text = fs::read(&path).map_err(io(&path))?;
    let index: Value = serde_json::from_slice(&text).map_err(|source| HostError::Index {
        path: path.clone(),
        source,
    })?;
    let manifest = |reference: &str| -> Result<String, HostError> {
        index[reference]["manifest"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| HostError::NotInStore {
                reference: reference.to_owned(),
                store: store.to_path_buf(),
            })
    };
    for d in images::era_images(era)? {
        let entry = serde_json::to_value(&d)?;
        let reference = d.reference.as_str();
        let description = store::identity(&entry);
        let now = index.get(reference).filter(|i| i["in_registry"] == true);
        if now.is_some_and(|i| i["description"] == description) {
            pull(reference, log)?;
            continue;
        }
        let seed = store::seed_reference(&description);
        store::retag(registry, reference, &manifest(&seed)?)?;
        pull(reference, log)?;
        if now.is_some() {
            store::retag(registry, reference, &manifest(reference)?)?;
        } else {
            store::remove_tag(registry, reference)?;
        }
    }
    Ok(())
}

/// `docker pull -q REF`, tried up to three times: under the load of many hosts starting at once,
/// dockerd 20.10 was seen to lose a layer's unpacking ("failed to register layer: Error
/// processing tar file(signal: killed)").
fn pull(reference: &str, log: &mut Vec<String>) -> Result<(), HostError> {
    let mut last = String::new();
    for _ in 0..3 {
        let out = Command::new("docker")
            .args(["pull", "-q", reference])
            .output()
            .map_err(|source| HostError::Spawn {
                what: format!("docker pull {reference}"),
                source,
            })?;
        if out.status.success() {
            return Ok(());
        }
        last = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        log.push(format!("docker pull {reference}: again after: {last}"));
    }
    Err(HostError::Failed {
        what: format!("docker pull {reference}"),
        detail: last,
    })
}
