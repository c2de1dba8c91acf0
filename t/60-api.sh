#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The API through the real stack (nginx + TLS, FastCGI workers, reconciler,
# SQLite) in a network namespace: the wizard, the contract of every endpoint
# of the walking skeleton, and bad input that must change nothing.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root
need_cmd curl sqlite3 wireguard-go nginx ip

api_test_env api
api_test_up

# Everything a bad request must leave untouched.
db_state() {
	sqlite3 "$DB" "SELECT (SELECT COUNT(*) FROM users) || '/' || (SELECT COUNT(*) FROM networks)
		|| '/' || (SELECT COUNT(*) FROM peers) || '/' || (SELECT group_concat(key || '=' || value)
		FROM (SELECT key, value FROM settings ORDER BY key))"
}

# req SRC METHOD PATH [BODY] [CURL-ARGS...]: like api, from source address SRC
# (the login rate limit is per client IP), with extra curl arguments; BODY "-"
# sends no body of its own (the arguments may).
req() {
	local src=$1 method=$2 path=$3
	shift 3
	local args=(--interface "$src" -b "$API_JAR" -c "$API_JAR")
	if [ $# -ge 1 ]; then
		[ "$1" = - ] || args+=(-H 'Content-Type: application/json' --data-binary "$1")
		shift
	fi
	api_request "$method" "$path" "${args[@]}" "$@"
}

# bad SRC METHOD PATH BODY STATUS CODE DESC: a request that must fail and
# leave the DB as it was (SRC is not used: each comes from an address of
# its own).
n_src=10
bad() {
	n_src=$((n_src + 1))
	api_refused "$5" "$6" "$7" req "127.0.0.$n_src" "$2" "$3" "$4"
}

# --- public endpoints, headers ------------------------------------------------------
api GET /api/setup/status
is "$API_STATUS" 200 "setup status is public"
is "$(json_get "$API_BODY" '$.complete')" false "setup is not complete"
is "$(json_get "$API_BODY" '$.current_step')" 1 "wizard starts at step 1"
like "$(api_header X-Request-ID)" '^req_[0-9a-f]{12}$' "X-Request-ID on every response"
is "$(api_header X-Content-Type-Options)" nosniff "X-Content-Type-Options"
is "$(api_header X-Frame-Options)" DENY "X-Frame-Options"
like "$(api_header Content-Security-Policy)" "default-src 'self'; script-src 'self'" "CSP"
is "$(api_header Strict-Transport-Security)" "" "no HSTS with the self-signed certificate of the local stack"

api GET /api/networks
api_expect 401 UNAUTHORIZED "guarded route without a session"
api POST /api/setup/step/2 '{"public_ip":"10.0.0.1"}'
api_expect 401 UNAUTHORIZED "step 2 needs the session from step 1"
api GET /api/nope
api_expect 404 NOT_FOUND "unknown route"
api DELETE /api/setup/status
api_expect 405 METHOD_NOT_ALLOWED "wrong method"

# --- step 1 ----------------------------------------------------------------------------
token=$STACK_TOKEN
bad 0 POST /api/setup/step/1 '{"otp":' 400 VALIDATION_ERROR "malformed JSON"
bad 0 POST /api/setup/step/1 '[1,2]' 400 VALIDATION_ERROR "body that is not an object"
bad 0 POST /api/setup/step/1 '{}' 400 VALIDATION_ERROR "empty object"
is "$(api_error_fields)" "otp,username,password" "every missing field is reported at once"
bad 0 POST /api/setup/step/1 '{"otp":1,"username":true,"password":[]}' 400 VALIDATION_ERROR "wrong types"
is "$(api_error_fields)" "otp,username,password" "every wrong type is reported"
bad 0 POST /api/setup/step/1 "{\"otp\":\"$token\",\"username\":\"admin\",\"password\":\"short\"}" \
	400 VALIDATION_ERROR "password under 10 characters"
is "$(api_error_fields)" "password" "only the password is blamed"
bad 0 POST /api/setup/step/1 "{\"otp\":\"$token\",\"username\":\"ad min\",\"password\":\"long-enough-1\"}" \
	400 VALIDATION_ERROR "username with a space"
bad 0 POST /api/setup/step/1 "{\"otp\":\"$token\",\"username\":\"admin\",\"password\":\"long-enough-1\",\"x\":1}" \
	400 VALIDATION_ERROR "unknown field"
is "$(api_error_fields)" "x" "the unknown field is named"
bad 0 POST /api/setup/step/1 '{"otp":"WRONGWRONGWRONG1","username":"admin","password":"long-enough-1"}' \
	401 INVALID_OTP "wrong setup password"

api POST /api/setup/step/1 "{\"install_token\":\"$token\",\"username\":\"admin\",\"password\":\"correct-horse-1\"}"
is "$API_STATUS" 201 "step 1 creates the admin (install_token alias)"
is "$(json_get "$API_BODY" '$.user.username')" admin "step 1 returns the user"
like "$(api_header Set-Cookie)" '^session=[^;]+; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=Strict$' \
	"session cookie with the spec's attributes"
ok "the setup password hash is gone" test -z "$(sqlite3 "$DB" "SELECT value FROM settings WHERE key='setup_otp'")"
bad 0 POST /api/setup/step/1 "{\"otp\":\"$token\",\"username\":\"admin2\",\"password\":\"correct-horse-1\"}" \
	409 SETUP_ALREADY_COMPLETE "step 1 works once"
api GET /api/setup/status
is "$(json_get "$API_BODY" '$.current_step')" 2 "wizard moves to step 2"
api GET /api/networks
api_expect 403 SETUP_REQUIRED "guarded routes wait for the wizard"

# --- step 2 / 3 order -------------------------------------------------------------------
bad 0 POST /api/setup/step/3 '{"name":"Home","subnet":"10.77.0.0/24","listen_port":51820}' \
	400 STEP_ORDER_VIOLATION "step 3 before step 2"
bad 0 POST /api/setup/step/2 '{"public_ip":"not-an-ip","hostname":"-bad-","dns_servers":"1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4"}' \
	400 VALIDATION_ERROR "bad step 2 values"
is "$(api_error_fields)" "public_ip,hostname,dns_servers" "each bad step 2 field is reported"
api POST /api/setup/step/2 '{"public_ip":"203.0.113.7","hostname":"","dns_servers":"1.1.1.1, 9.9.9.9"}'
is "$API_STATUS" 200 "step 2 saves the server identity"
is "$(sqlite3 "$DB" "SELECT value FROM settings WHERE key='dns_servers'")" "1.1.1.1,9.9.9.9" "DNS list normalised"

# --- step 3 -----------------------------------------------------------------------------------
net() { printf '{"name":"%s","mode":"%s","subnet":"%s","listen_port":%s}' "$@"; }
bad 0 POST /api/setup/step/3 "$(net 'bad/name' gateway 10.77.0.0/24 51820)" 400 VALIDATION_ERROR "network name with a slash"
bad 0 POST /api/setup/step/3 "$(net Home mesh 10.77.0.0/24 51820)" 400 VALIDATION_ERROR "unknown mode"
bad 0 POST /api/setup/step/3 "$(net Home gateway 8.8.8.0/24 51820)" 400 VALIDATION_ERROR "public subnet"
bad 0 POST /api/setup/step/3 "$(net Home gateway 10.0.0.0/8 51820)" 400 VALIDATION_ERROR "prefix shorter than /16"
bad 0 POST /api/setup/step/3 "$(net Home gateway 10.77.0.0/31 51820)" 400 VALIDATION_ERROR "prefix longer than /30"
bad 0 POST /api/setup/step/3 "$(net Home gateway banana 51820)" 400 VALIDATION_ERROR "subnet that is not a CIDR"
bad 0 POST /api/setup/step/3 "$(net Home gateway 10.77.0.0/24 80)" 400 VALIDATION_ERROR "privileged port"
bad 0 POST /api/setup/step/3 "$(net Home gateway 10.77.0.0/24 70000)" 400 VALIDATION_ERROR "port above 65535"
bad 0 POST /api/setup/step/3 "$(net Home gateway 10.77.0.0/24 '"51820"')" 400 VALIDATION_ERROR "port as a string"
bad 0 POST /api/setup/step/3 '{"name":"Home","subnet":"10.77.0.0/24","listen_port":51820,"nat_enabled":"yes"}' \
	400 VALIDATION_ERROR "flag that is not a boolean"
bad 0 POST /api/setup/step/3 '{"name":"","mode":"x","subnet":"x","listen_port":1}' 400 VALIDATION_ERROR "all wrong at once"
is "$(api_error_fields)" "name,mode,listen_port,subnet" "every bad network field is reported"
api POST /api/setup/step/3 "$(net 'Home VPN' hub-routed 10.77.0.5/24 51820)"
is "$API_STATUS" 201 "step 3 creates the first network"
is "$(json_get "$API_BODY" '$.network.interface')" wg0 "first network is wg0"
is "$(json_get "$API_BODY" '$.network.subnet')" 10.77.0.0/24 "subnet stored normalised"
is "$(json_get "$API_BODY" '$.network.inter_peer_routing')" true "hub-routed defaults inter-peer routing on"
is "$(json_get "$API_BODY" '$.network.nat_enabled')" false "hub-routed defaults NAT off"
is "$(json_get "$API_BODY" '$.network.dns_servers')" "1.1.1.1,9.9.9.9" "DNS taken from step 2"
ok "no private key in the response" bash -c "! grep -q private_key <<<'$API_BODY'"
like "$(sqlite3 "$DB" 'SELECT private_key FROM networks WHERE id=1')" '^sb1:' "server key encrypted at rest"
bad 0 POST /api/setup/step/3 "$(net Other gateway 10.78.0.0/24 51821)" 409 SETUP_ALREADY_COMPLETE "step 3 works once"

# --- step 4 --------------------------------------------------------------------------------
bad 0 POST /api/setup/step/4 '{"role":"server","tunnel_type":"half"}' 400 VALIDATION_ERROR "bad peer fields"
is "$(api_error_fields)" "role,tunnel_type,name" "every bad peer field is reported"
api POST /api/setup/step/4 '{"name":"laptop","role":"client","tunnel_type":"full"}'
is "$API_STATUS" 201 "step 4 creates the first peer"
is "$(json_get "$API_BODY" '$.peer.allowed_ips')" 10.77.0.2/32 "first peer gets .2"
is "$(json_get "$API_BODY" '$.peer.persistent_keepalive')" 25 "wizard peers keep alive every 25 s"
config=$(json_get "$API_BODY" '$.config')
like "$config" $'^# Generated by wgpilot \u2014 laptop\n\\[Interface\\]\nPrivateKey = [A-Za-z0-9+/]{43}=\nAddress = 10.77.0.2/32\nDNS = 1.1.1.1,9.9.9.9\n\n\\[Peer\\]\nPublicKey = ' "config text"
like "$config" $'AllowedIPs = 10.77.0.0/24\nEndpoint = 203.0.113.7:51820\nPersistentKeepalive = 25$' \
	"hub-routed client routes the subnet to the step 2 endpoint"
like "$(json_get "$API_BODY" '$.qr_data')" '^iVBORw0KGgo' "QR code as base64 PNG"
api GET /api/setup/status
is "$(json_get "$API_BODY" '$.complete')" true "setup complete"
bad 0 POST /api/setup/step/2 '{"public_ip":"203.0.113.8"}' 409 SETUP_ALREADY_COMPLETE "wizard closed afterwards"

# --- networks and peers ------------------------------------------------------------------------
bad 0 POST /api/networks "$(net Overlap gateway 10.77.0.0/16 51900)" 409 SUBNET_CONFLICT "overlapping subnet"
bad 0 POST /api/networks "$(net Inside gateway 10.77.0.128/25 51900)" 409 SUBNET_CONFLICT "subnet inside another"
bad 0 POST /api/networks "$(net Port gateway 10.79.0.0/24 51820)" 409 PORT_IN_USE "port in use"
# feat-007: a port another program holds on the host is refused up front
if command -v python3 >/dev/null 2>&1; then
	ip netns exec "$ns" python3 -c 'import socket,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("0.0.0.0",51899)); time.sleep(20)' &
	holder=$!
	sleep 0.5
	bad 0 POST /api/networks "$(net Held gateway 10.79.0.0/24 51899)" 409 PORT_IN_USE "UDP port held by another program"
	like "$(json_get "$API_BODY" '$.error.message')" "in use by another program" "  ... and says so"
	kill "$holder" 2>/dev/null || true
	wait "$holder" 2>/dev/null || true
else
	skip 3 "python3 not installed"
fi
api POST /api/networks "$(net Office gateway 172.20.0.0/24 51821)"
is "$API_STATUS" 201 "second network"
is "$(json_get "$API_BODY" '$.interface')" wg1 "second network is wg1"
is "$(json_get "$API_BODY" '$.nat_enabled')" true "gateway defaults NAT on"
api GET /api/networks
is "$(json_get "$API_BODY" '$[1].peer_count')" 0 "list has peer counts"
is "$(json_get "$API_BODY" '$[0].peer_count')" 1 "first network has the wizard peer"

for i in 3 4 5; do
	api POST /api/networks/1/peers "{\"name\":\"peer $i\",\"email\":\"p$i@example.com\"}"
	is "$(json_get "$API_BODY" '$.allowed_ips')" "10.77.0.$i/32" "sequential allocation gives .$i"
done
bad 0 POST /api/networks/1/peers '{"name":"x","role":"client","site_networks":"192.168.5.0/24"}' \
	400 VALIDATION_ERROR "site networks on a client"
bad 0 POST /api/networks/1/peers '{"name":"x","email":"nope","persistent_keepalive":70000,"expires_in":"soon"}' \
	400 VALIDATION_ERROR "bad email, keepalive and expiry"
is "$(api_error_fields)" "email,persistent_keepalive,expires_in" "each bad peer field is reported"
bad 0 POST /api/networks/999/peers '{"name":"x"}' 404 NETWORK_NOT_FOUND "peer in an unknown network"
api POST /api/networks/2/peers '{"name":"gw","role":"site-gateway","site_networks":"192.168.50.0/24","expires_in":"720h"}'
is "$API_STATUS" 201 "site gateway with an expiry"
is "$(json_get "$API_BODY" '$.allowed_ips')" "172.20.0.2/32, 192.168.50.0/24" "site LAN in the server-side AllowedIPs"
like "$(json_get "$API_BODY" '$.expires_at')" '^[0-9]+$' "expires_at set"
api GET /api/networks/2/peers/1/config
api_expect 404 PEER_NOT_FOUND "peer of another network"
api GET /api/networks/abc
api_expect 400 VALIDATION_ERROR "non-numeric network id"
is "$(json_get "$API_BODY" '$.error.message')" "invalid network ID" "id error message"
api GET /api/networks/1/peers/0x1
api_expect 400 VALIDATION_ERROR "non-decimal peer id"
api GET /api/networks/999
api_expect 404 NETWORK_NOT_FOUND "unknown network"

api GET /api/networks/1/peers
is "$API_STATUS" 200 "peer list"
ok "no private or preshared keys in the list" bash -c "! grep -Eq 'private_key|preshared_key' <<<'$API_BODY'"
is "$(json_get "$API_BODY" '$[0].online')" false "live fields present (offline)"
api GET /api/networks/1/peers/1/config
is "$API_STATUS" 200 "config download"
like "$(api_header Content-Type)" '^text/plain; charset=utf-8$' "config content type"
like "$(api_header Content-Disposition)" '^attachment; filename="wgpilot-laptop.conf"$' "config file name"
is "${API_BODY%$'\n'}" "$config" "download equals the wizard's config"
api GET /api/networks/1/peers/1/qr
is "$API_STATUS" 200 "QR code"
is "$(api_header Content-Type)" image/png "QR is a PNG"
like "$(sqlite3 "$DB" "SELECT private_key || ' ' || preshared_key FROM peers WHERE id=1")" '^sb1:[^ ]+ sb1:' \
	"peer keys encrypted at rest"

api GET /api/status
is "$API_STATUS" 200 "status"
is "$(json_get "$API_BODY" '$.networks[0].up')" true "wg0 is up"
is "$(json_get "$API_BODY" '$.networks[0].peers[0].peer_id')" 1 "kernel peers mapped to DB peers"
is "$(json_get "$API_BODY" '$.networks[1].interface')" wg1 "both networks reported"

# --- request limits -----------------------------------------------------------------------------
big=$dir/big.json
head -c 1100000 /dev/zero | tr '\0' 'a' | sed 's/^/{"name":"/; s/$/"}/' >"$big"
bad 0 POST /api/networks/1/peers "@$big" 413 VALIDATION_ERROR "body over 1 MiB"
before=$(db_state)
req 127.0.0.1 POST /api/networks/1/peers - --data-binary '{"name":"x"}' -H 'Content-Type: text/plain'
api_expect 400 VALIDATION_ERROR "non-JSON content type"
req 127.0.0.1 POST /api/networks/1/peers '{"name":"x"}' -H 'Origin: https://evil.example'
api_expect 403 FORBIDDEN "cross-origin write with the cookie"
is "$(db_state)" "$before" "  ... and changes nothing"

# --- sessions ------------------------------------------------------------------------------------
jar=$API_JAR
cp "$jar" "$dir/good-jar"
sed -i 's/\(session\t[^.]*\.[^.]*\.\).*/\1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/' "$jar"
api GET /api/auth/me
api_expect 401 SESSION_EXPIRED "tampered session cookie"
: >"$jar"
bad 0 POST /api/auth/login '{"username":"admin","password":"wrong-password"}' 401 INVALID_CREDENTIALS "wrong password"
bad 0 POST /api/auth/login '{"username":"nobody","password":"wrong-password"}' 401 INVALID_CREDENTIALS "unknown user, same answer"
bad 0 POST /api/auth/login '{"username":"","password":""}' 400 VALIDATION_ERROR "empty credentials"
api POST /api/auth/login '{"username":"admin","password":"correct-horse-1"}'
is "$API_STATUS" 200 "login"
is "$(json_get "$API_BODY" '$.user.role')" admin "login returns the role"
api GET /api/auth/me
is "$(json_get "$API_BODY" '$.user.id')" 1 "me returns an integer id"
api POST /api/auth/logout
is "$API_STATUS" 200 "logout"
like "$(api_header Set-Cookie)" '^session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict$' "logout clears the cookie"
api GET /api/auth/me
api_expect 401 UNAUTHORIZED "logged out"
is "$(sqlite3 "$DB" "SELECT COUNT(*) FROM audit_log WHERE action IN ('auth.login','auth.logout','auth.login_failed','network.created','peer.created','setup.completed')")" \
	"$(sqlite3 "$DB" "SELECT COUNT(*) FROM audit_log WHERE action IN ('auth.login','auth.logout','auth.login_failed','network.created','peer.created','setup.completed')")" \
	"audit log readable"
like "$(sqlite3 "$DB" "SELECT group_concat(DISTINCT action) FROM audit_log")" 'auth.login_failed' "failed logins audited"

# --- login rate limit: 5 per minute per client IP ---------------------------------------------
for i in 1 2 3 4 5; do
	req 127.0.0.99 POST /api/auth/login '{"username":"admin","password":"wrong-password"}'
done
is "$API_STATUS" 401 "five attempts are answered"
req 127.0.0.99 POST /api/auth/login '{"username":"admin","password":"correct-horse-1"}'
api_expect 429 RATE_LIMITED "the sixth attempt within a minute is refused"
is "$(api_header Retry-After)" 60 "Retry-After: 60"
req 127.0.0.98 POST /api/auth/login '{"username":"admin","password":"correct-horse-1"}'
is "$API_STATUS" 200 "other clients are not limited"

if [ "$TAP_FAILED" -gt 0 ]; then
	stack_logs "$state"
fi
done_testing
