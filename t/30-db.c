/* SPDX-License-Identifier: MIT */
/* Migrations, settings and the model queries against real SQLite files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "db.h"
#include "log.h"
#include "model.h"
#include "tap.h"

static char dir[] = "/tmp/wgp-t30-XXXXXX";

static sqlite3 *fresh(const char *name)
{
	char path[256];
	sqlite3 *db = NULL;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	unlink(path);
	if (db_open(path, DB_CREATE, &db) < 0)
		return NULL;
	return db;
}

static int count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int n = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Applies only the first k migrations, the way an older program did. */
static int migrate_to(sqlite3 *db, int k)
{
	if (db_exec(db, "CREATE TABLE IF NOT EXISTS _migrations (filename TEXT PRIMARY KEY, "
		    "applied_at INTEGER NOT NULL DEFAULT (unixepoch()))") < 0)
		return -1;
	for (int i = 0; i < k; i++) {
		const char *up = strstr(db_migrations[i].sql, "-- +goose Up");
		const char *down = strstr(db_migrations[i].sql, "-- +goose Down");
		char *sql = strndup(up, (size_t)(down - up));
		char ins[200];
		int err = db_exec(db, sql);

		free(sql);
		snprintf(ins, sizeof ins, "INSERT INTO _migrations(filename) VALUES ('%s')",
			 db_migrations[i].filename);
		if (err < 0 || db_exec(db, ins) < 0)
			return -1;
	}
	return 0;
}

/* Data every schema version since 001 can hold. */
static int seed_v1(sqlite3 *db)
{
	return db_exec(db,
		"INSERT INTO settings VALUES ('public_ip','203.0.113.5');"
		"INSERT INTO users(username,password_hash) VALUES ('admin','$argon2id$x');"
		"INSERT INTO networks(name,interface,mode,subnet,listen_port,private_key,public_key) "
		"VALUES ('Home','wg0','gateway','10.0.0.0/24',51820,'sb1:x','pub');"
		"INSERT INTO peers(network_id,name,private_key,public_key,allowed_ips) "
		"VALUES (1,'phone','sb1:y','ppub','10.0.0.2/32');"
		"INSERT INTO peer_snapshots VALUES (1, 100, 5, 6, 1);"
		"INSERT INTO audit_log(action,resource) VALUES ('network.created','network:1');"
		"INSERT INTO alerts(type,threshold) VALUES ('peer_offline','10m');");
}

static void test_fresh(void)
{
	sqlite3 *db = fresh("fresh.db");
	int applied = -1;
	char path[256];
	struct stat st;

	ok(db != NULL, "create a new DB");
	snprintf(path, sizeof path, "%s/fresh.db", dir);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640, "DB file mode is 0640");
	is_int(db_schema_check(db), -ESTALE, "an empty DB needs migrating");
	is_int(db_migrate(db, &applied), 0, "migrate empty DB");
	is_int(applied, db_migrations_count, "every migration applied");
	is_int(db_schema_version(db), db_migrations_count, "schema version = newest");
	is_int(db_schema_check(db), 0, "schema check passes");
	is_int(db_migrate(db, &applied), 0, "second migrate");
	is_int(applied, 0, "second migrate is a no-op");
	is_int(count(db, "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name IN "
		     "('settings','users','networks','peers','peer_snapshots','network_bridges',"
		     "'audit_log','alerts','api_keys','login_attempts','alert_state','log_entries')"),
	       12, "all 12 tables exist");
	is_int(count(db, "SELECT COUNT(*) FROM pragma_table_info('peers') WHERE name IN "
		     "('expires_at','tunnel_type','split_cidrs')"), 3, "peers has the later columns");
	is_int(count(db, "SELECT COUNT(*) FROM sqlite_master WHERE type='index' AND name IN "
		     "('idx_peers_network','idx_audit_timestamp',"
		     "'idx_audit_action','idx_api_keys_hash')"), 4, "indexes exist");
	is_int(count(db, "SELECT COUNT(*) FROM sqlite_master WHERE name='idx_snapshots_time'"), 0,
	       "no index duplicating the snapshots' primary key (006)");
	is_int(count(db, "SELECT COUNT(*) FROM pragma_table_list WHERE name='peer_snapshots' AND wr"), 1,
	       "peer_snapshots is WITHOUT ROWID (006)");
	is_int(count(db, "SELECT COUNT(*) FROM pragma_foreign_key_list('peer_snapshots') WHERE "
		     "\"table\"='peers' AND \"from\"='peer_id' AND on_delete='CASCADE'"), 1,
	       "peer_snapshots keeps its cascading FK to peers");
	is_int(count(db, "PRAGMA foreign_keys"), 1, "foreign_keys on");
	db_close(db);
}

