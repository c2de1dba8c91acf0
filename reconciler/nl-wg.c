/* SPDX-License-Identifier: MIT */
/*
 * The kernel backend: generic netlink family "wireguard" v1 (see the
 * protocol description in <linux/wireguard.h>) through libmnl. Each
 * operation opens a NETLINK_GENERIC socket, resolves the family id with
 * CTRL_CMD_GETFAMILY, then either sends WG_CMD_SET_DEVICE messages one at a
 * time, waiting for each ACK, or reads a WG_CMD_GET_DEVICE dump to its
 * NLMSG_DONE. Links are rtnetlink's business (nl-link.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <sodium.h>
#include "nl-link.h"
#include "nl-wg.h"

#if defined __has_include
#if __has_include(<linux/wireguard.h>)
#include <linux/wireguard.h>
#define NLWG_HAVE_UAPI 1
#endif
#endif
#ifndef NLWG_HAVE_UAPI
/* The WireGuard generic netlink UAPI (stable since Linux 5.6), for build
 * hosts whose kernel headers predate it. */
#define WG_GENL_NAME "wireguard"
#define WG_GENL_VERSION 1
enum { WG_CMD_GET_DEVICE, WG_CMD_SET_DEVICE };
enum { WGDEVICE_F_REPLACE_PEERS = 1 };
enum { WGPEER_F_REMOVE_ME = 1, WGPEER_F_REPLACE_ALLOWEDIPS = 2, WGPEER_F_UPDATE_ONLY = 4 };
enum {
	WGDEVICE_A_UNSPEC, WGDEVICE_A_IFINDEX, WGDEVICE_A_IFNAME, WGDEVICE_A_PRIVATE_KEY,
	WGDEVICE_A_PUBLIC_KEY, WGDEVICE_A_FLAGS, WGDEVICE_A_LISTEN_PORT, WGDEVICE_A_FWMARK,
	WGDEVICE_A_PEERS, WGDEVICE_A_MAX = WGDEVICE_A_PEERS
};
enum {
	WGPEER_A_UNSPEC, WGPEER_A_PUBLIC_KEY, WGPEER_A_PRESHARED_KEY, WGPEER_A_FLAGS,
	WGPEER_A_ENDPOINT, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, WGPEER_A_LAST_HANDSHAKE_TIME,
	WGPEER_A_RX_BYTES, WGPEER_A_TX_BYTES, WGPEER_A_ALLOWEDIPS, WGPEER_A_PROTOCOL_VERSION,
	WGPEER_A_MAX = WGPEER_A_PROTOCOL_VERSION
};
enum {
	WGALLOWEDIP_A_UNSPEC, WGALLOWEDIP_A_FAMILY, WGALLOWEDIP_A_IPADDR, WGALLOWEDIP_A_CIDR_MASK,
	WGALLOWEDIP_A_MAX = WGALLOWEDIP_A_CIDR_MASK
};
#endif

#define NLWG_TXBUF 256          /* family lookup and dump requests: a name or two */
#define NLWG_RXBUF 32768        /* the kernel sizes dump parts to at most this */
#define NLWG_DUMP_TRIES 3       /* a dump interrupted by a change is redone */
#define NLWG_TIMEOUT_S 10       /* a reply that never comes must not hang us */
#define NLWG_KIND "wireguard"   /* IFLA_INFO_KIND of the links */

/* ---- the socket ------------------------------------------------------------- */

struct nlwg_sock {
	struct mnl_socket *nl;
	char *rx;               /* NLWG_RXBUF; may hold keys: wiped on close */
	unsigned portid;
	unsigned seq;
	uint16_t family;        /* id of "wireguard", once resolved */
};

static void nlwg_close(struct nlwg_sock *s)
{
	if (s->nl)
		mnl_socket_close(s->nl);
	if (s->rx) {
		sodium_memzero(s->rx, NLWG_RXBUF);
		free(s->rx);
	}
	memset(s, 0, sizeof(*s));
}

/* NLMSG_ERROR: 0 is the ACK that ends a request. */
static int nlwg_cb_error(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*err)) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	if (err->error == 0)
		return MNL_CB_STOP;
	/* Subsystems disagree on the sign. */
	errno = err->error < 0 ? -err->error : err->error;
	return MNL_CB_ERROR;
}

/* NLMSG_DONE ends a dump; it carries the error of a dump that failed after
 * its first part (libmnl's default handler ignores it). */
