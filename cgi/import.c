/* SPDX-License-Identifier: MIT */
/* POST /api/setup/import (api.md §4, networking.md §8): a network and its
 * peers from a wg-quick server file, while the wizard is still open. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sodium.h>
#include "api.h"
#include "db.h"
#include "ipnet.h"
#include "log.h"
#include "model.h"
#include "validate.h"
#include "wgconf.h"

#define DEFAULT_NAME "Imported Network"

enum { IF_CONFIG, IF_NAME, IF__MAX };
static const struct field import_fields[IF__MAX] = {
	[IF_CONFIG] = { "config", FT_STRING, FF_REQUIRED, NULL, NULL, NULL },
	[IF_NAME] = { "name", FT_STRING, FF_EMPTY_OK, v_name, NULL, NULL },
};

/* Adds a "config" field error "<what>: <why>". */
static void cfg_err(struct verrs *v, const char *what, const char *why)
{
	char msg[256];

	snprintf(msg, sizeof msg, "%s: %s", what, why);
	verr_add(v, "config", msg);
}

/* The first IPv4 item of the Address list, normalised into subnet and
 * validated like a network's subnet. */
static void check_address(struct verrs *v, const char *address, struct ipnet *subnet)
{
	char item[IPNET_STRLEN];
	const char *cur = address, *why = "no IPv4 address with a prefix (e.g. 10.0.0.1/24)";
	struct ipnet a;

	while (cur) {
		if (ipnet_list_next(&cur, item, NULL) < 0 || ipnet_parse(&a, item) < 0) {
			why = "not a list of addresses";
			break;
		}
		if (a.family != AF_INET)
			continue;
		why = strchr(item, '/') ? v_subnet(item, subnet) : "the IPv4 address needs a prefix (e.g. /24)";
		break;
	}
	if (why)
		cfg_err(v, "Address", why);
}

/* Checks everything of the parsed file; the network's fields are filled. */
static void check_import(struct verrs *v, const struct wgconf_import *im, struct network *n,
			 struct ipnet *subnet)
{
	uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	char msg[64];
	const char *why;

	if (key_from_b64(priv, im->private_key) < 0) {
		verr_add(v, "config", "invalid private key in config");
	} else {
		key_public_from_private(pub, priv);
		key_to_b64(n->public_key, pub);
	}
	sodium_memzero(priv, sizeof priv);
	check_address(v, im->address, subnet);
	if ((why = v_port(im->listen_port)))
		cfg_err(v, "ListenPort", why);
	if (im->dns && (why = v_dns_list(im->dns)))
		cfg_err(v, "DNS", why);
	for (size_t i = 0; i < im->npeers; i++) {
		const struct wgconf_import_peer *p = &im->peers[i];
		uint8_t psk[WG_KEY_LEN];

		snprintf(msg, sizeof msg, "peer %zu", i + 1);
		if (v_public_key(p->public_key)) {
			cfg_err(v, msg, "invalid PublicKey");
		} else if (n->public_key[0] && strcmp(p->public_key, n->public_key) == 0) {
			cfg_err(v, msg, "PublicKey is the interface's own key");
		} else {
			for (size_t k = 0; k < i; k++)
				if (im->peers[k].public_key && strcmp(im->peers[k].public_key, p->public_key) == 0) {
					cfg_err(v, msg, "PublicKey appears twice");
					break;
				}
		}
		if (p->preshared_key && key_from_b64(psk, p->preshared_key) < 0)
			cfg_err(v, msg, "invalid PresharedKey");
		sodium_memzero(psk, sizeof psk);
		if (p->allowed_ips && (why = v_cidr_list(p->allowed_ips)))
			cfg_err(v, msg, "AllowedIPs must be a list of CIDRs");
		if (p->endpoint && (why = v_endpoint(p->endpoint)))
			cfg_err(v, msg, "Endpoint must be host:port");
	}
}

/* The peer row of imported peer i: no private key, sealed PSK. */
static int peer_row(struct req *r, const struct wgconf_import_peer *ip, size_t i,
		    long long network_id, struct peer *p)
{
	memset(p, 0, sizeof *p);
	p->network_id = network_id;
	snprintf(p->name, sizeof p->name, "Imported Peer %zu", i + 1);
	snprintf(p->public_key, sizeof p->public_key, "%s", ip->public_key);
	snprintf(p->endpoint, sizeof p->endpoint, "%s", ip->endpoint ? ip->endpoint : "");
	snprintf(p->role, sizeof p->role, "client");
	snprintf(p->tunnel_type, sizeof p->tunnel_type, "full");
	p->persistent_keepalive = ip->keepalive;
	p->enabled = true;
	p->private_key = strdup("");
	p->preshared_key = secret_seal(r->app->keys.enc, ip->preshared_key ? ip->preshared_key : "");
	p->allowed_ips = strdup(ip->allowed_ips ? ip->allowed_ips : "");
	p->site_networks = strdup("");
	p->split_cidrs = strdup("");
	if (!p->private_key || !p->preshared_key || !p->allowed_ips || !p->site_networks || !p->split_cidrs)
		return -ENOMEM;
	list_normalize(p->allowed_ips, strlen(p->allowed_ips) + 1, p->allowed_ips);
	return 0;
}

