#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# GET /api/settings/tls and POST /api/settings/tls/test (api.md §9,
# operations.md §6) through the real stack (nginx + TLS, FastCGI workers,
# SQLite) in a network namespace: the certificate of each tls.mode
# (self-signed from `wgpilot init`; manual and ACME with certificates made
# here by the openssl CLI; the self-signed fallback when the ACME one is
# missing), the test queue in the setting tls_status, the audit row, the
# viewer's 403 and the access levels.
#
# The stack is restarted with WGPILOT_TLS_* in its environment: quickstart
# rewrites config.yaml on every up, and the environment beats the file.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root
need_cmd curl sqlite3 wireguard-go nginx ip openssl

api_test_env tls
api_test_up
API_LOG=$state/logs/api.log
SELF=$state/data/certs/selfsigned.crt

sql() { sqlite3 "$DB" "$1"; }
db_state() {
	sql "SELECT 's', key, value FROM settings ORDER BY key; SELECT 'l', COUNT(*) FROM audit_log;"
}
# Requests go through api_as WHO: anon, a session name (cookie jar
# $dir/NAME.jar) or key=KEY.
# bad WHO METHOD PATH STATUS CODE DESC: refused, and the DB unchanged.
bad() {
	api_refused "$4" "$5" "$6" api_as "$1" "$2" "$3"
}
# tls FIELD: a field of the last answer ("-" when absent).
tls() { json_get "$API_BODY" "\$.$1" 2>/dev/null || echo -; }
# not_after CRT: the certificate's notAfter in Unix seconds.
not_after() { date -u -d "$(openssl x509 -in "$1" -noout -enddate | sed 's/^notAfter=//')" +%s; }
# mkcert NAME SUBJECT DAYS: a self-signed certificate $dir/NAME.crt (+ .key).
mkcert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$3" \
		-subj "$2" -keyout "$dir/$1.key" -out "$dir/$1.crt" 2>/dev/null
	chmod 0644 "$dir/$1.crt" "$dir/$1.key"
}
# restart NAME=VALUE...: the stack again with these in its environment
# (exported for stack_up only, as t/62 does with dev mode).
restart() {
	local kv rc=0
	stack_down "$ns" "$state" >/dev/null 2>&1 || true
	for kv; do export "${kv?}"; done
	stack_up "$ns" "$state" >/dev/null || rc=$?
	for kv; do unset "${kv%%=*}"; done
	if [ $rc -eq 0 ]; then
		pass "stack restarts with $*"
	else
		fail "stack restarts with $*"
		stack_logs "$state"
		done_testing
	fi
}
audit_mark() { AUDIT_MARK=$(sql "SELECT COALESCE(MAX(id), 0) FROM audit_log"); }
audit_since() {
	sql "SELECT COALESCE(group_concat(action || ' ' || resource || ' ' || detail, '; '), '')
		FROM (SELECT action, resource, detail FROM audit_log WHERE id > $AUDIT_MARK ORDER BY id)"
}

# --- before setup completes -------------------------------------------------------------
wizard_admin admin
bad admin GET /api/settings/tls 403 SETUP_REQUIRED "GET tls before setup: 403 SETUP_REQUIRED"
bad admin POST /api/settings/tls/test 403 SETUP_REQUIRED "POST tls/test before setup: 403 SETUP_REQUIRED"
wizard_finish 10.78.0.0/24 admin
api_as admin POST /api/users '{"username":"viewer1","password":"viewer-pass-1"}'
api_status 201 "a viewer"
api_as viewer POST /api/auth/login '{"username":"viewer1","password":"viewer-pass-1"}'
api_status 200 "the viewer logs in"
api_as viewer POST /api/api-keys '{"name":"ro","role":"viewer"}'
api_status 201 "a viewer API key"
vkey=$(json_get "$API_BODY" '$.key')

