#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The admin API through the real stack (nginx + TLS, FastCGI workers,
# reconciler, SQLite) in a network namespace: bridges, settings, alerts, the
# audit log, users, API keys, password change and /api/auth/setup. Every
# endpoint's happy path, tables of bad input that must change nothing, the
# viewer role (session and API key), and the audit rows each change writes.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root
need_cmd curl sqlite3 wireguard-go nginx ip sha256sum

api_test_env adm
api_test_up
CLI=$top_builddir/wgpilot/wgpilot
REC_LOG=$state/logs/reconciler.log
API_LOG=$state/logs/api.log

# Everything a bad request must leave untouched (api_keys.last_used moves
# whenever a key authenticates, so it is left out; login_attempts count
# every attempt by design).
db_state() {
	sqlite3 "$DB" "
		SELECT 'u', id, username, role, password_hash, updated_at FROM users;
		SELECT 'n', id, enabled FROM networks;
		SELECT 'p', COUNT(*) FROM peers;
		SELECT 'b', * FROM network_bridges;
		SELECT 'a', * FROM alerts;
		SELECT 'k', id, name, key_hash, key_prefix, user_id, role, expires_at FROM api_keys;
		SELECT 's', key, value FROM settings ORDER BY key;
		SELECT 'l', COUNT(*) FROM audit_log;"
}

# Requests go through api_as WHO (anon, a session name = cookie jar
# $dir/NAME.jar, key=KEY, or two joined by '+'; SRC fixes the source address).

# bad WHO METHOD PATH BODY STATUS CODE DESC: a request that must fail with
# that status and code and leave the DB as it was. BODY "-" sends none.
bad() {
	if [ "$4" = - ]; then
		api_refused "$5" "$6" "$7" api_as "$1" "$2" "$3"
	else
		api_refused "$5" "$6" "$7" api_as "$1" "$2" "$3" "$4"
	fi
}

sql() { sqlite3 "$DB" "$1"; }
audit_mark() { AUDIT_MARK=$(sql "SELECT COALESCE(MAX(id), 0) FROM audit_log"); }
# The audit rows since the mark: "action resource" joined by "; ".
audit_since() {
	sql "SELECT COALESCE(group_concat(action || ' ' || resource, '; '), '')
		FROM (SELECT action, resource FROM audit_log WHERE id > $AUDIT_MARK ORDER BY id)"
}
# apply_firewall requests the reconciler received.
fw_calls() { grep -c '"op":"apply_firewall"' "$REC_LOG" || true; }
# The forward rules of the bridges in `table ip wgpilot`, one per line.
fw_rules() { ip netns exec "$ns" nft list table ip wgpilot 2>/dev/null | grep -E 'iifname "wg[0-9]+" oifname "wg[0-9]+"' | sed 's/^[[:space:]]*//' || true; }

# --- /api/auth/setup before anything exists: bad input only --------------------------------
token=$STACK_TOKEN
bad anon POST /api/auth/setup '{"otp":' 400 VALIDATION_ERROR "setup: malformed JSON"
bad anon POST /api/auth/setup '{}' 400 VALIDATION_ERROR "setup: empty object"
is "$(api_error_fields)" "otp,username,password" "setup: every missing field at once"
bad anon POST /api/auth/setup "{\"otp\":\"$token\",\"username\":\"root\",\"password\":\"short\"}" \
	400 VALIDATION_ERROR "setup: short password"
is "$(api_error_fields)" "password" "setup: only the password is blamed"
bad anon POST /api/auth/setup "{\"otp\":\"\",\"username\":\"b a d\",\"password\":\"long-enough-1\",\"x\":1}" \
	400 VALIDATION_ERROR "setup: empty otp, bad username, unknown field"
is "$(api_error_fields)" "otp,username,x" "setup: each bad field named"
bad anon POST /api/auth/setup '{"otp":"WRONGWRONGWRONG1","username":"root","password":"long-enough-1"}' \
	401 INVALID_OTP "setup: wrong setup password"
like "$(grep -c setup_invalid_otp "$API_LOG")" '^[1-9]' "setup: wrong OTP logged (WARN setup_invalid_otp)"
ok "setup: the OTP is never logged" bash -c "! grep -qF '$token' '$state'/logs/*.log"

# --- the wizard -------------------------------------------------------------------------------
wizard_admin admin
wizard_finish 10.77.0.0/24 admin
bad anon POST /api/auth/setup "{\"otp\":\"$token\",\"username\":\"root\",\"password\":\"long-enough-1\"}" \
	409 SETUP_ALREADY_COMPLETE "setup: refused once setup is complete"
api_as admin POST /api/networks '{"name":"Office","subnet":"172.20.0.0/24","listen_port":51821}'
api_status 201 "second network"
api_as admin POST /api/networks '{"name":"Lab","subnet":"192.168.60.0/24","listen_port":51822}'
api_status 201 "third network"
admin_id=$(sql "SELECT id FROM users WHERE username='admin'")

# --- users ---------------------------------------------------------------------------------------
user() { printf '{"username":"%s","password":"%s"%s}' "$1" "$2" "${3:+,\"role\":\"$3\"}"; }
audit_mark
api_as admin POST /api/users "$(user viewer1 viewer-pass-1)"
api_status 201 "create a user"
is "$(json_get "$API_BODY" '$.role')" viewer "role defaults to viewer"
is "$(json_get "$API_BODY" '$.username')" viewer1 "user echoed"
like "$(json_get "$API_BODY" '$.created_at')" '^[0-9]+$' "created_at set"
viewer_id=$(json_get "$API_BODY" '$.id')
ok "no password hash in the answer" bash -c "! grep -q password <<<'$API_BODY'"
api_as admin POST /api/users "$(user admin2 admin2-pass-1 admin)"
api_status 201 "create an admin"
admin2_id=$(json_get "$API_BODY" '$.id')
is "$(audit_since)" "user.created user:$viewer_id; user.created user:$admin2_id" "user.created audited per user"
is "$(sql "SELECT detail FROM audit_log WHERE action='user.created' ORDER BY id DESC LIMIT 1")" \
	'{"role":"admin","username":"admin2"}' "audit detail names user and role, no password"