/* The imported peers of the network just inserted (inside its transaction). */
static int import_peers(struct req *r, const struct network *n, void *ctx)
{
	const struct wgconf_import *im = ctx;
	int err = 0;

	for (size_t i = 0; err == 0 && i < im->npeers; i++) {
		struct peer p;

		err = peer_row(r, &im->peers[i], i, n->id, &p);
		if (err == 0)
			err = model_peer_insert(r->app->db, &p);
		peer_free(&p);
	}
	return err;
}

/* POST /api/setup/import {config, name?} — 201 {"network_id","interface",
 * "peers_imported"}; 400 VALIDATION_ERROR (body; config that does not parse
 * or holds a bad key, address, port, DNS or peer — all reported at once in
 * fields[] under "config"); 409 SETUP_ALREADY_COMPLETE, SUBNET_CONFLICT,
 * PORT_IN_USE; 500 INTERFACE_CREATE_FAILED, 503 RECONCILER_UNAVAILABLE (rows
 * removed again). While step 3 is not done the network becomes the wizard's
 * network (step 3 done), so the wizard continues with step 4. */
void setup_import(struct req *r)
{
	struct network n = { .enabled = true, .nat_enabled = true };
	struct wgconf_import im = { 0 };
	struct verrs v = { 0 };
	struct ipnet subnet;
	struct body b;
	char err[256], code[48], msg[256], res[40], idbuf[24];
	bool step3;

	if (db_setting_true(r->app->db, "setup_complete")) {
		resp_error(r, 409, "SETUP_ALREADY_COMPLETE", "setup is already complete");
		return;
	}
	body_parse(r, import_fields, IF__MAX, &b, &v);
	if (b.has[IF_CONFIG] && wgconf_import_parse(b.s[IF_CONFIG], &im, err, sizeof err) < 0)
		verr_add(&v, "config", err);
	else if (b.has[IF_CONFIG])
		check_import(&v, &im, &n, &subnet);
	if (verr_any(&v)) {
		body_free(&b);
		wgconf_import_free(&im);
		resp_verrs(r, &v);
		return;
	}
	snprintf(n.name, sizeof n.name, "%s", body_str(&b, IF_NAME, DEFAULT_NAME));
	body_free(&b);
	snprintf(n.mode, sizeof n.mode, "gateway");
	ipnet_format(n.subnet, &subnet);
	n.listen_port = im.listen_port;
	list_normalize(n.dns_servers, sizeof n.dns_servers, im.dns ? im.dns : "");
	n.private_key = secret_seal(r->app->keys.enc, im.private_key);
	if (!n.private_key) {
		resp_error(r, 500, "INTERNAL_ERROR", "out of memory");
		goto out;
	}
	if (network_insert(r, &n, &subnet, import_peers, &im) < 0)
		goto out;
	if (reconciler_call(r, "apply_network", json_pack("{s:I}", "network_id", (json_int_t)n.id),
			    code, msg) < 0) {
		model_network_delete(r->app->db, n.id);         /* peers cascade */
		reconciler_call(r, "teardown", json_pack("{s:s,s:i}", "interface", n.iface,
				"listen_port", n.listen_port), (char[48]){ 0 }, (char[256]){ 0 });
		resp_error(r, reconciler_status(code), reconciler_status(code) == 503 ? code
			   : "INTERFACE_CREATE_FAILED", "%s", msg);
		goto out;
	}
	step3 = db_setting_true(r->app->db, "setup_step3_done");
	snprintf(idbuf, sizeof idbuf, "%lld", n.id);
	if (!step3 && (db_setting_set(r->app->db, "setup_network_id", idbuf) < 0
		       || db_setting_set(r->app->db, "setup_step3_done", "true") < 0))
		log_error("setup", "setup_progress_not_saved", json_pack("{s:I}", "network_id",
			  (json_int_t)n.id));
	log_info("setup", "network_imported", json_pack("{s:I,s:s,s:s,s:i,s:i}", "network_id",
		 (json_int_t)n.id, "interface", n.iface, "subnet", n.subnet, "listen_port",
		 n.listen_port, "peers", (int)im.npeers));
	snprintf(res, sizeof res, "network:%lld", n.id);
	audit(r, "network.imported", res, json_pack("{s:s,s:s,s:s,s:i,s:i}", "name", n.name,
	      "interface", n.iface, "subnet", n.subnet, "listen_port", n.listen_port,
	      "peers_imported", (int)im.npeers));
	resp_json(r, 201, json_pack("{s:I,s:s,s:i}", "network_id", (json_int_t)n.id,
		  "interface", n.iface, "peers_imported", (int)im.npeers));
out:
	network_free(&n);
	wgconf_import_free(&im);
}
