/* SPDX-License-Identifier: MIT */
/*
 * Alert evaluation (monitoring.md §4), run by the snapshot job on the data
 * of its pass: peer_offline, interface_down and transfer_spike. A subject
 * (peer:<id>, network:<id>) that meets an alert's condition gets one row
 * in alert_state and one notification; the row goes (re-arming the alert)
 * as soon as the condition no longer holds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "db.h"
#include "log.h"
#include "sbuf.h"
#include "validate.h"

enum alert_type { AT_OFFLINE, AT_DOWN, AT_SPIKE, AT__MAX };

static const char *const type_names[AT__MAX] = {
	[AT_OFFLINE] = "peer_offline", [AT_DOWN] = "interface_down", [AT_SPIKE] = "transfer_spike",
};

struct alert {
	long long id;
	enum alert_type type;
	char threshold[64];
	bool email;
	long long secs;                 /* peer_offline */
	long long bytes, window;        /* transfer_spike */
};

/* One subject meeting an alert's condition in this pass. */
struct hit {
	const struct alert *a;
	char subject[32];
	const struct live_peer *peer;   /* NULL for interface_down */
	const struct live_net *net;
	long long since;                /* offline since (0 = never connected) */
	long long growth;               /* transfer_spike bytes in the window */
	bool fresh;                     /* a new episode: notify */
};

enum { Q_LAST_ONLINE, Q_BASE_BEFORE, Q_BASE_AFTER, Q_FIRE, Q_STATE, Q_CLEAR, Q__MAX };

static const char *const alert_sql[Q__MAX] = {
	[Q_LAST_ONLINE] = "SELECT MAX(timestamp) FROM peer_snapshots WHERE peer_id = ? AND online = 1",
	/* Counter at the start of the trailing window: the latest sample at or
	 * before it (unchanged samples are not stored, so that one still holds),
	 * else the oldest inside the window. */
	[Q_BASE_BEFORE] = "SELECT rx_bytes + tx_bytes FROM peer_snapshots WHERE peer_id = ?"
			  " AND timestamp <= ? ORDER BY timestamp DESC LIMIT 1",
	[Q_BASE_AFTER] = "SELECT rx_bytes + tx_bytes FROM peer_snapshots WHERE peer_id = ?"
			 " AND timestamp > ? ORDER BY timestamp ASC LIMIT 1",
	[Q_FIRE] = "INSERT OR IGNORE INTO alert_state (alert_id, subject, fired_at) VALUES (?, ?, ?)",
	[Q_STATE] = "SELECT subject FROM alert_state WHERE alert_id = ?",
	[Q_CLEAR] = "DELETE FROM alert_state WHERE alert_id = ? AND subject = ?",
};

int alerts_parse_rate(const char *s, long long *bytes, long long *window)
{
	static const char *const units[] = { "KB", "MB", "GB", "TB" };
	static const struct { const char *name; long long secs; } windows[] = {
		{ "/minute", 60 }, { "/hour", 3600 }, { "/day", 86400 },
	};
	unsigned long long n = 0;
	const char *p = s;
	int u = -1;

	if (!s || *p < '1' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((n = n * 10 + (unsigned)(*p - '0')) > (1ULL << 40))
			return -EINVAL;
	for (int i = 0; i < 4; i++)
		if (strncmp(p, units[i], 2) == 0)
			u = i;
	if (u < 0 || n > (unsigned long long)INT64_MAX >> (10 * (u + 1)))
		return -EINVAL;
	p += 2;
	for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++)
		if (strcmp(p, windows[i].name) == 0) {
			*bytes = (long long)(n << (10 * (u + 1)));
			*window = windows[i].secs;
			return 0;
		}
	return -EINVAL;
}

