/* SPDX-License-Identifier: MIT */
/*
 * `wgpilot diagnose [--json]` (monitoring.md §6): checks that need no running
 * service (and use the reconciler when it answers), each [PASS], [WARN] or
 * [FAIL] with the fix for a problem. Exit status 1 when any check failed.
 */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "db.h"
#include "rpc.h"
#include "tls.h"

#ifndef WGP_CRON_FILE
#define WGP_CRON_FILE "/etc/cron.d/wgpilot"
#endif
#define SERVICE_USER "wgpilot"
#define CERT_WARN_DAYS 14
#define MIN_FREE_BYTES (100LL << 20)
#define CAP_NET_ADMIN_BIT 12
#define PING_TIMEOUT 5000

enum st { PASS, WARN, FAIL };

static const char *const st_text[] = { "PASS", "WARN", "FAIL" };
static const char *const st_json[] = { "pass", "warn", "fail" };

struct diag {
	json_t *checks;
	int count[3];
	bool as_json;
};

__attribute__((format(printf, 5, 6)))
static void add(struct diag *d, enum st s, const char *name, const char *fix, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	d->count[s]++;
	if (d->as_json) {
		json_array_append_new(d->checks, json_pack("{s:s,s:s,s:s,s:s}", "name", name, "status",
				      st_json[s], "detail", detail, "fix", s == PASS || !fix ? "" : fix));
		return;
	}
	printf("[%s] %s: %s\n", st_text[s], name, detail);
	if (s != PASS && fix)
		printf("       fix: %s\n", fix);
}

static int read_line(const char *path, char *out, size_t outsz)
{
	FILE *f = fopen(path, "re");
	int ok = f && fgets(out, (int)outsz, f);

	if (f)
		fclose(f);
	if (!ok)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

static void check_system(struct diag *d)
{
	struct utsname u;
	char os[256] = "", line[256];
	FILE *f = fopen("/etc/os-release", "re");

	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "PRETTY_NAME=", 12) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(os, sizeof os, "%s", line + 12 + (line[12] == '"'));
			os[strcspn(os, "\"")] = '\0';
		}
	if (f)
		fclose(f);
	uname(&u);
	add(d, PASS, "system", NULL, "wgpilot %s (commit %s), %s, kernel %s, %s", PACKAGE_VERSION,
	    WGP_COMMIT, os[0] ? os : u.sysname, u.release, u.machine);
}

static void check_wireguard(struct diag *d, const struct config *cfg)
{
	struct stat sb;
	const char *bin = cfg->rec_userspace_binary;

	if (stat("/sys/module/wireguard", &sb) == 0) {
		add(d, PASS, "wireguard", NULL, "kernel module loaded (or built in)");
	} else if (strcmp(cfg->rec_backend, "kernel") == 0) {
		add(d, FAIL, "wireguard", "modprobe wireguard, or set reconciler.backend: userspace with "
		    "reconciler.userspace_binary: /usr/bin/wireguard-go",
		    "reconciler.backend is kernel but the wireguard module is not loaded");
	} else if (bin[0] && access(bin, X_OK) == 0) {
		add(d, PASS, "wireguard", NULL, "no kernel module; userspace implementation %s", bin);
	} else if (access("/usr/bin/wireguard-go", X_OK) == 0) {
		add(d, WARN, "wireguard", "set reconciler.userspace_binary: /usr/bin/wireguard-go in the config",
		    "no kernel module, and wireguard-go is installed but not configured");
	} else {
		add(d, FAIL, "wireguard", "modprobe wireguard, or apt-get install wireguard-go and set "
		    "reconciler.userspace_binary", "neither the kernel module nor a userspace implementation");
	}
}

