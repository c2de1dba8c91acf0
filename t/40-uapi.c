/* SPDX-License-Identifier: MIT */
/*
 * Device backends: the UAPI text protocol (build/parse, no I/O), the UAPI
 * socket against a scripted fake implementation, the netlink error hints,
 * and, as root, wireguard-go plus rtnetlink in a network namespace and
 * mount namespace of our own.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "nl-link.h"
#include "wgdev.h"
#include "tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#if defined(__SANITIZE_ADDRESS__)
#define CPU_BUDGET_MS 400       /* ASan/UBSan make the parser ~3x slower */
#else
#define CPU_BUDGET_MS 100
#endif

/* ---- fixtures -------------------------------------------------------------- */

static void key_fill(uint8_t key[static WG_KEY_LEN], uint8_t byte)
{
	memset(key, byte, WG_KEY_LEN);
}

/* A distinct public key per i: i big-endian, then 0x5a bytes. */
static void key_nth(uint8_t key[static WG_KEY_LEN], uint32_t i)
{
	memset(key, 0x5a, WG_KEY_LEN);
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

static void cidr_format(char out[static 64], const struct ipnet *n)
{
	char host[INET6_ADDRSTRLEN];

	inet_ntop(n->family, n->addr, host, sizeof(host));
	snprintf(out, 64, "%s/%u", host, n->prefix);
}

static union wg_endpoint endpoint(const char *host, uint16_t port)
{
	union wg_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	if (strchr(host, ':')) {
		ep.in6.sin6_family = AF_INET6;
		ep.in6.sin6_port = htons(port);
		inet_pton(AF_INET6, host, &ep.in6.sin6_addr);
	} else {
		ep.in.sin_family = AF_INET;
		ep.in.sin_port = htons(port);
		inet_pton(AF_INET, host, &ep.in.sin_addr);
	}
	return ep;
}

static int endpoint_eq(const union wg_endpoint *a, const union wg_endpoint *b)
{
	if (a->addr.sa_family != b->addr.sa_family)
		return 0;
	if (a->addr.sa_family == AF_INET)
		return a->in.sin_port == b->in.sin_port &&
		       a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return a->in6.sin6_port == b->in6.sin6_port &&
	       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16);
}

/* A peer owning copies of the given CIDRs. */
static struct wg_peer peer_new(uint32_t n, unsigned flags, const char *const *cidrs, size_t ncidrs)
{
	struct wg_peer p;
	size_t i;

	memset(&p, 0, sizeof(p));
	key_nth(p.public_key, n);
	p.flags = flags;
	p.nallowed = ncidrs;
	p.allowed = ncidrs ? calloc(ncidrs, sizeof(*p.allowed)) : NULL;
	for (i = 0; i < ncidrs; i++)
		p.allowed[i] = cidr(cidrs[i]);
	return p;
}

static const struct wg_peer *peer_find(const struct wg_device *dev, const uint8_t key[static WG_KEY_LEN])
{
	size_t i;

	for (i = 0; dev && i < dev->npeers; i++)
		if (!memcmp(dev->peers[i].public_key, key, WG_KEY_LEN))
			return &dev->peers[i];
	return NULL;
}

/* 1 when the peer's allowed IPs are exactly cidrs[] in any order. */
static int allowed_eq(const struct wg_peer *p, const char *const *cidrs, size_t n)
{
	char s[64];
	size_t i, j;

	if (!p || p->nallowed != n)
		return 0;
	for (i = 0; i < n; i++) {
		cidr_format(s, &p->allowed[i]);
		for (j = 0; j < n && strcmp(s, cidrs[j]); j++)
			;
		if (j == n)
			return 0;
	}
	return 1;
}

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A get reply as wireguard-go writes it, with n peers. malloc'd. */
static char *reply_generate(uint32_t n, size_t *len)
{
	size_t cap = 256 + (size_t)n * 512, off = 0;
	char *buf = malloc(cap), hex[WG_KEY_HEX_LEN + 1];
	uint8_t key[WG_KEY_LEN];
	uint32_t i;

	key_fill(key, 0x28);
	sodium_bin2hex(hex, sizeof(hex), key, WG_KEY_LEN);
	off += (size_t)sprintf(buf + off, "private_key=%s\nlisten_port=51820\n", hex);
	for (i = 0; i < n; i++) {
		key_nth(key, i);
		sodium_bin2hex(hex, sizeof(hex), key, WG_KEY_LEN);
		off += (size_t)sprintf(buf + off,
			"public_key=%s\npreshared_key=%064d\nprotocol_version=1\n"
			"endpoint=198.51.100.%u:%u\nlast_handshake_time_sec=%u\n"
			"last_handshake_time_nsec=0\ntx_bytes=%u\nrx_bytes=%u\n"
			"persistent_keepalive_interval=25\nallowed_ip=10.%u.%u.%u/32\n",
			hex, 0, i % 250 + 1, 10000 + i % 50000, 1700000000 + i, i, 2 * i,
			i >> 16, (i >> 8) & 255, i & 255);
	}
	off += (size_t)sprintf(buf + off, "errno=0\n\n");
	*len = off;
	return buf;
}

/* ---- building ----------------------------------------------------------- */