/* Enabled alerts with a threshold that parses; bad ones are logged. */
static int load_alerts(sqlite3 *db, struct alert **out, size_t *n, const char *task_id)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc, err;

	*out = NULL;
	*n = 0;
	if ((err = db_prepare(db, "SELECT id, type, threshold, notify FROM alerts WHERE enabled = 1"
			      " ORDER BY id", &st)) < 0)
		return err;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 1);
		const char *notify = (const char *)sqlite3_column_text(st, 3);
		struct alert a = { .id = sqlite3_column_int64(st, 0), .type = AT__MAX };
		int bad = 0;

		snprintf(a.threshold, sizeof a.threshold, "%s", sqlite3_column_text(st, 2)
			 ? (const char *)sqlite3_column_text(st, 2) : "");
		for (int t = 0; t < AT__MAX; t++)
			if (type && strcmp(type, type_names[t]) == 0)
				a.type = (enum alert_type)t;
		a.email = notify && strcmp(notify, "email") == 0;
		if (a.type == AT_OFFLINE)
			bad = parse_duration(a.threshold, &a.secs) < 0;
		else if (a.type == AT_DOWN)
			bad = strcmp(a.threshold, "0") != 0 && strcmp(a.threshold, "immediate") != 0;
		else if (a.type == AT_SPIKE)
			bad = alerts_parse_rate(a.threshold, &a.bytes, &a.window) < 0;
		if (a.type == AT__MAX || bad) {
			log_warn("monitor", "alert_invalid", json_pack("{s:s,s:I,s:s,s:s}", "task_id",
				 task_id, "alert_id", (json_int_t)a.id, "type", type ? type : "",
				 "threshold", a.threshold));
			continue;
		}
		if (*n == cap) {
			void *p = realloc(*out, (cap = cap ? cap * 2 : 8) * sizeof **out);
			if (!p) {
				rc = SQLITE_NOMEM;
				break;
			}
			*out = p;
		}
		(*out)[(*n)++] = a;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static long long one_int(sqlite3_stmt *st, long long a, long long b, int nargs, bool *found)
{
	long long v = 0;

	sqlite3_bind_int64(st, 1, a);
	if (nargs > 1)
		sqlite3_bind_int64(st, 2, b);
	*found = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
	if (*found)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

/* Appends the subjects of a that meet its condition now. */
static int evaluate(sqlite3_stmt **q, const struct alert *a, const struct live *lv,
		    struct hit **hits, size_t *n, size_t *cap)
{
	size_t count = a->type == AT_DOWN ? lv->nnets : lv->npeers;

	for (size_t i = 0; i < count; i++) {
		struct hit h = { .a = a };
		bool found;

		if (a->type == AT_DOWN) {
			const struct live_net *nt = &lv->nets[i];

			if (nt->present && nt->up)
				continue;
			h.net = nt;
			snprintf(h.subject, sizeof h.subject, "network:%lld", nt->id);
		} else {
			const struct live_peer *p = &lv->peers[i];

			if (!p->enabled)
				continue;
			h.peer = p;
			h.net = &lv->nets[p->net];
			snprintf(h.subject, sizeof h.subject, "peer:%lld", p->id);
			if (a->type == AT_OFFLINE) {
				if (p->online)
					continue;
				if (p->in_kernel && p->handshake > 0) {
					h.since = p->handshake;
				} else {
					/* Not in the kernel, or its device restarted:
					 * the last sample that saw it online. */
					long long t = one_int(q[Q_LAST_ONLINE], p->id, 0, 1, &found);
					h.since = found ? t : 0;
				}
				/* Never-seen peers count from created_at. */
				if (lv->now - (h.since ? h.since : p->created_at) <= a->secs)
					continue;
			} else {
				long long cur = p->rx + p->tx, base;

				if (!p->in_kernel)
					continue;
				base = one_int(q[Q_BASE_BEFORE], p->id, lv->now - a->window, 2, &found);
				if (!found)
					base = one_int(q[Q_BASE_AFTER], p->id, lv->now - a->window, 2, &found);
				if (!found)
					continue;
				h.growth = cur >= base ? cur - base : cur;      /* counters restarted */
				if (h.growth <= a->bytes)
					continue;
			}
		}
		if (*n == *cap) {
			void *v = realloc(*hits, (*cap = *cap ? *cap * 2 : 16) * sizeof **hits);
			if (!v)
				return -ENOMEM;
			*hits = v;
		}
		(*hits)[(*n)++] = h;
	}
	return 0;
}

static bool hit_has(const struct hit *v, size_t n, const struct alert *a, const char *subject)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].a == a && strcmp(v[i].subject, subject) == 0)
			return true;
	return false;
}

/* Records new episodes (h.fresh) and clears subjects no longer in the
 * condition, in one transaction. */
static int record(sqlite3 *db, sqlite3_stmt **q, const struct alert *alerts, size_t na,
		  struct hit *hits, size_t nh, const struct live *lv, const char *task_id)
{
	int err;

