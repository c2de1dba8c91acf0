/* SPDX-License-Identifier: MIT */
/* lib/config.c: defaults, every key from YAML/env/config_set, value checks,
 * errors with their line, and the file < env < flag precedence. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static char tmpdir[] = "/tmp/wgp-t13-XXXXXX";
static char files[64][PATH_MAX];
static int nfiles;

/* Writes text (len 0: strlen) to a file in the temp dir; returns its path. */
static const char *write_file(const char *name, const char *text, size_t len)
{
	char want[PATH_MAX], *path = NULL;
	FILE *f;

	if (len == 0)
		len = strlen(text);
	snprintf(want, sizeof(want), "%s/%s", tmpdir, name);
	for (int i = 0; i < nfiles && !path; i++)
		if (strcmp(files[i], want) == 0)
			path = files[i];
	if (!path)
		path = strcpy(files[nfiles++], want);
	f = fopen(path, "w");
	if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0)
		printf("# cannot write %s\n", path);
	return path;
}

static int load_text(const char *yaml, struct config *c, struct config_errors *e)
{
	config_defaults(c);
	e->n = 0;
	return config_load_file(c, write_file("t.yaml", yaml, 0), e);
}

/* ---- reading any field back as text ------------------------------------- */

enum ft { F_STR, F_BOOL, F_INT, F_LL, F_ULL, F_SIZE };
struct field {
	const char *key;
	enum ft t;
	size_t off;
};
#define FLD(k, t, f) { k, t, offsetof(struct config, f) }
static const struct field fields[] = {
	FLD("server.listen", F_STR, listen), FLD("server.dev_mode", F_BOOL, dev_mode),
	FLD("database.path", F_STR, db_path),
	FLD("auth.session_ttl", F_LL, session_ttl), FLD("auth.bcrypt_cost", F_INT, bcrypt_cost),
	FLD("auth.argon2_opslimit", F_ULL, argon2_opslimit),
	FLD("auth.argon2_memlimit", F_SIZE, argon2_memlimit),
	FLD("auth.rate_limit_rpm", F_INT, rate_limit_rpm),
	FLD("auth.master_key_file", F_STR, master_key_file),
	FLD("tls.mode", F_STR, tls_mode), FLD("tls.cert_file", F_STR, tls_cert_file),
	FLD("tls.key_file", F_STR, tls_key_file), FLD("tls.acme_email", F_STR, acme_email),
	FLD("tls.acme_domain", F_STR, acme_domain),
	FLD("logging.level", F_STR, log_level), FLD("logging.format", F_STR, log_format),
	FLD("monitor.poll_interval", F_LL, poll_interval),
	FLD("monitor.snapshot_retention", F_LL, snapshot_retention),
	FLD("monitor.compaction_interval", F_LL, compaction_interval),
	FLD("monitor.event_driven", F_BOOL, event_driven),
	FLD("reconciler.socket", F_STR, rec_socket), FLD("reconciler.backend", F_STR, rec_backend),
	FLD("reconciler.userspace_binary", F_STR, rec_userspace_binary),
	FLD("reconciler.resync_interval", F_LL, resync_interval),
	FLD("metrics.allow", F_STR, metrics_allow),
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static const char *get(const struct config *c, const char *key)
{
	static char buf[PATH_MAX + 32];
	const char *p = (const char *)c;

	for (size_t i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i];

		if (strcmp(f->key, key) != 0)
			continue;
		switch (f->t) {
		case F_STR: snprintf(buf, sizeof(buf), "%s", p + f->off); break;
		case F_BOOL: snprintf(buf, sizeof(buf), "%s", *(const bool *)(p + f->off) ? "true" : "false"); break;
		case F_INT: snprintf(buf, sizeof(buf), "%d", *(const int *)(p + f->off)); break;
		case F_LL: snprintf(buf, sizeof(buf), "%lld", *(const long long *)(p + f->off)); break;
		case F_ULL: snprintf(buf, sizeof(buf), "%llu", *(const unsigned long long *)(p + f->off)); break;
		case F_SIZE: snprintf(buf, sizeof(buf), "%zu", *(const size_t *)(p + f->off)); break;
		}
		return buf;
	}
	return "(no such field)";
}

/* Field by field: struct copies need not keep padding bytes. */
static bool same_config(const struct config *a, const struct config *b)
{
	char va[PATH_MAX + 32];

	for (size_t i = 0; i < NFIELDS; i++) {
		strcpy(va, get(a, fields[i].key));
		if (strcmp(va, get(b, fields[i].key)) != 0)
			return false;
	}
	return strcmp(a->data_dir, b->data_dir) == 0 && strcmp(a->path, b->path) == 0;
}

/* ---- defaults ------------------------------------------------------------ */

static const struct { const char *key, *want; } defaults[] = {
	{ "server.listen", "0.0.0.0:443" }, { "server.dev_mode", "false" },
	{ "database.path", "/var/lib/wgpilot/wgpilot.db" },
	{ "auth.session_ttl", "86400" }, { "auth.bcrypt_cost", "12" },
	{ "auth.argon2_opslimit", "0" }, { "auth.argon2_memlimit", "0" },
	{ "auth.rate_limit_rpm", "5" }, { "auth.master_key_file", "/etc/wgpilot/master.key" },
	{ "tls.mode", "self-signed" }, { "tls.cert_file", "" }, { "tls.key_file", "" },
	{ "tls.acme_email", "" }, { "tls.acme_domain", "" },
	{ "logging.level", "info" }, { "logging.format", "json" },
	{ "monitor.poll_interval", "30" }, { "monitor.snapshot_retention", "31536000" },
	{ "monitor.compaction_interval", "86400" }, { "monitor.event_driven", "true" },
	{ "reconciler.socket", "/run/wgpilot/reconciler.sock" }, { "reconciler.backend", "auto" },
	{ "reconciler.userspace_binary", "" }, { "reconciler.resync_interval", "60" },
	{ "metrics.allow", "" },
};