static int nlwg_cb_done(const struct nlmsghdr *nlh, void *data)
{
	int err = 0;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(err))
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
	if (err == 0)
		return MNL_CB_STOP;
	errno = err < 0 ? -err : err;
	return MNL_CB_ERROR;
}

/*
 * Sends nlh (its sequence number is set here) and runs cb (may be NULL) on
 * each data message of the reply until the ACK or NLMSG_DONE. 0 or -errno:
 * the kernel's, -EINTR for an interrupted dump, -ETIMEDOUT when the kernel
 * stays silent, -ENOSPC for a reply larger than our buffer.
 */
static int nlwg_talk(struct nlwg_sock *s, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = nlwg_cb_error,
		[NLMSG_DONE] = nlwg_cb_done,
	};
	ssize_t n;
	int ret;

	nlh->nlmsg_seq = ++s->seq;
	if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(s->nl, s->rx, NLWG_RXBUF);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		errno = 0;
		ret = mnl_cb_run2(s->rx, (size_t)n, nlh->nlmsg_seq, s->portid, cb, data,
				  ctl, NLMSG_MIN_TYPE);
		if (ret < 0)
			return errno ? -errno : -EPROTO;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

/* A generic netlink request: netlink and genl headers, nothing else yet. */
static struct nlmsghdr *nlwg_msg_start(char *buf, uint16_t type, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	/* WireGuard's version; the controller is also at version 1 for the
	 * commands we use. */
	genl->version = WG_GENL_VERSION;
	return nlh;
}

static int nlwg_family_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *attr;
	uint16_t *family = data;

	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID &&
		    mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
			*family = mnl_attr_get_u16(attr);
	}
	return MNL_CB_OK;
}

/* Opens s and resolves the family: 0, -ENOENT when the kernel has no
 * "wireguard" family, -errno. s is closed on error. */
