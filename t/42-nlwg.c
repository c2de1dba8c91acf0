/* SPDX-License-Identifier: MIT */
/*
 * The kernel backend's generic netlink messages without a kernel:
 * WG_CMD_SET_DEVICE messages are built and decoded back here (by code of
 * this test, not nl-wg.c's parser), WG_CMD_GET_DEVICE dumps are made up the
 * way the kernel splits them and parsed with nlwg_parse_get. Then the
 * backend against this kernel in a network namespace of our own (root):
 * without the wireguard module every call fails cleanly. The kernel path
 * itself runs under qemu (t/90-kernel.sh).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <sodium.h>

#include "nl-wg.h"
#include "tap.h"

#define FAMILY 0x1d             /* any id: nothing here talks to a kernel */

/* ---- fixtures -------------------------------------------------------------- */

/* A distinct key per i: i big-endian, then tag bytes. */
static void key_nth(uint8_t key[static WG_KEY_LEN], uint32_t i, uint8_t tag)
{
	memset(key, tag, WG_KEY_LEN);
	key[0] = (uint8_t)(i >> 24);
	key[1] = (uint8_t)(i >> 16);
	key[2] = (uint8_t)(i >> 8);
	key[3] = (uint8_t)i;
}

static struct ipnet cidr(const char *s)
{
	struct ipnet n = { 0 };
	char host[64];
	const char *slash = strchr(s, '/');

	snprintf(host, sizeof(host), "%.*s", (int)(slash - s), s);
	n.family = strchr(host, ':') ? AF_INET6 : AF_INET;
	n.prefix = (unsigned)atoi(slash + 1);
	if (inet_pton(n.family, host, n.addr) != 1)
		ok(0, "fixture %s parses", s);
	return n;
}

/* i-th address of 10.0.0.0/8 (v4) or fd00::/64 (v6) as a host route. */
static struct ipnet host_nth(uint32_t i, bool v6)
{
	struct ipnet n = { 0 };

	n.family = v6 ? AF_INET6 : AF_INET;
	n.prefix = v6 ? 128 : 32;
	n.addr[0] = v6 ? 0xfd : 10;
	n.addr[v6 ? 13 : 1] = (uint8_t)(i >> 16);
	n.addr[v6 ? 14 : 2] = (uint8_t)(i >> 8);
	n.addr[v6 ? 15 : 3] = (uint8_t)i;
	return n;
}

static union wg_endpoint endpoint(const char *host, uint16_t port, uint32_t scope)
{
	union wg_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	if (strchr(host, ':')) {
		ep.in6.sin6_family = AF_INET6;
		ep.in6.sin6_port = htons(port);
		ep.in6.sin6_scope_id = scope;
		inet_pton(AF_INET6, host, &ep.in6.sin6_addr);
	} else {
		ep.in.sin_family = AF_INET;
		ep.in.sin_port = htons(port);
		inet_pton(AF_INET, host, &ep.in.sin_addr);
	}
	return ep;
}

static struct wg_device *dev_new(const char *name)
{
	struct wg_device *dev = calloc(1, sizeof(*dev));

	snprintf(dev->name, sizeof(dev->name), "%s", name);
	return dev;
}

static struct wg_peer *peer_add(struct wg_device *dev, uint32_t n, unsigned flags)
{
	struct wg_peer *p = wgdev_peer_append(dev);

	key_nth(p->public_key, n, 0x5a);
	p->flags = flags;
	return p;
}

