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
		else if (len == 16 && n >= 17 && strcmp(r->exprs + n - 17, "meta,cmp,meta,cmp") == 0)
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

/* By hand: libnftnl numbers the element nests 1, 2, … when building (the
 * kernel ignores the nest type) but its parser wants NFTA_LIST_ELEM only. */
static void parse_elems(struct parsed *ps, const struct nlmsghdr *nlh)
{
	struct nlattr *a, *el, *x;

	mnl_attr_for_each(a, (struct nlmsghdr *)nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(el, a) {
			uint32_t key = 0, flags = 0;

			mnl_attr_for_each_nested(x, el) {
				if (mnl_attr_get_type(x) == NFTA_SET_ELEM_FLAGS)
					flags = ntohl(mnl_attr_get_u32(x));
				else if (mnl_attr_get_type(x) == NFTA_SET_ELEM_KEY)
					memcpy(&key, mnl_attr_get_payload(mnl_attr_get_payload(x)), 4);
			}
			if (ps->nelems < (int)ARRAY_SIZE(ps->elem_keys)) {
				ps->elem_keys[ps->nelems] = ntohl(key);
				ps->elem_flags[ps->nelems++] = flags;
			}
		}
	}
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
		ps->elem_msgs++;
		parse_elems(ps, nlh);
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

/* ---- (a) build and parse back ------------------------------------------------ */

static void test_empty(void)
{
	struct fw_plan p = { 0 };
	struct parsed ps;

	is_int(build_parse(&p, &ps), 0, "empty plan: builds");
	is_str(ps.kinds, "BtdE", "empty plan: only add+delete table");
	is_int(ps.bad_hdr, 0, "empty plan: headers, seqs and table name");
	add_net(&p, "wg0", FW_GATEWAY, "10.0.0.0/24", 51820, false, true, true, "");
	add_net(&p, "wg1", FW_SITE_TO_SITE, "10.1.0.0/24", 51821, false, true, true, "192.168.1.0/24");
	add_net(&p, "wg2", FW_HUB_ROUTED, "10.2.0.0/24", 51822, true, false, false, "");
	p.networks[2].enabled = false;
	add_bridge(&p, "wg0", "wg1", FW_BIDIRECTIONAL, "", false);
	build_parse(&p, &ps);
	is_str(ps.kinds, "BtdE", "disabled networks and bridges install nothing");
	fw_plan_free(&p);
	ok(p.networks == NULL && p.nnetworks == 0, "fw_plan_free zeroes the plan");
	fw_plan_free(&p);
	fw_plan_free(NULL);
}

static void test_gateway_hub(void)
{
	struct fw_plan p = { 0 };
	struct parsed ps;

	add_net(&p, "wg0", FW_GATEWAY, "10.0.0.0/24", 51820, true, true, false, "");
	is_int(build_parse(&p, &ps), 0, "gateway: builds");
	is_str(ps.kinds, "BtdtccrrE", "gateway: delete, add table, 2 chains, 2 rules");
	is_int(ps.bad_hdr, 0, "gateway: headers");
	is_str(ps.chains[0], "input", "chain input");
	ok(ps.hooks[0] == NF_INET_LOCAL_IN && ps.prios[0] == 0 && strcmp(ps.chain_types[0], "filter") == 0
	   && ps.policies[0] == NF_ACCEPT, "input: filter hook input priority 0 policy accept");
	is_str(ps.chains[1], "postrouting", "chain postrouting");
	ok(ps.hooks[1] == NF_INET_POST_ROUTING && ps.prios[1] == 100 && strcmp(ps.chain_types[1], "nat") == 0
	   && ps.policies[1] == NF_ACCEPT, "postrouting: nat hook postrouting priority 100 policy accept");
	is_str(ps.rules[0].comment, "udp:51820", "input rule identity");
	is_str(ps.rules[0].exprs, "meta,cmp,payload,cmp,immediate", "udp dport accept");
	is_str(ps.rules[1].chain, "postrouting", "nat rule in postrouting");
	is_str(ps.rules[1].comment, "nat:wg0", "nat rule identity");
	is_str(ps.rules[1].exprs, "meta,cmp,meta,cmp,masq", "iifname oifname != masquerade");
	ok(strcmp(ps.rules[1].iif, "wg0") == 0 && strcmp(ps.rules[1].oif, "wg0") == 0, "nat matches wg0");

	p.networks[0].nat_enabled = false;
	p.networks[0].inter_peer_routing = true;
	p.networks[0].mode = FW_HUB_ROUTED;
	build_parse(&p, &ps);
	is_str(ps.kinds, "BtdtccrrE", "hub: 2 chains, 2 rules");
	ok(strcmp(ps.chains[1], "forward") == 0 && ps.hooks[1] == NF_INET_FORWARD && ps.prios[1] == 0,
	   "hub: forward chain, hook forward priority 0, no postrouting");
	is_str(ps.rules[1].comment, "forward:wg0", "forward rule identity");
	ok(strcmp(ps.rules[1].iif, "wg0") == 0 && strcmp(ps.rules[1].oif, "wg0") == 0
	   && strcmp(ps.rules[1].exprs, "meta,cmp,meta,cmp,immediate") == 0, "iifname wg0 oifname wg0 accept");
	fw_plan_free(&p);
}

static bool has_pair(const struct parsed *ps, const char *a, const char *b)
{
	struct ipnet x = cidr(a), y = cidr(b);

	for (int i = 0; i < ps->nrules; i++)
		if (memcmp(&ps->rules[i].saddr, x.addr, 4) == 0 && memcmp(&ps->rules[i].daddr, y.addr, 4) == 0)
			return true;
	return false;
}

static void test_site_to_site(void)
{
	static const char *const nets[] = { "10.2.0.0/24", "192.168.10.0/24", "192.168.20.0/24" };
	struct fw_plan p = { 0 };
	struct parsed ps;
	int pairs = 0;

	/* two gateways; a duplicate of the subnet and an IPv6 site add nothing */
	add_net(&p, "wg2", FW_SITE_TO_SITE, "10.2.0.0/24", 51822, true, false, false,
		"192.168.10.0/24, 10.2.0.0/24, 192.168.20.0/24, fd00::/64");
	is_int(build_parse(&p, &ps), 0, "site-to-site: builds");
	is_str(ps.kinds, "BtdtccrrrrrrrE", "site-to-site: input + 6 forward rules");
	is_int(count_comment(&ps, "s2s:wg2"), 6, "3 networks give 3x2 = 6 pair rules");
	is_str(ps.rules[1].exprs, "payload,bitwise,cmp,payload,bitwise,cmp,immediate",
	       "ip saddr A ip daddr B accept");
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 3; j++)
			pairs += i != j && has_pair(&ps, nets[i], nets[j]);
	is_int(pairs, 6, "every ordered pair A != B present");
	p.networks[0].mode = FW_GATEWAY;
	build_parse(&p, &ps);
	is_int(count_comment(&ps, "s2s:wg2"), 0, "sites of a non-site-to-site network are ignored");
	fw_plan_free(&p);
}

