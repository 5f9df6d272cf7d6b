//! The simulated daemon's container lifecycle: pulling images, creating containers, and the
//! startup rules that decide whether each ClearML container runs, exits or keeps restarting
//! (the real failure rules of spec §5 and §8; the apiserver's own steps are in apiserver.rs).

use crate::releases::{ImageKind, series, vge};

/// The image's own `Config.Env`.
pub fn image_env(kind: ImageKind, version: &str, build: Option<&str>) -> Vec<String> {
    let mut env =
        vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string()];
    match kind {
        ImageKind::Server => {
            // The official Dockerfile sets these since 1.1 (spec §2.2).
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
