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
DUR=${SECONDS_PER:-10}
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)" >&2; exit 1; }

ns=wgp-bapi-$$
state=$(mktemp -d /var/tmp/wgp-bench-api.XXXXXX)
chmod 0755 "$state"
cleanup() {
	set +e          # every step runs, whatever failed before
	[ -f "$state/s/run/nginx-ref.pid" ] && kill "$(cat "$state/s/run/nginx-ref.pid")" 2>/dev/null
	[ -z "${ref_pid:-}" ] || { pkill -P "$ref_pid" 2>/dev/null; kill "$ref_pid" 2>/dev/null; }
	"$top_srcdir/quickstart" down --netns "$ns" --state "$state/s" >/dev/null 2>&1 || true
	pids=$(ip netns pids "$ns" 2>/dev/null || true)
	[ -z "$pids" ] || kill $pids 2>/dev/null || true
	sleep 0.3
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$state"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
out=$("$top_srcdir/quickstart" up --netns "$ns" --state "$state/s" --builddir "$top_builddir" --no-build 2>/dev/null)
token=$(sed -n 's/^SETUP_TOKEN=//p' <<<"$out")
S=$state/s
in_ns() { ip netns exec "$ns" "$@"; }
jar=$state/jar
api() {
	in_ns curl -sk -b "$jar" -c "$jar" -H 'Content-Type: application/json' -X "$1" \
		"https://127.0.0.1:8443$2" ${3:+--data-binary "$3"}
}
api POST /api/setup/step/1 "{\"otp\":\"$token\",\"username\":\"admin\",\"password\":\"correct-horse-1\"}" >/dev/null
api POST /api/setup/step/2 '{"public_ip":"203.0.113.1"}' >/dev/null
api POST /api/setup/step/3 '{"name":"Bench","mode":"gateway","subnet":"10.90.0.0/24","listen_port":51820}' >/dev/null
api POST /api/setup/step/4 '{"name":"peer-1"}' >/dev/null
api POST /api/networks '{"name":"Many","mode":"hub-routed","subnet":"10.91.0.0/21","listen_port":51821}' >/dev/null
cookie=$(awk '$6 == "session" { print "session=" $7 }' "$jar")

# N POSTs through one curl process (one TLS connection, like a UI would).
many_posts() { # NETWORK COUNT PREFIX
	local cfg=$state/posts.cfg i
	: >"$cfg"
	for ((i = 1; i <= $2; i++)); do
		[ "$i" -eq 1 ] || echo next >>"$cfg"
		# "next" resets every option, so each request carries all of them
		printf 'insecure\nsilent\nhttp1.1\nurl = "https://127.0.0.1:8443/api/networks/%s/peers"\nrequest = "POST"\nheader = "Content-Type: application/json"\nheader = "Cookie: %s"\ndata = "{\\"name\\":\\"%s %d\\"}"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
			"$1" "$cookie" "$3" "$i" >>"$cfg"
	done
	in_ns curl -K "$cfg"
}
many_posts 1 99 peer | sort | uniq -c | sed 's/^/  peers for the list: /' >&2
list_size=$(api GET /api/networks/1/peers | wc -c)

wrk_run() { # URL -> "req/s p99_ms"
	in_ns wrk -t2 -c32 -d"${DUR}s" --latency -H "Cookie: $cookie" "$1" 2>/dev/null | awk '
		/Requests\/sec/ { rps = $2 }
		/ 99%/ { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }; p99 = v }
		END { printf "%.0f %.2f", rps, p99 }'
}

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
echo "GET /api/status (100 peers):           $status_rps req/s, p99 ${status_p99} ms = $(pct "$status_rps" "$fixed_rps") of the fixed-body reference (target >= 30%)"
echo "create 1,000 peers one at a time:      $create_rate peers/s (target >= 500; answers:$codes)"
echo "largest API worker RSS:                $((rss / 1024)).$(((rss % 1024) * 10 / 1024)) MB (target <= 10 MB)"