static void test_bridges(void)
{
	struct fw_plan p = { 0 };
	struct parsed ps;

	add_net(&p, "wg0", FW_GATEWAY, "10.0.0.0/24", 51820, true, false, false, "");
	add_net(&p, "wg1", FW_GATEWAY, "10.1.0.0/24", 51821, true, false, false, "");
	add_bridge(&p, "wg1", "wg0", FW_A_TO_B, "", true);
	build_parse(&p, &ps);
	is_str(ps.kinds, "BtdtccrrrE", "a_to_b: one forward rule");
	ok(strcmp(ps.rules[2].iif, "wg1") == 0 && strcmp(ps.rules[2].oif, "wg0") == 0,
	   "a_to_b: iifname A oifname B");
	is_str(ps.rules[2].comment, "bridge:wg0-wg1", "bridge identity is the sorted pair");
	p.bridges[0].direction = FW_B_TO_A;
	build_parse(&p, &ps);
	ok(ps.nrules == 3 && strcmp(ps.rules[2].iif, "wg0") == 0 && strcmp(ps.rules[2].oif, "wg1") == 0,
	   "b_to_a: iifname B oifname A");
	p.bridges[0].direction = FW_BIDIRECTIONAL;
	build_parse(&p, &ps);
	ok(ps.nrules == 4 && strcmp(ps.rules[2].iif, "wg1") == 0 && strcmp(ps.rules[3].iif, "wg0") == 0,
	   "bidirectional: both rules");
	is_int(count_comment(&ps, "bridge:wg0-wg1"), 2, "both carry the bridge identity");
	is_str(ps.rules[3].exprs, "meta,cmp,meta,cmp,immediate", "no allowed_cidrs: no set");

	free(p.bridges[0].cidrs);
	p.bridges[0].cidrs = cidrs("192.168.5.0/24, 10.1.0.0/24, 10.1.0.128/25", &p.bridges[0].ncidrs);
	p.bridges[0].direction = FW_A_TO_B;
	is_int(build_parse(&p, &ps), 0, "allowed_cidrs: builds");
	is_str(ps.kinds, "BtdtccrrserE", "allowed_cidrs: set and elements before the rule");
	is_int(ps.bad_hdr, 0, "allowed_cidrs: headers");
	is_str(ps.rules[2].exprs, "meta,cmp,meta,cmp,payload,lookup,immediate", "ip daddr @set accept");
	ok(strcmp(ps.rules[2].set, ps.set_names[0]) == 0 && ps.rules[2].set_id == ps.set_ids[0]
	   && ps.set_ids[0] != 0, "lookup names the set by name and transaction id");
	is_int(ps.set_flags[0], NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_INTERVAL,
	       "anonymous constant interval set");
	ok(ps.set_keylen[0] == 4 && ps.set_keytype[0] == 7, "ipv4_addr keys");
	/* 10.1.0.128/25 lies inside 10.1.0.0/24: merged */
	is_int(ps.nelems, 5, "0 end marker + 2 ranges x (start, end)");
	ok(ps.elem_keys[0] == 0 && ps.elem_flags[0] == NFT_SET_ELEM_INTERVAL_END
	   && ps.elem_keys[1] == 0x0a010000 && ps.elem_flags[1] == 0
	   && ps.elem_keys[2] == 0x0a010100 && ps.elem_flags[2] == NFT_SET_ELEM_INTERVAL_END
	   && ps.elem_keys[3] == 0xc0a80500 && ps.elem_keys[4] == 0xc0a80600,
	   "interval elements sorted, ends flagged");

	p.bridges[0].direction = FW_BIDIRECTIONAL;
	build_parse(&p, &ps);
	is_str(ps.kinds, "BtdtccrrserserE", "bidirectional + cidrs: one anonymous set per rule");
	ok(ps.nsets == 2 && strcmp(ps.set_names[0], ps.set_names[1]) != 0 && ps.set_ids[0] != ps.set_ids[1]
	   && strcmp(ps.rules[3].set, ps.set_names[1]) == 0, "distinct set names and ids");

	free(p.bridges[0].cidrs);
	p.bridges[0].cidrs = cidrs("fd00::/64", &p.bridges[0].ncidrs);
	build_parse(&p, &ps);
	is_int(count_comment(&ps, "bridge:wg0-wg1"), 0, "IPv6-only allowed_cidrs open nothing in table ip");
	p.networks[1].enabled = false;  /* plans from the DB already fold this in */
	p.bridges[0].enabled = false;
	build_parse(&p, &ps);
	is_str(ps.kinds, "BtdtcrE", "disabled bridge: nothing; disabled network: no rule");

	/* isolation: one last forward rule, managed -> managed drop */
	p.networks[1].enabled = true;
	p.bridges[0].enabled = true;
	p.bridges[0].direction = FW_A_TO_B;
	free(p.bridges[0].cidrs);
	p.bridges[0].cidrs = NULL;
	p.bridges[0].ncidrs = 0;
	p.isolate = true;
	is_int(build_parse(&p, &ps), 0, "isolation: builds");
	is_str(ps.kinds, "BtdtccrrrrseserE", "isolation: replies first, two ifname sets, the drop rule last");
	is_str(ps.rules[2].comment, "ct:established", "first forward rule: ct state established,related accept");
	is_str(ps.rules[2].exprs, "ct,bitwise,cmp,immediate", "ct state mask != 0 accept");
	is_str(ps.rules[ps.nrules - 1].comment, "isolate:managed", "isolation rule identity");
	is_str(ps.rules[ps.nrules - 1].chain, "forward", "isolation rule in forward, after the accepts");
	is_str(ps.rules[ps.nrules - 1].exprs, "meta,lookup,meta,lookup,immediate",
	       "iifname @managed oifname @managed drop");
	ok(ps.nsets == 2 && ps.set_keytype[0] == 41 && ps.set_keylen[0] == 16
	   && ps.set_flags[0] == (NFT_SET_ANONYMOUS | NFT_SET_CONSTANT), "constant ifname sets (16-byte keys)");
	is_int(ps.nelems, 4, "each set lists the 2 enabled interfaces");
	p.networks[0].enabled = p.networks[1].enabled = false;
	p.bridges[0].enabled = false;
	build_parse(&p, &ps);
	is_str(ps.kinds, "BtdE", "isolation with no enabled network: nothing");
	fw_plan_free(&p);
}

