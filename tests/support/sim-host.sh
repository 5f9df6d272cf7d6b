#!/bin/sh
# Start COMMAND (e.g. `/usr/sbin/sshd -D -f CONFIG`) as a simulated ClearML host in its own private
# mount namespace, so that each host has its own /opt, daemon state and docker/curl commands:
#
#   HOSTDIR/opt    is bind-mounted over /opt
#   HOSTDIR/state  is bind-mounted over /var/lib/clearml-sim   (the simulator's daemon state)
#   HOSTDIR/bin    is bind-mounted over /usr/local/bin         (clearml-sim plus docker, docker-compose,
#                                                               curl, wget symlinks to it; they shadow
#                                                               /usr/bin/docker and /usr/bin/curl)
#   HOSTDIR/state/proc/{cpuinfo,meminfo} over /proc/{cpuinfo,meminfo} (the simulated CPU flags and
#                                                               memory size; `clearml-sim inject
#                                                               --avx off --memory-mb N` rewrites them)
#
# usage: sim-host.sh HOSTDIR SIM_BINARY [--compose v1|v2|both] -- COMMAND [ARGS...]
# Needs root (mount namespaces); the real /usr/bin/curl and /usr/bin/wget stay visible for URLs
# that are not a simulated container. Inside, run `clearml-sim init --era X` to lay out a host,
# then `clearml-sim links /usr/local/bin` to match the links to the chosen compose flavour.
set -eu
if [ $# -lt 4 ]; then
    echo "usage: $0 HOSTDIR SIM_BINARY [--compose v1|v2|both] -- COMMAND [ARGS...]" >&2
    exit 2
fi
hostdir=$1
sim=$2
shift 2
compose=v2
if [ "$1" = "--compose" ]; then
    compose=$2
    shift 2
fi
[ "$1" = "--" ] && shift
mkdir -p "$hostdir/opt" "$hostdir/state/proc" "$hostdir/bin" /var/lib/clearml-sim
hostdir=$(cd "$hostdir" && pwd)
for f in cpuinfo meminfo; do
    cat "/proc/$f" >"$hostdir/state/proc/$f.orig"
    cp "$hostdir/state/proc/$f.orig" "$hostdir/state/proc/$f"
done
cp "$sim" "$hostdir/bin/clearml-sim"
for n in docker curl wget sysctl; do
    ln -sf clearml-sim "$hostdir/bin/$n"
done
case $compose in
    v1 | both) ln -sf clearml-sim "$hostdir/bin/docker-compose" ;;
    *) rm -f "$hostdir/bin/docker-compose" ;;
esac
# The host's own state dir and root, with no CLEARML_SIM_* leaking in from the caller.
exec env -u CLEARML_SIM_FSROOT -u CLEARML_SIM_STATE \
    unshare -m --propagation private sh -c '
        set -e
        mount --bind "$0/opt" /opt
        mount --bind "$0/state" /var/lib/clearml-sim
        mount --bind "$0/bin" /usr/local/bin
        mount --bind "$0/state/proc/cpuinfo" /proc/cpuinfo
        mount --bind "$0/state/proc/meminfo" /proc/meminfo
        exec "$@"' "$hostdir" "$@"
