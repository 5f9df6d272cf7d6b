#!/usr/bin/env bash
# Measures `clearfleet exec -- true` against N local sshd hosts (default 50): wall time, the
# controller's peak memory (/usr/bin/time -v), and SSH connections per host counted from each
# sshd's log. Prints a Markdown table row for docs/performance.md. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50}
runs=${RUNS:-3}
dir=$(mktemp -d /tmp/clearfleet-bench.XXXXXX)
trap 'scripts/fleet stop "$dir"; rm -rf "$dir"' EXIT
scripts/fleet start "$dir" "$n" 23001
cargo build --release --quiet
bin=target/release/clearfleet
export CLEARFLEET_KNOWN_HOSTS=$dir/known_hosts
"$bin" exec -q -i "$dir/inventory.yml" -- true >/dev/null   # learn host keys (accept-new)
for f in "$dir"/hosts/*/sshd.log; do : > "$f"; done

for r in $(seq "$runs"); do
  /usr/bin/time -v -o "$dir/time.$r" "$bin" exec -q --forks "$n" -i "$dir/inventory.yml" -- true >"$dir/out.$r"
  tail -1 "$dir/out.$r"
  grep -E 'Elapsed|Maximum resident' "$dir/time.$r" | sed 's/^\s*/  /'
done

total=0; min=999999; max=0
for f in "$dir"/hosts/*/sshd.log; do
  c=$(grep -c 'Accepted publickey' "$f" || true)
  total=$((total + c)); [ "$c" -lt "$min" ] && min=$c; [ "$c" -gt "$max" ] && max=$c
done
echo "connections per host over $runs runs: min $min, max $max, total $total (expected $((n * runs)))"
sessions=$(cat "$dir"/hosts/*/sshd.log | grep -c 'Starting session' || true)
echo "sessions (channels with a command): $sessions"
