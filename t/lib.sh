# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# shellcheck disable=SC2034 # STACK_*, API_*, WG_PID, dir/ns/state/DB are results for the caller
#
# Helpers for the shell tests (t/NN-name.sh), sourced after "set -euo pipefail":
#
#   . "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
#
# TAP, plan at the end (like t/tap.h):
#   ok DESC CMD...        pass when CMD exits 0 (its output goes to stderr)
#   is GOT WANT DESC      string equality
#   like GOT ERE DESC     GOT matches the extended regular expression ERE
#   pass DESC / fail DESC an unconditional result ("ok" / "not ok")
#   skip N REASON         N skipped results
#   diag MSG...           "# MSG" on stdout (shown by the TAP driver)
#   done_testing          the plan "1..N"; exits 1 if anything failed
#   skip_all REASON       "1..0 # SKIP REASON", exit 0
#   bail_out MSG          "Bail out! MSG", exit 1
#   need_root             skip_all unless root (CI runs as root)
#   need_cmd CMD...       skip_all unless every CMD is installed
# Assertions always return 0 (the tests run under set -e); tap_last_ok tells
# whether the latest one passed.
#
# Cleanup: on_exit CMD... registers CMD; at exit every registered command runs
# in reverse order, failures ignored.  mk_tmpdir, mk_netns, mk_veth, spawn,
# stack_up and wg_userspace_up register their own cleanup.
#
# A standalone reconciler (no stack):
#   rec_test_setup DIR [DB]  writes DIR/config.yaml (userspace wireguard-go,
#                         socket DIR/rec.sock, no periodic resync, DB default
#                         DIR/data/wgpilot.db), runs `wgpilot init` with it,
#                         and registers wg_kill_own for exit
#   wg_kill_own           kills the wireguard-go processes of this network
#                         namespace only (other tests run in their own)
#
# Stack and API (see quickstart):
#   stack_up NS STATE     ./quickstart up --netns NS --state STATE with the
#                         binaries of $top_builddir; sets STACK_URL, STACK_TOKEN
#   stack_down NS STATE
#   api METHOD PATH [BODY]  HTTPS request in $API_NS with the cookie jar
#                         $API_JAR; sets API_STATUS, API_BODY, API_HEADERS;
#                         BODY "@FILE" sends the contents of FILE; extra
#                         curl arguments from the array API_CURL_ARGS
#   api_header NAME       a response header of the last api call
#   api_request METHOD PATH CURL-ARGS...  what api and api_as are built on:
#                         curl in $API_NS with only CURL-ARGS (no cookies,
#                         no Accept); sets API_STATUS, API_BODY, API_HEADERS
#   json_get JSON PATH    value at the SQLite JSON path ($.a.b[0]); strings
#                         raw, true/false/null as words, objects as JSON;
#                         fails when absent or JSON is invalid
#   json_save JSON PATH FILE  the string at PATH, byte-exact, into FILE
#   json_len JSON PATH    length of the array at PATH
#   json_keys JSON PATH   keys of the object at PATH, in order, joined by ","
#   sql_quote STRING      STRING as an SQL string literal
#
# API tests (t/6x-api-*.sh), on top of the above:
#   api_test_env NAME     mk_tmpdir and the namespace wgp-NAME-$$; sets dir
#                         (= WGP_TMP), ns, state ($dir/state) and DB
#   api_test_up           stack_up "$ns" "$state" as the result "stack
#                         starts"; when it fails: the logs, the plan, exit
#   api_as WHO METHOD PATH [BODY]  a request as WHO: "anon", a session name
#                         (cookie jar $WGP_TMP/NAME.jar), "key=KEY" (Bearer),
#                         or several joined by "+"; source address rotating
#                         through 127.0.0.11-250 unless SRC is set
#   api_status STATUS DESC        the last request answered STATUS
#   api_expect STATUS CODE DESC   ... with error code CODE and request_id =
#                         X-Request-ID (one result)
#   api_refused STATUS CODE DESC CMD...  CMD (a request), api_expect, and
#                         "  ... and changes nothing": the output of the
#                         test's own db_state function is the same after
#   api_error_fields [KEY [SEP]]  KEY (default field) of every entry of
#                         error.fields of the last answer, joined by SEP (",")
#   wizard_admin [WHO]    setup step 1 (admin / correct-horse-1 with
#                         $STACK_TOKEN) as the result "wizard step 1"
#   wizard_finish SUBNET [WHO]  steps 2-4: public IP 203.0.113.7, a gateway
#                         network Home on SUBNET port 51820, a peer laptop;
#                         a result per step.  Without WHO both use api.
#
# WireGuard (userspace, wireguard-go; this kernel has no WireGuard module):
#   wg_userspace_up NS IFACE  wireguard-go for IFACE in NS with a private
#                         /var/run/wireguard; sets WG_PID (use wg_exec)
#   wg_exec PID CMD...    run CMD in the network and mount namespaces of PID
#   wg_strip_conf FILE    the wg-quick file without wg-quick-only keys
#   wg_quick_value FILE KEY  first value of KEY (e.g. Address) in FILE
#   wg_client_up NS IFACE CONF ROUTE  a wg-quick style client: wireguard-go,
#                         wg setconf of the stripped CONF, its Address, link
#                         up, ROUTE (a CIDR) via IFACE; sets WG_PID

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)}"
: "${top_builddir:=$top_srcdir/build}"
export top_srcdir top_builddir