static void allowed_add(struct wg_peer *p, struct ipnet n)
{
	*wgpeer_allowed_append(p) = n;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- messages -------------------------------------------------------------- */

struct msgs {
	struct nlmsghdr **v;
	size_t n;
	int stop_at;            /* collect_cb fails with -EIO on this message (1-based) */
};

static int collect_cb(struct nlmsghdr *nlh, void *data)
{
	struct msgs *m = data;
	struct nlmsghdr **grown;

	if (m->stop_at && (int)m->n + 1 == m->stop_at)
		return -EIO;
	grown = realloc(m->v, (m->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	m->v = grown;
	m->v[m->n] = malloc(nlh->nlmsg_len);
	if (!m->v[m->n])
		return -ENOMEM;
	memcpy(m->v[m->n++], nlh, nlh->nlmsg_len);
	return 0;
}

static void msgs_free(struct msgs *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->v[i]);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* ---- decoding WG_CMD_SET_DEVICE (the test's own reading of the UAPI) ------- */

struct set_stats {
	size_t msgs, chunks, conts;
	int bad_hdr;            /* wrong type/flags/cmd/version/name or too long */
	int replace_peers;      /* WGDEVICE_F_REPLACE_PEERS seen */
	int late_dev;           /* device fields after the first message */
	int cont_bad;           /* a continuation without UPDATE_ONLY, or with more */
	int remove_extra;       /* a REMOVE_ME peer carrying more than key and flags */
};

static void index_nested(const struct nlattr *nest, const struct nlattr **tb, unsigned max)
{
	const struct nlattr *a;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	mnl_attr_for_each_nested(a, nest)
		if (mnl_attr_get_type(a) <= max)
			tb[mnl_attr_get_type(a)] = a;
}

static void decode_allowed(struct wg_peer *p, const struct nlattr *ips)
{
	const struct nlattr *ip, *tb[WGALLOWEDIP_A_MAX + 1];
	struct ipnet n;

	mnl_attr_for_each_nested(ip, ips) {
		index_nested(ip, tb, WGALLOWEDIP_A_MAX);
		memset(&n, 0, sizeof(n));
		n.family = mnl_attr_get_u16(tb[WGALLOWEDIP_A_FAMILY]);
		memcpy(n.addr, mnl_attr_get_payload(tb[WGALLOWEDIP_A_IPADDR]),
		       mnl_attr_get_payload_len(tb[WGALLOWEDIP_A_IPADDR]));
		n.prefix = mnl_attr_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]);
		allowed_add(p, n);
	}
}

static void decode_peer(struct wg_device *dev, const struct nlattr *nest, bool first_in_msg,
                        struct set_stats *st)
{
	const struct nlattr *tb[WGPEER_A_MAX + 1], *a;
	uint32_t f = 0;
	struct wg_peer *p;
	int nattrs = 0;

	index_nested(nest, tb, WGPEER_A_MAX);
	mnl_attr_for_each_nested(a, nest)
		nattrs++;
	if (tb[WGPEER_A_FLAGS])
		f = mnl_attr_get_u32(tb[WGPEER_A_FLAGS]);
	st->chunks++;
	if (first_in_msg && dev->npeers && !memcmp(dev->peers[dev->npeers - 1].public_key,
						   mnl_attr_get_payload(tb[WGPEER_A_PUBLIC_KEY]), WG_KEY_LEN)) {
		st->conts++;
		if (f != WGPEER_F_UPDATE_ONLY || tb[WGPEER_A_PRESHARED_KEY] || tb[WGPEER_A_ENDPOINT] ||
		    tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL] || !tb[WGPEER_A_ALLOWEDIPS])
			st->cont_bad++;
		p = &dev->peers[dev->npeers - 1];
	} else {
		p = wgdev_peer_append(dev);
		memcpy(p->public_key, mnl_attr_get_payload(tb[WGPEER_A_PUBLIC_KEY]), WG_KEY_LEN);
		p->flags = (f & WGPEER_F_REMOVE_ME ? WGPEER_REMOVE : 0) |
			   (f & WGPEER_F_UPDATE_ONLY ? WGPEER_UPDATE_ONLY : 0) |
			   (f & WGPEER_F_REPLACE_ALLOWEDIPS ? WGPEER_REPLACE_ALLOWEDIPS : 0);
		if ((f & WGPEER_F_REMOVE_ME) && (f != WGPEER_F_REMOVE_ME || nattrs != 2))
			st->remove_extra++;
		if ((a = tb[WGPEER_A_PRESHARED_KEY])) {
			memcpy(p->preshared_key, mnl_attr_get_payload(a), WG_KEY_LEN);
			p->flags |= WGPEER_HAS_PSK;
		}
		if ((a = tb[WGPEER_A_ENDPOINT])) {
			memcpy(&p->endpoint, mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
			p->flags |= WGPEER_HAS_ENDPOINT;
		}
		if ((a = tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL])) {
			p->keepalive = mnl_attr_get_u16(a);
			p->flags |= WGPEER_HAS_KEEPALIVE;
		}
	}
	if (tb[WGPEER_A_ALLOWEDIPS])
		decode_allowed(p, tb[WGPEER_A_ALLOWEDIPS]);
}

/* Everything the messages say, merged into one device. */
static struct wg_device *decode_set(const struct msgs *m, const char *name, size_t msg_max,
                                    struct set_stats *st)
{
	struct wg_device *dev = dev_new("");
	const struct nlattr *a, *peer;
	size_t i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < m->n; i++) {
		const struct nlmsghdr *nlh = m->v[i];
		const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
		bool first_in_msg = true;

		st->msgs++;
		if (nlh->nlmsg_type != FAMILY || nlh->nlmsg_flags != (NLM_F_REQUEST | NLM_F_ACK) ||
		    nlh->nlmsg_len > msg_max || genl->cmd != WG_CMD_SET_DEVICE || genl->version != 1)
			st->bad_hdr++;
		mnl_attr_for_each(a, nlh, sizeof(*genl)) {
			switch (mnl_attr_get_type(a)) {
			case WGDEVICE_A_IFNAME:
				if (strcmp(mnl_attr_get_str(a), name))
					st->bad_hdr++;
				snprintf(dev->name, sizeof(dev->name), "%s", mnl_attr_get_str(a));
				break;
			case WGDEVICE_A_FLAGS:
				if (mnl_attr_get_u32(a) & WGDEVICE_F_REPLACE_PEERS)
					st->replace_peers++;
				break;
			case WGDEVICE_A_PRIVATE_KEY:
				st->late_dev += i > 0;
				memcpy(dev->private_key, mnl_attr_get_payload(a), WG_KEY_LEN);
				dev->flags |= WGDEV_HAS_PRIVATE_KEY;
				break;
			case WGDEVICE_A_LISTEN_PORT:
				st->late_dev += i > 0;
				dev->listen_port = mnl_attr_get_u16(a);
				dev->flags |= WGDEV_HAS_LISTEN_PORT;
				break;
			case WGDEVICE_A_FWMARK:
				st->late_dev += i > 0;
				dev->fwmark = mnl_attr_get_u32(a);
				dev->flags |= WGDEV_HAS_FWMARK;
				break;
			case WGDEVICE_A_PEERS:
				mnl_attr_for_each_nested(peer, a) {
					decode_peer(dev, peer, first_in_msg, st);
					first_in_msg = false;
				}
				break;
			}
		}
	}
	return dev;
}

