//! `compose_rebase`: a docker-compose file moved to another root directory and with images
//! pinned, by parsing it: only the host side of bind mounts changes (never a container-side
//! path), and only images named exactly. A text substitution over the whole file cannot tell
//! `/opt/clearml/config:/opt/clearml/config` apart, nor `PYTHONPATH: /opt/clearml/apiserver`.

use minijinja::value::{Kwargs, Value};
use minijinja::{Error, State};
use serde_json::{Map, Value as J};

use super::{check_defined, fail, to_j};
use crate::yaml;

/// What to change in a compose file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rebase {
    /// The root the file's host paths use (`/opt/clearml`) and the one they should use.
    pub root_from: String,
    pub root_to: String,
    /// Image reference → the reference to use instead (`clearml/server:latest` →
    /// `clearml/server:2.3.0`).
    pub images: Vec<(String, String)>,
    /// Environment variables whose value is a `host:container` mount for another container
    /// (the services agent's `CLEARML_AGENT_DOCKER_HOST_MOUNT`): their host side moves too.
    pub env_mounts: Vec<String>,
}

impl Rebase {
    /// `path` under the new root, if it is `root_from` or below it.
    fn path(&self, path: &str) -> Option<String> {
        let from = self.root_from.trim_end_matches('/');
        let to = self.root_to.trim_end_matches('/');
        if from.is_empty() || from == to {
            return None;
        }
        let rest = path.strip_prefix(from)?;
        (rest.is_empty() || rest.starts_with('/')).then(|| format!("{to}{rest}"))
    }

    /// A short-syntax mount `SRC:DST[:MODE]` with SRC moved; `DST` alone (an anonymous volume)
    /// and named volumes stay.
    fn short_mount(&self, spec: &str) -> Option<String> {
        let (src, rest) = spec.split_once(':')?;
        if !src.starts_with('/') {
            return None;
        }
        self.path(src).map(|s| format!("{s}:{rest}"))
    }
}

