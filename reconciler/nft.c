/* SPDX-License-Identifier: MIT */
/*
 * `table ip wgpilot` (networking.md §6). Every change rebuilds the whole table
 * in one nf_tables transaction: add table (so the delete never fails), delete
 * table, add table, chains, sets, rules, commit. The kernel swaps the old rule
 * set for the new one at commit, so there is never a moment without rules and
 * a failure leaves the previous table in place. The plan comes from
 * fw-plan.c, the read-back for logs and tests is nft-dump.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include "db.h"
#include "log.h"
#include "nft.h"
#include "nft-int.h"
#include "sbuf.h"

/* ---- shared with fw-plan.c and nft-dump.c ------------------------------- */

void *fw_grow(void *v, size_t n, size_t *cap, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 8;

	if (n < *cap)
		return v;
	v = realloc(v, ncap * size);
	if (v)
		*cap = ncap;
	return v;
}

/* ---- building the batch --------------------------------------------------- */

enum fw_chain { CH_INPUT, CH_POSTROUTING, CH_FORWARD, CH__MAX };

static const struct {
	const char *name, *type;
	uint32_t hook;
	int32_t prio;
} fw_chains[CH__MAX] = {
	[CH_INPUT] = { "input", "filter", NF_INET_LOCAL_IN, 0 },
	[CH_POSTROUTING] = { "postrouting", "nat", NF_INET_POST_ROUTING, 100 },
	[CH_FORWARD] = { "forward", "filter", NF_INET_FORWARD, 0 },
};

/* libnftnl writes messages without bounds checks, so room is checked before
 * each one against these generous upper bounds (the largest rule we build
 * is under 700 bytes; t/41-nft.c checks both). */
#define MSG_MAX 2048
#define ELEMS_PER_MSG 64
#define ELEM_MAX 64
#define HDR_LEN NLMSG_ALIGN(sizeof(struct nlmsghdr) + sizeof(struct nfgenmsg))
#define TYPE_IPADDR 7           /* nft's datatype ipv4_addr, for `nft list` */
#define TYPE_IFNAME 41          /* nft's datatype ifname */
#define BYTEORDER_HOST 1        /* nft's byteorder enum, in set userdata */

struct batch {
	char *buf;
	size_t size, len;
	uint32_t seq;
	int err;
	bool dry;               /* only count rules per chain */
	size_t nrules[CH__MAX];
	uint32_t nsets;
};

struct rule {
	struct nftnl_rule *r;
	bool oom;
};

/* [lo, hi) of IPv4 addresses in host order; hi may be 2^32. */
struct range {
	uint64_t lo, hi;
};

static void nft_fail(struct batch *b, int err)
{
	if (!b->err)
		b->err = err;
}

/* Room for a message of at most bound bytes plus the closing BATCH_END. */
static struct nlmsghdr *nft_msg(struct batch *b, uint16_t type, uint16_t flags, size_t bound)
{
	if (b->err)
		return NULL;
	if (b->size - b->len < bound + HDR_LEN) {
		nft_fail(b, -EMSGSIZE);
		return NULL;
	}
	return nftnl_nlmsg_build_hdr(b->buf + b->len, type, NFPROTO_IPV4, flags | NLM_F_ACK, b->seq++);
}

static void nft_msg_end(struct batch *b, const struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static void nft_put_table(struct batch *b, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE) < 0)
		nft_fail(b, -ENOMEM);
	else if ((nlh = nft_msg(b, type, flags, MSG_MAX))) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		nft_msg_end(b, nlh);
	}
	if (t)
		nftnl_table_free(t);
}

static void nft_put_chain(struct batch *b, enum fw_chain c)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!ch || nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, NFT_TABLE) < 0
	    || nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, fw_chains[c].name) < 0
	    || nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, fw_chains[c].type) < 0) {
		nft_fail(b, -ENOMEM);
	} else if ((nlh = nft_msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, MSG_MAX))) {
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, fw_chains[c].hook);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, fw_chains[c].prio);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		nftnl_chain_nlmsg_build_payload(nlh, ch);
		nft_msg_end(b, nlh);
	}
	if (ch)
		nftnl_chain_free(ch);
}

/* Starts a rule in chain c with the identity comment; false when nothing is
 * to be built (dry run or earlier error). */