static void test_defaults(void)
{
	struct config c;

	memset(&c, 0x5a, sizeof(c));
	config_defaults(&c);
	is_int(sizeof(defaults) / sizeof(defaults[0]), NFIELDS, "defaults: every field listed");
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		is_str(get(&c, defaults[i].key), defaults[i].want, "default %s", defaults[i].key);
	is_str(c.data_dir, "/var/lib/wgpilot", "default data_dir");
	is_str(c.path, "", "default path empty");
}

/* ---- every key, from every source --------------------------------------- */

/* key, text given (also as YAML scalar and env value), value read back */
static const struct { const char *key, *in, *want; } settable[] = {
	{ "server.listen", "127.0.0.1:8443", "127.0.0.1:8443" },
	{ "server.dev_mode", "true", "true" },
	{ "database.path", "/srv/wgp/db.sqlite", "/srv/wgp/db.sqlite" },
	{ "auth.session_ttl", "1h30m", "5400" },
	{ "auth.bcrypt_cost", "10", "10" },
	{ "auth.argon2_opslimit", "3", "3" },
	{ "auth.argon2_memlimit", "67108864", "67108864" },
	{ "auth.rate_limit_rpm", "20", "20" },
	{ "auth.master_key_file", "/etc/wgp/mk", "/etc/wgp/mk" },
	{ "tls.mode", "manual", "manual" },
	{ "tls.cert_file", "/etc/ssl/a.crt", "/etc/ssl/a.crt" },
	{ "tls.key_file", "/etc/ssl/a.key", "/etc/ssl/a.key" },
	{ "tls.acme_email", "ops@example.com", "ops@example.com" },
	{ "tls.acme_domain", "vpn.example.com", "vpn.example.com" },
	{ "logging.level", "warn", "warn" },
	{ "logging.format", "text", "text" },
	{ "monitor.poll_interval", "15s", "15" },
	{ "monitor.snapshot_retention", "30d", "2592000" },
	{ "monitor.compaction_interval", "12h", "43200" },
	{ "monitor.event_driven", "false", "false" },
	{ "reconciler.socket", "/tmp/rec.sock", "/tmp/rec.sock" },
	{ "reconciler.backend", "userspace", "userspace" },
	{ "reconciler.userspace_binary", "/usr/bin/wireguard-go", "/usr/bin/wireguard-go" },
	{ "reconciler.resync_interval", "2m", "120" },
	{ "metrics.allow", "127.0.0.1/32, 10.0.0.0/8", "127.0.0.1/32, 10.0.0.0/8" },
};
#define NSETTABLE (sizeof(settable) / sizeof(settable[0]))

static void test_set_every_key(void)
{
	struct config c;
	char msg[160];

	is_int(NSETTABLE, NFIELDS, "settable: every field listed");
	for (size_t i = 0; i < NSETTABLE; i++) {
		config_defaults(&c);
		is_int(config_set(&c, settable[i].key, settable[i].in, msg, sizeof(msg)), 0,
		       "config_set %s", settable[i].key);
		is_str(get(&c, settable[i].key), settable[i].want, "config_set %s value",
		       settable[i].key);
	}
	config_defaults(&c);
	is_int(config_set(&c, "database.path", "/data/x/w.db", NULL, 0), 0, "set db path, no msg");
	is_str(c.data_dir, "/data/x", "data_dir follows database.path");
}

static void test_yaml_every_key(void)
{
	char yaml[4096], section[32] = "";
	struct config c;
	struct config_errors e;
	size_t used = 0;

	for (size_t i = 0; i < NSETTABLE; i++) {
		const char *dot = strchr(settable[i].key, '.');
		size_t slen = (size_t)(dot - settable[i].key);

		if (strlen(section) != slen || strncmp(section, settable[i].key, slen) != 0) {
			snprintf(section, sizeof(section), "%.*s", (int)slen, settable[i].key);
			used += (size_t)snprintf(yaml + used, sizeof(yaml) - used, "%s:\n", section);
		}
		used += (size_t)snprintf(yaml + used, sizeof(yaml) - used, "  %s: \"%s\"\n",
		                         dot + 1, settable[i].in);
	}
	is_int(load_text(yaml, &c, &e), 0, "yaml: all keys load");
	is_int(e.n, 0, "yaml: all keys, no errors");
	for (size_t i = 0; i < NSETTABLE; i++)
		is_str(get(&c, settable[i].key), settable[i].want, "yaml %s", settable[i].key);
	is_str(c.data_dir, "/srv/wgp", "yaml: data_dir = dirname(database.path)");
	ok(strstr(c.path, "/t.yaml") != NULL, "yaml: path recorded");
}

static void test_env_every_key(void)
{
	char vars[NSETTABLE][160], *envp[NSETTABLE + 1];
	struct config c;
	struct config_errors e = { .n = 0 };

	for (size_t i = 0; i < NSETTABLE; i++) {
		char *p = vars[i] + snprintf(vars[i], sizeof(vars[i]), "WGPILOT_");

		for (const char *k = settable[i].key; *k; k++)
			*p++ = *k == '.' ? '_' : (char)(*k >= 'a' && *k <= 'z' ? *k - 32 : *k);
		snprintf(p, sizeof(vars[i]) - (size_t)(p - vars[i]), "=%s", settable[i].in);
		envp[i] = vars[i];
	}
	envp[NSETTABLE] = NULL;
	config_defaults(&c);
	is_int(config_apply_env(&c, envp, &e), 0, "env: all keys apply");
	is_int(e.n, 0, "env: no errors");
	for (size_t i = 0; i < NSETTABLE; i++)
		is_str(get(&c, settable[i].key), settable[i].want, "env %s", vars[i]);
}

