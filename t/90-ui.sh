#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The web UI in a real browser (headless Chromium driven by playwright-core)
# against the whole stack in a network namespace:
#
#   1. wizard   the four setup steps in the browser, field errors for bad
#               input, QR code and .conf download from the config modal
#   2. (shell)  a client tunnel from the downloaded .conf, as in 70-tunnel.sh
#   3. live     the peer turns online on the dashboard, is disabled and goes
#               offline; every view, its forms and their errors; 1,000 peers
#   4. ratelimit  the login page and its rate-limit message
#   5. import   a second stack whose host already runs wg0 (wireguard-go,
#               set up from a wg-quick file): the wizard offers the import,
#               imports the file, and the running wg0 is adopted
#
# The first stack serves the UI as make install leaves it (www/stamp.sh:
# every asset URL versioned, cached for a year); the second serves the
# source tree as it is (the development form, unversioned).  The
# dashboard's load is measured (cold in several fresh browser contexts, and
# warm).
#
# Screenshots of every view (desktop 1280×800 and phone 390×844, light and
# dark) go to $top_builddir/ui-screenshots/.  Any console error, page error
# or CSP violation fails.  Test-only dependencies (never needed to run
# wgpilot): apt-get install --no-install-recommends chromium; (cd t/ui &&
# npm install).
#
#   netns wgp-uic-PID  10.232.0.2/24 ==veth== 10.232.0.1/24  netns wgp-uis-PID
#   wgc0 10.0.0.2/32  ------- WireGuard over UDP 51820 -------  wg0 10.0.0.1/24
#                                                               nginx 127.0.0.1:8443
#   netns wgp-uib-PID  10.233.0.2/24 ==veth== 10.233.0.1/24     ^ forward.mjs
#   Chromium → https://10.233.0.1:8443 ------------------------'
#            10.234.0.2/24 ==veth== 10.234.0.1/24  netns wgp-uii-PID (phase 5)
#
# Chromium gets a namespace of its own: in the server's namespace every new
# wgN interface would abort its requests in flight (ERR_NETWORK_CHANGED).
set -euo pipefail

. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd -P)}/t/lib.sh"

need_root
need_cmd ip wireguard-go wg nsenter unshare setpriv nginx curl sqlite3 ping
command -v node >/dev/null 2>&1 || skip_all "needs node (apt-get install nodejs)"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || skip_all "needs chromium at $CHROMIUM (apt-get install --no-install-recommends chromium)"
UI_DIR=$top_srcdir/t/ui
[ -f "$UI_DIR/node_modules/playwright-core/package.json" ] ||
	skip_all "needs playwright-core (cd t/ui && npm install)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' ||
	skip_all "needs node >= 18 (have $(node --version))"

for bin in wgpilot/wgpilot reconciler/wgpilot-reconciler cgi/wgpilot-api.fcgi; do
	[ -x "$top_builddir/$bin" ] || bail_out "missing $top_builddir/$bin (build first)"
done

SRV=wgp-uis-$$
CLI=wgp-uic-$$
BRW=wgp-uib-$$
SERVER_IP=10.232.0.1
CLIENT_IP=10.232.0.2
UI_IP=10.233.0.1
BROWSER_IP=10.233.0.2
UI_URL=https://$UI_IP:8443
IMPORT_NS=wgp-uii-$$
IMPORT_IP=10.234.0.1
IMPORT_URL=https://$IMPORT_IP:8443
SUBNET=10.0.0.0/24
SERVER_TUNNEL_IP=10.0.0.1

