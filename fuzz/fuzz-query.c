/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the request-line parsers of cgi/query.c: the input
 * (up to its first NUL) is used as a query string and as a request path.
 *   - query_next: every piece is non-empty and inside the string, the
 *     scanner always advances, decoding never lengthens, and small buffers
 *     are refused rather than overrun;
 *   - networks_query (networks.c, debug.c, stats.c, peers.c) with small and
 *     large buffers: only 1 / 0 / -EEXIST / -EINVAL, a value always fits;
 *   - query_parse / query_int (the audit log and the plain lists): values
 *     are NULL or strings, errors name a printable field, and when the
 *     query needs no decoding the two parsers agree on every key;
 *   - api_route_match (main.c's route table): a match has exactly the
 *     pattern's literal text and, per '#', a segment of digits whose value
 *     (> 0) is the stored id; a bad id names what it is.
 *
 * Build and run from the source root (http.c provides verr_*; it needs
 * libfcgi only for the response functions the harness never calls):
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Ilib \
 *     fuzz/fuzz-query.c cgi/query.c cgi/http.c \
 *     $(pkg-config --cflags --libs jansson fcgi) -o fuzz-query
 *   ./fuzz-query -max_total_time=30 fuzz/seeds/query
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cgi/api.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_scanner(const char *q)
{
	size_t len = strlen(q);
	char *key = malloc(len + 1), *val = malloc(len + 1), small_k[4], small_v[4];
	const char *p = q, *p2 = q;
	int rc, guard = 0;

	if (!key || !val)
		goto out;
	for (;;) {
		struct query_piece pc = { .key = key, .keysz = len + 1, .val = val, .valsz = len + 1 };
		struct query_piece sm = { .key = small_k, .keysz = sizeof small_k,
					  .val = small_v, .valsz = sizeof small_v };
		const char *before = p;
		int rc2;

		rc = query_next(&p, &pc);
		rc2 = query_next(&p2, &sm);
		CHECK(p == p2);
		if (!rc) {
			CHECK(rc2 == 0 && *p == '\0');
			break;
		}
		CHECK(rc2 & QUERY_PIECE);
		CHECK(p > before && p <= q + len && guard++ <= (int)len);
		CHECK(pc.raw_key >= before && pc.raw_key + pc.raw_klen <= q + len);
		CHECK(pc.raw_key == sm.raw_key && pc.raw_klen == sm.raw_klen);
		CHECK(pc.raw_klen > 0 || pc.raw_key[0] == '=');
		CHECK(!memchr(pc.raw_key, '&', pc.raw_klen) && !memchr(pc.raw_key, '=', pc.raw_klen));
		/* a bad part of the large buffers is bad in the small ones too */
		CHECK(!(rc & QUERY_BAD_KEY) || (rc2 & QUERY_BAD_KEY));
		CHECK(!(rc & QUERY_BAD_VAL) || (rc2 & QUERY_BAD_VAL));
		if (!(rc & QUERY_BAD_KEY))
			CHECK(strlen(key) <= pc.raw_klen);
		if (!(rc2 & QUERY_BAD_KEY))
			CHECK(strlen(small_k) < sizeof small_k && strcmp(small_k, key) == 0);
		if (!(rc2 & QUERY_BAD_VAL))
			CHECK(strlen(small_v) < sizeof small_v && strcmp(small_v, val) == 0);
	}
out:
	free(key);
	free(val);
}

static const char *const keys[] = { "limit", "offset", "action", "resource", "from", "to" };
#define NKEYS (sizeof keys / sizeof keys[0])

static void fuzz_parsers(const char *q)
{
	struct req r = { .query = q };
	struct verrs v = { 0 };
	char *vals[NKEYS];
	bool plain = !strpbrk(q, "%+"), twice[NKEYS] = { false };
	size_t i;
	json_t *e;

	CHECK(query_parse(&r, keys, NKEYS, vals, &v) == 0);
	if (v.fields) {
		json_array_foreach(v.fields, i, e) {
			const char *f = json_string_value(json_object_get(e, "field"));
			const char *m = json_string_value(json_object_get(e, "message"));

			CHECK(f && *f && m && *m);
			for (const char *c = f; *c; c++)
				CHECK(*c > 0x20 && *c < 0x7f);
			for (size_t k = 0; k < NKEYS; k++)
				if (strcmp(f, keys[k]) == 0 && strcmp(m, "given more than once") == 0)
					twice[k] = true;
		}
	}
	for (size_t k = 0; k < NKEYS; k++) {
		char small[8], big[4096];
		int a = networks_query(q, keys[k], small, sizeof small);
		int b = networks_query(q, keys[k], big, sizeof big);
		long long n;

		CHECK(a == 1 || a == 0 || a == -EEXIST || a == -EINVAL);
		CHECK(b == 1 || b == 0 || b == -EEXIST || b == -EINVAL);
		if (a == 1)
			CHECK(strlen(small) < sizeof small && b == 1 && strcmp(small, big) == 0);
		if (b == 1)
			CHECK(strlen(big) < sizeof big);
		/* no '%' and no '+': raw and decoded keys are the same text */
		if (plain && strlen(q) < sizeof big) {
			CHECK((b == -EEXIST) == twice[k]);
			if (!twice[k])
				CHECK((b == 1) == (vals[k] != NULL) && (b != 1 || strcmp(big, vals[k]) == 0));
		}
		if (vals[k]) {
			struct verrs iv = { 0 };
			int rc = query_int(&iv, keys[k], vals[k], 1, 200, &n);

			CHECK((rc == 0) != verr_any(&iv));
			if (rc == 0)
				CHECK(n >= 1 && n <= 200 && strspn(vals[k], "0123456789") == strlen(vals[k])
				      && strtoll(vals[k], NULL, 10) == n);
			verr_free(&iv);
		}
	}
	query_free(vals, NKEYS);
	for (size_t k = 0; k < NKEYS; k++)
		CHECK(!vals[k]);
	verr_free(&v);
}

static const char *const patterns[] = {
	"/api/networks", "/api/networks/#", "/api/networks/#/peers", "/api/networks/#/peers/#",
	"/api/networks/#/peers/#/config", "/api/networks/#/stats", "/api/bridges/#",
	"/api/alerts/#", "/api/users/#", "/api/api-keys/#", "/api/settings/tls/test", "/health",
	"/#/#", "#", "/x#", "/api/things/#/#/#",
};
static const char *const id_words[] = { "network", "peer", "bridge", "alert", "user", "API key",
					"resource" };

/* m == 1: path is pattern with each '#' replaced by digits (value > 0 = the id). */
static void check_match(const char *pat, const char *path, const struct req *r)
{
	int k = 0;

	while (*pat) {
		if (*pat == '#') {
			size_t n = strcspn(path, "/");
			char digits[32];

			CHECK(n > 0 && strspn(path, "0123456789") == n);
			if (k < 2) {
				CHECK(r->ids[k] > 0);
				if (n < sizeof digits) {
					memcpy(digits, path, n);
					digits[n] = '\0';
					CHECK(strtoll(digits, NULL, 10) == r->ids[k]);
				}
			}
			k++;
			path += n;
			pat++;
			continue;
		}
		CHECK(*pat++ == *path++);
	}
	CHECK(*path == '\0' && r->nids == k);
}

static void fuzz_routes(const char *path)
{
	for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
		struct req r = { 0 };
		const char *bad = NULL;
		int m = api_route_match(patterns[i], path, &r, &bad);

		CHECK(m == 1 || m == 0 || m == -1);
		if (m == 1) {
			CHECK(!bad);
			check_match(patterns[i], path, &r);
		} else if (m == -1) {
			bool known = false;

			CHECK(bad);
			for (size_t w = 0; w < sizeof id_words / sizeof id_words[0]; w++)
				known |= strcmp(bad, id_words[w]) == 0;
			CHECK(known);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_scanner(s);
	fuzz_parsers(s);
	fuzz_routes(s);
	free(s);
	return 0;
}