/// Why a compose file cannot be rebased.
#[derive(Debug, thiserror::Error)]
pub enum RebaseError {
    /// The text is not YAML.
    #[error(transparent)]
    Yaml(#[from] serde_saphyr::Error),
    /// The YAML is not a mapping with a `services` mapping.
    #[error("no `services` mapping")]
    NoServices,
}

/// The compose file `text` with `r` applied, as YAML (key order kept; comments are not).
pub fn rebase(text: &str, r: &Rebase) -> Result<String, RebaseError> {
    let mut doc: J = serde_saphyr::from_str(text)?;
    let services = doc
        .get_mut("services")
        .and_then(J::as_object_mut)
        .ok_or(RebaseError::NoServices)?;
    for (_, svc) in services.iter_mut() {
        let Some(svc) = svc.as_object_mut() else {
            continue;
        };
        if let Some(J::String(image)) = svc.get_mut("image")
            && let Some((_, to)) = r.images.iter().find(|(from, _)| from == image)
        {
            *image = to.clone();
        }
        if let Some(J::Array(vols)) = svc.get_mut("volumes") {
            for v in vols {
                rebase_volume(v, r);
            }
        }
        rebase_env(svc, r);
    }
    Ok(yaml::dump(
        &doc,
        yaml::DumpOptions {
            indent: 2,
            width: usize::MAX,
            default_flow_style: Some(false),
            sort_keys: false,
            explicit_start: false,
        },
    ))
}

fn rebase_volume(v: &mut J, r: &Rebase) {
    match v {
        J::String(spec) => {
            if let Some(s) = r.short_mount(spec) {
                *spec = s;
            }
        }
        J::Object(m) => {
            let bind = m
                .get("type")
                .and_then(J::as_str)
                .is_none_or(|t| t == "bind");
            if bind
                && let Some(J::String(src)) = m.get_mut("source")
                && let Some(s) = r.path(src)
            {
                *src = s;
            }
        }
        _ => {}
    }
}

fn rebase_env(svc: &mut Map<String, J>, r: &Rebase) {
    match svc.get_mut("environment") {
        Some(J::Object(env)) => {
            for name in &r.env_mounts {
                if let Some(J::String(v)) = env.get_mut(name)
                    && let Some(s) = r.short_mount(v)
                {
                    *v = s;
                }
            }
        }
        Some(J::Array(env)) => {
            for item in env {
                let J::String(kv) = item else { continue };
                let Some((k, v)) = kv.split_once('=') else {
                    continue;
                };
                if r.env_mounts.iter().any(|n| n == k)
                    && let Some(s) = r.short_mount(v)
                {
                    *kv = format!("{k}={s}");
                }
            }
        }
        _ => {}
    }
}

/// `text | compose_rebase(root_from=..., root_to=..., images={...}, env_mounts=[...])`.
pub(super) fn compose_rebase(state: &State, text: &Value, kwargs: Kwargs) -> Result<String, Error> {
    check_defined(state, text)?;
    let Some(text) = text.as_str() else {
        return Err(fail(
            "compose_rebase: expects the compose file's text".to_owned(),
        ));
    };
    let root_from: Option<String> = kwargs.get("root_from")?;
    let root_to: Option<String> = kwargs.get("root_to")?;
    let images: Option<Value> = kwargs.get("images")?;
    let env_mounts: Option<Vec<String>> = kwargs.get("env_mounts")?;
    kwargs.assert_all_used()?;
    let images = match images.map(|v| to_j(&v)).transpose()? {
        None | Some(J::Null) => Vec::new(),
        Some(J::Object(m)) => m
            .into_iter()
            .map(|(k, v)| match v {
                J::String(s) => Ok((k, s)),
                other => Err(fail(format!(
                    "compose_rebase: images[{k:?}] must be a string, not {other}"
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(fail(format!(
                "compose_rebase: images must be a mapping, not {other}"
            )));
        }
    };
    let r = Rebase {
        root_from: root_from.unwrap_or_default(),
        root_to: root_to.unwrap_or_default(),
        images,
        env_mounts: env_mounts.unwrap_or_default(),
    };
    rebase(text, &r).map_err(|e| fail(format!("compose_rebase: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"services:
  apiserver:
    image: clearml/server:latest
    volumes:
    - /opt/clearml/logs:/var/log/clearml
    - /opt/clearml/config:/opt/clearml/config
    - /opt/clearmlx/other:/x
    environment:
      PYTHONPATH: /opt/clearml/apiserver
      CLEARML__apiserver__pre_populate__zip_files: "/opt/clearml/db-pre-populate"
    ports:
    - "8008:8008"
  elasticsearch:
    image: elasticsearch:8.17.0
    volumes:
    - type: bind
      source: /opt/clearml/data/elastic_7
      target: /usr/share/elasticsearch/data
    - /usr/share/elasticsearch/logs
  agent-services:
    image: clearml/clearml-agent-services:latest
    environment:
      CLEARML_AGENT_DOCKER_HOST_MOUNT: "/opt/clearml/agent:/root/.clearml"
      SHUTDOWN_IF_NO_ACCESS_KEY: 1
    volumes:
    - /var/run/docker.sock:/var/run/docker.sock
    - /opt/clearml/agent:/root/.clearml
"#;

    fn moved() -> J {
        let r = Rebase {
            root_from: "/opt/clearml".into(),
            root_to: "/srv/cml/".into(),
            images: vec![(
                "clearml/server:latest".into(),
                "clearml/server:2.3.0".into(),
            )],
            env_mounts: vec!["CLEARML_AGENT_DOCKER_HOST_MOUNT".into()],
        };
        let out = rebase(FILE, &r).unwrap_or_else(|e| panic!("{e}"));
        serde_saphyr::from_str(&out).unwrap_or_else(|e| panic!("{e}\n{out}"))
    }

    #[test]
    fn only_host_sides_move() {
        let d = moved();
        let api = &d["services"]["apiserver"];
        assert_eq!(api["image"], "clearml/server:2.3.0");
        assert_eq!(
            api["volumes"],
            serde_json::json!([
                "/srv/cml/logs:/var/log/clearml",
                "/srv/cml/config:/opt/clearml/config",
                "/opt/clearmlx/other:/x"
            ])
        );
        // Container-side settings stay as upstream has them.
        assert_eq!(api["environment"]["PYTHONPATH"], "/opt/clearml/apiserver");
        assert_eq!(
            api["environment"]["CLEARML__apiserver__pre_populate__zip_files"],
            "/opt/clearml/db-pre-populate"
        );
        assert_eq!(api["ports"], serde_json::json!(["8008:8008"]));
        let es = &d["services"]["elasticsearch"]["volumes"];
        assert_eq!(es[0]["source"], "/srv/cml/data/elastic_7");
        assert_eq!(es[0]["target"], "/usr/share/elasticsearch/data");
        assert_eq!(es[1], "/usr/share/elasticsearch/logs");
        let agent = &d["services"]["agent-services"];
        assert_eq!(
            agent["environment"]["CLEARML_AGENT_DOCKER_HOST_MOUNT"],
            "/srv/cml/agent:/root/.clearml"
        );
        assert_eq!(agent["environment"]["SHUTDOWN_IF_NO_ACCESS_KEY"], 1);
        assert_eq!(
            agent["volumes"][0],
            "/var/run/docker.sock:/var/run/docker.sock"
        );
        assert_eq!(agent["image"], "clearml/clearml-agent-services:latest");
    }

    #[test]
    fn the_same_root_changes_nothing_but_images() {
        let r = Rebase {
            root_from: "/opt/clearml".into(),
            root_to: "/opt/clearml".into(),
            ..Rebase::default()
        };
        let out = rebase(FILE, &r).unwrap_or_else(|e| panic!("{e}"));
        let a: J = serde_saphyr::from_str(&out).unwrap_or_else(|e| panic!("{e}"));
        let b: J = serde_saphyr::from_str(FILE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a, b);
    }

    #[test]
    fn strings_that_look_like_other_types_stay_strings() {
        let text = "services:\n  s:\n    image: x\n    environment:\n      A: \"true\"\n      B: \"500\"\n      C: \"22:22\"\n      D: \"\"\n";
        let out = rebase(text, &Rebase::default()).unwrap_or_else(|e| panic!("{e}"));
        let a: J = serde_saphyr::from_str(&out).unwrap_or_else(|e| panic!("{e}"));
        let b: J = serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a, b, "{out}");
    }

    #[test]
    fn not_a_compose_file_is_an_error() {
        assert!(rebase("[1, 2]", &Rebase::default()).is_err());
        assert!(rebase("services: [", &Rebase::default()).is_err());
    }
}
