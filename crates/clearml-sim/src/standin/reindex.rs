//! Elasticsearch's `POST /_reindex`, as the Elasticsearch stand-in answers it: from a remote
//! cluster (`source.remote.host`, what Trains 0.16's migration script needs: an ES 7 node
//! reindexing every index of an ES 5 node) or from its own data. The remote's index is fetched
//! through the stand-ins' marker protocol (`GET /_standin/marker`), and written into the
//! node's own data by elastic.rs's rules (`reindex_into`).
//!
//! Request and answer as Elastic documents them (elastic/elasticsearch
//! docs/reference/docs/reindex.asciidoc): `{"source": {"remote": {"host":
//! "http://otherhost:9200"}, "index": "…", "size": N}, "dest": {"index": "…"}}`; the answer
//! `{"took", "timed_out", "total", "created", "updated", "batches", …, "failures": []}`; a
//! remote not in `reindex.remote.whitelist` is a 400 `illegal_argument_exception`, a missing
//! index a 404 `index_not_found_exception`.

use super::net::{self, Reply};
use super::stores::MARKER_PATH;
use crate::elastic;
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Deserialize)]
struct Body {
    source: Source,
    dest: Dest,
}

#[derive(Deserialize)]
struct Source {
    #[serde(default)]
    remote: Option<Remote>,
    /// One index name, or a list of them.
    index: Value,
    /// Documents per scroll batch (ES's default 1000).
    #[serde(default)]
    size: Option<u64>,
}

#[derive(Deserialize)]
struct Remote {
    host: String,
}

#[derive(Deserialize)]
struct Dest {
    index: String,
}

/// An Elasticsearch error answer.
fn es_error(status: u16, kind: &str, reason: &str) -> Reply {
    Reply::json(
        status,
        &json!({"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind,
            "reason": reason}, "status": status}),
    )
}

/// `POST /_reindex` with `body` into the data in `dir` (`guard` serialises writes to it).
pub fn reindex(dir: &Path, guard: &Mutex<()>, body: &[u8]) -> Reply {
    let b: Body = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => return es_error(400, "parse_exception", &format!("request body: {e}")),
    };
    let names: Vec<String> = match &b.source.index {
        Value::String(s) => s.split(',').map(str::to_owned).collect(),
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    };
    if names.is_empty() {
        return es_error(
            400,
            "action_request_validation_exception",
            "source.index missing",
        );
    }
    let source = match &b.source.remote {
        Some(r) => remote_indices(&r.host),
        None => elastic::load(dir)
            .map(Option::unwrap_or_default)
            .map(|d| d.indices)
            .map_err(|e| es_error(500, "exception", &e.to_string())),
    };
    let source = match source {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let mut total = 0;
    for n in &names {
        match source.get(n) {
            Some(d) => total += d,
            None => {
                return es_error(
                    404,
                    "index_not_found_exception",
                    &format!("no such index [{n}]"),
                );
            }
        }
    }
    let written = {
        let _g = guard.lock().unwrap_or_else(|p| p.into_inner());
        elastic::reindex_into(dir, &b.dest.index, total)
    };
    match written {
        Ok(w) => {
            let size = b.source.size.unwrap_or(1000).max(1);
            Reply::json(
                200,
                &json!({"took": 1, "timed_out": false, "total": total, "updated": w.updated,
                    "created": w.created, "deleted": 0, "batches": total.div_ceil(size),
                    "version_conflicts": 0, "noops": 0, "retries": {"bulk": 0, "search": 0},
                    "throttled_millis": 0, "requests_per_second": -1.0,
                    "throttled_until_millis": 0, "failures": []}),
            )
        }
        Err(e) => es_error(500, "exception", &e.to_string()),
    }
}

/// The indices (name → documents) of the remote node at `host` (`http://HOST:PORT`), if this
/// node's `reindex.remote.whitelist` allows it.
fn remote_indices(host: &str) -> Result<indexmap::IndexMap<String, u64>, Reply> {
    let Some((h, port)) = net::host_port(host, 9200) else {
        return Err(es_error(
            400,
            "illegal_argument_exception",
            &format!("[host] must be of the form [scheme]://[host]:[port] but was [{host}]"),
        ));
    };
    let check = format!("{h}:{port}");
    let whitelist = std::env::var("reindex.remote.whitelist").unwrap_or_default();
    if !elastic::remote_whitelisted(&whitelist, &check) {
        return Err(es_error(
            400,
            "illegal_argument_exception",
            &format!("[{check}] not whitelisted in reindex.remote.whitelist"),
        ));
    }
    let answer = net::http_call(
        &h,
        port,
        "GET",
        MARKER_PATH,
        &[],
        &[],
        Duration::from_secs(30),
    )
    .map_err(|e| es_error(500, "connect_exception", &format!("{check}: {e}")))?;
    let v: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    // A node that never wrote its data has no marker (`null`): no indices.
    let data = match &v["data"] {
        Value::Null => Ok(elastic::EsData::default()),
        d => serde_json::from_value::<elastic::EsData>(d.clone()),
    };
    match data {
        Ok(d) if answer.status == 200 => Ok(d.indices),
        _ => Err(es_error(
            500,
            "exception",
            &format!("the remote {check} answered {}", answer.status),
        )),
    }
}
