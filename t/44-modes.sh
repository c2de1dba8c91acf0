#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Each network mode proves its traffic rule with real tunnels (networking.md
# §1, §6): the whole stack in a server namespace, clients in namespaces of
# their own, configs downloaded from the API.
#
#   NET 10.232.9.2 ==veth== SRV ==veth== C1 (gateway client, hub client A)
#                           SRV ==veth== C2 (hub client B, site gateway) ==veth== LAN 192.168.60.2
#                           SRV ==veth== C3 (client of a third network, for bridges)
#
# gateway:      C1 reaches NET through the server only thanks to masquerade
# hub-routed:   client A pings client B through the server
# site-to-site: a client reaches the LAN behind the site gateway
# bridges:      none -> networks isolated; a_to_b -> A may open, B may not;
#               bidirectional -> both
set -euo pipefail
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd -P)}/t/lib.sh"
need_root
need_cmd ip wireguard-go wg nsenter unshare nginx curl sqlite3 ping nft

SRV=wgp-msrv-$$ C1=wgp-mc1-$$ C2=wgp-mc2-$$ C3=wgp-mc3-$$ NET=wgp-mnet-$$ LAN=wgp-mlan-$$
for n in "$SRV" "$C1" "$C2" "$C3" "$NET" "$LAN"; do mk_netns "$n"; done
mk_veth "$SRV" v-c1 10.232.1.1/24 "$C1" v-srv 10.232.1.2/24
mk_veth "$SRV" v-c2 10.232.2.1/24 "$C2" v-srv 10.232.2.2/24
mk_veth "$SRV" v-c3 10.232.3.1/24 "$C3" v-srv 10.232.3.2/24
mk_veth "$SRV" v-net 10.232.9.1/24 "$NET" v-srv 10.232.9.2/24
mk_veth "$C2" v-lan 192.168.60.1/24 "$LAN" v-c2 192.168.60.2/24
# The installer's sysctl (networking.md §6); the site gateway routes its LAN.
ip netns exec "$SRV" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$C2" sysctl -qw net.ipv4.ip_forward=1
ip -n "$LAN" route add 10.73.0.0/24 via 192.168.60.1

mk_tmpdir
STATE=$WGP_TMP/state
if ! stack_up "$SRV" "$STATE"; then
	fail "stack starts"
	stack_logs "$STATE"
	done_testing
fi

api POST /api/setup/step/1 "{\"otp\":\"$STACK_TOKEN\",\"username\":\"admin\",\"password\":\"correct-horse-1\"}"
api POST /api/setup/step/2 '{"public_ip":"10.232.1.1","dns_servers":"1.1.1.1"}'
api POST /api/setup/step/3 '{"name":"Gateway","mode":"gateway","subnet":"10.70.0.0/24","listen_port":51820}'
api POST /api/setup/step/4 '{"name":"c1-gateway","role":"client","tunnel_type":"full"}'
is "$API_STATUS" 201 "wizard: gateway network with its first peer"

# new_network NAME MODE SUBNET PORT -> id
new_network() {
	api POST /api/networks "{\"name\":\"$1\",\"mode\":\"$2\",\"subnet\":\"$3\",\"listen_port\":$4}"
	json_get "$API_BODY" '$.id'
}
# new_peer NET BODY -> id
new_peer() {
	api POST "/api/networks/$1/peers" "$2"
	json_get "$API_BODY" '$.id'
}
# client NS IFACE NET PEER ENDPOINT ROUTE: the peer's .conf, pointed at the
# server address the client namespace reaches, brought up like wg-quick.
client() {
	local conf=$WGP_TMP/$2.conf
	api GET "/api/networks/$3/peers/$4/config"
	[ "$API_STATUS" = 200 ] || { diag "config of peer $4: $API_STATUS $API_BODY"; return 1; }
	printf '%s\n' "$API_BODY" | sed "s/^Endpoint = .*:/Endpoint = $5:/" >"$conf"
	wg_client_up "$1" "$2" "$conf" "$6"
	CLIENT_PID=$WG_PID
}
pings() { ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }
reaches() { wait_until "${3:-15}" pings "$1" "$2"; }
blocked() { ! reaches "$1" "$2" 3; }

hub=$(new_network Hub hub-routed 10.71.0.0/24 51821)
third=$(new_network Third gateway 10.72.0.0/24 51822)
s2s=$(new_network Sites site-to-site 10.73.0.0/24 51823)
ok "three more networks" test -n "$hub" -a -n "$third" -a -n "$s2s"
# Clients behind NAT keep their tunnel open (the server learns their endpoints).
hub_a=$(new_peer "$hub" '{"name":"hub-a","persistent_keepalive":25}')
hub_b=$(new_peer "$hub" '{"name":"hub-b","persistent_keepalive":25}')
third_p=$(new_peer "$third" '{"name":"third","persistent_keepalive":25}')
site_gw=$(new_peer "$s2s" '{"name":"site-gw","role":"site-gateway","site_networks":"192.168.60.0/24","persistent_keepalive":25}')
site_cl=$(new_peer "$s2s" '{"name":"site-client","persistent_keepalive":25}')

