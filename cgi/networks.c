/* SPDX-License-Identifier: MIT */
/* /api/networks (api.md §5). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "api.h"
#include "db.h"
#include "ipnet.h"
#include "log.h"
#include "model.h"
#include "rpc.h"
#include "sbuf.h"
#include "validate.h"

#define PAGE_LIMIT_MAX 10000
#define PAGE_LIMIT_MAX_STR "10000"
#define PAGE_OFFSET_MAX 2147483647

static json_t *network_json(const struct network *n, bool with_count)
{
	json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:b,s:b,s:b,s:I,s:I,s:i}",
			      "id", (json_int_t)n->id, "name", n->name, "interface", n->iface,
			      "mode", n->mode, "subnet", n->subnet, "listen_port", n->listen_port,
			      "public_key", n->public_key, "dns_servers", n->dns_servers,
			      "nat_enabled", n->nat_enabled, "inter_peer_routing", n->inter_peer_routing,
			      "enabled", n->enabled, "created_at", (json_int_t)n->created_at,
			      "updated_at", (json_int_t)n->updated_at, "mtu", n->mtu);

	if (o && with_count)
		json_object_set_new(o, "peer_count", json_integer(n->peer_count));
	return o;
}

/* ---- query strings ---- */

/* A plain decimal in [lo, hi]: digits only, no sign, no spaces. */
static int query_number(const char *s, long long lo, long long hi, long long *v)
{
	long long x = 0;

	if (!*s || strlen(s) > 10)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		x = x * 10 + (*p - '0');
	}
	if (x < lo || x > hi)
		return -EINVAL;
	*v = x;
	return 0;
}

int networks_page(struct req *r, long long *limit, long long *offset)
{
	struct verrs v = { 0 };
	char val[32];
	int got;

	*limit = -1;
	*offset = 0;
	got = networks_query(r->query, "limit", val, sizeof val);
	if (got < 0 || (got == 1 && query_number(val, 1, PAGE_LIMIT_MAX, limit) < 0))
		verr_add(&v, "limit", got == -EEXIST ? "given twice"
			 : "must be an integer between 1 and " PAGE_LIMIT_MAX_STR);
	got = networks_query(r->query, "offset", val, sizeof val);
	if (got < 0 || (got == 1 && query_number(val, 0, PAGE_OFFSET_MAX, offset) < 0))
		verr_add(&v, "offset", got == -EEXIST ? "given twice"
			 : "must be a non-negative integer");
	if (verr_any(&v)) {
		resp_verrs(r, &v);
		return -1;
	}
	return 0;
}

/* GET /api/networks[?limit=N&offset=M] — 200 array ordered by id (one page
 * when limit/offset are given); 400 VALIDATION_ERROR bad limit/offset; 500
 * database error. */
void networks_list(struct req *r)
{
	struct network *v;
	size_t n;
	long long limit, offset;
	json_t *arr;

	if (networks_page(r, &limit, &offset) < 0)
		return;
	if (model_network_page(r->app->db, limit, offset, &v, &n) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, network_json(&v[i], true));
	networks_free(v, n);
	resp_json(r, 200, arr);
}

