/* SPDX-License-Identifier: MIT */
/*
 * `table ip wgpilot` read back from the kernel and rendered in nft's own
 * list syntax (nft_dump, nft.h): for the log after a change and for tests,
 * without the nft program.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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
#include "log.h"
#include "nft.h"
#include "nft-int.h"
#include "sbuf.h"

/* ---- reading it back ------------------------------------------------------ */

struct dump {
	struct mnl_socket *nl;
	char *rbuf;
	uint32_t seq;
	struct sbuf line;       /* the rule being rendered */
	char load[16];          /* what the last meta/payload put in the register */
	unsigned prefix;        /* from a bitwise mask, 32 without */
	bool udp;               /* `meta l4proto udp` seen, not yet printed */
	struct key *keys;       /* set elements being collected */
	size_t nkeys, capkeys;
};

/* Sends req and feeds every reply to cb until the ack or NLMSG_DONE. */
static int nft_talk(struct dump *d, struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	uint32_t portid = mnl_socket_get_portid(d->nl), seq = req->nlmsg_seq;
	ssize_t n = 0;
	int ret = 1;

	if (mnl_socket_sendto(d->nl, req, req->nlmsg_len) < 0)
		return -errno;
	while (ret > 0 && (n = mnl_socket_recvfrom(d->nl, d->rbuf, RECV_SIZE)) > 0)
		ret = mnl_cb_run(d->rbuf, (size_t)n, seq, portid, cb, data);
	return ret < 0 || n < 0 ? -errno : 0;
}

static struct nlmsghdr *nft_req(struct dump *d, char *buf, uint16_t type, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(buf, type, NFPROTO_IPV4, flags, ++d->seq);
}

static int nft_cb_chain(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c || nftnl_chain_nlmsg_parse(nlh, c) < 0) {
		errno = c ? EPROTO : ENOMEM;
		if (c)
			nftnl_chain_free(c);
		return MNL_CB_ERROR;
	}
	if (strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), NFT_TABLE) == 0)
		nftnl_chain_list_add_tail(c, data);
	else
		nftnl_chain_free(c);
	return MNL_CB_OK;
}

static int nft_cb_rule(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r || nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		errno = r ? EPROTO : ENOMEM;
		if (r)
			nftnl_rule_free(r);
		return MNL_CB_ERROR;
	}
	nftnl_rule_list_add_tail(r, data);
	return MNL_CB_OK;
}

static int nft_cb_set(const struct nlmsghdr *nlh, void *data)
{
	if (nftnl_set_nlmsg_parse(nlh, data) == 0)
		return MNL_CB_OK;
	errno = EPROTO;
	return MNL_CB_ERROR;
}

static int nft_cb_elems(const struct nlmsghdr *nlh, void *data)
{
	if (nftnl_set_elems_nlmsg_parse(nlh, data) == 0)
		return MNL_CB_OK;
	errno = EPROTO;
	return MNL_CB_ERROR;
}

static int nft_collect_key(struct nftnl_set_elem *e, void *data)
{
	struct dump *d = data;
	uint32_t len = 0, be = 0;
	const void *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	struct key *v = fw_grow(d->keys, d->nkeys, &d->capkeys, sizeof *v);

	if (!v) {
		errno = ENOMEM;
		return -1;
	}
	d->keys = v;
	memcpy(&be, k, len < 4 ? len : 4);
	v[d->nkeys++] = (struct key){ ntohl(be), nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS)
		&& (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END) };
	return 0;
}

static int nft_cmp_key(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	return x->key < y->key ? -1 : x->key > y->key;
}

static void nft_put_addr(struct sbuf *b, uint32_t host)
{
	sb_printf(b, "%u.%u.%u.%u", host >> 24, (host >> 16) & 255, (host >> 8) & 255, host & 255);
}