static void test_build_set(void)
{
	static const char *const a0[] = { "10.0.0.2/32", "fd00::2/128" };
	static const char *const a1[] = { "10.0.0.3/32" };
	static const char *const a2[] = { "10.0.0.4/32" };
	static const char *const a4[] = { "0.0.0.0/0", "::/0" };
	struct wg_device dev;
	struct wg_peer peers[5];
	char *text;
	size_t i;

	memset(&dev, 0, sizeof(dev));
	strcpy(dev.name, "wg0");
	key_fill(dev.private_key, 0xa8);
	dev.listen_port = 51820;
	dev.fwmark = 0x1234;
	dev.flags = WGDEV_HAS_PRIVATE_KEY | WGDEV_HAS_LISTEN_PORT | WGDEV_HAS_FWMARK;
	/* A new peer with everything; an update of endpoint and allowed IPs;
	 * a removal (other flags must not leak into it); a PSK cleared and
	 * keepalive turned off; a v6 link-local endpoint with a scope. */
	peers[0] = peer_new(0, WGPEER_HAS_PSK | WGPEER_HAS_ENDPOINT | WGPEER_HAS_KEEPALIVE |
			    WGPEER_REPLACE_ALLOWEDIPS, a0, ARRAY_SIZE(a0));
	key_fill(peers[0].preshared_key, 0x77);
	peers[0].endpoint = endpoint("192.0.2.1", 51820);
	peers[0].keepalive = 25;
	peers[1] = peer_new(1, WGPEER_UPDATE_ONLY | WGPEER_HAS_ENDPOINT | WGPEER_REPLACE_ALLOWEDIPS,
			    a1, ARRAY_SIZE(a1));
	peers[1].endpoint = endpoint("2001:db8::1", 443);
	peers[2] = peer_new(2, WGPEER_REMOVE | WGPEER_UPDATE_ONLY | WGPEER_HAS_PSK |
			    WGPEER_REPLACE_ALLOWEDIPS, a2, ARRAY_SIZE(a2));
	peers[3] = peer_new(3, WGPEER_UPDATE_ONLY | WGPEER_HAS_PSK | WGPEER_HAS_KEEPALIVE, NULL, 0);
	peers[4] = peer_new(4, WGPEER_HAS_ENDPOINT, a4, ARRAY_SIZE(a4));
	peers[4].endpoint = endpoint("fe80::1", 51821);
	peers[4].endpoint.in6.sin6_scope_id = 3;
	dev.peers = peers;
	dev.npeers = ARRAY_SIZE(peers);

	text = uapi_build_set(&dev);
	is_str(text,
	       "set=1\n"
	       "private_key=a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8a8\n"
	       "listen_port=51820\n"
	       "fwmark=4660\n"
	       "public_key=000000005a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n"
	       "preshared_key=7777777777777777777777777777777777777777777777777777777777777777\n"
	       "endpoint=192.0.2.1:51820\n"
	       "persistent_keepalive_interval=25\n"
	       "replace_allowed_ips=true\n"
	       "allowed_ip=10.0.0.2/32\n"
	       "allowed_ip=fd00::2/128\n"
	       "public_key=000000015a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n"
	       "update_only=true\n"
	       "endpoint=[2001:db8::1]:443\n"
	       "replace_allowed_ips=true\n"
	       "allowed_ip=10.0.0.3/32\n"
	       "public_key=000000025a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n"
	       "remove=true\n"
	       "public_key=000000035a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n"
	       "update_only=true\n"
	       "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
	       "persistent_keepalive_interval=0\n"
	       "public_key=000000045a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n"
	       "endpoint=[fe80::1%3]:51821\n"
	       "allowed_ip=0.0.0.0/0\n"
	       "allowed_ip=::/0\n"
	       "\n",
	       "build_set_every_flag: exact request text");
	free(text);

	dev.flags = 0;
	dev.npeers = 0;
	text = uapi_build_set(&dev);
	is_str(text, "set=1\n\n", "build_set_empty: nothing to change");
	free(text);

	dev.npeers = 1;
	peers[0].endpoint.addr.sa_family = AF_UNIX;
	text = uapi_build_set(&dev);
	ok(!text && errno == EINVAL, "build_set_bad_endpoint: unknown family -> NULL, EINVAL");
	free(text);
	peers[0].endpoint = endpoint("192.0.2.1", 1);
	peers[0].allowed[0].prefix = 33;
	text = uapi_build_set(&dev);
	ok(!text && errno == EINVAL, "build_set_bad_prefix: 10.0.0.2/33 -> NULL, EINVAL");
	free(text);

	for (i = 0; i < ARRAY_SIZE(peers); i++)
		free(peers[i].allowed);
}

static void test_build_set_large(void)
{
	struct wg_device dev;
	double t0, ms;
	char *text;
	size_t i;

	memset(&dev, 0, sizeof(dev));
	dev.npeers = 10000;
	dev.peers = calloc(dev.npeers, sizeof(*dev.peers));
	for (i = 0; i < dev.npeers; i++) {
		char s[32];

		snprintf(s, sizeof(s), "10.%zu.%zu.%zu/32", i >> 16, (i >> 8) & 255, i & 255);
		dev.peers[i] = peer_new((uint32_t)i, WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_PSK,
					(const char *const[]){ s }, 1);
	}
	t0 = cpu_ms();
	text = uapi_build_set(&dev);
	ms = cpu_ms() - t0;
	ok(text && strlen(text) > 10000 * 200, "build_set_10000_peers: built (%zu bytes)", text ? strlen(text) : 0);
	ok(ms < CPU_BUDGET_MS / 4, "build_set_10000_peers: %.1f ms of CPU", ms);
	ok(text && strstr(text, "allowed_ip=10.0.39.15/32\n\n"), "build_set_10000_peers: ends with the last peer");
	free(text);
	for (i = 0; i < dev.npeers; i++)
		free(dev.peers[i].allowed);
	free(dev.peers);
}

/* ---- parsing ------------------------------------------------------------------ */