TAP_N=0
TAP_FAILED=0
API_CURL_ARGS=()
TAP_LAST=0
_WGP_CLEANUP=()

# ---------------------------------------------------------------------------
# TAP

_tap_result() {  # STATUS(0|1) DESC
	TAP_N=$((TAP_N + 1))
	TAP_LAST=$1
	if [ "$1" -eq 0 ]; then
		printf 'ok %d - %s\n' "$TAP_N" "$2"
	else
		TAP_FAILED=$((TAP_FAILED + 1))
		printf 'not ok %d - %s\n' "$TAP_N" "$2"
	fi
}

tap_last_ok() { [ "$TAP_LAST" -eq 0 ]; }

pass() { _tap_result 0 "$1"; }
fail() { _tap_result 1 "$1"; }

# diag MSG...: every line of every MSG as a TAP comment.
diag() {
	local msg line
	for msg in "$@"; do
		while IFS= read -r line; do
			printf '# %s\n' "$line"
		done <<<"$msg"
	done
}

ok() {
	local desc=$1 rc=0
	shift
	"$@" >&2 || rc=$?
	_tap_result "$((rc != 0))" "$desc"
	[ $rc -eq 0 ] || diag "  command failed (exit $rc): $*"
	return 0
}

is() {
	if [ "$1" = "$2" ]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		diag "  got:  '$1'" "  want: '$2'"
	fi
	return 0
}

like() {
	if [[ $1 =~ $2 ]]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		diag "  got:          '$1'" "  should match: /$2/"
	fi
	return 0
}

skip() {
	local n=$1 i
	for ((i = 0; i < n; i++)); do
		TAP_N=$((TAP_N + 1))
		printf 'ok %d # skip %s\n' "$TAP_N" "$2"
	done
}

done_testing() {
	printf '1..%d\n' "$TAP_N"
	[ "$TAP_FAILED" -eq 0 ] || exit 1
	exit 0
}

skip_all() {
	printf '1..0 # SKIP %s\n' "$1"
	exit 0
}

bail_out() {
	printf 'Bail out! %s\n' "$1"
	exit 1
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root"
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "needs $c"
	done
}

# ---------------------------------------------------------------------------
# cleanup registry

on_exit() {
	local cmd
	printf -v cmd '%q ' "$@"
	_WGP_CLEANUP+=("$cmd")
}

