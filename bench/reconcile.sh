#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reconciler benchmark (issue: 10k peers). Inside a private network and mount
# namespace it measures, in the same run:
#   reference: `wg setconf` of N peers into a fresh wireguard-go device (cold,
#              then again), and `wg show dump`;
#   ours:      cold reconcile of a network with the same N peers from the DB
#              (including starting wireguard-go), a no-op reconcile, a
#              one-peer change, and the reconciler's RSS.
# Prints the figures and the ratios. Needs root. PEERS=N overrides 10000.
set -euo pipefail
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd -P)}"
: "${top_builddir:=$top_srcdir/build}"
PEERS=${PEERS:-10000}

if [ "${1:-}" != --inner ]; then
	[ "$(id -u)" -eq 0 ] || { echo "bench: needs root" >&2; exit 1; }
	ns=wgp-bench-$$
	ip netns add "$ns"
	trap 'set +e; pids=$(ip netns pids "$ns" 2>/dev/null); [ -z "$pids" ] || kill $pids 2>/dev/null; sleep 0.3; ip netns del "$ns" 2>/dev/null' EXIT
	ip -n "$ns" link set lo up
	ip netns exec "$ns" unshare --mount --propagation private \
		env top_srcdir="$top_srcdir" top_builddir="$top_builddir" PEERS="$PEERS" \
		bash "$0" --inner
	exit
fi

mount -t tmpfs tmpfs /var/run/wireguard 2>/dev/null || { mkdir -p /var/run/wireguard; mount -t tmpfs tmpfs /var/run/wireguard; }
work=$(mktemp -d /tmp/wgp-bench.XXXXXX)
kill_ours() {   # wireguard-go processes of this network namespace only
	local me p
	me=$(readlink /proc/self/ns/net)
	for p in $(pgrep -f "wireguard-go -f" || true); do
		[ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" != "$me" ] || kill "$p" 2>/dev/null || true
	done
}
trap 'set +e; kill $(jobs -p) 2>/dev/null; kill_ours; rm -rf "$work"' EXIT
WGP=$top_builddir/wgpilot/wgpilot
REC=$top_builddir/reconciler/wgpilot-reconciler
GEN=$top_builddir/bench/gen-peers

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

cat >"$work/config.yaml" <<YAML
database:
  path: "$work/data/wgpilot.db"
auth:
  master_key_file: "$work/master.key"
logging:
  level: warn
reconciler:
  socket: "$work/rec.sock"
  backend: userspace
  userspace_binary: /usr/bin/wireguard-go
  resync_interval: 3650d
YAML
"$WGP" --config "$work/config.yaml" init >/dev/null
"$GEN" --config "$work/config.yaml" --peers "$PEERS" --disabled "$work/setconf.conf" >/dev/null

echo "== $PEERS peers, $(nproc) cores, $(uname -r)"

# --- reference: wg setconf into wireguard-go ----------------------------------
wireguard-go -f wgref0 >/dev/null 2>&1 &
for _ in $(seq 50); do [ -S /var/run/wireguard/wgref0.sock ] && break; sleep 0.1; done
t0=$(now); wg setconf wgref0 "$work/setconf.conf"; t1=$(now)
ref_cold=$(elapsed "$t0" "$t1")
t0=$(now); wg setconf wgref0 "$work/setconf.conf"; t1=$(now)
ref_warm=$(elapsed "$t0" "$t1")
t0=$(now); wg show wgref0 dump >/dev/null; t1=$(now)
ref_dump=$(elapsed "$t0" "$t1")
ip link del wgref0
echo "reference: wg setconf cold ${ref_cold}s, again ${ref_warm}s, wg show dump ${ref_dump}s"

# --- ours ----------------------------------------------------------------------
"$REC" --config "$work/config.yaml" 2>"$work/rec.log" &
rec_pid=$!
for _ in $(seq 100); do [ -S "$work/rec.sock" ] && break; sleep 0.05; done
sqlite3 "$work/data/wgpilot.db" "UPDATE networks SET enabled = 1"
t0=$(now); "$WGP" --config "$work/config.yaml" reconcile --network 1 >/dev/null; t1=$(now)
cold=$(elapsed "$t0" "$t1")
n=$(wg show wg0 peers | wc -l)
t0=$(now); "$WGP" --config "$work/config.yaml" reconcile --network 1 >/dev/null; t1=$(now)
noop=$(elapsed "$t0" "$t1")
sqlite3 "$work/data/wgpilot.db" "UPDATE peers SET persistent_keepalive = 25 WHERE id = $((PEERS / 2))"
t0=$(now); "$WGP" --config "$work/config.yaml" reconcile --network 1 --peer $((PEERS / 2)) >/dev/null; t1=$(now)
one=$(elapsed "$t0" "$t1")
changed=$(wg show wg0 persistent-keepalive | awk '$2 != "off"' | wc -l)
rss=$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$rec_pid/status")
echo "ours: cold reconcile ${cold}s (kernel has $n peers), no-op ${noop}s, one peer changed ${one}s ($changed peer touched), reconciler peak RSS ${rss} MB"
echo "ratio cold reconcile / wg setconf cold: $(ratio "$cold" "$ref_cold") (target <= 1.2)"
echo "no-op reconcile: ${noop}s (target <= 0.2 s); one-peer change: ${one}s (target <= 0.05 s); RSS ${rss} MB (target <= 20 MB)"
kill "$rec_pid"
