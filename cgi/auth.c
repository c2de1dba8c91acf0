/* SPDX-License-Identifier: MIT */
/* Authentication: API keys, the session cookie, login/logout/me, the login
 * rate limit (security.md §2-7). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "api.h"
#include "db.h"
#include "jwt.h"
#include "log.h"
#include "validate.h"

enum sql {
	SQL_KEY_LOOKUP, SQL_KEY_USED, SQL_USER_BY_NAME, SQL_USER_BY_ID, SQL_USER_REHASH,
	SQL_RL_COUNT, SQL_RL_ADD, SQL_SESSION_USER, SQL__MAX
};

static const char *const sqls[SQL__MAX] = {
	[SQL_KEY_LOOKUP] = "SELECT k.id, k.role, k.expires_at, u.id, u.username FROM api_keys k "
		"JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?",
	[SQL_KEY_USED] = "UPDATE api_keys SET last_used = unixepoch() WHERE id = ?",
	[SQL_USER_BY_NAME] = "SELECT id, username, role, password_hash FROM users WHERE username = ?",
	[SQL_USER_BY_ID] = "SELECT id, username, role, password_hash FROM users WHERE id = ?",
	[SQL_USER_REHASH] = "UPDATE users SET password_hash = ?, updated_at = unixepoch() WHERE id = ?",
	[SQL_RL_COUNT] = "SELECT COUNT(*), MIN(ts) FROM login_attempts WHERE ip = ? AND ts > ?",
	[SQL_RL_ADD] = "INSERT INTO login_attempts(ip, ts) VALUES (?, ?)",
	[SQL_SESSION_USER] = "SELECT username, role, updated_at FROM users WHERE id = ?",
};

static void copy(char *dst, size_t n, const unsigned char *src)
{
	snprintf(dst, n, "%s", src ? (const char *)src : "");
}

/* 1 authenticated by key, 0 no such key (fall through), -1 response sent. */
static int auth_api_key(struct req *r, const char *key)
{
	sqlite3_stmt *st;
	char hash[65];
	int rc, ret = 0;
	long long kid = 0;

	sha256_hex(hash, key);
	if (db_cached(r->app->db, sqls[SQL_KEY_LOOKUP], &st) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return -1;
	}
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		bool expired = sqlite3_column_type(st, 2) != SQLITE_NULL
			       && sqlite3_column_int64(st, 2) <= (long long)time(NULL);
		if (expired) {
			resp_error(r, 401, "SESSION_EXPIRED", "API key expired");
			ret = -1;
		} else {
			kid = sqlite3_column_int64(st, 0);
			copy(r->user.role, sizeof r->user.role, sqlite3_column_text(st, 1));
			r->user.id = sqlite3_column_int64(st, 3);
			snprintf(r->user.username, sizeof r->user.username, "api-key");
			r->user.via_api_key = true;
			ret = 1;
		}
	}
	db_finish(st);
	if (ret == 1 && db_cached(r->app->db, sqls[SQL_KEY_USED], &st) == 0) {
		sqlite3_bind_int64(st, 1, kid);
		sqlite3_step(st);
		db_finish(st);
	}
	return ret;
}

/* The value of cookie name in the Cookie header into out; 0 found, -1 not. */
static int cookie_get(struct req *r, const char *name, char *out, size_t outsz)
{
	const char *c = FCGX_GetParam("HTTP_COOKIE", r->fcgx->envp);
	size_t nlen = strlen(name);

	while (c && *c) {
		while (*c == ' ' || *c == ';')
			c++;
		const char *end = strchrnul(c, ';');
		if ((size_t)(end - c) > nlen && strncmp(c, name, nlen) == 0 && c[nlen] == '=') {
			size_t vlen = (size_t)(end - c) - nlen - 1;
			if (vlen >= outsz)
				return -1;
			memcpy(out, c + nlen + 1, vlen);
			out[vlen] = '\0';
			return 0;
		}
		c = end;
	}
	return -1;
}

static int session_user(struct req *r, const struct jwt_claims *c)
{
	sqlite3_stmt *st;
	int rc, ok = 0;

	if (db_cached(r->app->db, sqls[SQL_SESSION_USER], &st) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, c->sub);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_int64(st, 2) <= c->iat) {
		r->user.id = c->sub;
		copy(r->user.username, sizeof r->user.username, sqlite3_column_text(st, 0));
		copy(r->user.role, sizeof r->user.role, sqlite3_column_text(st, 1));
		ok = 1;
	}
	db_finish(st);
	return ok ? 0 : -1;
}