like "$(sql "SELECT password_hash FROM users WHERE id=$viewer_id")" '^\$argon2id\$' "passwords hashed with Argon2id"
ok "no clear-text password in the DB" bash -c "! sqlite3 '$DB' .dump | grep -q viewer-pass-1"

bad admin POST /api/users "$(user viewer1 another-pass-1)" 409 VALIDATION_ERROR "duplicate username"
bad admin POST /api/users "$(user newbie short)" 400 VALIDATION_ERROR "user password under 10 characters"
bad admin POST /api/users "$(user 'bad name' long-enough-1)" 400 VALIDATION_ERROR "username with a space"
bad admin POST /api/users "$(user newbie long-enough-1 root)" 400 VALIDATION_ERROR "unknown role"
bad admin POST /api/users '{"username":"","password":"","role":"x","admin":true}' 400 VALIDATION_ERROR \
	"all user fields wrong at once"
is "$(api_error_fields)" "username,password,role,admin" "every bad user field named"
bad admin POST /api/users '{"username":7,"password":null}' 400 VALIDATION_ERROR "wrong types"
is "$(api_error_fields)" "username,password" "wrong types and null for required are named"

api_as admin GET /api/users
api_status 200 "list users"
is "$(json_len "$API_BODY" '$')" 3 "three users"
is "$(json_get "$API_BODY" '$[1].username')" viewer1 "ordered by id"
is "$(json_keys "$API_BODY" '$[0]')" id,username,role,created_at,updated_at "user list has the spec's fields"
api_as admin GET '/api/users?limit=1&offset=1'
is "$(json_get "$API_BODY" '$[0].username') $(json_len "$API_BODY" '$')" "viewer1 1" "users list paginates"
bad admin GET '/api/users?limit=0' - 400 VALIDATION_ERROR "users list: limit 0"
bad admin GET '/api/users?page=2' - 400 VALIDATION_ERROR "users list: unknown parameter"
is "$(api_error_fields)" page "the unknown parameter is named"

bad admin DELETE "/api/users/$admin_id" - 400 VALIDATION_ERROR "cannot delete yourself"
bad admin DELETE /api/users/999 - 404 VALIDATION_ERROR "unknown user"
bad admin DELETE /api/users/abc - 400 VALIDATION_ERROR "non-numeric user id"
api_as admin2 POST /api/auth/login '{"username":"admin2","password":"admin2-pass-1"}'
api_status 200 "the new admin logs in"
api_as admin2 POST /api/api-keys '{"name":"admin2-key"}'
api_status 201 "... and creates an API key"
a2key=$(json_get "$API_BODY" '$.key')
audit_mark
api_as admin DELETE "/api/users/$admin2_id"
api_status 204 "delete a user"
is "$(sql "SELECT COUNT(*) FROM users WHERE id=$admin2_id")" 0 "user row gone"
is "$(sql "SELECT COUNT(*) FROM api_keys WHERE user_id=$admin2_id")" 0 "the user's API keys went with it"
api_as "key=$a2key" GET /api/networks
api_expect 401 UNAUTHORIZED "the deleted user's key no longer works"
api_as admin2 GET /api/networks
api_expect 401 SESSION_EXPIRED "the deleted user's session cookie no longer works"
is "$(audit_since)" "user.deleted user:$admin2_id" "user.deleted audited"

# --- the viewer's session ------------------------------------------------------------------------
api_as viewer POST /api/auth/login '{"username":"viewer1","password":"viewer-pass-1"}'
api_status 200 "viewer logs in"
is "$(json_get "$API_BODY" '$.user.role')" viewer "viewer role in the session"
bad viewer GET /api/users - 403 FORBIDDEN "viewer: list users"
bad viewer POST /api/users "$(user sneaky long-enough-1 admin)" 403 FORBIDDEN "viewer: create user"
bad viewer DELETE "/api/users/$admin_id" - 403 FORBIDDEN "viewer: delete user"
bad anon GET /api/users - 401 UNAUTHORIZED "users need authentication"

# --- settings --------------------------------------------------------------------------------------
api_as admin GET /api/settings
api_status 200 "get settings"
is "$(json_get "$API_BODY" '$.public_ip')" 203.0.113.7 "wizard settings visible"
for k in setup_otp setup_complete setup_step1_done setup_step2_done setup_step3_done setup_network_id jwt_secret; do
	if json_get "$API_BODY" "\$.$k" >/dev/null; then fail "hidden key $k"; else pass "hidden key $k"; fi
done
settings='{"public_ip":"198.51.100.4","hostname":"vpn.example.com","dns_servers":"1.1.1.1 , 8.8.8.8",
 "smtp_host":"smtp.example.com","smtp_port":"587","smtp_user":"mailer","smtp_pass":"s3cret-smtp-pass",
 "smtp_from":"wgpilot@example.com","smtp_tls":"true","alert_email":"ops@example.com"}'
audit_mark
api_as admin PUT /api/settings "$settings"
api_status 200 "update every whitelisted setting"
is "$(json_get "$API_BODY" '$.smtp_pass')" '********' "smtp_pass redacted in the answer"
is "$(json_get "$API_BODY" '$.dns_servers')" 1.1.1.1,8.8.8.8 "dns_servers normalised"
is "$(json_get "$API_BODY" '$.smtp_port')" 587 "smtp_port stored as given"
like "$(sql "SELECT value FROM settings WHERE key='smtp_pass'")" '^sb1:[A-Za-z0-9+/=]+$' "smtp_pass stored encrypted (sb1:)"
ok "the clear-text SMTP password is nowhere in the DB" bash -c "! sqlite3 '$DB' .dump | grep -q s3cret-smtp-pass"
ok "... nor in any log" bash -c "! grep -q s3cret-smtp-pass '$state'/logs/*.log"
is "$(audit_since)" "settings.updated settings" "settings.updated audited"
is "$(sql "SELECT detail FROM audit_log WHERE id > $AUDIT_MARK")" \
	'{"keys":["public_ip","hostname","dns_servers","smtp_host","smtp_port","smtp_user","smtp_pass","smtp_from","smtp_tls","alert_email"]}' \
	"audit detail holds the key names only"