static bool ipnet_eq(const struct ipnet *a, const struct ipnet *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       !memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16);
}

static bool endpoint_eq(const union wg_endpoint *a, const union wg_endpoint *b)
{
	if (a->addr.sa_family != b->addr.sa_family)
		return false;
	if (a->addr.sa_family == AF_INET)
		return a->in.sin_port == b->in.sin_port && a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return a->in6.sin6_port == b->in6.sin6_port && a->in6.sin6_scope_id == b->in6.sin6_scope_id &&
	       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16);
}

/*
 * want is what was asked of set(); got what the messages carried (or what
 * a GET reply said, with state flags = those of want's peers). NULL when
 * equal, else what differs first. REMOVE peers carry only their key.
 */
static const char *dev_diff(const struct wg_device *want, const struct wg_device *got, bool get)
{
	static const unsigned set_flags = WGPEER_REMOVE | WGPEER_UPDATE_ONLY | WGPEER_REPLACE_ALLOWEDIPS |
					  WGPEER_HAS_PSK | WGPEER_HAS_KEEPALIVE | WGPEER_HAS_ENDPOINT;
	size_t i, j;

	if (strcmp(want->name, got->name) || want->flags != got->flags)
		return "device name or flags";
	if (((want->flags & WGDEV_HAS_PRIVATE_KEY) && memcmp(want->private_key, got->private_key, WG_KEY_LEN)) ||
	    ((want->flags & WGDEV_HAS_LISTEN_PORT) && want->listen_port != got->listen_port) ||
	    ((want->flags & WGDEV_HAS_FWMARK) && want->fwmark != got->fwmark))
		return "device fields";
	if (want->npeers != got->npeers)
		return "peer count";
	for (i = 0; i < want->npeers; i++) {
		const struct wg_peer *w = &want->peers[i], *g = &got->peers[i];
		bool rm = w->flags & WGPEER_REMOVE;
		unsigned wf = rm ? WGPEER_REMOVE : w->flags & (get ? ~0u : set_flags);

		if (memcmp(w->public_key, g->public_key, WG_KEY_LEN))
			return "peer order or key";
		if (wf != g->flags)
			return "peer flags";
		if ((wf & WGPEER_HAS_PSK) && memcmp(w->preshared_key, g->preshared_key, WG_KEY_LEN))
			return "peer psk";
		if ((wf & WGPEER_HAS_ENDPOINT) && !endpoint_eq(&w->endpoint, &g->endpoint))
			return "peer endpoint";
		if ((wf & WGPEER_HAS_KEEPALIVE) && w->keepalive != g->keepalive)
			return "peer keepalive";
		if (get && (w->last_handshake != g->last_handshake || w->rx_bytes != g->rx_bytes ||
			    w->tx_bytes != g->tx_bytes))
			return "peer statistics";
		if ((rm ? 0 : w->nallowed) != g->nallowed)
			return "allowed IP count";
		for (j = 0; j < g->nallowed; j++)
			if (!ipnet_eq(&w->allowed[j], &g->allowed[j]))
				return "allowed IP";
	}
	return NULL;
}

/* Builds with msg_max, decodes, and checks the invariants; the stats are
 * left in *st. 1 when all held. */
static int roundtrip_set(const struct wg_device *dev, size_t msg_max, struct set_stats *st,
                         const char *what)
{
	struct msgs m = { 0 };
	struct wg_device *got = NULL;
	const char *diff;
	int ret, good;

	ret = nlwg_build_set(dev, FAMILY, msg_max, collect_cb, &m);
	got = decode_set(&m, dev->name, msg_max, st);
	diff = dev_diff(dev, got, false);
	good = ret == 0 && !diff && !st->bad_hdr && !st->replace_peers && !st->late_dev &&
	       !st->cont_bad && !st->remove_extra;
	if (!ok(good, "%s: %zu message(s) of <= %zu bytes decode to the input", what, m.n, msg_max))
		printf("#   ret %d, diff %s, bad_hdr %d, replace_peers %d, late_dev %d, cont_bad %d, "
		       "remove_extra %d\n", ret, diff ? diff : "none", st->bad_hdr, st->replace_peers,
		       st->late_dev, st->cont_bad, st->remove_extra);
	wgdev_free(got);
	msgs_free(&m);
	return good;
}

/* ---- set --------------------------------------------------------------------- */

