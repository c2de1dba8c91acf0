#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The daemons under valgrind (STYLE.md rule 11): a build without sanitizers
# (ASan and valgrind do not mix) in a temp dir; the reconciler, the API
# master with one worker and the SSE server under memcheck behind a real
# nginx in a network namespace; a representative session through HTTPS
# (wizard, networks, 20 peers, configs and QR codes, event streams, sessions,
# bad requests, bridges, settings, users, API keys, alerts, enable/disable,
# deletes) plus the reconciler's CLI, link-event and signal paths; then every
# valgrind log (one per process) must show 0 errors and nothing definitely
# lost.  Needs root; about 40 s here, most of it the build.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root
command -v valgrind >/dev/null 2>&1 || skip_all "valgrind not installed"
need_cmd curl sqlite3 wireguard-go nginx ip unshare setpriv

SERVICE_USER=wgpilot
URL=https://127.0.0.1:8443
# Generous: every daemon step runs 20-50 times slower under memcheck.
START_TIMEOUT=90
STOP_TIMEOUT=60

mk_tmpdir
dir=$WGP_TMP
ns=wgp-vg-$$
state=$dir/state
vg=$dir/valgrind
cfg=$state/config.yaml

# Keep the logs for a post-mortem when something failed.
# shellcheck disable=SC2317 # runs at exit (on_exit)
keep_logs() {
	local keep="${TMPDIR:-/tmp}/wgpilot-t95-valgrind"
	[ "$TAP_FAILED" -gt 0 ] || return 0
	rm -rf "$keep"
	mkdir -p "$keep"
	cp -R "$vg" "$state/logs" "$dir/build.log" "$keep/" 2>/dev/null
	echo "# valgrind and daemon logs kept in $keep"
}
on_exit keep_logs

# --- a build without sanitizers --------------------------------------------------------
build=$dir/build
mkdir -p "$build"
# Not the jobserver of a surrounding "make check": this is a separate tree.
# shellcheck disable=SC2016 # expanded by that sh
if ! (cd "$build" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL sh -c '
	"$0/configure" -q CFLAGS="-O1 -g" &&
	make -j2 wgpilot/wgpilot reconciler/wgpilot-reconciler cgi/wgpilot-api.fcgi' \
	"$top_srcdir") >"$dir/build.log" 2>&1; then
	fail "build without sanitizers (configure CFLAGS='-O1 -g')"
	diag "$(tail -n 30 "$dir/build.log")"
	done_testing
fi
pass "build without sanitizers (configure CFLAGS='-O1 -g')"
WGP=$build/wgpilot/wgpilot
REC=$build/reconciler/wgpilot-reconciler
API=$build/cgi/wgpilot-api.fcgi

# --- state dir, config, database ---------------------------------------------------------
id "$SERVICE_USER" >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER" ||
	id "$SERVICE_USER" >/dev/null 2>&1
svc_uid=$(id -u "$SERVICE_USER")
svc_gid=$(id -g "$SERVICE_USER")
# The daemons run as the service user: the binaries, the run dir and the
# valgrind log dir must be theirs to use.
chmod -R go+rX "$build"
install -d -m 0750 -o root -g "$SERVICE_USER" "$state"
install -d -m 0770 -o root -g "$SERVICE_USER" "$state/run" "$vg"
install -d -m 0750 "$state/logs"
install -d -m 0755 "$state/nginx" "$state/www"
echo '<!doctype html><title>wgpilot</title>' >"$state/www/index.html"

cat >"$cfg" <<YAML
server:
  listen: "127.0.0.1:8443"
database:
  path: "$state/data/wgpilot.db"
auth:
  master_key_file: "$state/master.key"
  # Argon2id at libsodium's minimum: the interactive limits (64 MiB, 2
  # passes) take seconds per hash under memcheck; the code path is the same.
  argon2_opslimit: 1
  argon2_memlimit: 8192
logging:
  level: info
reconciler:
  socket: "$state/run/reconciler.sock"
  backend: auto
  userspace_binary: /usr/bin/wireguard-go
YAML
chown "root:$SERVICE_USER" "$cfg"
chmod 0640 "$cfg"
out=$("$WGP" --config "$cfg" init 2>&1) || { fail "wgpilot init"; diag "$out"; done_testing; }
token=$(printf '%s\n' "$out" | sed -n 's/^One-time setup password: *\([A-Za-z0-9]\{1,\}\) *$/\1/p' | head -n 1)
like "$token" '^[A-Za-z0-9]+$' "wgpilot init prints the one-time setup password"

# --- daemons ----------------------------------------------------------------------------------
# shellcheck disable=SC2054 # the commas belong to --show-leak-kinds
VG=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--show-leak-kinds=definite,possible --track-fds=yes --track-origins=yes --num-callers=40 --trace-children=no)
[ ! -f "$top_srcdir/t/valgrind.supp" ] || VG+=(--suppressions="$top_srcdir/t/valgrind.supp")
mk_netns "$ns"