static bool nft_rule_start(struct batch *b, struct rule *ru, enum fw_chain c, const char *comment)
{
	struct nftnl_udata_buf *ud;

	if (b->dry)
		b->nrules[c]++;
	if (b->dry || b->err)
		return false;
	ru->r = nftnl_rule_alloc();
	ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	ru->oom = !ru->r || !ud || !nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, comment)
		  || nftnl_rule_set_str(ru->r, NFTNL_RULE_TABLE, NFT_TABLE) < 0
		  || nftnl_rule_set_str(ru->r, NFTNL_RULE_CHAIN, fw_chains[c].name) < 0
		  || nftnl_rule_set_data(ru->r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
					 nftnl_udata_buf_len(ud)) < 0;
	if (ud)
		nftnl_udata_buf_free(ud);
	return true;
}

static void nft_rule_end(struct batch *b, struct rule *ru)
{
	struct nlmsghdr *nlh;

	if (ru->oom)
		nft_fail(b, -ENOMEM);
	else if ((nlh = nft_msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, MSG_MAX))) {
		nftnl_rule_nlmsg_build_payload(nlh, ru->r);
		nft_msg_end(b, nlh);
	}
	if (ru->r)
		nftnl_rule_free(ru->r);
	ru->r = NULL;
}

static struct nftnl_expr *nft_expr(struct rule *ru, const char *name)
{
	struct nftnl_expr *e = ru->oom ? NULL : nftnl_expr_alloc(name);

	if (!e) {
		ru->oom = true;
		return NULL;
	}
	nftnl_rule_add_expr(ru->r, e);
	return e;
}

static void nft_x_meta(struct rule *ru, uint32_t key)
{
	struct nftnl_expr *e = nft_expr(ru, "meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
}

static void nft_x_cmp(struct rule *ru, enum nft_cmp_ops op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nft_expr(ru, "cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		ru->oom |= nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len) < 0;
	}
}

static void nft_x_payload(struct rule *ru, enum nft_payload_bases base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = nft_expr(ru, "payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	}
}

static void nft_x_mask(struct rule *ru, const uint8_t mask[4])
{
	static const uint8_t zero[4];
	struct nftnl_expr *e = nft_expr(ru, "bitwise");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
		ru->oom |= nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, 4) < 0
			   || nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, 4) < 0;
	}
}

static void nft_x_lookup(struct rule *ru, const char *set, uint32_t id)
{
	struct nftnl_expr *e = nft_expr(ru, "lookup");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, id);
		ru->oom |= nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set) < 0;
	}
}

static void nft_x_accept(struct rule *ru)
{
	struct nftnl_expr *e = nft_expr(ru, "immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
	}
}

static void nft_x_drop(struct rule *ru)
{
	struct nftnl_expr *e = nft_expr(ru, "immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
	}
}

/* iifname/oifname (key) op "name": an exact match, NUL-padded to IFNAMSIZ. */
static void nft_m_ifname(struct rule *ru, uint32_t key, enum nft_cmp_ops op, const char *name)
{
	char pad[IFNAMSIZ] = { 0 };

	memcpy(pad, name, strnlen(name, IFNAMSIZ - 1));
	nft_x_meta(ru, key);
	nft_x_cmp(ru, op, pad, sizeof pad);
}

static void nft_m_udp_dport(struct rule *ru, uint16_t port)
{
	uint8_t proto = IPPROTO_UDP;
	uint16_t be = htons(port);

	nft_x_meta(ru, NFT_META_L4PROTO);
	nft_x_cmp(ru, NFT_CMP_EQ, &proto, sizeof proto);
	nft_x_payload(ru, NFT_PAYLOAD_TRANSPORT_HEADER, 2, sizeof be);
	nft_x_cmp(ru, NFT_CMP_EQ, &be, sizeof be);
}