static void test_large_set_and_bounds(void)
{
	static char small[65536];
	struct fw_plan p = { 0 };
	struct parsed ps;
	char list[200 * 20] = "", *buf;
	size_t len = 0, need;
	int bad = 0;

	for (int i = 0; i < 200; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s10.%d.%d.0/24", i ? "," : "",
			 100 + i / 100, (i % 100) * 2);        /* gaps: no merging */
	add_net(&p, "wg0", FW_GATEWAY, "10.0.0.0/24", 51820, true, true, true, "");
	add_net(&p, "wg1", FW_SITE_TO_SITE, "10.1.0.0/24", 51821, true, true, true, "192.168.1.0/24");
	add_bridge(&p, "wg0", "wg1", FW_A_TO_B, list, true);
	is_int(build_parse(&p, &ps), 0, "200 CIDRs: builds");
	is_int(ps.nelems, 401, "200 CIDRs: 401 elements");
	is_int(ps.elem_msgs, 7, "401 elements split over 7 messages of <= 64");
	ok(ps.max_rule_len < 700, "largest rule message %zu bytes (< 700)", ps.max_rule_len);
	is_int(ps.bad_hdr, 0, "200 CIDRs: headers");

	is_int(nft_build_batch(&p, small, sizeof small, &need, SEQ0), 0, "fits 64 KiB");
	/* every shorter buffer (exactly sized on the heap: ASan sees any overrun) */
	for (size_t sz = 0; sz < need; sz += sz < 64 ? 1 : 97) {
		buf = malloc(sz ? sz : 1);
		bad += nft_build_batch(&p, buf, sz, &len, SEQ0) != -EMSGSIZE || len != 0;
		free(buf);
	}
	is_int(bad, 0, "too small buffers give -EMSGSIZE and never overrun");
	fw_plan_free(&p);
}

