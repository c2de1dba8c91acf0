#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The reconciler against real wireguard-go devices in a private network and
# mount namespace (networking.md §7 and testing.md §3): missing interface,
# drift in keys, ports, peers and allowed IPs, foreign peers, orphan links,
# disabled networks, links removed or downed behind its back (feat-004), and
# kill -9 at random points of a large apply, converging after a restart.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"

if [ "${1:-}" != --inner ]; then
	need_root
	need_cmd wireguard-go wg sqlite3 unshare
	ns=wgp-rec-$$
	mk_netns "$ns"
	ip netns exec "$ns" unshare --mount --propagation private \
		env top_srcdir="$top_srcdir" top_builddir="$top_builddir" bash "$0" --inner
	exit
fi

mount -t tmpfs -o mode=0755 tmpfs /var/run/wireguard 2>/dev/null \
	|| { mkdir -p /var/run/wireguard && mount -t tmpfs tmpfs /var/run/wireguard; }
mk_tmpdir
dir=$WGP_TMP
WGP=$top_builddir/wgpilot/wgpilot
REC=$top_builddir/reconciler/wgpilot-reconciler
GEN=$top_builddir/bench/gen-peers
DB=$dir/data/wgpilot.db
cfg=$dir/config.yaml
rec_test_setup "$dir" "$DB"
"$GEN" --config "$cfg" --peers 20 --port 51820 --subnet 10.60.0.0/24 "$dir/net1.conf" >/dev/null

rec_pid=
rec_start() {
	"$REC" --config "$cfg" 2>>"$dir/rec.log" &
	rec_pid=$!
	wait_until 30 "$WGP" --config "$cfg" status
}
rec_stop() { [ -z "$rec_pid" ] || { kill "$rec_pid" 2>/dev/null; wait "$rec_pid" 2>/dev/null || true; rec_pid=; }; }
on_exit rec_stop
reconcile() { "$WGP" --config "$cfg" reconcile >/dev/null 2>&1 || true; }
db_keys() { sqlite3 "$DB" "SELECT public_key FROM peers WHERE network_id = $1 AND enabled = 1 ORDER BY public_key"; }
kernel_keys() { wg show "$1" peers 2>/dev/null | sort; }
same_peers() { [ "$(db_keys "$1")" = "$(kernel_keys "$2")" ]; }
db_pub() { sqlite3 "$DB" "SELECT public_key FROM networks WHERE id = $1"; }

# --- DB has it, kernel lacks it ------------------------------------------------------
rec_start
ok "start: the reconciler creates wg0 for the network in the DB" ip link show wg0
ok "start: every enabled peer is in the device" same_peers 1 wg0
is "$(wg show wg0 listen-port)" 51820 "listen port from the DB"
is "$(wg show wg0 public-key)" "$(db_pub 1)" "private key from the DB (public key matches)"
like "$(ip -4 addr show wg0)" "inet 10.60.0.1/24" "server address on the link"
like "$(ip link show wg0)" "UP" "link up"
like "$(grep -c reconcile_missing_interface "$dir/rec.log")" '^[1-9]' "logged reconcile_missing_interface"

nft_table=$(nft list table ip wgpilot 2>&1 || true)
like "$nft_table" "udp dport 51820 accept" "firewall: the network's port is open in table ip wgpilot"
like "$nft_table" "hook input priority filter" "firewall: input base chain"
like "$nft_table" 'iifname [^\n]*"wg0"[^\n]* oifname [^\n]*"wg0"[^\n]* drop' "firewall: managed-to-managed traffic not accepted above is dropped (isolation)"

# --- drift ---------------------------------------------------------------------------------
victim=$(db_keys 1 | head -n 1)
wg set wg0 peer "$victim" remove
reconcile
ok "a peer removed behind our back is added again" same_peers 1 wg0
foreign=$(wg genkey | wg pubkey)
wg set wg0 peer "$foreign" allowed-ips 10.60.0.250/32
reconcile
ok "a peer unknown to the DB is removed" bash -c "! wg show wg0 peers | grep -qF '$foreign'"
want_ips=$(wg show wg0 allowed-ips | grep -F "$victim" | cut -f2)
wg set wg0 peer "$victim" allowed-ips 10.60.0.99/32,192.168.77.0/24
reconcile
is "$(wg show wg0 allowed-ips | grep -F "$victim" | cut -f2)" "$want_ips" "drifted allowed IPs are restored"
wg set wg0 listen-port 40000
wg set wg0 private-key <(wg genkey)
reconcile
is "$(wg show wg0 listen-port)" 51820 "drifted listen port restored"
is "$(wg show wg0 public-key)" "$(db_pub 1)" "drifted private key restored"
other=$(db_keys 1 | tail -n 1)
hs_before=$(wg show wg0 transfer | grep -cF "$other")
wg set wg0 peer "$other" endpoint 10.60.9.9:51000
reconcile
is "$(wg show wg0 endpoints | grep -F "$other" | cut -f2)" 10.60.9.9:51000 "a roaming endpoint is left alone"
is "$hs_before" 1 "unchanged peers stay in the device throughout"

