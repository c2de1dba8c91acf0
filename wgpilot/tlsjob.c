/* SPDX-License-Identifier: MIT */
/*
 * `wgpilot tls apply` and `wgpilot tls deployed` (operations.md §6, C
 * design): the root job that decides which certificate nginx serves, runs
 * certbot, switches <data_dir>/certs/current (tls_serve) and reloads nginx
 * with SIGHUP. Started by wgpilot-acme.service (via wgpilot-acme.path when
 * the API touches <data_dir>/tls.trigger) and daily by cron. Idempotent: a
 * run that finds everything in place changes nothing, not even tls_status.
 * A switch owes nginx a reload: tls_serve writes certs/reload-pending before
 * it renames current, and the marker goes once nginx got its SIGHUP (or is
 * found not running). A run that finds the marker with nothing to switch
 * retries the SIGHUP (INFO tls_nginx_reload_retry).
 *
 *   self-signed  selfsigned.{crt,key}, made anew when missing, unreadable,
 *                not matching or within TLS_RENEW_DAYS of its end (this is
 *                done in every mode: it is the fallback).
 *   acme         certs/acme/live/<domain>/ (domain: tls.acme_domain, else
 *                the setting hostname) from `certbot certonly --webroot`;
 *                `certbot renew` within TLS_RENEW_DAYS. No usable
 *                certificate after that: the self-signed one, WARN
 *                tls_acme_fallback. A failed renewal keeps a certificate
 *                that is still valid (WARN tls_acme_renew_failed).
 *   manual       tls.cert_file + tls.key_file, checked (PEM, key matches,
 *                not expired) before anything is switched; bad: the
 *                self-signed one, WARN tls_manual_fallback.
 *
 * certbot is the only program started (wgpilot/certbot.c): fork/execve, no
 * shell, its output captured into the log, killed after
 * WGPILOT_TLS_CERTBOT_TIMEOUT.
 * Environment knobs (packaging and tests; not config keys):
 *   WGPILOT_TLS_CERTBOT          certbot binary, default /usr/bin/certbot
 *   WGPILOT_TLS_ACME_SERVER      ACME directory URL (certbot --server);
 *                                default certbot's (Let's Encrypt)
 *   WGPILOT_TLS_NGINX_PID        nginx's pid file, default /run/nginx.pid
 *   WGPILOT_TLS_CERTBOT_TIMEOUT  seconds per certbot run, default 300
 *
 * tls_status (the setting cgi/tls.c documents): the job takes a queued test
 * ("test_requested_at"), runs it (acme: `certbot certonly --dry-run`; other
 * modes: the checks of apply, nothing switched) and writes "ok", "at",
 * "message". Besides, while the served certificate is not the one the mode
 * asks for (or an ACME renewal fails), "warning" is {"code", "message",
 * "since"}: the UI-visible warning. A new warning, a cleared one and a
 * switch also write ok/at/message, so the UI's "last test" line shows it.
 * A new warning is an alert: WARN alert_fired (type = the warning code,
 * subject "tls") and, when SMTP and alert_email are set, one e-mail per
 * episode through the alert mailer; alert_cleared when it goes.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "certbot.h"
#include "cli.h"
#include "db.h"
#include "log.h"
#include "sbuf.h"
#include "tls.h"
#include "validate.h"

#define COMP "tls"
#define CERTBOT_DEFAULT "/usr/bin/certbot"
#define NGINX_PID_DEFAULT "/run/nginx.pid"
#define CERTBOT_TIMEOUT 300

enum src { SRC_SELF, SRC_ACME, SRC_MANUAL };
static const char *const src_names[] = { "self-signed", "acme", "manual" };

struct tj {
	const struct config *cfg;
	struct job j;
	bool no_certbot;                /* tls deployed */
	char domain[256];
	char certs[PATH_MAX], self_crt[PATH_MAX], self_key[PATH_MAX], webroot[PATH_MAX];
	char acme_dir[PATH_MAX], acme_crt[PATH_MAX], acme_key[PATH_MAX];
	char hook[3 * PATH_MAX];
	struct certbot cb;              /* every certbot run of this job */
	const char *pidfile;
	/* outcome */
	const char *warn_code;          /* NULL: the mode's certificate is served */
	char warn_msg[768];
	bool switched;
	char report[768];               /* what was switched to */
	bool tested, test_ok;
	char test_msg[768];
};

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static void tj_warn(struct tj *t, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void tj_warn(struct tj *t, const char *code, const char *fmt, ...)
{
	va_list ap;

	t->warn_code = code;
	va_start(ap, fmt);
	vsnprintf(t->warn_msg, sizeof t->warn_msg, fmt, ap);
	va_end(ap);
}

/* mkdir that accepts an existing directory. 0 or -errno. */
static int tj_mkdir(const char *path, mode_t mode)
{
	return mkdir(path, mode) == 0 || errno == EEXIST ? 0 : -errno;
}

/* The deploy hook for certonly, or "" when no safe command line can be
 * made (then certbot runs without the hook and only renewals by this job
 * switch the certificate). */
static void tj_hook(struct tj *t)
{
	if (certbot_hook(t->hook, sizeof t->hook, t->cfg->path, t->cfg->data_dir, t->cfg->db_path) < 0)
		log_warn(COMP, "tls_deploy_hook_unavailable", json_pack("{s:s,s:s}", "task_id",
			 t->j.task_id, "hint", "paths with spaces or shell characters cannot be passed to certbot's hook"));
}

static int tj_paths(struct tj *t)
{
	const char *d = t->cfg->data_dir;
	int err = 0;

	err |= tls_path(t->certs, sizeof t->certs, d, TLS_CERTS_DIR, NULL);
	err |= tls_path(t->self_crt, sizeof t->self_crt, d, TLS_SELF_CRT, NULL);
	err |= tls_path(t->self_key, sizeof t->self_key, d, TLS_SELF_KEY, NULL);
	err |= tls_path(t->webroot, sizeof t->webroot, d, TLS_WEBROOT, NULL);
	err |= tls_path(t->acme_dir, sizeof t->acme_dir, d, TLS_ACME_DIR, NULL);
	return err ? -ENAMETOOLONG : 0;
}

/* ---- the modes --------------------------------------------------------------- */

static void fmt_day(char out[32], time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%d", &tm);
}

/* The self-signed pair, made anew when it cannot serve for TLS_RENEW_DAYS
 * more. 0 or -errno (logged). */
static int tj_selfsigned(struct tj *t)
{
	char why[PATH_MAX + 128];
	int err = tls_pair_check(t->self_crt, t->self_key, time(NULL), TLS_RENEW_DAYS * 86400LL, NULL,
				 why, sizeof why);

	if (err == 0)
		return 0;
	if ((err = tls_selfsigned_create(t->self_crt, t->self_key)) < 0) {
		log_error(COMP, "tls_selfsigned_failed", json_pack("{s:s,s:s,s:s,s:s}", "task_id",
			  t->j.task_id, "path", t->self_crt, "error", strerror(-err), "reason", why));
		return err;
	}
	log_info(COMP, "tls_selfsigned_renewed", json_pack("{s:s,s:s,s:s}", "task_id", t->j.task_id,
		 "path", t->self_crt, "reason", why));
	return 0;
}

/* The domain of acme mode, or "" (logged by the caller). */
static void tj_domain(struct tj *t)
{
	char *host = NULL;

	if (t->cfg->acme_domain[0])
		snprintf(t->domain, sizeof t->domain, "%s", t->cfg->acme_domain);
	else if (db_setting_get(t->j.db, "hostname", &host) >= 0 && host)
		snprintf(t->domain, sizeof t->domain, "%s", host);
	free(host);
}

/* 0 when the ACME pair is usable (issued or renewed as needed), else -1
 * with the warning set. */
static int tj_acme(struct tj *t)
{
	char why[PATH_MAX + 128], msg[400], day[32];
	struct tls_cert_info before, after;
	enum certbot_op run;
	int have, due, crc;

	if (!t->domain[0] || v_hostname(t->domain)) {
		tj_warn(t, "tls_acme_fallback", "no usable domain for Let's Encrypt (%s); serving the "
			"self-signed certificate", t->domain[0] ? "the hostname is not a valid DNS name"
			: "set tls.acme_domain or the hostname setting");
		return -1;
	}
	if (tls_path(t->acme_crt, sizeof t->acme_crt, t->cfg->data_dir, TLS_ACME_CRT, t->domain) < 0
	    || tls_path(t->acme_key, sizeof t->acme_key, t->cfg->data_dir, TLS_ACME_KEY, t->domain) < 0) {
		tj_warn(t, "tls_acme_fallback", "data directory path too long; serving the self-signed "
			"certificate");
		return -1;
	}
	have = tls_pair_check(t->acme_crt, t->acme_key, time(NULL), 0, &before, why, sizeof why) == 0;
	due = !have || tls_pair_check(t->acme_crt, t->acme_key, time(NULL),
				      TLS_RENEW_DAYS * 86400LL, NULL, NULL, 0) < 0;
	if (!due || t->no_certbot) {
		if (have)
			return 0;
		tj_warn(t, "tls_acme_fallback", "no Let's Encrypt certificate for %s (%s); serving the "
			"self-signed certificate", t->domain, why);
		return -1;
	}
	if (tj_mkdir(t->acme_dir, 0700) < 0 || tj_mkdir(t->webroot, 0755) < 0)
		log_warn(COMP, "tls_mkdir_failed", json_pack("{s:s,s:s,s:s}", "task_id", t->j.task_id,
			 "path", t->acme_dir, "error", strerror(errno)));
	/* a lineage certbot knows is renewed; anything else issued anew */
	run = have || access(t->acme_crt, F_OK) == 0 ? CERTBOT_RENEW : CERTBOT_CERTONLY;
	crc = certbot_run(&t->cb, run, msg, sizeof msg);
	if (crc < 0 && run == CERTBOT_RENEW && !have) {
		/* a broken lineage: ask for a new certificate */
		run = CERTBOT_CERTONLY;
		crc = certbot_run(&t->cb, run, msg, sizeof msg);
	}
	if (tls_pair_check(t->acme_crt, t->acme_key, time(NULL), 0, &after, why, sizeof why) == 0) {
		if (crc < 0) {
			fmt_day(day, after.not_after);
			tj_warn(t, "tls_acme_renew_failed", "renewing the Let's Encrypt certificate for %s "
				"failed: %s; the current one stays until %s", t->domain, msg, day);
			log_warn(COMP, "tls_acme_renew_failed", json_pack("{s:s,s:s,s:s,s:I}", "task_id",
				 t->j.task_id, "domain", t->domain, "error", msg, "not_after",
				 (json_int_t)after.not_after));
		} else if (!have || after.not_after != before.not_after) {
			log_info(COMP, have ? "tls_renewed" : "tls_provisioned", json_pack("{s:s,s:s,s:s,s:I}",
				 "task_id", t->j.task_id, "domain", t->domain, "issuer", after.issuer_cn,
				 "not_after", (json_int_t)after.not_after));
		}
		return 0;
	}
	tj_warn(t, "tls_acme_fallback", "Let's Encrypt certificate for %s failed: %s; serving the "
		"self-signed certificate", t->domain, crc < 0 ? msg : why);
	return -1;
}

/* 0 when tls.cert_file/key_file can be served, else -1 with the warning. */
static int tj_manual(struct tj *t, char *ok_msg, size_t ok_msgsz)
{
	const struct config *c = t->cfg;
	char why[2 * PATH_MAX + 64];
	struct tls_cert_info ci;

	if (!c->tls_cert_file[0] || !c->tls_key_file[0]) {
		tj_warn(t, "tls_manual_fallback", "tls.cert_file and tls.key_file must both be set; serving "
			"the self-signed certificate");
		return -1;
	}
	if (tls_pair_check(c->tls_cert_file, c->tls_key_file, time(NULL), 0, &ci, why, sizeof why) < 0) {
		tj_warn(t, "tls_manual_fallback", "%s; serving the self-signed certificate", why);
		return -1;
	}
	if ((long long)ci.not_after - (long long)time(NULL) < TLS_RENEW_DAYS * 86400LL)
		log_warn(COMP, "tls_manual_expiring", json_pack("{s:s,s:s,s:I,s:s}", "task_id", t->j.task_id,
			 "path", c->tls_cert_file, "not_after", (json_int_t)ci.not_after, "hint",
			 "install a renewed certificate and run `wgpilot tls apply`"));
	snprintf(ok_msg, ok_msgsz, "%s", why);
	return 0;
}

/* ---- switching and nginx ------------------------------------------------------ */

/* SIGHUP to the nginx master named by the pid file. 0 or -errno. */
static int nginx_reload(struct tj *t)
{
	char buf[32] = "", comm[64] = "", path[64];
	FILE *f = fopen(t->pidfile, "re");
	long pid = 0;
	char *end;

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	pid = strtol(buf, &end, 10);
	if (pid <= 1 || (*end && *end != '\n'))
		return -EINVAL;
	/* a stale pid file must not make us signal someone else */
	snprintf(path, sizeof path, "/proc/%ld/comm", pid);
	if ((f = fopen(path, "re"))) {
		if (!fgets(comm, sizeof comm, f))
			comm[0] = '\0';
		fclose(f);
	}
	if (strncmp(comm, "nginx", 5) != 0)
		return -ESRCH;
	return kill((pid_t)pid, SIGHUP) < 0 ? -errno : 0;
}

/* Sends nginx the SIGHUP that certs/reload-pending says it is owed, and
 * removes the marker once nginx got it, or when nginx is not running (it
 * reads certs/current when it starts). Left in place on any other failure:
 * the next run tries again. */
static void tj_reload(struct tj *t)
{
	int err = nginx_reload(t);

	if (err == -ENOENT)
		log_info(COMP, "tls_nginx_not_running", json_pack("{s:s,s:s}", "task_id", t->j.task_id,
			 "pid_file", t->pidfile));
	else if (err < 0)
		log_warn(COMP, "tls_nginx_reload_failed", json_pack("{s:s,s:s,s:s,s:s}", "task_id",
			 t->j.task_id, "pid_file", t->pidfile, "error", err == -ESRCH
			 ? "no nginx process with that pid" : strerror(-err), "hint",
			 "nginx reads the new certificate when it starts or reloads (systemctl reload nginx); "
			 "the next `wgpilot tls apply` tries again"));
	else
		log_info(COMP, "tls_nginx_reloaded", json_pack("{s:s,s:s}", "task_id", t->j.task_id,
			 "pid_file", t->pidfile));
	if ((err == 0 || err == -ENOENT) && (err = tls_reload_done(t->certs)) < 0)
		log_warn(COMP, "tls_reload_marker_failed", json_pack("{s:s,s:s,s:s}", "task_id",
			 t->j.task_id, "path", t->certs, "error", strerror(-err)));
}

/* Serves the pair of src; reloads nginx when that changed what it serves,
 * or when an earlier switch's reload is still pending. 0 or -errno
 * (logged). */
static int tj_serve(struct tj *t, enum src src)
{
	const char *crt = src == SRC_SELF ? t->self_crt : src == SRC_ACME ? t->acme_crt : t->cfg->tls_cert_file;
	const char *key = src == SRC_SELF ? t->self_key : src == SRC_ACME ? t->acme_key : t->cfg->tls_key_file;
	char was[32], day[32];
	struct tls_cert_info ci;
	int rc;

	tls_served_source(t->certs, was, sizeof was);
	rc = tls_serve(t->certs, crt, key, src_names[src]);
	if (rc < 0) {
		log_error(COMP, "tls_switch_failed", json_pack("{s:s,s:s,s:s,s:s}", "task_id", t->j.task_id,
			  "source", src_names[src], "path", crt, "error", strerror(-rc)));
		return rc;
	}
	if (rc == 0) {
		log_debug(COMP, "tls_unchanged", json_pack("{s:s,s:s}", "task_id", t->j.task_id, "source",
			  src_names[src]));
		if (tls_reload_pending(t->certs) == 1) {
			log_info(COMP, "tls_nginx_reload_retry", json_pack("{s:s,s:s,s:s}", "task_id",
				 t->j.task_id, "source", was, "reason", "an earlier switch has not reached "
				 "nginx yet (certs/reload-pending)"));
			tj_reload(t);
		}
		return 0;
	}
	t->switched = true;
	tls_cert_info(crt, &ci);
	fmt_day(day, ci.not_after);
	snprintf(t->report, sizeof t->report, "now serving the %s certificate%s%s (issuer %s, valid until %s)",
		 src_names[src], src == SRC_ACME ? " for " : "", src == SRC_ACME ? t->domain : "",
		 ci.issuer_cn[0] ? ci.issuer_cn : "unnamed", day);
	log_info(COMP, "tls_switched", json_pack("{s:s,s:s,s:s,s:s,s:I}", "task_id", t->j.task_id,
		 "source", src_names[src], "previous", was[0] ? was : "none", "issuer", ci.issuer_cn,
		 "not_after", (json_int_t)ci.not_after));
	tj_reload(t);
	return 0;
}

/* ---- tls_status ------------------------------------------------------------------ */

/* tls_status as an object: a new one when absent or not an object. NULL
 * on a DB error or out of memory; *text gets the stored text (or NULL). */
static json_t *status_load(sqlite3 *db, char **text)
{
	json_t *st = NULL;

	*text = NULL;
	if (db_setting_get(db, "tls_status", text) < 0)
		return NULL;
	if (*text)
		st = json_loads(*text, 0, NULL);
	if (!json_is_object(st)) {
		json_decref(st);
		st = json_object();
	}
	return st;
}

/* Stores st when it differs from old. 0 or -errno. */
static int status_store(sqlite3 *db, json_t *st, const char *old)
{
	char *text = json_dumps(st, JSON_COMPACT);
	int err = text ? 0 : -ENOMEM;

	if (text && (!old || strcmp(old, text) != 0))
		err = db_setting_set(db, "tls_status", text);
	free(text);
	return err;
}

/* Takes a queued test (removes "test_requested_at"). 1 taken, 0 none, -1
 * DB error. */
static int status_take_test(struct tj *t)
{
	sqlite3 *db = t->j.db;
	char *old = NULL;
	json_t *st;
	int rc = 0;

	if (db_exec(db, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (!(st = status_load(db, &old)))
		rc = -1;
	else if (json_object_get(st, "test_requested_at")) {
		json_object_del(st, "test_requested_at");
		rc = status_store(db, st, old) < 0 ? -1 : 1;
	}
	if (rc < 0 || db_exec(db, "COMMIT") < 0) {
		db_exec(db, "ROLLBACK");
		rc = -1;
	}
	json_decref(st);
	free(old);
	return rc;
}

/* One notification for a new warning: the alert mailer when configured,
 * else the log line alone. */
static void tj_alert(struct tj *t)
{
	struct mail_settings m;
	struct sbuf html = SBUF_INIT;
	const char *delivery = "log";
	int mail_ok;

	memset(&m, 0, sizeof m);
	mail_ok = mail_settings_load(t->cfg, t->j.db, &m);
	if (mail_ok == 1) {
		sb_puts(&html, "<!DOCTYPE html>\r\n<html><body style=\"font-family: sans-serif\">\r\n"
			"<p>The HTTPS certificate of this wgpilot (mode <b>");
		sb_html_str(&html, t->cfg->tls_mode);
		sb_puts(&html, "</b>) needs attention:</p>\r\n<p>");
		sb_html_str(&html, t->warn_msg);
		sb_puts(&html, "</p>\r\n<p style=\"color: #666\">This is an automatic notice from wgpilot;"
			" it is sent once per incident and again only after the condition cleared.</p>\r\n"
			"</body></html>\r\n");
		delivery = html.oom || mail_send(&m, "[wgpilot] TLS certificate problem", html.s) < 0
			   ? "log (e-mail failed)" : "email";
	} else {
		delivery = "log (e-mail not configured)";
	}
	log_warn(COMP, "alert_fired", json_pack("{s:s,s:s,s:s,s:s,s:s}", "task_id", t->j.task_id,
		 "type", t->warn_code, "subject", "tls", "message", t->warn_msg, "delivery", delivery));
	sb_free(&html);
	mail_settings_clear(&m);
}

/* Writes the run's outcome into tls_status (only what changed), then
 * alerts for a new warning. 0 or -1 (DB error, logged). */
static int tj_report(struct tj *t)
{
	sqlite3 *db = t->j.db;
	json_t *st, *w;
	char *old = NULL, prev[64] = "";
	bool fresh = false, cleared = false;
	long long now = (long long)time(NULL);
	int err = 0;

	if (db_exec(db, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (!(st = status_load(db, &old))) {
		err = -EIO;
		goto out;
	}
	w = json_object_get(st, "warning");
	if (json_is_string(json_object_get(w, "code")))
		snprintf(prev, sizeof prev, "%s", json_string_value(json_object_get(w, "code")));
	if (t->warn_code) {
		fresh = strcmp(prev, t->warn_code) != 0;
		if (fresh)
			json_object_set_new(st, "warning", json_pack("{s:s,s:s,s:I}", "code", t->warn_code,
					    "message", t->warn_msg, "since", (json_int_t)now));
		else
			json_object_set_new(w, "message", json_string(t->warn_msg));
	} else if (w) {
		cleared = true;
		json_object_del(st, "warning");
	}
	if (t->tested) {
		json_object_set_new(st, "ok", json_boolean(t->test_ok));
		json_object_set_new(st, "at", json_integer(now));
		json_object_set_new(st, "message", json_string(t->test_msg));
	} else if (t->switched || fresh || cleared) {
		json_object_set_new(st, "ok", json_boolean(!t->warn_code));
		json_object_set_new(st, "at", json_integer(now));
		json_object_set_new(st, "message", json_string(t->warn_code ? t->warn_msg : t->switched
				    ? t->report : "the configured certificate is served again"));
	}
	err = status_store(db, st, old);
out:
	if (err < 0 || db_exec(db, "COMMIT") < 0) {
		db_exec(db, "ROLLBACK");
		err = -EIO;
	}
	json_decref(st);
	free(old);
	if (err < 0) {
		log_error(COMP, "tls_status_failed", json_pack("{s:s,s:s}", "task_id", t->j.task_id,
			  "error", "cannot store tls_status"));
		return -1;
	}
	if (fresh)
		tj_alert(t);
	if (cleared)
		log_info(COMP, "alert_cleared", json_pack("{s:s,s:s,s:s}", "task_id", t->j.task_id,
			 "type", prev, "subject", "tls"));
	return 0;
}

/* ---- the test ------------------------------------------------------------------ */

static void tj_test(struct tj *t, enum src want, const char *mode_msg)
{
	char why[PATH_MAX + 128], msg[400];

	t->tested = true;
	if (want == SRC_ACME) {
		if (!t->domain[0] || v_hostname(t->domain)) {
			snprintf(t->test_msg, sizeof t->test_msg, "no usable domain: set tls.acme_domain or the "
				 "hostname setting");
			return;
		}
		tj_mkdir(t->acme_dir, 0700);
		tj_mkdir(t->webroot, 0755);
		t->test_ok = certbot_run(&t->cb, CERTBOT_DRY_RUN, msg, sizeof msg) == 0;
		snprintf(t->test_msg, sizeof t->test_msg, t->test_ok ? "certbot --dry-run for %s succeeded"
			 : "certbot --dry-run for %s failed: %s", t->domain, msg);
	} else if (want == SRC_MANUAL) {
		/* tj_manual set the warning or the description */
		t->test_ok = !t->warn_code;
		snprintf(t->test_msg, sizeof t->test_msg, "%.700s", t->test_ok ? mode_msg : t->warn_msg);
	} else {
		t->test_ok = tls_pair_check(t->self_crt, t->self_key, time(NULL), 0, NULL, why, sizeof why) == 0;
		snprintf(t->test_msg, sizeof t->test_msg, "self-signed certificate: %.700s", why);
	}
	log_info(COMP, "tls_test_done", json_pack("{s:s,s:b,s:s}", "task_id", t->j.task_id, "ok",
		 t->test_ok, "message", t->test_msg));
}

/* ---- the command ------------------------------------------------------------- */

static int tj_run(struct tj *t)
{
	const struct config *c = t->cfg;
	enum src want = strcmp(c->tls_mode, "acme") == 0 ? SRC_ACME
			: strcmp(c->tls_mode, "manual") == 0 ? SRC_MANUAL : SRC_SELF;
	enum src serve = want;
	char manual_msg[2 * PATH_MAX + 64] = "";
	int taken = 0, rounds = 0;

	if (tj_paths(t) < 0) {
		log_error(COMP, "tls_path_too_long", json_pack("{s:s,s:s}", "task_id", t->j.task_id,
			  "data_dir", c->data_dir));
		return 1;
	}
	if (tj_mkdir(t->certs, 0710) < 0 || tj_selfsigned(t) < 0)
		return 1;
	tj_domain(t);
	tj_hook(t);
	if (!t->no_certbot && (taken = status_take_test(t)) < 0)
		return 1;
	if (want == SRC_ACME && tj_acme(t) < 0)
		serve = SRC_SELF;
	else if (want == SRC_MANUAL && tj_manual(t, manual_msg, sizeof manual_msg) < 0)
		serve = SRC_SELF;
	if (t->warn_code && serve == SRC_SELF)
		log_warn(COMP, t->warn_code, json_pack("{s:s,s:s,s:s,s:s}", "task_id", t->j.task_id, "mode",
			 c->tls_mode, "error", t->warn_msg, "hint", want == SRC_ACME
			 ? "port 80 must reach this host for the domain (HTTP-01); see certs/acme/logs"
			 : "fix tls.cert_file / tls.key_file, then run `wgpilot tls apply`"));
	if (tj_serve(t, serve) < 0)
		return 1;
	/* tests queued while this run went on are answered too (the path unit
	 * does not start a job that is still running) */
	while (taken == 1 && rounds++ < 3) {
		tj_test(t, want, manual_msg);
		if (tj_report(t) < 0)
			return 1;
		t->tested = t->switched = false;
		if ((taken = status_take_test(t)) < 0)
			return 1;
	}
	if (rounds == 0 && tj_report(t) < 0)
		return 1;
	return 0;
}

int cmd_tls(struct cli *c, const char *sub)
{
	struct tj *t;
	int rc;
	long timeout;

	if (strcmp(sub, "apply") != 0 && strcmp(sub, "deployed") != 0)
		return -2;
	if (strcmp(sub, "deployed") == 0 && getenv(CERTBOT_IN_JOB_ENV)) {
		/* certbot run by `tls apply`: that run switches after certbot */
		log_debug(COMP, "tls_deploy_hook_in_job", NULL);
		return 0;
	}
	if (!(t = calloc(1, sizeof *t))) {
		fprintf(stderr, "wgpilot: out of memory\n");
		return 1;
	}
	t->cfg = &c->cfg;
	t->no_certbot = strcmp(sub, "deployed") == 0;
	t->pidfile = env_or("WGPILOT_TLS_NGINX_PID", NGINX_PID_DEFAULT);
	timeout = strtol(env_or("WGPILOT_TLS_CERTBOT_TIMEOUT", "0"), NULL, 10);
	t->cb = (struct certbot){
		.bin = env_or("WGPILOT_TLS_CERTBOT", CERTBOT_DEFAULT),
		.server = env_or("WGPILOT_TLS_ACME_SERVER", NULL),
		.config_dir = t->acme_dir, .webroot = t->webroot, .domain = t->domain,
		.email = c->cfg.acme_email, .hook = t->hook,
		.timeout = timeout > 0 && timeout <= 3600 ? (int)timeout : CERTBOT_TIMEOUT,
		.task_id = t->j.task_id,
	};
	rc = job_begin(c, &t->j, "tls", COMP);
	if (rc > 0) {
		log_info(COMP, "tls_apply_started", json_pack("{s:s,s:s,s:b}", "task_id", t->j.task_id,
			 "mode", c->cfg.tls_mode, "deploy_hook", t->no_certbot));
		rc = tj_run(t);
		log_info(COMP, "tls_apply_done", json_pack("{s:s,s:s,s:s,s:b,s:f}", "task_id", t->j.task_id,
			 "mode", c->cfg.tls_mode, "warning", t->warn_code ? t->warn_code : "", "switched",
			 t->switched, "duration_s", job_elapsed(&t->j)));
	} else {
		rc = rc == 0 ? 0 : 1;
	}
	job_end(&t->j);
	free(t);
	return rc;
}
