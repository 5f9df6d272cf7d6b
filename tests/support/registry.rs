//! The stand-in images of the real-Docker test hosts, written straight into a registry's storage
//! (docker/distribution's filesystem layout), and the TLS identity under which each host's own
//! registry process answers as `registry-1.docker.io` and `docker.elastic.co`.
//!
//! The store itself is the simulator's (`clearml-sim standin-store`,
//! crates/clearml-sim/src/standin/store.rs, also used by scripts/demo): every image any release's
//! compose file names, as a stand-in, built once per build of the simulator and cached under the
//! target dir; each host gets a hard-linked copy, so that one host's faults (a broken or missing
//! tag, a moved `latest`) stay its own. This module reads its `index.json` and uses store.rs (the
//! simulator's library) for the registry helpers the hosts use (one copy of that logic).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

#[allow(unused_imports)]
pub use clearml_sim::standin::store::{REGISTRY_NAMES, identity, registry_path, seed_reference};

/// A built store: its directory (what `clearml-sim host-layout --store` and `host-install
/// --store` take), its storage root, the registry's certificate and key, the CA that signed
/// them, and each reference's manifest.
pub struct Store {
    pub dir: PathBuf,
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

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The store, built on first use in this test process (or found in the cache).
pub fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(build)
}

/// `clearml-sim standin-images ARGS` as JSON.
pub fn listing(args: &[&str]) -> Vec<Value> {
    let out = run(Command::new(super::sim()).arg("standin-images").args(args));
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("clearml-sim standin-images {args:?}: {e}\n{out}"))
}

/// `clearml-sim standin-store` with the cache under the target dir (concurrent test processes
/// share it: the simulator builds each store once), then its `index.json`.
fn build() -> Store {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("standin-registry");
    let out = run(Command::new(super::sim()).arg("standin-store").arg(&cache));
    let dir = PathBuf::from(out.trim());
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
        dir,
        images,
    }
}

/// Writes a link file (`sha256:…`) at `path` below the storage, replacing (never writing
/// through) what was there: the per-host copies share files by hard links.
pub fn put_link(path: &Path, digest: &str) {
    clearml_sim::standin::store::put_link(path, digest).unwrap_or_else(|e| panic!("{e}"));
}

/// Makes `repository:tag` name the manifest `manifest` (whose blobs are in the store).
pub fn tag_manifest(storage: &Path, repository: &str, tag: &str, manifest: &str, blobs: &[String]) {
    clearml_sim::standin::store::tag_manifest(storage, repository, tag, manifest, blobs)
        .unwrap_or_else(|e| panic!("{e}"));
}
