/* SPDX-License-Identifier: MIT */
/*
 * Links and addresses through rtnetlink (libmnl). Each call opens its own
 * NETLINK_ROUTE socket, sends one request with a fresh sequence number and
 * reads until the kernel's ACK (or NLMSG_DONE for dumps); mnl_cb_run checks
 * the sequence number and port id of every reply and turns NLMSG_ERROR into
 * the kernel's errno.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include "nl-link.h"

#ifndef IFF_LOWER_UP            /* <linux/if.h> has it but clashes with <net/if.h> */
#define IFF_LOWER_UP 0x10000
#endif

#define NL_TXBUF 512            /* our requests: a header and a few small attributes */
#define NL_RXBUF 32768          /* large enough for any dump part the kernel sends */
#define NL_DUMP_TRIES 3         /* a dump interrupted by a change is redone */
#define NL_TIMEOUT_S 10         /* a reply that never comes must not hang us */

struct nl_sock {
	struct mnl_socket *nl;
	unsigned portid;
	unsigned seq;
};

static void nl_close(struct nl_sock *s)
{
	if (s->nl)
		mnl_socket_close(s->nl);
	s->nl = NULL;
}

static int nl_open(struct nl_sock *s)
{
	struct timeval tv = { .tv_sec = NL_TIMEOUT_S };
	int ret = 0;

	s->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!s->nl)
		return -errno;
	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(s->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		ret = -errno;
		nl_close(s);
		return ret;
	}
	s->portid = mnl_socket_get_portid(s->nl);
	s->seq = (unsigned)time(NULL);
	return 0;
}

/*
 * Sends nlh and runs cb (may be NULL) on each reply message until the ACK
 * or, for a dump, NLMSG_DONE. 0 or -errno (the kernel's for an NLMSG_ERROR,
 * -EINTR for an interrupted dump, -ETIMEDOUT when the kernel stays silent).
 */
static int nl_talk(struct nl_sock *s, struct nlmsghdr *nlh, bool dump, mnl_cb_t cb, void *data)
{
	char *buf;
	ssize_t n;
	int ret;

	nlh->nlmsg_seq = ++s->seq;
	/* Said by the caller, not read from the flags: NLM_F_DUMP shares its
	 * bits with NLM_F_REPLACE and NLM_F_EXCL. */
	nlh->nlmsg_flags |= dump ? NLM_F_DUMP : NLM_F_ACK;
	buf = malloc(NL_RXBUF);
	if (!buf)
		return -ENOMEM;
	if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		n = mnl_socket_recvfrom(s->nl, buf, NL_RXBUF);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			goto out;
		}
		errno = 0;
		ret = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, s->portid, cb, data);
		if (ret < 0) {
			ret = errno ? -errno : -EPROTO;
			goto out;
		}
		if (ret == MNL_CB_STOP) {
			ret = 0;
			goto out;
		}
	}
out:
	free(buf);
	return ret;
}

/* One request on a socket of its own. */
static int nl_request(struct nlmsghdr *nlh, bool dump, mnl_cb_t cb, void *data)
{
	struct nl_sock s = { 0 };
	int ret;

	ret = nl_open(&s);
	if (ret < 0)
		return ret;
	ret = nl_talk(&s, nlh, dump, cb, data);
	nl_close(&s);
	return ret;
}

/*
 * A request header of type with NLM_F_REQUEST | flags in buf (NL_TXBUF
 * bytes), followed by a zeroed family header of hdrlen bytes, which is
 * returned; *nlh gets the message.
 */
static void *nl_msg(char *buf, uint16_t type, uint16_t flags, size_t hdrlen, struct nlmsghdr **nlh)
{
	*nlh = mnl_nlmsg_put_header(buf);
	(*nlh)->nlmsg_type = type;
	(*nlh)->nlmsg_flags = NLM_F_REQUEST | flags;
	return mnl_nlmsg_put_extra_header(*nlh, hdrlen);
}