int auth_require(struct req *r)
{
	const char *authz = FCGX_GetParam("HTTP_AUTHORIZATION", r->fcgx->envp);
	char token[2048];
	struct jwt_claims c;
	int k;

	if (authz && strncmp(authz, "Bearer wgp_", 11) == 0) {
		k = auth_api_key(r, authz + 7);
		if (k < 0)
			return -1;
		if (k > 0) {
			r->authed = true;
			return 0;
		}
	}
	if (cookie_get(r, "session", token, sizeof token) < 0 || !token[0]) {
		resp_error(r, 401, "UNAUTHORIZED", "authentication required");
		return -1;
	}
	if (jwt_verify(r->app->keys.jwt, token, (long long)time(NULL), &c) != JWT_OK) {
		resp_error(r, 401, "SESSION_EXPIRED", "session invalid or expired");
		return -1;
	}
	/* The token alone is not enough: the user must still exist, and a
	 * password change (updated_at) ends every session issued before it.
	 * The role comes from the DB, so a role change takes effect at once. */
	if (session_user(r, &c) < 0) {
		resp_error(r, 401, "SESSION_EXPIRED", "session invalid or expired");
		return -1;
	}
	r->authed = true;
	return 0;
}

int auth_issue_session(struct req *r, const struct user *u)
{
	struct jwt_claims c = { .sub = u->id };
	char *tok;

	snprintf(c.username, sizeof c.username, "%s", u->username);
	snprintf(c.role, sizeof c.role, "%s", u->role);
	c.iat = (long long)time(NULL);
	c.exp = c.iat + r->app->cfg.session_ttl;
	tok = jwt_sign(r->app->keys.jwt, &c);
	if (!tok) {
		resp_error(r, 500, "INTERNAL_ERROR", "cannot issue session");
		return -1;
	}
	resp_set_session(r, tok, r->app->cfg.session_ttl);
	free(tok);
	return 0;
}

int auth_rate_limit(struct req *r)
{
	long long now = (long long)time(NULL);
	sqlite3_stmt *st;
	int count = 0;

	if (db_cached(r->app->db, sqls[SQL_RL_COUNT], &st) == 0) {
		sqlite3_bind_text(st, 1, r->remote_addr, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now - 60);
		if (sqlite3_step(st) == SQLITE_ROW)
			count = sqlite3_column_int(st, 0);
		db_finish(st);
	}
	if (count >= r->app->cfg.rate_limit_rpm) {
		log_warn("auth", "auth_rate_limited", json_pack("{s:s,s:s}", "remote_addr",
			 r->remote_addr, "request_id", r->request_id));
		snprintf(r->extra_headers, sizeof r->extra_headers, "Retry-After: 60\r\n");
		resp_error(r, 429, "RATE_LIMITED", "too many attempts, retry in 60 seconds");
		return -1;
	}
	if (db_cached(r->app->db, sqls[SQL_RL_ADD], &st) == 0) {
		sqlite3_bind_text(st, 1, r->remote_addr, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_step(st);
		db_finish(st);
	}
	return 0;
}

static json_t *user_json(const struct user *u)
{
	return json_pack("{s:{s:I,s:s,s:s}}", "user", "id", (json_int_t)u->id,
			 "username", u->username, "role", u->role);
}

/* Loads a user and its hash; 1 found, 0 not, <0 error. */
static int user_load(sqlite3 *db, const char *name, long long id, struct user *u, char hash[PWHASH_STR_LEN])
{
	sqlite3_stmt *st;
	int rc, err = db_cached(db, sqls[name ? SQL_USER_BY_NAME : SQL_USER_BY_ID], &st);

	if (err < 0)
		return err;
	if (name)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(u, 0, sizeof *u);
		u->id = sqlite3_column_int64(st, 0);
		copy(u->username, sizeof u->username, sqlite3_column_text(st, 1));
		copy(u->role, sizeof u->role, sqlite3_column_text(st, 2));
		copy(hash, PWHASH_STR_LEN, sqlite3_column_text(st, 3));
		err = 1;
	} else {
		err = rc == SQLITE_DONE ? 0 : db_rc_errno(rc);
	}
	db_finish(st);
	return err;
}

