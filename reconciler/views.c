/* SPDX-License-Identifier: MIT */
/*
 * What the reconciler shows without changing anything, for the API and the
 * CLI: live device status, WireGuard interfaces to import (detect), UDP
 * port checks (feat-007) and the routes into WireGuard interfaces
 * (feat-009).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "ipnet.h"
#include "log.h"
#include "model.h"
#include "nl-link.h"
#include "reconciler.h"

/* ---- status and detect ---- */

static void endpoint_str(char out[INET6_ADDRSTRLEN + 8], const union wg_endpoint *ep)
{
	char host[INET6_ADDRSTRLEN];

	out[0] = '\0';
	if (ep->addr.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->in.sin_addr, host, sizeof host);
		snprintf(out, INET6_ADDRSTRLEN + 8, "%s:%u", host, ntohs(ep->in.sin_port));
	} else if (ep->addr.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->in6.sin6_addr, host, sizeof host);
		snprintf(out, INET6_ADDRSTRLEN + 8, "[%s]:%u", host, ntohs(ep->in6.sin6_port));
	}
}

static json_t *peer_status(const struct wg_peer *p)
{
	char key[WG_KEY_B64_LEN + 1], ep[INET6_ADDRSTRLEN + 8], ip[IPNET_STRLEN];
	json_t *o;
	char *ips = calloc(1, p->nallowed * (IPNET_STRLEN + 2) + 1);

	key_to_b64(key, p->public_key);
	endpoint_str(ep, &p->endpoint);
	for (size_t i = 0; ips && i < p->nallowed; i++) {
		ipnet_format(ip, &p->allowed[i]);
		if (i)
			strcat(ips, ", ");
		strcat(ips, ip);
	}
	o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:i}", "public_key", key, "endpoint", ep,
		      "last_handshake", (json_int_t)p->last_handshake, "rx_bytes",
		      (json_int_t)p->rx_bytes, "tx_bytes", (json_int_t)p->tx_bytes,
		      "allowed_ips", ips ? ips : "", "persistent_keepalive", p->keepalive);
	free(ips);
	return o;
}

/* The 64-bit link counters of feat-003. */
static json_t *link_stats(const struct nl_link *l)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			 "rx_bytes", (json_int_t)l->rx_bytes, "tx_bytes", (json_int_t)l->tx_bytes,
			 "rx_packets", (json_int_t)l->rx_packets, "tx_packets", (json_int_t)l->tx_packets,
			 "rx_errors", (json_int_t)l->rx_errors, "tx_errors", (json_int_t)l->tx_errors,
			 "rx_dropped", (json_int_t)l->rx_dropped, "tx_dropped", (json_int_t)l->tx_dropped,
			 "multicast", (json_int_t)l->multicast);
}

static json_t *iface_status(struct rec *r, const char *iface)
{
	struct wg_device *dev = NULL;
	struct nl_link link;
	char pub[WG_KEY_B64_LEN + 1];
	json_t *peers, *o;

	if (r->wg->get(iface, &dev) < 0)
		return NULL;
	peers = json_array();
	for (size_t i = 0; i < dev->npeers; i++)
		json_array_append_new(peers, peer_status(&dev->peers[i]));
	key_to_b64(pub, dev->public_key);
	if (nl_link_get(iface, &link) < 0)
		memset(&link, 0, sizeof link);
	o = json_pack("{s:s,s:b,s:i,s:s,s:s,s:i,s:o,s:o}", "name", iface, "up", link.up,
		      "listen_port", dev->listen_port, "public_key", pub,
		      "device_type", r->wg->device_type, "mtu", (int)link.mtu,
		      "interface_stats", link_stats(&link), "peers", peers);
	wgdev_free(dev);
	return o;
}

json_t *rec_status(struct rec *r, const char *iface)
{
	json_t *list = json_array();
	struct network *v;
	size_t n;

	if (iface) {
		json_t *o = iface_status(r, iface);
		if (o)
			json_array_append_new(list, o);
		return json_pack("{s:o}", "interfaces", list);
	}
	if (model_network_list(r->db, &v, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			json_t *o = v[i].enabled ? iface_status(r, v[i].iface) : NULL;
			if (o)
				json_array_append_new(list, o);
		}
		networks_free(v, n);
	}
	return json_pack("{s:o}", "interfaces", list);
}