# --- self-signed (the default) -----------------------------------------------------------
# `wgpilot init` makes certs/ 0710 root:wgpilot so the API workers (service
# user) can read the public certificate; the key stays 0600 root. A state dir
# made by an older init (0700 root) gets the error answer, checked here
# before search permission is granted by hand.
svc_group=$(stat -c %G "$state/data")
if ! ip netns exec "$ns" setpriv --reuid="$(stat -c %U "$state/data")" --regid="$svc_group" \
	--init-groups test -r "$SELF"; then
	api_as admin GET /api/settings/tls
	like "$API_STATUS $(json_get "$API_BODY" '$.cert_expiry') $(json_get "$API_BODY" '$.cert_error')" \
		'^200 null .*selfsigned\.crt: Permission denied$' "certs/ unreadable for the service user: 200, cert_error"
	chgrp "$svc_group" "$state/data/certs"
	chmod 0710 "$state/data/certs"
fi
api_as admin GET /api/settings/tls
api_status 200 "GET /api/settings/tls"
is "$(json_keys "$API_BODY" '$')" mode,domain,cert_expiry,issuer,last_test,fallback "the spec's fields (+ fallback)"
is "$(tls mode)" self-signed "mode self-signed by default"
is "$(tls domain)" null "domain null without acme_domain or hostname"
is "$(tls cert_expiry)" "$(not_after "$SELF")" "cert_expiry = notAfter of selfsigned.crt"
days=$(( ($(tls cert_expiry) - $(date +%s)) / 86400 ))
like "$days" '^36[45]$' "self-signed certificate valid about 365 days (got $days)"
is "$(tls issuer)" "wgpilot self-signed" "issuer: the CN of the self-signed certificate"
is "$(tls last_test)" null "last_test null before any test"
is "$(tls fallback)" false "no fallback"
api_as viewer GET /api/settings/tls
api_status 200 "the viewer reads it too"
api_as "key=$vkey" GET /api/settings/tls
api_status 200 "... and a viewer API key"
api_as admin PUT /api/settings '{"hostname":"vpn.example.com"}'
api_status 200 "set the hostname"
api_as admin GET /api/settings/tls
is "$(tls domain)" vpn.example.com "domain from the hostname setting"

# --- refused requests -----------------------------------------------------------------------
bad anon GET /api/settings/tls 401 UNAUTHORIZED "GET without credentials: 401"
bad anon POST /api/settings/tls/test 401 UNAUTHORIZED "POST test without credentials: 401"
bad viewer POST /api/settings/tls/test 403 FORBIDDEN "viewer POST test: 403"
bad "key=$vkey" POST /api/settings/tls/test 403 FORBIDDEN "viewer API key POST test: 403"
bad admin PUT /api/settings/tls 405 METHOD_NOT_ALLOWED "PUT /api/settings/tls: 405"
bad admin POST /api/settings/tls 405 METHOD_NOT_ALLOWED "POST /api/settings/tls: 405"
bad admin GET /api/settings/tls/test 405 METHOD_NOT_ALLOWED "GET /api/settings/tls/test: 405"
bad admin DELETE /api/settings/tls/test 405 METHOD_NOT_ALLOWED "DELETE /api/settings/tls/test: 405"
bad admin POST /api/settings/tls/test/1 404 NOT_FOUND "unknown path below tls/test: 404"
api_as admin PUT /api/settings '{"tls_status":"{}"}'
api_expect 400 VALIDATION_ERROR "tls_status cannot be set through PUT /api/settings"

# --- the test queue ----------------------------------------------------------------------------
audit_mark
t0=$(date +%s)
api_as admin POST /api/settings/tls/test
api_status 202 "POST /api/settings/tls/test: 202"
is "$API_BODY" '{"status":"queued"}' "answer {\"status\":\"queued\"}"
t1=$(date +%s)
stored=$(sql "SELECT value FROM settings WHERE key='tls_status'")
at=$(json_get "$stored" '$.test_requested_at' || echo -)
if [[ $at =~ ^[0-9]+$ ]] && [ "$at" -ge "$t0" ] && [ "$at" -le "$t1" ]; then
	pass "tls_status.test_requested_at is the request time"
