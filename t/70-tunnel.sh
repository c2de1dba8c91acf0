#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# End to end: the whole stack (quickstart up) in a server namespace, the
# first-run wizard over HTTPS, then a real WireGuard tunnel from a client
# namespace using the downloaded .conf, and the peer showing up online in
# GET /api/status.
#
#   netns wgp-cli-PID  10.231.0.2/24 ==veth== 10.231.0.1/24  netns wgp-srv-PID
#   wgc0 10.77.0.2/32  ------ WireGuard over UDP 51820 ------  wg0 10.77.0.1/24
# shellcheck disable=SC2317 # helpers below run through ok and wait_until
set -euo pipefail

. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd -P)}/t/lib.sh"

need_root
need_cmd ip wireguard-go wg nsenter unshare setpriv nginx curl sqlite3 zbarimg base64 ping

for bin in wgpilot/wgpilot reconciler/wgpilot-reconciler cgi/wgpilot-api.fcgi; do
	[ -x "$top_builddir/$bin" ] || bail_out "missing $top_builddir/$bin (build first)"
done

SRV=wgp-srv-$$
CLI=wgp-cli-$$
SERVER_IP=10.231.0.1
CLIENT_IP=10.231.0.2
SUBNET=10.77.0.0/24
SERVER_TUNNEL_IP=10.77.0.1
PASSWORD=correct-horse-1

mk_tmpdir
STATE=$WGP_TMP/state

# error_code: the error code of the last api response.
error_code() { json_get "$API_BODY" '$.error.code' || echo "(none: $API_BODY)"; }

# status_peer FIELD: FIELD of peer PEER_ID of network NET_ID in $API_BODY.
status_peer() {
	local n p id
	for ((n = 0; ; n++)); do
		id=$(json_get "$API_BODY" "\$.networks[$n].id") || return 1
		[ "$id" = "$NET_ID" ] || continue
		for ((p = 0; ; p++)); do
			id=$(json_get "$API_BODY" "\$.networks[$n].peers[$p].peer_id") || return 1
			if [ "$id" = "$PEER_ID" ]; then
				json_get "$API_BODY" "\$.networks[$n].peers[$p].$1"
				return
			fi
		done
	done
}

peer_online() {
	api GET /api/status
	[ "$API_STATUS" = 200 ] && [ "$(status_peer online)" = true ]
}

netns_empty() { [ -z "$(ip netns pids "$1")" ]; }
no_link() { ! ip -n "$1" link show dev "$2" >/dev/null 2>&1; }

# proc_field PIDFILE FIELD: a /proc/PID/status field of the daemon.
proc_field() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$(cat "$1")/status"
}

# --- namespaces ---------------------------------------------------------------

mk_netns "$SRV"
mk_netns "$CLI"
mk_veth "$SRV" "wgs-$$" "$SERVER_IP/24" "$CLI" "wgc-$$" "$CLIENT_IP/24"
ok "client namespace reaches $SERVER_IP over the veth" \
	wait_until 5 ip netns exec "$CLI" ping -c 1 -W 1 "$SERVER_IP"

# --- the stack ------------------------------------------------------------------

if ! stack_up "$SRV" "$STATE"; then
	# stack_up showed quickstart's messages, with the tails of the logs
	fail "quickstart up starts the stack in $SRV"
	done_testing
fi
pass "quickstart up starts the stack in $SRV"
is "$STACK_URL" "https://127.0.0.1:8443" "up prints URL="
like "$STACK_TOKEN" '^[A-Za-z0-9]{16}$' "up prints the one-time setup password"

is "$(proc_field "$STATE/run/api.pid" Uid)" "$(id -u wgpilot)" "API workers run as wgpilot"
is "$(proc_field "$STATE/run/reconciler.pid" Uid)" "$(id -u wgpilot)" "reconciler runs as wgpilot"
is "$(proc_field "$STATE/run/reconciler.pid" CapEff)" 0000000000001000 "reconciler has CAP_NET_ADMIN only"

# --- wizard -------------------------------------------------------------------

api GET /api/setup/status
is "$API_STATUS" 200 "GET /api/setup/status: 200"
is "$(json_get "$API_BODY" '$.complete')" false "setup not complete"
is "$(json_get "$API_BODY" '$.current_step')" 1 "wizard at step 1"
like "$(api_header X-Request-ID)" '^req_[0-9a-f]{12}$' "X-Request-ID header"
is "$(api_header X-Frame-Options)" DENY "security headers on API responses"
like "$(api_header Content-Security-Policy)" "script-src 'self'" "CSP on API responses"