# --- MTU per network (feat-005) -----------------------------------------------------------
like "$(ip link show wg0)" "mtu 1420" "default MTU 1420"
sqlite3 "$DB" "UPDATE networks SET mtu = 1380 WHERE id = 1"
reconcile
like "$(ip link show wg0)" "mtu 1380 " "the network's MTU is set on the link"
ip link set wg0 mtu 1500
reconcile
like "$(ip link show wg0)" "mtu 1380 " "MTU drift is corrected"

# --- live counters and the port check (feat-003, feat-007) -------------------------------
status=$("$WGP" --config "$cfg" status --json)
like "$status" '"interface_stats": \{' "status carries the link counters"
like "$status" '"device_type": "userspace"' "status reports the device type"
rpc() {
	python3 - "$dir/rec.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
print(s.makefile().readline().strip())
PY
}
if command -v python3 >/dev/null 2>&1; then
	like "$(rpc '{"op":"check_port","port":51820}')" '"in_use": ?true.*"owner": ?"wg0"' "check_port: our own network's port"
	like "$(rpc '{"op":"check_port","port":51999}')" '"in_use": ?false' "check_port: a free port"
	like "$(rpc '{"op":"check_port","port":0}')" '"ok": ?false.*VALIDATION_ERROR' "check_port: bad port refused"
	like "$(rpc '{"op":"shell","cmd":"id"}')" '"ok": ?false.*unknown op' "opcodes outside the whitelist are refused"
	like "$(rpc 'not json')" '"ok": ?false.*malformed' "malformed requests get an error reply"
	routes=$(rpc '{"op":"routes","interface":"wg0"}')
	like "$routes" '"destination": ?"10.60.0.0/24".*"managed": ?true' "routes (feat-009): the address route is managed"
	# A client that connects and sends nothing must not block anybody else.
	python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.send(b"{\"op\":"); time.sleep(6)' \
		"$dir/rec.sock" &
	slow=$!
	sleep 0.3
	t0=$(date +%s%N)
	"$WGP" --config "$cfg" status >/dev/null
	t1=$(date +%s%N)
	ok "a stalled client does not delay others ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -lt 1000
	wait "$slow" || true
	like "$(grep -c socket_client_timeout "$dir/rec.log")" '^[1-9]' "the stalled client is dropped after its timeout"
else
	skip 8 "python3 not installed"
fi
# SIGHUP re-reads the configuration
sed -i 's/^reconciler:/logging:\n  level: debug\nreconciler:/' "$cfg"
kill -HUP "$rec_pid"
ok "SIGHUP reloads the configuration (log level debug)" wait_until 5 grep -q '"msg":"reloaded","component":"main","log_level":"debug"' "$dir/rec.log"
sed -i '/^logging:/,+1d' "$cfg"
kill -HUP "$rec_pid"

# --- peers disabled / enabled in the DB ----------------------------------------------------
sqlite3 "$DB" "UPDATE peers SET enabled = 0 WHERE id = 3"
"$WGP" --config "$cfg" reconcile --network 1 --peer 3 >/dev/null
ok "apply_peer of a disabled peer removes it" same_peers 1 wg0
sqlite3 "$DB" "UPDATE peers SET enabled = 1 WHERE id = 3"
"$WGP" --config "$cfg" reconcile --network 1 --peer 3 >/dev/null
ok "apply_peer of an enabled peer adds it back" same_peers 1 wg0

# --- routes to the LANs behind site gateways --------------------------------------------
sqlite3 "$DB" "UPDATE peers SET role = 'site-gateway', site_networks = '192.168.50.0/24, 192.168.51.0/24',
	allowed_ips = allowed_ips || ', 192.168.50.0/24, 192.168.51.0/24' WHERE id = 4"
ip route add 192.168.99.0/24 dev wg0      # somebody else's route: never touched
reconcile
like "$(ip route show dev wg0)" "192.168.50.0/24 proto 119" "route to the first site LAN"
like "$(ip route show dev wg0)" "192.168.51.0/24 proto 119" "route to the second site LAN"
like "$(wg show wg0 allowed-ips)" "192.168.50.0/24" "the site LAN is in the gateway's allowed IPs"
sqlite3 "$DB" "UPDATE peers SET enabled = 0 WHERE id = 4"
reconcile
ok "a disabled site gateway's routes are removed" bash -c "! ip route show dev wg0 | grep -q 192.168.5"
like "$(ip route show dev wg0)" "192.168.99.0/24" "routes of others stay"
ip route del 192.168.99.0/24 dev wg0
sqlite3 "$DB" "UPDATE peers SET enabled = 1 WHERE id = 4"
reconcile