/* What a dump collects: an array of size-byte elements grown by its callback,
 * and the link the dump is about (for callbacks that filter by ifindex). */
struct nl_dump {
	int index;
	void *v;
	size_t n, cap, size;
};

/* Appends a zeroed element to d; NULL with errno ENOMEM when out of memory. */
static void *nl_dump_push(struct nl_dump *d)
{
	void *grown, *elem;
	size_t cap;

	if (d->n == d->cap) {
		cap = d->cap ? d->cap * 2 : 8;
		grown = reallocarray(d->v, cap, d->size);
		if (!grown) {
			errno = ENOMEM;
			return NULL;
		}
		d->v = grown;
		d->cap = cap;
	}
	elem = (char *)d->v + d->n++ * d->size;
	memset(elem, 0, d->size);
	return elem;
}

/*
 * Sends the dump request nlh with cb (given d) on each reply. A dump the
 * kernel marks as interrupted by a concurrent change (NLM_F_DUMP_INTR, which
 * mnl_cb_run reports as EINTR) is redone from an empty d->n, up to
 * NL_DUMP_TRIES times (nlh is sent as it is again: nl_talk only renews its
 * sequence number). 0 with the elements in d->v / d->n (the caller frees
 * d->v), or -errno with d->v freed.
 */
static int nl_dump_run(struct nlmsghdr *nlh, mnl_cb_t cb, struct nl_dump *d)
{
	int ret = -EINTR, tries;

	for (tries = 0; tries < NL_DUMP_TRIES && ret == -EINTR; tries++) {
		d->n = 0;
		ret = nl_request(nlh, true, cb, d);
	}
	if (ret < 0) {
		free(d->v);
		d->v = NULL;
		d->n = d->cap = 0;
	}
	return ret;
}

static bool nl_ifname_ok(const char *ifname)
{
	size_t len = ifname ? strlen(ifname) : 0;

	return len > 0 && len < IFNAMSIZ;
}

/* An RTM_*LINK request for ifname (by name, so one round trip suffices). */
static struct nlmsghdr *nl_link_msg(char *buf, uint16_t type, uint16_t flags,
                                    const char *ifname, struct ifinfomsg **ifi)
{
	struct nlmsghdr *nlh;

	*ifi = nl_msg(buf, type, flags, sizeof(**ifi), &nlh);
	(*ifi)->ifi_family = AF_UNSPEC;
	if (ifname)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	return nlh;
}

/* ---- links ------------------------------------------------------------------ */

struct nl_attrs {
	const struct nlattr **tb;
	unsigned max;
};

/* Indexes attributes by type; types newer than our headers are skipped. */
static int nl_attr_cb(const struct nlattr *attr, void *data)
{
	struct nl_attrs *a = data;
	unsigned type = mnl_attr_get_type(attr);

	if (type <= a->max)
		a->tb[type] = attr;
	return MNL_CB_OK;
}

