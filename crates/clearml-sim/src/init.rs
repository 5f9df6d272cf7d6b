//! `clearml-sim init`: lays out a host of a given release as a real installation would have it
//! (root dir, that release's compose file as upstream wrote it (see `COMPOSE`), `.env`, data
//! directories with markers), plus `compose-file`. The images and containers are the real
//! Docker host's (`host-install` pulls them, the tests run `compose up`).

use crate::elastic;
use crate::mongo;
use crate::redis;
use crate::releases::{self, Stack, rdb_version, series, stack};
use crate::state::{Host, Out, SimError, hex_id, io_err, now, set_mode, write_file};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default)]
pub struct InitOpts {
    pub era: String,
    pub root: Option<String>,
    pub no_clearml: bool,
    pub agent_key: Option<String>,
    pub agent_secret: Option<String>,
    pub host_ip: Option<String>,
    pub git_user: Option<String>,
    pub git_pass: Option<String>,
    /// Keep the agent settings out of `.env` (as if they had been exported in the shell at install).
    pub no_dotenv: bool,
    pub pin: bool,
    /// Also lay out ClearML Serving's clone (see `serving.rs`), its inference container to be
    /// published on this host port.
    pub serving: Option<u16>,
}

/// Upstream's compose files, one row per line: `FROM UNTIL |LINE` puts LINE in the compose file
/// of every release R with FROM <= R < UNTIL (`-`: still in v2.3.0's), in this order.
///
/// Source of every row: repository clearml/clearml-server (github.com/clearml/clearml-server),
/// the compose file at tag R (spelled `R` up to 1.2.0, `vR` from v1.3.0, `v1.10` for 1.10.0):
/// docker-compose.yml up to 0.16.1, docker/docker-compose.yml from 0.17.0 (no tag has both).
/// Releases without a tag: 1.17.1 is commit 2976ce69's upgrade/1_17_to_2_0/docker-compose.yml,
/// which is v1.17.0's file but for its server image (`releases::compose_server_image`); 1.15.1
/// (a HELM tag only) gets v1.15.0's file. Upstream's comments and blank lines are left out.
/// Placeholders: `@ROOT@` is the release's default root (/opt/trains up to 0.16.1, /opt/clearml
/// from 0.17.0) where it is the host side of a bind mount, including the one the services agent
/// is told to make (`*_AGENT_DOCKER_HOST_MOUNT`); `--root` replaces only these. `@SERVER@`,
/// `@ELASTIC@`, `@MONGO@`, `@REDIS@`, `@AGENT@` are the images of `releases::stack`.
/// crates/clearml-sim/tests/upstream.rs checks every release's file against facts recorded from the upstream
/// repository (playbooks/clearml/upstream-compose.json, scripts/upstream-facts.py).
const COMPOSE: &str = r##"
0.10.0 -      |version: "3.6"
0.10.0 -      |services:
# services.apiserver
0.10.0 -      |  apiserver:
0.10.0 -      |    command:
0.10.0 -      |    - apiserver
0.10.0 0.17.0 |    container_name: trains-apiserver
0.17.0 -      |    container_name: clearml-apiserver
0.10.0 -      |    image: @SERVER@
# 0.10.x: every container on the host network, no ports published; 0.10–0.11: long-syntax binds.
0.10.0 0.11.0 |    network_mode: host
0.10.0 0.12.0 |    restart: always
0.12.0 -      |    restart: unless-stopped
0.10.0 -      |    volumes:
0.10.0 0.12.0 |    - type: bind
0.10.0 0.12.0 |      source: @ROOT@/logs
0.10.0 0.12.0 |      target: /var/log/trains
0.11.0 0.12.0 |    - type: bind
0.11.0 0.12.0 |      source: @ROOT@/config
0.11.0 0.12.0 |      target: /opt/trains/config
0.11.0 0.12.0 |    links:
0.11.0 0.12.0 |      - mongo:mongo
0.11.0 0.12.0 |      - elasticsearch:elasticsearch
0.11.0 0.12.0 |      - fileserver:fileserver
0.12.0 1.0.0  |    - @ROOT@/logs:/var/log/trains
0.12.0 1.0.0  |    - @ROOT@/config:/opt/trains/config
1.0.0  -      |    - @ROOT@/logs:/var/log/clearml
1.0.0  -      |    - @ROOT@/config:/opt/clearml/config
0.16.0 -      |    - @ROOT@/data/fileserver:/mnt/fileserver
0.12.0 -      |    depends_on:
0.12.0 -      |      - redis
0.12.0 -      |      - mongo
0.12.0 -      |      - elasticsearch
0.12.0 -      |      - fileserver
0.11.0 -      |    environment:
# Service addresses: ELASTIC_SERVICE_SERVICE_HOST (0.11), ELASTIC_SERVICE_HOST (0.12),
# TRAINS_* with ports (0.13), CLEARML_* (1.0.0).
0.11.0 0.12.0 |      ELASTIC_SERVICE_SERVICE_HOST: elasticsearch
0.11.0 0.12.0 |      MONGODB_SERVICE_SERVICE_HOST: mongo
0.12.0 0.13.0 |      ELASTIC_SERVICE_HOST: elasticsearch
0.12.0 0.13.0 |      MONGODB_SERVICE_HOST: mongo
0.12.0 0.13.0 |      REDIS_SERVICE_HOST: redis
0.13.0 1.0.0  |      TRAINS_ELASTIC_SERVICE_HOST: elasticsearch
0.13.0 1.0.0  |      TRAINS_ELASTIC_SERVICE_PORT: 9200
0.13.0 1.0.0  |      TRAINS_MONGODB_SERVICE_HOST: mongo
0.13.0 1.0.0  |      TRAINS_MONGODB_SERVICE_PORT: 27017
0.13.0 1.0.0  |      TRAINS_REDIS_SERVICE_HOST: redis
0.13.0 1.0.0  |      TRAINS_REDIS_SERVICE_PORT: 6379
0.15.1 1.0.0  |      TRAINS_SERVER_DEPLOYMENT_TYPE: ${TRAINS_SERVER_DEPLOYMENT_TYPE:-linux}
0.14.0 0.16.0 |      TRAINS__apiserver__mongo__pre_populate__enabled: "true"
0.14.0 0.16.0 |      TRAINS__apiserver__mongo__pre_populate__zip_file: "/opt/trains/db-pre-populate/export.zip"
0.16.0 1.0.0  |      TRAINS__apiserver__pre_populate__enabled: "true"
0.16.0 1.0.0  |      TRAINS__apiserver__pre_populate__zip_files: "/opt/trains/db-pre-populate"
0.16.0 1.0.0  |      TRAINS__apiserver__pre_populate__artifacts_path: "/mnt/fileserver"
1.0.0  -      |      CLEARML_ELASTIC_SERVICE_HOST: elasticsearch
1.0.0  -      |      CLEARML_ELASTIC_SERVICE_PORT: 9200
# ES credentials (clearml-server #93, in 1.2.0), gone again in v1.16.0.
1.2.0  1.16.0 |      CLEARML_ELASTIC_SERVICE_PASSWORD: ${ELASTIC_PASSWORD}
1.0.0  -      |      CLEARML_MONGODB_SERVICE_HOST: mongo
1.0.0  -      |      CLEARML_MONGODB_SERVICE_PORT: 27017
1.0.0  -      |      CLEARML_REDIS_SERVICE_HOST: redis
1.0.0  -      |      CLEARML_REDIS_SERVICE_PORT: 6379
1.0.0  1.16.0 |      CLEARML_SERVER_DEPLOYMENT_TYPE: ${CLEARML_SERVER_DEPLOYMENT_TYPE:-linux}
1.16.0 -      |      CLEARML_SERVER_DEPLOYMENT_TYPE: linux
1.0.0  -      |      CLEARML__apiserver__pre_populate__enabled: "true"
1.0.0  -      |      CLEARML__apiserver__pre_populate__zip_files: "/opt/clearml/db-pre-populate"
1.0.0  -      |      CLEARML__apiserver__pre_populate__artifacts_path: "/mnt/fileserver"
1.7.0  -      |      CLEARML__services__async_urls_delete__enabled: "true"
1.11.0 -      |      CLEARML__services__async_urls_delete__fileserver__url_prefixes: "[${CLEARML_FILES_HOST:-}]"
1.16.0 -      |      CLEARML__secure__credentials__services_agent__user_key: ${CLEARML_AGENT_ACCESS_KEY:-}
1.16.0 -      |      CLEARML__secure__credentials__services_agent__user_secret: ${CLEARML_AGENT_SECRET_KEY:-}
0.11.0 -      |    ports:
0.11.0 -      |    - "8008:8008"
0.11.0 -      |    networks:
0.11.0 -      |      - backend
0.17.0 -      |      - frontend
# services.elasticsearch
0.10.0 -      |  elasticsearch:
0.11.0 -      |    networks:
0.11.0 -      |      - backend
0.10.0 0.17.0 |    container_name: trains-elastic
0.17.0 -      |    container_name: clearml-elastic
0.10.0 -      |    environment:
0.10.0 1.2.0  |      ES_JAVA_OPTS: -Xms2g -Xmx2g
1.2.0  1.16.0 |      ES_JAVA_OPTS: -Xms2g -Xmx2g -Dlog4j2.formatMsgNoLookups=true
1.2.0  1.16.0 |      ELASTIC_PASSWORD: ${ELASTIC_PASSWORD}
0.10.0 -      |      bootstrap.memory_lock: "true"
0.10.0 0.17.0 |      cluster.name: trains
0.17.0 -      |      cluster.name: clearml
0.10.0 -      |      cluster.routing.allocation.node_initial_primaries_recoveries: "500"
# Disk watermarks: 10gb in 0.17.0, 500mb from 1.0.0.
0.17.0 1.0.0  |      cluster.routing.allocation.disk.watermark.low: 10gb
0.17.0 1.0.0  |      cluster.routing.allocation.disk.watermark.high: 10gb
0.17.0 1.0.0  |      cluster.routing.allocation.disk.watermark.flood_stage: 10gb
1.0.0  -      |      cluster.routing.allocation.disk.watermark.low: 500mb
1.0.0  -      |      cluster.routing.allocation.disk.watermark.high: 500mb
1.0.0  -      |      cluster.routing.allocation.disk.watermark.flood_stage: 500mb
# ES 5-only settings went with ES 7 (0.16.0); the ones ES 8 refuses went in v1.15.0.
0.10.0 1.15.0 |      discovery.zen.minimum_master_nodes: "1"
0.16.0 -      |      discovery.type: "single-node"
0.10.0 -      |      http.compression_level: "7"
0.10.0 1.15.0 |      node.ingest: "true"
0.10.0 0.17.0 |      node.name: trains
0.17.0 -      |      node.name: clearml
0.10.0 1.15.0 |      reindex.remote.whitelist: '*.*'
0.10.0 0.16.0 |      script.inline: "true"
0.10.0 0.16.0 |      script.painless.regex.enabled: "true"
0.10.0 0.16.0 |      script.update: "true"
0.10.0 0.16.0 |      thread_pool.bulk.queue_size: "2000"
0.10.0 0.16.0 |      thread_pool.search.queue_size: "10000"
0.10.0 1.15.0 |      xpack.monitoring.enabled: "false"
1.15.0 -      |      reindex.remote.whitelist: "'*.*'"
0.10.0 -      |      xpack.security.enabled: "false"
0.11.0 -      |    ulimits:
0.11.0 -      |      memlock:
0.11.0 -      |        soft: -1
0.11.0 -      |        hard: -1
0.12.0 -      |      nofile:
0.12.0 -      |        soft: 65536
0.12.0 -      |        hard: 65536
0.10.0 -      |    image: @ELASTIC@
0.10.0 0.11.0 |    network_mode: host
0.10.0 0.12.0 |    restart: always
0.12.0 -      |    restart: unless-stopped
0.10.0 -      |    volumes:
0.10.0 0.12.0 |    - type: bind
0.10.0 0.12.0 |      source: @ROOT@/data/elastic
0.10.0 0.12.0 |      target: /usr/share/elasticsearch/data
0.12.0 0.16.0 |    - @ROOT@/data/elastic:/usr/share/elasticsearch/data
0.16.0 1.0.0  |    - @ROOT@/data/elastic_7:/usr/share/elasticsearch/data
1.0.0  -      |      - @ROOT@/data/elastic_7:/usr/share/elasticsearch/data
1.0.0  -      |      - /usr/share/elasticsearch/logs
0.11.0 0.17.0 |    ports:
0.11.0 0.17.0 |    - "9200:9200"
# services.fileserver
0.10.0 -      |  fileserver:
0.11.0 -      |    networks:
0.11.0 -      |      - backend
1.0.0  -      |      - frontend
0.10.0 -      |    command:
0.10.0 -      |    - fileserver
0.10.0 0.17.0 |    container_name: trains-fileserver
0.17.0 -      |    container_name: clearml-fileserver
0.10.0 -      |    image: @SERVER@
1.7.0  -      |    environment:
1.7.0  -      |      CLEARML__fileserver__delete__allow_batch: "true"
0.10.0 0.11.0 |    network_mode: host
0.10.0 0.12.0 |    restart: always
0.12.0 -      |    restart: unless-stopped
0.10.0 -      |    volumes:
0.10.0 0.12.0 |    - type: bind
0.10.0 0.12.0 |      source: @ROOT@/logs
0.10.0 0.12.0 |      target: /var/log/trains
0.10.0 0.12.0 |    - type: bind
0.10.0 0.12.0 |      source: @ROOT@/data/fileserver
0.10.0 0.12.0 |      target: /mnt/fileserver
0.12.0 1.0.0  |    - @ROOT@/logs:/var/log/trains
1.0.0  -      |    - @ROOT@/logs:/var/log/clearml
0.12.0 -      |    - @ROOT@/data/fileserver:/mnt/fileserver
0.15.1 1.0.0  |    - @ROOT@/config:/opt/trains/config
1.0.0  -      |    - @ROOT@/config:/opt/clearml/config
0.11.0 -      |    ports:
0.11.0 -      |    - "8081:8081"
# services.mongo
0.10.0 -      |  mongo:
0.11.0 -      |    networks:
0.11.0 -      |      - backend
0.10.0 0.17.0 |    container_name: trains-mongo
0.17.0 -      |    container_name: clearml-mongo
0.10.0 -      |    image: @MONGO@
0.10.0 0.11.0 |    network_mode: host
0.10.0 0.12.0 |    restart: always
0.12.0 -      |    restart: unless-stopped
# The sort-memory parameter took its MongoDB 4.4 name with mongo 4.4.9 (v1.3.0); 4.4 refuses the
# old one, 3.6 the new one. 1.2.0's tag still has mongo 3.6.23 on data/mongo.
0.12.0 1.3.0  |    command: --setParameter internalQueryExecMaxBlockingSortBytes=196100200
1.3.0  -      |    command: --setParameter internalQueryMaxBlockingSortMemoryUsageBytes=196100200
0.10.0 -      |    volumes:
0.10.0 0.12.0 |    - type: bind
0.10.0 0.12.0 |      source: @ROOT@/data/mongo/db
0.10.0 0.12.0 |      target: /data/db
0.10.0 0.12.0 |    - type: bind
0.10.0 0.12.0 |      source: @ROOT@/data/mongo/configdb
0.10.0 0.12.0 |      target: /data/configdb
0.12.0 1.3.0  |    - @ROOT@/data/mongo/db:/data/db
0.12.0 1.3.0  |    - @ROOT@/data/mongo/configdb:/data/configdb
1.3.0  -      |    - @ROOT@/data/mongo_4/db:/data/db
1.3.0  -      |    - @ROOT@/data/mongo_4/configdb:/data/configdb
0.11.0 0.17.0 |    ports:
0.11.0 0.17.0 |    - "27017:27017"
# services.redis
0.12.0 -      |  redis:
0.12.0 -      |    networks:
0.12.0 -      |      - backend
0.12.0 0.17.0 |    container_name: trains-redis
0.17.0 -      |    container_name: clearml-redis
0.12.0 -      |    image: @REDIS@
0.12.0 -      |    restart: unless-stopped
0.12.0 -      |    volumes:
0.12.0 -      |    - @ROOT@/data/redis:/data
0.12.0 0.17.0 |    ports:
0.12.0 0.17.0 |    - "6379:6379"
# services.webserver
0.10.0 -      |  webserver:
0.11.0 0.12.0 |    networks:
0.11.0 0.12.0 |      - backend
0.10.0 -      |    command:
0.10.0 -      |    - webserver
0.10.0 0.17.0 |    container_name: trains-webserver
0.17.0 -      |    container_name: clearml-webserver
0.10.0 -      |    image: @SERVER@
0.10.0 0.11.0 |    network_mode: host
0.10.0 0.12.0 |    restart: always
0.12.0 -      |    restart: unless-stopped
0.10.0 0.15.1 |    volumes:
0.10.0 0.12.0 |    - type: bind
0.10.0 0.12.0 |      source: @ROOT@/logs
0.10.0 0.12.0 |      target: /var/log/trains
0.11.0 0.12.0 |    links:
0.12.0 0.15.1 |    - @ROOT@/logs:/var/log/trains
0.12.0 -      |    depends_on:
0.11.0 -      |      - apiserver
0.11.0 -      |    ports:
0.11.0 -      |    - "8080:80"
0.17.0 -      |    networks:
0.17.0 -      |      - backend
0.17.0 -      |      - frontend
# services.async_delete
1.7.0  -      |  async_delete:
1.7.0  -      |    depends_on:
1.7.0  -      |      - apiserver
1.7.0  -      |      - redis
1.7.0  -      |      - mongo
1.7.0  -      |      - elasticsearch
1.7.0  -      |      - fileserver
1.7.0  -      |    container_name: async_delete
1.7.0  -      |    image: @SERVER@
1.7.0  -      |    networks:
1.7.0  -      |      - backend
1.7.0  -      |    restart: unless-stopped
1.7.0  -      |    environment:
1.7.0  -      |      CLEARML_ELASTIC_SERVICE_HOST: elasticsearch
1.7.0  -      |      CLEARML_ELASTIC_SERVICE_PORT: 9200
1.7.0  1.16.0 |      CLEARML_ELASTIC_SERVICE_PASSWORD: ${ELASTIC_PASSWORD}
1.7.0  -      |      CLEARML_MONGODB_SERVICE_HOST: mongo
1.7.0  -      |      CLEARML_MONGODB_SERVICE_PORT: 27017
1.7.0  -      |      CLEARML_REDIS_SERVICE_HOST: redis
1.7.0  -      |      CLEARML_REDIS_SERVICE_PORT: 6379
1.7.0  -      |      PYTHONPATH: /opt/clearml/apiserver
1.8.0  -      |      CLEARML__services__async_urls_delete__fileserver__url_prefixes: "[${CLEARML_FILES_HOST:-}]"
1.7.0  -      |    entrypoint:
1.7.0  -      |      - python3
1.7.0  -      |      - -m
1.7.0  -      |      - jobs.async_urls_delete
1.7.0  -      |      - --fileserver-host
1.7.0  -      |      - http://fileserver:8081
1.7.0  -      |    volumes:
1.7.0  -      |      - @ROOT@/logs:/var/log/clearml
1.13.0 -      |      - @ROOT@/config:/opt/clearml/config
# services.agent-services
0.15.0 -      |  agent-services:
0.15.1 -      |    networks:
0.15.1 -      |      - backend
# 0.17.0's services agent is still Trains (container, image, TRAINS_* variables).
0.15.0 1.0.0  |    container_name: trains-agent-services
1.0.0  -      |    container_name: clearml-agent-services
0.15.0 -      |    image: @AGENT@
0.15.0 1.2.0  |    restart: unless-stopped
1.2.0  -      |    deploy:
1.2.0  -      |      restart_policy:
1.2.0  -      |        condition: on-failure
0.15.0 -      |    privileged: true
0.15.0 -      |    environment:
0.15.0 1.0.0  |      TRAINS_HOST_IP: ${TRAINS_HOST_IP}
0.15.0 1.0.0  |      TRAINS_WEB_HOST: ${TRAINS_WEB_HOST:-}
0.15.0 0.15.1 |      TRAINS_API_HOST: ${TRAINS_API_HOST:-}
0.15.1 1.0.0  |      TRAINS_API_HOST: http://apiserver:8008
0.15.0 1.0.0  |      TRAINS_FILES_HOST: ${TRAINS_FILES_HOST:-}
0.15.0 1.0.0  |      TRAINS_API_ACCESS_KEY: ${TRAINS_API_ACCESS_KEY:-}
0.15.0 1.0.0  |      TRAINS_API_SECRET_KEY: ${TRAINS_API_SECRET_KEY:-}
0.15.0 1.0.0  |      TRAINS_AGENT_GIT_USER: ${TRAINS_AGENT_GIT_USER}
0.15.0 1.0.0  |      TRAINS_AGENT_GIT_PASS: ${TRAINS_AGENT_GIT_PASS}
0.15.0 1.0.0  |      TRAINS_AGENT_UPDATE_VERSION: ${TRAINS_AGENT_UPDATE_VERSION:->=0.15.0}
0.15.0 1.0.0  |      TRAINS_AGENT_DEFAULT_BASE_DOCKER: "ubuntu:18.04"
1.0.0  -      |      CLEARML_HOST_IP: ${CLEARML_HOST_IP}
1.0.0  -      |      CLEARML_WEB_HOST: ${CLEARML_WEB_HOST:-}
1.0.0  -      |      CLEARML_API_HOST: http://apiserver:8008
1.0.0  -      |      CLEARML_FILES_HOST: ${CLEARML_FILES_HOST:-}
1.0.0  1.16.0 |      CLEARML_API_ACCESS_KEY: ${CLEARML_API_ACCESS_KEY:-}
1.0.0  1.16.0 |      CLEARML_API_SECRET_KEY: ${CLEARML_API_SECRET_KEY:-}
1.16.0 -      |      CLEARML_API_ACCESS_KEY: ${CLEARML_AGENT_ACCESS_KEY:-$CLEARML_API_ACCESS_KEY}
1.16.0 -      |      CLEARML_API_SECRET_KEY: ${CLEARML_AGENT_SECRET_KEY:-$CLEARML_API_SECRET_KEY}
1.0.0  -      |      CLEARML_AGENT_GIT_USER: ${CLEARML_AGENT_GIT_USER}
1.0.0  -      |      CLEARML_AGENT_GIT_PASS: ${CLEARML_AGENT_GIT_PASS}
1.0.0  1.2.0  |      CLEARML_AGENT_UPDATE_VERSION: ${CLEARML_AGENT_UPDATE_VERSION:->=0.17.0}
# 1.2.0–1.9.1 quote the default: the value keeps the quotes.
1.2.0  1.9.2  |      CLEARML_AGENT_UPDATE_VERSION: ${CLEARML_AGENT_UPDATE_VERSION:-">=0.17.0"}
1.9.2  -      |      CLEARML_AGENT_UPDATE_VERSION: ${CLEARML_AGENT_UPDATE_VERSION:->=0.17.0}
1.0.0  -      |      CLEARML_AGENT_DEFAULT_BASE_DOCKER: "ubuntu:18.04"
0.15.0 -      |      AWS_ACCESS_KEY_ID: ${AWS_ACCESS_KEY_ID:-}
0.15.0 -      |      AWS_SECRET_ACCESS_KEY: ${AWS_SECRET_ACCESS_KEY:-}
0.15.0 -      |      AWS_DEFAULT_REGION: ${AWS_DEFAULT_REGION:-}
0.15.0 -      |      AZURE_STORAGE_ACCOUNT: ${AZURE_STORAGE_ACCOUNT:-}
0.15.0 -      |      AZURE_STORAGE_KEY: ${AZURE_STORAGE_KEY:-}
0.15.0 -      |      GOOGLE_APPLICATION_CREDENTIALS: ${GOOGLE_APPLICATION_CREDENTIALS:-}
0.15.0 1.0.0  |      TRAINS_WORKER_ID: "trains-services"
0.15.0 0.17.0 |      TRAINS_AGENT_DOCKER_HOST_MOUNT: "@ROOT@/agent:/root/.trains"
# 0.17.0 mounts /opt/clearml/agent but tells the agent /opt/trains/agent (upstream's).
0.17.0 1.0.0  |      TRAINS_AGENT_DOCKER_HOST_MOUNT: "/opt/trains/agent:/root/.trains"
1.0.0  -      |      CLEARML_WORKER_ID: "clearml-services"
1.0.0  -      |      CLEARML_AGENT_DOCKER_HOST_MOUNT: "@ROOT@/agent:/root/.clearml"
1.2.0  -      |      SHUTDOWN_IF_NO_ACCESS_KEY: 1
0.15.0 -      |    volumes:
0.15.0 -      |      - /var/run/docker.sock:/var/run/docker.sock
0.15.0 1.0.0  |      - @ROOT@/agent:/root/.trains
1.0.0  -      |      - @ROOT@/agent:/root/.clearml
0.15.0 -      |    depends_on:
0.15.0 -      |      - apiserver
1.4.0  -      |    entrypoint: >
1.4.0  -      |      bash -c "curl --retry 10 --retry-delay 10 --retry-connrefused 'http://apiserver:8008/debug.ping' && /usr/agent/entrypoint.sh"
# Top-level networks (none in 0.10.x, whose containers use the host network).
0.11.0 -      |networks:
0.11.0 -      |  backend:
0.11.0 -      |    driver: bridge
0.17.0 -      |  frontend:
0.17.0 -      |    driver: bridge
"##;