sealed=$(sql "SELECT value FROM settings WHERE key='smtp_pass'")
api_as viewer GET /api/settings
api_status 200 "viewer reads settings"
is "$(json_get "$API_BODY" '$.smtp_pass')" '********' "smtp_pass redacted for the viewer too"
api_as admin PUT /api/settings '{"smtp_pass":"********","smtp_port":"2525"}'
api_status 200 "smtp_pass \"********\" means unchanged"
is "$(sql "SELECT value FROM settings WHERE key='smtp_pass'")" "$sealed" "sealed value untouched"
is "$(sql "SELECT detail FROM audit_log ORDER BY id DESC LIMIT 1")" '{"keys":["smtp_port"]}' "only the changed key audited"
api_as admin PUT /api/settings '{"alert_email":"","hostname":""}'
api_status 200 "\"\" removes a setting"
ok "alert_email removed" test -z "$(sql "SELECT 1 FROM settings WHERE key='alert_email'")"
if json_get "$API_BODY" '$.hostname' >/dev/null; then fail "removed key absent from the answer"; else pass "removed key absent from the answer"; fi
audit_mark
api_as admin PUT /api/settings '{}'
api_status 200 "empty update"
is "$(audit_since)" "" "an empty update audits nothing"

s() { printf '{"%s":%s}' "$1" "$2"; }
while IFS='|' read -r key value why; do
	bad admin PUT /api/settings "$(s "$key" "$value")" 400 VALIDATION_ERROR "settings: $why"
	is "$(api_error_fields)" "$key" "  ... blames $key"
done <<'EOF'
setup_complete|"false"|hidden key is not writable
jwt_secret|"x"|jwt_secret is not writable
tls_mode|"acme"|key outside the whitelist
smtp_port|"0"|smtp_port 0
smtp_port|"65536"|smtp_port above 65535
smtp_port|"58x"|smtp_port not a number
smtp_port|587|smtp_port as a JSON number
smtp_tls|"yes"|smtp_tls not true/false
alert_email|"nope"|alert_email without @
alert_email|"ops@localhost"|alert_email without a dot in the domain
smtp_from|"a,b@example.com"|smtp_from with a comma
public_ip|"1.2.3"|public_ip incomplete
public_ip|"example.com"|public_ip a name
hostname|"-bad-.example.com"|hostname label starting with -
hostname|"localhost"|hostname without a domain
dns_servers|"1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4"|four DNS servers
dns_servers|"1.1.1.1,dns.example"|DNS server that is a name
smtp_host|"smtp example.com"|smtp_host with a space
smtp_user|"a\nb"|smtp_user with a newline
smtp_pass|true|smtp_pass a boolean
EOF
bad admin PUT /api/settings '{"smtp_port":"0","smtp_tls":"maybe","alert_email":"x","bogus":"1"}' \
	400 VALIDATION_ERROR "settings: all wrong at once"
is "$(api_error_fields)" "smtp_port,smtp_tls,alert_email,bogus" "every bad setting named, nothing stored"
bad admin PUT /api/settings '["smtp_port"]' 400 VALIDATION_ERROR "settings: array body"
bad viewer PUT /api/settings '{"smtp_port":"25"}' 403 FORBIDDEN "viewer: update settings"

# --- API keys ------------------------------------------------------------------------------------
audit_mark
now=$(date +%s)
api_as admin POST /api/api-keys '{"name":"ci","expires_in":"720h"}'
api_status 201 "admin creates an API key"
key=$(json_get "$API_BODY" '$.key')
key_id=$(json_get "$API_BODY" '$.id')
like "$key" '^wgp_[0-9a-f]{64}$' "key is wgp_ + 64 lowercase hex"
is "$(json_get "$API_BODY" '$.key_prefix')" "${key:0:12}..." "key_prefix = first 12 chars + ..."
is "$(json_get "$API_BODY" '$.role')" admin "admin keys default to role admin"
exp=$(json_get "$API_BODY" '$.expires_at')
ok "expires_at = now + 720h" test "$exp" -ge $((now + 2592000)) -a "$exp" -le $((now + 2592000 + 5))
is "$(sql "SELECT key_hash FROM api_keys WHERE id=$key_id")" "$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)" \
	"stored as SHA-256 hex of the full key"
ok "the key itself is not stored" bash -c "! sqlite3 '$DB' .dump | grep -q '${key:4}'"
ok "... nor logged" bash -c "! grep -q '${key:4}' '$state'/logs/*.log"
is "$(audit_since)" "api_key.created api_key:$key_id" "api_key.created audited"
ok "audit detail holds no key" bash -c "! sqlite3 '$DB' 'SELECT detail FROM audit_log' | grep -q '${key:4}'"

api_as "key=$key" GET /api/networks
api_status 200 "the key works without a cookie"
like "$(sql "SELECT last_used FROM api_keys WHERE id=$key_id")" '^[0-9]+$' "last_used tracked"
api_as "key=$key" GET /api/auth/me
is "$(json_get "$API_BODY" '$.user.username')" api-key "a key acts as username api-key"
api_as "key=$key" POST /api/alerts '{"type":"interface_down","threshold":"0"}'
api_status 201 "an admin key may write"
api_as "key=$key" GET /api/api-keys
api_status 200 "list keys with a key"
is "$(json_get "$API_BODY" '$[0].key_prefix')" "${key:0:12}..." "list shows the prefix"
ok "list never shows the key or its hash" bash -c "! grep -Eq '${key:4}|key_hash|\"key\"' <<<'$API_BODY'"
like "$(json_get "$API_BODY" '$[0].last_used')" '^[0-9]+$' "list shows last_used"