static uint32_t nft_mask(unsigned prefix)
{
	return prefix == 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

/* ip saddr (offset 12) / ip daddr (16) within the IPv4 prefix n. */
static void nft_m_ip(struct rule *ru, uint32_t offset, const struct ipnet *n)
{
	uint32_t addr, mask = htonl(nft_mask(n->prefix));

	if (n->prefix == 0)
		return;         /* 0.0.0.0/0 matches every packet */
	memcpy(&addr, n->addr, 4);
	addr &= mask;
	nft_x_payload(ru, NFT_PAYLOAD_NETWORK_HEADER, offset, 4);
	if (n->prefix < 32)
		nft_x_mask(ru, (const uint8_t *)&mask);
	nft_x_cmp(ru, NFT_CMP_EQ, &addr, 4);
}

static int nft_cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The IPv4 items of v as sorted, merged ranges in out (room for n). */
static size_t nft_ranges(const struct ipnet *v, size_t n, struct range *out)
{
	size_t k = 0, m = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t a;

		if (v[i].family != AF_INET)
			continue;
		memcpy(&a, v[i].addr, 4);
		out[k].lo = ntohl(a) & nft_mask(v[i].prefix);
		out[k].hi = out[k].lo + (1ULL << (32 - (v[i].prefix > 32 ? 32 : v[i].prefix)));
		k++;
	}
	qsort(out, k, sizeof *out, nft_cmp_range);
	for (size_t i = 0; i < k; i++) {
		if (m && out[i].lo <= out[m - 1].hi) {  /* overlapping or adjacent */
			if (out[i].hi > out[m - 1].hi)
				out[m - 1].hi = out[i].hi;
		} else {
			out[m++] = out[i];
		}
	}
	return m;
}

struct nftnl_set *nft_set_new(const char *name, uint32_t id)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (s && (nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE) < 0
		  || nftnl_set_set_str(s, NFTNL_SET_NAME, name) < 0)) {
		nftnl_set_free(s);
		return NULL;
	}
	if (s)
		nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	return s;
}

/* Sends the elements of an interval set in messages of ELEMS_PER_MSG: the
 * nft convention of an end marker at 0 when the first range starts above 0,
 * then each range's start and (unless it runs to the top) its end. */
static void nft_put_elems(struct batch *b, const char *name, uint32_t id, const struct range *r, size_t nr)
{
	struct nftnl_set *s = NULL;
	size_t nk = 0, in_msg = 0;
	struct key *keys = malloc((2 * nr + 1) * sizeof *keys);
	bool oom = !keys;

	if (!oom && r[0].lo != 0)
		keys[nk++] = (struct key){ 0, true };
	for (size_t i = 0; !oom && i < nr; i++) {
		keys[nk++] = (struct key){ (uint32_t)r[i].lo, false };
		if (r[i].hi <= 0xffffffffu)
			keys[nk++] = (struct key){ (uint32_t)r[i].hi, true };
	}
	for (size_t i = 0; !oom && !b->err && i < nk; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		uint32_t be = htonl(keys[i].key);

		if (!s)
			s = nft_set_new(name, id);
		if (!s || !e || nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &be, 4) < 0) {
			if (e)
				nftnl_set_elem_free(e);
			oom = true;
			break;
		}
		if (keys[i].end)
			nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
		nftnl_set_elem_add(s, e);
		if (++in_msg == ELEMS_PER_MSG || i + 1 == nk) {
			struct nlmsghdr *nlh = nft_msg(b, NFT_MSG_NEWSETELEM, NLM_F_CREATE,
						       HDR_LEN + 256 + in_msg * ELEM_MAX);
			if (nlh) {
				nftnl_set_elems_nlmsg_build_payload(nlh, s);
				nft_msg_end(b, nlh);
			}
			nftnl_set_free(s);
			s = NULL;
			in_msg = 0;
		}
	}
	if (oom)
		nft_fail(b, -ENOMEM);
	if (s)
		nftnl_set_free(s);
	free(keys);
}

/* An anonymous constant interval set of IPv4 addresses, bound later by one
 * lookup (the kernel binds an anonymous set to exactly one rule). */
static void nft_put_set(struct batch *b, char name[16], uint32_t *id, const struct range *r, size_t nr)
{
	struct nftnl_set *s;
	struct nlmsghdr *nlh;

	*id = ++b->nsets;
	snprintf(name, 16, "__set%u", *id - 1);
	if (!(s = nft_set_new(name, *id))) {
		nft_fail(b, -ENOMEM);
		return;
	}
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_INTERVAL);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, TYPE_IPADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
	if ((nlh = nft_msg(b, NFT_MSG_NEWSET, NLM_F_CREATE, MSG_MAX))) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		nft_msg_end(b, nlh);
	}
	nftnl_set_free(s);
	nft_put_elems(b, name, *id, r, nr);
}

/* An anonymous constant set of interface names (NUL-padded to IFNAMSIZ),
 * bound later by one lookup. */