	if ((err = db_exec(db, "BEGIN IMMEDIATE")) < 0)
		return err;
	/* Disabled alerts re-arm; rows of deleted alerts go too (the cascade
	 * needs foreign_keys=ON in the deleting connection). */
	if ((err = db_exec(db, "DELETE FROM alert_state WHERE alert_id NOT IN"
			   " (SELECT id FROM alerts WHERE enabled = 1)")) < 0)
		goto fail;
	for (size_t i = 0; i < nh; i++) {
		sqlite3_bind_int64(q[Q_FIRE], 1, hits[i].a->id);
		sqlite3_bind_text(q[Q_FIRE], 2, hits[i].subject, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q[Q_FIRE], 3, lv->now);
		if (sqlite3_step(q[Q_FIRE]) != SQLITE_DONE)
			err = -EIO;
		sqlite3_reset(q[Q_FIRE]);
		if (err)
			goto fail;
		hits[i].fresh = sqlite3_changes(db) == 1;
	}
	for (size_t k = 0; k < na; k++) {
		char (*gone)[32] = NULL;
		size_t ng = 0, cap = 0;
		int rc;

		sqlite3_bind_int64(q[Q_STATE], 1, alerts[k].id);
		while ((rc = sqlite3_step(q[Q_STATE])) == SQLITE_ROW) {
			const char *s = (const char *)sqlite3_column_text(q[Q_STATE], 0);

			if (!s || hit_has(hits, nh, &alerts[k], s))
				continue;
			if (ng == cap) {
				void *v = realloc(gone, (cap = cap ? cap * 2 : 8) * sizeof *gone);
				if (!v)
					break;
				gone = v;
			}
			snprintf(gone[ng++], sizeof gone[0], "%s", s);
		}
		sqlite3_reset(q[Q_STATE]);
		for (size_t i = 0; i < ng && !err; i++) {
			sqlite3_bind_int64(q[Q_CLEAR], 1, alerts[k].id);
			sqlite3_bind_text(q[Q_CLEAR], 2, gone[i], -1, SQLITE_STATIC);
			if (sqlite3_step(q[Q_CLEAR]) != SQLITE_DONE)
				err = -EIO;
			sqlite3_reset(q[Q_CLEAR]);
			log_info("monitor", "alert_cleared", json_pack("{s:s,s:I,s:s,s:s}", "task_id", task_id,
				 "alert_id", (json_int_t)alerts[k].id, "type", type_names[alerts[k].type],
				 "subject", gone[i]));
		}
		free(gone);
		if (err)
			goto fail;
	}
	if ((err = db_exec(db, "COMMIT")) == 0)
		return 0;
fail:
	db_exec(db, "ROLLBACK");
	return err < 0 ? err : -EIO;
}

