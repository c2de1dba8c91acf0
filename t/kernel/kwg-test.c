/* SPDX-License-Identifier: MIT */
/*
 * The kernel backend against real kernel WireGuard. Runs as root inside the
 * qemu guest that t/90-kernel.sh boots (Debian's kernel, wireguard.ko
 * loaded). Never run it on a host: it creates and deletes interfaces and
 * writes the database it is given.
 *
 *   kwg-test                    the nl-wg.c scenario below; prints TAP
 *   kwg-test client CONFIG NETWORK PEER IFNAME ENDPOINT
 *                               makes IFNAME (in the current network
 *                               namespace) the WireGuard client of peer row
 *                               PEER of network NETWORK, as its downloaded
 *                               .conf would: the peer's own keys from the DB,
 *                               the server at ENDPOINT (IPv4:port), the whole
 *                               subnet through the tunnel; prints the peer's
 *                               public key
 *   kwg-test enable CONFIG NETWORK PEER 0|1
 *                               sets the row's enabled column as the API
 *                               would (the guest has no sqlite3); prints the
 *                               peer's public key
 * The two helpers serve t/kernel/rec-test, which runs the real reconciler.
 *
 * The scenario:
 *   init netns: wg0 10.9.0.1/24, UDP 51820 ─┐ both sockets stay in the init
 *   netns "peer": wg1 10.9.0.2/24, UDP 51821 ┘ netns (wg1 was created there)
 *
 * wg1 is created next to wg0 and then moved into a namespace of its own,
 * so the two talk over the init namespace's loopback while their tunnel
 * addresses live apart: a ping from one to the other must cross WireGuard.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sodium.h>

#include "db.h"
#include "ipnet.h"
#include "keys.h"
#include "model.h"
#include "nl-link.h"
#include "nl-wg.h"
#include "startup.h"
#include "tap.h"

#define NPEERS 2000
#define NWIDE 5000              /* allowed IPs of one peer: several messages each way */

static const struct wg_backend *wg;
static int ns_init = -1, ns_peer = -1;

/* ---- helpers ------------------------------------------------------------------ */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A clamped private key from a seed byte and its public key. */
static void keypair(uint8_t priv[static WG_KEY_LEN], uint8_t pub[static WG_KEY_LEN], uint8_t seed)
{
	memset(priv, seed, WG_KEY_LEN);
	priv[0] &= 248;
	priv[31] = (uint8_t)((priv[31] & 127) | 64);
	crypto_scalarmult_base(pub, priv);
}

static struct ipnet v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, unsigned prefix)
{
	struct ipnet n = { .family = AF_INET, .addr = { a, b, c, d }, .prefix = prefix };

	return n;
}

static union wg_endpoint loopback(uint16_t port)
{
	union wg_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	ep.in.sin_family = AF_INET;
	ep.in.sin_port = htons(port);
	ep.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return ep;
}

static struct wg_device *dev_new(const char *name)
{
	struct wg_device *dev = calloc(1, sizeof(*dev));

	snprintf(dev->name, sizeof(dev->name), "%s", name);
	return dev;
}

static struct wg_peer *peer_add(struct wg_device *dev, const uint8_t key[static WG_KEY_LEN], unsigned flags)
{
	struct wg_peer *p = wgdev_peer_append(dev);

	memcpy(p->public_key, key, WG_KEY_LEN);
	p->flags = flags;
	return p;
}

static const struct wg_peer *peer_find(const struct wg_device *dev, const uint8_t key[static WG_KEY_LEN])
{
	for (size_t i = 0; dev && i < dev->npeers; i++)
		if (!memcmp(dev->peers[i].public_key, key, WG_KEY_LEN))
			return &dev->peers[i];
	return NULL;
}

/* The distinct public key of bulk peer i (any 32 bytes do for a peer). */
static void bulk_key(uint8_t key[static WG_KEY_LEN], uint32_t i)
{
	memset(key, 0xb0, WG_KEY_LEN);
	memcpy(key, &i, sizeof(i));
}

