#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The installed layout (operations.md §1, §4, §5): `make install DESTDIR=...`
# puts exactly the expected files in place; the systemd units verify and
# their `systemd-analyze security` exposure stays low; the cron file names
# the installed program; the tmpfiles.d entries create the runtime dirs;
# the production nginx site renders and passes `nginx -t`.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_cmd make

mk_tmpdir
dir=$WGP_TMP
stage=$dir/stage
# The layout of operations.md §1 needs the default prefix.
prefix=$(sed -n 's/^prefix = //p' "$top_builddir/Makefile")
[ "$prefix" = /usr/local ] || skip_all "configured with prefix $prefix, not /usr/local"
# Under `make check` the parent make's flags (jobserver, -k) are not ours.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" install DESTDIR="$stage" \
	>"$dir/install.log" 2>&1 || { diag "$(tail -n 20 "$dir/install.log")"; bail_out "make install failed"; }

# --- exactly these files -------------------------------------------------------------
expected() {
	cat <<'EOF'
/etc/cron.d/wgpilot
/usr/local/bin/wgpilot
/usr/local/lib/systemd/system/nginx.service.d/wgpilot.conf
/usr/local/lib/systemd/system/wgpilot-acme.path
/usr/local/lib/systemd/system/wgpilot-acme.service
/usr/local/lib/systemd/system/wgpilot-api.service
/usr/local/lib/systemd/system/wgpilot-reconciler.service
/usr/local/lib/systemd/system/wgpilot-sse.service
/usr/local/lib/tmpfiles.d/wgpilot.conf
/usr/local/libexec/wgpilot/wgpilot-api.fcgi
/usr/local/sbin/wgpilot-reconciler
/usr/local/share/wgpilot/nginx/security-headers.conf
/usr/local/share/wgpilot/nginx/wgpilot-local.conf.in
/usr/local/share/wgpilot/nginx/wgpilot.conf.in
EOF
	# the whole static UI, as in the source tree
	(cd "$top_srcdir" && find www -type f ! -name '.*' ! -name '*.sh') | sed 's|^|/usr/local/share/wgpilot/|'
}
got=$(cd "$stage" && find . \( -type f -o -type l \) | sed 's|^\.||' | LC_ALL=C sort)
want=$(expected | LC_ALL=C sort)
is "$got" "$want" "make install puts exactly the expected files in place"
[ "$got" = "$want" ] || diag "$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") || true)"
for p in /usr/local/bin/wgpilot /usr/local/sbin/wgpilot-reconciler /usr/local/libexec/wgpilot/wgpilot-api.fcgi; do
	ok "$p is executable" test -x "$stage$p"
done
is "$(stat -c %a "$stage/etc/cron.d/wgpilot")" 644 "cron file 0644 (cron ignores group/world-writable files)"
bad=$(grep -l '@[a-z]*dir@' -r "$stage" 2>/dev/null || true)
is "$bad" "" "no unsubstituted @...dir@ left in installed files"

# --- the units ------------------------------------------------------------------------
units=$stage/usr/local/lib/systemd/system
is "$(sed -n 's/^ExecStart=//p' "$units/wgpilot-reconciler.service")" /usr/local/sbin/wgpilot-reconciler \
	"reconciler unit runs the installed daemon"
is "$(sed -n 's/^ExecStart=//p' "$units/wgpilot-api.service")" \
	"/usr/local/libexec/wgpilot/wgpilot-api.fcgi --socket /run/wgpilot/api.sock --workers 4" \
	"API unit: pre-forking master on /run/wgpilot/api.sock"
val() { sed -n "s/^$2=//p" "$units/$1" | tr '\n' ' ' | sed 's/ $//'; }
is "$(val wgpilot-reconciler.service CapabilityBoundingSet)" CAP_NET_ADMIN "reconciler: bounding set CAP_NET_ADMIN only"
is "$(val wgpilot-reconciler.service AmbientCapabilities)" CAP_NET_ADMIN "reconciler: ambient CAP_NET_ADMIN (wireguard-go inherits it)"
is "$(val wgpilot-reconciler.service KillMode)" process "reconciler: KillMode=process keeps the tunnels across a restart"
is "$(val wgpilot-reconciler.service ReadWritePaths)" "/var/lib/wgpilot /run/wireguard" "reconciler: writable paths"
is "$(val wgpilot-reconciler.service RuntimeDirectory)" wgpilot "reconciler: RuntimeDirectory=wgpilot"
is "$(val wgpilot-reconciler.service User)/$(val wgpilot-reconciler.service Group)" wgpilot/wgpilot "reconciler: user and group wgpilot"
is "$(val wgpilot-api.service CapabilityBoundingSet)" "" "API: empty capability set"
is "$(val wgpilot-api.service RestrictAddressFamilies)" "AF_UNIX" "API: Unix sockets only"
for u in wgpilot-reconciler.service wgpilot-api.service wgpilot-sse.service; do
	miss=""
	for k in NoNewPrivileges ProtectSystem ProtectHome PrivateTmp ProtectKernelModules ProtectKernelLogs \
		LockPersonality RestrictRealtime RestrictSUIDSGID SystemCallArchitectures ReadOnlyPaths; do
		[ -n "$(val "$u" "$k")" ] || miss+=" $k"
	done
	is "$miss" "" "$u: the hardening of operations.md §4"