/* Copies a string attribute into out (NUL-terminated, truncated to fit). */
static void nl_attr_strcpy(char *out, size_t size, const struct nlattr *attr)
{
	const char *s = mnl_attr_get_payload(attr);
	size_t len = mnl_attr_get_payload_len(attr);

	len = strnlen(s, len);
	if (len >= size)
		len = size - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

static void nl_link_stats(struct nl_link *l, const struct nlattr *a64, const struct nlattr *a32)
{
	struct rtnl_link_stats64 s64 = { 0 };
	struct rtnl_link_stats s32 = { 0 };

	/* memcpy: the payload is only 4-byte aligned, and older kernels send a
	 * shorter struct. */
	if (a64) {
		memcpy(&s64, mnl_attr_get_payload(a64),
		       mnl_attr_get_payload_len(a64) < sizeof(s64) ? mnl_attr_get_payload_len(a64) : sizeof(s64));
	} else if (a32) {
		memcpy(&s32, mnl_attr_get_payload(a32),
		       mnl_attr_get_payload_len(a32) < sizeof(s32) ? mnl_attr_get_payload_len(a32) : sizeof(s32));
		s64.rx_bytes = s32.rx_bytes;
		s64.tx_bytes = s32.tx_bytes;
		s64.rx_packets = s32.rx_packets;
		s64.tx_packets = s32.tx_packets;
		s64.rx_errors = s32.rx_errors;
		s64.tx_errors = s32.tx_errors;
		s64.rx_dropped = s32.rx_dropped;
		s64.tx_dropped = s32.tx_dropped;
		s64.multicast = s32.multicast;
	}
	l->rx_bytes = s64.rx_bytes;
	l->tx_bytes = s64.tx_bytes;
	l->rx_packets = s64.rx_packets;
	l->tx_packets = s64.tx_packets;
	l->rx_errors = s64.rx_errors;
	l->tx_errors = s64.tx_errors;
	l->rx_dropped = s64.rx_dropped;
	l->tx_dropped = s64.tx_dropped;
	l->multicast = s64.multicast;
}

/* Fills l from an RTM_NEWLINK message. 0 or -EPROTO. */
static int nl_link_parse(const struct nlmsghdr *nlh, struct nl_link *l)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 }, *info[IFLA_INFO_MAX + 1] = { 0 };
	struct nl_attrs a = { tb, IFLA_MAX }, ai = { info, IFLA_INFO_MAX };
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi) ||
	    mnl_attr_parse(nlh, sizeof(*ifi), nl_attr_cb, &a) < 0 || !tb[IFLA_IFNAME])
		return -EPROTO;
	memset(l, 0, sizeof(*l));
	l->index = ifi->ifi_index;
	l->up = ifi->ifi_flags & IFF_UP;
	l->running = ifi->ifi_flags & (IFF_RUNNING | IFF_LOWER_UP);
	nl_attr_strcpy(l->name, sizeof(l->name), tb[IFLA_IFNAME]);
	if (tb[IFLA_MTU] && mnl_attr_validate(tb[IFLA_MTU], MNL_TYPE_U32) == 0)
		l->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_LINKINFO] && mnl_attr_parse_nested(tb[IFLA_LINKINFO], nl_attr_cb, &ai) >= 0 &&
	    info[IFLA_INFO_KIND])
		nl_attr_strcpy(l->kind, sizeof(l->kind), info[IFLA_INFO_KIND]);
	nl_link_stats(l, tb[IFLA_STATS64], tb[IFLA_STATS]);
	return 0;
}

struct nl_link_one {
	struct nl_link *out;
	bool found;
};

static int nl_link_one_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_link_one *one = data;

	if (one->found || nl_link_parse(nlh, one->out) < 0) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	one->found = true;
	return MNL_CB_OK;
}

int nl_link_get(const char *ifname, struct nl_link *out)
{
	_Alignas(struct nlmsghdr) char buf[NL_TXBUF];
	struct nl_link_one one = { out, false };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int ret;

	if (!nl_ifname_ok(ifname))
		return -EINVAL;
	nlh = nl_link_msg(buf, RTM_GETLINK, 0, ifname, &ifi);
	ret = nl_request(nlh, false, nl_link_one_cb, &one);
	if (!ret && !one.found)
		ret = -ENODEV;
	return ret;
}

int nl_link_index(const char *ifname)
{
	struct nl_link l;
	int ret = nl_link_get(ifname, &l);

	return ret < 0 ? ret : l.index;
}

/* Collects every link of an RTM_GETLINK dump (struct nl_link elements). */
static int nl_link_list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_link *l = nl_dump_push(data);

	if (!l)
		return MNL_CB_ERROR;
	if (nl_link_parse(nlh, l) < 0) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

