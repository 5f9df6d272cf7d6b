//! The stand-in images of the real-Docker test hosts, written straight into a registry's storage
//! (docker/distribution's filesystem layout), and the TLS identity under which each host's own
//! registry process answers as `registry-1.docker.io` and `docker.elastic.co`.
//!
//! ClearML's images cannot be pulled here, so every image any release's compose file names is a
//! stand-in (`clearml-sim standin-images` lists them, with their entrypoints): one shared base
//! layer (busybox-static, the simulator binary as `/usr/local/bin/clearml-standin` and the glibc
//! it links), and per image a small layer with `/etc/clearml-standin.json` and the command names
//! of the real image. Equal descriptions make one image (one ID, several tags), as in a real
//! registry. The store is built once per build of the simulator (cached under the target dir);
//! each host gets a hard-linked copy, so that one host's faults (a broken or missing tag, a moved
//! `latest`) stay its own.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const SIM: &str = env!("CARGO_BIN_EXE_clearml-sim");
/// Bumped whenever the layout of the store changes, so that a cached store is rebuilt.
const LAYOUT: &str = "standin-store-1";

const MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
const CONFIG_V1: &str = "application/vnd.docker.container.image.v1+json";
const LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// The names the host registry answers as (its certificate's names, the hosts' /etc/hosts).
pub const REGISTRY_NAMES: &[&str] = &["registry-1.docker.io", "docker.elastic.co"];

/// A built store: its storage root, the registry's certificate and key, the CA that signed them,
/// and each reference's manifest.
pub struct Store {
    pub root: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
    /// Normalised reference (`mongo:4.4.29`, `docker.elastic.co/...:7.17.18`) → image.
    pub images: BTreeMap<String, Image>,
}

impl Store {
    /// The image a reference names in the store.
    pub fn image(&self, reference: &str) -> &Image {
        self.images
            .get(reference)
            .unwrap_or_else(|| panic!("{reference} is not in the stand-in store"))
    }

    /// The hidden reference of the image `description` describes.
    pub fn seed_of(&self, description: &Value) -> String {
        let seed = seed_reference(description);
        assert!(
            self.images.contains_key(&seed),
            "no image for {description}"
        );
        seed
    }

    /// The hidden reference of a broken twin of the image `reference` names (its main process
    /// exits at start).
    pub fn broken_twin(&self, reference: &str) -> String {
        let mut d = self.image(reference).description.clone();
        d["broken"] = Value::Bool(true);
        self.seed_of(&d)
    }

    /// The hidden reference of release `version`'s image of server repository `name`
    /// (`clearml/server`), e.g. a release past the target for a moved `latest`.
    pub fn server_release(&self, name: &str, version: &str) -> String {
        self.images
            .iter()
            .find(|(r, i)| {
                r.starts_with("clearfleet-seed/")
                    && i.description["name"] == name
                    && i.description["kind"] == "server"
                    && i.description["version"] == version
                    && i.description["broken"] != true
            })
            .map(|(r, _)| r.clone())
            .unwrap_or_else(|| panic!("no {name} image of release {version} in the store"))
    }
}

/// One image of the store.
#[derive(Clone, Debug)]
pub struct Image {
    /// Registry path (`library/mongo`, `elasticsearch/elasticsearch`).
    pub repository: String,
    pub tag: String,
    /// Digest of the manifest.
    pub manifest: String,
    /// The image ID (`sha256:` of the config), what `docker image inspect -f '{{.Id}}'` prints.
    pub id: String,
    /// The description `clearml-sim standin-images` gave (without reference and tag).
    pub description: Value,
    /// A reference of the registry as upstream's is (not a hidden seed).
    pub in_registry: bool,
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
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

/// The store, built on first use in this test process (or found in the cache).
pub fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(build)
}

/// `clearml-sim standin-images ARGS` as JSON.
pub fn listing(args: &[&str]) -> Vec<Value> {
    let out = run(Command::new(SIM).arg("standin-images").args(args));
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("clearml-sim standin-images {args:?}: {e}\n{out}"))
}

/// Every image the tests may need: the registry as upstream's is, every release's images as a
/// host of that release holds them (`latest` as it was then), and the releases past the target
/// a moved `latest` can name.
fn wanted() -> Vec<Value> {
    let mut all = listing(&[]);
    let table = run(Command::new(SIM).arg("releases"));
    // Image-only releases (no compose file, so no host of theirs) come with `--latest` below.
    for release in table
        .lines()
        .filter(|l| !l.contains("image only"))
        .filter_map(|l| l.split_whitespace().next())
    {
        all.extend(listing(&["--era", release]));
    }
    all.extend(listing(&["--latest", "clearml/server=2.4.0"]));
    all
}

