/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: arbitrary bytes (as a NUL-terminated copy) into every
 * string validator, the ipnet parsers and allocator, parse_duration and
 * list_normalize. Besides crashes and sanitizer reports it traps when a
 * cross-check between two functions fails (format/parse round trips, a
 * valid subnet that is not normalised, an allocation outside its subnet...).
 *
 * Build and run from the source root:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I/work/main/lib \
 *     fuzz/fuzz-validate.c lib/validate.c lib/ipnet.c \
 *     $(pkg-config --cflags --libs libsodium) -o fuzz-validate
 *   ./fuzz-validate -max_total_time=20 CORPUS_DIR
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipnet.h"
#include "validate.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_net(const struct ipnet *a, const struct ipnet *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* Formatting a parsed value and parsing it again gives the same value. */
static void fuzz_roundtrip(const struct ipnet *n)
{
	char buf[IPNET_STRLEN];
	struct ipnet again;

	ipnet_format(buf, n);
	CHECK(ipnet_parse_cidr(&again, buf) == 0 && same_net(n, &again));
	ipaddr_format(buf, n);
	CHECK(ipaddr_parse(&again, buf) == 0 && memcmp(again.addr, n->addr, 16) == 0);
}

static void fuzz_ipnet(const char *s)
{
	struct ipnet any, cidr, addr, first;
	int rany = ipnet_parse(&any, s);
	int rcidr = ipnet_parse_cidr(&cidr, s);
	int raddr = ipaddr_parse(&addr, s);

	CHECK(rany == 0 || rany == -EINVAL);
	/* "with prefix" and "without" split what ipnet_parse accepts */
	CHECK((rany == 0) == (rcidr == 0 || raddr == 0));
	CHECK(!(rcidr == 0 && raddr == 0));
	if (rany < 0)
		return;
	fuzz_roundtrip(&any);
	CHECK(ipnet_contains(&any, &any) && ipnet_overlaps(&any, &any));
	first = any;
	ipnet_normalize(&first);
	CHECK(ipnet_contains(&first, &any) && ipnet_contains(&any, &first));
	ipnet_first_host(&first, &any);
	CHECK(ipnet_contains(&any, &first) && first.prefix == any.prefix);
	if (v_ip(s) == NULL)
		CHECK(raddr == 0);
}

/* First item = subnet, the rest = used addresses. */
static void fuzz_alloc(const struct ipnet *v, size_t n)
{
	struct ipnet out, network, server;
	int ret;

	if (!n)
		return;
	ret = ipnet_alloc(&v[0], v + 1, n - 1, &out);
	CHECK(ret == 0 || ret == -ENOSPC);
	if (ret)
		return;
	network = v[0];
	ipnet_normalize(&network);
	ipnet_first_host(&server, &v[0]);
	CHECK(ipnet_contains(&v[0], &out));
	CHECK(memcmp(out.addr, network.addr, 16) != 0 && memcmp(out.addr, server.addr, 16) != 0);
	for (size_t i = 1; i < n; i++)
		CHECK(v[i].family != out.family || memcmp(v[i].addr, out.addr, 16) != 0);
}

static void fuzz_list(const char *s, size_t len)
{
	const char *bad = NULL;
	struct ipnet *v;
	size_t n;
	int ret = ipnet_parse_list(s, &v, &n, &bad);

	CHECK(ret == 0 || ret == -EINVAL || ret == -ENOMEM);
	if (ret == -EINVAL)
		CHECK(bad >= s && bad <= s + len);
	if (ret)
		return;
	for (size_t i = 0; i < n; i++) {
		fuzz_roundtrip(&v[i]);
		for (size_t j = 0; j < n && j < 8; j++)
			CHECK(ipnet_overlaps(&v[i], &v[j]) == ipnet_overlaps(&v[j], &v[i]));
	}
	fuzz_alloc(v, n);
	free(v);
}

static void fuzz_validators(const char *s, size_t len)
{
	static const char *(*const all[])(const char *) = {
		v_name, v_username, v_password, v_mode, v_peer_role, v_user_role,
		v_tunnel_type, v_direction, v_email, v_email_required, v_hostname,
		v_endpoint, v_ip, v_dns_list, v_cidr_list, v_public_key,
	};
	char norm[512];
	struct ipnet sub;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *msg = all[i](s);

		CHECK(!msg || (msg[0] >= 'a' && msg[0] <= 'z'));
	}
	if (v_subnet(s, &sub) == NULL) {
		struct ipnet copy = sub;

		ipnet_normalize(&copy);
		CHECK(same_net(&copy, &sub) && sub.family == AF_INET);
		CHECK(sub.prefix >= 16 && sub.prefix <= 30 && ipnet_is_private4(&sub));
	}
	if (len < sizeof(norm)) {
		char inplace[sizeof(norm)];

		memcpy(inplace, s, len + 1);
		list_normalize(norm, sizeof(norm), s);
		CHECK(strcmp(list_normalize(inplace, len + 1, inplace), norm) == 0);
	}
	if (len < sizeof(norm) && v_dns_list(s) == NULL) {
		list_normalize(norm, sizeof(norm), s);
		CHECK(v_dns_list(norm) == NULL && strlen(norm) <= len);
	}
	if (len < sizeof(norm) && v_cidr_list(s) == NULL) {
		list_normalize(norm, sizeof(norm), s);
		CHECK(v_cidr_list(norm) == NULL && !strchr(norm, ' '));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	long long secs = 0;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	size = strlen(s);

	fuzz_validators(s, size);
	fuzz_ipnet(s);
	fuzz_list(s, size);
	if (parse_duration(s, &secs) == 0)
		CHECK(secs >= 1);
	free(s);
	return 0;
}