/* GET /api/networks/{id} — 200; 404 NETWORK_NOT_FOUND. */
void networks_get(struct req *r)
{
	struct network n;
	int found = model_network_get(r->app->db, r->ids[0], &n);

	if (found < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	if (found == 0) {
		resp_error(r, 404, "NETWORK_NOT_FOUND", "network %lld not found", r->ids[0]);
		return;
	}
	resp_json(r, 200, network_json(&n, false));
	network_free(&n);
}

enum { NF_NAME, NF_MODE, NF_SUBNET, NF_PORT, NF_DNS, NF_NAT, NF_INTER, NF_MTU, NF__MAX };
static const struct field create_fields[NF__MAX] = {
	[NF_NAME] = { "name", FT_STRING, FF_REQUIRED, v_name, NULL, NULL },
	[NF_MODE] = { "mode", FT_STRING, 0, v_mode, NULL, NULL },
	[NF_SUBNET] = { "subnet", FT_STRING, FF_REQUIRED, NULL, NULL, NULL },
	[NF_PORT] = { "listen_port", FT_INT, FF_REQUIRED, NULL, v_port, NULL },
	[NF_DNS] = { "dns_servers", FT_STRING, 0, v_dns_list, NULL, NULL },
	[NF_NAT] = { "nat_enabled", FT_BOOL, 0, NULL, NULL, NULL },
	[NF_INTER] = { "inter_peer_routing", FT_BOOL, 0, NULL, NULL, NULL },
	[NF_MTU] = { "mtu", FT_INT, 0, NULL, v_mtu, NULL },
};

int network_conflicts(struct req *r, const struct ipnet *subnet, int port)
{
	struct network *v;
	size_t n;
	int ret = 0;

	if (model_network_list(r->app->db, &v, &n) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return -1;
	}
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct ipnet other;

		if (ipnet_parse_cidr(&other, v[i].subnet) == 0 && ipnet_overlaps(subnet, &other)) {
			resp_error(r, 409, "SUBNET_CONFLICT", "subnet overlaps %s of network %s",
				   v[i].subnet, v[i].name);
			ret = -1;
		} else if (v[i].listen_port == port) {
			resp_error(r, 409, "PORT_IN_USE", "port %d is used by network %s", port, v[i].name);
			ret = -1;
		}
	}
	networks_free(v, n);
	return ret;
}

/* feat-007: a UDP port bound by another program on the host is refused
 * before anything is written. 1 (409 sent) or 0 (free, or the reconciler
 * cannot tell: creation then fails there with the same hint). */
static int port_taken_elsewhere(struct req *r, int port)
{
	json_t *req = json_pack("{s:s,s:i,s:s}", "op", "check_port", "port", port,
				"request_id", r->request_id), *reply = NULL;
	int taken = 0;

	if (rpc_call(r->app->cfg.rec_socket, req, &reply, RPC_TIMEOUT_MS) == 0
	    && json_is_true(json_object_get(reply, "in_use"))
	    && !*(json_string_value(json_object_get(reply, "owner")) ?: "")) {
		resp_error(r, 409, "PORT_IN_USE", "UDP port %d is already in use by another program "
			   "on this host", port);
		taken = 1;
	}
	json_decref(req);
	json_decref(reply);
	return taken;
}

/* Fills keys: private (sealed) and public. 0 or -ENOMEM. */
static int network_keys(struct req *r, struct network *n)
{
	uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	char b64[WG_KEY_B64_LEN + 1];

	key_generate_private(priv);
	key_public_from_private(pub, priv);
	key_to_b64(b64, priv);
	n->private_key = secret_seal(r->app->keys.enc, b64);
	sodium_memzero(b64, sizeof b64);
	sodium_memzero(priv, sizeof priv);
	key_to_b64(n->public_key, pub);
	return n->private_key ? 0 : -ENOMEM;
}

int network_insert(struct req *r, struct network *n, const struct ipnet *subnet,
		   int (*then)(struct req *, const struct network *, void *), void *ctx)
{
	int err;

	if (db_exec(r->app->db, "BEGIN IMMEDIATE") < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database busy");
		return -1;
	}
	if (network_conflicts(r, subnet, n->listen_port) < 0)
		goto rollback;
	err = model_network_insert(r->app->db, n);
	if (err == -EEXIST) {
		resp_error(r, 409, "PORT_IN_USE", "port %d is already in use", n->listen_port);
		goto rollback;
	}
	if (err == 0 && then)
		err = then(r, n, ctx);
	if (err < 0 || db_exec(r->app->db, "COMMIT") < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		goto rollback;
	}
	return 0;
rollback:
	db_exec(r->app->db, "ROLLBACK");
	return -1;
}