/* Runs argv (a busybox applet) with its stdout discarded and returns its
 * exit status, -1 if it could not run. */
static int run(char *const argv[])
{
	int status, null;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int ping(const char *addr)
{
	char *argv[] = { "/bin/ping", "-c", "2", "-w", "20", (char *)addr, NULL };

	return run(argv);
}

/* Moves ifname into the namespace of nsfd (RTM_NEWLINK + IFLA_NET_NS_FD):
 * nl-link.c has no use for it, only this test does. 0 or -errno. */
static int link_set_netns(const char *ifname, int nsfd)
{
	_Alignas(struct nlmsghdr) char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	ssize_t n;
	int ret = 0;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = 1;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)nsfd);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ||
	    (n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) < 0 ||
	    mnl_cb_run(buf, (size_t)n, 1, mnl_socket_get_portid(nl), NULL, NULL) < 0)
		ret = -errno;
out:
	if (nl)
		mnl_socket_close(nl);
	return ret;
}

static bool enter(int nsfd)
{
	return setns(nsfd, CLONE_NEWNET) == 0;
}

/* ---- the scenario -------------------------------------------------------------- */

static uint8_t priv0[WG_KEY_LEN], pub0[WG_KEY_LEN], priv1[WG_KEY_LEN], pub1[WG_KEY_LEN];
static uint8_t psk[WG_KEY_LEN];

/* wg0 and wg1 peered with each other over 127.0.0.1. */
static void test_pair(void)
{
	struct wg_device *d0 = dev_new("wg0"), *d1 = dev_new("wg1");
	struct ipnet a0 = v4(10, 9, 0, 1, 24), a1 = v4(10, 9, 0, 2, 24);
	struct wg_peer *p;
	double t0;

	keypair(priv0, pub0, 0x10);
	keypair(priv1, pub1, 0x20);
	memset(psk, 0x5c, sizeof(psk));
	is_int(wg->create("wg0"), 0, "create wg0");
	is_int(wg->create("wg0"), -EEXIST, "create wg0 again: -EEXIST");
	is_int(wg->exists("wg0"), 1, "exists(wg0)");
	is_int(wg->exists("lo"), 0, "exists(lo): not WireGuard");
	is_int(wg->create("wg1"), 0, "create wg1");

	memcpy(d0->private_key, priv0, WG_KEY_LEN);
	d0->listen_port = 51820;
	d0->fwmark = 0x51;
	d0->flags = WGDEV_HAS_PRIVATE_KEY | WGDEV_HAS_LISTEN_PORT | WGDEV_HAS_FWMARK;
	p = peer_add(d0, pub1, WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_PSK | WGPEER_HAS_ENDPOINT);
	memcpy(p->preshared_key, psk, WG_KEY_LEN);
	p->endpoint = loopback(51821);
	*wgpeer_allowed_append(p) = v4(10, 9, 0, 2, 32);
	t0 = now_ms();
	is_int(wg->set(d0), 0, "set wg0: key, port, fwmark, peer wg1");
	printf("# kernel: set of a device with one peer %.1f ms\n", now_ms() - t0);

	memcpy(d1->private_key, priv1, WG_KEY_LEN);
	d1->listen_port = 51821;
	d1->flags = WGDEV_HAS_PRIVATE_KEY | WGDEV_HAS_LISTEN_PORT;
	p = peer_add(d1, pub0, WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_PSK | WGPEER_HAS_ENDPOINT |
		     WGPEER_HAS_KEEPALIVE);
	memcpy(p->preshared_key, psk, WG_KEY_LEN);
	p->endpoint = loopback(51820);
	p->keepalive = 25;
	*wgpeer_allowed_append(p) = v4(10, 9, 0, 1, 32);
	is_int(wg->set(d1), 0, "set wg1: key, port, peer wg0 with keepalive");

	is_int(link_set_netns("wg1", ns_peer), 0, "move wg1 into its own namespace");
	is_int(nl_addr_add("wg0", &a0), 0, "address on wg0");
	is_int(nl_link_set_up("wg0", true), 0, "wg0 up");
	ok(enter(ns_peer), "enter the peer namespace");
	is_int(wg->exists("wg1"), 1, "exists(wg1) over there");
	is_int(nl_addr_add("wg1", &a1), 0, "address on wg1");
	is_int(nl_link_set_up("wg1", true), 0, "wg1 up");
	ok(enter(ns_init), "back in the init namespace");
	t0 = now_ms();
	is_int(ping("10.9.0.2"), 0, "ping wg1 from wg0 through the tunnel");
	printf("# kernel: first ping (handshake included) %.0f ms\n", now_ms() - t0);
	fflush(stdout);
	wgdev_free(d0);
	wgdev_free(d1);
}

