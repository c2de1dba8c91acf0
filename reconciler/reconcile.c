/* SPDX-License-Identifier: MIT */
/*
 * Desired (DB) versus actual (kernel/userspace device) state, and the
 * minimal set of changes between them (networking.md §5, §7). Unchanged
 * peers are never touched, so their sessions, endpoints and counters live on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sodium.h>
#include "db.h"
#include "ipnet.h"
#include "log.h"
#include "model.h"
#include "nft.h"
#include "nl-link.h"
#include "reconciler.h"

/* ---- desired state from the DB ---- */

static int decrypt_key(struct rec *r, const char *stored, uint8_t key[static WG_KEY_LEN])
{
	char *plain = NULL;
	int err = secret_open(r->keys.enc, stored, &plain);

	if (err == 0) {
		err = key_from_b64(key, plain);
		sodium_memzero(plain, strlen(plain));
		free(plain);
	}
	return err;
}

/* "1.2.3.4:51820" or "[v6]:port" literals only; hostnames are left to roaming. */
static void parse_endpoint(union wg_endpoint *ep, const char *s)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	long port;

	memset(ep, 0, sizeof *ep);
	if (!colon || (size_t)(colon - s) >= sizeof host)
		return;
	port = strtol(colon + 1, NULL, 10);
	if (port < 1 || port > 65535)
		return;
	snprintf(host, sizeof host, "%.*s", (int)(colon - s), s);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &ep->in6.sin6_addr) == 1) {
			ep->in6.sin6_family = AF_INET6;
			ep->in6.sin6_port = htons((uint16_t)port);
		}
	} else if (inet_pton(AF_INET, host, &ep->in.sin_addr) == 1) {
		ep->in.sin_family = AF_INET;
		ep->in.sin_port = htons((uint16_t)port);
	}
}

/* The reconciler's own queries: only the columns the kernel needs, read row
 * by row, so 10,000 peers cost a few hundred bytes each, not a struct peer. */
enum sql { SQL_PEERS_ENABLED, SQL_PEER_ONE, SQL_PEER_DISABLED_KEY, SQL_SITE_NETS, SQL_PEER_ROLE,
	   SQL__MAX };
static const char *const sqls[SQL__MAX] = {
	[SQL_PEERS_ENABLED] = "SELECT id, public_key, preshared_key, allowed_ips, persistent_keepalive, "
		"endpoint, enabled FROM peers WHERE network_id = ? AND enabled = 1",
	[SQL_PEER_ONE] = "SELECT id, public_key, preshared_key, allowed_ips, persistent_keepalive, "
		"endpoint, enabled FROM peers WHERE network_id = ? AND id = ? AND enabled = 1",
	[SQL_PEER_DISABLED_KEY] = "SELECT public_key FROM peers WHERE network_id = ? AND id = ? "
		"AND enabled = 0",
	[SQL_SITE_NETS] = "SELECT site_networks FROM peers WHERE network_id = ? AND enabled = 1 "
		"AND role = 'site-gateway' AND site_networks != ''",
	[SQL_PEER_ROLE] = "SELECT role = 'site-gateway' FROM peers WHERE network_id = ? AND id = ?",
};

/* Appends the peer of the current row of st to dev. -EINVAL for a bad row
 * (logged by the caller), -ENOMEM. */
static int desired_peer(struct rec *r, struct wg_device *dev, sqlite3_stmt *st)
{
	struct wg_peer *wp;
	struct ipnet *items = NULL;
	size_t n = 0;

	if (ipnet_parse_list(db_col_text(st, 3), &items, &n, NULL) < 0)
		return -EINVAL;
	wp = wgdev_peer_append(dev);
	if (!wp) {
		free(items);
		return -ENOMEM;
	}
	if (key_from_b64(wp->public_key, db_col_text(st, 1)) < 0
	    || (db_col_text(st, 2)[0] && decrypt_key(r, db_col_text(st, 2), wp->preshared_key) < 0)) {
		free(items);
		sodium_memzero(wp, sizeof *wp);
		dev->npeers--;
		return -EINVAL;
	}
	wp->allowed = items;
	wp->nallowed = n;
	wp->keepalive = (uint16_t)sqlite3_column_int(st, 4);
	parse_endpoint(&wp->endpoint, db_col_text(st, 5));
	return 0;
}

