/* SPDX-License-Identifier: MIT */
/*
 * Maintenance commands: `wgpilot expire` (peers.md §6), `wgpilot gc`
 * (operations.md §4), `wgpilot backup` and `wgpilot restore` (§2, §9).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "cli.h"
#include "db.h"
#include "keys.h"
#include "log.h"
#include "rpc.h"

#define LOGIN_WINDOW 600        /* security.md §7: attempts older than 10 min are dead */
#define LOG_KEEP 500            /* monitoring.md §5 */
#define PUBIP_EVERY 86400
#define RPC_TIMEOUT 10000

/* ------------------------------------------------------------------------ */
/* expire                                                                   */

struct expired {
	long long id, network_id, expires_at;
	bool net_enabled;
	char name[72];
};

static int expired_list(sqlite3 *db, long long now, struct expired **out, size_t *n)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc, err;

	*out = NULL;
	*n = 0;
	if ((err = db_prepare(db, "SELECT p.id, p.network_id, p.expires_at, n.enabled, p.name"
			      " FROM peers p JOIN networks n ON n.id = p.network_id"
			      " WHERE p.enabled = 1 AND p.expires_at IS NOT NULL AND p.expires_at < ?"
			      " ORDER BY p.id", &st)) < 0)
		return err;
	sqlite3_bind_int64(st, 1, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			void *v = realloc(*out, (cap = cap ? cap * 2 : 16) * sizeof **out);
			if (!v) {
				rc = SQLITE_NOMEM;
				break;
			}
			*out = v;
		}
		struct expired *e = &(*out)[(*n)++];
		e->id = sqlite3_column_int64(st, 0);
		e->network_id = sqlite3_column_int64(st, 1);
		e->expires_at = sqlite3_column_int64(st, 2);
		e->net_enabled = sqlite3_column_int(st, 3) != 0;
		snprintf(e->name, sizeof e->name, "%s", sqlite3_column_text(st, 4)
			 ? (const char *)sqlite3_column_text(st, 4) : "");
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Disables one peer and writes its audit row in one transaction.
 * 1 disabled, 0 someone else changed it first, -errno. */
static int expire_one(struct job *j, const struct expired *e, long long now)
{
	char res[40];
	sqlite3_stmt *st;
	int err, changed;

	if ((err = db_exec(j->db, "BEGIN IMMEDIATE")) < 0)
		return err;
	if ((err = db_prepare(j->db, "UPDATE peers SET enabled = 0, updated_at = unixepoch()"
			      " WHERE id = ? AND enabled = 1 AND expires_at < ?", &st)) < 0)
		goto fail;
	sqlite3_bind_int64(st, 1, e->id);
	sqlite3_bind_int64(st, 2, now);
	err = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	changed = sqlite3_changes(j->db);
	if (err)
		goto fail;
	snprintf(res, sizeof res, "peer:%lld", e->id);
	if (changed && (err = job_audit(j->db, "peer.expired", res, json_pack("{s:s,s:I,s:I}",
				"name", e->name, "network_id", (json_int_t)e->network_id,
				"expires_at", (json_int_t)e->expires_at), j->task_id)) < 0)
		goto fail;
	if ((err = db_exec(j->db, "COMMIT")) < 0)
		goto fail;
	return changed ? 1 : 0;
fail:
	db_exec(j->db, "ROLLBACK");
	return err;
}

/* Takes the disabled peer out of the kernel; the reconciler's periodic
 * resync does it anyway, so a failure is a warning. */
