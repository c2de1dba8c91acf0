/* SPDX-License-Identifier: MIT */
/*
 * The request line's parsers, kept free of the DB and FastCGI so that
 * fuzz/fuzz-query.c can drive them: query strings (one scanner, query_next,
 * under both networks_query and query_parse) and the route patterns of
 * main.c's table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"

/* ---- query strings ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..n) ('+' = space) into out, NUL-terminated. 0, or
 * -EINVAL (out = "") for a broken escape, an encoded NUL, or a result
 * longer than outsz - 1. */
static int pct_decode(const char *s, size_t n, char *out, size_t outsz)
{
	size_t k = 0;

	if (outsz == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(s[i + 2]) : -1;

			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				goto bad;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (k + 1 >= outsz)
			goto bad;
		out[k++] = c;
	}
	out[k] = '\0';
	return 0;
bad:
	out[0] = '\0';
	return -EINVAL;
}

int query_next(const char **pos, struct query_piece *pc)
{
	const char *p = *pos, *end, *eq, *vs;
	int rc = QUERY_PIECE;

	if (!p)
		return 0;
	while (*p == '&')       /* "a=1&&b=2": empty pieces carry nothing */
		p++;
	*pos = p;
	if (!*p)
		return 0;
	end = strchrnul(p, '&');
	eq = memchr(p, '=', (size_t)(end - p));
	vs = eq ? eq + 1 : end;
	pc->raw_key = p;
	pc->raw_klen = (size_t)((eq ? eq : end) - p);
	if (pc->key && pct_decode(p, pc->raw_klen, pc->key, pc->keysz) < 0)
		rc |= QUERY_BAD_KEY;
	if (pc->val && pct_decode(vs, (size_t)(end - vs), pc->val, pc->valsz) < 0)
		rc |= QUERY_BAD_VAL;
	*pos = *end ? end + 1 : end;
	return rc;
}

/* Named networks_ for where it started (networks.c); it lives here beside
 * query_parse so that both parsers can be fuzzed without the DB. */
int networks_query(const char *query, const char *key, char *out, size_t outsz)
{
	struct query_piece pc = { 0 };
	size_t klen = strlen(key);
	const char *p = query, *at = query;
	int found = 0;

	/* Keys are matched as sent; only the value is decoded, and only the
	 * value of key (other pieces may be anything). */
	while (query_next(&p, &pc)) {
		struct query_piece val = { .val = out, .valsz = outsz };

		if (pc.raw_klen == klen && memcmp(pc.raw_key, key, klen) == 0) {
			if (found)
				return -EEXIST;
			found = 1;
			if (query_next(&at, &val) & QUERY_BAD_VAL)
				return -EINVAL;
		}
		at = p;
	}
	return found;
}

/* A client-chosen key as a field name: only when it is short, printable
 * ASCII (it is echoed in fields[], and jansson wants valid UTF-8). */
static const char *field_name(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > 64)
		return "query";
	for (size_t i = 0; i < n; i++)
		if (key[i] < 0x21 || key[i] > 0x7e)
			return "query";
	return key;
}

int query_parse(struct req *r, const char *const *keys, size_t n, char **vals, struct verrs *v)
{
	size_t len = strlen(r->query) + 1;      /* decoding never lengthens */
	struct query_piece pc = { .key = malloc(len), .keysz = len, .val = malloc(len), .valsz = len };
	const char *p = r->query;
	int rc, err = 0;

	for (size_t i = 0; i < n; i++)
		vals[i] = NULL;
	if (!pc.key || !pc.val) {
		err = -ENOMEM;
		goto out;
	}
	while ((rc = query_next(&p, &pc)) != 0) {
		size_t i;

		if (rc & (QUERY_BAD_KEY | QUERY_BAD_VAL)) {
			verr_add(v, rc & QUERY_BAD_KEY ? "query" : field_name(pc.key),
				 "malformed percent-encoding");
			continue;
		}
		for (i = 0; i < n && strcmp(keys[i], pc.key) != 0; i++)
			;
		if (i == n) {
			verr_add(v, field_name(pc.key), "unknown parameter");
		} else if (vals[i]) {
			verr_add(v, keys[i], "given more than once");
		} else if (!(vals[i] = strdup(pc.val))) {
			query_free(vals, n);
			err = -ENOMEM;
			break;
		}
	}
out:
	free(pc.key);
	free(pc.val);
	return err;
}

void query_free(char **vals, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(vals[i]);
		vals[i] = NULL;
	}
}

int query_int(struct verrs *v, const char *key, const char *s, long long min, long long max,
	      long long *out)
{
	char msg[96];
	long long val = 0;
	size_t i;

	/* 18 digits cannot overflow; a 19th is refused as out of range. */
	for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 18; i++)
		val = val * 10 + (s[i] - '0');
	if (i == 0 || s[i] || val < min || val > max) {
		snprintf(msg, sizeof msg, "must be an integer between %lld and %lld", min, max);
		verr_add(v, key, msg);
		return -EINVAL;
	}
	*out = val;
	return 0;
}

/* ---- route patterns ---- */

/* What an id names, from the path segment before it ("/peers/#" -> peer),
 * for the "invalid <thing> ID" message. */
static const struct { const char *segment, *name; } id_names[] = {
	{ "networks/", "network" }, { "peers/", "peer" }, { "bridges/", "bridge" },
	{ "alerts/", "alert" }, { "users/", "user" }, { "api-keys/", "API key" },
};

static const char *id_name(const char *pattern_start, const char *hash)
{
	for (size_t i = 0; i < sizeof id_names / sizeof id_names[0]; i++) {
		size_t n = strlen(id_names[i].segment);

		if ((size_t)(hash - pattern_start) >= n && strncmp(hash - n, id_names[i].segment, n) == 0)
			return id_names[i].name;
	}
	return "resource";
}

int api_route_match(const char *pattern, const char *path, struct req *r, const char **bad)
{
	const char *start = pattern;
	int nids = 0;

	while (*pattern && *path) {
		if (*pattern == '#') {
			const char *end = strchrnul(path, '/');
			char *num_end;
			long long v;

			if (end == path)
				return 0;
			errno = 0;
			v = strtoll(path, &num_end, 10);
			/* digits only: strtoll would also take a sign and any
			 * leading white space ("\t5", "\n5") */
			if (num_end != end || errno || v <= 0 || *path < '0' || *path > '9') {
				if (!*bad)
					*bad = id_name(start, pattern);
				v = -1;
			}
			if (nids < 2)
				r->ids[nids] = v;
			nids++;
			pattern++;
			path = end;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	if (*pattern || *path)
		return 0;
	r->nids = nids;
	return *bad ? -1 : 1;
}
