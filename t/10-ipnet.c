/* SPDX-License-Identifier: MIT */
/* ipnet: parsing and formatting, prefix arithmetic, lists, the allocator. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipnet.h"
#include "tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Parses a test fixture that is known to be valid. */
static struct ipnet net(const char *s)
{
	struct ipnet n = { 0 };

	if (ipnet_parse(&n, s) < 0)
		ok(0, "fixture '%s' parses", s);
	return n;
}

static const char *fmt(const struct ipnet *n)
{
	static char buf[IPNET_STRLEN];

	ipnet_format(buf, n);
	return buf;
}

/* s with control bytes escaped, fit for a TAP description. */
static const char *show(const char *s)
{
	static char buf[128];
	size_t n = 0;

	for (; *s && n + 5 < sizeof(buf); s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\\x%02x", (unsigned char)*s);
		else
			buf[n++] = *s;
	}
	buf[n] = '\0';
	return buf;
}

enum parser { ANY, CIDR, ADDR };

static int parse_with(enum parser p, struct ipnet *n, const char *s)
{
	switch (p) {
	case CIDR:
		return ipnet_parse_cidr(n, s);
	case ADDR:
		return ipaddr_parse(n, s);
	default:
		return ipnet_parse(n, s);
	}
}

static void test_parse(void)
{
	static const struct {
		enum parser p;
		const char *in;
		const char *want;       /* formatted result, NULL = -EINVAL */
	} rows[] = {
		{ ANY, "10.0.0.1", "10.0.0.1/32" },
		{ ANY, "10.0.0.0/24", "10.0.0.0/24" },
		{ ANY, "10.0.0.5/24", "10.0.0.5/24" },          /* host bits kept */
		{ ANY, "0.0.0.0/0", "0.0.0.0/0" },
		{ ANY, "255.255.255.255/32", "255.255.255.255/32" },
		{ ANY, "  10.0.0.1/8  ", "10.0.0.1/8" },
		{ ANY, "\t192.168.1.0/24\t", "192.168.1.0/24" },
		{ ANY, "::", "::/128" },
		{ ANY, "::/0", "::/0" },
		{ ANY, "2001:db8::1", "2001:db8::1/128" },
		{ ANY, "2001:DB8::/32", "2001:db8::/32" },
		{ ANY, "fd00::/64", "fd00::/64" },
		{ ANY, "::ffff:1.2.3.4/128", "::ffff:1.2.3.4/128" },
		{ ANY, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128",
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" },
		{ ANY, "", NULL },
		{ ANY, "   ", NULL },
		{ ANY, "010.0.0.1", NULL },
		{ ANY, "1.2.3", NULL },
		{ ANY, "1.2.3.4.5", NULL },
		{ ANY, "256.0.0.0", NULL },
		{ ANY, "1.2.3.4 ", "1.2.3.4/32" },
		{ ANY, "1 .2.3.4", NULL },
		{ ANY, "0x7f.0.0.1", NULL },
		{ ANY, "10.0.0.0/", NULL },
		{ ANY, "/24", NULL },
		{ ANY, "10.0.0.0/ 24", NULL },
		{ ANY, "10.0.0.0 /24", NULL },
		{ ANY, "10.0.0.0/24 /1", NULL },
		{ ANY, "10.0.0.0/+24", NULL },
		{ ANY, "10.0.0.0/-24", NULL },
		{ ANY, "10.0.0.0/024", NULL },
		{ ANY, "10.0.0.0/00", NULL },
		{ ANY, "10.0.0.0/33", NULL },
		{ ANY, "10.0.0.0/4294967328", NULL },
		{ ANY, "10.0.0.0/2a", NULL },
		{ ANY, "10.0.0.0/24/24", NULL },
		{ ANY, "10.0.0.0//24", NULL },
		{ ANY, "::/129", NULL },
		{ ANY, "2001:db8::1/128", "2001:db8::1/128" },
		{ ANY, "2001:db8:::1", NULL },
		{ ANY, "fe80::1%eth0", NULL },
		{ ANY, "[::1]", NULL },
		{ ANY, "example.com", NULL },
		{ ANY, "1.2.3.4\n", NULL },
		{ ANY, "0000000000000000000000000000000000000000000000001.2.3.4", NULL },
		{ CIDR, "10.0.0.0/24", "10.0.0.0/24" },
		{ CIDR, "::/0", "::/0" },
		{ CIDR, "10.0.0.0", NULL },
		{ CIDR, "fd00::1", NULL },
		{ CIDR, "", NULL },
		{ ADDR, "10.0.0.7", "10.0.0.7/32" },
		{ ADDR, " fd00::7 ", "fd00::7/128" },
		{ ADDR, "10.0.0.7/32", NULL },
		{ ADDR, "fd00::/64", NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct ipnet n = { .family = -1 };
		int ret = parse_with(rows[i].p, &n, rows[i].in);

		if (!rows[i].want) {
			is_int(ret, -EINVAL, "parse[%d] '%s' rejected", rows[i].p, show(rows[i].in));
			is_int(n.family, -1, "parse '%s' leaves the output alone", show(rows[i].in));
			continue;
		}
		is_int(ret, 0, "parse[%d] '%s' accepted", rows[i].p, rows[i].in);
		is_str(fmt(&n), rows[i].want, "parse '%s' formats back", rows[i].in);
	}
	ok(ipnet_parse((struct ipnet[1]){ { 0 } }, NULL) == -EINVAL, "NULL is rejected");
}

static void test_overlong(void)
{
	char big[4096];
	struct ipnet n;

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is_int(ipnet_parse(&n, big), -EINVAL, "4 KiB of digits rejected");
	memset(big, ' ', sizeof(big) - 1);
	memcpy(big + 2000, "10.1.2.3/16", 11);
	is_int(ipnet_parse(&n, big), 0, "long blank padding is trimmed");
	is_str(fmt(&n), "10.1.2.3/16", "padded value parsed");
}

static void test_format(void)
{
	char buf[IPNET_STRLEN];
	struct ipnet n = net("192.168.7.9/20"), bad = { .family = 12345 };

	ipaddr_format(buf, &n);
	is_str(buf, "192.168.7.9", "ipaddr_format drops the prefix");
	n = net("2001:db8:0:0:1:0:0:1/64");
	ipaddr_format(buf, &n);
	is_str(buf, "2001:db8::1:0:0:1", "IPv6 formats compressed");
	ipnet_format(buf, &bad);
	is_str(buf, "", "unknown family formats empty");
}

static void test_normalize(void)
{
	static const struct { const char *in, *want; } rows[] = {
		{ "10.0.0.5/24", "10.0.0.0/24" },
		{ "10.1.2.3/8", "10.0.0.0/8" },
		{ "172.31.255.255/12", "172.16.0.0/12" },
		{ "192.168.1.129/25", "192.168.1.128/25" },
		{ "192.168.1.255/31", "192.168.1.254/31" },
		{ "1.2.3.4/32", "1.2.3.4/32" },
		{ "1.2.3.4/0", "0.0.0.0/0" },
		{ "10.255.255.255/17", "10.255.128.0/17" },
		{ "fd00::1234/64", "fd00::/64" },
		{ "2001:db8:ffff::1/33", "2001:db8:8000::/33" },
		{ "2001:db8::1/128", "2001:db8::1/128" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct ipnet n = net(rows[i].in);

		ipnet_normalize(&n);
		is_str(fmt(&n), rows[i].want, "normalize %s", rows[i].in);
	}
}

static void test_contains(void)
{
	static const struct { const char *net, *a; bool want; } rows[] = {
		{ "10.0.0.0/24", "10.0.0.0", true },
		{ "10.0.0.0/24", "10.0.0.255", true },
		{ "10.0.0.0/24", "10.0.1.0", false },
		{ "10.0.0.0/24", "9.255.255.255", false },
		{ "10.0.0.7/24", "10.0.0.200", true },          /* net's host bits ignored */
		{ "10.0.0.0/24", "10.0.0.9/8", true },          /* a's prefix ignored */
		{ "0.0.0.0/0", "203.0.113.1", true },
		{ "10.0.0.1/32", "10.0.0.1", true },
		{ "10.0.0.1/32", "10.0.0.2", false },
		{ "172.16.0.0/12", "172.31.255.255", true },
		{ "172.16.0.0/12", "172.32.0.0", false },
		{ "fd00::/64", "fd00::ffff", true },
		{ "fd00::/64", "fd00:0:0:1::", false },
		{ "::/0", "2001:db8::1", true },
		{ "::/0", "10.0.0.1", false },                  /* families differ */
		{ "0.0.0.0/0", "::1", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct ipnet n = net(rows[i].net), a = net(rows[i].a);

		is_int(ipnet_contains(&n, &a), rows[i].want, "%s contains %s: %d",
		       rows[i].net, rows[i].a, rows[i].want);
	}
}

static void test_overlaps(void)
{
	static const struct { const char *a, *b; bool want; } rows[] = {
		{ "10.0.0.0/24", "10.0.0.0/24", true },
		{ "10.0.0.0/24", "10.0.0.0/16", true },
		{ "10.0.0.0/24", "10.0.0.128/25", true },
		{ "10.0.0.0/24", "10.0.1.0/24", false },
		{ "10.0.0.0/16", "10.0.255.0/24", true },
		{ "10.0.0.0/16", "10.1.0.0/16", false },
		{ "10.0.0.0/8", "10.200.0.0/16", true },
		{ "192.168.0.0/16", "192.168.10.0/24", true },
		{ "192.168.0.0/24", "192.168.0.4/30", true },
		{ "192.168.0.0/30", "192.168.0.4/30", false },
		{ "10.0.1.0/24", "10.0.1.5/16", true },         /* unnormalised b */
		{ "0.0.0.0/0", "1.2.3.4/32", true },
		{ "172.16.0.0/12", "172.32.0.0/16", false },
		{ "fd00::/64", "fd00::/48", true },
		{ "fd00::/64", "fd00:0:0:1::/64", false },
		{ "10.0.0.0/8", "::/0", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct ipnet a = net(rows[i].a), b = net(rows[i].b);

		is_int(ipnet_overlaps(&a, &b), rows[i].want, "%s overlaps %s: %d",
		       rows[i].a, rows[i].b, rows[i].want);
		is_int(ipnet_overlaps(&b, &a), rows[i].want, "%s overlaps %s: %d",
		       rows[i].b, rows[i].a, rows[i].want);
	}
}

static void test_first_host(void)
{
	static const struct { const char *in, *want; } rows[] = {
		{ "10.0.0.0/24", "10.0.0.1/24" },
		{ "10.0.0.77/24", "10.0.0.1/24" },
		{ "192.168.128.0/17", "192.168.128.1/17" },
		{ "172.16.0.0/30", "172.16.0.1/30" },
		{ "10.9.8.7/32", "10.9.8.7/32" },
		{ "fd00::/64", "fd00::1/64" },
		{ "fd00::abcd/120", "fd00::ab01/120" },
		{ "fd00::5/128", "fd00::5/128" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct ipnet in = net(rows[i].in), out;

		ipnet_first_host(&out, &in);
		is_str(fmt(&out), rows[i].want, "first host of %s", rows[i].in);
	}
}

static void test_private(void)
{
	static const struct { const char *in; bool want; } rows[] = {
		{ "10.0.0.0/8", true },
		{ "10.0.0.0/24", true },
		{ "10.255.255.255", true },
		{ "10.0.0.0/7", false },
		{ "11.0.0.0/24", false },
		{ "9.255.255.255", false },
		{ "172.16.0.0/12", true },
		{ "172.16.0.0/11", false },
		{ "172.31.255.0/24", true },
		{ "172.15.255.0/24", false },
		{ "172.32.0.0/16", false },
		{ "192.168.0.0/16", true },
		{ "192.168.255.0/24", true },
		{ "192.168.0.0/15", false },
		{ "192.169.0.0/16", false },
		{ "8.8.8.8", false },
		{ "0.0.0.0/0", false },
		{ "fd00::/8", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct ipnet n = net(rows[i].in);

		is_int(ipnet_is_private4(&n), rows[i].want, "private4 %s: %d", rows[i].in,
		       rows[i].want);
	}
}

static void test_list(void)
{
	static const struct {
		const char *in;
		int ret;
		const char *want;       /* items formatted, joined by ' ' */
		int bad;                /* offset of *bad_item on error */
	} rows[] = {
		{ "", 0, "", 0 },
		{ "10.0.0.2/32", 0, "10.0.0.2/32", 0 },
		{ "10.0.0.2/32, 192.168.1.0/24", 0, "10.0.0.2/32 192.168.1.0/24", 0 },
		{ " 10.0.0.2/32 ,\t10.0.0.3 ,fd00::/64 ", 0,
		  "10.0.0.2/32 10.0.0.3/32 fd00::/64", 0 },
		{ "10.0.0.2/32,", -EINVAL, NULL, 12 },
		{ ",10.0.0.2/32", -EINVAL, NULL, 0 },
		{ "10.0.0.2/32,,10.0.0.3/32", -EINVAL, NULL, 12 },
		{ "10.0.0.2/32, ,10.0.0.3/32", -EINVAL, NULL, 13 },
		{ "10.0.0.2/32, bogus", -EINVAL, NULL, 13 },
		{ "10.0.0.2/32, 10.0.0.3/33", -EINVAL, NULL, 13 },
		{ " ", -EINVAL, NULL, 1 },
		{ "10.0.0.2/32 10.0.0.3/32", -EINVAL, NULL, 0 },
		{ "1.1.1.1, 1111111111111111111111111111111111111111111111111111111111", -EINVAL,
		  NULL, 9 },
	};

	static struct ipnet sentinel;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const char *bad = NULL;
		struct ipnet *v = &sentinel;
		size_t n = 99;
		char joined[256] = "";
		int ret = ipnet_parse_list(rows[i].in, &v, &n, &bad);

		is_int(ret, rows[i].ret, "list '%s' returns %d", rows[i].in, rows[i].ret);
		if (ret) {
			ok(!v && n == 0, "list '%s': no items on error", rows[i].in);
			ok(bad == rows[i].in + rows[i].bad, "list '%s': bad item at %d (got %d)",
			   rows[i].in, rows[i].bad, bad ? (int)(bad - rows[i].in) : -1);
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			if (k)
				strcat(joined, " ");
			strcat(joined, fmt(&v[k]));
		}
		is_str(joined, rows[i].want, "list '%s' items", rows[i].in);
		free(v);
	}
	{
		struct ipnet *v;
		size_t n;

		is_int(ipnet_parse_list("x", &v, &n, NULL), -EINVAL, "bad_item may be NULL");
	}
}

static void test_list_next(void)
{
	const char *s = "a , bb,,", *cur = s, *start = NULL;
	char item[IPNET_STRLEN];

	is_int(ipnet_list_next(&cur, item, &start), 0, "first item");
	is_str(item, "a", "first item trimmed");
	ok(start == s && cur == s + 3, "first item positions");
	is_int(ipnet_list_next(&cur, item, &start), 0, "second item");
	is_str(item, "bb", "second item");
	ok(start == s + 4 && cur == s + 7, "second item positions");
	is_int(ipnet_list_next(&cur, item, NULL), -EINVAL, "empty middle item");
	ok(cur == s + 8, "cursor moves past a bad item");
	is_int(ipnet_list_next(&cur, item, &start), -EINVAL, "empty last item");
	ok(cur == NULL && start == s + 8, "cursor NULL after the last item");
}

/* Allocates in subnet with the comma list used; checks the result. */
static void alloc_case(const char *subnet, const char *used, int want_ret, const char *want)
{
	struct ipnet sn = net(subnet), out = { 0 }, *v = NULL;
	size_t n = 0;
	int ret;

	if (ipnet_parse_list(used, &v, &n, NULL) < 0) {
		ok(0, "fixture list '%s'", used);
		return;
	}
	ret = ipnet_alloc(&sn, v, n, &out);
	is_int(ret, want_ret, "alloc in %s with [%s] returns %d", subnet, used, want_ret);
	if (!ret && want)
		is_str(fmt(&out), want, "alloc in %s with [%s]", subnet, used);
	free(v);
}

static void test_alloc(void)
{
	static const struct { const char *subnet, *used; int ret; const char *want; } rows[] = {
		{ "10.0.0.0/24", "", 0, "10.0.0.2/32" },
		{ "10.0.0.0/24", "10.0.0.2/32", 0, "10.0.0.3/32" },
		{ "10.0.0.0/24", "10.0.0.2/32, 10.0.0.3/32, 10.0.0.5/32", 0, "10.0.0.4/32" },
		{ "10.0.0.0/24", "10.0.0.3/32, 10.0.0.4/32", 0, "10.0.0.2/32" }, /* freed .2 */
		{ "10.0.0.0/24", "10.0.0.2/32, 10.0.0.2/32, 10.0.0.3/32", 0, "10.0.0.4/32" },
		{ "10.0.0.0/24", "10.0.0.1/32, 10.0.0.0/32", 0, "10.0.0.2/32" },
		{ "10.0.0.0/24", "10.0.1.2/32, 192.168.0.2/32, fd00::2/128", 0, "10.0.0.2/32" },
		/* only the address of each CIDR counts: /24 entries block one address */
		{ "10.0.0.0/24", "10.0.0.2/24, 10.0.0.3/32", 0, "10.0.0.4/32" },
		{ "10.0.0.0/24", "10.0.0.0/24, 192.168.1.0/24", 0, "10.0.0.2/32" },
		{ "10.0.0.0/24", "10.0.0.2/32, 10.0.0.0/16", 0, "10.0.0.3/32" },
		{ "10.0.0.7/24", "", 0, "10.0.0.2/32" },        /* unnormalised subnet */
		{ "10.0.0.0/30", "", 0, "10.0.0.2/32" },
		{ "10.0.0.0/30", "10.0.0.1/32, 10.0.0.2/32", -ENOSPC, NULL },
		{ "10.0.0.0/30", "10.0.0.2/32", -ENOSPC, NULL },
		{ "10.0.0.0/30", "10.0.0.3/32", 0, "10.0.0.2/32" },
		{ "10.0.0.0/31", "", -ENOSPC, NULL },
		{ "10.0.0.0/32", "", -ENOSPC, NULL },
		{ "10.0.0.0/29", "10.0.0.2/32, 10.0.0.3/32, 10.0.0.4/32, 10.0.0.5/32", 0,
		  "10.0.0.6/32" },
		{ "10.0.0.0/29", "10.0.0.2/32, 10.0.0.3/32, 10.0.0.4/32, 10.0.0.5/32, "
		  "10.0.0.6/32", -ENOSPC, NULL },                  /* .7 is broadcast */
		{ "0.0.0.0/0", "", 0, "0.0.0.2/32" },
		{ "fd00::/64", "", 0, "fd00::2/128" },
		{ "fd00::/64", "fd00::2/128, fd00::3/128, fd00::1/128", 0, "fd00::4/128" },
		{ "fd00::/64", "fd00::2/128, fd00:0:0:1::3/128, 10.0.0.3/32", 0, "fd00::3/128" },
		{ "fd00::/48", "fd00:0:0:1::2, fd00::2", 0, "fd00::3/128" },
		{ "fd00::/126", "fd00::2", 0, "fd00::3/128" },  /* no broadcast in v6 */
		{ "fd00::/126", "fd00::2, fd00::3", -ENOSPC, NULL },
		{ "fd00::/127", "", -ENOSPC, NULL },
		{ "::/0", "::2, ::3", 0, "::4/128" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		alloc_case(rows[i].subnet, rows[i].used, rows[i].ret, rows[i].want);
}

static void test_alloc_invalid(void)
{
	struct ipnet bad = { .family = 4242, .prefix = 8 }, out;
	struct ipnet long_prefix = net("10.0.0.0/24");

	is_int(ipnet_alloc(&bad, NULL, 0, &out), -EINVAL, "unknown family rejected");
	long_prefix.prefix = 33;
	is_int(ipnet_alloc(&long_prefix, NULL, 0, &out), -EINVAL, "prefix /33 rejected");
}

/* Fills v[] with the /32s of 10.0.x.y at offsets first..first+n-1 of a /16. */
static void fill16(struct ipnet *v, size_t first, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		size_t off = first + k;

		v[k] = net("10.0.0.0/32");
		v[k].addr[2] = (uint8_t)(off >> 8);
		v[k].addr[3] = (uint8_t)off;
	}
}

/* networking.md §4 at scale: a /16 with 60,000+ peers stays linear. */
static void test_alloc_large(void)
{
	struct ipnet sn = net("10.0.0.0/16"), out;
	struct ipnet *v = calloc(65533, sizeof(*v));
	uint32_t seed = 12345;

	if (!ok(v != NULL, "calloc"))
		return;
	fill16(v, 2, 65000);
	is_int(ipnet_alloc(&sn, v, 65000, &out), 0, "/16 with 65,000 used");
	is_str(fmt(&out), "10.0.253.234/32", "first free after 65,000 used (offset 65002)");

	fill16(v, 2, 65533);
	is_int(ipnet_alloc(&sn, v, 65533, &out), -ENOSPC, "/16 full (65,533 peers)");
	fill16(v, 2, 65532);
	is_int(ipnet_alloc(&sn, v, 65532, &out), 0, "/16 with its last host free");
	is_str(fmt(&out), "10.0.255.254/32", "last host, not the broadcast");

	/* deterministic shuffle, then free one address in the middle */
	fill16(v, 2, 65533);
	for (size_t k = 65532; k > 0; k--) {
		struct ipnet tmp;
		size_t j;

		seed = seed * 1103515245u + 12345u;
		j = (seed >> 8) % (k + 1);
		tmp = v[k];
		v[k] = v[j];
		v[j] = tmp;
	}
	for (size_t k = 0; k < 65533; k++)
		if (v[k].addr[2] == 0x80 && v[k].addr[3] == 0x01) {
			v[k] = v[65532];
			break;
		}
	is_int(ipnet_alloc(&sn, v, 65532, &out), 0, "shuffled /16 with one hole");
	is_str(fmt(&out), "10.0.128.1/32", "the hole is found");
	free(v);
}

int main(void)
{
	test_parse();
	test_overlong();
	test_format();
	test_normalize();
	test_contains();
	test_overlaps();
	test_first_host();
	test_private();
	test_list();
	test_list_next();
	test_alloc();
	test_alloc_invalid();
	test_alloc_large();
	return done_testing();
}