else
	fail "tls_status.test_requested_at is the request time"
	diag "  tls_status: $stored (want $t0..$t1)"
fi
is "$(json_keys "$stored" '$')" test_requested_at "nothing else stored"
is "$(audit_since)" 'settings.updated settings {"tls_test":"queued"}' "audited as settings.updated {\"tls_test\":\"queued\"}"
like "$(grep -c '"tls_test_queued"' "$API_LOG")" '^[1-9]' "logged (tls_test_queued)"
api_as admin GET /api/settings/tls
is "$(json_get "$API_BODY" '$.last_test.test_requested_at')" "$at" "GET shows the queued request in last_test"
audit_mark
sleep 1
api_as admin POST /api/settings/tls/test
api_status 202 "a second request while one is queued: 202 again"
is "$(sql "SELECT value FROM settings WHERE key='tls_status'")" "$stored" "  ... tls_status unchanged (not queued twice)"
is "$(audit_since)" "" "  ... and no second audit row"

# The root job took the request and wrote its result.
result='{"ok":false,"at":1700000000,"message":"dry run: connection refused","domain":"vpn.example.com"}'
sql "UPDATE settings SET value=$(sql_quote "$result") WHERE key='tls_status'"
api_as admin GET /api/settings/tls
is "$(json_get "$API_BODY" '$.last_test.ok')/$(json_get "$API_BODY" '$.last_test.at')/$(json_get "$API_BODY" '$.last_test.message')" \
	"false/1700000000/dry run: connection refused" "last_test: the job's result"
audit_mark
api_as admin POST /api/settings/tls/test
api_status 202 "a new request after the result"
stored=$(sql "SELECT value FROM settings WHERE key='tls_status'")
is "$(json_keys "$stored" '$')" ok,at,message,domain,test_requested_at "previous result fields kept, request added"
is "$(json_get "$stored" '$.message')" "dry run: connection refused" "  ... values unchanged"
is "$(audit_since)" 'settings.updated settings {"tls_test":"queued"}' "  ... audited"

# A tls_status that is not a JSON object: GET ignores it, POST starts afresh.
for junk in 'not json' '[1,2]' '"text"' '{"test_requested_at":"soon"}'; do
	sql "UPDATE settings SET value=$(sql_quote "$junk") WHERE key='tls_status'"
	api_as admin GET /api/settings/tls
	if [ "$junk" = '{"test_requested_at":"soon"}' ]; then
		is "$API_STATUS/$(json_get "$API_BODY" '$.last_test.test_requested_at')" 200/soon "tls_status $junk: shown as stored"
	else
		is "$API_STATUS/$(tls last_test)" 200/null "tls_status $junk: GET 200, last_test null"
	fi
	api_as admin POST /api/settings/tls/test
	stored=$(sql "SELECT value FROM settings WHERE key='tls_status'")
	like "$API_STATUS $stored" '^202 \{.*"test_requested_at":[0-9]+\}$' "tls_status $junk: POST queues a proper request"
done