static void test_upgrade_each(void)
{
	for (int k = 1; k < db_migrations_count; k++) {
		char name[32];
		sqlite3 *db;
		int applied = 0;

		snprintf(name, sizeof name, "v%d.db", k);
		db = fresh(name);
		ok(db && migrate_to(db, k) == 0 && seed_v1(db) == 0, "DB at version %d with data", k);
		is_int(db_migrate(db, &applied), 0, "migrate from version %d", k);
		is_int(applied, db_migrations_count - k, "applied the %d missing ones", db_migrations_count - k);
		is_int(count(db, "SELECT COUNT(*) FROM peers WHERE name='phone' AND allowed_ips='10.0.0.2/32' "
			     "AND tunnel_type='full' AND expires_at IS NULL"), 1, "peer kept (from v%d)", k);
		is_int(count(db, "SELECT COUNT(*) FROM peer_snapshots") + count(db, "SELECT COUNT(*) FROM "
			     "networks") + count(db, "SELECT COUNT(*) FROM users") + count(db, "SELECT COUNT(*) "
			     "FROM audit_log") + count(db, "SELECT COUNT(*) FROM alerts") + count(db,
			     "SELECT COUNT(*) FROM settings"), 6, "every other row kept (from v%d)", k);
		db_close(db);
	}
}

/* 006 rebuilds peer_snapshots with foreign_keys on: every row must survive,
 * and the FK must still cascade afterwards. */
