//! ClearML Serving beside a ClearML server (`init --serving PORT`): the containers of
//! github.com/clearml/clearml-serving's compose file, installed the way its README says (a clone,
//! then `cd docker && docker-compose --env-file example.env -f docker-compose.yml up`), with the
//! inference container's host port moved to PORT. They are not ClearML Server containers: an
//! upgrade must never stop or remove them, and a port check must name them as a port's holder.
//!
//! Upstream facts (clearml/clearml-serving `main` = c0ee96e, 2026-03-12; docs/upstream.md §5):
//! - every compose file publishes `"8080:8080"` for `clearml-serving-inference` and `"3000:3000"`
//!   for `clearml-serving-grafana`; tags 0.9.0 … 1.3.1 do too;
//! - `CLEARML_SERVING_PORT` (compose default 8080) is only the port the process listens on inside
//!   the container (`clearml_serving/serving/entrypoint.sh`: `SERVING_PORT="${CLEARML_SERVING_PORT:-8080}"`,
//!   `--port $SERVING_PORT`); no variable moves the host side, and neither the README nor
//!   clearml-docs (df22ffc, `docs/clearml_serving/clearml_serving_setup.md`) says how to run it
//!   beside a ClearML server, whose webserver also publishes 8080. A site that does so edits the
//!   host side of that mapping; that is what PORT is (8080: upstream's file unchanged).
//! - No top-level `name:`, so the project is named after the directory: `docker`.

use crate::releases::split_ref;
use crate::state::{Container, Host, Out, write_file};

/// Where the simulated site cloned clearml-serving (a choice of the simulator; upstream's README
/// clones it into the current directory).
pub const CLONE: &str = "/opt/clearml-serving";