/* Runs st (bound by the caller) and appends every row's peer to dev. */
static int desired_peers(struct rec *r, struct wg_device *dev, sqlite3_stmt *st)
{
	int rc, err = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = desired_peer(r, dev, st);
		if (err == -ENOMEM)
			break;
		if (err < 0)
			log_error("reconcile", "peer_row_invalid", json_pack("{s:I,s:s}", "peer_id",
				  (json_int_t)sqlite3_column_int64(st, 0), "interface", dev->name));
		err = 0;        /* skip the bad row, keep the others */
	}
	if (!err && rc != SQLITE_DONE)
		err = db_rc_errno(rc);
	sqlite3_finalize(st);
	return err;
}

/* The device a network row asks for. *out malloc'd. */
static int desired_device(struct rec *r, const struct network *n, struct wg_device **out)
{
	struct wg_device *dev = calloc(1, sizeof *dev);
	sqlite3_stmt *st;
	int err;

	*out = NULL;
	if (!dev)
		return -ENOMEM;
	snprintf(dev->name, sizeof dev->name, "%s", n->iface);
	dev->listen_port = (uint16_t)n->listen_port;
	if ((err = decrypt_key(r, n->private_key, dev->private_key)) < 0) {
		log_error("reconcile", "key_decrypt_failed", json_pack("{s:s,s:s}", "interface",
			  n->iface, "hint", "the master key does not match this database"));
		goto fail;
	}
	key_public_from_private(dev->public_key, dev->private_key);
	if ((err = db_prepare(r->db, sqls[SQL_PEERS_ENABLED], &st)) < 0)
		goto fail;
	sqlite3_bind_int64(st, 1, n->id);
	if ((err = desired_peers(r, dev, st)) < 0)
		goto fail;
	*out = dev;
	return 0;
fail:
	wgdev_free(dev);
	return err;
}

/* ---- the diff ---- */

static int cmp_ipnet(const void *a, const void *b)
{
	const struct ipnet *x = a, *y = b;

	if (x->family != y->family)
		return x->family - y->family;
	int c = memcmp(x->addr, y->addr, sizeof x->addr);
	return c ? c : (int)x->prefix - (int)y->prefix;
}

static bool same_allowed(struct wg_peer *a, struct wg_peer *b)
{
	if (a->nallowed != b->nallowed)
		return false;
	qsort(a->allowed, a->nallowed, sizeof *a->allowed, cmp_ipnet);
	qsort(b->allowed, b->nallowed, sizeof *b->allowed, cmp_ipnet);
	for (size_t i = 0; i < a->nallowed; i++)
		if (cmp_ipnet(&a->allowed[i], &b->allowed[i]) != 0)
			return false;
	return true;
}

static int cmp_peer_ptr(const void *a, const void *b)
{
	const struct wg_peer *const *x = a, *const *y = b;
	return memcmp((*x)->public_key, (*y)->public_key, WG_KEY_LEN);
}

static struct wg_peer **sorted_peers(struct wg_device *d)
{
	struct wg_peer **v = malloc((d->npeers + 1) * sizeof *v);

	if (!v)
		return NULL;
	for (size_t i = 0; i < d->npeers; i++)
		v[i] = &d->peers[i];
	qsort(v, d->npeers, sizeof *v, cmp_peer_ptr);
	return v;
}

static void key_log(char out[WG_KEY_B64_LEN + 1], const uint8_t *k)
{
	key_to_b64(out, k);
}

/* Appends to out a copy of peer p with flags. */
static int change_peer(struct wg_device *out, const struct wg_peer *p, unsigned flags)
{
	struct wg_peer *c = wgdev_peer_append(out);

	if (!c)
		return -ENOMEM;
	memcpy(c->public_key, p->public_key, WG_KEY_LEN);
	c->flags = flags;
	if (flags & WGPEER_REMOVE)
		return 0;
	memcpy(c->preshared_key, p->preshared_key, WG_KEY_LEN);
	c->keepalive = p->keepalive;
	c->endpoint = p->endpoint;
	if (p->nallowed) {
		c->allowed = malloc(p->nallowed * sizeof *c->allowed);
		if (!c->allowed)
			return -ENOMEM;
		memcpy(c->allowed, p->allowed, p->nallowed * sizeof *c->allowed);
		c->nallowed = p->nallowed;
	}
	return 0;
}

