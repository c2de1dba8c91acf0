/* SPDX-License-Identifier: MIT */
/*
 * The UAPI text protocol of userspace WireGuard implementations
 * (wireguard.com/xplatform): building "set=1" requests and parsing "get=1"
 * replies (keys in hex, "errno=N" last). Pure: no I/O, fuzzed by
 * fuzz/fuzz-uapi.c; the socket is uapi.c's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "uapi-int.h"
#include "wgdev.h"

#define UAPI_VALUE_MAX 127      /* longest value we accept (endpoint with zone) */

/* Upper bounds of the text one item of a set request takes (uapi_build_set). */
#define UAPI_DEV_MAX 256
#define UAPI_PEER_MAX 512
#define UAPI_ALLOWED_MAX 64

/* ---- building a set request --------------------------------------------- */

#define UAPI_PUT_LIT(p, s) (memcpy((p), (s), sizeof(s) - 1), (p) + sizeof(s) - 1)

static char *uapi_put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

static char *uapi_put_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* "name" (with its '=') followed by the 64 hex digits of key and a newline. */
static char *uapi_put_key(char *p, const char *name, const uint8_t key[static WG_KEY_LEN])
{
	p = uapi_put_str(p, name);
	sodium_bin2hex(p, WG_KEY_HEX_LEN + 1, key, WG_KEY_LEN);
	p += WG_KEY_HEX_LEN;
	*p++ = '\n';
	return p;
}

/* "endpoint=a.b.c.d:port" or "endpoint=[v6%scope]:port"; NULL for another family. */
static char *uapi_put_endpoint(char *p, const union wg_endpoint *ep)
{
	char host[INET6_ADDRSTRLEN];

	p = UAPI_PUT_LIT(p, "endpoint=");
	if (ep->addr.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->in.sin_addr, host, sizeof(host));
		p = uapi_put_str(p, host);
		*p++ = ':';
		p = uapi_put_u64(p, ntohs(ep->in.sin_port));
	} else if (ep->addr.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->in6.sin6_addr, host, sizeof(host));
		*p++ = '[';
		p = uapi_put_str(p, host);
		if (ep->in6.sin6_scope_id) {
			*p++ = '%';
			p = uapi_put_u64(p, ep->in6.sin6_scope_id);
		}
		p = UAPI_PUT_LIT(p, "]:");
		p = uapi_put_u64(p, ntohs(ep->in6.sin6_port));
	} else {
		return NULL;
	}
	*p++ = '\n';
	return p;
}

/* "allowed_ip=addr/prefix"; NULL for an unknown family or a prefix too long. */
static char *uapi_put_allowed(char *p, const struct ipnet *n)
{
	char host[INET6_ADDRSTRLEN];

	if (!(n->family == AF_INET && n->prefix <= 32) &&
	    !(n->family == AF_INET6 && n->prefix <= 128))
		return NULL;
	inet_ntop(n->family, n->addr, host, sizeof(host));
	p = UAPI_PUT_LIT(p, "allowed_ip=");
	p = uapi_put_str(p, host);
	*p++ = '/';
	p = uapi_put_u64(p, n->prefix);
	*p++ = '\n';
	return p;
}

static char *uapi_put_peer(char *p, const struct wg_peer *peer)
{
	size_t i;

	p = uapi_put_key(p, "public_key=", peer->public_key);
	if (peer->flags & WGPEER_REMOVE)
		return UAPI_PUT_LIT(p, "remove=true\n");
	if (peer->flags & WGPEER_UPDATE_ONLY)
		p = UAPI_PUT_LIT(p, "update_only=true\n");
	if (peer->flags & WGPEER_HAS_PSK)
		p = uapi_put_key(p, "preshared_key=", peer->preshared_key);
	if ((peer->flags & WGPEER_HAS_ENDPOINT) && !(p = uapi_put_endpoint(p, &peer->endpoint)))
		return NULL;
	if (peer->flags & WGPEER_HAS_KEEPALIVE) {
		p = UAPI_PUT_LIT(p, "persistent_keepalive_interval=");
		p = uapi_put_u64(p, peer->keepalive);
		*p++ = '\n';
	}
	if (peer->flags & WGPEER_REPLACE_ALLOWEDIPS)
		p = UAPI_PUT_LIT(p, "replace_allowed_ips=true\n");
	for (i = 0; i < peer->nallowed && p; i++)
		p = uapi_put_allowed(p, &peer->allowed[i]);
	return p;
}

