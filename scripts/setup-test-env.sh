#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine for the real-sshd integration tests (tests/ssh_*.rs).
# Run as root. Idempotent: running it twice changes nothing the second time.
#   - installs openssh-server, openssh-client, sudo, iproute2 (`ip netns` for the network-cut
#     test, tests/faults.rs), chromium (the headless browser of the report's HTML test,
#     tests/reports.rs), python3 and python3-venv (ansible-core for the differential tests; the
#     simulated Elasticsearch migration script) when missing (apt-get update only then);
#   - creates /run/sshd (sshd's privilege-separation directory; sshd exits without it);
#   - creates the test users:
#       cf-pass  password login, password cf-pass-secret-1
#       cf-sudo  key login (tests use the fixture's client key); sudo to any user,
#                requiring its password cf-sudo-secret-2 (/etc/sudoers.d/clearfleet-test).
#       cf-nopw  key login; passwordless sudo (docker access "through sudo -n" in detection).
#       cf-docker key login; member of the `docker` group (docker access "docker group").
# It never touches root's password, the system sshd's config or its service.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-test-env.sh: must run as root" >&2
    exit 1
fi

missing=()
for pkg in openssh-server openssh-client sudo iproute2 chromium python3 python3-venv; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup-test-env.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # --no-install-recommends: no xauth etc.; policy-rc.d keeps the package from starting the
    # system sshd on machines where services can start.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

install -d -m 0755 /run/sshd

ensure_user() {
    local user=$1 password=$2
    if ! getent passwd "$user" >/dev/null; then
        useradd --create-home --shell /bin/bash "$user"
    fi
    # A user with a locked ("!") password cannot log in at all when sshd runs with UsePAM no,
    # so both users get a password. chpasswd is idempotent.
    echo "$user:$password" | chpasswd
}

ensure_user cf-pass 'cf-pass-secret-1'
ensure_user cf-sudo 'cf-sudo-secret-2'
ensure_user cf-nopw 'cf-nopw-unused-3'
ensure_user cf-docker 'cf-docker-unused-4'
getent group docker >/dev/null || groupadd --system docker
id -nG cf-docker | tr ' ' '\n' | grep -qx docker || usermod -aG docker cf-docker

sudoers=/etc/sudoers.d/clearfleet-test
wanted='# clearfleet integration tests: cf-sudo may run anything, with its password;
# cf-nopw without one.
cf-sudo ALL=(ALL:ALL) ALL
cf-nopw ALL=(ALL:ALL) NOPASSWD: ALL'
if [ ! -f "$sudoers" ] || [ "$(cat "$sudoers")" != "$wanted" ]; then
    tmp=$(mktemp)
    printf '%s\n' "$wanted" >"$tmp"
    chmod 0440 "$tmp"
    if ! visudo -c -q -f "$tmp"; then
        rm -f "$tmp"
        echo "setup-test-env.sh: generated sudoers file is invalid" >&2
        exit 1
    fi
    mv "$tmp" "$sudoers"
fi
# The whole sudoers configuration must still parse.
visudo -c -q

echo "setup-test-env.sh: ready (users cf-pass, cf-sudo, cf-nopw, cf-docker; /run/sshd)"
