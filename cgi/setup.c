/* SPDX-License-Identifier: MIT */
/* The first-run wizard (api.md §4, operations.md §8). Progress lives in
 * settings, so the wizard resumes at the first unfinished step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "api.h"
#include "db.h"
#include "log.h"
#include "qr.h"
#include "rpc.h"
#include "validate.h"

/* 1..4 (4 once complete). */
static int current_step(sqlite3 *db)
{
	if (!db_setting_true(db, "setup_step1_done"))
		return 1;
	if (!db_setting_true(db, "setup_step2_done"))
		return 2;
	if (!db_setting_true(db, "setup_step3_done"))
		return 3;
	return 4;
}

/* Common gate of steps 2-4: 0 may proceed, -1 response sent. */
static int step_gate(struct req *r, int step)
{
	int cur;

	if (db_setting_true(r->app->db, "setup_complete")) {
		resp_error(r, 409, "SETUP_ALREADY_COMPLETE", "setup is already complete");
		return -1;
	}
	cur = current_step(r->app->db);
	if (cur < step) {
		resp_error(r, 400, "STEP_ORDER_VIOLATION", "complete step %d first", cur);
		return -1;
	}
	if (step == 3 && cur > 3) {
		resp_error(r, 409, "SETUP_ALREADY_COMPLETE", "step 3 is already done; continue with step 4");
		return -1;
	}
	return 0;
}

/* GET /api/setup/status — 200 {"complete","current_step","wg_interfaces"?}. */
void setup_status(struct req *r)
{
	bool complete = db_setting_true(r->app->db, "setup_complete");
	json_t *o = json_pack("{s:b,s:i}", "complete", complete, "current_step",
			      complete ? 4 : current_step(r->app->db));
	if (!complete) {
		json_t *req = json_pack("{s:s,s:s}", "op", "detect", "request_id", r->request_id);
		json_t *reply = NULL;

		/* Short timeout: the wizard must load even if the reconciler hangs. */
		if (rpc_call(r->app->cfg.rec_socket, req, &reply, 2000) == 0) {
			json_t *list = json_object_get(reply, "interfaces");
			if (json_is_array(list) && json_array_size(list) > 0)
				json_object_set(o, "wg_interfaces", list);
		}
		json_decref(req);
		json_decref(reply);
	}
	resp_json(r, 200, o);
}

/* GET /api/setup/detect-ip — 200 {"public_ip"}: the saved public IP, else the
 * one `wgpilot init`/`gc` detected, else "". */
void setup_detect_ip(struct req *r)
{
	char *ip = NULL;

	if (db_setting_get(r->app->db, "public_ip", &ip) != 1 || !ip[0]) {
		free(ip);
		ip = NULL;
		db_setting_get(r->app->db, "detected_public_ip", &ip);
	}
	resp_json(r, 200, json_pack("{s:s}", "public_ip", ip ? ip : ""));
	free(ip);
}

static const char *v_nonempty(const char *s)
{
	return s[0] ? NULL : "required";
}

enum { S1_OTP, S1_USER, S1_PASS, S1__MAX };
static const struct field step1_fields[S1__MAX] = {
	[S1_OTP] = { "otp", FT_STRING, FF_REQUIRED, v_nonempty, NULL, "install_token" },
	[S1_USER] = { "username", FT_STRING, FF_REQUIRED, v_username, NULL, NULL },
	[S1_PASS] = { "password", FT_STRING, FF_REQUIRED, v_password, NULL, NULL },
};

/* Creates the admin; fills u. 0 or -1 (409 name taken / 500 sent). Runs
 * inside the caller's transaction. */