static void test_parse_get(void)
{
	static const char reply[] =
		"private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\n"
		"listen_port=12912\n"
		"fwmark=0\n"
		"public_key=b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33\n"
		"preshared_key=188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52\n"
		"protocol_version=1\n"
		"endpoint=[abcd:23::33]:51820\n"
		"last_handshake_time_sec=0\n"
		"last_handshake_time_nsec=0\n"
		"tx_bytes=38333\n"
		"rx_bytes=2224\n"
		"persistent_keepalive_interval=0\n"
		"allowed_ip=192.168.4.4/32\n"
		"public_key=58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376\n"
		"preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
		"protocol_version=1\n"
		"endpoint=182.122.22.19:3233\n"
		"last_handshake_time_sec=1700000000\n"
		"last_handshake_time_nsec=5\n"
		"tx_bytes=18446744073709551615\n"
		"rx_bytes=0\n"
		"persistent_keepalive_interval=111\n"
		"allowed_ip=192.168.4.6/32\n"
		"allowed_ip=10.0.0.0/8\n"
		"allowed_ip=fd00:1::/64\n"
		"errno=0\n"
		"\n";
	static const char *const a1[] = { "192.168.4.6/32", "10.0.0.0/8", "fd00:1::/64" };
	struct wg_device *dev = NULL;
	union wg_endpoint ep;
	uint8_t pub[WG_KEY_LEN];
	const struct wg_peer *p;
	int ret;

	ret = uapi_parse_get(reply, sizeof(reply) - 1, "wg0", &dev);
	is_int(ret, 0, "parse_get_realistic: parses");
	if (!dev)
		return;
	is_str(dev->name, "wg0", "parse_get_realistic: name");
	ok(dev->flags == (WGDEV_HAS_PRIVATE_KEY | WGDEV_HAS_LISTEN_PORT | WGDEV_HAS_FWMARK),
	   "parse_get_realistic: device flags");
	ok(dev->private_key[0] == 0xe8 && dev->private_key[31] == 0x7a, "parse_get_realistic: private key");
	crypto_scalarmult_base(pub, dev->private_key);
	ok(!memcmp(pub, dev->public_key, WG_KEY_LEN), "parse_get_realistic: public key derived");
	is_int(dev->listen_port, 12912, "parse_get_realistic: listen port");
	is_int(dev->npeers, 2, "parse_get_realistic: 2 peers");
	if (dev->npeers != 2)
		goto out;
	p = &dev->peers[0];
	ok(p->public_key[0] == 0xb8 && p->preshared_key[0] == 0x18 &&
	   p->flags == (WGPEER_HAS_PSK | WGPEER_HAS_ENDPOINT), "parse_get_realistic: peer 1 keys, flags");
	ep = endpoint("abcd:23::33", 51820);
	ok(endpoint_eq(&p->endpoint, &ep), "parse_get_realistic: peer 1 v6 endpoint");
	ok(p->last_handshake == 0 && p->tx_bytes == 38333 && p->rx_bytes == 2224 && p->keepalive == 0,
	   "parse_get_realistic: peer 1 zero handshake, counters");
	ok(allowed_eq(p, (const char *const[]){ "192.168.4.4/32" }, 1), "parse_get_realistic: peer 1 allowed IP");
	p = &dev->peers[1];
	ok(p->flags == (WGPEER_HAS_ENDPOINT | WGPEER_HAS_KEEPALIVE) && sodium_is_zero(p->preshared_key, 32),
	   "parse_get_realistic: peer 2 zero PSK is no PSK");
	ep = endpoint("182.122.22.19", 3233);
	ok(endpoint_eq(&p->endpoint, &ep), "parse_get_realistic: peer 2 v4 endpoint");
	ok(p->last_handshake == 1700000000 && p->tx_bytes == UINT64_MAX && p->keepalive == 111,
	   "parse_get_realistic: peer 2 handshake, u64 max counter, keepalive");
	ok(allowed_eq(p, a1, ARRAY_SIZE(a1)), "parse_get_realistic: peer 2 three allowed IPs");
out:
	wgdev_free(dev);
}

static void test_parse_errno(void)
{
	static const struct {
		const char *text;
		int want;
	} cases[] = {
		{ "errno=0\n\n", 0 },
		{ "errno=22\n\n", -EINVAL },
		{ "errno=-98\n\n", -EADDRINUSE },       /* what wireguard-go sends */
		{ "listen_port=1\nerrno=5\n\n", -EIO },
		{ "errno=0\n", 0 },                     /* end of input ends the reply too */
		{ "errno=0\n\nlisten_port=oops\n", 0 }, /* nothing after the blank line is read */
	};
	struct wg_device *dev = (struct wg_device *)1;
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ret = uapi_parse_get(cases[i].text, strlen(cases[i].text), "wg0", &dev);
		is_int(ret, cases[i].want, "parse_get_errno: %zu -> %d", i, cases[i].want);
		ok(ret == 0 ? dev && dev->npeers == 0 : !dev, "parse_get_errno: %zu device only on success", i);
		wgdev_free(dev);
	}
}

static void test_parse_malformed(void)
{
	static const char *const bad[] = {
		"",
		"\n",
		"listen_port=1\n\n",                                    /* no errno */
		"listen_port=1\n",
		"private_key=zz4b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\nerrno=0\n\n",
		"private_key=e84b5a\nerrno=0\n\n",
		"listen_port=65536\nerrno=0\n\n",
		"listen_port=-1\nerrno=0\n\n",
		"listen_port=\nerrno=0\n\n",
		"listen_port=1 \nerrno=0\n\n",
		"fwmark=4294967296\nerrno=0\n\n",
		"no equals sign\nerrno=0\n\n",
		"allowed_ip=10.0.0.0/8\nerrno=0\n\n",                 /* peer key before a peer */
		"public_key=5840\nerrno=0\n\n",
		"public_key=58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376\n"
		"allowed_ip=10.0.0.0/33\nerrno=0\n\n",
		"public_key=58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376\n"
		"allowed_ip=10.0.0.0\nerrno=0\n\n",
		"public_key=58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376\n"
		"allowed_ip=10.0.0.256/32\nerrno=0\n\n",
		"public_key=58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376\n"
		"endpoint=1.2.3.4\nerrno=0\n\n",
		"public_key=58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376\n"
		"endpoint=1.2.3.4:65536\nerrno=0\n\n",
		"public_key=58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376\n"
		"endpoint=[::1:5\nerrno=0\n\n",
		"public_key=58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376\n"
		"endpoint=::1:5\nerrno=0\n\n",
		"public_key=58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376\n"
		"last_handshake_time_nsec=1000000000\nerrno=0\n\n",
		"public_key=58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376\n"
		"rx_bytes=18446744073709551616\nerrno=0\n\n",
		"public_key=58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376\n"
		"listen_port=1\nerrno=0\n\n",                           /* device key inside a peer */
		"errno=0\nlisten_port=1\n\n",                           /* errno must come last */
		"errno=abc\n\n",
		"errno=\n\n",
		"errno=99999\n\n",
	};
	static const char nul[] = "listen_port=1\0\nerrno=0\n\n";
	char longline[300];
	struct wg_device *dev = NULL;
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ret = uapi_parse_get(bad[i], strlen(bad[i]), "wg0", &dev);
		is_int(ret, -EPROTO, "parse_get_malformed: case %zu rejected", i);
		wgdev_free(dev);
	}
	ret = uapi_parse_get(nul, sizeof(nul) - 1, "wg0", &dev);
	is_int(ret, -EPROTO, "parse_get_malformed: NUL inside a value rejected");
	snprintf(longline, sizeof(longline), "x=%0200d\nerrno=0\n\n", 0);
	ret = uapi_parse_get(longline, strlen(longline), "wg0", &dev);
	is_int(ret, -EPROTO, "parse_get_malformed: overlong value rejected");
	ret = uapi_parse_get("errno=0\n\n", 9, "wg0123456789abcdef", &dev);
	is_int(ret, -EINVAL, "parse_get_malformed: overlong ifname");

	ret = uapi_parse_get("future_key=whatever\nlisten_port=7\nerrno=0\n\n", 42, "wg0", &dev);
	ok(ret == 0 && dev && dev->listen_port == 7, "parse_get_unknown_key: ignored");
	wgdev_free(dev);
}

