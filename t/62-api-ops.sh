#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The operations endpoints through the real stack (nginx + TLS, FastCGI
# workers, the SSE process, reconciler, SQLite): the import of a wg-quick
# file in the wizard, /health, /metrics, system info, transfer stats, live
# events (50 concurrent streams while ordinary requests stay fast), backup
# and restore (bad uploads change nothing), debug pages in dev mode.
#
#   netns wgp-opsc-PID 10.232.0.2/24 ==veth== 10.232.0.1/24 netns wgp-ops-PID
#   opsc0 10.66.0.2/32 (an imported peer's key) ---- UDP 51830 ---- wg0 10.66.0.1/24
# shellcheck disable=SC2317 # helpers run through ok and wait_until
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root
need_cmd curl sqlite3 wireguard-go wg nginx ip nsenter ping

api_test_env ops
cns=wgp-opsc-$$
SERVER_IP=10.232.0.1
URL=https://127.0.0.1:8443
mk_netns "$cns"
mk_veth "$ns" "wgo-$$" "$SERVER_IP/24" "$cns" "wgoc-$$" 10.232.0.2/24
api_test_up
ok "the SSE process runs" test -S "$state/run/sse.sock"

# ---- helpers ---------------------------------------------------------------

# Everything a bad request must leave untouched.
db_state() {
	sqlite3 "$DB" "SELECT (SELECT COUNT(*) FROM users) || '/' || (SELECT COUNT(*) FROM networks)
		|| '/' || (SELECT group_concat(id || ':' || name || ':' || public_key) FROM peers)
		|| '/' || (SELECT group_concat(key || '=' || value)
		FROM (SELECT key, value FROM settings WHERE key <> 'setup_otp' ORDER BY key))"
}

# bad METHOD PATH BODY STATUS CODE DESC: must fail and change nothing.
bad() {
	api_refused "$4" "$5" "$6" api "$1" "$2" "$3"
}

# bad_get PATH STATUS CODE DESC
bad_get() {
	api GET "$1"
	api_expect "$2" "$3" "$4"
}

messages_of() { api_error_fields message ' | '; }

# wg_peers IFACE: the public keys of IFACE as the reconciler's wireguard-go
# serves them (its UAPI sockets live in the reconciler's mount namespace).
wg_peers() {
	nsenter --target "$(cat "$state/run/reconciler.pid")" --mount --net wg show "$1" peers 2>/dev/null | sort
}

