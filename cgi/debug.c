/* SPDX-License-Identifier: MIT */
/*
 * /api/debug (api.md §12, dev mode only) and the keeping of WARN/ERROR log
 * lines in log_entries (monitoring.md §5: newest 500).
 *
 * The log sink only queues lines in memory (per thread); the worker writes
 * the queue after the response is finished (debug_log_flush). Writing from
 * inside the sink would run in the middle of a handler's transaction (and be
 * rolled back with it) or wait on the busy timeout behind it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>
#include "api.h"
#include "db.h"
#include "log.h"
#include "model.h"

#define LOG_KEEP 500
#define LOG_KEEP_STR "500"
#define QUEUE_MAX 32
#define ONLINE_WINDOW 180

/* ---- the log sink ---- */

struct queued {
	long long ts;
	enum log_level level;
	char *msg, *attrs;
};

static _Thread_local struct queued queue[QUEUE_MAX];
static _Thread_local int queued;
static _Thread_local bool flushing;

static void sink(enum log_level l, const char *msg, const char *fields_json)
{
	struct queued *q;

	if (flushing || queued >= QUEUE_MAX)
		return;         /* our own DB errors, or a flood: not kept */
	q = &queue[queued];
	q->ts = (long long)time(NULL);
	q->level = l;
	q->msg = strdup(msg);
	q->attrs = strdup(fields_json ? fields_json : "{}");
	if (!q->msg || !q->attrs) {
		free(q->msg);
		free(q->attrs);
		return;
	}
	queued++;
}

void debug_log_install(void)
{
	log_set_sink(sink);
}

static void queue_clear(void)
{
	for (int i = 0; i < queued; i++) {
		free(queue[i].msg);
		free(queue[i].attrs);
	}
	queued = 0;
}

void debug_log_flush(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	bool ok;

	if (queued == 0)
		return;
	if (!db || sqlite3_db_readonly(db, "main") != 0) {
		queue_clear();  /* read-only connections (SSE threads) keep nothing */
		return;
	}
	flushing = true;
	ok = db_exec(db, "BEGIN IMMEDIATE") == 0;
	if (ok && db_prepare(db, "INSERT INTO log_entries (ts, level, msg, attrs) VALUES (?, ?, ?, ?)",
			     &st) == 0) {
		for (int i = 0; i < queued && ok; i++) {
			sqlite3_bind_int64(st, 1, queue[i].ts);
			sqlite3_bind_text(st, 2, log_level_name(queue[i].level), -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, queue[i].msg, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, queue[i].attrs, -1, SQLITE_STATIC);
			ok = sqlite3_step(st) == SQLITE_DONE;
			sqlite3_reset(st);
		}
		sqlite3_finalize(st);
	} else {
		ok = false;
	}
	if (ok)
		ok = db_exec(db, "DELETE FROM log_entries WHERE id <= "
			     "(SELECT MAX(id) FROM log_entries) - " LOG_KEEP_STR) == 0
		     && db_exec(db, "COMMIT") == 0;
	if (!ok)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	flushing = false;
	queue_clear();
}

/* ---- GET /api/debug/info ---- */

static bool dev_only(struct req *r)
{
	if (r->app->cfg.dev_mode)
		return true;
	resp_error(r, 404, "NOT_FOUND", "no such endpoint");
	return false;
}

static json_t *config_json(const struct config *c)
{
	return json_pack("{s:{s:s,s:b},s:{s:s},s:{s:I,s:i,s:s},s:{s:s,s:s,s:s},s:{s:s,s:s},"
			 "s:{s:I,s:I,s:I,s:b},s:{s:s,s:s,s:s,s:I},s:{s:s},s:s}",
			 "server", "listen", c->listen, "dev_mode", c->dev_mode,
			 "database", "path", c->db_path,
			 "auth", "session_ttl", (json_int_t)c->session_ttl, "rate_limit_rpm", c->rate_limit_rpm,
			 "master_key_file", c->master_key_file,
			 "tls", "mode", c->tls_mode, "cert_file", c->tls_cert_file, "domain", c->acme_domain,
			 "logging", "level", c->log_level, "format", c->log_format,
			 "monitor", "poll_interval", (json_int_t)c->poll_interval,
			 "snapshot_retention", (json_int_t)c->snapshot_retention,
			 "compaction_interval", (json_int_t)c->compaction_interval,
			 "event_driven", c->event_driven,
			 "reconciler", "socket", c->rec_socket, "backend", c->rec_backend,
			 "userspace_binary", c->rec_userspace_binary,
			 "resync_interval", (json_int_t)c->resync_interval,
			 "metrics", "allow", c->metrics_allow, "file", c->path);
}

/* Row counts of every table (names from sqlite_master, quoted as identifiers). */
static json_t *table_counts(sqlite3 *db)
{
	json_t *out = json_object();
	sqlite3_stmt *st, *cnt;

	if (db_prepare(db, "SELECT name FROM sqlite_master WHERE type = 'table' "
		       "AND name NOT LIKE 'sqlite_%' ORDER BY name", &st) < 0)
		return out;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		char *sql = sqlite3_mprintf("SELECT COUNT(*) FROM \"%w\"", name);

		if (sql && sqlite3_prepare_v2(db, sql, -1, &cnt, NULL) == SQLITE_OK) {
			if (sqlite3_step(cnt) == SQLITE_ROW)
				json_object_set_new(out, name, json_integer(sqlite3_column_int64(cnt, 0)));
			sqlite3_finalize(cnt);
		}
		sqlite3_free(sql);
	}
	sqlite3_finalize(st);
	return out;
}