static int create_admin(struct req *r, const char *username, const char *password, struct user *u)
{
	char hash[PWHASH_STR_LEN];
	sqlite3_stmt *st;
	int rc;

	if (db_prepare(r->app->db, "SELECT 1 FROM users WHERE username = ?", &st) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return -1;
	}
	sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW) {
		resp_error(r, 409, "VALIDATION_ERROR", "user %s already exists", username);
		return -1;
	}
	if (pw_hash(hash, password, r->app->cfg.argon2_opslimit, r->app->cfg.argon2_memlimit) < 0
	    || db_prepare(r->app->db, "INSERT INTO users (username, password_hash, role) "
			  "VALUES (?, ?, 'admin') RETURNING id", &st) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "cannot create the admin user");
		return -1;
	}
	sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	memset(u, 0, sizeof *u);
	if (rc == SQLITE_ROW)
		u->id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		resp_error(r, 500, "INTERNAL_ERROR", "cannot create the admin user");
		return -1;
	}
	snprintf(u->username, sizeof u->username, "%s", username);
	snprintf(u->role, sizeof u->role, "admin");
	return 0;
}

int setup_admin_from_otp(struct req *r, const char *otp, const char *username,
			 const char *password, bool complete)
{
	char *otp_hash = NULL;
	struct user u;

	if (db_exec(r->app->db, "BEGIN IMMEDIATE") < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database busy");
		return -1;
	}
	if (db_setting_get(r->app->db, "setup_otp", &otp_hash) != 1) {
		resp_error(r, 409, "SETUP_ALREADY_COMPLETE", "no setup password stored; run `wgpilot init`");
		goto rollback;
	}
	if (pw_verify(otp_hash, otp) != 0) {
		log_warn("setup", "setup_invalid_otp", json_pack("{s:s,s:s}", "remote_addr", r->remote_addr,
			 "request_id", r->request_id));
		resp_error(r, 401, "INVALID_OTP", "invalid setup password");
		goto rollback;
	}
	if (create_admin(r, username, password, &u) < 0)
		goto rollback;
	/* step1_done in both cases: the admin exists, so a re-initialised
	 * wizard resumes at step 2. */
	if (db_setting_del(r->app->db, "setup_otp") < 0
	    || db_setting_set(r->app->db, "setup_step1_done", "true") < 0
	    || (complete && db_setting_set(r->app->db, "setup_complete", "true") < 0)
	    || db_exec(r->app->db, "COMMIT") < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		goto rollback;
	}
	free(otp_hash);
	r->user = u;
	r->authed = true;
	log_info("setup", "setup_admin_created", json_pack("{s:s}", "user", u.username));
	audit(r, "user.created", NULL, json_pack("{s:s,s:s}", "username", u.username, "role", "admin"));
	return 0;
rollback:
	db_exec(r->app->db, "ROLLBACK");
	free(otp_hash);
	return -1;
}

/* POST /api/setup/step/1 — 201 {"user"} + cookie; 400 VALIDATION_ERROR;
 * 401 INVALID_OTP; 409 SETUP_ALREADY_COMPLETE (setup complete, step done or
 * no OTP stored); 429 RATE_LIMITED (shared with login). */
void setup_step1(struct req *r)
{
	struct verrs v = { 0 };
	struct body b;

	if (db_setting_true(r->app->db, "setup_complete") || current_step(r->app->db) > 1) {
		resp_error(r, 409, "SETUP_ALREADY_COMPLETE", "the admin account already exists");
		return;
	}
	if (auth_rate_limit(r) < 0)
		return;
	body_parse(r, step1_fields, S1__MAX, &b, &v);
	if (verr_any(&v)) {
		body_free(&b);
		resp_verrs(r, &v);
		return;
	}
	if (setup_admin_from_otp(r, b.s[S1_OTP], b.s[S1_USER], b.s[S1_PASS], false) == 0
	    && auth_issue_session(r, &r->user) == 0)
		resp_json(r, 201, json_pack("{s:{s:I,s:s}}", "user", "id", (json_int_t)r->user.id,
					    "username", r->user.username));
	body_free(&b);
}

enum { S2_IP, S2_HOST, S2_DNS, S2__MAX };
static const struct field step2_fields[S2__MAX] = {
	[S2_IP] = { "public_ip", FT_STRING, FF_EMPTY_OK, v_ip, NULL, NULL },
	[S2_HOST] = { "hostname", FT_STRING, 0, v_hostname, NULL, NULL },
	[S2_DNS] = { "dns_servers", FT_STRING, 0, v_dns_list, NULL, NULL },
};