# json_body CONFIG [NAME]: the import request body.
json_body() {
	sqlite3 :memory: "SELECT json_object('config', $(printf "'%s'" "${1//\'/\'\'}")$([ $# -lt 2 ] || printf ", 'name', '%s'" "$2"))"
}

# upload FILE [CONTENT-TYPE] [JAR]: POST FILE to /api/system/restore.
upload() {
	api_request POST /api/system/restore --max-time 120 -b "${3:-$API_JAR}" \
		-H "Content-Type: ${2:-application/octet-stream}" --data-binary "@$1"
}

# restore_bad FILE DESC [STATUS] [CONTENT-TYPE]: a refused restore leaves the
# DB and the tunnel as they were.
restore_bad() {
	local before peers
	before=$(db_state)
	peers=$(wg_peers wg0)
	upload "$1" "${4:-application/octet-stream}"
	api_expect "${3:-400}" VALIDATION_ERROR "restore of $2 is refused"
	is "$(db_state)" "$before" "  ... the DB is unchanged"
	is "$(wg_peers wg0)" "$peers" "  ... and so is wg0"
}

# ---- before setup: /health and /metrics are public --------------------------

api GET /health
is "$API_STATUS" 200 "GET /health before setup: 200"
is "$(json_get "$API_BODY" '$.status')" healthy "no networks: healthy"
VERSION=$(json_get "$API_BODY" '$.version' || true)
like "$VERSION" '^[0-9]+\.[0-9]+\.[0-9]+' "version"
like "$(json_get "$API_BODY" '$.uptime')" '^([0-9]+d )?([0-9]+h )?[0-9]+m$' "uptime format"
is "$(json_get "$API_BODY" '$.networks')" '{"total":0,"healthy":0,"degraded":0}' "network counts"
is "$(json_get "$API_BODY" '$.database')" ok "database ok"
api GET /metrics
is "$API_STATUS" 200 "GET /metrics is public"
is "$(api_header Content-Type)" "text/plain; version=0.0.4; charset=utf-8" "Prometheus content type"

# ---- import (networking.md §8) ----------------------------------------------

SRV_PRIV=$(wg genkey)
SRV_PUB=$(printf '%s' "$SRV_PRIV" | wg pubkey)
P1_PRIV=$(wg genkey)
P1_PUB=$(printf '%s' "$P1_PRIV" | wg pubkey)
P2_PUB=$(wg genkey | wg pubkey)
PSK=$(wg genpsk)
# conf ADDRESS PORT PRIVATE: a server file with two peers.
conf() {
	printf '# exported by wg-quick\n[Interface]\nPrivateKey = %s\nAddress = %s\nListenPort = %s\nDNS = 1.1.1.1\nPostUp = iptables -A FORWARD -i %%i -j ACCEPT\n\n' "$3" "$1" "$2"
	printf '[Peer]\n; phone\nPublicKey = %s\nAllowedIPs = 10.66.0.2/32\n\n' "$P1_PUB"
	printf '[peer]\npublickey = %s\nPresharedKey = %s\nAllowedIPs = 10.66.0.3/32, 192.168.9.0/24\nEndpoint = 198.51.100.1:51820\nPersistentKeepalive = 25\n' "$P2_PUB" "$PSK"
}
GOOD=$(conf 10.66.0.1/24 51830 "$SRV_PRIV")

api POST /api/setup/import "$(json_body "$GOOD")"
api_expect 401 UNAUTHORIZED "import needs a session"
wizard_admin

bad POST /api/setup/import '{}' 400 VALIDATION_ERROR "import without config"
is "$(api_error_fields)" config "  ... config is required"
bad POST /api/setup/import '{"config":"[Interface]","name":"x","extra":1}' 400 VALIDATION_ERROR "unknown field"
is "$(api_error_fields)" "extra,config" "  ... named, with the config's own problem"
while IFS='|' read -r desc text want; do
	bad POST /api/setup/import "$(json_body "$(printf '%b' "$text")")" 400 VALIDATION_ERROR "import: $desc"
	like "$(messages_of)" "$want" "  ... says: $want"
done <<EOF
not a config|hello world|expected key = value
no Address|[Interface]\\nPrivateKey = $SRV_PRIV\\n|no Address in \\[Interface\\] section
bad private key|[Interface]\\nPrivateKey = bm90LWEta2V5\\nAddress = 10.66.0.1/24|^invalid private key in config$
public subnet|[Interface]\\nPrivateKey = $SRV_PRIV\\nAddress = 8.8.8.1/24|^Address: 
address without prefix|[Interface]\\nPrivateKey = $SRV_PRIV\\nAddress = 10.66.0.1|^Address: .*prefix
privileged port|[Interface]\\nPrivateKey = $SRV_PRIV\\nAddress = 10.66.0.1/24\\nListenPort = 80|^ListenPort: 
four DNS servers|[Interface]\\nPrivateKey = $SRV_PRIV\\nAddress = 10.66.0.1/24\\nDNS = 1.1.1.1,1.0.0.1,8.8.8.8,9.9.9.9|^DNS: 
bad peer key|[Interface]\\nPrivateKey = $SRV_PRIV\\nAddress = 10.66.0.1/24\\n[Peer]\\nPublicKey = nope|^peer 1: invalid PublicKey
duplicate peer|[Interface]\\nPrivateKey = $SRV_PRIV\\nAddress = 10.66.0.1/24\\n[Peer]\\nPublicKey = $P1_PUB\\n[Peer]\\nPublicKey = $P1_PUB|^peer 2: PublicKey appears twice
peer AllowedIPs|[Interface]\\nPrivateKey = $SRV_PRIV\\nAddress = 10.66.0.1/24\\n[Peer]\\nPublicKey = $P1_PUB\\nAllowedIPs = 10.66.0.300/32|^peer 1: AllowedIPs
peer without key|[Interface]\\nPrivateKey = $SRV_PRIV\\nAddress = 10.66.0.1/24\\n[Peer]\\nEndpoint = a:1|peer 1 has no PublicKey
EOF
bad POST /api/setup/import "$(json_body "$(printf '[Interface]\nPrivateKey = x\nAddress = 10.0.0.1/8\nListenPort = 22\n[Peer]\nPublicKey = y\nEndpoint = nope\n')" 'bad/name')" \
	400 VALIDATION_ERROR "import with everything wrong"
is "$(api_error_fields)" "name,config,config,config,config,config" "  ... every problem reported at once"

api POST /api/setup/import "$(json_body "$GOOD" "Old VPN")"
is "$API_STATUS" 201 "import: 201"
is "$API_BODY" '{"network_id":1,"interface":"wg0","peers_imported":2}' "import result"
api GET /api/setup/status
is "$(json_get "$API_BODY" '$.current_step')" 2 "the wizard continues (step 2 still open)"
is "$(sqlite3 "$DB" "SELECT name || '|' || mode || '|' || subnet || '|' || listen_port || '|' || public_key || '|' || dns_servers || '|' || nat_enabled FROM networks")" \
	"Old VPN|gateway|10.66.0.0/24|51830|$SRV_PUB|1.1.1.1|1" "network row: subnet normalised, key derived from the file"
like "$(sqlite3 "$DB" "SELECT private_key FROM networks")" '^sb1:' "server key sealed"
is "$(sqlite3 "$DB" "SELECT group_concat(name || '|' || role || '|' || private_key || '|' || allowed_ips || '|' || endpoint || '|' || persistent_keepalive, ';') FROM peers")" \
	"Imported Peer 1|client||10.66.0.2/32||0;Imported Peer 2|client||10.66.0.3/32,192.168.9.0/24|198.51.100.1:51820|25" \
	"peers: names, no private keys, AllowedIPs, endpoint, keepalive"
is "$(sqlite3 "$DB" "SELECT preshared_key = '' FROM peers ORDER BY id")" $'1\n0' "PSK stored only where given"
like "$(sqlite3 "$DB" "SELECT preshared_key FROM peers WHERE id = 2")" '^sb1:' "PSK sealed"
is "$(sqlite3 "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'network.imported' AND resource = 'network:1'")" 1 \
	"audit network.imported"
is "$(wg_peers wg0)" "$(printf '%s\n%s\n' "$P1_PUB" "$P2_PUB" | sort)" "wg0 runs with both imported peers"
ok "wg0 listens on 51830 with the imported key" test "$(nsenter --target "$(cat "$state/run/reconciler.pid")" --mount --net wg show wg0 public-key)" = "$SRV_PUB"

bad POST /api/setup/import "$(json_body "$(conf 10.66.0.129/25 51840 "$(wg genkey)")")" 409 SUBNET_CONFLICT "import into a used subnet"
bad POST /api/setup/import "$(json_body "$(conf 10.67.0.1/24 51830 "$(wg genkey)")")" 409 PORT_IN_USE "import on a used port"

api POST /api/setup/step/2 "{\"public_ip\":\"$SERVER_IP\"}"
is "$API_STATUS" 200 "wizard step 2"
bad POST /api/setup/step/3 '{"name":"x","subnet":"10.99.0.0/24","listen_port":51899}' 409 SETUP_ALREADY_COMPLETE \
	"step 3 is done by the import"
api POST /api/setup/step/4 '{"name":"laptop","tunnel_type":"split"}'
is "$API_STATUS" 201 "wizard step 4 adds a peer to the imported network"
is "$(json_get "$API_BODY" '$.peer.allowed_ips')" 10.66.0.4/32 "  ... after the imported addresses"
bad POST /api/setup/import "$(json_body "$(conf 10.68.0.1/24 51850 "$(wg genkey)")")" 409 SETUP_ALREADY_COMPLETE \
	"no import once setup is complete"
bad_get /api/networks/1/peers/1/config 409 PEER_CONFIG_UNAVAILABLE "config of an imported peer"
bad_get /api/networks/1/peers/2/qr 409 PEER_CONFIG_UNAVAILABLE "QR of an imported peer"

# A client with imported peer 1's key: the file was the truth about it.
client=$dir/client.conf
(umask 077 && printf '[Interface]\nPrivateKey = %s\nAddress = 10.66.0.2/32\n\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.66.0.0/24\nEndpoint = %s:51830\nPersistentKeepalive = 5\n' \
	"$P1_PRIV" "$SRV_PUB" "$SERVER_IP" >"$client")
ok "client with an imported key comes up" wg_client_up "$cns" opsc0 "$client" 10.66.0.0/24
ok "ping through the imported tunnel" wait_until 15 ip netns exec "$cns" ping -c 1 -W 1 10.66.0.1

# ---- /health, /metrics, system info ------------------------------------------

api POST /api/networks '{"name":"Spare","subnet":"10.67.0.0/24","listen_port":51831}'
is "$API_STATUS" 201 "second network (wg1)"
api POST /api/networks/2/disable
is "$API_STATUS" 200 "  ... disabled"

api GET /health
is "$API_STATUS" 200 "GET /health: 200"
is "$(json_get "$API_BODY" '$.status')" healthy "healthy: the enabled network is up"
is "$(json_get "$API_BODY" '$.networks')" '{"total":2,"healthy":1,"degraded":0}' "disabled networks count in total only"

# check_metrics: every line is HELP, TYPE or a sample of a declared metric.
check_metrics() {
	local line name badn=0 seen=" " typed=" " helped=" "
	local re_help='^# HELP ([a-z_]+) .+$' re_type='^# TYPE ([a-z_]+) (gauge|counter)$'
	local re_sample='^([a-z_]+)\{([a-z_]+="([^"\\]|\\.)*")(,[a-z_]+="([^"\\]|\\.)*")*\} [0-9]+$'
	while IFS= read -r line; do
		if [ -z "$line" ]; then
			continue        # empty lines are allowed (and the last one is ours)
		elif [[ $line =~ $re_help ]]; then
			helped+="${BASH_REMATCH[1]} "
		elif [[ $line =~ $re_type ]]; then
			name=${BASH_REMATCH[1]}
			[[ $helped == *" $name "* ]] || { diag "TYPE before HELP: $line"; badn=$((badn + 1)); }
			typed+="$name "
		elif [[ $line =~ $re_sample ]]; then
			name=${BASH_REMATCH[1]}
			[[ $typed == *" $name "* ]] || { diag "sample before its TYPE: $line"; badn=$((badn + 1)); }
			seen+="$name "
		else
			diag "unparsable line: '$line'"
			badn=$((badn + 1))
		fi
	done <<<"$1"
	for name in wg_peers_total wg_peers_online wg_transfer_bytes_total wg_peer_last_handshake_seconds \
		wg_interface_up wg_webui_http_requests_total; do
		[[ $typed == *" $name "* ]] || { diag "no # TYPE for $name"; badn=$((badn + 1)); }
	done
	[ $badn -eq 0 ]
}
metric() { printf '%s\n' "$API_BODY" | awk -v k="$1 " 'index($0, k) == 1 { print $NF }'; }

api GET /metrics
ok "every /metrics line parses" check_metrics "$API_BODY"
is "$(metric 'wg_interface_up{network="wg0"}')" 1 "wg_interface_up wg0 = 1"
is "$(metric 'wg_interface_up{network="wg1"}')" 0 "wg_interface_up wg1 = 0 (disabled)"
is "$(printf '%s\n' "$API_BODY" | grep -c 'network="wg1"')" 1 "  ... and no other series for wg1"
is "$(metric 'wg_peers_total{network="wg0"}')" 3 "wg_peers_total counts the DB's peers"
is "$(metric 'wg_peers_online{network="wg0"}')" 1 "wg_peers_online: the client"
like "$(metric 'wg_peer_last_handshake_seconds{network="wg0",peer="Imported Peer 1"}')" '^[0-9]+$' \
	"handshake age of the client, labelled with the peer's name"
is "$(printf '%s\n' "$API_BODY" | grep -c '^wg_peer_last_handshake_seconds')" 1 "peers without handshake are omitted"
like "$(metric 'wg_transfer_bytes_total{network="wg0",direction="rx"}')" '^[1-9][0-9]*$' "rx bytes counted"
like "$(metric 'wg_transfer_bytes_total{network="wg0",direction="tx"}')" '^[1-9][0-9]*$' "tx bytes counted"
like "$(metric 'wg_webui_http_requests_total{method="POST",status="201"}')" '^[1-9][0-9]*$' \
	"request counter shared by the workers"

# An enabled network that cannot come up (a key no master key opens; the
# reconciler heals a link merely set down at once) is degraded.
sqlite3 "$DB" "INSERT INTO networks (name, interface, mode, subnet, listen_port, private_key, public_key)
	VALUES ('Broken', 'wg9', 'gateway', '10.90.0.0/24', 51899, 'sb1:AAAA', 'x')"
api GET /health
is "$(json_get "$API_BODY" '$.status')/$(json_get "$API_BODY" '$.networks')" \
	'degraded/{"total":3,"healthy":1,"degraded":1}' "enabled but down: degraded"
api GET /metrics
ok "every /metrics line parses" check_metrics "$API_BODY"
is "$(printf '%s\n' "$API_BODY" | grep -c 'network="wg9"')" 1 "wg9 down: only wg_interface_up is there"
is "$(metric 'wg_interface_up{network="wg9"}')" 0 "  ... and it is 0"
sqlite3 "$DB" "DELETE FROM networks WHERE interface = 'wg9'"

api GET /api/system/info
is "$API_STATUS" 200 "GET /api/system/info: 200"
is "$(json_get "$API_BODY" '$.arch')" "$(uname -m)" "arch"
is "$(json_get "$API_BODY" '$.kernel')" "$(uname -r)" "kernel"
is "$(json_get "$API_BODY" '$.os')" "$(. /etc/os-release && echo "$PRETTY_NAME")" "os from /etc/os-release"
is "$(json_get "$API_BODY" '$.backend')" userspace "backend from the reconciler"
like "$(json_get "$API_BODY" '$.uptime_sec')" '^[0-9]+$' "uptime_sec"
like "$(json_get "$API_BODY" '$.memory.rss_mb')" '^[1-9][0-9]*$' "memory.rss_mb"
is "$(json_get "$API_BODY" '$.version')" "$VERSION" "same version as /health"

# ---- ports and routes (roadmap feat-007, feat-009) ---------------------------------

api GET /api/system/ports
api_status 200 "GET /api/system/ports: 200"
is "$(json_get "$API_BODY" '$.wireguard_ports')" "$(sqlite3 "$DB" "SELECT json_group_array(json_object('port',
	listen_port, 'interface', interface, 'managed', json('true'))) FROM (SELECT * FROM networks ORDER BY id)")" \
	"every network's UDP port"
is "$(json_get "$API_BODY" '$.conflicting_ports')" '[]' "no conflict while the networks hold their own ports"
is "$(json_get "$API_BODY" '$.https_port')" '{"port":8443,"pid":null,"process":null}' \
	"the HTTPS port of server.listen (pid/process not visible to the API)"
# A disabled network whose port another program holds.
ip netns exec "$ns" python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 51898)); time.sleep(60)' &
holder=$!
on_exit kill "$holder"
sqlite3 "$DB" "INSERT INTO networks (name, interface, mode, subnet, listen_port, private_key, public_key, enabled)
	VALUES ('Parked', 'wg8', 'gateway', '10.89.0.0/24', 51898, 'sb1:AAAA', 'x', 0)"
