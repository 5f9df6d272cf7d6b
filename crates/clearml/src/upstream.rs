//! What upstream's compose file of each clearml-server release says, service by service
//! (`playbooks/clearml/upstream-compose.json`, recorded from github.com/clearml/clearml-server at
//! every tag by scripts/upstream-facts.py), and how a compose file differs from it: the
//! upgrade refuses a host whose compose file a site changed (its changes would be lost), and
//! the simulator's test proves the simulator's files against the same facts.

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::version::Version;

/// The recorded facts, as shipped.
pub const COMPOSE_FACTS_JSON: &str =
    include_str!("../../../playbooks/clearml/upstream-compose.json");

/// The per-service facts recorded (scripts/upstream-facts.py, FIELDS).
pub const FIELDS: &[&str] = &[
    "container_name",
    "image",
    "environment",
    "volumes",
    "ports",
    "network_mode",
    "command",
    "entrypoint",
    "privileged",
    "restart",
];

/// Services whose image is the ClearML/Trains server image (`:latest` upstream, pinned by the
/// upgrade).
pub const SERVER_SERVICES: &[&str] = &["apiserver", "fileserver", "webserver", "async_delete"];

/// One release's compose file, as upstream has it at its tag.
#[derive(Debug, Clone, Deserialize)]
pub struct ReleaseFacts {
    pub release: String,
    /// None for the untagged 1.17 → 2.0 upgrade file (commit 2976ce69).
    pub tag: Option<String>,
    pub commit: String,
    pub path: String,
    pub services: Map<String, Value>,
}

impl ReleaseFacts {
    /// `tag@commit path`, for messages.
    pub fn source(&self) -> String {
        format!(
            "clearml/clearml-server {}@{} {}",
            self.tag.as_deref().unwrap_or("untagged"),
            self.commit.get(..8).unwrap_or(&self.commit),
            self.path
        )
    }

    /// The deployment root upstream's host paths use.
    pub fn root(&self) -> &'static str {
        match self
            .services
            .get("apiserver")
            .and_then(|s| s.get("container_name"))
            .and_then(Value::as_str)
        {
            Some(n) if n.starts_with("trains-") => "/opt/trains",
            _ => "/opt/clearml",
        }
    }
}

/// Every recorded release, in version order (an unparsable file is a build defect that the
/// unit tests catch; here it yields no facts).
pub fn facts() -> &'static [ReleaseFacts] {
    static FACTS: OnceLock<Vec<ReleaseFacts>> = OnceLock::new();
    FACTS.get_or_init(|| serde_json::from_str(COMPOSE_FACTS_JSON).unwrap_or_default())
}

/// The releases of the same `major.minor` series as `v` (their compose files are what a
/// server reporting `v` may run: images report `X.Y.0` for some patch releases).
pub fn series_of(v: Version) -> Vec<&'static ReleaseFacts> {
    facts()
        .iter()
        .filter(|f| {
            f.release
                .parse::<Version>()
                .is_ok_and(|r| (r.major, r.minor) == (v.major, v.minor))
        })
        .collect()
}

/// A scalar as the text it stands for (`9200` → "9200", `true` → "true").
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn texts(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| text(x).map(Value::String).unwrap_or(Value::Null))
                .collect(),
        ),
        Value::Null => Value::Null,
        other => text(other).map(Value::String).unwrap_or(Value::Null),
    }
}

fn norm_env(v: &Value) -> Value {
    let mut out = Map::new();
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.insert(k.clone(), text(x).map(Value::String).unwrap_or(Value::Null));
            }
        }
        Value::Array(a) => {
            for item in a.iter().filter_map(text) {
                match item.split_once('=') {
                    Some((k, x)) => out.insert(k.to_string(), Value::String(x.to_string())),
                    None => out.insert(item, Value::Null),
                };
            }
        }
        _ => return Value::Null,
    }
    Value::Object(out)
}

fn norm_volume(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let target = m.get("target").and_then(text).unwrap_or_default();
            match m.get("source").and_then(text).filter(|s| !s.is_empty()) {
                None => Value::String(target),
                Some(src) => {
                    let ro = m.get("read_only").and_then(text).as_deref() == Some("true");
                    Value::String(format!("{src}:{target}{}", if ro { ":ro" } else { "" }))
                }
            }
        }
        other => text(other).map(Value::String).unwrap_or(Value::Null),
    }
}

fn norm_port(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let f = |k: &str| m.get(k).and_then(text).unwrap_or_default();
            let proto = m.get("protocol").and_then(text);
            Value::String(format!(
                "{}:{}{}",
                f("published"),
                f("target"),
                proto.map(|p| format!("/{p}")).unwrap_or_default()
            ))
        }
        other => text(other).map(Value::String).unwrap_or(Value::Null),
    }
}

