#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian package (operations.md §7): `make deb` builds it; its Depends,
# conffiles, contents and maintainer scripts are checked; then it is
# installed, upgraded (to a rebuild with one more migration), removed and
# purged with dpkg in a throw-away root: an overlay over / whose upper layer
# is a tmpfs, in a private mount and network namespace, so the host's files,
# users and dpkg database never change. Last, that root boots under
# systemd-nspawn and the units must come up under a real systemd.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"

if [ "${1:-}" != --inner ]; then
	need_root
	need_cmd dpkg-deb dpkg-buildpackage dpkg-shlibdeps unshare chroot sqlite3
	command -v dh >/dev/null || skip_all "debhelper is not installed (apt-get install debhelper)"
	# Host state that must not change (compared again at the end).
	host_state() { md5sum /etc/passwd /etc/group /var/lib/dpkg/status /var/lib/dpkg/statoverride 2>&1; ls /etc/systemd/system /run/systemd; }
	before=$(host_state)
	rc=0
	unshare --mount --propagation private --net env top_srcdir="$top_srcdir" \
		top_builddir="$top_builddir" T58_TAP_FD=1 bash "$0" --inner || rc=$?
	after=$(host_state)
	# one more TAP line after the inner plan is not possible: report as diag
	# and fail the run instead.
	if [ "$before" != "$after" ]; then
		echo "Bail out! the host changed: $(diff <(echo "$before") <(echo "$after") | head -n 5)"
		exit 1
	fi
	exit $rc
fi

mk_tmpdir
dir=$WGP_TMP
nmig=$(find "$top_srcdir/db" -name '[0-9]*.sql' | wc -l)

# --- build -----------------------------------------------------------------------------
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" deb DEB_OUTDIR="$dir/debs" \
	>"$dir/build1.log" 2>&1 || { diag "$(tail -n 30 "$dir/build1.log")"; bail_out "make deb failed"; }
deb1=$(ls "$dir"/debs/wgpilot_*.deb)
version=$(dpkg-deb -f "$deb1" Version)
pass "make deb built $(basename "$deb1")"
is "$version" "$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")" \
	"package version = PACKAGE_VERSION (debian/changelog is up to date)"
ok "the build copy is gone after success" test ! -e "$top_builddir/deb-build"

# The same sources with one more migration, as a higher version: the upgrade.
mkdir -p "$dir/b2"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" distdir \
	distdir="$dir/b2/wgpilot-$version" >"$dir/build2.log" 2>&1 || bail_out "make distdir failed"
src2=$dir/b2/wgpilot-$version
echo "CREATE TABLE t58_upgrade_probe (id INTEGER PRIMARY KEY);" >"$src2/db/900_t58_upgrade_probe.sql"
# (recipes expand MIGRATIONS when they run: appending at the end is enough)
echo 'MIGRATIONS += db/900_t58_upgrade_probe.sql' >>"$src2/Makefile.in"
grep -q 900_t58 "$src2/Makefile.in" || bail_out "could not add a migration to the copy"
WGP_DEB_VERSION="$version+t58" sh "$top_srcdir/build-aux/mkdeb.sh" "$src2" "$dir/debs2" \
	>"$dir/build2.log" 2>&1 || { diag "$(tail -n 30 "$dir/build2.log")"; bail_out "mkdeb.sh failed"; }
deb2=$(ls "$dir"/debs2/wgpilot_*.deb)
is "$(dpkg-deb -f "$deb2" Version)" "$version+t58" "mkdeb.sh WGP_DEB_VERSION: a higher version to upgrade to"

# --- control ---------------------------------------------------------------------------
dep=$(dpkg-deb -f "$deb1" Depends)
diag "Depends: $dep"
for want in 'libc6 (>= ' 'libsodium23' 'libsqlite3-0' 'libfcgi0ldbl' 'libmnl0' 'libnftnl11' \
	'libjansson4' 'libssl3' 'libyaml-0-2' 'adduser' 'cron | cron-daemon' 'nginx-light | nginx' 'systemd'; do
	case ", $dep" in
	*", $want"*) pass "Depends: $want" ;;
	*) fail "Depends: $want" ;;
	esac