/* ---- bad values ---------------------------------------------------------- */

static const struct { const char *key, *in; int rc; const char *msg; } bad[] = {
	{ "server.listen", "443", -EINVAL, "host:port" },
	{ "server.listen", "", -EINVAL, "empty" },
	{ "server.listen", "host:0", -EINVAL, "port" },
	{ "server.listen", "host:65536", -EINVAL, "port" },
	{ "server.listen", "host:+443", -EINVAL, "port" },
	{ "server.listen", "a b:443", -EINVAL, "host:port" },
	{ "server.listen", "x;include /etc:443", -EINVAL, "host:port" },
	{ "server.listen", "[zz::1]:443", -EINVAL, "host:port" },
	{ "server.listen", "[]:443", -EINVAL, "host:port" },
	{ "server.listen", "::1:443", -EINVAL, "host:port" },
	{ "server.dev_mode", "maybe", -EINVAL, "true or false" },
	{ "server.dev_mode", "1", -EINVAL, "true or false" },
	{ "server.dev_mode", "", -EINVAL, "true or false" },
	{ "database.path", "", -EINVAL, "must not be empty" },
	{ "database.path", "/a\nb", -EINVAL, "control characters" },
	{ "auth.master_key_file", "", -EINVAL, "must not be empty" },
	{ "auth.bcrypt_cost", "3", -EINVAL, "from 4 to 31" },
	{ "auth.bcrypt_cost", "32", -EINVAL, "from 4 to 31" },
	{ "auth.rate_limit_rpm", "0", -EINVAL, "from 1 to 10000" },
	{ "auth.rate_limit_rpm", "10001", -EINVAL, "from 1 to 10000" },
	{ "auth.rate_limit_rpm", "-5", -EINVAL, "from 1 to 10000" },
	{ "auth.rate_limit_rpm", "5x", -EINVAL, "integer" },
	{ "auth.rate_limit_rpm", " 5", -EINVAL, "integer" },
	{ "auth.rate_limit_rpm", "0x10", -EINVAL, "integer" },
	{ "auth.rate_limit_rpm", "", -EINVAL, "integer" },
	{ "auth.rate_limit_rpm", "99999999999999999999", -EINVAL, "integer" },
	{ "auth.argon2_opslimit", "4294967296", -EINVAL, "0 (default) or" },
	{ "auth.argon2_opslimit", "-1", -EINVAL, "0 (default) or" },
	{ "auth.argon2_memlimit", "8191", -EINVAL, "from 8192" },
	{ "auth.session_ttl", "", -EINVAL, "invalid duration" },
	{ "auth.session_ttl", "5", -EINVAL, "invalid duration" },
	{ "auth.session_ttl", "5x", -EINVAL, "invalid duration" },
	{ "auth.session_ttl", "-5s", -EINVAL, "invalid duration" },
	{ "auth.session_ttl", "0s", -EINVAL, "invalid duration" },
	{ "auth.session_ttl", "0", -EINVAL, "invalid duration" },
	{ "auth.session_ttl", ".s", -EINVAL, "invalid duration" },
	{ "auth.session_ttl", "1h 30m", -EINVAL, "invalid duration" },
	{ "auth.session_ttl", "1H", -EINVAL, "invalid duration" },
	{ "auth.session_ttl", "s", -EINVAL, "invalid duration" },
	{ "auth.session_ttl", "1..5s", -EINVAL, "invalid duration" },
	{ "auth.session_ttl", "9999999999999999999s", -EINVAL, "invalid duration" },
	{ "auth.session_ttl", "200000d", -EINVAL, "invalid duration" },
	{ "auth.session_ttl", "3651d", -EINVAL, "from 1s to 3650d" },
	{ "tls.mode", "letsencrypt", -EINVAL, "self-signed, acme, manual" },
	{ "tls.mode", "", -EINVAL, "one of" },
	{ "logging.level", "verbose", -EINVAL, "debug, info, warn, error" },
	{ "logging.format", "xml", -EINVAL, "json, text" },
	{ "reconciler.backend", "wg", -EINVAL, "auto, kernel, userspace" },
	{ "reconciler.socket", "", -EINVAL, "must not be empty" },
	{ "tls.acme_email", "a\tb@example.com", -EINVAL, "control characters" },
	{ "server.nope", "1", -ENOENT, "unknown key" },
	{ "nope.listen", "1", -ENOENT, "unknown section" },
	{ "server", "1", -ENOENT, "unknown key" },
	{ "", "1", -ENOENT, "unknown section" },
	{ "server.", "1", -ENOENT, "unknown key" },
};

static void test_bad_values(void)
{
	char msg[160], longv[600];
	struct config c, before;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_defaults(&c);
		before = c;
		msg[0] = '\0';
		is_int(config_set(&c, bad[i].key, bad[i].in, msg, sizeof(msg)), bad[i].rc,
		       "bad %s = '%s'", bad[i].key, bad[i].in);
		if (!ok(strstr(msg, bad[i].msg) != NULL, "  message mentions '%s'", bad[i].msg))
			printf("#   got '%s'\n", msg);
		ok(same_config(&c, &before), "  config unchanged");
	}
	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	config_defaults(&c);
	/* longv holds 599 'a': longv + 599 - n is a string of n bytes */
	is_int(config_set(&c, "metrics.allow", longv + 599 - 512, msg, sizeof(msg)), -EINVAL,
	       "metrics.allow of 512 bytes rejected");
	ok(strstr(msg, "at most 511 bytes") != NULL, "  too long message: %s", msg);
	is_int(config_set(&c, "metrics.allow", longv + 599 - 511, msg, sizeof(msg)), 0,
	       "metrics.allow of 511 bytes fits");
	is_int((int)strlen(c.metrics_allow), 511, "  stored whole");
	is_int(config_set(&c, "tls.acme_domain", longv + 599 - 256, msg, sizeof(msg)), -EINVAL,
	       "acme_domain of 256 bytes rejected");
}

