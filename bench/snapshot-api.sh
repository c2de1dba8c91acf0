#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# API latency during snapshot passes (issue: operations; target: p99 during a
# pass <= 2x its normal value). In a private network namespace it starts the
# stack (quickstart, the build in $top_builddir: use an optimised build),
# adds a second network of PEERS (default 10,000) peers straight into the DB
# (bench/gen-peers) and waits until the reconciler has put them into
# wireguard-go. Then, in the same run, wrk (-t2 -c32, HTTPS) on
# GET /api/networks/1/peers (100 peers):
#   normal:  nothing else running;
#   during:  snapshot passes back to back (`wgpilot snapshot --once`, the
#            cron job's pass). Counters do not move without traffic, and a
#            pass stores only changed samples, so before each pass the stored
#            samples are deleted: every pass reads all PEERS peers from the
#            reconciler and writes PEERS rows in one transaction (the worst
#            case, continuously, where cron runs one pass every 30 s).
# Prints both, the ratio, and the passes' count and durations.
set -euo pipefail
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd -P)}"
: "${top_builddir:=$top_srcdir/build}"
PEERS=${PEERS:-10000}
. "$top_srcdir/bench/lib.sh"
on_cleanup '[ -z "${loop_pid:-}" ] || { kill "$loop_pid" 2>/dev/null; wait "$loop_pid" 2>/dev/null; }'
bench_stack_up
WGP=$top_builddir/wgpilot/wgpilot
CFG=$S/config.yaml
DB=$(sed -n 's/^ *path: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$CFG" | head -n 1)

many_posts 1 99 peer | sort | uniq -c | sed 's/^/  peers for the list: /' >&2
"$top_builddir/bench/gen-peers" --config "$CFG" --peers "$PEERS" --port 51830 \
	--subnet 10.100.0.0/18 "$state/setconf.conf" >/dev/null
in_ns "$WGP" --config "$CFG" reconcile >/dev/null 2>&1 || true
for _ in $(seq 600); do
	n=$(in_ns "$WGP" --config "$CFG" status --json 2>/dev/null | grep -c '"public_key"' || true)
	[ "$n" -ge $((PEERS + 100)) ] && break
	sleep 0.5
done
echo "  peers in the kernel (both networks): ${n:-0}" >&2

read -r norm_rps norm_p99 <<<"$(wrk_run https://127.0.0.1:8443/api/networks/1/peers)"

passes=$state/passes
: >"$passes"
(
	while :; do
		# (setup only, not part of a pass: as low a priority as the job)
		nice -n 10 sqlite3 "$DB" "DELETE FROM peer_snapshots" 2>/dev/null || true
		t0=$(date +%s.%N)
		in_ns "$WGP" --config "$CFG" snapshot --once 2>"$state/snap.log" >/dev/null || true
		t1=$(date +%s.%N)
		rows=$(sed -n 's/.*"msg":"snapshot_complete".*"inserted":\([0-9]*\).*/\1/p' "$state/snap.log")
		[ -n "$rows" ] || rows=$(sed -n 's/.*"inserted":\([0-9]*\).*"msg":"snapshot_complete".*/\1/p' "$state/snap.log")
		awk -v a="$t0" -v b="$t1" -v r="${rows:-?}" 'BEGIN { printf "%.3f %s\n", b - a, r }' >>"$passes"
	done
) &
loop_pid=$!
sleep 1
read -r snap_rps snap_p99 <<<"$(wrk_run https://127.0.0.1:8443/api/networks/1/peers)"
kill "$loop_pid" 2>/dev/null || true
wait "$loop_pid" 2>/dev/null || true
loop_pid=

echo "== API p99 during snapshot passes, wrk -t2 -c32 ${DUR}s, $(nproc) cores, $PEERS + 100 peers"
echo "GET /api/networks/1/peers, normal:           $norm_rps req/s, p99 ${norm_p99} ms"
echo "GET /api/networks/1/peers, during passes:    $snap_rps req/s, p99 ${snap_p99} ms = $(awk -v a="$snap_p99" -v b="$norm_p99" 'BEGIN { printf "%.2f", a / b }')x normal (target <= 2x)"
awk '{ n++; s += $1; if ($1 > m) m = $1; r = $2 } END {
	if (n) printf "snapshot passes during the run:         %d back to back, mean %.2f s, max %.2f s, %s rows each\n", n, s / n, m, r }' "$passes"
