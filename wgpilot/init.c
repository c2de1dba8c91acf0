/* SPDX-License-Identifier: MIT */
/* `wgpilot init` (operations.md §2, security.md §5, §14). */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "cli.h"
#include "db.h"
#include "keys.h"
#include "log.h"
#include "tls.h"

#define OTP_LEN 16
#define SERVICE_USER "wgpilot"

/* mkdir -p with mode for the last component (parents 0755). */
static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof tmp)
		return -ENAMETOOLONG;
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void dir_of(char *out, size_t outsz, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, outsz, ".");
	else if (slash == path)
		snprintf(out, outsz, "/");
	else
		snprintf(out, outsz, "%.*s", (int)(slash - path), path);
}

/* 1 when the DB was already initialised (a setup password, a user, or a
 * completed setup exists). */
static int already_initialized(sqlite3 *db)
{
	sqlite3_stmt *st;
	int users = 0;
	char *v = NULL;
	int have_otp = db_setting_get(db, "setup_otp", &v) == 1;

	free(v);
	if (db_prepare(db, "SELECT COUNT(*) FROM users", &st) == 0) {
		if (sqlite3_step(st) == SQLITE_ROW)
			users = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	return have_otp || users > 0 || db_setting_true(db, "setup_complete");
}

/* Stores a fresh (or the given) setup password's hash; prints nothing. */
static int store_otp(struct cli *c, sqlite3 *db, char otp[OTP_LEN + 1])
{
	char hash[PWHASH_STR_LEN];
	int err;

	if (c->admin_pass)
		snprintf(otp, OTP_LEN + 1, "%s", c->admin_pass);
	else
		rand_alnum(otp, OTP_LEN);
	err = pw_hash(hash, c->admin_pass ? c->admin_pass : otp, c->cfg.argon2_opslimit,
		      c->cfg.argon2_memlimit);
	if (err < 0)
		return err;
	if ((err = db_exec(db, "BEGIN IMMEDIATE")) < 0)
		return err;
	if ((err = db_setting_set(db, "setup_otp", hash)) < 0
	    || (err = db_setting_del(db, "setup_complete")) < 0
	    || (err = db_exec(db, "COMMIT")) < 0) {
		db_exec(db, "ROLLBACK");
		return err;
	}
	return 0;
}

/* When run as root and the service user exists, hand the data to it. */
static void chown_to_service(const struct config *cfg)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	struct passwd *pw = getpwnam(SERVICE_USER);
	char path[PATH_MAX + 8];

	if (geteuid() != 0 || !pw)
		return;
	if (chown(cfg->data_dir, pw->pw_uid, pw->pw_gid) < 0)
		fprintf(stderr, "wgpilot: warning: chown %s: %s\n", cfg->data_dir, strerror(errno));
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		snprintf(path, sizeof path, "%s%s", cfg->db_path, suffixes[i]);
		if (chown(path, pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT)
			fprintf(stderr, "wgpilot: warning: chown %s: %s\n", path, strerror(errno));
	}
}

static int ensure_certificate(const struct config *cfg)
{
	char dir[PATH_MAX + 16], crt[PATH_MAX + 48], key[PATH_MAX + 48];
	int err;

	snprintf(dir, sizeof dir, "%s/certs", cfg->data_dir);
	if ((err = mkdir_p(dir, 0710)) < 0)
		return err;
	/* The API (service group) reads the certificate for GET /api/settings/tls;
	 * the key stays 0600 for nginx's root master only. */
	struct group *gr = getgrnam(SERVICE_USER);
	if (geteuid() == 0 && gr && chown(dir, 0, gr->gr_gid) < 0)
		fprintf(stderr, "wgpilot: warning: chown %s: %s\n", dir, strerror(errno));
	chmod(dir, 0710);
	snprintf(crt, sizeof crt, "%s/selfsigned.crt", dir);
	snprintf(key, sizeof key, "%s/selfsigned.key", dir);
	if (access(crt, R_OK) == 0 && access(key, R_OK) == 0 && tls_key_matches(crt, key) == 1)
		return 0;
	return tls_selfsigned_create(crt, key);
}

int cmd_init(struct cli *c)
{
	struct group *gr = getgrnam(SERVICE_USER);
	char keydir[PATH_MAX], otp[OTP_LEN + 1] = "", ip[INET6_ADDRSTRLEN];
	sqlite3 *db = NULL;
	int err, ret = 1;

	if (crypto_init() < 0) {
		fprintf(stderr, "wgpilot: libsodium failed to initialise\n");
		return 1;
	}
	if ((err = mkdir_p(c->cfg.data_dir, 0750)) < 0) {
		fprintf(stderr, "wgpilot: cannot create %s: %s\n", c->cfg.data_dir, strerror(-err));
		return 1;
	}
	dir_of(keydir, sizeof keydir, c->cfg.master_key_file);
	if ((err = mkdir_p(keydir, 0750)) < 0
	    || (err = master_create(c->cfg.master_key_file, gr ? gr->gr_gid : (gid_t)-1)) < 0) {
		fprintf(stderr, "wgpilot: cannot create master key %s: %s\n",
			c->cfg.master_key_file, strerror(-err));
		return 1;
	}
	if ((err = ensure_certificate(&c->cfg)) < 0) {
		fprintf(stderr, "wgpilot: cannot create the self-signed certificate: %s\n", strerror(-err));
		return 1;
	}
	if ((err = db_open(c->cfg.db_path, DB_CREATE, &db)) < 0) {
		fprintf(stderr, "wgpilot: cannot open %s: %s\n", c->cfg.db_path, strerror(-err));
		return 1;
	}
	err = db_migrate(db, NULL);
	if (err == -EPROTO) {
		fprintf(stderr, "wgpilot: database %s is newer than this program; upgrade wgpilot\n",
			c->cfg.db_path);
		goto out;
	}
	if (err < 0) {
		fprintf(stderr, "wgpilot: migration failed: %s\n", strerror(-err));
		goto out;
	}
	pubip_detect(ip);
	if (ip[0])
		db_setting_set(db, "detected_public_ip", ip);
	if (already_initialized(db) && !c->admin_pass) {
		printf("Already initialized: %s (nothing changed)\n", c->cfg.db_path);
		ret = 0;
		goto out;
	}
	if ((err = store_otp(c, db, otp)) < 0) {
		fprintf(stderr, "wgpilot: cannot store the setup password: %s\n", strerror(-err));
		goto out;
	}
	printf("Database initialized at %s\n", c->cfg.db_path);
	printf("One-time setup password: %s\n", c->admin_pass ? c->admin_pass : otp);
	sodium_memzero(otp, sizeof otp);
	ret = 0;
out:
	db_close(db);
	if (ret == 0)
		chown_to_service(&c->cfg);
	return ret;
}