static void test_good_values(void)
{
	static const struct { const char *key, *in, *want; } good[] = {
		{ "server.listen", ":443", ":443" },
		{ "server.listen", "[::]:8443", "[::]:8443" },
		{ "server.listen", "[fd00::1]:443", "[fd00::1]:443" },
		{ "server.listen", "*:443", "*:443" },
		{ "server.listen", "vpn.example.com:65535", "vpn.example.com:65535" },
		{ "server.dev_mode", "TRUE", "true" }, { "server.dev_mode", "Yes", "true" },
		{ "server.dev_mode", "on", "true" }, { "server.dev_mode", "no", "false" },
		{ "server.dev_mode", "OFF", "false" }, { "server.dev_mode", "False", "false" },
		{ "auth.bcrypt_cost", "4", "4" }, { "auth.bcrypt_cost", "31", "31" },
		{ "auth.rate_limit_rpm", "1", "1" }, { "auth.rate_limit_rpm", "10000", "10000" },
		{ "auth.rate_limit_rpm", "+7", "7" }, { "auth.rate_limit_rpm", "007", "7" },
		{ "auth.argon2_opslimit", "0", "0" },
		{ "auth.argon2_opslimit", "4294967295", "4294967295" },
		{ "auth.argon2_memlimit", "0", "0" }, { "auth.argon2_memlimit", "8192", "8192" },
		{ "tls.mode", "ACME", "acme" }, { "tls.mode", "Self-Signed", "self-signed" },
		{ "logging.level", "DEBUG", "debug" }, { "logging.level", "error", "error" },
		{ "reconciler.backend", "Kernel", "kernel" },
		{ "tls.cert_file", "relative/path with spaces.crt", "relative/path with spaces.crt" },
		{ "tls.acme_email", "", "" },
		{ "metrics.allow", "caf\xc3\xa9", "caf\xc3\xa9" },
	};
	struct config c;
	char msg[160];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		config_defaults(&c);
		is_int(config_set(&c, good[i].key, good[i].in, msg, sizeof(msg)), 0,
		       "good %s = '%s'", good[i].key, good[i].in);
		is_str(get(&c, good[i].key), good[i].want, "  reads back as expected");
	}
}

static void test_durations(void)
{
	static const struct { const char *in; long long s; } d[] = {
		{ "30s", 30 }, { "1m", 60 }, { "90m", 5400 }, { "1h30m", 5400 }, { "1.5h", 5400 },
		{ "24h", 86400 }, { "1d", 86400 }, { "2d12h", 216000 }, { "1.5d", 129600 },
		{ "365d", 31536000 }, { "3650d", 315360000 }, { "1500ms", 1 }, { "2500ms", 2 },
		{ "999ms", 1 }, { "1ns", 1 }, { "1us", 1 }, { "1\xc2\xb5s", 1 }, { "1\xce\xbcs", 1 },
		{ "0.5s", 1 }, { "+10s", 10 }, { "1.s", 1 }, { ".5m", 30 }, { "1h0m0s", 3600 },
		{ "0h1s", 1 }, { "60000ms", 60 }, { "1s500ms", 1 }, { "0.000000001s", 1 },
		{ "1.0000000000000000000001h", 3600 }, { "3651d", -1 }, { "87601h", -1 },
		{ "2562047h", -1 },
	};
	struct config c;
	char msg[160];

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		config_defaults(&c);
		if (d[i].s < 0) {
			is_int(config_set(&c, "monitor.snapshot_retention", d[i].in, msg, sizeof(msg)),
			       -EINVAL, "duration '%s' above 3650d rejected", d[i].in);
			continue;
		}
		is_int(config_set(&c, "monitor.snapshot_retention", d[i].in, msg, sizeof(msg)), 0,
		       "duration '%s'", d[i].in);
		is_int(c.snapshot_retention, d[i].s, "  = %lld s", d[i].s);
	}
}

/* ---- YAML structure and errors ----------------------------------------- */

