/* SPDX-License-Identifier: MIT */
/*
 * /api/system (api.md §12): info, backup and restore.
 *
 * Restore never renames a file over the live DB: the reconciler, the other
 * workers, the SSE threads and cron jobs all keep connections open, and a
 * rename would leave each of them on the old inode (the reconciler would
 * then reconcile against the *old* data) while the -wal/-shm files, which
 * go by name, would be shared between two different databases. Instead the
 * validated upload is copied into the live file with the online backup API
 * (sqlite3_backup_step(-1)): in WAL mode that is one write transaction, so
 * every connection of every process sees either the whole old or the whole
 * new database on its next read, and a failure rolls back with nothing
 * half-replaced. Nobody has to reopen anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "api.h"
#include "db.h"
#include "log.h"
#include "model.h"

#define RESTORE_MAX (64LL * 1024 * 1024)
#define CHUNK 65536

/* ---- info ---- */

void ops_os_name(char *out, size_t outsz)
{
	FILE *f = fopen("/etc/os-release", "re");
	char line[512];

	snprintf(out, outsz, "Linux");
	while (f && fgets(line, sizeof line, f)) {
		char *v, *end;

		if (strncmp(line, "PRETTY_NAME=", 12) != 0)
			continue;
		v = line + 12;
		v[strcspn(v, "\r\n")] = '\0';
		end = v + strlen(v);
		if ((*v == '"' || *v == '\'') && end > v + 1 && end[-1] == *v) {
			end[-1] = '\0';
			v++;
		}
		if (*v)
			snprintf(out, outsz, "%s", v);
		break;
	}
	if (f)
		fclose(f);
}

long long ops_rss_mb(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long long kb = 0;

	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return (kb + 512) / 1024;       /* whole MiB: a real would print as 11.199999999999999 */
}

/* GET /api/system/info — 200 {"version","os","arch","kernel","uptime",
 * "uptime_sec","backend","memory":{"rss_mb"}}. With the reconciler down the
 * uptime is "0m"/0 and the backend "unavailable". */
void system_info(struct req *r)
{
	struct utsname u;
	struct rec_ping ping;
	char os[256], up[32];

	if (uname(&u) < 0)
		memset(&u, 0, sizeof u);
	ops_os_name(os, sizeof os);
	ops_ping(r, &ping);
	ops_uptime(up, ops_uptime_sec(&ping));
	resp_json(r, 200, json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:{s:I}}",
		  "version", PACKAGE_VERSION, "os", os, "arch", u.machine, "kernel", u.release,
		  "uptime", up, "uptime_sec", (json_int_t)ops_uptime_sec(&ping),
		  "backend", ping.up ? ping.backend : "unavailable",
		  "memory", "rss_mb", (json_int_t)ops_rss_mb()));
}

/* ---- ports and routes (roadmap feat-007, feat-009) ---- */

/* The port of server.listen ("addr:port", "[v6]:port" or "port"), 0 when
 * there is none. */
static long https_port(const char *listen)
{
	const char *colon = strrchr(listen, ':');
	char *end;
	long port = strtol(colon ? colon + 1 : listen, &end, 10);

	return *end == '\0' && port > 0 && port <= 65535 ? port : 0;
}

/* GET /api/system/ports — 200 {"wireguard_ports":[{port, interface,
 * managed}], "conflicting_ports":[{port, interface, protocol}],
 * "https_port":{port, pid, process}}: every network's UDP port, and those
 * another program holds (the reconciler's check_port, both families).
 * pid/process of the HTTPS listener are null: the unprivileged API cannot
 * see other users' sockets. 503 RECONCILER_UNAVAILABLE, 500 DB error. */
