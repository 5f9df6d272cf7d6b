#!/bin/sh
# The inside of one real-Docker test host (tests/support/docker_host.rs): run as root by
#   nsenter --net=/run/netns/NS unshare -m --propagation private sh docker-host.sh HOSTDIR COMPOSE
# so that the host has its own network namespace (reached over a veth pair) and its own mounts.
# It gives the host, from HOSTDIR, what a real ClearML host has:
#   /opt                  HOSTDIR/opt (the server's root, /opt/clearml or /opt/trains)
#   /etc/docker           HOSTDIR/etc-docker (daemon.json: the clamped runtime, a cgroup parent
#                         of its own)
#   /etc/hosts            HOSTDIR/hosts (registry-1.docker.io and docker.elastic.co are
#                         127.0.0.1: the host's own registry process)
#   /etc/ssl/certs/ca-certificates.crt  the machine's bundle plus the test registry's CA
#   /usr/local/bin        empty (the machine's own Docker 28 client and anything else there
#                         stay out of the host's PATH)
#   /proc/{cpuinfo,meminfo}, /proc/sys/vm/max_map_count   files of the host (the kernel's
#                         settings are machine-wide: the host's preflight reads and sets its own)
#   /run                  a tmpfs (dockerd's socket /run/docker.sock, containerd, sshd)
#   compose               COMPOSE = v1 (no v2 plugin), v2 (no docker-compose) or both
#   /etc/{passwd,shadow,group,sudoers.d}  with CF_TEST_USERS=DIR in the environment: DIR/etc/...,
#                         the fleet's test users (tests/support/sshd.rs, write_test_users; their
#                         homes are under DIR), mounted before dockerd starts so that its socket
#                         belongs to their `docker` group (dockerd's default `-G docker`, by name)
# then starts the registry (127.0.0.1:443, TLS, read-only), dockerd (data root HOSTDIR/docker)
# and, once `docker info` answers, execs sshd (the process that keeps the namespace alive).
set -eu
h=$1
compose=$2

mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/sshd
mount --bind "$h/opt" /opt
mount --bind "$h/etc-docker" /etc/docker
mount --bind "$h/hosts" /etc/hosts
mount --bind "$h/ca-certificates.crt" /etc/ssl/certs/ca-certificates.crt
mount --bind "$h/empty" /usr/local/bin
mount --bind "$h/proc/cpuinfo" /proc/cpuinfo
mount --bind "$h/proc/meminfo" /proc/meminfo
mount --bind "$h/proc/max_map_count" /proc/sys/vm/max_map_count
case $compose in
    v1) mount --bind "$h/empty" /usr/libexec/docker/cli-plugins ;;
    v2)
        # docker-compose absent from /usr/bin: an overlay whose upper layer holds a whiteout.
        mkdir -p "$h/usrbin/upper" "$h/usrbin/work"
        [ -e "$h/usrbin/upper/docker-compose" ] || mknod "$h/usrbin/upper/docker-compose" c 0 0
        mount -t overlay overlay \
            -o "lowerdir=/usr/bin,upperdir=$h/usrbin/upper,workdir=$h/usrbin/work" /usr/bin
        ;;
    both) ;;
    *)
        echo "docker-host.sh: compose must be v1, v2 or both, not $compose" >&2
        exit 2
        ;;
esac

if [ -n "${CF_TEST_USERS:-}" ]; then
    for f in passwd shadow group sudoers.d; do mount --bind "$CF_TEST_USERS/etc/$f" "/etc/$f"; done
fi

docker-registry serve "$h/registry.yml" >"$h/registry.log" 2>&1 &
echo $! >"$h/registry.pid"
dockerd --data-root "$h/docker" >"$h/dockerd.log" 2>&1 &
echo $! >"$h/dockerd.pid"
n=0
until docker info >/dev/null 2>&1; do
    n=$((n + 1))
    if [ "$n" -gt 300 ]; then
        echo "docker-host.sh: dockerd did not answer within 30 s; its log:" >&2
        tail -20 "$h/dockerd.log" >&2
        exit 1
    fi
    sleep 0.1
done
exec /usr/sbin/sshd -D -e -f "$h/sshd_config" -E "$h/sshd.log"
