//! The stand-in store (`clearml-sim standin-store CACHE`): every stand-in image written straight
//! into a registry's storage (docker/distribution's filesystem layout), and the TLS identity
//! under which each real-Docker host's own registry process answers as `registry-1.docker.io`
//! and `docker.elastic.co` (docs/simulator.md, "Real Docker hosts").
//!
//! ClearML's images cannot be pulled here, so every image any release's compose file names is a
//! stand-in (`clearml-sim standin-images` lists them, with their entrypoints): one shared base
//! layer (busybox-static, the simulator binary as `/usr/local/bin/clearml-standin` and the glibc
//! it links), and per image a small layer with `/etc/clearml-standin.json` and the command names
//! of the real image. Equal descriptions make one image (one ID, several tags), as in a real
//! registry. Besides the registry's own references, every distinct image has a hidden one
//! ([`seed_reference`]) and every server image a broken twin, so that a host can be given any
//! release's image as its `latest` was then, or a broken tag. A store is built once per build of
//! the simulator and kept in a cache directory ([`ensure`]); each host gets a hard-linked copy,
//! so that one host's faults (a broken or missing tag, a moved `latest`) stay its own.
//!
//! The store's `index.json` maps each reference to its registry path, tag, manifest digest,
//! image ID, description and whether the registry as upstream's holds it.
//!
//! The tests' support (tests/support/registry.rs) uses it too, for the registry helpers its
//! hosts use ([`registry_path`], [`tag_manifest`], [`identity`], [`seed_reference`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Bumped whenever the layout of the store changes, so that a cached store is rebuilt.
const LAYOUT: &str = "standin-store-2";

const MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
const CONFIG_V1: &str = "application/vnd.docker.container.image.v1+json";
const LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// The names the host registry answers as (its certificate's names, the hosts' /etc/hosts).
pub const REGISTRY_NAMES: &[&str] = &["registry-1.docker.io", "docker.elastic.co"];

/// Why the store, or a change to a registry's storage, could not be made.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or directory could not be read, written or made.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file could not be copied into an image's tree.
    #[error("copy {}: {source}", path.display())]
    Copy {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A manifest in the storage is not JSON.
    #[error("{}: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A command could not be started (`command` as `Command`'s `Debug` shows it).
    #[error("run {command}: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    /// A command failed; `stderr` is what it said.
    #[error("{command} failed: {stderr}")]
    Failed { command: String, stderr: String },
    /// `tar | gzip` of an image's tree could not be started.
    #[error("tar | gzip: {0}")]
    TarSpawn(#[source] std::io::Error),
    /// `tar | gzip` of an image's tree failed.
    #[error("tar | gzip of {} failed", .0.display())]
    Tar(PathBuf),
    /// The store's directory holds no `index.json` after the build.
    #[error("{}: no complete store", .0.display())]
    Incomplete(PathBuf),
}

type Result<T> = std::result::Result<T, StoreError>;

fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.into();
    move |source| StoreError::Io { path, source }
}

fn copy_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.into();
    move |source| StoreError::Copy { path, source }
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().map_err(|source| StoreError::Spawn {
        command: format!("{cmd:?}"),
        source,
    })?;
    if !out.status.success() {
        return Err(StoreError::Failed {
            command: format!("{cmd:?}"),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(io(path))
}

fn mkdir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(io(path))
}

/// Registry path and tag of a reference: `mongo:4.4` → (`library/mongo`, `4.4`);
/// `docker.elastic.co/elasticsearch/elasticsearch:8.15.3` → (`elasticsearch/elasticsearch`, …).
pub fn registry_path(reference: &str) -> (String, String) {
    let (name, tag) = match reference.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n, t),
        _ => (reference, "latest"),
    };
    let mut parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 1 && (parts[0].contains('.') || parts[0].contains(':')) {
        parts.remove(0);
    }
    if parts.len() == 1 {
        parts.insert(0, "library");
    }
    (parts.join("/"), tag.to_owned())
}