static bool apply_peer(struct cli *c, struct job *j, const struct expired *e)
{
	json_t *req = json_pack("{s:s,s:I,s:I,s:s}", "op", "apply_peer", "network_id",
				(json_int_t)e->network_id, "peer_id", (json_int_t)e->id,
				"request_id", j->task_id), *reply = NULL;
	int err = rpc_call(c->cfg.rec_socket, req, &reply, RPC_TIMEOUT);
	bool ok = err == 0 && json_is_true(json_object_get(reply, "ok"));

	if (!ok)
		log_warn("expiry", "peer_expired_apply_failed", json_pack("{s:s,s:I,s:s,s:s}",
			 "task_id", j->task_id, "peer_id", (json_int_t)e->id, "error", err < 0
			 ? strerror(-err) : json_string_value(json_object_get(reply, "message")) ?: "refused",
			 "hint", "the reconciler removes the peer at its next resync"));
	json_decref(req);
	json_decref(reply);
	return ok;
}

int cmd_expire(struct cli *c)
{
	struct job j;
	struct expired *v = NULL;
	size_t n = 0, done = 0, applied = 0;
	long long now = (long long)time(NULL);
	int got = job_begin(c, &j, "expiry", "expiry"), err = 0, r;

	if (got <= 0) {
		job_end(&j);
		return got == 0 ? 0 : 1;
	}
	if ((err = expired_list(j.db, now, &v, &n)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if ((r = expire_one(&j, &v[i], now)) < 0) {
			err = r;
			log_error("expiry", "peer_expire_failed", json_pack("{s:s,s:I,s:s}", "task_id",
				  j.task_id, "peer_id", (json_int_t)v[i].id, "error", strerror(-r)));
			continue;
		}
		if (r == 0)
			continue;
		done++;
		log_info("expiry", "peer_expired_disabled", json_pack("{s:s,s:I,s:I,s:s,s:I}", "task_id",
			 j.task_id, "peer_id", (json_int_t)v[i].id, "network_id",
			 (json_int_t)v[i].network_id, "peer", v[i].name, "expires_at",
			 (json_int_t)v[i].expires_at));
		if (v[i].net_enabled && apply_peer(c, &j, &v[i]))
			applied++;
	}
out:
	if (err < 0 && n == 0)
		log_error("expiry", "expiry_check_failed", json_pack("{s:s,s:s}", "task_id", j.task_id,
			  "error", strerror(-err)));
	log_info("expiry", "expiry_check_complete", json_pack("{s:s,s:i,s:i,s:f}", "task_id", j.task_id,
		 "expired", (int)done, "removed_from_kernel", (int)applied,
		 "duration_ms", job_elapsed(&j) * 1000.0));
	free(v);
	job_end(&j);
	return err < 0 ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* gc                                                                       */

/* Once a day (the stamp file's mtime), re-detects the public address. */
static void refresh_public_ip(struct cli *c, struct job *j)
{
	char stamp[PATH_MAX + 32], ip[INET6_ADDRSTRLEN], *old = NULL;
	struct stat st;
	bool changed;
	int fd;

	snprintf(stamp, sizeof stamp, "%s/.public-ip-checked", c->cfg.data_dir);
	if (stat(stamp, &st) == 0 && time(NULL) - st.st_mtime < PUBIP_EVERY)
		return;
	pubip_detect(ip);
	if (!ip[0]) {
		log_warn("main", "public_ip_undetected", json_pack("{s:s,s:s}", "task_id", j->task_id,
			 "hint", "set public_ip in the settings"));
	} else {
		changed = db_setting_get(j->db, "detected_public_ip", &old) != 1 || strcmp(old, ip) != 0;
		if (changed && db_setting_set(j->db, "detected_public_ip", ip) < 0)
			return;
		log_info("main", "public_ip_refreshed", json_pack("{s:s,s:s,s:b}", "task_id", j->task_id,
			 "detected_public_ip", ip, "changed", changed));
		free(old);
	}
	fd = open(stamp, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd >= 0) {
		futimens(fd, NULL);
		close(fd);
	}
}

int cmd_gc(struct cli *c)
{
	struct job j;
	long long now = (long long)time(NULL), attempts = 0, logs = 0;
	sqlite3_stmt *st = NULL;
	int got = job_begin(c, &j, "gc", "main"), err;

	if (got <= 0) {
		job_end(&j);
		return got == 0 ? 0 : 1;
	}
	if ((err = db_exec(j.db, "BEGIN IMMEDIATE")) < 0)
		goto out;
	if ((err = db_prepare(j.db, "DELETE FROM login_attempts WHERE ts < ?", &st)) < 0)
		goto fail;
	sqlite3_bind_int64(st, 1, now - LOGIN_WINDOW);
	err = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	attempts = sqlite3_changes(j.db);
	if (err < 0)
		goto fail;
	if ((err = db_prepare(j.db, "DELETE FROM log_entries WHERE id NOT IN"
			      " (SELECT id FROM log_entries ORDER BY id DESC LIMIT ?)", &st)) < 0)
		goto fail;
	sqlite3_bind_int(st, 1, LOG_KEEP);
	err = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	logs = sqlite3_changes(j.db);
	if (err < 0 || (err = db_exec(j.db, "COMMIT")) < 0)
		goto fail;
	refresh_public_ip(c, &j);
	log_info("main", "gc_complete", json_pack("{s:s,s:I,s:I,s:f}", "task_id", j.task_id,
		 "login_attempts_purged", (json_int_t)attempts, "log_entries_trimmed", (json_int_t)logs,
		 "duration_ms", job_elapsed(&j) * 1000.0));
	job_end(&j);
	return 0;
fail:
	db_exec(j.db, "ROLLBACK");
out:
	log_error("main", "gc_failed", json_pack("{s:s,s:s}", "task_id", j.task_id, "error", strerror(-err)));
	job_end(&j);
	return 1;
}

/* ------------------------------------------------------------------------ */
/* backup                                                                   */

int cmd_backup(struct cli *c, const char *output)
{
	char path[PATH_MAX + 64], task[48];
	time_t now = time(NULL);
	sqlite3_stmt *st;
	sqlite3 *db = NULL;
	struct stat sb;
	struct tm tm;
	mode_t old;
	int err, rc;

	if (output && *output) {
		snprintf(path, sizeof path, "%s", output);
	} else {
		gmtime_r(&now, &tm);
		snprintf(path, sizeof path, "%s/", c->cfg.data_dir);
		strftime(path + strlen(path), sizeof path - strlen(path),
			 "wgpilot-backup-%Y%m%d-%H%M%S.db", &tm);
	}
	if (lstat(path, &sb) == 0) {
		fprintf(stderr, "wgpilot: %s already exists; choose another --output\n", path);
		return 1;
	}
	if ((err = db_open(c->cfg.db_path, DB_RDWR, &db)) < 0) {
		fprintf(stderr, "wgpilot: cannot open %s: %s\n", c->cfg.db_path, strerror(-err));
		return 1;
	}
	old = umask(027);       /* the copy holds everything the DB does: 0640 */
	rc = db_prepare(db, "VACUUM INTO ?", &st) < 0 ? SQLITE_ERROR : SQLITE_OK;
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			fprintf(stderr, "wgpilot: backup to %s failed: %s\n", path, sqlite3_errmsg(db));
		sqlite3_finalize(st);
	}
	umask(old);
	if (rc != SQLITE_DONE) {
		db_close(db);
		return 1;
	}
	chmod(path, 0640);
	snprintf(task, sizeof task, "task_backup_%lld", (long long)now);
	if (stat(path, &sb) != 0)
		sb.st_size = 0;
	log_info("main", "backup_created", json_pack("{s:s,s:s,s:I}", "task_id", task, "file", path,
		 "size", (json_int_t)sb.st_size));
	job_audit(db, "backup.created", "system", json_pack("{s:s,s:I,s:s}", "file", path,
		  "size", (json_int_t)sb.st_size, "via", "cli"), task);
	db_close(db);
	printf("Backup created: %s\n", path);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* restore                                                                  */

/* Every stored secret opens with this machine's master key. 0 yes, 1 a
 * secret does not (why set), -1 the key file is not readable (warned). */
static int secrets_open(const struct config *cfg, sqlite3 *t, char *why, size_t whysz)
{
	static const char sql[] =
		"SELECT 'network', id, private_key FROM networks"
		" UNION ALL SELECT 'peer', id, private_key FROM peers"
		" UNION ALL SELECT 'peer', id, preshared_key FROM peers";
	struct master_keys mk;
	sqlite3_stmt *st;
	int ret = 0;

	if (crypto_init() < 0 || master_load(cfg->master_key_file, &mk) < 0) {
		fprintf(stderr, "wgpilot: warning: cannot read %s: the keys in the backup are not checked\n",
			cfg->master_key_file);
		return -1;
	}
	if (sqlite3_prepare_v2(t, sql, -1, &st, NULL) != SQLITE_OK) {
		master_wipe(&mk);
		snprintf(why, whysz, "the networks and peers tables cannot be read");
		return 1;
	}
	while (ret == 0 && sqlite3_step(st) == SQLITE_ROW) {
		const char *stored = (const char *)sqlite3_column_text(st, 2);
		char *plain = NULL;

		if (!stored || !stored[0])
			continue;
		if (secret_open(mk.enc, stored, &plain) < 0) {
			snprintf(why, whysz, "the keys of %s %lld do not decrypt with the master key %.200s"
				 " (a backup of another installation?)", sqlite3_column_text(st, 0),
				 (long long)sqlite3_column_int64(st, 1), cfg->master_key_file);
			ret = 1;
		}
		if (plain) {
			sodium_memzero(plain, strlen(plain));
			free(plain);
		}
	}
	sqlite3_finalize(st);
	master_wipe(&mk);
	return ret;
}

/* Validates (and migrates) the private copy at path. 0 usable, else why is
 * set. *migrated gets the number of migrations applied. */
static int restore_validate(struct cli *c, const char *path, int *migrated, char *why, size_t whysz)
{
	sqlite3 *t;
	int ret = -1;

	if (db_backup_open(path, &t, migrated, why, whysz) < 0)
		return -1;
	if (secrets_open(&c->cfg, t, why, whysz) == 1)
		goto out;
	ret = 0;
out:
	sqlite3_close(t);
	return ret;
}

/* Copies src into the open DB dst in one write transaction (the online
 * backup API, so running services see either the old or the new DB). */
static int copy_into(sqlite3 *dst, const char *src_path)
{
	sqlite3 *src = NULL;
	sqlite3_backup *bk;
	int rc = SQLITE_ERROR;

	if (sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		for (int attempt = 0; attempt < 10; attempt++) {
			if (!(bk = sqlite3_backup_init(dst, "main", src, "main")))
				break;
			rc = sqlite3_backup_step(bk, -1);
			sqlite3_backup_finish(bk);
			if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
				break;
			usleep(200000);
		}
	}
	sqlite3_close(src);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* The live DB after the copy: integrity ok and the schema current. */
static bool live_ok(sqlite3 *db)
{
	char text[64];

	return db_query_text(db, "PRAGMA integrity_check", text, sizeof text) == SQLITE_OK
	       && strcmp(text, "ok") == 0 && db_schema_check(db) == 0;
}

/* Copies file to a private temp file in the data dir. 0 or -errno. */
static int private_copy(const char *file, char *tmp, size_t tmpsz, const char *dir)
{
	char buf[65536];
	int in, out, err = 0;
	ssize_t n;

	snprintf(tmp, tmpsz, "%s/.restore-XXXXXX", dir);
	if ((in = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if ((out = mkstemp(tmp)) < 0) {
		err = -errno;
		close(in);
		return err;
	}
	fchmod(out, 0640);
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n) {
			err = -EIO;
			break;
		}
	if (n < 0)
		err = -errno;
	if (fsync(out) < 0 && !err)
		err = -errno;
	close(in);
	close(out);
	return err;
}

int cmd_restore(struct cli *c, const char *file)
{
	char tmp[PATH_MAX + 32], keep[PATH_MAX + 64], why[512] = "", ps[32], sql[64], task[48];
	struct stat sb;
	sqlite3 *live = NULL, *t = NULL;
	int err, migrated = 0, ret = 1;

	if (stat(file, &sb) != 0) {
		fprintf(stderr, "wgpilot: %s: %s\n", file, strerror(errno));
		return 1;
	}
	if (!S_ISREG(sb.st_mode)) {
		fprintf(stderr, "wgpilot: %s: not a regular file\n", file);
		return 1;
	}
	if ((err = private_copy(file, tmp, sizeof tmp, c->cfg.data_dir)) < 0) {
		fprintf(stderr, "wgpilot: cannot copy %s into %s: %s\n", file, c->cfg.data_dir, strerror(-err));
		unlink(tmp);
		return 1;
	}
	keep[0] = '\0';
	if (restore_validate(c, tmp, &migrated, why, sizeof why) < 0) {
		fprintf(stderr, "wgpilot: refusing to restore %s: %s\nThe database was not changed.\n",
			file, why);
		goto out;
	}
	if ((err = db_open(c->cfg.db_path, DB_CREATE, &live)) < 0) {
		fprintf(stderr, "wgpilot: cannot open %s: %s\n", c->cfg.db_path, strerror(-err));
		goto out;
	}
	/* The backup API cannot change the page size of a WAL database: give
	 * the copy the live one's. */
	if (db_query_text(live, "PRAGMA page_size", ps, sizeof ps) == SQLITE_OK
	    && sqlite3_open_v2(tmp, &t, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
		snprintf(sql, sizeof sql, "PRAGMA page_size=%d", atoi(ps));
		if (sqlite3_exec(t, sql, NULL, NULL, NULL) != SQLITE_OK
		    || sqlite3_exec(t, "VACUUM", NULL, NULL, NULL) != SQLITE_OK)
			fprintf(stderr, "wgpilot: warning: cannot adjust the page size: %s\n", sqlite3_errmsg(t));
	}
	sqlite3_close(t);
	/* The old DB stays until the new one is verified. */
	snprintf(keep, sizeof keep, "%s.pre-restore-%lld", c->cfg.db_path, (long long)time(NULL));
	{
		sqlite3_stmt *st;
		int rc = SQLITE_ERROR;

		if (db_prepare(live, "VACUUM INTO ?", &st) == 0) {
			sqlite3_bind_text(st, 1, keep, -1, SQLITE_STATIC);
			rc = sqlite3_step(st);
			sqlite3_finalize(st);
		}
		if (rc != SQLITE_DONE) {
			fprintf(stderr, "wgpilot: cannot keep a copy of the current database: %s\n",
				sqlite3_errmsg(live));
			keep[0] = '\0';
			goto out;
		}
		chmod(keep, 0640);
	}
	if (copy_into(live, tmp) < 0 || !live_ok(live)) {
		fprintf(stderr, "wgpilot: restoring %s failed: %s; putting the previous database back\n",
			file, sqlite3_errmsg(live));
		if (copy_into(live, keep) < 0 || !live_ok(live)) {
			fprintf(stderr, "wgpilot: could not put it back: the previous database is kept at %s\n", keep);
			keep[0] = '\0';
		}
		goto out;
	}
	sqlite3_exec(live, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	snprintf(task, sizeof task, "task_restore_%lld", (long long)time(NULL));
	log_info("main", "backup_restored", json_pack("{s:s,s:s,s:i}", "task_id", task, "file", file,
		 "migrations_applied", migrated));
	job_audit(live, "backup.restored", "system", json_pack("{s:s,s:i,s:s}", "file", file,
		  "migrations_applied", migrated, "via", "cli"), task);
	printf("Database restored from %s\n", file);
	if (migrated)
		printf("(%d migration%s applied to the restored data)\n", migrated, migrated == 1 ? "" : "s");
	printf("Restart the services to use it: systemctl restart wgpilot-reconciler wgpilot-api\n");
	ret = 0;
out:
	db_close(live);
	unlink(tmp);
	if (keep[0])
		unlink(keep);
	return ret;
}