done
like "$(cat "$stage/usr/local/lib/systemd/system/nginx.service.d/wgpilot.conf")" $'After=wgpilot-api.service' \
	"nginx drop-in orders nginx after the API"

if command -v systemd-analyze >/dev/null; then
	# verify resolves ExecStart on the live system: check copies that point
	# into the stage instead.
	mkdir -p "$dir/verify"
	for u in wgpilot-reconciler wgpilot-api wgpilot-sse; do
		sed "s|/usr/local/|$stage/usr/local/|g" "$units/$u.service" >"$dir/verify/$u.service"
	done
	out=$(cd "$dir/verify" && systemd-analyze verify ./wgpilot-reconciler.service ./wgpilot-api.service \
		./wgpilot-sse.service 2>&1) && rc=0 || rc=$?
	is "$rc:$out" "0:" "systemd-analyze verify: no complaints"
	for u in wgpilot-reconciler wgpilot-api wgpilot-sse; do
		score=$(cd "$dir/verify" && systemd-analyze security --offline=yes "./$u.service" 2>/dev/null \
			| sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		diag "systemd-analyze security --offline=yes $u.service: exposure $score"
		case $u in
		wgpilot-reconciler) limit=2.0 ;;
		*) limit=1.0 ;;
		esac
		ok "$u exposure ${score:-?} <= $limit" awk -v s="${score:-99}" -v l="$limit" 'BEGIN { exit !(s <= l) }'
	done
else
	skip 4 "systemd-analyze not installed (apt-get install systemd)"
fi

# --- cron -----------------------------------------------------------------------------
cron=$stage/etc/cron.d/wgpilot
jobs=$(grep -Ev '^[[:space:]]*(#|$|[A-Z]+=)' "$cron")
is "$(grep -v ' tls apply$' <<<"$jobs" | awk '{ print $6 }' | sort -u)" wgpilot "every job but the TLS one runs as wgpilot"
is "$(grep -c ' /usr/local/bin/wgpilot ' <<<"$jobs")" 5 "five jobs call the installed wgpilot"
like "$(grep ' tls apply$' <<<"$jobs")" '^[0-9]+ +[0-9]+ \* \* \* +root ' "tls apply daily as root"
like "$(grep ' snapshot$' <<<"$jobs")" '^\* +\* \* \* \* ' "snapshot every minute"
like "$(grep ' compact$' <<<"$jobs")" '^[0-9]+ +[0-9]+ \* \* \* ' "compact daily"
like "$(grep ' expire$' <<<"$jobs")" '^[0-9]+ +\* \* \* \* ' "expire hourly"
like "$(grep ' gc$' <<<"$jobs")" '^[0-9]+-59/10 \* \* \* \* ' "gc every 10 minutes"

# --- tmpfiles -------------------------------------------------------------------------
tmpf=$stage/usr/local/lib/tmpfiles.d/wgpilot.conf
like "$(cat "$tmpf")" $'\nd /run/wgpilot +0750 wgpilot wgpilot -' "tmpfiles: /run/wgpilot"
like "$(cat "$tmpf")" $'\nd /run/wireguard +0770 root +wgpilot -' "tmpfiles: /run/wireguard"
if [ "$(id -u)" -eq 0 ] && id wgpilot >/dev/null 2>&1 && command -v systemd-tmpfiles >/dev/null; then
	# --root resolves users in the root's own /etc
	mkdir -p "$dir/root/run" "$dir/root/etc"
	cp /etc/passwd /etc/group "$dir/root/etc/"
	systemd-tmpfiles --root="$dir/root" --create "$tmpf" >/dev/null 2>&1 || true
	is "$(stat -c '%a %U %G' "$dir/root/run/wgpilot" 2>/dev/null)" "750 wgpilot wgpilot" "systemd-tmpfiles creates /run/wgpilot"
	is "$(stat -c '%a %U %G' "$dir/root/run/wireguard" 2>/dev/null)" "770 root wgpilot" "and /run/wireguard"