done
like "$(dpkg-deb -f "$deb1" Recommends)" 'certbot' "Recommends: certbot"
like "$(dpkg-deb -f "$deb1" Recommends)" 'wireguard-go' "Recommends: wireguard-go (kernels without WireGuard)"
is "$(dpkg-deb --ctrl-tarfile "$deb1" | tar -xO ./conffiles | sort | tr '\n' ' ')" \
	"/etc/cron.d/wgpilot /etc/wgpilot/config.yaml " "conffiles: the cron file and the configuration"

mkdir -p "$dir/ctrl"
dpkg-deb -e "$deb1" "$dir/ctrl"
for s in preinst postinst prerm postrm; do
	ok "$s: sh -n" sh -n "$dir/ctrl/$s"
done
if command -v shellcheck >/dev/null; then
	ok "maintainer scripts: shellcheck -s sh" shellcheck -s sh "$dir/ctrl/postinst" "$dir/ctrl/postrm" \
		"$dir/ctrl/prerm" "$dir/ctrl/preinst"
else
	skip 1 "shellcheck not installed"
fi
like "$(cat "$dir/ctrl/preinst")" "upgrade.*deb-systemd-invoke stop" "preinst: units stopped before an upgrade"
like "$(cat "$dir/ctrl/prerm")" "remove.*deb-systemd-invoke stop" "prerm: units stopped on remove"
like "$(cat "$dir/ctrl/postinst")" "-d /run/systemd/system.*deb-systemd-invoke start" \
	"postinst: units started only when systemd runs"

# --- contents --------------------------------------------------------------------------
expected() {
	cat <<'EOF'
/etc/cron.d/wgpilot
/etc/wgpilot/config.yaml
/lib/systemd/system/nginx.service.d/wgpilot.conf
/usr/bin/wgpilot
/usr/lib/tmpfiles.d/wgpilot.conf
/usr/libexec/wgpilot/wgpilot-api.fcgi
/usr/sbin/wgpilot-reconciler
/usr/share/doc/wgpilot/changelog.gz
/usr/share/doc/wgpilot/copyright
/usr/share/wgpilot/nginx/security-headers.conf
/usr/share/wgpilot/nginx/wgpilot-local.conf.in
/usr/share/wgpilot/nginx/wgpilot.conf.in
EOF
	# every unit of systemd/ (the ACME helper's too, once it is there)
	(cd "$top_srcdir/systemd" && ls -- *.in) | sed 's|\.in$||; s|^|/lib/systemd/system/|'
	# the static UI (build helper scripts in www/ are not installed)
	(cd "$top_srcdir" && find www -type f ! -name '.*' ! -name '*.sh') | sed 's|^|/usr/share/wgpilot/|'
}
got=$(dpkg-deb --contents "$deb1" | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\.||' | LC_ALL=C sort)
want=$(expected | LC_ALL=C sort)
is "$got" "$want" "dpkg-deb --contents: exactly the expected files"
[ "$got" = "$want" ] || diag "$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") || true)"
is "$(dpkg-deb --contents "$deb1" | awk '$6 == "./usr/sbin/wgpilot-reconciler" { print $1, $2 }')" \
	"-rwxr-xr-x root/root" "programs owned by root, 0755"
like "$(dpkg-deb --fsys-tarfile "$deb1" | tar -xO ./lib/systemd/system/wgpilot-reconciler.service)" \
	$'\nExecStart=/usr/sbin/wgpilot-reconciler\n' "units name the packaged paths"

