/* SPDX-License-Identifier: MIT */
/* /api/users and /api/api-keys (api.md §11, security.md §6): accounts and
 * the bearer keys that act for them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "api.h"
#include "db.h"
#include "log.h"
#include "validate.h"

#define KEY_RANDOM_BYTES 32
#define KEY_LEN (4 + 2 * KEY_RANDOM_BYTES)      /* "wgp_" + 64 hex */
#define KEY_PREFIX_CHARS 12                     /* "wgp_" + 8 hex, then "..." */

enum sql {
	SQL_USER_LIST, SQL_USER_EXISTS, SQL_USER_INSERT, SQL_USER_GET, SQL_USER_DELETE,
	SQL_KEY_LIST_ALL, SQL_KEY_LIST_OWN, SQL_KEY_INSERT, SQL_KEY_GET, SQL_KEY_DELETE, SQL__MAX
};

static const char *const sqls[SQL__MAX] = {
	[SQL_USER_LIST] = "SELECT id, username, role, created_at, updated_at FROM users "
		"ORDER BY id LIMIT ? OFFSET ?",
	[SQL_USER_EXISTS] = "SELECT 1 FROM users WHERE username = ?",
	[SQL_USER_INSERT] = "INSERT INTO users (username, password_hash, role) VALUES (?, ?, ?) "
		"RETURNING id, created_at, updated_at",
	[SQL_USER_GET] = "SELECT username, role FROM users WHERE id = ?",
	[SQL_USER_DELETE] = "DELETE FROM users WHERE id = ?",
	[SQL_KEY_LIST_ALL] = "SELECT id, name, key_prefix, role, expires_at, created_at, last_used "
		"FROM api_keys ORDER BY id LIMIT ?1 OFFSET ?2",
	[SQL_KEY_LIST_OWN] = "SELECT id, name, key_prefix, role, expires_at, created_at, last_used "
		"FROM api_keys WHERE user_id = ?3 ORDER BY id LIMIT ?1 OFFSET ?2",
	[SQL_KEY_INSERT] = "INSERT INTO api_keys (name, key_hash, key_prefix, user_id, role, expires_at) "
		"VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
	[SQL_KEY_GET] = "SELECT user_id, name FROM api_keys WHERE id = ?",
	[SQL_KEY_DELETE] = "DELETE FROM api_keys WHERE id = ?",
};

static bool is_admin(const struct req *r)
{
	return strcmp(r->user.role, "admin") == 0;
}

static json_t *int_or_null(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? json_null()
	       : json_integer(sqlite3_column_int64(st, col));
}

/* Runs the DELETE q for the id of the path. 0, or -1 with the 500 sent. */
static int delete_row(struct req *r, enum sql q, const char *what)
{
	sqlite3_stmt *st;
	int rc;

	if (db_prepare(r->app->db, sqls[q], &st) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return -1;
	}
	sqlite3_bind_int64(st, 1, r->ids[0]);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		db_log_error(r->app->db, what);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return -1;
	}
	return 0;
}

static json_t *user_row(sqlite3_stmt *st)
{
	return json_pack("{s:I,s:s,s:s,s:I,s:I}", "id", (json_int_t)sqlite3_column_int64(st, 0),
			 "username", db_col_text(st, 1), "role", db_col_text(st, 2),
			 "created_at", (json_int_t)sqlite3_column_int64(st, 3),
			 "updated_at", (json_int_t)sqlite3_column_int64(st, 4));
}

/* GET /api/users[?limit&offset] — 200 array ordered by id; 400 bad
 * limit/offset; 403 FORBIDDEN (not admin, before the handler). */
void users_list(struct req *r)
{
	resp_list(r, sqls[SQL_USER_LIST], 0, user_row);
}

enum { UF_USERNAME, UF_PASSWORD, UF_ROLE, UF__MAX };
static const struct field user_fields[UF__MAX] = {
	[UF_USERNAME] = { "username", FT_STRING, FF_REQUIRED, v_username, NULL, NULL },
	[UF_PASSWORD] = { "password", FT_STRING, FF_REQUIRED, v_password, NULL, NULL },
	[UF_ROLE] = { "role", FT_STRING, 0, v_user_role, NULL, NULL },
};

/* 1 when a user with this name exists, 0 not, <0 -errno. */
static int username_taken(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	int rc, err = db_prepare(db, sqls[SQL_USER_EXISTS], &st);

	if (err < 0)
		return err;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_rc_errno(rc);
}

/* POST /api/users — 201 user; 400 VALIDATION_ERROR (username, password
 * >= 10, role); 409 VALIDATION_ERROR duplicate username (the code Go used);
 * 500 hashing or database error. */
