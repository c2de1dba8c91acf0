/* SPDX-License-Identifier: MIT */
/*
 * The cron jobs' shared plumbing (a lock per job, task ids, system audit
 * rows) and the two monitoring jobs: `wgpilot snapshot` (monitoring.md §2,
 * then the alerts of §4) and `wgpilot compact` (§3).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "db.h"
#include "log.h"
#include "rpc.h"

#define ONLINE_WINDOW 180       /* monitoring.md §1: handshake younger than 3 min */
#define HEARTBEAT 3600          /* an unchanged peer still gets one sample per hour */
#define STATUS_TIMEOUT_MS 30000
#define SECOND_SAMPLE_AT 30     /* cron starts us at :00; the second sample at :30 */

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double job_elapsed(const struct job *j)
{
	return mono_now() - j->t0;
}

#define JOB_NICE 10

int job_begin(struct cli *c, struct job *j, const char *name, const char *component)
{
	char path[PATH_MAX + 32];
	int err;

	memset(j, 0, sizeof *j);
	/* Background work yields the CPU to the API and the tunnels: on two
	 * cores a snapshot pass of 10,000 peers at full priority doubled the
	 * API's p99 (bench/snapshot-api.sh). Failure changes nothing. */
	if (setpriority(PRIO_PROCESS, 0, JOB_NICE) < 0 && errno != EACCES)
		log_debug(component, "job_nice_failed", json_pack("{s:s}", "error", strerror(errno)));
	j->lock_fd = -1;
	j->component = component;
	j->t0 = mono_now();
	snprintf(j->task_id, sizeof j->task_id, "task_%s_%lld", name, (long long)time(NULL));
	snprintf(path, sizeof path, "%s/.lock-%s", c->cfg.data_dir, name);
	j->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (j->lock_fd < 0) {
		err = errno;
		log_error(component, "job_lock_failed", json_pack("{s:s,s:s,s:s,s:s}", "task_id",
			  j->task_id, "path", path, "error", strerror(err), "hint",
			  "run `wgpilot init`, and run the job as the service user"));
		return -1;
	}
	if (flock(j->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno;
		close(j->lock_fd);
		j->lock_fd = -1;
		if (err == EWOULDBLOCK) {
			log_info(component, "job_already_running", json_pack("{s:s,s:s}", "task_id",
				 j->task_id, "job", name));
			return 0;
		}
		log_error(component, "job_lock_failed", json_pack("{s:s,s:s,s:s}", "task_id",
			  j->task_id, "path", path, "error", strerror(err)));
		return -1;
	}
	if ((err = db_open(c->cfg.db_path, DB_RDWR, &j->db)) < 0 || (err = db_schema_check(j->db)) < 0) {
		log_error(component, "database_state", json_pack("{s:s,s:s,s:s,s:s}", "task_id",
			  j->task_id, "path", c->cfg.db_path, "error", err == -EPROTO
			  ? "database is newer than this program" : err == -ESTALE
			  ? "database needs `wgpilot migrate`" : strerror(-err),
			  "hint", "run `wgpilot init` / `wgpilot migrate`"));
		return -1;
	}
	return 1;
}

void job_end(struct job *j)
{
	db_close(j->db);
	j->db = NULL;
	if (j->lock_fd >= 0)
		close(j->lock_fd);      /* releases the flock */
	j->lock_fd = -1;
}

int job_audit(sqlite3 *db, const char *action, const char *resource, json_t *detail,
	      const char *task_id)
{
	char *text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	sqlite3_stmt *st;
	int err;

	if ((err = db_prepare(db, "INSERT INTO audit_log (user_id, action, resource, detail, "
			      "ip_address) VALUES (NULL, ?, ?, ?, '')", &st)) == 0) {
		sqlite3_bind_text(st, 1, action, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, resource, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, text ? text : "", -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			db_log_error(db, "audit insert");
			err = -EIO;
		}
		sqlite3_finalize(st);
	}
	if (err == 0)
		log_info("audit", action, json_pack("{s:s,s:n,s:s}", "resource", resource,
			 "user_id", "task_id", task_id));
	free(text);
	json_decref(detail);
	return err;
}

/* ------------------------------------------------------------------------ */
/* snapshot                                                                 */

void live_free(struct live *lv)
{
	free(lv->nets);
	free(lv->peers);
	memset(lv, 0, sizeof *lv);
}

/* Enabled networks and every peer of them with its latest stored sample,
 * peers sorted by (interface, public key) for the lookups below. */
static int live_load(sqlite3 *db, struct live *lv)
{
	static const char nets_sql[] =
		"SELECT id, name, interface FROM networks WHERE enabled = 1 ORDER BY interface";
	/* MAX(timestamp) per peer is one primary-key seek each. */
	static const char peers_sql[] =
		"SELECT p.id, p.network_id, p.public_key, p.name, p.enabled, p.created_at,"
		" s.timestamp, s.rx_bytes, s.tx_bytes, s.online"
		" FROM peers p JOIN networks n ON n.id = p.network_id"
		" LEFT JOIN peer_snapshots s ON s.peer_id = p.id AND s.timestamp ="
		"  (SELECT MAX(timestamp) FROM peer_snapshots WHERE peer_id = p.id)"
		" WHERE n.enabled = 1 ORDER BY n.interface, p.public_key";
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc, err;

	if ((err = db_prepare(db, nets_sql, &st)) < 0)
		return err;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (lv->nnets == cap) {
			void *p = realloc(lv->nets, (cap = cap ? cap * 2 : 8) * sizeof *lv->nets);
			if (!p) {
				sqlite3_finalize(st);
				return -ENOMEM;
			}
			lv->nets = p;
		}
		struct live_net *n = &lv->nets[lv->nnets++];
		memset(n, 0, sizeof *n);
		n->id = sqlite3_column_int64(st, 0);
		db_col_copy(n->name, sizeof n->name, st, 1);
		db_col_copy(n->iface, sizeof n->iface, st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -EIO;
	if ((err = db_prepare(db, peers_sql, &st)) < 0)
		return err;
	cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		long long nid = sqlite3_column_int64(st, 1);
		struct live_peer *p;
		size_t k;

		if (lv->npeers == cap) {
			void *v = realloc(lv->peers, (cap = cap ? cap * 2 : 64) * sizeof *lv->peers);
			if (!v) {
				sqlite3_finalize(st);
				return -ENOMEM;
			}
			lv->peers = v;
		}
		for (k = 0; k < lv->nnets && lv->nets[k].id != nid; k++)
			;
		if (k == lv->nnets)
			continue;       /* enabled in between; next pass */
		p = &lv->peers[lv->npeers++];
		memset(p, 0, sizeof *p);
		p->id = sqlite3_column_int64(st, 0);
		p->net = k;
		db_col_copy(p->public_key, sizeof p->public_key, st, 2);
		db_col_copy(p->name, sizeof p->name, st, 3);
		p->enabled = sqlite3_column_int(st, 4) != 0;
		p->created_at = sqlite3_column_int64(st, 5);
		if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
			p->have_prev = true;
			p->prev_ts = sqlite3_column_int64(st, 6);
			p->prev_rx = sqlite3_column_int64(st, 7);
			p->prev_tx = sqlite3_column_int64(st, 8);
			p->prev_online = sqlite3_column_int(st, 9) != 0;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int peer_cmp(const struct live *lv, const char *iface, const char *key, const struct live_peer *p)
{
	int d = strcmp(iface, lv->nets[p->net].iface);
	return d ? d : strcmp(key, p->public_key);
}

/* Binary search over the sorted peers. */
static struct live_peer *live_find(struct live *lv, const char *iface, const char *key)
{
	size_t lo = 0, hi = lv->npeers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = peer_cmp(lv, iface, key, &lv->peers[mid]);

		if (d == 0)
			return &lv->peers[mid];
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static struct live_net *net_find(struct live *lv, const char *iface)
{
	for (size_t i = 0; iface && i < lv->nnets; i++)
		if (strcmp(lv->nets[i].iface, iface) == 0)
			return &lv->nets[i];
	return NULL;
}

/* Fills the kernel side of lv from the reconciler's status reply. Returns
 * the number of kernel peers seen; *unknown counts those not in the DB. */
static size_t live_merge(struct live *lv, json_t *reply, size_t *unknown)
{
	json_t *it, *p;
	size_t i, k, seen = 0;

	*unknown = 0;
	json_array_foreach(json_object_get(reply, "interfaces"), i, it) {
		const char *name = json_string_value(json_object_get(it, "name"));
		struct live_net *n = net_find(lv, name);

		if (!n)
			continue;       /* not an enabled network of ours */
		n->present = true;
		n->up = json_is_true(json_object_get(it, "up"));
		json_array_foreach(json_object_get(it, "peers"), k, p) {
			const char *key = json_string_value(json_object_get(p, "public_key"));
			struct live_peer *lp = key ? live_find(lv, name, key) : NULL;

			seen++;
			if (!lp) {
				(*unknown)++;
				continue;
			}
			lp->in_kernel = true;
			lp->handshake = json_integer_value(json_object_get(p, "last_handshake"));
			lp->rx = json_integer_value(json_object_get(p, "rx_bytes"));
			lp->tx = json_integer_value(json_object_get(p, "tx_bytes"));
			lp->online = lp->handshake > 0 && lv->now - lp->handshake < ONLINE_WINDOW;
			snprintf(lp->endpoint, sizeof lp->endpoint, "%s",
				 json_string_value(json_object_get(p, "endpoint")) ?: "");
		}
	}
	return seen;
}

static void log_transition(const struct live *lv, const struct live_peer *p, const char *task_id)
{
	const struct live_net *n = &lv->nets[p->net];

	if (p->online)
		log_info("monitor", "peer_online", json_pack("{s:s,s:I,s:s,s:I,s:s,s:s,s:s}",
			 "task_id", task_id, "network_id", (json_int_t)n->id, "network", n->name,
			 "peer_id", (json_int_t)p->id, "peer", p->name, "public_key", p->public_key,
			 "endpoint", p->endpoint));
	else
		log_info("monitor", "peer_offline", json_pack("{s:s,s:I,s:s,s:I,s:s,s:s,s:I}",
			 "task_id", task_id, "network_id", (json_int_t)n->id, "network", n->name,
			 "peer_id", (json_int_t)p->id, "peer", p->name, "public_key", p->public_key,
			 "last_seen", (json_int_t)p->handshake));
}

/*
 * One sample (monitoring.md §2): status from the reconciler, one timestamp,
 * one transaction. A peer whose counters and online state equal its
 * previous sample within the same hour is not written again: the stored
 * series stays exact (counters are cumulative) at a fraction of the rows,
 * and every peer still has a row in every hour bucket. 0 or -1 (logged).
 */
static int snapshot_pass(struct cli *c, struct job *j, struct live *lv)
{
	json_t *req = json_pack("{s:s,s:s}", "op", "status", "request_id", j->task_id), *reply = NULL;
	size_t kernel, unknown, inserted = 0, skipped = 0, changed = 0;
	double t0 = mono_now();
	sqlite3_stmt *ins = NULL;
	int err;

	memset(lv, 0, sizeof *lv);
	lv->now = (long long)time(NULL);
	err = rpc_call(c->cfg.rec_socket, req, &reply, STATUS_TIMEOUT_MS);
	json_decref(req);
	if (err == 0 && !json_is_true(json_object_get(reply, "ok")))
		err = -EPROTO;
	if ((err = err < 0 ? err : live_load(j->db, lv)) < 0) {
		log_error("monitor", "poll_peer_status_failed", json_pack("{s:s,s:s,s:s,s:s}",
			  "task_id", j->task_id, "socket", c->cfg.rec_socket, "error", strerror(-err),
			  "hint", "is wgpilot-reconciler running? (systemctl status wgpilot-reconciler)"));
		json_decref(reply);
		return -1;
	}
	lv->status_ok = true;
	kernel = live_merge(lv, reply, &unknown);
	json_decref(reply);
	for (size_t i = 0; i < lv->nnets; i++)
		if (!lv->nets[i].present)
			log_warn("monitor", "poll_peer_status_failed", json_pack("{s:s,s:I,s:s,s:s}",
				 "task_id", j->task_id, "network_id", (json_int_t)lv->nets[i].id,
				 "interface", lv->nets[i].iface, "error", "interface not in the kernel"));
	if ((err = db_exec(j->db, "BEGIN IMMEDIATE")) < 0
	    || (err = db_prepare(j->db, "INSERT OR IGNORE INTO peer_snapshots (peer_id, timestamp,"
				 " rx_bytes, tx_bytes, online) VALUES (?, ?, ?, ?, ?)", &ins)) < 0)
		goto fail;
	for (size_t i = 0; i < lv->npeers; i++) {
		struct live_peer *p = &lv->peers[i];

		if (!p->in_kernel)
			continue;
		if (p->have_prev && p->prev_rx == p->rx && p->prev_tx == p->tx
		    && p->prev_online == p->online && p->prev_ts / HEARTBEAT == lv->now / HEARTBEAT) {
			skipped++;
			continue;
		}
		sqlite3_bind_int64(ins, 1, p->id);
		sqlite3_bind_int64(ins, 2, lv->now);
		sqlite3_bind_int64(ins, 3, p->rx);
		sqlite3_bind_int64(ins, 4, p->tx);
		sqlite3_bind_int(ins, 5, p->online);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			db_log_error(j->db, "snapshot insert");
			err = -EIO;
			goto fail;
		}
		sqlite3_reset(ins);
		inserted++;
	}
	sqlite3_finalize(ins);
	ins = NULL;
	if ((err = db_exec(j->db, "COMMIT")) < 0)
		goto fail;
	/* Transitions only once the sample is stored. */
	for (size_t i = 0; i < lv->npeers; i++) {
		struct live_peer *p = &lv->peers[i];

		if (p->in_kernel && p->have_prev && p->prev_online != p->online) {
			log_transition(lv, p, j->task_id);
			changed++;
		}
	}
	log_info("monitor", "snapshot_complete", json_pack("{s:s,s:I,s:i,s:i,s:i,s:i,s:i,s:i,s:s,s:f}",
		 "task_id", j->task_id, "timestamp", (json_int_t)lv->now, "networks", (int)lv->nnets,
		 "kernel_peers", (int)kernel, "inserted", (int)inserted, "skipped_unchanged", (int)skipped,
		 "unknown_peers", (int)unknown, "transitions", (int)changed, "skip_rule",
		 "unchanged counters and state within the same hour are not stored again",
		 "duration_ms", (mono_now() - t0) * 1000.0));
	return 0;
fail:
	sqlite3_finalize(ins);
	db_exec(j->db, "ROLLBACK");
	log_error("monitor", "snapshot_failed", json_pack("{s:s,s:s}", "task_id", j->task_id,
		  "error", strerror(-err)));
	return -1;
}

/* A pass followed by the alert evaluation on the same data. */
static int snapshot_and_alerts(struct cli *c, struct job *j)
{
	struct live lv;
	int ret = snapshot_pass(c, j, &lv);

	/* Without a status reply nothing is known about the kernel: alerts
	 * keep their state until the next pass that has one. */
	if (ret == 0 && alerts_run(&c->cfg, j->db, &lv, j->task_id) < 0)
		ret = -1;
	live_free(&lv);
	return ret;
}

int cmd_snapshot(struct cli *c, int once)
{
	struct job j;
	int got = job_begin(c, &j, "poller", "monitor"), ret;

	if (got <= 0) {
		job_end(&j);
		return got == 0 ? 0 : 1;
	}
	ret = snapshot_and_alerts(c, &j);
	if (!once) {
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		/* Only when the first pass ended before :30; a late start takes
		 * one sample rather than two a few seconds apart. */
		if (tm.tm_sec < SECOND_SAMPLE_AT) {
			struct timespec ts = { .tv_sec = SECOND_SAMPLE_AT - tm.tm_sec };

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
			if (snapshot_and_alerts(c, &j) < 0)
				ret = -1;
		}
	}
	job_end(&j);
	return ret < 0 ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* compact                                                                  */

enum { SQL_TEMP, SQL_BUCKETS, SQL_TOTALS, SQL_REPLACE, SQL_DEL_MERGED, SQL_CLEAR, SQL_DEL_OLD,
       SQL_COUNT, SQL__MAX };

/* Set-based over a batch of peers (ids ?1..?2) and one tier [?3, ?4) of
 * buckets of ?5 seconds: the buckets to rewrite go into a temp table, one
 * INSERT OR REPLACE puts a row at each bucket start, one DELETE removes every
 * other row of the tier. Tier starts are bucket-aligned, so "not at a bucket
 * start" is "timestamp % size <> 0". The peers drive the joins (CROSS JOIN)
 * so that each peer's tier is one primary-key range seek, not a scan of the
 * whole batch. Measured: per-peer statements spent ~13 s on a year of 1,000
 * peers; the batched statements do it in a few seconds (t/55 bench). */
#define COMPACT_BATCH_PEERS 100   /* keeps each write transaction well under busy_timeout */
static const char *const compact_sql[SQL__MAX] = {
	[SQL_TEMP] = "CREATE TEMP TABLE IF NOT EXISTS compact_buckets (peer_id INTEGER NOT NULL,"
		     " bucket INTEGER NOT NULL, rx INTEGER NOT NULL, tx INTEGER NOT NULL,"
		     " online INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (peer_id, bucket))"
		     " WITHOUT ROWID",
	/* Buckets that hold more than one row, or one row not at the bucket
	 * start, with the latest row's counters and max(online). */
	[SQL_BUCKETS] =
		"INSERT INTO temp.compact_buckets (peer_id, bucket, rx, tx, online, n)"
		" SELECT b.peer_id, b.bucket, s.rx_bytes, s.tx_bytes, b.online, b.n FROM"
		" (SELECT s.peer_id, s.timestamp - s.timestamp % ?5 AS bucket,"
		"  MAX(s.timestamp) AS last, MAX(s.online) AS online, COUNT(*) AS n,"
		"  MIN(s.timestamp) AS first"
		"  FROM peers p CROSS JOIN peer_snapshots s ON s.peer_id = p.id"
		"   AND s.timestamp >= ?3 AND s.timestamp < ?4"
		"  WHERE p.id BETWEEN ?1 AND ?2 GROUP BY s.peer_id, bucket) b"
		" JOIN peer_snapshots s ON s.peer_id = b.peer_id AND s.timestamp = b.last"
		" WHERE b.n > 1 OR b.first <> b.bucket",
	[SQL_TOTALS] = "SELECT COUNT(*), TOTAL(n) FROM temp.compact_buckets",
	[SQL_REPLACE] = "INSERT OR REPLACE INTO peer_snapshots (peer_id, timestamp, rx_bytes, tx_bytes,"
			" online) SELECT peer_id, bucket, rx, tx, online FROM temp.compact_buckets",
	[SQL_DEL_MERGED] = "DELETE FROM peer_snapshots WHERE peer_id IN"
			   " (SELECT id FROM peers WHERE id BETWEEN ?1 AND ?2)"
			   " AND timestamp >= ?3 AND timestamp < ?4 AND timestamp % ?5 <> 0",
	[SQL_CLEAR] = "DELETE FROM temp.compact_buckets",
	[SQL_DEL_OLD] = "DELETE FROM peer_snapshots WHERE peer_id IN"
			" (SELECT id FROM peers WHERE id BETWEEN ?1 AND ?2) AND timestamp < ?3",
	[SQL_COUNT] = "SELECT COUNT(*) FROM peer_snapshots",
};

struct compact_run {
	sqlite3_stmt *st[SQL__MAX];
	long long raw_from, hourly_from, daily_from;     /* tier starts, bucket-aligned */
	long long rows_merged, buckets, expired;
};

/* Runs st with (first, last, lo, hi, size) bound as far as it has parameters. */
static int step_tier(sqlite3_stmt *st, long long first, long long last, long long lo,
		     long long hi, long long size)
{
	int np = sqlite3_bind_parameter_count(st), rc;
	long long v[5] = { first, last, lo, hi, size };

	for (int i = 0; i < np && i < 5; i++)
		sqlite3_bind_int64(st, i + 1, v[i]);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Compacts the tier [lo, hi) of peers first..last into buckets of size seconds. */
static int compact_tier(sqlite3 *db, struct compact_run *r, long long first, long long last,
			long long lo, long long hi, long long size)
{
	sqlite3_stmt *t = r->st[SQL_TOTALS];
	long long buckets = 0;
	int err;

	if (lo >= hi)
		return 0;
	if ((err = step_tier(r->st[SQL_BUCKETS], first, last, lo, hi, size)) < 0)
		goto out;
	if (sqlite3_step(t) == SQLITE_ROW) {
		buckets = sqlite3_column_int64(t, 0);
		r->rows_merged += (long long)sqlite3_column_double(t, 1);
	}
	sqlite3_reset(t);
	if (buckets && ((err = step_tier(r->st[SQL_REPLACE], 0, 0, 0, 0, 0)) < 0
			|| (err = step_tier(r->st[SQL_DEL_MERGED], first, last, lo, hi, size)) < 0))
		goto out;
	r->buckets += buckets;
out:
	if (err)
		db_log_error(db, "compaction");
	return step_tier(r->st[SQL_CLEAR], 0, 0, 0, 0, 0) < 0 ? -EIO : err;
}

/* Peers first..last in one transaction: delete what is past retention, then
 * the daily and the hourly tier. */
static int compact_batch(sqlite3 *db, struct compact_run *r, long long first, long long last)
{
	int err;

	if ((err = db_exec(db, "BEGIN IMMEDIATE")) < 0)
		return err;
	err = step_tier(r->st[SQL_DEL_OLD], first, last, r->daily_from, 0, 0);
	if (!err)
		r->expired += sqlite3_changes(db);
	if (!err)
		err = compact_tier(db, r, first, last, r->daily_from, r->hourly_from, 86400);
	if (!err)
		err = compact_tier(db, r, first, last, r->hourly_from, r->raw_from, 3600);
	if (!err && (err = db_exec(db, "COMMIT")) == 0)
		return 0;
	db_exec(db, "ROLLBACK");
	return err;
}

static long long count_rows(struct compact_run *r)
{
	sqlite3_stmt *st = r->st[SQL_COUNT];
	long long n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;

	sqlite3_reset(st);
	return n;
}

/* Every peer id (snapshots of deleted peers went with them: FK cascade),
 * read before the write transactions start. 0 or -errno. */
static int peer_ids(sqlite3 *db, long long **ids, size_t *n)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc, err;

	*ids = NULL;
	*n = 0;
	if ((err = db_prepare(db, "SELECT id FROM peers ORDER BY id", &st)) < 0)
		return err;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			void *p = realloc(*ids, (cap = cap ? cap * 2 : 256) * sizeof **ids);
			if (!p) {
				rc = SQLITE_NOMEM;
				break;
			}
			*ids = p;
		}
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int cmd_compact(struct cli *c)
{
	struct compact_run r = { 0 };
	struct job j;
	long long now = (long long)time(NULL), before, after, failed = 0, *ids = NULL;
	size_t npeers = 0;
	json_t *f;
	int got = job_begin(c, &j, "compactor", "compactor"), err = 0;

	if (got <= 0) {
		job_end(&j);
		return got == 0 ? 0 : 1;
	}
	/* Tier starts aligned to their buckets, so that no bucket straddles two
	 * tiers: raw keeps 24-25 h, hourly 30-31 days (monitoring.md §3). */
	r.raw_from = (now - 86400) / 3600 * 3600;
	r.hourly_from = (now - 30 * 86400) / 86400 * 86400;
	r.daily_from = (now - c->cfg.snapshot_retention) / 86400 * 86400;
	if (r.daily_from > r.hourly_from)
		r.hourly_from = r.daily_from;   /* retention below 30 days */
	if (r.hourly_from > r.raw_from)
		r.raw_from = r.hourly_from;
	/* The temp table must exist before the statements using it compile. */
	if (db_exec(j.db, "PRAGMA temp_store=MEMORY") < 0 || db_exec(j.db, compact_sql[SQL_TEMP]) < 0)
		err = -EIO;
	for (int i = 0; i < SQL__MAX && !err; i++)
		err = db_prepare(j.db, compact_sql[i], &r.st[i]);
	if (!err)
		err = peer_ids(j.db, &ids, &npeers);
	if (err) {
		log_error("compactor", "compaction_failed", json_pack("{s:s,s:s}", "task_id", j.task_id,
			  "error", strerror(-err)));
		goto out;
	}
	before = count_rows(&r);
	for (size_t i = 0; i < npeers; i += COMPACT_BATCH_PEERS) {
		size_t k = npeers - i < COMPACT_BATCH_PEERS ? npeers - i : COMPACT_BATCH_PEERS;

		if ((err = compact_batch(j.db, &r, ids[i], ids[i + k - 1])) < 0) {
			failed += (long long)k;
			log_error("compactor", "compaction_failed", json_pack("{s:s,s:I,s:I,s:s}",
				  "task_id", j.task_id, "first_peer_id", (json_int_t)ids[i],
				  "last_peer_id", (json_int_t)ids[i + k - 1], "error", strerror(-err)));
		}
	}
	after = count_rows(&r);
	f = json_pack("{s:s,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "task_id", j.task_id,
		      "peers", (int)npeers, "rows_before", (json_int_t)before, "rows_after",
		      (json_int_t)after, "rows_expired", (json_int_t)r.expired, "rows_merged",
		      (json_int_t)r.rows_merged, "buckets_written", (json_int_t)r.buckets,
		      "failed_peers", (json_int_t)failed, "raw_from", (json_int_t)r.raw_from,
		      "hourly_from", (json_int_t)r.hourly_from, "daily_from", (json_int_t)r.daily_from,
		      "duration_ms", job_elapsed(&j) * 1000.0);
	if (before == after && r.buckets == 0)
		log_debug("compactor", "compaction_noop", f);
	else
		log_info("compactor", "compaction_complete", f);
	err = failed ? -EIO : 0;
out:
	for (int i = 0; i < SQL__MAX; i++)
		sqlite3_finalize(r.st[i]);
	free(ids);
	job_end(&j);
	return err ? 1 : 0;
}