/* [lo, hi) as the fewest CIDRs, comma-separated after *first. */
static void nft_put_range(struct sbuf *b, uint64_t lo, uint64_t hi, bool *first)
{
	while (lo < hi) {
		unsigned bits = lo == 0 ? 32 : (unsigned)__builtin_ctzll(lo);

		if (bits > 32)
			bits = 32;
		while (lo + (1ULL << bits) > hi)
			bits--;
		sb_puts(b, *first ? "" : ", ");
		*first = false;
		nft_put_addr(b, (uint32_t)lo);
		if (bits)
			sb_printf(b, "/%u", 32 - bits);
		lo += 1ULL << bits;
	}
}

/* "{ a/n, b/m }" for the IPv4 set name. */
static int nft_render_set(struct dump *d, const char *name)
{
	char req[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_set *s = nft_set_new(name, 0), *elems = nft_set_new(name, 0);
	bool first = true;
	int err = -ENOMEM;

	d->nkeys = 0;
	if (!s || !elems)
		goto out;
	nftnl_set_unset(s, NFTNL_SET_ID);
	nftnl_set_unset(elems, NFTNL_SET_ID);
	nftnl_set_nlmsg_build_payload(nft_req(d, req, NFT_MSG_GETSET, NLM_F_ACK), s);
	if ((err = nft_talk(d, (struct nlmsghdr *)req, nft_cb_set, s)) < 0)
		goto out;
	nftnl_set_elems_nlmsg_build_payload(nft_req(d, req, NFT_MSG_GETSETELEM, NLM_F_DUMP), elems);
	if ((err = nft_talk(d, (struct nlmsghdr *)req, nft_cb_elems, elems)) < 0
	    || (err = nftnl_set_elem_foreach(elems, nft_collect_key, d) < 0 ? -errno : 0) < 0)
		goto out;
	qsort(d->keys, d->nkeys, sizeof *d->keys, nft_cmp_key);
	sb_puts(&d->line, "{ ");
	for (size_t i = 0; i < d->nkeys; i++) {
		if (d->keys[i].end)
			continue;
		if (!(nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_INTERVAL))
			nft_put_range(&d->line, d->keys[i].key, d->keys[i].key + 1ULL, &first);
		else    /* a start runs up to the next element (the kernel's rule) */
			nft_put_range(&d->line, d->keys[i].key, i + 1 < d->nkeys ? d->keys[i + 1].key
				      : 1ULL << 32, &first);
	}
	sb_puts(&d->line, " }");
out:
	if (s)
		nftnl_set_free(s);
	if (elems)
		nftnl_set_free(elems);
	return err;
}

static void nft_flush_udp(struct dump *d)
{
	if (d->udp)
		sb_puts(&d->line, d->line.len ? " meta l4proto udp" : "meta l4proto udp");
	d->udp = false;
}

/* A separator before the next word, printing a pending l4proto first. */
static void nft_word(struct dump *d)
{
	nft_flush_udp(d);
	if (d->line.len)
		sb_putc(&d->line, ' ');
}

static void nft_render_cmp(struct dump *d, const struct nftnl_expr *e)
{
	uint32_t len = 0, op = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP), v = 0;
	const uint8_t *data = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
	const char *neq = op == NFT_CMP_EQ ? "" : op == NFT_CMP_NEQ ? "!= " : "<op> ";

	if (!data)
		return;
	if (strcmp(d->load, "meta l4proto") == 0 && len == 1 && data[0] == IPPROTO_UDP && !*neq) {
		nft_word(d);    /* anything pending before it */
		d->udp = true;
		return;
	}
	if (strcmp(d->load, "th dport") == 0 && d->udp && len == 2) {
		d->udp = false;
		nft_word(d);
		sb_printf(&d->line, "udp dport %s%u", neq, data[0] << 8 | data[1]);
		return;
	}
	nft_word(d);
	for (uint32_t i = 0; i < len && i < 4; i++)
		v = v << 8 | data[i];
	if (strcmp(d->load, "iifname") == 0 || strcmp(d->load, "oifname") == 0) {
		sb_printf(&d->line, "%s %s\"%.*s\"", d->load, neq, (int)strnlen((const char *)data, len), data);
	} else if (strncmp(d->load, "ip ", 3) == 0 && len == 4) {
		sb_printf(&d->line, "%s %s", d->load, neq);
		nft_put_addr(&d->line, v);
		if (d->prefix < 32)
			sb_printf(&d->line, "/%u", d->prefix);
	} else {
		sb_printf(&d->line, "%s %s%u", d->load, neq, v);
	}
}