/* The pid of the process holding the listening socket at path, or -1. */
static long socket_owner(const char *path)
{
	char line[512], want[64], fdpath[300], target[64];
	unsigned long inode = 0;
	FILE *f = fopen("/proc/net/unix", "re");
	DIR *proc;
	struct dirent *e;
	long found = -1;

	while (f && fgets(line, sizeof line, f)) {
		char p[300] = "";
		unsigned long ino, flags;

		/* The listening socket (__SO_ACCEPTCON): the connections it
		 * accepted carry the same path and may be gone a moment later. */
		if (sscanf(line, "%*s %*s %*s %lx %*s %*s %lu %299s", &flags, &ino, p) == 3
		    && (flags & 0x10000) && strcmp(p, path) == 0)
			inode = ino;
	}
	if (f)
		fclose(f);
	if (!inode || !(proc = opendir("/proc")))
		return -1;
	snprintf(want, sizeof want, "socket:[%lu]", inode);
	while (found < 0 && (e = readdir(proc))) {
		DIR *fds;
		struct dirent *fe;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(fdpath, sizeof fdpath, "/proc/%s/fd", e->d_name);
		if (!(fds = opendir(fdpath)))
			continue;
		while ((fe = readdir(fds))) {
			char link[600];
			ssize_t n;

			snprintf(link, sizeof link, "%s/%s", fdpath, fe->d_name);
			n = readlink(link, target, sizeof target - 1);
			if (n > 0 && (target[n] = '\0', strcmp(target, want) == 0)) {
				found = strtol(e->d_name, NULL, 10);
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

static void check_reconciler(struct diag *d, const struct config *cfg)
{
	json_t *req = json_pack("{s:s}", "op", "ping"), *reply = NULL;
	int err = rpc_call(cfg->rec_socket, req, &reply, PING_TIMEOUT);
	char path[64], line[256];
	unsigned long long capeff = 0;
	long pid;
	bool have = false;
	FILE *f;

	json_decref(req);
	if (err < 0 || !json_is_true(json_object_get(reply, "ok"))) {
		add(d, FAIL, "reconciler", "systemctl start wgpilot-reconciler; see journalctl -u wgpilot-reconciler",
		    "no answer on %s: %s", cfg->rec_socket, err < 0 ? strerror(-err) : "error reply");
		add(d, FAIL, "capabilities", "start the reconciler (wgpilot-reconciler.service grants CAP_NET_ADMIN)",
		    "the reconciler is not running");
		json_decref(reply);
		return;
	}
	add(d, PASS, "reconciler", NULL, "answers on %s (version %s, backend %s)", cfg->rec_socket,
	    json_string_value(json_object_get(reply, "version")) ?: "?",
	    json_string_value(json_object_get(reply, "backend")) ?: "?");
	json_decref(reply);
	pid = socket_owner(cfg->rec_socket);
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	f = pid > 0 ? fopen(path, "re") : NULL;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "CapEff: %llx", &capeff) == 1)
			have = true;
	if (f)
		fclose(f);
	if (!have)
		add(d, PASS, "capabilities", NULL, "the reconciler answers; its process is not visible to this"
		    " user, so its capabilities were not inspected (run diagnose as root to see them)");
	else if (!(capeff & (1ULL << CAP_NET_ADMIN_BIT)))
		add(d, FAIL, "capabilities", "run it from wgpilot-reconciler.service (AmbientCapabilities=CAP_NET_ADMIN)",
		    "reconciler pid %ld lacks CAP_NET_ADMIN (CapEff %016llx)", pid, capeff);
	else if (capeff & ~(1ULL << CAP_NET_ADMIN_BIT))
		add(d, WARN, "capabilities", "set CapabilityBoundingSet=CAP_NET_ADMIN in its unit",
		    "reconciler pid %ld has CAP_NET_ADMIN and more (CapEff %016llx)", pid, capeff);
	else
		add(d, PASS, "capabilities", NULL, "reconciler pid %ld has CAP_NET_ADMIN only", pid);
}

/* Number of enabled networks that route (gateway mode, NAT or site-to-site). */
static int routing_networks(sqlite3 *db)
{
	sqlite3_stmt *st;
	int n = 0;

	if (db && db_prepare(db, "SELECT COUNT(*) FROM networks WHERE enabled = 1 AND (nat_enabled = 1"
			     " OR mode <> 'hub-routed' OR inter_peer_routing = 1)", &st) == 0) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	return n;
}

static void check_forwarding(struct diag *d, sqlite3 *db)
{
	char v4[16] = "?", v6[16] = "?";
	int need = routing_networks(db);
	const char *fix = "echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/99-wgpilot.conf && sysctl --system";

	read_line("/proc/sys/net/ipv4/ip_forward", v4, sizeof v4);
	read_line("/proc/sys/net/ipv6/conf/all/forwarding", v6, sizeof v6);
	if (strcmp(v4, "1") == 0)
		add(d, PASS, "ip_forward", NULL, "IPv4 forwarding on (IPv6 forwarding %s)", v6);
	else
		add(d, need ? FAIL : WARN, "ip_forward", fix, "IPv4 forwarding is off; %d enabled network%s"
		    " route%s traffic", need, need == 1 ? "" : "s", need == 1 ? "s" : "");
}

static void check_data_dir(struct diag *d, const struct config *cfg)
{
	struct passwd *pw = getpwnam(SERVICE_USER);
	struct statvfs vfs;
	struct stat sb;
	char fix[PATH_MAX + 64];

	if (stat(cfg->data_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		add(d, FAIL, "data_dir", "wgpilot init", "%s does not exist", cfg->data_dir);
		return;
	}
	if (sb.st_mode & 0027) {
		snprintf(fix, sizeof fix, "chmod 0750 %s", cfg->data_dir);
		add(d, WARN, "data_dir", fix, "%s has mode %04o (want 0750)", cfg->data_dir,
		    (unsigned)(sb.st_mode & 07777));
	} else if (pw && sb.st_uid != pw->pw_uid) {
		snprintf(fix, sizeof fix, "chown -R %s:%s %s", SERVICE_USER, SERVICE_USER, cfg->data_dir);
		add(d, WARN, "data_dir", fix, "%s is not owned by %s", cfg->data_dir, SERVICE_USER);
	} else if (access(cfg->data_dir, W_OK) != 0) {
		add(d, WARN, "data_dir", "run the jobs and diagnose as the service user (or root)",
		    "%s is not writable for this user", cfg->data_dir);
	} else if (statvfs(cfg->data_dir, &vfs) == 0
		   && (long long)vfs.f_bavail * (long long)vfs.f_frsize < MIN_FREE_BYTES) {
		add(d, WARN, "data_dir", "free disk space (or lower monitor.snapshot_retention)",
		    "only %lld MiB free", (long long)vfs.f_bavail * (long long)vfs.f_frsize >> 20);
	} else {
		add(d, PASS, "data_dir", NULL, "%s mode %04o, %lld MiB free", cfg->data_dir,
		    (unsigned)(sb.st_mode & 07777),
		    statvfs(cfg->data_dir, &vfs) == 0 ? (long long)vfs.f_bavail * (long long)vfs.f_frsize >> 20 : -1LL);
	}
}

static long long count_of(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long n = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return n;
}

/* Opens the DB read-only and checks it; *out stays open for later checks. */
static void check_database(struct diag *d, const struct config *cfg, sqlite3 **out)
{
	char wal[PATH_MAX + 8], result[256] = "";
	struct stat sb, ws;
	sqlite3_stmt *st;
	int err;

	*out = NULL;
	if ((err = db_open(cfg->db_path, DB_RDONLY, out)) < 0) {
		add(d, FAIL, "database", "wgpilot init (or restore a backup)", "cannot open %s: %s",
		    cfg->db_path, strerror(-err));
		return;
	}
	if (sqlite3_prepare_v2(*out, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			snprintf(result, sizeof result, "%s", (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	if (strcmp(result, "ok") != 0) {
		add(d, FAIL, "database", "restore the newest backup: wgpilot restore FILE",
		    "integrity check: %s", result[0] ? result : sqlite3_errmsg(*out));
		return;
	}
	err = db_schema_check(*out);
	if (err == -ESTALE) {
		add(d, FAIL, "database", "wgpilot migrate", "schema at %d of %d migrations",
		    db_schema_version(*out), db_migrations_count);
		return;
	}
	if (err < 0) {
		add(d, FAIL, "database", "upgrade wgpilot to the version that wrote the database",
		    err == -EPROTO ? "the database is newer than this program" : "schema unreadable");
		return;
	}
	stat(cfg->db_path, &sb);
	snprintf(wal, sizeof wal, "%s-wal", cfg->db_path);
	if (stat(wal, &ws) != 0)
		ws.st_size = 0;
	if (sb.st_mode & 0027) {
		char fix[PATH_MAX + 16];
		snprintf(fix, sizeof fix, "chmod 0640 %s", cfg->db_path);
		add(d, WARN, "database", fix, "%s has mode %04o (want 0640)", cfg->db_path,
		    (unsigned)(sb.st_mode & 07777));
		return;
	}
	add(d, PASS, "database", NULL, "integrity ok, schema current (%d migrations); %lld networks, %lld"
	    " peers, %lld snapshots; %lld KiB + WAL %lld KiB", db_migrations_count,
	    count_of(*out, "SELECT COUNT(*) FROM networks"), count_of(*out, "SELECT COUNT(*) FROM peers"),
	    count_of(*out, "SELECT COUNT(*) FROM peer_snapshots"), (long long)sb.st_size >> 10,
	    (long long)ws.st_size >> 10);
}

/* The certificate nginx serves, found as `wgpilot tls apply` (tlsjob.c)
 * and GET /api/settings/tls find it: certs/current once the job switched
 * it, else the pair tls.mode names (acme: certbot's live/ in certs/acme). */
static void check_tls(struct diag *d, const struct config *cfg)
{
	char crt[PATH_MAX + 64], key[PATH_MAX + 64], fix[PATH_MAX + 192], when[32], certs[PATH_MAX];
	char source[32], domain[256] = "", *host = NULL;
	bool acme = strcmp(cfg->tls_mode, "acme") == 0, current = false;
	struct tls_cert_info ci;
	sqlite3 *db;
	long long left;
	struct tm tm;
	int err;

	if (acme && cfg->acme_domain[0]) {
		snprintf(domain, sizeof domain, "%s", cfg->acme_domain);
	} else if (acme && db_open(cfg->db_path, DB_RDONLY, &db) == 0) {
		if (db_setting_get(db, "hostname", &host) >= 0 && host)
			snprintf(domain, sizeof domain, "%s", host);
		free(host);
		db_close(db);
	}
	tls_expected_pair(cfg->data_dir, cfg->tls_mode, cfg->tls_cert_file, cfg->tls_key_file, domain,
			  crt, key, sizeof crt, source, &current);
	tls_path(certs, sizeof certs, cfg->data_dir, TLS_CERTS_DIR, NULL);
	if ((err = tls_cert_info(crt, &ci)) < 0) {
		add(d, FAIL, "tls", strcmp(cfg->tls_mode, "manual") != 0 ? "wgpilot tls apply (as root)"
		    : "set tls.cert_file/tls.key_file to a readable certificate, then wgpilot tls apply",
		    "%s: %s", crt[0] ? crt : "tls.cert_file", err == -EINVAL ? "no readable certificate"
		    : strerror(-err));
		return;
	}
	left = ((long long)ci.not_after - (long long)time(NULL)) / 86400;
	gmtime_r(&ci.not_after, &tm);
	strftime(when, sizeof when, "%Y-%m-%d", &tm);
	snprintf(fix, sizeof fix, "wgpilot tls apply (as root) renews or replaces %s and reloads nginx", crt);
	if (ci.not_after < time(NULL))
		add(d, FAIL, "tls", fix, "%s expired on %s", crt, when);
	else if (left < CERT_WARN_DAYS)
		add(d, WARN, "tls", fix, "%s expires in %lld days (%s)", crt, left, when);
	else if (access(key, R_OK) == 0 && tls_key_matches(crt, key) == 0)
		add(d, FAIL, "tls", "use the key the certificate was issued for", "%s does not match %s", key, crt);
	else if (current && tls_reload_pending(certs) == 1)
		add(d, WARN, "tls", "wgpilot tls apply (as root) retries the reload; check that nginx runs",
		    "%s was switched to the %s certificate but nginx was not reloaded yet: it may "
		    "still serve the previous one", crt, source);
	else if (strcmp(source, cfg->tls_mode) != 0)
		add(d, WARN, "tls", acme ? "check that port 80 reaches this host for the domain, then "
		    "wgpilot tls apply (see certs/acme/logs)" : strcmp(cfg->tls_mode, "manual") == 0
		    ? "fix tls.cert_file/tls.key_file, then wgpilot tls apply" : "wgpilot tls apply (as root)",
		    "%s mode%s%s, but the %s certificate %s is served (valid until %s, "
		    "issuer \"%s\")", cfg->tls_mode, domain[0] ? " for " : "", domain, source, crt, when,
		    ci.issuer_cn);
	else
		add(d, PASS, "tls", NULL, "%s mode%s%s, %s%s valid until %s (%lld days), issuer \"%s\"",
		    cfg->tls_mode, domain[0] ? " for " : "", domain, crt, current ? " (served)" : "", when,
		    left, ci.issuer_cn);
}

static void check_cron(struct diag *d)
{
	struct stat sb;

	if (stat(WGP_CRON_FILE, &sb) == 0 && S_ISREG(sb.st_mode))
		add(d, PASS, "cron", NULL, "%s present", WGP_CRON_FILE);
	else
		add(d, WARN, "cron", "reinstall wgpilot: make install puts cron/wgpilot at " WGP_CRON_FILE,
		    "%s missing: no snapshots, compaction, expiry or gc", WGP_CRON_FILE);
}

static json_t *find_iface(json_t *ifaces, const char *name)
{
	json_t *it;
	size_t i;

	json_array_foreach(ifaces, i, it)
		if (strcmp(json_string_value(json_object_get(it, "name")) ?: "", name) == 0)
			return it;
	return NULL;
}

/* DB networks against the kernel, and WireGuard links the DB does not know. */
static void check_interfaces(struct diag *d, const struct config *cfg, sqlite3 *db)
{
	json_t *req = json_pack("{s:s}", "op", "status"), *st = NULL, *det = NULL, *it;
	sqlite3_stmt *q;
	long long now = (long long)time(NULL);
	size_t i;
	int n = 0;

	if (!db)
		return;
	if (rpc_call(cfg->rec_socket, req, &st, PING_TIMEOUT * 4) < 0
	    || !json_is_true(json_object_get(st, "ok"))) {
		json_decref(req);
		json_decref(st);
		add(d, WARN, "interfaces", "start the reconciler", "not compared: the reconciler does not answer");
		return;
	}
	json_decref(req);
	if (db_prepare(db, "SELECT n.interface, n.enabled, n.listen_port, (SELECT COUNT(*) FROM peers p"
		       " WHERE p.network_id = n.id AND p.enabled = 1) FROM networks n ORDER BY n.id", &q) == 0) {
		while (sqlite3_step(q) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(q, 0);
			bool enabled = sqlite3_column_int(q, 1);
			int port = sqlite3_column_int(q, 2), want = sqlite3_column_int(q, 3), have, online = 0;
			json_t *k = find_iface(json_object_get(st, "interfaces"), name), *p;
			char check[40];

			n++;
			snprintf(check, sizeof check, "interface %s", name);
			if (!enabled) {
				add(d, PASS, check, NULL, "disabled");
				continue;
			}
			if (!k) {
				add(d, FAIL, check, "wgpilot reconcile (and see journalctl -u wgpilot-reconciler)",
				    "enabled in the database but missing in the kernel");
				continue;
			}
			have = (int)json_array_size(json_object_get(k, "peers"));
			json_array_foreach(json_object_get(k, "peers"), i, p) {
				long long hs = json_integer_value(json_object_get(p, "last_handshake"));
				online += hs > 0 && now - hs < 180;
			}
			if (!json_is_true(json_object_get(k, "up")))
				add(d, FAIL, check, "wgpilot reconcile", "exists but is down");
			else if (have != want || json_integer_value(json_object_get(k, "listen_port")) != port)
				add(d, WARN, check, "wgpilot reconcile", "port %lld (database %d), %d peers in the"
				    " kernel, %d enabled in the database",
				    (long long)json_integer_value(json_object_get(k, "listen_port")), port, have, want);
			else
				add(d, PASS, check, NULL, "up, port %d, %d peers configured, %d online", port,
				    have, online);
		}
		sqlite3_finalize(q);
	}
	req = json_pack("{s:s}", "op", "detect");
	if (rpc_call(cfg->rec_socket, req, &det, PING_TIMEOUT) == 0)
		json_array_foreach(json_object_get(det, "interfaces"), i, it) {
			const char *name = json_string_value(json_object_get(it, "name"));
			sqlite3_stmt *f;
			bool known = false;

			if (!name || db_prepare(db, "SELECT 1 FROM networks WHERE interface = ?", &f) < 0)
				continue;
			sqlite3_bind_text(f, 1, name, -1, SQLITE_STATIC);
			known = sqlite3_step(f) == SQLITE_ROW;
			sqlite3_finalize(f);
			if (!known)
				add(d, WARN, "orphan interface", "import it (setup wizard) or remove it: ip link del <name>",
				    "%s is a WireGuard interface the database does not know (left alone)", name);
		}
	json_decref(req);
	json_decref(det);
	json_decref(st);
	if (n == 0)
		add(d, PASS, "interfaces", NULL, "no networks configured yet");
}

static void check_errors(struct diag *d, sqlite3 *db)
{
	sqlite3_stmt *st;
	long long n = 0;
	char last[160] = "";

	if (!db || db_prepare(db, "SELECT COUNT(*), (SELECT msg FROM log_entries WHERE level = 'ERROR'"
			      " ORDER BY id DESC LIMIT 1) FROM log_entries WHERE level = 'ERROR'"
			      " AND ts > unixepoch() - 86400", &st) < 0)
		return;
	if (sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
		if (sqlite3_column_text(st, 1))
			snprintf(last, sizeof last, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	if (n)
		add(d, WARN, "errors", "see GET /api/debug/logs or journalctl -u wgpilot-api",
		    "%lld ERROR lines in the last 24 h, newest: %s", n, last);
	else
		add(d, PASS, "errors", NULL, "no ERROR lines stored in the last 24 h");
}

int cmd_diagnose(struct cli *c, int as_json)
{
	struct diag d = { .checks = json_array(), .as_json = as_json != 0 };
	sqlite3 *db = NULL;

	check_system(&d);
	check_wireguard(&d, &c->cfg);
	check_reconciler(&d, &c->cfg);
	check_data_dir(&d, &c->cfg);
	check_database(&d, &c->cfg, &db);
	check_forwarding(&d, db);
	check_tls(&d, &c->cfg);
	check_cron(&d);
	check_interfaces(&d, &c->cfg, db);
	check_errors(&d, db);
	db_close(db);
	if (as_json) {
		json_t *o = json_pack("{s:s,s:o,s:{s:i,s:i,s:i}}", "version", PACKAGE_VERSION, "checks",
				      d.checks, "summary", "pass", d.count[PASS], "warn", d.count[WARN],
				      "fail", d.count[FAIL]);
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		printf("summary: %d PASS, %d WARN, %d FAIL\n", d.count[PASS], d.count[WARN], d.count[FAIL]);
		json_decref(d.checks);
	}
	return d.count[FAIL] ? 1 : 0;
}
