#!/usr/bin/env bash
# The comparison benchmark: clearfleet, ansible-playbook (command and raw modules) and pyinfra
# running the same trivial playbook (every task `echo`, no facts) against N real OpenSSH sshd
# hosts on loopback, interleaved, 3 runs each; prints wall time (median, min–max), the
# controller's peak RSS, and the ratios. Method and results: docs/performance.md. Run as root.
#
#   bench/compare.sh              # shapes 50x10 50x1 1x10 (all tools), scaling 1..500 hosts
#   bench/compare.sh --quick      # 1 run; 50x10 and 1x10; no ansible `command`; no scaling
#   options: --runs N  --shapes "50x10 1x10"  --tools "clearfleet pyinfra ..."
#            --sizes "1 10 50 200 500"  --scaling-tools "clearfleet pyinfra"  --no-scaling
#            --port FIRST_PORT (default 24001)  --keep DIR (keep the raw results there)
#            --clearfleet BIN (a prebuilt binary instead of `cargo build --release`)
#   tools: clearfleet ansible-command ansible-raw pyinfra
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

runs=3
shapes="50x10 50x1 1x10"
tools="clearfleet ansible-command ansible-raw pyinfra"
sizes="1 10 50 200 500"
scaling_tools="clearfleet pyinfra"
scaling=1
port=24001
keep=
forks=50
clearfleet=
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) runs=1; shapes="50x10 1x10"; tools="clearfleet ansible-raw pyinfra"; scaling=0 ;;
    --runs) runs=$2; shift ;;
    --shapes) shapes=$2; shift ;;
    --tools) tools=$2; shift ;;
    --sizes) sizes=$2; shift ;;
    --scaling-tools) scaling_tools=$2; shift ;;
    --no-scaling) scaling=0 ;;
    --port) port=$2; shift ;;
    --keep) keep=$2; shift ;;
    --clearfleet) clearfleet=$2; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 64 ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || { echo "run as root (sshd privilege separation)" >&2; exit 1; }

# --- tools --------------------------------------------------------------------------------
ansible_bin=${CLEARFLEET_ANSIBLE_BIN_DIR:-$repo/.venv-ansible/bin}
[ -x "$ansible_bin/ansible-playbook" ] || ansible_bin=/work/main/.venv-ansible/bin
if [[ " $tools $scaling_tools " == *" ansible-"* ]] && [ ! -x "$ansible_bin/ansible-playbook" ]; then
  scripts/install-ansible.sh >&2
  ansible_bin=$repo/.venv-ansible/bin
fi
pyinfra_bin=$repo/.venv-pyinfra/bin
if [[ " $tools $scaling_tools " == *" pyinfra "* ]]; then
  scripts/install-pyinfra.sh >/dev/null
fi
if [ -z "$clearfleet" ]; then
  cargo build --release --quiet --bin clearfleet
  clearfleet=$repo/target/release/clearfleet
fi
clearfleet=$(realpath "$clearfleet")

# --- limits: one sshd (plus a session child and a shell) per host; one socket per host -----
ulimit -n "$(ulimit -Hn)"
ulimit -u unlimited 2>/dev/null || true

max_hosts=1
for s in $shapes; do [ "${s%x*}" -gt "$max_hosts" ] && max_hosts=${s%x*}; done
if [ "$scaling" = 1 ]; then
  for n in $sizes; do [ "$n" -gt "$max_hosts" ] && max_hosts=$n; done
fi
need_fds=$((max_hosts * 4 + 256))
[ "$(ulimit -n)" -ge "$need_fds" ] || { echo "ulimit -n $(ulimit -n) < $need_fds needed" >&2; exit 1; }