else
	skip 2 "systemd-tmpfiles --create needs root, the user wgpilot and systemd-tmpfiles"
fi

# --- the production nginx site -------------------------------------------------------------
site=$stage/usr/local/share/wgpilot/nginx/wgpilot.conf.in
share=$stage/usr/local/share/wgpilot
render() {  # LISTEN HTTP_LISTEN REDIRECT_PORT
	sed -e "s|@LISTEN@|$1|g" -e "s|@HTTP_LISTEN@|$2|g" -e "s|@REDIRECT_PORT@|$3|g" \
		-e "s|@SERVER_NAME@|_|g" -e "s|@CERT@|$dir/tls/crt.pem|g" -e "s|@KEY@|$dir/tls/key.pem|g" \
		-e "s|@ACME_WEBROOT@|$dir/acme|g" -e "s|@WWW@|$share/www|g" \
		-e "s|@HSTS_CONF@|$dir/tls/hsts.conf|g" \
		-e "s|@SECURITY_HEADERS@|$share/nginx/security-headers.conf|g" \
		-e "s|@API_SOCK@|/run/wgpilot/api.sock|g" -e "s|@SSE_SOCK@|/run/wgpilot/sse.sock|g" "$site"
}
render 127.0.0.1:8443 127.0.0.1:8080 :8443 >"$dir/site.conf"
is "$(grep -c '@[A-Z_]*@' "$dir/site.conf" || true)" 0 "every placeholder of the site is documented and filled"
conf=$(cat "$dir/site.conf")
like "$conf" 'ssl_protocols TLSv1.2 TLSv1.3;' "TLS 1.2 and 1.3 only"
like "$conf" 'location \^~ /.well-known/acme-challenge/ \{' "port 80 serves the ACME challenge"
like "$conf" 'return 301 https://\$host:8443\$request_uri;' "and redirects everything else to HTTPS"
like "$conf" 'client_max_body_size 1m;' "1 MiB bodies"
like "$conf" 'location = /api/system/restore \{[^}]*client_max_body_size 64m;' "64 MiB for restore"
like "$conf" 'location ~ \^/api/networks/\[0-9\]\+/events\$ \{[^}]*fastcgi_buffering off;' "SSE unbuffered"
like "$conf" 'client_header_timeout 10s;.*client_body_timeout 10s;.*send_timeout 30s;.*keepalive_timeout 120s;' \
	"timeouts of operations.md §5"
like "$conf" 'location = /index.html \{[^}]*Cache-Control "no-cache"' "index.html is never cached stale"
like "$conf" 'public, max-age=31536000, immutable' "versioned assets cached for a year"
like "$conf" "include $dir/tls/hsts.conf;" "HSTS from the hsts.conf served with the certificate"
if [ "$(id -u)" -eq 0 ] && command -v nginx >/dev/null && command -v openssl >/dev/null; then
	mkdir -p "$dir/tls" "$dir/acme" "$dir/nginx"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=test \
		-keyout "$dir/tls/key.pem" -out "$dir/tls/crt.pem" >/dev/null 2>&1
	echo 'map $scheme $wgp_hsts { default ""; }' >"$dir/tls/hsts.conf"
	cat >"$dir/nginx/nginx.conf" <<EOF
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path $dir/nginx/body;
    fastcgi_temp_path $dir/nginx/fastcgi;
    proxy_temp_path $dir/nginx/proxy;
    scgi_temp_path $dir/nginx/scgi;
    uwsgi_temp_path $dir/nginx/uwsgi;
    include $dir/site.conf;
}
EOF
	out=$(nginx -t -q -p "$dir/nginx" -c "$dir/nginx/nginx.conf" 2>&1) && rc=0 || rc=$?
	is "$rc" 0 "nginx -t accepts the rendered site"
	[ "$rc" -eq 0 ] || diag "$out"
	render '[::]:443' '[::]:80' '' >"$dir/site.conf"
	out=$(nginx -t -q -p "$dir/nginx" -c "$dir/nginx/nginx.conf" 2>&1) && rc=0 || rc=$?
	is "$rc" 0 "and with IPv6 on the default port"
	like "$(cat "$dir/site.conf")" 'return 301 https://\$host\$request_uri;' "redirect without a port for 443"
else
	skip 3 "nginx -t of the site needs root, nginx and openssl"
fi

done_testing
