/* SPDX-License-Identifier: MIT */
/*
 * The userspace backend: a WireGuard implementation such as wireguard-go
 * runs as its own process and is driven over its UAPI socket
 * <sockdir>/<ifname>.sock with the cross-platform text protocol
 * (wireguard.com/xplatform): "get=1\n\n" and "set=1\n...\n\n", keys in hex,
 * replies ending in "errno=N\n\n". The link itself (a TUN device) is
 * handled through rtnetlink like any other.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "nl-link.h"
#include "wgdev.h"

#define UAPI_IO_TIMEOUT_S 10     /* per send/recv on the socket */
#define UAPI_START_TIMEOUT_MS 5000
#define UAPI_STOP_TIMEOUT_MS 5000
#define UAPI_POLL_MS 20
#define UAPI_RXBUF 65536        /* reply window; lines are far shorter */
#define UAPI_VALUE_MAX 127      /* longest value we accept (endpoint with zone) */

/* Upper bounds of the text one item of a set request takes (uapi_build_set). */
#define UAPI_DEV_MAX 256
#define UAPI_PEER_MAX 512
#define UAPI_ALLOWED_MAX 64

static const char *uapi_binary = "/usr/bin/wireguard-go";
static const char *uapi_sockdir = "/var/run/wireguard";

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