wait_until 5 sh -c "ip netns exec '$ns' ss -Hlun 'sport = :51898' | grep -q ." || true
api GET /api/system/ports
is "$(json_get "$API_BODY" '$.conflicting_ports')" '[{"port":51898,"interface":"wg8","protocol":"udp"}]' \
	"a port another program holds is a conflict"
kill "$holder" 2>/dev/null || true
sqlite3 "$DB" "DELETE FROM networks WHERE interface = 'wg8'"

api GET /api/system/routes
api_status 200 "GET /api/system/routes: 200"
is "$(sqlite3 :memory: "SELECT json_extract(value, '\$.destination') || ' ' || json_extract(value, '\$.table_name')
	|| ' ' || json_extract(value, '\$.managed') FROM json_each(json_extract($(sql_quote "$API_BODY"), '\$.routes'))
	WHERE json_extract(value, '\$.destination') = '10.66.0.0/24'")" "10.66.0.0/24 main 1" \
	"wg0's subnet route, main table, managed"
api GET '/api/system/routes?interface=wg0&table=main'
like "$API_BODY" '"interface":"wg0"' "filtered by interface and table name"
api GET '/api/system/routes?table=local'
is "$API_BODY" '{"routes":[]}' "local table: none (host routes are left out)"
api GET '/api/system/routes?interface=nope0'
is "$API_BODY" '{"routes":[]}' "an interface that is not ours: none"
bad_get '/api/system/routes?interface=a/b&table=x&all=true' 400 VALIDATION_ERROR "bad interface, table and all"
is "$(api_error_fields)" "interface,table,all" "  ... every field named"
bad_get '/api/system/routes?color=red' 400 VALIDATION_ERROR "unknown parameter refused"