static int nlwg_open(struct nlwg_sock *s)
{
	/* Zeroed: libmnl 1.0.4 leaves attribute padding as it finds it. */
	_Alignas(struct nlmsghdr) char buf[NLWG_TXBUF] = { 0 };
	struct timeval tv = { .tv_sec = NLWG_TIMEOUT_S };
	struct nlmsghdr *nlh;
	int one = 1, ret = 0;

	memset(s, 0, sizeof(*s));
	s->rx = malloc(NLWG_RXBUF);
	if (!s->rx) {
		ret = -ENOMEM;
		goto out;
	}
	s->nl = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
	if (!s->nl || mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(s->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		ret = -errno;
		goto out;
	}
	/* Error replies then leave out our request, which may hold keys
	 * (best effort: kernels before 4.3 echo it). */
	mnl_socket_setsockopt(s->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	s->portid = mnl_socket_get_portid(s->nl);
	s->seq = (unsigned)time(NULL);
	nlh = nlwg_msg_start(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	ret = nlwg_talk(s, nlh, nlwg_family_cb, &s->family);
	if (!ret && !s->family)
		ret = -EPROTO;
out:
	if (ret < 0)
		nlwg_close(s);
	return ret;
}

int nlwg_available(void)
{
	struct nlwg_sock s;

	if (nlwg_open(&s) < 0)
		return 0;
	nlwg_close(&s);
	return 1;
}

static bool nlwg_ifname_ok(const char *ifname)
{
	size_t len = ifname ? strnlen(ifname, IFNAMSIZ) : 0;

	return len > 0 && len < IFNAMSIZ;
}

/* ---- building WG_CMD_SET_DEVICE ------------------------------------------------ */

static size_t nlwg_addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

static size_t nlwg_endpoint_len(const union wg_endpoint *ep)
{
	return ep->addr.sa_family == AF_INET ? sizeof(ep->in)
	       : ep->addr.sa_family == AF_INET6 ? sizeof(ep->in6) : 0;
}

/* Everything nlwg_build_set can refuse, before it sends anything. */
static int nlwg_check(const struct wg_device *dev, size_t msg_max)
{
	size_t i, j;

	if (!nlwg_ifname_ok(dev->name) || msg_max < NLWG_MSG_MIN || msg_max > NLWG_MSG_LIMIT)
		return -EINVAL;
	for (i = 0; i < dev->npeers; i++) {
		const struct wg_peer *p = &dev->peers[i];

		if (p->flags & WGPEER_REMOVE)
			continue;
		if ((p->flags & WGPEER_HAS_ENDPOINT) && !nlwg_endpoint_len(&p->endpoint))
			return -EINVAL;
		for (j = 0; j < p->nallowed; j++) {
			size_t alen = nlwg_addr_len(p->allowed[j].family);

			if (!alen || p->allowed[j].prefix > alen * 8)
				return -EINVAL;
		}
	}
	return 0;
}

struct nlwg_builder {
	const struct wg_device *dev;
	struct nlmsghdr *nlh;   /* the message being filled */
	size_t max;             /* its size limit */
	size_t peer, allowed;   /* where the next message resumes */
	bool cont;              /* peers[peer] was started in an earlier message */
};

/* The flagged device fields. false when they do not fit. */
static bool nlwg_put_device(struct nlwg_builder *b)
{
	const struct wg_device *dev = b->dev;

	if ((dev->flags & WGDEV_HAS_PRIVATE_KEY) &&
	    !mnl_attr_put_check(b->nlh, b->max, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, dev->private_key))
		return false;
	if ((dev->flags & WGDEV_HAS_LISTEN_PORT) &&
	    !mnl_attr_put_u16_check(b->nlh, b->max, WGDEVICE_A_LISTEN_PORT, dev->listen_port))
		return false;
	if ((dev->flags & WGDEV_HAS_FWMARK) &&
	    !mnl_attr_put_u32_check(b->nlh, b->max, WGDEVICE_A_FWMARK, dev->fwmark))
		return false;
	return true;
}

/* A peer's public key and flags, and in its first part the PSK, endpoint
 * and keepalive. false when they do not fit (the caller cancels the nest). */
static bool nlwg_put_peer_head(struct nlwg_builder *b, const struct wg_peer *p)
{
	struct nlmsghdr *nlh = b->nlh;
	uint32_t flags = 0;

	if (!mnl_attr_put_check(nlh, b->max, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, p->public_key))
		return false;
	if (p->flags & WGPEER_REMOVE)
		flags = WGPEER_F_REMOVE_ME;
	else if (b->cont)
		/* The first part created the peer, or skipped it (UPDATE_ONLY and
		 * absent): a later part must not create one with half its IPs. */
		flags = WGPEER_F_UPDATE_ONLY;
	else
		flags = (p->flags & WGPEER_UPDATE_ONLY ? WGPEER_F_UPDATE_ONLY : 0) |
			(p->flags & WGPEER_REPLACE_ALLOWEDIPS ? WGPEER_F_REPLACE_ALLOWEDIPS : 0);
	if (flags && !mnl_attr_put_u32_check(nlh, b->max, WGPEER_A_FLAGS, flags))
		return false;
	if (b->cont || (p->flags & WGPEER_REMOVE))
		return true;
	if ((p->flags & WGPEER_HAS_PSK) &&
	    !mnl_attr_put_check(nlh, b->max, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN, p->preshared_key))
		return false;
	if ((p->flags & WGPEER_HAS_ENDPOINT) &&
	    !mnl_attr_put_check(nlh, b->max, WGPEER_A_ENDPOINT, nlwg_endpoint_len(&p->endpoint),
				&p->endpoint))
		return false;
	if ((p->flags & WGPEER_HAS_KEEPALIVE) &&
	    !mnl_attr_put_u16_check(nlh, b->max, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p->keepalive))
		return false;
	return true;
}

/* One allowed IP, whole or not at all. */
static bool nlwg_put_allowed(struct nlwg_builder *b, const struct ipnet *n)
{
	struct nlattr *nest = mnl_attr_nest_start_check(b->nlh, b->max, 0);

	if (!nest)
		return false;
	if (!mnl_attr_put_u16_check(b->nlh, b->max, WGALLOWEDIP_A_FAMILY, (uint16_t)n->family) ||
	    !mnl_attr_put_check(b->nlh, b->max, WGALLOWEDIP_A_IPADDR, nlwg_addr_len(n->family), n->addr) ||
	    !mnl_attr_put_u8_check(b->nlh, b->max, WGALLOWEDIP_A_CIDR_MASK, (uint8_t)n->prefix)) {
		mnl_attr_nest_cancel(b->nlh, nest);
		return false;
	}
	mnl_attr_nest_end(b->nlh, nest);
	return true;
}

/*
 * Adds WGDEVICE_A_PEERS with the peers from where the builder stands until
 * they are all in or the message is full. A peer that does not fit after
 * other peers moves whole to the next message: only a peer too large for a
 * message of its own is split (between its parts it has only some of its
 * allowed IPs). A peer cut short keeps what fit (its first part or some
 * allowed IPs) and the builder resumes it as a continuation. 0 all peers
 * placed; 1 full after some progress (send, then call again); -EMSGSIZE
 * nothing fit (the message is left as it was).
 */
static int nlwg_put_peers(struct nlwg_builder *b)
{
	struct nlmsghdr *nlh = b->nlh;
	struct nlattr *peers, *peer = NULL, *ips = NULL;
	bool placed = false, head = false;
	size_t first = 0;

	peers = mnl_attr_nest_start_check(nlh, b->max, WGDEVICE_A_PEERS);
	if (!peers)
		return -EMSGSIZE;
	for (; b->peer < b->dev->npeers; b->peer++, b->allowed = 0, b->cont = false) {
		const struct wg_peer *p = &b->dev->peers[b->peer];

		ips = NULL;
		head = false;
		first = b->allowed;
		peer = mnl_attr_nest_start_check(nlh, b->max, 0);
		if (!peer || !nlwg_put_peer_head(b, p))
			goto full;
		head = !b->cont;
		if (!(p->flags & WGPEER_REMOVE) && b->allowed < p->nallowed) {
			ips = mnl_attr_nest_start_check(nlh, b->max, WGPEER_A_ALLOWEDIPS);
			if (!ips)
				goto full;
			for (; b->allowed < p->nallowed; b->allowed++)
				if (!nlwg_put_allowed(b, &p->allowed[b->allowed]))
					goto full;
			mnl_attr_nest_end(nlh, ips);
		}
		mnl_attr_nest_end(nlh, peer);
		placed = true;
	}
	mnl_attr_nest_end(nlh, peers);
	return 0;

full:
	if (!placed && (head || b->allowed > first)) {
		if (ips && b->allowed > first)
			mnl_attr_nest_end(nlh, ips);
		else if (ips)
			mnl_attr_nest_cancel(nlh, ips);
		mnl_attr_nest_end(nlh, peer);
		b->cont = true;
		placed = true;
	} else if (peer) {
		mnl_attr_nest_cancel(nlh, peer);
		b->allowed = first;
	}
	if (!placed) {
		mnl_attr_nest_cancel(nlh, peers);
		return -EMSGSIZE;
	}
	mnl_attr_nest_end(nlh, peers);
	return 1;
}

int nlwg_build_set(const struct wg_device *dev, uint16_t family, size_t msg_max,
                   nlwg_msg_cb cb, void *data)
{
	struct nlwg_builder b = { .dev = dev, .max = msg_max };
	bool first = true, device;
	char *buf = NULL;
	int more = 0, ret;

	ret = nlwg_check(dev, msg_max);
	if (ret < 0)
		goto out;
	buf = calloc(1, msg_max);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	do {
		b.nlh = nlwg_msg_start(buf, family, WG_CMD_SET_DEVICE, NLM_F_ACK);
		/* NLWG_MSG_MIN leaves room for the name and device fields. */
		mnl_attr_put_strz(b.nlh, WGDEVICE_A_IFNAME, dev->name);
		device = first && (dev->flags & (WGDEV_HAS_PRIVATE_KEY | WGDEV_HAS_LISTEN_PORT |
						 WGDEV_HAS_FWMARK));
		if (first && !nlwg_put_device(&b)) {
			ret = -EMSGSIZE;
			goto out;
		}
		more = b.peer < dev->npeers ? nlwg_put_peers(&b) : 0;
		if (more == -EMSGSIZE && device)
			more = 1;       /* the device fields alone; peers in the next one */
		if (more < 0) {
			ret = more;
			goto out;
		}
		ret = cb(b.nlh, data);
		if (ret < 0)
			goto out;
		/* No key outlives its message, and the next one's padding is 0. */
		sodium_memzero(buf, b.nlh->nlmsg_len);
		first = false;
	} while (more);
out:
	if (buf) {
		sodium_memzero(buf, msg_max);
		free(buf);
	}
	return ret;
}

/* ---- parsing WG_CMD_GET_DEVICE ------------------------------------------------- */

/* Indexes the attributes of a nest by type (newer types are skipped). */
static void nlwg_index(const struct nlattr *nest, const struct nlattr **tb, unsigned max)
{
	const struct nlattr *attr;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	mnl_attr_for_each_nested(attr, nest) {
		if (mnl_attr_get_type(attr) <= max)
			tb[mnl_attr_get_type(attr)] = attr;
	}
}

static bool nlwg_is_key(const struct nlattr *attr)
{
	return mnl_attr_get_payload_len(attr) == WG_KEY_LEN;
}

static int nlwg_parse_allowed(struct wg_peer *peer, const struct nlattr *nest)
{
	const struct nlattr *tb[WGALLOWEDIP_A_MAX + 1];
	struct ipnet *n;
	size_t alen;
	int family;

	nlwg_index(nest, tb, WGALLOWEDIP_A_MAX);
	if (!tb[WGALLOWEDIP_A_FAMILY] || mnl_attr_validate(tb[WGALLOWEDIP_A_FAMILY], MNL_TYPE_U16) < 0 ||
	    !tb[WGALLOWEDIP_A_IPADDR] || !tb[WGALLOWEDIP_A_CIDR_MASK] ||
	    mnl_attr_validate(tb[WGALLOWEDIP_A_CIDR_MASK], MNL_TYPE_U8) < 0)
		return -EPROTO;
	family = mnl_attr_get_u16(tb[WGALLOWEDIP_A_FAMILY]);
	alen = nlwg_addr_len(family);
	if (!alen || mnl_attr_get_payload_len(tb[WGALLOWEDIP_A_IPADDR]) != alen ||
	    mnl_attr_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]) > alen * 8)
		return -EPROTO;
	n = wgpeer_allowed_append(peer);
	if (!n)
		return -ENOMEM;
	n->family = family;
	n->prefix = mnl_attr_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]);
	memcpy(n->addr, mnl_attr_get_payload(tb[WGALLOWEDIP_A_IPADDR]), alen);
	return 0;
}