/// The services of clearml/clearml-serving c0ee96e `docker/compose.yaml`, which is
/// `docker/docker-compose.yml` without its first lines (`version: "3"` and the comment "legacy.
/// To be used with docker-compose v1"), in upstream's order with upstream's keys, except:
/// comments and blank lines are left out, and so are the two bind mounts of configuration files
/// from the clone (prometheus `./prometheus.yml:/prometheus.yml`, grafana
/// `'./datasource.yml:/etc/grafana/provisioning/datasources/datasource.yaml'`), which the
/// simulator does not model. `@PORT@` is the inference container's host port (upstream: 8080).
/// What matters here: container names, images, published ports, restart policies.
const COMPOSE: &str = r#"services:
  zookeeper:
    image: bitnamilegacy/zookeeper:3.7.0
    container_name: clearml-serving-zookeeper
    environment:
      - ALLOW_ANONYMOUS_LOGIN=yes
    networks:
      - clearml-serving-backend
  kafka:
    image: bitnamilegacy/kafka:3.1.1
    container_name: clearml-serving-kafka
    environment:
      - KAFKA_BROKER_ID=1
      - KAFKA_CFG_LISTENERS=PLAINTEXT://clearml-serving-kafka:9092
      - KAFKA_CFG_ADVERTISED_LISTENERS=PLAINTEXT://clearml-serving-kafka:9092
      - KAFKA_CFG_ZOOKEEPER_CONNECT=clearml-serving-zookeeper:2181
      - ALLOW_PLAINTEXT_LISTENER=yes
      - KAFKA_CREATE_TOPICS="topic_test:1:1"
    depends_on:
      - zookeeper
    networks:
      - clearml-serving-backend
  prometheus:
    image: prom/prometheus:v2.34.0
    container_name: clearml-serving-prometheus
    command:
      - '--config.file=/prometheus.yml'
      - '--storage.tsdb.path=/prometheus'
      - '--web.console.libraries=/etc/prometheus/console_libraries'
      - '--web.console.templates=/etc/prometheus/consoles'
      - '--storage.tsdb.retention.time=200h'
      - '--web.enable-lifecycle'
    restart: unless-stopped
    depends_on:
      - clearml-serving-statistics
    networks:
      - clearml-serving-backend
  alertmanager:
    image: prom/alertmanager:v0.23.0
    container_name: clearml-serving-alertmanager
    restart: unless-stopped
    depends_on:
      - prometheus
      - grafana
    networks:
      - clearml-serving-backend
  grafana:
    image: grafana/grafana:8.4.4-ubuntu
    container_name: clearml-serving-grafana
    restart: unless-stopped
    ports:
      - "3000:3000"
    depends_on:
      - prometheus
    networks:
      - clearml-serving-backend
  clearml-serving-inference:
    image: clearml/clearml-serving-inference:latest
    container_name: clearml-serving-inference
    restart: unless-stopped
    security_opt:
      - seccomp:unconfined
    ports:
      - "@PORT@:8080"
    environment:
      CLEARML_WEB_HOST: ${CLEARML_WEB_HOST:-https://app.clear.ml}
      CLEARML_API_HOST: ${CLEARML_API_HOST:-https://api.clear.ml}
      CLEARML_FILES_HOST: ${CLEARML_FILES_HOST:-https://files.clear.ml}
      CLEARML_API_ACCESS_KEY: ${CLEARML_API_ACCESS_KEY}
      CLEARML_API_SECRET_KEY: ${CLEARML_API_SECRET_KEY}
      CLEARML_SERVING_TASK_ID: ${CLEARML_SERVING_TASK_ID:-}
      CLEARML_INFERENCE_TASK_ID: ${CLEARML_INFERENCE_TASK_ID:-}
      CLEARML_SERVING_PORT: ${CLEARML_SERVING_PORT:-8080}
      CLEARML_SERVING_POLL_FREQ: ${CLEARML_SERVING_POLL_FREQ:-1.0}
      CLEARML_DEFAULT_SERVE_SUFFIX: ${CLEARML_DEFAULT_SERVE_SUFFIX:-serve}
      CLEARML_DEFAULT_BASE_SERVE_URL: ${CLEARML_DEFAULT_BASE_SERVE_URL:-http://127.0.0.1:8080/serve}
      CLEARML_DEFAULT_KAFKA_SERVE_URL: ${CLEARML_DEFAULT_KAFKA_SERVE_URL:-clearml-serving-kafka:9092}
      CLEARML_DEFAULT_TRITON_GRPC_ADDR: ${CLEARML_DEFAULT_TRITON_GRPC_ADDR:-}
      CLEARML_USE_GUNICORN: ${CLEARML_USE_GUNICORN:-}
      CLEARML_SERVING_RESTART_ON_FAILURE: ${CLEARML_SERVING_RESTART_ON_FAILURE:-}
      CLEARML_SERVING_NUM_PROCESS: ${CLEARML_SERVING_NUM_PROCESS:-}
      CLEARML_EXTRA_PYTHON_PACKAGES: ${CLEARML_EXTRA_PYTHON_PACKAGES:-}
      CLEARML_ENABLE_ENDPOINT_TELEMETRY: ${CLEARML_ENABLE_ENDPOINT_TELEMETRY:-1}
      CLEARML_SERVING_DEV_CUDAEXCEPTION: ${CLEARML_SERVING_DEV_CUDAEXCEPTION:-0}
      AWS_ACCESS_KEY_ID: ${AWS_ACCESS_KEY_ID:-}
      AWS_SECRET_ACCESS_KEY: ${AWS_SECRET_ACCESS_KEY:-}
      AWS_DEFAULT_REGION: ${AWS_DEFAULT_REGION:-}
      GOOGLE_APPLICATION_CREDENTIALS: ${GOOGLE_APPLICATION_CREDENTIALS:-}
      AZURE_STORAGE_ACCOUNT: ${AZURE_STORAGE_ACCOUNT:-}
      AZURE_STORAGE_KEY: ${AZURE_STORAGE_KEY:-}
    depends_on:
      - kafka
    networks:
      - clearml-serving-backend
  clearml-serving-statistics:
    image: clearml/clearml-serving-statistics:latest
    container_name: clearml-serving-statistics
    restart: unless-stopped
    security_opt:
      - seccomp:unconfined
    environment:
      CLEARML_WEB_HOST: ${CLEARML_WEB_HOST:-https://app.clear.ml}
      CLEARML_API_HOST: ${CLEARML_API_HOST:-https://api.clear.ml}
      CLEARML_FILES_HOST: ${CLEARML_FILES_HOST:-https://files.clear.ml}
      CLEARML_API_ACCESS_KEY: ${CLEARML_API_ACCESS_KEY}
      CLEARML_API_SECRET_KEY: ${CLEARML_API_SECRET_KEY}
      CLEARML_SERVING_TASK_ID: ${CLEARML_SERVING_TASK_ID:-}
      CLEARML_DEFAULT_KAFKA_SERVE_URL: ${CLEARML_DEFAULT_KAFKA_SERVE_URL:-clearml-serving-kafka:9092}
      CLEARML_SERVING_POLL_FREQ: ${CLEARML_SERVING_POLL_FREQ:-1.0}
    depends_on:
      - kafka
    networks:
      - clearml-serving-backend
networks:
  clearml-serving-backend:
    driver: bridge
"#;

/// clearml/clearml-serving c0ee96e `docker/example.env`, as upstream ships it (the docs say to
/// put your server's credentials and the serving service's ID there; the simulator needs none).
const EXAMPLE_ENV: &str = r#"CLEARML_WEB_HOST="https://app.clear.ml"
CLEARML_API_HOST="https://api.clear.ml"
CLEARML_FILES_HOST="https://files.clear.ml"
CLEARML_API_ACCESS_KEY="<access_key_here>"
CLEARML_API_SECRET_KEY="<secret_key_here>"
CLEARML_SERVING_TASK_ID="<serving_service_id_here>"
"#;

/// A compose flavour, as far as Serving's files differ for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    V1,
    V2,
}

/// The compose file with the inference container published on host port `port`: `compose.yaml`
/// for compose v2, `docker-compose.yml` (with upstream's `version: "3"` line) for v1.
pub fn compose_yaml(port: u16, flavour: Flavour) -> String {
    let body = COMPOSE.replace("@PORT@", &port.to_string());
    match flavour {
        Flavour::V2 => body,
        Flavour::V1 => format!("version: \"3\"\n{body}"),
    }
}

/// Lay out the clone's `docker/` directory as its README says (the tests bring it up with the
/// host's real compose).
pub fn install(host: &Host, port: u16) -> Out {
    let dir = format!("{CLONE}/docker");
    for (name, fl) in [
        ("compose.yaml", Flavour::V2),
        ("docker-compose.yml", Flavour::V1),
    ] {
        if let Err(e) = write_file(
            &host.path(&format!("{dir}/{name}")),
            compose_yaml(port, fl).as_bytes(),
        ) {
            return e.into();
        }
    }
    match write_file(
        &host.path(&format!("{dir}/example.env")),
        EXAMPLE_ENV.as_bytes(),
    ) {
        Ok(()) => Out::default(),
        Err(e) => e.into(),
    }
}

fn repo_of(c: &Container) -> String {
    split_ref(&c.image).0
}

/// Whether `c` is ClearML Serving's inference container (by its image).
pub fn is_inference(c: &Container) -> bool {
    let r = repo_of(c);
    r.ends_with("/clearml-serving-inference") || r.ends_with("/clearml-serving-inference-intel")
}

/// What a container of no ClearML role logs at start: for Serving's inference container, the
/// configuration its entrypoint prints (clearml_serving/serving/entrypoint.sh, first lines).
pub fn start_logs(c: &Container) -> Vec<String> {
    if !is_inference(c) {
        return vec![];
    }
    let v = |k: &str| c.env_var(k).unwrap_or("").to_string();
    let port = Some(v("CLEARML_SERVING_PORT"))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "8080".into());
    vec![
        format!("CLEARML_SERVING_TASK_ID={}", v("CLEARML_SERVING_TASK_ID")),
        format!(
            "CLEARML_INFERENCE_TASK_ID={}",
            v("CLEARML_INFERENCE_TASK_ID")
        ),
        format!("CLEARML_SERVING_PORT={}", v("CLEARML_SERVING_PORT")),
        format!("SERVING_PORT={port}"),
        "Starting Uvicorn server - single worker".into(),
    ]
}

/// HTTP on a Serving container's port: the inference service is a FastAPI app (uvicorn), whose
/// unknown paths answer FastAPI's 404; Grafana answers `/api/health`.
pub fn http(c: &Container, path: &str) -> Option<(u16, &'static str, String)> {
    let p = path.split('?').next().unwrap_or(path);
    if is_inference(c) {
        return Some((404, "application/json", "{\"detail\":\"Not Found\"}".into()));
    }
    if repo_of(c) == "grafana/grafana" && p == "/api/health" {
        return Some((
            200,
            "application/json; charset=UTF-8",
            format!(
                "{{\n  \"commit\": \"\",\n  \"database\": \"ok\",\n  \"version\": \"{}\"\n}}",
                c.version.trim_end_matches("-ubuntu")
            ),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compose_file_keeps_upstreams_names_images_and_ports() {
        let y = compose_yaml(8090, Flavour::V2);
        let v: serde_json::Value = serde_saphyr::from_str(&y).expect("yaml");
        let svcs = v["services"].as_object().expect("services");
        // (service, container_name, image, published ports): clearml/clearml-serving c0ee96e
        // docker/compose.yaml, but for the inference container's host port.
        let want = [
            (
                "zookeeper",
                "clearml-serving-zookeeper",
                "bitnamilegacy/zookeeper:3.7.0",
                vec![],
            ),
            (
                "kafka",
                "clearml-serving-kafka",
                "bitnamilegacy/kafka:3.1.1",
                vec![],
            ),
            (
                "prometheus",
                "clearml-serving-prometheus",
                "prom/prometheus:v2.34.0",
                vec![],
            ),
            (
                "alertmanager",
                "clearml-serving-alertmanager",
                "prom/alertmanager:v0.23.0",
                vec![],
            ),
            (
                "grafana",
                "clearml-serving-grafana",
                "grafana/grafana:8.4.4-ubuntu",
                vec!["3000:3000"],
            ),
            (
                "clearml-serving-inference",
                "clearml-serving-inference",
                "clearml/clearml-serving-inference:latest",
                vec!["8090:8080"],
            ),
            (
                "clearml-serving-statistics",
                "clearml-serving-statistics",
                "clearml/clearml-serving-statistics:latest",
                vec![],
            ),
        ];
        assert_eq!(svcs.len(), want.len());
        for ((name, svc), (n, cn, img, ports)) in svcs.iter().zip(want) {
            assert_eq!(name, n);
            assert_eq!(svc["container_name"], cn, "{n}");
            assert_eq!(svc["image"], img, "{n}");
            let got: Vec<&str> = svc["ports"]
                .as_array()
                .map(|a| a.iter().filter_map(|p| p.as_str()).collect())
                .unwrap_or_default();
            assert_eq!(got, ports, "{n}");
            assert!(
                matches!(
                    crate::releases::registry(img),
                    crate::releases::Lookup::Found(_)
                ),
                "{img} is in the registry"
            );
        }
        assert!(compose_yaml(8080, Flavour::V1).starts_with("version: \"3\"\nservices:\n"));
        assert!(compose_yaml(8080, Flavour::V1).contains("- \"8080:8080\""));
    }
}