json_t *network_create_from_body(struct req *r, const char *dns_default, long long *id)
{
	struct network n = { .enabled = true };
	struct verrs v = { 0 };
	struct ipnet subnet;
	struct body b;
	char code[48], msg[256];
	const char *why;
	json_t *out = NULL;

	body_parse(r, create_fields, NF__MAX, &b, &v);
	if (b.has[NF_SUBNET] && (why = v_subnet(b.s[NF_SUBNET], &subnet)))
		verr_add(&v, "subnet", why);
	if (verr_any(&v)) {
		body_free(&b);
		resp_verrs(r, &v);
		return NULL;
	}
	snprintf(n.name, sizeof n.name, "%s", b.s[NF_NAME]);
	snprintf(n.mode, sizeof n.mode, "%s", body_str(&b, NF_MODE, "gateway"));
	ipnet_format(n.subnet, &subnet);
	n.listen_port = (int)b.i[NF_PORT];
	list_normalize(n.dns_servers, sizeof n.dns_servers, body_str(&b, NF_DNS, dns_default ? dns_default : ""));
	/* Omitted flags take the mode's defaults (networking.md §1). */
	n.nat_enabled = b.has[NF_NAT] ? b.b[NF_NAT] : strcmp(n.mode, "gateway") == 0;
	n.inter_peer_routing = b.has[NF_INTER] ? b.b[NF_INTER] : strcmp(n.mode, "hub-routed") == 0;
	n.mtu = b.has[NF_MTU] ? (int)b.i[NF_MTU] : NETWORK_MTU_DEFAULT;
	body_free(&b);

	if (port_taken_elsewhere(r, n.listen_port))
		goto out;
	if (network_keys(r, &n) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "out of memory");
		goto out;
	}
	if (network_insert(r, &n, &subnet, NULL, NULL) < 0)
		goto out;
	if (reconciler_call(r, "apply_network", json_pack("{s:I}", "network_id", (json_int_t)n.id),
			    code, msg) < 0) {
		/* Compensate: no partial state is left behind. */
		model_network_delete(r->app->db, n.id);
		reconciler_call(r, "teardown", json_pack("{s:s,s:i}", "interface", n.iface,
				"listen_port", n.listen_port), (char[48]){0}, (char[256]){0});
		if (strcmp(code, "RECONCILER_UNAVAILABLE") == 0)
			resp_error(r, 503, code, "%s", msg);
		else
			resp_error(r, 500, "INTERFACE_CREATE_FAILED", "%s", msg);
		goto out;
	}
	log_info("handler", "network_created", json_pack("{s:I,s:s,s:s,s:s,s:i}", "network_id",
		 (json_int_t)n.id, "interface", n.iface, "mode", n.mode, "subnet", n.subnet,
		 "listen_port", n.listen_port));
	{
		char res[40];
		snprintf(res, sizeof res, "network:%lld", n.id);
		audit(r, "network.created", res, json_pack("{s:s,s:s,s:s,s:i}", "name", n.name,
		      "mode", n.mode, "subnet", n.subnet, "listen_port", n.listen_port));
	}
	*id = n.id;
	out = network_json(&n, false);
out:
	network_free(&n);
	return out;
}

/* POST /api/networks — 201 network; 400 VALIDATION_ERROR; 409 SUBNET_CONFLICT,
 * PORT_IN_USE; 500 INTERFACE_CREATE_FAILED (row removed again); 503
 * RECONCILER_UNAVAILABLE (row removed again). */
void networks_create(struct req *r)
{
	char *dns = NULL;
	long long id;
	json_t *n;

	db_setting_get(r->app->db, "dns_servers", &dns);
	n = network_create_from_body(r, dns, &id);
	free(dns);
	if (n)
		resp_json(r, 201, n);
}

/* ---- changes to an existing network ---- */

