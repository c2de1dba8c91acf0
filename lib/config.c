/* SPDX-License-Identifier: MIT */
/*
 * Configuration loading (operations.md §3). One table of keys drives the
 * defaults, the YAML walker, the environment mapping and config_set(), so a
 * key behaves the same from every source.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"

#define CONFIG_MAX_FILE (1024 * 1024)   /* a real config is a few hundred bytes */
#define CONFIG_DAY 86400LL
#define NS_PER_SEC 1000000000ULL

enum config_type {
	CT_STRING,      /* stored as given; no control characters */
	CT_LISTEN,      /* "[host]:port", rendered into the nginx site */
	CT_BOOL,        /* bool */
	CT_INT,         /* int, min..max */
	CT_U64,         /* unsigned long long, min..max */
	CT_SIZE,        /* size_t, min..max */
	CT_DURATION,    /* long long seconds, min..max */
	CT_ENUM,        /* one of choices, stored in its canonical spelling */
};

#define CF_NONEMPTY 0x1         /* "" is not a valid value */
#define CF_ZERO_OK 0x2          /* 0 (= library default) besides min..max */

enum config_key_id {
	CK_SERVER_LISTEN, CK_SERVER_DEV_MODE,
	CK_DATABASE_PATH,
	CK_AUTH_SESSION_TTL, CK_AUTH_BCRYPT_COST, CK_AUTH_ARGON2_OPSLIMIT,
	CK_AUTH_ARGON2_MEMLIMIT, CK_AUTH_RATE_LIMIT_RPM, CK_AUTH_MASTER_KEY_FILE,
	CK_TLS_MODE, CK_TLS_CERT_FILE, CK_TLS_KEY_FILE, CK_TLS_ACME_EMAIL,
	CK_TLS_ACME_DOMAIN,
	CK_LOGGING_LEVEL, CK_LOGGING_FORMAT,
	CK_MONITOR_POLL_INTERVAL, CK_MONITOR_SNAPSHOT_RETENTION,
	CK_MONITOR_COMPACTION_INTERVAL, CK_MONITOR_EVENT_DRIVEN,
	CK_RECONCILER_SOCKET, CK_RECONCILER_BACKEND, CK_RECONCILER_USERSPACE_BINARY,
	CK_RECONCILER_RESYNC_INTERVAL,
	CK_METRICS_ALLOW,
	CK__MAX
};
_Static_assert(CK__MAX <= 64, "the YAML walker keeps one bit per key");

struct config_key {
	const char *name;               /* "section.key" */
	enum config_type type;
	size_t off, size;               /* the field in struct config */
	unsigned flags;
	long long min, max;             /* numbers and durations */
	const char *const *choices;     /* CT_ENUM, NULL-terminated */
	const char *def;                /* default, parsed like any other value */
};

static const char *const config_tls_modes[] = { "self-signed", "acme", "manual", NULL };
static const char *const config_levels[] = { "debug", "info", "warn", "error", NULL };
static const char *const config_formats[] = { "json", "text", NULL };
static const char *const config_backends[] = { "auto", "kernel", "userspace", NULL };

#define FIELD(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define STR(n, f, fl, def) { n, CT_STRING, FIELD(f), fl, 0, 0, NULL, def }
#define NUM(n, t, f, fl, lo, hi, def) { n, t, FIELD(f), fl, lo, hi, NULL, def }
#define ENUM(n, f, ch, def) { n, CT_ENUM, FIELD(f), CF_NONEMPTY, 0, 0, ch, def }
#define DUR(n, f, def) { n, CT_DURATION, FIELD(f), 0, 1, 3650 * CONFIG_DAY, NULL, def }