dir=${keep:-$(mktemp -d /tmp/clearfleet-compare.XXXXXX)}
mkdir -p "$dir"
cleanup() {
  scripts/fleet stop "$dir/fleet" 2>/dev/null || true
  [ -n "$keep" ] || rm -rf "$dir"
}
trap cleanup EXIT
echo "fleet: $max_hosts sshd hosts on 127.0.0.1:$port.. (dir $dir)" >&2
scripts/fleet start "$dir/fleet" "$max_hosts" "$port"
# Each sshd serves one connection at a time from one client here, so MaxStartups (10:30:100)
# and MaxSessions (10, above clearfleet's channel cap of 8) need no change.
for pidfile in "$dir"/fleet/hosts/*/sshd.pid; do
  kill -0 "$(cat "$pidfile")" || { echo "sshd $pidfile not running" >&2; exit 1; }
done
[ "$(ls "$dir"/fleet/hosts/*/sshd.pid | wc -l)" = "$max_hosts" ] || { echo "not every sshd started" >&2; exit 1; }
key=$dir/fleet/client_key
work=$dir/work
mkdir -p "$work"

# --- workloads ----------------------------------------------------------------------------
# inventory_for N: the first N hosts, for each tool.
inventory_for() {
  local n=$1 i p name
  [ -e "$work/inv-$n.yml" ] && return
  {
    echo "all:"
    echo "  vars:"
    echo "    ansible_host: 127.0.0.1"
    echo "    ansible_user: root"
    echo "    ansible_ssh_private_key_file: $key"
    echo "    ansible_python_interpreter: /usr/bin/python3"
    echo "  hosts:"
    for i in $(seq 1 "$n"); do
      printf '    host-%03d:\n      ansible_port: %s\n' "$i" $((port + i - 1))
    done
  } > "$work/inv-$n.yml"
  {
    echo "hosts = ["
    for i in $(seq 1 "$n"); do
      printf '    ("host-%03d", {"ssh_hostname": "127.0.0.1", "ssh_port": %s, "ssh_user": "root", "ssh_key": "%s", "ssh_known_hosts_file": "%s", "ssh_strict_host_key_checking": "accept-new"}),\n' \
        "$i" $((port + i - 1)) "$key" "$work/pyinfra_known_hosts"
    done
    echo "]"
  } > "$work/inv-$n.py"
}

# workload_for T: T tasks, each `echo task-K`.
workload_for() {
  local t=$1 k
  [ -e "$work/command-$t.yml" ] && return
  for module in command raw; do
    {
      echo "- hosts: all"
      echo "  gather_facts: false"
      echo "  tasks:"
      for k in $(seq 1 "$t"); do
        printf '    - name: task %s\n      %s: echo task-%s\n' "$k" "$module" "$k"
      done
    } > "$work/$module-$t.yml"
  done
  {
    echo "from pyinfra.operations import server"
    for k in $(seq 1 "$t"); do
      printf 'server.shell(name="task %s", commands=["echo task-%s"])\n' "$k" "$k"
    done
  } > "$work/deploy-$t.py"
}

# cmd_for TOOL N T: sets the array `cmd` to the tool's command line (through `env`, so that the
# process GNU time measures is the tool itself).
cmd_for() {
  local tool=$1 n=$2 t=$3
  case "$tool" in
    clearfleet)
      cmd=(env CLEARFLEET_KNOWN_HOSTS="$work/clearfleet_known_hosts"
        "$clearfleet" run --forks "$forks" -i "$work/inv-$n.yml" "$work/command-$t.yml") ;;
    ansible-command|ansible-raw)
      # A fresh ControlPath directory per run: every run starts without master connections,
      # as clearfleet and pyinfra do; stop_masters ends them after the run.
      ctl_dir=$(mktemp -d "$work/cp.XXXXXX")
      cmd=(env ANSIBLE_PIPELINING=True ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_NOCOLOR=1
        ANSIBLE_RETRY_FILES_ENABLED=False ANSIBLE_SSH_CONTROL_PATH_DIR="$ctl_dir"
        ANSIBLE_SSH_COMMON_ARGS="-o UserKnownHostsFile=$work/ssh_known_hosts"
        "$ansible_bin/ansible-playbook" -f "$forks" -i "$work/inv-$n.yml" "$work/${tool#ansible-}-$t.yml") ;;
    pyinfra)
      cmd=("$pyinfra_bin/pyinfra" -y --parallel "$forks" "$work/inv-$n.py" "$work/deploy-$t.py") ;;
    *) echo "unknown tool $tool" >&2; exit 64 ;;
  esac
}