static void test_get_pair(void)
{
	struct wg_device *dev = NULL;
	const struct wg_peer *p;
	char ep[INET_ADDRSTRLEN] = "";

	is_int(wg->get("wg0", &dev), 0, "get wg0");
	ok(dev && !strcmp(dev->name, "wg0") && !memcmp(dev->private_key, priv0, WG_KEY_LEN) &&
	   !memcmp(dev->public_key, pub0, WG_KEY_LEN), "  name, private and public key");
	ok(dev && dev->listen_port == 51820 && dev->fwmark == 0x51 &&
	   dev->flags == (WGDEV_HAS_PRIVATE_KEY | WGDEV_HAS_LISTEN_PORT | WGDEV_HAS_FWMARK),
	   "  port, fwmark, flags");
	p = peer_find(dev, pub1);
	ok(dev && dev->npeers == 1 && p, "  one peer: wg1");
	if (p)
		inet_ntop(AF_INET, &p->endpoint.in.sin_addr, ep, sizeof(ep));
	ok(p && (p->flags & WGPEER_HAS_PSK) && !memcmp(p->preshared_key, psk, WG_KEY_LEN) &&
	   !(p->flags & WGPEER_HAS_KEEPALIVE), "  PSK, no keepalive");
	ok(p && (p->flags & WGPEER_HAS_ENDPOINT) && !strcmp(ep, "127.0.0.1") &&
	   ntohs(p->endpoint.in.sin_port) == 51821, "  endpoint 127.0.0.1:51821");
	ok(p && p->nallowed == 1 && p->allowed[0].prefix == 32 && p->allowed[0].addr[3] == 2,
	   "  allowed IPs 10.9.0.2/32");
	ok(p && p->last_handshake > 1600000000 && p->rx_bytes > 0 && p->tx_bytes > 0,
	   "  handshake and traffic counted");
	wgdev_free(dev);
	ok(enter(ns_peer), "enter the peer namespace");
	is_int(wg->get("wg1", &dev), 0, "get wg1");
	p = peer_find(dev, pub0);
	ok(p && p->keepalive == 25 && (p->flags & WGPEER_HAS_KEEPALIVE) && p->last_handshake > 0,
	   "  wg1's peer: keepalive 25, handshake done");
	wgdev_free(dev);
	ok(enter(ns_init), "back in the init namespace");
	is_int(wg->get("lo", &dev), -EOPNOTSUPP, "get(lo): -EOPNOTSUPP");
	is_int(wg->get("wg9", &dev), -ENODEV, "get(wg9): -ENODEV");
}