static void test_parse_large(void)
{
	struct wg_device *dev = NULL;
	const struct wg_peer *p;
	uint8_t key[WG_KEY_LEN];
	size_t len;
	char *text = reply_generate(10000, &len);
	double t0, ms;
	int ret;

	t0 = cpu_ms();
	ret = uapi_parse_get(text, len, "wg0", &dev);
	ms = cpu_ms() - t0;
	is_int(ret, 0, "parse_get_10000_peers: parses (%zu bytes)", len);
	ok(ms < CPU_BUDGET_MS, "parse_get_10000_peers: %.1f ms of CPU", ms);
	is_int(dev ? dev->npeers : 0, 10000, "parse_get_10000_peers: count");
	if (dev && dev->npeers == 10000) {
		p = &dev->peers[9999];
		key_nth(key, 9999);
		ok(!memcmp(p->public_key, key, WG_KEY_LEN) && p->rx_bytes == 19998 && p->tx_bytes == 9999 &&
		   p->last_handshake == 1700009999 && p->keepalive == 25,
		   "parse_get_10000_peers: last peer's key, counters");
		ok(allowed_eq(p, (const char *const[]){ "10.0.39.15/32" }, 1) &&
		   ntohs(p->endpoint.in.sin_port) == 19999, "parse_get_10000_peers: last peer's allowed IP, endpoint");
	}
	wgdev_free(dev);
	free(text);
}

