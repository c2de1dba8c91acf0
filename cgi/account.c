/* SPDX-License-Identifier: MIT */
/* The caller's own account: password change, and /api/auth/setup, the
 * one-shot alternative to the wizard (api.md §3, security.md §2, §5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "db.h"
#include "log.h"
#include "validate.h"

enum sql { SQL_HASH, SQL_SET_HASH, SQL__MAX };
static const char *const sqls[SQL__MAX] = {
	[SQL_HASH] = "SELECT password_hash FROM users WHERE id = ?",
	[SQL_SET_HASH] = "UPDATE users SET password_hash = ?, updated_at = unixepoch() WHERE id = ?",
};

static const char *v_nonempty(const char *s)
{
	return s[0] ? NULL : "required";
}

/* The stored hash of user id into hash. 1, 0 no such user, <0 -errno. */
static int hash_of(sqlite3 *db, long long id, char hash[PWHASH_STR_LEN])
{
	sqlite3_stmt *st;
	int rc, err = db_prepare(db, sqls[SQL_HASH], &st);

	if (err < 0)
		return err;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(hash, PWHASH_STR_LEN, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_rc_errno(rc);
}

static int set_hash(sqlite3 *db, long long id, const char *hash)
{
	sqlite3_stmt *st;
	int rc, err = db_prepare(db, sqls[SQL_SET_HASH], &st);

	if (err < 0)
		return err;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_rc_errno(rc);
}

enum { PW_OLD, PW_NEW, PW__MAX };
static const struct field password_fields[PW__MAX] = {
	[PW_OLD] = { "old_password", FT_STRING, FF_REQUIRED, v_nonempty, NULL, NULL },
	[PW_NEW] = { "new_password", FT_STRING, FF_REQUIRED, v_password, NULL, NULL },
};

/* PUT /api/auth/password — 200 {"status":"password changed"} and the
 * session cookie cleared; 400 VALIDATION_ERROR (empty, new < 10, both
 * reported together); 401 INVALID_CREDENTIALS "invalid current password";
 * 401 SESSION_EXPIRED when the account is gone; 500 hashing/database error. */
void account_password(struct req *r)
{
	char hash[PWHASH_STR_LEN], fresh[PWHASH_STR_LEN];
	struct verrs v = { 0 };
	struct body b;
	int found;

	body_parse(r, password_fields, PW__MAX, &b, &v);
	if (verr_any(&v)) {
		body_free(&b);
		resp_verrs(r, &v);
		return;
	}
	found = hash_of(r->app->db, r->user.id, hash);
	if (found != 1) {
		body_free(&b);
		if (found == 0)
			resp_error(r, 401, "SESSION_EXPIRED", "user no longer exists");
		else
			resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	if (pw_verify(hash, b.s[PW_OLD]) != 0) {
		body_free(&b);
		log_warn("auth", "auth_password_change_failed", json_pack("{s:s,s:s,s:s,s:s}", "reason",
			 "invalid_password", "user", r->user.username, "remote_addr", r->remote_addr,
			 "request_id", r->request_id));
		resp_error(r, 401, "INVALID_CREDENTIALS", "invalid current password");
		return;
	}
	if (pw_hash(fresh, b.s[PW_NEW], r->app->cfg.argon2_opslimit, r->app->cfg.argon2_memlimit) < 0
	    || set_hash(r->app->db, r->user.id, fresh) < 0) {
		body_free(&b);
		resp_error(r, 500, "INTERNAL_ERROR", "cannot change the password");
		return;
	}
	body_free(&b);
	log_info("auth", "auth_password_changed", json_pack("{s:I,s:s,s:s}", "user_id",
		 (json_int_t)r->user.id, "remote_addr", r->remote_addr, "request_id", r->request_id));
	audit(r, "auth.password_changed", NULL, NULL);
	resp_set_session(r, NULL, 0);
	resp_json(r, 200, json_pack("{s:s}", "status", "password changed"));
}

enum { AS_OTP, AS_USER, AS_PASS, AS__MAX };
static const struct field setup_fields[AS__MAX] = {
	[AS_OTP] = { "otp", FT_STRING, FF_REQUIRED, v_nonempty, NULL, "install_token" },
	[AS_USER] = { "username", FT_STRING, FF_REQUIRED, v_username, NULL, NULL },
	[AS_PASS] = { "password", FT_STRING, FF_REQUIRED, v_password, NULL, NULL },
};

/* POST /api/auth/setup — 201 {"user":{"id","username","role"}} + cookie:
 * admin created, OTP deleted, setup complete. 409 SETUP_ALREADY_COMPLETE
 * (complete, or no OTP stored); 429 RATE_LIMITED (shared with login); 400
 * VALIDATION_ERROR (missing fields, short password, all at once); 401
 * INVALID_OTP; 409 VALIDATION_ERROR username taken; 500 database error. */
void account_setup(struct req *r)
{
	struct verrs v = { 0 };
	struct body b;

	if (db_setting_true(r->app->db, "setup_complete")) {
		resp_error(r, 409, "SETUP_ALREADY_COMPLETE", "setup is already complete");
		return;
	}
	if (auth_rate_limit(r) < 0)
		return;
	body_parse(r, setup_fields, AS__MAX, &b, &v);
	if (verr_any(&v)) {
		body_free(&b);
		resp_verrs(r, &v);
		return;
	}
	if (setup_admin_from_otp(r, b.s[AS_OTP], b.s[AS_USER], b.s[AS_PASS], true) == 0) {
		log_info("setup", "setup_completed", json_pack("{s:s}", "via", "api/auth/setup"));
		audit(r, "setup.completed", "system", NULL);
		if (auth_issue_session(r, &r->user) == 0)
			resp_json(r, 201, json_pack("{s:{s:I,s:s,s:s}}", "user", "id",
						    (json_int_t)r->user.id, "username", r->user.username,
						    "role", r->user.role));
	}
	body_free(&b);
}