static int load(struct req *r, struct network *n)
{
	int found = model_network_get(r->app->db, r->ids[0], n);

	if (found < 0)
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
	else if (found == 0)
		resp_error(r, 404, "NETWORK_NOT_FOUND", "network %lld not found", r->ids[0]);
	return found;
}

/* Writes n (whose previous state is old), then asks the reconciler to align
 * the network. On a reconciler failure the row goes back to old (and the
 * reconciler is asked again, best effort, so the kernel follows the reverted
 * row) and the reconciler's code is returned: 503 RECONCILER_UNAVAILABLE,
 * else 500 with its code. 0, or -1 with the response sent. */
/* Puts the scalar columns of the network back (shallow copy of the old row). */
static int revert_network(struct req *r, void *old)
{
	struct network *n = old;

	if (model_network_update(r->app->db, n, true) >= 0)
		return 0;
	log_error("handler", "network_revert_failed", json_pack("{s:I,s:s}", "network_id",
		  (json_int_t)n->id, "request_id", r->request_id));
	return -1;
}

static int save_and_apply(struct req *r, struct network *n, const struct network *old)
{
	struct network back = *old;    /* shallow: only scalar columns are written */
	int err = model_network_update(r->app->db, n, false);

	if (err <= 0) {
		if (err == 0)
			resp_error(r, 404, "NETWORK_NOT_FOUND", "network %lld not found", n->id);
		else
			resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return -1;
	}
	return reconciler_apply_or_revert(r, "apply_network",
					  json_pack("{s:I}", "network_id", (json_int_t)n->id),
					  revert_network, &back);
}

enum {
	UF_NAME, UF_DNS, UF_NAT, UF_INTER, UF_MTU,
	/* known but not changeable here */
	UF_MODE, UF_SUBNET, UF_PORT, UF_ID, UF_IFACE, UF_PUBKEY, UF_ENABLED, UF_CREATED,
	UF_UPDATED, UF_COUNT, UF__MAX
};
static const struct field update_fields[UF__MAX] = {
	[UF_NAME] = { "name", FT_STRING, 0, v_name, NULL, NULL },
	[UF_DNS] = { "dns_servers", FT_STRING, 0, v_dns_list, NULL, NULL },
	[UF_NAT] = { "nat_enabled", FT_BOOL, 0, NULL, NULL, NULL },
	[UF_INTER] = { "inter_peer_routing", FT_BOOL, 0, NULL, NULL, NULL },
	[UF_MTU] = { "mtu", FT_INT, 0, NULL, v_mtu, NULL },
	[UF_MODE] = { "mode", FT_STRING, FF_IMMUTABLE, NULL, NULL, NULL },
	[UF_SUBNET] = { "subnet", FT_STRING, FF_IMMUTABLE, NULL, NULL, NULL },
	[UF_PORT] = { "listen_port", FT_INT, FF_IMMUTABLE, NULL, NULL, NULL },
	[UF_ID] = { "id", FT_INT, FF_IMMUTABLE, NULL, NULL, NULL },
	[UF_IFACE] = { "interface", FT_STRING, FF_IMMUTABLE, NULL, NULL, NULL },
	[UF_PUBKEY] = { "public_key", FT_STRING, FF_IMMUTABLE, NULL, NULL, NULL },
	/* enabled changes through /enable and /disable only */
	[UF_ENABLED] = { "enabled", FT_BOOL, FF_IMMUTABLE, NULL, NULL, NULL },
	[UF_CREATED] = { "created_at", FT_INT, FF_IMMUTABLE, NULL, NULL, NULL },
	[UF_UPDATED] = { "updated_at", FT_INT, FF_IMMUTABLE, NULL, NULL, NULL },
	[UF_COUNT] = { "peer_count", FT_INT, FF_IMMUTABLE, NULL, NULL, NULL },
};