/* ---- (b) in a network namespace ------------------------------------------------ */

/* Output of cmd (stderr too) in *out (malloc'd); returns the exit status. */
static int run(const char *cmd, char **out)
{
	char full[512], chunk[4096];
	size_t len = 0, n;
	FILE *f;
	int st;

	snprintf(full, sizeof full, "%s 2>&1", cmd);
	*out = calloc(1, 1);
	if (!(f = popen(full, "r")))
		return -1;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		*out = realloc(*out, len + n + 1);
		memcpy(*out + len, chunk, n);
		(*out)[len += n] = '\0';
	}
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool nft_cli_is(const char *cmd, const char *want, const char *what)
{
	char *got;
	int st = run(cmd, &got);
	bool same = st == 0 && strcmp(got, want) == 0;

	is_str(st == 0 ? got : "(nft failed)", want, "%s", what);
	free(got);
	return same;
}

static int genid_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_gen *g = nftnl_gen_alloc();

	if (g && nftnl_gen_nlmsg_parse(nlh, g) == 0)
		*(uint32_t *)data = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
	if (g)
		nftnl_gen_free(g);
	return MNL_CB_OK;
}

/* The ruleset generation: +1 per committed transaction. */
static uint32_t genid(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, 0, 1);
	uint32_t id = 0;
	ssize_t n;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0
	    || mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0
	    || (n = mnl_socket_recvfrom(nl, buf, sizeof buf)) <= 0
	    || mnl_cb_run(buf, (size_t)n, 1, mnl_socket_get_portid(nl), genid_cb, &id) < 0)
		id = 0;
	if (nl)
		mnl_socket_close(nl);
	return id;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static const char list_main[] =
	"table ip wgpilot {\n"
	"\tchain input {\n"
	"\t\ttype filter hook input priority filter; policy accept;\n"
	"\t\tudp dport 51820 accept comment \"udp:51820\"\n"
	"\t\tudp dport 51821 accept comment \"udp:51821\"\n"
	"\t\tudp dport 51822 accept comment \"udp:51822\"\n"
	"\t}\n\n"
	"\tchain postrouting {\n"
	"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	"\t\tiifname \"wg0\" oifname != \"wg0\" masquerade comment \"nat:wg0\"\n"
	"\t}\n\n"
	"\tchain forward {\n"
	"\t\ttype filter hook forward priority filter; policy accept;\n"
	"\t\tiifname \"wg1\" oifname \"wg1\" accept comment \"forward:wg1\"\n"
	"\t\tip saddr 10.2.0.0/24 ip daddr 192.168.10.0/24 accept comment \"s2s:wg2\"\n"
	"\t\tip saddr 10.2.0.0/24 ip daddr 192.168.20.0/24 accept comment \"s2s:wg2\"\n"
	"\t\tip saddr 192.168.10.0/24 ip daddr 10.2.0.0/24 accept comment \"s2s:wg2\"\n"
	"\t\tip saddr 192.168.10.0/24 ip daddr 192.168.20.0/24 accept comment \"s2s:wg2\"\n"
	"\t\tip saddr 192.168.20.0/24 ip daddr 10.2.0.0/24 accept comment \"s2s:wg2\"\n"
	"\t\tip saddr 192.168.20.0/24 ip daddr 192.168.10.0/24 accept comment \"s2s:wg2\"\n"
	"\t\tiifname \"wg0\" oifname \"wg1\" ip daddr { 10.1.0.0/24, 192.168.5.0/24 } accept comment \"bridge:wg0-wg1\"\n"
	"\t\tiifname \"wg1\" oifname \"wg0\" ip daddr { 10.1.0.0/24, 192.168.5.0/24 } accept comment \"bridge:wg0-wg1\"\n"
	"\t}\n"
	"}\n";

