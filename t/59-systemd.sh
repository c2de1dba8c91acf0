#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# systemd integration (operations.md §4): the units as the package installs
# them pass `systemd-analyze verify` and keep a low `security` exposure (the
# numbers are printed); the reconciler speaks sd_notify to a real datagram
# socket: READY=1 only after its first full pass (the network's link exists
# by then), RELOADING=1/READY=1 around SIGHUP, WATCHDOG=1 pings, STOPPING=1
# on SIGTERM. (t/58-deb.sh boots the package under a real systemd.)
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"

if [ "${1:-}" != --inner ]; then
	mk_tmpdir
	dir=$WGP_TMP
	if command -v systemd-analyze >/dev/null; then
		# Rendered as `make deb` does, ExecStart pointing at this build
		# (verify wants executables that exist).
		for u in wgpilot-reconciler wgpilot-api wgpilot-sse; do
			sed -e "s|@sbindir@|$top_builddir/reconciler|g" \
				-e "s|@pkglibexecdir@/wgpilot-api.fcgi|$top_builddir/cgi/wgpilot-api.fcgi|g" \
				-e "s|@[a-z]*dir@|/usr/bin|g" "$top_srcdir/systemd/$u.service.in" >"$dir/$u.service"
		done
		out=$(cd "$dir" && systemd-analyze verify ./wgpilot-reconciler.service ./wgpilot-api.service \
			./wgpilot-sse.service 2>&1) && rc=0 || rc=$?
		is "$rc:$out" "0:" "systemd-analyze verify: no complaints"
		for u in wgpilot-reconciler wgpilot-api wgpilot-sse; do
			score=$(cd "$dir" && systemd-analyze security --offline=true "./$u.service" 2>/dev/null \
				| sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
			case $u in
			wgpilot-reconciler) limit=2.5 ;;   # CAP_NET_ADMIN, host network, AF_INET (wireguard-go)
			*) limit=1.0 ;;
			esac
			diag "systemd-analyze security --offline=true $u.service: exposure ${score:-?}"
			ok "$u: exposure ${score:-?} below $limit" awk -v s="${score:-99}" -v l="$limit" 'BEGIN { exit !(s < l) }'
		done
		like "$(cat "$dir/wgpilot-reconciler.service")" $'\nType=notify\n' "reconciler: Type=notify"
		like "$(cat "$dir/wgpilot-reconciler.service")" $'\nWatchdogSec=30\n' "reconciler: WatchdogSec=30"
		like "$(cat "$dir/wgpilot-reconciler.service")" $'\nNotifyAccess=main\n' "reconciler: NotifyAccess=main"
	else
		skip 7 "systemd-analyze not installed (apt-get install systemd)"
	fi
	if [ "$(id -u)" -ne 0 ] || ! command -v wireguard-go >/dev/null || ! command -v python3 >/dev/null; then
		skip 8 "the sd_notify run needs root, wireguard-go and python3"
		done_testing
	fi
	ns=wgp-ntf-$$
	mk_netns "$ns"
	ip netns exec "$ns" unshare --mount --propagation private env top_srcdir="$top_srcdir" \
		top_builddir="$top_builddir" T59_N="$TAP_N" T59_FAILED="$TAP_FAILED" bash "$0" --inner
	exit
fi

# --- inner: the reconciler under a fake systemd, in a private network namespace --------
TAP_N=$T59_N
TAP_FAILED=$T59_FAILED
mount -t tmpfs -o mode=0755 tmpfs /var/run/wireguard 2>/dev/null \
	|| { mkdir -p /var/run/wireguard && mount -t tmpfs tmpfs /var/run/wireguard; }
mk_tmpdir
dir=$WGP_TMP
WGP=$top_builddir/wgpilot/wgpilot
REC=$top_builddir/reconciler/wgpilot-reconciler
cfg=$dir/config.yaml
rec_test_setup "$dir"
"$top_builddir/bench/gen-peers" --config "$cfg" --peers 50 --port 51820 --subnet 10.61.0.0/24 "$dir/n.conf" >/dev/null

# The "systemd": one line per datagram, "<state with \n as |> link=<0|1>",
# the link being the network's device at the moment the datagram arrived.
cat >"$dir/recv.py" <<'EOF'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "w", buffering=1)
while True:
    m = s.recv(4096).decode()
    link = os.path.exists("/sys/class/net/wg0")
    out.write("%s link=%d\n" % (m.replace("\n", "|"), link))
EOF
python3 "$dir/recv.py" "$dir/notify.sock" "$dir/notify.log" &
rpid=$!
on_exit kill "$rpid"
wait_until 10 test -S "$dir/notify.sock" || bail_out "the notify receiver did not start"

NOTIFY_SOCKET=$dir/notify.sock WATCHDOG_USEC=400000 "$REC" --config "$cfg" 2>"$dir/rec.log" &
rec=$!
on_exit kill "$rec"
wait_until 30 grep -q READY=1 "$dir/notify.log"
ready=$(grep -m1 'READY=1' "$dir/notify.log" || true)
like "$ready" '^READY=1\|STATUS=Serving .*rec.sock \(backend userspace\) link=1$' \
	"READY=1 with STATUS, sent after the first full pass (wg0 existed)"
like "$(head -n 1 "$dir/notify.log")" '^STATUS=First full reconcile' "a STATUS line before the pass"
before=$(sed -n '/READY=1/q;p' "$dir/notify.log")
ok "nothing but STATUS and WATCHDOG=1 before READY=1" test -z "$(grep -Ev '^(STATUS=|WATCHDOG=1 )' <<<"$before" || true)"
sleep 1.1
n=$(grep -c '^WATCHDOG=1 ' "$dir/notify.log" || true)
ok "WATCHDOG=1 every 200 ms while the main loop answers its ping ($n so far)" test "$n" -ge 4
kill -HUP "$rec"
wait_until 10 grep -q 'configuration reloaded' "$dir/notify.log"
like "$(grep -E 'RELOADING=1|reloaded' "$dir/notify.log" | tr '\n' '~')" \
	'^RELOADING=1\|MONOTONIC_USEC=[0-9]+\|STATUS=Reloading[^~]*~READY=1\|STATUS=Serving \(configuration reloaded\)' \
	"SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1"
kill -TERM "$rec"
wait "$rec" && rc=0 || rc=$?
is "$rc" 0 "SIGTERM: exit 0"
like "$(tail -n 1 "$dir/notify.log")" '^STOPPING=1' "STOPPING=1 is the last message"
wg_pid=
me=$(readlink /proc/self/ns/net)
for p in $(pgrep -f "wireguard-go -f wg0" || true); do
	[ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" != "$me" ] || wg_pid=$p
done
if [ -n "$wg_pid" ]; then
	ok "wireguard-go (pid $wg_pid) got no NOTIFY_SOCKET (environment cleaned)" \
		sh -c "! tr '\\0' '\\n' </proc/$wg_pid/environ | grep -q '^NOTIFY_SOCKET='"
else
	fail "wireguard-go for wg0 is running"
fi

done_testing