# --- manual ---------------------------------------------------------------------------------------
mkcert manual "/O=Test Org/CN=manual.example.net" 30
restart WGPILOT_TLS_MODE=manual WGPILOT_TLS_CERT_FILE="$dir/manual.crt" WGPILOT_TLS_KEY_FILE="$dir/manual.key"
api_as admin GET /api/settings/tls
api_status 200 "manual: GET"
is "$(tls mode)/$(tls fallback)" manual/false "mode manual"
is "$(tls cert_expiry)" "$(not_after "$dir/manual.crt")" "manual: cert_expiry of tls.cert_file"
days=$(( ($(tls cert_expiry) - $(date +%s)) / 86400 ))
like "$days" '^(29|30)$' "manual: 30 days (got $days)"
is "$(tls issuer)" manual.example.net "manual: issuer CN"
mkcert org-only "/O=Only Org Ltd/OU=Ops" 10
cp "$dir/org-only.crt" "$dir/manual.crt"
api_as admin GET /api/settings/tls
is "$(tls issuer)" "Only Org Ltd" "an issuer without CN: its O"
is "$(tls cert_expiry)" "$(not_after "$dir/org-only.crt")" "  ... read on every request (no restart)"
# Certificates that cannot be read: 200 with nulls and cert_error.
printf 'garbage\n' >"$dir/manual.crt"
api_as admin GET /api/settings/tls
is "$API_STATUS/$(tls cert_expiry)/$(tls issuer)" 200/null/null "manual: no PEM certificate: nulls"
like "$(tls cert_error)" 'manual\.crt: no readable certificate$' "  ... and cert_error says why"
like "$(grep -c '"tls_cert_unreadable"' "$API_LOG")" '^[1-9]' "  ... WARN tls_cert_unreadable"
rm -f "$dir/manual.crt"
api_as admin GET /api/settings/tls
like "$API_STATUS $(tls cert_error)" '^200 .*manual\.crt: No such file or directory$' "manual: missing file: cert_error"
cat "$dir/manual.key" "$SELF" >"$dir/manual.crt"
api_as admin GET /api/settings/tls
is "$(tls issuer)" "wgpilot self-signed" "manual: a PEM with the key first: the first certificate counts"
restart WGPILOT_TLS_MODE=manual
api_as admin GET /api/settings/tls
is "$API_STATUS/$(tls cert_error)/$(tls cert_expiry)" "200/tls.cert_file is not set/null" "manual without tls.cert_file"

# --- acme ----------------------------------------------------------------------------------------
restart WGPILOT_TLS_MODE=acme WGPILOT_TLS_ACME_DOMAIN=vpn.example.org
api_as admin GET /api/settings/tls
api_status 200 "acme: GET"
is "$(tls mode)/$(tls domain)" acme/vpn.example.org "acme: domain from tls.acme_domain (beats hostname)"
is "$(tls fallback)/$(tls issuer)" "true/wgpilot self-signed" "acme without its certificate: the self-signed fallback"
is "$(tls cert_expiry)" "$(not_after "$SELF")" "  ... with the self-signed expiry"
live=$state/data/certs/acme/live/vpn.example.org
mkcert acme "/C=US/O=Let's Encrypt/CN=R11" 90
install -d -m 0755 "$state/data/certs/acme" "$state/data/certs/acme/live" "$live"
install -m 0644 "$dir/acme.crt" "$live/fullchain.pem"
api_as admin GET /api/settings/tls
is "$(tls fallback)/$(tls issuer)" false/R11 "acme: the certificate in certs/acme/live/<domain>"
is "$(tls cert_expiry)" "$(not_after "$dir/acme.crt")" "  ... its expiry"
restart WGPILOT_TLS_MODE=acme
api_as admin GET /api/settings/tls
is "$(tls domain)/$(tls fallback)" vpn.example.com/true "acme: domain from the hostname setting; no certificate for it: fallback"
api_as admin PUT /api/settings '{"hostname":""}'
api_as admin GET /api/settings/tls
is "$API_STATUS/$(tls domain)/$(tls fallback)/$(tls issuer)" "200/null/true/wgpilot self-signed" "acme without any domain: fallback"
api_as admin POST /api/settings/tls/test
api_status 202 "acme: the test is queued"

# Stop the stack so leak reports of exiting workers reach the logs too.
stack_down "$ns" "$state" >/dev/null 2>&1 || true
ok "no sanitizer reports in the logs" bash -c "test -s '$API_LOG' && ! grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' '$state'/logs/*.log"
if [ "$TAP_FAILED" -gt 0 ]; then
	stack_logs "$state"
fi
done_testing