/// The description of an image without what only names it (two references of one image have
/// equal descriptions).
pub fn identity(v: &Value) -> Value {
    let mut d = v.clone();
    if let Some(o) = d.as_object_mut() {
        for k in ["reference", "tag", "in_registry"] {
            o.remove(k);
        }
    }
    d
}

/// The hidden reference under which the store keeps an image by its description (every image
/// has one, so that a host can be given any release's image as its `latest` was then).
pub fn seed_reference(description: &Value) -> String {
    format!(
        "clearfleet-seed/image:{}",
        &hex(description.to_string().as_bytes())[..16]
    )
}

/// Writes a link file (`sha256:…`) at `path` below the storage, replacing (never writing
/// through) what was there: the per-host copies share files by hard links.
pub fn put_link(path: &Path, digest: &str) -> Result<()> {
    if let Some(p) = path.parent() {
        mkdir(p)?;
    }
    let _ = fs::remove_file(path);
    write(path, digest.as_bytes())
}

fn repo_dir(storage: &Path, repository: &str) -> PathBuf {
    storage.join(format!("docker/registry/v2/repositories/{repository}"))
}

/// Makes `repository:tag` name the manifest `manifest` (whose blobs are in the store).
pub fn tag_manifest(
    storage: &Path,
    repository: &str,
    tag: &str,
    manifest: &str,
    blobs: &[String],
) -> Result<()> {
    let r = repo_dir(storage, repository);
    for b in blobs {
        let h = b.trim_start_matches("sha256:");
        put_link(&r.join(format!("_layers/sha256/{h}/link")), b)?;
    }
    let m = manifest.trim_start_matches("sha256:");
    put_link(
        &r.join(format!("_manifests/revisions/sha256/{m}/link")),
        manifest,
    )?;
    put_link(
        &r.join(format!("_manifests/tags/{tag}/current/link")),
        manifest,
    )?;
    put_link(
        &r.join(format!("_manifests/tags/{tag}/index/sha256/{m}/link")),
        manifest,
    )
}

/// Removes `reference`'s tag from the storage ("manifest unknown" from now on).
pub fn remove_tag(storage: &Path, reference: &str) -> Result<()> {
    let (repo, tag) = registry_path(reference);
    let d = repo_dir(storage, &repo).join(format!("_manifests/tags/{tag}"));
    fs::remove_dir_all(&d).map_err(io(&d))
}

