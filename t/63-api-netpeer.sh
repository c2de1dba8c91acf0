#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Networks and peers after creation (api.md §5-6, peers.md) through the real
# stack in a network namespace: update, enable/disable, delete, export, QR as
# SVG, list pages; the kernel effect of each change (wg show inside the
# reconciler's namespaces); every validation rule with "nothing changed";
# concurrent creations, a full pool, and the time of the peer list.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root
need_cmd curl sqlite3 wireguard-go nginx ip wg nsenter sha256sum

api_test_env np
api_test_up
URL=https://127.0.0.1:8443

# --- helpers -------------------------------------------------------------------------

sql() { sqlite3 -batch "$DB" "$@"; }

# Every column a request of this file could touch, plus the audit log size.
db_state() {
	sql "SELECT (SELECT group_concat(x, '|') FROM (SELECT id || ',' || name || ',' || mode || ','
			|| subnet || ',' || listen_port || ',' || dns_servers || ',' || nat_enabled || ','
			|| inter_peer_routing || ',' || enabled || ',' || updated_at AS x FROM networks ORDER BY id))
		|| '#' || (SELECT group_concat(x, '|') FROM (SELECT id || ',' || network_id || ',' || name
			|| ',' || email || ',' || enabled || ',' || persistent_keepalive || ',' || endpoint || ','
			|| ifnull(expires_at, 'null') || ',' || tunnel_type || ',' || split_cidrs || ','
			|| allowed_ips || ',' || role || ',' || site_networks || ',' || updated_at AS x
			FROM peers ORDER BY id))
		|| '#' || (SELECT COUNT(*) FROM peer_snapshots) || '#' || (SELECT COUNT(*) FROM audit_log)"
}

# bad METHOD PATH BODY STATUS CODE FIELDS DESC: a request that must fail with
# STATUS/CODE and leave the DB as it was (and, for 400s, blame exactly the
# fields FIELDS, "-" = do not check). BODY "-" sends none.
bad() {
	if [ "$3" = - ]; then
		api_refused "$4" "$5" "$7" api "$1" "$2"
	else
		api_refused "$4" "$5" "$7" api "$1" "$2" "$3"
	fi
	[ "$6" = - ] || is "$(api_error_fields)" "$6" "  ... blames $6"
}

