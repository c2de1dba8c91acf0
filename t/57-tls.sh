#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `wgpilot tls apply` (operations.md §6, wgpilot/tlsjob.c) against real
# parts in a network namespace: certbot talking to pebble (Let's Encrypt's
# test ACME server, HTTP-01 validation switched off with
# PEBBLE_VA_ALWAYS_VALID), and an nginx of its own that serves
# certs/current and is reloaded by SIGHUP (counted in its error log).
# Covered: self-signed made, kept (second run changes nothing) and renewed
# near expiry; a reload that did not reach nginx (pid file naming another
# process) kept in certs/reload-pending and retried by the next run, once;
# ACME issue, idempotence, the queued --dry-run test, failure -> self-signed
# + tls_acme_fallback + alert + tls_status warning (one alert per episode);
# manual good pair switched, mismatched key / expired certificate / missing
# file never switched; ACME renewal against a second pebble that issues
# 20-day certificates (pebble's certificateValidityPeriod), so that both
# the job and certbot find them within their 30-day window: the job's
# `certbot renew` (deploy hook run, a no-op inside the job), a `certbot
# renew` outside the job whose deploy hook `wgpilot tls deployed` switches,
# each a new serial from pebble and one SIGHUP; a failed renewal keeps the
# valid certificate with tls_acme_renew_failed; the lock.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root
need_cmd certbot pebble nginx openssl sqlite3 flock python3 ip

mk_tmpdir
dir=$WGP_TMP
WGP=$top_builddir/wgpilot/wgpilot
ns=wgp-t57-$$
DATA=$dir/data
CERTS=$DATA/certs
DB=$DATA/wgpilot.db
PIDF=$dir/nginx/nginx.pid
mk_netns "$ns"

cat >"$dir/config.yaml" <<YAML
database:
  path: "$DATA/wgpilot.db"
auth:
  master_key_file: "$dir/master.key"
YAML
export WGPILOT_CONFIG=$dir/config.yaml
"$WGP" init >"$dir/init.log" 2>&1 || { diag "$(cat "$dir/init.log")"; bail_out "wgpilot init failed"; }

