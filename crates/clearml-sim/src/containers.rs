//! The simulated daemon's container lifecycle: pulling images, creating containers, and the
//! startup rules that decide whether each ClearML container runs, exits or keeps restarting
//! (the failure rules of docs/simulator.md "Rules": MongoDB FCV and Elasticsearch upgrade rules
//! from docs/upstream.md §6, symptoms from clearml/clearml-server issues #267, #273, #280 and #70
//! and docker-library/mongo#485; the apiserver's own steps are in apiserver.rs).

use crate::releases::{ImageKind, series, vge};

/// The image's own `Config.Env`.
pub fn image_env(kind: ImageKind, version: &str, build: Option<&str>) -> Vec<String> {
    let mut env =
        vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string()];
    match kind {
        ImageKind::Server => {
            // The official Dockerfile sets these (clearml/clearml-server
            // `docker/build/Dockerfile` l.32-35, docs/upstream.md §2.2, which finds that file
            // from tag 1.2.0 on; that 1.1 images set them too is unverified: no upstream source
            // recorded).
            if vge(version, "1.1.0") {
                env.push(format!("CLEARML_SERVER_VERSION={version}"));
                env.push(format!("CLEARML_SERVER_BUILD={}", build.unwrap_or("0")));
            }
        }
        ImageKind::Mongo => {
            env.push(format!("MONGO_VERSION={version}"));
            env.push(format!("MONGO_MAJOR={}", series(version)));
        }
        ImageKind::Elastic => {
            env.push("ELASTIC_CONTAINER=true".into());
            env.push(format!("ES_VERSION={version}"));
        }
        ImageKind::Redis => env.push(format!("REDIS_VERSION={version}")),
        ImageKind::AgentServices | ImageKind::Other => {}
    }
    env
}

pub(crate) enum Outcome {
    Run,
    Exit(i32),
}

pub(crate) struct Verdict {
    pub(crate) outcome: Outcome,
    pub(crate) logs: Vec<String>,
}

impl Verdict {
    pub(crate) fn run(logs: Vec<String>) -> Verdict {
        Verdict {
            outcome: Outcome::Run,
            logs,
        }
    }
    pub(crate) fn exit(code: i32, logs: Vec<String>) -> Verdict {
        Verdict {
            outcome: Outcome::Exit(code),
            logs,
        }
    }
}