static void nft_put_ifname_set(struct batch *b, char name[16], uint32_t *id,
			       const struct fw_plan *p)
{
	struct nftnl_set *s;
	struct nlmsghdr *nlh;
	size_t in_msg = 0, left = 0;

	for (size_t i = 0; i < p->nnetworks; i++)
		left += p->networks[i].enabled;
	*id = ++b->nsets;
	snprintf(name, 16, "__set%u", *id - 1);
	if (!(s = nft_set_new(name, *id))) {
		nft_fail(b, -ENOMEM);
		return;
	}
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, TYPE_IFNAME);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, IFNAMSIZ);
	/* Tells `nft list` the keys are host-order strings (it would byte-swap
	 * them for display otherwise); the kernel compares raw bytes either way. */
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(16);
	if (!ud || !nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, BYTEORDER_HOST)
	    || nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
				  nftnl_udata_buf_len(ud)) < 0)
		nft_fail(b, -ENOMEM);
	nftnl_udata_buf_free(ud);
	if ((nlh = nft_msg(b, NFT_MSG_NEWSET, NLM_F_CREATE, MSG_MAX))) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		nft_msg_end(b, nlh);
	}
	nftnl_set_free(s);
	s = NULL;
	for (size_t i = 0; i < p->nnetworks && !b->err; i++) {
		char key[IFNAMSIZ] = { 0 };
		struct nftnl_set_elem *e;

		if (!p->networks[i].enabled)
			continue;
		left--;
		if (!s && !(s = nft_set_new(name, *id))) {
			nft_fail(b, -ENOMEM);
			return;
		}
		memcpy(key, p->networks[i].iface, strnlen(p->networks[i].iface, IFNAMSIZ - 1));
		e = nftnl_set_elem_alloc();
		if (!e || nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, IFNAMSIZ) < 0) {
			if (e)
				nftnl_set_elem_free(e);
			nft_fail(b, -ENOMEM);
			break;
		}
		nftnl_set_elem_add(s, e);
		if (++in_msg == ELEMS_PER_MSG || left == 0) {
			if ((nlh = nft_msg(b, NFT_MSG_NEWSETELEM, NLM_F_CREATE,
					   HDR_LEN + 256 + in_msg * ELEM_MAX))) {
				nftnl_set_elems_nlmsg_build_payload(nlh, s);
				nft_msg_end(b, nlh);
			}
			nftnl_set_free(s);
			s = NULL;
			in_msg = 0;
		}
	}
	if (s)
		nftnl_set_free(s);
}

/* ct state established,related accept: replies of a connection a rule below
 * allowed (a one-way bridge lets A open connections to B, and B answer). */
static void nft_rule_established(struct batch *b)
{
	static const uint32_t zero = 0;
	uint32_t bits = 0x2 | 0x4;      /* NF_CT_STATE_BIT(ESTABLISHED) | _BIT(RELATED) */
	uint8_t mask[4];
	struct rule ru;
	struct nftnl_expr *e;

	if (!nft_rule_start(b, &ru, CH_FORWARD, "ct:established"))
		return;
	if ((e = nft_expr(&ru, "ct"))) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	}
	memcpy(mask, &bits, 4);         /* ct state is a host-order u32 */
	nft_x_mask(&ru, mask);
	nft_x_cmp(&ru, NFT_CMP_NEQ, &zero, 4);
	nft_x_accept(&ru);
	nft_rule_end(b, &ru);
}

/* Last in the forward chain: traffic from a managed interface to a managed
 * interface that no rule above accepted is dropped, so networks stay isolated
 * without a bridge and peers of a network without inter-peer routing cannot
 * reach each other (C design; base chains keep their accept policy). */
static void nft_rule_isolation(struct batch *b, const struct fw_plan *p)
{
	struct rule ru;
	char in_set[16], out_set[16];
	uint32_t in_id = 0, out_id = 0;
	bool any = false;

	for (size_t i = 0; i < p->nnetworks; i++)
		any |= p->networks[i].enabled;
	if (!p->isolate || !any || !nft_rule_start(b, &ru, CH_FORWARD, "isolate:managed"))
		return;
	nft_put_ifname_set(b, in_set, &in_id, p);
	nft_put_ifname_set(b, out_set, &out_id, p);
	nft_x_meta(&ru, NFT_META_IIFNAME);
	nft_x_lookup(&ru, in_set, in_id);
	nft_x_meta(&ru, NFT_META_OIFNAME);
	nft_x_lookup(&ru, out_set, out_id);
	nft_x_drop(&ru);
	nft_rule_end(b, &ru);
}