static void test_hints(void)
{
	static const struct {
		int err;
		const char *hint;
	} cases[] = {
		{ -EPERM, "missing CAP_NET_ADMIN — check AmbientCapabilities of the unit" },
		{ -EEXIST, "interface already exists — look for orphaned WG interfaces (`ip link show`)" },
		{ -ENODEV, "wireguard module not loaded — `modprobe wireguard`" },
		{ -EADDRINUSE, "listen port already bound — `ss -ulnp | grep <port>`" },
		{ -ENOBUFS, "too many interfaces — `ip link | wc -l`" },
		{ -EINVAL, "invalid configuration — check key format and allowed IPs" },
		{ -ENOENT, "module not loaded — `modprobe wireguard` or kernel ≥ 5.6" },
		{ -EACCES, "process needs CAP_NET_ADMIN" },
		{ -EBUSY, "interface busy — another process uses it" },
		{ -EOPNOTSUPP, "unknown netlink error — see `dmesg | tail -20`" },
		{ 0, "unknown netlink error — see `dmesg | tail -20`" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		is_str(nl_error_hint(cases[i].err), cases[i].hint, "nl_error_hint: %s", strerror(-cases[i].err));
	is_str(nl_error_hint(EPERM), cases[0].hint, "nl_error_hint: positive errno accepted");
}

/* ---- the socket, against a scripted implementation ---------------------------- */

struct fake_step {
	const char *request;    /* the request must start with this */
	const char *reply;
	size_t len;             /* of reply; written in pieces of 1..chunk bytes */
	size_t chunk;
};

/* Reads one request (up to its blank line). 1, or 0 on EOF before it. */
static int fake_read_request(int fd, char *buf, size_t size)
{
	size_t have = 0;
	ssize_t n;

	while (have < size - 1 && (n = read(fd, buf + have, size - 1 - have)) > 0) {
		have += (size_t)n;
		buf[have] = '\0';
		if (have >= 2 && !strcmp(buf + have - 2, "\n\n"))
			return 1;
	}
	return 0;
}

/* Child: serves steps[] in order, one connection each (connections closed
 * without a request, as exists() makes, do not count). Exit status 0 when
 * every request matched. */
static void fake_serve(int lfd, const struct fake_step *steps, size_t n)
{
	char req[4096];
	size_t i, off, piece;
	int fd, bad = 0;

	for (i = 0; i < n; i++) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			_exit(2);
		if (!fake_read_request(fd, req, sizeof(req))) {
			close(fd);
			i--;
			continue;
		}
		bad |= strncmp(req, steps[i].request, strlen(steps[i].request)) != 0;
		for (off = 0; off < steps[i].len; off += piece) {
			piece = steps[i].chunk ? 1 + off % steps[i].chunk : steps[i].len - off;
			if (piece > steps[i].len - off)
				piece = steps[i].len - off;
			if (write(fd, steps[i].reply + off, piece) < 0)
				_exit(3);
		}
		close(fd);
	}
	_exit(bad);
}

static void test_fake_socket(void)
{
	char dir[] = "/tmp/wgp-40-uapi-XXXXXX", path[108];
	const struct wg_backend *be;
	struct wg_device *dev = NULL, set;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t big_len, small_len;
	char *big = reply_generate(10000, &big_len), *small = reply_generate(1000, &small_len);
	const struct fake_step steps[] = {
		{ "get=1\n\n", big, big_len, 0 },
		{ "get=1\n\n", small, small_len, 97 },
		{ "set=1\nlisten_port=9\n\n", "errno=-22\n\n", 11, 0 },
		{ "get=1\n\n", "listen_port=1\nerr", 17, 0 },
		{ "set=1\n\n", "errno=0\n\n", 9, 3 },
	};
	double t0, ms;
	int lfd, status, ret;
	pid_t pid;

	if (!mkdtemp(dir)) {
		ok(0, "fake_socket: mkdtemp: %s", strerror(errno));
		goto out;
	}
	be = uapi_backend("/nonexistent/wireguard-go", dir);
	is_str(be->device_type, "userspace", "fake_socket: device_type");
	is_int(be->exists("fake0"), 0, "fake_socket: exists without a socket -> 0");
	is_int(be->get("fake0", &dev), -ENODEV, "fake_socket: get without a socket -> -ENODEV");
	is_int(be->create("fake0"), -ENOENT, "fake_socket: create with a missing binary -> -ENOENT");
	uapi_backend("/bin/true", dir);
	is_int(be->create("fake0"), -EIO, "fake_socket: create, implementation exits at once -> -EIO");
	is_int(be->exists("../x"), 0, "fake_socket: a name with '/' is never a device");

	snprintf(path, sizeof(path), "%s/fake0.sock", dir);
	strcpy(sun.sun_path, path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(lfd, 8) < 0) {
		ok(0, "fake_socket: listen on %s: %s", path, strerror(errno));
		goto out;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		fake_serve(lfd, steps, ARRAY_SIZE(steps));
	close(lfd);

	is_int(be->exists("fake0"), 1, "fake_socket: exists -> 1");
	is_int(be->create("fake0"), -EEXIST, "fake_socket: create when the socket answers -> -EEXIST");
	t0 = cpu_ms();
	ret = be->get("fake0", &dev);
	ms = cpu_ms() - t0;
	ok(ret == 0 && dev && dev->npeers == 10000, "fake_socket: 10000-peer get (%zu bytes)", big_len);
	ok(ms < CPU_BUDGET_MS, "fake_socket: 10000-peer get took %.1f ms of our CPU", ms);
	is_str(dev ? dev->name : NULL, "fake0", "fake_socket: device named after the interface");
	wgdev_free(dev);
	ret = be->get("fake0", &dev);
	ok(ret == 0 && dev && dev->npeers == 1000 && dev->peers[999].tx_bytes == 999,
	   "fake_socket: 1000-peer get written in 1..97-byte pieces");
	wgdev_free(dev);
	memset(&set, 0, sizeof(set));
	strcpy(set.name, "fake0");
	set.flags = WGDEV_HAS_LISTEN_PORT;
	set.listen_port = 9;
	is_int(be->set(&set), -EINVAL, "fake_socket: set answered errno=-22 -> -EINVAL");
	is_int(be->get("fake0", &dev), -EPROTO, "fake_socket: reply cut short -> -EPROTO");
	ok(!dev, "fake_socket: no device on error");
	set.flags = 0;
	is_int(be->set(&set), 0, "fake_socket: set answered errno=0 in 1..3-byte pieces -> 0");
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fake_socket: the requests were as expected");
	is_int(be->exists("fake0"), 0, "fake_socket: stale socket after the implementation left -> 0");
	unlink(path);
out:
	rmdir(dir);
	free(big);
	free(small);
}

/* ---- as root: wireguard-go and rtnetlink in namespaces of our own ----------- */

static const char *wg_binary(void)
{
	const char *b = getenv("WGP_WIREGUARD_GO");

	return b && *b ? b : "/usr/bin/wireguard-go";
}

/* The process behind ifname's UAPI socket (SO_PEERCRED), 0 if none. */
static pid_t ns_sock_pid(const char *ifname)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "/var/run/wireguard/%s.sock", ifname);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		cred.pid = 0;
	if (fd >= 0)
		close(fd);
	return cred.pid;
}

/* 1 once pid has exited (no /proc entry, or a zombie init has not reaped). */
static int ns_proc_gone(pid_t pid)
{
	char path[64], buf[512], *r;
	FILE *f;
	int gone;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	gone = !fgets(buf, sizeof(buf), f) || !(r = strrchr(buf, ')')) || r[2] == 'Z' || r[2] == 'X';
	fclose(f);
	return gone;
}

static void clamp(uint8_t k[static WG_KEY_LEN])
{
	k[0] &= 248;
	k[31] = (k[31] & 127) | 64;
}

static void pub_of(uint8_t pub[static WG_KEY_LEN], uint8_t fill)
{
	uint8_t priv[WG_KEY_LEN];

	key_fill(priv, fill);
	clamp(priv);
	crypto_scalarmult_base(pub, priv);
}

static struct wg_device ns_dev(const char *ifname, struct wg_peer *peers, size_t n)
{
	struct wg_device d;

	memset(&d, 0, sizeof(d));
	strcpy(d.name, ifname);
	d.peers = peers;
	d.npeers = n;
	return d;
}

static void ns_peers_free(struct wg_peer *peers, size_t n)
{
	while (n--)
		free(peers[n].allowed);
}