void users_create(struct req *r)
{
	struct verrs v = { 0 };
	struct body b;
	char hash[PWHASH_STR_LEN], res[40];
	const char *name, *role;
	sqlite3_stmt *st = NULL;
	long long id = 0, created = 0, updated = 0;
	int taken, rc = SQLITE_ERROR;

	body_parse(r, user_fields, UF__MAX, &b, &v);
	if (verr_any(&v)) {
		body_free(&b);
		resp_verrs(r, &v);
		return;
	}
	name = b.s[UF_USERNAME];
	role = body_str(&b, UF_ROLE, "viewer");
	taken = username_taken(r->app->db, name);
	if (taken != 0) {
		if (taken > 0)
			resp_error(r, 409, "VALIDATION_ERROR", "user %s already exists", name);
		else
			resp_error(r, 500, "INTERNAL_ERROR", "database error");
		body_free(&b);
		return;
	}
	if (pw_hash(hash, b.s[UF_PASSWORD], r->app->cfg.argon2_opslimit, r->app->cfg.argon2_memlimit) < 0
	    || db_prepare(r->app->db, sqls[SQL_USER_INSERT], &st) < 0) {
		body_free(&b);
		resp_error(r, 500, "INTERNAL_ERROR", "cannot create the user");
		return;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, role, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		created = sqlite3_column_int64(st, 1);
		updated = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		/* The name was free a moment ago: a concurrent create won. */
		if (db_rc_errno(rc) == -EEXIST)
			resp_error(r, 409, "VALIDATION_ERROR", "user %s already exists", name);
		else
			resp_error(r, 500, "INTERNAL_ERROR", "database error");
		body_free(&b);
		return;
	}
	log_info("handler", "user_created", json_pack("{s:I,s:s,s:s,s:s}", "user_id", (json_int_t)id,
		 "username", name, "role", role, "request_id", r->request_id));
	snprintf(res, sizeof res, "user:%lld", id);
	audit(r, "user.created", res, json_pack("{s:s,s:s}", "username", name, "role", role));
	resp_json(r, 201, json_pack("{s:I,s:s,s:s,s:I,s:I}", "id", (json_int_t)id, "username", name,
				    "role", role, "created_at", (json_int_t)created,
				    "updated_at", (json_int_t)updated));
	body_free(&b);
}

/* DELETE /api/users/{id} — 204 (the user's API keys cascade); 400
 * VALIDATION_ERROR for the caller's own account; 404 VALIDATION_ERROR
 * unknown user (the code Go used); 500 database error. */
void users_delete(struct req *r)
{
	sqlite3_stmt *st;
	char name[72] = "", res[40];
	int rc;

	if (r->ids[0] == r->user.id) {
		resp_error(r, 400, "VALIDATION_ERROR", "you cannot delete your own account");
		return;
	}
	if (db_prepare(r->app->db, sqls[SQL_USER_GET], &st) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	sqlite3_bind_int64(st, 1, r->ids[0]);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(name, sizeof name, "%s", db_col_text(st, 0));
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			resp_error(r, 404, "VALIDATION_ERROR", "user %lld not found", r->ids[0]);
		else
			resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	if (delete_row(r, SQL_USER_DELETE, "user delete") < 0)
		return;
	log_info("handler", "user_deleted", json_pack("{s:I,s:s,s:s}", "user_id", (json_int_t)r->ids[0],
		 "username", name, "request_id", r->request_id));
	snprintf(res, sizeof res, "user:%lld", r->ids[0]);
	audit(r, "user.deleted", res, json_pack("{s:s}", "username", name));
	resp_empty(r, 204);
}

/* ---- API keys ---- */

static json_t *key_row(sqlite3_stmt *st)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:o,s:I,s:o}", "id", (json_int_t)sqlite3_column_int64(st, 0),
			 "name", db_col_text(st, 1), "key_prefix", db_col_text(st, 2), "role", db_col_text(st, 3),
			 "expires_at", int_or_null(st, 4),
			 "created_at", (json_int_t)sqlite3_column_int64(st, 5),
			 "last_used", int_or_null(st, 6));
}

/* GET /api/api-keys[?limit&offset] — 200 array ordered by id: every key for
 * admins, the caller's own for viewers; 400 bad limit/offset. */
void apikeys_list(struct req *r)
{
	if (is_admin(r))
		resp_list(r, sqls[SQL_KEY_LIST_ALL], 0, key_row);
	else
		resp_list(r, sqls[SQL_KEY_LIST_OWN], r->user.id, key_row);
}

/* Non-empty (security.md §9); short and printable since lists show it. */
static const char *v_key_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return "required";
	if (n > 128)
		return "must be at most 128 characters";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return "must not contain control characters";
	return NULL;
}

static const char *v_expires_in(const char *s)
{
	long long secs;

	return parse_duration(s, &secs) == 0 ? NULL : DURATION_MSG;
}

enum { KF_NAME, KF_ROLE, KF_EXPIRES, KF__MAX };
static const struct field key_fields[KF__MAX] = {
	[KF_NAME] = { "name", FT_STRING, FF_REQUIRED, v_key_name, NULL, NULL },
	[KF_ROLE] = { "role", FT_STRING, 0, v_user_role, NULL, NULL },
	[KF_EXPIRES] = { "expires_in", FT_STRING, FF_EMPTY_OK, v_expires_in, NULL, NULL },
};

