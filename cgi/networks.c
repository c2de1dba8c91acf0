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
#include "validate.h"

static json_t *network_json(const struct network *n, bool with_count)
{
	json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:b,s:b,s:b,s:I,s:I}",
			      "id", (json_int_t)n->id, "name", n->name, "interface", n->iface,
			      "mode", n->mode, "subnet", n->subnet, "listen_port", n->listen_port,
			      "public_key", n->public_key, "dns_servers", n->dns_servers,
			      "nat_enabled", n->nat_enabled, "inter_peer_routing", n->inter_peer_routing,
			      "enabled", n->enabled, "created_at", (json_int_t)n->created_at,
			      "updated_at", (json_int_t)n->updated_at);

	if (o && with_count)
		json_object_set_new(o, "peer_count", json_integer(n->peer_count));
	return o;
}

/* GET /api/networks — 200 array ordered by id; 500 database error. */
void networks_list(struct req *r)
{
	struct network *v;
	size_t n;
	json_t *arr;

	if (model_network_list(r->app->db, &v, &n) < 0) {
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

enum { NF_NAME, NF_MODE, NF_SUBNET, NF_PORT, NF_DNS, NF_NAT, NF_INTER, NF__MAX };
static const struct field create_fields[NF__MAX] = {
	[NF_NAME] = { "name", FT_STRING, FF_REQUIRED, v_name, NULL, NULL },
	[NF_MODE] = { "mode", FT_STRING, 0, v_mode, NULL, NULL },
	[NF_SUBNET] = { "subnet", FT_STRING, FF_REQUIRED, NULL, NULL, NULL },
	[NF_PORT] = { "listen_port", FT_INT, FF_REQUIRED, NULL, v_port, NULL },
	[NF_DNS] = { "dns_servers", FT_STRING, 0, v_dns_list, NULL, NULL },
	[NF_NAT] = { "nat_enabled", FT_BOOL, 0, NULL, NULL, NULL },
	[NF_INTER] = { "inter_peer_routing", FT_BOOL, 0, NULL, NULL, NULL },
};

/* Checks subnet and port against every network. 0 free; -1 response sent. */
static int check_conflicts(struct req *r, const struct ipnet *subnet, int port)
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

/* Inserts the row inside one write transaction after the conflict checks.
 * 0, or -1 with the response sent. */
static int network_insert(struct req *r, struct network *n, const struct ipnet *subnet)
{
	int err;

	if (db_exec(r->app->db, "BEGIN IMMEDIATE") < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database busy");
		return -1;
	}
	if (check_conflicts(r, subnet, n->listen_port) < 0)
		goto rollback;
	err = model_network_insert(r->app->db, n);
	if (err == -EEXIST) {
		resp_error(r, 409, "PORT_IN_USE", "port %d is already in use", n->listen_port);
		goto rollback;
	}
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
	body_free(&b);

	if (network_keys(r, &n) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "out of memory");
		goto out;
	}
	if (network_insert(r, &n, &subnet) < 0)
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