# --- orphans are left alone ----------------------------------------------------------------
wireguard-go -f wgx9 >/dev/null 2>&1 &
wait_until 10 test -S /var/run/wireguard/wgx9.sock
reconcile
ok "a WireGuard link without a row is not deleted" ip link show wgx9
like "$(grep reconcile_orphaned_interface "$dir/rec.log" | tail -n 1)" '"interface":"wgx9"' "orphan logged"
ip link del wgx9

# --- disabled network is torn down, enabled comes back -----------------------------------
sqlite3 "$DB" "UPDATE networks SET enabled = 0 WHERE id = 1"
reconcile
ok "a disabled network has no interface" bash -c "! ip link show wg0 2>/dev/null"
ok "and its port is closed again" bash -c "! nft list table ip wgpilot 2>/dev/null | grep -q 'dport 51820'"
sqlite3 "$DB" "UPDATE networks SET enabled = 1 WHERE id = 1"
reconcile
ok "enabled again: wg0 with all peers" same_peers 1 wg0

# --- changes behind our back are repaired by link events (feat-004) -----------------------
ip link set wg0 down
ok "a managed link set down comes back up within 2 s" wait_until 2 bash -c "ip link show wg0 | grep -q ',UP'"
ip link del wg0
ok "a deleted managed link is recreated within 5 s" wait_until 5 same_peers 1 wg0

# --- a port clash fails that network only --------------------------------------------------
wireguard-go -f wgz0 >/dev/null 2>&1 &
wait_until 10 test -S /var/run/wireguard/wgz0.sock
wg set wgz0 listen-port 51830
"$GEN" --config "$cfg" --peers 2 --port 51830 --subnet 10.61.0.0/24 "$dir/net2.conf" >/dev/null
"$GEN" --config "$cfg" --peers 2 --port 51831 --subnet 10.62.0.0/24 "$dir/net3.conf" >/dev/null
reconcile
ok "a network whose port is taken gets no half-made interface" bash -c "! ip link show wg1 2>/dev/null"
like "$(grep reconcile_network_failed "$dir/rec.log" | tail -n 1)" '"interface":"wg1"' "its failure is logged"
ok "the other networks are reconciled" same_peers 3 wg2
ip link del wgz0
reconcile
ok "once the port is free the network comes up" same_peers 2 wg1

# --- SIGTERM leaves the VPN running --------------------------------------------------------
rec_stop
ok "after SIGTERM the interfaces stay up (tunnels keep working)" bash -c "ip link show wg0 | grep -q ',UP'"
ok "... with their peers" same_peers 1 wg0
like "$(grep reconciler_stopping "$dir/rec.log" | tail -n 1)" "interfaces stay up" "the stop is logged"

# --- kill -9 at random points of a large apply, then converge ---------------------------
"$GEN" --config "$cfg" --peers 3000 --port 51840 --subnet 10.63.0.0/20 --disabled "$dir/net4.conf" >/dev/null
sqlite3 "$DB" "UPDATE networks SET enabled = 1 WHERE id = 4"
for i in 1 2 3 4 5 6; do
	"$REC" --config "$cfg" 2>>"$dir/rec.log" &
	p=$!
	sleep "0.$((RANDOM % 9 + 1))"
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	diag "kill -9 #$i after start: wg3 has $(wg show wg3 peers 2>/dev/null | wc -l) of 3000 peers"
	# change the DB between crashes: the restart must converge to the newest state
	sqlite3 "$DB" "UPDATE peers SET enabled = 1 - enabled WHERE network_id = 4 AND id % 97 = $i"
done
rec_start
ok "after six kill -9 the restarted reconciler converges: device peers = enabled DB peers" same_peers 4 wg3
is "$(wg show wg3 allowed-ips | awk '{print $2}' | sort | uniq -d | wc -l)" 0 "no address is given to two peers"
ok "the first network survived the crashes untouched" same_peers 1 wg0

rec_stop
if [ "$TAP_FAILED" -gt 0 ]; then
	cp "$dir/rec.log" "${TMPDIR:-/tmp}/wgpilot-t43-reconciler.log"
	diag "reconciler log: ${TMPDIR:-/tmp}/wgpilot-t43-reconciler.log"
fi
done_testing