/* Inserts the key row; its id or -1 (logged). */
static long long key_insert(struct req *r, const char *name, const char *hash, const char *prefix,
			    const char *role, long long expires_at)
{
	sqlite3_stmt *st;
	long long id = -1;

	if (db_prepare(r->app->db, sqls[SQL_KEY_INSERT], &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, r->user.id);
	sqlite3_bind_text(st, 5, role, -1, SQLITE_STATIC);
	if (expires_at > 0)
		sqlite3_bind_int64(st, 6, expires_at);
	else
		sqlite3_bind_null(st, 6);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else
		db_log_error(r->app->db, "api key insert");
	sqlite3_finalize(st);
	return id;
}

/* POST /api/api-keys — 201 {"id","key","name","key_prefix","role",
 * "expires_at"}, the key shown only here; role defaults to the caller's
 * (admin for admins, as the spec says; viewer for viewers). 400
 * VALIDATION_ERROR (name, role, expires_in); 403 FORBIDDEN a viewer asking
 * for an admin key; 500 database error. */
void apikeys_create(struct req *r)
{
	struct verrs v = { 0 };
	struct body b;
	char key[KEY_LEN + 1], hash[65], prefix[KEY_PREFIX_CHARS + 4], res[40];
	const char *role;
	long long secs = 0, expires_at = 0, id;

	body_parse(r, key_fields, KF__MAX, &b, &v);
	if (verr_any(&v)) {
		body_free(&b);
		resp_verrs(r, &v);
		return;
	}
	role = body_str(&b, KF_ROLE, is_admin(r) ? "admin" : "viewer");
	if (!is_admin(r) && strcmp(role, "viewer") != 0) {
		body_free(&b);
		resp_error(r, 403, "FORBIDDEN", "viewers may only create viewer keys");
		return;
	}
	if (b.has[KF_EXPIRES] && parse_duration(b.s[KF_EXPIRES], &secs) == 0)
		expires_at = (long long)time(NULL) + secs;
	memcpy(key, "wgp_", 4);
	rand_hex(key + 4, KEY_RANDOM_BYTES);
	sha256_hex(hash, key);
	snprintf(prefix, sizeof prefix, "%.*s...", KEY_PREFIX_CHARS, key);
	id = key_insert(r, b.s[KF_NAME], hash, prefix, role, expires_at);
	if (id < 0) {
		sodium_memzero(key, sizeof key);
		body_free(&b);
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	log_info("handler", "api_key_created", json_pack("{s:I,s:s,s:s,s:s}", "api_key_id", (json_int_t)id,
		 "key_prefix", prefix, "role", role, "request_id", r->request_id));
	snprintf(res, sizeof res, "api_key:%lld", id);
	audit(r, "api_key.created", res, json_pack("{s:s,s:s,s:s,s:o}", "name", b.s[KF_NAME], "role", role,
	      "key_prefix", prefix, "expires_at", expires_at ? json_integer(expires_at) : json_null()));
	resp_json(r, 201, json_pack("{s:I,s:s,s:s,s:s,s:s,s:o}", "id", (json_int_t)id, "key", key,
				    "name", b.s[KF_NAME], "key_prefix", prefix, "role", role,
				    "expires_at", expires_at ? json_integer(expires_at) : json_null()));
	sodium_memzero(key, sizeof key);
	body_free(&b);
}

/* DELETE /api/api-keys/{id} — 200 {"status":"deleted"}; 403 FORBIDDEN a
 * viewer's request for another user's key; 404 VALIDATION_ERROR unknown
 * key; 500 database error. */
void apikeys_delete(struct req *r)
{
	sqlite3_stmt *st;
	char name[160] = "", res[40];
	long long owner = 0;
	int rc;

	if (db_prepare(r->app->db, sqls[SQL_KEY_GET], &st) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	sqlite3_bind_int64(st, 1, r->ids[0]);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		owner = sqlite3_column_int64(st, 0);
		snprintf(name, sizeof name, "%s", db_col_text(st, 1));
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE) {
		resp_error(r, 404, "VALIDATION_ERROR", "API key %lld not found", r->ids[0]);
		return;
	}
	if (rc != SQLITE_ROW) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	if (!is_admin(r) && owner != r->user.id) {
		resp_error(r, 403, "FORBIDDEN", "viewers may only delete their own API keys");
		return;
	}
	if (delete_row(r, SQL_KEY_DELETE, "api key delete") < 0)
		return;
	log_info("handler", "api_key_deleted", json_pack("{s:I,s:s}", "api_key_id", (json_int_t)r->ids[0],
		 "request_id", r->request_id));
	snprintf(res, sizeof res, "api_key:%lld", r->ids[0]);
	audit(r, "api_key.deleted", res, json_pack("{s:s}", "name", name));
	resp_json(r, 200, json_pack("{s:s}", "status", "deleted"));
}
