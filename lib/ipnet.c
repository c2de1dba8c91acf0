/* SPDX-License-Identifier: MIT */
/*
 * IP addresses and CIDR prefixes (ipnet.h). Text goes through inet_pton and
 * inet_ntop only, so exactly the canonical forms glibc accepts pass (no
 * "010.0.0.1", no "1.2.3"); everything else is bit arithmetic on the
 * network-order bytes, identical for both families.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipnet.h"

/* Offset of the first address a peer may get: network + 0, server + 1. */
#define IPNET_FIRST_PEER 2

enum ipnet_prefix_rule { PREFIX_OPTIONAL, PREFIX_REQUIRED, PREFIX_FORBIDDEN };

static unsigned ipnet_maxbits(int family)
{
	return family == AF_INET6 ? 128 : 32;
}

static size_t ipnet_addrlen(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

/* A known family and a prefix that fits it: guards the byte loops below. */
static bool ipnet_valid(const struct ipnet *n)
{
	return (n->family == AF_INET || n->family == AF_INET6) &&
	       n->prefix <= ipnet_maxbits(n->family);
}

/* Byte i of the netmask of a /prefix. */
static uint8_t ipnet_mask_byte(unsigned prefix, size_t i)
{
	if (prefix >= 8 * (i + 1))
		return 0xff;
	if (prefix <= 8 * i)
		return 0;
	return (uint8_t)(0xff << (8 - (prefix - 8 * i)));
}

/* true when the first bits bits of a and b (len bytes each) are equal. */
static bool ipnet_same_bits(const uint8_t *a, const uint8_t *b, unsigned bits, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((a[i] ^ b[i]) & ipnet_mask_byte(bits, i))
			return false;
	return true;
}

static bool ipnet_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Shrinks [*b, *e) to its non-blank middle. */
static void ipnet_trim(const char **b, const char **e)
{
	while (*b < *e && ipnet_is_blank(**b))
		(*b)++;
	while (*e > *b && ipnet_is_blank((*e)[-1]))
		(*e)--;
}

/* "0".."max" without sign, blanks or leading zeros. */
static int ipnet_parse_prefix(const char *p, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (!*p || (p[0] == '0' && p[1]))
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

/* The three public parsers differ only in what they demand of the "/n". */
static int ipnet_parse_rule(struct ipnet *n, const char *s, enum ipnet_prefix_rule rule)
{
	struct ipnet tmp = { 0 };
	char buf[IPNET_STRLEN];
	const char *b = s, *e;
	char *slash;
	int ret = -EINVAL;

	if (!s)
		goto out;
	e = s + strlen(s);
	ipnet_trim(&b, &e);
	if ((size_t)(e - b) >= sizeof(buf))
		goto out;
	memcpy(buf, b, (size_t)(e - b));
	buf[e - b] = '\0';

	slash = strchr(buf, '/');
	if (slash ? rule == PREFIX_FORBIDDEN : rule == PREFIX_REQUIRED)
		goto out;
	if (slash)
		*slash = '\0';
	tmp.family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(tmp.family, buf, tmp.addr) != 1)
		goto out;
	tmp.prefix = ipnet_maxbits(tmp.family);
	if (slash && ipnet_parse_prefix(slash + 1, tmp.prefix, &tmp.prefix) < 0)
		goto out;
	*n = tmp;
	ret = 0;
out:
	return ret;
}

/* 0 or -EINVAL; *n is untouched on error. */
int ipnet_parse(struct ipnet *n, const char *s)
{
	return ipnet_parse_rule(n, s, PREFIX_OPTIONAL);
}

/* 0 or -EINVAL; *n is untouched on error. */
int ipnet_parse_cidr(struct ipnet *n, const char *s)
{
	return ipnet_parse_rule(n, s, PREFIX_REQUIRED);
}

/* 0 or -EINVAL; *n (prefix = full length) is untouched on error. */
int ipaddr_parse(struct ipnet *n, const char *s)
{
	return ipnet_parse_rule(n, s, PREFIX_FORBIDDEN);
}

/* Writes "" for an unknown family. */
void ipaddr_format(char out[static IPNET_STRLEN], const struct ipnet *n)
{
	if (!inet_ntop(n->family, n->addr, out, IPNET_STRLEN))
		out[0] = '\0';
}

/* Writes "" for an unknown family. */
void ipnet_format(char out[static IPNET_STRLEN], const struct ipnet *n)
{
	size_t len;

	ipaddr_format(out, n);
	len = strlen(out);
	if (len)
		snprintf(out + len, IPNET_STRLEN - len, "/%u", n->prefix);
}

/* Also zeroes the unused bytes 4..15 of an IPv4 value, so normalised values
 * compare equal with memcmp. No-op for an invalid family or prefix. */
void ipnet_normalize(struct ipnet *n)
{
	size_t len;

	if (!ipnet_valid(n))
		return;
	len = ipnet_addrlen(n->family);
	for (size_t i = 0; i < sizeof(n->addr); i++)
		n->addr[i] &= i < len ? ipnet_mask_byte(n->prefix, i) : 0;
}

/* a's prefix is ignored; different families never match. */
bool ipnet_contains(const struct ipnet *net, const struct ipnet *a)
{
	return ipnet_valid(net) && a->family == net->family &&
	       ipnet_same_bits(net->addr, a->addr, net->prefix, ipnet_addrlen(net->family));
}

/* Two prefixes overlap exactly when they agree on the shorter prefix's bits. */
bool ipnet_overlaps(const struct ipnet *a, const struct ipnet *b)
{
	unsigned bits = a->prefix < b->prefix ? a->prefix : b->prefix;

	return ipnet_valid(a) && ipnet_valid(b) && a->family == b->family &&
	       ipnet_same_bits(a->addr, b->addr, bits, ipnet_addrlen(a->family));
}

/* Network + 1; a /32 or /128 has a single address, which is returned. */
void ipnet_first_host(struct ipnet *out, const struct ipnet *subnet)
{
	*out = *subnet;
	ipnet_normalize(out);
	if (ipnet_valid(out) && out->prefix < ipnet_maxbits(out->family))
		out->addr[ipnet_addrlen(out->family) - 1] |= 1;
}

/* The whole of n must lie inside the range: 172.16.0.0/11 is not private. */
bool ipnet_is_private4(const struct ipnet *n)
{
	static const struct { uint8_t addr[4]; unsigned prefix; } ranges[] = {
		{ { 10, 0, 0, 0 }, 8 },
		{ { 172, 16, 0, 0 }, 12 },
		{ { 192, 168, 0, 0 }, 16 },
	};

	if (n->family != AF_INET || n->prefix > 32)
		return false;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (n->prefix >= ranges[i].prefix &&
		    ipnet_same_bits(n->addr, ranges[i].addr, ranges[i].prefix, 4))
			return true;
	return false;
}

/* Contract in ipnet.h. Blanks (spaces, tabs) around the item are dropped;
 * *cur advances even when the item is bad. */
int ipnet_list_next(const char **cur, char item[static IPNET_STRLEN], const char **start)
{
	const char *b = *cur, *end = strchr(b, ','), *e;

	if (!end)
		end = b + strlen(b);
	e = end;
	ipnet_trim(&b, &e);
	if (start)
		*start = b;
	*cur = *end ? end + 1 : NULL;
	if (b == e || (size_t)(e - b) >= IPNET_STRLEN)
		return -EINVAL;
	memcpy(item, b, (size_t)(e - b));
	item[e - b] = '\0';
	return 0;
}

/* Items parse as in ipnet_parse (a bare address is a /32 or /128). An empty
 * s gives *out NULL and *n 0. 0, -EINVAL or -ENOMEM; on error *out is NULL
 * and *n 0. */
int ipnet_parse_list(const char *s, struct ipnet **out, size_t *n, const char **bad_item)
{
	char item[IPNET_STRLEN];
	const char *cur = s && *s ? s : NULL, *start;
	struct ipnet *v = NULL;
	size_t count = 1, i = 0;
	int ret = 0;

	*out = NULL;
	*n = 0;
	if (!cur)
		goto out;
	for (const char *p = s; (p = strchr(p, ',')); p++)
		count++;
	v = calloc(count, sizeof(*v));
	if (!v) {
		ret = -ENOMEM;
		goto out;
	}
	while (cur) {
		ret = ipnet_list_next(&cur, item, &start);
		if (!ret)
			ret = ipnet_parse(&v[i], item);
		if (ret) {
			if (bad_item)
				*bad_item = start;
			goto out;
		}
		i++;
	}
	*out = v;
	*n = i;
	v = NULL;
out:
	free(v);
	return ret;
}

/* The host part of addr as a number; false when it needs more than 64 bits
 * (only possible below an IPv6 /64), as no allocation can get that far. */
static bool ipnet_host_offset(const struct ipnet *subnet, const uint8_t *addr, uint64_t *off)
{
	size_t len = ipnet_addrlen(subnet->family);
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t host = addr[i] & (uint8_t)~ipnet_mask_byte(subnet->prefix, i);

		if (i + 8 < len && host)
			return false;
		v = (v << 8) | host;
	}
	*off = v;
	return true;
}

