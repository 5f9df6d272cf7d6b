#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine for the real-sshd integration tests (tests/ssh_*.rs).
# Run as root. Idempotent: running it twice changes nothing the second time.
#   - installs openssh-server, openssh-client, sudo, openssl (the tests hash their users'
#     passwords with `openssl passwd -6`), iproute2 (`ip netns` for the network-cut test,
#     tests/faults.rs), chromium (the headless browser of the report's HTML test,
#     tests/reports.rs), python3 and python3-venv (ansible-core for the differential tests; the
#     tests' Elasticsearch migration script), bash-completion, zsh, fish and man-db (the
#     completion scripts and man pages, tests/completions.rs, tests/man_pages.rs and
#     scripts/test-install), time (GNU time: the controller's peak memory in tests/exec.rs),
#     unzip, bzip2 and xz-utils (unarchive's zip handler and the archives of the unarchive
#     differential test, tests/run_ansible_diff.rs), python3-setuptools (ansible-core's pip
#     module imports pkg_resources where the host's Python has no `packaging`: the pip
#     differential test), dnf, python3-dnf, rpm and createrepo-c (the dnf differential test
#     builds tiny RPMs with rpmbuild, makes a repository of them with createrepo_c and installs
#     them into a scratch --installroot, under clearfleet's dnf CLI and ansible-core's dnf.py,
#     which imports the dnf Python bindings), libuser (luseradd, lusermod, luserdel, lchage,
#     lgroupadd, lgroupmod, lgroupdel: the `local: true` of the user and group modules, their
#     differential tests and ansible-core's user and group targets) when missing (apt-get update
#     only then);
#   - restores /etc/libuser.conf (the libuser package's conffile; every libuser tool refuses to
#     start without it: "Error initializing libuser: could not open configuration file") when it
#     is missing, by reinstalling libuser with --force-confmiss (dpkg leaves a deleted conffile
#     deleted otherwise);
#   - creates /run/sshd (sshd's privilege-separation directory; sshd exits without it).
# It adds no user, group or sudo rule to this machine: the test users (cf-pass, cf-sudo, cf-nopw,
# cf-docker), their passwords, home directories and sudo rules exist only inside the private
# mount namespace of the test sshd processes that need them (tests/support/sshd.rs binds
# per-test copies of /etc/passwd, /etc/shadow, /etc/group and /etc/sudoers.d there).
# Older versions of this script did add those users and /etc/sudoers.d/clearfleet-test to the
# machine; it removes them when it finds them.
# It never touches root's password, the system sshd's config or its service.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-test-env.sh: must run as root" >&2
    exit 1
fi

missing=()
for pkg in openssh-server openssh-client sudo openssl iproute2 chromium python3 python3-venv \
    bash-completion zsh fish man-db time unzip bzip2 xz-utils \
    python3-setuptools dnf python3-dnf rpm createrepo-c libuser; do
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

if [ ! -e /etc/libuser.conf ]; then
    echo "setup-test-env.sh: restoring /etc/libuser.conf (reinstalling libuser)"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --reinstall -o Dpkg::Options::=--force-confmiss libuser >/dev/null; then
        apt-get update -qq
        apt-get install -y -qq --reinstall -o Dpkg::Options::=--force-confmiss libuser >/dev/null
    fi
fi

install -d -m 0755 /run/sshd

# Left behind by older versions of this script, which created the test users on the machine
# itself (one with passwordless sudo, passwords in the repository): remove them. (The `docker`
# group stays: Docker's own packages create it too; userdel drops cf-docker from it.)
for user in cf-pass cf-sudo cf-nopw cf-docker; do
    if getent passwd "$user" >/dev/null; then
        echo "setup-test-env.sh: removing user $user (added to this machine by an older version of this script)"
        # -r: its home too (it warns that there is no mail spool). userdel refuses while the
        # user has processes.
        if ! err=$(userdel -r "$user" 2>&1); then
            echo "setup-test-env.sh: could not remove user $user: $err; run this script again once its processes have ended" >&2
        fi
    fi
done
if [ -e /etc/sudoers.d/clearfleet-test ]; then
    echo "setup-test-env.sh: removing /etc/sudoers.d/clearfleet-test (added by an older version of this script)"
    rm -f /etc/sudoers.d/clearfleet-test
fi

echo "setup-test-env.sh: ready (/run/sshd; the test users live only in the tests' sshd namespaces)"
