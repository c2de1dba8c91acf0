#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The wgpilot cron jobs and maintenance commands (operations.md §2, §4;
# monitoring.md §2-§4, §6; peers.md §6) against a temp DB and a fake
# reconciler socket that serves canned status replies and records opcodes:
# snapshot (skip rule, transitions), alerts (one notification per episode,
# re-arming; log delivery, e-mail to a local SMTP sink in a network
# namespace), compaction of a synthetic year, expiry, gc, locks, backup,
# restore and diagnose. With root also the benchmarks: a snapshot pass of
# 10,000 peers against the real reconciler and wireguard-go in a network
# namespace, compaction of a year for 1,000 peers, DB size per peer.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"

WGP=$top_builddir/wgpilot/wgpilot
REC=$top_builddir/reconciler/wgpilot-reconciler
GEN=$top_builddir/bench/gen-peers

# --- benchmark: snapshot of 10,000 peers, inside a private net+mount ns ------
if [ "${1:-}" = --bench-snapshot ]; then
	out=$2
	mount -t tmpfs -o mode=0755 tmpfs /var/run/wireguard 2>/dev/null \
		|| { mkdir -p /var/run/wireguard && mount -t tmpfs tmpfs /var/run/wireguard; }
	work=$(dirname "$out")/snap
	mkdir -p "$work"
	cat >"$work/config.yaml" <<YAML
database:
  path: "$work/data/wgpilot.db"
auth:
  master_key_file: "$work/master.key"
logging:
  level: info
reconciler:
  socket: "$work/rec.sock"
  backend: userspace
  userspace_binary: /usr/bin/wireguard-go
  resync_interval: 3650d
YAML
	"$WGP" --config "$work/config.yaml" init >/dev/null 2>&1
	"$GEN" --config "$work/config.yaml" --peers 10000 "$work/setconf.conf" >/dev/null
	"$REC" --config "$work/config.yaml" 2>"$work/rec.log" &
	rec=$!
	# The reconciler and the wireguard-go it started (by pid; whatever is
	# left in the namespace is killed when the outer test deletes it).
	trap 'kids=$(pgrep -P $rec || true); kill $rec $kids 2>/dev/null; wait $rec 2>/dev/null; true' EXIT
	for _ in $(seq 600); do
		"$WGP" --config "$work/config.yaml" status >/dev/null 2>&1 && break
		sleep 0.1
	done
	kernel=$(wg show wg0 peers 2>/dev/null | wc -l)
	run() {
		local t0 t1
		t0=$(date +%s.%N)
		"$WGP" --config "$work/config.yaml" snapshot --once 2>"$work/snap.log" || echo "failed=1" >>"$out"
		t1=$(date +%s.%N)
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
	}
	first=$(run)
	ins1=$(sed -n 's/.*"inserted":\([0-9]*\).*/\1/p' "$work/snap.log")
	ms1=$(sed -n 's/.*"msg":"snapshot_complete".*"duration_ms":\([0-9.]*\).*/\1/p' "$work/snap.log")
	second=$(run)
	skip2=$(sed -n 's/.*"skipped_unchanged":\([0-9]*\).*/\1/p' "$work/snap.log")
	ms2=$(sed -n 's/.*"msg":"snapshot_complete".*"duration_ms":\([0-9.]*\).*/\1/p' "$work/snap.log")
	printf 'kernel=%s\nfirst=%s\nins1=%s\nms1=%s\nsecond=%s\nskip2=%s\nms2=%s\n' "$kernel" "$first" \
		"${ins1:-0}" "${ms1:-0}" "$second" "${skip2:-0}" "${ms2:-0}" >>"$out"
	exit 0
fi

need_cmd sqlite3 python3 flock
mk_tmpdir
dir=$WGP_TMP
DB=$dir/data/wgpilot.db
cfg=$dir/config.yaml
cat >"$cfg" <<YAML
database:
  path: "$DB"
auth:
  master_key_file: "$dir/master.key"
logging:
  level: info
reconciler:
  socket: "$dir/rec.sock"
YAML
"$WGP" --config "$cfg" init >/dev/null 2>&1
"$GEN" --config "$cfg" --peers 3 --port 51820 --subnet 10.70.0.0/24 "$dir/net1.conf" >/dev/null
sql() { sqlite3 -batch -cmd 'PRAGMA foreign_keys=ON' "$DB" "$@"; }
now() { date +%s; }