# ---- stats (api.md §8) ----------------------------------------------------------

now=$(date +%s)
h0=$((now / 3600 * 3600 - 7200))       # start of an hour two hours ago
sqlite3 "$DB" "INSERT INTO peer_snapshots VALUES
	(1, $((now - 3 * 86400)), 1, 1, 0),
	(1, $h0, 100, 10, 1), (2, $h0, 1000, 100, 1),
	(1, $((h0 + 30)), 150, 15, 1), (2, $((h0 + 30)), 1100, 110, 1),
	(1, $((h0 + 3600)), 300, 30, 1),
	(3, $((h0 + 3630)), 5, 5, 1)"
api GET /api/networks/1/stats
is "$API_STATUS" 200 "GET stats: 200"
is "$API_BODY" "[{\"timestamp\":$h0,\"transfer_rx\":1100,\"transfer_tx\":110},{\"timestamp\":$((h0 + 30)),\"transfer_rx\":1250,\"transfer_tx\":125},{\"timestamp\":$((h0 + 3600)),\"transfer_rx\":300,\"transfer_tx\":30},{\"timestamp\":$((h0 + 3630)),\"transfer_rx\":5,\"transfer_tx\":5}]" \
	"default: last 24 h, summed per timestamp, ascending"
api GET "/api/networks/1/stats?peer_id=1&granularity=hour"
is "$API_BODY" "[{\"timestamp\":$h0,\"transfer_rx\":150,\"transfer_tx\":15},{\"timestamp\":$((h0 + 3600)),\"transfer_rx\":300,\"transfer_tx\":30}]" \
	"peer filter, hourly: the latest sample of each hour"