# The reconciler's network and mount namespaces hold wg0..N and their UAPI sockets.
rec_pid=$(cat "$state/run/reconciler.pid")
kwg() { nsenter --target "$rec_pid" --mount --net -- wg show "$@" 2>/dev/null; }
# kpeer IFACE PUBKEY: the peer's allowed IPs in the kernel, fails when absent.
kpeer() { kwg "$1" allowed-ips | awk -v k="$2" '$1 == k { $1 = ""; sub(/^ /, ""); print; f = 1 } END { exit !f }'; }
kgone() { ! kwg "$1" peers | grep -qF -- "$2"; }
klink() { ip -n "$ns" link show "$1" >/dev/null 2>&1; }
nolink() { ! klink "$1"; }
# jlen FILE: length of the JSON array in FILE (bodies may exceed ARG_MAX).
jlen() { sqlite3 -batch :memory: "SELECT json_array_length(readfile('$1'))"; }
body_len() { printf '%s' "$API_BODY" >"$dir/body.json"; jlen "$dir/body.json"; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
DASH=$(printf '\xe2\x80\x94')

audits() { sql "SELECT COUNT(*) FROM audit_log WHERE action = '$1' AND resource = '$2'"; }
logged() { grep -c "\"$1\"" "$state"/logs/api.log 2>/dev/null || true; }

# --- wizard ---------------------------------------------------------------------------
wizard_admin
wizard_finish 10.60.0.0/24       # network 1 (wg0, NAT on) and peer 1
api POST /api/networks '{"name":"Office","mode":"site-to-site","subnet":"172.20.0.0/24","listen_port":51821}'
is "$API_STATUS" 201 "network 2 (wg1)"
for i in 2 3 4; do   # peer ids 2-4 after the wizard's laptop (.2)
	api POST /api/networks/1/peers "{\"name\":\"phone $i\",\"persistent_keepalive\":25}"
	is "$(json_get "$API_BODY" '$.allowed_ips')" "10.60.0.$((i + 1))/32" "peer $i in network 1 gets .$((i + 1))"
	tap_last_ok || diag "$API_STATUS $API_BODY"
done
api POST /api/networks/2/peers '{"name":"site a","role":"site-gateway","site_networks":"192.168.50.0/24"}'
is "$API_STATUS" 201 "peer 5: a site gateway in network 2"
pub() { sql "SELECT public_key FROM peers WHERE id = $1"; }
PUB2=$(pub 2)
ok "peer 2 is in the kernel" kpeer wg0 "$PUB2"

# --- PUT /api/networks/{id} -------------------------------------------------------
before_upd=$(sql "SELECT updated_at FROM networks WHERE id = 1")
sleep 1
api PUT /api/networks/1 '{"name":"Home VPN","dns_servers":"9.9.9.9 , 1.1.1.1","nat_enabled":false,"inter_peer_routing":true}'
is "$API_STATUS" 200 "network update"
is "$(json_get "$API_BODY" '$.name')" "Home VPN" "  name changed"
is "$(json_get "$API_BODY" '$.dns_servers')" "9.9.9.9,1.1.1.1" "  DNS list normalised"
is "$(json_get "$API_BODY" '$.nat_enabled')/$(json_get "$API_BODY" '$.inter_peer_routing')" false/true "  flags changed"
is "$(json_get "$API_BODY" '$.subnet')/$(json_get "$API_BODY" '$.listen_port')" 10.60.0.0/24/51820 "  the rest as it was"
ok "  no private key in the answer" bash -c "! grep -q private_key <<<'$API_BODY'"
is "$(sql "SELECT name || '|' || dns_servers || '|' || nat_enabled || inter_peer_routing FROM networks WHERE id = 1")" \
	"Home VPN|9.9.9.9,1.1.1.1|01" "  stored"
ok "  updated_at moves" test "$(sql "SELECT updated_at FROM networks WHERE id = 1")" -gt "$before_upd"
is "$(audits network.updated network:1)" 1 "  audit network.updated"
like "$(sql "SELECT detail FROM audit_log WHERE action = 'network.updated'")" '"nat_enabled":false' "  audit detail names the change"
ok "  wg0 still up with its peers" kpeer wg0 "$PUB2"
before=$(db_state)
api PUT /api/networks/1 '{"name":"Home VPN"}'
is "$API_STATUS" 200 "update to the same values"
is "$(db_state)" "$before" "  ... writes nothing (no audit either)"
api PUT /api/networks/1 '{}'
is "$API_STATUS:$(json_get "$API_BODY" '$.name')" "200:Home VPN" "empty update returns the network"
api PUT /api/networks/1 '{"dns_servers":""}'
is "$(json_get "$API_BODY" '$.dns_servers')" "" "empty dns_servers clears the list"
api PUT /api/networks/1 '{"dns_servers":"9.9.9.9,1.1.1.1","nat_enabled":true,"inter_peer_routing":false}'
is "$API_STATUS" 200 "flags back"
is "$(json_get "$API_BODY" '$.mtu')" 1420 "MTU defaults to 1420 (feat-005)"
api PUT /api/networks/1 '{"mtu":1380}'
is "$API_STATUS:$(json_get "$API_BODY" '$.mtu')" "200:1380" "MTU changed"
like "$(ip -n "$ns" link show wg0)" "mtu 1380 " "  ... live on the link"
api GET /api/networks/1/peers/1/config
like "$API_BODY" $'\nMTU = 1380\n' "  ... and in the client configs"
api PUT /api/networks/1 '{"mtu":1420}'
api GET /api/networks/1/peers/1/config
ok "  a default MTU leaves the config as documented (no MTU line)" bash -c "! grep -q '^MTU' <<<'$API_BODY'"

# Validation: table of body, blamed fields, description.
long=$(printf 'x%.0s' {1..65})
while IFS='|' read -r body want desc; do
	bad PUT /api/networks/1 "$body" 400 VALIDATION_ERROR "$want" "network update: $desc"
done <<EOF
{"mode":"hub-routed"}|mode|mode is immutable
{"subnet":"10.61.0.0/24"}|subnet|subnet is immutable
{"listen_port":51999}|listen_port|listen_port is immutable
{"subnet":null}|subnet|immutable even as null
{"enabled":false}|enabled|enabled only through /enable and /disable
{"id":7,"interface":"wg7","public_key":"x","created_at":1,"updated_at":1,"peer_count":3}|id,interface,public_key,created_at,updated_at,peer_count|server fields are immutable
{"private_key":"x"}|private_key|private key is not a field
{"bogus":1,"name":"ok"}|bogus|unknown field
{"name":""}|name|empty name
{"name":"bad/name"}|name|name with a slash
{"name":"$long"}|name|name over 64 characters
{"name":5}|name|name that is a number
{"dns_servers":"1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4"}|dns_servers|four DNS servers
{"dns_servers":"dns.example"}|dns_servers|DNS that is not an IP
{"dns_servers":["1.1.1.1"]}|dns_servers|DNS as an array
{"nat_enabled":"yes"}|nat_enabled|NAT flag as a string
{"inter_peer_routing":1}|inter_peer_routing|inter-peer flag as a number
{"mtu":1279}|mtu|MTU below 1280
{"mtu":9001}|mtu|MTU above 9000
{"mtu":"1400"}|mtu|MTU as a string
{"name":"","dns_servers":"x","nat_enabled":0,"mode":"gateway","zzz":true}|name,dns_servers,nat_enabled,mode,zzz|every bad field at once
{"name":"a","name":"b"}|body|duplicate keys
{"name":|body|malformed JSON
[1]|body|a body that is not an object
EOF
bad PUT /api/networks/1 - 400 VALIDATION_ERROR body "network update without a body"
bad PUT /api/networks/999 '{"name":"x"}' 404 NETWORK_NOT_FOUND - "update of an unknown network"
for id in abc 1.5 -1 0 0x1 +1 '1%20'; do
	bad PUT "/api/networks/$id" '{"name":"x"}' 400 VALIDATION_ERROR - "network id '$id' is not a decimal id"
done
is "$(json_get "$API_BODY" '$.error.message')" "invalid network ID" "  message names the network ID"

# --- network enable / disable -------------------------------------------------------
api POST /api/networks/1/disable
is "$API_STATUS:$(json_get "$API_BODY" '$.enabled')" 200:false "network disable"
ok "  wg0 is gone from the kernel" nolink wg0
ok "  wg1 is not touched" klink wg1
is "$(sql "SELECT enabled FROM networks WHERE id = 1")/$(sql "SELECT COUNT(*) FROM peers WHERE network_id = 1")" 0/4 \
	"  row disabled, peers kept"
api GET /api/networks/1/peers/2
is "$(json_get "$API_BODY" '$.online')/$(json_get "$API_BODY" '$.transfer_rx')" false/0 "  live fields are zero while disabled"
n_aud=$(audits network.disabled network:1)
api POST /api/networks/1/disable
is "$API_STATUS:$(json_get "$API_BODY" '$.enabled')" 200:false "disable again is a no-op"
is "$(audits network.disabled network:1)" "$n_aud" "  ... not audited twice"
api POST /api/networks/1/enable
is "$API_STATUS:$(json_get "$API_BODY" '$.enabled')" 200:true "network enable"
ok "  wg0 is back" klink wg0
is "$(kpeer wg0 "$PUB2")" 10.60.0.3/32 "  ... with its peers at their addresses"
is "$(kwg wg0 listen-port)" 51820 "  ... and its port"
api POST /api/networks/1/enable
is "$API_STATUS" 200 "enable again is a no-op"
is "$(audits network.enabled network:1)/$(audits network.disabled network:1)" 1/1 "audit network.enabled/disabled once each"
bad POST /api/networks/999/enable - 404 NETWORK_NOT_FOUND - "enable an unknown network"
bad POST /api/networks/999/disable - 404 NETWORK_NOT_FOUND - "disable an unknown network"
bad POST /api/networks/x1/disable - 400 VALIDATION_ERROR - "disable with a bad id"

# --- export -------------------------------------------------------------------------
api POST /api/networks/1/peers/4/disable
api GET /api/networks/1/export
is "$API_STATUS" 200 "export"
is "$(api_header Content-Type)" "text/plain; charset=utf-8" "  content type"
is "$(api_header Content-Disposition)" 'attachment; filename="wg0.conf"' "  file name"
export_file=$dir/wg0-export.conf
printf '%s\n' "$API_BODY" >"$export_file"
is "$(head -n 1 "$export_file")" "# Generated by wgpilot $DASH wg0" "  first line"
is "$(sed -n 2p "$export_file")" "[Interface]" "  [Interface] follows"
server_priv=$(wg_quick_value "$export_file" PrivateKey)
is "$(printf '%s' "$server_priv" | wg pubkey)" "$(sql "SELECT public_key FROM networks WHERE id = 1")" \
	"  PrivateKey is the server's key"
is "$(wg_quick_value "$export_file" Address)" 10.60.0.1/24 "  Address = server IP/prefix"
is "$(wg_quick_value "$export_file" ListenPort)" 51820 "  ListenPort"
is "$(wg_quick_value "$export_file" DNS)" 9.9.9.9,1.1.1.1 "  DNS"
like "$(wg_quick_value "$export_file" PostUp)" 'iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE; .*ip6tables -t nat -A POSTROUTING -o eth0 -j MASQUERADE$' \
	"  NAT PostUp with iptables and ip6tables"
like "$(wg_quick_value "$export_file" PostDown)" 'iptables -t nat -D POSTROUTING -o eth0 -j MASQUERADE' "  NAT PostDown"
is "$(grep -c '^\[Peer\]$' "$export_file")" 3 "  one [Peer] per enabled peer (1-3; 4 is disabled)"
like "$(cat "$export_file")" $'\n# phone 2\n\\[Peer\\]\nPublicKey = '"${PUB2//+/\\+}"$'\nPresharedKey = [A-Za-z0-9+/]{43}=\nAllowedIPs = 10.60.0.3/32\nPersistentKeepalive = 25\n' \
	"  peer block layout"
ok "  disabled peer 4 is left out" bash -c "! grep -q '$(pub 4)' '$export_file'"
psk=$(sed -n '/^# phone 2$/,/^$/s/^PresharedKey = //p' "$export_file")
mk_netns "$ns-x"
if wg_userspace_up "$ns-x" wgx; then
	wg_strip_conf "$export_file" >"$dir/wgx.conf"
	ok "  wg setconf accepts the stripped export" wg_exec "$WG_PID" wg setconf wgx "$dir/wgx.conf"
	is "$(wg_exec "$WG_PID" wg show wgx public-key)" "$(sql "SELECT public_key FROM networks WHERE id = 1")" \
		"  ... and derives the network's public key"
	is "$(wg_exec "$WG_PID" wg show wgx preshared-keys | awk -v k="$PUB2" '$1 == k { print $2 }')" "$psk" \
		"  ... with the peer's PSK"
else
	fail "wireguard-go for the export check"
fi
api PUT /api/networks/1 '{"nat_enabled":false}'
api GET /api/networks/1/export
ok "export without NAT has no PostUp" bash -c "! grep -q PostUp <<<'$API_BODY'"
api PUT /api/networks/1 '{"nat_enabled":true}'
api POST /api/networks/1/peers/4/enable
bad GET /api/networks/999/export - 404 NETWORK_NOT_FOUND - "export of an unknown network"
ok "export is logged without the key" bash -c "grep -q network_exported '$state/logs/api.log' && ! grep -qF '$server_priv' '$state'/logs/*.log"

# --- viewers (API key with role viewer) ------------------------------------------------
vkey=wgp_$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
vhash=$(printf '%s' "$vkey" | sha256sum | cut -d' ' -f1)
sql "INSERT INTO api_keys (name, key_hash, key_prefix, user_id, role) VALUES ('ro', '$vhash', '${vkey:0:12}...', 1, 'viewer')"
API_CURL_ARGS=(-H "Authorization: Bearer $vkey")
api GET /api/networks/1/peers
is "$API_STATUS" 200 "viewer reads the peer list"
bad GET /api/networks/1/export - 403 FORBIDDEN - "viewer may not export (server key)"
bad GET /api/networks/1/peers/2/config - 403 FORBIDDEN - "viewer may not download a config"
bad GET /api/networks/1/peers/2/qr?format=svg - 403 FORBIDDEN - "viewer may not fetch a QR code"
bad PUT /api/networks/1 '{"name":"x"}' 403 FORBIDDEN - "viewer may not update a network"
bad DELETE /api/networks/2/peers/5 - 403 FORBIDDEN - "viewer may not delete a peer"
bad POST /api/networks/1/peers/2/disable - 403 FORBIDDEN - "viewer may not disable a peer"
API_CURL_ARGS=()

# --- PUT …/peers/{pid} -------------------------------------------------------------------
sleep 1
api PUT /api/networks/1/peers/2 '{"name":"phone two","email":"two@example.com","persistent_keepalive":30,"endpoint":"198.51.100.9:4500","expires_in":"720h","tunnel_type":"split","split_cidrs":"192.168.1.0/24 , 192.168.2.0/24"}'
is "$API_STATUS" 200 "peer update"
is "$(json_get "$API_BODY" '$.name')|$(json_get "$API_BODY" '$.email')|$(json_get "$API_BODY" '$.endpoint')" \
	"phone two|two@example.com|198.51.100.9:4500" "  name, email, endpoint"
is "$(json_get "$API_BODY" '$.tunnel_type')|$(json_get "$API_BODY" '$.split_cidrs')" "split|192.168.1.0/24,192.168.2.0/24" \
	"  split tunnel with normalised CIDRs"
exp=$(json_get "$API_BODY" '$.expires_at')
now=$(date +%s)
ok "  expires_at = now + 720h" test "$exp" -ge $((now + 2592000 - 5)) -a "$exp" -le $((now + 2592000 + 5))
is "$(json_get "$API_BODY" '$.allowed_ips')|$(json_get "$API_BODY" '$.role')" "10.60.0.3/32|client" "  address and role unchanged"
is "$(kwg wg0 persistent-keepalive | awk -v k="$PUB2" '$1 == k { print $2 }')" 30 "  kernel keepalive rewritten"
is "$(audits peer.updated peer:2)" 1 "  audit peer.updated"
ok "  log peer_updated" test "$(logged peer_updated)" -ge 1
api GET /api/networks/1/peers/2/config
like "$API_BODY" $'AllowedIPs = 10.60.0.0/24, 192.168.1.0/24, 192.168.2.0/24\n' "  the config follows the split tunnel"
api PUT /api/networks/1/peers/2 '{"expires_in":""}'
is "$API_STATUS:$(json_get "$API_BODY" '$.expires_at')" 200:null "expires_in \"\" clears the expiry"
is "$(sql "SELECT ifnull(expires_at, 'NULL') FROM peers WHERE id = 2")" NULL "  stored as NULL"
api PUT /api/networks/1/peers/2 '{"split_cidrs":"10.9.0.0/16"}'
is "$API_STATUS:$(json_get "$API_BODY" '$.split_cidrs')" 200:10.9.0.0/16 "split_cidrs alone on a split peer"
api PUT /api/networks/1/peers/2 '{"tunnel_type":"full","split_cidrs":"","endpoint":""}'
is "$API_STATUS:$(json_get "$API_BODY" '$.tunnel_type'):$(json_get "$API_BODY" '$.split_cidrs')" 200:full: "back to a full tunnel"
api PUT /api/networks/1/peers/2 '{"enabled":false}'
is "$API_STATUS:$(json_get "$API_BODY" '$.enabled')" 200:false "enabled:false through PUT"
ok "  removed from the kernel" kgone wg0 "$PUB2"
api PUT /api/networks/1/peers/2 '{"enabled":true}'
is "$(kpeer wg0 "$PUB2")" 10.60.0.3/32 "enabled:true brings it back"

while IFS='|' read -r body want desc; do
	bad PUT /api/networks/1/peers/2 "$body" 400 VALIDATION_ERROR "$want" "peer update: $desc"
done <<EOF
{"role":"site-gateway"}|role|role is immutable
{"site_networks":"192.168.9.0/24"}|site_networks|site_networks is immutable
{"allowed_ips":"10.60.0.99/32"}|allowed_ips|allowed_ips is immutable
{"public_key":"x","id":9,"network_id":2,"online":true,"last_handshake":1,"transfer_rx":1,"transfer_tx":1,"expires_at":1,"created_at":1,"updated_at":1}|public_key,id,network_id,online,last_handshake,transfer_rx,transfer_tx,expires_at,created_at,updated_at|server fields are immutable
{"preshared_key":"x"}|preshared_key|PSK is not a field
{"nickname":"x"}|nickname|unknown field
{"name":1,"email":false,"enabled":"yes","persistent_keepalive":"25","endpoint":5,"expires_in":5,"tunnel_type":true,"split_cidrs":["10.0.0.0/8"]}|name,email,enabled,persistent_keepalive,endpoint,expires_in,tunnel_type,split_cidrs|every wrong type
{"persistent_keepalive":2.5}|persistent_keepalive|keepalive as a fraction
{"name":""}|name|empty name
{"name":"a.b"}|name|name with a dot
{"name":"$long"}|name|name over 64 characters
{"email":"nope"}|email|email without @
{"email":"a@b"}|email|email without a dot in the domain
{"persistent_keepalive":-1}|persistent_keepalive|negative keepalive
{"persistent_keepalive":65536}|persistent_keepalive|keepalive above 65535
{"endpoint":"198.51.100.9"}|endpoint|endpoint without a port
{"endpoint":":51820"}|endpoint|endpoint without a host
{"endpoint":"host.example:0"}|endpoint|endpoint port 0
{"endpoint":"host.example:70000"}|endpoint|endpoint port above 65535
{"expires_in":"soon"}|expires_in|duration without a unit
{"expires_in":"0h"}|expires_in|zero duration
{"expires_in":"-5m"}|expires_in|negative duration
{"tunnel_type":"half"}|tunnel_type|unknown tunnel type
{"tunnel_type":"split","split_cidrs":"10.0.0.0/33"}|split_cidrs|CIDR prefix too long
{"tunnel_type":"split","split_cidrs":"nope"}|split_cidrs|CIDR list that is not one
{"split_cidrs":"10.9.0.0/16"}|split_cidrs|split CIDRs on a full-tunnel peer
{"name":"","email":"x","persistent_keepalive":70000,"expires_in":"1y","role":"client","zz":1}|name,email,persistent_keepalive,role,zz,expires_in|every bad field at once
EOF
bad PUT /api/networks/1/peers/2 - 400 VALIDATION_ERROR body "peer update without a body"
bad PUT /api/networks/1/peers/999 '{"name":"x"}' 404 PEER_NOT_FOUND - "update of an unknown peer"
bad PUT /api/networks/2/peers/2 '{"name":"x"}' 404 PEER_NOT_FOUND - "update of a peer of another network"
bad PUT /api/networks/999/peers/2 '{"name":"x"}' 404 NETWORK_NOT_FOUND - "update in an unknown network"
for id in abc 2.0 -2 0 0x2 '2%2F'; do
	bad PUT "/api/networks/1/peers/$id" '{"name":"x"}' 400 VALIDATION_ERROR - "peer id '$id' is not a decimal id"
done
is "$(json_get "$API_BODY" '$.error.message')" "invalid peer ID" "  message names the peer ID"

# --- peer enable / disable ----------------------------------------------------------
PUB3=$(pub 3)
api POST /api/networks/1/peers/3/disable
is "$API_STATUS:$(json_get "$API_BODY" '$.enabled')" 200:false "peer disable"
ok "  gone from the kernel" kgone wg0 "$PUB3"
is "$(sql "SELECT enabled || ' ' || allowed_ips FROM peers WHERE id = 3")" "0 10.60.0.4/32" "  row keeps its address"
ok "  other peers stay" kpeer wg0 "$PUB2"
api POST /api/networks/1/peers/3/disable
is "$API_STATUS:$(json_get "$API_BODY" '$.enabled')" 200:false "disable again is a no-op"
api POST /api/networks/1/peers '{"name":"phone 6"}'
is "$(json_get "$API_BODY" '$.allowed_ips')" 10.60.0.6/32 "a new peer does not take a disabled peer's address"
api POST /api/networks/1/peers/3/enable
is "$API_STATUS:$(json_get "$API_BODY" '$.enabled')" 200:true "peer enable"
is "$(kpeer wg0 "$PUB3")" 10.60.0.4/32 "  back in the kernel with the same address"
is "$(kwg wg0 persistent-keepalive | awk -v k="$PUB3" '$1 == k { print $2 }')" 25 "  ... and its keepalive"
api POST /api/networks/1/peers/3/enable
is "$API_STATUS" 200 "enable again is a no-op"
is "$(audits peer.disabled peer:3)/$(audits peer.enabled peer:3)" 1/1 "audit peer.disabled/enabled once each"
ok "log peer_disabled and peer_enabled" test "$(logged peer_disabled)" -ge 1 -a "$(logged peer_enabled)" -ge 1
bad POST /api/networks/1/peers/999/enable - 404 PEER_NOT_FOUND - "enable an unknown peer"
bad POST /api/networks/2/peers/3/disable - 404 PEER_NOT_FOUND - "disable a peer of another network"
bad POST /api/networks/999/peers/3/disable - 404 NETWORK_NOT_FOUND - "disable in an unknown network"
bad POST /api/networks/1/peers/three/enable - 400 VALIDATION_ERROR - "enable with a bad peer id"

# --- QR as SVG ------------------------------------------------------------------------
api GET '/api/networks/1/peers/2/qr?format=svg'
is "$API_STATUS:$(api_header Content-Type)" 200:image/svg+xml "QR code as SVG"
like "${API_BODY%$'\n'}" '^<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 [0-9]+ [0-9]+".*</svg>$' "  an SVG document"
api GET '/api/networks/1/peers/2/qr?format=png'
is "$API_STATUS:$(api_header Content-Type)" 200:image/png "format=png is the PNG"
api GET '/api/networks/1/peers/2/qr?format=%73vg'
is "$(api_header Content-Type)" image/svg+xml "the format value is percent-decoded"
bad GET '/api/networks/1/peers/2/qr?format=gif' - 400 VALIDATION_ERROR format "QR format gif"
bad GET '/api/networks/1/peers/2/qr?format=svg&format=png' - 400 VALIDATION_ERROR format "QR format given twice"
bad GET '/api/networks/1/peers/999/qr?format=svg' - 404 PEER_NOT_FOUND - "SVG QR of an unknown peer"

# --- peer delete ------------------------------------------------------------------------
PUB4=$(pub 4)
sql "INSERT INTO peer_snapshots (peer_id, timestamp, rx_bytes, tx_bytes, online) VALUES (4, 1000, 1, 2, 0), (4, 1060, 3, 4, 1)"
api DELETE /api/networks/1/peers/4
is "$API_STATUS" 204 "peer delete"
is "$API_BODY" "" "  no body"
is "$(sql "SELECT COUNT(*) FROM peers WHERE id = 4")/$(sql "SELECT COUNT(*) FROM peer_snapshots WHERE peer_id = 4")" 0/0 \
	"  row and snapshots gone"
ok "  gone from the kernel" kgone wg0 "$PUB4"
is "$(audits peer.deleted peer:4)" 1 "  audit peer.deleted"
ok "  log peer_deleted" test "$(logged peer_deleted)" -ge 1
api POST /api/networks/1/peers '{"name":"phone 7"}'
is "$(json_get "$API_BODY" '$.allowed_ips')" 10.60.0.5/32 "the freed address goes to the next peer"
bad DELETE /api/networks/1/peers/4 - 404 PEER_NOT_FOUND - "delete twice"
bad DELETE /api/networks/2/peers/2 - 404 PEER_NOT_FOUND - "delete a peer of another network"
bad DELETE /api/networks/1/peers/-4 - 400 VALIDATION_ERROR - "delete with a bad peer id"

# --- list pages ---------------------------------------------------------------------------
api POST /api/networks '{"name":"Spare","subnet":"10.64.0.0/24","listen_port":51823}'
is "$API_STATUS" 201 "network 3"
api GET '/api/networks?limit=2'
is "$(body_len)|$(json_get "$API_BODY" '$[0].id')" "2|1" "networks ?limit=2"
api GET '/api/networks?limit=2&offset=2'
is "$(body_len)|$(json_get "$API_BODY" '$[0].id')|$(json_get "$API_BODY" '$[0].peer_count')" "1|3|0" \
	"networks ?limit=2&offset=2"
api GET '/api/networks?offset=1'
is "$(body_len)" 2 "networks ?offset=1 without a limit"
api GET '/api/networks?offset=50'
is "$API_STATUS:$API_BODY" "200:[]" "offset past the end: empty array"
api GET '/api/networks/1/peers?limit=2&offset=1'
is "$(body_len)|$(json_get "$API_BODY" '$[0].id')|$(json_get "$API_BODY" '$[1].id')" "2|2|3" \
	"peers ?limit=2&offset=1"
api GET '/api/networks/1/peers?_=123'
is "$(body_len)" 5 "other query parameters are ignored"
for q in limit=0 limit=-1 limit=abc limit=10001 'limit=1%202' limit= limit=1.5 offset=-1 offset=x offset=99999999999 \
	'limit=1&limit=2'; do
	field=${q%%=*}
	bad GET "/api/networks?$q" - 400 VALIDATION_ERROR "$field" "networks ?$q"
	bad GET "/api/networks/1/peers?$q" - 400 VALIDATION_ERROR "$field" "peers ?$q"
done
bad GET '/api/networks?limit=0&offset=-1' - 400 VALIDATION_ERROR limit,offset "both bad at once"
bad GET '/api/networks/999/peers?limit=5' - 404 NETWORK_NOT_FOUND - "page of an unknown network"

# --- 50 concurrent creations, a full pool --------------------------------------------
api POST /api/networks '{"name":"Burst","subnet":"10.62.0.0/24","listen_port":51822}'
burst=$(json_get "$API_BODY" '$.id')
is "$API_STATUS:$(json_get "$API_BODY" '$.interface')" 201:wg3 "network 4 for the burst"
create_peers() {  # NETWORK FROM TO: concurrent creations, outputs in $dir/burst-N
	local i pids=()
	for ((i = $2; i <= $3; i++)); do
		ip netns exec "$ns" curl -sk --max-time 60 -b "$API_JAR" -H 'Content-Type: application/json' \
			-o "$dir/burst-$i" -w '%{http_code}\n' --data-binary "{\"name\":\"burst $i\"}" \
			"$URL/api/networks/$1/peers" >"$dir/burst-$i.status" &
		pids+=($!)
	done
	wait "${pids[@]}" || true
}
t0=$(date +%s.%N)
create_peers "$burst" 1 50
t1=$(date +%s.%N)
diag "50 concurrent peer creations took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
is "$(cat "$dir"/burst-{1..50}.status | sort | uniq -c | awk '{ print $1 "x" $2 }')" 50x201 "50 concurrent creations all answer 201"
addrs=$(sql "SELECT allowed_ips FROM peers WHERE network_id = $burst")
is "$(sort -u <<<"$addrs" | wc -l)" 50 "  50 distinct addresses"
ok "  none is .0, .1 or the broadcast" bash -c "! grep -Eq '^10\.62\.0\.(0|1|255)/32$' <<<'$addrs'"
is "$(sort -t. -k4 -n <<<"$addrs" | sed -n '1p;$p' | paste -sd' ')" "10.62.0.2/32 10.62.0.51/32" "  the pool from .2 without gaps"
is "$(kwg wg3 peers | wc -l)" 50 "  all 50 in the kernel"

api POST /api/networks '{"name":"Tiny","subnet":"10.63.0.0/30","listen_port":51824}'
tiny=$(json_get "$API_BODY" '$.id')
is "$API_STATUS" 201 "a /30 network"
api POST "/api/networks/$tiny/peers" '{"name":"only"}'
is "$API_STATUS:$(json_get "$API_BODY" '$.allowed_ips')" 201:10.63.0.2/32 "  its one peer gets .2"
bad POST "/api/networks/$tiny/peers" '{"name":"second"}' 409 IP_POOL_EXHAUSTED - "  the second: pool exhausted"
is "$(json_get "$API_BODY" '$.error.message')" "no available IPs in subnet 10.63.0.0/30" "  message names the subnet"

# --- the peer list at 200 and 1,000 peers --------------------------------------------
time_get() {  # PATH: seconds for one GET
	ip netns exec "$ns" curl -sk -o "$dir/timed" -b "$API_JAR" -w '%{time_total}' "$URL$1"
}
for ((k = 51; k <= 200; k += 25)); do
	create_peers "$burst" "$k" $((k + 24 > 200 ? 200 : k + 24))
done
is "$(cat "$dir"/burst-{51..200}.status | sort | uniq -c | awk '{ print $1 "x" $2 }')" 150x201 "150 more in rounds of 25 all answer 201"
for i in {51..200}; do
	[ "$(cat "$dir/burst-$i.status")" = 201 ] || diag "burst $i: $(cat "$dir/burst-$i.status") $(cat "$dir/burst-$i")"
done
is "$(sql "SELECT COUNT(*) FROM peers WHERE network_id = $burst")" 200 "200 peers in one network"
time_get "/api/networks/$burst/peers" >/dev/null
t200=$(time_get "/api/networks/$burst/peers")
is "$(jlen "$dir/timed")" 200 "  the list has 200 entries"
diag "GET /api/networks/$burst/peers with 200 peers: ${t200} s"
ok "  ... in under 2 s" lt "$t200" 2

# 800 more straight into the DB (keys made here), then one reconcile of the network.
{
	echo "BEGIN;"
	for ((k = 0; k < 800; k++)); do
		printf "INSERT INTO peers (network_id, name, private_key, public_key, allowed_ips) VALUES (%s, 'bulk %d', '', '%s', '10.62.%d.%d/32');\n" \
			"$burst" "$k" "$(head -c 32 /dev/urandom | base64)" $((1 + k / 250)) $((1 + k % 250))
	done
	echo "COMMIT;"
} >"$dir/bulk.sql"
sql "UPDATE networks SET subnet = '10.62.0.0/20' WHERE id = $burst" # room for 1,000 (immutable via the API)
sql <"$dir/bulk.sql"
api POST "/api/networks/$burst/disable"
api POST "/api/networks/$burst/enable"
is "$API_STATUS" 200 "1,000 peers applied to the kernel"
is "$(kwg wg3 peers | wc -l)" 1000 "  all 1,000 in the kernel"
time_get "/api/networks/$burst/peers" >/dev/null
t1000=$(time_get "/api/networks/$burst/peers")
is "$(jlen "$dir/timed")" 1000 "  the list has 1,000 entries"
diag "GET /api/networks/$burst/peers with 1000 peers: ${t1000} s"
ok "  ... in under 3 s" lt "$t1000" 3
t100=$(time_get "/api/networks/$burst/peers?limit=100&offset=900")
diag "GET /api/networks/$burst/peers?limit=100&offset=900 with 1000 peers: ${t100} s"

# --- network delete -----------------------------------------------------------------------
sql "INSERT INTO peer_snapshots (peer_id, timestamp, rx_bytes, tx_bytes, online) VALUES (5, 1000, 1, 2, 0)"
api DELETE /api/networks/2
is "$API_STATUS" 204 "network delete"
ok "  wg1 is gone" nolink wg1
is "$(sql "SELECT (SELECT COUNT(*) FROM networks WHERE id = 2) || '/' || (SELECT COUNT(*) FROM peers WHERE network_id = 2) || '/' || (SELECT COUNT(*) FROM peer_snapshots WHERE peer_id = 5)")" \
	0/0/0 "  row, peers and snapshots gone (cascade)"
ok "  other networks untouched" kpeer wg0 "$PUB2"
is "$(audits network.deleted network:2)" 1 "  audit network.deleted"
ok "  log network_deleted" test "$(logged network_deleted)" -ge 1
bad DELETE /api/networks/2 - 404 NETWORK_NOT_FOUND - "delete twice"
bad DELETE /api/networks/two - 400 VALIDATION_ERROR - "delete with a bad id"
api POST /api/networks '{"name":"Office again","subnet":"172.20.0.0/24","listen_port":51821}'
is "$API_STATUS:$(json_get "$API_BODY" '$.interface')" 201:wg1 "the name, subnet and port are free again"
api DELETE "/api/networks/$burst"
is "$API_STATUS" 204 "delete the network of 1,000 peers"
ok "  wg3 is gone" nolink wg3
is "$(sql "SELECT COUNT(*) FROM peers WHERE network_id = $burst")" 0 "  its peers are gone"

# --- reconciler down: 503 and nothing changes ---------------------------------------------
kill "$rec_pid"
wait_until 10 bash -c "! kill -0 $rec_pid" || true
bad DELETE /api/networks/1 - 503 RECONCILER_UNAVAILABLE - "network delete without a reconciler"
ok "  wg0 still exists" klink wg0
bad DELETE /api/networks/1/peers/2 - 503 RECONCILER_UNAVAILABLE - "peer delete without a reconciler"
bad PUT /api/networks/1 '{"name":"Renamed"}' 503 RECONCILER_UNAVAILABLE - "network update without a reconciler (reverted)"
bad POST /api/networks/1/disable - 503 RECONCILER_UNAVAILABLE - "network disable without a reconciler (reverted)"
bad PUT /api/networks/1/peers/2 '{"persistent_keepalive":99}' 503 RECONCILER_UNAVAILABLE - "peer update without a reconciler (reverted)"
bad POST /api/networks/1/peers/2/disable - 503 RECONCILER_UNAVAILABLE - "peer disable without a reconciler (reverted)"
api GET /api/networks/1/peers/2
is "$API_STATUS:$(json_get "$API_BODY" '$.online')" 200:false "reads still work (live fields zero)"

# Stop the stack so leak reports of exiting workers reach the logs too.
stack_down "$ns" "$state" >/dev/null 2>&1 || true
ok "no sanitizer reports in the logs" bash -c "test -s '$state/logs/api.log' && ! grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' '$state'/logs/*.log"
if [ "$TAP_FAILED" -gt 0 ]; then
	stack_logs "$state"
fi
done_testing
