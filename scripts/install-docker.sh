#!/usr/bin/env bash
# Installs (idempotently) what the real-Docker hosts of the tests and the demo need, on Debian 12
# as root (docs/simulator.md, "Real Docker hosts"):
#   - docker.io (dockerd, containerd, runc 20.10) and docker-compose 1.29.2 (compose v1);
#   - docker-registry (distribution 2.8), the local registry that stands in for Docker Hub and
#     docker.elastic.co;
#   - busybox-static, the userland of the stand-in images;
#   - the compose v2 plugin (docker-compose 2.26.1 from Debian trixie), fetched with
#     `apt-get download` against a private sources list (the machine's own apt sources stay as
#     they are) and unpacked into /usr/libexec/docker/cli-plugins, where Docker looks for it for
#     every user.
# Nothing is started: each test host runs its own dockerd in its own namespaces.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install-docker.sh: must run as root" >&2
    exit 1
fi

missing=()
for pkg in docker.io docker-compose docker-registry busybox-static; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-docker.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # policy-rc.d (exit 101) keeps the packages from starting the machine's own dockerd or
    # registry where services can start; the tests never use those.
    policy=/usr/sbin/policy-rc.d
    added_policy=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
        added_policy=1
    fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ -n "$added_policy" ] && rm -f "$policy"
fi

plugin_dir=/usr/libexec/docker/cli-plugins
want=2.26.1-4
if ! /usr/bin/docker compose version 2>/dev/null | grep -q "$want"; then
    echo "install-docker.sh: fetching the compose v2 plugin ($want, Debian trixie)"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/parts" "$work/lists/partial" "$work/cache/archives/partial"
    cat >"$work/parts/trixie.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/parts"
        -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
        -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
    apt-get "${opts[@]}" update -qq
    (cd "$work" && apt-get "${opts[@]}" download "docker-compose=$want" >/dev/null)
    dpkg -x "$work"/docker-compose_*.deb "$work/x"
    install -d -m 0755 "$plugin_dir"
    install -m 0755 "$work/x/usr/libexec/docker/cli-plugins/docker-compose" "$plugin_dir/docker-compose"
fi

echo "install-docker.sh: ready ($(/usr/sbin/dockerd --version | cut -d, -f1);" \
    "$(docker-compose version --short 2>/dev/null) (v1);" \
    "$(/usr/bin/docker compose version --short 2>/dev/null) (v2); $(docker-registry --version 2>/dev/null | awk '{print $NF}'))"