api GET "/api/networks/1/stats?granularity=hour"
is "$(json_get "$API_BODY" '$[0].transfer_rx')/$(json_get "$API_BODY" '$[1].transfer_rx')" 1250/305 "hourly sums peers"
api GET "/api/networks/1/stats?from=$((now - 4 * 86400))&to=$((h0 - 1))"
is "$API_BODY" "[{\"timestamp\":$((now - 3 * 86400)),\"transfer_rx\":1,\"transfer_tx\":1}]" "explicit range"
api GET "/api/networks/1/stats?from=$((now - 4 * 86400))&granularity=day"
like "$API_BODY" '^\[\{"timestamp":[0-9]+,"transfer_rx":1,' "daily buckets"
api GET "/api/networks/2/stats"
is "$API_STATUS/$API_BODY" "200/[]" "network without samples: []"
while IFS='|' read -r desc query fields; do
	bad_get "/api/networks/1/stats?$query" 400 VALIDATION_ERROR "stats: $desc"
	is "$(api_error_fields)" "$fields" "  ... blames $fields"
done <<EOF
from not a number|from=yesterday|from
negative to|to=-5|to
from after to|from=200&to=100|from
peer_id zero|peer_id=0|peer_id
peer_id not a number|peer_id=1x|peer_id
unknown granularity|granularity=week|granularity
parameter given twice|from=1&from=2|from
everything at once|from=x&to=y&peer_id=-1&granularity=minute|from,to,peer_id,granularity
EOF
bad_get "/api/networks/1/stats?peer_id=99" 404 PEER_NOT_FOUND "stats of an unknown peer"
bad_get "/api/networks/2/stats?peer_id=1" 404 PEER_NOT_FOUND "stats of another network's peer"
bad_get "/api/networks/99/stats" 404 NETWORK_NOT_FOUND "stats of an unknown network"
bad_get "/api/networks/x/stats" 400 VALIDATION_ERROR "stats with a bad id"

# ---- events (SSE) -----------------------------------------------------------------

bad_get /api/networks/99/events 404 NETWORK_NOT_FOUND "events of an unknown network: 404 before streaming"
bad_get /api/networks/0x1/events 400 VALIDATION_ERROR "events with a bad id"
: >"$dir/nojar"
out=$(ip netns exec "$ns" curl -sk --max-time 5 -b "$dir/nojar" "$URL/api/networks/1/events" 2>/dev/null || true)
like "$out" '"code":"UNAUTHORIZED"' "events need a session"

ip netns exec "$ns" curl -skN --http1.1 --max-time 3 -b "$API_JAR" -D "$dir/sse.hdr" -o /dev/null \
	"$URL/api/networks/1/events" 2>/dev/null || true
hdrs=$(tr -d '\r' <"$dir/sse.hdr")
like "$hdrs" $'^HTTP/1.1 200' "events: 200"
like "$hdrs" $'\nContent-Type: text/event-stream' "Content-Type: text/event-stream"
like "$hdrs" $'\nCache-Control: no-cache' "Cache-Control: no-cache"
like "$hdrs" $'\nConnection: keep-alive' "Connection: keep-alive"
like "$hdrs" $'\nX-Request-ID: req_[0-9a-f]{12}' "X-Request-ID"

sse_pid=$(cat "$state/run/sse.pid")
threads_before=$(ls "/proc/$sse_pid/task" | wc -l)
ended() { grep -c '"path":"/api/networks/1/events"' "$state/logs/sse.log" || true; }
ended_before=$(ended)

# latency FILE: 200 sequential GET /api/networks on one connection; "p50 p99"
# in ms into FILE, fails unless all 200 answered 200.
latency() {
	local args=() i
	for ((i = 0; i < 200; i++)); do
		args+=(-o /dev/null "$URL/api/networks")
	done
	ip netns exec "$ns" curl -sk --max-time 60 -b "$API_JAR" -w '%{http_code} %{time_total}\n' "${args[@]}" \
		>"$1.raw" 2>/dev/null || true
	[ "$(grep -c '^200 ' "$1.raw")" -eq 200 ] || return 1
	awk '{ print $2 * 1000 }' "$1.raw" | sort -n | awk '{ v[NR] = $1 } END {
		printf "%.1f %.1f\n", v[int(NR * 0.5)], v[int(NR * 0.99)] }' >"$1"
}
ok "200 requests without streams" latency "$dir/lat0"
read -r p50_0 p99_0 <"$dir/lat0" || true
diag "GET /api/networks without streams: p50 ${p50_0:-?} ms, p99 ${p99_0:-?} ms"