static void nft_rules_s2s(struct batch *b, const struct fw_network *n)
{
	struct ipnet *v = malloc((n->nsites + 1) * sizeof *v);
	size_t k = 0;
	char id[32];
	struct rule ru;

	if (!v) {
		nft_fail(b, -ENOMEM);
		return;
	}
	/* {subnet} ∪ sites, IPv4 only, each once */
	for (size_t i = 0; i <= n->nsites; i++) {
		const struct ipnet *x = i == 0 ? &n->subnet : &n->sites[i - 1];
		bool dup = x->family != AF_INET;

		for (size_t j = 0; j < k && !dup; j++)
			dup = v[j].prefix == x->prefix && memcmp(v[j].addr, x->addr, 4) == 0;
		if (!dup)
			v[k++] = *x;
	}
	snprintf(id, sizeof id, "s2s:%s", n->iface);
	for (size_t i = 0; i < k; i++)
		for (size_t j = 0; j < k; j++)
			if (i != j && nft_rule_start(b, &ru, CH_FORWARD, id)) {
				nft_m_ip(&ru, 12, &v[i]);
				nft_m_ip(&ru, 16, &v[j]);
				nft_x_accept(&ru);
				nft_rule_end(b, &ru);
			}
	free(v);
}

static void nft_rule_bridge(struct batch *b, const char *id, const char *from, const char *to,
			    const struct range *r, size_t nr)
{
	struct rule ru;
	char set[16];
	uint32_t set_id = 0;

	if (!nft_rule_start(b, &ru, CH_FORWARD, id))
		return;
	if (nr)
		nft_put_set(b, set, &set_id, r, nr);
	nft_m_ifname(&ru, NFT_META_IIFNAME, NFT_CMP_EQ, from);
	nft_m_ifname(&ru, NFT_META_OIFNAME, NFT_CMP_EQ, to);
	if (nr) {
		nft_x_payload(&ru, NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
		nft_x_lookup(&ru, set, set_id);
	}
	nft_x_accept(&ru);
	nft_rule_end(b, &ru);
}

static void nft_rules_bridge(struct batch *b, const struct fw_bridge *br)
{
	struct range *r = malloc((br->ncidrs + 1) * sizeof *r);
	size_t nr;
	bool sorted = strcmp(br->iface_a, br->iface_b) <= 0;
	char id[48];

	if (!r) {
		nft_fail(b, -ENOMEM);
		return;
	}
	nr = nft_ranges(br->cidrs, br->ncidrs, r);
	snprintf(id, sizeof id, "bridge:%s-%s", sorted ? br->iface_a : br->iface_b,
		 sorted ? br->iface_b : br->iface_a);
	if (br->ncidrs == 0 || nr > 0) {        /* IPv6-only lists allow nothing here */
		if (br->direction != FW_B_TO_A)
			nft_rule_bridge(b, id, br->iface_a, br->iface_b, r, nr);
		if (br->direction != FW_A_TO_B)
			nft_rule_bridge(b, id, br->iface_b, br->iface_a, r, nr);
	}
	free(r);
}

/* Every rule of the plan, chain by chain, in a fixed order. */
static void nft_rules(struct batch *b, const struct fw_plan *p)
{
	struct rule ru;
	char id[48];

	for (size_t i = 0; i < p->nnetworks; i++) {
		const struct fw_network *n = &p->networks[i];

		snprintf(id, sizeof id, "udp:%u", n->listen_port);
		if (n->enabled && nft_rule_start(b, &ru, CH_INPUT, id)) {
			nft_m_udp_dport(&ru, n->listen_port);
			nft_x_accept(&ru);
			nft_rule_end(b, &ru);
		}
	}
	for (size_t i = 0; i < p->nnetworks; i++) {
		const struct fw_network *n = &p->networks[i];

		snprintf(id, sizeof id, "nat:%s", n->iface);
		if (n->enabled && n->nat_enabled && nft_rule_start(b, &ru, CH_POSTROUTING, id)) {
			nft_m_ifname(&ru, NFT_META_IIFNAME, NFT_CMP_EQ, n->iface);
			nft_m_ifname(&ru, NFT_META_OIFNAME, NFT_CMP_NEQ, n->iface);
			nft_expr(&ru, "masq");
			nft_rule_end(b, &ru);
		}
	}
	for (size_t i = 0; p->isolate && i < p->nnetworks; i++)
		if (p->networks[i].enabled) {
			nft_rule_established(b);        /* first in forward, before the drops */
			break;
		}
	for (size_t i = 0; i < p->nnetworks; i++) {
		const struct fw_network *n = &p->networks[i];

		snprintf(id, sizeof id, "forward:%s", n->iface);
		if (n->enabled && n->inter_peer_routing && nft_rule_start(b, &ru, CH_FORWARD, id)) {
			nft_m_ifname(&ru, NFT_META_IIFNAME, NFT_CMP_EQ, n->iface);
			nft_m_ifname(&ru, NFT_META_OIFNAME, NFT_CMP_EQ, n->iface);
			nft_x_accept(&ru);
			nft_rule_end(b, &ru);
		}
		if (n->enabled && n->mode == FW_SITE_TO_SITE)
			nft_rules_s2s(b, n);
	}
	for (size_t i = 0; i < p->nbridges; i++)
		if (p->bridges[i].enabled)
			nft_rules_bridge(b, &p->bridges[i]);
	nft_rule_isolation(b, p);
}

static void nft_put_batch_hdr(struct batch *b, bool begin)
{
	struct nlmsghdr *nlh;

	if (b->err)
		return;
	if (b->size - b->len < HDR_LEN) {
		nft_fail(b, -EMSGSIZE);
		return;
	}
	nlh = begin ? nftnl_batch_begin(b->buf + b->len, b->seq++) : nftnl_batch_end(b->buf + b->len, b->seq++);
	nft_msg_end(b, nlh);
}

int nft_build_batch(const struct fw_plan *p, char *buf, size_t bufsz, size_t *len, uint32_t seq)
{
	struct batch b = { .buf = buf, .size = bufsz, .seq = seq, .dry = true };
	size_t total = 0;

	*len = 0;
	nft_rules(&b, p);               /* which chains have rules */
	b.dry = false;
	for (int c = 0; c < CH__MAX; c++)
		total += b.nrules[c];
	nft_put_batch_hdr(&b, true);
	nft_put_table(&b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	nft_put_table(&b, NFT_MSG_DELTABLE, 0);
	if (total) {
		nft_put_table(&b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
		for (int c = 0; c < CH__MAX; c++)
			if (b.nrules[c])
				nft_put_chain(&b, (enum fw_chain)c);
		nft_rules(&b, p);
	}
	nft_put_batch_hdr(&b, false);
	if (!b.err)
		*len = b.len;
	return b.err;
}

/* ---- talking to the kernel ------------------------------------------------ */

#define BATCH_START (64 * 1024)
#define BATCH_LIMIT (64 * 1024 * 1024)
#define ACK_TIMEOUT_MS 10000

int nft_open(struct mnl_socket **out)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int one = 1, err;

	*out = NULL;
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		mnl_socket_close(nl);
		return err;
	}
	/* errors carry only the header of the failed request, not its body */
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof one);
	*out = nl;
	return 0;
}