api POST /api/setup/step/1 '{"otp":"'
is "$API_STATUS" 400 "malformed JSON: 400"
is "$(error_code)" VALIDATION_ERROR "malformed JSON: VALIDATION_ERROR"
like "$(json_get "$API_BODY" '$.error.request_id' || true)" '^req_[0-9a-f]{12}$' "error carries request_id"

api POST /api/setup/step/1 '{"otp":"AAAAAAAAAAAAAAAA","username":"admin","password":"'"$PASSWORD"'"}'
is "$API_STATUS" 401 "wrong OTP: 401"
is "$(error_code)" INVALID_OTP "wrong OTP: INVALID_OTP"

api GET /api/networks
is "$API_STATUS" 401 "GET /api/networks without a session: 401"

api POST /api/setup/step/2 '{"public_ip":"'"$SERVER_IP"'","hostname":"","dns_servers":"1.1.1.1"}'
is "$API_STATUS" 401 "step 2 without a session: 401"

api GET /api/setup/status
is "$(json_get "$API_BODY" '$.current_step')" 1 "bad inputs changed nothing (still step 1)"

api POST /api/setup/step/1 '{"otp":"'"$STACK_TOKEN"'","username":"admin","password":"'"$PASSWORD"'"}'
is "$API_STATUS" 201 "step 1 (admin): 201"
like "$(api_header Set-Cookie)" '^session=' "step 1 sets the session cookie"

api POST /api/setup/step/2 '{"public_ip":"'"$SERVER_IP"'","hostname":"","dns_servers":"1.1.1.1"}'
is "$API_STATUS" 200 "step 2 (server identity): 200"

api POST /api/setup/step/3 '{"name":"Home VPN","mode":"hub-routed","subnet":"'"$SUBNET"'","listen_port":51820}'
is "$API_STATUS" 201 "step 3 (network): 201"
is "$(json_get "$API_BODY" '$.network.interface' || true)" wg0 "network interface wg0"
NET_ID=$(json_get "$API_BODY" '$.network.id') || NET_ID=""
is "$NET_ID" 1 "network id 1"
: "${NET_ID:=1}"

api POST /api/setup/step/4 '{"name":"laptop","role":"client","tunnel_type":"full"}'
is "$API_STATUS" 201 "step 4 (peer): 201"
PEER_ID=$(json_get "$API_BODY" '$.peer.id') || PEER_ID=""
is "$PEER_ID" 1 "peer id 1"
: "${PEER_ID:=1}"
CONF=$WGP_TMP/laptop.conf
(umask 077 && : >"$CONF")
ok "step 4 returns the config" json_save "$API_BODY" '$.config' "$CONF"
QR_B64=$(json_get "$API_BODY" '$.qr_data' || true)
printf '%s' "$QR_B64" | base64 -d >"$WGP_TMP/qr.png" 2>/dev/null || true
is "$(head -c 8 "$WGP_TMP/qr.png" | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a "qr_data is a base64 PNG"
zbarimg --raw -q "$WGP_TMP/qr.png" >"$WGP_TMP/qr.txt" 2>/dev/null || true
if [ -s "$CONF" ]; then
	# zbarimg ends its output with a newline of its own: compare without
	# trailing newlines.
	is "$(cat "$WGP_TMP/qr.txt")" "$(cat "$CONF")" "the QR code decodes to the config"
else
	fail "the QR code decodes to the config (no config to compare)"
fi

api GET "/api/networks/$NET_ID/peers/$PEER_ID/config"
is "$API_STATUS" 200 "GET .../peers/$PEER_ID/config: 200"
printf '%s' "$API_BODY" >"$WGP_TMP/download.conf"
ok "downloaded config equals the step-4 config" cmp "$CONF" "$WGP_TMP/download.conf"
ok ".conf has Endpoint = $SERVER_IP:51820" grep -qx "Endpoint = $SERVER_IP:51820" "$CONF"
ok ".conf has Address = 10.77.0.2/32" grep -qx "Address = 10.77.0.2/32" "$CONF"