int nl_link_list(struct nl_link **out, size_t *n)
{
	_Alignas(struct nlmsghdr) char buf[NL_TXBUF];
	struct nl_dump d = { .size = sizeof(**out) };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int ret;

	*out = NULL;
	*n = 0;
	nlh = nl_link_msg(buf, RTM_GETLINK, 0, NULL, &ifi);
	ret = nl_dump_run(nlh, nl_link_list_cb, &d);
	if (ret < 0)
		return ret;
	*out = d.v;
	*n = d.n;
	return 0;
}

int nl_link_create(const char *ifname, const char *kind)
{
	_Alignas(struct nlmsghdr) char buf[NL_TXBUF];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *linkinfo;

	if (!nl_ifname_ok(ifname) || !kind || !*kind || strlen(kind) >= sizeof(((struct nl_link *)0)->kind))
		return -EINVAL;
	nlh = nl_link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifname, &ifi);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	mnl_attr_nest_end(nlh, linkinfo);
	return nl_request(nlh, false, NULL, NULL);
}

int nl_link_delete(const char *ifname)
{
	_Alignas(struct nlmsghdr) char buf[NL_TXBUF];
	struct ifinfomsg *ifi;

	if (!nl_ifname_ok(ifname))
		return -EINVAL;
	return nl_request(nl_link_msg(buf, RTM_DELLINK, 0, ifname, &ifi), false, NULL, NULL);
}

int nl_link_set_up(const char *ifname, bool up)
{
	_Alignas(struct nlmsghdr) char buf[NL_TXBUF];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (!nl_ifname_ok(ifname))
		return -EINVAL;
	nlh = nl_link_msg(buf, RTM_NEWLINK, 0, ifname, &ifi);
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	return nl_request(nlh, false, NULL, NULL);
}

int nl_link_set_mtu(const char *ifname, unsigned mtu)
{
	_Alignas(struct nlmsghdr) char buf[NL_TXBUF];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (!nl_ifname_ok(ifname))
		return -EINVAL;
	nlh = nl_link_msg(buf, RTM_NEWLINK, 0, ifname, &ifi);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nl_request(nlh, false, NULL, NULL);
}

/* ---- addresses ---------------------------------------------------------------- */

static size_t nl_addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* Collects the addresses of link d->index from an RTM_GETADDR dump (struct
 * ipnet elements). */
static int nl_addr_list_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFA_MAX + 1] = { 0 }, *addr;
	struct nl_attrs a = { tb, IFA_MAX };
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct nl_dump *d = data;
	struct ipnet *net;
	size_t alen;

	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa) ||
	    mnl_attr_parse(nlh, sizeof(*ifa), nl_attr_cb, &a) < 0) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	alen = nl_addr_len(ifa->ifa_family);
	/* IFA_LOCAL is the local address; IFA_ADDRESS may be a p2p peer. */
	addr = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if ((int)ifa->ifa_index != d->index || !alen || !addr)
		return MNL_CB_OK;
	if (mnl_attr_get_payload_len(addr) != alen) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	net = nl_dump_push(d);
	if (!net)
		return MNL_CB_ERROR;
	net->family = ifa->ifa_family;
	net->prefix = ifa->ifa_prefixlen;
	memcpy(net->addr, mnl_attr_get_payload(addr), alen);
	return MNL_CB_OK;
}

int nl_addr_list(const char *ifname, struct ipnet **out, size_t *n)
{
	_Alignas(struct nlmsghdr) char buf[NL_TXBUF];
	struct nl_dump d = { .size = sizeof(**out) };
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int ret;

	*out = NULL;
	*n = 0;
	ret = d.index = nl_link_index(ifname);
	if (ret < 0)
		return ret;
	ifa = nl_msg(buf, RTM_GETADDR, 0, sizeof(*ifa), &nlh);
	ifa->ifa_family = AF_UNSPEC;
	ifa->ifa_index = (unsigned)d.index;
	ret = nl_dump_run(nlh, nl_addr_list_cb, &d);
	if (ret < 0)
		return ret;
	*out = d.v;
	*n = d.n;
	return 0;
}