api_as viewer POST /api/api-keys '{"name":"mine"}'
api_status 201 "a viewer creates a key"
is "$(json_get "$API_BODY" '$.role')" viewer "a viewer's key defaults to viewer"
is "$(json_get "$API_BODY" '$.expires_at')" null "no expiry: expires_at null"
vkey=$(json_get "$API_BODY" '$.key')
vkey_id=$(json_get "$API_BODY" '$.id')
bad viewer POST /api/api-keys '{"name":"escalate","role":"admin"}' 403 FORBIDDEN "a viewer cannot create an admin key"
bad "key=$vkey" POST /api/api-keys '{"name":"escalate","role":"admin"}' 403 FORBIDDEN "nor can a viewer key"
api_as viewer GET /api/api-keys
is "$(json_len "$API_BODY" '$') $(json_get "$API_BODY" '$[0].id')" "1 $vkey_id" "viewers see only their own keys"
api_as admin GET /api/api-keys
is "$(json_len "$API_BODY" '$')" 2 "admins see every key"
api_as "key=$vkey" GET /api/bridges
api_status 200 "a viewer key reads"
bad "key=$vkey" POST /api/alerts '{"type":"interface_down","threshold":"0"}' 403 FORBIDDEN "a viewer key cannot write"
bad "key=$vkey" GET /api/users - 403 FORBIDDEN "a viewer key is no admin"
bad viewer DELETE "/api/api-keys/$key_id" - 403 FORBIDDEN "a viewer cannot delete another user's key"

while IFS='|' read -r body fields why; do
	bad admin POST /api/api-keys "$body" 400 VALIDATION_ERROR "api key: $why"
	is "$(api_error_fields)" "$fields" "  ... blames $fields"
done <<'EOF'
{}|name|no name
{"name":""}|name|empty name
{"name":"x","role":"root"}|role|unknown role
{"name":"x","expires_in":"soon"}|expires_in|duration without a unit
{"name":"x","expires_in":"0s"}|expires_in|zero duration
{"name":"x","expires_in":"-1h"}|expires_in|negative duration
{"name":"x","expires_in":30}|expires_in|duration as a number
{"name":"x","key":"wgp_00"}|key|client-chosen key
{"name":1,"role":"x","expires_in":"x","user_id":1}|name,role,expires_in,user_id|all wrong at once
EOF
bad admin DELETE /api/api-keys/999 - 404 VALIDATION_ERROR "unknown API key"

api_as admin POST /api/api-keys '{"name":"short-lived","role":"viewer","expires_in":"1s"}'
api_status 201 "key with a 1 s lifetime"
short=$(json_get "$API_BODY" '$.key')
sleep 2
api_as "key=$short" GET /api/networks
api_expect 401 SESSION_EXPIRED "an expired key is refused"
api_as "key=$short+admin" GET /api/networks
api_expect 401 SESSION_EXPIRED "... even with a valid cookie"

audit_mark
api_as viewer DELETE "/api/api-keys/$vkey_id"
api_status 200 "a viewer deletes their own key"
is "$(json_get "$API_BODY" '$.status')" deleted "DELETE answers {\"status\":\"deleted\"}"
is "$(audit_since)" "api_key.deleted api_key:$vkey_id" "api_key.deleted audited"
api_as "key=$vkey" GET /api/networks
api_expect 401 UNAUTHORIZED "a deleted key falls through to 401 UNAUTHORIZED"
api_as "key=$vkey+viewer" GET /api/networks
api_status 200 "... and to the cookie when there is one"
api_as "key=wgp_$(printf '0%.0s' {1..64})" GET /api/networks
api_expect 401 UNAUTHORIZED "an unknown key without a cookie"
api_as admin DELETE "/api/api-keys/$key_id"
api_status 200 "an admin deletes a key"

# --- bridges --------------------------------------------------------------------------------------------
br() { printf '{"network_a_id":%s,"network_b_id":%s%s}' "$1" "$2" "${3:+,$3}"; }
fw0=$(fw_calls)
audit_mark
api_as admin POST /api/bridges "$(br 1 2)"
api_status 201 "create a bridge"
b1=$(json_get "$API_BODY" '$.id')
is "$(json_get "$API_BODY" '$.direction')" bidirectional "direction defaults to bidirectional"
is "$(json_get "$API_BODY" '$.network_a_name')/$(json_get "$API_BODY" '$.network_b_name')" Home/Office "network names"
is "$(json_get "$API_BODY" '$.interface_a')/$(json_get "$API_BODY" '$.interface_b')" wg0/wg1 "interfaces"
is "$(json_get "$API_BODY" '$.allowed_cidrs')" "" "no CIDR restriction by default"
is "$(json_get "$API_BODY" '$.enabled')" true "enabled by default"
is "$(fw_calls)" $((fw0 + 1)) "create asks the reconciler for apply_firewall"
is "$(audit_since)" "bridge.created bridge:$b1" "bridge.created audited"
like "$(fw_rules)" 'iifname "wg0" oifname "wg1"' "firewall: wg0 -> wg1 accepted"
like "$(fw_rules)" 'iifname "wg1" oifname "wg0"' "firewall: and back (bidirectional)"

# Conflict order (api.md §7): direction, self reference, networks, pair, CIDRs.
fw0=$(fw_calls)
while IFS='|' read -r a b extra status code fields why; do
	bad admin POST /api/bridges "$(br "$a" "$b" "$extra")" "$status" "$code" "bridge: $why"
	[ -z "$fields" ] || is "$(api_error_fields)" "$fields" "  ... blames $fields"