api GET /api/setup/status
is "$(json_get "$API_BODY" '$.complete')" true "setup complete"

# --- the tunnel -----------------------------------------------------------------

ok "client wgc0 configured from the downloaded .conf" \
	wg_client_up "$CLI" wgc0 "$CONF" "$SUBNET"
ok "ping $SERVER_TUNNEL_IP through the tunnel within 10 s" \
	wait_until 10 ip netns exec "$CLI" ping -c 1 -W 1 "$SERVER_TUNNEL_IP"
if ! tap_last_ok; then
	diag "client: $(wg_exec "$WG_PID" wg show wgc0 2>&1 || true)"
	stack_logs "$STATE"
fi

ok "GET /api/status shows peer $PEER_ID online" wait_until 10 peer_online
api GET /api/status
rx=$(status_peer transfer_rx || echo 0)
tx=$(status_peer transfer_tx || echo 0)
like "$rx" '^[1-9][0-9]*$' "peer transfer_rx non-zero"
like "$tx" '^[1-9][0-9]*$' "peer transfer_tx non-zero"
like "$(status_peer last_handshake || true)" '^[1-9][0-9]*$' "peer has a handshake time"

# --- afterwards -----------------------------------------------------------------

api POST /api/setup/step/1 '{"otp":"'"$STACK_TOKEN"'","username":"admin2","password":"'"$PASSWORD"'"}'
is "$API_STATUS" 409 "setup closed: step 1 again is 409"
is "$(error_code)" SETUP_ALREADY_COMPLETE "setup closed: SETUP_ALREADY_COMPLETE"

api POST /api/networks '{"name":'
is "$API_STATUS" 400 "malformed JSON on POST /api/networks: 400"
is "$(error_code)" VALIDATION_ERROR "malformed JSON: VALIDATION_ERROR"
like "$(json_get "$API_BODY" '$.error.request_id' || true)" '^req_[0-9a-f]{12}$' "error carries request_id"

# CSRF: cookie-authenticated writes must come from our own origin; nginx
# passes the Host with its port, as the browser's Origin has it.
API_CURL_ARGS=(-H "Origin: https://127.0.0.1:8443")
api POST /api/networks '{"name":'
is "$API_STATUS" 400 "same-origin write passes the Origin check (then fails validation)"
API_CURL_ARGS=(-H "Origin: https://evil.example")
api POST /api/networks '{"name":"x","mode":"hub-routed","subnet":"10.99.0.0/24","listen_port":51999}'
is "$API_STATUS" 403 "cross-origin write: 403"
is "$(error_code)" FORBIDDEN "cross-origin write: FORBIDDEN"
API_CURL_ARGS=()

big=$WGP_TMP/big.json
head -c 1100000 /dev/zero | tr '\0' ' ' >"$big"
api POST /api/networks "@$big"
is "$API_STATUS" 413 "body over 1 MiB: 413 from nginx"
is "$(error_code)" VALIDATION_ERROR "413 body in the API error shape"

api GET /api/networks
is "$API_STATUS" 200 "GET /api/networks with the session: 200"
is "$(json_get "$API_BODY" '$[0].name' || true)" "Home VPN" "the wizard's network is listed"
is "$(json_get "$API_BODY" '$[1].id' || echo none)" none "bad inputs created no network"

saved_jar=$API_JAR
API_JAR=$WGP_TMP/empty-jar
: >"$API_JAR"
api GET /api/networks
is "$API_STATUS" 401 "no cookie on /api/networks: 401"
API_JAR=$saved_jar

# --- the launcher ---------------------------------------------------------------

api_pid=$(cat "$STATE/run/api.pid")
out=$("$top_srcdir/quickstart" up --netns "$SRV" --state "$STATE" \
	--builddir "$top_builddir" --no-build 2>/dev/null || true)
is "$out" "URL=https://127.0.0.1:8443
SETUP_TOKEN=" "second up: a no-op printing URL and an empty token once setup is done"
is "$(cat "$STATE/run/api.pid")" "$api_pid" "second up kept the running processes"

ok "quickstart down" stack_down "$SRV" "$STATE"
ok "down stopped every process in $SRV (wireguard-go too)" netns_empty "$SRV"
ok "down removed wg0" no_link "$SRV" wg0
ok "second down is a no-op" stack_down "$SRV" "$STATE"

done_testing