/* PUT /api/networks/{id} — any of name, dns_servers, nat_enabled,
 * inter_peer_routing, mtu (feat-005, applied live). 200 network (unchanged when nothing differs); 404
 * NETWORK_NOT_FOUND; 400 VALIDATION_ERROR (every bad field: unknown, wrong
 * type, invalid, "immutable" for the other network fields); 500 with the
 * reconciler's code or 503 RECONCILER_UNAVAILABLE (row reverted). */
void networks_update(struct req *r)
{
	struct network n, old;
	struct verrs v = { 0 };
	struct body b;
	json_t *changes = NULL, *fields;
	char res[40];

	if (load(r, &n) != 1)
		return;
	old = n;
	body_parse(r, update_fields, UF__MAX, &b, &v);
	if (verr_any(&v)) {
		body_free(&b);
		resp_verrs(r, &v);
		goto out;
	}
	changes = json_object();
	if (b.has[UF_NAME] && strcmp(b.s[UF_NAME], n.name) != 0) {
		snprintf(n.name, sizeof n.name, "%s", b.s[UF_NAME]);
		json_object_set_new(changes, "name", json_string(n.name));
	}
	if (b.has[UF_DNS]) {
		char dns[sizeof n.dns_servers];

		list_normalize(dns, sizeof dns, b.s[UF_DNS]);
		if (strcmp(dns, n.dns_servers) != 0) {
			memcpy(n.dns_servers, dns, sizeof dns);
			json_object_set_new(changes, "dns_servers", json_string(n.dns_servers));
		}
	}
	if (b.has[UF_NAT] && b.b[UF_NAT] != n.nat_enabled) {
		n.nat_enabled = b.b[UF_NAT];
		json_object_set_new(changes, "nat_enabled", json_boolean(n.nat_enabled));
	}
	if (b.has[UF_INTER] && b.b[UF_INTER] != n.inter_peer_routing) {
		n.inter_peer_routing = b.b[UF_INTER];
		json_object_set_new(changes, "inter_peer_routing", json_boolean(n.inter_peer_routing));
	}
	if (b.has[UF_MTU] && b.i[UF_MTU] != n.mtu) {
		n.mtu = (int)b.i[UF_MTU];
		json_object_set_new(changes, "mtu", json_integer(n.mtu));
	}
	body_free(&b);
	if (json_object_size(changes) == 0) {
		resp_json(r, 200, network_json(&n, false));
		goto out;
	}
	if (save_and_apply(r, &n, &old) < 0)
		goto out;
	fields = json_array();
	{
		const char *key;
		json_t *val;

		json_object_foreach(changes, key, val)
			json_array_append_new(fields, json_string(key));
	}
	log_info("handler", "network_updated", json_pack("{s:I,s:s,s:o}", "network_id",
		 (json_int_t)n.id, "interface", n.iface, "fields", fields));
	snprintf(res, sizeof res, "network:%lld", n.id);
	audit(r, "network.updated", res, changes);
	changes = NULL;
	resp_json(r, 200, network_json(&n, false));
out:
	json_decref(changes);
	network_free(&n);
}

/* POST /api/networks/{id}/enable and /disable — 200 network (no-op when
 * already in that state); 404 NETWORK_NOT_FOUND; 500 reconciler code or 503
 * RECONCILER_UNAVAILABLE (flag reverted). */
static void set_enabled(struct req *r, bool on)
{
	struct network n, old;
	char res[40];

	if (load(r, &n) != 1)
		return;
	old = n;
	if (n.enabled != on) {
		n.enabled = on;
		if (save_and_apply(r, &n, &old) < 0)
			goto out;
		log_info("handler", on ? "network_enabled" : "network_disabled", json_pack("{s:I,s:s}",
			 "network_id", (json_int_t)n.id, "interface", n.iface));
		snprintf(res, sizeof res, "network:%lld", n.id);
		audit(r, on ? "network.enabled" : "network.disabled", res,
		      json_pack("{s:s,s:s}", "name", n.name, "interface", n.iface));
	}
	resp_json(r, 200, network_json(&n, false));
out:
	network_free(&n);
}