static void test_set_flags(void)
{
	struct wg_device *dev = dev_new("wg-every");
	struct wg_peer *p;
	struct set_stats st;
	struct msgs m = { 0 };

	key_nth(dev->private_key, 1, 0xa8);
	dev->listen_port = 51820;
	dev->fwmark = 0x42;
	dev->flags = WGDEV_HAS_PRIVATE_KEY | WGDEV_HAS_LISTEN_PORT | WGDEV_HAS_FWMARK;
	p = peer_add(dev, 1, WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_PSK | WGPEER_HAS_ENDPOINT |
		     WGPEER_HAS_KEEPALIVE);
	key_nth(p->preshared_key, 1, 0x77);
	p->endpoint = endpoint("198.51.100.7", 51821, 0);
	p->keepalive = 25;
	allowed_add(p, cidr("10.0.0.2/32"));
	allowed_add(p, cidr("fd00::2/128"));
	/* A zero PSK clears it; an IPv6 endpoint with a scope. */
	p = peer_add(dev, 2, WGPEER_UPDATE_ONLY | WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_PSK |
		     WGPEER_HAS_ENDPOINT);
	p->endpoint = endpoint("fe80::1", 51822, 3);
	allowed_add(p, cidr("10.0.1.0/24"));
	/* Removal sends the key alone, whatever else the peer holds. */
	p = peer_add(dev, 3, WGPEER_REMOVE | WGPEER_HAS_PSK | WGPEER_HAS_KEEPALIVE);
	p->keepalive = 5;
	allowed_add(p, cidr("10.0.2.0/24"));
	allowed_add(p, (struct ipnet){ .family = 99 });     /* never checked: not sent */
	p = peer_add(dev, 4, 0);
	p = peer_add(dev, 5, WGPEER_HAS_KEEPALIVE);         /* keepalive 0 = off, sent */
	roundtrip_set(dev, NLWG_MSG_MAX, &st, "every flag");
	is_int(st.msgs, 1, "every flag: one message");

	/* A device with nothing to change still makes one message: the name. */
	dev->npeers = 0;
	dev->flags = 0;
	is_int(nlwg_build_set(dev, FAMILY, NLWG_MSG_MAX, collect_cb, &m), 0, "empty set builds");
	ok(m.n == 1 && m.v[0]->nlmsg_len == NLMSG_HDRLEN + GENL_HDRLEN + NLA_HDRLEN + NLA_ALIGN(9),
	   "empty set: one message with the name alone");
	msgs_free(&m);
	dev->npeers = 5;
	wgdev_free(dev);
}

static void test_set_errors(void)
{
	struct wg_device *dev = dev_new("wg0");
	struct wg_peer *p;
	struct msgs m = { 0 };
	uint32_t i;

	p = peer_add(dev, 1, 0);
	allowed_add(p, cidr("10.0.0.1/32"));
	is_int(nlwg_build_set(dev, FAMILY, NLWG_MSG_MIN - 1, collect_cb, &m), -EINVAL, "msg_max too small");
	is_int(nlwg_build_set(dev, FAMILY, NLWG_MSG_LIMIT + 1, collect_cb, &m), -EINVAL,
	       "msg_max beyond 16-bit nest lengths");
	p->allowed[0].prefix = 33;
	is_int(nlwg_build_set(dev, FAMILY, NLWG_MSG_MAX, collect_cb, &m), -EINVAL, "prefix /33 refused");
	p->allowed[0] = cidr("10.0.0.1/32");
	p->allowed[0].family = AF_UNIX;
	is_int(nlwg_build_set(dev, FAMILY, NLWG_MSG_MAX, collect_cb, &m), -EINVAL, "allowed IP family refused");
	p->allowed[0] = cidr("10.0.0.1/32");
	p->flags = WGPEER_HAS_ENDPOINT;
	p->endpoint.addr.sa_family = AF_UNIX;
	is_int(nlwg_build_set(dev, FAMILY, NLWG_MSG_MAX, collect_cb, &m), -EINVAL, "endpoint family refused");
	is_int(m.n, 0, "nothing is built before the checks pass");
	p->flags = 0;
	dev->name[0] = '\0';
	is_int(nlwg_build_set(dev, FAMILY, NLWG_MSG_MAX, collect_cb, &m), -EINVAL, "empty name refused");
	memset(dev->name, 'w', sizeof(dev->name));
	is_int(nlwg_build_set(dev, FAMILY, NLWG_MSG_MAX, collect_cb, &m), -EINVAL, "unterminated name refused");
	strcpy(dev->name, "wg0");
	for (i = 2; i < 2000; i++)
		allowed_add(peer_add(dev, i, WGPEER_REPLACE_ALLOWEDIPS), host_nth(i, false));
	m.stop_at = 3;
	is_int(nlwg_build_set(dev, FAMILY, NLWG_MSG_MAX, collect_cb, &m), -EIO, "the callback's error stops it");
	is_int(m.n, 2, "no message after the failing one");
	msgs_free(&m);
	wgdev_free(dev);
}

