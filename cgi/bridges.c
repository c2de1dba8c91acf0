/* SPDX-License-Identifier: MIT */
/* /api/bridges (api.md §7): traffic between two networks, enforced by the
 * reconciler's firewall (networking.md §6), which is rebuilt after every
 * committed change. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "api.h"
#include "db.h"
#include "ipnet.h"
#include "log.h"
#include "validate.h"

#define MSG_CIDRS4 "must be a comma-separated list of IPv4 CIDRs like 192.168.1.0/24"

struct bridge {
	long long id, a, b;
	char a_name[72], b_name[72], a_iface[16], b_iface[16];
	char direction[16];
	char *allowed_cidrs;            /* malloc'd */
	bool enabled;
	long long created_at, updated_at;
};

enum sql {
	SQL_LIST, SQL_GET, SQL_NETWORK, SQL_PAIR, SQL_INSERT, SQL_UPDATE, SQL_RESTORE,
	SQL_DELETE, SQL__MAX
};

#define BRIDGE_COLS "SELECT b.id, b.network_a_id, b.network_b_id, na.name, nb.name, " \
	"na.interface, nb.interface, b.direction, b.allowed_cidrs, b.enabled, b.created_at, " \
	"b.updated_at FROM network_bridges b JOIN networks na ON na.id = b.network_a_id " \
	"JOIN networks nb ON nb.id = b.network_b_id"

static const char *const sqls[SQL__MAX] = {
	[SQL_LIST] = BRIDGE_COLS " ORDER BY b.id LIMIT ? OFFSET ?",
	[SQL_GET] = BRIDGE_COLS " WHERE b.id = ?",
	[SQL_NETWORK] = "SELECT 1 FROM networks WHERE id = ?",
	[SQL_PAIR] = "SELECT id FROM network_bridges WHERE (network_a_id = ?1 AND network_b_id = ?2) "
		"OR (network_a_id = ?2 AND network_b_id = ?1)",
	[SQL_INSERT] = "INSERT INTO network_bridges (network_a_id, network_b_id, direction, "
		"allowed_cidrs) VALUES (?, ?, ?, ?) RETURNING id",
	[SQL_UPDATE] = "UPDATE network_bridges SET direction = ?, allowed_cidrs = ?, enabled = ?, "
		"updated_at = unixepoch() WHERE id = ?",
	[SQL_RESTORE] = "UPDATE network_bridges SET direction = ?, allowed_cidrs = ?, enabled = ?, "
		"updated_at = ? WHERE id = ?",
	[SQL_DELETE] = "DELETE FROM network_bridges WHERE id = ?",
};

static void bridge_free(struct bridge *b)
{
	free(b->allowed_cidrs);
	b->allowed_cidrs = NULL;
}

/* One row of BRIDGE_COLS into b. 0 or -ENOMEM. */
static int bridge_row(sqlite3_stmt *st, struct bridge *b)
{
	memset(b, 0, sizeof *b);
	b->id = sqlite3_column_int64(st, 0);
	b->a = sqlite3_column_int64(st, 1);
	b->b = sqlite3_column_int64(st, 2);
	db_col_copy(b->a_name, sizeof b->a_name, st, 3);
	db_col_copy(b->b_name, sizeof b->b_name, st, 4);
	db_col_copy(b->a_iface, sizeof b->a_iface, st, 5);
	db_col_copy(b->b_iface, sizeof b->b_iface, st, 6);
	db_col_copy(b->direction, sizeof b->direction, st, 7);
	b->allowed_cidrs = strdup(sqlite3_column_text(st, 8) ? (const char *)sqlite3_column_text(st, 8) : "");
	b->enabled = sqlite3_column_int(st, 9) != 0;
	b->created_at = sqlite3_column_int64(st, 10);
	b->updated_at = sqlite3_column_int64(st, 11);
	return b->allowed_cidrs ? 0 : -ENOMEM;
}