/* Socket buffers for one batch of len bytes and n acknowledgements (each
 * ack costs about 1 KiB of receive buffer); FORCE works with CAP_NET_ADMIN. */
static void nft_bufsizes(struct mnl_socket *nl, size_t len, uint32_t n)
{
	int fd = mnl_socket_get_fd(nl), snd = (int)len + 4096, rcv = (int)n * 1024 + 65536;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof snd) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
}

static const struct nlmsghdr *nft_find(const char *buf, size_t len, uint32_t seq)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int left = (int)len;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		if (nlh->nlmsg_seq == seq)
			return nlh;
	return NULL;
}

/* "NEWRULE forward udp:51820" for the log. */
static void nft_describe(const struct nlmsghdr *nlh, char *out, size_t size)
{
	static const char *const names[NFT_MSG_MAX] = {
		[NFT_MSG_NEWTABLE] = "NEWTABLE", [NFT_MSG_DELTABLE] = "DELTABLE",
		[NFT_MSG_NEWCHAIN] = "NEWCHAIN", [NFT_MSG_NEWRULE] = "NEWRULE",
		[NFT_MSG_NEWSET] = "NEWSET", [NFT_MSG_NEWSETELEM] = "NEWSETELEM",
	};
	unsigned type = nlh ? nlh->nlmsg_type & 0xff : NFT_MSG_MAX;
	struct nftnl_rule *r = type == NFT_MSG_NEWRULE ? nftnl_rule_alloc() : NULL;
	const char *chain = "", *comment = "";
	uint32_t ulen = 0;
	const char *ud;

	if (!nlh || nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN) {
		snprintf(out, size, "batch");
		return;
	}
	if (r && nftnl_rule_nlmsg_parse(nlh, r) == 0) {
		chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
		ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &ulen);
		/* our comment is the only attribute: type, length, NUL-terminated text */
		if (ud && ulen > 2 && ud[ulen - 1] == '\0')
			comment = ud + 2;
	}
	snprintf(out, size, "%s %s %s", type < NFT_MSG_MAX && names[type] ? names[type] : "message",
		 chain ? chain : "", comment);
	if (r)
		nftnl_rule_free(r);
}