# Stops the ssh ControlMaster processes an ansible run left (ControlPersist), by socket.
stop_masters() {
  [ -n "${ctl_dir:-}" ] || return 0
  local s
  for s in "$ctl_dir"/*; do
    if [ -S "$s" ]; then ssh -o ControlPath="$s" -O exit dummy >/dev/null 2>&1 || true; fi
  done
  rm -rf "$ctl_dir"
  ctl_dir=
}

sessions_total() { cat "$dir"/fleet/hosts/*/sshd.log | grep -c 'Starting session' || true; }
conns_total() { cat "$dir"/fleet/hosts/*/sshd.log | grep -c 'Accepted publickey' || true; }

results=$dir/results.tsv
[ -e "$results" ] || printf 'set\tshape\ttool\trun\twall_s\tmaxrss_kib\trc\tconnections\tsessions\tload1\n' > "$results"

# measure SET N T TOOL RUN
measure() {
  local set=$1 n=$2 t=$3 tool=$4 r=$5 t0 t1 rc s0 c0 load rss
  s0=$(sessions_total); c0=$(conns_total)
  load=$(cut -d' ' -f1 /proc/loadavg)
  cmd_for "$tool" "$n" "$t"
  t0=$(date +%s%N)
  set +e
  /usr/bin/time -f '%M' -o "$work/time" "${cmd[@]}" > "$work/out-$set-${n}x$t-$tool-$r.log" 2>&1
  rc=$?
  set -e
  t1=$(date +%s%N)
  stop_masters
  rss=$(tail -1 "$work/time")
  printf '%s\t%sx%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$set" "$n" "$t" "$tool" "$r" \
    "$(awk "BEGIN{printf \"%.3f\", ($t1-$t0)/1e9}")" "$rss" "$rc" \
    $(($(conns_total) - c0)) $(($(sessions_total) - s0)) "$load" >> "$results"
  tail -1 "$results" >&2
  if [ "$rc" != 0 ]; then
    echo "  $tool failed (rc $rc): $work/out-$set-${n}x$t-$tool-$r.log" >&2
    tail -5 "$work/out-$set-${n}x$t-$tool-$r.log" >&2
  fi
}

# warm_up N T TOOLS: learns host keys and fills the page cache; not measured.
warm_up() {
  local n=$1 t=$2 tool
  shift 2
  for tool in "$@"; do
    cmd_for "$tool" "$n" "$t"
    "${cmd[@]}" > "$work/warmup-$tool.log" 2>&1 || { echo "warm-up of $tool failed:" >&2; tail -20 "$work/warmup-$tool.log" >&2; exit 1; }
    stop_masters
  done
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(/usr/sbin/sshd -V 2>&1 | head -1), load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# Host keys of every host are learnt once by every tool (warm-up on the largest fleet).
for tool in $tools $([ "$scaling" = 1 ] && echo "$scaling_tools"); do echo "$tool"; done | sort -u > "$work/all-tools"
inventory_for "$max_hosts"; workload_for 1
# shellcheck disable=SC2046
warm_up "$max_hosts" 1 $(cat "$work/all-tools")

for shape in $shapes; do
  n=${shape%x*}; t=${shape#*x}
  inventory_for "$n"; workload_for "$t"
  for r in $(seq 1 "$runs"); do
    for tool in $tools; do measure compare "$n" "$t" "$tool" "$r"; done
  done
done
if [ "$scaling" = 1 ]; then
  for n in $sizes; do
    inventory_for "$n"; workload_for 10
    for r in $(seq 1 "$runs"); do
      for tool in $scaling_tools; do measure scaling "$n" 10 "$tool" "$r"; done
    done
  done
fi

/usr/bin/python3 "$repo/bench/summarize.py" "$results"