done <<'EOF'
1|1|"direction":"sideways","allowed_cidrs":"x"|400|VALIDATION_ERROR|direction,allowed_cidrs|bad direction first (with bad CIDRs reported too)
1|1|"direction":"a_to_b"|400|BRIDGE_SELF_REFERENCE||a network with itself
999|999||400|BRIDGE_SELF_REFERENCE||self reference before existence
1|999||404|NETWORK_NOT_FOUND||unknown network b
999|2|"allowed_cidrs":"x"|404|NETWORK_NOT_FOUND||unknown network before CIDRs
2|1||409|BRIDGE_ALREADY_EXISTS||pair exists in reverse order
1|2|"allowed_cidrs":"x"|409|BRIDGE_ALREADY_EXISTS||existing pair before CIDRs
1|3|"allowed_cidrs":"10.0.0.0"|400|VALIDATION_ERROR|allowed_cidrs|CIDR without prefix
1|3|"allowed_cidrs":"fd00::/64"|400|VALIDATION_ERROR|allowed_cidrs|IPv6 CIDR (the firewall is table ip)
1|3|"allowed_cidrs":"10.0.0.0/24,,10.1.0.0/24"|400|VALIDATION_ERROR|allowed_cidrs|empty list item
0|-1||400|VALIDATION_ERROR|network_a_id,network_b_id|ids not positive
"1"|2||400|VALIDATION_ERROR|network_a_id|id as a string
1|3|"enabled":false|400|VALIDATION_ERROR|enabled|enabled is not a create field
EOF
bad admin POST /api/bridges '{}' 400 VALIDATION_ERROR "bridge: empty body"
is "$(api_error_fields)" "network_a_id,network_b_id" "both ids required"
is "$(fw_calls)" "$fw0" "refused creates never reach the firewall"

api_as admin POST /api/bridges "$(br 3 1 '"direction":"a_to_b","allowed_cidrs":"192.168.60.7/24, 10.77.0.0/24"')"
api_status 201 "directional bridge with CIDRs"
b2=$(json_get "$API_BODY" '$.id')
is "$(json_get "$API_BODY" '$.allowed_cidrs')" "192.168.60.0/24,10.77.0.0/24" "CIDRs normalised"
is "$(json_get "$API_BODY" '$.interface_a')" wg2 "network a as given"
like "$(fw_rules | grep 'iifname "wg2"')" '^iifname "wg2" oifname "wg0" .*10\.77\.0\.0/24.*accept' \
	"firewall: wg2 -> wg0 limited to the allowed CIDRs"
is "$(fw_rules | grep -c 'oifname "wg2"')" 0 "firewall: nothing towards wg2 (a_to_b)"
api_as admin GET /api/bridges
api_status 200 "list bridges"
is "$(json_len "$API_BODY" '$') $(json_get "$API_BODY" '$[0].id') $(json_get "$API_BODY" '$[1].id')" "2 $b1 $b2" "list ordered by id"
api_as admin GET '/api/bridges?limit=1&offset=1'
is "$(json_len "$API_BODY" '$') $(json_get "$API_BODY" '$[0].id')" "1 $b2" "bridges list paginates"
api_as viewer GET "/api/bridges/$b2"
api_status 200 "viewer gets a bridge"
is "$(json_get "$API_BODY" '$.direction')" a_to_b "bridge fields"
bad admin GET /api/bridges/999 - 404 BRIDGE_NOT_FOUND "unknown bridge"
bad admin GET /api/bridges/x1 - 400 VALIDATION_ERROR "non-numeric bridge id"

fw0=$(fw_calls)
audit_mark
api_as admin PUT "/api/bridges/$b2" '{"direction":"b_to_a","enabled":false,"allowed_cidrs":""}'
api_status 200 "update a bridge"
is "$(json_get "$API_BODY" '$.direction') $(json_get "$API_BODY" '$.enabled') '$(json_get "$API_BODY" '$.allowed_cidrs')'" \
	"b_to_a false ''" "direction, enabled and CIDRs changed"
is "$(fw_calls)" $((fw0 + 1)) "update asks for apply_firewall"
is "$(fw_rules | grep -c 'wg2')" 0 "firewall: a disabled bridge has no rules"
is "$(audit_since)" "bridge.updated bridge:$b2" "bridge.updated audited"
is "$(sql "SELECT detail FROM audit_log WHERE id > $AUDIT_MARK")" \
	'{"allowed_cidrs":"","direction":"b_to_a","enabled":false}' "audit detail holds the changes"
fw0=$(fw_calls)
while IFS='|' read -r body fields why; do
	bad admin PUT "/api/bridges/$b2" "$body" 400 VALIDATION_ERROR "bridge update: $why"
	is "$(api_error_fields)" "$fields" "  ... blames $fields"
done <<'EOF'
{"network_a_id":2}|network_a_id|network a is immutable
{"network_b_id":3,"direction":"up"}|network_b_id,direction|immutable and bad direction together
{"allowed_cidrs":"300.0.0.0/8"}|allowed_cidrs|CIDR out of range
{"enabled":"no"}|enabled|enabled not a boolean
{"name":"x"}|name|unknown field
EOF
bad admin PUT /api/bridges/999 '{"enabled":true}' 404 BRIDGE_NOT_FOUND "update an unknown bridge"
is "$(fw_calls)" "$fw0" "refused updates never reach the firewall"
audit_mark
api_as admin PUT "/api/bridges/$b2" '{}'
api_status 200 "empty update leaves the bridge alone"
is "$(audit_since)" "" "... and audits nothing"

bad viewer POST /api/bridges "$(br 2 3)" 403 FORBIDDEN "viewer: create bridge"
bad viewer PUT "/api/bridges/$b1" '{"enabled":false}' 403 FORBIDDEN "viewer: update bridge"
bad viewer DELETE "/api/bridges/$b1" - 403 FORBIDDEN "viewer: delete bridge"

fw0=$(fw_calls)
audit_mark
api_as admin DELETE "/api/bridges/$b2"
api_status 204 "delete a bridge"
is "$(sql "SELECT COUNT(*) FROM network_bridges WHERE id=$b2")" 0 "bridge row gone"
is "$(fw_calls)" $((fw0 + 1)) "delete asks for apply_firewall"
is "$(audit_since)" "bridge.deleted bridge:$b2" "bridge.deleted audited"
bad admin DELETE "/api/bridges/$b2" - 404 BRIDGE_NOT_FOUND "delete twice"
is "$(fw_rules | grep -c 'wg[01]')" 2 "firewall: the remaining bridge keeps its two rules"

