/* SPDX-License-Identifier: MIT */
/*
 * IP addresses and CIDR prefixes for both families (IPv4 now, IPv6 later):
 * parsing, formatting, containment, and the peer address allocator of
 * networking.md §4.
 */
#ifndef WGP_IPNET_H
#define WGP_IPNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPNET_STRLEN 50         /* "ffff:...:ffff/128" + NUL fits */

struct ipnet {
	int family;             /* AF_INET or AF_INET6 */
	uint8_t addr[16];       /* network byte order; IPv4 uses addr[0..3] */
	unsigned prefix;        /* 0..32 or 0..128 */
};

/* Parses "a.b.c.d", "a.b.c.d/n", "v6", "v6/n" (surrounding spaces allowed).
 * Without "/n" the prefix is the full length. Host bits are kept as given.
 * 0 or -EINVAL. */
int ipnet_parse(struct ipnet *n, const char *s);
/* Like ipnet_parse but the "/n" is required. */
int ipnet_parse_cidr(struct ipnet *n, const char *s);
/* Address only, no prefix allowed. */
int ipaddr_parse(struct ipnet *n, const char *s);
/* "addr/prefix" into out. */
void ipnet_format(char out[static IPNET_STRLEN], const struct ipnet *n);
/* "addr" only. */
void ipaddr_format(char out[static IPNET_STRLEN], const struct ipnet *n);
/* Clears the host bits. */
void ipnet_normalize(struct ipnet *n);
/* true when a's address lies inside net (same family). */
bool ipnet_contains(const struct ipnet *net, const struct ipnet *a);
/* true when either contains the other's network address (SUBNET_CONFLICT). */
bool ipnet_overlaps(const struct ipnet *a, const struct ipnet *b);
/* The first usable host of subnet (server address, e.g. 10.0.0.1) with the
 * subnet's prefix. */
void ipnet_first_host(struct ipnet *out, const struct ipnet *subnet);
/* true for IPv4 inside 10/8, 172.16/12 or 192.168/16. */
bool ipnet_is_private4(const struct ipnet *n);

/* Parses a comma-separated CIDR list (spaces around items allowed, empty items
 * rejected; an empty string gives 0 items). *out malloc'd (caller frees).
 * 0 or -EINVAL (then *bad_item, if given, points into s at the bad item),
 * or -ENOMEM. */
int ipnet_parse_list(const char *s, struct ipnet **out, size_t *n, const char **bad_item);
/* One step of a comma-list walk, for validators that must not allocate.
 * Start with *cur = s (NULL when s is ""); each call copies the next item,
 * trimmed of spaces, into item, points *start (if given) at it in s, and
 * advances *cur (NULL after the last item). 0, or -EINVAL for an empty item
 * or one too long to be an address. */
int ipnet_list_next(const char **cur, char item[static IPNET_STRLEN], const char **start);

/*
 * Allocator (networking.md §4): used = the addresses of every CIDR in every
 * peer's allowed_ips (the caller parses them; entries outside the subnet are
 * ignored). Walks up from server+1 and returns the first address that is not
 * used, not the network address, not the server and not the broadcast, as a
 * /32 (/128) in *out. 0, or -ENOSPC when the subnet is full (-EINVAL for a
 * bad subnet, -ENOMEM).
 */
int ipnet_alloc(const struct ipnet *subnet, const struct ipnet *used, size_t nused,
                struct ipnet *out);

#endif