# job ARGS...: runs wgpilot; JOB_RC, JOB_OUT (stdout), JOB_ERR (the log).
job() {
	JOB_RC=0
	"$WGP" --config "$cfg" "$@" >"$dir/job.out" 2>"$dir/job.err" || JOB_RC=$?
	JOB_OUT=$(cat "$dir/job.out")
	JOB_ERR=$(cat "$dir/job.err")
}
# nmsg MSG: how many log lines of the last job have msg MSG.
nmsg() { grep -c "\"msg\":\"$1\"" "$dir/job.err" || true; }
# field MSG KEY: KEY (a number or a string) of the last MSG line.
field() {
	grep "\"msg\":\"$1\"" "$dir/job.err" | tail -n 1 \
		| sed -n "s/.*\"$2\":\(\"[^\"]*\"\|[-0-9.a-z]*\).*/\1/p" | tr -d '"'
}

# --- the fake reconciler ---------------------------------------------------------
cat >"$dir/fake-rec.py" <<'PY'
import json, os, socket, sys
path, status_file, ops_log = sys.argv[1:4]
if os.path.exists(path):
    os.unlink(path)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(16)
while True:
    c, _ = srv.accept()
    with c, c.makefile('rwb') as f:
        try:
            req = json.loads(f.readline())
        except ValueError:
            req = {}
        with open(ops_log, 'a') as o:
            o.write(json.dumps(req, sort_keys=True) + "\n")
        op = req.get('op')
        try:
            if op == 'status':
                with open(status_file) as sf:
                    reply = json.load(sf)
                reply['ok'] = True
            elif op == 'ping':
                reply = {'ok': True, 'version': 'fake', 'backend': 'fake', 'started_at': 0}
            elif op == 'detect':
                reply = {'ok': True, 'interfaces': [{'name': 'wgorphan9', 'device_type': 'userspace', 'up': True}]}
            else:
                reply = {'ok': True}
        except (OSError, ValueError) as e:
            reply = {'ok': False, 'code': 'INTERNAL_ERROR', 'message': str(e)}
        f.write((json.dumps(reply) + "\n").encode())
        f.flush()
PY
UNKNOWN_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
# kstatus UP SPEC...: wg0 (up: true/false) with the peers of SPEC
# "id:handshake:rx:tx"; id 0 is a peer the DB does not know.
kstatus() {
	local up=$1 vals="" s id hs rx tx
	shift
	for s in "$@"; do
		IFS=: read -r id hs rx tx <<<"$s"
		vals+="${vals:+,}($id,$hs,$rx,$tx)"
	done
	[ -n "$vals" ] || vals="(-1,0,0,0)"
	sql "WITH k(id, hs, rx, tx) AS (VALUES $vals)
		SELECT json_object('interfaces', json_array(json_object('name', 'wg0', 'up', json('$up'),
		  'listen_port', 51820, 'peers', (SELECT json_group_array(json_object(
		  'public_key', COALESCE(p.public_key, '$UNKNOWN_KEY'), 'endpoint', '192.0.2.7:51000',
		  'last_handshake', k.hs, 'rx_bytes', k.rx, 'tx_bytes', k.tx))
		  FROM k LEFT JOIN peers p ON p.id = k.id WHERE k.id >= 0))))" >"$dir/status.tmp"
	mv "$dir/status.tmp" "$dir/status.json"
}
nops() { grep -c "\"op\": \"$1\"" "$dir/ops.log" || true; }

# --- usage -------------------------------------------------------------------------
rc=0; "$WGP" --config "$cfg" snapshot --bogus >/dev/null 2>&1 || rc=$?
is "$rc" 2 "unknown flag of a job: usage error"
rc=0; "$WGP" --config "$cfg" compact --once >/dev/null 2>&1 || rc=$?
is "$rc" 2 "a flag of another command is refused"
rc=0; "$WGP" --config "$cfg" restore >/dev/null 2>&1 || rc=$?
is "$rc" 2 "restore without a file: usage error"
rc=0; "$WGP" --config "$cfg" backup a.db b.db >/dev/null 2>&1 || rc=$?
is "$rc" 2 "backup with two paths: usage error"
like "$("$WGP" --help)" "snapshot \[--once\]" "usage lists the jobs"

# --- snapshot ----------------------------------------------------------------------
job snapshot --once
is "$JOB_RC" 1 "snapshot without a reconciler fails"
like "$JOB_ERR" '"msg":"poll_peer_status_failed".*"hint"' "and logs poll_peer_status_failed with a hint"

kstatus true "1:$(($(now) - 10)):1000:2000" "2:0:0:0" "0:0:5:5"
spawn "$dir/fake.log" python3 "$dir/fake-rec.py" "$dir/rec.sock" "$dir/status.json" "$dir/ops.log"
wait_until 10 test -S "$dir/rec.sock" || bail_out "fake reconciler did not start"