static void test_yaml_valid_shapes(void)
{
	static const char *const empty[] = {
		"", "\n\n", "# only a comment\n# and another\n", "---\n", "---\n...\n", "~\n",
		"server:\n", "server:\n  # listen: 1.2.3.4:443\nauth: ~\n", "{}\n", "server: {}\n",
	};
	struct config c, d;
	struct config_errors e;

	config_defaults(&d);
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		is_int(load_text(empty[i], &c, &e), 0, "valid empty shape %zu", i);
		is_int(e.n, 0, "  no errors");
		memset(c.path, 0, sizeof(c.path));
		ok(same_config(&c, &d), "  all defaults");
	}
	is_int(load_text("server: {listen: '[::1]:443', dev_mode: yes}\nlogging: {level: warn}\n",
	                 &c, &e), 0, "flow style");
	is_int(e.n, 0, "  no errors");
	is_str(c.listen, "[::1]:443", "  flow listen");
	ok(c.dev_mode, "  flow dev_mode");
	is_str(c.log_level, "warn", "  flow level");

	is_int(load_text("# header\n---\nserver:\n  listen: \"0.0.0.0:8443\"   # comment\n"
	                 "tls:\n  cert_file: |-\n    /etc/a.crt\n  key_file: >-\n    /etc/b.key\n"
	                 "  acme_email: null\n  acme_domain: 'null'\n...\n", &c, &e), 0,
	         "document markers, block scalars, null");
	is_int(e.n, 0, "  no errors");
	is_str(c.listen, "0.0.0.0:8443", "  quoted with comment");
	is_str(c.tls_cert_file, "/etc/a.crt", "  literal block");
	is_str(c.tls_key_file, "/etc/b.key", "  folded block");
	is_str(c.acme_email, "", "  null is empty");
	is_str(c.acme_domain, "null", "  quoted 'null' is text");

	is_int(load_text("\xef\xbb\xbfmonitor:\r\n  poll_interval: 10s\r\n", &c, &e), 0,
	       "BOM and CRLF");
	is_int(c.poll_interval, 10, "  value read");
	is_int(load_text("database:\n  path: wgpilot.db\n", &c, &e), 0, "relative db path");
	is_str(c.data_dir, ".", "  data_dir '.'");
	is_int(load_text("database:\n  path: /wgpilot.db\n", &c, &e), 0, "db path at root");
	is_str(c.data_dir, "/", "  data_dir '/'");
	is_int(load_text("database:\n  path: //srv//x//w.db\n", &c, &e), 0, "doubled slashes");
	is_str(c.data_dir, "//srv//x", "  data_dir keeps inner slashes");
}

struct yerr {
	const char *yaml;
	int line;
	const char *key, *msg;
};

static const struct yerr yaml_errors[] = {
	{ "server:\n  listen: 1.2.3.4:443\nfoo:\n  bar: 1\n", 3, "foo", "unknown section" },
	{ "server:\n  listen: 1.2.3.4:443\n  lsten: x\n", 3, "server.lsten", "unknown key" },
	{ "server:\n  listen:\n    - a:1\n    - b:2\n", 3, "server.listen", "not a sequence" },
	{ "server:\n  listen: [a, b]\n", 2, "server.listen", "not a sequence" },
	{ "server:\n  listen:\n    host: a\n    port: 1\n", 3, "server.listen", "not a mapping" },
	{ "server: 443\n", 1, "server", "expected a mapping of keys, not a scalar" },
	{ "server:\n  - listen\n", 2, "server", "expected a mapping of keys, not a sequence" },
	{ "- server\n- tls\n", 1, "", "expected a mapping of sections, not a sequence" },
	{ "just text\n", 1, "", "expected a mapping of sections, not a scalar" },
	{ "\n\nauth:\n  rate_limit_rpm: 0\n", 4, "auth.rate_limit_rpm", "from 1 to 10000" },
	{ "auth:\n  session_ttl: 5 days\n", 2, "auth.session_ttl", "invalid duration" },
	{ "logging:\n  level: loud\n", 2, "logging.level", "must be one of" },
	{ "server:\n  dev_mode: 2\n", 2, "server.dev_mode", "true or false" },
	{ "server:\n  listen: a:1\n  listen: b:2\n", 3, "server.listen", "duplicate key" },
	{ "tls:\n  mode: acme\ntls:\n  mode: manual\n", 3, "tls", "duplicate section" },
	/* an alias is its anchored node, reported where that node is */
	{ "server:\n  listen: &a a:1\n  dev_mode: *a\n", 2, "server.dev_mode", "true or false" },
	{ "server: &s\n  listen: *s\n", 1, "server.listen", "not a mapping" },
	{ "&r {server: *r}\n", 1, "server.server", "unknown key" },
	{ "server:\n  ? [a]\n  : b\n", 2, "server", "key must be a scalar, not a sequence" },
	{ "? {a: 1}\n: b\n", 1, "", "key must be a scalar, not a mapping" },
	{ "tls:\n  cert_file: \"a\\0b\"\n", 2, "tls.cert_file", "NUL" },
	{ "tls:\n  cert_file: \"a\\nb\"\n", 2, "tls.cert_file", "control characters" },
	{ "server: {}\n---\nserver: {}\n", 3, "", "only one YAML document" },
	{ "server:\n  dev_mode: on\n  1: x\n", 3, "server.1", "unknown key" },
};

static void test_yaml_errors(void)
{
	struct config c;
	struct config_errors e;

	for (size_t i = 0; i < sizeof(yaml_errors) / sizeof(yaml_errors[0]); i++) {
		const struct yerr *y = &yaml_errors[i];

		is_int(load_text(y->yaml, &c, &e), 0, "yaml error case %zu loads (rc 0)", i);
		if (!ok(e.n == 1, "  exactly one error (got %d)", e.n) && e.n > 0)
			printf("#   first: %d %s %s\n", e.e[0].line, e.e[0].key, e.e[0].message);
		if (e.n < 1)
			continue;
		is_int(e.e[0].line, y->line, "  line %d", y->line);
		is_str(e.e[0].key, y->key, "  key of case %zu", i);
		if (!ok(strstr(e.e[0].message, y->msg) != NULL, "  message has '%s'", y->msg))
			printf("#   got '%s'\n", e.e[0].message);
	}
}

