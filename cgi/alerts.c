/* SPDX-License-Identifier: MIT */
/* /api/alerts (api.md §10): alert rules; the snapshot job evaluates them
 * (monitoring.md §4). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "db.h"
#include "log.h"
#include "validate.h"

struct alert {
	long long id;
	char type[16];
	char threshold[64];
	char notify[8];
	bool enabled;
	long long created_at;
};

enum sql { SQL_LIST, SQL_GET, SQL_INSERT, SQL_UPDATE, SQL_DELETE, SQL__MAX };
static const char *const sqls[SQL__MAX] = {
	[SQL_LIST] = "SELECT id, type, threshold, notify, enabled, created_at FROM alerts "
		"ORDER BY id LIMIT ? OFFSET ?",
	[SQL_GET] = "SELECT id, type, threshold, notify, enabled, created_at FROM alerts WHERE id = ?",
	[SQL_INSERT] = "INSERT INTO alerts (type, threshold, notify, enabled) VALUES (?, ?, ?, ?) "
		"RETURNING id, created_at",
	[SQL_UPDATE] = "UPDATE alerts SET type = ?, threshold = ?, notify = ?, enabled = ? WHERE id = ?",
	[SQL_DELETE] = "DELETE FROM alerts WHERE id = ?",
};

#define MSG_OFFLINE "must be a duration like 10m for peer_offline"
#define MSG_DOWN "must be 0 or immediate for interface_down"
#define MSG_SPIKE "must be <n><KB|MB|GB|TB>/<minute|hour|day>, e.g. 1GB/hour, for transfer_spike"

static const char *v_alert_type(const char *s)
{
	return strcmp(s, "peer_offline") == 0 || strcmp(s, "interface_down") == 0
	       || strcmp(s, "transfer_spike") == 0 ? NULL
	       : "must be peer_offline, interface_down or transfer_spike";
}

static const char *v_notify(const char *s)
{
	return strcmp(s, "email") == 0 || strcmp(s, "log") == 0 ? NULL : "must be email or log";
}

/* transfer_spike: <n><KB|MB|GB|TB>/<minute|hour|day>, n > 0, binary units
 * (monitoring.md §4); n times the unit must fit 63 bits. */
static bool spike_ok(const char *s)
{
	static const char *const units[] = { "KB", "MB", "GB", "TB" };
	static const char *const windows[] = { "/minute", "/hour", "/day" };
	uint64_t n = 0;
	const char *p = s;
	int u = -1;

	if (*p < '1' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > (UINT64_C(1) << 40))
			return false;
	}
	for (int i = 0; i < 4; i++)
		if (strncmp(p, units[i], 2) == 0)
			u = i;
	if (u < 0 || n > (uint64_t)INT64_MAX >> (10 * (u + 1)))
		return false;
	p += 2;
	for (int i = 0; i < 3; i++)
		if (strcmp(p, windows[i]) == 0)
			return true;
	return false;
}

/* NULL when threshold parses for type (monitoring.md §4), else the message. */
static const char *threshold_check(const char *type, const char *threshold)
{
	long long secs;

	if (strcmp(type, "peer_offline") == 0)
		return parse_duration(threshold, &secs) == 0 ? NULL : MSG_OFFLINE;
	if (strcmp(type, "interface_down") == 0)
		return strcmp(threshold, "0") == 0 || strcmp(threshold, "immediate") == 0 ? NULL : MSG_DOWN;
	return spike_ok(threshold) ? NULL : MSG_SPIKE;
}

static void alert_row(sqlite3_stmt *st, struct alert *a)
{
	memset(a, 0, sizeof *a);
	a->id = sqlite3_column_int64(st, 0);
	db_col_copy(a->type, sizeof a->type, st, 1);
	db_col_copy(a->threshold, sizeof a->threshold, st, 2);
	db_col_copy(a->notify, sizeof a->notify, st, 3);
	a->enabled = sqlite3_column_int(st, 4) != 0;
	a->created_at = sqlite3_column_int64(st, 5);
}

static json_t *alert_json(const struct alert *a)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:b,s:I}", "id", (json_int_t)a->id, "type", a->type,
			 "threshold", a->threshold, "notify", a->notify, "enabled", a->enabled,
			 "created_at", (json_int_t)a->created_at);
}