/* Userspace device wgt0 with three peers, then updates, then removal. */
static void ns_test_device(const struct wg_backend *be)
{
	static const char *const aa[] = { "10.9.0.2/32", "fd09::2/128" };
	static const char *const ab[] = { "10.9.0.3/32", "192.168.30.0/24" };
	static const char *const ab2[] = { "10.9.0.33/32" };
	static const char *const ac[] = { "10.9.0.4/32" };
	struct wg_peer peers[3], upd[2];
	struct wg_device set, *dev = NULL;
	const struct wg_peer *a, *b, *c;
	uint8_t pub[WG_KEY_LEN];
	union wg_endpoint epa = endpoint("192.0.2.10", 51820), epb = endpoint("2001:db8::20", 51821);

	peers[0] = peer_new(0, WGPEER_HAS_PSK | WGPEER_HAS_ENDPOINT | WGPEER_REPLACE_ALLOWEDIPS, aa, 2);
	pub_of(peers[0].public_key, 0x21);
	key_fill(peers[0].preshared_key, 0x77);
	peers[0].endpoint = epa;
	peers[1] = peer_new(1, WGPEER_HAS_ENDPOINT | WGPEER_HAS_KEEPALIVE | WGPEER_REPLACE_ALLOWEDIPS, ab, 2);
	pub_of(peers[1].public_key, 0x22);
	peers[1].endpoint = epb;
	peers[1].keepalive = 25;
	peers[2] = peer_new(2, WGPEER_REPLACE_ALLOWEDIPS, ac, 1);
	pub_of(peers[2].public_key, 0x23);
	set = ns_dev("wgt0", peers, 3);
	key_fill(set.private_key, 0x10);
	clamp(set.private_key);
	set.listen_port = 51820;
	set.flags = WGDEV_HAS_PRIVATE_KEY | WGDEV_HAS_LISTEN_PORT;
	is_int(be->set(&set), 0, "userspace_set: key, port, 3 peers");

	is_int(be->get("wgt0", &dev), 0, "userspace_get: reads the device back");
	if (!dev)
		goto out;
	crypto_scalarmult_base(pub, set.private_key);
	ok(!memcmp(dev->private_key, set.private_key, WG_KEY_LEN) &&
	   !memcmp(dev->public_key, pub, WG_KEY_LEN), "userspace_get: private key, public key derived");
	is_int(dev->listen_port, 51820, "userspace_get: listen port");
	is_int(dev->npeers, 3, "userspace_get: 3 peers");
	a = peer_find(dev, peers[0].public_key);
	b = peer_find(dev, peers[1].public_key);
	c = peer_find(dev, peers[2].public_key);
	ok(a && !memcmp(a->preshared_key, peers[0].preshared_key, WG_KEY_LEN) && (a->flags & WGPEER_HAS_PSK) &&
	   endpoint_eq(&a->endpoint, &epa) && a->keepalive == 0 && allowed_eq(a, aa, 2),
	   "userspace_get: peer A (PSK, v4 endpoint, 2 allowed IPs)");
	ok(b && !(b->flags & WGPEER_HAS_PSK) && endpoint_eq(&b->endpoint, &epb) && b->keepalive == 25 &&
	   allowed_eq(b, ab, 2), "userspace_get: peer B (v6 endpoint, keepalive, 2 allowed IPs)");
	ok(c && !(c->flags & (WGPEER_HAS_ENDPOINT | WGPEER_HAS_PSK)) && allowed_eq(c, ac, 1),
	   "userspace_get: peer C (allowed IP only)");
	wgdev_free(dev);

	upd[0] = peer_new(0, WGPEER_UPDATE_ONLY | WGPEER_REPLACE_ALLOWEDIPS, ab2, 1);
	memcpy(upd[0].public_key, peers[1].public_key, WG_KEY_LEN);
	upd[1] = peer_new(0, WGPEER_UPDATE_ONLY, ac, 1);
	pub_of(upd[1].public_key, 0x24);
	set = ns_dev("wgt0", upd, 2);
	is_int(be->set(&set), 0, "userspace_update_only: B's allowed IPs, unknown D");
	is_int(be->get("wgt0", &dev), 0, "userspace_update_only: get");
	a = peer_find(dev, peers[0].public_key);
	b = peer_find(dev, peers[1].public_key);
	c = peer_find(dev, peers[2].public_key);
	ok(dev && dev->npeers == 3 && !peer_find(dev, upd[1].public_key), "userspace_update_only: D not created");
	ok(allowed_eq(b, ab2, 1) && b->keepalive == 25 && endpoint_eq(&b->endpoint, &epb),
	   "userspace_update_only: B's allowed IPs replaced, the rest kept");
	ok(a && allowed_eq(a, aa, 2) && (a->flags & WGPEER_HAS_PSK) && endpoint_eq(&a->endpoint, &epa) &&
	   allowed_eq(c, ac, 1), "userspace_update_only: A and C untouched");
	wgdev_free(dev);
	ns_peers_free(upd, 2);

	upd[0] = peer_new(0, WGPEER_UPDATE_ONLY | WGPEER_HAS_PSK, NULL, 0);
	memcpy(upd[0].public_key, peers[0].public_key, WG_KEY_LEN);
	upd[1] = peer_new(0, WGPEER_REMOVE, NULL, 0);
	memcpy(upd[1].public_key, peers[2].public_key, WG_KEY_LEN);
	set = ns_dev("wgt0", upd, 2);
	is_int(be->set(&set), 0, "userspace_remove: clear A's PSK, remove C");
	is_int(be->get("wgt0", &dev), 0, "userspace_remove: get");
	a = peer_find(dev, peers[0].public_key);
	ok(dev && dev->npeers == 2 && !peer_find(dev, peers[2].public_key) && peer_find(dev, peers[1].public_key),
	   "userspace_remove: C gone, A and B left");
	ok(a && !(a->flags & WGPEER_HAS_PSK) && allowed_eq(a, aa, 2), "userspace_remove: A's PSK cleared, IPs kept");
	ns_peers_free(upd, 2);
out:
	wgdev_free(dev);
	ns_peers_free(peers, 3);
}