# wait_for_socket PID PATH: until PATH is a socket; fails at once when PID exits.
wait_for_socket() {
	local deadline=$((SECONDS + START_TIMEOUT))
	until [ -S "$2" ]; do
		kill -0 "$1" 2>/dev/null && [ $SECONDS -lt $deadline ] || return 1
		sleep 0.2
	done
}

# show_logs: the tails of the daemon logs (for failures).
show_logs() {
	local f
	for f in "$state/logs/"{reconciler,api,sse,nginx-error}.log; do
		[ -s "$f" ] || continue
		diag "==> $f <==" "$(tail -n 15 "$f")"
	done
}

# closefds_exec CMD...: exec CMD with only stdin, stdout and stderr open, so
# that valgrind's fd report shows the daemon's own descriptors only.
# shellcheck disable=SC2317 # called through spawn
closefds_exec() {
	local fd
	for fd in "/proc/$BASHPID/fd/"*; do
		fd=${fd##*/}
		[ "$fd" -le 2 ] || eval "exec $fd>&-"
	done
	exec "$@"
}

# The reconciler as in quickstart: service user with CAP_NET_ADMIN only, in a
# mount namespace whose /var/run/wireguard (wireguard-go's UAPI dir, not per
# network namespace) is a private tmpfs.  Every step execs, so the pid of
# "ip" is the pid of valgrind, which is the reconciler's.  Its forked
# children only exec wireguard-go: their (empty) logs are silenced.
# shellcheck disable=SC2016,SC2054 # expanded by that sh; setpriv's lists
spawn "$state/logs/reconciler.log" closefds_exec ip netns exec "$ns" unshare --mount --propagation private \
	sh -c 'mkdir -p "$0" && mount -t tmpfs -o "mode=0770,uid=$1,gid=$2" tmpfs "$0" && shift 2 && exec "$@"' \
	/var/run/wireguard "$svc_uid" "$svc_gid" \
	setpriv --reuid="$SERVICE_USER" --regid="$SERVICE_USER" --init-groups --no-new-privs \
	--bounding-set=-all,+net_admin --inh-caps=-all,+net_admin --ambient-caps=+net_admin -- \
	"${VG[@]}" --child-silent-after-fork=yes --log-file="$vg/reconciler.%p.log" \
	"$REC" --config "$cfg"
rec_pid=$SPAWN_PID
if ! wait_for_socket "$rec_pid" "$state/run/reconciler.sock"; then
	fail "reconciler under valgrind creates its socket"
	show_logs
	done_testing
fi
pass "reconciler under valgrind creates its socket"

# The API master with one worker: memcheck follows the fork (one log per pid).
# shellcheck disable=SC2054 # setpriv's lists
spawn "$state/logs/api.log" closefds_exec ip netns exec "$ns" \
	setpriv --reuid="$SERVICE_USER" --regid="$SERVICE_USER" --init-groups --no-new-privs \
	--bounding-set=-all --inh-caps=-all -- \
	"${VG[@]}" --log-file="$vg/api.%p.log" \
	"$API" --config "$cfg" --socket "$state/run/api.sock" --workers 1
api_pid=$SPAWN_PID
if ! wait_for_socket "$api_pid" "$state/run/api.sock"; then
	fail "API master under valgrind creates its socket"
	show_logs
	done_testing
fi
pass "API master under valgrind creates its socket"

# The event streams (api.md §8) have their own threaded process when the
# binary has that mode (as in quickstart): under valgrind as well.
sse_sock=$state/run/api.sock sse_pid=
if "$API" --help 2>&1 | grep -q -- --sse-threads; then
	# shellcheck disable=SC2054 # setpriv's lists
	spawn "$state/logs/sse.log" closefds_exec ip netns exec "$ns" \
		setpriv --reuid="$SERVICE_USER" --regid="$SERVICE_USER" --init-groups --no-new-privs \
		--bounding-set=-all --inh-caps=-all -- \
		"${VG[@]}" --log-file="$vg/sse.%p.log" \
		"$API" --config "$cfg" --socket "$state/run/sse.sock" --sse-threads 4
	sse_pid=$SPAWN_PID
	if ! wait_for_socket "$sse_pid" "$state/run/sse.sock"; then
		fail "SSE server under valgrind creates its socket"
		show_logs
		done_testing
	fi
	pass "SSE server under valgrind creates its socket"
	sse_sock=$state/run/sse.sock
fi

sed_escape() { printf '%s' "$1" | sed -e 's/[|&\\]/\\&/g'; }
sed -e "s|@USER@|$SERVICE_USER|g" \
	-e "s|@STATE@|$(sed_escape "$state")|g" \
	-e "s|@LISTEN@|127.0.0.1:8443|g" \
	-e "s|@WWW@|$(sed_escape "$state/www")|g" \
	-e "s|@API_SOCK@|$(sed_escape "$state/run/api.sock")|g" \
	-e "s|@SSE_SOCK@|$(sed_escape "$sse_sock")|g" \
	-e "s|@CERT@|$(sed_escape "$state/data/certs/selfsigned.crt")|g" \
	-e "s|@KEY@|$(sed_escape "$state/data/certs/selfsigned.key")|g" \
	-e "s|@SECURITY_HEADERS@|$(sed_escape "$top_srcdir/nginx/security-headers.conf")|g" \
	"$top_srcdir/nginx/wgpilot-local.conf.in" >"$state/nginx/nginx.conf"
is "$(grep -o '@[A-Z_]\{1,\}@' "$state/nginx/nginx.conf" | sort -u | tr '\n' ' ')" "" \
	"every placeholder of the nginx template is filled"
nginx_args=(-p "$state/nginx/" -e "$state/logs/nginx-error.log" -c "$state/nginx/nginx.conf")
ok "nginx starts (not under valgrind)" ip netns exec "$ns" nginx "${nginx_args[@]}"

export API_NS=$ns API_JAR=$dir/cookies STACK_URL=$URL
: >"$API_JAR"
# shellcheck disable=SC2317 # called through wait_until
setup_ready() { api GET /api/setup/status; [ "$API_STATUS" = 200 ]; }
if ! wait_until "$START_TIMEOUT" setup_ready; then
	fail "the stack answers GET /api/setup/status"
	show_logs
	done_testing
fi
pass "the stack answers GET /api/setup/status"
worker_pids=$(pgrep -P "$api_pid" | tr '\n' ' ')
like "$worker_pids" '^[0-9]+ $' "exactly one API worker (pid ${worker_pids% })"

# --- the session ------------------------------------------------------------------------------
# st STATUS DESC: the status of the last api call.
st() {
	is "$API_STATUS" "$1" "$2"
	tap_last_ok || diag "  body: ${API_BODY:0:300}"
}
jlen() { sqlite3 -batch :memory: "SELECT json_array_length($(printf "'%s'" "${1//\'/\'\'}"))"; }

api POST /api/setup/step/1 "{\"otp\":\"$token\",\"username\":\"admin\",\"password\":\"correct-horse-1\"}"
st 201 "wizard step 1: admin"
api POST /api/setup/step/2 '{"public_ip":"203.0.113.7","hostname":"","dns_servers":"1.1.1.1, 9.9.9.9"}'
st 200 "wizard step 2: server identity"
api POST /api/setup/step/3 '{"name":"Home","mode":"hub-routed","subnet":"10.77.0.0/24","listen_port":51820}'
st 201 "wizard step 3: first network (wg0)"
api POST /api/setup/step/4 '{"name":"laptop","role":"client","tunnel_type":"full"}'
st 201 "wizard step 4: first peer"
api GET /api/setup/status
is "$(json_get "$API_BODY" '$.complete')" true "setup complete"

api POST /api/networks '{"name":"Office","mode":"gateway","subnet":"172.20.0.0/24","listen_port":51821}'
st 201 "second network"
net2=$(json_get "$API_BODY" '$.id' || echo 2)

# Two event streams while the peers are created: one sees a few ticks, the
# other hangs up early (the server must notice and clean up).
cp "$API_JAR" "$dir/sse-jar"
sse_stream() {
	ip netns exec "$ns" curl -skN --max-time "$2" -b "$dir/sse-jar" -o "$3" \
		"$URL/api/networks/$1/events" 2>/dev/null || true
}
sse_stream 1 8 "$dir/sse1.out" &
sse1=$!
sse_stream "$net2" 2 "$dir/sse2.out" &
sse2=$!
on_exit kill "$sse1" "$sse2"

created=0 pids=()
for i in $(seq 1 20); do
	case $((i % 4)) in
	0) body="{\"name\":\"peer-$i\",\"email\":\"p$i@example.com\",\"expires_in\":\"720h\"}" ;;
	1) body="{\"name\":\"peer-$i\",\"tunnel_type\":\"split\",\"persistent_keepalive\":25}" ;;
	2) body="{\"name\":\"gw-$i\",\"role\":\"site-gateway\",\"site_networks\":\"192.168.$i.0/24\"}" ;;
	*) body="{\"name\":\"peer-$i\"}" ;;
	esac
	api POST "/api/networks/$net2/peers" "$body"
	if [ "$API_STATUS" = 201 ]; then
		created=$((created + 1))
		pids+=("$(json_get "$API_BODY" '$.id')")
	else
		diag "peer $i: $API_STATUS ${API_BODY:0:200}"
	fi