/* Highest offset a peer may get: all host bits set, less the IPv4 broadcast. */
static uint64_t ipnet_last_offset(const struct ipnet *subnet)
{
	unsigned hostbits = ipnet_maxbits(subnet->family) - subnet->prefix;
	uint64_t all = hostbits >= 64 ? UINT64_MAX : ((uint64_t)1 << hostbits) - 1;

	return subnet->family == AF_INET && all ? all - 1 : all;
}

/*
 * used[] is never sorted or copied: nused entries block at most nused
 * offsets, so the answer lies in [FIRST_PEER, FIRST_PEER + nused] unless the
 * subnet ends first, and a bitmap of that window finds it in linear time.
 * Besides 0 and -ENOSPC: -EINVAL for an invalid subnet, -ENOMEM.
 */
int ipnet_alloc(const struct ipnet *subnet, const struct ipnet *used, size_t nused,
                struct ipnet *out)
{
	struct ipnet net = *subnet;
	uint64_t last, limit, off, cand;
	uint8_t *taken = NULL;
	int ret = -EINVAL;

	if (!ipnet_valid(&net))
		goto out;
	ipnet_normalize(&net);
	last = ipnet_last_offset(&net);
	ret = -ENOSPC;
	if (last < IPNET_FIRST_PEER)
		goto out;
	limit = nused < last - IPNET_FIRST_PEER ? IPNET_FIRST_PEER + nused : last;
	taken = calloc(limit / 8 + 1, 1);
	if (!taken) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nused; i++) {
		if (!ipnet_contains(&net, &used[i]) ||
		    !ipnet_host_offset(&net, used[i].addr, &off) || off > limit)
			continue;
		taken[off / 8] |= (uint8_t)(1u << (off % 8));
	}
	for (cand = IPNET_FIRST_PEER; cand <= limit; cand++)
		if (!(taken[cand / 8] & (1u << (cand % 8))))
			break;
	if (cand > limit)
		goto out;

	*out = net;
	out->prefix = ipnet_maxbits(net.family);
	for (size_t i = ipnet_addrlen(net.family); i-- > 0 && cand; cand >>= 8)
		out->addr[i] |= (uint8_t)(cand & 0xff);
	ret = 0;
out:
	free(taken);
	return ret;
}