static const char dump_main[] =
	"table ip wgpilot {\n"
	"  chain input {\n"
	"    type filter hook input priority 0;\n"
	"    udp dport 51820 accept  # udp:51820\n"
	"    udp dport 51821 accept  # udp:51821\n"
	"    udp dport 51822 accept  # udp:51822\n"
	"  }\n"
	"  chain postrouting {\n"
	"    type nat hook postrouting priority 100;\n"
	"    iifname \"wg0\" oifname != \"wg0\" masquerade  # nat:wg0\n"
	"  }\n"
	"  chain forward {\n"
	"    type filter hook forward priority 0;\n"
	"    iifname \"wg1\" oifname \"wg1\" accept  # forward:wg1\n"
	"    ip saddr 10.2.0.0/24 ip daddr 192.168.10.0/24 accept  # s2s:wg2\n"
	"    ip saddr 10.2.0.0/24 ip daddr 192.168.20.0/24 accept  # s2s:wg2\n"
	"    ip saddr 192.168.10.0/24 ip daddr 10.2.0.0/24 accept  # s2s:wg2\n"
	"    ip saddr 192.168.10.0/24 ip daddr 192.168.20.0/24 accept  # s2s:wg2\n"
	"    ip saddr 192.168.20.0/24 ip daddr 10.2.0.0/24 accept  # s2s:wg2\n"
	"    ip saddr 192.168.20.0/24 ip daddr 192.168.10.0/24 accept  # s2s:wg2\n"
	"    iifname \"wg0\" oifname \"wg1\" ip daddr { 10.1.0.0/24, 192.168.5.0/24 } accept  # bridge:wg0-wg1\n"
	"    iifname \"wg1\" oifname \"wg0\" ip daddr { 10.1.0.0/24, 192.168.5.0/24 } accept  # bridge:wg0-wg1\n"
	"  }\n"
	"}\n";

static const char list_changed[] =
	"table ip wgpilot {\n"
	"\tchain input {\n"
	"\t\ttype filter hook input priority filter; policy accept;\n"
	"\t\tudp dport 51830 accept comment \"udp:51830\"\n"
	"\t}\n\n"
	"\tchain forward {\n"
	"\t\ttype filter hook forward priority filter; policy accept;\n"
	"\t\tiifname \"wg5\" oifname \"wg5\" accept comment \"forward:wg5\"\n"
	"\t}\n"
	"}\n";

static const char list_other[] =
	"table inet other {\n"
	"\tchain c {\n"
	"\t\ttype filter hook input priority filter; policy accept;\n"
	"\t\ttcp dport 22 accept\n"
	"\t}\n"
	"}\n";

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool done = f && fputs(text, f) >= 0;

	return f && fclose(f) == 0 && done;
}

static void test_forwarding(void)
{
	static const char v4[] = "/proc/sys/net/ipv4/ip_forward";
	static const char v6[] = "/proc/sys/net/ipv6/conf/all/forwarding";
	bool has6 = access(v6, F_OK) == 0;

	if (!write_file(v4, "0\n") || (has6 && !write_file(v6, "0\n"))) {
		ok(1, "# SKIP forwarding: cannot write the sysctls in the namespace");
		return;
	}
	is_int(fw_forwarding_check(), FW_FWD_V4_OFF | (has6 ? FW_FWD_V6_OFF : 0), "forwarding off: reported");
	write_file(v4, "1\n");
	is_int(fw_forwarding_check(), has6 ? FW_FWD_V6_OFF : 0, "IPv4 on, IPv6 off");
	if (has6)
		write_file(v6, "1\n");
	is_int(fw_forwarding_check(), 0, "forwarding on: nothing reported");
}

/* nft_apply in a child without CAP_NET_ADMIN: its -errno. */
static int apply_unprivileged(const struct fw_plan *p)
{
	pid_t pid;
	int st = 0, err;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(255);
		err = nft_apply(p);
		_exit(err < 0 && -err < 255 ? -err : 0);
	}
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return pid > 0 && WIFEXITED(st) ? -WEXITSTATUS(st) : -1000;
}