done
is "$created" 20 "20 peers created in the second network"
wait "$sse1" "$sse2" 2>/dev/null || true
like "$(grep -c '^event: status' "$dir/sse1.out" 2>/dev/null || true)" '^[1-9]' "an event stream delivers status events"
api GET "/api/networks/$net2/peers"
st 200 "list peers"
is "$(jlen "$API_BODY")" 20 "the list has the 20 peers"
api GET /api/networks
st 200 "list networks"

got_conf=0 got_qr=0
for p in "${pids[@]:0:6}"; do
	api GET "/api/networks/$net2/peers/$p/config"
	[ "$API_STATUS" = 200 ] && [[ $API_BODY == *"[Interface]"* ]] && got_conf=$((got_conf + 1))
	api GET "/api/networks/$net2/peers/$p/qr"
	[ "$API_STATUS" = 200 ] && [ "$(api_header Content-Type)" = image/png ] && got_qr=$((got_qr + 1))
done
api GET "/api/networks/$net2/peers/${pids[0]}/qr?format=svg"
[ "$API_STATUS" = 200 ] && got_qr=$((got_qr + 1))
is "$got_conf" 6 "six configs downloaded"
is "$got_qr" 7 "seven QR codes (PNG and SVG)"
api GET "/api/networks/$net2/export"
st 200 "network export"