void networks_enable(struct req *r)
{
	set_enabled(r, true);
}

void networks_disable(struct req *r)
{
	set_enabled(r, false);
}

/* DELETE /api/networks/{id} — 204; 404 NETWORK_NOT_FOUND; 503
 * RECONCILER_UNAVAILABLE (checked first: nothing is deleted); 500 database
 * error. The row goes first (peers, snapshots, bridges cascade), so the
 * reconciler's firewall rebuild no longer sees it; a failed teardown is only
 * logged (networking.md §7: the row stays deleted). */
void networks_delete(struct req *r)
{
	struct network n;
	char code[48], msg[256], res[40];
	int err;

	if (load(r, &n) != 1)
		return;
	if (reconciler_call(r, "ping", NULL, code, msg) < 0) {
		resp_error(r, reconciler_status(code), code, "%s", msg);
		goto out;
	}
	err = model_network_delete(r->app->db, n.id);
	if (err <= 0) {
		if (err == 0)
			resp_error(r, 404, "NETWORK_NOT_FOUND", "network %lld not found", n.id);
		else
			resp_error(r, 500, "INTERNAL_ERROR", "database error");
		goto out;
	}
	if (reconciler_call(r, "teardown", json_pack("{s:s,s:i}", "interface", n.iface,
			    "listen_port", n.listen_port), code, msg) < 0)
		log_error("handler", "network_teardown_failed", json_pack("{s:I,s:s,s:s,s:s,s:s}",
			  "network_id", (json_int_t)n.id, "interface", n.iface, "code", code,
			  "error", msg, "request_id", r->request_id));
	log_info("handler", "network_deleted", json_pack("{s:I,s:s,s:s}", "network_id",
		 (json_int_t)n.id, "interface", n.iface, "subnet", n.subnet));
	snprintf(res, sizeof res, "network:%lld", n.id);
	audit(r, "network.deleted", res, json_pack("{s:s,s:s,s:s,s:i}", "name", n.name,
	      "interface", n.iface, "subnet", n.subnet, "listen_port", n.listen_port));
	resp_empty(r, 204);
out:
	network_free(&n);
}

/* ---- export ---- */

