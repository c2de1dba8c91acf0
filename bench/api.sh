#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# API benchmark through nginx + TLS on 2 cores (issue: the complete REST API).
# In a private network namespace it starts the stack (quickstart, the build
# in $top_builddir: use an optimised build without sanitizers), then measures
# with wrk (-t2 -c32, HTTPS, keep-alive) in the same run:
#   reference: a FastCGI responder that answers "hello", and one that writes
#              a fixed body as large as the 100-peer list, both behind the
#              same nginx configuration, 2 worker processes each;
#   ours:      GET /api/networks/1/peers (100 peers, authenticated),
#              GET /api/status (100 peers, through the reconciler),
#              creating 1,000 peers one request at a time, worker RSS.
# Prints the figures and the ratios. Needs root, wrk and curl. SECONDS_PER=N
# changes the 10 s per wrk run.
set -euo pipefail
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd -P)}"
: "${top_builddir:=$top_srcdir/build}"
. "$top_srcdir/bench/lib.sh"
on_cleanup '[ -f "$S/run/nginx-ref.pid" ] && kill "$(cat "$S/run/nginx-ref.pid")" 2>/dev/null'
on_cleanup '[ -z "${ref_pid:-}" ] || { pkill -P "$ref_pid" 2>/dev/null; kill "$ref_pid" 2>/dev/null; }'
bench_stack_up
api POST /api/networks '{"name":"Many","mode":"hub-routed","subnet":"10.91.0.0/21","listen_port":51821}' >/dev/null

many_posts 1 99 peer | sort | uniq -c | sed 's/^/  peers for the list: /' >&2
list_size=$(api GET /api/networks/1/peers | wc -c)

# --- references behind the same nginx configuration -----------------------------------
"$top_builddir/bench/ref-fcgi" "$S/run/ref.sock" 2 hello &
ref_pid=$!
sed -e "s|$S/run/api.sock|$S/run/ref.sock|g" -e "s|127.0.0.1:8443|127.0.0.1:8444|" \
	-e "s|$S/run/nginx.pid|$S/run/nginx-ref.pid|" "$S/nginx/nginx.conf" >"$S/nginx/ref.conf"
in_ns nginx -p "$S/nginx" -e "$S/logs/nginx-error.log" -c "$S/nginx/ref.conf"
sleep 0.5
read -r hello_rps hello_p99 <<<"$(wrk_run https://127.0.0.1:8444/api/ref)"
pkill -P "$ref_pid" 2>/dev/null || true; kill "$ref_pid" 2>/dev/null || true; wait "$ref_pid" 2>/dev/null || true
"$top_builddir/bench/ref-fcgi" "$S/run/ref.sock" 2 "$list_size" &
ref_pid=$!
sleep 0.3
read -r fixed_rps fixed_p99 <<<"$(wrk_run https://127.0.0.1:8444/api/ref)"

# --- ours --------------------------------------------------------------------------------
read -r peers_rps peers_p99 <<<"$(wrk_run https://127.0.0.1:8443/api/networks/1/peers)"
# The same list with every request rendered: a worker resends its last two
# lists while nothing changed (cgi/peers.c), so ten page sizes are cycled.
cat >"$state/pages.lua" <<'LUA'
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, "/api/networks/1/peers?limit=" .. (91 + i % 10))
end
LUA
read -r render_rps render_p99 <<<"$(wrk_run https://127.0.0.1:8443/api/networks/1/peers "$state/pages.lua")"
read -r status_rps status_p99 <<<"$(wrk_run https://127.0.0.1:8443/api/status)"
# creation last, so the GETs above see exactly 100 peers
t0=$(date +%s.%N)
codes=$(many_posts 2 1000 bulk | sort | uniq -c | tr -s ' ')
t1=$(date +%s.%N)
create_rate=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", 1000 / (b - a) }')
rss=$(for p in $(pgrep -f "wgpilot-api.fcgi --config $S/config.yaml --socket $S/run/api.sock"); do
	awk '/VmRSS/ { print $2 }' "/proc/$p/status"; done | sort -n | tail -n 1)

pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }
echo "== API through nginx + TLS, wrk -t2 -c32 ${DUR}s, $(nproc) cores"
echo "reference hello responder:            $hello_rps req/s, p99 ${hello_p99} ms"
echo "reference fixed ${list_size}-byte body:      $fixed_rps req/s, p99 ${fixed_p99} ms"
echo "GET /api/networks/1/peers (100 peers): $peers_rps req/s, p99 ${peers_p99} ms = $(pct "$peers_rps" "$fixed_rps") of the fixed-body reference (target >= 50%)"
echo "  the same, every request rendered:    $render_rps req/s, p99 ${render_p99} ms = $(pct "$render_rps" "$fixed_rps") of the fixed-body reference (91-100 peers)"
echo "GET /api/status (100 peers):           $status_rps req/s, p99 ${status_p99} ms = $(pct "$status_rps" "$fixed_rps") of the fixed-body reference (target >= 30%)"
echo "create 1,000 peers one at a time:      $create_rate peers/s (target >= 500; answers:$codes)"
echo "largest API worker RSS:                $((rss / 1024)).$(((rss % 1024) * 10 / 1024)) MB (target <= 10 MB)"