api GET /api/status
st 200 "GET /api/status"
is "$(json_get "$API_BODY" '$.networks[1].interface' || true)" wg1 "status reports both networks"
api GET "/api/networks/$net2/stats"
like "$API_STATUS" '^(200|404)$' "network stats answer"
api GET /health
like "$API_STATUS" '^(200|503)$' "health answers"

api POST /api/auth/logout
st 200 "logout"
api GET /api/auth/me
st 401 "logged out"
api POST /api/auth/login '{"username":"admin","password":"wrong-password"}'
st 401 "login with a wrong password"
api POST /api/auth/login '{"username":"admin","password":"correct-horse-1"}'
st 200 "login"
api GET /api/auth/me
st 200 "me with the new session"

api POST /api/networks '{"name":'
st 400 "malformed JSON"
api POST /api/networks '{}'
st 400 "empty object"
api POST /api/networks '{"name":"","mode":"x","subnet":"x","listen_port":1,"zzz":[1,{"a":null}]}'
st 400 "every field wrong"
api GET /api/nope
st 404 "unknown route"
api DELETE /api/setup/status
st 405 "wrong method"
api GET /api/networks/abc
st 400 "non-numeric id"
api GET "/api/networks/$net2/peers/999999"
st 404 "unknown peer"
head -c 1100000 /dev/zero | tr '\0' 'a' | sed 's/^/{"name":"/; s/$/"}/' >"$dir/big.json"
api POST "/api/networks/$net2/peers" "@$dir/big.json"
st 413 "body over 1 MiB (nginx)"
# /api/system/restore admits bodies up to 64 MiB in nginx: the API's own limits.
api POST /api/system/restore "@$dir/big.json"
like "$API_STATUS" '^4[0-9][0-9]$' "oversized JSON to restore is refused by the API"