static void free_secret(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

/* Zeroes and frees a buffer that held secrets. */
static void sb_wipe(struct sbuf *b)
{
	if (b->s)
		sodium_memzero(b->s, b->cap);
	sb_free(b);
}

/* The [Peer] block of one enabled peer; -1 when its PSK cannot be opened. */
static int export_peer(struct req *r, struct sbuf *b, const struct peer *p)
{
	char *psk = NULL;

	if (secret_open(r->app->keys.enc, p->preshared_key, &psk) < 0)
		return -1;
	sb_printf(b, "\n# %s\n[Peer]\nPublicKey = %s\n", p->name, p->public_key);
	if (psk[0])
		sb_printf(b, "PresharedKey = %s\n", psk);
	sb_printf(b, "AllowedIPs = %s\n", p->allowed_ips);
	if (p->endpoint[0])
		sb_printf(b, "Endpoint = %s\n", p->endpoint);
	if (p->persistent_keepalive > 0)
		sb_printf(b, "PersistentKeepalive = %d\n", p->persistent_keepalive);
	free_secret(psk);
	return 0;
}

/* The wg-quick server file of api.md §5 into b. 0, -EBADMSG (a key cannot
 * be decrypted), -EINVAL (stored subnet), -ENOMEM. */
static int export_render(struct req *r, const struct network *n, const struct peer *v,
			 size_t cnt, struct sbuf *b)
{
	struct ipnet subnet, server;
	char addr[IPNET_STRLEN], *priv = NULL;
	size_t need = 2048;

	if (ipnet_parse_cidr(&subnet, n->subnet) < 0)
		return -EINVAL;
	ipnet_first_host(&server, &subnet);
	ipnet_format(addr, &server);
	/* Reserve everything up front: a realloc would leave key copies behind. */
	for (size_t i = 0; i < cnt; i++)
		need += 256 + sizeof v[i].name + strlen(v[i].allowed_ips) + sizeof v[i].endpoint;
	b->s = malloc(need);
	if (!b->s)
		return -ENOMEM;
	b->cap = need;
	b->s[0] = '\0';
	if (secret_open(r->app->keys.enc, n->private_key, &priv) < 0)
		return -EBADMSG;
	sb_printf(b, "# Generated by wgpilot \u2014 %s\n[Interface]\nPrivateKey = %s\nAddress = %s\n"
		  "ListenPort = %d\n", n->iface, priv, addr, n->listen_port);
	free_secret(priv);
	if (n->dns_servers[0])
		sb_printf(b, "DNS = %s\n", n->dns_servers);
	if (n->nat_enabled) {
		static const char *const verbs[2][2] = { { "PostUp", "-A" }, { "PostDown", "-D" } };

		for (int k = 0; k < 2; k++)
			sb_printf(b, "%s = iptables %s FORWARD -i %%i -j ACCEPT; iptables %s FORWARD -o %%i "
				  "-j ACCEPT; iptables -t nat %s POSTROUTING -o eth0 -j MASQUERADE; "
				  "ip6tables %s FORWARD -i %%i -j ACCEPT; ip6tables %s FORWARD -o %%i "
				  "-j ACCEPT; ip6tables -t nat %s POSTROUTING -o eth0 -j MASQUERADE\n",
				  verbs[k][0], verbs[k][1], verbs[k][1], verbs[k][1], verbs[k][1],
				  verbs[k][1], verbs[k][1]);
	}
	for (size_t i = 0; i < cnt; i++)
		if (v[i].enabled && export_peer(r, b, &v[i]) < 0)
			return -EBADMSG;
	return b->oom ? -ENOMEM : 0;
}

/* GET /api/networks/{id}/export — 200 text/plain attachment "<iface>.conf"
 * (contains the server's private key and the PSKs); 403 FORBIDDEN for
 * viewers (G/w: downloads of keys are writes, security.md §6); 404
 * NETWORK_NOT_FOUND; 500 database error or undecryptable keys. */
void networks_export(struct req *r)
{
	struct network n;
	struct peer *v = NULL;
	struct sbuf b = SBUF_INIT;
	size_t cnt = 0;
	char hdr[128];
	int err;

	if (strcmp(r->user.role, "admin") != 0) {
		resp_error(r, 403, "FORBIDDEN", "read-only role");
		return;
	}
	if (load(r, &n) != 1)
		return;
	if (model_peer_list(r->app->db, n.id, &v, &cnt) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		goto out;
	}
	err = export_render(r, &n, v, cnt, &b);
	if (err == -EBADMSG) {
		log_error("handler", "key_decrypt_failed", json_pack("{s:I,s:s}", "network_id",
			  (json_int_t)n.id, "hint", "master key does not match this database"));
		resp_error(r, 500, "INTERNAL_ERROR", "cannot decrypt the network's keys");
		goto out;
	}
	if (err < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", err == -ENOMEM ? "out of memory"
			   : "stored subnet is invalid");
		goto out;
	}
	snprintf(hdr, sizeof hdr, "Content-Disposition: attachment; filename=\"%s.conf\"\r\n", n.iface);
	resp_raw(r, 200, "text/plain; charset=utf-8", hdr, b.s, b.len);
	log_info("handler", "network_exported", json_pack("{s:I,s:s,s:s}", "network_id",
		 (json_int_t)n.id, "interface", n.iface, "request_id", r->request_id));
out:
	sb_wipe(&b);
	peers_free(v, cnt);
	network_free(&n);
}
