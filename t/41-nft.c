/* SPDX-License-Identifier: MIT */
/*
 * The firewall (reconciler/nft.c): batches built and parsed back without a
 * kernel; as root, applied inside a network namespace of our own and compared
 * with `nft list`; and the plan read from a real database.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "db.h"
#include "log.h"
#include "nft.h"
#include "tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SEQ0 1000u

/* ---- plans ----------------------------------------------------------------- */

static struct ipnet cidr(const char *s)
{
	struct ipnet n = { 0 };

	if (ipnet_parse_cidr(&n, s) < 0)
		abort();
	ipnet_normalize(&n);
	return n;
}

static struct ipnet *cidrs(const char *list, size_t *n)
{
	struct ipnet *v = NULL;

	*n = 0;
	if (ipnet_parse_list(list, &v, n, NULL) < 0)
		abort();
	return v;
}

static void add_net(struct fw_plan *p, const char *iface, enum fw_mode mode, const char *subnet,
		    int port, bool enabled, bool nat, bool ipr, const char *sites)
{
	struct fw_network *n;

	p->networks = realloc(p->networks, (p->nnetworks + 1) * sizeof *n);
	n = &p->networks[p->nnetworks++];
	memset(n, 0, sizeof *n);
	n->id = (long long)p->nnetworks;
	snprintf(n->iface, sizeof n->iface, "%s", iface);
	n->mode = mode;
	n->subnet = cidr(subnet);
	n->listen_port = (uint16_t)port;
	n->enabled = enabled;
	n->nat_enabled = nat;
	n->inter_peer_routing = ipr;
	n->sites = cidrs(sites, &n->nsites);
}

static void add_bridge(struct fw_plan *p, const char *a, const char *b, enum fw_direction d,
		       const char *allowed, bool enabled)
{
	struct fw_bridge *br;

	p->bridges = realloc(p->bridges, (p->nbridges + 1) * sizeof *br);
	br = &p->bridges[p->nbridges++];
	memset(br, 0, sizeof *br);
	snprintf(br->iface_a, sizeof br->iface_a, "%s", a);
	snprintf(br->iface_b, sizeof br->iface_b, "%s", b);
	br->direction = d;
	br->enabled = enabled;
	br->cidrs = cidrs(allowed, &br->ncidrs);
}

/* gateway wg0, hub wg1, site-to-site wg2 with two gateways, bridge wg0<->wg1 */
static void plan_main(struct fw_plan *p)
{
	memset(p, 0, sizeof *p);
	add_net(p, "wg0", FW_GATEWAY, "10.0.0.0/24", 51820, true, true, false, "");
	add_net(p, "wg1", FW_HUB_ROUTED, "10.1.0.0/24", 51821, true, false, true, "");
	add_net(p, "wg2", FW_SITE_TO_SITE, "10.2.0.0/24", 51822, true, false, false,
		"192.168.10.0/24, 192.168.20.0/24");
	add_bridge(p, "wg0", "wg1", FW_BIDIRECTIONAL, "192.168.5.0/24, 10.1.0.0/24", true);
}

/* ---- parsing a batch back --------------------------------------------------- */

struct prule {
	char chain[16], comment[64], exprs[128];
	char iif[16], oif[16], set[16];
	uint32_t set_id, saddr, daddr;
};

struct parsed {
	char kinds[2048];       /* one letter per message, see kind_letter */
	int nmsgs, bad_hdr;     /* wrong seq, flags, family or table */
	size_t max_rule_len;
	char chains[3][16], chain_types[3][8];
	uint32_t hooks[3];
	int32_t prios[3];
	uint32_t policies[3];
	int nchains;
	struct prule rules[256];
	int nrules;
	char set_names[8][16];
	uint32_t set_ids[8], set_flags[8], set_keylen[8], set_keytype[8];
	int nsets, nelems, elem_msgs;
	uint32_t elem_keys[512], elem_flags[512];
};

static char kind_letter(const struct nlmsghdr *nlh)
{
	if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN)
		return 'B';
	if (nlh->nlmsg_type == NFNL_MSG_BATCH_END)
		return 'E';
	if (nlh->nlmsg_type >> 8 != NFNL_SUBSYS_NFTABLES)
		return '?';
	switch (nlh->nlmsg_type & 0xff) {
	case NFT_MSG_NEWTABLE: return 't';
	case NFT_MSG_DELTABLE: return 'd';
	case NFT_MSG_NEWCHAIN: return 'c';
	case NFT_MSG_NEWSET: return 's';
	case NFT_MSG_NEWSETELEM: return 'e';
	case NFT_MSG_NEWRULE: return 'r';
	}
	return '?';
}

static int expr_cb(struct nftnl_expr *e, void *data)
{
	struct prule *r = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	uint32_t len = 0;

	snprintf(r->exprs + strlen(r->exprs), sizeof r->exprs - strlen(r->exprs), "%s%s",
		 r->exprs[0] ? "," : "", name);
	if (strcmp(name, "cmp") == 0) {
		const char *d = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
		size_t n = strlen(r->exprs);

		/* meta,cmp = iifname; meta,cmp,meta,cmp = oifname */
		if (len == 16 && strcmp(r->exprs, "meta,cmp") == 0)
			snprintf(r->iif, sizeof r->iif, "%.15s", d);
		else if (len == 16 && n > 17 && strcmp(r->exprs + n - 17, "meta,cmp,meta,cmp") == 0)
			snprintf(r->oif, sizeof r->oif, "%.15s", d);
		else if (len == 4 && !r->saddr)
			memcpy(&r->saddr, d, 4);
		else if (len == 4)
			memcpy(&r->daddr, d, 4);
	} else if (strcmp(name, "lookup") == 0) {
		snprintf(r->set, sizeof r->set, "%s", nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET));
		r->set_id = nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SET_ID);
	}
	return MNL_CB_OK;
}