/// Makes `reference` in the storage name the image whose manifest is `manifest` (its blobs read
/// from the storage's manifest).
pub fn retag(storage: &Path, reference: &str, manifest: &str) -> Result<()> {
    let h = manifest.trim_start_matches("sha256:");
    let p = storage.join(format!(
        "docker/registry/v2/blobs/sha256/{}/{h}/data",
        h.get(..2).unwrap_or_default()
    ));
    let text = fs::read(&p).map_err(io(&p))?;
    let m: Value = serde_json::from_slice(&text).map_err(|source| StoreError::Json {
        path: p.clone(),
        source,
    })?;
    let mut blobs: Vec<String> = m["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["digest"].as_str().map(str::to_owned))
        .collect();
    if let Some(c) = m["config"]["digest"].as_str() {
        blobs.push(c.to_owned());
    }
    let (repo, tag) = registry_path(reference);
    tag_manifest(storage, &repo, &tag, manifest, &blobs)
}

/// Writes blob `bytes` into the storage; returns its digest (`sha256:…`).
fn put_blob(storage: &Path, bytes: &[u8]) -> Result<String> {
    let h = hex(bytes);
    let d = storage.join(format!("docker/registry/v2/blobs/sha256/{}/{h}", &h[..2]));
    mkdir(&d)?;
    write(&d.join("data"), bytes)?;
    Ok(format!("sha256:{h}"))
}

/// A gzip'd tar of `dir` (numeric owners root, fixed times, sorted: the same bytes for the same
/// tree): (compressed bytes, diff ID of the uncompressed tar).
fn layer(dir: &Path) -> Result<(Vec<u8>, String)> {
    let tar = "tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -cf - .";
    let diff = run(Command::new("sh")
        .arg("-c")
        .arg(format!("{tar} | sha256sum | cut -d' ' -f1"))
        .current_dir(dir))?;
    let gz = Command::new("sh")
        .arg("-c")
        .arg(format!("{tar} | gzip -1 -n"))
        .current_dir(dir)
        .output()
        .map_err(StoreError::TarSpawn)?;
    if !gz.status.success() {
        return Err(StoreError::Tar(dir.to_path_buf()));
    }
    Ok((gz.stdout, format!("sha256:{}", diff.trim())))
}

/// The base root file system: busybox with its applets, `exe` (the simulator) as the stand-in,
/// the shared libraries it links.
fn base_tree(dir: &Path, exe: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for p in [
        "bin",
        "usr/bin",
        "usr/local/bin",
        "sbin",
        "usr/sbin",
        "etc",
        "var/log",
        "root",
        "tmp",
    ] {
        mkdir(&dir.join(p))?;
    }
    fs::set_permissions(dir.join("tmp"), fs::Permissions::from_mode(0o1777)).map_err(io("/tmp"))?;
    let bin = dir.join("bin");
    fs::copy("/bin/busybox", bin.join("busybox")).map_err(io("/bin/busybox"))?;
    let applets = run(Command::new("/bin/busybox").arg("--list"))?;
    for a in applets.lines().map(str::trim).filter(|a| !a.is_empty()) {
        if a != "busybox" {
            let _ = std::os::unix::fs::symlink("busybox", bin.join(a));
        }
    }
    fs::copy(exe, dir.join("usr/local/bin/clearml-standin")).map_err(copy_err(exe))?;
    // The shared libraries the simulator links, at the paths the dynamic loader looks.
    let ldd = run(Command::new("ldd").arg(exe))?;
    for line in ldd.lines() {
        let Some(p) = line.split_whitespace().find(|w| w.starts_with('/')) else {
            continue;
        };
        let to = dir.join(p.trim_start_matches('/'));
        if let Some(parent) = to.parent() {
            mkdir(parent)?;
        }
        let real = fs::canonicalize(p).map_err(io(p))?;
        fs::copy(&real, &to).map_err(copy_err(p))?;
    }
    write(
        &dir.join("etc/passwd"),
        b"root:x:0:0:root:/root:/bin/sh\nmongodb:x:999:999::/data/db:/bin/sh\n\
          elasticsearch:x:1000:0::/usr/share/elasticsearch:/bin/sh\nredis:x:998:998::/data:/bin/sh\n\
          nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )?;
    write(
        &dir.join("etc/group"),
        b"root:x:0:\nmongodb:x:999:\nredis:x:998:\nnogroup:x:65534:\n",
    )
}

/// The per-image layer: its identity file and the real image's command names.
fn image_tree(dir: &Path, description: &Value) -> Result<()> {
    let etc = dir.join("etc");
    mkdir(&etc)?;
    write(
        &etc.join("clearml-standin.json"),
        &serde_json::to_vec_pretty(description).unwrap_or_default(),
    )?;
    for l in description["links"].as_array().into_iter().flatten() {
        let Some(p) = l.as_str() else { continue };
        let to = dir.join(p.trim_start_matches('/'));
        if let Some(parent) = to.parent() {
            mkdir(parent)?;
        }
        let _ = std::os::unix::fs::symlink("/usr/local/bin/clearml-standin", &to);
    }
    for (path, body) in description["files"].as_object().into_iter().flatten() {
        let to = dir.join(path.trim_start_matches('/'));
        if let Some(parent) = to.parent() {
            mkdir(parent)?;
        }
        write(&to, body.as_str().unwrap_or_default().as_bytes())?;
    }
    Ok(())
}

fn strs(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.clone()),
        _ => Value::Null,
    }
}