# --- the throw-away root ----------------------------------------------------------------
# Mounts live in this private namespace only and never under $dir (whose
# cleanup is rm -rf): a tmpfs holds the overlay's upper layer and the root.
base=$(mktemp -d /tmp/wgp-t58-mnt.XXXXXX)
on_exit rmdir "$base"
mount -t tmpfs -o size=1g,mode=0755 t58 "$base"
on_exit umount -l "$base"
mkdir -p "$base/upper" "$base/work" "$base/root"
root=$base/root
mount -t overlay overlay -o "lowerdir=/,upperdir=$base/upper,workdir=$base/work" "$root"
on_exit umount -l "$root"
mount_api() {
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mount -t tmpfs -o mode=0755 t58-run "$root/run"
	mount -t tmpfs -o mode=1777 t58-tmp "$root/tmp"
	mount -t tmpfs -o mode=0755 t58-dev "$root/dev"
	for n in null zero full random urandom tty; do
		touch "$root/dev/$n"
		mount --bind "/dev/$n" "$root/dev/$n"
	done
}
umount_api() {
	local m
	for m in $(awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/self/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
}
on_exit umount_api
mount_api
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C "$@"; }
ok "the overlay root works (/usr/bin/dpkg)" test -x "$root/usr/bin/dpkg"

# A clean slate in the overlay only: no wgpilot user or files from other tests.
in_root sh -c 'dpkg -P wgpilot; userdel wgpilot; groupdel wgpilot; rm -rf /var/lib/wgpilot /etc/wgpilot /etc/cron.d/wgpilot /etc/nginx/sites-available/wgpilot /etc/nginx/sites-enabled/wgpilot' \
	>/dev/null 2>&1 || true
cp "$deb1" "$deb2" "$root/tmp/"
d1=/tmp/$(basename "$deb1")
d2=/tmp/$(basename "$deb2")

# --- install ---------------------------------------------------------------------------
out=$(in_root dpkg -i "$d1" 2>&1) && rc=0 || rc=$?
is "$rc" 0 "dpkg -i: installed"
[ "$rc" -eq 0 ] || diag "$out"
like "$out" $'Database initialized at /var/lib/wgpilot/wgpilot.db\nOne-time setup password: [A-Za-z0-9]{16}\n' \
	"postinst ran wgpilot init and printed the one-time password"
otp=$(sed -n 's/^One-time setup password: //p' <<<"$out")
is "$(in_root dpkg-query -W -f '${db:Status-Status}' wgpilot)" installed "dpkg: wgpilot installed"
is "$(in_root getent passwd wgpilot | cut -d: -f6,7)" "/nonexistent:/usr/sbin/nologin" \
	"system user wgpilot: no home, /usr/sbin/nologin"
uid=$(in_root id -u wgpilot)
ok "a system uid ($uid)" test "$uid" -lt 1000
like "$(in_root id -nG www-data)" '(^| )wgpilot( |$)' "nginx's user www-data is in group wgpilot"
st() { in_root stat -c '%a %U %G' "$@" 2>&1; }
is "$(st /var/lib/wgpilot)" "750 wgpilot wgpilot" "data dir 0750 wgpilot:wgpilot"
is "$(st /var/lib/wgpilot/wgpilot.db)" "640 wgpilot wgpilot" "database 0640"
is "$(st /etc/wgpilot)" "750 root wgpilot" "/etc/wgpilot 0750 root:wgpilot"
is "$(st /etc/wgpilot/config.yaml)" "640 root wgpilot" "config 0640 root:wgpilot (dpkg-statoverride)"
like "$(st /etc/wgpilot/master.key)" "^(640|600|440|400) root (wgpilot|root)$" "master key made by init, not world-readable"
is "$(st /run/wgpilot /run/wireguard | tr '\n' ' ')" "750 wgpilot wgpilot 770 root wgpilot " "tmpfiles created /run/wgpilot and /run/wireguard"
like "$(in_root wgpilot version)" "^wgpilot $version" "wgpilot version runs from the package"
is "$(in_root sqlite3 /var/lib/wgpilot/wgpilot.db 'SELECT COUNT(*) FROM _migrations')" "$nmig" \
	"database initialized with all $nmig migrations"
hash=$(in_root sqlite3 /var/lib/wgpilot/wgpilot.db "SELECT value FROM settings WHERE key = 'setup_otp'")
like "$hash" '^\$argon2id\$' "setup password stored hashed"
ok "postinst ran 'wgpilot tls apply': certs/current serves a pair" \
	test -s "$root/var/lib/wgpilot/certs/current/fullchain.pem" -a -s "$root/var/lib/wgpilot/certs/current/privkey.pem"
