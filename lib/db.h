/* SPDX-License-Identifier: MIT */
/*
 * SQLite access shared by every program: opening with the required pragmas,
 * the embedded migrations of db/NNN_*.sql files, and settings.
 * Lookups return 1 found, 0 not found, <0 -errno (STYLE: kcgi).
 */
#ifndef WGP_DB_H
#define WGP_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

enum db_open_flags {
	DB_RDONLY = 0,
	DB_RDWR = 1,
	DB_CREATE = 2,          /* create the file with mode 0640 if missing */
};

/* Opens path and sets journal_mode=WAL (writers), foreign_keys=ON,
 * busy_timeout=5000. 0 or -errno (-ENOENT when missing and not DB_CREATE). */
int db_open(const char *path, int flags, sqlite3 **out);
void db_close(sqlite3 *db);

/* The embedded migrations, in order (generated from db/NNN_*.sql files at build time). */
struct db_migration {
	const char *filename;   /* "001_initial_schema.sql" */
	const char *sql;        /* whole file text */
};
extern const struct db_migration db_migrations[];
extern const int db_migrations_count;

/* Applies every migration not yet in _migrations, each in one transaction,
 * logging migration_applied / migration_skipped. *applied (may be NULL) gets
 * the number applied. -EPROTO when the DB holds a migration this program does
 * not know (a newer DB): nothing is changed. 0 or -errno. */
int db_migrate(sqlite3 *db, int *applied);
/* 0 when every known migration is applied and no unknown one is, -EPROTO when
 * the DB is newer, -ESTALE when it needs `wgpilot migrate`. */
int db_schema_check(sqlite3 *db);
/* Number of applied migrations, or -errno. */
int db_schema_version(sqlite3 *db);

/* Settings (table settings). *val malloc'd. 1, 0 absent, <0. */
int db_setting_get(sqlite3 *db, const char *key, char **val);
/* true when the setting equals "true". */
bool db_setting_true(sqlite3 *db, const char *key);
int db_setting_set(sqlite3 *db, const char *key, const char *val);
int db_setting_del(sqlite3 *db, const char *key);

/* Runs sql (no parameters) e.g. "BEGIN IMMEDIATE". 0 or -EIO (logged). */
int db_exec(sqlite3 *db, const char *sql);

/* Maps an SQLite result code to -errno (CONSTRAINT -> -EEXIST, BUSY -> -EBUSY,
 * CORRUPT/NOTADB -> -EBADMSG, CANTOPEN -> -ENOENT, others -EIO). */
int db_rc_errno(int rc);
/* sqlite3_prepare_v2 that logs failures. 0 or -errno. */
int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st);
/* A prepared statement for sql from this thread's cache (prepared on first
 * use), for the queries of hot paths. sql must stay valid while cached (a
 * string literal). Give it back with db_finish, never sqlite3_finalize.
 * 0 or -errno. */
int db_cached(sqlite3 *db, const char *sql, sqlite3_stmt **st);
/* Ends a statement of db_cached (reset, bindings cleared, back in the cache)
 * or of db_prepare (finalized). NULL is ignored. */
void db_finish(sqlite3_stmt *st);
/* What changes whenever the DB does: PRAGMA data_version (commits of other
 * connections, read in a fresh read transaction) and this connection's
 * own total changes. Two equal results mean nothing was written in
 * between. 0, or -errno (then nothing can be assumed). */
struct db_version {
	long long others, own;
};
int db_version(sqlite3 *db, struct db_version *v);
/* Column i of the current row as text, "" for NULL (valid until the next
 * step, reset or finalize). */
const char *db_col_text(sqlite3_stmt *st, int i);
/* db_col_text copied into dst (n bytes, truncated, NUL-terminated). */
void db_col_copy(char *dst, size_t n, sqlite3_stmt *st, int i);
/* A single-value query (or pragma) as text into out ("" when no row or
 * NULL). SQLITE_OK or SQLite's error code. */
int db_query_text(sqlite3 *db, const char *sql, char *out, size_t outsz);
/* Opens the untrusted SQLite file at path (a backup to restore: untrusted
 * schema, defensive mode, journal_mode DELETE), checks that it is a sound
 * wgpilot DB (magic, integrity, _migrations, no unknown migration, foreign
 * keys) and migrates it to this version (*migrated, may be NULL, gets the
 * number applied). 0 with *t open (sqlite3_close it), or -1 with why set. */
int db_backup_open(const char *path, sqlite3 **t, int *migrated, char *why, size_t whysz);
/* Logs ERROR db_error with the operation and SQLite's message (never values). */
void db_log_error(sqlite3 *db, const char *op);

#endif
