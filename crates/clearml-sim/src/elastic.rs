//! Elasticsearch: the data marker (`.sim-es.json` plus the real `nodes` layout: a directory
//! `nodes/0/` up to ES 7, a regular file once ES 8 ran), the startup refusals (7.17 rule, 8→7,
//! uid 1000, free space, removed settings) and the `curl localhost:9200` probes.

use crate::releases::vnum;
use crate::state::{SimError, io_err, load_json, owner_uid, write_file};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const MARKER: &str = ".sim-es.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EsData {
    /// Version of the Elasticsearch that last wrote the data.
    pub version: String,
    /// Index name → document count.
    pub indices: IndexMap<String, u64>,
}

pub fn load(dir: &Path) -> Result<Option<EsData>, SimError> {
    load_json(&dir.join(MARKER))
}

pub fn save(dir: &Path, d: &EsData) -> Result<(), SimError> {
    let body = serde_json::to_string_pretty(d).map_err(|e| SimError::BadState {
        path: dir.display().to_string(),
        msg: e.to_string(),
    })?;
    write_file(&dir.join(MARKER), body.as_bytes())
}

/// Index families seen in the wild (the logs in clearml/clearml-server issues #239 and #57), with
/// a stable company id.
pub fn sample_indices(n: u64) -> IndexMap<String, u64> {
    let company = "d1bd92a3b039400cbafc60a7a5b1e52b";
    let mut m = IndexMap::new();
    m.insert(format!("events-log-{company}"), 1200 * n);
    m.insert(format!("events-training_stats_scalar-{company}"), 5400 * n);
    m.insert(format!("events-plot-{company}"), 40 * n);
    m.insert(format!("events-training_debug_image-{company}"), 75 * n);
    m.insert(format!("queue_metrics_{company}_2025-01"), 300 * n);
    m.insert(format!("worker_stats_{company}_2025-01"), 900 * n);
    m
}

fn data_bytes(seed: u32, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| u8::try_from((i as u32 * 17 + seed) % 253).unwrap_or(0))
        .collect()
}

/// Write the on-disk layout of `version` with some real data bytes.
pub fn create_files(dir: &Path, version: &str) -> Result<(), SimError> {
    let base = if vnum(version) >= (8, 0, 0) {
        dir.to_path_buf()
    } else {
        dir.join("nodes/0")
    };
    write_file(&base.join("_state/node-0.st"), &data_bytes(3, 300))?;
    write_file(
        &base.join("indices/Kx3fQ1bZSxWm0gqk2x7Tbg/0/index/_0.cfs"),
        &data_bytes(5, 4096),
    )?;
    write_file(
        &base.join("indices/Kx3fQ1bZSxWm0gqk2x7Tbg/_state/state-1.st"),
        &data_bytes(9, 200),
    )?;
    if vnum(version) >= (8, 0, 0) {
        write_file(&dir.join("nodes"), b"")?;
    }
    Ok(())
}

/// ES 8 moves `nodes/0/*` to the data path and leaves `nodes` as a regular file.
fn convert_to_v8_layout(dir: &Path) -> Result<(), SimError> {
    let nodes = dir.join("nodes");
    if !nodes.is_dir() {
        if !nodes.exists() {
            write_file(&nodes, b"")?;
        }
        return Ok(());
    }
    let zero = nodes.join("0");
    if let Ok(rd) = std::fs::read_dir(&zero) {
        for e in rd.flatten() {
            let to = dir.join(e.file_name());
            if !to.exists() {
                std::fs::rename(e.path(), &to).map_err(|er| io_err(&to, er))?;
            }
        }
    }
    std::fs::remove_dir_all(&nodes).map_err(|e| io_err(&nodes, e))?;
    write_file(&nodes, b"")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Running(Vec<String>),
    Exited(i32, Vec<String>),
}

pub struct Env<'a> {
    pub env: &'a [String],
    pub es_uid: u32,
    pub free_mb: u64,
}

fn fatal(msg: String) -> Start {
    Start::Exited(
        1,
        vec![
            format!(
                "{{\"@timestamp\":\"2025-01-01T00:00:00.000Z\", \"log.level\":\"ERROR\", \"message\":\"fatal exception while booting Elasticsearch\", \"error.message\":\"{}\"}}",
                msg.replace('"', "\\\"")
            ),
            format!(
                "ERROR: Elasticsearch did not exit normally - check the logs at /usr/share/elasticsearch/logs/clearml.log\n\nERROR: {msg}"
            ),
        ],
    )
}

