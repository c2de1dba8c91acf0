#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The wgpilot command: init, version, config check, migrate, usage errors.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_cmd sqlite3

WGP=$top_builddir/wgpilot/wgpilot
API=$top_builddir/cgi/wgpilot-api.fcgi
mk_tmpdir
dir=$WGP_TMP

cat >"$dir/config.yaml" <<YAML
# a test configuration
database:
  path: "$dir/data/wgpilot.db"
auth:
  master_key_file: "$dir/etc/master.key"
logging:
  level: warn
YAML

mode() { stat -c %a "$1"; }

# --- version and usage -------------------------------------------------------
out=$("$WGP" version)
like "$out" '^wgpilot [0-9]+\.[0-9]+\.[0-9]+' "version prints the version"
like "$out" $'\n  commit: [^\n]+\n  built:  [^\n]+$' "version prints commit and build date"
rc=0; err=$("$WGP" frobnicate 2>&1 >/dev/null) || rc=$?
is "$rc" 2 "unknown command exits 2"
like "$err" "unknown command 'frobnicate'" "unknown command is named"
like "$err" "usage: wgpilot" "usage printed to stderr"
rc=0; "$WGP" --no-such-flag version >/dev/null 2>&1 || rc=$?
is "$rc" 2 "bad flag exits 2"
rc=0; "$WGP" >/dev/null 2>&1 || rc=$?
is "$rc" 2 "no command exits 2"

# --- init ------------------------------------------------------------------------
out=$("$WGP" --config "$dir/config.yaml" init)
like "$out" "Database initialized at $dir/data/wgpilot.db" "init reports the DB path"
otp=$(sed -n 's/^One-time setup password: //p' <<<"$out")
like "$otp" '^[A-Za-z0-9]{16}$' "one-time setup password is 16 alphanumerics"
is "$(mode "$dir/data")" 750 "data dir is 0750"
is "$(mode "$dir/data/wgpilot.db")" 640 "DB is 0640"
is "$(mode "$dir/etc/master.key")" 640 "master key is 0640"
is "$(stat -c %s "$dir/etc/master.key")" 32 "master key holds 32 bytes"
is "$(mode "$dir/data/certs/selfsigned.key")" 600 "certificate key is 0600"
ok "self-signed certificate is valid X.509" openssl x509 -in "$dir/data/certs/selfsigned.crt" -noout
hash=$(sqlite3 "$dir/data/wgpilot.db" "SELECT value FROM settings WHERE key='setup_otp'")
like "$hash" '^\$argon2id\$' "only an Argon2id hash of the password is stored"
ok "the password itself is not in the DB" bash -c "! grep -qa '$otp' '$dir/data/wgpilot.db'"
is "$(sqlite3 "$dir/data/wgpilot.db" 'SELECT COUNT(*) FROM _migrations')" "$(find "$top_srcdir/db" -name '[0-9]*.sql' | wc -l)" \
	"all migrations recorded"
key_before=$(sha256sum <"$dir/etc/master.key")

out=$("$WGP" --config "$dir/config.yaml" init)
like "$out" "^Already initialized: $dir/data/wgpilot.db \(nothing changed\)$" "second init says nothing changed"
is "$(sqlite3 "$dir/data/wgpilot.db" "SELECT value FROM settings WHERE key='setup_otp'")" "$hash" \
	"second init keeps the setup password"
is "$(sha256sum <"$dir/etc/master.key")" "$key_before" "second init keeps the master key"

out=$("$WGP" --config "$dir/config.yaml" init --admin-pass=my-chosen-setup-pass)
like "$out" "One-time setup password: my-chosen-setup-pass" "init --admin-pass sets the given password"

# --- migrate -----------------------------------------------------------------------
out=$("$WGP" --config "$dir/config.yaml" migrate)
like "$out" "^0 migrations applied" "migrate on a current DB is a no-op"
cp "$dir/data/wgpilot.db" "$dir/newer.db"
sqlite3 "$dir/newer.db" "INSERT INTO _migrations(filename) VALUES ('999_future.sql')"
rc=0; err=$("$WGP" --data-dir "$dir/x" --config "$dir/config.yaml" migrate 2>&1) || rc=$?
is "$rc" 1 "migrate without a DB fails"
mkdir -p "$dir/newdir" && cp "$dir/newer.db" "$dir/newdir/wgpilot.db"
rc=0; err=$("$WGP" --config "$dir/config.yaml" --data-dir "$dir/newdir" migrate 2>&1) || rc=$?
is "$rc" 1 "a DB newer than the program is refused"
like "$err" "newer than this program" "the refusal says why"

# --- config check and precedence --------------------------------------------------
out=$("$WGP" --config "$dir/config.yaml" config check)
like "$out" "data dir: +$dir/data" "config check shows the data dir"
like "$out" "listen: +0.0.0.0:443" "default listen address"
like "$out" "config OK" "valid config passes"
out=$(WGPILOT_SERVER_LISTEN=127.0.0.1:9443 "$WGP" --config "$dir/config.yaml" config check)
like "$out" "listen: +127.0.0.1:9443" "environment overrides the default"
printf 'server:\n  listen: "10.0.0.1:443"\n' >"$dir/listen.yaml"
out=$(WGPILOT_SERVER_LISTEN=127.0.0.1:9443 "$WGP" --config "$dir/listen.yaml" config check)
like "$out" "listen: +127.0.0.1:9443" "environment overrides the file"
out=$(WGPILOT_DATABASE_PATH=/tmp/env.db "$WGP" --config "$dir/config.yaml" --data-dir "$dir/flag" config check)
like "$out" "database: +$dir/flag/wgpilot.db" "--data-dir overrides environment and file"

cat >"$dir/bad.yaml" <<'YAML'
server:
  listen: "127.0.0.1:8443"
  colour: blue
auth:
  session_ttl: forever
logging:
  level: loud
YAML
rc=0; err=$("$WGP" --config "$dir/bad.yaml" config check 2>&1) || rc=$?
is "$rc" 1 "bad config fails the check"
like "$err" "bad.yaml:3: server.colour" "unknown key reported with its line"
like "$err" "bad.yaml:5: auth.session_ttl" "bad duration reported with its line"
like "$err" "bad.yaml:7: logging.level" "bad enum reported with its line"
like "$err" "3 problems found" "every problem is reported"
rc=0; "$WGP" --config "$dir/missing.yaml" config check >/dev/null 2>&1 || rc=$?
is "$rc" 1 "an explicitly named missing config file is an error"

# --- the API worker refuses to start without its key -----------------------------
rc=0; err=$(WGPILOT_AUTH_MASTER_KEY_FILE=$dir/none.key timeout 10 "$API" --config "$dir/config.yaml" \
	--socket "$dir/api.sock" --workers 1 2>&1) || rc=$?
is "$rc" 1 "API worker refuses to start without the master key"
like "$err" "master_key_unavailable" "and says why"
ok "it did not create its socket" test ! -e "$dir/api.sock"

done_testing