static const struct config_key config_keys[CK__MAX] = {
	[CK_SERVER_LISTEN] = { "server.listen", CT_LISTEN, FIELD(listen), CF_NONEMPTY, 0, 0,
	                       NULL, "0.0.0.0:443" },
	[CK_SERVER_DEV_MODE] = NUM("server.dev_mode", CT_BOOL, dev_mode, 0, 0, 0, "false"),
	[CK_DATABASE_PATH] = STR("database.path", db_path, CF_NONEMPTY,
	                         CONFIG_DEFAULT_DATA_DIR "/wgpilot.db"),
	[CK_AUTH_SESSION_TTL] = DUR("auth.session_ttl", session_ttl, "24h"),
	[CK_AUTH_BCRYPT_COST] = NUM("auth.bcrypt_cost", CT_INT, bcrypt_cost, 0, 4, 31, "12"),
	/* libsodium's crypto_pwhash (Argon2id) limits */
	[CK_AUTH_ARGON2_OPSLIMIT] = NUM("auth.argon2_opslimit", CT_U64, argon2_opslimit,
	                                CF_ZERO_OK, 1, 4294967295LL, "0"),
	[CK_AUTH_ARGON2_MEMLIMIT] = NUM("auth.argon2_memlimit", CT_SIZE, argon2_memlimit,
	                                CF_ZERO_OK, 8192,
	                                SIZE_MAX < 4398046510080ULL ? (long long)SIZE_MAX
	                                                            : 4398046510080LL, "0"),
	[CK_AUTH_RATE_LIMIT_RPM] = NUM("auth.rate_limit_rpm", CT_INT, rate_limit_rpm, 0, 1,
	                               10000, "5"),
	[CK_AUTH_MASTER_KEY_FILE] = STR("auth.master_key_file", master_key_file, CF_NONEMPTY,
	                                "/etc/wgpilot/master.key"),
	[CK_TLS_MODE] = ENUM("tls.mode", tls_mode, config_tls_modes, "self-signed"),
	[CK_TLS_CERT_FILE] = STR("tls.cert_file", tls_cert_file, 0, ""),
	[CK_TLS_KEY_FILE] = STR("tls.key_file", tls_key_file, 0, ""),
	[CK_TLS_ACME_EMAIL] = STR("tls.acme_email", acme_email, 0, ""),
	[CK_TLS_ACME_DOMAIN] = STR("tls.acme_domain", acme_domain, 0, ""),
	[CK_LOGGING_LEVEL] = ENUM("logging.level", log_level, config_levels, "info"),
	[CK_LOGGING_FORMAT] = ENUM("logging.format", log_format, config_formats, "json"),
	[CK_MONITOR_POLL_INTERVAL] = DUR("monitor.poll_interval", poll_interval, "30s"),
	[CK_MONITOR_SNAPSHOT_RETENTION] = DUR("monitor.snapshot_retention", snapshot_retention,
	                                      "365d"),
	[CK_MONITOR_COMPACTION_INTERVAL] = DUR("monitor.compaction_interval",
	                                       compaction_interval, "24h"),
	[CK_MONITOR_EVENT_DRIVEN] = NUM("monitor.event_driven", CT_BOOL, event_driven, 0, 0, 0,
	                                "true"),
	[CK_RECONCILER_SOCKET] = STR("reconciler.socket", rec_socket, CF_NONEMPTY,
	                             "/run/wgpilot/reconciler.sock"),
	[CK_RECONCILER_BACKEND] = ENUM("reconciler.backend", rec_backend, config_backends, "auto"),
	[CK_RECONCILER_USERSPACE_BINARY] = STR("reconciler.userspace_binary",
	                                       rec_userspace_binary, 0, ""),
	[CK_RECONCILER_RESYNC_INTERVAL] = DUR("reconciler.resync_interval", resync_interval,
	                                      "60s"),
	[CK_METRICS_ALLOW] = STR("metrics.allow", metrics_allow, 0, ""),
};

/* ---- helpers ------------------------------------------------------------ */

