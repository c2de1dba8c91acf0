/* SPDX-License-Identifier: MIT */
/* Links, addresses and routes through rtnetlink (libmnl). Every call opens
 * its own short-lived NETLINK_ROUTE socket in the caller's network
 * namespace. Returns 0 or -errno unless said otherwise. */
#ifndef WGP_NL_LINK_H
#define WGP_NL_LINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ipnet.h"

struct nl_link {
	char name[IFNAMSIZ];
	int index;
	char kind[32];          /* IFLA_INFO_KIND: "wireguard", "tun", "veth", "" */
	bool up;                /* IFF_UP */
	bool running;           /* IFF_RUNNING / IFF_LOWER_UP */
	unsigned mtu;
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
	uint64_t rx_errors, tx_errors, rx_dropped, tx_dropped, multicast;
};

/* ifindex (> 0) or -ENODEV. */
int nl_link_index(const char *ifname);
/* One link's details. -ENODEV when absent. */
int nl_link_get(const char *ifname, struct nl_link *out);
/* Every link (RTM_GETLINK dump). *out malloc'd. */
int nl_link_list(struct nl_link **out, size_t *n);
/* RTM_NEWLINK with IFLA_INFO_KIND kind (e.g. "wireguard"), NLM_F_EXCL:
 * -EEXIST when present, -EOPNOTSUPP when the kind is unknown to the kernel. */
int nl_link_create(const char *ifname, const char *kind);
int nl_link_delete(const char *ifname);
int nl_link_set_up(const char *ifname, bool up);
int nl_link_set_mtu(const char *ifname, unsigned mtu);

/* Addresses of ifname (both families). *out malloc'd. */
int nl_addr_list(const char *ifname, struct ipnet **out, size_t *n);
/* Adds addr (with its prefix) to ifname; already present -> 0. */
int nl_addr_add(const char *ifname, const struct ipnet *addr);
int nl_addr_del(const char *ifname, const struct ipnet *addr);
/* Makes the address set of ifname exactly want[] (adds missing first, then
 * removes the rest; IPv6 link-local fe80::/10 addresses are left alone).
 * *changed (may be NULL) gets the number of changes. */
int nl_addr_sync(const char *ifname, const struct ipnet *want, size_t nwant, int *changed);

/* Routes in the main table via ifname that wgpilot owns (rtm_protocol
 * NL_ROUTE_PROTO, so routes of anybody else are never touched). sync makes
 * that set exactly want[] (the host bits of each destination must be clear).
 * *changed (may be NULL) counts additions and removals. */
#define NL_ROUTE_PROTO 0x77
int nl_route_list(const char *ifname, struct ipnet **out, size_t *n);
int nl_route_sync(const char *ifname, const struct ipnet *want, size_t nwant, int *changed);

/* Every route (all tables, both families) whose output is ifname, for the
 * route viewer (feat-009). *out malloc'd. */
struct nl_route {
	struct ipnet dst;
	int table, protocol, scope, type, metric;
};
int nl_route_dump(const char *ifname, struct nl_route **out, size_t *n);

/* Link events (RTMGRP_LINK): a non-blocking subscription whose fd goes into
 * the caller's poll loop. nl_monitor_read drains it, calling cb for every
 * RTM_NEWLINK/RTM_DELLINK; -ENOBUFS means events were lost (resync). */
struct nl_monitor;
int nl_monitor_open(struct nl_monitor **m);
int nl_monitor_fd(const struct nl_monitor *m);
int nl_monitor_read(struct nl_monitor *m, void (*cb)(const struct nl_link *l, bool deleted, void *data),
		    void *data);
void nl_monitor_close(struct nl_monitor *m);     /* NULL-safe */

/* Text for netlink errors per networking.md §9 (never NULL). */
const char *nl_error_hint(int err);

#endif