void system_ports(struct req *r)
{
	struct network *v;
	size_t n;
	json_t *wg = json_array(), *bad = json_array(), *reply;
	int err = model_network_list(r->app->db, &v, &n);

	if (err < 0) {
		json_decref(wg);
		json_decref(bad);
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *owner;

		if (reconciler_query(r, "check_port", json_pack("{s:i}", "port", v[i].listen_port),
				     &reply) < 0) {
			json_decref(wg);
			json_decref(bad);
			networks_free(v, n);
			return;
		}
		owner = json_string_value(json_object_get(reply, "owner")) ?: "";
		json_array_append_new(wg, json_pack("{s:i,s:s,s:b}", "port", v[i].listen_port,
						    "interface", v[i].iface, "managed", 1));
		if (json_is_true(json_object_get(reply, "in_use")) && strcmp(owner, v[i].iface) != 0)
			json_array_append_new(bad, json_pack("{s:i,s:s,s:s}", "port", v[i].listen_port,
							     "interface", v[i].iface, "protocol", "udp"));
		json_decref(reply);
	}
	networks_free(v, n);
	resp_json(r, 200, json_pack("{s:o,s:o,s:{s:i,s:n,s:n}}", "wireguard_ports", wg,
				    "conflicting_ports", bad, "https_port",
				    "port", (int)https_port(r->app->cfg.listen), "pid", "process"));
}

/* An interface name as the reconciler accepts it: 1-15 of [A-Za-z0-9._-]. */
static const char *v_iface(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 15 || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "0123456789._-") != n || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return "must be an interface name (1-15 letters, digits, '.', '_' or '-')";
	return NULL;
}

/* Route table names (feat-009), else the number. */
static bool table_matches(json_t *route, const char *table)
{
	json_t *num = json_object_get(route, "table");
	const char *name = json_string_value(json_object_get(route, "table_name"));
	char buf[24];

	snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(num));
	return strcmp(buf, table) == 0 || (name && strcmp(name, table) == 0);
}

/* GET /api/system/routes[?interface=wgN&table=T] — 200 {"routes":[{destination,
 * interface, table, table_name, protocol, scope, metric, managed}]}: the
 * routes whose output is a WireGuard interface of a network (all tables but
 * local), from the reconciler; managed = the address route or one of ours.
 * table is a number or main/default/local. all=true (routes of every
 * interface) is refused with 400: only WireGuard routes are shown. 400
 * VALIDATION_ERROR for a bad interface, table or unknown key; 503. */
void system_routes(struct req *r)
{
	static const char *const keys[] = { "interface", "table", "all" };
	struct verrs ve = { 0 };
	char *vals[3];
	json_t *reply, *routes, *out, *it;
	size_t i;

	if (query_parse(r, keys, 3, vals, &ve) < 0) {
		verr_free(&ve);
		resp_error(r, 500, "INTERNAL_ERROR", "out of memory");
		return;
	}
	if (vals[0] && v_iface(vals[0]))
		verr_add(&ve, "interface", v_iface(vals[0]));
	if (vals[1] && !(vals[1][0] && strspn(vals[1], "0123456789") == strlen(vals[1]) && strlen(vals[1]) <= 10)
	    && strcmp(vals[1], "main") != 0 && strcmp(vals[1], "default") != 0 && strcmp(vals[1], "local") != 0)
		verr_add(&ve, "table", "must be a table number or main, default, local");
	if (vals[2] && strcmp(vals[2], "false") != 0)
		verr_add(&ve, "all", strcmp(vals[2], "true") == 0
			 ? "only the routes of WireGuard interfaces can be listed"
			 : "must be true or false");
	if (verr_any(&ve)) {
		query_free(vals, 3);
		resp_verrs(r, &ve);
		return;
	}
	if (reconciler_query(r, "routes", vals[0] ? json_pack("{s:s}", "interface", vals[0]) : NULL,
			     &reply) < 0) {
		query_free(vals, 3);
		return;
	}
	routes = json_object_get(reply, "routes");
	out = json_array();
	json_array_foreach(routes, i, it)
		if (!vals[1] || table_matches(it, vals[1]))
			json_array_append(out, it);
	json_decref(reply);
	query_free(vals, 3);
	resp_json(r, 200, json_pack("{s:o}", "routes", out));
}

