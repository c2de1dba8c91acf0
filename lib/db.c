/* SPDX-License-Identifier: MIT */
/* Opening the DB, migrations and settings; see db.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "db.h"
#include "log.h"

int db_rc_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK: return 0;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_CANTOPEN: return -ENOENT;
	case SQLITE_PERM:
	case SQLITE_READONLY:
	case SQLITE_AUTH: return -EACCES;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_CONSTRAINT: return -EEXIST;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB: return -EBADMSG;
	default: return -EIO;
	}
}

void db_log_error(sqlite3 *db, const char *op)
{
	log_error("db", "db_error", json_pack("{s:s,s:s,s:i}", "operation", op,
					       "error", sqlite3_errmsg(db),
					       "error_code", sqlite3_extended_errcode(db)));
}

int db_exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK) {
		db_log_error(db, sql);
		return db_rc_errno(rc);
	}
	return 0;
}

/* Creates the file 0640 before SQLite does, so it never gets the umask's mode. */
static int precreate(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int db_open(const char *path, int flags, sqlite3 **out)
{
	sqlite3 *db = NULL;
	int oflags = SQLITE_OPEN_NOMUTEX;
	int rc, err;

	*out = NULL;
	if (flags & DB_CREATE) {
		if ((err = precreate(path)) < 0)
			return err;
		oflags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	} else if (flags & DB_RDWR) {
		oflags |= SQLITE_OPEN_READWRITE;
	} else {
		oflags |= SQLITE_OPEN_READONLY;
	}
	if (access(path, F_OK) != 0)
		return -ENOENT;
	rc = sqlite3_open_v2(path, &db, oflags, NULL);
	if (rc != SQLITE_OK) {
		err = db_rc_errno(rc);
		sqlite3_close(db);
		return err;
	}
	sqlite3_busy_timeout(db, 5000);
	sqlite3_extended_result_codes(db, 1);
	if (flags & (DB_RDWR | DB_CREATE)) {
		/* WAL with synchronous=NORMAL: a commit is an append to the WAL,
		 * synced at checkpoints; the DB can never be corrupted by a crash,
		 * at worst the last commits before a power loss are lost. */
		if ((err = db_exec(db, "PRAGMA journal_mode=WAL")) < 0
		    || (err = db_exec(db, "PRAGMA synchronous=NORMAL")) < 0)
			goto fail;
	}
	if ((err = db_exec(db, "PRAGMA foreign_keys=ON")) < 0)
		goto fail;
	*out = db;
	return 0;
fail:
	sqlite3_close(db);
	return err;
}

/*
 * The statement cache of db_cached/db_finish: per thread (a connection is
 * used by one thread at a time here), a few slots keyed by connection and
 * SQL text. A slot is busy from db_cached to db_finish; a second use of the
 * same text while it is busy (a nested query) gets a statement of its own.
 * Preparing was a third of SQLite's share of a list request.
 */
enum { STMT_SLOTS = 48 };
struct stmt_slot {
	sqlite3 *db;
	sqlite3_stmt *st;
	const char *key;        /* the caller's pointer: the first, cheap test */
	unsigned long long used;        /* LRU clock */
	bool busy;
};
static _Thread_local struct stmt_slot slots[STMT_SLOTS];
static _Thread_local unsigned long long stmt_clock;

static void slots_drop(sqlite3 *db)
{
	for (int i = 0; i < STMT_SLOTS; i++)
		if (slots[i].db == db && slots[i].st) {
			sqlite3_finalize(slots[i].st);
			slots[i] = (struct stmt_slot){ 0 };
		}
}

int db_cached(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	struct stmt_slot *free_slot = NULL, *s;
	int err;

	for (int i = 0; i < STMT_SLOTS; i++) {
		s = &slots[i];
		if (!s->st) {
			if (!free_slot || free_slot->st)
				free_slot = s;  /* an empty slot beats any used one */
			continue;
		}
		if (s->db == db && !s->busy && s->key == sql && strcmp(sqlite3_sql(s->st), sql) == 0) {
			s->busy = true;
			s->used = ++stmt_clock;
			*st = s->st;
			return 0;
		}
		if (!s->busy && (!free_slot || (free_slot->st && s->used < free_slot->used)))
			free_slot = s;  /* an empty slot, else the least recently used idle one */
	}
	if ((err = db_prepare(db, sql, st)) < 0 || !free_slot)
		return err;
	if (free_slot->st)
		sqlite3_finalize(free_slot->st);
	*free_slot = (struct stmt_slot){ db, *st, sql, ++stmt_clock, true };
	return 0;
}

void db_finish(sqlite3_stmt *st)
{
	if (!st)
		return;
	for (int i = 0; i < STMT_SLOTS; i++)
		if (slots[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			slots[i].busy = false;
			return;
		}
	sqlite3_finalize(st);
}

void db_close(sqlite3 *db)
{
	slots_drop(db);
	sqlite3_close_v2(db);
}

/* The text between "-- +goose Up" and "-- +goose Down", or the whole file. */
static char *migration_up_sql(const char *sql)
{
	const char *up = strstr(sql, "-- +goose Up");
	const char *down;

	if (!up)
		return strdup(sql);
	up += strlen("-- +goose Up");
	down = strstr(up, "-- +goose Down");
	return strndup(up, down ? (size_t)(down - up) : strlen(up));
}

static int applied_set(sqlite3 *db, char ***names, int *n)
{
	sqlite3_stmt *st;
	int rc, cap = 0, err = 0;

	*names = NULL;
	*n = 0;
	rc = sqlite3_prepare_v2(db, "SELECT filename FROM _migrations ORDER BY filename", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_rc_errno(rc);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			char **p = realloc(*names, sizeof(char *) * (size_t)(cap = cap ? cap * 2 : 8));
			if (!p) {
				err = -ENOMEM;
				break;
			}
			*names = p;
		}
		(*names)[(*n)++] = strdup((const char *)sqlite3_column_text(st, 0));
	}
	if (!err && rc != SQLITE_DONE)
		err = db_rc_errno(rc);
	sqlite3_finalize(st);
	return err;
}

static void free_names(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int known_migration(const char *name)
{
	for (int i = 0; i < db_migrations_count; i++)
		if (strcmp(db_migrations[i].filename, name) == 0)
			return 1;
	return 0;
}

static int is_applied(char **names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

static int apply_one(sqlite3 *db, const struct db_migration *m)
{
	sqlite3_stmt *st = NULL;
	char *sql = migration_up_sql(m->sql);
	int err;

	if (!sql)
		return -ENOMEM;
	if ((err = db_exec(db, "BEGIN IMMEDIATE")) < 0)
		goto out;
	if ((err = db_exec(db, sql)) < 0)
		goto rollback;
	if (sqlite3_prepare_v2(db, "INSERT INTO _migrations(filename) VALUES (?)", -1, &st, NULL) != SQLITE_OK
	    || sqlite3_bind_text(st, 1, m->filename, -1, SQLITE_STATIC) != SQLITE_OK
	    || sqlite3_step(st) != SQLITE_DONE) {
		db_log_error(db, "record migration");
		err = -EIO;
		goto rollback;
	}
	if ((err = db_exec(db, "COMMIT")) < 0)
		goto rollback;
	log_info("db", "migration_applied", json_pack("{s:s}", "migration", m->filename));
	goto out;
rollback:
	db_exec(db, "ROLLBACK");
	log_error("db", "migration_failed", json_pack("{s:s}", "migration", m->filename));
out:
	sqlite3_finalize(st);
	free(sql);
	return err;
}

int db_migrate(sqlite3 *db, int *applied)
{
	char **names = NULL;
	int n = 0, err, count = 0;

	if (applied)
		*applied = 0;
	err = db_exec(db, "CREATE TABLE IF NOT EXISTS _migrations ("
			  "filename TEXT PRIMARY KEY, "
			  "applied_at INTEGER NOT NULL DEFAULT (unixepoch()))");
	if (err < 0)
		return err;
	if ((err = applied_set(db, &names, &n)) < 0)
		goto out;
	for (int i = 0; i < n; i++) {
		if (names[i] && !known_migration(names[i])) {
			log_error("db", "database_newer_than_program",
				  json_pack("{s:s}", "migration", names[i]));
			err = -EPROTO;
			goto out;
		}
	}
	for (int i = 0; i < db_migrations_count; i++) {
		const struct db_migration *m = &db_migrations[i];

		if (is_applied(names, n, m->filename)) {
			log_debug("db", "migration_skipped", json_pack("{s:s}", "migration", m->filename));
			continue;
		}
		if ((err = apply_one(db, m)) < 0)
			goto out;
		count++;
	}
	if (applied)
		*applied = count;
out:
	free_names(names, n);
	return err;
}

int db_schema_check(sqlite3 *db)
{
	char **names = NULL;
	int n = 0, err, missing = 0;

	if ((err = applied_set(db, &names, &n)) < 0)
		return err == -EIO ? -ESTALE : err;    /* no _migrations table yet */
	for (int i = 0; i < n; i++)
		if (names[i] && !known_migration(names[i]))
			err = -EPROTO;
	for (int i = 0; !err && i < db_migrations_count; i++)
		if (!is_applied(names, n, db_migrations[i].filename))
			missing = 1;
	free_names(names, n);
	if (err)
		return err;
	return missing ? -ESTALE : 0;
}

int db_schema_version(sqlite3 *db)
{
	char **names = NULL;
	int n = 0, err = applied_set(db, &names, &n);

	free_names(names, n);
	return err < 0 ? err : n;
}

int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);

	if (rc != SQLITE_OK) {
		db_log_error(db, sql);
		return db_rc_errno(rc);
	}
	return 0;
}

int db_setting_get(sqlite3 *db, const char *key, char **val)
{
	sqlite3_stmt *st;
	int rc, err;

	*val = NULL;
	if ((err = db_cached(db, "SELECT value FROM settings WHERE key = ?", &st)) < 0)
		return err;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*val = strdup((const char *)sqlite3_column_text(st, 0));
		err = *val ? 1 : -ENOMEM;
	} else {
		err = rc == SQLITE_DONE ? 0 : db_rc_errno(rc);
	}
	db_finish(st);
	return err;
}