/* The request is sized once from upper bounds, so building it is a single
 * pass without reallocations (10,000 peers: a few ms). */
char *uapi_build_set(const struct wg_device *dev)
{
	size_t size = UAPI_DEV_MAX, i;
	char *buf, *p;

	for (i = 0; i < dev->npeers; i++) {
		size_t n = dev->peers[i].nallowed;

		if (n > (SIZE_MAX - size - UAPI_PEER_MAX) / UAPI_ALLOWED_MAX)
			return NULL;
		size += UAPI_PEER_MAX + n * UAPI_ALLOWED_MAX;
	}
	buf = malloc(size);
	if (!buf)
		return NULL;
	p = UAPI_PUT_LIT(buf, "set=1\n");
	if (dev->flags & WGDEV_HAS_PRIVATE_KEY)
		p = uapi_put_key(p, "private_key=", dev->private_key);
	if (dev->flags & WGDEV_HAS_LISTEN_PORT) {
		p = UAPI_PUT_LIT(p, "listen_port=");
		p = uapi_put_u64(p, dev->listen_port);
		*p++ = '\n';
	}
	if (dev->flags & WGDEV_HAS_FWMARK) {
		p = UAPI_PUT_LIT(p, "fwmark=");
		p = uapi_put_u64(p, dev->fwmark);
		*p++ = '\n';
	}
	for (i = 0; i < dev->npeers && p; i++)
		p = uapi_put_peer(p, &dev->peers[i]);
	if (!p) {
		sodium_memzero(buf, size);
		free(buf);
		errno = EINVAL;
		return NULL;
	}
	p = UAPI_PUT_LIT(p, "\n");
	*p = '\0';
	return buf;
}

/* ---- parsing a get reply ------------------------------------------------- */

enum uapi_key {
	UAPI_K_PRIVATE_KEY,
	UAPI_K_LISTEN_PORT,
	UAPI_K_FWMARK,
	UAPI_K_PUBLIC_KEY,
	UAPI_K_PRESHARED_KEY,
	UAPI_K_ENDPOINT,
	UAPI_K_KEEPALIVE,
	UAPI_K_HANDSHAKE_SEC,
	UAPI_K_HANDSHAKE_NSEC,
	UAPI_K_RX_BYTES,
	UAPI_K_TX_BYTES,
	UAPI_K_ALLOWED_IP,
	UAPI_K_PROTOCOL_VERSION,
	UAPI_K_ERRNO,
	UAPI_K__MAX
};

static const struct {
	const char *name;
	size_t len;
	bool peer;              /* only valid after a public_key line */
} uapi_keys[UAPI_K__MAX] = {
#define K(id, s, p) [id] = { s, sizeof(s) - 1, p }
	K(UAPI_K_PRIVATE_KEY, "private_key", false),
	K(UAPI_K_LISTEN_PORT, "listen_port", false),
	K(UAPI_K_FWMARK, "fwmark", false),
	K(UAPI_K_PUBLIC_KEY, "public_key", false),
	K(UAPI_K_PRESHARED_KEY, "preshared_key", true),
	K(UAPI_K_ENDPOINT, "endpoint", true),
	K(UAPI_K_KEEPALIVE, "persistent_keepalive_interval", true),
	K(UAPI_K_HANDSHAKE_SEC, "last_handshake_time_sec", true),
	K(UAPI_K_HANDSHAKE_NSEC, "last_handshake_time_nsec", true),
	K(UAPI_K_RX_BYTES, "rx_bytes", true),
	K(UAPI_K_TX_BYTES, "tx_bytes", true),
	K(UAPI_K_ALLOWED_IP, "allowed_ip", true),
	K(UAPI_K_PROTOCOL_VERSION, "protocol_version", true),
	K(UAPI_K_ERRNO, "errno", false),
#undef K
};

/* Decimal without sign, leading zeros allowed, at most max. 0 or -EPROTO. */
static int uapi_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EPROTO;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (d > 9 || v > (max - d) / 10)
			return -EPROTO;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int uapi_parse_hexkey(uint8_t key[static WG_KEY_LEN], const char *s, size_t len)
{
	size_t bin_len = 0;
	const char *end = NULL;

	if (len != WG_KEY_HEX_LEN ||
	    sodium_hex2bin(key, WG_KEY_LEN, s, len, NULL, &bin_len, &end) != 0 ||
	    bin_len != WG_KEY_LEN || end != s + len)
		return -EPROTO;
	return 0;
}