static void test_set_large(void)
{
	struct wg_device *dev = dev_new("wg-large");
	struct wg_peer *p;
	struct set_stats st;
	double t0;
	uint32_t i;

	key_nth(dev->private_key, 9, 0xa8);
	dev->listen_port = 51820;
	dev->flags = WGDEV_HAS_PRIVATE_KEY | WGDEV_HAS_LISTEN_PORT;
	for (i = 0; i < 10000; i++) {
		p = peer_add(dev, i, WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_PSK | WGPEER_HAS_KEEPALIVE);
		key_nth(p->preshared_key, i, 0x33);
		p->keepalive = 25;
		allowed_add(p, host_nth(i, i % 2));
	}
	t0 = now_ms();
	roundtrip_set(dev, NLWG_MSG_MAX, &st, "10,000 peers x 1 allowed IP");
	printf("# 10,000 peers: %zu messages, %zu continuation(s), build + decode %.1f ms\n",
	       st.msgs, st.conts, now_ms() - t0);
	ok(st.msgs > 1, "10,000 peers span several messages");
	is_int(st.conts, 0, "a peer that fits a message is never split");
	wgdev_free(dev);

	dev = dev_new("wg-wide");
	p = peer_add(dev, 7, WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_PSK | WGPEER_HAS_ENDPOINT |
		     WGPEER_HAS_KEEPALIVE);
	p->endpoint = endpoint("2001:db8::7", 443, 0);
	p->keepalive = 15;
	for (i = 0; i < 5000; i++)
		allowed_add(p, host_nth(i, i % 3 == 0));
	/* A peer before and after, so the split is in the middle of a list. */
	allowed_add(peer_add(dev, 6, 0), cidr("192.0.2.0/24"));
	p = peer_add(dev, 8, WGPEER_UPDATE_ONLY | WGPEER_REPLACE_ALLOWEDIPS);
	for (i = 0; i < 700; i++)
		allowed_add(p, host_nth(100000 + i, false));
	t0 = now_ms();
	roundtrip_set(dev, NLWG_MSG_MAX, &st, "1 peer with 5,000 allowed IPs");
	printf("# 5,000 allowed IPs: %zu messages, %zu continuation chunk(s), %.1f ms\n",
	       st.msgs, st.conts, now_ms() - t0);
	ok(st.conts >= 15, "the wide peer continues over several messages (%zu continuations)", st.conts);
	wgdev_free(dev);
}

/* Every cut position: sizes from the minimum up, a mix of peers. */
static void test_set_cuts(void)
{
	struct wg_device *dev = dev_new("wg-cuts");
	struct set_stats st;
	struct wg_peer *p;
	size_t max, bad = 0, runs = 0, conts = 0;
	uint32_t i, j;

	key_nth(dev->private_key, 3, 0xa8);
	dev->fwmark = 7;
	dev->flags = WGDEV_HAS_PRIVATE_KEY | WGDEV_HAS_FWMARK;
	for (i = 0; i < 40; i++) {
		unsigned f = i % 5 == 0 ? WGPEER_REMOVE : i % 3 == 0 ? WGPEER_UPDATE_ONLY : 0;

		p = peer_add(dev, i, f | WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_PSK |
			     (i % 2 ? WGPEER_HAS_ENDPOINT : 0));
		key_nth(p->preshared_key, i, 0x11);
		p->endpoint = endpoint(i % 4 == 1 ? "2001:db8::1" : "192.0.2.1", (uint16_t)(1000 + i), 0);
		for (j = 0; j < i; j++)
			allowed_add(p, host_nth(i * 100 + j, j % 2));
	}
	for (max = NLWG_MSG_MIN; max < 2048; max += 13, runs++) {
		struct msgs m = { 0 };
		struct wg_device *got;
		int ret = nlwg_build_set(dev, FAMILY, max, collect_cb, &m);

		got = decode_set(&m, dev->name, max, &st);
		if (ret || dev_diff(dev, got, false) || st.bad_hdr || st.replace_peers || st.late_dev ||
		    st.cont_bad || st.remove_extra) {
			if (!bad++)
				printf("#   first failure at msg_max %zu: ret %d\n", max, ret);
		}
		conts += st.conts;
		wgdev_free(got);
		msgs_free(&m);
	}
	ok(bad == 0, "%zu message sizes from %d bytes: every split decodes to the input (%zu continuations)",
	   runs, NLWG_MSG_MIN, conts);
	wgdev_free(dev);
}

/* ---- get ---------------------------------------------------------------------- */

/* Puts one peer's first part as the kernel does. false when full. */
static bool dump_peer_head(struct nlmsghdr *nlh, size_t max, const struct wg_peer *p)
{
	int64_t ts[2] = { p->last_handshake, 0 };
	size_t eplen = p->endpoint.addr.sa_family == AF_INET ? sizeof(p->endpoint.in) : sizeof(p->endpoint.in6);

	return mnl_attr_put_check(nlh, max, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN, p->preshared_key) &&
	       mnl_attr_put_check(nlh, max, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), ts) &&
	       mnl_attr_put_u16_check(nlh, max, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p->keepalive) &&
	       mnl_attr_put_u64_check(nlh, max, WGPEER_A_TX_BYTES, p->tx_bytes) &&
	       mnl_attr_put_u64_check(nlh, max, WGPEER_A_RX_BYTES, p->rx_bytes) &&
	       mnl_attr_put_u32_check(nlh, max, WGPEER_A_PROTOCOL_VERSION, 1) &&
	       (!p->endpoint.addr.sa_family ||
		mnl_attr_put_check(nlh, max, WGPEER_A_ENDPOINT, eplen, &p->endpoint));
}