/* rtnetlink on the TUN link wireguard-go made, and on a dummy link. */
static void ns_test_links(void)
{
	static const char *const want2[] = { "10.9.0.2/24", "fd09::1/64" };
	struct ipnet want[2], *addrs = NULL;
	struct nl_link l, *links = NULL;
	const char *kind;
	size_t n = 0, i;
	int ret, changed = -1, seen = 0;

	ret = nl_link_get("wgt0", &l);
	ok(ret == 0 && !strcmp(l.kind, "tun") && l.index > 0 && l.index == nl_link_index("wgt0"),
	   "nl_link_get: wgt0 is a tun link (kind '%s', index %d)", l.kind, l.index);
	ret = nl_link_list(&links, &n);
	for (i = 0; i < n; i++)
		seen |= (!strcmp(links[i].name, "lo") ? 1 : 0) | (!strcmp(links[i].name, "wgt0") ? 2 : 0);
	ok(ret == 0 && seen == 3, "nl_link_list: lo and wgt0 among %zu links", n);
	free(links);

	want[0] = cidr("10.9.0.1/24");
	ret = nl_addr_sync("wgt0", want, 1, &changed);
	ok(ret == 0 && changed == 1, "nl_addr_sync: 10.9.0.1/24 added (ret %d, changed %d)", ret, changed);
	ret = nl_addr_sync("wgt0", want, 1, &changed);
	ok(ret == 0 && changed == 0, "nl_addr_sync: again, nothing to do");
	/* Same subnet: the new address is a secondary of the old primary. */
	want[0] = cidr(want2[0]);
	want[1] = cidr(want2[1]);
	ret = nl_addr_sync("wgt0", want, 2, &changed);
	is_int(ret, 0, "nl_addr_sync: to 10.9.0.2/24 + fd09::1/64 (%d changes)", changed);
	ret = nl_addr_list("wgt0", &addrs, &n);
	for (i = 0, seen = 0; ret == 0 && i < n; i++) {
		char s[64];

		cidr_format(s, &addrs[i]);
		seen += !strcmp(s, want2[0]) || !strcmp(s, want2[1]) ? 1 : !strncmp(s, "fe80:", 5) ? 0 : 100;
	}
	ok(ret == 0 && seen == 2, "nl_addr_list: exactly the new addresses, the old one removed");
	free(addrs);
	is_int(nl_addr_add("wgt0", &want[0]), 0, "nl_addr_add: already present -> 0");
	want[0] = cidr("10.9.0.77/24");
	ok(nl_addr_del("wgt0", &want[0]) < 0, "nl_addr_del: absent address -> error");

	is_int(nl_link_set_up("wgt0", true), 0, "nl_link_set_up: up");
	is_int(nl_link_set_mtu("wgt0", 1380), 0, "nl_link_set_mtu: 1380");
	ret = nl_link_get("wgt0", &l);
	ok(ret == 0 && l.up && l.mtu == 1380, "nl_link_get: up, mtu %u", l.mtu);
	is_int(nl_link_set_up("wgt0", false), 0, "nl_link_set_up: down");
	ok(nl_link_get("wgt0", &l) == 0 && !l.up, "nl_link_get: down");

	is_int(nl_link_get("nosuch0", &l), -ENODEV, "nl_link_get: absent -> -ENODEV");
	is_int(nl_link_index("nosuch0"), -ENODEV, "nl_link_index: absent -> -ENODEV");
	is_int(nl_link_set_mtu("nosuch0", 1400), -ENODEV, "nl_link_set_mtu: absent -> -ENODEV");
	is_int(nl_link_delete("nosuch0"), -ENODEV, "nl_link_delete: absent -> -ENODEV");
	is_int(nl_link_index(""), -EINVAL, "nl_link_index: empty name -> -EINVAL");

	ret = nl_link_create("x", "wireguard");
	ok(ret < 0, "nl_link_create: kind wireguard without the module fails (%d, %s)", ret, strerror(-ret));
	printf("# hint for it: %s\n", nl_error_hint(ret));
	/* dummy when the module is there, else veth (always built in here). */
	kind = "dummy";
	ret = nl_link_create("dum0", kind);
	if (ret == -EOPNOTSUPP)
		ret = nl_link_create("dum0", kind = "veth");
	is_int(ret, 0, "nl_link_create: %s dum0", kind);
	ok(nl_link_get("dum0", &l) == 0 && !strcmp(l.kind, kind), "nl_link_get: dum0 is a %s", kind);
	is_int(nl_link_create("dum0", kind), -EEXIST, "nl_link_create: again -> -EEXIST");
	is_int(nl_link_delete("dum0"), 0, "nl_link_delete: dum0");
	is_int(nl_link_get("dum0", &l), -ENODEV, "nl_link_delete: dum0 gone");
}

/* 1,000 peers, one allowed IP each, through wgt1. */
static void ns_test_many(const struct wg_backend *be)
{
	struct wg_device set, *dev = NULL;
	size_t i, nallowed = 0;
	double t0, ms;
	int ret;

	is_int(be->create("wgt1"), 0, "userspace_1000: create wgt1");
	set = ns_dev("wgt1", calloc(1000, sizeof(struct wg_peer)), 1000);
	for (i = 0; i < set.npeers; i++) {
		char s[32];

		snprintf(s, sizeof(s), "10.100.%zu.%zu/32", i >> 8, i & 255);
		set.peers[i] = peer_new((uint32_t)i, WGPEER_REPLACE_ALLOWEDIPS | (i % 10 ? 0 : WGPEER_HAS_PSK),
					(const char *const[]){ s }, 1);
		key_fill(set.peers[i].preshared_key, (uint8_t)i);
	}
	t0 = cpu_ms();
	ret = be->set(&set);
	if (!ret)
		ret = be->get("wgt1", &dev);
	ms = cpu_ms() - t0;
	is_int(ret, 0, "userspace_1000: set and get (%.1f ms of our CPU)", ms);
	for (i = 0; dev && i < dev->npeers; i++)
		nallowed += dev->peers[i].nallowed;
	ok(dev && dev->npeers == 1000 && nallowed == 1000, "userspace_1000: 1000 peers, 1000 allowed IPs back");
	ok(dev && allowed_eq(peer_find(dev, set.peers[999].public_key), (const char *const[]){ "10.100.3.231/32" }, 1),
	   "userspace_1000: peer 999 has its allowed IP");
	wgdev_free(dev);
	ns_peers_free(set.peers, set.npeers);
	free(set.peers);
	is_int(be->destroy("wgt1"), 0, "userspace_1000: destroy wgt1");
}