/* "a.b.c.d:port" or "[v6]:port" / "[v6%zone]:port" (zone: index or name). */
static int uapi_parse_endpoint(union wg_endpoint *ep, char *s)
{
	char *colon = strrchr(s, ':'), *host = s, *zone = NULL;
	uint64_t port, scope = 0;

	if (!colon || uapi_parse_u64(colon + 1, 65535, &port) < 0)
		return -EPROTO;
	*colon = '\0';
	memset(ep, 0, sizeof(*ep));
	if (*host != '[') {
		if (inet_pton(AF_INET, host, &ep->in.sin_addr) != 1)
			return -EPROTO;
		ep->in.sin_family = AF_INET;
		ep->in.sin_port = htons((uint16_t)port);
		return 0;
	}
	if (colon[-1] != ']')
		return -EPROTO;
	colon[-1] = '\0';
	host++;
	zone = strchr(host, '%');
	if (zone) {
		*zone++ = '\0';
		if (uapi_parse_u64(zone, UINT32_MAX, &scope) < 0 &&
		    (!*zone || !(scope = if_nametoindex(zone))))
			return -EPROTO;
	}
	if (inet_pton(AF_INET6, host, &ep->in6.sin6_addr) != 1)
		return -EPROTO;
	ep->in6.sin6_family = AF_INET6;
	ep->in6.sin6_port = htons((uint16_t)port);
	ep->in6.sin6_scope_id = (uint32_t)scope;
	return 0;
}

/* "addr/prefix", the prefix required. */
static int uapi_parse_allowed(struct ipnet *n, char *s)
{
	char *slash = strchr(s, '/');
	uint64_t prefix;

	if (!slash)
		return -EPROTO;
	*slash = '\0';
	n->family = strchr(s, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(n->family, s, n->addr) != 1 ||
	    uapi_parse_u64(slash + 1, n->family == AF_INET ? 32 : 128, &prefix) < 0)
		return -EPROTO;
	n->prefix = (unsigned)prefix;
	return 0;
}

static int uapi_parse_errno(const char *s, long *out)
{
	uint64_t v;

	/* xplatform says errno=N; wireguard-go sends errno=-N. Both mean -N. */
	if (uapi_parse_u64(s + (*s == '-'), 4095, &v) < 0)
		return -EPROTO;
	*out = (long)v;
	return 0;
}

/* Applies one "key=value" line (without its newline); an empty line ends the
 * reply. 0 or -EPROTO / -ENOMEM. */