is "$(cat "$root/var/lib/wgpilot/certs/current/source" 2>&1)" self-signed "  ... the self-signed one (tls.mode default)"
site=$root/etc/nginx/sites-available/wgpilot
ok "nginx site rendered from the template" test -s "$site"
is "$(grep -c '@[A-Z_]*@' "$site" 2>&1)" 0 "  ... no placeholder left"
is "$(grep -o 'ssl_certificate[_a-z]* [^;]*' "$site" | tr -s ' ' | paste -sd' ')" \
	"ssl_certificate /var/lib/wgpilot/certs/current/fullchain.pem ssl_certificate_key /var/lib/wgpilot/certs/current/privkey.pem" \
	"  ... serving certs/current"
is "$(readlink "$root/etc/nginx/sites-enabled/wgpilot")" ../sites-available/wgpilot "  ... and enabled"
if [ -e /etc/nginx/sites-available/default ]; then
	ok "  ... and Debian's default site disabled (it would take port 80)" test ! -e "$root/etc/nginx/sites-enabled/default"
else
	skip 1 "no Debian default nginx site here"
fi
out=$(in_root nginx -t 2>&1) && rc=0 || rc=$?
is "$rc" 0 "nginx -t accepts the configuration with the site"
[ "$rc" -eq 0 ] || diag "$out"
for u in wgpilot-reconciler wgpilot-api; do
	ok "$u enabled (multi-user.target.wants)" test -L "$root/etc/systemd/system/multi-user.target.wants/$u.service"
done
ok "wgpilot-sse enabled (wanted by the API)" test -L "$root/etc/systemd/system/wgpilot-api.service.wants/wgpilot-sse.service"
ok "no systemd here: nothing was started" test ! -e "$root/run/wgpilot/reconciler.sock"

# --- reinstall, then upgrade with a new migration ------------------------------------------
in_root sqlite3 /var/lib/wgpilot/wgpilot.db "INSERT INTO settings(key, value) VALUES ('t58_marker', 'kept')"
out=$(in_root dpkg -i "$d1" 2>&1) && rc=0 || rc=$?
is "$rc" 0 "dpkg -i of the same version again"
like "$out" "0 migrations applied, schema at version $nmig" "reinstall: postinst ran wgpilot migrate"
out=$(in_root dpkg -i "$d2" 2>&1) && rc=0 || rc=$?
is "$rc" 0 "dpkg -i $version+t58: upgraded"
[ "$rc" -eq 0 ] || diag "$out"
like "$out" "1 migration applied, schema at version $((nmig + 1))" "upgrade: the new migration ran"
ok "its table exists" in_root sqlite3 /var/lib/wgpilot/wgpilot.db 'SELECT COUNT(*) FROM t58_upgrade_probe'
ok "no new one-time password on upgrade" test "$(grep -c 'One-time setup password' <<<"$out")" = 0
is "$(in_root sqlite3 /var/lib/wgpilot/wgpilot.db "SELECT value FROM settings WHERE key = 'setup_otp'")" "$hash" \
	"setup password unchanged ($otp still works)"
is "$(in_root sqlite3 /var/lib/wgpilot/wgpilot.db "SELECT value FROM settings WHERE key = 't58_marker'")" kept \
	"the database was kept"
is "$(st /etc/wgpilot/config.yaml)" "640 root wgpilot" "config mode survives the upgrade"