/* 1 found, 0 not, <0 -errno. */
static int bridge_get(sqlite3 *db, long long id, struct bridge *b)
{
	sqlite3_stmt *st;
	int rc, err = db_prepare(db, sqls[SQL_GET], &st);

	if (err < 0)
		return err;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err = bridge_row(st, b) < 0 ? -ENOMEM : 1;
	else
		err = rc == SQLITE_DONE ? 0 : db_rc_errno(rc);
	sqlite3_finalize(st);
	return err;
}

static json_t *bridge_json(const struct bridge *b)
{
	return json_pack("{s:I,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:I,s:I}",
			 "id", (json_int_t)b->id, "network_a_id", (json_int_t)b->a,
			 "network_b_id", (json_int_t)b->b, "network_a_name", b->a_name,
			 "network_b_name", b->b_name, "interface_a", b->a_iface,
			 "interface_b", b->b_iface, "direction", b->direction,
			 "allowed_cidrs", b->allowed_cidrs, "enabled", b->enabled,
			 "created_at", (json_int_t)b->created_at, "updated_at", (json_int_t)b->updated_at);
}

/* Loads the bridge of the path; 1 found, else the response is sent. */
static int load_bridge(struct req *r, struct bridge *b)
{
	int found = bridge_get(r->app->db, r->ids[0], b);

	if (found < 0)
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
	else if (found == 0)
		resp_error(r, 404, "BRIDGE_NOT_FOUND", "bridge %lld not found", r->ids[0]);
	return found;
}

/* allowed_cidrs: "" or IPv4 CIDRs (the firewall is `table ip wgpilot` and
 * matches them with `ip daddr`), normalised to "net/len,net/len" with host
 * bits cleared. NULL and *out (malloc'd) set, or the field message. */
static const char *cidrs_normalize(const char *s, char **out)
{
	struct ipnet *items;
	size_t n, len = 0, cap;
	char *buf;

	*out = NULL;
	/* v_cidr_list insists on the "/n" that ipnet_parse_list would default. */
	if (v_cidr_list(s) || ipnet_parse_list(s, &items, &n, NULL) < 0)
		return MSG_CIDRS4;
	cap = n * IPNET_STRLEN + 1;    /* each item with its comma fits IPNET_STRLEN */
	buf = malloc(cap);
	if (!buf) {
		free(items);
		return "out of memory";
	}
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char one[IPNET_STRLEN];

		if (items[i].family != AF_INET) {
			free(items);
			free(buf);
			return MSG_CIDRS4;
		}
		ipnet_normalize(&items[i]);
		ipnet_format(one, &items[i]);
		len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "," : "", one);
	}
	free(items);
	*out = buf;
	return NULL;
}

/* Rebuilds the firewall (networking.md §6) after a committed change.
 * 0 ok, else -1 with code and message for the response. */
static int firewall_apply(struct req *r, char code[48], char msg[256])
{
	return reconciler_call(r, "apply_firewall", NULL, code, msg);
}

static void resp_firewall_error(struct req *r, const char *code, const char *msg)
{
	resp_error(r, reconciler_status(code), code, "firewall update failed: %s", msg);
}

/* GET /api/bridges[?limit&offset] — 200 array ordered by id; 400 bad
 * limit/offset; 500 database error. */
static json_t *bridge_row_json(sqlite3_stmt *st)
{
	struct bridge b;
	json_t *o;

	if (bridge_row(st, &b) < 0)
		return NULL;
	o = bridge_json(&b);
	bridge_free(&b);
	return o;
}

void bridges_list(struct req *r)
{
	resp_list(r, sqls[SQL_LIST], 0, bridge_row_json);
}

/* GET /api/bridges/{id} — 200 bridge; 404 BRIDGE_NOT_FOUND. */
void bridges_get(struct req *r)
{
	struct bridge b;

	if (load_bridge(r, &b) != 1)
		return;
	resp_json(r, 200, bridge_json(&b));
	bridge_free(&b);
}

static const char *v_id(long long v)
{
	return v > 0 ? NULL : "must be a positive network ID";
}