struct uapi_parser {
	struct wg_device *dev;
	struct wg_peer *peer;   /* being read; NULL before the first public_key */
	long err;               /* the errno=N value */
	bool have_errno, done;
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
static int uapi_parser_line(struct uapi_parser *p, const char *line, size_t len)
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

static int uapi_parser_init(struct uapi_parser *p, const char *ifname)
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
static int uapi_parser_finish(struct uapi_parser *p, struct wg_device **dev)
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

/* ---- the socket ------------------------------------------------------------ */

/* Kernel rules for a device name; also keeps the socket path inside sockdir. */
static bool uapi_ifname_ok(const char *ifname)
{
	size_t len = ifname ? strlen(ifname) : 0;

	if (len == 0 || len >= IFNAMSIZ || !strcmp(ifname, ".") || !strcmp(ifname, ".."))
		return false;
	return strcspn(ifname, "/: \t\n\r\f\v") == len;
}

static int uapi_sock_path(struct sockaddr_un *sun, const char *ifname)
{
	int n;

	if (!uapi_ifname_ok(ifname))
		return -EINVAL;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s.sock", uapi_sockdir, ifname);
	return n < 0 || (size_t)n >= sizeof(sun->sun_path) ? -ENAMETOOLONG : 0;
}

/* Connected socket with I/O timeouts in *fdp. 0, -ENODEV when nothing
 * listens (no socket file, or a stale one), -errno. */
static int uapi_connect(const char *ifname, int *fdp)
{
	struct timeval tv = { .tv_sec = UAPI_IO_TIMEOUT_S };
	struct sockaddr_un sun;
	int fd = -1, ret;

	ret = uapi_sock_path(&sun, ifname);
	if (ret < 0)
		goto out;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		ret = -errno;
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = errno == ENOENT || errno == ECONNREFUSED ? -ENODEV : -errno;
		goto out;
	}
	*fdp = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

static int uapi_io_errno(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
}

static int uapi_send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return uapi_io_errno();
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Feeds the reply to p line by line as it arrives, up to its blank line.
 * Only a window of UAPI_RXBUF bytes is kept (complete lines are consumed and
 * the tail moved to the front), so a multi-MB reply costs one linear pass
 * and no large buffer. A line longer than the window is a protocol error.
 */
static int uapi_read_reply(int fd, struct uapi_parser *p)
{
	char *buf = malloc(UAPI_RXBUF), *line, *nl;
	size_t have = 0;
	ssize_t n;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	while (!p->done) {
		n = recv(fd, buf + have, UAPI_RXBUF - have, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = uapi_io_errno();
			goto out;
		}
		if (n == 0) {
			ret = -EPROTO;  /* closed before the end of the reply */
			goto out;
		}
		have += (size_t)n;
		line = buf;
		while (!p->done && (nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
			ret = uapi_parser_line(p, line, (size_t)(nl - line));
			if (ret < 0)
				goto out;
			line = nl + 1;
		}
		if (line == buf && have == UAPI_RXBUF) {
			ret = -EPROTO;
			goto out;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
	}
out:
	sodium_memzero(buf, UAPI_RXBUF);        /* held the private key */
	free(buf);
	return ret;
}

/* One request/reply exchange on a fresh connection. */
static int uapi_exchange(const char *ifname, const char *req, size_t len, struct uapi_parser *p)
{
	int fd = -1, ret;

	ret = uapi_connect(ifname, &fd);
	if (ret < 0)
		goto out;
	ret = uapi_send_all(fd, req, len);
	if (ret < 0)
		goto out;
	ret = uapi_read_reply(fd, p);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* 0, -ENODEV when no implementation serves ifname, -ETIMEDOUT, -EPROTO,
 * -errno of the implementation. */
static int uapi_get(const char *ifname, struct wg_device **dev)
{
	static const char req[] = "get=1\n\n";
	struct uapi_parser p;
	int ret;

	*dev = NULL;
	ret = uapi_parser_init(&p, ifname);
	if (ret < 0)
		goto out;
	ret = uapi_exchange(ifname, req, sizeof(req) - 1, &p);
	if (ret < 0)
		goto out;
	ret = uapi_parser_finish(&p, dev);
out:
	wgdev_free(p.dev);
	return ret;
}

/* Like uapi_get; -EINVAL for a device the protocol cannot express. */
static int uapi_set(const struct wg_device *dev)
{
	struct uapi_parser p;
	char *req = NULL;
	size_t len = 0;
	int ret;

	ret = uapi_parser_init(&p, dev->name);
	if (ret < 0)
		goto out;
	req = uapi_build_set(dev);
	if (!req) {
		ret = errno == EINVAL ? -EINVAL : -ENOMEM;
		goto out;
	}
	len = strlen(req);
	ret = uapi_exchange(dev->name, req, len, &p);
	if (ret < 0)
		goto out;
	ret = uapi_parser_finish(&p, NULL);
out:
	if (req) {
		sodium_memzero(req, len);
		free(req);
	}
	wgdev_free(p.dev);
	return ret;
}

static int uapi_exists(const char *ifname)
{
	int fd = -1;

	if (uapi_connect(ifname, &fd) < 0)
		return 0;
	close(fd);
	return 1;
}

/* ---- the implementation's process --------------------------------------- */

static void uapi_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* false once pid has exited (gone, or a zombie nobody reaped yet). */
static bool uapi_proc_alive(pid_t pid)
{
	char path[64], buf[512], *rparen;
	ssize_t n;
	int fd = -1;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? false : kill(pid, 0) == 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	rparen = strrchr(buf, ')');    /* the comm field may hold anything */
	return rparen && rparen[1] == ' ' && rparen[2] != 'Z' && rparen[2] != 'X';
}

/* Waits up to ms for pid to exit. true when it did. */
static bool uapi_wait_exit(pid_t pid, long ms)
{
	for (; ms > 0; ms -= UAPI_POLL_MS) {
		if (!uapi_proc_alive(pid))
			return true;
		uapi_sleep_ms(UAPI_POLL_MS);
	}
	return !uapi_proc_alive(pid);
}

/* What the two children report through the spawn pipe. */
struct uapi_spawn_msg {
	int pid;                /* > 0: the implementation's pid */
	int err;                /* != 0: errno of a failed setsid/fork/exec */
};

/* Runs in the first child; async-signal-safe calls only. Never returns. */
static void uapi_spawn_child(char *const argv[], int devnull, int wfd)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGPIPE, SIGTERM, SIGCHLD };
	struct uapi_spawn_msg msg = { 0, 0 };
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	size_t i;
	pid_t pid;

	/* Ignored signals and the mask survive exec: give the implementation
	 * a clean slate (uapi_destroy relies on SIGTERM). */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setsid() < 0) {
		msg.err = errno;
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		msg.err = errno;
		goto fail;
	}
	if (pid > 0) {
		/* Exiting re-parents the implementation to init (or the nearest
		 * subreaper): it outlives the reconciler and nobody must reap it. */
		msg.pid = pid;
		if (write(wfd, &msg, sizeof(msg)) < 0)
			_exit(1);
		_exit(0);
	}
	if (devnull <= STDOUT_FILENO)
		fcntl(devnull, F_SETFD, 0);
	if (dup2(devnull, STDIN_FILENO) < 0 || dup2(devnull, STDOUT_FILENO) < 0) {
		msg.err = errno;
		goto fail;
	}
	/* Descriptors the reconciler opened without O_CLOEXEC must not leak
	 * into a long-lived process; wfd is already close-on-exec. */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	execv(argv[0], argv);
	msg.err = errno;
fail:
	if (write(wfd, &msg, sizeof(msg)) < 0)
		_exit(126);
	_exit(127);
}

/* Starts "binary -f ifname" detached; its pid in *pidp. 0 or -errno (e.g.
 * -ENOENT for a missing binary, reported by the child after execv). */
static int uapi_spawn(const char *ifname, pid_t *pidp)
{
	char *argv[] = { (char *)uapi_binary, (char *)"-f", (char *)ifname, NULL };
	struct uapi_spawn_msg msg;
	int pfd[2] = { -1, -1 }, devnull, status, ret = 0;
	pid_t child;
	ssize_t n;

	*pidp = 0;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		ret = -errno;
		goto out;
	}
	fflush(stderr);
	child = fork();
	if (child < 0) {
		ret = -errno;
		goto out;
	}
	if (child == 0)
		uapi_spawn_child(argv, devnull, pfd[1]);
	close(pfd[1]);
	pfd[1] = -1;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	/* EOF once the first child exited and the second one exec'd. */
	while ((n = read(pfd[0], &msg, sizeof(msg))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(msg)) {
			ret = n < 0 ? -errno : -EPROTO;
			goto out;
		}
		if (msg.pid > 0)
			*pidp = msg.pid;
		if (msg.err)
			ret = -msg.err;
	}
	if (!ret && !*pidp)
		ret = -ECHILD;
out:
	if (devnull >= 0)
		close(devnull);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	return ret;
}