# --- boot it under systemd ---------------------------------------------------------------------
boot_test() {
	local res=$base/results log=$dir/nspawn.log u
	mkdir -p "$res"
	umount_api
	# nspawn keeps its locks and propagation dirs in /run/systemd/nspawn:
	# a /run of this namespace's own keeps them off the host.
	mount -t tmpfs -o mode=0755 t58-hostrun /run
	# Only what the test needs starts: no first-boot wizard, none of the
	# host's other services.
	for u in systemd-firstboot.service postgresql.service e2scrub_reap.service nftables.service; do
		ln -sf /dev/null "$root/etc/systemd/system/$u"
	done
	cat >"$root/etc/systemd/system/t58-probe.service" <<'EOF'
[Unit]
Description=t58: report the wgpilot units, then power off
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/sh /t58-probe.sh
EOF
	ln -sf /etc/systemd/system/t58-probe.service "$root/etc/systemd/system/multi-user.target.wants/t58-probe.service"
	cat >"$root/t58-probe.sh" <<'EOF'
#!/bin/sh
r=/t58-results
for i in $(seq 1 60); do
	n=0
	for u in wgpilot-reconciler wgpilot-api wgpilot-sse; do
		s=$(systemctl is-active $u.service)
		[ "$s" = activating ] || [ "$s" = reloading ] || n=$((n + 1))
	done
	[ $n -lt 3 ] || break
	sleep 0.5
done
sleep 2
for u in wgpilot-reconciler wgpilot-api wgpilot-sse; do
	systemctl is-active $u.service >$r/$u.active
	systemctl show -p Type,ActiveState,SubState,NRestarts,StatusText,WatchdogUSec $u.service >$r/$u.show
done
systemctl kill -s HUP wgpilot-reconciler.service
sleep 1
systemctl show -p ActiveState,StatusText wgpilot-reconciler.service >$r/reload.show
ls -l /run/wgpilot >$r/run.ls 2>&1
pid=$(systemctl show -p MainPID --value wgpilot-reconciler.service)
{ echo "MainPID=$pid"; grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/$pid/status; ps -eo pid,user,args; } >$r/rec.proc 2>&1
wgpilot diagnose >$r/diagnose.txt 2>&1; echo $? >$r/diagnose.rc
# The whole appliance: nginx with the site postinst rendered, in front of
# the API units (www-data reaches /run/wgpilot/api.sock through the group).
systemctl start nginx.service >/dev/null 2>&1
systemctl is-active nginx.service >$r/nginx.active 2>&1
curl -sk -o /dev/null -w '%{http_code}' https://127.0.0.1/ >$r/ui.code 2>&1
curl -sk https://127.0.0.1/api/setup/status >$r/setup.json 2>&1
curl -s -o /dev/null -w '%{http_code} %{redirect_url}' http://127.0.0.1/networks >$r/redirect.txt 2>&1
curl -s http://127.0.0.1/.well-known/acme-challenge/none -o /dev/null -w '%{http_code}' >$r/acme.code 2>&1
journalctl -b --no-pager -u 'wgpilot-*' -u nginx.service >$r/journal.txt 2>&1
systemctl poweroff
EOF
	local rc=0 tun=
	[ ! -c /dev/net/tun ] || tun=/dev/net/tun
	# --private-network: nspawn keeps CAP_NET_ADMIN in the container's
	# bounding set only with a network namespace of its own.
	timeout 180 systemd-nspawn -q -D "$root" -b --register=no --keep-unit --console=pipe --private-network \
		--bind="$res:/t58-results" ${tun:+"--bind=$tun"} >"$log" 2>&1 </dev/null || rc=$?
	mount_api
	if [ ! -s "$res/wgpilot-reconciler.active" ]; then
		fail "systemd-nspawn booted the installed root (exit $rc)"
		diag "$(tail -n 30 "$log")"
		return
	fi
	pass "systemd-nspawn booted the installed root and powered off (exit $rc)"
	for u in wgpilot-reconciler wgpilot-api wgpilot-sse; do
		is "$(cat "$res/$u.active")" active "$u active under systemd"
		[ "$(cat "$res/$u.active")" = active ] || diag "$(cat "$res/$u.show")"
	done
	like "$(cat "$res/wgpilot-reconciler.show")" "Type=notify" "reconciler: Type=notify"
	like "$(cat "$res/wgpilot-reconciler.show")" "StatusText=Serving /run/wgpilot/reconciler.sock" \
		"reconciler: READY=1 with its STATUS"
	like "$(cat "$res/wgpilot-reconciler.show")" "WatchdogUSec=30s" "reconciler: WatchdogSec=30"
	like "$(cat "$res/reload.show")" "ActiveState=active.*StatusText=Serving \(configuration reloaded\)|StatusText=Serving \(configuration reloaded\)" \
		"SIGHUP: RELOADING=1 then READY=1, active again"
	like "$(cat "$res/run.ls")" "reconciler.sock" "reconciler socket in /run/wgpilot"
	like "$(cat "$res/run.ls")" "api.sock" "API socket in /run/wgpilot"
	diag "wgpilot diagnose under systemd (exit $(cat "$res/diagnose.rc")):" "$(cat "$res/diagnose.txt")"
	diag "$(cat "$res/rec.proc")"
	like "$(cat "$res/diagnose.txt")" "PASS\] reconciler: answers on /run/wgpilot/reconciler.sock" \
		"wgpilot diagnose: the reconciler answers"
	like "$(cat "$res/diagnose.txt")" "PASS\] capabilities: reconciler pid [0-9]+ has CAP_NET_ADMIN only" \
		"wgpilot diagnose: the unit gives it CAP_NET_ADMIN and nothing else"
	is "$(grep -c '^\[FAIL\]' "$res/diagnose.txt")" 0 "wgpilot diagnose: no FAIL"
	is "$(cat "$res/nginx.active")" active "nginx runs with the wgpilot site"
	is "$(cat "$res/ui.code")" 200 "https://127.0.0.1/: the UI, over the certificate of certs/current"
	like "$(cat "$res/setup.json")" '^\{"complete":false,"current_step":1' \
		"  ... /api/ reaches the API units through their socket"
	is "$(cat "$res/redirect.txt")" "301 https://127.0.0.1/networks" "port 80 redirects to HTTPS"
	is "$(cat "$res/acme.code")" 404 "  ... but serves /.well-known/acme-challenge/ from the webroot"
	if ! tap_last_ok || [ "$(cat "$res/wgpilot-api.active")" != active ]; then
		diag "$(tail -n 40 "$res/journal.txt")"
	fi
	rm -f "$root/etc/systemd/system/t58-probe.service" "$root/etc/systemd/system/multi-user.target.wants/t58-probe.service" \
		"$root/t58-probe.sh"
}
if command -v systemd-nspawn >/dev/null; then
	boot_test