# streams_stop: end every stream client and reap it (no stale pids left).
stream_pids=()
streams_stop() {
	local p
	for p in ${stream_pids[@]+"${stream_pids[@]}"}; do
		kill "$p" 2>/dev/null || true
	done
	for p in ${stream_pids[@]+"${stream_pids[@]}"}; do
		wait "$p" 2>/dev/null || true
	done
	stream_pids=()
}
on_exit streams_stop

# streams_open NAME N SECONDS: N event streams of network 1 (each for SECONDS
# at most) into $dir/NAME.1 .. NAME.N.
streams_open() {
	local i
	for i in $(seq 1 "$2"); do
		ip netns exec "$ns" curl -skN --max-time "$3" -b "$API_JAR" "$URL/api/networks/1/events" \
			>"$dir/$1.$i" 2>/dev/null &
		stream_pids+=($!)
	done
}

# all_streaming NAME: every stream of streams_open NAME got its first event.
all_streaming() {
	local f
	for f in "$dir/$1".*; do
		grep -q '^event: status$' "$f" || return 1
	done
}

# 50 streams, plus one whose lines are time-stamped.
streams_open stream 50 90
t0=$EPOCHREALTIME
(ip netns exec "$ns" curl -skN --max-time 18 -b "$API_JAR" "$URL/api/networks/1/events" 2>/dev/null |
	while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$dir/timed") &
timed_pid=$!
ok "50 concurrent streams all receive their first event" wait_until 20 all_streaming stream
ok "200 requests with 50 open streams" latency "$dir/lat1"
read -r p50_1 p99_1 <"$dir/lat1" || true
diag "GET /api/networks with 50 streams: p50 ${p50_1:-?} ms, p99 ${p99_1:-?} ms"
ok "p99 stays under 500 ms with 50 streams" awk -v p="${p99_1:-99999}" 'BEGIN { exit !(p < 500) }'
is "$(ls "/proc/$sse_pid/task" | wc -l)" "$threads_before" "the streams run on the SSE process's fixed threads"

wait "$timed_pid" || true
first=$(awk -v t0="$t0" '$2 == "event:" { printf "%.1f", $1 - t0; exit }' "$dir/timed")
ok "first event at once (after ${first:-?} s)" awk -v f="${first:-99}" 'BEGIN { exit !(f < 2.5) }'
gaps=$(awk '$2 == "event:" { if (p) printf "%.1f ", $1 - p; p = $1 }' "$dir/timed")
ok "then every 5 s (gaps: $gaps)" awk -v g="$gaps" 'BEGIN { n = split(g, a, " "); if (n < 2) exit 1
	for (i = 1; i <= n; i++) if (a[i] < 4 || a[i] > 6.5) exit 1 }'
ok "a keepalive comment within 15 s" grep -q ' : keepalive$' "$dir/timed"
data=$(sed -n 's/^data: //p' "$dir/stream.1" | tail -n 1)
like "$data" '^\[\{"peer_id":1,"online":true,"last_handshake":[1-9][0-9]*,"transfer_rx":[1-9][0-9]*,"transfer_tx":[1-9][0-9]*,"public_key":"'"${P1_PUB//+/\\+}"'"\},\{"peer_id":2,"online":false,"last_handshake":0,' \
	"event data: peers in DB order with live state"
is "$(json_len "$(sed -n 's/^data: //p' "$dir/stream.1" | head -n 1)" '$')" 3 "every peer of the network is in the event"

# Clients go away: every stream ends (its access log line) and its thread
# serves again.
streams_stop
stream_done() { [ "$(ended)" -ge $((ended_before + 51)) ]; }
ok "every stream ends when its client disconnects" wait_until 15 stream_done
streams_open again 64 20
ok "all 64 threads serve again (none leaked)" wait_until 20 all_streaming again
streams_stop
is "$(ls "/proc/$sse_pid/task" | wc -l)" "$threads_before" "thread count unchanged"

# ---- backup and restore (api.md §12) ----------------------------------------------

jar2=$dir/jar2
: >"$jar2"
out=$(ip netns exec "$ns" curl -sk -X POST -b "$jar2" -w '%{http_code}' -o /dev/null "$URL/api/system/backup" 2>/dev/null || true)
is "$out" 401 "backup needs a session"
api POST /api/api-keys '{"name":"ro","role":"viewer"}'
viewer_key=$(json_get "$API_BODY" '$.key' || true)
if [ -n "$viewer_key" ]; then
	API_CURL_ARGS=(-H "Authorization: Bearer $viewer_key")
	bad POST /api/system/backup '' 403 FORBIDDEN "viewers may not back up"
	api GET /api/system/info
	is "$API_STATUS" 200 "  ... but may read system info"
	API_CURL_ARGS=()
	out=$(ip netns exec "$ns" curl -sk -X POST -H "Authorization: Bearer $viewer_key" \
		-H 'Content-Type: application/octet-stream' --data-binary 'x' -w '%{http_code}' -o /dev/null \
		"$URL/api/system/restore" 2>/dev/null || true)
	is "$out" 403 "viewers may not restore"
else
	skip 4 "no viewer API key (POST /api/api-keys: $API_STATUS)"
fi

