/* SPDX-License-Identifier: MIT */
/* GET /api/audit-log (api.md §12) and query_page, the limit/offset every
 * plain list shares (api.md §1); the parsing itself is in query.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "db.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 200
#define FILTER_MAX 128          /* longest action / resource filter */
#define NUM_MAX 9007199254740992LL      /* 2^53: offsets and Unix times stay exact in JSON */

int query_page(struct req *r, long long *limit, long long *offset)
{
	static const char *const keys[] = { "limit", "offset" };
	struct verrs v = { 0 };
	char *vals[2];

	*limit = -1;
	*offset = 0;
	if (query_parse(r, keys, 2, vals, &v) < 0) {
		verr_free(&v);
		resp_error(r, 500, "INTERNAL_ERROR", "out of memory");
		return -1;
	}
	if (vals[0])
		query_int(&v, "limit", vals[0], 1, PAGE_MAX, limit);
	if (vals[1])
		query_int(&v, "offset", vals[1], 0, NUM_MAX, offset);
	query_free(vals, 2);
	if (verr_any(&v)) {
		resp_verrs(r, &v);
		return -1;
	}
	return 0;
}

void resp_list(struct req *r, const char *sql, long long owner, json_t *(*row)(sqlite3_stmt *))
{
	long long limit, offset;
	sqlite3_stmt *st;
	json_t *arr, *o;
	int rc;

	if (query_page(r, &limit, &offset) < 0)
		return;
	if (db_prepare(r->app->db, sql, &st) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	sqlite3_bind_int64(st, 1, limit);
	sqlite3_bind_int64(st, 2, offset);
	if (owner > 0)
		sqlite3_bind_int64(st, 3, owner);
	arr = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!(o = row(st)) || json_array_append_new(arr, o) < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	if (rc != SQLITE_DONE && rc != SQLITE_NOMEM)
		db_log_error(r->app->db, "list");
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		resp_error(r, 500, "INTERNAL_ERROR", rc == SQLITE_NOMEM ? "out of memory" : "database error");
		return;
	}
	resp_json(r, 200, arr);
}

/* Audit action names and resources: lowercase words, digits, '.', '_', ':', '-'. */
static const char *check_filter(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > FILTER_MAX)
		return "must be 1-128 characters";
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')
		      || strchr("._:-", s[i])))
			return "may only hold a-z, 0-9, '.', '_', ':' and '-'";
	return NULL;
}

enum { Q_LIMIT, Q_OFFSET, Q_ACTION, Q_RESOURCE, Q_FROM, Q_TO, Q__MAX };
static const char *const audit_keys[Q__MAX] = {
	[Q_LIMIT] = "limit", [Q_OFFSET] = "offset", [Q_ACTION] = "action",
	[Q_RESOURCE] = "resource", [Q_FROM] = "from", [Q_TO] = "to",
};

/*
 * The statements are put together from these constant fragments, one per
 * given filter, so that SQLite can use idx_audit_action and
 * idx_audit_timestamp ("?1 IS NULL OR action = ?1" would defeat both).
 * Parameters keep their numbers whichever fragments are present.
 */
enum filter { F_ACTION, F_RESOURCE, F_FROM, F_TO, F__MAX };
static const char *const filter_sql[F__MAX] = {
	[F_ACTION] = "action = ?1",
	/* exact, or a bare type such as "peer" matching every "peer:<id>" */
	[F_RESOURCE] = "(resource = ?2 OR (instr(?2, ':') = 0 "
		"AND substr(resource, 1, length(?2) + 1) = ?2 || ':'))",
	[F_FROM] = "timestamp >= ?3",
	[F_TO] = "timestamp <= ?4",
};
#define SQL_COUNT "SELECT COUNT(*) FROM audit_log"
#define SQL_PAGE "SELECT id, timestamp, user_id, action, resource, detail, ip_address FROM audit_log"
#define SQL_PAGE_TAIL " ORDER BY id DESC LIMIT ?5 OFFSET ?6"

struct audit_query {
	const char *action, *resource;
	long long from, to;             /* -1 = not given */
	long long limit, offset;
};

/* head + " WHERE " + the fragments of the given filters + tail into buf. */
static void build_sql(char *buf, size_t n, const char *head, const struct audit_query *q,
		      const char *tail)
{
	bool on[F__MAX] = { q->action != NULL, q->resource != NULL, q->from >= 0, q->to >= 0 };
	size_t len = (size_t)snprintf(buf, n, "%s", head);
	const char *sep = " WHERE ";

	for (int i = 0; i < F__MAX; i++) {
		if (!on[i])
			continue;
		len += (size_t)snprintf(buf + len, n - len, "%s%s", sep, filter_sql[i]);
		sep = " AND ";
	}
	snprintf(buf + len, n - len, "%s", tail);
}