# --- alerts ---------------------------------------------------------------------------------------
alert() { printf '{"type":"%s","threshold":"%s"%s}' "$1" "$2" "${3:+,$3}"; }
audit_mark
api_as admin POST /api/alerts "$(alert peer_offline 10m)"
api_status 201 "create a peer_offline alert"
a1=$(json_get "$API_BODY" '$.id')
is "$(json_get "$API_BODY" '$.notify') $(json_get "$API_BODY" '$.enabled')" "email true" "notify email, enabled by default"
like "$(json_get "$API_BODY" '$.created_at')" '^[0-9]+$' "created_at set"
is "$(audit_since)" "alert.created alert:$a1" "alert.created audited"
while IFS='|' read -r type threshold; do
	api_as admin POST /api/alerts "$(alert "$type" "$threshold" '"notify":"log","enabled":false')"
	api_status 201 "alert $type $threshold"
	is "$(json_get "$API_BODY" '$.threshold')" "$threshold" "  ... threshold kept as given"
done <<'EOF'
peer_offline|1h30m
interface_down|immediate
interface_down|0
transfer_spike|1GB/hour
transfer_spike|500MB/minute
transfer_spike|2TB/day
transfer_spike|64KB/minute
EOF
while IFS='|' read -r body fields why; do
	bad admin POST /api/alerts "$body" 400 VALIDATION_ERROR "alert: $why"
	is "$(api_error_fields)" "$fields" "  ... blames $fields"
done <<'EOF'
{"type":"cpu_high","threshold":"10m"}|type|unknown type
{"type":"peer_offline"}|threshold|threshold missing
{"type":"peer_offline","threshold":""}|threshold|empty threshold
{"type":"peer_offline","threshold":"soon"}|threshold|peer_offline needs a duration
{"type":"peer_offline","threshold":"10"}|threshold|duration without a unit
{"type":"interface_down","threshold":"5m"}|threshold|interface_down is immediate only
{"type":"transfer_spike","threshold":"1GB"}|threshold|spike without a window
{"type":"transfer_spike","threshold":"1XB/hour"}|threshold|spike with an unknown unit
{"type":"transfer_spike","threshold":"0GB/hour"}|threshold|spike of zero
{"type":"transfer_spike","threshold":"1GB/week"}|threshold|spike per week
{"type":"transfer_spike","threshold":"1.5GB/hour"}|threshold|fractional spike
{"type":"transfer_spike","threshold":"1gb/hour"}|threshold|lowercase unit
{"type":"transfer_spike","threshold":"99999999999TB/day"}|threshold|spike too large
{"type":"peer_offline","threshold":"10m","notify":"sms"}|notify|unknown notify channel
{"type":"peer_offline","threshold":"10m","enabled":"yes"}|enabled|enabled not a boolean
{"type":"peer_offline","threshold":"10m","id":5}|id|id is not an input
{"type":1,"threshold":2,"notify":3,"enabled":4}|type,threshold,notify,enabled|all wrong at once
EOF

audit_mark
api_as admin PUT "/api/alerts/$a1" '{"threshold":"30m","notify":"log"}'
api_status 200 "update an alert"
is "$(json_get "$API_BODY" '$.threshold') $(json_get "$API_BODY" '$.notify')" "30m log" "threshold and notify changed"
is "$(audit_since)" "alert.updated alert:$a1" "alert.updated audited"
is "$(sql "SELECT detail FROM audit_log WHERE id > $AUDIT_MARK")" '{"notify":"log","threshold":"30m"}' "audit detail holds the changes"
bad admin PUT "/api/alerts/$a1" '{"type":"interface_down"}' 400 VALIDATION_ERROR "a new type re-checks the stored threshold"
is "$(api_error_fields)" threshold "  ... blames threshold"
bad admin PUT "/api/alerts/$a1" '{"threshold":"1GB/hour"}' 400 VALIDATION_ERROR "threshold checked against the stored type"
bad admin PUT "/api/alerts/$a1" '{"type":"bogus","threshold":"zzz"}' 400 VALIDATION_ERROR "bad type: only the type is blamed"
is "$(api_error_fields)" type "  ... blames type only"
bad admin PUT "/api/alerts/$a1" '{"created_at":1}' 400 VALIDATION_ERROR "created_at is not an input"
bad admin PUT /api/alerts/999 '{"enabled":true}' 404 ALERT_NOT_FOUND "update an unknown alert"
api_as admin PUT "/api/alerts/$a1" '{"type":"interface_down","threshold":"immediate","enabled":false}'
api_status 200 "change type with a fitting threshold"
is "$(json_get "$API_BODY" '$.type') $(json_get "$API_BODY" '$.enabled')" "interface_down false" "type and enabled changed"
api_as admin PUT "/api/alerts/$a1" '{}'
api_status 200 "empty alert update"
api_as viewer GET /api/alerts
api_status 200 "viewer lists alerts"
is "$(json_len "$API_BODY" '$')" "$(sql 'SELECT COUNT(*) FROM alerts')" "all alerts listed"
bad viewer POST /api/alerts "$(alert peer_offline 10m)" 403 FORBIDDEN "viewer: create alert"
bad viewer PUT "/api/alerts/$a1" '{"enabled":true}' 403 FORBIDDEN "viewer: update alert"
bad viewer DELETE "/api/alerts/$a1" - 403 FORBIDDEN "viewer: delete alert"
audit_mark
api_as admin DELETE "/api/alerts/$a1"
api_status 204 "delete an alert"
is "$(audit_since)" "alert.deleted alert:$a1" "alert.deleted audited"
bad admin DELETE "/api/alerts/$a1" - 404 ALERT_NOT_FOUND "delete twice"

# --- audit log: pagination and filters ------------------------------------------------------------------
for i in $(seq 1 31); do
	SRC=127.0.1.77 api_as admin POST /api/alerts "$(alert peer_offline "${i}m")"
	id=$(json_get "$API_BODY" '$.id')
	SRC=127.0.1.77 api_as admin DELETE "/api/alerts/$id"
done
total=$(sql "SELECT COUNT(*) FROM audit_log")
ok "more than 60 audit entries" test "$total" -gt 60
api_as admin GET /api/audit-log
api_status 200 "audit log"
is "$(json_get "$API_BODY" '$.total') $(json_get "$API_BODY" '$.limit') $(json_get "$API_BODY" '$.offset')" \
	"$total 50 0" "total, default limit 50, offset 0"