/* What to send so that have becomes want; out->npeers + device flags tell
 * whether anything changed. */
static int diff_device(struct wg_device *want, struct wg_device *have, struct wg_device *out)
{
	struct wg_peer **w = sorted_peers(want), **h = sorted_peers(have);
	size_t i = 0, j = 0;
	char k[WG_KEY_B64_LEN + 1];
	int err = 0;

	if (!w || !h) {
		err = -ENOMEM;
		goto out;
	}
	snprintf(out->name, sizeof out->name, "%s", want->name);
	if (sodium_memcmp(want->private_key, have->private_key, WG_KEY_LEN) != 0) {
		memcpy(out->private_key, want->private_key, WG_KEY_LEN);
		out->flags |= WGDEV_HAS_PRIVATE_KEY;
	}
	if (want->listen_port != have->listen_port) {
		out->listen_port = want->listen_port;
		out->flags |= WGDEV_HAS_LISTEN_PORT;
	}
	if (want->npeers != have->npeers)
		log_warn("reconcile", "reconcile_peer_count_mismatch", json_pack("{s:s,s:I,s:I,s:s}",
			 "interface", want->name, "db", (json_int_t)want->npeers, "kernel",
			 (json_int_t)have->npeers, "action", "syncing"));
	while (!err && (i < want->npeers || j < have->npeers)) {
		int c = i == want->npeers ? 1 : j == have->npeers ? -1 : cmp_peer_ptr(&w[i], &h[j]);

		if (c < 0) {
			struct wg_peer *p = w[i++];

			key_log(k, p->public_key);
			log_warn("reconcile", "reconcile_missing_peer", json_pack("{s:s,s:s,s:s}",
				 "interface", want->name, "public_key", k, "action", "adding_to_kernel"));
			err = change_peer(out, p, WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_PSK
					  | WGPEER_HAS_KEEPALIVE
					  | (p->endpoint.addr.sa_family ? WGPEER_HAS_ENDPOINT : 0));
		} else if (c > 0) {
			key_log(k, h[j]->public_key);
			log_warn("reconcile", "reconcile_orphaned_peer", json_pack("{s:s,s:s,s:s}",
				 "interface", want->name, "public_key", k, "action", "removing_from_kernel"));
			err = change_peer(out, h[j++], WGPEER_REMOVE);
		} else {
			bool ips = same_allowed(w[i], h[j]);
			bool rest = sodium_memcmp(w[i]->preshared_key, h[j]->preshared_key, WG_KEY_LEN) == 0
				    && w[i]->keepalive == h[j]->keepalive;

			if (!ips || !rest) {
				key_log(k, w[i]->public_key);
				log_warn("reconcile", ips ? "reconcile_peer_settings_mismatch"
					 : "reconcile_allowed_ips_mismatch", json_pack("{s:s,s:s,s:s}",
					 "interface", want->name, "public_key", k, "action", "updating_kernel"));
				err = change_peer(out, w[i], WGPEER_UPDATE_ONLY | WGPEER_REPLACE_ALLOWEDIPS
						  | WGPEER_HAS_PSK | WGPEER_HAS_KEEPALIVE);
			}
			i++;
			j++;
		}
	}
out:
	free(w);
	free(h);
	return err;
}

/* ---- applying ---- */

static void set_error(const char **code, char msg[256], const char *c, const char *what, int err)
{
	*code = c;
	snprintf(msg, 256, "%s: %s (hint: %s)", what, strerror(-err), nl_error_hint(err));
}

/* feat-005: the network's MTU on the link, set only when it differs. */
static int apply_mtu(const struct network *n)
{
	struct nl_link link;
	int err = nl_link_get(n->iface, &link);

	if (err < 0 || n->mtu <= 0 || link.mtu == (unsigned)n->mtu)
		return err < 0 ? err : 0;
	log_info("reconcile", "mtu_set", json_pack("{s:s,s:i,s:i}", "interface", n->iface,
		 "from", (int)link.mtu, "to", n->mtu));
	return nl_link_set_mtu(n->iface, (unsigned)n->mtu);
}