br='{"network_a_id":1,"network_b_id":'"$net2"'}'
api POST /api/bridges "$br"
st 201 "create a bridge"
bridge=$(json_get "$API_BODY" '$.id' || echo 0)
api POST /api/bridges "$br"
st 409 "the same bridge twice"
api POST /api/bridges '{"network_a_id":1,"network_b_id":1,"direction":"sideways"}'
st 400 "bad bridge"
api PUT "/api/bridges/$bridge" '{"direction":"a_to_b","allowed_cidrs":"10.77.0.0/24, 192.168.60.7/24"}'
st 200 "update the bridge"
api GET /api/bridges
st 200 "list bridges"

api GET /api/settings
st 200 "get settings"
api PUT /api/settings '{"hostname":"vpn.example.com","smtp_host":"mail.example.com","smtp_port":"587","smtp_pass":"s3cret","alert_email":"ops@example.com"}'
st 200 "update settings"
api PUT /api/settings '{"smtp_port":"0","bogus":"1"}'
st 400 "bad settings"

victim=${pids[3]:-4}
api POST "/api/networks/$net2/peers/$victim/disable"
st 200 "disable a peer"
api POST "/api/networks/$net2/peers/$victim/enable"
st 200 "enable it again"
api PUT "/api/networks/$net2/peers/$victim" '{"name":"renamed","persistent_keepalive":30}'
st 200 "update a peer"
api DELETE "/api/networks/$net2/peers/${pids[0]:-1}"
st 204 "delete a peer"
api PUT "/api/networks/$net2" '{"name":"Office 2","dns_servers":"9.9.9.9","nat_enabled":false}'
st 200 "update a network"
api POST "/api/networks/$net2/disable"
st 200 "disable a network"
api POST "/api/networks/$net2/enable"
st 200 "enable it again"

api POST /api/users '{"username":"viewer1","password":"viewer-pass-1","role":"viewer"}'
st 201 "create a user"
user=$(json_get "$API_BODY" '$.id' || echo 0)
api GET /api/users
st 200 "list users"
api DELETE "/api/users/$user"
st 204 "delete the user"
api POST /api/api-keys '{"name":"ci","expires_in":"720h"}'
st 201 "create an API key"
key=$(json_get "$API_BODY" '$.key' || true)
key_id=$(json_get "$API_BODY" '$.id' || echo 0)
API_CURL_ARGS=(-H "Authorization: Bearer $key")
api POST /api/alerts '{"type":"interface_down","threshold":"0"}'
st 201 "create an alert with the API key"
alert=$(json_get "$API_BODY" '$.id' || echo 0)
API_CURL_ARGS=()
api GET /api/alerts
st 200 "list alerts"
api DELETE "/api/alerts/$alert"
st 204 "delete the alert"
api DELETE "/api/api-keys/$key_id"
st 200 "delete the API key"
api GET '/api/audit-log?limit=50&action=peer.created'
st 200 "audit log"
api GET /api/system/info
st 200 "system info"

# --- the reconciler's own paths -------------------------------------------------------------
ok "wgpilot reconcile (full pass over the socket)" "$WGP" --config "$cfg" reconcile
ok "wg0 exists" ip -n "$ns" link show wg0
ip -n "$ns" link del wg0
ok "a link deleted behind its back comes back (link event)" \
	wait_until 60 ip -n "$ns" link show wg0