/*
 * A WG_CMD_GET_DEVICE dump of dev in parts of at most max bytes, split the
 * way the kernel splits it: later parts hold the name and more peers, and a
 * peer whose allowed IPs did not fit is repeated with its key and the rest.
 */
static void fake_dump(const struct wg_device *dev, size_t max, struct msgs *out)
{
	char *buf = malloc(max);
	size_t pi = 0, ai = 0;
	bool cont = false;

	do {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct genlmsghdr *genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
		struct nlattr *peers, *peer, *ips, *ip;

		nlh->nlmsg_type = FAMILY;
		nlh->nlmsg_flags = NLM_F_MULTI;
		genl->cmd = WG_CMD_GET_DEVICE;
		genl->version = 1;
		if (out->n == 0) {
			mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 7);
			mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, dev->name);
			mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, dev->private_key);
			mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, WG_KEY_LEN, dev->public_key);
			mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, dev->listen_port);
			mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, dev->fwmark);
		}
		/* Later parts: peers only (not the name the UAPI header promises). */
		peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
		for (; pi < dev->npeers; pi++, ai = 0, cont = false) {
			const struct wg_peer *p = &dev->peers[pi];
			size_t first = ai;

			peer = mnl_attr_nest_start_check(nlh, max, 0);
			if (!peer || !mnl_attr_put_check(nlh, max, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, p->public_key) ||
			    (!cont && !dump_peer_head(nlh, max, p)) ||
			    !(ips = mnl_attr_nest_start_check(nlh, max, WGPEER_A_ALLOWEDIPS))) {
				if (peer)
					mnl_attr_nest_cancel(nlh, peer);
				break;
			}
			for (; ai < p->nallowed; ai++) {
				const struct ipnet *n = &p->allowed[ai];

				if (!(ip = mnl_attr_nest_start_check(nlh, max, 0)) ||
				    !mnl_attr_put_u16_check(nlh, max, WGALLOWEDIP_A_FAMILY, (uint16_t)n->family) ||
				    !mnl_attr_put_check(nlh, max, WGALLOWEDIP_A_IPADDR, n->family == AF_INET ? 4 : 16, n->addr) ||
				    !mnl_attr_put_u8_check(nlh, max, WGALLOWEDIP_A_CIDR_MASK, (uint8_t)n->prefix)) {
					if (ip)
						mnl_attr_nest_cancel(nlh, ip);
					break;
				}
				mnl_attr_nest_end(nlh, ip);
			}
			if (ai < p->nallowed) {
				if (ai == first && cont) {
					mnl_attr_nest_cancel(nlh, peer);
				} else {
					mnl_attr_nest_end(nlh, ips);
					mnl_attr_nest_end(nlh, peer);
					cont = true;
				}
				break;
			}
			mnl_attr_nest_end(nlh, ips);
			mnl_attr_nest_end(nlh, peer);
		}
		mnl_attr_nest_end(nlh, peers);
		collect_cb(nlh, out);
	} while (pi < dev->npeers && out->n < 100000);
	free(buf);
}

/* A device as get() would return it: state flags set from its values. */
static struct wg_device *get_fixture(uint32_t npeers, uint32_t nwide)
{
	struct wg_device *dev = dev_new("wg7");
	struct wg_peer *p;
	uint32_t i;

	key_nth(dev->private_key, 2, 0xa8);
	crypto_scalarmult_base(dev->public_key, dev->private_key);
	dev->listen_port = 51820;
	dev->fwmark = 0x99;
	dev->flags = WGDEV_HAS_PRIVATE_KEY | WGDEV_HAS_LISTEN_PORT | WGDEV_HAS_FWMARK;
	for (i = 0; i < npeers; i++) {
		p = peer_add(dev, i, 0);
		if (i % 3) {
			key_nth(p->preshared_key, i, 0x44);
			p->flags |= WGPEER_HAS_PSK;
		}
		if (i % 2) {
			p->endpoint = endpoint(i % 4 == 1 ? "2001:db8::9" : "203.0.113.9", (uint16_t)(2000 + i % 60000), 0);
			p->flags |= WGPEER_HAS_ENDPOINT;
		}
		if (i % 5 == 0) {
			p->keepalive = 25;
			p->flags |= WGPEER_HAS_KEEPALIVE;
		}
		p->last_handshake = i % 7 ? 1700000000 + i : 0;
		p->rx_bytes = (uint64_t)i << 33;
		p->tx_bytes = i * 3u;
		allowed_add(p, host_nth(i, i % 2));
		if (i == npeers / 2)
			for (uint32_t j = 0; j < nwide; j++)
				allowed_add(p, host_nth(200000 + j, j % 2));
	}
	return dev;
}

/* How many peers a part lists. */
static size_t peer_nests(const struct nlmsghdr *nlh)
{
	const struct nlattr *a, *peer;
	size_t n = 0;

	mnl_attr_for_each(a, nlh, GENL_HDRLEN)
		if (mnl_attr_get_type(a) == WGDEVICE_A_PEERS)
			mnl_attr_for_each_nested(peer, a)
				n++;
	return n;
}