/* Reads until every message of the batch (seq = BATCH_BEGIN's) has its ack,
 * then drains what else is queued (the kernel answers the whole batch inside
 * sendto, so nothing more arrives later). First error, *bad its seq. */
static int nft_read_acks(struct mnl_socket *nl, uint32_t seq, uint32_t expected, uint32_t *bad)
{
	char *rbuf = malloc(RECV_SIZE);
	uint32_t acked = 0;
	int fd = mnl_socket_get_fd(nl), err = 0, batch_err = 0;

	if (!rbuf)
		return -ENOMEM;
	while (!batch_err) {
		bool wait = acked < expected;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)rbuf;
		ssize_t n;
		int left;

		int ready = wait ? poll(&pfd, 1, ACK_TIMEOUT_MS) : 1;

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready == 0) {
			batch_err = -ETIMEDOUT;
			break;
		}
		n = recv(fd, rbuf, RECV_SIZE, wait ? 0 : MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && !wait && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			batch_err = -errno;
			break;
		}
		for (left = (int)n; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
			uint32_t k = nlh->nlmsg_seq - seq;

			if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_len < NLMSG_LENGTH(sizeof *e))
				continue;
			if (k == 0) {           /* the batch as a whole */
				batch_err = e->error ? e->error : -EPROTO;
				*bad = seq;
				break;
			}
			if (k > expected)
				continue;
			acked++;
			if (e->error && !err) {
				err = e->error;
				*bad = nlh->nlmsg_seq;
			}
		}
	}
	free(rbuf);
	if (batch_err == -EOPNOTSUPP)   /* nfnetlink has no nf_tables subsystem */
		batch_err = -EPROTONOSUPPORT;
	return batch_err ? batch_err : err;
}

int nft_apply(const struct fw_plan *p)
{
	struct mnl_socket *nl = NULL;
	size_t size = BATCH_START, len = 0;
	uint32_t seq = (uint32_t)time(NULL) << 8, nmsgs = 0, bad = 0;
	char *buf = NULL, what[96];
	int err, left;

	for (;;) {
		free(buf);
		/* zeroed: libmnl 1.0.4 leaves attribute padding unwritten, and
		 * the whole buffer goes to the kernel */
		if (!(buf = calloc(1, size))) {
			err = -ENOMEM;
			goto out;
		}
		err = nft_build_batch(p, buf, size, &len, seq);
		if (err != -EMSGSIZE || size >= BATCH_LIMIT)
			break;
		size *= 4;
	}
	if (err < 0)
		goto out;
	left = (int)len;
	for (const struct nlmsghdr *nlh = (void *)buf; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		nmsgs++;
	if ((err = nft_open(&nl)) < 0)
		goto out;
	nft_bufsizes(nl, len, nmsgs);
	if (mnl_socket_sendto(nl, buf, len) < 0) {
		err = -errno;
		goto out;
	}
	err = nft_read_acks(nl, seq, nmsgs - 2, &bad);
	if (err < 0) {
		nft_describe(nft_find(buf, len, bad), what, sizeof what);
		log_error("reconcile", "nft_batch_failed", json_pack("{s:s,s:s,s:i}", "message", what,
			  "error", strerror(-err), "messages", (int)nmsgs));
	}
out:
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	return err;
}

bool nft_unavailable(int err)
{
	return err == -EPROTONOSUPPORT || err == -EOPNOTSUPP || err == -EAFNOSUPPORT || err == -ENOENT;
}