mk_tmpdir
STATE=$WGP_TMP/state
SHOTS=$top_builddir/ui-screenshots
mkdir -p "$SHOTS"
rm -rf "$SHOTS"/*.png "$SHOTS/failures"

# ui_phase NAME [URL [PUBLIC_IP]]: run one phase of t/ui/ui-test.mjs in
# the browser's namespace; its "ok - …", "not ok - …" and "# …" lines
# become TAP results and comments here.
ui_phase() {
	local phase=$1 url=${2:-$UI_URL} public_ip=${3:-$SERVER_IP} line rc=0 out
	out=$WGP_TMP/ui-$phase.out
	ip netns exec "$BRW" env WGP_URL="$url" WGP_TOKEN="$STACK_TOKEN" \
		WGP_PUBLIC_IP="$public_ip" WGP_TMP="$WGP_TMP" WGP_SHOTS="$SHOTS" \
		WGP_IMPORT_CONF="${IMPORT_CONF:-}" WGP_IMPORT_IFACE=wg0 \
		CHROMIUM="$CHROMIUM" HOME="$WGP_TMP" \
		node "$UI_DIR/ui-test.mjs" "$phase" >"$out" 2>"$WGP_TMP/ui-$phase.err" || rc=$?
	while IFS= read -r line; do
		case $line in
		"ok - "*) pass "${line#ok - }" ;;
		"not ok - "*) fail "${line#not ok - }" ;;
		"# "*) printf '%s\n' "$line" ;;
		*) diag "$line" ;;
		esac
	done <"$out"
	if [ $rc -ne 0 ] && ! grep -q '^not ok - ' "$out"; then
		fail "browser phase '$phase' ran (exit $rc)"
		diag "$(tail -n 20 "$WGP_TMP/ui-$phase.err")"
	fi
	return 0
}

# snapshot: one transfer sample into peer_snapshots (the job cron runs
# every minute in production), as the service user.
snapshot() {
	ip netns exec "$SRV" setpriv --reuid=wgpilot --regid=wgpilot --init-groups -- \
		"$top_builddir/wgpilot/wgpilot" --config "$STATE/config.yaml" snapshot --once
}

# --- namespaces and the stack -----------------------------------------------------

mk_netns "$SRV"
mk_netns "$CLI"
mk_netns "$BRW"
mk_veth "$SRV" "wus-$$" "$SERVER_IP/24" "$CLI" "wuc-$$" "$CLIENT_IP/24"
mk_veth "$SRV" "wub-$$" "$UI_IP/24" "$BRW" "wbb-$$" "$BROWSER_IP/24"
# phase 5's link now: a new link next to a running Chromium aborts its
# requests in flight (ERR_NETWORK_CHANGED)
mk_netns "$IMPORT_NS"
mk_veth "$IMPORT_NS" "wui-$$" "$IMPORT_IP/24" "$BRW" "wbi-$$" "10.234.0.2/24"

# The UI as make install leaves it: a copy with versioned asset URLs.
WWW=$WGP_TMP/www
cp -R "$top_srcdir/www" "$WWW"
rm -f "$WWW/stamp.sh"
chmod -R a+rX "$WWW"
stamp_www() { sh "$top_srcdir/www/stamp.sh" "$WWW" test >/dev/null; }
ok "www/stamp.sh versions every asset URL of a copy of the UI" stamp_www

if ! QUICKSTART_WWW=$WWW stack_up "$SRV" "$STATE"; then
	fail "quickstart up starts the stack in $SRV"
	done_testing
fi
pass "quickstart up starts the stack in $SRV (serving the stamped copy of the UI)"

spawn "$WGP_TMP/forward.log" ip netns exec "$SRV" node "$UI_DIR/forward.mjs" "$UI_IP" 8443 127.0.0.1 8443
ui_reachable() { ip netns exec "$BRW" curl -skf --max-time 2 -o /dev/null "$UI_URL/api/setup/status"; }
if ! wait_until 10 ui_reachable; then
	fail "the browser namespace reaches the UI at $UI_URL"
	diag "$(cat "$WGP_TMP/forward.log")"
	done_testing
fi

# --- 1: the wizard in the browser ---------------------------------------------------

ui_phase wizard
CONF=$WGP_TMP/peer.conf
if [ ! -s "$CONF" ]; then
	fail "the browser downloaded the peer's .conf"
	stack_logs "$STATE"
	done_testing
fi
ok ".conf from the browser has Endpoint = $SERVER_IP:51820" grep -qx "Endpoint = $SERVER_IP:51820" "$CONF"
if command -v zbarimg >/dev/null 2>&1 && [ -s "$WGP_TMP/qr-shot.png" ]; then
	zbarimg --raw -q "$WGP_TMP/qr-shot.png" >"$WGP_TMP/qr.txt" 2>/dev/null || true
	is "$(cat "$WGP_TMP/qr.txt")" "$(cat "$CONF")" "the QR code as rendered in the browser decodes to the .conf"
else
	skip 1 "zbarimg not installed or no QR screenshot"
fi

# --- 2: the client tunnel from the downloaded file ------------------------------------

ok "client wgc0 configured from the browser's .conf" wg_client_up "$CLI" wgc0 "$CONF" "$SUBNET"
ok "ping $SERVER_TUNNEL_IP through the tunnel" \
	wait_until 10 ip netns exec "$CLI" ping -c 1 -W 1 "$SERVER_TUNNEL_IP"

# A little transfer history for the charts (optional: skipped when the
# build has no "snapshot --once").
if snapshot >/dev/null 2>&1; then
	for _ in 1 2 3; do
		ip netns exec "$CLI" ping -q -c 20 -i 0.05 -s 1200 "$SERVER_TUNNEL_IP" >/dev/null 2>&1 || true
		sleep 1
		snapshot >/dev/null 2>&1 || true
	done
	diag "transfer history: 4 snapshots taken"
else
	diag "transfer history: 'wgpilot snapshot --once' not available, charts show their empty state"
fi

# keep traffic flowing so the handshake stays fresh during the live phase
spawn "$WGP_TMP/ping.log" ip netns exec "$CLI" ping -q -i 2 "$SERVER_TUNNEL_IP"

# --- 3: live status, every view, 1,000 peers ---------------------------------------------

ui_phase live

# --- 4: login page and the rate limit ----------------------------------------------------

ui_phase ratelimit

# --- 5: import of an existing WireGuard setup, on a second stack ------------------------

# in_reconciler CMD...: CMD in the import stack's reconciler's network and
# mount namespaces (its private /var/run/wireguard).
in_reconciler() {
	nsenter --target "$(cat "$STATE2/run/reconciler.pid")" --mount --net -- "$@"
}
STATE2=$WGP_TMP/state-import
if ! stack_up "$IMPORT_NS" "$STATE2"; then
	fail "quickstart up starts the import stack in $IMPORT_NS"
	done_testing
fi
spawn "$WGP_TMP/forward-import.log" ip netns exec "$IMPORT_NS" node "$UI_DIR/forward.mjs" "$IMPORT_IP" 8443 127.0.0.1 8443

# The host's wg0 before wgpilot, as wg-quick would run it from
# /etc/wireguard/wg0.conf: wireguard-go as the service user (so that the
# reconciler may talk to its UAPI socket), configured from the file.
IMPORT_CONF=$WGP_TMP/import-wg0.conf
{
	printf '# /etc/wireguard/wg0.conf\n[Interface]\nPrivateKey = %s\n' "$(wg genkey)"
	printf 'Address = 10.77.0.1/24\nListenPort = 51877\nDNS = 9.9.9.9\n\n'
	printf '[Peer]\n# laptop\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.77.0.2/32\n\n' \
		"$(wg genkey | wg pubkey)" "$(wg genpsk)"
	printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.77.0.3/32, 192.168.77.0/24\nPersistentKeepalive = 25\n' \
		"$(wg genkey | wg pubkey)"
} >"$IMPORT_CONF"
wg_strip_conf "$IMPORT_CONF" >"$WGP_TMP/import-wg0.setconf"
spawn "$WGP_TMP/wireguard-go-import.log" nsenter --target "$(cat "$STATE2/run/reconciler.pid")" --mount --net -- \
	setpriv --reuid=wgpilot --regid=wgpilot --init-groups --inh-caps=-all,+net_admin --ambient-caps=+net_admin -- \
	wireguard-go -f wg0
IMPORT_WG_PID=$SPAWN_PID
host_wg0_up() {
	wait_until 10 in_reconciler test -S /var/run/wireguard/wg0.sock &&
		in_reconciler wg setconf wg0 "$WGP_TMP/import-wg0.setconf" &&
		in_reconciler ip addr add 10.77.0.1/24 dev wg0 &&
		in_reconciler ip link set wg0 up
}
if ok "the import stack's host runs wg0 (wireguard-go) from a wg-quick file" host_wg0_up; then
	ui_phase import "$IMPORT_URL" "$IMPORT_IP"
	ok "the running wg0 was adopted, not replaced (same wireguard-go process)" kill -0 "$IMPORT_WG_PID"
	is "$(in_reconciler wg show wg0 listen-port)" 51877 "wg0 keeps the file's port"
	is "$(in_reconciler wg show wg0 peers | wc -l)" 3 "wg0 runs the 2 imported peers and the wizard's new one"
else
	diag "$(cat "$WGP_TMP/wireguard-go-import.log")"
fi

n=$(find "$SHOTS" -maxdepth 1 -name '*.png' | wc -l)
like "$n" '^[1-9][0-9]+$' "screenshots saved ($n PNG files in $SHOTS)"

done_testing