static int elem_cb(struct nftnl_set_elem *e, void *data)
{
	struct parsed *ps = data;
	uint32_t len = 0, key = 0;
	const void *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);

	if (ps->nelems < (int)ARRAY_SIZE(ps->elem_keys) && len == 4) {
		memcpy(&key, k, 4);
		ps->elem_keys[ps->nelems] = ntohl(key);
		ps->elem_flags[ps->nelems++] = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS)
			? nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) : 0;
	}
	return 0;
}

static void parse_rule(struct parsed *ps, const struct nlmsghdr *nlh)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct prule *pr = &ps->rules[ps->nrules];
	uint32_t ulen = 0;
	const char *ud;

	if (ps->nrules == (int)ARRAY_SIZE(ps->rules) || nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		ps->bad_hdr++;
		nftnl_rule_free(r);
		return;
	}
	ps->nrules++;
	memset(pr, 0, sizeof *pr);
	if (nlh->nlmsg_len > ps->max_rule_len)
		ps->max_rule_len = nlh->nlmsg_len;
	snprintf(pr->chain, sizeof pr->chain, "%s", nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	ps->bad_hdr += strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), "wgpilot") != 0;
	ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &ulen);
	/* one comment attribute: type, length, text with its NUL */
	if (ud && ulen > 2 && ud[0] == NFTNL_UDATA_RULE_COMMENT && (uint8_t)ud[1] == ulen - 2)
		snprintf(pr->comment, sizeof pr->comment, "%s", ud + 2);
	nftnl_expr_foreach(r, expr_cb, pr);
	nftnl_rule_free(r);
}

static void parse_msg(struct parsed *ps, const struct nlmsghdr *nlh)
{
	struct nftnl_table *t;
	struct nftnl_chain *c;
	struct nftnl_set *s;
	int i;

	switch (nlh->nlmsg_type & 0xff) {
	case NFT_MSG_NEWTABLE:
	case NFT_MSG_DELTABLE:
		t = nftnl_table_alloc();
		ps->bad_hdr += nftnl_table_nlmsg_parse(nlh, t) < 0
			       || strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), "wgpilot") != 0;
		nftnl_table_free(t);
		break;
	case NFT_MSG_NEWCHAIN:
		c = nftnl_chain_alloc();
		i = ps->nchains++;
		if (i >= 3 || nftnl_chain_nlmsg_parse(nlh, c) < 0) {
			ps->bad_hdr++;
		} else {
			snprintf(ps->chains[i], 16, "%s", nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
			snprintf(ps->chain_types[i], 8, "%s", nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE));
			ps->hooks[i] = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
			ps->prios[i] = nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO);
			ps->policies[i] = nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY);
			ps->bad_hdr += strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), "wgpilot") != 0;
		}
		nftnl_chain_free(c);
		break;
	case NFT_MSG_NEWSET:
		s = nftnl_set_alloc();
		i = ps->nsets++;
		if (i >= 8 || nftnl_set_nlmsg_parse(nlh, s) < 0) {
			ps->bad_hdr++;
		} else {
			snprintf(ps->set_names[i], 16, "%s", nftnl_set_get_str(s, NFTNL_SET_NAME));
			ps->set_ids[i] = nftnl_set_get_u32(s, NFTNL_SET_ID);
			ps->set_flags[i] = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
			ps->set_keylen[i] = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN);
			ps->set_keytype[i] = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE);
		}
		nftnl_set_free(s);
		break;
	case NFT_MSG_NEWSETELEM:
		s = nftnl_set_alloc();
		ps->elem_msgs++;
		if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0)
			ps->bad_hdr++;
		else
			nftnl_set_elem_foreach(s, elem_cb, ps);
		nftnl_set_free(s);
		break;
	case NFT_MSG_NEWRULE:
		parse_rule(ps, nlh);
		break;
	}
}

/* Walks buf as the kernel would: consecutive seqs from SEQ0, NLM_F_ACK and
 * family ip on every message between begin and end. */
static void parse_batch(struct parsed *ps, const char *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int left = (int)len;

	memset(ps, 0, sizeof *ps);
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
		char k = kind_letter(nlh);

		if ((size_t)ps->nmsgs < sizeof ps->kinds - 1)
			ps->kinds[ps->nmsgs] = k;
		ps->bad_hdr += nlh->nlmsg_seq != SEQ0 + (uint32_t)ps->nmsgs;
		ps->nmsgs++;
		if (k == 'B' || k == 'E') {
			ps->bad_hdr += ntohs(g->res_id) != NFNL_SUBSYS_NFTABLES && g->res_id != NFNL_SUBSYS_NFTABLES;
			continue;
		}
		ps->bad_hdr += !(nlh->nlmsg_flags & NLM_F_ACK) || !(nlh->nlmsg_flags & NLM_F_REQUEST)
			       || g->nfgen_family != NFPROTO_IPV4;
		parse_msg(ps, nlh);
	}
	ps->bad_hdr += left != 0;
}

static int build_parse(const struct fw_plan *p, struct parsed *ps)
{
	static char buf[1 << 20];
	size_t len = 0;
	int err = nft_build_batch(p, buf, sizeof buf, &len, SEQ0);

	memset(ps, 0, sizeof *ps);
	if (err == 0)
		parse_batch(ps, buf, len);
	return err;
}

static int count_comment(const struct parsed *ps, const char *comment)
{
	int n = 0;

	for (int i = 0; i < ps->nrules; i++)
		n += strcmp(ps->rules[i].comment, comment) == 0;
	return n;
}
