/* SPDX-License-Identifier: MIT */
/*
 * Alert mail (monitoring.md §4): the smtp_* settings and one HTML message
 * over SMTP with libcurl (optional: without HAVE_LIBCURL every send reports
 * -ENOTSUP and the caller logs instead). PLAIN authentication when smtp_user
 * is set; smtp_tls "true" (the default) requires STARTTLS, or implicit TLS
 * on port 465.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#ifdef HAVE_LIBCURL
#include <curl/curl.h>
#endif
#include "cli.h"
#include "db.h"
#include "keys.h"
#include "log.h"
#include "sbuf.h"

#define SMTP_TIMEOUT_S 30L
#define SMTP_CONNECT_TIMEOUT_S 10L

/* Copies a setting, dropping control characters (no header injection). */
static void setting(sqlite3 *db, const char *key, char *out, size_t outsz)
{
	char *v = NULL;
	size_t k = 0;

	out[0] = '\0';
	if (db_setting_get(db, key, &v) == 1)
		for (const char *p = v; *p && k + 1 < outsz; p++)
			if ((unsigned char)*p >= 0x20 && *p != 0x7f)
				out[k++] = *p;
	out[k] = '\0';
	free(v);
}

int mail_settings_load(const struct config *cfg, sqlite3 *db, struct mail_settings *m)
{
	char port[16], tls[8], *stored = NULL;
	struct master_keys mk;
	int err = 0;

	memset(m, 0, sizeof *m);
	setting(db, "smtp_host", m->host, sizeof m->host);
	setting(db, "smtp_user", m->user, sizeof m->user);
	setting(db, "smtp_from", m->from, sizeof m->from);
	setting(db, "alert_email", m->to, sizeof m->to);
	setting(db, "smtp_port", port, sizeof port);
	setting(db, "smtp_tls", tls, sizeof tls);
	m->port = port[0] ? atoi(port) : 587;
	if (m->port < 1 || m->port > 65535)
		m->port = 587;
	m->tls = strcmp(tls, "false") != 0;
	if (!m->host[0] || !m->from[0] || !m->to[0])
		return 0;
	if (db_setting_get(db, "smtp_pass", &stored) == 1 && stored[0]) {
		if (crypto_init() < 0)
			err = -ENOSYS;
		else if ((err = master_load(cfg->master_key_file, &mk)) == 0) {
			err = secret_open(mk.enc, stored, &m->pass);
			master_wipe(&mk);
		}
		if (err < 0)
			log_error("monitor", "smtp_password_unavailable", json_pack("{s:s,s:s,s:s}",
				  "error", strerror(-err), "key_file", cfg->master_key_file, "hint",
				  "the master key must be readable by the job and match the one that sealed smtp_pass"));
	}
	free(stored);
	return err < 0 ? err : 1;
}

void mail_settings_clear(struct mail_settings *m)
{
	if (m->pass) {
		sodium_memzero(m->pass, strlen(m->pass));
		free(m->pass);
	}
	m->pass = NULL;
}

#ifdef HAVE_LIBCURL

struct upload {
	const char *p;
	size_t left;
};

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb < u->left ? size * nmemb : u->left;

	memcpy(buf, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

/* The message with CRLF line ends; the body's own lines are CRLF already. */
static char *message(const struct mail_settings *m, const char *subject, const char *html)
{
	struct sbuf b = SBUF_INIT;
	char date[64], id[33];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	rand_hex(id, 16);
	sb_printf(&b, "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\nSubject: ", date, m->from, m->to);
	for (const char *p = subject; *p; p++)
		sb_putc(&b, (unsigned char)*p < 0x20 ? ' ' : *p);
	sb_printf(&b, "\r\nMessage-ID: <%s@wgpilot>\r\nMIME-Version: 1.0\r\n"
		  "Content-Type: text/html; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: 8bit\r\n"
		  "Auto-Submitted: auto-generated\r\n\r\n%s", id, html);
	return sb_take(&b);
}

int mail_send(const struct mail_settings *m, const char *subject, const char *html)
{
	static int inited;
	char url[320], from[270], to[270], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *rcpt = NULL;
	struct upload up;
	char *msg;
	CURL *h;
	CURLcode rc;

	if (!inited && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return -EIO;
	inited = 1;
	if (!(msg = message(m, subject, html)))
		return -ENOMEM;
	snprintf(url, sizeof url, "%s://%s%s%s:%d", m->tls && m->port == 465 ? "smtps" : "smtp",
		 strchr(m->host, ':') ? "[" : "", m->host, strchr(m->host, ':') ? "]" : "", m->port);
	snprintf(from, sizeof from, "<%s>", m->from);
	snprintf(to, sizeof to, "<%s>", m->to);
	up = (struct upload){ msg, strlen(msg) };
	if (!(h = curl_easy_init()) || !(rcpt = curl_slist_append(NULL, to))) {
		curl_easy_cleanup(h);
		free(msg);
		return -ENOMEM;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_USE_SSL, (long)(m->tls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
	if (m->user[0]) {
		curl_easy_setopt(h, CURLOPT_USERNAME, m->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, m->pass ? m->pass : "");
		curl_easy_setopt(h, CURLOPT_LOGIN_OPTIONS, "AUTH=PLAIN");
	}
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, &up);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, SMTP_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, SMTP_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(h);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(h);
	free(msg);
	if (rc != CURLE_OK) {
		log_error("monitor", "alert_email_failed", json_pack("{s:s,s:i,s:s,s:s,s:s}", "smtp_host",
			  m->host, "smtp_port", m->port, "error", errbuf[0] ? errbuf : curl_easy_strerror(rc),
			  "recipient", m->to, "hint", "check the smtp_* settings (and smtp_tls)"));
		return -EIO;
	}
	log_info("monitor", "alert_email_sent", json_pack("{s:s,s:s}", "recipient", m->to,
		 "subject", subject));
	return 0;
}

#else /* !HAVE_LIBCURL */

int mail_send(const struct mail_settings *m, const char *subject, const char *html)
{
	log_warn("monitor", "alert_email_unavailable", json_pack("{s:s,s:s}", "recipient", m->to,
		 "hint", "this wgpilot was built without libcurl; the alert is logged instead"));
	return -ENOTSUP;
}

#endif
