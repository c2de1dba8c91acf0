# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# shellcheck disable=SC2034 # S, ns, cookie, state are results for the caller
#
# Shared by the API benchmarks (bench/api.sh, bench/snapshot-api.sh), sourced
# after "set -euo pipefail" with top_srcdir/top_builddir set:
#   bench_stack_up       a private network namespace ($ns) with the whole
#                        stack of $top_builddir (quickstart, state in $S),
#                        the wizard done (network 1 "Bench", 1 peer) and an
#                        admin session ($cookie); cleanup on exit
#   on_cleanup CMD       one more command for the exit trap (runs first)
#   in_ns CMD...         CMD inside the namespace
#   api METHOD PATH [BODY]   one authenticated request, body on stdout
#   many_posts NET COUNT PREFIX   COUNT peers created one request at a time
#                        through one curl process (one TLS connection, like a
#                        UI); prints the HTTP status of each
#   wrk_run URL [LUA]    wrk -t2 -c32 for $DUR s (with the wrk script LUA)
#                        -> "req/s p99_ms"
DUR=${SECONDS_PER:-10}
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)" >&2; exit 1; }

ns=wgp-bench-$$
state=$(mktemp -d /var/tmp/wgp-bench.XXXXXX)
chmod 0755 "$state"
S=$state/s
bench_cleanups=()
on_cleanup() { bench_cleanups=("$*" "${bench_cleanups[@]}"); }
bench_cleanup() {
	set +e          # every step runs, whatever failed before
	local c pids
	for c in "${bench_cleanups[@]}"; do eval "$c"; done
	"$top_srcdir/quickstart" down --netns "$ns" --state "$S" >/dev/null 2>&1 || true
	pids=$(ip netns pids "$ns" 2>/dev/null || true)
	[ -z "$pids" ] || kill $pids 2>/dev/null || true
	sleep 0.3
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$state"
}
trap bench_cleanup EXIT

in_ns() { ip netns exec "$ns" "$@"; }
api() {
	in_ns curl -sk -b "$state/jar" -c "$state/jar" -H 'Content-Type: application/json' -X "$1" \
		"https://127.0.0.1:8443$2" ${3:+--data-binary "$3"}
}

bench_stack_up() {
	local out token
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	out=$("$top_srcdir/quickstart" up --netns "$ns" --state "$S" --builddir "$top_builddir" --no-build 2>/dev/null)
	token=$(sed -n 's/^SETUP_TOKEN=//p' <<<"$out")
	api POST /api/setup/step/1 "{\"otp\":\"$token\",\"username\":\"admin\",\"password\":\"correct-horse-1\"}" >/dev/null
	api POST /api/setup/step/2 '{"public_ip":"203.0.113.1"}' >/dev/null
	api POST /api/setup/step/3 '{"name":"Bench","mode":"gateway","subnet":"10.90.0.0/24","listen_port":51820}' >/dev/null
	api POST /api/setup/step/4 '{"name":"peer-1"}' >/dev/null
	cookie=$(awk '$6 == "session" { print "session=" $7 }' "$state/jar")
}

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

wrk_run() { # URL [LUA] -> "req/s p99_ms"
	in_ns wrk -t2 -c32 -d"${DUR}s" --latency -H "Cookie: $cookie" ${2:+-s "$2"} "$1" 2>/dev/null | awk '
		/Requests\/sec/ { rps = $2 }
		/ 99%/ { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }; p99 = v }
		END { printf "%.0f %.2f", rps, p99 }'
}