/* UPDATE_ONLY and REPLACE_ALLOWEDIPS as the kernel applies them. */
static void test_peer_flags(void)
{
	struct wg_device *d = dev_new("wg0"), *got = NULL;
	uint8_t ghost[WG_KEY_LEN];
	struct wg_peer *p;

	bulk_key(ghost, 999999);
	peer_add(d, ghost, WGPEER_UPDATE_ONLY);
	p = peer_add(d, pub1, WGPEER_UPDATE_ONLY);
	*wgpeer_allowed_append(p) = v4(10, 9, 1, 0, 24);
	is_int(wg->set(d), 0, "set: UPDATE_ONLY of an absent peer, extra IP for wg1");
	wg->get("wg0", &got);
	ok(got && got->npeers == 1 && got->peers[0].nallowed == 2, "  no peer created, wg1 has 2 allowed IPs");
	wgdev_free(got);
	wgdev_free(d);

	d = dev_new("wg0");
	p = peer_add(d, pub1, WGPEER_UPDATE_ONLY | WGPEER_REPLACE_ALLOWEDIPS);
	*wgpeer_allowed_append(p) = v4(10, 9, 0, 2, 32);
	is_int(wg->set(d), 0, "set: REPLACE_ALLOWEDIPS back to 10.9.0.2/32");
	wg->get("wg0", &got);
	ok(got && got->npeers == 1 && got->peers[0].nallowed == 1, "  wg1 has 1 allowed IP again");
	wgdev_free(got);
	wgdev_free(d);
}