static void test_yaml_continues(void)
{
	struct config c;
	struct config_errors e;
	char big[8192];
	size_t used;

	is_int(load_text("server:\n  listen: bad\n  dev_mode: true\nauth:\n  rate_limit_rpm: x\n"
	                 "  session_ttl: 2h\nnope: 1\nlogging:\n  level: debug\n", &c, &e), 0,
	       "several errors: rc 0");
	is_int(e.n, 3, "  three errors");
	is_int(e.e[0].line, 2, "  first line 2");
	is_int(e.e[1].line, 5, "  second line 5");
	is_int(e.e[2].line, 7, "  third line 7");
	ok(c.dev_mode, "  good key before applied");
	is_int(c.session_ttl, 7200, "  good key between applied");
	is_str(c.log_level, "debug", "  good key after applied");
	is_str(c.listen, "0.0.0.0:443", "  bad key left at default");
	is_int(c.rate_limit_rpm, 5, "  bad number left at default");

	used = (size_t)snprintf(big, sizeof(big), "server:\n");
	for (int i = 0; i < 40; i++)
		used += (size_t)snprintf(big + used, sizeof(big) - used, "  k%d: 1\n", i);
	is_int(load_text(big, &c, &e), 0, "40 unknown keys");
	is_int(e.n, 32, "  errors capped at 32");
	is_int(e.e[31].line, 33, "  last kept error's line");
}

static void test_yaml_syntax(void)
{
	static const struct { const char *yaml; int line; const char *msg; } syn[] = {
		{ "server:\n  listen: a\n bad indent: x\n", 3, "YAML syntax error" },
		{ "server:\n  listen: \"unterminated\n", 3, "YAML syntax error" },
		{ "server:\n\tlisten: x\n", 2, "YAML syntax error" },
		{ "a: b: c\n", 1, "mapping values are not allowed" },
		{ "server: [a\n", 2, "YAML syntax error" },
		{ "server:\n  listen: x\nlogging:\n  level: \xff\xfe\n", 4, "invalid" },
		{ "server:\n  listen: a:1\n  bogus: x\n  - y\n", 4, "YAML syntax error" },
		{ "server:\n  listen: *nope\n", 2, "undefined alias" },
		{ "server: {}\n---\nserver: [\n", 4, "YAML syntax error" },
	};
	struct config c, before;
	struct config_errors e;

	for (size_t i = 0; i < sizeof(syn) / sizeof(syn[0]); i++) {
		config_defaults(&c);
		config_set(&c, "tls.mode", "manual", NULL, 0);
		before = c;
		e.n = 0;
		is_int(config_load_file(&c, write_file("s.yaml", syn[i].yaml, 0), &e),
		       -EINVAL, "syntax error %zu: -EINVAL", i);
		is_int(e.n, 1, "  exactly one error");
		is_int(e.e[0].line, syn[i].line, "  parser's line %d", syn[i].line);
		is_str(e.e[0].key, "", "  no key");
		if (!ok(strstr(e.e[0].message, syn[i].msg) != NULL, "  message has '%s'", syn[i].msg))
			printf("#   got '%s'\n", e.e[0].message);
		ok(same_config(&c, &before), "  config untouched");
	}
}

static void test_file_errors(void)
{
	struct config c;
	struct config_errors e = { .n = 0 };
	char path[PATH_MAX], *big;
	size_t n = 1024 * 1024 + 1;

	config_defaults(&c);
	snprintf(path, sizeof(path), "%s/missing.yaml", tmpdir);
	is_int(config_load_file(&c, path, &e), -ENOENT, "missing file: -ENOENT");
	is_int(e.n, 0, "  no error entry");
	is_int(config_load_file(&c, tmpdir, &e), -EISDIR, "directory: -EISDIR");
	big = malloc(n);
	memset(big, '#', n);
	is_int(config_load_file(&c, write_file("big.yaml", big, n), &e), -EFBIG,
	       "file over 1 MiB: -EFBIG");
	is_int(config_load_file(&c, write_file("max.yaml", big, n - 1), &e), 0,
	       "file of exactly 1 MiB of comment: ok");
	free(big);
	is_int(config_load_file(&c, write_file("nul.yaml", "server:\0 x", 10), &e), -EINVAL,
	       "NUL byte in file: syntax error");
	is_int(e.n, 1, "  one error");
	is_int(e.e[0].line, 1, "  on line 1");
}

/* ---- environment --------------------------------------------------------- */