static int nft_render_expr(struct nftnl_expr *e, void *data)
{
	struct dump *d = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	uint32_t key, base, off, len = 0;
	const uint8_t *mask;

	if (strcmp(name, "meta") == 0) {
		key = nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY);
		snprintf(d->load, sizeof d->load, "%s", key == NFT_META_IIFNAME ? "iifname" : key ==
			 NFT_META_OIFNAME ? "oifname" : key == NFT_META_L4PROTO ? "meta l4proto" : "meta");
		d->prefix = 32;
	} else if (strcmp(name, "payload") == 0) {
		base = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE);
		off = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
		len = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN);
		snprintf(d->load, sizeof d->load, "%s", base == NFT_PAYLOAD_NETWORK_HEADER && len == 4
			 && off == 12 ? "ip saddr" : base == NFT_PAYLOAD_NETWORK_HEADER && len == 4
			 && off == 16 ? "ip daddr" : base == NFT_PAYLOAD_TRANSPORT_HEADER && len == 2
			 && off == 2 ? "th dport" : "payload");
		d->prefix = 32;
	} else if (strcmp(name, "bitwise") == 0) {
		mask = nftnl_expr_get(e, NFTNL_EXPR_BITWISE_MASK, &len);
		d->prefix = 0;
		for (uint32_t i = 0; mask && i < len && i < 4; i++)
			d->prefix += (unsigned)__builtin_popcount(mask[i]);
	} else if (strcmp(name, "cmp") == 0) {
		nft_render_cmp(d, e);
	} else if (strcmp(name, "lookup") == 0) {
		nft_word(d);
		sb_printf(&d->line, "%s %s", d->load, nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_FLAGS)
			  & NFT_LOOKUP_F_INV ? "!= " : "");
		if (nft_render_set(d, nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET)) < 0)
			sb_printf(&d->line, "@%s", nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET));
	} else if (strcmp(name, "immediate") == 0 && nftnl_expr_is_set(e, NFTNL_EXPR_IMM_VERDICT)) {
		int32_t v = (int32_t)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT);

		nft_word(d);
		sb_puts(&d->line, v == NF_ACCEPT ? "accept" : v == NF_DROP ? "drop" : v == NFT_RETURN
			? "return" : v == NFT_CONTINUE ? "continue" : v == NFT_JUMP ? "jump" : "goto");
		if (v == NFT_JUMP || v == NFT_GOTO)
			sb_printf(&d->line, " %s", nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN));
	} else {
		nft_word(d);
		sb_puts(&d->line, strcmp(name, "masq") == 0 ? "masquerade" : name);
	}
	return MNL_CB_OK;
}

static void nft_render_rule(struct dump *d, struct nftnl_rule *r, struct sbuf *out)
{
	uint32_t ulen = 0;
	const char *ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &ulen);

	sb_reset(&d->line);
	d->udp = false;
	d->prefix = 32;
	snprintf(d->load, sizeof d->load, "?");
	nftnl_expr_foreach(r, nft_render_expr, d);
	nft_flush_udp(d);
	sb_printf(out, "    %s", d->line.s ? d->line.s : "");
	/* the comment attribute: type 0, length, NUL-terminated text */
	if (ud && ulen > 2 && ud[0] == NFTNL_UDATA_RULE_COMMENT && ud[ulen - 1] == '\0')
		sb_printf(out, "  # %s", ud + 2);
	sb_putc(out, '\n');
}