else
	skip 18 "systemd-nspawn is not installed (apt-get install systemd-container)"
fi

# --- remove and purge ----------------------------------------------------------------------
out=$(in_root dpkg -r wgpilot 2>&1) && rc=0 || rc=$?
is "$rc" 0 "dpkg -r"
[ "$rc" -eq 0 ] || diag "$out"
ok "programs gone" test ! -e "$root/usr/sbin/wgpilot-reconciler" -a ! -e "$root/usr/bin/wgpilot"
ok "config kept until purge" test -f "$root/etc/wgpilot/config.yaml"
ok "user kept until purge" in_root getent passwd wgpilot
out=$(in_root dpkg -P wgpilot 2>&1) && rc=0 || rc=$?
is "$rc" 0 "dpkg -P"
[ "$rc" -eq 0 ] || diag "$out"
ok "purge: user gone" sh -c "! chroot '$root' getent passwd wgpilot"
ok "purge: group gone" sh -c "! chroot '$root' getent group wgpilot"
ok "purge: config.yaml gone" test ! -e "$root/etc/wgpilot/config.yaml"
ok "purge: the nginx site gone" test ! -e "$root/etc/nginx/sites-available/wgpilot" -a ! -L "$root/etc/nginx/sites-enabled/wgpilot"
is "$(in_root dpkg-statoverride --list | grep -c wgpilot || true)" 0 "purge: statoverrides gone"
ok "purge: unit symlinks gone" test ! -e "$root/etc/systemd/system/multi-user.target.wants/wgpilot-reconciler.service"
ok "purge: the data dir is kept (operations.md §7)" test -f "$root/var/lib/wgpilot/wgpilot.db"
ok "purge: and the master key it needs" test -f "$root/etc/wgpilot/master.key"
like "$out" "kept /var/lib/wgpilot and /etc/wgpilot/master.key" "purge says so"
is "$(in_root dpkg-query -W -f '${db:Status-Status}' wgpilot 2>/dev/null || echo not-installed)" not-installed \
	"dpkg: wgpilot purged"

done_testing