enum { BF_A, BF_B, BF_DIR, BF_CIDRS, BF_ENABLED, BF__MAX };
static const struct field create_fields[BF_ENABLED] = {
	[BF_A] = { "network_a_id", FT_INT, FF_REQUIRED, NULL, v_id, NULL },
	[BF_B] = { "network_b_id", FT_INT, FF_REQUIRED, NULL, v_id, NULL },
	[BF_DIR] = { "direction", FT_STRING, 0, v_direction, NULL, NULL },
	[BF_CIDRS] = { "allowed_cidrs", FT_STRING, 0, NULL, NULL, NULL },
};
static const struct field update_fields[BF__MAX] = {
	[BF_A] = { "network_a_id", FT_INT, FF_IMMUTABLE, NULL, NULL, NULL },
	[BF_B] = { "network_b_id", FT_INT, FF_IMMUTABLE, NULL, NULL, NULL },
	[BF_DIR] = { "direction", FT_STRING, 0, v_direction, NULL, NULL },
	[BF_CIDRS] = { "allowed_cidrs", FT_STRING, 0, NULL, NULL, NULL },
	[BF_ENABLED] = { "enabled", FT_BOOL, 0, NULL, NULL, NULL },
};

/* 1 when the statement with one or two int64 parameters yields a row,
 * 0 when not, <0 -errno. */
static int exists(sqlite3 *db, enum sql q, long long a, long long b)
{
	sqlite3_stmt *st;
	int rc, err = db_prepare(db, sqls[q], &st);

	if (err < 0)
		return err;
	sqlite3_bind_int64(st, 1, a);
	if (q == SQL_PAIR)
		sqlite3_bind_int64(st, 2, b);
	rc = sqlite3_step(st);
	err = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_rc_errno(rc);
	sqlite3_finalize(st);
	return err;
}

/* The create checks after the body, in the spec's order, and the insert, in
 * one write transaction. The new id, or -1 with the response sent. */