is "$(json_len "$API_BODY" '$.entries')" 50 "50 entries by default"
is "$(json_get "$API_BODY" '$.entries[0].id')" "$(sql 'SELECT MAX(id) FROM audit_log')" "newest first"
is "$(json_get "$API_BODY" '$.entries[0].action') $(json_get "$API_BODY" '$.entries[0].ip_address')" \
	"alert.deleted 127.0.1.77" "entries carry action and client IP"
is "$(json_get "$API_BODY" '$.entries[0].user_id')" "$admin_id" "entries carry the user id"
like "$(json_get "$API_BODY" '$.entries[0].detail')" '^\{"threshold":"31m","type":"peer_offline"\}$' "detail as stored"
is "$(json_keys "$API_BODY" '$.entries[0]')" id,timestamp,user_id,action,resource,detail,ip_address "entries have the spec's fields"
ids=""
for ((off = 0; off < total; off += 50)); do
	api_as admin GET "/api/audit-log?limit=50&offset=$off"
	ids+=$(sqlite3 :memory: "SELECT group_concat(json_extract(value, '\$.id'), ' ') || ' '
		FROM json_each(json_extract($(sql_quote "$API_BODY"), '\$.entries'))")
done
is "$(echo $ids)" "$(sql "SELECT group_concat(id, ' ') FROM (SELECT id FROM audit_log ORDER BY id DESC)")" \
	"pages of 50 cover every entry once, newest first"
api_as admin GET '/api/audit-log?limit=200'
is "$(json_len "$API_BODY" '$.entries')" "$((total < 200 ? total : 200))" "limit 200"
api_as admin GET "/api/audit-log?limit=3&offset=$((total - 2))"
is "$(json_len "$API_BODY" '$.entries') $(json_get "$API_BODY" '$.entries[1].id')" "2 $(sql 'SELECT MIN(id) FROM audit_log')" \
	"the last page is short and ends with the oldest"
api_as admin GET "/api/audit-log?offset=$((total + 10))"
is "$(json_len "$API_BODY" '$.entries') $(json_get "$API_BODY" '$.total')" "0 $total" "offset past the end: no entries, same total"
api_as admin GET '/api/audit-log?action=alert.created&limit=200'
is "$(json_get "$API_BODY" '$.total')" "$(sql "SELECT COUNT(*) FROM audit_log WHERE action='alert.created'")" "filter by action"
is "$(sqlite3 :memory: "SELECT COUNT(*) FROM json_each(json_extract($(sql_quote "$API_BODY"), '\$.entries')) WHERE json_extract(value, '\$.action') != 'alert.created'")" 0 \
	"  ... only that action"
api_as admin GET '/api/audit-log?action=alert%2Ecreated&limit=1'
is "$(json_get "$API_BODY" '$.total')" "$(sql "SELECT COUNT(*) FROM audit_log WHERE action='alert.created'")" "percent-encoded value decoded"
api_as admin GET '/api/audit-log?resource=bridge'
is "$(json_get "$API_BODY" '$.total')" "$(sql "SELECT COUNT(*) FROM audit_log WHERE resource LIKE 'bridge:%'")" "a bare resource type matches every id"
api_as admin GET "/api/audit-log?resource=bridge%3A$b2"
is "$(json_get "$API_BODY" '$.total')" 3 "an exact resource (created, updated, deleted)"
api_as admin GET '/api/audit-log?resource=settings&action=settings.updated'
is "$(json_get "$API_BODY" '$.total')" "$(sql "SELECT COUNT(*) FROM audit_log WHERE resource='settings'")" "filters combine"
ts=$(sql "SELECT timestamp FROM audit_log WHERE id=(SELECT MIN(id) FROM audit_log)")
api_as admin GET "/api/audit-log?from=$ts&to=$ts&limit=200"
is "$(json_get "$API_BODY" '$.total')" "$(sql "SELECT COUNT(*) FROM audit_log WHERE timestamp=$ts")" "from/to are inclusive"
api_as admin GET "/api/audit-log?from=$(($(date +%s) + 3600))"
is "$(json_get "$API_BODY" '$.total')" 0 "from in the future: nothing"
api_as admin GET "/api/audit-log?to=$((ts - 1))"
is "$(json_get "$API_BODY" '$.total')" 0 "to before the first entry: nothing"
api_as viewer GET '/api/audit-log?limit=1'
api_status 200 "viewers read the audit log"
while IFS='|' read -r query fields why; do
	bad admin GET "/api/audit-log?$query" - 400 VALIDATION_ERROR "audit log: $why"
	is "$(api_error_fields)" "$fields" "  ... blames $fields"
done <<'EOF'
limit=0|limit|limit 0
limit=201|limit|limit above 200
limit=abc|limit|limit not a number
limit=-1|limit|negative limit
limit=%2B5|limit|limit with a sign
limit=|limit|empty limit
offset=-1|offset|negative offset
offset=1e3|offset|offset in exponent form
from=yesterday|from|from not Unix seconds
to=1.5|to|to with a fraction
from=200&to=100|to|to before from
foo=1|foo|unknown parameter
limit=1&limit=2|limit|repeated parameter
action=%zz|action|broken percent escape
action=%4|action|truncated percent escape
resource=a%00b|resource|encoded NUL
action=Peer.Created|action|action with capitals
resource=peer%20created|resource|resource with a space
bar&limit=0&offset=x&from=a|bar,limit,offset,from|all wrong at once
EOF

# --- password change ---------------------------------------------------------------------------------
pw() { printf '{"old_password":"%s","new_password":"%s"}' "$1" "$2"; }
while IFS='|' read -r body status code fields why; do
	bad viewer PUT /api/auth/password "$body" "$status" "$code" "password: $why"
	[ -z "$fields" ] || is "$(api_error_fields)" "$fields" "  ... blames $fields"
done <<'EOF'
{"old_password":"","new_password":""}|400|VALIDATION_ERROR|old_password,new_password|both empty
{"old_password":"viewer-pass-1","new_password":"short"}|400|VALIDATION_ERROR|new_password|new under 10 characters
{"new_password":"long-enough-2"}|400|VALIDATION_ERROR|old_password|old missing
{"old_password":"viewer-pass-1","new_password":"long-enough-2","x":1}|400|VALIDATION_ERROR|x|unknown field
{"old_password":"wrong-pass-1","new_password":"long-enough-2"}|401|INVALID_CREDENTIALS||wrong current password
EOF
api_as viewer PUT /api/auth/password "$(pw wrong-pass-1 long-enough-2)"
is "$(json_get "$API_BODY" '$.error.message')" "invalid current password" "message of a wrong current password"
bad anon PUT /api/auth/password "$(pw viewer-pass-1 long-enough-2)" 401 UNAUTHORIZED "password change needs a session"
audit_mark
cp "$dir/viewer.jar" "$dir/viewer-old.jar"     # another browser of the same user
sleep 1                                         # sessions are dated in whole seconds
api_as viewer PUT /api/auth/password "$(pw viewer-pass-1 new-viewer-pass-2)"
api_status 200 "viewer changes their password"
is "$(json_get "$API_BODY" '$.status')" "password changed" "answer"
like "$(api_header Set-Cookie)" '^session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict$' "the cookie is cleared"
is "$(audit_since)" "auth.password_changed user:$viewer_id" "auth.password_changed audited"
ok "no password in the logs" bash -c "! grep -q new-viewer-pass-2 '$state'/logs/*.log"
api_as viewer GET /api/auth/me
api_expect 401 UNAUTHORIZED "logged out afterwards"
api_as viewer POST /api/auth/login '{"username":"viewer1","password":"viewer-pass-1"}'
api_expect 401 INVALID_CREDENTIALS "the old password no longer works"
api_as viewer POST /api/auth/login '{"username":"viewer1","password":"new-viewer-pass-2"}'
api_status 200 "the new one does"
api_as viewer-old GET /api/auth/me
api_expect 401 SESSION_EXPIRED "a password change ends the user's other sessions"
api_as viewer GET /api/auth/me
api_status 200 "the session issued after the change works"

# --- the reconciler down: bridge changes are refused or undone ------------------------------------
rec_pid=$(cat "$state/run/reconciler.pid")
kill "$rec_pid"
wait_until 10 bash -c "! kill -0 $rec_pid" || diag "reconciler $rec_pid did not stop"
bad admin POST /api/bridges "$(br 2 3)" 503 RECONCILER_UNAVAILABLE "create without reconciler: row removed again"
bad admin PUT "/api/bridges/$b1" '{"direction":"a_to_b"}' 503 RECONCILER_UNAVAILABLE "update without reconciler: reverted"
bad admin DELETE "/api/bridges/$b1" - 503 RECONCILER_UNAVAILABLE "delete without reconciler: checked first"

# --- /api/auth/setup, the one-shot alternative to the wizard ---------------------------------------
"$CLI" --config "$state/config.yaml" init --admin-pass 'Rearm-Setup-0' >/dev/null
is "$(sql "SELECT COUNT(*) FROM settings WHERE key IN ('setup_otp')")/$(sql "SELECT COUNT(*) FROM settings WHERE key='setup_complete'")" \
	"1/0" "init --admin-pass re-arms setup"
bad admin GET /api/settings - 403 SETUP_REQUIRED "guarded routes wait for setup again"
bad anon POST /api/auth/setup '{"otp":"Rearm-Setup-0","username":"admin","password":"long-enough-1"}' \
	409 VALIDATION_ERROR "setup: username taken"
SRC=127.0.1.66
for i in 1 2 3 4 5; do
	api_as anon POST /api/auth/setup '{"otp":"wrong-wrong-1","username":"boss","password":"long-enough-1"}'
done
api_expect 401 INVALID_OTP "setup: five wrong attempts are answered"
bad anon POST /api/auth/setup '{"otp":"Rearm-Setup-0","username":"boss","password":"long-enough-1"}' \
	429 RATE_LIMITED "setup: the sixth within a minute is refused (shared login limit)"
is "$(api_header Retry-After)" 60 "Retry-After: 60"
api_as anon POST /api/auth/login '{"username":"admin","password":"correct-horse-1"}'
api_expect 429 RATE_LIMITED "login from that address is limited too"
unset SRC
audit_mark
api_as boss POST /api/auth/setup '{"install_token":"Rearm-Setup-0","username":"boss","password":"long-enough-1"}'
api_status 201 "setup creates the admin"
is "$(json_get "$API_BODY" '$.user.username') $(json_get "$API_BODY" '$.user.role')" "boss admin" "answer holds the user"
like "$(api_header Set-Cookie)" '^session=[^;]+; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=Strict$' "session cookie set"
is "$(sql "SELECT role FROM users WHERE username='boss'")" admin "admin row"
ok "OTP deleted" test -z "$(sql "SELECT 1 FROM settings WHERE key='setup_otp'")"
is "$(sql "SELECT value FROM settings WHERE key='setup_complete'")" true "setup_complete set"
boss_id=$(sql "SELECT id FROM users WHERE username='boss'")
is "$(audit_since)" "user.created user:$boss_id; setup.completed system" "user.created and setup.completed audited"
api_as boss GET /api/auth/me
is "$(json_get "$API_BODY" '$.user.username')" boss "the cookie is a session"
api_as boss GET /api/settings
api_status 200 "guarded routes open again"
bad anon POST /api/auth/setup '{"otp":"Rearm-Setup-0","username":"boss2","password":"long-enough-1"}' \
	409 SETUP_ALREADY_COMPLETE "setup works once"
sql "DELETE FROM settings WHERE key='setup_complete'"
bad anon POST /api/auth/setup '{"otp":"Rearm-Setup-0","username":"boss2","password":"long-enough-1"}' \
	409 SETUP_ALREADY_COMPLETE "no OTP stored: 409"
sql "INSERT INTO settings(key, value) VALUES ('setup_complete', 'true')"

ok "no sanitizer report in the API log" bash -c "! grep -Eq 'runtime error|AddressSanitizer' '$API_LOG'"

if [ "$TAP_FAILED" -gt 0 ]; then
	stack_logs "$state"
fi
done_testing