/* Loads the alert of the path; 1 found, else the response is sent. */
static int load_alert(struct req *r, struct alert *a)
{
	sqlite3_stmt *st;
	int rc;

	if (db_prepare(r->app->db, sqls[SQL_GET], &st) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return -1;
	}
	sqlite3_bind_int64(st, 1, r->ids[0]);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		alert_row(st, a);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE) {
		resp_error(r, 404, "ALERT_NOT_FOUND", "alert %lld not found", r->ids[0]);
		return 0;
	}
	resp_error(r, 500, "INTERNAL_ERROR", "database error");
	return -1;
}

/* GET /api/alerts[?limit&offset] — 200 array ordered by id; 400 bad
 * limit/offset; 500 database error. */
static json_t *alert_row_json(sqlite3_stmt *st)
{
	struct alert a;

	alert_row(st, &a);
	return alert_json(&a);
}

void alerts_list(struct req *r)
{
	resp_list(r, sqls[SQL_LIST], 0, alert_row_json);
}

enum { AF_TYPE, AF_THRESHOLD, AF_NOTIFY, AF_ENABLED, AF__MAX };
static const struct field create_fields[AF__MAX] = {
	[AF_TYPE] = { "type", FT_STRING, FF_REQUIRED, v_alert_type, NULL, NULL },
	[AF_THRESHOLD] = { "threshold", FT_STRING, FF_REQUIRED, NULL, NULL, NULL },
	[AF_NOTIFY] = { "notify", FT_STRING, 0, v_notify, NULL, NULL },
	[AF_ENABLED] = { "enabled", FT_BOOL, 0, NULL, NULL, NULL },
};
static const struct field update_fields[AF__MAX] = {
	[AF_TYPE] = { "type", FT_STRING, 0, v_alert_type, NULL, NULL },
	[AF_THRESHOLD] = { "threshold", FT_STRING, 0, NULL, NULL, NULL },
	[AF_NOTIFY] = { "notify", FT_STRING, 0, v_notify, NULL, NULL },
	[AF_ENABLED] = { "enabled", FT_BOOL, 0, NULL, NULL, NULL },
};

/* Parses the body into a (over its current values) and checks the
 * threshold against the resulting type. 0, or -1 with the 400 sent.
 * detail (may be NULL) gets every field the body sets. */
static int alert_from_body(struct req *r, const struct field *table, struct alert *a, json_t *detail)
{
	struct verrs v = { 0 };
	struct body b;
	const char *why;
	bool type_given, th_ok = true;

	body_parse(r, table, AF__MAX, &b, &v);
	type_given = json_object_get(b.root, "type") && !json_is_null(json_object_get(b.root, "type"));
	if (b.has[AF_TYPE])
		snprintf(a->type, sizeof a->type, "%s", b.s[AF_TYPE]);
	if (b.has[AF_NOTIFY])
		snprintf(a->notify, sizeof a->notify, "%s", b.s[AF_NOTIFY]);
	if (b.has[AF_ENABLED])
		a->enabled = b.b[AF_ENABLED];
	if (b.has[AF_THRESHOLD]) {
		th_ok = b.s[AF_THRESHOLD][0] && strlen(b.s[AF_THRESHOLD]) < sizeof a->threshold;
		if (!b.s[AF_THRESHOLD][0])
			verr_add(&v, "threshold", "required");
		else if (!th_ok)
			verr_add(&v, "threshold", "must be at most 63 characters");
		else
			snprintf(a->threshold, sizeof a->threshold, "%s", b.s[AF_THRESHOLD]);
	}
	/* The threshold must parse for the resulting type: a new threshold is
	 * checked against it, and so is the stored one when only the type
	 * changes. Nothing to check against when the given type is bad. */
	if (th_ok && a->threshold[0] && a->type[0] && (b.has[AF_THRESHOLD] || b.has[AF_TYPE])
	    && !(type_given && !b.has[AF_TYPE]) && (why = threshold_check(a->type, a->threshold)))
		verr_add(&v, "threshold", b.has[AF_THRESHOLD] ? why
			 : "does not fit the new type; give a threshold for it");
	if (verr_any(&v)) {
		body_free(&b);
		resp_verrs(r, &v);
		return -1;
	}
	for (int i = 0; detail && i < AF__MAX; i++)
		if (b.has[i])
			json_object_set(detail, table[i].key, json_object_get(b.root, table[i].key));
	body_free(&b);
	return 0;
}