/* The endpoint: a struct sockaddr_in or sockaddr_in6, exactly. */
static int nlwg_parse_endpoint(struct wg_peer *peer, const struct nlattr *attr)
{
	union wg_endpoint ep;
	size_t len = mnl_attr_get_payload_len(attr);

	memset(&ep, 0, sizeof(ep));
	if (len < sizeof(ep.addr) || len > sizeof(ep))
		return -EPROTO;
	memcpy(&ep, mnl_attr_get_payload(attr), len);
	if (len != nlwg_endpoint_len(&ep))
		return -EPROTO;
	peer->endpoint = ep;
	peer->flags |= WGPEER_HAS_ENDPOINT;
	return 0;
}

static int nlwg_parse_peer(struct wg_device *dev, const struct nlattr *nest)
{
	const struct nlattr *tb[WGPEER_A_MAX + 1], *attr, *ip;
	struct wg_peer *peer;
	int64_t ts[2];          /* struct __kernel_timespec */
	int ret;

	nlwg_index(nest, tb, WGPEER_A_MAX);
	if (!tb[WGPEER_A_PUBLIC_KEY] || !nlwg_is_key(tb[WGPEER_A_PUBLIC_KEY]))
		return -EPROTO;
	if (dev->npeers && !memcmp(dev->peers[dev->npeers - 1].public_key,
				   mnl_attr_get_payload(tb[WGPEER_A_PUBLIC_KEY]), WG_KEY_LEN)) {
		/* The kernel repeats a peer whose allowed IPs did not fit the
		 * previous message: continue that one. */
		peer = &dev->peers[dev->npeers - 1];
	} else {
		peer = wgdev_peer_append(dev);
		if (!peer)
			return -ENOMEM;
		memcpy(peer->public_key, mnl_attr_get_payload(tb[WGPEER_A_PUBLIC_KEY]), WG_KEY_LEN);
	}
	if ((attr = tb[WGPEER_A_PRESHARED_KEY])) {
		if (!nlwg_is_key(attr))
			return -EPROTO;
		memcpy(peer->preshared_key, mnl_attr_get_payload(attr), WG_KEY_LEN);
		if (!sodium_is_zero(peer->preshared_key, WG_KEY_LEN))
			peer->flags |= WGPEER_HAS_PSK;
	}
	if ((attr = tb[WGPEER_A_ENDPOINT]) && (ret = nlwg_parse_endpoint(peer, attr)) < 0)
		return ret;
	if ((attr = tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL])) {
		if (mnl_attr_validate(attr, MNL_TYPE_U16) < 0)
			return -EPROTO;
		peer->keepalive = mnl_attr_get_u16(attr);
		if (peer->keepalive)
			peer->flags |= WGPEER_HAS_KEEPALIVE;
	}
	if ((attr = tb[WGPEER_A_LAST_HANDSHAKE_TIME])) {
		if (mnl_attr_get_payload_len(attr) != sizeof(ts))
			return -EPROTO;
		memcpy(ts, mnl_attr_get_payload(attr), sizeof(ts));
		peer->last_handshake = ts[0];
	}
	if ((attr = tb[WGPEER_A_RX_BYTES])) {
		if (mnl_attr_validate(attr, MNL_TYPE_U64) < 0)
			return -EPROTO;
		peer->rx_bytes = mnl_attr_get_u64(attr);
	}
	if ((attr = tb[WGPEER_A_TX_BYTES])) {
		if (mnl_attr_validate(attr, MNL_TYPE_U64) < 0)
			return -EPROTO;
		peer->tx_bytes = mnl_attr_get_u64(attr);
	}
	if ((attr = tb[WGPEER_A_ALLOWEDIPS])) {
		mnl_attr_for_each_nested(ip, attr) {
			ret = nlwg_parse_allowed(peer, ip);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

struct nlwg_parser {
	struct wg_device *dev;
	size_t nmsgs;
	uint16_t family;        /* expected nlmsg_type; 0 = not checked */
};

static int nlwg_parser_init(struct nlwg_parser *p, uint16_t family)
{
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->dev = calloc(1, sizeof(*p->dev));
	return p->dev ? 0 : -ENOMEM;
}

/* One part of the dump. 0, -EPROTO, -ENOMEM. */
static int nlwg_parser_msg(struct nlwg_parser *p, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[WGDEVICE_A_MAX + 1] = { 0 }, *attr, *nest;
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
	struct wg_device *dev = p->dev;
	char name[IFNAMSIZ] = { 0 };
	size_t len;
	int ret;

	if ((p->family && nlh->nlmsg_type != p->family) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*genl) || genl->cmd != WG_CMD_GET_DEVICE)
		return -EPROTO;
	mnl_attr_for_each(attr, nlh, sizeof(*genl)) {
		if (mnl_attr_get_type(attr) <= WGDEVICE_A_MAX)
			tb[mnl_attr_get_type(attr)] = attr;
	}
	/* The first part names the device (and the kernel's later parts do
	 * not, whatever <linux/wireguard.h> says): a NUL-terminated name that
	 * fits, the same in every part that has one. */
	if ((attr = tb[WGDEVICE_A_IFNAME])) {
		len = mnl_attr_get_payload_len(attr);
		memcpy(name, mnl_attr_get_payload(attr), len < sizeof(name) ? len : sizeof(name));
		if (len == 0 || !memchr(name, '\0', len < sizeof(name) ? len : sizeof(name)) || !name[0])
			return -EPROTO;
		if (p->nmsgs == 0)
			memcpy(dev->name, name, sizeof(name));
		else if (strcmp(dev->name, name) != 0)
			return -EPROTO;
	} else if (p->nmsgs == 0) {
		return -EPROTO;
	}
	if ((attr = tb[WGDEVICE_A_PRIVATE_KEY])) {
		if (!nlwg_is_key(attr))
			return -EPROTO;
		memcpy(dev->private_key, mnl_attr_get_payload(attr), WG_KEY_LEN);
		if (!sodium_is_zero(dev->private_key, WG_KEY_LEN))
			dev->flags |= WGDEV_HAS_PRIVATE_KEY;
	}
	if ((attr = tb[WGDEVICE_A_PUBLIC_KEY])) {
		if (!nlwg_is_key(attr))
			return -EPROTO;
		memcpy(dev->public_key, mnl_attr_get_payload(attr), WG_KEY_LEN);
	}
	if ((attr = tb[WGDEVICE_A_LISTEN_PORT])) {
		if (mnl_attr_validate(attr, MNL_TYPE_U16) < 0)
			return -EPROTO;
		dev->listen_port = mnl_attr_get_u16(attr);
		dev->flags |= WGDEV_HAS_LISTEN_PORT;
	}
	if ((attr = tb[WGDEVICE_A_FWMARK])) {
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return -EPROTO;
		dev->fwmark = mnl_attr_get_u32(attr);
		dev->flags |= WGDEV_HAS_FWMARK;
	}
	if ((attr = tb[WGDEVICE_A_PEERS])) {
		mnl_attr_for_each_nested(nest, attr) {
			ret = nlwg_parse_peer(dev, nest);
			if (ret < 0)
				return ret;
		}
	}
	p->nmsgs++;
	return 0;
}

/* Hands the device to *dev once at least one part was read. */
static int nlwg_parser_finish(struct nlwg_parser *p, struct wg_device **dev)
{
	if (p->nmsgs == 0)
		return -EPROTO;
	*dev = p->dev;
	p->dev = NULL;
	return 0;
}

int nlwg_parse_get(const struct nlmsghdr *const *msgs, size_t n, struct wg_device **dev)
{
	struct nlwg_parser p;
	size_t i;
	int ret;

	*dev = NULL;
	ret = nlwg_parser_init(&p, 0);
	for (i = 0; !ret && i < n; i++)
		ret = nlwg_parser_msg(&p, msgs[i]);
	if (!ret)
		ret = nlwg_parser_finish(&p, dev);
	wgdev_free(p.dev);
	return ret;
}

/* ---- the backend ------------------------------------------------------------------ */

static int nlwg_get_cb(const struct nlmsghdr *nlh, void *data)
{
	int ret = nlwg_parser_msg(data, nlh);

	if (ret < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* One dump on a socket of its own (so the rest of an interrupted dump
 * never meets the next request). */
static int nlwg_get_once(const char *ifname, struct wg_device **dev)
{
	_Alignas(struct nlmsghdr) char buf[NLWG_TXBUF] = { 0 };
	struct nlwg_parser p = { 0 };
	struct nlwg_sock s;
	struct nlmsghdr *nlh;
	int ret;

	ret = nlwg_open(&s);
	if (ret < 0)
		goto out;
	ret = nlwg_parser_init(&p, s.family);
	if (ret < 0)
		goto out;
	nlh = nlwg_msg_start(buf, s.family, WG_CMD_GET_DEVICE, NLM_F_DUMP);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	ret = nlwg_talk(&s, nlh, nlwg_get_cb, &p);
	if (ret < 0)
		goto out;
	ret = nlwg_parser_finish(&p, dev);
out:
	wgdev_free(p.dev);
	nlwg_close(&s);
	return ret;
}

/* -ENODEV when absent, -EOPNOTSUPP for a link of another kind, -ENOENT
 * without the module, -EPROTO for a reply we cannot read. */
static int nlwg_get(const char *ifname, struct wg_device **dev)
{
	int ret = -EINTR, tries;

	*dev = NULL;
	if (!nlwg_ifname_ok(ifname))
		return -EINVAL;
	for (tries = 0; tries < NLWG_DUMP_TRIES && ret == -EINTR; tries++)
		ret = nlwg_get_once(ifname, dev);
	return ret;
}

static int nlwg_send_cb(struct nlmsghdr *nlh, void *data)
{
	return nlwg_talk(data, nlh, NULL, NULL);
}

/* -ENODEV when absent, -EINVAL (see nlwg_build_set), -errno of the kernel
 * (e.g. -EADDRINUSE for a listen port already bound). */
static int nlwg_set(const struct wg_device *dev)
{
	struct nlwg_sock s;
	int ret;

	ret = nlwg_open(&s);
	if (ret < 0)
		return ret;
	ret = nlwg_build_set(dev, s.family, NLWG_MSG_MAX, nlwg_send_cb, &s);
	nlwg_close(&s);
	return ret;
}

static int nlwg_create(const char *ifname)
{
	return nl_link_create(ifname, NLWG_KIND);
}

static int nlwg_destroy(const char *ifname)
{
	struct nl_link l;
	int ret;

	ret = nl_link_get(ifname, &l);
	if (ret < 0)
		return ret;
	/* Never take down an interface that is not ours to manage. */
	if (strcmp(l.kind, NLWG_KIND) != 0)
		return -EOPNOTSUPP;
	return nl_link_delete(ifname);
}

static int nlwg_exists(const char *ifname)
{
	struct nl_link l;

	return nl_link_get(ifname, &l) == 0 && strcmp(l.kind, NLWG_KIND) == 0;
}

static const struct wg_backend nlwg_ops = {
	.name = "kernel",
	.device_type = "Linux kernel",
	.create = nlwg_create,
	.destroy = nlwg_destroy,
	.exists = nlwg_exists,
	.get = nlwg_get,
	.set = nlwg_set,
};

const struct wg_backend *nlwg_backend(void)
{
	return &nlwg_ops;
}