static void test_env_mapping(void)
{
	char *envp[] = {
		"PATH=/usr/bin", "WGPILOT=x", "WGPILOT_CONFIG=/nope.yaml",
		"WGPILOT_DATA_DIR=/nope", "WGPILOT_AUTH_SESSION_TTL=2h",
		"WGPILOT_server_listen=[::]:8443", "WGPILOT_TLS_CERT_FILE=/c.pem",
		"WGPILOT_NO_EQUALS_SIGN", "XWGPILOT_TLS_MODE=acme", "wgpilot_tls_mode=acme",
		NULL,
	};
	char *bad_envp[] = {
		"WGPILOT_FOO_BAR=1", "WGPILOT_AUTH_NOPE=1", "WGPILOT_LOG_LEVEL=debug",
		"WGPILOT_LOGGING=debug", "WGPILOT_AUTH_RATE_LIMIT_RPM=0", "WGPILOT_=1",
		"WGPILOT_MONITOR_POLL_INTERVAL=soon", NULL,
	};
	/* Names that are no key (other WGPILOT_ variables, e.g. the original
	 * unit's WGPILOT_LOG_LEVEL) are skipped; bad values of real keys count. */
	static const struct { const char *key, *msg; } want[] = {
		{ "auth.rate_limit_rpm", "from 1 to 10000 (from WGPILOT_AUTH_RATE_LIMIT_RPM)" },
		{ "monitor.poll_interval", "(from WGPILOT_MONITOR_POLL_INTERVAL)" },
	};
	char longname[200];
	char *long_envp[] = { longname, NULL };
	struct config c, d;
	struct config_errors e = { .n = 0 };

	config_defaults(&c);
	is_int(config_apply_env(&c, envp, &e), 0, "env: no errors");
	is_int(e.n, 0, "  none recorded");
	is_int(c.session_ttl, 7200, "  WGPILOT_AUTH_SESSION_TTL -> auth.session_ttl");
	is_str(c.listen, "[::]:8443", "  lower-case name accepted");
	is_str(c.tls_cert_file, "/c.pem", "  WGPILOT_TLS_CERT_FILE");
	is_str(c.tls_mode, "self-signed", "  other prefixes ignored");
	is_str(c.db_path, "/var/lib/wgpilot/wgpilot.db", "  WGPILOT_DATA_DIR skipped here");
	is_str(c.path, "", "  WGPILOT_CONFIG skipped here");

	config_defaults(&c);
	d = c;
	is_int(config_apply_env(&c, bad_envp, &e), 2, "bad env: 2 errors returned, unknown names skipped");
	is_int(e.n, 2, "  2 recorded");
	for (int i = 0; i < 2 && i < e.n; i++) {
		is_int(e.e[i].line, 0, "  error %d: line 0", i);
		is_str(e.e[i].key, want[i].key, "  error %d: key", i);
		if (!ok(strstr(e.e[i].message, want[i].msg) != NULL, "  error %d: message", i))
			printf("#   got '%s'\n", e.e[i].message);
	}
	ok(same_config(&c, &d), "  nothing changed");

	memset(longname, 'A', sizeof(longname) - 1);
	memcpy(longname, "WGPILOT_SERVER_", 15);
	longname[sizeof(longname) - 1] = '\0';
	e.n = 0;
	is_int(config_apply_env(&c, long_envp, NULL), 0, "env with NULL errs, no '=': skipped");
	memcpy(longname + 150, "=1", 3);
	is_int(config_apply_env(&c, long_envp, &e), 0, "over-long env name: not a key, skipped");
	is_int(e.n, 0, "  nothing recorded");
	is_int(config_apply_env(&c, NULL, &e), 0, "NULL envp: nothing");
}

static void test_data_dir(void)
{
	static const struct { const char *dir, *db, *dd; } t[] = {
		{ "/tmp/x", "/tmp/x/wgpilot.db", "/tmp/x" },
		{ "/tmp/x/", "/tmp/x/wgpilot.db", "/tmp/x" },
		{ "/", "/wgpilot.db", "/" },
		{ "rel", "rel/wgpilot.db", "rel" },
	};
	struct config c;
	char longdir[PATH_MAX];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		config_defaults(&c);
		config_set_data_dir(&c, t[i].dir);
		is_str(c.db_path, t[i].db, "data dir '%s': db_path", t[i].dir);
		is_str(c.data_dir, t[i].dd, "  data_dir");
	}
	config_defaults(&c);
	config_set_data_dir(&c, "");
	is_str(c.db_path, "/var/lib/wgpilot/wgpilot.db", "empty data dir: unchanged");
	memset(longdir, 'd', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	config_set_data_dir(&c, longdir);
	is_str(c.db_path, "/var/lib/wgpilot/wgpilot.db", "too long data dir: unchanged");
	is_str(c.data_dir, "/var/lib/wgpilot", "  data_dir unchanged");
}

/* ---- config_load: sources and precedence --------------------------------- */

static void clear_env(void)
{
	char names[64][128];
	int n = 0;

	for (char **p = environ; *p && n < 64; p++) {
		const char *eq = strchr(*p, '=');

		if (strncmp(*p, "WGPILOT_", 8) == 0 && eq && eq - *p < 128)
			snprintf(names[n++], sizeof(names[0]), "%.*s", (int)(eq - *p), *p);
	}
	for (int i = 0; i < n; i++)
		unsetenv(names[i]);
}