static void test_get_parse(void)
{
	struct wg_device *want, *got = NULL;
	struct msgs m = { 0 };
	const char *diff;
	size_t conts = 0, i;
	double t0;

	/* Small parts: the middle peer's 40 IPs span three of them. */
	want = get_fixture(5, 40);
	fake_dump(want, 600, &m);
	for (i = 0; i < m.n; i++)
		conts += peer_nests(m.v[i]);
	conts -= want->npeers;
	ok(m.n >= 3 && conts >= 2, "fixture: %zu parts, a peer repeated across %zu boundaries", m.n, conts);
	is_int(nlwg_parse_get((const struct nlmsghdr *const *)m.v, m.n, &got), 0, "multi-part reply parses");
	diff = got ? dev_diff(want, got, true) : "nothing";
	ok(!diff, "multi-part reply merges to the device (%s)", diff ? diff : "same");
	ok(got && !memcmp(got->public_key, want->public_key, WG_KEY_LEN), "public key read");
	ok(got && got->peers[2].nallowed == 41, "split peer has all 41 allowed IPs");
	wgdev_free(got);
	msgs_free(&m);
	wgdev_free(want);

	/* Kernel-sized parts: 10,000 peers, one with 5,000 allowed IPs. */
	want = get_fixture(10000, 5000);
	fake_dump(want, NLWG_MSG_MAX, &m);
	t0 = now_ms();
	is_int(nlwg_parse_get((const struct nlmsghdr *const *)m.v, m.n, &got), 0, "10,000-peer reply parses");
	printf("# parse of a 10,000-peer dump (%zu parts): %.1f ms\n", m.n, now_ms() - t0);
	diff = got ? dev_diff(want, got, true) : "nothing";
	ok(!diff, "10,000-peer reply merges to the device (%s)", diff ? diff : "same");
	wgdev_free(got);
	msgs_free(&m);
	wgdev_free(want);
}

/* One part with a defect made by edit(); nlwg_parse_get must say -EPROTO. */
static void get_bad(const char *what, void (*edit)(struct nlmsghdr *nlh, struct nlattr **peer))
{
	_Alignas(struct nlmsghdr) char buf[1024];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	const struct nlmsghdr *v[] = { nlh };
	struct wg_device *dev = (struct wg_device *)1;
	struct nlattr *peers, *peer;
	uint8_t key[WG_KEY_LEN] = { 1 };

	nlh->nlmsg_type = FAMILY;
	genl->cmd = WG_CMD_GET_DEVICE;
	genl->version = 1;
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wg0");
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, key);
	edit(nlh, &peer);
	if (peer)
		mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	is_int(nlwg_parse_get(v, 1, &dev), -EPROTO, "malformed reply refused: %s", what);
	ok(dev == NULL, "  and no device is returned");
}

static void put_ip(struct nlmsghdr *nlh, uint16_t family, size_t alen, uint8_t cidr_mask)
{
	struct nlattr *ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS), *ip;
	uint8_t addr[16] = { 10 };

	ip = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, family);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, alen, addr);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, cidr_mask);
	mnl_attr_nest_end(nlh, ip);
	mnl_attr_nest_end(nlh, ips);
}