static int nl_addr_change(const char *ifname, const struct ipnet *addr, uint16_t type, uint16_t flags)
{
	_Alignas(struct nlmsghdr) char buf[NL_TXBUF];
	size_t alen = nl_addr_len(addr->family);
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int index;

	if (!alen || addr->prefix > alen * 8)
		return -EINVAL;
	index = nl_link_index(ifname);
	if (index < 0)
		return index;
	ifa = nl_msg(buf, type, flags, sizeof(*ifa), &nlh);
	ifa->ifa_family = (uint8_t)addr->family;
	ifa->ifa_prefixlen = (uint8_t)addr->prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)index;
	/* Both, equal: a plain (not point-to-point) address. */
	mnl_attr_put(nlh, IFA_LOCAL, alen, addr->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, addr->addr);
	return nl_request(nlh, false, NULL, NULL);
}

int nl_addr_add(const char *ifname, const struct ipnet *addr)
{
	return nl_addr_change(ifname, addr, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
}

int nl_addr_del(const char *ifname, const struct ipnet *addr)
{
	return nl_addr_change(ifname, addr, RTM_DELADDR, 0);
}

static bool nl_addr_eq(const struct ipnet *a, const struct ipnet *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       !memcmp(a->addr, b->addr, nl_addr_len(a->family));
}

static bool nl_addr_in(const struct ipnet *a, const struct ipnet *set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (nl_addr_eq(a, &set[i]))
			return true;
	return false;
}

static bool nl_addr_is_linklocal6(const struct ipnet *a)
{
	return a->family == AF_INET6 && a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80;
}

/* Adds the members of want[] missing from ifname; counts them in *changed. */
static int nl_addr_add_missing(const char *ifname, const struct ipnet *want, size_t nwant,
                               int *changed)
{
	struct ipnet *have = NULL;
	size_t nhave, i;
	int ret;

	ret = nl_addr_list(ifname, &have, &nhave);
	for (i = 0; !ret && i < nwant; i++) {
		if (nl_addr_in(&want[i], have, nhave) || nl_addr_in(&want[i], want, i))
			continue;
		ret = nl_addr_add(ifname, &want[i]);
		if (!ret)
			(*changed)++;
	}
	free(have);
	return ret;
}

int nl_addr_sync(const char *ifname, const struct ipnet *want, size_t nwant, int *changed)
{
	struct ipnet *have = NULL;
	size_t nhave = 0, i;
	bool removed4 = false;
	int n = 0, ret;

	ret = nl_addr_add_missing(ifname, want, nwant, &n);
	if (ret < 0)
		goto out;
	ret = nl_addr_list(ifname, &have, &nhave);
	if (ret < 0)
		goto out;
	for (i = 0; i < nhave; i++) {
		if (nl_addr_is_linklocal6(&have[i]) || nl_addr_in(&have[i], want, nwant))
			continue;
		ret = nl_addr_del(ifname, &have[i]);
		if (ret == -EADDRNOTAVAIL) {
			ret = 0;        /* already gone with its primary, see below */
			continue;
		}
		if (ret < 0)
			goto out;
		n++;
		removed4 |= have[i].family == AF_INET;
	}
	/* Removing a primary IPv4 address also removes the secondaries of its
	 * subnet (unless promote_secondaries is set), which can take an address
	 * added above with it: put such addresses back. */
	if (removed4)
		ret = nl_addr_add_missing(ifname, want, nwant, &n);
out:
	if (changed)
		*changed = n;
	free(have);
	return ret;
}

/* ---- error hints (networking.md §9) ----------------------------------------- */

static const struct {
	int err;
	const char *hint;
} nl_hints[] = {
	{ EPERM, "missing CAP_NET_ADMIN — check AmbientCapabilities of the unit" },
	{ EEXIST, "interface already exists — look for orphaned WG interfaces (`ip link show`)" },
	{ ENODEV, "wireguard module not loaded — `modprobe wireguard`" },
	{ EADDRINUSE, "listen port already bound — `ss -ulnp | grep <port>`" },
	{ ENOBUFS, "too many interfaces — `ip link | wc -l`" },
	{ EINVAL, "invalid configuration — check key format and allowed IPs" },
	{ ENOENT, "module not loaded — `modprobe wireguard` or kernel ≥ 5.6" },
	{ EACCES, "process needs CAP_NET_ADMIN" },
	{ EBUSY, "interface busy — another process uses it" },
};

const char *nl_error_hint(int err)
{
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < sizeof(nl_hints) / sizeof(nl_hints[0]); i++)
		if (nl_hints[i].err == err)
			return nl_hints[i].hint;
	return "unknown netlink error — see `dmesg | tail -20`";
}