json_t *rec_detect(struct rec *r)
{
	struct nl_link *links = NULL;
	size_t n = 0;
	json_t *out = json_array();

	if (nl_link_list(&links, &n) < 0)
		return out;
	for (size_t i = 0; i < n; i++) {
		bool kernel = strcmp(links[i].kind, "wireguard") == 0;

		if (!kernel && !(strcmp(links[i].kind, "tun") == 0 && r->wg->exists(links[i].name)))
			continue;
		json_array_append_new(out, json_pack("{s:s,s:s,s:b}", "name", links[i].name,
			"device_type", kernel ? "Linux kernel" : "userspace", "up", links[i].up));
	}
	free(links);
	return out;
}

/* ---- port check (feat-007) ---- */

/* 1 when binding UDP port on the wildcard address of family fails with
 * EADDRINUSE, 0 when free, <0 on other errors. */
static int udp_port_taken(int family, int port)
{
	union wg_endpoint a = { 0 };
	socklen_t len;
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	if (family == AF_INET6) {
		int only = 1;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof only);
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons((uint16_t)port);
		len = sizeof a.in6;
	} else {
		a.in.sin_family = AF_INET;
		a.in.sin_port = htons((uint16_t)port);
		len = sizeof a.in;
	}
	if (bind(fd, &a.addr, len) < 0)
		ret = errno == EADDRINUSE ? 1 : -errno;
	close(fd);
	return ret;
}

json_t *rec_check_port(struct rec *r, int port)
{
	struct network *v;
	size_t n;
	const char *owner = "";
	char iface[IFNAMSIZ] = "";
	bool in_use = udp_port_taken(AF_INET, port) == 1 || udp_port_taken(AF_INET6, port) == 1;

	if (in_use && model_network_list(r->db, &v, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct wg_device *dev = NULL;

			/* ours only when the device really listens there: a port
			 * changed in the DB that the device could not take is not */
			if (v[i].listen_port == port && r->wg->exists(v[i].iface) == 1
			    && r->wg->get(v[i].iface, &dev) == 0 && dev->listen_port == port)
				snprintf(iface, sizeof iface, "%s", v[i].iface);
			wgdev_free(dev);
		}
		networks_free(v, n);
		owner = iface;
	}
	return json_pack("{s:i,s:b,s:s}", "port", port, "in_use", in_use, "owner", owner);
}

/* ---- route viewer (feat-009) ---- */

static const char *table_name(int t)
{
	return t == 253 ? "default" : t == 254 ? "main" : t == 255 ? "local" : "";
}

static const char *proto_name(int p)
{
	switch (p) {
	case 2: return "kernel";
	case 3: return "boot";
	case 4: return "static";
	case NL_ROUTE_PROTO: return "wgpilot";
	default: return "other";
	}
}

static void routes_of(const struct network *n, json_t *out)
{
	struct nl_route *v = NULL;
	struct ipnet subnet;
	size_t cnt = 0;
	bool have_subnet = ipnet_parse_cidr(&subnet, n->subnet) == 0;

	if (nl_route_dump(n->iface, &v, &cnt) < 0)
		return;
	if (have_subnet)
		ipnet_normalize(&subnet);
	for (size_t i = 0; i < cnt; i++) {
		char dst[IPNET_STRLEN];
		bool addr_route = have_subnet && v[i].protocol == 2 && v[i].dst.family == subnet.family
				  && v[i].dst.prefix == subnet.prefix
				  && memcmp(v[i].dst.addr, subnet.addr, sizeof subnet.addr) == 0;

		if (v[i].table == 255)
			continue;       /* the local table's host routes are noise here */
		ipnet_format(dst, &v[i].dst);
		json_array_append_new(out, json_pack("{s:s,s:s,s:i,s:s,s:s,s:i,s:i,s:b}",
			"destination", dst, "interface", n->iface, "table", v[i].table,
			"table_name", table_name(v[i].table), "protocol", proto_name(v[i].protocol),
			"scope", v[i].scope, "metric", v[i].metric,
			"managed", addr_route || v[i].protocol == NL_ROUTE_PROTO));
	}
	free(v);
}

json_t *rec_routes(struct rec *r, const char *iface)
{
	struct network *v;
	size_t n;
	json_t *out = json_array();

	if (model_network_list(r->db, &v, &n) < 0)
		return out;
	for (size_t i = 0; i < n; i++)
		if ((!iface || strcmp(iface, v[i].iface) == 0) && nl_link_index(v[i].iface) > 0)
			routes_of(&v[i], out);
	networks_free(v, n);
	return out;
}