# --- pebble with a CA of our own for its HTTPS -------------------------------------
mkdir -p "$dir/peb"
(
	cd "$dir/peb"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=t57 CA" \
		-keyout ca.key -out ca.crt
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
		-keyout key.pem -out req.csr
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext.cnf
	openssl x509 -req -in req.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile ext.cnf -out cert.pem
) >/dev/null 2>&1 || bail_out "openssl could not make pebble's certificate"
cat >"$dir/peb/pebble.json" <<EOF
{"pebble": {"listenAddress": "127.0.0.1:14000", "managementListenAddress": "127.0.0.1:15000",
  "certificate": "$dir/peb/cert.pem", "privateKey": "$dir/peb/key.pem",
  "httpPort": 5002, "tlsPort": 5001, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF
PEBBLE_PID=""
pebble_up() {
	spawn "$dir/pebble.log" ip netns exec "$ns" env PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1 \
		PEBBLE_WFE_NONCEREJECT=0 pebble -config "$dir/peb/pebble.json"
	PEBBLE_PID=$SPAWN_PID
	wait_until 20 ip netns exec "$ns" curl -sf --cacert "$dir/peb/ca.crt" https://localhost:14000/dir
}
pebble_down() { kill "$PEBBLE_PID" 2>/dev/null; wait "$PEBBLE_PID" 2>/dev/null || true; }
# a second pebble for the renewal: its own port (so certbot keeps a separate
# account for it) and 20-day certificates
sed -e 's/:14000/:14100/; s/:15000/:15100/' \
	-e 's/"externalAccountBindingRequired": false/&, "certificateValidityPeriod": 1728000/' \
	"$dir/peb/pebble.json" >"$dir/peb/pebble-short.json"
SHORT_SERVER=https://localhost:14100/dir

# --- the job ------------------------------------------------------------------------
RUN=0
LOG=""
RC=0
# apply [VAR=VALUE...]: one `wgpilot tls apply` in the namespace; LOG, RC.
apply() {
	RUN=$((RUN + 1))
	LOG=$dir/apply.$RUN.log
	RC=0
	ip netns exec "$ns" env REQUESTS_CA_BUNDLE="$dir/peb/ca.crt" \
		WGPILOT_TLS_ACME_SERVER=https://localhost:14000/dir WGPILOT_TLS_NGINX_PID="$PIDF" \
		WGPILOT_TLS_CERTBOT_TIMEOUT=120 "$@" "$WGP" tls apply >"$LOG" 2>&1 || RC=$?
}
logged() { grep -q "\"msg\":\"$1\"" "$LOG"; }
status_json() { sqlite3 "$DB" "SELECT value FROM settings WHERE key = 'tls_status'"; }
st() { json_get "$(status_json)" "$1" 2>/dev/null || echo "-"; }
source_now() { cat "$CERTS/current/source" 2>/dev/null || echo none; }
issuer_of() { openssl x509 -noout -issuer -nameopt multiline -in "$1" 2>/dev/null | sed -n 's/^ *commonName *= //p'; }
fp() { openssl x509 -noout -fingerprint -sha256 -in "$1" 2>/dev/null | sed 's/.*=//'; }
serial_of() { openssl x509 -noout -serial -in "$1" 2>/dev/null | sed 's/.*=//'; }
days_left() { echo $(( ($(date -d "$(openssl x509 -noout -enddate -in "$1" | sed 's/.*=//')" +%s) - $(date +%s)) / 86400 )); }
not() { ! "$@"; }
served_fp() {
	ip netns exec "$ns" openssl s_client -connect 127.0.0.1:8443 -servername vpn.example.test \
		</dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//'
}
serves() { [ "$(served_fp)" = "$(fp "$CERTS/current/fullchain.pem")" ]; }
# hsts: the Strict-Transport-Security header nginx sends now ("" = none).
hsts() {
	ip netns exec "$ns" curl -sk -o /dev/null -D - https://127.0.0.1:8443/ 2>/dev/null \
		| tr -d '\r' | sed -n 's/^strict-transport-security: //Ip'
}
hups() { grep -c 'signal 1 (SIGHUP) received' "$dir/nginx/error.log" || true; }

# --- self-signed: made, served, then nothing changes ---------------------------------------
apply
is "$RC/$(source_now)" 0/self-signed "self-signed: first run serves certs/current from the self-signed pair"
is "$(fp "$CERTS/current/fullchain.pem")" "$(fp "$CERTS/selfsigned.crt")" "  a copy of selfsigned.crt"
is "$(stat -c '%a' "$CERTS/current/privkey.pem")/$(stat -c '%a' "$CERTS/current/fullchain.pem")" 600/644 \
	"  key 0600, certificate 0644"
is "$(readlink "$CERTS/current")" "$(cd "$CERTS" && ls -d served.*)" "  current is a symlink to the one served.* dir"

mkdir -p "$dir/nginx"
cat >"$dir/nginx/nginx.conf" <<EOF
pid $PIDF;
error_log $dir/nginx/error.log notice;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $dir/nginx/body;
    fastcgi_temp_path $dir/nginx/fastcgi;
    proxy_temp_path $dir/nginx/proxy;
    scgi_temp_path $dir/nginx/scgi;
    uwsgi_temp_path $dir/nginx/uwsgi;
    include $CERTS/current/hsts.conf;
    server {
        listen 127.0.0.1:8443 ssl;
        ssl_certificate $CERTS/current/fullchain.pem;
        ssl_certificate_key $CERTS/current/privkey.pem;
        add_header Strict-Transport-Security \$wgp_hsts always;
        location / { return 200 "ok\n"; }
    }
}
EOF
ip netns exec "$ns" nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" >"$dir/nginx/start.log" 2>&1 \
	|| { diag "$(cat "$dir/nginx/start.log")"; bail_out "nginx does not start"; }
on_exit sh -c 'kill -QUIT "$(cat "$1")" 2>/dev/null' sh "$PIDF"
wait_until 10 serves
ok "nginx serves the self-signed certificate from certs/current" serves
is "$(hsts)" "" "  no HSTS with the self-signed certificate (hsts.conf served with it)"

before=$(ls "$CERTS"; cat "$CERTS/selfsigned.crt"; status_json)
apply
is "$RC/$(hups)" 0/0 "second run: exit 0, no reload"
is "$(ls "$CERTS"; cat "$CERTS/selfsigned.crt"; status_json)" "$before" "  nothing changed (files, tls_status)"
ok "  logged tls_unchanged (debug) or no switch" bash -c "! grep -q '\"msg\":\"tls_switched\"' '$LOG'"

# --- self-signed near its end: made anew ---------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 10 -subj "/CN=old self-signed" \
	-keyout "$CERTS/selfsigned.key" -out "$CERTS/selfsigned.crt" >/dev/null 2>&1
old=$(fp "$CERTS/selfsigned.crt")
apply
ok "self-signed within 30 days of its end: tls_selfsigned_renewed" logged tls_selfsigned_renewed
is "$(issuer_of "$CERTS/selfsigned.crt")" "wgpilot self-signed" "  a new wgpilot certificate"
ok "  valid for a year again" openssl x509 -checkend $((300 * 86400)) -noout -in "$CERTS/selfsigned.crt"
ok "  switched and nginx reloaded" wait_until 10 serves
is "$(hups)" 1 "  exactly one SIGHUP"
new=$(fp "$CERTS/selfsigned.crt")
apply
is "$(fp "$CERTS/selfsigned.crt")/$(hups)" "$new/1" "  a fresh one is left alone (no new certificate, no reload)"
[ "$old" != "$new" ] && pass "  the old one is gone from selfsigned.crt" || fail "  the old one is gone from selfsigned.crt"

# --- a reload that does not reach nginx is retried by the next run ------------------------
sleep 600 &
stray=$!
on_exit kill "$stray"
echo "$stray" >"$dir/stray.pid"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 10 -subj "/CN=old self-signed" \
	-keyout "$CERTS/selfsigned.key" -out "$CERTS/selfsigned.crt" >/dev/null 2>&1
h=$(hups)
apply WGPILOT_TLS_NGINX_PID="$dir/stray.pid"
is "$RC" 0 "switch while the pid file names a process that is not nginx: exit 0"
ok "  logged tls_switched and WARN tls_nginx_reload_failed" bash -c "grep -q '\"msg\":\"tls_switched\"' '$LOG' && grep -q '\"msg\":\"tls_nginx_reload_failed\".*no nginx process' '$LOG'"
ok "  certs/reload-pending stays" test -e "$CERTS/reload-pending"
is "$(hups)" "$h" "  no SIGHUP (the other process was not signalled either)"
ok "  nginx still serves the old certificate" not serves
ok "  the stray process lives" kill -0 "$stray"
like "$("$WGP" diagnose 2>/dev/null || true)" '\[WARN\] tls: .*nginx was not reloaded yet' \
	"  diagnose warns that nginx owes a reload"
apply
ok "next run, nothing to switch: INFO tls_nginx_reload_retry" logged tls_nginx_reload_retry
ok "  then tls_nginx_reloaded" logged tls_nginx_reloaded
ok "  no switch" not logged tls_switched
is "$(hups)" $((h + 1)) "  exactly one SIGHUP"
ok "  nginx serves the new certificate" wait_until 10 serves
ok "  certs/reload-pending removed" test ! -e "$CERTS/reload-pending"
apply
is "$RC/$(hups)" "0/$((h + 1))" "  a third run: no retry, no SIGHUP"
ok "  and no tls_nginx_reload_retry" not logged tls_nginx_reload_retry
kill "$stray"

# --- acme: issue through certbot and pebble --------------------------------------------------
pebble_up || bail_out "pebble does not start: $(tail -n 5 "$dir/pebble.log")"
ACME=(WGPILOT_TLS_MODE=acme WGPILOT_TLS_ACME_DOMAIN=vpn.example.test)
apply "${ACME[@]}"
is "$RC/$(source_now)" 0/acme "acme: certbot certonly, then certs/current is the ACME pair"
like "$(issuer_of "$CERTS/current/fullchain.pem")" '^Pebble Intermediate CA' "  issued by pebble"
is "$(fp "$CERTS/current/fullchain.pem")" "$(fp "$CERTS/acme/live/vpn.example.test/fullchain.pem")" \
	"  from certs/acme/live/<domain> (certbot --config-dir certs/acme)"
ok "  logged tls_provisioned" logged tls_provisioned
ok "  nginx reloaded and serves it" wait_until 10 serves
is "$(hsts)" "max-age=31536000; includeSubDomains" "  HSTS now: a certificate browsers trust"
is "$(hups)" 3 "  one more SIGHUP"
like "$(grep -h '^renew_hook\|^server' "$CERTS/acme/renewal/vpn.example.test.conf" | tr '\n' ' ')" \
	"renew_hook = $WGP --config $dir/config.yaml --data-dir $DATA tls deployed server = https://localhost:14000/dir" \
	"  renewal config: our deploy hook and the configured ACME server"
is "$(st '$.ok')/$(st '$.warning')" "true/-" "  tls_status: ok, no warning"
diagj=$(env "${ACME[@]}" "$WGP" diagnose --json 2>/dev/null || true)
like "$diagj" 'acme mode for vpn.example.test, [^"]*current/fullchain.pem \(served\) valid until [0-9-]+ \([0-9]+ days\), issuer \\"Pebble Intermediate CA' \
	"  diagnose names the served certificate and its issuer"
apply "${ACME[@]}"
is "$RC/$(hups)/$(source_now)" 0/3/acme "acme again: nothing to do, no reload"
ok "  certbot not started (the certificate is far from its end)" bash -c "! grep -q tls_certbot_started '$LOG'"

# --- the test queue ----------------------------------------------------------------------------
sqlite3 "$DB" "INSERT OR REPLACE INTO settings (key, value) VALUES ('tls_status', '{\"test_requested_at\":1,\"ok\":false,\"at\":1,\"message\":\"old\"}')"
t0=$(date +%s)
apply "${ACME[@]}"
is "$(st '$.test_requested_at')" - "queued test: taken (test_requested_at removed)"
is "$(st '$.ok')" true "  certbot --dry-run against pebble: ok"
like "$(st '$.message')" 'dry-run for vpn.example.test succeeded' "  message"
ok "  at is the time of the run" test "$(st '$.at')" -ge "$t0"
is "$(hups)/$(source_now)" 3/acme "  nothing switched by the test"

# --- acme failure: fallback, warning, one alert per episode -------------------------------------
pebble_down
FAIL=(WGPILOT_TLS_MODE=acme WGPILOT_TLS_ACME_DOMAIN=other.example.test)
apply "${FAIL[@]}"
is "$RC/$(source_now)" 0/self-signed "acme failure (pebble down, new domain): the self-signed pair is served"
ok "  WARN tls_acme_fallback" logged tls_acme_fallback
ok "  alert_fired for it" grep -q '"msg":"alert_fired".*"type":"tls_acme_fallback"' "$LOG"
is "$(st '$.warning.code')/$(st '$.ok')" "tls_acme_fallback/false" "  tls_status: warning + failed result for the UI"
like "$(st '$.warning.message')" 'other.example.test.*serving the self-signed certificate' "  warning message"
ok "  nginx reloaded onto the self-signed certificate" wait_until 10 serves
is "$(hsts)" "" "  and HSTS is off again"
since=$(st '$.warning.since')
apply "${FAIL[@]}"
ok "  second failing run: no second alert" bash -c "! grep -q '\"msg\":\"alert_fired\"' '$LOG'"
is "$(st '$.warning.since')" "$since" "  same episode (since kept)"

# --- manual -------------------------------------------------------------------------------------
mkdir -p "$dir/manual"
(
	cd "$dir/manual"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 5 -subj "/CN=Manual Test CA" \
		-keyout ca.key -out ca.crt
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=vpn.example.test \
		-keyout good.key -out good.csr
	openssl x509 -req -in good.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 90 -out good.crt
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key
) >/dev/null 2>&1
python3 - "$dir/manual" <<'PY' || diag "python3-cryptography missing: no expired certificate"
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expired.example.test")])
now = datetime.datetime.utcnow()
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=30))
        .not_valid_after(now - datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
d = sys.argv[1]
open(d + "/expired.crt", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(d + "/expired.key", "wb").write(key.private_bytes(serialization.Encoding.PEM,
     serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
PY
manual() { apply WGPILOT_TLS_MODE=manual WGPILOT_TLS_CERT_FILE="$1" WGPILOT_TLS_KEY_FILE="$2"; }
h=$(hups)
manual "$dir/manual/good.crt" "$dir/manual/good.key"
is "$RC/$(source_now)" 0/manual "manual good pair: switched"
is "$(fp "$CERTS/current/fullchain.pem")" "$(fp "$dir/manual/good.crt")" "  certs/current holds it"
ok "  nginx reloaded and serves it" wait_until 10 serves
is "$(hsts)" "max-age=31536000; includeSubDomains" "  with HSTS (a manual certificate counts as real)"
is "$(hups)" $((h + 1)) "  one SIGHUP"
ok "  the ACME warning is cleared (alert_cleared)" logged alert_cleared
is "$(st '$.warning')/$(st '$.ok')" "-/true" "  tls_status without warning"

bad_manual() {  # CRT KEY WHAT
	local h0
	h0=$(hups)
	manual "$1" "$2"
	is "$RC/$(source_now)" 0/self-signed "manual $3: not served, the self-signed pair instead"
	ok "  WARN tls_manual_fallback + alert" bash -c "grep -q '\"msg\":\"tls_manual_fallback\"' '$LOG' && grep -q '\"msg\":\"alert_fired\"' '$LOG'"
	is "$(st '$.warning.code')" tls_manual_fallback "  tls_status warning"
	ok "  nginx still serves (the self-signed certificate)" wait_until 10 serves
	is "$(hups)" $((h0 + 1)) "  one reload, onto the self-signed pair"
	# back to the good pair, so that the next bad one starts from manual;
	# served means nginx has taken (and logged) that SIGHUP before the next
	# count starts
	manual "$dir/manual/good.crt" "$dir/manual/good.key"
	wait_until 10 serves || true
}
bad_manual "$dir/manual/good.crt" "$dir/manual/other.key" "mismatched key"
like "$(json_get "$(grep '"msg":"tls_manual_fallback"' "$dir/apply.$((RUN - 1)).log")" '$.error')" 'does not belong' \
	"  the reason names the key"
if [ -s "$dir/manual/expired.crt" ]; then
	bad_manual "$dir/manual/expired.crt" "$dir/manual/expired.key" "expired certificate"
else
	skip 5 "no expired certificate (python3-cryptography)"
fi
bad_manual "$dir/manual/missing.crt" "$dir/manual/good.key" "missing file"

# a queued test in manual mode reports the check, ok or not
sqlite3 "$DB" "UPDATE settings SET value = json_set(value, '$.test_requested_at', 5) WHERE key = 'tls_status'"
manual "$dir/manual/good.crt" "$dir/manual/other.key"
is "$(st '$.test_requested_at')/$(st '$.ok')" "-/false" "manual test with a mismatched key: ok false"
like "$(st '$.message')" 'does not belong' "  message says why"

# --- acme renewal: a pebble issuing 20-day certificates -----------------------------------------
spawn "$dir/pebble-short.log" ip netns exec "$ns" env PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1 \
	PEBBLE_WFE_NONCEREJECT=0 pebble -config "$dir/peb/pebble-short.json"
SHORT_PID=$SPAWN_PID
wait_until 20 ip netns exec "$ns" curl -sf --cacert "$dir/peb/ca.crt" "$SHORT_SERVER" \
	|| bail_out "the second pebble does not start: $(tail -n 5 "$dir/pebble-short.log")"
REN=(WGPILOT_TLS_MODE=acme WGPILOT_TLS_ACME_DOMAIN=renew.example.test)
LIVE=$CERTS/acme/live/renew.example.test
wait_until 10 serves || true    # the last switch's SIGHUP is logged before counting
h=$(hups)
apply "${REN[@]}" WGPILOT_TLS_ACME_SERVER=$SHORT_SERVER
is "$RC/$(source_now)" 0/acme "renewal setup: a certificate for renew.example.test from the second pebble"
ok "  logged tls_provisioned" logged tls_provisioned
d=$(days_left "$LIVE/fullchain.pem")
ok "  valid for 20 days ($d), inside the 30-day window" test "$d" -ge 18 -a "$d" -le 20
ok "  nginx serves it" wait_until 10 serves
is "$(hups)" $((h + 1)) "  one SIGHUP"
serial1=$(serial_of "$CERTS/current/fullchain.pem")

# the job's renewal: `certbot renew`, whose deploy hook (a no-op inside the job)
# runs; debug logging so that the hook's own line shows in certbot's log
# (certbot rotates letsencrypt.log at each start: it holds this run only)
h=$(hups)
apply "${REN[@]}" WGPILOT_TLS_ACME_SERVER=$SHORT_SERVER WGPILOT_LOGGING_LEVEL=debug
serial2=$(serial_of "$CERTS/current/fullchain.pem")
is "$RC/$(source_now)" 0/acme "renewal by the job (certificate within 30 days of its end): exit 0, acme"
ok "  certbot renew ran" grep -q '"msg":"tls_certbot_started".*"run":"renew"' "$LOG"
ok "  and succeeded" grep -q '"msg":"tls_certbot_done".*"run":"renew"' "$LOG"
ok "  certbot ran our deploy hook" grep -q "Running deploy-hook command: $WGP .*tls deployed" \
	"$CERTS/acme/logs/letsencrypt.log"
ok "  which saw it runs inside the job (tls_deploy_hook_in_job)" grep -q tls_deploy_hook_in_job \
	"$CERTS/acme/logs/letsencrypt.log"
ok "  logged tls_renewed" logged tls_renewed
ok "  a new serial ($serial1 -> $serial2)" test -n "$serial2" -a "$serial2" != "$serial1"
like "$(issuer_of "$CERTS/current/fullchain.pem")" '^Pebble Intermediate CA' "  issued by pebble"
is "$(fp "$CERTS/current/fullchain.pem")" "$(fp "$LIVE/fullchain.pem")" "  current/ holds certbot's renewed lineage"
ok "  nginx serves it" wait_until 10 serves
is "$(hups)" $((h + 1)) "  exactly one SIGHUP"
is "$(st '$.warning')/$(st '$.ok')" "-/true" "  tls_status: ok, no warning"
like "$(st '$.message')" 'now serving the acme certificate for renew.example.test' "  and says what is served"

# certbot renewing outside the job (an admin, another scheduler): the renewal
# config's deploy hook `wgpilot tls deployed` switches and reloads
h=$(hups)
rc=0
ip netns exec "$ns" env REQUESTS_CA_BUNDLE="$dir/peb/ca.crt" WGPILOT_TLS_NGINX_PID="$PIDF" "${REN[@]}" \
	certbot renew --no-random-sleep-on-renew --cert-name renew.example.test --non-interactive \
	--config-dir "$CERTS/acme" --work-dir "$CERTS/acme/work" --logs-dir "$CERTS/acme/logs" \
	>"$dir/certbot-renew.log" 2>&1 || rc=$?
serial3=$(serial_of "$CERTS/current/fullchain.pem")
is "$rc" 0 "renewal by certbot outside the job: exit 0"
ok "  its deploy hook switched (tls_switched in certbot's output)" grep -q '"msg":"tls_switched".*"source":"acme"' \
	"$dir/certbot-renew.log"
ok "  a new serial ($serial2 -> $serial3)" test -n "$serial3" -a "$serial3" != "$serial2"
is "$(fp "$CERTS/current/fullchain.pem")" "$(fp "$LIVE/fullchain.pem")" "  current/ holds the renewed lineage"
ok "  nginx serves it" wait_until 10 serves
is "$(hups)" $((h + 1)) "  exactly one SIGHUP"
is "$(st '$.warning')/$(st '$.ok')" "-/true" "  tls_status: no warning"
ok "  certs/reload-pending removed" test ! -e "$CERTS/reload-pending"

# a failed renewal while the certificate is still valid: kept, warned
kill "$SHORT_PID"
wait "$SHORT_PID" 2>/dev/null || true
h=$(hups)
apply "${REN[@]}" WGPILOT_TLS_ACME_SERVER=$SHORT_SERVER
is "$RC/$(source_now)" 0/acme "renewal fails (pebble down): exit 0, still acme"
ok "  certbot renew ran and failed" grep -q '"msg":"tls_certbot_failed".*"run":"renew"' "$LOG"
ok "  WARN tls_acme_renew_failed" logged tls_acme_renew_failed
is "$(serial_of "$CERTS/current/fullchain.pem")" "$serial3" "  the valid certificate is kept"
ok "  not the self-signed one" not logged tls_acme_fallback
is "$(hups)" "$h" "  no SIGHUP"
ok "  nginx still serves it" serves
is "$(st '$.warning.code')/$(st '$.ok')" "tls_acme_renew_failed/false" "  tls_status: warning for the UI"
like "$(st '$.warning.message')" 'renew.example.test failed: .*the current one stays until [0-9-]+' "  warning message"
ok "  alert_fired for it" grep -q '"msg":"alert_fired".*"type":"tls_acme_renew_failed"' "$LOG"

# --- the lock -------------------------------------------------------------------------------------
before=$(ls -l "$CERTS"; status_json)
flock "$DATA/.lock-tls" sleep 3 &
holder=$!
on_exit kill "$holder"
sleep 0.5
manual "$dir/manual/good.crt" "$dir/manual/good.key"
is "$RC" 0 "lock held: a second run exits 0"
ok "  logged job_already_running" logged job_already_running
is "$(ls -l "$CERTS"; status_json)" "$before" "  and changed nothing"
wait "$holder" || true

# two real runs at once: the first in certbot (a slow stand-in), the second skips
cat >"$dir/slow-certbot" <<'EOF'
#!/bin/sh
sleep 3
echo "stand-in certbot: no certificate" >&2
exit 1
EOF
chmod 0755 "$dir/slow-certbot"
ip netns exec "$ns" env WGPILOT_TLS_CERTBOT="$dir/slow-certbot" WGPILOT_TLS_NGINX_PID="$PIDF" "${FAIL[@]}" \
	"$WGP" tls apply >"$dir/first.log" 2>&1 &
first=$!
on_exit kill "$first"
sleep 1
apply "${FAIL[@]}"
is "$RC" 0 "concurrent runs: the second exits 0"
ok "  and logged job_already_running" logged job_already_running
ok "  the first finishes (exit 0)" wait "$first"
ok "  after running the stand-in certbot" grep -q '"msg":"tls_certbot_failed".*stand-in certbot' "$dir/first.log"

done_testing