static void test_load_precedence(void)
{
	const char *file = write_file("p.yaml",
		"server:\n  listen: 10.0.0.1:443\n  dev_mode: false\n"
		"database:\n  path: /file/wgpilot.db\n"
		"auth:\n  session_ttl: 1h\n  rate_limit_rpm: 7\n"
		"logging:\n  level: warn\n  format: text\n", 0);
	const char *other = write_file("o.yaml", "tls:\n  mode: manual\n", 0);
	struct config c;
	struct config_errors e;

	clear_env();
	is_int(config_load(&c, file, NULL, NULL, -1, &e), 0, "load: file only");
	is_int(e.n, 0, "  no errors");
	is_str(c.path, file, "  path recorded");
	is_str(c.listen, "10.0.0.1:443", "  file listen");
	is_str(c.db_path, "/file/wgpilot.db", "  file db path");
	is_str(c.data_dir, "/file", "  file data dir");
	is_str(c.log_level, "warn", "  file level");

	setenv("WGPILOT_SERVER_LISTEN", "10.0.0.2:443", 1);
	setenv("WGPILOT_LOGGING_LEVEL", "error", 1);
	setenv("WGPILOT_DATABASE_PATH", "/envdb/wgpilot.db", 1);
	is_int(config_load(&c, file, NULL, NULL, -1, &e), 0, "load: file + env");
	is_str(c.listen, "10.0.0.2:443", "  env beats file (listen)");
	is_str(c.log_level, "error", "  env beats file (level)");
	is_str(c.log_format, "text", "  file value kept where env is silent");
	is_int(c.session_ttl, 3600, "  file session_ttl kept");
	is_int(c.rate_limit_rpm, 7, "  file rate limit kept");
	is_str(c.db_path, "/envdb/wgpilot.db", "  env database path");

	setenv("WGPILOT_DATA_DIR", "/envdir", 1);
	is_int(config_load(&c, file, NULL, NULL, -1, &e), 0, "load: + WGPILOT_DATA_DIR");
	is_str(c.db_path, "/envdir/wgpilot.db", "  WGPILOT_DATA_DIR beats database.path");
	is_str(c.data_dir, "/envdir", "  data_dir");

	is_int(config_load(&c, file, "/flagdir", "debug", -1, &e), 0, "load: + flags");
	is_str(c.db_path, "/flagdir/wgpilot.db", "  --data-dir beats env");
	is_str(c.data_dir, "/flagdir", "  data_dir from flag");
	is_str(c.log_level, "debug", "  --log-level beats env");
	is_str(c.listen, "10.0.0.2:443", "  env listen still there");

	setenv("WGPILOT_CONFIG", other, 1);
	is_int(config_load(&c, NULL, NULL, NULL, -1, &e), 0, "load: $WGPILOT_CONFIG");
	is_str(c.path, other, "  file from WGPILOT_CONFIG");
	is_str(c.tls_mode, "manual", "  its value");
	is_int(config_load(&c, file, NULL, NULL, -1, &e), 0, "load: path arg beats WGPILOT_CONFIG");
	is_str(c.path, file, "  path arg used");
	is_str(c.tls_mode, "self-signed", "  other file not read");
	clear_env();

	/* dev mode */
	is_int(config_load(&c, other, NULL, NULL, 1, &e), 0, "--dev-mode");
	ok(c.dev_mode, "  dev_mode on");
	is_str(c.log_level, "debug", "  info raised to debug");
	is_int(config_load(&c, other, NULL, "info", 1, &e), 0, "--dev-mode --log-level info");
	is_str(c.log_level, "debug", "  explicit info raised too");
	is_int(config_load(&c, other, NULL, "warn", 1, &e), 0, "--dev-mode --log-level warn");
	is_str(c.log_level, "warn", "  warn stays warn");
	setenv("WGPILOT_SERVER_DEV_MODE", "true", 1);
	is_int(config_load(&c, other, NULL, NULL, -1, &e), 0, "env dev mode");
	ok(c.dev_mode, "  on from env");
	is_str(c.log_level, "debug", "  raises info");
	is_int(config_load(&c, other, NULL, NULL, 0, &e), 0, "--dev-mode=false beats env");
	ok(!c.dev_mode, "  off from flag");
	is_str(c.log_level, "info", "  level stays info");
	clear_env();
}

static void test_load_errors(void)
{
	char missing[PATH_MAX];
	const char *badf = write_file("b.yaml", "server:\n  listen: x\n", 0);
	const char *synf = write_file("y.yaml", "a: b: c\n", 0);
	struct config c;
	struct config_errors e;
	struct stat st;

	clear_env();
	snprintf(missing, sizeof(missing), "%s/missing.yaml", tmpdir);
	is_int(config_load(&c, missing, NULL, NULL, -1, &e), -EINVAL, "named missing file: error");
	is_int(e.n, 1, "  one error");
	ok(strstr(e.e[0].message, "cannot read") && strstr(e.e[0].message, "missing.yaml"),
	   "  says which file: %s", e.e[0].message);
	setenv("WGPILOT_CONFIG", missing, 1);
	is_int(config_load(&c, NULL, NULL, NULL, -1, &e), -EINVAL, "missing $WGPILOT_CONFIG: error");
	setenv("WGPILOT_CONFIG", "", 1);
	if (stat(CONFIG_DEFAULT_PATH, &st) == 0) {
		ok(1, "# SKIP %s exists on this machine", CONFIG_DEFAULT_PATH);
	} else {
		is_int(config_load(&c, NULL, NULL, NULL, -1, &e), 0, "missing default file: fine");
		is_str(c.path, "", "  no path");
	}
	clear_env();

	is_int(config_load(&c, badf, NULL, NULL, -1, &e), -EINVAL, "bad value in file: -EINVAL");
	is_int(e.n, 1, "  one error");
	is_int(e.e[0].line, 2, "  with its line");
	is_int(config_load(&c, synf, NULL, NULL, -1, NULL), -EINVAL, "syntax error, NULL errs");
	is_int(config_load(&c, badf, NULL, "loud", -1, &e), -EINVAL, "bad --log-level");
	is_int(e.n, 2, "  file error and flag error");
	is_str(e.e[1].key, "logging.level", "  flag error key");
	ok(strstr(e.e[1].message, "--log-level") != NULL, "  names the flag");
	is_int(config_load(&c, synf, "", NULL, -1, &e), -EINVAL, "empty --data-dir");
	ok(e.n == 2 && strstr(e.e[1].message, "--data-dir") != NULL, "  names the flag");
	setenv("WGPILOT_AUTH_RATE_LIMIT_RPM", "0", 1);
	is_int(config_load(&c, badf, NULL, NULL, -1, &e), -EINVAL, "bad env value: -EINVAL");
	is_int(e.n, 2, "  file error and env error");
	is_int(e.e[1].line, 0, "  env error has line 0");
	is_str(e.e[1].key, "auth.rate_limit_rpm", "  env error key");
	clear_env();
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		skip_all("mkdtemp failed");
	test_defaults();
	test_set_every_key();
	test_yaml_every_key();
	test_env_every_key();
	test_bad_values();
	test_good_values();
	test_durations();
	test_yaml_valid_shapes();
	test_yaml_errors();
	test_yaml_continues();
	test_yaml_syntax();
	test_file_errors();
	test_env_mapping();
	test_data_dir();
	test_load_precedence();
	test_load_errors();
	for (int i = 0; i < nfiles; i++)
		unlink(files[i]);
	rmdir(tmpdir);
	return done_testing();
}