kill -HUP "$rec_pid"
ok "SIGHUP: configuration re-read" wait_until 30 grep -q '"reloaded"' "$state/logs/reconciler.log"
ok "the reconciler still answers after SIGHUP" "$WGP" --config "$cfg" status

api DELETE "/api/bridges/$bridge"
st 204 "delete the bridge"
api DELETE "/api/networks/$net2"
st 204 "delete the second network"
ok "its interface is gone" wait_until 30 bash -c "! ip -n '$ns' link show wg1"
api GET /api/networks
is "$(jlen "$API_BODY")" 1 "one network left"

# --- shutdown ---------------------------------------------------------------------------------
# stop PID DESC: SIGTERM, then wait for the exit code (valgrind: 99 = errors).
stop() {
	local pid=$1 rc=0 i
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "$2 exits on SIGTERM within ${STOP_TIMEOUT} s"
		return 0
	fi
	wait "$pid" 2>/dev/null || rc=$?
	is "$rc" 0 "$2 exits 0 on SIGTERM"
}
if nginx_pid=$(cat "$state/run/nginx.pid" 2>/dev/null); then
	kill -QUIT "$nginx_pid" 2>/dev/null || true
	wait_until 20 bash -c "! kill -0 $nginx_pid" || true
fi
[ -z "$sse_pid" ] || stop "$sse_pid" "SSE server"
stop "$api_pid" "API master (and its worker)"
stop "$rec_pid" "reconciler"

# --- the valgrind logs ------------------------------------------------------------------------
# vg_num LOG REGEX: the first number after REGEX on a summary line (0 if absent:
# "All heap blocks were freed" has no leak lines).
vg_num() {
	sed -n "s/^==[0-9]*== *$2 *\([0-9,]*\).*/\1/p" "$1" | head -n 1 | tr -d , | grep . || echo 0
}
declare -A seen=()
nlogs=0
for log in "$vg"/*.log; do
	[ -e "$log" ] || continue
	nlogs=$((nlogs + 1))
	name=$(basename "$log" .log)
	pid=${name##*.}
	seen[$pid]=1
	if ! grep -q 'ERROR SUMMARY:' "$log"; then
		fail "$name: valgrind finished (ERROR SUMMARY present)"
		diag "$(tail -n 20 "$log")"
		continue
	fi
	errors=$(vg_num "$log" 'ERROR SUMMARY:')
	def=$(vg_num "$log" 'definitely lost:')
	ind=$(vg_num "$log" 'indirectly lost:')
	pos=$(vg_num "$log" 'possibly lost:')
	reach=$(vg_num "$log" 'still reachable:')
	heap=$(sed -n 's/^==[0-9]*== *total heap usage: \(.*\)/\1/p' "$log" | head -n 1)
	# Descriptors open at exit that the process opened itself (not
	# inherited, not 0-2): a report, not an error, for valgrind 3.19.
	fds=$(awk '/^==[0-9]+== Open / { sub(/^==[0-9]+== +/, ""); d = $0; next }
		d != "" && /<inherited from parent>/ { d = ""; next }
		d != "" { print d; d = "" }' "$log")
	diag "$name: errors $errors; lost: definitely $def, indirectly $ind, possibly $pos bytes;" \
		"  still reachable $reach bytes; heap: $heap" \
		"  own fds open at exit: $(printf '%s\n' "$fds" | grep -c . || true)${fds:+ ($(printf '%s' "$fds" | tr '\n' ';'))}"
	is "$errors" 0 "$name: 0 valgrind errors"
	is "$def" 0 "$name: nothing definitely lost"
	if [ "$errors" != 0 ] || [ "$def" != 0 ]; then
		# every error and definite leak with its stack
		diag "$(awk '/^==[0-9]+== [^ ].*(Invalid |uninitialised|Syscall param|Mismatched|overlap|fishy|definitely lost in loss|Process terminating|Jump to the invalid)/ { p = 1 }
			p { print } /^==[0-9]+== $/ { p = 0 }' "$log" | head -n 60)"
	fi
done
for p in "$rec_pid" "$api_pid" ${worker_pids:-} ${sse_pid:-}; do
	[ -n "${seen[$p]:-}" ] || fail "a valgrind log for pid $p"
done
diag "$nlogs valgrind logs (reconciler, API master, API worker, SSE server)"

done_testing