/* POST /api/setup/step/2 — 200 {"status":"ok"}; 400 VALIDATION_ERROR,
 * STEP_ORDER_VIOLATION; 409 SETUP_ALREADY_COMPLETE. May be repeated until
 * setup completes (values are overwritten). */
void setup_step2(struct req *r)
{
	static const char *const keys[S2__MAX] = { "public_ip", "hostname", "dns_servers" };
	struct verrs v = { 0 };
	struct body b;
	char norm[256];
	int err = 0;

	if (step_gate(r, 2) < 0)
		return;
	body_parse(r, step2_fields, S2__MAX, &b, &v);
	if (verr_any(&v)) {
		body_free(&b);
		resp_verrs(r, &v);
		return;
	}
	for (int i = 0; i < S2__MAX && !err; i++)
		if (b.has[i] && b.s[i][0])
			err = db_setting_set(r->app->db, keys[i],
					     i == S2_DNS ? list_normalize(norm, sizeof norm, b.s[i]) : b.s[i]);
	if (!err)
		err = db_setting_set(r->app->db, "setup_step2_done", "true");
	body_free(&b);
	if (err < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	log_info("setup", "setup_server_saved", NULL);
	resp_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* POST /api/setup/step/3 — 201 {"network"}; errors as POST /api/networks plus
 * STEP_ORDER_VIOLATION / SETUP_ALREADY_COMPLETE. */
void setup_step3(struct req *r)
{
	char *dns = NULL, idbuf[24];
	long long id;
	json_t *n;

	if (step_gate(r, 3) < 0)
		return;
	db_setting_get(r->app->db, "dns_servers", &dns);
	n = network_create_from_body(r, dns, &id);
	free(dns);
	if (!n)
		return;
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	if (db_setting_set(r->app->db, "setup_network_id", idbuf) < 0
	    || db_setting_set(r->app->db, "setup_step3_done", "true") < 0) {
		json_decref(n);
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	resp_json(r, 201, json_pack("{s:o}", "network", n));
}

/* POST /api/setup/step/4 — 201 {"peer","config","qr_data"}; errors as peer
 * creation plus STEP_ORDER_VIOLATION / SETUP_ALREADY_COMPLETE. */
void setup_step4(struct req *r)
{
	char *nid_s = NULL, name[72], *conf;
	unsigned char *png = NULL;
	size_t len = 0;
	long long nid, pid;
	json_t *peer, *out;
	char *b64;

	if (step_gate(r, 4) < 0)
		return;
	if (db_setting_get(r->app->db, "setup_network_id", &nid_s) != 1) {
		resp_error(r, 400, "STEP_ORDER_VIOLATION", "complete step 3 first");
		return;
	}
	nid = strtoll(nid_s, NULL, 10);
	free(nid_s);
	peer = peer_create_from_body(r, nid, 25, &pid);
	if (!peer)
		return;
	conf = peer_render_config(r, nid, pid, name, sizeof name);
	if (!conf) {
		json_decref(peer);
		return;
	}
	if (qr_png(conf, &png, &len) < 0 || !(b64 = malloc(sodium_base64_ENCODED_LEN(len,
			sodium_base64_VARIANT_ORIGINAL)))) {
		resp_error(r, 500, "INTERNAL_ERROR", "cannot render the QR code");
		goto out;
	}
	sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL),
			  png, len, sodium_base64_VARIANT_ORIGINAL);
	if (db_setting_set(r->app->db, "setup_complete", "true") < 0) {
		free(b64);
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		goto out;
	}
	log_info("setup", "setup_completed", NULL);
	audit(r, "setup.completed", "system", NULL);
	out = json_pack("{s:O,s:s,s:s}", "peer", peer, "config", conf, "qr_data", b64);
	free(b64);
	resp_json(r, 201, out);
out:
	sodium_memzero(conf, strlen(conf));
	free(conf);
	free(png);
	json_decref(peer);
}