job snapshot --once
is "$JOB_RC" 0 "snapshot --once"
like "$JOB_ERR" '"task_id":"task_poller_[0-9]+"' "task id task_poller_<unix>"
is "$(field snapshot_complete inserted)" 2 "one row per kernel peer known to the DB"
is "$(field snapshot_complete unknown_peers)" 1 "unknown kernel peers are skipped"
is "$(sql 'SELECT COUNT(DISTINCT timestamp) FROM peer_snapshots')" 1 "one timestamp for the whole pass"
is "$(sql 'SELECT peer_id, rx_bytes, tx_bytes, online FROM peer_snapshots ORDER BY peer_id' | tr '\n' ' ')" \
	"1|1000|2000|1 2|0|0|0 " "counters and online state stored"
h0=$(($(now) / 3600))
job snapshot --once
if [ "$h0" -eq $(($(now) / 3600)) ]; then
	is "$(field snapshot_complete skipped_unchanged)" 2 "unchanged samples are not stored again"
else
	skip 1 "an hour boundary passed between the two passes"
fi
like "$JOB_ERR" '"skip_rule":"unchanged counters' "the log says so"
is "$(nmsg peer_online)$(nmsg peer_offline)" 00 "first sightings log no transition"

kstatus true "1:$(($(now) - 600)):1500:2500" "2:$(($(now) - 5)):10:20"
job snapshot --once
is "$(field snapshot_complete inserted)" 2 "changed peers get a new sample"
like "$(grep peer_offline "$dir/job.err")" '"peer_id":1,.*"last_seen":[0-9]+' "peer_offline logged with last_seen"
like "$(grep peer_online "$dir/job.err")" '"peer_id":2,.*"endpoint":"192.0.2.7:51000"' "peer_online logged with the endpoint"