/// Builds the store of `list` (entries of `clearml-sim standin-images`) into `dir`: `storage/`
/// (the registry's root directory), `index.json`, `tls/` (`ca.crt`, `registry.crt`,
/// `registry.key`).
fn assemble(dir: &Path, list: &[Value], exe: &Path) -> Result<()> {
    let storage = dir.join("storage");
    let work = dir.join("work");
    let base = work.join("base");
    base_tree(&base, exe)?;
    let (base_gz, base_diff) = layer(&base)?;
    let base_digest = put_blob(&storage, &base_gz)?;
    // (reference, description, in the registry): the registry's own references, then one
    // hidden reference per distinct image, and a broken twin of every server image.
    let mut refs: Vec<(String, Value, bool)> = Vec::new();
    let mut seen = BTreeSet::new();
    for entry in list {
        let description = identity(entry);
        if entry["in_registry"] == true {
            let reference = entry["reference"].as_str().unwrap_or_default().to_owned();
            if seen.insert(reference.clone()) {
                refs.push((reference, description.clone(), true));
            }
        }
        let seed = seed_reference(&description);
        if seen.insert(seed.clone()) {
            refs.push((seed, description.clone(), false));
            if description["kind"] == "server" {
                let mut broken = description.clone();
                broken["broken"] = Value::Bool(true);
                refs.push((seed_reference(&broken), broken, false));
            }
        }
    }
    // Description → (config digest, config size, image layer digest, its size).
    let mut built: BTreeMap<String, (String, usize, String, usize)> = BTreeMap::new();
    let mut index = serde_json::Map::new();
    for (n, (reference, description, in_registry)) in refs.iter().enumerate() {
        let key = description.to_string();
        if !built.contains_key(&key) {
            let tree = work.join(format!("image-{n}"));
            image_tree(&tree, description)?;
            let (gz, diff) = layer(&tree)?;
            let small = put_blob(&storage, &gz)?;
            let mut exposed = serde_json::Map::new();
            for p in description["exposed_ports"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if let Some(p) = p.as_str() {
                    exposed.insert(p.to_owned(), json!({}));
                }
            }
            let config = json!({
                "architecture": "amd64",
                "os": "linux",
                "created": "2026-01-01T00:00:00Z",
                "config": {
                    "Entrypoint": strs(&description["entrypoint"]),
                    "Cmd": strs(&description["cmd"]),
                    "Env": strs(&description["env"]),
                    "WorkingDir": description["working_dir"].as_str().unwrap_or(""),
                    "User": description["user"].as_str().unwrap_or(""),
                    "ExposedPorts": exposed,
                    "Labels": {"org.clearfleet.standin": format!(
                        "{} {} {}{}",
                        description["kind"].as_str().unwrap_or(""),
                        description["version"].as_str().unwrap_or(""),
                        description["build"].as_str().unwrap_or(""),
                        if description["broken"] == true { " broken" } else { "" },
                    )},
                },
                "rootfs": {"type": "layers", "diff_ids": [base_diff, diff]},
                "history": [
                    {"created": "2026-01-01T00:00:00Z", "created_by": "clearfleet stand-in base"},
                    {"created": "2026-01-01T00:00:00Z", "created_by": "clearfleet stand-in image"},
                ],
            });
            let config_bytes = serde_json::to_vec(&config).unwrap_or_default();
            let config_digest = put_blob(&storage, &config_bytes)?;
            built.insert(
                key.clone(),
                (config_digest, config_bytes.len(), small, gz.len()),
            );
        }
        let Some((config_digest, config_size, small, small_size)) = built.get(&key).cloned() else {
            continue;
        };
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_V2,
            "config": {"mediaType": CONFIG_V1, "size": config_size, "digest": config_digest},
            "layers": [
                {"mediaType": LAYER_GZIP, "size": base_gz.len(), "digest": base_digest},
                {"mediaType": LAYER_GZIP, "size": small_size, "digest": small},
            ],
        });
        let manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
        let manifest_digest = put_blob(&storage, &manifest_bytes)?;
        let (repository, tag) = registry_path(reference);
        tag_manifest(
            &storage,
            &repository,
            &tag,
            &manifest_digest,
            &[base_digest.clone(), small.clone(), config_digest.clone()],
        )?;
        index.insert(
            reference.clone(),
            json!({
                "repository": repository,
                "tag": tag,
                "manifest": manifest_digest,
                "id": config_digest,
                "description": description,
                "in_registry": in_registry,
            }),
        );
    }
    write(
        &dir.join("index.json"),
        &serde_json::to_vec_pretty(&Value::Object(index)).unwrap_or_default(),
    )?;
    tls(&dir.join("tls"))?;
    let _ = fs::remove_dir_all(&work);
    Ok(())
}