static void nft_render_chain(struct dump *d, struct nftnl_chain *c, struct nftnl_rule_list *rules,
			     struct sbuf *out)
{
	static const char *const hooks[] = { "prerouting", "input", "forward", "output", "postrouting" };
	const char *name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
	uint32_t hook = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
	struct nftnl_rule_list_iter *it = nftnl_rule_list_iter_create(rules);
	struct nftnl_rule *r;

	sb_printf(out, "  chain %s {\n", name);
	if (nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM))
		sb_printf(out, "    type %s hook %s priority %d;%s\n", nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE),
			  hook < 5 ? hooks[hook] : "?", nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO),
			  nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) == NF_ACCEPT ? "" : " policy drop;");
	for (r = it ? nftnl_rule_list_iter_next(it) : NULL; r; r = nftnl_rule_list_iter_next(it))
		if (strcmp(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), name) == 0)
			nft_render_rule(d, r, out);
	if (!it)
		out->oom = 1;
	else
		nftnl_rule_list_iter_destroy(it);
	sb_puts(out, "  }\n");
}

int nft_dump(char **text)
{
	struct dump d = { .seq = (uint32_t)time(NULL), .line = SBUF_INIT };
	struct sbuf out = SBUF_INIT;
	struct nftnl_chain_list *chains = nftnl_chain_list_alloc();
	struct nftnl_rule_list *rules = nftnl_rule_list_alloc();
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_rule *rf = nftnl_rule_alloc();
	struct nftnl_chain_list_iter *it = NULL;
	struct nftnl_chain *c;
	char *req = malloc(MNL_SOCKET_BUFFER_SIZE);
	int err = -ENOMEM;

	*text = NULL;
	d.rbuf = malloc(RECV_SIZE);
	if (!chains || !rules || !t || !rf || !req || !d.rbuf
	    || nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE) < 0
	    || nftnl_rule_set_str(rf, NFTNL_RULE_TABLE, NFT_TABLE) < 0)
		goto out;
	if ((err = nft_open(&d.nl)) < 0)
		goto out;
	nftnl_table_nlmsg_build_payload(nft_req(&d, req, NFT_MSG_GETTABLE, NLM_F_ACK), t);
	err = nft_talk(&d, (struct nlmsghdr *)req, NULL, NULL);
	if (err == -ENOENT) {
		err = (*text = strdup("")) ? 0 : -ENOMEM;
		goto out;
	}
	if (err < 0)
		goto out;
	nft_req(&d, req, NFT_MSG_GETCHAIN, NLM_F_DUMP);
	if ((err = nft_talk(&d, (struct nlmsghdr *)req, nft_cb_chain, chains)) < 0)
		goto out;
	nftnl_rule_nlmsg_build_payload(nft_req(&d, req, NFT_MSG_GETRULE, NLM_F_DUMP), rf);
	if ((err = nft_talk(&d, (struct nlmsghdr *)req, nft_cb_rule, rules)) < 0)
		goto out;
	sb_puts(&out, "table ip " NFT_TABLE " {\n");
	if (!(it = nftnl_chain_list_iter_create(chains))) {
		err = -ENOMEM;
		goto out;
	}
	while ((c = nftnl_chain_list_iter_next(it)))
		nft_render_chain(&d, c, rules, &out);
	sb_puts(&out, "}\n");
	err = out.oom || d.line.oom ? -ENOMEM : 0;
	if (!err && !(*text = sb_take(&out)))
		err = -ENOMEM;
out:
	if (it)
		nftnl_chain_list_iter_destroy(it);
	if (d.nl)
		mnl_socket_close(d.nl);
	if (chains)
		nftnl_chain_list_free(chains);
	if (rules)
		nftnl_rule_list_free(rules);
	if (t)
		nftnl_table_free(t);
	if (rf)
		nftnl_rule_free(rf);
	sb_free(&out);
	sb_free(&d.line);
	free(d.keys);
	free(d.rbuf);
	free(req);
	return err;
}