static void bind_filters(sqlite3_stmt *st, const struct audit_query *q)
{
	if (q->action)
		sqlite3_bind_text(st, 1, q->action, -1, SQLITE_STATIC);
	if (q->resource)
		sqlite3_bind_text(st, 2, q->resource, -1, SQLITE_STATIC);
	if (q->from >= 0)
		sqlite3_bind_int64(st, 3, q->from);
	if (q->to >= 0)
		sqlite3_bind_int64(st, 4, q->to);
}

static json_t *entry_json(sqlite3_stmt *st)
{
	return json_pack("{s:I,s:I,s:o,s:s,s:s,s:s,s:s}",
			 "id", (json_int_t)sqlite3_column_int64(st, 0),
			 "timestamp", (json_int_t)sqlite3_column_int64(st, 1),
			 "user_id", sqlite3_column_type(st, 2) == SQLITE_NULL ? json_null()
				: json_integer(sqlite3_column_int64(st, 2)),
			 "action", (const char *)sqlite3_column_text(st, 3),
			 "resource", (const char *)sqlite3_column_text(st, 4),
			 "detail", (const char *)sqlite3_column_text(st, 5),
			 "ip_address", (const char *)sqlite3_column_text(st, 6));
}

/* The matching entries (new array) and their total; NULL on a DB error. */
static json_t *audit_select(sqlite3 *db, const struct audit_query *q, long long *total)
{
	char sql[512];
	sqlite3_stmt *st;
	json_t *arr;
	int rc;

	build_sql(sql, sizeof sql, SQL_COUNT, q, "");
	if (db_prepare(db, sql, &st) < 0)
		return NULL;
	bind_filters(st, q);
	rc = sqlite3_step(st);
	*total = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	build_sql(sql, sizeof sql, SQL_PAGE, q, SQL_PAGE_TAIL);
	if (rc != SQLITE_ROW || db_prepare(db, sql, &st) < 0)
		return NULL;
	bind_filters(st, q);
	sqlite3_bind_int64(st, 5, q->limit);
	sqlite3_bind_int64(st, 6, q->offset);
	arr = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, entry_json(st));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_log_error(db, "audit log select");
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* GET /api/audit-log?limit&offset&action&resource&from&to
 * 200 {"entries","total","limit","offset"} newest first; 400 VALIDATION_ERROR
 * (unknown or repeated parameter, bad percent-encoding, limit outside 1-200,
 * negative offset, from/to not Unix seconds or from > to); 500 database error. */
void auditlog_list(struct req *r)
{
	struct audit_query q = { .from = -1, .to = -1, .limit = PAGE_DEFAULT };
	struct verrs v = { 0 };
	char *vals[Q__MAX];
	const char *why;
	long long total;
	json_t *entries;

	if (query_parse(r, audit_keys, Q__MAX, vals, &v) < 0) {
		verr_free(&v);
		resp_error(r, 500, "INTERNAL_ERROR", "out of memory");
		return;
	}
	if (vals[Q_LIMIT])
		query_int(&v, "limit", vals[Q_LIMIT], 1, PAGE_MAX, &q.limit);
	if (vals[Q_OFFSET])
		query_int(&v, "offset", vals[Q_OFFSET], 0, NUM_MAX, &q.offset);
	if (vals[Q_ACTION] && (why = check_filter(vals[Q_ACTION])))
		verr_add(&v, "action", why);
	if (vals[Q_RESOURCE] && (why = check_filter(vals[Q_RESOURCE])))
		verr_add(&v, "resource", why);
	if (vals[Q_FROM])
		query_int(&v, "from", vals[Q_FROM], 0, NUM_MAX, &q.from);
	if (vals[Q_TO])
		query_int(&v, "to", vals[Q_TO], 0, NUM_MAX, &q.to);
	if (q.from >= 0 && q.to >= 0 && q.from > q.to)
		verr_add(&v, "to", "must not be before from");
	if (verr_any(&v)) {
		query_free(vals, Q__MAX);
		resp_verrs(r, &v);
		return;
	}
	q.action = vals[Q_ACTION];
	q.resource = vals[Q_RESOURCE];
	/* One read transaction: total and page come from the same snapshot. */
	entries = NULL;
	if (db_exec(r->app->db, "BEGIN") == 0) {
		entries = audit_select(r->app->db, &q, &total);
		db_exec(r->app->db, "COMMIT");
	}
	query_free(vals, Q__MAX);
	if (!entries) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	resp_json(r, 200, json_pack("{s:o,s:I,s:I,s:I}", "entries", entries, "total", (json_int_t)total,
				    "limit", (json_int_t)q.limit, "offset", (json_int_t)q.offset));
}
