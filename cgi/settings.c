/* SPDX-License-Identifier: MIT */
/* /api/settings (api.md §9, data-model.md §5): the runtime settings an admin
 * may see and change; smtp_pass is stored sealed and shown redacted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "db.h"
#include "log.h"
#include "validate.h"
#include "tls.h"

#define REDACTED "********"

/* Internal keys never shown (data-model.md §5). */
static const char *const hidden[] = {
	"jwt_secret", "setup_otp", "setup_step1_done", "setup_step2_done", "setup_step3_done",
	"setup_network_id", "setup_complete",
};

static bool is_hidden(const char *key)
{
	for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++)
		if (strcmp(key, hidden[i]) == 0)
			return true;
	return false;
}

/* The visible settings, smtp_pass redacted; NULL on a DB error. */
static json_t *settings_json(sqlite3 *db)
{
	sqlite3_stmt *st;
	json_t *o;
	int rc;

	if (db_prepare(db, "SELECT key, value FROM settings ORDER BY key", &st) < 0)
		return NULL;
	o = json_object();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		const char *val = (const char *)sqlite3_column_text(st, 1);

		if (!k || is_hidden(k))
			continue;
		if (strcmp(k, "smtp_pass") == 0 && val && val[0])
			val = REDACTED;
		/* json_string refuses invalid UTF-8; such a value cannot come
		 * through this API, so it is left out rather than failing. */
		json_object_set_new(o, k, json_string(val ? val : ""));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_log_error(db, "settings select");
		json_decref(o);
		return NULL;
	}
	return o;
}

/* GET /api/settings — 200 flat object; 500 database error. */
void settings_get(struct req *r)
{
	json_t *o = settings_json(r->app->db);

	if (!o) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	resp_json(r, 200, o);
}

/* Every value may be "" (the setting is removed: its default applies). */
static const char *s_ip(const char *s)
{
	return *s ? v_ip(s) : NULL;
}

/* An SMTP server: an IP address or a host name (letters, digits, '-', '.';
 * single-label names such as "localhost" are fine here). */
static const char *s_host(const char *s)
{
	size_t n = strlen(s);

	if (!n || v_ip(s) == NULL)
		return NULL;
	if (n > 253 || s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.' || strstr(s, ".."))
		return "must be a host name or an IP address";
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
		      || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'))
			return "must be a host name or an IP address";
	return NULL;
}

static const char *s_port(const char *s)
{
	long v = 0;

	if (!*s)
		return NULL;
	if (s[0] == '0')
		return "must be a port between 1 and 65535";
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || (v = v * 10 + (*p - '0')) > 65535)
			return "must be a port between 1 and 65535";
	}
	return NULL;
}

static const char *s_bool(const char *s)
{
	return !*s || strcmp(s, "true") == 0 || strcmp(s, "false") == 0 ? NULL : "must be \"true\" or \"false\"";
}

/* SMTP credentials go into the AUTH exchange: no control characters. */
static const char *s_text(const char *s)
{
	if (strlen(s) > 254)
		return "must be at most 254 characters";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return "must not contain control characters";
	return NULL;
}

enum {
	SF_PUBLIC_IP, SF_HOSTNAME, SF_DNS, SF_SMTP_HOST, SF_SMTP_PORT, SF_SMTP_USER,
	SF_SMTP_PASS, SF_SMTP_FROM, SF_SMTP_TLS, SF_ALERT_EMAIL, SF__MAX
};
/* The whitelist (api.md §9); any other key is an "unknown field". */
static const struct field fields[SF__MAX] = {
	[SF_PUBLIC_IP] = { "public_ip", FT_STRING, 0, s_ip, NULL, NULL },
	[SF_HOSTNAME] = { "hostname", FT_STRING, 0, v_hostname, NULL, NULL },
	[SF_DNS] = { "dns_servers", FT_STRING, 0, v_dns_list, NULL, NULL },
	[SF_SMTP_HOST] = { "smtp_host", FT_STRING, 0, s_host, NULL, NULL },
	[SF_SMTP_PORT] = { "smtp_port", FT_STRING, 0, s_port, NULL, NULL },
	[SF_SMTP_USER] = { "smtp_user", FT_STRING, 0, s_text, NULL, NULL },
	[SF_SMTP_PASS] = { "smtp_pass", FT_STRING, 0, s_text, NULL, NULL },
	[SF_SMTP_FROM] = { "smtp_from", FT_STRING, 0, v_email, NULL, NULL },
	[SF_SMTP_TLS] = { "smtp_tls", FT_STRING, 0, s_bool, NULL, NULL },
	[SF_ALERT_EMAIL] = { "alert_email", FT_STRING, 0, v_email, NULL, NULL },
};

/* Stores one validated value: "" removes the key, dns_servers is
 * normalised, smtp_pass sealed. 0 or -errno. */
static int setting_store(struct req *r, int idx, const char *val)
{
	sqlite3 *db = r->app->db;
	char *sealed, *norm;
	int err;

	if (!*val)
		return db_setting_del(db, fields[idx].key);
	if (idx == SF_SMTP_PASS) {
		if (!(sealed = secret_seal(r->app->keys.enc, val)))
			return -1;
		err = db_setting_set(db, "smtp_pass", sealed);
		free(sealed);
		return err;
	}
	if (idx == SF_DNS) {
		if (!(norm = strdup(val)))
			return -1;
		err = db_setting_set(db, "dns_servers", list_normalize(norm, strlen(norm) + 1, norm));
		free(norm);
		return err;
	}
	return db_setting_set(db, fields[idx].key, val);
}

/* PUT /api/settings — flat object of whitelisted string values → 200 as GET.
 * "" removes a setting; smtp_pass "********" leaves it unchanged. 400
 * VALIDATION_ERROR (unknown key, non-string, bad value; nothing stored); 500
 * database error (nothing stored). */
void settings_update(struct req *r)
{
	struct verrs v = { 0 };
	struct body b;
	json_t *keys, *out;
	int err = 0;

	body_parse(r, fields, SF__MAX, &b, &v);
	if (verr_any(&v)) {
		body_free(&b);
		resp_verrs(r, &v);
		return;
	}
	keys = json_array();
	if (db_exec(r->app->db, "BEGIN IMMEDIATE") < 0) {
		err = -1;
		goto done;
	}
	for (int i = 0; i < SF__MAX && !err; i++) {
		if (!b.has[i] || (i == SF_SMTP_PASS && strcmp(b.s[i], REDACTED) == 0))
			continue;
		err = setting_store(r, i, b.s[i]);
		json_array_append_new(keys, json_string(fields[i].key));
	}
	if (!err)
		err = db_exec(r->app->db, "COMMIT");
	if (err)
		db_exec(r->app->db, "ROLLBACK");
done:
	body_free(&b);
	if (err || !(out = settings_json(r->app->db))) {
		json_decref(keys);
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	/* acme mode takes its domain from hostname: let the root job look */
	if (b.has[SF_HOSTNAME] && (err = tls_trigger(r->app->cfg.data_dir)) < 0)
		log_warn("handler", "tls_trigger_failed", json_pack("{s:s,s:s}", "error", strerror(-err),
			 "request_id", r->request_id));
	if (json_array_size(keys) > 0) {
		log_info("handler", "settings_updated", json_pack("{s:O,s:s}", "keys", keys,
			 "request_id", r->request_id));
		audit(r, "settings.updated", "settings", json_pack("{s:o}", "keys", keys));
	} else {
		json_decref(keys);
	}
	resp_json(r, 200, out);
}