backup=$dir/backup.db
code=$(ip netns exec "$ns" curl -sk -X POST -b "$API_JAR" -D "$dir/bk.hdr" -o "$backup" -w '%{http_code}' \
	"$URL/api/system/backup" 2>/dev/null || true)
is "$code" 200 "backup: 200"
like "$(tr -d '\r' <"$dir/bk.hdr")" $'\n[Cc]ontent-[Tt]ype: application/octet-stream' "backup content type"
like "$(tr -d '\r' <"$dir/bk.hdr")" $'\n[Cc]ontent-[Dd]isposition: attachment; filename="wgpilot-backup-[0-9]{8}-[0-9]{6}\\.db"' \
	"backup file name"
is "$(sqlite3 "$backup" 'PRAGMA integrity_check')" ok "the backup is a sound SQLite file"
is "$(sqlite3 "$backup" 'SELECT COUNT(*) FROM networks')/$(sqlite3 "$backup" 'SELECT COUNT(*) FROM peers')" 2/3 \
	"  ... with every network and peer"
is "$(sqlite3 "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'backup.created' AND resource = 'system'")" 1 \
	"audit backup.created"
ok "no temp file left in the data dir" test -z "$(find "$state/data" -name '.backup-*')"
peers_at_backup=$(wg_peers wg0)

# Changes after the backup: a peer added, an imported one deleted, a network.
api POST /api/networks/1/peers '{"name":"after-backup"}'
is "$API_STATUS" 201 "change: peer added"
api DELETE /api/networks/1/peers/2
is "$API_STATUS" 204 "change: imported peer 2 deleted"
api POST /api/networks '{"name":"Later","subnet":"10.68.0.0/24","listen_port":51832}'
is "$API_STATUS/$(json_get "$API_BODY" '$.interface')" 201/wg2 "change: network wg2 added"
ok "wg2 exists" ip -n "$ns" link show wg2
changed_peers=$(wg_peers wg0)
ok "wg0 reflects the changes" test "$changed_peers" != "$peers_at_backup"

# Bad uploads: each refused, nothing changes.
head -c 8192 /dev/urandom >"$dir/garbage.db"
head -c 20480 "$backup" >"$dir/truncated.db"
cp "$backup" "$dir/newer.db"
sqlite3 "$dir/newer.db" "INSERT INTO _migrations (filename) VALUES ('999_from_the_future.sql')"
sqlite3 "$dir/foreign.db" "CREATE TABLE t (x); INSERT INTO t VALUES (1);"
cp "$backup" "$dir/otherkey.db"
sqlite3 "$dir/otherkey.db" "UPDATE networks SET private_key = 'sb1:$(head -c 72 /dev/urandom | base64 -w0)' WHERE id = 1"
: >"$dir/empty.db"
restore_bad "$dir/garbage.db" "random bytes"
like "$(messages_of)" "not an SQLite database" "  ... not an SQLite database"
restore_bad "$dir/truncated.db" "a truncated backup"
like "$(messages_of)" "SQLite database|integrity" "  ... found broken"
restore_bad "$dir/newer.db" "a backup of a newer program"
like "$(messages_of)" "newer wgpilot" "  ... says so"
restore_bad "$dir/foreign.db" "an SQLite file that is not wgpilot's"
like "$(messages_of)" "no _migrations table" "  ... says so"
restore_bad "$dir/otherkey.db" "a backup with keys of another master key"
like "$(messages_of)" "master key" "  ... names the master key"
restore_bad "$dir/empty.db" "an empty body"
restore_bad "$backup" "a JSON content type" 400 application/json
head -c $((65 * 1024 * 1024)) /dev/zero >"$dir/huge.db"
restore_bad "$dir/huge.db" "a body over 64 MiB" 413
rm -f "$dir/huge.db"
upload "$backup" application/octet-stream "$jar2"
is "$API_STATUS" 401 "restore needs a session"
ok "no temp file left after refusals" test -z "$(find "$state/data" -name '.restore-*')"

# The good one.
upload "$backup"
is "$API_STATUS" 200 "restore: 200"
is "$(json_get "$API_BODY" '$.status')/$(json_get "$API_BODY" '$.networks')/$(json_get "$API_BODY" '$.peers')/$(json_get "$API_BODY" '$.reconciled')" \
	restored/2/3/true "restore result"
is "$(sqlite3 "$DB" "SELECT group_concat(name, ',') FROM peers")" "Imported Peer 1,Imported Peer 2,laptop" \
	"the added peer is gone, the deleted one back"
consistent=1
for i in $(seq 1 10); do
	api GET /api/networks
	[ "$(json_len "$API_BODY" '$')" = 2 ] || consistent=0
done
is "$consistent" 1 "every worker serves the restored DB (10 requests)"
is "$(wg_peers wg0)" "$peers_at_backup" "wg0 has the peers of the backup again"
ok "wg2 (not in the backup) is torn down" wait_until 5 bash -c "! ip -n '$ns' link show wg2 2>/dev/null"
is "$(sqlite3 "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'backup.restored' AND resource = 'system'")" 1 \
	"audit backup.restored (in the restored DB)"
ok "the client tunnel still works" wait_until 15 ip netns exec "$cns" ping -c 1 -W 1 10.66.0.1