/* Many peers and a wide one: several messages each way. */
static void test_bulk(void)
{
	struct wg_device *d = dev_new("wg0"), *got = NULL;
	uint8_t key[WG_KEY_LEN];
	struct wg_peer *p;
	const struct wg_peer *w;
	double t0, t_set, t_get, t_rm;
	size_t i, bad = 0;

	for (i = 0; i < NPEERS; i++) {
		bulk_key(key, (uint32_t)i);
		p = peer_add(d, key, WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_KEEPALIVE);
		p->keepalive = 0;
		*wgpeer_allowed_append(p) = v4(10, 100 + (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 32);
	}
	bulk_key(key, NPEERS);
	p = peer_add(d, key, WGPEER_REPLACE_ALLOWEDIPS);
	for (i = 0; i < NWIDE; i++)
		*wgpeer_allowed_append(p) = v4(10, 200, (uint8_t)(i >> 8), (uint8_t)i, 32);
	t0 = now_ms();
	is_int(wg->set(d), 0, "set %d peers plus one with %d allowed IPs", NPEERS, NWIDE);
	t_set = now_ms() - t0;
	t0 = now_ms();
	is_int(wg->get("wg0", &got), 0, "get them back");
	t_get = now_ms() - t0;
	ok(got && got->npeers == NPEERS + 2, "  %d peers (%zu)", NPEERS + 2, got ? got->npeers : 0);
	for (i = 0; got && i < NPEERS; i++) {
		bulk_key(key, (uint32_t)i);
		w = peer_find(got, key);
		bad += !w || w->nallowed != 1 || w->allowed[0].addr[3] != (uint8_t)i;
	}
	ok(got && bad == 0, "  every bulk peer with its allowed IP (%zu wrong)", bad);
	bulk_key(key, NPEERS);
	w = peer_find(got, key);
	ok(w && w->nallowed == NWIDE, "  the wide peer with all %d allowed IPs, merged across parts (%zu)",
	   NWIDE, w ? w->nallowed : 0);
	wgdev_free(got);
	got = NULL;

	for (i = 0; i < d->npeers; i++)
		d->peers[i].flags = WGPEER_REMOVE;
	t0 = now_ms();
	is_int(wg->set(d), 0, "remove them all");
	t_rm = now_ms() - t0;
	wg->get("wg0", &got);
	ok(got && got->npeers == 1 && !memcmp(got->peers[0].public_key, pub1, WG_KEY_LEN),
	   "  only wg1 is left");
	wgdev_free(got);
	is_int(ping("10.9.0.2"), 0, "the wg1 tunnel still works");
	printf("# kernel: set %d peers + 1 x %d allowed IPs: %.0f ms; get: %.0f ms; remove: %.0f ms\n",
	       NPEERS, NWIDE, t_set, t_get, t_rm);
	fflush(stdout);
	wgdev_free(d);
}

static void test_teardown(void)
{
	struct wg_device *got = NULL;

	is_int(wg->destroy("lo"), -EOPNOTSUPP, "destroy(lo) refused");
	is_int(wg->destroy("wg0"), 0, "destroy wg0");
	is_int(wg->exists("wg0"), 0, "wg0 is gone");
	is_int(wg->destroy("wg0"), -ENODEV, "destroy wg0 again: -ENODEV");
	is_int(wg->get("wg0", &got), -ENODEV, "get wg0: -ENODEV");
	ok(enter(ns_peer), "enter the peer namespace");
	is_int(wg->destroy("wg1"), 0, "destroy wg1");
	ok(enter(ns_init), "back in the init namespace");
}

/* ---- helpers for t/kernel/rec-test -------------------------------------------- */

/* What both helpers open: the configuration, master key and database. */
struct dbctx {
	struct config cfg;
	struct master_keys mk;
	sqlite3 *db;
};

/* 0, or -1 after printing why. */
static int dbctx_open(struct dbctx *c, const char *config, int flags)
{
	struct startup_flags f = STARTUP_FLAGS_INIT;
	int err;

	f.config = config;
	if (crypto_init() < 0 || startup_config("kwg-test", &c->cfg, &f) < 0)
		return -1;
	if ((err = master_load(c->cfg.master_key_file, &c->mk)) < 0 ||
	    (err = db_open(c->cfg.db_path, flags, &c->db)) < 0) {
		fprintf(stderr, "kwg-test: %s: %s\n", c->cfg.db_path, strerror(-err));
		return -1;
	}
	return 0;
}

static void dbctx_close(struct dbctx *c)
{
	db_close(c->db);
	master_wipe(&c->mk);
}

/* A stored (sealed) key into key. 0 or -errno. */
static int open_key(const struct dbctx *c, const char *stored, uint8_t key[static WG_KEY_LEN])
{
	char *plain = NULL;
	int err = secret_open(c->mk.enc, stored, &plain);

	if (err == 0) {
		err = key_from_b64(key, plain);
		sodium_memzero(plain, strlen(plain));
		free(plain);
	}
	return err;
}

/* "a.b.c.d:port" into ep. 0 or -EINVAL. */
static int endpoint_parse(union wg_endpoint *ep, const char *s)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	memset(ep, 0, sizeof(*ep));
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535 || inet_pton(AF_INET, host, &ep->in.sin_addr) != 1)
		return -EINVAL;
	ep->in.sin_family = AF_INET;
	ep->in.sin_port = htons((uint16_t)port);
	return 0;
}

/* `client CONFIG NETWORK PEER IFNAME ENDPOINT` (argv from CONFIG on): the
 * process's exit status. */