static long long bridge_insert(struct req *r, long long a, long long b, const char *dir,
			       const char *cidrs_in)
{
	sqlite3 *db = r->app->db;
	struct verrs v = { 0 };
	char *cidrs = NULL;
	const char *why;
	sqlite3_stmt *st;
	long long id = -1;
	int ea, eb, pair;

	if (db_exec(db, "BEGIN IMMEDIATE") < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database busy");
		return -1;
	}
	ea = exists(db, SQL_NETWORK, a, 0);
	eb = exists(db, SQL_NETWORK, b, 0);
	pair = ea == 1 && eb == 1 ? exists(db, SQL_PAIR, a, b) : 0;
	if (ea < 0 || eb < 0 || pair < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
	} else if (ea == 0 || eb == 0) {
		resp_error(r, 404, "NETWORK_NOT_FOUND", "network %lld not found", ea == 0 ? a : b);
	} else if (pair) {
		resp_error(r, 409, "BRIDGE_ALREADY_EXISTS", "networks %lld and %lld are already bridged", a, b);
	} else if ((why = cidrs_normalize(cidrs_in, &cidrs))) {
		verr_add(&v, "allowed_cidrs", why);
		resp_verrs(r, &v);
	} else if (db_prepare(db, sqls[SQL_INSERT], &st) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
	} else {
		sqlite3_bind_int64(st, 1, a);
		sqlite3_bind_int64(st, 2, b);
		sqlite3_bind_text(st, 3, dir, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, cidrs, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			id = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (id < 0 || db_exec(db, "COMMIT") < 0) {
			id = -1;
			resp_error(r, 500, "INTERNAL_ERROR", "database error");
		}
	}
	free(cidrs);
	if (id < 0)
		db_exec(db, "ROLLBACK");
	return id;
}

static int bridge_delete_row(sqlite3 *db, long long id)
{
	sqlite3_stmt *st;
	int rc, err = db_prepare(db, sqls[SQL_DELETE], &st);

	if (err < 0)
		return err;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_rc_errno(rc);
}

/* POST /api/bridges — 201 bridge. Checks in order (api.md §7): body and
 * direction → 400 VALIDATION_ERROR; a == b → 400 BRIDGE_SELF_REFERENCE; a
 * network missing → 404 NETWORK_NOT_FOUND; the pair in either order → 409
 * BRIDGE_ALREADY_EXISTS; allowed_cidrs → 400 VALIDATION_ERROR. Firewall
 * failure → row removed, 500 (reconciler's code) or 503 RECONCILER_UNAVAILABLE. */
void bridges_create(struct req *r)
{
	struct verrs v = { 0 };
	struct bridge br;
	struct body b;
	char code[48], msg[256], res[40], *cidrs = NULL;
	const char *why;
	long long id;

	body_parse(r, create_fields, BF_ENABLED, &b, &v);
	if (verr_any(&v)) {
		/* Report a bad allowed_cidrs together with the other bad fields. */
		if (b.has[BF_CIDRS] && (why = cidrs_normalize(b.s[BF_CIDRS], &cidrs)))
			verr_add(&v, "allowed_cidrs", why);
		free(cidrs);
		body_free(&b);
		resp_verrs(r, &v);
		return;
	}
	if (b.i[BF_A] == b.i[BF_B]) {
		body_free(&b);
		resp_error(r, 400, "BRIDGE_SELF_REFERENCE", "a network cannot be bridged with itself");
		return;
	}
	id = bridge_insert(r, b.i[BF_A], b.i[BF_B], body_str(&b, BF_DIR, "bidirectional"),
			   body_str(&b, BF_CIDRS, ""));
	body_free(&b);
	if (id < 0)
		return;
	if (firewall_apply(r, code, msg) < 0) {
		bridge_delete_row(r->app->db, id);     /* compensate: no partial state */
		resp_firewall_error(r, code, msg);
		return;
	}
	if (bridge_get(r->app->db, id, &br) != 1) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	log_info("handler", "bridge_created", json_pack("{s:I,s:I,s:I,s:s,s:s,s:s}", "bridge_id",
		 (json_int_t)id, "network_a_id", (json_int_t)br.a, "network_b_id", (json_int_t)br.b,
		 "direction", br.direction, "allowed_cidrs", br.allowed_cidrs, "request_id", r->request_id));
	snprintf(res, sizeof res, "bridge:%lld", id);
	audit(r, "bridge.created", res, json_pack("{s:I,s:I,s:s,s:s}", "network_a_id", (json_int_t)br.a,
	      "network_b_id", (json_int_t)br.b, "direction", br.direction, "allowed_cidrs", br.allowed_cidrs));
	resp_json(r, 201, bridge_json(&br));
	bridge_free(&br);
}

/* Writes direction/cidrs/enabled of b; with restore also its updated_at. */
static int bridge_write(sqlite3 *db, const struct bridge *b, bool restore)
{
	sqlite3_stmt *st;
	int rc, err = db_prepare(db, sqls[restore ? SQL_RESTORE : SQL_UPDATE], &st);

	if (err < 0)
		return err;
	sqlite3_bind_text(st, 1, b->direction, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b->allowed_cidrs, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, b->enabled);
	if (restore)
		sqlite3_bind_int64(st, 4, b->updated_at);
	sqlite3_bind_int64(st, restore ? 5 : 4, b->id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		db_log_error(db, "bridge update");
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_rc_errno(rc);
}

/* PUT /api/bridges/{id} — any of direction, allowed_cidrs, enabled → 200
 * bridge (no field: unchanged); 400 VALIDATION_ERROR (network ids
 * "immutable"); 404 BRIDGE_NOT_FOUND; firewall failure → change reverted,
 * 500 (reconciler's code) or 503 RECONCILER_UNAVAILABLE. */
void bridges_update(struct req *r)
{
	struct bridge old, nu;
	struct verrs v = { 0 };
	struct body b;
	char code[48], msg[256], res[40], *cidrs = NULL;
	const char *why;
	json_t *detail;

	if (load_bridge(r, &old) != 1)
		return;
	body_parse(r, update_fields, BF__MAX, &b, &v);
	if (b.has[BF_CIDRS] && (why = cidrs_normalize(b.s[BF_CIDRS], &cidrs)))
		verr_add(&v, "allowed_cidrs", why);
	if (verr_any(&v)) {
		free(cidrs);
		body_free(&b);
		bridge_free(&old);
		resp_verrs(r, &v);
		return;
	}
	nu = old;
	nu.allowed_cidrs = cidrs ? cidrs : old.allowed_cidrs;
	detail = json_object();
	if (b.has[BF_DIR]) {
		snprintf(nu.direction, sizeof nu.direction, "%s", b.s[BF_DIR]);
		json_object_set_new(detail, "direction", json_string(nu.direction));
	}
	if (cidrs)
		json_object_set_new(detail, "allowed_cidrs", json_string(cidrs));
	if (b.has[BF_ENABLED]) {
		nu.enabled = b.b[BF_ENABLED];
		json_object_set_new(detail, "enabled", json_boolean(nu.enabled));
	}
	body_free(&b);
	if (json_object_size(detail) == 0) {            /* nothing to change */
		json_decref(detail);
		resp_json(r, 200, bridge_json(&old));
		bridge_free(&old);
		return;
	}
	if (bridge_write(r->app->db, &nu, false) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		goto out;
	}
	if (firewall_apply(r, code, msg) < 0) {
		bridge_write(r->app->db, &old, true);  /* compensate: back to the old row */
		resp_firewall_error(r, code, msg);
		goto out;
	}
	free(cidrs);
	cidrs = NULL;
	bridge_free(&old);
	if (bridge_get(r->app->db, r->ids[0], &nu) != 1) {
		json_decref(detail);
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	log_info("handler", "bridge_updated", json_pack("{s:I,s:O,s:s}", "bridge_id", (json_int_t)nu.id,
		 "changes", detail, "request_id", r->request_id));
	snprintf(res, sizeof res, "bridge:%lld", nu.id);
	audit(r, "bridge.updated", res, detail);
	resp_json(r, 200, bridge_json(&nu));
	bridge_free(&nu);
	return;
out:
	json_decref(detail);
	free(cidrs);
	bridge_free(&old);
}

/* DELETE /api/bridges/{id} — 204; 404 BRIDGE_NOT_FOUND; 503
 * RECONCILER_UNAVAILABLE (checked before the row goes). A failing firewall
 * rebuild after the delete is logged only, as for other deletes
 * (networking.md §7); the next full reconcile retries it. */
void bridges_delete(struct req *r)
{
	struct bridge b;
	char code[48], msg[256], res[40];

	if (load_bridge(r, &b) != 1)
		return;
	if (reconciler_call(r, "ping", NULL, code, msg) < 0) {
		bridge_free(&b);
		resp_error(r, reconciler_status(code), code, "%s", msg);
		return;
	}
	if (bridge_delete_row(r->app->db, b.id) < 0) {
		bridge_free(&b);
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	if (firewall_apply(r, code, msg) < 0)
		log_error("handler", "bridge_firewall_remove_failed", json_pack("{s:I,s:s,s:s,s:s}",
			  "bridge_id", (json_int_t)b.id, "code", code, "message", msg,
			  "request_id", r->request_id));
	log_info("handler", "bridge_deleted", json_pack("{s:I,s:I,s:I,s:s}", "bridge_id", (json_int_t)b.id,
		 "network_a_id", (json_int_t)b.a, "network_b_id", (json_int_t)b.b, "request_id", r->request_id));
	snprintf(res, sizeof res, "bridge:%lld", b.id);
	audit(r, "bridge.deleted", res, json_pack("{s:I,s:I}", "network_a_id", (json_int_t)b.a,
	      "network_b_id", (json_int_t)b.b));
	bridge_free(&b);
	resp_empty(r, 204);
}