/// A CA and a certificate for [`REGISTRY_NAMES`] signed by it.
fn tls(dir: &Path) -> Result<()> {
    mkdir(dir)?;
    let sans: Vec<String> = REGISTRY_NAMES.iter().map(|n| format!("DNS:{n}")).collect();
    let ext = dir.join("ext.cnf");
    let mut f = fs::File::create(&ext).map_err(io(&ext))?;
    writeln!(
        f,
        "subjectAltName={}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth",
        sans.join(",")
    )
    .map_err(io(&ext))?;
    let script = "set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
  -subj '/CN=clearfleet test registry CA' -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj '/CN=registry-1.docker.io' -keyout registry.key -out registry.csr 2>/dev/null
openssl x509 -req -in registry.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
  -extfile ext.cnf -out registry.crt 2>/dev/null";
    run(Command::new("sh").arg("-c").arg(script).current_dir(dir)).map(drop)
}

/// The store of `list` built with the simulator binary `exe`, in `cache`: `cache/<key>` (key:
/// the store's layout, the binary, the list), built there unless a complete one is (its `done`
/// file). Several processes may ask at once: each builds into a `tmp-<pid>-…` directory of its
/// own and renames it into place, the first one wins. Stores of other keys (other builds of the
/// simulator) that no one asked for in the last hour (the mtime of their `done`, set at each
/// ask) and the leftovers of builds whose process is gone are removed.
pub fn ensure(cache: &Path, list: &[Value], exe: &Path) -> Result<PathBuf> {
    let text = serde_json::to_string(list).unwrap_or_default();
    let bin = fs::read(exe).map_err(io(exe))?;
    let key = hex(&[LAYOUT.as_bytes(), &bin, text.as_bytes()].concat());
    let key = &key[..16];
    let dir = cache.join(key);
    if !dir.join("done").exists() {
        let tmp = cache.join(format!("tmp-{}-{}", std::process::id(), &key[..8]));
        let _ = fs::remove_dir_all(&tmp);
        mkdir(&tmp)?;
        if let Err(e) = assemble(&tmp, list, exe) {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        write(&tmp.join("done"), b"")?;
        // Another process may have finished first: theirs is as good as ours.
        if fs::rename(&tmp, &dir).is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
    }
    let now = std::time::SystemTime::now();
    if let Ok(f) = fs::File::options().write(true).open(dir.join("done")) {
        let _ = f.set_modified(now);
    }
    let unused = |d: &Path| {
        fs::metadata(d.join("done"))
            .and_then(|m| m.modified())
            .map_or(true, |t| {
                now.duration_since(t).is_ok_and(|age| age.as_secs() > 3600)
            })
    };
    for e in fs::read_dir(cache).into_iter().flatten().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let gone = match n.strip_prefix("tmp-") {
            Some(rest) => rest
                .split('-')
                .next()
                .and_then(|p| p.parse::<u32>().ok())
                .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()),
            None => n != key && unused(&e.path()),
        };
        if gone {
            let _ = fs::remove_dir_all(e.path());
        }
    }
    if !dir.join("index.json").is_file() {
        return Err(StoreError::Incomplete(dir));
    }
    Ok(dir)
}