/* Copies len bytes of src (truncating) and terminates. */
static void config_copy(char *dst, size_t dstsz, const char *src, size_t len)
{
	if (dstsz == 0)
		return;
	if (len >= dstsz)
		len = dstsz - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static void config_err(struct config_errors *errs, int line, const char *key,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Appends one error; extra errors past the array's capacity are dropped. */
static void config_err(struct config_errors *errs, int line, const char *key,
                       const char *fmt, ...)
{
	struct config_error *e;
	va_list ap;

	if (!errs || errs->n < 0 || errs->n >= (int)(sizeof(errs->e) / sizeof(errs->e[0])))
		return;
	e = &errs->e[errs->n++];
	e->line = line;
	config_copy(e->key, sizeof(e->key), key, strlen(key));
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

static void *config_field(struct config *c, const struct config_key *k)
{
	return (char *)c + k->off;
}

static const struct config_key *config_key_find(const char *name)
{
	for (size_t i = 0; i < CK__MAX; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* Index of the first key of section name[0..len), or -1 when unknown. */
static int config_section_find(const char *name, size_t len)
{
	for (int i = 0; i < CK__MAX; i++)
		if (strncmp(config_keys[i].name, name, len) == 0 && config_keys[i].name[len] == '.')
			return i;
	return -1;
}

/* Largest whole unit, for messages: 86400 -> "1d". */
static void config_fmt_secs(char *buf, size_t sz, long long s)
{
	if (s % CONFIG_DAY == 0)
		snprintf(buf, sz, "%lldd", s / CONFIG_DAY);
	else if (s % 3600 == 0)
		snprintf(buf, sz, "%lldh", s / 3600);
	else if (s % 60 == 0)
		snprintf(buf, sz, "%lldm", s / 60);
	else
		snprintf(buf, sz, "%llds", s);
}

/* POSIX dirname() without modifying its argument: "/a/b.db" -> "/a". */
static void config_dirname(char *out, size_t outsz, const char *path)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	while (n > 0 && path[n - 1] != '/')
		n--;
	if (n == 0) {
		config_copy(out, outsz, ".", 1);
		return;
	}
	while (n > 1 && path[n - 1] == '/')
		n--;
	config_copy(out, outsz, path, n);
}

/* ---- value parsers -------------------------------------------------------- */

static bool config_has_ctl(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

/* Decimal integer with optional sign, nothing else (no spaces, no 0x). */
static int config_parse_ll(const char *v, long long *out)
{
	const char *p = v;
	char *end;

	if (*p == '+' || *p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoll(v, &end, 10);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

/* "host:port", "[v6]:port" or ":port"; the host may only hold characters
 * that cannot break the nginx directive it is rendered into. */
static bool config_listen_ok(const char *v)
{
	const char *colon = strrchr(v, ':'), *p;
	long long port;

	if (!colon || config_parse_ll(colon + 1, &port) < 0 || colon[1] == '+' ||
	    colon[1] == '-' || port < 1 || port > 65535)
		return false;
	if (v[0] == '[') {
		if (colon - v < 3 || colon[-1] != ']')
			return false;
		for (p = v + 1; p < colon - 1; p++)
			if (!strchr("0123456789abcdefABCDEF:.", *p))
				return false;
		return true;
	}
	for (p = v; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '*'))
			return false;
	return true;
}

struct config_unit {
	const char *name;
	unsigned long long ns;
};

static const struct config_unit config_units[] = {
	{ "ns", 1ULL }, { "us", 1000ULL }, { "\xc2\xb5s", 1000ULL }, { "\xce\xbcs", 1000ULL },
	{ "ms", 1000000ULL }, { "s", NS_PER_SEC }, { "m", 60 * NS_PER_SEC },
	{ "h", 3600 * NS_PER_SEC }, { "d", 86400 * NS_PER_SEC },
};

static const struct config_unit *config_unit_find(const char *u, size_t len)
{
	for (size_t i = 0; i < sizeof(config_units) / sizeof(config_units[0]); i++)
		if (strlen(config_units[i].name) == len && memcmp(config_units[i].name, u, len) == 0)
			return &config_units[i];
	return NULL;
}

/* One "<number>[.<fraction>]<unit>" term of a duration; advances *sp and
 * returns its length in nanoseconds (capped at INT64_MAX), or -EINVAL. */
static int config_duration_term(const char **sp, unsigned long long *ns)
{
	const unsigned long long cap = INT64_MAX;
	unsigned long long v = 0, f = 0;
	double scale = 1;
	const char *s = *sp, *u;
	bool digits = false;
	const struct config_unit *unit;

	for (; *s >= '0' && *s <= '9'; s++, digits = true) {
		if (v > (cap - (unsigned)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (*s == '.') {
		/* digits beyond 18 are below a nanosecond of any unit */
		for (s++; *s >= '0' && *s <= '9'; s++, digits = true)
			if (scale < 1e18) {
				f = f * 10 + (unsigned)(*s - '0');
				scale *= 10;
			}
	}
	for (u = s; *s && *s != '.' && (*s < '0' || *s > '9'); s++)
		;
	unit = config_unit_find(u, (size_t)(s - u));
	if (!digits || !unit || (v && v > cap / unit->ns))
		return -EINVAL;
	v *= unit->ns;
	v += (unsigned long long)((double)f * ((double)unit->ns / scale));
	if (v > cap)
		return -EINVAL;
	*ns = v;
	*sp = s;
	return 0;
}

/* Go duration syntax ("1h30m", "1.5s", "250ms") plus "d" = 24h, > 0, in
 * whole seconds rounded down (at least 1), as lib/validate.c does. */
static int config_parse_duration(const char *s, long long *seconds)
{
	unsigned long long total = 0, term;

	if (*s == '+')
		s++;
	if (!*s)
		return -EINVAL;
	while (*s) {
		if (config_duration_term(&s, &term) < 0 || term > (unsigned long long)INT64_MAX - total)
			return -EINVAL;
		total += term;
	}
	if (total == 0)
		return -EINVAL;
	*seconds = total < NS_PER_SEC ? 1 : (long long)(total / NS_PER_SEC);
	return 0;
}

/* ---- setting one key ---------------------------------------------------- */

static int config_set_string(struct config *c, const struct config_key *k, const char *v,
                             char *msg, size_t msgsz)
{
	const char *why = NULL;
	size_t len = strlen(v);

	if (len >= k->size) {
		snprintf(msg, msgsz, "too long (at most %zu bytes)", k->size - 1);
		return -EINVAL;
	}
	if ((k->flags & CF_NONEMPTY) && len == 0)
		why = "must not be empty";
	else if (config_has_ctl(v))
		why = "must not contain control characters";
	else if (k->type == CT_LISTEN && !config_listen_ok(v))
		why = "must be host:port, [ipv6]:port or :port (port 1-65535)";
	if (why) {
		snprintf(msg, msgsz, "%s", why);
		return -EINVAL;
	}
	memcpy(config_field(c, k), v, len + 1);
	return 0;
}

static int config_set_bool(struct config *c, const struct config_key *k, const char *v,
                           char *msg, size_t msgsz)
{
	static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no", "off" };

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
			*(bool *)config_field(c, k) = strcasecmp(v, yes[i]) == 0;
			return 0;
		}
	}
	snprintf(msg, msgsz, "must be true or false (or yes/no, on/off)");
	return -EINVAL;
}

static int config_set_number(struct config *c, const struct config_key *k, const char *v,
                             char *msg, size_t msgsz)
{
	void *f = config_field(c, k);
	long long n;

	if (config_parse_ll(v, &n) < 0 || ((n < k->min || n > k->max) &&
	                                   !(n == 0 && (k->flags & CF_ZERO_OK)))) {
		snprintf(msg, msgsz, "must be %san integer from %lld to %lld",
		         k->flags & CF_ZERO_OK ? "0 (default) or " : "", k->min, k->max);
		return -EINVAL;
	}
	if (k->type == CT_INT)
		*(int *)f = (int)n;
	else if (k->type == CT_U64)
		*(unsigned long long *)f = (unsigned long long)n;
	else
		*(size_t *)f = (size_t)n;
	return 0;
}

static int config_set_duration(struct config *c, const struct config_key *k, const char *v,
                               char *msg, size_t msgsz)
{
	char lo[24], hi[24];
	long long s;

	if (config_parse_duration(v, &s) < 0) {
		snprintf(msg, msgsz, "invalid duration (e.g. '30s', '90m', '24h', '365d')");
		return -EINVAL;
	}
	if (s < k->min || s > k->max) {
		config_fmt_secs(lo, sizeof(lo), k->min);
		config_fmt_secs(hi, sizeof(hi), k->max);
		snprintf(msg, msgsz, "must be from %s to %s", lo, hi);
		return -EINVAL;
	}
	*(long long *)config_field(c, k) = s;
	return 0;
}

static int config_set_enum(struct config *c, const struct config_key *k, const char *v,
                           char *msg, size_t msgsz)
{
	size_t used = 0;

	for (const char *const *ch = k->choices; *ch; ch++) {
		if (strcasecmp(v, *ch) == 0) {
			config_copy(config_field(c, k), k->size, *ch, strlen(*ch));
			return 0;
		}
	}
	used = (size_t)snprintf(msg, msgsz, "must be one of: %s", k->choices[0]);
	for (const char *const *ch = k->choices + 1; *ch && used < msgsz; ch++)
		used += (size_t)snprintf(msg + used, msgsz - used, ", %s", *ch);
	return -EINVAL;
}

static int config_key_set(struct config *c, const struct config_key *k, const char *v,
                          char *msg, size_t msgsz)
{
	int rc;

	switch (k->type) {
	case CT_STRING:
	case CT_LISTEN:
		rc = config_set_string(c, k, v, msg, msgsz);
		break;
	case CT_BOOL:
		rc = config_set_bool(c, k, v, msg, msgsz);
		break;
	case CT_INT:
	case CT_U64:
	case CT_SIZE:
		rc = config_set_number(c, k, v, msg, msgsz);
		break;
	case CT_DURATION:
		rc = config_set_duration(c, k, v, msg, msgsz);
		break;
	case CT_ENUM:
	default:
		rc = config_set_enum(c, k, v, msg, msgsz);
		break;
	}
	if (rc == 0 && k == &config_keys[CK_DATABASE_PATH])
		config_dirname(c->data_dir, sizeof(c->data_dir), c->db_path);
	return rc;
}

void config_defaults(struct config *c)
{
	char msg[1];

	memset(c, 0, sizeof(*c));
	/* the defaults are constants that t/13-config proves valid */
	for (size_t i = 0; i < CK__MAX; i++)
		config_key_set(c, &config_keys[i], config_keys[i].def, msg, sizeof(msg));
}

int config_set(struct config *c, const char *key, const char *value, char *msg, size_t msgsz)
{
	const struct config_key *k = config_key_find(key);
	const char *dot = strchr(key, '.');
	char scratch[160];

	if (!msg || msgsz == 0) {
		msg = scratch;
		msgsz = sizeof(scratch);
	}
	if (!k) {
		if (config_section_find(key, dot ? (size_t)(dot - key) : strlen(key)) < 0)
			snprintf(msg, msgsz, "unknown section");
		else
			snprintf(msg, msgsz, "unknown key");
		return -ENOENT;
	}
	return config_key_set(c, k, value, msg, msgsz);
}

/* db_path = dir/wgpilot.db; 0, or -EINVAL ("") / -ENAMETOOLONG, leaving c as it was. */
static int config_data_dir_apply(struct config *c, const char *dir)
{
	char path[sizeof(c->db_path)];
	size_t len = strlen(dir);
	int n;

	if (len == 0)
		return -EINVAL;
	n = snprintf(path, sizeof(path), "%s%swgpilot.db", dir, dir[len - 1] == '/' ? "" : "/");
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(c->db_path, path, (size_t)n + 1);
	config_dirname(c->data_dir, sizeof(c->data_dir), c->db_path);
	return 0;
}

void config_set_data_dir(struct config *c, const char *dir)
{
	config_data_dir_apply(c, dir);
}

/* ---- the YAML file ------------------------------------------------------ */

struct config_walk {
	yaml_document_t *doc;
	struct config *c;
	struct config_errors *errs;
	unsigned long long seen_keys;   /* bit per config_key_id */
	unsigned long long seen_sections; /* bit per first key of a section */
};

static int config_line(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

static const char *config_node_kind(const yaml_node_t *n)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return "a sequence";
	return n->type == YAML_MAPPING_NODE ? "a mapping" : "a scalar";
}

/* A plain empty/~/null scalar: YAML's null, read as "". */
static bool config_node_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

/* "key: value" inside section: validates and applies the value. */
static void config_walk_key(struct config_walk *w, const char *section, const yaml_node_t *kn,
                            const yaml_node_t *vn)
{
	const char *key = (const char *)kn->data.scalar.value, *value;
	const struct config_key *k = NULL;
	char name[sizeof(((struct config_error *)0)->key)], msg[128];
	unsigned long long bit;
	int n;

	n = snprintf(name, sizeof(name), "%s.%s", section, key);
	/* a truncated or NUL-holding name must never match a real key */
	if (n > 0 && (size_t)n < sizeof(name) && strlen(key) == kn->data.scalar.length)
		k = config_key_find(name);
	if (!k) {
		config_err(w->errs, config_line(kn), name, "unknown key");
		return;
	}
	bit = 1ULL << (k - config_keys);
	if (w->seen_keys & bit) {
		config_err(w->errs, config_line(kn), name, "duplicate key");
		return;
	}
	w->seen_keys |= bit;
	if (vn->type != YAML_SCALAR_NODE) {
		config_err(w->errs, config_line(vn), name, "expected a single value, not %s",
		           config_node_kind(vn));
		return;
	}
	value = (const char *)vn->data.scalar.value;
	if (strlen(value) != vn->data.scalar.length)
		config_err(w->errs, config_line(vn), name, "must not contain NUL bytes");
	else if (config_key_set(w->c, k, config_node_null(vn) ? "" : value, msg, sizeof(msg)) < 0)
		config_err(w->errs, config_line(vn), name, "%s", msg);
}

/* "section:" followed by its mapping of keys (or nothing). */
static void config_walk_section(struct config_walk *w, const yaml_node_t *kn,
                                const yaml_node_t *vn)
{
	const char *name = (const char *)kn->data.scalar.value;
	int sec = config_section_find(name, kn->data.scalar.length);
	const yaml_node_pair_t *pair;

	if (sec < 0) {
		config_err(w->errs, config_line(kn), name, "unknown section");
		return;
	}
	if (w->seen_sections & (1ULL << sec)) {
		config_err(w->errs, config_line(kn), name, "duplicate section");
		return;
	}
	if (vn->type != YAML_MAPPING_NODE) {
		if (!config_node_null(vn))
			config_err(w->errs, config_line(vn), name,
			           "expected a mapping of keys, not %s", config_node_kind(vn));
		return;
	}
	w->seen_sections |= 1ULL << sec;
	for (pair = vn->data.mapping.pairs.start; pair < vn->data.mapping.pairs.top; pair++) {
		const yaml_node_t *k = yaml_document_get_node(w->doc, pair->key);
		const yaml_node_t *v = yaml_document_get_node(w->doc, pair->value);

		if (k->type == YAML_SCALAR_NODE)
			config_walk_key(w, name, k, v);
		else
			config_err(w->errs, config_line(k), name, "a key must be a scalar, not %s",
			           config_node_kind(k));
	}
}

/* The document: a mapping of sections, or nothing at all. Only two levels
 * are ever visited, so alias cycles cannot loop. */
static void config_walk(struct config_walk *w)
{
	const yaml_node_t *root = yaml_document_get_root_node(w->doc);
	const yaml_node_pair_t *pair;

	if (!root || config_node_null(root))
		return;
	if (root->type != YAML_MAPPING_NODE) {
		config_err(w->errs, config_line(root), "", "expected a mapping of sections, not %s",
		           config_node_kind(root));
		return;
	}
	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		const yaml_node_t *k = yaml_document_get_node(w->doc, pair->key);
		const yaml_node_t *v = yaml_document_get_node(w->doc, pair->value);

		if (k->type == YAML_SCALAR_NODE)
			config_walk_section(w, k, v);
		else
			config_err(w->errs, config_line(k), "", "a key must be a scalar, not %s",
			           config_node_kind(k));
	}
}

/* Reports the parser's error with its line: -EINVAL, or -ENOMEM. */
static int config_parse_failed(const yaml_parser_t *p, const char *text,
                               struct config_errors *errs)
{
	const char *problem = p->problem ? p->problem : "invalid YAML";
	int line = (int)p->problem_mark.line + 1;

	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	if (p->error == YAML_READER_ERROR) {
		/* the reader only knows the byte offset */
		line = 1;
		for (size_t i = 0; i < p->problem_offset && text[i]; i++)
			line += text[i] == '\n';
	}
	if (p->context)
		config_err(errs, line, "", "YAML syntax error: %s (%s)", problem, p->context);
	else
		config_err(errs, line, "", "YAML syntax error: %s", problem);
	return -EINVAL;
}

/* The whole file as a NUL-terminated string; -errno, -EFBIG over 1 MiB. */
static int config_read_file(const char *path, char **textp, size_t *lenp)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap + 1), *nb;
	ssize_t r;
	int fd = -1, rc = 0;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		if (len == cap) {
			nb = cap > CONFIG_MAX_FILE ? NULL : realloc(buf, 2 * cap + 1);
			if (!nb) {
				rc = cap > CONFIG_MAX_FILE ? -EFBIG : -ENOMEM;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > CONFIG_MAX_FILE)
		rc = -EFBIG;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*textp = buf;
	*lenp = len;
	return 0;
}

int config_load_file(struct config *c, const char *path, struct config_errors *errs)
{
	struct config_walk w = { .c = c, .errs = errs };
	yaml_parser_t parser;
	yaml_document_t doc, next;
	bool have_parser = false, have_doc = false;
	char *text = NULL;
	size_t len;
	int rc;

	rc = config_read_file(path, &text, &len);
	if (rc < 0)
		goto out;
	if (!yaml_parser_initialize(&parser)) {
		rc = -ENOMEM;
		goto out;
	}
	have_parser = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	/* parse everything first: a syntax error must leave c untouched */
	if (!yaml_parser_load(&parser, &doc)) {
		rc = config_parse_failed(&parser, text, errs);
		goto out;
	}
	have_doc = true;
	if (!yaml_parser_load(&parser, &next)) {
		rc = config_parse_failed(&parser, text, errs);
		goto out;
	}
	if (yaml_document_get_root_node(&next))
		config_err(errs, config_line(yaml_document_get_root_node(&next)), "",
		           "only one YAML document is allowed");
	yaml_document_delete(&next);
	w.doc = &doc;
	config_walk(&w);
	config_copy(c->path, sizeof(c->path), path, strlen(path));
out:
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	free(text);
	return rc;
}

/* ---- environment and the full sequence ---------------------------------- */

/* "AUTH_SESSION_TTL" -> "auth.session_ttl": lower-cased, the first '_' becomes
 * the dot. -ENAMETOOLONG if it does not fit (out then holds a prefix). */
static int config_env_key(const char *name, size_t len, char *out, size_t outsz)
{
	bool dot = false;
	size_t i;

	for (i = 0; i < len && i + 1 < outsz; i++) {
		char ch = name[i];

		if (ch == '_' && !dot) {
			ch = '.';
			dot = true;
		} else if (ch >= 'A' && ch <= 'Z') {
			ch = (char)(ch - 'A' + 'a');
		}
		out[i] = ch;
	}
	out[i] = '\0';
	return i < len ? -ENAMETOOLONG : 0;
}

int config_apply_env(struct config *c, char *const *envp, struct config_errors *errs)
{
	char key[sizeof(((struct config_error *)0)->key)], msg[128];
	const char *name, *eq;
	int count = 0, rc;

	for (; envp && *envp; envp++) {
		if (strncmp(*envp, "WGPILOT_", 8) != 0)
			continue;
		name = *envp + 8;
		eq = strchr(name, '=');
		if (!eq || !strncmp(name, "CONFIG=", 7) || !strncmp(name, "DATA_DIR=", 9))
			continue;
		/* Variables that name no key are not ours (launchers and units share
		 * the prefix, e.g. WGPILOT_LOG_LEVEL): skip them; a bad value for a
		 * real key is an error. */
		if (config_env_key(name, (size_t)(eq - name), key, sizeof(key)) < 0)
			continue;
		rc = config_set(c, key, eq + 1, msg, sizeof(msg));
		if (rc == 0 || rc == -ENOENT)
			continue;
		config_err(errs, 0, key, "%s (from WGPILOT_%.*s)", msg, (int)(eq - name), name);
		count++;
	}
	return count;
}

int config_load(struct config *c, const char *path, const char *flag_data_dir,
                const char *flag_log_level, int flag_dev_mode, struct config_errors *errs)
{
	struct config_errors scratch;
	const char *env_path = getenv("WGPILOT_CONFIG"), *env_dir = getenv("WGPILOT_DATA_DIR");
	bool named = true;
	char msg[128];
	int rc;

	if (!errs)
		errs = &scratch;
	errs->n = 0;
	config_defaults(c);

	if (!path || !*path)
		path = env_path && *env_path ? env_path : NULL;
	if (!path) {
		path = CONFIG_DEFAULT_PATH;
		named = false;
	}
	rc = config_load_file(c, path, errs);
	if (rc < 0 && rc != -EINVAL && (rc != -ENOENT || named))
		config_err(errs, 0, "", "cannot read %s: %s", path, strerror(-rc));

	config_apply_env(c, environ, errs);
	if (env_dir && *env_dir && (rc = config_data_dir_apply(c, env_dir)) < 0)
		config_err(errs, 0, "database.path", "bad data directory: %s (from WGPILOT_DATA_DIR)",
		           strerror(-rc));
	if (flag_data_dir && (rc = config_data_dir_apply(c, flag_data_dir)) < 0)
		config_err(errs, 0, "database.path", "bad data directory: %s (from --data-dir)",
		           rc == -EINVAL ? "empty" : strerror(-rc));
	if (flag_log_level && config_set(c, "logging.level", flag_log_level, msg, sizeof(msg)) < 0)
		config_err(errs, 0, "logging.level", "%s (from --log-level)", msg);
	if (flag_dev_mode >= 0)
		c->dev_mode = flag_dev_mode > 0;
	if (c->dev_mode && strcmp(c->log_level, "info") == 0)
		config_copy(c->log_level, sizeof(c->log_level), "debug", 5);
	return errs->n > 0 ? -EINVAL : 0;
}