# without --once: a second sample at second 30 of the minute
sec=$((10#$(date +%S)))
job snapshot
if [ "$sec" -lt 28 ]; then
	is "$(nmsg snapshot_complete)" 2 "without --once: sampled again at :30 (started at :$sec)"
	is "$((10#$(date +%S) >= 30))" 1 "the second sample waited until second 30"
elif [ "$sec" -gt 30 ]; then
	is "$(nmsg snapshot_complete)" 1 "without --once, started after :30: one sample only"
	pass "no wait after :30"
else
	skip 2 "started too close to second 30 to tell"
fi

# --- alerts --------------------------------------------------------------------------
# Fresh history: only a sample of peer 1 two minutes ago, 0 bytes.
sql "DELETE FROM peer_snapshots; UPDATE peers SET created_at = unixepoch() - 3600;
	INSERT INTO alerts (id, type, threshold, notify) VALUES
	  (1, 'peer_offline', '10m', 'log'), (2, 'interface_down', 'immediate', 'log'),
	  (3, 'transfer_spike', '1MB/minute', 'log');
	INSERT INTO peer_snapshots VALUES (1, unixepoch() - 120, 0, 0, 1);"
# peer 1 online and 10 MB up in two minutes; 2 never connected; 3 not in the kernel
kstatus true "1:$(($(now) - 5)):8000000:3000000" "2:0:10:20"
job snapshot --once
is "$(nmsg alert_fired)" 3 "three alerts fire: two peers offline, one spike"
like "$(grep alert_fired "$dir/job.err" | grep '"subject":"peer:2"')" '"type":"peer_offline".*"delivery":"log"' \
	"peer 2 (handshake 0) offline"
like "$(grep alert_fired "$dir/job.err" | grep '"subject":"peer:3"')" '"offline_since":null' \
	"never-seen peer 3 counts from created_at"
like "$(grep alert_fired "$dir/job.err" | grep '"type":"transfer_spike"')" '"subject":"peer:1".*"bytes":11000000' \
	"transfer_spike over the trailing window"
like "$(grep alert_fired "$dir/job.err" | head -n 1)" '"level":"WARN"' "alert_fired is a WARN line"
is "$(sql 'SELECT COUNT(*) FROM alert_state')" 3 "episodes recorded in alert_state"
job snapshot --once
is "$(nmsg alert_fired)" 0 "the next run notifies nothing new"
is "$(sql 'SELECT COUNT(*) FROM alert_state')" 3 "episodes still open"

kstatus true "1:$(($(now) - 5)):8000000:3000000" "2:$(($(now) - 5)):10:20"
job snapshot --once
like "$JOB_ERR" '"msg":"alert_cleared".*"subject":"peer:2"' "peer 2 back online: its alert re-arms"
is "$(sql "SELECT COUNT(*) FROM alert_state WHERE subject = 'peer:2'")" 0 "its episode is closed"
kstatus true "1:$(($(now) - 5)):8000000:3000000" "2:$(($(now) - 700)):10:20"
job snapshot --once
is "$(grep alert_fired "$dir/job.err" | grep -c '"subject":"peer:2"' || true)" 1 \
	"offline again beyond the threshold: fires once more"

kstatus false "1:$(($(now) - 5)):8000000:3000000" "2:$(($(now) - 700)):10:20"
job snapshot --once
like "$(grep alert_fired "$dir/job.err" || true)" '"type":"interface_down","subject":"network:1"' "interface_down fires"
job snapshot --once
is "$(nmsg alert_fired)" 0 "interface_down only once per episode"
kstatus true "1:$(($(now) - 5)):8000000:3000000" "2:$(($(now) - 700)):10:20"
job snapshot --once
like "$JOB_ERR" '"msg":"alert_cleared".*"subject":"network:1"' "interface up again: re-armed"
sql "UPDATE alerts SET enabled = 0 WHERE id IN (1, 2, 3)"
job snapshot --once
is "$(sql 'SELECT COUNT(*) FROM alert_state')" 0 "disabled alerts drop their episodes"

# e-mail alert without SMTP settings degrades to the log
sql "UPDATE peers SET enabled = 0 WHERE id = 3;
	INSERT INTO alerts (id, type, threshold, notify) VALUES (4, 'peer_offline', '10m', 'email')"
job snapshot --once
like "$(grep alert_fired "$dir/job.err" || true)" '"alert_id":4,.*"delivery":"log \(e-mail not configured\)"' \
	"e-mail without SMTP settings: logged instead"
# an unreachable SMTP server: logged, with the reason
sql "INSERT OR REPLACE INTO settings VALUES ('smtp_host', '127.0.0.1'), ('smtp_port', '1'),
	('smtp_from', 'wgpilot@example.test'), ('alert_email', 'admin@example.test'), ('smtp_tls', 'false');
	DELETE FROM alert_state"
job snapshot --once
if grep -q '"delivery":"log (e-mail failed)"' "$dir/job.err"; then
	pass "SMTP failure: the alert is logged instead"
	like "$JOB_ERR" '"msg":"alert_email_failed".*"error"' "and the failure is logged with curl's reason"
elif grep -q alert_email_unavailable "$dir/job.err"; then
	skip 2 "built without libcurl"
else
	fail "SMTP failure: the alert is logged instead"
	diag "$JOB_ERR"
	skip 1 "no SMTP failure seen"
fi

SMTP_PY=python3
[ -x /usr/bin/python3 ] && SMTP_PY=/usr/bin/python3
if [ "$(id -u)" -ne 0 ] || ! "$SMTP_PY" -c 'import aiosmtpd' 2>/dev/null || ! command -v ip >/dev/null \
	|| grep -q alert_email_unavailable "$dir/job.err"; then
	skip 6 "e-mail delivery needs root, ip, python3-aiosmtpd and libcurl"
else
	ns=wgp-jobs-$$
	mk_netns "$ns"
	spawn "$dir/smtp.log" ip netns exec "$ns" "$SMTP_PY" -m aiosmtpd -n -l 127.0.0.1:2525 \
		-c aiosmtpd.handlers.Mailbox "$dir/mail"
	wait_until 15 ip netns exec "$ns" bash -c 'exec 3<>/dev/tcp/127.0.0.1/2525' || diag "SMTP sink did not start"
	sql "UPDATE settings SET value = '2525' WHERE key = 'smtp_port'; DELETE FROM alert_state"
	job_ns() { JOB_RC=0; ip netns exec "$ns" "$WGP" --config "$cfg" "$@" >"$dir/job.out" 2>"$dir/job.err" || JOB_RC=$?; }
	job_ns snapshot --once
	like "$(grep alert_fired "$dir/job.err" || true)" '"alert_id":4,.*"delivery":"email"' "alert delivered by e-mail"
	tap_last_ok || diag "$(cat "$dir/job.err" "$dir/smtp.log")"
	job_ns snapshot --once
	wait_until 5 test -n "$(ls -A "$dir/mail/new" 2>/dev/null)" || true
	sleep 0.5
	is "$(find "$dir/mail/new" -type f | wc -l)" 1 "the SMTP sink got exactly one mail"
	mail=$(cat "$dir/mail/new"/* 2>/dev/null || true)
	like "$mail" $'Subject: \\[wgpilot\\] Peer [^\n]+ offline' "subject names the peer"
	like "$mail" 'Content-Type: text/html; charset="UTF-8"' "HTML, UTF-8"
	like "$mail" $'MIME-Version: 1.0' "MIME-Version header"
	like "$mail" '<b>[^<]+</b> of network <b>[^<]+</b> has (been offline since|not connected since)' \
		"body names peer and network in bold and says since when"
fi
sql "DELETE FROM alerts; DELETE FROM settings WHERE key LIKE 'smtp_%' OR key = 'alert_email';
	UPDATE peers SET enabled = 1"

# --- expire --------------------------------------------------------------------------
"$GEN" --config "$cfg" --peers 1 --port 51821 --subnet 10.71.0.0/24 --disabled "$dir/net2.conf" >/dev/null
sql "UPDATE peers SET expires_at = unixepoch() - 60 WHERE id IN (1, 4);
	UPDATE peers SET expires_at = unixepoch() + 3600 WHERE id = 2"
: >"$dir/ops.log"
job expire
is "$JOB_RC" 0 "expire"
is "$(sql 'SELECT id FROM peers WHERE enabled = 0 ORDER BY id' | tr '\n' ' ')" "1 4 " "expired peers disabled, others kept"
is "$(sql 'SELECT COUNT(*) FROM peers')" 4 "expired peers are not deleted"
is "$(sql "SELECT resource || ',' || IFNULL(user_id, 'NULL') FROM audit_log WHERE action = 'peer.expired' ORDER BY id" | tr '\n' ' ')" \
	"peer:1,NULL peer:4,NULL " "audit peer.expired with user NULL"
is "$(nmsg peer_expired_disabled)" 2 "peer_expired_disabled logged for each"
is "$(field expiry_check_complete expired)" 2 "expiry_check_complete counts them"
is "$(nops apply_peer)" 1 "apply_peer sent only for the peer of the enabled network"
like "$(grep apply_peer "$dir/ops.log")" '"network_id": 1, "op": "apply_peer", "peer_id": 1' "with its ids"
job expire
is "$(field expiry_check_complete expired)" 0 "a second run changes nothing"
is "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'peer.expired'")" 2 "and audits nothing"

# --- gc ----------------------------------------------------------------------------
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600)
	INSERT INTO log_entries (ts, level, msg) SELECT unixepoch(), 'WARN', 'line_' || i FROM n;
	INSERT INTO login_attempts VALUES ('192.0.2.1', unixepoch() - 3600), ('192.0.2.1', unixepoch() - 700),
	  ('192.0.2.2', unixepoch() - 30), ('192.0.2.2', unixepoch())"
job gc
is "$JOB_RC" 0 "gc"
is "$(sql 'SELECT COUNT(*) FROM login_attempts')" 2 "login attempts older than 10 min purged"
is "$(sql 'SELECT COUNT(*) || MIN(msg) || MAX(id) FROM log_entries')" "500line_101600" "log_entries trimmed to the newest 500"
is "$(field gc_complete log_entries_trimmed)" 100 "gc_complete reports the counts"
ok "public IP check stamped" test -f "$dir/data/.public-ip-checked"
like "$JOB_ERR" 'public_ip_(refreshed|undetected)' "the public IP was checked"
job gc
unlike=$(nmsg public_ip_refreshed)$(nmsg public_ip_undetected)
is "$unlike" 00 "and not again within a day"

# --- locks: one instance at a time ---------------------------------------------------
flock "$dir/data/.lock-compactor" sleep 3 &
locker=$!
sleep 0.3
job compact
is "$JOB_RC" 0 "a job whose lock is held exits 0"
like "$JOB_ERR" '"msg":"job_already_running"' "and says another instance runs"
wait "$locker"

# --- compaction of a synthetic year --------------------------------------------------
# Per peer: a sample every 30 s for 48 h, every 5 min back to 40 days, hourly
# back to 400 days; cumulative counters, online alternating by the hour.
sql "DELETE FROM peer_snapshots;
	WITH RECURSIVE
	  r(ts) AS (SELECT unixepoch() - 172800 UNION ALL SELECT ts + 30 FROM r WHERE ts + 30 < unixepoch()),
	  m(ts) AS (SELECT unixepoch() - 40 * 86400 UNION ALL SELECT ts + 300 FROM m WHERE ts + 300 < unixepoch() - 172800),
	  h(ts) AS (SELECT unixepoch() - 400 * 86400 UNION ALL SELECT ts + 3600 FROM h WHERE ts + 3600 < unixepoch() - 40 * 86400),
	  a(ts) AS MATERIALIZED (SELECT ts FROM r UNION ALL SELECT ts FROM m UNION ALL SELECT ts FROM h)
	INSERT INTO peer_snapshots SELECT p.id, a.ts, (a.ts - 1700000000) * p.id, (a.ts - 1700000000) * p.id / 3,
	  (a.ts / 3600 + p.id) % 2 FROM peers p, a WHERE p.id <= 3 ORDER BY p.id, a.ts;
	DROP TABLE IF EXISTS orig; CREATE TABLE orig AS SELECT * FROM peer_snapshots"
before=$(sql 'SELECT COUNT(*) FROM peer_snapshots')
job compact
is "$JOB_RC" 0 "compact"
raw_from=$(field compaction_complete raw_from)
hourly_from=$(field compaction_complete hourly_from)
daily_from=$(field compaction_complete daily_from)
is "$(field compaction_complete rows_before)" "$before" "compaction_complete reports rows_before"
is "$(field compaction_complete rows_after)" "$(sql 'SELECT COUNT(*) FROM peer_snapshots')" "and rows_after"
is "$(( (raw_from % 3600) + (hourly_from % 86400) + (daily_from % 86400) ))" 0 "tier starts aligned to their buckets"
ok "raw tier starts 24-25 h back" test $(( $(now) - raw_from )) -ge 86400 -a $(( $(now) - raw_from )) -le 90000
is "$(sql "SELECT COUNT(*) FROM peer_snapshots WHERE timestamp >= $raw_from")" \
	"$(sql "SELECT COUNT(*) FROM orig WHERE timestamp >= $raw_from")" "< 24 h: raw samples untouched"
is "$(sql "SELECT COUNT(*) FROM peer_snapshots WHERE timestamp >= $hourly_from AND timestamp < $raw_from")" \
	"$(sql "SELECT COUNT(DISTINCT peer_id || ':' || (timestamp / 3600)) FROM orig WHERE timestamp >= $hourly_from AND timestamp < $raw_from")" \
	"1-30 days: one row per peer and hour"
is "$(sql "SELECT COUNT(*) FROM peer_snapshots WHERE timestamp >= $hourly_from AND timestamp < $raw_from AND timestamp % 3600 <> 0")" 0 \
	"hourly rows sit at the bucket start"
is "$(sql "SELECT COUNT(*) FROM peer_snapshots WHERE timestamp >= $daily_from AND timestamp < $hourly_from")" \
	"$(sql "SELECT COUNT(DISTINCT peer_id || ':' || (timestamp / 86400)) FROM orig WHERE timestamp >= $daily_from AND timestamp < $hourly_from")" \
	"30-365 days: one row per peer and day"
is "$(sql "SELECT COUNT(*) FROM peer_snapshots WHERE timestamp < $daily_from")" 0 "older than the retention: deleted"
# every compacted row carries the latest original counters of its bucket and max(online)
check_tier() {  # FROM TO SIZE
	sql "WITH b AS (SELECT peer_id, timestamp - timestamp % $3 AS bucket, MAX(timestamp) AS last,
		  MAX(online) AS online FROM orig WHERE timestamp >= $1 AND timestamp < $2 GROUP BY 1, 2)
		SELECT COUNT(*) FROM b JOIN orig o ON o.peer_id = b.peer_id AND o.timestamp = b.last
		LEFT JOIN peer_snapshots s ON s.peer_id = b.peer_id AND s.timestamp = b.bucket
		WHERE s.rx_bytes IS NOT o.rx_bytes OR s.tx_bytes IS NOT o.tx_bytes OR s.online IS NOT b.online"
}
is "$(check_tier "$hourly_from" "$raw_from" 3600)" 0 "hourly buckets keep the latest counters (transfer preserved), online = max"
is "$(check_tier "$daily_from" "$hourly_from" 86400)" 0 "daily buckets keep the latest counters, online = max"
is "$(sql 'SELECT group_concat(rx_bytes) FROM (SELECT MAX(timestamp), rx_bytes FROM peer_snapshots GROUP BY peer_id)')" \
	"$(sql 'SELECT group_concat(rx_bytes) FROM (SELECT MAX(timestamp), rx_bytes FROM orig GROUP BY peer_id)')" \
	"each peer's newest counter is unchanged"
for t in raw hourly daily; do
	case $t in
	raw) w="timestamp >= $raw_from" ;;
	hourly) w="timestamp >= $hourly_from AND timestamp < $raw_from" ;;
	daily) w="timestamp < $hourly_from" ;;
	esac
	diag "rows per peer, $t tier: $(sql "SELECT COUNT(*) / 3 FROM peer_snapshots WHERE $w") (before: $(sql "SELECT COUNT(*) / 3 FROM orig WHERE $w"))"
done
sum1=$(sql 'SELECT COUNT(*), TOTAL(rx_bytes), TOTAL(tx_bytes), TOTAL(online), TOTAL(timestamp) FROM peer_snapshots')
job --log-level debug compact
is "$(sql 'SELECT COUNT(*), TOTAL(rx_bytes), TOTAL(tx_bytes), TOTAL(online), TOTAL(timestamp) FROM peer_snapshots')" "$sum1" \
	"compaction is idempotent"
like "$JOB_ERR" '"msg":"compaction_noop"' "a second run logs compaction_noop"
sql "DROP TABLE orig"

# --- backup and restore ---------------------------------------------------------------
job backup --output "$dir/b1.db"
is "$JOB_OUT" "Backup created: $dir/b1.db" "backup --output prints the path"
is "$(stat -c %a "$dir/b1.db")" 640 "the backup is 0640"
is "$(sqlite3 "$dir/b1.db" 'SELECT COUNT(*) FROM peers')" 4 "it holds the data"
is "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'backup.created' AND user_id IS NULL")" 1 "audited"
job backup
like "$JOB_OUT" "^Backup created: $dir/data/wgpilot-backup-[0-9]{8}-[0-9]{6}\.db$" "default name in the data dir"
job backup "$dir/b1.db"
is "$JOB_RC" 1 "an existing file is not overwritten"

sql "DELETE FROM peers WHERE id = 2"
printf 'not a database at all, just text that is long enough\n' >"$dir/junk.db"
job restore "$dir/junk.db"
is "$JOB_RC" 1 "restoring junk fails"
like "$JOB_ERR" "not an SQLite database" "and says why"
is "$(sql 'SELECT COUNT(*) FROM peers')" 3 "the database is unchanged"
cp "$dir/b1.db" "$dir/newer.db"
sqlite3 "$dir/newer.db" "INSERT INTO _migrations (filename) VALUES ('999_future.sql')"
job restore "$dir/newer.db"
is "$JOB_RC" 1 "a backup of a newer schema is refused"
like "$JOB_ERR" "newer wgpilot" "newer schema named"
sqlite3 "$dir/b1.db" "VACUUM INTO '$dir/nomig.db'"
sqlite3 "$dir/nomig.db" "DROP TABLE _migrations"
job restore "$dir/nomig.db"
like "$JOB_ERR" "no _migrations table" "a DB without _migrations is refused"
head -c 40000 "$dir/b1.db" >"$dir/truncated.db"
job restore "$dir/truncated.db"
is "$JOB_RC" 1 "a truncated backup is refused"
job restore "$dir/b1.db"
is "$JOB_RC" 0 "restore of a good backup"
tap_last_ok || diag "$JOB_ERR"
like "$JOB_OUT" "^Database restored from $dir/b1.db" "prints Database restored from"
like "$JOB_OUT" "systemctl restart wgpilot-reconciler wgpilot-api" "and asks for a restart"
is "$(sql 'SELECT COUNT(*) FROM peers')" 4 "the deleted peer is back"
is "$(sql 'PRAGMA integrity_check')" ok "integrity ok after restore"
is "$(stat -c %a "$DB")" 640 "the DB stays 0640"
is "$(find "$dir/data" -name '.restore-*' -o -name '*.pre-restore-*' | wc -l)" 0 "no temp copies left behind"

# --- diagnose -----------------------------------------------------------------------
job diagnose
like "$JOB_OUT" $'\\[PASS\\] database: integrity ok, schema current' "diagnose: database check"
like "$JOB_OUT" $'\\[PASS\\] reconciler: answers on' "reconciler socket ping"
like "$JOB_OUT" $'\\[PASS\\] tls: self-signed mode' "certificate validity"
like "$JOB_OUT" $'\\[(PASS|WARN)\\] cron: ' "cron file check"
like "$JOB_OUT" $'\\[(PASS|WARN|FAIL)\\] ip_forward: ' "ip_forward check"
like "$JOB_OUT" $'\\[(PASS|WARN|FAIL)\\] wireguard: ' "WireGuard module / wireguard-go check"
like "$JOB_OUT" $'\\[WARN\\] orphan interface: wgorphan9[^\n]*\n +fix: ' "problems come with their fix"
like "$JOB_OUT" $'interface wg0: ' "interfaces DB vs kernel"
like "$JOB_OUT" $'\nsummary: [0-9]+ PASS, [0-9]+ WARN, [0-9]+ FAIL$' "summary line"
job diagnose --json
ok "diagnose --json is JSON" json_get "$JOB_OUT" '$.checks[0].status'
is "$(json_get "$JOB_OUT" '$.checks[5].name')" database "checks in order"
is "$(sqlite3 :memory: "SELECT COUNT(*) FROM json_each(readfile('$dir/job.out'), '\$.checks')
	WHERE json_extract(value, '\$.status') NOT IN ('pass', 'warn', 'fail')")" 0 "every status is pass, warn or fail"
sql "DELETE FROM _migrations WHERE filename = '004_c_runtime.sql'"
job diagnose
is "$JOB_RC" 1 "a failing check: exit 1"
like "$JOB_OUT" $'\\[FAIL\\] database: schema at [0-9]+ of [0-9]+ migrations\n +fix: wgpilot migrate' "stale schema: fix is wgpilot migrate"

# --- benchmarks ------------------------------------------------------------------------
bench="$dir/bench"
mkdir -p "$bench"
cat >"$bench/config.yaml" <<YAML
database:
  path: "$bench/data/wgpilot.db"
auth:
  master_key_file: "$bench/master.key"
logging:
  level: info
YAML
"$WGP" --config "$bench/config.yaml" init >/dev/null 2>&1
"$GEN" --config "$bench/config.yaml" --peers 1000 "$bench/setconf" >/dev/null
t0=$(date +%s.%N)
sqlite3 "$bench/data/wgpilot.db" "PRAGMA journal_mode=DELETE; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;
	WITH RECURSIVE
	  d(ts) AS (SELECT unixepoch() - 365 * 86400 + 43200 UNION ALL SELECT ts + 86400 FROM d WHERE ts + 86400 < unixepoch() - 31 * 86400),
	  h(ts) AS (SELECT unixepoch() - 31 * 86400 UNION ALL SELECT ts + 3600 FROM h WHERE ts + 3600 < unixepoch() - 2 * 86400),
	  r(ts) AS (SELECT unixepoch() - 2 * 86400 UNION ALL SELECT ts + 30 FROM r WHERE ts + 30 < unixepoch()),
	  a(ts) AS MATERIALIZED (SELECT ts FROM d UNION ALL SELECT ts FROM h UNION ALL SELECT ts FROM r)
	INSERT INTO peer_snapshots SELECT p.id, a.ts, (a.ts - 1700000000) * p.id, (a.ts - 1700000000) * p.id / 2,
	  (a.ts / 3600 + p.id) % 2 FROM peers p, a ORDER BY p.id, a.ts;
	PRAGMA journal_mode=WAL;" >/dev/null
t1=$(date +%s.%N)
rows=$(sqlite3 "$bench/data/wgpilot.db" 'SELECT COUNT(*) FROM peer_snapshots')
diag "bench: a year of history for 1,000 peers: $rows rows (daily 1-12 months, hourly 2-31 days, 30 s for 48 h), made in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
"$WGP" --config "$bench/config.yaml" compact 2>"$bench/compact.log"
c1=$(sed -n 's/.*"duration_ms":\([0-9.]*\).*/\1/p' "$bench/compact.log")
after=$(sed -n 's/.*"rows_after":\([0-9]*\).*/\1/p' "$bench/compact.log")
"$WGP" --config "$bench/config.yaml" --log-level debug compact 2>"$bench/compact2.log"
c2=$(sed -n 's/.*"duration_ms":\([0-9.]*\).*/\1/p' "$bench/compact2.log")
ok "bench: compaction of 1,000 peers succeeded" test -n "$c1" -a -n "$after"
flavour="this build"
grep -q -- '-fsanitize=address' "$top_builddir/Makefile" 2>/dev/null && flavour="ASan/UBSan build"
diag "bench: compaction of a year for 1,000 peers: $(awk -v m="${c1:-0}" 'BEGIN { printf "%.1f", m / 1000 }') s ($rows -> $after rows), next run (no-op) $(awk -v m="${c2:-0}" 'BEGIN { printf "%.2f", m / 1000 }') s [$flavour]"
sqlite3 "$bench/data/wgpilot.db" "PRAGMA wal_checkpoint(TRUNCATE); VACUUM" >/dev/null
size=$(stat -c %s "$bench/data/wgpilot.db")
per_row=$(awk -v s="$size" -v r="$after" 'BEGIN { printf "%.1f", s / r }')
diag "bench: DB size after compaction and VACUUM: $((size / 1048576)) MiB for 1,000 peers = $((size / 1000 / 1024)) KiB per busy peer (a changed sample every 30 s; $((after / 1000)) rows, $per_row bytes per row incl. indexes)"
idle_rows=$((24 + 30 * 24 + 335))
diag "bench: an idle peer (unchanged samples skipped, one per hour kept): $idle_rows rows = $(awk -v b="$per_row" -v r="$idle_rows" 'BEGIN { printf "%.0f", b * r / 1024 }') KiB per peer"
rm -rf "$bench"

if [ "$(id -u)" -ne 0 ] || ! command -v wireguard-go >/dev/null || ! command -v wg >/dev/null \
	|| ! command -v unshare >/dev/null; then
	skip 2 "the 10,000-peer snapshot benchmark needs root, wireguard-go, wg and unshare"
else
	bns=wgp-jobsb-$$
	mk_netns "$bns"
	: >"$dir/bench.out"
	ip netns exec "$bns" unshare --mount --propagation private \
		env top_srcdir="$top_srcdir" top_builddir="$top_builddir" bash "$0" --bench-snapshot "$dir/bench.out" \
		>"$dir/bench-inner.log" 2>&1 || true
	# shellcheck disable=SC1091 # key=value lines written by the inner run
	. "$dir/bench.out"
	is "${ins1:-}" 10000 "bench: a snapshot pass stores 10,000 peers (kernel has ${kernel:-?})"
	is "${skip2:-}" 10000 "bench: the next pass skips 10,000 unchanged peers"
	diag "bench: snapshot of 10,000 peers: first pass ${first:-?} s wall (${ms1:-?} ms in the pass: status of 10k peers + one transaction), unchanged pass ${second:-?} s wall (${ms2:-?} ms) [$flavour]"
fi

done_testing