static void test_snapshots_rebuild(void)
{
	sqlite3 *db = fresh("v5-snapshots.db");
	const char *sum = "SELECT COUNT(*) || ':' || TOTAL(peer_id * timestamp) || ':' || "
			  "TOTAL(rx_bytes) || ':' || TOTAL(tx_bytes) || ':' || TOTAL(online) "
			  "FROM peer_snapshots";
	char before[200] = "", after[200] = "";
	sqlite3_stmt *st;
	int k5 = -1;

	for (int i = 0; i < db_migrations_count; i++)
		if (strcmp(db_migrations[i].filename, "006_snapshots_compact.sql") == 0)
			k5 = i;
	ok(k5 == 5, "006_snapshots_compact.sql is the sixth migration");
	ok(db && migrate_to(db, 5) == 0 && seed_v1(db) == 0
	   && db_exec(db, "INSERT INTO peers(network_id,name,private_key,public_key,allowed_ips) "
		      "VALUES (1,'laptop','sb1:z','lpub','10.0.0.3/32');"
		      "WITH RECURSIVE t(ts) AS (SELECT 1000 UNION ALL SELECT ts + 30 FROM t "
		      "WHERE ts < 1000 + 30 * 4999) INSERT INTO peer_snapshots "
		      "SELECT p.id, t.ts, t.ts * p.id, t.ts / 2, (t.ts / 3600) % 2 FROM peers p, t") == 0,
	   "DB at version 5 with 10,001 snapshots of 2 peers");
	if (sqlite3_prepare_v2(db, sum, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		snprintf(before, sizeof before, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	is_int(db_migrate(db, NULL), 0, "migrate 5 -> 6");
	is_int(db_schema_version(db), db_migrations_count, "at the newest version");
	if (sqlite3_prepare_v2(db, sum, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		snprintf(after, sizeof after, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	ok(before[0] && strncmp(before, "10001:", 6) == 0, "before: %s", before);
	is_str(after, before, "no snapshot lost or changed by the rebuild");
	is_int(count(db, "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'peer_snapshots_%'"), 0,
	       "the old table is gone");
	is_int(count(db, "SELECT COUNT(*) FROM pragma_foreign_key_check('peer_snapshots')"), 0,
	       "foreign key check clean");
	is_int(count(db, "PRAGMA foreign_keys"), 1, "foreign_keys still on");
	db_exec(db, "DELETE FROM peers WHERE name='laptop'");
	is_int(count(db, "SELECT COUNT(*) FROM peer_snapshots"), 5001,
	       "deleting a peer still cascades to its snapshots");
	db_close(db);
}

static void test_newer_refused(void)
{
	sqlite3 *db = fresh("newer.db");
	int before;

	db_migrate(db, NULL);
	db_exec(db, "INSERT INTO _migrations(filename) VALUES ('999_future.sql')");
	before = count(db, "SELECT COUNT(*) FROM _migrations");
	is_int(db_migrate(db, NULL), -EPROTO, "a DB from a newer program is refused");
	is_int(db_schema_check(db), -EPROTO, "schema check says newer");
	is_int(count(db, "SELECT COUNT(*) FROM _migrations"), before, "nothing changed");
	db_close(db);
}

static void test_settings_and_model(void)
{
	sqlite3 *db = fresh("model.db");
	struct network n = { .listen_port = 51820, .enabled = true }, got, *list;
	struct peer p = { .persistent_keepalive = 25, .enabled = true }, pg;
	size_t cnt;
	char *v = NULL, iface[16];

	db_migrate(db, NULL);
	is_int(db_setting_get(db, "x", &v), 0, "absent setting");
	is_int(db_setting_set(db, "x", "1"), 0, "set");
	is_int(db_setting_set(db, "x", "true"), 0, "overwrite");
	ok(db_setting_true(db, "x"), "setting is true");
	is_int(db_setting_del(db, "x"), 0, "delete");
	ok(!db_setting_true(db, "x"), "deleted");

	snprintf(n.name, sizeof n.name, "Home");
	snprintf(n.mode, sizeof n.mode, "gateway");
	snprintf(n.subnet, sizeof n.subnet, "10.0.0.0/24");
	snprintf(n.public_key, sizeof n.public_key, "pub");
	n.private_key = "sb1:secret";
	is_int(model_network_insert(db, &n), 0, "insert network");
	is_str(n.iface, "wg0", "first interface is wg0");
	n.listen_port = 51821;
	snprintf(n.subnet, sizeof n.subnet, "10.1.0.0/24");
	is_int(model_network_insert(db, &n), 0, "insert second network");
	is_str(n.iface, "wg1", "then wg1");
	n.listen_port = 51821;
	is_int(model_network_insert(db, &n), -EEXIST, "same port refused by the DB");
	db_exec(db, "DELETE FROM networks WHERE interface='wg0'");
	model_next_iface(db, iface);
	is_str(iface, "wg0", "a freed name is reused");
	is_int(model_network_get(db, n.id, &got), 1, "get network");
	is_str(got.private_key, "sb1:secret", "stored key read back");
	network_free(&got);
	is_int(model_network_get(db, 999, &got), 0, "unknown network");

	p.network_id = n.id;
	snprintf(p.name, sizeof p.name, "phone");
	snprintf(p.role, sizeof p.role, "client");
	snprintf(p.public_key, sizeof p.public_key, "ppub");
	p.allowed_ips = "10.1.0.2/32";
	p.private_key = "sb1:p";
	p.preshared_key = "sb1:q";
	is_int(model_peer_insert(db, &p), 0, "insert peer");
	is_int(model_peer_get(db, n.id, p.id, &pg), 1, "get peer");
	is_str(pg.tunnel_type, "full", "tunnel_type default");
	is_int(pg.expires_at, 0, "no expiry");
	peer_free(&pg);
	is_int(model_peer_get(db, n.id + 1, p.id, &pg), 0, "peer of another network not found");
	is_int(model_network_list(db, &list, &cnt), 0, "list networks");
	is_int(cnt, 1, "one network left");
	is_int(list[0].peer_count, 1, "peer_count");
	networks_free(list, cnt);
	is_int(model_network_delete(db, n.id), 1, "delete network");
	is_int(count(db, "SELECT COUNT(*) FROM peers"), 0, "its peers are gone (cascade)");
	db_close(db);
}

/* db_cached/db_finish: the same statement again for the same text and
 * connection, a second one while the first is in use, bindings cleared and
 * results fresh after another connection wrote, nothing left at close. */
static void test_statement_cache(void)
{
	sqlite3 *db = fresh("cache.db"), *other = NULL;
	char path[256];
	static const char q1[] = "SELECT value FROM settings WHERE key = ?";
	static const char q2[] = "SELECT COUNT(*) FROM settings";
	char buf[sizeof q1];
	sqlite3_stmt *a, *b, *c;

	snprintf(path, sizeof path, "%s/cache.db", dir);
	is_int(db_migrate(db, NULL), 0, "schema");
	is_int(db_open(path, DB_RDWR, &other), 0, "second connection");
	ok(db_cached(db, q1, &a) == 0 && a, "prepared on first use");
	sqlite3_bind_text(a, 1, "nothing", -1, SQLITE_STATIC);
	is_int(sqlite3_step(a), SQLITE_DONE, "no such setting");
	db_finish(a);
	ok(db_cached(db, q2, &b) == 0 && b != a, "another text, another statement");
	db_finish(b);
	ok(db_cached(db, q1, &c) == 0 && c == a, "same text: the cached statement");
	is_int(sqlite3_bind_parameter_count(c), 1, "still one parameter");
	ok(sqlite3_column_count(c) == 1 && sqlite3_step(c) == SQLITE_DONE,
	   "bindings were cleared (NULL key matches nothing)");
	ok(db_cached(db, q1, &b) == 0 && b != c, "in use: a statement of its own");
	db_finish(b);   /* not cached: finalized */
	db_finish(c);
	memcpy(buf, q1, sizeof q1);
	ok(db_cached(db, buf, &c) == 0 && c != a, "equal text at another address: not mixed up");
	db_finish(c);
	ok(db_cached(db, q2, &b) == 0, "count before");
	sqlite3_step(b);
	long long before = sqlite3_column_int64(b, 0);
	db_finish(b);
	is_int(db_setting_set(other, "cache_test", "1"), 0, "another connection writes");
	ok(db_cached(db, q2, &b) == 0 && sqlite3_step(b) == SQLITE_ROW, "count after");
	is_int(sqlite3_column_int64(b, 0), before + 1, "the cached statement sees the write");
	db_finish(b);
	ok(db_cached(other, q2, &b) == 0 && b != a, "another connection: its own statement");
	db_finish(b);
	db_finish(NULL);
	db_close(other);
	db_close(db);   /* finalizes the cached ones: ASan/valgrind see no leak */
	ok(1, "closed with cached statements");
}

int main(void)
{
	log_setup(LOG_ERROR, 1);
	if (!mkdtemp(dir))
		skip_all("mkdtemp failed");
	test_fresh();
	test_upgrade_each();
	test_snapshots_rebuild();
	test_newer_refused();
	test_settings_and_model();
	test_statement_cache();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# cleanup of %s failed\n", dir);
	return done_testing();
}
