/* SPDX-License-Identifier: MIT */
/*
 * The firewall of networking.md §6: `table ip wgpilot`, rebuilt from the DB in
 * one atomic nf_tables batch. Planning (fw_plan_from_db) reads the DB into
 * plain structs; nft_build_batch turns a plan into netlink bytes without
 * touching the kernel; nft_apply sends them; nft_dump reads the table back.
 */
#ifndef WGP_NFT_H
#define WGP_NFT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ipnet.h"

#define NFT_TABLE "wgpilot"

enum fw_mode { FW_GATEWAY, FW_SITE_TO_SITE, FW_HUB_ROUTED, FW_MODE__MAX };
enum fw_direction { FW_A_TO_B, FW_B_TO_A, FW_BIDIRECTIONAL, FW_DIRECTION__MAX };

struct fw_network {
	long long id;           /* networks.id */
	char iface[16];
	enum fw_mode mode;
	struct ipnet subnet;    /* family 0 when the row's subnet did not parse */
	uint16_t listen_port;
	bool enabled, nat_enabled, inter_peer_routing;
	/* site_networks of the network's enabled site gateways (site-to-site
	 * only matters); malloc'd, owned by the plan */
	struct ipnet *sites;
	size_t nsites;
};

struct fw_bridge {
	char iface_a[16], iface_b[16];
	enum fw_direction direction;
	/* allowed_cidrs; none = any destination. IPv6 items match nothing in
	 * an ip table: a list with only IPv6 items installs no rule. malloc'd */
	struct ipnet *cidrs;
	size_t ncidrs;
	bool enabled;           /* the bridge and both of its networks */
};

struct fw_plan {
	struct fw_network *networks;
	size_t nnetworks;
	struct fw_bridge *bridges;
	size_t nbridges;
	/* Drop managed-to-managed forwarding no rule accepted (isolation of
	 * networks without a bridge). fw_plan_from_db sets it. */
	bool isolate;
};

/* Reads networks (by id), the site_networks of enabled site-gateway peers
 * and network_bridges (by id, joined to their networks' interfaces) into
 * *out, which the caller releases with fw_plan_free (also after an error).
 * Rows that do not parse are logged and left out (a bad bridge entirely, so
 * it never opens more than intended). 0 or -errno. */
int fw_plan_from_db(sqlite3 *db, struct fw_plan *out);
/* Frees what the plan owns and zeroes it; NULL-safe. */
void fw_plan_free(struct fw_plan *p);

/* Writes into buf one nfnetlink batch (BATCH_BEGIN … BATCH_END, sequence
 * numbers seq, seq+1, …; NLM_F_ACK on every message between begin and end)
 * that removes `table ip wgpilot` if present and, when the plan installs
 * anything, recreates it with its chains, anonymous sets and rules. *len gets
 * the byte count. 0, -EMSGSIZE when bufsz is too small (buf content is then
 * unspecified), -ENOMEM. */
int nft_build_batch(const struct fw_plan *p, char *buf, size_t bufsz, size_t *len, uint32_t seq);

/* Builds the batch for p and sends it on a NETLINK_NETFILTER socket with one
 * sendto, then reads until every message was acknowledged; the kernel applies
 * all of it or none. Logs the first failing message. 0, or -errno:
 * -EPROTONOSUPPORT nf_tables is unavailable (no nfnetlink or no nf_tables
 * module), -ENOENT a chain type or expression is missing (nat/masq modules),
 * -EPERM no CAP_NET_ADMIN (the first two mean NFTABLES_UNAVAILABLE);
 * -ENOBUFS/-ETIMEDOUT acks lost, outcome unknown: apply again. */
int nft_apply(const struct fw_plan *p);
/* true when err from nft_apply means the kernel lacks nf_tables support. */
bool nft_unavailable(int err);

/* The kernel's `table ip wgpilot` as readable text in the format of
 * networking.md §6 (each rule followed by "# <identity>"). *text malloc'd
 * (caller frees); "" when the table does not exist. 0 or -errno. */
int nft_dump(char **text);

enum { FW_FWD_V4_OFF = 1, FW_FWD_V6_OFF = 2 };
/* Reads /proc/sys/net/ipv4/ip_forward and
 * /proc/sys/net/ipv6/conf/all/forwarding (absent IPv6 counts as fine).
 * Returns the FW_FWD_* bits of those that are off, or -errno when the IPv4
 * setting cannot be read. Never writes. */
int fw_forwarding_check(void);

#endif
