/* SPDX-License-Identifier: MIT */
/*
 * /api/settings/tls (api.md §9, operations.md §6): what the certificate
 * nginx serves says about itself, and the queue of the TLS test.
 *
 * The setting tls_status (a JSON object) is shared with the root job that
 * runs `certbot ... --dry-run`: POST /api/settings/tls/test adds
 * "test_requested_at" (Unix seconds) and keeps every other field; the job
 * removes "test_requested_at" when it takes the request and writes its
 * result as "ok" (true/false), "at" (Unix seconds) and "message" (text).
 * A test is queued while "test_requested_at" is there. GET returns the
 * whole object as last_test. The job (wgpilot/tlsjob.c) also keeps
 * "warning" ({"code","message","since"}) there while it serves the
 * self-signed fallback or an ACME renewal fails; GET repeats it as
 * "warning". Queuing a test touches <data_dir>/tls.trigger, which starts
 * the job through wgpilot-acme.path (the daily cron run picks it up too).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "api.h"
#include "db.h"
#include "log.h"
#include "../wgpilot/tls.h"

/* A string or null for "" and for text jansson refuses (invalid UTF-8). */
static json_t *str_or_null(const char *s)
{
	json_t *j = s && *s ? json_string(s) : NULL;

	return j ? j : json_null();
}

/* GET /api/settings/tls — 200 {"mode","domain","cert_expiry","issuer",
 * "last_test","fallback"} (+ "cert_error" when the certificate cannot be
 * read: cert_expiry and issuer are then null); 500 database error.
 * (+ "warning" while tls_status has one). The certificate is the one nginx
 * serves: <data_dir>/certs/current/fullchain.pem once `wgpilot tls apply`
 * has switched it (fallback: its source is not tls.mode). Before that, the
 * one tls.mode names: self-signed <data_dir>/certs/selfsigned.crt, manual
 * tls.cert_file, acme <data_dir>/certs/acme/live/<domain>/fullchain.pem, or
 * the self-signed one when that is missing (fallback: true). domain is
 * tls.acme_domain or the setting hostname; last_test the tls_status object
 * or null. */
void settings_tls_get(struct req *r)
{
	const struct config *c = &r->app->cfg;
	char *hostname = NULL, *status = NULL, path[PATH_MAX + 320], key[PATH_MAX + 320];
	char why[PATH_MAX + 400], source[32];
	const char *domain, *issuer = "";
	struct tls_cert_info ci;
	json_t *last = NULL, *o;
	int err;

	if (db_setting_get(r->app->db, "hostname", &hostname) < 0
	    || db_setting_get(r->app->db, "tls_status", &status) < 0) {
		free(hostname);
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	domain = c->acme_domain[0] ? c->acme_domain : hostname && *hostname ? hostname : NULL;
	why[0] = '\0';
	tls_expected_pair(c->data_dir, c->tls_mode, c->tls_cert_file, c->tls_key_file, domain,
			  path, key, sizeof path, source, NULL);
	if (!path[0]) {
		snprintf(why, sizeof why, "tls.cert_file is not set");
	} else if ((err = tls_cert_info(path, &ci)) < 0) {
		snprintf(why, sizeof why, "%s: %s", path,
			 err == -EINVAL ? "no readable certificate" : strerror(-err));
	}
	if (why[0])
		log_warn("handler", "tls_cert_unreadable", json_pack("{s:s,s:s,s:s}", "mode", c->tls_mode,
			 "error", why, "request_id", r->request_id));
	else
		issuer = ci.issuer_cn[0] ? ci.issuer_cn : ci.issuer_o; /* a CA without CN */
	if (status) {
		last = json_loads(status, 0, NULL);
		if (!json_is_object(last)) {
			log_warn("handler", "tls_status_invalid", json_pack("{s:s}", "request_id", r->request_id));
			json_decref(last);
			last = NULL;
		}
	}
	o = json_pack("{s:s,s:o,s:o,s:o,s:o,s:b}", "mode", c->tls_mode, "domain", str_or_null(domain),
		      "cert_expiry", why[0] ? json_null() : json_integer((json_int_t)ci.not_after),
		      "issuer", why[0] ? json_null() : str_or_null(issuer),
		      "last_test", last ? last : json_null(), "fallback", strcmp(source, c->tls_mode) != 0);
	if (o && why[0])
		json_object_set_new(o, "cert_error", str_or_null(why));
	if (o && last && json_is_object(json_object_get(last, "warning")))
		json_object_set(o, "warning", json_object_get(last, "warning"));
	free(hostname);
	free(status);
	if (!o) {
		resp_error(r, 500, "INTERNAL_ERROR", "out of memory");
		return;
	}
	resp_json(r, 200, o);
}

/* POST /api/settings/tls/test — 202 {"status":"queued"}: tls_status gets
 * "test_requested_at" for the root job (other fields kept); audited as
 * settings.updated {"tls_test":"queued"}. While a test is queued another
 * request changes nothing and answers 202 again. 500 database error
 * (nothing stored). */
void settings_tls_test(struct req *r)
{
	sqlite3 *db = r->app->db;
	char *old = NULL, *text = NULL;
	json_t *st = NULL;
	bool already = false;
	int err;

	if (db_exec(db, "BEGIN IMMEDIATE") < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	if (db_setting_get(db, "tls_status", &old) < 0)
		goto fail;
	if (old) {
		st = json_loads(old, 0, NULL);
		if (!json_is_object(st)) {
			/* not ours to repair field by field: start a new object */
			log_warn("handler", "tls_status_invalid", json_pack("{s:s}", "request_id", r->request_id));
			json_decref(st);
			st = NULL;
		}
	}
	if (!st && !(st = json_object()))
		goto fail;
	already = json_is_integer(json_object_get(st, "test_requested_at"));
	if (!already) {
		if (json_object_set_new(st, "test_requested_at", json_integer((json_int_t)time(NULL))) < 0
		    || !(text = json_dumps(st, JSON_COMPACT)) || db_setting_set(db, "tls_status", text) < 0)
			goto fail;
	}
	if (db_exec(db, "COMMIT") < 0)
		goto fail;
	/* the queue is in the DB either way; the trigger only saves the wait
	 * for the daily run */
	if ((err = tls_trigger(r->app->cfg.data_dir)) < 0)
		log_warn("handler", "tls_trigger_failed", json_pack("{s:s,s:s}", "error", strerror(-err),
			 "request_id", r->request_id));
	if (already) {
		log_info("handler", "tls_test_already_queued", json_pack("{s:s}", "request_id", r->request_id));
	} else {
		log_info("handler", "tls_test_queued", json_pack("{s:s,s:s}", "mode", r->app->cfg.tls_mode,
			 "request_id", r->request_id));
		audit(r, "settings.updated", "settings", json_pack("{s:s}", "tls_test", "queued"));
	}
	free(old);
	free(text);
	json_decref(st);
	resp_json(r, 202, json_pack("{s:s}", "status", "queued"));
	return;
fail:
	db_exec(db, "ROLLBACK");
	free(old);
	free(text);
	json_decref(st);
	resp_error(r, 500, "INTERNAL_ERROR", "database error");
}