fn build() -> Store {
    let list = wanted();
    let text = serde_json::to_string(&list).unwrap_or_default();
    let sim = fs::read(SIM).unwrap_or_else(|e| panic!("read {SIM}: {e}"));
    let key = hex(&[LAYOUT.as_bytes(), &sim, text.as_bytes()].concat());
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("standin-registry");
    let dir = cache.join(&key[..16]);
    if !dir.join("done").exists() {
        let tmp = cache.join(format!("tmp-{}-{}", std::process::id(), &key[..8]));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
        assemble(&tmp, &list);
        fs::write(tmp.join("done"), b"").unwrap_or_else(|e| panic!("{e}"));
        // Another test process may have finished first: theirs is as good as ours.
        if fs::rename(&tmp, &dir).is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
        // Older stores (another build of the simulator) go.
        for e in fs::read_dir(&cache).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n != key[..16] && !n.starts_with("tmp-") {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
    let index: Value = serde_json::from_slice(
        &fs::read(dir.join("index.json")).unwrap_or_else(|e| panic!("index.json: {e}")),
    )
    .unwrap_or_else(|e| panic!("index.json: {e}"));
    let mut images = BTreeMap::new();
    for (reference, v) in index.as_object().into_iter().flatten() {
        images.insert(
            reference.clone(),
            Image {
                repository: v["repository"].as_str().unwrap_or_default().to_owned(),
                tag: v["tag"].as_str().unwrap_or_default().to_owned(),
                manifest: v["manifest"].as_str().unwrap_or_default().to_owned(),
                id: v["id"].as_str().unwrap_or_default().to_owned(),
                description: v["description"].clone(),
                in_registry: v["in_registry"].as_bool().unwrap_or(false),
            },
        );
    }
    Store {
        root: dir.join("storage"),
        cert: dir.join("tls/registry.crt"),
        key: dir.join("tls/registry.key"),
        ca: dir.join("tls/ca.crt"),
        images,
    }
}

/// Writes blob `bytes` into the storage; returns its digest (`sha256:…`).
fn put_blob(storage: &Path, bytes: &[u8]) -> String {
    let h = hex(bytes);
    let d = storage.join(format!("docker/registry/v2/blobs/sha256/{}/{h}", &h[..2]));
    fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    fs::write(d.join("data"), bytes).unwrap_or_else(|e| panic!("{e}"));
    format!("sha256:{h}")
}

/// Writes a link file (`sha256:…`) at `path` below the storage, replacing (never writing
/// through) what was there: the per-host copies share files by hard links.
pub fn put_link(path: &Path, digest: &str) {
    if let Some(p) = path.parent() {
        fs::create_dir_all(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    let _ = fs::remove_file(path);
    fs::write(path, digest).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn repo_dir(storage: &Path, repository: &str) -> PathBuf {
    storage.join(format!("docker/registry/v2/repositories/{repository}"))
}

/// Makes `repository:tag` name the manifest `manifest` (whose blobs are in the store).
pub fn tag_manifest(storage: &Path, repository: &str, tag: &str, manifest: &str, blobs: &[String]) {
    let r = repo_dir(storage, repository);
    for b in blobs {
        let h = b.trim_start_matches("sha256:");
        put_link(&r.join(format!("_layers/sha256/{h}/link")), b);
    }
    let m = manifest.trim_start_matches("sha256:");
    put_link(
        &r.join(format!("_manifests/revisions/sha256/{m}/link")),
        manifest,
    );
    put_link(
        &r.join(format!("_manifests/tags/{tag}/current/link")),
        manifest,
    );
    put_link(
        &r.join(format!("_manifests/tags/{tag}/index/sha256/{m}/link")),
        manifest,
    );
}

/// A gzip'd tar of `dir` (numeric owners root, fixed times, sorted: the same bytes for the same
/// tree): (compressed bytes, diff ID of the uncompressed tar).
fn layer(dir: &Path) -> (Vec<u8>, String) {
    let tar = run(Command::new("sh").arg("-c").arg(format!(
        "cd '{}' && tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -cf - . | sha256sum | cut -d' ' -f1",
        dir.display()
    )));
    let gz = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cd '{}' && tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -cf - . | gzip -1 -n",
            dir.display()
        ))
        .output()
        .unwrap_or_else(|e| panic!("tar | gzip: {e}"));
    assert!(gz.status.success(), "tar | gzip of {}", dir.display());
    (gz.stdout, format!("sha256:{}", tar.trim()))
}

/// The base root file system: busybox with its applets, the simulator as the stand-in, glibc.
fn base_tree(dir: &Path) {
    let mk = |p: &str| {
        let d = dir.join(p.trim_start_matches('/'));
        fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        d
    };
    let bin = mk("/bin");
    for p in [
        "/usr/bin",
        "/usr/local/bin",
        "/sbin",
        "/usr/sbin",
        "/etc",
        "/var/log",
        "/root",
    ] {
        mk(p);
    }
    let tmp = mk("/tmp");
    super::sshd::set_mode(&tmp, 0o1777);
    fs::copy("/bin/busybox", bin.join("busybox")).unwrap_or_else(|e| panic!("busybox: {e}"));
    let applets = run(Command::new("/bin/busybox").arg("--list"));
    for a in applets.lines().map(str::trim).filter(|a| !a.is_empty()) {
        if a != "busybox" {
            let _ = std::os::unix::fs::symlink("busybox", bin.join(a));
        }
    }
    fs::copy(SIM, dir.join("usr/local/bin/clearml-standin"))
        .unwrap_or_else(|e| panic!("copy {SIM}: {e}"));
    // The shared libraries the simulator links, at the paths the dynamic loader looks.
    let ldd = run(Command::new("ldd").arg(SIM));
    for line in ldd.lines() {
        let path = line
            .split_whitespace()
            .find(|w| w.starts_with('/'))
            .map(str::to_owned);
        if let Some(p) = path {
            let to = dir.join(p.trim_start_matches('/'));
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
            }
            let real = fs::canonicalize(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
            fs::copy(&real, &to).unwrap_or_else(|e| panic!("copy {p}: {e}"));
        }
    }
    fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nmongodb:x:999:999::/data/db:/bin/sh\n\
         elasticsearch:x:1000:0::/usr/share/elasticsearch:/bin/sh\nredis:x:998:998::/data:/bin/sh\n\
         nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    fs::write(
        dir.join("etc/group"),
        "root:x:0:\nmongodb:x:999:\nredis:x:998:\nnogroup:x:65534:\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

/// The per-image layer: its identity file and the real image's command names.
fn image_tree(dir: &Path, description: &Value) {
    let etc = dir.join("etc");
    fs::create_dir_all(&etc).unwrap_or_else(|e| panic!("{e}"));
    fs::write(
        etc.join("clearml-standin.json"),
        serde_json::to_vec_pretty(description).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for l in description["links"].as_array().into_iter().flatten() {
        let Some(p) = l.as_str() else { continue };
        let to = dir.join(p.trim_start_matches('/'));
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        let _ = std::os::unix::fs::symlink("/usr/local/bin/clearml-standin", &to);
    }
    for (path, body) in description["files"].as_object().into_iter().flatten() {
        let to = dir.join(path.trim_start_matches('/'));
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        fs::write(&to, body.as_str().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    }
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

fn strs(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.clone()),
        _ => Value::Null,
    }
}

/// The hidden reference under which the store keeps an image by its description (every image
/// has one, so that a host can be given any release's image as its `latest` was then).
pub fn seed_reference(description: &Value) -> String {
    format!(
        "clearfleet-seed/image:{}",
        &hex(description.to_string().as_bytes())[..16]
    )
}

fn assemble(dir: &Path, list: &[Value]) {
    let storage = dir.join("storage");
    let work = dir.join("work");
    let base = work.join("base");
    base_tree(&base);
    let (base_gz, base_diff) = layer(&base);
    let base_digest = put_blob(&storage, &base_gz);
    // (reference, description, in the registry): the registry's own references, then one
    // hidden reference per distinct image, and a broken twin of every server image.
    let mut refs: Vec<(String, Value, bool)> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
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
            image_tree(&tree, description);
            let (gz, diff) = layer(&tree);
            let small = put_blob(&storage, &gz);
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
            let config_digest = put_blob(&storage, &config_bytes);
            built.insert(
                key.clone(),
                (config_digest, config_bytes.len(), small, gz.len()),
            );
        }
        let (config_digest, config_size, small, small_size) = built[&key].clone();
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
        let manifest_digest = put_blob(&storage, &manifest_bytes);
        let (repository, tag) = registry_path(reference);
        tag_manifest(
            &storage,
            &repository,
            &tag,
            &manifest_digest,
            &[base_digest.clone(), small.clone(), config_digest.clone()],
        );
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
    fs::write(
        dir.join("index.json"),
        serde_json::to_vec_pretty(&Value::Object(index)).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    tls(&dir.join("tls"));
    let _ = fs::remove_dir_all(&work);
}

/// A CA and a certificate for [`REGISTRY_NAMES`] signed by it.
fn tls(dir: &Path) {
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
    let sans: Vec<String> = REGISTRY_NAMES.iter().map(|n| format!("DNS:{n}")).collect();
    let ext = dir.join("ext.cnf");
    let mut f = fs::File::create(&ext).unwrap_or_else(|e| panic!("{e}"));
    writeln!(
        f,
        "subjectAltName={}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth",
        sans.join(",")
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let script = "set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
  -subj '/CN=clearfleet test registry CA' -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj '/CN=registry-1.docker.io' -keyout registry.key -out registry.csr 2>/dev/null
openssl x509 -req -in registry.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
  -extfile ext.cnf -out registry.crt 2>/dev/null";
    run(Command::new("sh").arg("-c").arg(script).current_dir(dir));
}