/* Server address (first host with the subnet prefix) on the link, link up. */
static int apply_link(const struct network *n)
{
	struct ipnet subnet, addr;
	int err;

	if (ipnet_parse_cidr(&subnet, n->subnet) < 0)
		return -EINVAL;
	ipnet_first_host(&addr, &subnet);
	if ((err = nl_addr_sync(n->iface, &addr, 1, NULL)) < 0)
		return err;
	if ((err = apply_mtu(n)) < 0)
		return err;
	return nl_link_set_up(n->iface, true);
}

/* Routes to the LANs behind the network's enabled site gateways. */
static int apply_routes(struct rec *r, const struct network *n)
{
	struct ipnet *want = NULL, *items, *grown;
	size_t nwant = 0, k;
	sqlite3_stmt *st;
	int err = db_prepare(r->db, sqls[SQL_SITE_NETS], &st), rc, changed = 0;

	if (err < 0)
		return err;
	sqlite3_bind_int64(st, 1, n->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (ipnet_parse_list(db_col_text(st, 0), &items, &k, NULL) < 0)
			continue;
		grown = realloc(want, (nwant + k) * sizeof *want + 1);
		if (!grown) {
			free(items);
			err = -ENOMEM;
			break;
		}
		want = grown;
		for (size_t i = 0; i < k; i++)
			ipnet_normalize(&items[i]);
		memcpy(want + nwant, items, k * sizeof *items);
		nwant += k;
		free(items);
	}
	sqlite3_finalize(st);
	if (!err)
		err = nl_route_sync(n->iface, want, nwant, &changed);
	if (changed)
		log_info("reconcile", "routes_synced", json_pack("{s:s,s:i,s:i}", "interface", n->iface,
			 "routes", (int)nwant, "changes", changed));
	free(want);
	return err;
}