/* ---- backup ---- */

/* A fresh empty 0600 file in the data dir; path filled. fd or -errno. */
static int temp_file(struct req *r, const char *stem, char *path, size_t pathsz)
{
	int fd;

	if ((size_t)snprintf(path, pathsz, "%s/.%s-XXXXXX", r->app->cfg.data_dir, stem) >= pathsz)
		return -ENAMETOOLONG;
	fd = mkostemp(path, O_CLOEXEC);         /* mode 0600: the copy holds hashes and sealed keys */
	return fd < 0 ? -errno : fd;
}

/* POST /api/system/backup — 200 application/octet-stream attachment
 * "wgpilot-backup-YYYYMMDD-HHMMSS.db" (UTC): a consistent copy made with
 * VACUUM INTO while the DB stays online; 500 when the copy fails. */
void system_backup(struct req *r)
{
	char path[4200], fname[64], hdr[160];
	sqlite3_stmt *st = NULL;
	struct stat sb;
	void *map = MAP_FAILED;
	time_t now = time(NULL);
	struct tm tm;
	int fd, rc;

	fd = temp_file(r, "backup", path, sizeof path);
	if (fd < 0) {
		log_error("handler", "backup_failed", json_pack("{s:s,s:s}", "error", strerror(-fd),
			  "request_id", r->request_id));
		resp_error(r, 500, "INTERNAL_ERROR", "cannot create the backup file");
		return;
	}
	close(fd);
	if (db_prepare(r->app->db, "VACUUM INTO ?", &st) < 0) {
		rc = SQLITE_ERROR;
	} else {
		sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			db_log_error(r->app->db, "VACUUM INTO");
		sqlite3_finalize(st);
	}
	fd = rc == SQLITE_DONE ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	unlink(path);           /* the open descriptor keeps the data until we are done */
	if (fd >= 0 && fstat(fd, &sb) == 0 && sb.st_size > 0)
		map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (fd >= 0)
		close(fd);
	if (map == MAP_FAILED) {
		resp_error(r, 500, "INTERNAL_ERROR", "cannot copy the database");
		return;
	}
	gmtime_r(&now, &tm);
	strftime(fname, sizeof fname, "wgpilot-backup-%Y%m%d-%H%M%S.db", &tm);
	snprintf(hdr, sizeof hdr, "Content-Disposition: attachment; filename=\"%s\"\r\n", fname);
	log_info("handler", "backup_created", json_pack("{s:s,s:I,s:s}", "file", fname,
		 "size", (json_int_t)sb.st_size, "request_id", r->request_id));
	audit(r, "backup.created", "system", json_pack("{s:s,s:I}", "file", fname,
	      "size", (json_int_t)sb.st_size));
	resp_raw(r, 200, "application/octet-stream", hdr, map, (size_t)sb.st_size);
	munmap(map, (size_t)sb.st_size);
}

/* ---- restore ---- */

static bool is_db_type(const char *ct)
{
	static const char *const ok[] = { "application/octet-stream", "application/vnd.sqlite3",
					  "application/x-sqlite3" };

	for (size_t i = 0; ct && i < sizeof ok / sizeof ok[0]; i++) {
		size_t n = strlen(ok[i]);
		if (strncasecmp(ct, ok[i], n) == 0 && (ct[n] == '\0' || ct[n] == ';'))
			return true;
	}
	return false;
}

/* Reads and drops what is left of the body, so nginx never sees the
 * connection closed while it still sends (that would turn into a 502). */
static void drain(struct req *r, long long left)
{
	char buf[CHUNK];

	while (left > 0) {
		int got = FCGX_GetStr(buf, left > CHUNK ? CHUNK : (int)left, r->fcgx->in);
		if (got <= 0)
			break;
		left -= got;
	}
}