/// The rows of [`COMPOSE`]: (from, until, line); `until` is "-" when the line is still there.
fn compose_rows() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    COMPOSE.lines().filter_map(|l| {
        if l.trim().is_empty() || l.starts_with('#') {
            return None;
        }
        let (range, line) = l.split_once('|')?;
        let mut r = range.split_whitespace();
        Some((r.next()?, r.next()?, line))
    })
}

/// The compose file of release `version` as upstream has it (see [`COMPOSE`]), with the host
/// side of its bind mounts under `root_override` when given and, with `pin`, the server image
/// pinned to its exact build tag where the registry has one.
pub fn compose_yaml(version: &str, root_override: Option<&str>, pin: bool) -> String {
    let s: Stack = stack(version);
    let root = root_override
        .unwrap_or(s.root)
        .trim_end_matches('/')
        .to_string();
    let v = releases::vnum(version);
    let server = releases::compose_server_image(version, pin);
    let agent = s
        .agent_repo
        .map(|a| format!("{a}:latest"))
        .unwrap_or_default();
    let mut y = String::new();
    let mut in_services = false;
    for (from, until, line) in compose_rows() {
        if v < releases::vnum(from) || (until != "-" && v >= releases::vnum(until)) {
            continue;
        }
        let top = !line.starts_with(' ');
        let service = in_services && line.starts_with("  ") && !line.starts_with("   ");
        // A blank line before each service and the top-level networks, as upstream writes them.
        if service || (top && line != "services:" && !y.is_empty() && in_services) {
            y.push('\n');
        }
        if top {
            in_services = line == "services:";
        }
        let line = line
            .replace("@ROOT@", &root)
            .replace("@SERVER@", &server)
            .replace("@ELASTIC@", s.es_image)
            .replace("@MONGO@", s.mongo_image)
            .replace("@REDIS@", s.redis_image.unwrap_or_default())
            .replace("@AGENT@", &agent);
        y.push_str(&line);
        y.push('\n');
    }
    y
}