static int align(struct rec *r, const struct network *n, bool created, const char **code, char msg[256])
{
	struct wg_device *want = NULL, *have = NULL, change = { 0 };
	int err;

	if ((err = desired_device(r, n, &want)) < 0) {
		set_error(code, msg, "INTERNAL_ERROR", "cannot build the desired device", err);
		goto out;
	}
	if ((err = r->wg->get(n->iface, &have)) < 0) {
		set_error(code, msg, "INTERFACE_CREATE_FAILED", "cannot read the device", err);
		goto out;
	}
	if ((err = diff_device(want, have, &change)) < 0) {
		set_error(code, msg, "INTERNAL_ERROR", "cannot compute changes", err);
		goto out;
	}
	if ((change.flags || change.npeers) && (err = r->wg->set(&change)) < 0) {
		set_error(code, msg, created ? "INTERFACE_CREATE_FAILED" : "WG_PEER_ADD_FAILED",
			  "cannot configure the device", err);
		goto out;
	}
	if ((err = apply_link(n)) < 0)
		set_error(code, msg, "INTERFACE_UP_FAILED", "cannot set address or bring the link up", err);
	else if ((err = apply_routes(r, n)) < 0)
		set_error(code, msg, "INTERFACE_UP_FAILED", "cannot set the routes to site networks", err);
out:
	for (size_t i = 0; i < change.npeers; i++)
		free(change.peers[i].allowed);
	free(change.peers);
	sodium_memzero(change.private_key, WG_KEY_LEN);
	wgdev_free(want);
	wgdev_free(have);
	return err;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int held_slot(struct rec *r, const char *iface, long long now_ms, bool take);
#define LINK_RETRY_MS 2000

/* Ignore link events of iface for LINK_RETRY_MS. */
static void hold_link(struct rec *r, const char *iface)
{
	long long now = mono_ms();
	int h = held_slot(r, iface, now, true);

	if (h >= 0)
		r->held[h].until_ms = now + LINK_RETRY_MS;
}

static int network_up(struct rec *r, const struct network *n, const char **code, char msg[256])
{
	bool created = false;
	int err;

	if (r->wg->exists(n->iface) && nl_link_index(n->iface) < 0) {
		/* The link is gone but its (dying) userspace process still answers:
		 * clear it away before creating a fresh one. */
		r->wg->destroy(n->iface);
	}
	if (!r->wg->exists(n->iface)) {
		log_warn("reconcile", "reconcile_missing_interface", json_pack("{s:s,s:s}",
			 "interface", n->iface, "action", "recreating"));
		if ((err = r->wg->create(n->iface)) < 0 && err != -EEXIST) {
			set_error(code, msg, "INTERFACE_CREATE_FAILED", "cannot create the interface", err);
			return err;
		}
		created = true;
	}
	err = align(r, n, created, code, msg);
	if (err < 0 && created) {
		hold_link(r, n->iface);         /* our own rollback's events are no news */
		r->wg->destroy(n->iface);       /* roll back what this pass created */
		log_error("reconcile", "interface_create_rolled_back", json_pack("{s:s,s:s}",
			  "interface", n->iface, "error", msg));
	}
	return err;
}

static int network_down(struct rec *r, const struct network *n)
{
	if (!r->wg->exists(n->iface))
		return 0;
	log_warn("reconcile", "reconcile_disabled_network_has_interface", json_pack("{s:s,s:s}",
		 "interface", n->iface, "action", "tearing_down"));
	return rec_teardown(r, n->iface);
}

/* The firewall follows every network change; its error counts only when
 * the network step itself succeeded. */
static int firewall_after(struct rec *r, int err, const char **code, char msg[256])
{
	const char *fcode;
	char fmsg[256];
	int ferr = rec_firewall(r, &fcode, fmsg);

	if (err == 0 && ferr < 0) {
		*code = fcode;
		snprintf(msg, 256, "%s", fmsg);
		return ferr;
	}
	return err;
}

int rec_network(struct rec *r, long long network_id, const char **code, char msg[256])
{
	struct network n;
	int found = model_network_get(r->db, network_id, &n), err;

	*code = NULL;
	msg[0] = '\0';
	if (found < 0) {
		set_error(code, msg, "INTERNAL_ERROR", "cannot read the database", found);
		return found;
	}
	if (found == 0)
		return firewall_after(r, 0, code, msg);
	err = n.enabled ? network_up(r, &n, code, msg) : network_down(r, &n);
	if (err < 0 && !*code)
		set_error(code, msg, "INTERNAL_ERROR", "teardown failed", err);
	network_free(&n);
	return firewall_after(r, err, code, msg);
}

static int disabled_peer_remove(struct rec *r, const char *iface, long long network_id,
				long long peer_id)
{
	sqlite3_stmt *st;
	char key[WG_KEY_B64_LEN + 1] = "";
	int err = db_prepare(r->db, sqls[SQL_PEER_DISABLED_KEY], &st);

	if (err < 0)
		return err;
	sqlite3_bind_int64(st, 1, network_id);
	sqlite3_bind_int64(st, 2, peer_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(key, sizeof key, "%s", db_col_text(st, 0));
	sqlite3_finalize(st);
	if (!key[0])
		return 0;
	log_warn("reconcile", "reconcile_disabled_peer_in_kernel", json_pack("{s:s,s:s,s:s}",
		 "interface", iface, "public_key", key, "action", "removing_from_kernel"));
	return rec_remove_peer(r, iface, key);
}

/* One peer, without reading the device: add/update it when its row is
 * enabled (REPLACE_ALLOWEDIPS, PSK and keepalive are idempotent and leave its
 * session, endpoint and counters alone), remove it otherwise. Anything else
 * (network disabled, interface missing) is a whole-network alignment. */
int rec_peer(struct rec *r, long long network_id, long long peer_id, const char **code, char msg[256])
{
	struct wg_device change = { 0 };
	struct network n;
	sqlite3_stmt *st = NULL;
	bool site_gateway;
	int found = model_network_get(r->db, network_id, &n), err;

	*code = NULL;
	msg[0] = '\0';
	if (found <= 0) {
		if (found < 0)
			set_error(code, msg, "INTERNAL_ERROR", "cannot read the database", found);
		return found;
	}
	if (!n.enabled || !r->wg->exists(n.iface)) {
		network_free(&n);
		return rec_network(r, network_id, code, msg);
	}
	snprintf(change.name, sizeof change.name, "%s", n.iface);
	if ((err = db_prepare(r->db, sqls[SQL_PEER_ROLE], &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, network_id);
	sqlite3_bind_int64(st, 2, peer_id);
	site_gateway = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if ((err = db_prepare(r->db, sqls[SQL_PEER_ONE], &st)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, network_id);
	sqlite3_bind_int64(st, 2, peer_id);
	if ((err = desired_peers(r, &change, st)) < 0)
		goto out;
	if (change.npeers == 0) {
		/* Disabled: take it out of the device. A deleted row is remove_peer's. */
		if ((err = disabled_peer_remove(r, n.iface, network_id, peer_id)) < 0)
			set_error(code, msg, "WG_PEER_ADD_FAILED", "cannot remove the peer", err);
	} else {
		change.peers[0].flags = WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_PSK | WGPEER_HAS_KEEPALIVE;
		if ((err = r->wg->set(&change)) < 0)
			set_error(code, msg, "WG_PEER_ADD_FAILED", "cannot configure the peer", err);
	}
	/* Only a site gateway changes routes and the site-to-site pair rules. */
	if (err == 0 && site_gateway) {
		if ((err = apply_routes(r, &n)) < 0)
			set_error(code, msg, "INTERFACE_UP_FAILED", "cannot set the routes to site networks", err);
		else if (strcmp(n.mode, "site-to-site") == 0)
			err = firewall_after(r, 0, code, msg);
	}
out:
	for (size_t i = 0; i < change.npeers; i++)
		free(change.peers[i].allowed);
	if (change.peers)
		sodium_memzero(change.peers, change.npeers * sizeof *change.peers);
	free(change.peers);
	network_free(&n);
	if (err < 0 && !*code)
		set_error(code, msg, "INTERNAL_ERROR", "cannot read the peer", err);
	return err;
}

int rec_teardown(struct rec *r, const char *iface)
{
	int err;

	if (!r->wg->exists(iface) && nl_link_index(iface) < 0)
		return 0;
	err = r->wg->destroy(iface);
	if (err == -ENODEV)
		err = 0;
	log_info("reconcile", "interface_removed", json_pack("{s:s,s:i}", "interface", iface, "result", err));
	return err;
}

int rec_remove_peer(struct rec *r, const char *iface, const char *public_key)
{
	struct wg_device change = { 0 };
	struct wg_peer *p;
	int err;

	if (!r->wg->exists(iface))
		return 0;
	snprintf(change.name, sizeof change.name, "%s", iface);
	p = wgdev_peer_append(&change);
	if (!p)
		return -ENOMEM;
	if (key_from_b64(p->public_key, public_key) < 0) {
		free(change.peers);
		return -EINVAL;
	}
	p->flags = WGPEER_REMOVE;
	err = r->wg->set(&change);
	free(change.peers);
	return err;
}

int rec_full(struct rec *r)
{
	struct network *v;
	size_t n;
	int failed = 0;
	char task[48], msg[256];
	const char *code;

	snprintf(task, sizeof task, "task_reconcile_%lld", (long long)time(NULL));
	log_info("reconcile", "reconciliation_start", json_pack("{s:s}", "task_id", task));
	if (model_network_list(r->db, &v, &n) < 0) {
		log_error("reconcile", "reconciliation_failed", json_pack("{s:s,s:s}", "task_id", task,
			  "error", "cannot read networks"));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		int err = v[i].enabled ? network_up(r, &v[i], &code, msg) : network_down(r, &v[i]);

		if (err < 0) {
			failed++;
			log_error("reconcile", "reconcile_network_failed", json_pack("{s:s,s:s,s:s}",
				  "task_id", task, "interface", v[i].iface, "error", v[i].enabled ? msg
				  : strerror(-err)));
		}
	}
	if (rec_firewall(r, &code, msg) < 0) {
		failed++;
		log_error("reconcile", "reconcile_firewall_failed", json_pack("{s:s,s:s}", "task_id", task,
			  "error", msg));
	}
	int off = fw_forwarding_check();
	if (off > 0)
		log_warn("reconcile", "ip_forwarding_disabled", json_pack("{s:b,s:b,s:s}", "ipv4_off",
			 (off & FW_FWD_V4_OFF) != 0, "ipv6_off", (off & FW_FWD_V6_OFF) != 0, "hint",
			 "set net.ipv4.ip_forward = 1 (and net.ipv6.conf.all.forwarding = 1) in /etc/sysctl.d/99-wgpilot.conf"));
	/* Links that look like WireGuard but have no row: never touched. */
	json_t *found = rec_detect(r), *it;
	size_t k;
	json_array_foreach(found, k, it) {
		const char *name = json_string_value(json_object_get(it, "name"));
		bool managed = false;

		for (size_t i = 0; name && i < n; i++)
			managed |= strcmp(v[i].iface, name) == 0;
		if (name && !managed)
			log_warn("reconcile", "reconcile_orphaned_interface", json_pack("{s:s,s:s}",
				 "interface", name, "action", "ignored_not_managed"));
	}
	json_decref(found);
	networks_free(v, n);
	log_info("reconcile", "reconciliation_complete", json_pack("{s:s,s:i,s:i}", "task_id", task,
		 "networks", (int)n, "failed", failed));
	return failed;
}

/* ---- link events ---- */

static int held_slot(struct rec *r, const char *iface, long long now_ms, bool take)
{
	int free_slot = -1;

	for (int i = 0; i < (int)(sizeof r->held / sizeof r->held[0]); i++) {
		if (strcmp(r->held[i].iface, iface) == 0)
			return i;
		if (free_slot < 0 && r->held[i].until_ms <= now_ms)
			free_slot = i;
	}
	if (take && free_slot >= 0)
		snprintf(r->held[free_slot].iface, IFNAMSIZ, "%s", iface);
	return take ? free_slot : -1;
}

long long rec_link_changed(struct rec *r, const char *iface, long long now_ms)
{
	struct network n;
	struct nl_link link;
	const char *code;
	char msg[256];
	int found, err = 0, present, h = held_slot(r, iface, now_ms, false);

	if (h >= 0 && r->held[h].until_ms > now_ms)
		return 0;               /* a retry is already scheduled */
	found = model_network_by_iface(r->db, iface, &n);
	if (found <= 0)
		return 0;               /* not ours: ignored */
	present = nl_link_get(iface, &link) == 0;
	/* Only a managed, enabled network whose link vanished or went down
	 * behind our back is repaired; our own changes leave it up. */
	if (n.enabled && (!present || !link.up)) {
		log_warn("reconcile", present ? "managed_link_down" : "managed_link_removed",
			 json_pack("{s:s,s:s}", "interface", iface, "action", "reconciling"));
		err = rec_network(r, n.id, &code, msg);
		if (err < 0) {
			log_error("reconcile", "link_repair_failed", json_pack("{s:s,s:s,s:i}",
				  "interface", iface, "error", msg, "retry_ms", LINK_RETRY_MS));
			h = held_slot(r, iface, now_ms, true);
			if (h >= 0)
				r->held[h].until_ms = now_ms + LINK_RETRY_MS;
		}
	}
	network_free(&n);
	return err < 0 ? LINK_RETRY_MS : 0;
}

/* ---- firewall ---- */

int rec_firewall(struct rec *r, const char **code, char msg[256])
{
	struct fw_plan p;
	char *dump = NULL;
	int err = fw_plan_from_db(r->db, &p);

	*code = NULL;
	if (err == 0 && (err = nft_apply(&p)) == 0) {
		for (size_t i = 0; i < p.nbridges; i++)
			if (p.bridges[i].enabled)
				log_info("reconcile", "reconcile_bridge_apply", json_pack("{s:s,s:s}",
					 "interface_a", p.bridges[i].iface_a,
					 "interface_b", p.bridges[i].iface_b));
		if (r->cfg.dev_mode && nft_dump(&dump) == 0)
			log_debug("nft", "nft_ruleset_after_change", json_pack("{s:s}", "ruleset", dump));
	} else if (err < 0) {
		set_error(code, msg, nft_unavailable(err) ? "NFTABLES_UNAVAILABLE" : "INTERNAL_ERROR",
			  "cannot rebuild table ip wgpilot", err);
		log_error("nft", "firewall_apply_failed", json_pack("{s:s}", "error", msg));
	}
	free(dump);
	fw_plan_free(&p);       /* also after an error (nft.h) */
	return err;
}