bool db_setting_true(sqlite3 *db, const char *key)
{
	char *v = NULL;
	bool t = db_setting_get(db, key, &v) == 1 && strcmp(v, "true") == 0;

	free(v);
	return t;
}

static int exec_bound(sqlite3 *db, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st;
	int rc, err;

	if ((err = db_prepare(db, sql, &st)) < 0)
		return err;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		db_log_error(db, sql);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_rc_errno(rc);
}

int db_setting_set(sqlite3 *db, const char *key, const char *val)
{
	return exec_bound(db, "INSERT INTO settings(key, value) VALUES (?, ?) "
			      "ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, val);
}

int db_setting_del(sqlite3 *db, const char *key)
{
	return exec_bound(db, "DELETE FROM settings WHERE key = ?", key, NULL);
}

const char *db_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

void db_col_copy(char *dst, size_t n, sqlite3_stmt *st, int i)
{
	snprintf(dst, n, "%s", db_col_text(st, i));
}

int db_query_text(sqlite3 *db, const char *sql, char *out, size_t outsz)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	out[0] = '\0';
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, outsz, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int db_backup_open(const char *path, sqlite3 **out, int *migrated, char *why, size_t whysz)
{
	static const char magic[16] = "SQLite format 3";
	char head[16], text[512];
	sqlite3 *t = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;
	ssize_t got = fd >= 0 ? read(fd, head, sizeof head) : -1;

	*out = NULL;
	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)sizeof head || memcmp(head, magic, sizeof magic) != 0) {
		snprintf(why, whysz, "not an SQLite database");
		return -1;
	}
	if (sqlite3_open_v2(path, &t, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(why, whysz, "cannot open the database: %s", t ? sqlite3_errmsg(t) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(t, 1);
	/* The schema comes from the file: no functions with side effects in it. */
	sqlite3_db_config(t, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(t, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if ((err = db_query_text(t, "PRAGMA journal_mode=DELETE", text, sizeof text)) != SQLITE_OK
	    || (err = db_query_text(t, "PRAGMA integrity_check", text, sizeof text)) != SQLITE_OK) {
		snprintf(why, whysz, "not a valid SQLite database: %s", sqlite3_errstr(err));
		goto fail;
	}
	if (strcmp(text, "ok") != 0) {
		snprintf(why, whysz, "integrity check failed: %.200s", text);
		goto fail;
	}
	if (db_query_text(t, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_migrations'",
			  text, sizeof text) != SQLITE_OK || !text[0]) {
		snprintf(why, whysz, "not a wgpilot database (no _migrations table)");
		goto fail;
	}
	err = db_schema_check(t);
	if (err == -EPROTO) {
		snprintf(why, whysz, "written by a newer wgpilot (its schema holds migrations this "
			 "version does not know); upgrade wgpilot first");
		goto fail;
	}
	if (err == -ESTALE && db_migrate(t, migrated) < 0) {
		snprintf(why, whysz, "its schema cannot be migrated to this version");
		goto fail;
	}
	if (db_schema_check(t) != 0) {
		snprintf(why, whysz, "its schema is not usable");
		goto fail;
	}
	if (db_query_text(t, "PRAGMA foreign_key_check", text, sizeof text) != SQLITE_OK || text[0]) {
		snprintf(why, whysz, "foreign key violations%s%.64s", text[0] ? " in table " : "", text);
		goto fail;
	}
	*out = t;
	return 0;
fail:
	sqlite3_close(t);
	return -1;
}

int db_version(sqlite3 *db, struct db_version *v)
{
	sqlite3_stmt *st;
	int rc, err = db_cached(db, "PRAGMA data_version", &st);

	if (err < 0)
		return err;
	rc = sqlite3_step(st);
	v->others = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	db_finish(st);
	v->own = sqlite3_total_changes64(db);
	return rc == SQLITE_ROW ? 0 : db_rc_errno(rc);
}