fn chown_r(p: &Path, uid: u32) -> bool {
    let mut ok = std::os::unix::fs::chown(p, Some(uid), Some(uid)).is_ok();
    if p.is_dir()
        && !p.is_symlink()
        && let Ok(rd) = std::fs::read_dir(p)
    {
        for e in rd.flatten() {
            ok &= chown_r(&e.path(), uid);
        }
    }
    ok
}

/// `chown -R uid:uid` of a real path.
pub fn chown_tree(p: &Path, uid: u32) -> bool {
    chown_r(p, uid)
}

fn agent_vars(o: &InitOpts, version: &str) -> BTreeMap<String, String> {
    let s = stack(version);
    let mut m = BTreeMap::new();
    // The services agent reads TRAINS_* up to and including 0.17.0, CLEARML_* from 1.0.0
    // (clearml/clearml-server 0.17.0 and 1.0.0, docker/docker-compose.yml, agent-services).
    let p = if releases::vnum(version) < (1, 0, 0) {
        "TRAINS"
    } else {
        "CLEARML"
    };
    if let (Some(k), Some(sec)) = (&o.agent_key, &o.agent_secret) {
        if s.agent_key_env {
            m.insert("CLEARML_AGENT_ACCESS_KEY".into(), k.clone());
            m.insert("CLEARML_AGENT_SECRET_KEY".into(), sec.clone());
        } else {
            m.insert(format!("{p}_API_ACCESS_KEY"), k.clone());
            m.insert(format!("{p}_API_SECRET_KEY"), sec.clone());
        }
    }
    if let Some(ip) = &o.host_ip {
        m.insert(format!("{p}_HOST_IP"), ip.clone());
    }
    if let Some(u) = &o.git_user {
        m.insert(format!("{p}_AGENT_GIT_USER"), u.clone());
    }
    if let Some(pw) = &o.git_pass {
        m.insert(format!("{p}_AGENT_GIT_PASS"), pw.clone());
    }
    m
}