static void fmt_time(char out[40], long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 40, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void human_bytes(char out[32], long long v)
{
	static const char *const u[] = { "B", "KB", "MB", "GB", "TB", "PB" };
	double d = (double)v;
	int i = 0;

	while (d >= 1024 && i < 5) {
		d /= 1024;
		i++;
	}
	snprintf(out, 32, i ? "%.1f %s" : "%.0f %s", d, u[i]);
}

/* The mail for one hit: subject line and HTML body (monitoring.md §4). */
static void compose(const struct hit *h, char *subject, size_t subsz, struct sbuf *html)
{
	char when[40], amount[32];

	sb_puts(html, "<!DOCTYPE html>\r\n<html><body style=\"font-family: sans-serif\">\r\n<p>");
	switch (h->a->type) {
	case AT_OFFLINE:
		snprintf(subject, subsz, "[wgpilot] Peer %s offline (%s)", h->peer->name, h->net->name);
		sb_puts(html, "Peer <b>");
		sb_html_str(html, h->peer->name);
		sb_puts(html, "</b> of network <b>");
		sb_html_str(html, h->net->name);
		if (h->since) {
			fmt_time(when, h->since);
			sb_printf(html, "</b> has been offline since %s (threshold %s).", when,
				  h->a->threshold);
		} else {
			fmt_time(when, h->peer->created_at);
			sb_printf(html, "</b> has not connected since it was created on %s (threshold %s).",
				  when, h->a->threshold);
		}
		break;
	case AT_DOWN:
		snprintf(subject, subsz, "[wgpilot] Interface %s down (%s)", h->net->iface, h->net->name);
		sb_puts(html, "The interface <b>");
		sb_html_str(html, h->net->iface);
		sb_puts(html, "</b> of network <b>");
		sb_html_str(html, h->net->name);
		sb_puts(html, h->net->present ? "</b> is down." : "</b> does not exist in the kernel.");
		break;
	default:
		human_bytes(amount, h->growth);
		snprintf(subject, subsz, "[wgpilot] Transfer spike: peer %s (%s)", h->peer->name, h->net->name);
		sb_puts(html, "Peer <b>");
		sb_html_str(html, h->peer->name);
		sb_puts(html, "</b> of network <b>");
		sb_html_str(html, h->net->name);
		sb_printf(html, "</b> transferred %s within the last %s, above the limit of %s.", amount,
			  h->a->window == 60 ? "minute" : h->a->window == 3600 ? "hour" : "day",
			  h->a->threshold);
		break;
	}
	sb_puts(html, "</p>\r\n<p style=\"color: #666\">This is an automatic notice from wgpilot;"
		" it is sent once per incident and again only after the condition cleared.</p>\r\n"
		"</body></html>\r\n");
}

static void deliver(const struct hit *h, const struct mail_settings *m, int mail_ok,
		    const char *task_id)
{
	const char *delivery = "log";
	char subject[256];
	struct sbuf html = SBUF_INIT;
	json_t *f;

	if (h->a->email) {
		compose(h, subject, sizeof subject, &html);
		if (mail_ok != 1)
			delivery = "log (e-mail not configured)";
		else if (html.oom || mail_send(m, subject, html.s) < 0)
			delivery = "log (e-mail failed)";
		else
			delivery = "email";
	}
	f = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:I,s:s}", "task_id", task_id, "alert_id",
		      (json_int_t)h->a->id, "type", type_names[h->a->type], "subject", h->subject,
		      "threshold", h->a->threshold, "delivery", delivery, "network_id",
		      (json_int_t)h->net->id, "network", h->net->name);
	if (h->peer) {
		json_object_set_new(f, "peer", json_string(h->peer->name));
		json_object_set_new(f, "peer_id", json_integer(h->peer->id));
	}
	if (h->a->type == AT_OFFLINE)
		json_object_set_new(f, "offline_since", h->since ? json_integer(h->since) : json_null());
	if (h->a->type == AT_SPIKE)
		json_object_set_new(f, "bytes", json_integer(h->growth));
	log_warn("monitor", "alert_fired", f);
	sb_free(&html);
}

int alerts_run(const struct config *cfg, sqlite3 *db, const struct live *lv, const char *task_id)
{
	struct alert *alerts = NULL;
	struct hit *hits = NULL;
	struct mail_settings mail;
	sqlite3_stmt *q[Q__MAX] = { 0 };
	size_t na = 0, nh = 0, cap = 0, sent = 0;
	int err, mail_ok = 0;
	bool want_mail = false;

	memset(&mail, 0, sizeof mail);
	if ((err = load_alerts(db, &alerts, &na, task_id)) < 0)
		goto out;
	for (int i = 0; i < Q__MAX && !err; i++)
		err = db_prepare(db, alert_sql[i], &q[i]);
	for (size_t k = 0; k < na && !err; k++)
		err = evaluate(q, &alerts[k], lv, &hits, &nh, &cap);
	if (!err)
		err = record(db, q, alerts, na, hits, nh, lv, task_id);
	if (err)
		goto out;
	for (size_t i = 0; i < nh; i++)
		want_mail |= hits[i].fresh && hits[i].a->email;
	if (want_mail)
		mail_ok = mail_settings_load(cfg, db, &mail);
	for (size_t i = 0; i < nh; i++) {
		if (!hits[i].fresh)
			continue;
		deliver(&hits[i], &mail, mail_ok, task_id);
		sent++;
	}
	if (na)
		log_debug("monitor", "alerts_evaluated", json_pack("{s:s,s:i,s:i,s:i}", "task_id", task_id,
			  "alerts", (int)na, "active", (int)nh, "notified", (int)sent));
out:
	if (err)
		log_error("monitor", "alerts_failed", json_pack("{s:s,s:s}", "task_id", task_id,
			  "error", strerror(-err)));
	mail_settings_clear(&mail);
	for (int i = 0; i < Q__MAX; i++)
		sqlite3_finalize(q[i]);
	free(alerts);
	free(hits);
	return err ? -1 : (int)sent;
}
