/* SPDX-License-Identifier: MIT */
/* GET /api/networks/{id}/stats (api.md §8): transfer history from
 * peer_snapshots. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "api.h"
#include "db.h"
#include "model.h"

#define DEFAULT_RANGE 86400
#define NUM_MAX 9999999999LL    /* ten digits: far beyond any Unix time we store */

/*
 * One row per bucket: the latest sample of each selected peer inside the
 * bucket, summed. The counters are cumulative, so the latest sample is the
 * bucket's value (as compaction keeps it, monitoring.md §3); with the bucket
 * width 1 (raw) every snapshot timestamp is its own bucket.
 */
static const char stats_sql[] =
	"WITH last AS ("
	" SELECT s.peer_id, s.timestamp / ?5 * ?5 AS bucket, MAX(s.timestamp) AS ts"
	" FROM peer_snapshots s JOIN peers p ON p.id = s.peer_id"
	" WHERE p.network_id = ?1 AND s.timestamp BETWEEN ?2 AND ?3 AND (?4 = 0 OR s.peer_id = ?4)"
	" GROUP BY s.peer_id, bucket)"
	" SELECT last.bucket, SUM(s.rx_bytes), SUM(s.tx_bytes)"
	" FROM last JOIN peer_snapshots s ON s.peer_id = last.peer_id AND s.timestamp = last.ts"
	" GROUP BY last.bucket ORDER BY last.bucket";

/* A plain non-negative decimal; -EINVAL otherwise. */
static int plain_number(const char *s, long long *v)
{
	long long x = 0;

	if (!*s || strlen(s) > 10)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		x = x * 10 + (*s - '0');
	}
	if (x > NUM_MAX)
		return -EINVAL;
	*v = x;
	return 0;
}

/* Reads optional parameter key into *v (left alone when absent). */
static void number_param(struct req *r, struct verrs *ve, const char *key, long long min,
			 const char *msg, long long *v, bool *given)
{
	char buf[32];
	int got = networks_query(r->query, key, buf, sizeof buf);

	*given = got == 1;
	if (got == -EEXIST)
		verr_add(ve, key, "given twice");
	else if (got < 0 || (got == 1 && (plain_number(buf, v) < 0 || *v < min)))
		verr_add(ve, key, msg);
}

/* GET /api/networks/{id}/stats?from&to&peer_id&granularity — 200
 * [{"timestamp","transfer_rx","transfer_tx"}] ascending; 400
 * VALIDATION_ERROR (every bad parameter at once: from/to not Unix seconds,
 * from after to, peer_id not a positive integer, granularity not
 * raw|hour|day); 404 NETWORK_NOT_FOUND, PEER_NOT_FOUND (peer of another
 * network); 500 database error. */
void stats_get(struct req *r)
{
	struct verrs ve = { 0 };
	long long now = (long long)time(NULL), from = 0, to = now, peer_id = 0, width = 1;
	bool has_from, has_to, has_peer;
	char gran[16] = "raw";
	struct network n;
	struct peer p;
	sqlite3_stmt *st;
	json_t *arr;
	int found, rc;

	number_param(r, &ve, "from", 0, "must be Unix seconds", &from, &has_from);
	number_param(r, &ve, "to", 0, "must be Unix seconds", &to, &has_to);
	number_param(r, &ve, "peer_id", 1, "must be a positive integer", &peer_id, &has_peer);
	found = networks_query(r->query, "granularity", gran, sizeof gran);
	if (found < 0 || (found == 1 && strcmp(gran, "raw") != 0 && strcmp(gran, "hour") != 0
			  && strcmp(gran, "day") != 0))
		verr_add(&ve, "granularity", found == -EEXIST ? "given twice" : "must be raw, hour or day");
	if (!verr_any(&ve)) {
		if (!has_from)
			from = to > DEFAULT_RANGE ? to - DEFAULT_RANGE : 0;
		if (from > to)
			verr_add(&ve, has_from ? "from" : "to", "from must not be after to");
	}
	if (verr_any(&ve)) {
		resp_verrs(r, &ve);
		return;
	}
	width = strcmp(gran, "hour") == 0 ? 3600 : strcmp(gran, "day") == 0 ? 86400 : 1;

	found = model_network_get(r->app->db, r->ids[0], &n);
	if (found <= 0) {
		if (found < 0)
			resp_error(r, 500, "INTERNAL_ERROR", "database error");
		else
			resp_error(r, 404, "NETWORK_NOT_FOUND", "network %lld not found", r->ids[0]);
		return;
	}
	network_free(&n);
	if (has_peer) {
		found = model_peer_get(r->app->db, r->ids[0], peer_id, &p);
		if (found <= 0) {
			if (found < 0)
				resp_error(r, 500, "INTERNAL_ERROR", "database error");
			else
				resp_error(r, 404, "PEER_NOT_FOUND", "peer %lld not found in network %lld",
					   peer_id, r->ids[0]);
			return;
		}
		peer_free(&p);
	}
	if (db_prepare(r->app->db, stats_sql, &st) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	sqlite3_bind_int64(st, 1, r->ids[0]);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	sqlite3_bind_int64(st, 4, peer_id);
	sqlite3_bind_int64(st, 5, width);
	arr = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, json_pack("{s:I,s:I,s:I}",
			"timestamp", (json_int_t)sqlite3_column_int64(st, 0),
			"transfer_rx", (json_int_t)sqlite3_column_int64(st, 1),
			"transfer_tx", (json_int_t)sqlite3_column_int64(st, 2)));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_log_error(r->app->db, "stats");
		json_decref(arr);
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	resp_json(r, 200, arr);
}