/// The facts of one service, normalised as scripts/upstream-facts.py records them.
fn norm_service(svc: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for f in FIELDS {
        let v = svc.get(*f).cloned().unwrap_or(Value::Null);
        let n = match (*f, &v) {
            (_, Value::Null) => Value::Null,
            ("environment", _) => norm_env(&v),
            ("volumes", Value::Array(a)) => Value::Array(a.iter().map(norm_volume).collect()),
            ("ports", Value::Array(a)) => Value::Array(a.iter().map(norm_port).collect()),
            ("command" | "entrypoint", _) => texts(&v),
            ("privileged", Value::Bool(_)) => v.clone(),
            ("privileged", _) => match text(&v).as_deref() {
                Some("true") => Value::Bool(true),
                Some("false") => Value::Bool(false),
                _ => v.clone(),
            },
            _ => texts(&v),
        };
        out.insert((*f).to_owned(), n);
    }
    out
}

/// The services of a parsed compose file, normalised like the recorded facts.
pub fn services(doc: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(Value::Object(svcs)) = doc.get("services") {
        for (name, svc) in svcs {
            out.insert(name.clone(), Value::Object(norm_service(svc)));
        }
    }
    out
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(Value::Null) => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Every difference between `ours` (called `label`) and upstream's services, one line each.
/// `image_ok(service, ours, upstream)` decides whether two image references agree.
pub fn diff(
    label: &str,
    ours: &Map<String, Value>,
    up: &Map<String, Value>,
    image_ok: &dyn Fn(&str, &str, &str) -> bool,
) -> Vec<String> {
    let mut out = Vec::new();
    for name in up.keys().filter(|n| !ours.contains_key(*n)) {
        out.push(format!("{name}: service missing from the {label}"));
    }
    for name in ours.keys().filter(|n| !up.contains_key(*n)) {
        out.push(format!("{name}: service upstream does not have"));
    }
    for (name, up_svc) in up {
        let Some(our_svc) = ours.get(name) else {
            continue;
        };
        for f in FIELDS {
            let (s, u) = (our_svc.get(*f), up_svc.get(*f));
            match (*f, s, u) {
                ("environment", Some(Value::Object(se)), Some(Value::Object(ue))) => {
                    for (k, uv) in ue {
                        if se.get(k) != Some(uv) {
                            out.push(format!(
                                "{name} environment {k}: {label} {}, upstream {}",
                                show(se.get(k)),
                                show(Some(uv))
                            ));
                        }
                    }
                    for k in se.keys().filter(|k| !ue.contains_key(*k)) {
                        out.push(format!(
                            "{name} environment {k}: {label} {}, upstream (absent)",
                            show(se.get(k))
                        ));
                    }
                }
                ("image", Some(Value::String(si)), Some(Value::String(ui))) => {
                    if !image_ok(name, si, ui) {
                        out.push(format!("{name} image: {label} {si}, upstream {ui}"));
                    }
                }
                _ => {
                    if s != u {
                        out.push(format!(
                            "{name} {f}: {label} {}, upstream {}",
                            show(s),
                            show(u)
                        ));
                    }
                }
            }
        }
    }
    out
}

/// `repository:tag` of an image reference (`latest` when none is written).
pub fn split_image(r: &str) -> (&str, &str) {
    match r.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (r, "latest"),
    }
}

/// Whether a deployed image agrees with upstream's: the same repository, and the same tag
/// where upstream pins one (a `:latest` server image may be pinned to any exact tag).
pub fn deployed_image_ok(service: &str, ours: &str, up: &str) -> bool {
    let norm = |r: &str| -> String {
        let r = r.strip_prefix("docker.io/").unwrap_or(r);
        r.strip_prefix("library/").unwrap_or(r).to_owned()
    };
    let (ours, up) = (norm(ours), norm(up));
    let ((or, ot), (ur, ut)) = (split_image(&ours), split_image(&up));
    or == ur && (ot == ut || (ut == "latest" && SERVER_SERVICES.contains(&service)))
}

/// Every string value of `services` whose path is under `from`, moved under `to`: a custom
/// root compared with upstream's.
fn move_root(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) => {
            let (head, rest) = match s.split_once(':') {
                Some((h, r)) => (h, Some(r)),
                None => (s.as_str(), None),
            };
            if let Some(tail) = head.strip_prefix(from)
                && (tail.is_empty() || tail.starts_with('/'))
            {
                *s = match rest {
                    Some(r) => format!("{to}{tail}:{r}"),
                    None => format!("{to}{tail}"),
                };
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| move_root(x, from, to)),
        Value::Object(m) => m.values_mut().for_each(|x| move_root(x, from, to)),
        _ => {}
    }
}