fn populate(host: &Host, o: &InitOpts, version: &str, root: &str) -> Result<(), SimError> {
    let s = stack(version);
    let data = format!("{root}/data");
    for d in ["config", "logs", "data/fileserver"] {
        let p = host.path(&format!("{root}/{d}"));
        std::fs::create_dir_all(&p).map_err(|e| io_err(&p, e))?;
    }
    if s.agent_repo.is_some() {
        let p = host.path(&format!("{root}/agent"));
        std::fs::create_dir_all(&p).map_err(|e| io_err(&p, e))?;
    }
    write_file(
        &host.path(&format!("{root}/data/fileserver/example/model.pkl")),
        &(0u8..=255).collect::<Vec<u8>>(),
    )?;
    // Mongo.
    let mongo_ver = releases::registry(s.mongo_image);
    let mongo_ver = match mongo_ver {
        releases::Lookup::Found(i) => i.version,
        _ => "4.4.29".into(),
    };
    let mdir = host.path(&format!("{data}/{}/db", s.mongo_dir));
    std::fs::create_dir_all(host.path(&format!("{data}/{}/configdb", s.mongo_dir)))
        .map_err(|e| io_err(&mdir, e))?;
    mongo::create_files(&mdir, &mongo_ver)?;
    let creds = match (&o.agent_key, &o.agent_secret) {
        (Some(k), Some(sec)) => Some(mongo::Creds {
            key: k.clone(),
            secret: sec.clone(),
        }),
        _ => None,
    };
    let md = mongo::MongoData {
        binary: mongo_ver.clone(),
        fcv: series(&mongo_ver),
        server_uid: Some(
            hex_id(&format!("server-uid/{root}/{version}/{}", now()))
                .get(..32)
                .unwrap_or_default()
                .to_string(),
        ),
        services_agent: creds,
        versions: releases::migrations_upto(version),
        non_empty: true,
        collections: [
            ("task", 120u64),
            ("project", 9),
            ("model", 31),
            ("user", 4),
            ("queue", 2),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect(),
    };
    mongo::save(&mdir, &md)?;
    // Elasticsearch.
    let es_ver = match releases::registry(s.es_image) {
        releases::Lookup::Found(i) => i.version,
        _ => "7.17.18".into(),
    };
    let edir = host.path(&format!("{data}/{}", s.es_dir));
    std::fs::create_dir_all(&edir).map_err(|e| io_err(&edir, e))?;
    elastic::create_files(&edir, &es_ver)?;
    elastic::save(
        &edir,
        &elastic::EsData {
            version: es_ver,
            indices: elastic::sample_indices(3),
        },
    )?;
    // Redis.
    if let Some(ri) = s.redis_image
        && let releases::Lookup::Found(i) = releases::registry(ri)
    {
        write_file(
            &host.path(&format!("{data}/redis/{}", redis::DUMP)),
            &redis::dump_bytes(rdb_version(&i.version)),
        )?;
    }
    // Ownership as the docs prescribe (chown -R 1000:1000).
    if !chown_tree(&host.path(&data), 1000) {
        return Err(SimError::BadState {
            path: data,
            msg: "cannot chown -R 1000:1000".into(),
        });
    }
    Ok(())
}

pub fn init(host: &Host, o: &InitOpts) -> Out {
    if o.no_clearml {
        let mut out = Out::ok("clearml-sim: host without ClearML initialised\n");
        if let Some(port) = o.serving {
            add_serving(host, port, &mut out);
        }
        return out;
    }
    let Some(rel) = releases::find(&o.era) else {
        return Out::fail(2, format!("clearml-sim init: unknown release {:?}", o.era));
    };
    let version = rel.version;
    let s = stack(version);
    let root = o.root.clone().unwrap_or_else(|| s.root.to_string());
    let root = root.trim_end_matches('/').to_string();
    if let Err(e) = populate(host, o, version, &root) {
        return e.into();
    }
    let yaml = compose_yaml(version, Some(&root), o.pin);
    if let Err(e) = write_file(
        &host.path(&format!("{root}/docker-compose.yml")),
        yaml.as_bytes(),
    ) {
        return e.into();
    }
    let vars = agent_vars(o, version);
    if !vars.is_empty() && !o.no_dotenv {
        let body: String = vars.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        let p = host.path(&format!("{root}/.env"));
        if let Err(e) = write_file(&p, body.as_bytes()) {
            return e.into();
        }
        set_mode(&p, 0o600);
    }
    let mut out = Out::ok(format!(
        "clearml-sim: host of release {version} laid out at {root}\n"
    ));
    if let Some(port) = o.serving {
        add_serving(host, port, &mut out);
    }
    out
}

/// `--serving PORT`: ClearML Serving's clone beside the server, as a site adds it later.
fn add_serving(host: &Host, port: u16, out: &mut Out) {
    let r = crate::serving::install(host, port);
    out.line(&format!(
        "clearml-sim: ClearML Serving laid out at {}/docker (inference on port {port})",
        crate::serving::CLONE
    ));
    if r.code != 0 {
        out.stderr.push_str(&r.stderr);
        out.code = r.code;
    }
}