/* Streams the body into fd. Bytes received, or -errno. */
static long long receive(struct req *r, int fd, long long len)
{
	char buf[CHUNK];
	long long total = 0;

	while (total < len) {
		int got = FCGX_GetStr(buf, len - total > CHUNK ? CHUNK : (int)(len - total), r->fcgx->in);
		if (got <= 0)
			break;
		for (int off = 0; off < got; ) {
			ssize_t w = write(fd, buf + off, (size_t)(got - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -errno;
			off += (int)w;
		}
		total += got;
	}
	return total;
}

struct restore_info {
	int migrations_applied, networks, peers, sealed;
};

/* One stored secret of the upload: must open with this machine's key.
 * Legacy plaintext keys are sealed in place (data-model §4). 0 ok, -1 not
 * decryptable, -2 internal error. */
static int check_secret(struct req *r, sqlite3 *t, const char *table, const char *col,
			long long id, const char *stored, bool key, struct restore_info *ri)
{
	char *plain = NULL, *sealed, sql[128];
	uint8_t raw[WG_KEY_LEN];
	sqlite3_stmt *st;
	int ret = 0;

	if (!stored[0])
		return 0;
	if (secret_open(r->app->keys.enc, stored, &plain) < 0)
		return -1;
	if (key && key_from_b64(raw, plain) < 0)
		ret = -1;
	sodium_memzero(raw, sizeof raw);
	if (ret == 0 && secret_is_legacy(stored)) {
		sealed = secret_seal(r->app->keys.enc, plain);
		snprintf(sql, sizeof sql, "UPDATE %s SET %s = ? WHERE id = ?", table, col);
		if (!sealed || db_prepare(t, sql, &st) < 0) {
			ret = -2;
		} else {
			sqlite3_bind_text(st, 1, sealed, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, id);
			if (sqlite3_step(st) != SQLITE_DONE)
				ret = -2;
			sqlite3_finalize(st);
			log_info("db", "key_encrypted", json_pack("{s:s,s:s,s:I}", "table", table,
				 "column", col, "id", (json_int_t)id));
			ri->sealed++;
		}
		free(sealed);
	}
	sodium_memzero(plain, strlen(plain));
	free(plain);
	return ret;
}

/* networks and peers readable, every secret opens. 0, -1 (why set), -2. */
static int check_rows(struct req *r, sqlite3 *t, struct restore_info *ri, char *why, size_t whysz)
{
	struct network *v = NULL;
	size_t n = 0;
	char *smtp = NULL;
	int ret = 0;

	if (model_network_list(t, &v, &n) < 0) {
		snprintf(why, whysz, "the networks table cannot be read");
		return -1;
	}
	ri->networks = (int)n;
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct peer *pv = NULL;
		size_t np = 0;

		ret = v[i].private_key[0] ? check_secret(r, t, "networks", "private_key", v[i].id,
							 v[i].private_key, true, ri) : -1;
		if (ret == -1)
			snprintf(why, whysz, "the private key of network %lld does not decrypt with this "
				 "machine's master key (backup of another installation?)", v[i].id);
		if (ret < 0)
			break;
		if (model_peer_list(t, v[i].id, &pv, &np) < 0) {
			snprintf(why, whysz, "the peers table cannot be read");
			ret = -1;
			break;
		}
		ri->peers += (int)np;
		for (size_t k = 0; k < np && ret == 0; k++) {
			ret = check_secret(r, t, "peers", "private_key", pv[k].id, pv[k].private_key, true, ri);
			if (ret == 0)
				ret = check_secret(r, t, "peers", "preshared_key", pv[k].id,
						   pv[k].preshared_key, true, ri);
			if (ret == -1)
				snprintf(why, whysz, "the keys of peer %lld do not decrypt with this "
					 "machine's master key (backup of another installation?)", pv[k].id);
		}
		peers_free(pv, np);
	}
	networks_free(v, n);
	if (ret == 0 && db_setting_get(t, "smtp_pass", &smtp) == 1 && strncmp(smtp, "sb1:", 4) == 0) {
		char *plain = NULL;

		if (secret_open(r->app->keys.enc, smtp, &plain) < 0) {
			snprintf(why, whysz, "the SMTP password does not decrypt with this machine's master key");
			ret = -1;
		} else {
			sodium_memzero(plain, strlen(plain));
			free(plain);
		}
	}
	free(smtp);
	return ret;
}

/* Validates (and migrates, seals, re-pages) the uploaded copy at path.
 * 0 usable, -1 refused (why set), -2 internal error. */
static int restore_validate(struct req *r, const char *path, struct restore_info *ri,
			    char *why, size_t whysz)
{
	char text[32], live_ps[32];
	sqlite3 *t;
	int ret = -1;

	if (db_backup_open(path, &t, &ri->migrations_applied, why, whysz) < 0)
		return -1;
	if ((ret = check_rows(r, t, ri, why, whysz)) != 0)
		goto out;
	/* The backup API cannot change the page size of a WAL database. */
	ret = -2;
	if (db_query_text(r->app->db, "PRAGMA page_size", live_ps, sizeof live_ps) != 0
	    || db_query_text(t, "PRAGMA page_size", text, sizeof text) != 0)
		goto out;
	if (strcmp(live_ps, text) != 0) {
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA page_size=%d", atoi(live_ps));
		if (db_exec(t, sql) < 0 || db_exec(t, "VACUUM") < 0)
			goto out;
	}
	ret = 0;
out:
	sqlite3_close_v2(t);
	return ret;
}

/* Copies the validated file into the live DB in one transaction. 0 or -1. */
static int restore_copy(struct req *r, const char *path)
{
	sqlite3 *src = NULL;
	sqlite3_backup *bk;
	int rc = SQLITE_ERROR;

	if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) == SQLITE_OK) {
		for (int attempt = 0; attempt < 5; attempt++) {
			bk = sqlite3_backup_init(r->app->db, "main", src, "main");
			if (!bk)
				break;
			rc = sqlite3_backup_step(bk, -1);       /* all pages: one write transaction */
			sqlite3_backup_finish(bk);
			if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
				break;
			usleep(200000);
		}
	}
	sqlite3_close_v2(src);
	if (rc != SQLITE_DONE) {
		log_error("db", "restore_copy_failed", json_pack("{s:s,s:s}", "error", sqlite3_errstr(rc),
			  "request_id", r->request_id));
		return -1;
	}
	sqlite3_exec(r->app->db, "PRAGMA wal_checkpoint(PASSIVE)", NULL, NULL, NULL);
	return 0;
}