/* ---- link events (feat-004) ---- */

struct nl_monitor {
	struct mnl_socket *nl;
};

int nl_monitor_open(struct nl_monitor **out)
{
	struct nl_monitor *m = calloc(1, sizeof *m);
	int err;

	*out = NULL;
	if (!m)
		return -ENOMEM;
	m->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!m->nl) {
		err = -errno;
		free(m);
		return err;
	}
	if (mnl_socket_bind(m->nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		mnl_socket_close(m->nl);
		free(m);
		return err;
	}
	*out = m;
	return 0;
}

int nl_monitor_fd(const struct nl_monitor *m)
{
	return mnl_socket_get_fd(m->nl);
}

struct nl_monitor_ctx {
	void (*cb)(const struct nl_link *l, bool deleted, void *data);
	void *data;
};

static int nl_monitor_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_monitor_ctx *ctx = data;
	struct nl_link l;

	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return MNL_CB_OK;
	if (nl_link_parse(nlh, &l) < 0)
		return MNL_CB_OK;       /* a malformed event is not worth dying for */
	ctx->cb(&l, nlh->nlmsg_type == RTM_DELLINK, ctx->data);
	return MNL_CB_OK;
}

int nl_monitor_read(struct nl_monitor *m, void (*cb)(const struct nl_link *l, bool deleted, void *data),
		    void *data)
{
	struct nl_monitor_ctx ctx = { cb, data };
	char buf[NL_RXBUF];

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(m->nl, buf, sizeof buf);

		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0
			       : errno == ENOBUFS ? -ENOBUFS : -errno;
		/* Events carry seq 0 and the kernel's port id: accept any. */
		if (mnl_cb_run(buf, (size_t)n, 0, 0, nl_monitor_cb, &ctx) < 0)
			return -EPROTO;
	}
}

void nl_monitor_close(struct nl_monitor *m)
{
	if (!m)
		return;
	mnl_socket_close(m->nl);
	free(m);
}

/* ---- routes of managed links (site-to-site LANs behind site gateways) ---- */

int nl_route_list(const char *ifname, struct ipnet **out, size_t *n)
{
	struct nl_route *all = NULL;
	size_t nall = 0, k = 0;
	int ret = nl_route_dump(ifname, &all, &nall);

	*out = NULL;
	*n = 0;
	if (ret < 0)
		return ret;
	/* ours only: main table, our protocol number */
	*out = malloc((nall + 1) * sizeof **out);
	if (!*out) {
		free(all);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nall; i++)
		if (all[i].protocol == NL_ROUTE_PROTO && all[i].table == RT_TABLE_MAIN)
			(*out)[k++] = all[i].dst;
	*n = k;
	free(all);
	return 0;
}

static int nl_route_change(int index, const struct ipnet *dst, uint16_t type, uint16_t flags)
{
	_Alignas(struct nlmsghdr) char buf[NL_TXBUF];
	size_t alen = nl_addr_len(dst->family);
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (!alen || dst->prefix > alen * 8)
		return -EINVAL;
	rtm = nl_msg(buf, type, flags, sizeof(*rtm), &nlh);
	rtm->rtm_family = (uint8_t)dst->family;
	rtm->rtm_dst_len = (uint8_t)dst->prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = NL_ROUTE_PROTO;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, alen, dst->addr);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
	return nl_request(nlh, false, NULL, NULL);
}