pub fn start(version: &str, dir: &Path, e: &Env) -> Result<Start, SimError> {
    let v = vnum(version);
    if v >= (8, 0, 0) {
        // Settings ES 8 removed (clearml/clearml-server dropped them in v1.15.0, before ES 8):
        // node.ingest is one of the legacy role settings replaced by node.roles.
        for removed in [
            "discovery.zen.minimum_master_nodes",
            "xpack.monitoring.enabled",
            "node.ingest",
        ] {
            if e.env.iter().any(|kv| kv.split('=').next() == Some(removed)) {
                return Ok(fatal(format!(
                    "java.lang.IllegalArgumentException: unknown setting [{removed}] please check that any required plugins are installed, or check the breaking changes documentation for removed settings"
                )));
            }
        }
    }
    if owner_uid(dir) != Some(e.es_uid) {
        let msg = if v >= (8, 0, 0) {
            "java.lang.IllegalStateException: failed to obtain node locks, tried [/usr/share/elasticsearch/data]; maybe these locations are not writable or multiple nodes were started on the same data path?".to_string()
        } else {
            "ElasticsearchException[failed to bind service]; nested: AccessDeniedException[/usr/share/elasticsearch/data/nodes];\nLikely root cause: java.nio.file.AccessDeniedException: /usr/share/elasticsearch/data/nodes".to_string()
        };
        return Ok(fatal(msg));
    }
    if e.free_mb < 500 {
        return Ok(fatal(format!(
            "flood stage disk watermark [500mb] exceeded on [clearml][/usr/share/elasticsearch/data] free: {}mb[{}%], all indices on this node will be marked read-only",
            e.free_mb, 0
        )));
    }
    let nodes = dir.join("nodes");
    let marker = load(dir)?;
    if nodes.is_file() && v < (8, 0, 0) {
        return Ok(fatal(format!(
            "java.lang.IllegalStateException: data path [/usr/share/elasticsearch/data] is not compatible with Elasticsearch v{version}, perhaps it has already been upgraded to a later version ([/usr/share/elasticsearch/data/nodes] is a file)"
        )));
    }
    if let Some(m) = &marker {
        let was = vnum(&m.version);
        if v >= (8, 0, 0) && was < (7, 17, 0) {
            return Ok(fatal(format!(
                "java.lang.IllegalStateException: cannot upgrade a node from version [{}] directly to version [{version}], upgrade to version [7.17.0] first.",
                m.version
            )));
        }
        if v.0 >= 7 && was.0 <= 5 && !m.indices.is_empty() {
            let idx = m.indices.keys().next().cloned().unwrap_or_default();
            return Ok(fatal(format!(
                "java.lang.IllegalStateException: The index [[{idx}/Kx3fQ1bZSxWm0gqk2x7Tbg]] was created with version [{}] but the minimum compatible version is [6.0.0-beta1]. It should be re-indexed in Elasticsearch 6.x before upgrading to {version}.",
                m.version
            )));
        }
        if was.0 > v.0 {
            return Ok(fatal(format!(
                "java.lang.IllegalStateException: cannot downgrade a node from version [{}] to version [{version}]",
                m.version
            )));
        }
    }
    let mut data = match marker {
        Some(m) => m,
        None => {
            create_files(dir, version)?;
            EsData::default()
        }
    };
    if v >= (8, 0, 0) {
        convert_to_v8_layout(dir)?;
    }
    data.version = version.to_string();
    save(dir, &data)?;
    Ok(Start::Running(vec![format!(
        "{{\"@timestamp\":\"2025-01-01T00:00:00.000Z\", \"log.level\": \"INFO\", \"message\":\"started {{clearml}}{{version={version}}}\", \"service.name\":\"ES_ECS\"}}"
    )]))
}

/// Whether Elasticsearch may reindex from the remote `host_port` (`host:port`, the scheme
/// ignored): its `reindex.remote.whitelist` setting, comma-separated `host:port` patterns where
/// `*` matches any run of characters (elastic/elasticsearch docs/reference/docs/reindex.asciidoc,
/// "Reindex from remote": `reindex.remote.whitelist: "otherhost:9200, another:9200,
/// 127.0.10.*:9200, localhost:*"`). Refused, ES answers "[HOST:PORT] not whitelisted in
/// reindex.remote.whitelist" (its `checkRemoteWhitelist`).
pub fn remote_whitelisted(whitelist: &str, host_port: &str) -> bool {
    whitelist
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .any(|p| glob(p, host_port))
}