static void maybe_rehash(struct req *r, const struct user *u, const char *hash, const char *pw)
{
	char fresh[PWHASH_STR_LEN];
	sqlite3_stmt *st;

	if (!pw_needs_rehash(hash, r->app->cfg.argon2_opslimit, r->app->cfg.argon2_memlimit))
		return;
	if (pw_hash(fresh, pw, r->app->cfg.argon2_opslimit, r->app->cfg.argon2_memlimit) < 0)
		return;
	if (db_cached(r->app->db, sqls[SQL_USER_REHASH], &st) == 0) {
		sqlite3_bind_text(st, 1, fresh, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, u->id);
		sqlite3_step(st);
		db_finish(st);
	}
}

enum { LF_USERNAME, LF_PASSWORD };
static const struct field login_fields[] = {
	[LF_USERNAME] = { "username", FT_STRING, FF_REQUIRED, NULL, NULL, NULL },
	[LF_PASSWORD] = { "password", FT_STRING, FF_REQUIRED, NULL, NULL, NULL },
};

/* POST /api/auth/login
 * 200 logged in; 400 malformed body or empty field; 401 INVALID_CREDENTIALS
 * for unknown user and wrong password alike; 429 RATE_LIMITED (checked first). */
void auth_login(struct req *r)
{
	struct verrs v = { 0 };
	struct body b;
	struct user u;
	char hash[PWHASH_STR_LEN] = "";
	const char *name, *pw;
	int found;

	if (auth_rate_limit(r) < 0)
		return;
	body_parse(r, login_fields, 2, &b, &v);
	name = body_str(&b, LF_USERNAME, "");
	pw = body_str(&b, LF_PASSWORD, "");
	if (!verr_any(&v) && !name[0])
		verr_add(&v, "username", "required");
	if (!verr_any(&v) && !pw[0])
		verr_add(&v, "password", "required");
	if (verr_any(&v)) {
		body_free(&b);
		resp_verrs(r, &v);
		return;
	}
	found = user_load(r->app->db, name, 0, &u, hash);
	if (found < 0) {
		body_free(&b);
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	if (found == 0 || pw_verify(hash, pw) != 0) {
		log_warn("auth", "auth_login_failed", json_pack("{s:s,s:s,s:s}", "reason",
			 found ? "invalid_password" : "user_not_found", "user", name,
			 "remote_addr", r->remote_addr));
		r->user.id = found ? u.id : 0;
		audit(r, "auth.login_failed", NULL, json_pack("{s:s}", "username", name));
		body_free(&b);
		resp_error(r, 401, "INVALID_CREDENTIALS", "invalid credentials");
		return;
	}
	maybe_rehash(r, &u, hash, pw);
	body_free(&b);
	if (auth_issue_session(r, &u) < 0)
		return;
	r->authed = true;
	r->user = u;
	log_info("auth", "auth_login_success", json_pack("{s:s,s:s}", "user", u.username,
		 "remote_addr", r->remote_addr));
	audit(r, "auth.login", NULL, NULL);
	resp_json(r, 200, user_json(&u));
}

/* POST /api/auth/logout — 200 always; clears the cookie. */
void auth_logout(struct req *r)
{
	const char *authz = FCGX_GetParam("HTTP_AUTHORIZATION", r->fcgx->envp);
	char token[2048];
	struct jwt_claims c;

	if ((!authz || !*authz) && cookie_get(r, "session", token, sizeof token) == 0
	    && jwt_verify(r->app->keys.jwt, token, (long long)time(NULL), &c) == JWT_OK) {
		r->user.id = c.sub;
		snprintf(r->user.username, sizeof r->user.username, "%s", c.username);
		r->authed = true;
		audit(r, "auth.logout", NULL, NULL);
	}
	resp_set_session(r, NULL, 0);
	resp_json(r, 200, json_pack("{s:s}", "status", "logged out"));
}

/* GET /api/auth/me — 200 the user; 401 from auth_require. */
void auth_me(struct req *r)
{
	struct user u;
	char hash[PWHASH_STR_LEN];

	if (!r->user.via_api_key && user_load(r->app->db, NULL, r->user.id, &u, hash) == 1) {
		sodium_memzero(hash, sizeof hash);
		resp_json(r, 200, user_json(&u));
		return;
	}
	if (r->user.via_api_key) {
		resp_json(r, 200, user_json(&r->user));
		return;
	}
	resp_error(r, 401, "SESSION_EXPIRED", "user no longer exists");
}
