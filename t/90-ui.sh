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
SUBNET=10.0.0.0/24
SERVER_TUNNEL_IP=10.0.0.1

mk_tmpdir
STATE=$WGP_TMP/state
SHOTS=$top_builddir/ui-screenshots
mkdir -p "$SHOTS"
rm -rf "$SHOTS"/*.png "$SHOTS/failures"

# ui_phase NAME: run one phase of t/ui/ui-test.mjs in the browser's
# namespace; its "ok - …", "not ok - …" and "# …" lines become TAP results
# and comments here.
ui_phase() {
	local phase=$1 line rc=0 out
	out=$WGP_TMP/ui-$phase.out
	ip netns exec "$BRW" env WGP_URL="$UI_URL" WGP_TOKEN="$STACK_TOKEN" \
		WGP_PUBLIC_IP="$SERVER_IP" WGP_TMP="$WGP_TMP" WGP_SHOTS="$SHOTS" \
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

if ! stack_up "$SRV" "$STATE"; then
	fail "quickstart up starts the stack in $SRV"
	done_testing
fi
pass "quickstart up starts the stack in $SRV"

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

n=$(find "$SHOTS" -maxdepth 1 -name '*.png' | wc -l)
like "$n" '^[1-9][0-9]+$' "screenshots saved ($n PNG files in $SHOTS)"

done_testing