static json_t *interfaces_json(const struct network *v, size_t n, json_t *ifaces)
{
	json_t *out = json_array();
	long long now = (long long)time(NULL);

	for (size_t i = 0; i < n; i++) {
		json_t *kif = v[i].enabled ? ops_find_iface(ifaces, v[i].iface) : NULL, *kp;
		int online = 0;
		size_t k;

		json_array_foreach(json_object_get(kif, "peers"), k, kp) {
			long long hs = json_integer_value(json_object_get(kp, "last_handshake"));
			online += hs > 0 && now - hs < ONLINE_WINDOW;
		}
		json_array_append_new(out, json_pack("{s:s,s:i,s:b,s:s,s:i,s:i}", "name", v[i].iface,
			"listen_port", v[i].listen_port, "enabled", v[i].enabled,
			"state", !v[i].enabled ? "disabled" : ops_iface_up(ifaces, &v[i]) ? "up" : "down",
			"peer_count", v[i].peer_count, "peers_online", online));
	}
	return out;
}

/* GET /api/debug/info (dev mode) — 200 {"version","os","arch",
 * "uptime_seconds","config","system","wireguard","database"}; 404 NOT_FOUND
 * outside dev mode; 500 database error. */
void debug_info(struct req *r)
{
	struct network *v = NULL;
	struct rec_ping ping;
	struct utsname u;
	size_t n = 0;
	char os[256], host[256] = "";
	json_t *ifaces, *o;

	if (!dev_only(r))
		return;
	if (model_network_list(r->app->db, &v, &n) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	if (uname(&u) < 0)
		memset(&u, 0, sizeof u);
	gethostname(host, sizeof host - 1);
	ops_os_name(os, sizeof os);
	ops_ping(r, &ping);
	ifaces = ping.up ? ops_status(r, NULL) : NULL;
	o = json_pack("{s:s,s:s,s:s,s:I,s:o,s:{s:s,s:s,s:i,s:i,s:i,s:I,s:s,s:s,s:b,s:s},"
		      "s:{s:o},s:{s:s,s:o}}",
		      "version", PACKAGE_VERSION, "os", os, "arch", u.machine,
		      "uptime_seconds", (json_int_t)ops_uptime_sec(&ping),
		      "config", config_json(&r->app->cfg),
		      "system", "hostname", host, "kernel", u.release, "pid", (int)getpid(),
		      "uid", (int)getuid(), "gid", (int)getgid(), "rss_mb", (json_int_t)ops_rss_mb(),
		      "sqlite_version", sqlite3_libversion(), "jansson_version", JANSSON_VERSION,
		      "reconciler_up", ping.up, "backend", ping.up ? ping.backend : "unavailable",
		      "wireguard", "interfaces", interfaces_json(v, n, ifaces),
		      "database", "path", r->app->cfg.db_path, "tables", table_counts(r->app->db));
	json_decref(ifaces);
	networks_free(v, n);
	resp_json(r, 200, o);
}

/* ---- GET /api/debug/logs ---- */

/* GET /api/debug/logs?level=error|warn&limit=1..500 (dev mode) — 200
 * {"entries":[{"timestamp","level","message",…attrs}],"count"} newest
 * first; 400 VALIDATION_ERROR bad level/limit; 404 outside dev mode. */
void debug_logs(struct req *r)
{
	struct verrs ve = { 0 };
	char level[16] = "", lim[16] = "";
	long long limit = 100;
	int hl, hn;
	sqlite3_stmt *st;
	json_t *entries;

	if (!dev_only(r))
		return;
	hl = networks_query(r->query, "level", level, sizeof level);
	hn = networks_query(r->query, "limit", lim, sizeof lim);
	if (hl < 0 || (hl == 1 && strcmp(level, "error") != 0 && strcmp(level, "warn") != 0))
		verr_add(&ve, "level", "must be error or warn");
	if (hn == 1) {
		char *end;
		errno = 0;
		limit = strtoll(lim, &end, 10);
		if (!lim[0] || *end || errno || lim[0] == '-' || lim[0] == '+' || lim[0] == ' ')
			limit = 0;
	}
	if (hn < 0 || limit < 1 || limit > LOG_KEEP)
		verr_add(&ve, "limit", "must be an integer between 1 and 500");
	if (verr_any(&ve)) {
		resp_verrs(r, &ve);
		return;
	}
	if (db_prepare(r->app->db, "SELECT ts, level, msg, attrs FROM log_entries "
		       "WHERE level IN ('ERROR', ?1) ORDER BY id DESC LIMIT ?2", &st) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	sqlite3_bind_text(st, 1, strcmp(level, "error") == 0 ? "ERROR" : "WARN", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit);
	entries = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *attrs = (const char *)sqlite3_column_text(st, 3);
		json_t *e = json_pack("{s:I,s:s,s:s}", "timestamp", (json_int_t)sqlite3_column_int64(st, 0),
				      "level", (const char *)sqlite3_column_text(st, 1),
				      "message", (const char *)sqlite3_column_text(st, 2));
		json_t *a = attrs ? json_loads(attrs, 0, NULL) : NULL;
		const char *key;
		json_t *val;

		if (json_is_object(a))
			json_object_foreach(a, key, val)
				if (!json_object_get(e, key))
					json_object_set(e, key, val);
		json_decref(a);
		json_array_append_new(entries, e);
	}
	sqlite3_finalize(st);
	resp_json(r, 200, json_pack("{s:o,s:I}", "entries", entries, "count",
		  (json_int_t)json_array_size(entries)));
}