/* POST /api/alerts — 201 alert; 400 VALIDATION_ERROR (type, threshold
 * for the type, notify, enabled); 500 database error. */
void alerts_create(struct req *r)
{
	struct alert a = { .enabled = true };
	sqlite3_stmt *st;
	char res[40];
	int rc;

	snprintf(a.notify, sizeof a.notify, "email");
	if (alert_from_body(r, create_fields, &a, NULL) < 0)
		return;
	if (db_prepare(r->app->db, sqls[SQL_INSERT], &st) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	sqlite3_bind_text(st, 1, a.type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a.threshold, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a.notify, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, a.enabled);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		a.id = sqlite3_column_int64(st, 0);
		a.created_at = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		db_log_error(r->app->db, "alert insert");
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	log_info("handler", "alert_created", json_pack("{s:I,s:s,s:s,s:s,s:s}", "alert_id", (json_int_t)a.id,
		 "type", a.type, "threshold", a.threshold, "notify", a.notify, "request_id", r->request_id));
	snprintf(res, sizeof res, "alert:%lld", a.id);
	audit(r, "alert.created", res, json_pack("{s:s,s:s,s:s,s:b}", "type", a.type, "threshold",
	      a.threshold, "notify", a.notify, "enabled", a.enabled));
	resp_json(r, 201, alert_json(&a));
}

/* PUT /api/alerts/{id} — any of type, threshold, notify, enabled → 200
 * alert (no field: unchanged); 400 VALIDATION_ERROR (a new type re-checks
 * the stored threshold); 404 ALERT_NOT_FOUND; 500 database error. */
void alerts_update(struct req *r)
{
	json_t *detail;
	sqlite3_stmt *st;
	struct alert a;
	char res[40];
	int rc;

	if (load_alert(r, &a) != 1)
		return;
	detail = json_object();
	if (alert_from_body(r, update_fields, &a, detail) < 0) {
		json_decref(detail);
		return;
	}
	if (json_object_size(detail) == 0) {
		json_decref(detail);
		resp_json(r, 200, alert_json(&a));
		return;
	}
	if (db_prepare(r->app->db, sqls[SQL_UPDATE], &st) < 0) {
		json_decref(detail);
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	sqlite3_bind_text(st, 1, a.type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a.threshold, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a.notify, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, a.enabled);
	sqlite3_bind_int64(st, 5, a.id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_log_error(r->app->db, "alert update");
		json_decref(detail);
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	log_info("handler", "alert_updated", json_pack("{s:I,s:O,s:s}", "alert_id", (json_int_t)a.id,
		 "changes", detail, "request_id", r->request_id));
	snprintf(res, sizeof res, "alert:%lld", a.id);
	audit(r, "alert.updated", res, detail);
	resp_json(r, 200, alert_json(&a));
}

/* DELETE /api/alerts/{id} — 204 (its alert_state rows cascade); 404
 * ALERT_NOT_FOUND; 500 database error. */
void alerts_delete(struct req *r)
{
	sqlite3_stmt *st;
	struct alert a;
	char res[40];
	int rc;

	if (load_alert(r, &a) != 1)
		return;
	if (db_prepare(r->app->db, sqls[SQL_DELETE], &st) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	sqlite3_bind_int64(st, 1, a.id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_log_error(r->app->db, "alert delete");
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	log_info("handler", "alert_deleted", json_pack("{s:I,s:s,s:s}", "alert_id", (json_int_t)a.id,
		 "type", a.type, "request_id", r->request_id));
	snprintf(res, sizeof res, "alert:%lld", a.id);
	audit(r, "alert.deleted", res, json_pack("{s:s,s:s}", "type", a.type, "threshold", a.threshold));
	resp_empty(r, 204);
}