static int client_mode(char **argv)
{
	static struct dbctx c;
	struct network n = { .private_key = NULL };
	struct peer p = { .private_key = NULL };
	struct wg_device *dev = dev_new(argv[3]);
	struct ipnet subnet, *mine = NULL;
	struct wg_peer *server;
	uint8_t server_key[WG_KEY_LEN];
	bool has_psk;
	size_t nmine = 0;
	const char *why = NULL;
	int err, ret = 1;

	if (dbctx_open(&c, argv[0], DB_RDONLY) < 0)
		goto out;
	if (model_network_get(c.db, strtoll(argv[1], NULL, 10), &n) != 1 ||
	    model_peer_get(c.db, n.id, strtoll(argv[2], NULL, 10), &p) != 1) {
		why = "no such network or peer";
		goto out;
	}
	/* The client's address is its first allowed IP, with the subnet's
	 * prefix so that the whole subnet is reached through the tunnel. */
	if (ipnet_parse_cidr(&subnet, n.subnet) < 0 ||
	    ipnet_parse_list(p.allowed_ips, &mine, &nmine, NULL) < 0 || nmine == 0) {
		why = "bad subnet or allowed IPs";
		goto out;
	}
	mine[0].prefix = subnet.prefix;
	ipnet_normalize(&subnet);
	has_psk = p.preshared_key && p.preshared_key[0];
	if (open_key(&c, p.private_key, dev->private_key) < 0 ||
	    key_from_b64(server_key, n.public_key) < 0) {
		why = "cannot decrypt the peer's private key or read the server's public key";
		goto out;
	}
	dev->flags = WGDEV_HAS_PRIVATE_KEY;
	server = peer_add(dev, server_key, WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_ENDPOINT |
			  (has_psk ? WGPEER_HAS_PSK : 0));
	if ((has_psk && open_key(&c, p.preshared_key, server->preshared_key) < 0) ||
	    endpoint_parse(&server->endpoint, argv[4]) < 0) {
		why = "bad preshared key or endpoint";
		goto out;
	}
	*wgpeer_allowed_append(server) = subnet;
	if ((err = wg->create(dev->name)) < 0 || (err = wg->set(dev)) < 0 ||
	    (err = nl_addr_add(dev->name, &mine[0])) < 0 || (err = nl_link_set_up(dev->name, true)) < 0) {
		why = strerror(-err);
		goto out;
	}
	printf("%s\n", p.public_key);
	ret = 0;
out:
	if (why)
		fprintf(stderr, "kwg-test client: %s\n", why);
	free(mine);
	wgdev_free(dev);        /* wipes the keys (wgdev.h) */
	peer_free(&p);
	network_free(&n);
	dbctx_close(&c);
	return ret;
}

/* `enable CONFIG NETWORK PEER 0|1` (argv from CONFIG on): the exit status. */
static int enable_mode(char **argv)
{
	static struct dbctx c;
	struct peer p = { .private_key = NULL };
	int ret = 1;

	if (dbctx_open(&c, argv[0], DB_RDWR) < 0)
		goto out;
	if (model_peer_get(c.db, strtoll(argv[1], NULL, 10), strtoll(argv[2], NULL, 10), &p) != 1) {
		fprintf(stderr, "kwg-test enable: no such peer\n");
		goto out;
	}
	p.enabled = strcmp(argv[3], "0") != 0;
	if (model_peer_update(c.db, &p, false) != 1) {
		fprintf(stderr, "kwg-test enable: update failed\n");
		goto out;
	}
	printf("%s\n", p.public_key);
	ret = 0;
out:
	peer_free(&p);
	dbctx_close(&c);
	return ret;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		skip_all("libsodium cannot start");
	if (getpid() != 1 && !getenv("KWG_IN_GUEST"))
		skip_all("runs only inside the t/90-kernel.sh guest");
	wg = nlwg_backend();
	if (argc == 7 && !strcmp(argv[1], "client"))
		return client_mode(argv + 2);
	if (argc == 6 && !strcmp(argv[1], "enable"))
		return enable_mode(argv + 2);
	if (argc != 1) {
		fputs("usage: kwg-test [client CONFIG NETWORK PEER IFNAME ENDPOINT | "
		      "enable CONFIG NETWORK PEER 0|1]\n", stderr);
		return 2;
	}
	if (!ok(nlwg_available() == 1, "genetlink family \"wireguard\" is there"))
		return done_testing();
	is_str(wg->device_type, "Linux kernel", "device_type");
	nl_link_set_up("lo", true);
	ns_init = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns_init < 0 || unshare(CLONE_NEWNET) < 0 ||
	    (ns_peer = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0 || !enter(ns_init)) {
		ok(0, "network namespaces: %s", strerror(errno));
		return done_testing();
	}
	test_pair();
	test_get_pair();
	test_peer_flags();
	test_bulk();
	test_teardown();
	return done_testing();
}