/* Interfaces of the live DB before the swap, to tear down those the
 * restored DB no longer has (the reconciler leaves unknown links alone). */
struct old_iface {
	char iface[16];
	int port;
};

static void teardown_vanished(struct req *r, const struct old_iface *old, size_t nold)
{
	for (size_t i = 0; i < nold; i++) {
		struct network n;
		int found = model_network_by_iface(r->app->db, old[i].iface, &n);

		if (found == 1) {
			network_free(&n);
			continue;
		}
		if (found == 0)
			reconciler_call(r, "teardown", json_pack("{s:s,s:i}", "interface", old[i].iface,
					"listen_port", old[i].port), (char[48]){ 0 }, (char[256]){ 0 });
	}
}

/* POST /api/system/restore (raw SQLite body, ≤ 64 MiB) — 200
 * {"status":"restored","networks","peers","migrations_applied","reconciled"};
 * 400 VALIDATION_ERROR wrong Content-Type, empty or truncated upload, not a
 * usable wgpilot DB (not SQLite, integrity check, no _migrations, newer
 * schema, unreadable tables, secrets of another master key) — the live DB is
 * untouched; 413 over 64 MiB; 500 when the copy fails (rolled back). */
void system_restore(struct req *r)
{
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", r->fcgx->envp);
	long long len = cl && *cl ? strtoll(cl, NULL, 10) : 0, got;
	struct restore_info ri = { 0 };
	struct verrs ve = { 0 };
	struct old_iface *old = NULL;
	struct network *v = NULL;
	size_t nold = 0;
	char path[4200], why[512], code[48], msg[256];
	bool reconciled;
	int fd, ret;

	if (!is_db_type(FCGX_GetParam("CONTENT_TYPE", r->fcgx->envp))) {
		drain(r, len > RESTORE_MAX ? RESTORE_MAX : len);
		resp_error(r, 400, "VALIDATION_ERROR", "Content-Type must be application/octet-stream "
			   "(the raw database file)");
		return;
	}
	if (len > RESTORE_MAX) {
		resp_error(r, 413, "VALIDATION_ERROR", "request body too large (limit 64 MiB)");
		return;
	}
	if (len <= 0) {
		resp_error(r, 400, "VALIDATION_ERROR", "request body must be a wgpilot database file");
		return;
	}
	fd = temp_file(r, "restore", path, sizeof path);
	if (fd < 0) {
		drain(r, len);
		resp_error(r, 500, "INTERNAL_ERROR", "cannot store the upload");
		return;
	}
	got = receive(r, fd, len);
	close(fd);
	if (got != len) {
		unlink(path);
		if (got < 0)
			resp_error(r, 500, "INTERNAL_ERROR", "cannot store the upload");
		else
			resp_error(r, 400, "VALIDATION_ERROR", "upload truncated (%lld of %lld bytes)", got, len);
		return;
	}
	ret = restore_validate(r, path, &ri, why, sizeof why);
	if (ret == 0 && model_network_list(r->app->db, &v, &nold) == 0
	    && (old = calloc(nold + 1, sizeof *old))) {
		for (size_t i = 0; i < nold; i++) {
			snprintf(old[i].iface, sizeof old[i].iface, "%s", v[i].iface);
			old[i].port = v[i].listen_port;
		}
	} else if (ret == 0) {
		ret = -2;
	}
	networks_free(v, nold);
	if (ret == 0 && restore_copy(r, path) < 0)
		ret = -2;
	unlink(path);
	if (ret == -1) {
		log_warn("handler", "restore_rejected", json_pack("{s:s,s:s}", "reason", why,
			 "request_id", r->request_id));
		free(old);
		verr_add(&ve, "body", why);
		resp_verrs(r, &ve);
		return;
	}
	if (ret < 0) {
		free(old);
		resp_error(r, 500, "INTERNAL_ERROR", "the restore failed; the database is unchanged");
		return;
	}
	teardown_vanished(r, old, nold);
	free(old);
	reconciled = reconciler_call(r, "reconcile", NULL, code, msg) == 0;
	if (!reconciled)
		log_warn("handler", "restore_reconcile_failed", json_pack("{s:s,s:s,s:s}", "code", code,
			 "message", msg, "hint", "the periodic resync retries within a minute"));
	log_info("handler", "backup_restored", json_pack("{s:I,s:i,s:i,s:i,s:b,s:s}", "size",
		 (json_int_t)len, "networks", ri.networks, "peers", ri.peers, "migrations_applied",
		 ri.migrations_applied, "reconciled", reconciled, "request_id", r->request_id));
	audit(r, "backup.restored", "system", json_pack("{s:I,s:i,s:i,s:i}", "size", (json_int_t)len,
	      "networks", ri.networks, "peers", ri.peers, "migrations_applied", ri.migrations_applied));
	resp_json(r, 200, json_pack("{s:s,s:i,s:i,s:i,s:b}", "status", "restored", "networks",
		  ri.networks, "peers", ri.peers, "migrations_applied", ri.migrations_applied,
		  "reconciled", reconciled));
}