static void bad_cidr(struct nlmsghdr *nlh, struct nlattr **peer) { put_ip(nlh, AF_INET, 4, 33); }
static void bad_family(struct nlmsghdr *nlh, struct nlattr **peer) { put_ip(nlh, 99, 4, 8); }
static void bad_addrlen(struct nlmsghdr *nlh, struct nlattr **peer) { put_ip(nlh, AF_INET, 16, 8); }
static void bad_psk(struct nlmsghdr *nlh, struct nlattr **peer)
{
	mnl_attr_put(nlh, WGPEER_A_PRESHARED_KEY, 31, "0123456789012345678901234567890");
}
static void bad_endpoint(struct nlmsghdr *nlh, struct nlattr **peer)
{
	uint8_t sa[10] = { AF_INET };

	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sa), sa);
}
static void bad_keepalive(struct nlmsghdr *nlh, struct nlattr **peer)
{
	mnl_attr_put_u32(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
}
static void bad_nokey(struct nlmsghdr *nlh, struct nlattr **peer)
{
	mnl_attr_nest_end(nlh, *peer);
	*peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
}
static void bad_cmd(struct nlmsghdr *nlh, struct nlattr **peer)
{
	((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->cmd = WG_CMD_SET_DEVICE;
}

static void test_get_errors(void)
{
	_Alignas(struct nlmsghdr) char a[256], b[256];
	struct nlmsghdr *v[2] = { mnl_nlmsg_put_header(a), mnl_nlmsg_put_header(b) };
	struct wg_device *dev = NULL;
	const char *names[2] = { "wg0", "wg1" };
	int i;

	get_bad("IPv4 /33", bad_cidr);
	get_bad("unknown address family", bad_family);
	get_bad("address length", bad_addrlen);
	get_bad("31-byte PSK", bad_psk);
	get_bad("short endpoint", bad_endpoint);
	get_bad("32-bit keepalive", bad_keepalive);
	get_bad("peer without a key", bad_nokey);
	get_bad("wrong command", bad_cmd);
	is_int(nlwg_parse_get(NULL, 0, &dev), -EPROTO, "no parts: refused");
	for (i = 0; i < 2; i++) {
		struct genlmsghdr *genl = mnl_nlmsg_put_extra_header(v[i], sizeof(*genl));

		genl->cmd = WG_CMD_GET_DEVICE;
		mnl_attr_put_strz(v[i], WGDEVICE_A_IFNAME, names[i]);
		/* An attribute from a newer kernel is skipped. */
		mnl_attr_put_u32(v[i], WGDEVICE_A_MAX + 3, 1);
	}
	is_int(nlwg_parse_get((const struct nlmsghdr *const *)v, 1, &dev), 0, "unknown attribute ignored");
	ok(dev && !strcmp(dev->name, "wg0") && dev->npeers == 0 && dev->flags == 0, "  name read, nothing else");
	wgdev_free(dev);
	is_int(nlwg_parse_get((const struct nlmsghdr *const *)v, 2, &dev), -EPROTO,
	       "parts naming two devices: refused");
	v[1] = mnl_nlmsg_put_header(b);
	((struct genlmsghdr *)mnl_nlmsg_put_extra_header(v[1], GENL_HDRLEN))->cmd = WG_CMD_GET_DEVICE;
	is_int(nlwg_parse_get((const struct nlmsghdr *const *)&v[1], 1, &dev), -EPROTO,
	       "a first part without a name: refused");
	is_int(nlwg_parse_get((const struct nlmsghdr *const *)v, 2, &dev), 0,
	       "a later part without a name (as the kernel sends them): fine");
	wgdev_free(dev);
	/* A part cut short inside its name: the walk stops there, no overread. */
	v[0] = mnl_nlmsg_put_header(a);
	((struct genlmsghdr *)mnl_nlmsg_put_extra_header(v[0], GENL_HDRLEN))->cmd = WG_CMD_GET_DEVICE;
	mnl_attr_put_strz(v[0], WGDEVICE_A_IFNAME, "wg0");
	v[0]->nlmsg_len -= 4;
	is_int(nlwg_parse_get((const struct nlmsghdr *const *)v, 1, &dev), -EPROTO,
	       "truncated name attribute: refused");
	wgdev_free(dev);
}

/* ---- the backend against this kernel ----------------------------------------- */

static void test_backend(void)
{
	const struct wg_backend *wg = nlwg_backend();
	struct wg_device *dev = NULL;
	int avail, loaded;

	is_str(wg->name, "kernel", "backend name");
	is_str(wg->device_type, "Linux kernel", "device_type");
	avail = nlwg_available();
	/* Asking for the family may load the module where one exists. */
	loaded = access("/sys/module/wireguard", F_OK) == 0;
	ok(avail == loaded, "nlwg_available() = %d, and the module is %s", avail,
	   loaded ? "loaded" : "absent");
	is_int(nlwg_available(), avail, "nlwg_available() again, same answer");
	if (getuid() != 0 || unshare(CLONE_NEWNET) != 0) {
		ok(1, "# SKIP backend calls need root for a network namespace of our own");
		return;
	}
	is_int(wg->exists("lo"), 0, "exists(lo): not a WireGuard link");
	is_int(wg->destroy("lo"), -EOPNOTSUPP, "destroy(lo) refused: not a WireGuard link");
	is_int(wg->destroy("nlwg-none"), -ENODEV, "destroy of a missing link: -ENODEV");
	is_int(wg->get("", &dev), -EINVAL, "get with an empty name: -EINVAL");
	if (!avail) {
		struct wg_device *d = dev_new("nlwg0");

		is_int(wg->create("nlwg0"), -EOPNOTSUPP, "create without the module: -EOPNOTSUPP");
		is_int(wg->get("nlwg0", &dev), -ENOENT, "get without the module: -ENOENT");
		ok(dev == NULL, "  no device");
		is_int(wg->set(d), -ENOENT, "set without the module: -ENOENT");
		wgdev_free(d);
		return;
	}
	/* A kernel with WireGuard: a small round trip in our namespace. */
	{
		struct wg_device *d = dev_new("nlwg0");
		struct wg_peer *p;

		is_int(wg->create("nlwg0"), 0, "create");
		is_int(wg->exists("nlwg0"), 1, "exists");
		key_nth(d->private_key, 5, 0xa8);
		d->private_key[0] &= 248;
		d->listen_port = 51999;
		d->flags = WGDEV_HAS_PRIVATE_KEY | WGDEV_HAS_LISTEN_PORT;
		p = peer_add(d, 1, WGPEER_REPLACE_ALLOWEDIPS);
		allowed_add(p, cidr("10.9.0.2/32"));
		is_int(wg->set(d), 0, "set");
		is_int(wg->get("nlwg0", &dev), 0, "get");
		ok(dev && dev->listen_port == 51999 && dev->npeers == 1 && dev->peers[0].nallowed == 1,
		   "get returns what set put");
		wgdev_free(dev);
		is_int(wg->destroy("nlwg0"), 0, "destroy");
		wgdev_free(d);
	}
}

int main(void)
{
	if (sodium_init() < 0)
		skip_all("libsodium cannot start");
	test_set_flags();
	test_set_errors();
	test_set_large();
	test_set_cuts();
	test_get_parse();
	test_get_errors();
	test_backend();
	return done_testing();
}