/* Sets split over several element messages, merged and odd ranges. */
static void test_kernel_sets(bool cli)
{
	struct fw_plan p = { 0 };
	char list[100 * 20] = "", *text = NULL;
	int n = 0;

	for (int i = 0; i < 100; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s172.16.%d.0/24", i ? "," : "", 2 * i);
	add_net(&p, "wg0", FW_GATEWAY, "10.0.0.0/24", 51820, true, false, false, "");
	add_net(&p, "wg1", FW_GATEWAY, "10.1.0.0/24", 51821, true, false, false, "");
	add_net(&p, "wg2", FW_GATEWAY, "10.2.0.0/24", 51822, true, false, false, "");
	add_bridge(&p, "wg0", "wg1", FW_A_TO_B, list, true);
	add_bridge(&p, "wg2", "wg1", FW_A_TO_B, "10.9.1.0/24, 10.9.2.0/24, 10.9.0.0/24, 192.0.0.0/2", true);
	is_int(nft_apply(&p), 0, "apply a 100-CIDR set (4 element messages)");
	is_int(nft_dump(&text), 0, "dump it");
	for (const char *s = text; s && (s = strstr(s, "172.16.")); s++)
		n++;
	is_int(n, 100, "all 100 CIDRs in the kernel");
	ok(text && strstr(text, "172.16.0.0/24, 172.16.2.0/24, ") && strstr(text, "172.16.198.0/24 } accept"),
	   "rendered in order");
	ok(text && strstr(text, "iifname \"wg2\" oifname \"wg1\" ip daddr { 10.9.0.0/23, "
			  "10.9.2.0/24, 192.0.0.0/2 } accept  # bridge:wg1-wg2\n"),
	   "merged ranges as the fewest CIDRs, a range up to 255.255.255.255");
	free(text);
	if (cli)
		nft_cli_is("nft list table ip wgpilot | grep -c 172.16.198.0/24", "1\n", "nft lists the set too");
	fw_plan_free(&p);
}

static void ns_tests(void)
{
	static const char list_cmd[] = "nft list table ip wgpilot";
	struct fw_plan p, big = { 0 };
	struct timespec t0;
	char *text = NULL, *out, iface[16];
	uint32_t g0;
	bool cli = access("/usr/sbin/nft", X_OK) == 0 || access("/sbin/nft", X_OK) == 0;
	double first, again;
	int n = 0;

	is_int(nft_dump(&text), 0, "dump without the table: 0");
	is_str(text, "", "dump without the table: empty");
	free(text);
	plan_main(&p);
	g0 = genid();
	is_int(nft_apply(&p), 0, "apply gateway + hub + site-to-site + bridge");
	is_int(genid() - g0, 1, "one transaction");
	if (cli)
		nft_cli_is(list_cmd, list_main, "nft list matches networking.md §6");
	is_int(nft_dump(&text), 0, "nft_dump: 0");
	is_str(text, dump_main, "nft_dump: readable dump");
	free(text);
	g0 = genid();
	is_int(nft_apply(&p), 0, "apply again");
	is_int(genid() - g0, 1, "rebuild is one transaction");
	if (cli)
		nft_cli_is(list_cmd, list_main, "idempotent: same listing");
	g0 = genid();
	is_int(apply_unprivileged(&p), -EPERM, "without CAP_NET_ADMIN: -EPERM");
	is_int(genid(), g0, "failed batch: nothing committed");
	if (cli)
		nft_cli_is(list_cmd, list_main, "failed batch: previous rules still in place");

	if (cli) {
		is_int(run("nft add table inet other && nft 'add chain inet other c { type filter hook input"
			   " priority 0; }' && nft add rule inet other c tcp dport 22 accept", &out), 0,
		       "foreign table created");
		free(out);
		is_int(run("nft add rule ip wgpilot input tcp dport 1 drop", &out), 0, "stray rule in our table");
		free(out);
	}
	fw_plan_free(&p);
	add_net(&p, "wg5", FW_HUB_ROUTED, "10.5.0.0/24", 51830, true, false, true, "");
	g0 = genid();
	is_int(nft_apply(&p), 0, "apply a changed plan");
	is_int(genid() - g0, 1, "replaced in one transaction");
	if (cli) {
		nft_cli_is(list_cmd, list_changed, "changed plan: old rules (and the stray one) replaced");
		nft_cli_is("nft list table inet other", list_other, "table inet other untouched");
	}
	fw_plan_free(&p);
	is_int(nft_apply(&p), 0, "apply the empty plan");
	is_int(nft_dump(&text), 0, "dump after the empty plan");
	is_str(text, "", "table gone");
	free(text);
	if (cli) {
		ok(run(list_cmd, &out) != 0, "nft: table ip wgpilot does not exist");
		free(out);
		nft_cli_is("nft list table inet other", list_other, "table inet other still untouched");
	}
	is_int(nft_apply(&p), 0, "empty plan again: deleting a missing table is no error");

	for (int i = 0; i < 200; i++) {
		char subnet[32];

		snprintf(iface, sizeof iface, "wg%d", i);
		snprintf(subnet, sizeof subnet, "10.%d.%d.0/24", 10 + i / 200, i % 200);
		add_net(&big, iface, i % 3 == 2 ? FW_SITE_TO_SITE : i % 3 ? FW_HUB_ROUTED : FW_GATEWAY,
			subnet, 20000 + i, true, i % 3 == 0, i % 3 == 1, i % 3 == 2 ? "192.168.1.0/24" : "");
	}
	{
		static char buf[1 << 20];
		size_t len = 0;
		int msgs = 0;

		nft_build_batch(&big, buf, sizeof buf, &len, SEQ0);
		for (size_t off = 0; off < len; off += NLMSG_ALIGN(((struct nlmsghdr *)(buf + off))->nlmsg_len))
			msgs++;
		printf("# 200 networks: one batch of %d messages, %zu bytes\n", msgs, len);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(nft_apply(&big), 0, "apply 200 networks");
	first = ms_since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(nft_apply(&big), 0, "re-apply 200 networks (replace)");
	again = ms_since(&t0);
	printf("# apply 200 networks: %.1f ms from empty, %.1f ms replacing\n", first, again);
	is_int(nft_dump(&text), 0, "dump 200 networks");
	for (const char *s = text; s && (s = strstr(s, "# udp:")); s++)
		n++;
	is_int(n, 200, "200 input rules in the kernel");
	free(text);
	fw_plan_free(&big);
	fw_plan_free(&p);
	is_int(nft_apply(&p), 0, "clean up");
	test_kernel_sets(cli);
	is_int(nft_apply(&p), 0, "clean up again");
	ok(nft_unavailable(-EPROTONOSUPPORT) && nft_unavailable(-ENOENT) && !nft_unavailable(-EPERM)
	   && !nft_unavailable(0), "nft_unavailable");
	test_forwarding();
}

struct ns_report {
	int tap_n, tap_failed;
};

static void test_namespace(void)
{
	struct ns_report rep = { 0 };
	int pfd[2], status = 0;
	pid_t pid;

	if (geteuid() != 0) {
		ok(1, "# SKIP namespace tests: not root");
		return;
	}
	if (pipe(pfd) < 0) {
		ok(0, "pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		/* the namespace dies with this process: nothing to clean up */
		if (unshare(CLONE_NEWNET) < 0) {
			ok(1, "# SKIP namespace tests: unshare: %s", strerror(errno));
		} else {
			ns_tests();
		}
		rep.tap_n = tap_n;
		rep.tap_failed = tap_failed;
		fflush(stdout);
		/* exit, not _exit: LeakSanitizer checks the namespace tests too */
		exit(write(pfd[1], &rep, sizeof rep) == sizeof rep ? 0 : 1);
	}
	close(pfd[1]);
	if (pid < 0 || read(pfd[0], &rep, sizeof rep) != (ssize_t)sizeof rep) {
		while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		printf("Bail out! namespace tests died (wait status %d)\n", status);
		tap_failed++;
		close(pfd[0]);
		return;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	close(pfd[0]);
	tap_n = rep.tap_n;
	tap_failed = rep.tap_failed;
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "namespace child exited cleanly (no leaks)");
}

/* ---- (c) the plan from a database ------------------------------------------------ */

static const char seed_sql[] =
	"INSERT INTO networks (id, name, interface, mode, subnet, listen_port, private_key, public_key,"
	" nat_enabled, inter_peer_routing, enabled) VALUES"
	" (1, 'gw', 'wg0', 'gateway', '10.0.0.0/24', 51820, 'k', 'K', 1, 0, 1),"
	" (2, 'hub', 'wg1', 'hub-routed', '10.1.0.0/24', 51821, 'k', 'K', 0, 1, 1),"
	" (3, 's2s', 'wg2', 'site-to-site', '10.2.0.0/24', 51822, 'k', 'K', 0, 0, 1),"
	" (4, 'off', 'wg3', 'gateway', '10.3.0.0/24', 51823, 'k', 'K', 1, 0, 0);"
	"INSERT INTO peers (network_id, name, private_key, public_key, allowed_ips, role,"
	" site_networks, enabled) VALUES"
	" (3, 'a', '', 'A', '10.2.0.2/32', 'site-gateway', '192.168.10.0/24, 192.168.11.0/24', 1),"
	" (3, 'b', '', 'B', '10.2.0.3/32', 'site-gateway', '192.168.20.0/24', 1),"
	" (3, 'c', '', 'C', '10.2.0.4/32', 'site-gateway', '192.168.30.0/24', 0),"
	" (3, 'd', '', 'D', '10.2.0.5/32', 'client', '', 1),"
	" (1, 'e', '', 'E', '10.0.0.2/32', 'site-gateway', '192.168.40.0/24', 1);"
	"INSERT INTO network_bridges (network_a_id, network_b_id, direction, allowed_cidrs, enabled)"
	" VALUES (1, 2, 'bidirectional', '10.1.0.0/24', 1), (2, 3, 'a_to_b', '', 0),"
	" (1, 4, 'b_to_a', '', 1), (3, 1, 'sideways', '', 1), (3, 2, 'a_to_b', 'nonsense', 1);";

static void test_db(void)
{
	char dir[] = "/tmp/wgp-t41-XXXXXX", path[64];
	struct fw_plan p = { 0 };
	struct parsed ps;
	sqlite3 *db = NULL;
	char *errmsg = NULL;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof path, "%s/wgpilot.db", dir);
	if (db_open(path, DB_CREATE, &db) < 0 || db_migrate(db, NULL) < 0
	    || sqlite3_exec(db, seed_sql, NULL, NULL, &errmsg) != SQLITE_OK) {
		ok(0, "database set up: %s", errmsg ? errmsg : "open/migrate failed");
		goto out;
	}
	is_int(fw_plan_from_db(db, &p), 0, "fw_plan_from_db: 0");
	is_int(p.nnetworks, 4, "every network, disabled ones too");
	ok(strcmp(p.networks[0].iface, "wg0") == 0 && p.networks[0].mode == FW_GATEWAY
	   && p.networks[0].listen_port == 51820 && p.networks[0].nat_enabled
	   && !p.networks[0].inter_peer_routing && p.networks[0].enabled && p.networks[0].nsites == 0,
	   "gateway row (its site gateway ignored: not site-to-site)");
	ok(p.networks[1].mode == FW_HUB_ROUTED && p.networks[1].inter_peer_routing
	   && !p.networks[1].nat_enabled, "hub row");
	ok(p.networks[2].mode == FW_SITE_TO_SITE && p.networks[2].subnet.prefix == 24, "site-to-site row");
	is_int(p.networks[2].nsites, 3, "sites of the enabled site gateways only");
	ok(p.networks[2].nsites == 3 && p.networks[2].sites[2].addr[2] == 20, "sites in peer order");
	ok(!p.networks[3].enabled && strcmp(p.networks[3].iface, "wg3") == 0, "disabled network kept, disabled");
	is_int(p.nbridges, 3, "bridges with a bad direction or bad allowed_cidrs left out");
	ok(p.nbridges == 3 && p.bridges[0].enabled && p.bridges[0].direction == FW_BIDIRECTIONAL
	   && p.bridges[0].ncidrs == 1 && strcmp(p.bridges[0].iface_a, "wg0") == 0
	   && strcmp(p.bridges[0].iface_b, "wg1") == 0, "active bridge wg0<->wg1 with its CIDR");
	ok(p.nbridges == 3 && !p.bridges[1].enabled, "disabled bridge inactive");
	ok(p.nbridges == 3 && !p.bridges[2].enabled, "bridge to a disabled network inactive");
	build_parse(&p, &ps);
	ok(p.isolate, "plans from the DB isolate managed networks");
	is_int(ps.nrules, 3 + 1 + 1 + 1 + 12 + 2 + 1,
	       "rules: 3 udp, nat, established, forward, 4x3 s2s, 2 bridge, isolation");
	is_int(count_comment(&ps, "s2s:wg2"), 12, "4 site-to-site networks -> 12 pairs");
	is_int(count_comment(&ps, "udp:51823"), 0, "nothing for the disabled network");
	fw_plan_free(&p);
	sqlite3_exec(db, "DROP TABLE network_bridges", NULL, NULL, NULL);
	ok(fw_plan_from_db(db, &p) < 0, "missing table: error");
	fw_plan_free(&p);
out:
	sqlite3_free(errmsg);
	db_close(db);
	unlink(path);
	snprintf(path, sizeof path, "%s/wgpilot.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/wgpilot.db-shm", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	log_setup(LOG_ERROR + 1, 1);    /* the bad rows above log on purpose */
	test_empty();
	test_gateway_hub();
	test_site_to_site();
	test_bridges();
	test_large_set_and_bounds();
	test_db();
	test_namespace();
	return done_testing();
}