# --- gateway: masquerade to the "internet" ------------------------------------------------
client "$C1" wgc1 1 1 10.232.1.1 10.232.9.0/24
ok "gateway: NET has no route back to the tunnel subnet" bash -c "! ip -n $NET route get 10.70.0.2 >/dev/null 2>&1"
ok "gateway: the client reaches NET through the server (masquerade)" reaches "$C1" 10.232.9.2
api PUT /api/networks/1 '{"nat_enabled":false}'
is "$API_STATUS" 200 "gateway: NAT switched off"
ok "gateway: without masquerade NET's replies cannot come back" blocked "$C1" 10.232.9.2
api PUT /api/networks/1 '{"nat_enabled":true}'
ok "gateway: NAT back on, NET reachable again" reaches "$C1" 10.232.9.2

# --- hub-routed: client to client through the server -------------------------------------
client "$C1" wgca "$hub" "$hub_a" 10.232.1.1 10.71.0.0/24
client "$C2" wgcb "$hub" "$hub_b" 10.232.2.1 10.71.0.0/24
ok "hub: A pings B through the server" reaches "$C1" 10.71.0.3
api PUT "/api/networks/$hub" '{"inter_peer_routing":false}'
ok "hub: without inter-peer routing A cannot reach B" blocked "$C1" 10.71.0.3
api PUT "/api/networks/$hub" '{"inter_peer_routing":true}'
ok "hub: inter-peer routing back on" reaches "$C1" 10.71.0.3

# --- site-to-site: the LAN behind a site gateway --------------------------------------------
client "$C2" wgcs "$s2s" "$site_gw" 10.232.2.1 10.73.0.0/24
like "$(grep AllowedIPs "$WGP_TMP/wgcs.conf")" "10.73.0.0/24" "site gateway routes the network subnet"
client "$C1" wgcl "$s2s" "$site_cl" 10.232.1.1 192.168.60.0/24
like "$(grep AllowedIPs "$WGP_TMP/wgcl.conf")" "10.73.0.0/24, 192.168.60.0/24" \
	"site client: AllowedIPs = subnet + the other site's LAN"
ok "site-to-site: the server routes the LAN to its gateway" bash -c "ip -n $SRV route show dev wg3 | grep -q 192.168.60.0/24"
ok "site-to-site: the client reaches a host on the LAN behind the gateway" reaches "$C1" 192.168.60.2

# --- bridges between networks -------------------------------------------------------------
# C3 is a client of the third network; B (in C2) is a client of the hub.
client "$C3" wgc3 "$third" "$third_p" 10.232.3.1 10.71.0.0/24
b_pid=$(pgrep -f "wireguard-go -f wgcb" | head -n 1)
hub_server_key=$(sed -n 's/^PublicKey = //p' "$WGP_TMP/wgcb.conf")
nsenter --target "$b_pid" --mount --net wg set wgcb peer "$hub_server_key" allowed-ips 10.71.0.0/24,10.72.0.0/24
ip -n "$C2" route add 10.72.0.0/24 dev wgcb
ok "no bridge: the third network cannot reach the hub" blocked "$C3" 10.71.0.3
ok "no bridge: the hub cannot reach the third network" blocked "$C2" 10.72.0.2
api POST /api/bridges "{\"network_a_id\":$third,\"network_b_id\":$hub,\"direction\":\"a_to_b\"}"
is "$API_STATUS" 201 "bridge third -> hub"
bridge=$(json_get "$API_BODY" '$.id')
ok "a_to_b: the third network reaches the hub (and gets the replies)" reaches "$C3" 10.71.0.3
ok "a_to_b: the hub still cannot open connections to the third network" blocked "$C2" 10.72.0.2
api PUT "/api/bridges/$bridge" '{"direction":"bidirectional"}'
ok "bidirectional: the hub reaches the third network" reaches "$C2" 10.72.0.2
ok "bidirectional: and the other way" reaches "$C3" 10.71.0.3
api PUT "/api/bridges/$bridge" '{"direction":"b_to_a"}'
ok "b_to_a: the hub reaches the third network" reaches "$C2" 10.72.0.2
ok "b_to_a: the third network no longer reaches the hub" blocked "$C3" 10.71.0.3
api DELETE "/api/bridges/$bridge"
ok "bridge deleted: isolated again" blocked "$C2" 10.72.0.2
ok "the gateway network is unaffected throughout" reaches "$C1" 10.232.9.2

if [ "$TAP_FAILED" -gt 0 ]; then
	diag "$(ip netns exec "$SRV" nft list table ip wgpilot 2>&1)"
	stack_logs "$STATE"
fi
done_testing