/// `*`-only glob matching.
fn glob(pattern: &str, s: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == s,
        Some((head, rest)) => {
            let Some(tail) = s.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}

/// What one `_reindex` wrote: documents created (new ids) and updated (ids already there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reindexed {
    pub created: u64,
    pub updated: u64,
}

/// `_reindex` of an index of `docs` documents into `index` of the data in `dir`: documents keep
/// their ids, so those already in `index` are updated and the others created (the index holds
/// the larger of both counts). The data stays the running node's (its version unchanged).
pub fn reindex_into(dir: &Path, index: &str, docs: u64) -> Result<Reindexed, SimError> {
    let mut data = load(dir)?.unwrap_or_default();
    let had = data.indices.get(index).copied().unwrap_or(0);
    data.indices.insert(index.to_string(), had.max(docs));
    save(dir, &data)?;
    Ok(Reindexed {
        created: docs.saturating_sub(had),
        updated: docs.min(had),
    })
}

/// `curl [-s] [-X GET] URL` against localhost:9200 inside the container (or published port).
pub fn http(version: &str, cluster: &str, dir: &Path, path: &str) -> (u16, String) {
    let data = load(dir).ok().flatten().unwrap_or_default();
    let (p, query) = path.split_once('?').unwrap_or((path, ""));
    match p.trim_end_matches('/') {
        "" => {
            let body = serde_json::json!({
                "name": cluster, "cluster_name": cluster, "cluster_uuid": "u2HqJgRvQ6W2d4Y1hQm1pA",
                "version": {"number": version, "build_flavor": "default", "build_type": "docker",
                    "build_snapshot": false, "lucene_version": if vnum(version) >= (8,0,0) {"9.12.0"} else {"8.11.1"},
                    "minimum_wire_compatibility_version": if vnum(version) >= (8,0,0) {"7.17.0"} else {"6.8.0"},
                    "minimum_index_compatibility_version": if vnum(version) >= (8,0,0) {"7.0.0"} else {"6.0.0-beta1"}},
                "tagline": "You Know, for Search"});
            (200, serde_json::to_string_pretty(&body).unwrap_or_default() + "\n")
        }
        "/_cluster/health" => {
            let n = data.indices.len();
            let body = serde_json::json!({"cluster_name": cluster, "status": "green", "timed_out": false,
                "number_of_nodes": 1, "number_of_data_nodes": 1, "active_primary_shards": n, "active_shards": n,
                "relocating_shards": 0, "initializing_shards": 0, "unassigned_shards": 0,
                "active_shards_percent_as_number": 100.0});
            (200, body.to_string())
        }
        "/_cat/indices" => {
            if query.contains("format=json") {
                let rows: Vec<serde_json::Value> = data
                    .indices
                    .iter()
                    .map(|(k, d)| serde_json::json!({"health":"green","status":"open","index":k,"uuid":"Kx3fQ1bZSxWm0gqk2x7Tbg","pri":"1","rep":"0","docs.count":d.to_string(),"docs.deleted":"0","store.size":format!("{}kb", d / 4 + 1),"pri.store.size":format!("{}kb", d / 4 + 1)}))
                    .collect();
                return (200, serde_json::Value::Array(rows).to_string());
            }
            let mut s = String::new();
            if query.split('&').any(|q| q == "v") {
                s.push_str("health status index uuid pri rep docs.count docs.deleted store.size pri.store.size\n");
            }
            for (k, d) in &data.indices {
                s.push_str(&format!("green open {k} Kx3fQ1bZSxWm0gqk2x7Tbg 1 0 {d} 0 {}kb {}kb\n", d / 4 + 1, d / 4 + 1));
            }
            (200, s)
        }
        other => (
            404,
            serde_json::json!({"error":{"root_cause":[{"type":"index_not_found_exception","reason":format!("no such index [{}]", other.trim_start_matches('/'))}]},"status":404}).to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(free_mb: u64) -> Env<'static> {
        Env {
            env: &[],
            es_uid: rustix::process::getuid().as_raw(),
            free_mb,
        }
    }

    fn prepare(dir: &Path, version: &str) {
        create_files(dir, version).expect("files");
        save(
            dir,
            &EsData {
                version: version.into(),
                indices: sample_indices(1),
            },
        )
        .expect("save");
    }

    #[test]
    fn es8_refuses_data_older_than_7_17() {
        let t = tempfile::tempdir().expect("tmp");
        prepare(t.path(), "7.16.2");
        match start("8.15.3", t.path(), &env(10_000)).expect("s") {
            Start::Exited(1, logs) => assert!(
                logs.join("\n").contains("cannot upgrade a node from version [7.16.2] directly to version [8.15.3], upgrade to version [7.17.0] first"),
                "{logs:?}"
            ),
            other => panic!("{other:?}"),
        }
        assert!(
            t.path().join("nodes/0").is_dir(),
            "a refused start leaves the data alone"
        );
    }

    #[test]
    fn es8_converts_nodes_and_es7_then_refuses() {
        let t = tempfile::tempdir().expect("tmp");
        prepare(t.path(), "7.17.18");
        assert!(matches!(
            start("8.15.3", t.path(), &env(10_000)).expect("s"),
            Start::Running(_)
        ));
        assert!(t.path().join("nodes").is_file());
        assert!(
            t.path()
                .join("indices/Kx3fQ1bZSxWm0gqk2x7Tbg/0/index/_0.cfs")
                .is_file()
        );
        match start("7.17.18", t.path(), &env(10_000)).expect("s") {
            Start::Exited(1, logs) => assert!(
                logs.join("\n")
                    .contains("perhaps it has already been upgraded"),
                "{logs:?}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ownership_space_and_removed_settings() {
        let t = tempfile::tempdir().expect("tmp");
        prepare(t.path(), "7.17.18");
        let bad = Env {
            env: &[],
            es_uid: 4242,
            free_mb: 10_000,
        };
        match start("8.17.0", t.path(), &bad).expect("s") {
            Start::Exited(1, l) => assert!(l.join("\n").contains("failed to obtain node locks")),
            other => panic!("{other:?}"),
        }
        match start("7.17.18", t.path(), &bad).expect("s") {
            Start::Exited(1, l) => assert!(l.join("\n").contains("AccessDeniedException")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            start("7.17.18", t.path(), &env(499)).expect("s"),
            Start::Exited(1, _)
        ));
        let legacy = ["discovery.zen.minimum_master_nodes=1".to_string()];
        let e = Env {
            env: &legacy,
            ..env(10_000)
        };
        assert!(matches!(
            start("8.15.3", t.path(), &e).expect("s"),
            Start::Exited(1, _)
        ));
        assert!(matches!(
            start("7.17.18", t.path(), &e).expect("s"),
            Start::Running(_)
        ));
    }

    #[test]
    fn reindex_whitelist_and_documents() {
        assert!(remote_whitelisted("es5:9200", "es5:9200"));
        assert!(remote_whitelisted(
            "otherhost:9200, 127.0.10.*:9200",
            "127.0.10.4:9200"
        ));
        assert!(remote_whitelisted("localhost:*", "localhost:9201"));
        assert!(!remote_whitelisted("es5:9200", "es5:9201"));
        assert!(!remote_whitelisted("", "es5:9200"));
        let t = tempfile::tempdir().expect("tmp");
        prepare(t.path(), "7.6.2");
        let first = reindex_into(t.path(), "events-new", 10).expect("reindex");
        assert_eq!((first.created, first.updated), (10, 0));
        let again = reindex_into(t.path(), "events-new", 12).expect("reindex");
        assert_eq!((again.created, again.updated), (2, 10));
        let d = load(t.path()).expect("load").expect("marker");
        assert_eq!(d.indices.get("events-new"), Some(&12));
        assert_eq!(d.version, "7.6.2");
    }

    #[test]
    fn probes() {
        let t = tempfile::tempdir().expect("tmp");
        prepare(t.path(), "8.17.0");
        let (c, b) = http("8.17.0", "clearml", t.path(), "/");
        assert_eq!(c, 200);
        assert!(b.contains("\"number\": \"8.17.0\""));
        let (_, b) = http("8.17.0", "clearml", t.path(), "/_cat/indices");
        assert_eq!(b.lines().count(), 6);
        let (_, b) = http("8.17.0", "clearml", t.path(), "/_cluster/health");
        assert!(b.contains("\"status\":\"green\""));
    }
}