static void ns_tests(void)
{
	const struct wg_backend *be = uapi_backend(wg_binary(), "/var/run/wireguard");
	struct wg_device *dev = NULL;
	int fd, ret;
	pid_t pid;

	is_int(be->exists("wgt0"), 0, "userspace_exists: not before create");
	is_int(be->get("wgt0", &dev), -ENODEV, "userspace_get: absent -> -ENODEV");
	is_int(be->destroy("wgt0"), -ENODEV, "userspace_destroy: absent -> -ENODEV");
	ret = be->create("wgt0");
	is_int(ret, 0, "userspace_create: wgt0 (%s)", strerror(-ret));
	if (ret)
		return;
	is_int(be->exists("wgt0"), 1, "userspace_exists: after create");
	is_int(be->create("wgt0"), -EEXIST, "userspace_create: again -> -EEXIST");
	pid = ns_sock_pid("wgt0");
	ok(pid > 0 && getsid(pid) > 0 && getsid(pid) != getsid(0),
	   "userspace_create: wireguard-go %d runs in a session of its own", (int)pid);

	ns_test_device(be);
	ns_test_links();
	ns_test_many(be);

	is_int(be->destroy("wgt0"), 0, "userspace_destroy: wgt0");
	is_int(be->exists("wgt0"), 0, "userspace_destroy: exists -> 0");
	ok(pid > 0 && ns_proc_gone(pid), "userspace_destroy: wireguard-go %d is gone", (int)pid);
	ok(access("/var/run/wireguard/wgt0.sock", F_OK) < 0, "userspace_destroy: no socket file left");
	is_int(nl_link_index("wgt0"), -ENODEV, "userspace_destroy: no link left");
	is_int(be->destroy("wgt0"), -ENODEV, "userspace_destroy: again -> -ENODEV");

	/* A socket file nobody listens on (an implementation that crashed). */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sun = { .sun_family = AF_UNIX, .sun_path = "/var/run/wireguard/wgt3.sock" };

		ret = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	}
	if (fd >= 0)
		close(fd);
	ok(ret == 0 && be->exists("wgt3") == 0, "userspace_exists: stale socket -> 0");
	is_int(be->destroy("wgt3"), 0, "userspace_destroy: removes a stale socket");
	ok(access("/var/run/wireguard/wgt3.sock", F_OK) < 0, "userspace_destroy: stale socket gone");
}

struct ns_report {
	unsigned long long dev, ino;    /* the test netns, 0 if setup failed */
	int tap_n, tap_failed;
};

/* Child: enters a new netns and mount namespace (tmpfs on the UAPI
 * directory), runs ns_tests, reports through wfd. Never returns. */
static void ns_child(int wfd)
{
	struct ns_report rep = { 0 };
	struct stat st;

	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    (mkdir("/var/run/wireguard", 0755) < 0 && errno != EEXIST) ||
	    mount("tmpfs", "/var/run/wireguard", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0 ||
	    stat("/proc/self/ns/net", &st) < 0) {
		ok(0, "namespace setup: %s", strerror(errno));
	} else {
		rep.dev = st.st_dev;
		rep.ino = st.st_ino;
		if (write(wfd, &rep, sizeof(rep)) != sizeof(rep))
			exit(1);
		ns_tests();
	}
	rep.tap_n = tap_n;
	rep.tap_failed = tap_failed;
	if (write(wfd, &rep, sizeof(rep)) != sizeof(rep))
		exit(1);
	exit(0);
}

/* SIGKILLs every process left in the test netns (wireguard-go after a
 * failure) so the namespace goes away with them. */
static int ns_kill_leftovers(const struct ns_report *ns)
{
	char path[300];
	struct dirent *de;
	struct stat st;
	int killed = 0;
	DIR *d = opendir("/proc");

	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
		if (stat(path, &st) == 0 && st.st_dev == ns->dev && st.st_ino == ns->ino &&
		    kill((pid_t)atoi(de->d_name), SIGKILL) == 0)
			killed++;
	}
	if (d)
		closedir(d);
	return killed;
}

static void test_namespace(void)
{
	struct ns_report rep = { 0 }, ns = { 0 };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old[3];
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	int pfd[2], status = 0, got;
	size_t i;
	pid_t pid;

	if (geteuid() != 0) {
		ok(1, "# SKIP namespace tests: not root");
		return;
	}
	if (access(wg_binary(), X_OK) < 0 || access("/dev/net/tun", R_OK | W_OK) < 0) {
		ok(1, "# SKIP namespace tests: no %s or /dev/net/tun", wg_binary());
		return;
	}
	if (pipe(pfd) < 0) {
		ok(0, "pipe: %s", strerror(errno));
		return;
	}
	/* Survive ^C long enough to clean the namespace up. */
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &ign, &old[i]);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < ARRAY_SIZE(sigs); i++)
			sigaction(sigs[i], &old[i], NULL);
		close(pfd[0]);
		ns_child(pfd[1]);
	}
	close(pfd[1]);
	got = pid > 0 ? (int)read(pfd[0], &ns, sizeof(ns)) : 0;
	if (got == (int)sizeof(ns) && ns.ino)
		got = (int)read(pfd[0], &rep, sizeof(rep));
	else
		rep = ns;
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	close(pfd[0]);
	if (ns.ino && (i = (size_t)ns_kill_leftovers(&ns)))
		printf("# killed %zu process(es) left in the test namespace\n", i);
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &old[i], NULL);
	if (got != (int)sizeof(rep) || !rep.tap_n) {
		printf("Bail out! namespace tests died (wait status %d)\n", status);
		tap_failed++;
		return;
	}
	tap_n = rep.tap_n;
	tap_failed = rep.tap_failed;
}

int main(void)
{
	if (sodium_init() < 0)
		skip_all("libsodium cannot start");
	test_build_set();
	test_build_set_large();
	test_parse_get();
	test_parse_errno();
	test_parse_malformed();
	test_parse_large();
	test_hints();
	test_fake_socket();
	test_namespace();
	return done_testing();
}