_wgp_run_cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	set +e
	for ((i = ${#_WGP_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${_WGP_CLEANUP[i]}" </dev/null >&2 2>&1
	done
	exit "$rc"
}
trap _wgp_run_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# mk_tmpdir: a fresh directory (mode 0755, so the service user can reach
# state dirs inside it), removed at exit; printed and stored in WGP_TMP.
mk_tmpdir() {
	WGP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/wgpilot-test.XXXXXX")
	chmod 0755 "$WGP_TMP"
	on_exit rm -rf "$WGP_TMP"
}

# mk_netns NAME: a new network namespace with lo up; at exit every process
# left in it is killed and the namespace (with its links) deleted.
mk_netns() {
	ip netns add "$1"
	on_exit _wgp_del_netns "$1"
	ip -n "$1" link set lo up
}

_wgp_del_netns() {
	local pids
	[ -e "/run/netns/$1" ] || return 0
	pids=$(ip netns pids "$1" 2>/dev/null || true)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086 # one word per pid
		kill $pids 2>/dev/null
		sleep 0.5
		pids=$(ip netns pids "$1" 2>/dev/null || true)
		# shellcheck disable=SC2086
		[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
	fi
	ip netns del "$1"
}

# mk_veth NS1 IF1 CIDR1 NS2 IF2 CIDR2: a veth pair created directly inside the
# two namespaces (never in the host's), addressed and up.
mk_veth() {
	ip -n "$1" link add "$2" type veth peer name "$5" netns "$4"
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$4" addr add "$6" dev "$5"
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}

# spawn LOG CMD...: CMD in the background, output to LOG, killed at exit;
# its pid in SPAWN_PID.
spawn() {
	local log=$1
	shift
	"$@" </dev/null >>"$log" 2>&1 &
	SPAWN_PID=$!
	on_exit _wgp_kill "$SPAWN_PID"
}

_wgp_kill() {
	local i
	kill "$1" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
}

# wait_until SECONDS CMD...: poll CMD every 0.2 s until it succeeds.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# ---------------------------------------------------------------------------
# the stack

# stack_up NS STATE: start the stack in NS with the tested build (no apt, no
# make).  Sets STACK_URL and STACK_TOKEN, API_NS and API_JAR; registers
# stack_down.  Fails (after diag of quickstart's messages) when up fails.
stack_up() {
	local ns=$1 state=$2 out err rc=0
	err=$(mktemp)
	on_exit stack_down "$ns" "$state"
	out=$("$top_srcdir/quickstart" up --netns "$ns" --state "$state" \
		--builddir "$top_builddir" --no-build 2>"$err") || rc=$?
	if [ $rc -ne 0 ]; then
		diag "quickstart up failed (exit $rc):"
		diag "$(cat "$err")"
		rm -f "$err"
		return 1
	fi
	cat "$err" >&2
	rm -f "$err"
	STACK_URL=$(printf '%s\n' "$out" | sed -n 's/^URL=//p')
	STACK_TOKEN=$(printf '%s\n' "$out" | sed -n 's/^SETUP_TOKEN=//p')
	STACK_OUTPUT=$out
	API_NS=$ns
	API_JAR="$state/.test-cookies"
	: >"$API_JAR"
	on_exit rm -f "$API_JAR"
}

stack_down() {
	"$top_srcdir/quickstart" down --netns "$1" --state "$2"
}

# stack_logs STATE: diag the tails of the stack's logs (for failures).
stack_logs() {
	local f
	for f in "$1"/logs/*.log; do
		[ -s "$f" ] || continue
		diag "==> $f <=="
		diag "$(tail -n 15 "$f")"
	done
}

# api_request METHOD PATH CURL-ARGS...: HTTPS request to the stack inside
# $API_NS (30 s at most; a later --max-time in CURL-ARGS wins).  Sets
# API_STATUS (000 when nothing answered), API_BODY and API_HEADERS (the
# response header block, CRLF removed).
api_request() {
	local method=$1 path=$2 hdr out
	shift 2
	hdr=$(mktemp)
	out=$(ip netns exec "$API_NS" curl -sk --max-time 30 -X "$method" -w '\n%{http_code}' -D "$hdr" \
		"$@" "${STACK_URL:-https://127.0.0.1:8443}$path" 2>/dev/null) || true
	API_STATUS=${out##*$'\n'}
	[ -n "$API_STATUS" ] || API_STATUS=000
	API_BODY=${out%$'\n'*}
	[ "$out" != "$API_STATUS" ] || API_BODY=""
	API_HEADERS=$(tr -d '\r' <"$hdr")
	rm -f "$hdr"
}

# api METHOD PATH [BODY]: api_request with the cookies in $API_JAR, JSON
# accepted and BODY sent as JSON, plus the array API_CURL_ARGS.
api() {
	local method=$1 path=$2
	local args=(-b "$API_JAR" -c "$API_JAR" -H 'Accept: application/json'
		${API_CURL_ARGS[@]+"${API_CURL_ARGS[@]}"})
	if [ $# -ge 3 ]; then
		args+=(-H 'Content-Type: application/json' --data-binary "$3")
	fi
	api_request "$method" "$path" "${args[@]}"
}

# api_header NAME: value of response header NAME of the last api call.
api_header() {
	printf '%s\n' "$API_HEADERS" | sed -n "s/^$1: *//Ip" | tail -n 1
}

# ---------------------------------------------------------------------------
# JSON, through sqlite3's JSON functions (sqlite3 is a dependency anyway)

sql_quote() {
	printf "'%s'" "${1//\'/\'\'}"
}

json_get() {
	local f out rc=0
	f=$(mktemp)
	printf '%s' "$1" >"$f"
	out=$(sqlite3 -batch :memory: "
		SELECT CASE WHEN NOT json_valid(readfile('$f')) THEN 'E'
			WHEN json_type(readfile('$f'), $(sql_quote "$2")) IS NULL THEN 'E'
			ELSE 'V' || CASE json_type(readfile('$f'), $(sql_quote "$2"))
				WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
				WHEN 'null' THEN 'null'
				ELSE json_extract(readfile('$f'), $(sql_quote "$2")) END
		END;") || rc=$?
	rm -f "$f"
	if [ $rc -ne 0 ] || [ "${out:0:1}" != V ]; then
		return 1
	fi
	printf '%s\n' "${out:1}"
}

json_save() {
	local f rc=0
	f=$(mktemp)
	printf '%s' "$1" >"$f"
	: >"$3"
	sqlite3 -batch :memory: "SELECT writefile($(sql_quote "$3"),
		json_extract(readfile('$f'), $(sql_quote "$2")))
		WHERE json_valid(readfile('$f'))
		AND json_type(readfile('$f'), $(sql_quote "$2")) = 'text';" >/dev/null || rc=$?
	rm -f "$f"
	[ $rc -eq 0 ] && [ -s "$3" ]
}

json_len() {
	sqlite3 -batch :memory: "SELECT json_array_length($(sql_quote "$1"), $(sql_quote "$2"))"
}

json_keys() {
	sqlite3 -batch :memory: "SELECT group_concat(key) FROM json_each($(sql_quote "$1"), $(sql_quote "$2"))"
}

# ---------------------------------------------------------------------------
# WireGuard, userspace

# wg_userspace_up NS IFACE: wireguard-go -f IFACE inside NS, in its own mount
# namespace whose /var/run/wireguard is a private tmpfs (wireguard-go's UAPI
# directory is not per network namespace).  WG_PID = the wireguard-go pid;
# killed at exit (which removes its link).  Log: $WGP_TMP/wireguard-go-IFACE.log.
wg_userspace_up() {
	local ns=$1 ifc=$2 log="${WGP_TMP:-/tmp}/wireguard-go-$2.log"
	# shellcheck disable=SC2016 # expanded by that sh
	spawn "$log" ip netns exec "$ns" unshare --mount --propagation private \
		sh -c 'mkdir -p /var/run/wireguard && mount -t tmpfs -o mode=0700 tmpfs /var/run/wireguard && exec wireguard-go -f "$0"' "$ifc"
	WG_PID=$SPAWN_PID
	if ! wait_until 10 wg_exec "$WG_PID" test -S "/var/run/wireguard/$ifc.sock"; then
		diag "wireguard-go for $ifc in $ns did not start:"
		diag "$(cat "$log")"
		return 1
	fi
}

wg_exec() {
	local pid=$1
	shift
	nsenter --target "$pid" --mount --net -- "$@"
}

# wg_strip_conf FILE: what "wg setconf" accepts, i.e. without the keys only
# wg-quick understands (wg-quick strip does not exist in this version).
wg_strip_conf() {
	grep -Eiv '^[[:space:]]*(Address|DNS|MTU|Table|PreUp|PostUp|PreDown|PostDown|SaveConfig)[[:space:]]*=' "$1"
}

wg_quick_value() {
	sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*//Ip" "$1" | head -n 1 | sed 's/[[:space:]]*$//'
}

# wg_client_up NS IFACE CONF ROUTE: bring up a client from a wg-quick file the
# way wg-quick would, minus DNS and the default route: only ROUTE goes through
# the tunnel (routing 0.0.0.0/0 would also capture the endpoint's traffic).
wg_client_up() {
	local ns=$1 ifc=$2 conf=$3 route=$4 stripped addr
	stripped="${WGP_TMP:-/tmp}/$ifc.setconf"
	(umask 077 && wg_strip_conf "$conf" >"$stripped")
	addr=$(wg_quick_value "$conf" Address)
	[ -n "$addr" ] || { diag "no Address in $conf"; return 1; }
	wg_userspace_up "$ns" "$ifc" || return 1
	wg_exec "$WG_PID" wg setconf "$ifc" "$stripped" || { diag "wg setconf $ifc failed"; return 1; }
	ip -n "$ns" addr add "${addr%%,*}" dev "$ifc"
	ip -n "$ns" link set "$ifc" up
	ip -n "$ns" route add "$route" dev "$ifc"
}

# ---------------------------------------------------------------------------
# API tests: the frame they share (one stack in a namespace of their own)

# api_test_env NAME: a temp dir and the namespace wgp-NAME-$$ (both gone at
# exit).  Sets the test's globals dir, ns, state and DB.
api_test_env() {
	mk_tmpdir
	dir=$WGP_TMP
	ns=wgp-$1-$$
	state=$dir/state
	DB=$state/data/wgpilot.db
	mk_netns "$ns"
}

# api_test_up: the stack in $ns with its state in $state, as the first TAP
# result; a test without a stack has nothing more to say, so a failure ends
# it (with the logs of the stack as diagnostics).
api_test_up() {
	if ! stack_up "$ns" "$state"; then
		fail "stack starts"
		stack_logs "$state"
		done_testing
	fi
	pass "stack starts"
}

# api_as WHO METHOD PATH [BODY]: see the header.  The source address changes
# with every request because the login rate limit counts per client IP.
_WGP_SRC_N=10
api_as() {
	local who=$1 method=$2 path=$3 part parts
	shift 3
	_WGP_SRC_N=$((_WGP_SRC_N >= 250 ? 11 : _WGP_SRC_N + 1))
	local args=(--interface "${SRC:-127.0.0.$_WGP_SRC_N}")
	IFS=+ read -ra parts <<<"$who"
	for part in "${parts[@]}"; do
		case $part in
		anon) ;;
		key=*) args+=(-H "Authorization: Bearer ${part#key=}") ;;
		*) args+=(-b "$WGP_TMP/$part.jar" -c "$WGP_TMP/$part.jar") ;;
		esac
	done
	[ $# -lt 1 ] || args+=(-H 'Content-Type: application/json' --data-binary "$1")
	api_request "$method" "$path" "${args[@]}"
}

api_status() {
	is "$API_STATUS" "$1" "$2"
	tap_last_ok || diag "  body: ${API_BODY:0:300}"
}

api_expect() {
	local code rid
	code=$(json_get "$API_BODY" '$.error.code' 2>/dev/null || echo "-")
	rid=$(json_get "$API_BODY" '$.error.request_id' 2>/dev/null || echo "-")
	if [ "$API_STATUS" = "$1" ] && [ "$code" = "$2" ] && [ "$rid" = "$(api_header X-Request-ID)" ]; then
		pass "$3"
	else
		fail "$3"
		diag "  got $API_STATUS $code (request_id $rid), want $1 $2" "  body: ${API_BODY:0:300}"
	fi
}

# api_refused STATUS CODE DESC CMD...: two results; db_state is the test's
# (what its refused requests must leave alone differs from test to test).
api_refused() {
	local status=$1 code=$2 desc=$3 before
	shift 3
	before=$(db_state)
	"$@"
	api_expect "$status" "$code" "$desc"
	is "$(db_state)" "$before" "  ... and changes nothing"
}

# shellcheck disable=SC2120 # the arguments are optional
api_error_fields() {
	sqlite3 -batch :memory: "SELECT group_concat(json_extract(value, '\$.${1:-field}'), $(sql_quote "${2:-,}"))
		FROM json_each(json_extract($(sql_quote "$API_BODY"), '\$.error.fields'))"
}

# wizard_admin [WHO], wizard_finish SUBNET [WHO]: see the header.
_wgp_wizard_step() {  # WHO STEP BODY STATUS
	if [ -n "$1" ]; then
		api_as "$1" POST "/api/setup/step/$2" "$3"
	else
		api POST "/api/setup/step/$2" "$3"
	fi
	api_status "$4" "wizard step $2"
}

# shellcheck disable=SC2120 # WHO is optional
wizard_admin() {
	_wgp_wizard_step "${1:-}" 1 \
		"{\"otp\":\"$STACK_TOKEN\",\"username\":\"admin\",\"password\":\"correct-horse-1\"}" 201
}

wizard_finish() {
	_wgp_wizard_step "${2:-}" 2 '{"public_ip":"203.0.113.7","dns_servers":"1.1.1.1"}' 200
	_wgp_wizard_step "${2:-}" 3 \
		"{\"name\":\"Home\",\"mode\":\"gateway\",\"subnet\":\"$1\",\"listen_port\":51820}" 201
	_wgp_wizard_step "${2:-}" 4 '{"name":"laptop"}' 201
}

wg_kill_own() {
	local me p
	me=$(readlink /proc/self/ns/net)
	for p in $(pgrep -f "wireguard-go -f" || true); do
		[ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" != "$me" ] || kill -KILL "$p" 2>/dev/null || true
	done
}

rec_test_setup() {
	local dir=$1 db=${2:-$1/data/wgpilot.db}
	cat >"$dir/config.yaml" <<YAML
database:
  path: "$db"
auth:
  master_key_file: "$dir/master.key"
reconciler:
  socket: "$dir/rec.sock"
  backend: userspace
  userspace_binary: /usr/bin/wireguard-go
  resync_interval: 3650d
YAML
	"$top_builddir/wgpilot/wgpilot" --config "$dir/config.yaml" init >/dev/null
	on_exit wg_kill_own
}