int uapi_parser_line(struct uapi_parser *p, const char *line, size_t len)
{
	struct wg_device *dev = p->dev;
	struct wg_peer *peer = p->peer;
	char val[UAPI_VALUE_MAX + 1];
	const char *eq;
	size_t klen, vlen;
	uint64_t num = 0;
	int k, ret = -EPROTO;

	if (len == 0) {
		p->done = true;
		return p->have_errno ? 0 : -EPROTO;
	}
	eq = memchr(line, '=', len);
	if (p->have_errno || !eq)
		return -EPROTO;
	klen = (size_t)(eq - line);
	vlen = len - klen - 1;
	if (vlen > UAPI_VALUE_MAX || memchr(eq + 1, '\0', vlen))
		return -EPROTO;
	for (k = 0; k < UAPI_K__MAX; k++)
		if (uapi_keys[k].len == klen && !memcmp(uapi_keys[k].name, line, klen))
			break;
	if (k == UAPI_K__MAX)
		return 0;       /* unknown keys are ignored, per the protocol */
	if (uapi_keys[k].peer ? !peer : (peer && k != UAPI_K_PUBLIC_KEY && k != UAPI_K_ERRNO))
		return -EPROTO;
	memcpy(val, eq + 1, vlen);
	val[vlen] = '\0';

	switch ((enum uapi_key)k) {
	case UAPI_K_PRIVATE_KEY:
		ret = uapi_parse_hexkey(dev->private_key, val, vlen);
		dev->flags |= WGDEV_HAS_PRIVATE_KEY;
		break;
	case UAPI_K_LISTEN_PORT:
		ret = uapi_parse_u64(val, UINT16_MAX, &num);
		dev->listen_port = (uint16_t)num;
		dev->flags |= WGDEV_HAS_LISTEN_PORT;
		break;
	case UAPI_K_FWMARK:
		ret = uapi_parse_u64(val, UINT32_MAX, &num);
		dev->fwmark = (uint32_t)num;
		dev->flags |= WGDEV_HAS_FWMARK;
		break;
	case UAPI_K_PUBLIC_KEY:
		peer = p->peer = wgdev_peer_append(dev);
		if (!peer)
			return -ENOMEM;
		ret = uapi_parse_hexkey(peer->public_key, val, vlen);
		break;
	case UAPI_K_PRESHARED_KEY:
		ret = uapi_parse_hexkey(peer->preshared_key, val, vlen);
		if (!sodium_is_zero(peer->preshared_key, WG_KEY_LEN))
			peer->flags |= WGPEER_HAS_PSK;
		break;
	case UAPI_K_ENDPOINT:
		ret = uapi_parse_endpoint(&peer->endpoint, val);
		peer->flags |= WGPEER_HAS_ENDPOINT;
		break;
	case UAPI_K_KEEPALIVE:
		ret = uapi_parse_u64(val, UINT16_MAX, &num);
		peer->keepalive = (uint16_t)num;
		if (num)
			peer->flags |= WGPEER_HAS_KEEPALIVE;
		break;
	case UAPI_K_HANDSHAKE_SEC:
		ret = uapi_parse_u64(val, INT64_MAX, &num);
		peer->last_handshake = (int64_t)num;
		break;
	case UAPI_K_HANDSHAKE_NSEC:
		ret = uapi_parse_u64(val, 999999999, &num);
		break;
	case UAPI_K_RX_BYTES:
		ret = uapi_parse_u64(val, UINT64_MAX, &peer->rx_bytes);
		break;
	case UAPI_K_TX_BYTES:
		ret = uapi_parse_u64(val, UINT64_MAX, &peer->tx_bytes);
		break;
	case UAPI_K_ALLOWED_IP: {
		struct ipnet *n = wgpeer_allowed_append(peer);

		ret = n ? uapi_parse_allowed(n, val) : -ENOMEM;
		break;
	}
	case UAPI_K_PROTOCOL_VERSION:
		ret = uapi_parse_u64(val, UINT32_MAX, &num);
		break;
	case UAPI_K_ERRNO:
		ret = uapi_parse_errno(val, &p->err);
		p->have_errno = true;
		break;
	case UAPI_K__MAX:
		break;
	}
	if (k == UAPI_K_PRIVATE_KEY || k == UAPI_K_PRESHARED_KEY)
		sodium_memzero(val, sizeof(val));
	return ret;
}

int uapi_parser_init(struct uapi_parser *p, const char *ifname)
{
	memset(p, 0, sizeof(*p));
	if (ifname && strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	p->dev = calloc(1, sizeof(*p->dev));
	if (!p->dev)
		return -ENOMEM;
	if (ifname)
		strcpy(p->dev->name, ifname);
	return 0;
}

/* Result of a complete reply; on success hands the device to *dev. */
int uapi_parser_finish(struct uapi_parser *p, struct wg_device **dev)
{
	if (!p->have_errno)
		return -EPROTO;
	if (p->err)
		return (int)-p->err;
	if (p->dev->flags & WGDEV_HAS_PRIVATE_KEY)
		crypto_scalarmult_base(p->dev->public_key, p->dev->private_key);
	if (dev) {
		*dev = p->dev;
		p->dev = NULL;
	}
	return 0;
}

int uapi_parse_get(const char *text, size_t len, const char *ifname, struct wg_device **dev)
{
	struct uapi_parser p;
	const char *end = text + len, *nl;
	int ret;

	*dev = NULL;
	ret = uapi_parser_init(&p, ifname);
	while (!ret && text < end && !p.done) {
		nl = memchr(text, '\n', (size_t)(end - text));
		if (!nl)
			nl = end;       /* a last line without its newline */
		ret = uapi_parser_line(&p, text, (size_t)(nl - text));
		text = nl + 1;
	}
	if (!ret)
		ret = uapi_parser_finish(&p, dev);
	wgdev_free(p.dev);
	return ret;
}