/*
 * 0 once the UAPI socket answers; -EEXIST when it already did or another
 * link holds the name; -EIO when the implementation exited before its
 * socket appeared (its stderr, which is ours, says why); -ETIMEDOUT after
 * 5 s (it is then terminated); -errno of the spawn.
 */
static int uapi_create(const char *ifname)
{
	pid_t pid;
	long waited;
	int fd = -1, ret;

	ret = uapi_connect(ifname, &fd);
	if (ret == 0) {
		close(fd);
		return -EEXIST;
	}
	if (ret != -ENODEV)
		return ret;
	if (nl_link_index(ifname) > 0)
		return -EEXIST;
	ret = uapi_spawn(ifname, &pid);
	if (ret < 0)
		return ret;
	for (waited = 0; waited < UAPI_START_TIMEOUT_MS; waited += UAPI_POLL_MS) {
		if (uapi_connect(ifname, &fd) == 0) {
			close(fd);
			return 0;
		}
		if (!uapi_proc_alive(pid))
			return -EIO;
		uapi_sleep_ms(UAPI_POLL_MS);
	}
	kill(pid, SIGTERM);
	return -ETIMEDOUT;
}

/*
 * Deleting the TUN link makes the implementation exit; we wait for that
 * (its pid comes from SO_PEERCRED), terminate it if it lingers or if it
 * runs without a link, and remove a stale socket file.
 * 0; -ENODEV when there was neither link nor socket; -ETIMEDOUT when the
 * process would not exit; -errno.
 */
static int uapi_destroy(const char *ifname)
{
	struct ucred cred = { 0 };
	socklen_t credlen = sizeof(cred);
	struct sockaddr_un sun;
	bool found = false;
	int fd = -1, ret;

	ret = uapi_sock_path(&sun, ifname);
	if (ret < 0)
		goto out;
	if (uapi_connect(ifname, &fd) == 0) {
		found = true;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0)
			cred.pid = 0;
		close(fd);
	}
	ret = nl_link_delete(ifname);
	if (ret < 0 && ret != -ENODEV)
		goto out;
	if (ret == 0)
		found = true;
	if (cred.pid > 0 && !uapi_wait_exit(cred.pid, ret == 0 ? UAPI_STOP_TIMEOUT_MS : 0)) {
		kill(cred.pid, SIGTERM);
		if (!uapi_wait_exit(cred.pid, UAPI_STOP_TIMEOUT_MS)) {
			ret = -ETIMEDOUT;
			goto out;
		}
	}
	ret = 0;
	if (unlink(sun.sun_path) == 0)
		found = true;
	else if (errno != ENOENT)
		ret = -errno;
	if (!ret && !found)
		ret = -ENODEV;
out:
	return ret;
}

static const struct wg_backend uapi_ops = {
	.name = "userspace",
	.device_type = "userspace",
	.create = uapi_create,
	.destroy = uapi_destroy,
	.exists = uapi_exists,
	.get = uapi_get,
	.set = uapi_set,
};

const struct wg_backend *uapi_backend(const char *binary, const char *sockdir)
{
	uapi_binary = binary;
	uapi_sockdir = sockdir;
	return &uapi_ops;
}