static bool nl_route_eq(const struct ipnet *a, const struct ipnet *b)
{
	return a->family == b->family && a->prefix == b->prefix
	       && !memcmp(a->addr, b->addr, nl_addr_len(a->family));
}

int nl_route_sync(const char *ifname, const struct ipnet *want, size_t nwant, int *changed)
{
	struct ipnet *have = NULL;
	size_t nhave = 0;
	int index = nl_link_index(ifname), ret, count = 0;

	if (changed)
		*changed = 0;
	if (index < 0)
		return index;
	if ((ret = nl_route_list(ifname, &have, &nhave)) < 0)
		return ret;
	for (size_t i = 0; i < nwant && ret == 0; i++) {
		bool present = false;
		for (size_t k = 0; k < nhave; k++)
			present |= nl_route_eq(&want[i], &have[k]);
		if (!present) {
			ret = nl_route_change(index, &want[i], RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
			count += ret == 0;
		}
	}
	for (size_t k = 0; k < nhave && ret == 0; k++) {
		bool wanted = false;
		for (size_t i = 0; i < nwant; i++)
			wanted |= nl_route_eq(&want[i], &have[k]);
		if (!wanted) {
			ret = nl_route_change(index, &have[k], RTM_DELROUTE, 0);
			if (ret == -ESRCH)
				ret = 0;        /* already gone */
			count += ret == 0;
		}
	}
	free(have);
	if (changed)
		*changed = count;
	return ret;
}

/* ---- every route through a link, for the route viewer (feat-009) ---- */

/* Collects the routes whose output is link d->index from an RTM_GETROUTE
 * dump (struct nl_route elements). */
static int nl_route_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	struct nl_attrs a = { tb, RTA_MAX };
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct nl_dump *d = data;
	struct nl_route *r;
	size_t alen;

	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm) ||
	    mnl_attr_parse(nlh, sizeof(*rtm), nl_attr_cb, &a) < 0) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	alen = nl_addr_len(rtm->rtm_family);
	if (!alen || !tb[RTA_OIF] || (int)mnl_attr_get_u32(tb[RTA_OIF]) != d->index)
		return MNL_CB_OK;
	r = nl_dump_push(d);
	if (!r)
		return MNL_CB_ERROR;
	r->dst.family = rtm->rtm_family;
	r->dst.prefix = rtm->rtm_dst_len;
	if (tb[RTA_DST] && mnl_attr_get_payload_len(tb[RTA_DST]) == alen)
		memcpy(r->dst.addr, mnl_attr_get_payload(tb[RTA_DST]), alen);
	r->table = tb[RTA_TABLE] ? (int)mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	r->protocol = rtm->rtm_protocol;
	r->scope = rtm->rtm_scope;
	r->type = rtm->rtm_type;
	r->metric = tb[RTA_PRIORITY] ? (int)mnl_attr_get_u32(tb[RTA_PRIORITY]) : 0;
	return MNL_CB_OK;
}

int nl_route_dump(const char *ifname, struct nl_route **out, size_t *n)
{
	_Alignas(struct nlmsghdr) char buf[NL_TXBUF];
	struct nl_dump d = { .size = sizeof(**out) };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int ret;

	*out = NULL;
	*n = 0;
	ret = d.index = nl_link_index(ifname);
	if (ret < 0)
		return ret;
	rtm = nl_msg(buf, RTM_GETROUTE, 0, sizeof(*rtm), &nlh);
	rtm->rtm_family = AF_UNSPEC;
	ret = nl_dump_run(nlh, nl_route_dump_cb, &d);
	if (ret < 0)
		return ret;
	*out = d.v;
	*n = d.n;
	return 0;
}