/// How a host's compose file (`text`, deployed under `root`) differs from upstream's file of
/// the closest of `candidates`: that release and the differences, or `None` when nothing is
/// recorded to compare with. An empty list: the file is upstream's.
pub fn drift(
    text: &str,
    root: &str,
    candidates: &[&'static ReleaseFacts],
) -> Option<(&'static ReleaseFacts, Vec<String>)> {
    let doc: Value = serde_saphyr::from_str(text).ok()?;
    candidates
        .iter()
        .map(|f| {
            let mut ours = Value::Object(services(&doc));
            let up_root = f.root();
            if root.trim_end_matches('/') != up_root {
                // Only host paths start with the host's own root.
                move_root(&mut ours, root.trim_end_matches('/'), up_root);
            }
            let ours = match ours {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            (*f, diff("host", &ours, &f.services, &deployed_image_ok))
        })
        .min_by_key(|(_, d)| d.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tagged_release_is_recorded() {
        let f = facts();
        assert!(f.len() >= 49, "{}", f.len());
        assert!(f.iter().any(|r| r.release == "1.17.1"));
        assert_eq!(series_of(Version::new(1, 16, 0)).len(), 3);
    }

    fn facts_of(release: &str) -> &'static ReleaseFacts {
        facts()
            .iter()
            .find(|f| f.release == release)
            .unwrap_or_else(|| panic!("{release}"))
    }

    /// Upstream's own file, re-serialised: no drift.
    fn upstream_text(release: &str) -> String {
        let f = facts_of(release);
        let mut services = Map::new();
        for (name, svc) in &f.services {
            let mut s = Map::new();
            for (k, v) in svc.as_object().into_iter().flatten() {
                if !v.is_null() {
                    s.insert(k.clone(), v.clone());
                }
            }
            services.insert(name.clone(), Value::Object(s));
        }
        serde_json::json!({ "services": services }).to_string()
    }

    #[test]
    fn upstream_files_do_not_drift_even_pinned_or_under_another_root() {
        let f = facts_of("2.0.0");
        let text = upstream_text("2.0.0");
        let (_, d) = drift(&text, "/opt/clearml", &[f]).unwrap_or_else(|| panic!("no facts"));
        assert_eq!(d, Vec::<String>::new());
        let pinned = text.replace("allegroai/clearml:latest", "allegroai/clearml:2.0.0-613");
        // Host sides of the mounts under another root (container sides stay).
        let mut doc: Value = serde_json::from_str(&pinned).unwrap_or_default();
        for svc in doc["services"].as_object_mut().into_iter().flatten() {
            for v in svc.1["volumes"].as_array_mut().into_iter().flatten() {
                if let Some(s) = v.as_str().and_then(|s| s.strip_prefix("/opt/clearml/")) {
                    *v = Value::String(format!("/srv/cml/{s}"));
                }
            }
        }
        let (_, d) =
            drift(&doc.to_string(), "/srv/cml", &[f]).unwrap_or_else(|| panic!("no facts"));
        assert_eq!(d, Vec::<String>::new());
        // A container-side path moved too (a text substitution's mistake) is drift.
        let naive = pinned.replace("/opt/clearml/", "/srv/cml/");
        let (_, d) = drift(&naive, "/srv/cml", &[f]).unwrap_or_else(|| panic!("no facts"));
        assert!(
            d.iter().any(|l| l.starts_with("apiserver volumes:")),
            "{d:?}"
        );
    }

    #[test]
    fn site_changes_are_named() {
        let f = facts_of("2.0.0");
        let text = upstream_text("2.0.0")
            .replace("\"8080:80\"", "\"18080:80\"")
            .replace("mongo:6.0.19", "mongo:6.0.20");
        let mut doc: Value = serde_json::from_str(&text).unwrap_or_default();
        doc["services"]["portal"] = serde_json::json!({"image": "nginx"});
        doc["services"]["apiserver"]["environment"]["SITE_FLAG"] = Value::from("1");
        let (_, d) =
            drift(&doc.to_string(), "/opt/clearml", &[f]).unwrap_or_else(|| panic!("no facts"));
        let all = d.join("\n");
        for want in [
            "portal: service upstream does not have",
            "webserver ports: host [\"18080:80\"], upstream [\"8080:80\"]",
            "mongo image: host mongo:6.0.20, upstream mongo:6.0.19",
            "apiserver environment SITE_FLAG: host 1, upstream (absent)",
        ] {
            assert!(all.contains(want), "{want}\n{all}");
        }
        // The closest release of a series is the one compared with.
        let series = series_of(Version::new(1, 16, 0));
        let (r, d) = drift(&upstream_text("1.16.2"), "/opt/clearml", &series)
            .unwrap_or_else(|| panic!("no facts"));
        assert!(
            r.release.starts_with("1.16.") && d.is_empty(),
            "{}: {d:?}",
            r.release
        );
    }
}