# A backup of an older schema (before 004) with a legacy plaintext PSK is
# migrated and sealed on the way in.
cp "$backup" "$dir/older.db"
sqlite3 "$dir/older.db" "DELETE FROM _migrations WHERE filename = '004_c_runtime.sql';
	DROP TABLE log_entries; DROP TABLE alert_state; DROP TABLE login_attempts;
	ALTER TABLE peers DROP COLUMN split_cidrs; ALTER TABLE peers DROP COLUMN tunnel_type;
	UPDATE peers SET preshared_key = '$PSK' WHERE id = 2;"
upload "$dir/older.db"
is "$API_STATUS/$(json_get "$API_BODY" '$.migrations_applied')" 200/1 "restore of an older schema migrates it"
is "$(sqlite3 "$DB" "SELECT COUNT(*) FROM _migrations")" "$(find "$top_srcdir/db" -name '[0-9]*.sql' | wc -l)" \
	"  ... every migration recorded"
like "$(sqlite3 "$DB" "SELECT preshared_key FROM peers WHERE id = 2")" '^sb1:' "  ... the plaintext PSK sealed"
is "$(sqlite3 "$DB" "SELECT tunnel_type FROM peers WHERE id = 3")" full "  ... new columns take their defaults"
api GET /api/networks/1/peers
is "$API_STATUS/$(json_get "$API_BODY" '$[2].name')" 200/laptop "the API serves the migrated DB"

# ---- DB failure: /health says 503 ----------------------------------------------------

sqlite3 "$DB" "ALTER TABLE networks RENAME TO networks_away"
api GET /health
is "$API_STATUS/$(json_get "$API_BODY" '$.database')/$(json_get "$API_BODY" '$.status')" 503/error/unhealthy \
	"unreadable DB: 503, database error"
sqlite3 "$DB" "ALTER TABLE networks_away RENAME TO networks"
api GET /health
is "$API_STATUS" 200 "  ... 200 again once it is back"

# ---- debug (dev mode only) ---------------------------------------------------------------

bad_get /api/debug/info 404 NOT_FOUND "debug info outside dev mode: 404"
bad_get /api/debug/logs 404 NOT_FOUND "debug logs outside dev mode: 404"
stack_down "$ns" "$state" >/dev/null 2>&1
if ! WGPILOT_SERVER_DEV_MODE=true stack_up "$ns" "$state"; then
	fail "stack restarts in dev mode"
	done_testing
fi
api POST /api/auth/login '{"username":"admin","password":"correct-horse-1"}'
is "$API_STATUS" 200 "dev mode: logged in again"
api GET /api/nope
api GET /api/debug/info
is "$API_STATUS" 200 "GET /api/debug/info in dev mode: 200"
is "$(json_get "$API_BODY" '$.config.server.dev_mode')" true "config section"
is "$(json_get "$API_BODY" '$.arch')" "$(uname -m)" "arch"
like "$(json_get "$API_BODY" '$.uptime_seconds')" '^[0-9]+$' "uptime_seconds"
is "$(json_get "$API_BODY" '$.wireguard.interfaces[0].name')/$(json_get "$API_BODY" '$.wireguard.interfaces[0].listen_port')/$(json_get "$API_BODY" '$.wireguard.interfaces[0].enabled')/$(json_get "$API_BODY" '$.wireguard.interfaces[0].state')/$(json_get "$API_BODY" '$.wireguard.interfaces[0].peer_count')" \
	wg0/51830/true/up/3 "wireguard.interfaces: name, port, enabled, state, peer_count"
like "$(json_get "$API_BODY" '$.wireguard.interfaces[0].peers_online')" '^[01]$' "  ... and peers_online"
is "$(json_get "$API_BODY" '$.wireguard.interfaces[1].state')" disabled "disabled network state"
is "$(json_get "$API_BODY" '$.database.tables.peers')" 3 "database.tables row counts"
no_secret() { ! grep -qF -e 'sb1:' -e "$SRV_PRIV" <<<"$API_BODY"; }
ok "no secret in debug info" no_secret
api GET "/api/debug/logs?level=warn&limit=5"
is "$API_STATUS" 200 "GET /api/debug/logs: 200"
is "$(json_get "$API_BODY" '$.count')" "$(json_len "$API_BODY" '$.entries')" "count = entries"
ok "at most 5 entries" test "$(json_get "$API_BODY" '$.count')" -le 5
like "$API_BODY" '"message":"http_request"[^}]*"path":"/api/nope"' "the 404 just made is kept with its attributes"
api GET "/api/debug/logs?level=error"
like "$(json_get "$API_BODY" '$.entries[0].level')" '^ERROR$' "level=error: ERROR entries (the DB failure)"
only_errors() { ! grep -q '"level":"WARN"' <<<"$API_BODY"; }
ok "  ... and nothing else" only_errors
while IFS='|' read -r query fields; do
	bad_get "/api/debug/logs?$query" 400 VALIDATION_ERROR "debug logs: $query"
	is "$(api_error_fields)" "$fields" "  ... blames $fields"
done <<EOF
level=info|level
limit=0|limit
limit=501|limit
limit=ten|limit
level=debug&limit=-1|level,limit
EOF

# ---- the reconciler down ------------------------------------------------------------------------

rec_pid=$(cat "$state/run/reconciler.pid")
kill "$rec_pid"
gone() { ! kill -0 "$rec_pid" 2>/dev/null; }
ok "reconciler stopped" wait_until 10 gone
api GET /health
is "$API_STATUS/$(json_get "$API_BODY" '$.status')/$(json_get "$API_BODY" '$.uptime')" 200/degraded/0m \
	"reconciler down: degraded"
api GET /api/system/info
is "$(json_get "$API_BODY" '$.backend')" unavailable "system info: backend unavailable"

done_testing
