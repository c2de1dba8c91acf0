/* SPDX-License-Identifier: MIT */
/* A peer's client configuration: the .conf download and its QR code
 * (api.md §6, peers.md §3-4), also rendered for setup step 4. */
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
#include "qr.h"
#include "wgconf.h"

/* site_networks of every other enabled site gateway (peers.md §3). */
static int other_sites(sqlite3 *db, const struct peer *self, char ***out, size_t *n)
{
	struct peer *v;
	size_t cnt, k = 0;
	int err = model_peer_list(db, self->network_id, &v, &cnt);

	*out = NULL;
	*n = 0;
	if (err < 0)
		return err;
	*out = calloc(cnt + 1, sizeof **out);
	for (size_t i = 0; *out && i < cnt; i++)
		if (v[i].id != self->id && v[i].enabled && strcmp(v[i].role, "site-gateway") == 0
		    && v[i].site_networks[0])
			(*out)[k++] = strdup(v[i].site_networks);
	*n = k;
	peers_free(v, cnt);
	return *out ? 0 : -ENOMEM;
}

static char *open_secret(struct req *r, const char *stored)
{
	char *plain = NULL;

	return secret_open(r->app->keys.enc, stored, &plain) == 0 ? plain : NULL;
}

static void free_secret(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

static int first_address(const char *allowed_ips, struct ipnet *out)
{
	char item[IPNET_STRLEN];
	const char *cur = allowed_ips;

	if (!*cur || ipnet_list_next(&cur, item, NULL) < 0)
		return -EINVAL;
	return ipnet_parse(out, item);
}

char *peer_render_config(struct req *r, long long nid, long long pid, char *peer_name, size_t namesz)
{
	struct network n;
	struct peer p;
	char **sites = NULL, *allowed = NULL, *pub_ip = NULL, *priv = NULL, *psk = NULL, *conf = NULL;
	char addr[IPNET_STRLEN];
	size_t nsites = 0;
	struct ipnet first;

	r->ids[0] = nid;
	r->ids[1] = pid;
	if (peer_load_network(r, &n) != 1)
		return NULL;
	if (peer_load_peer(r, &p) != 1) {
		network_free(&n);
		return NULL;
	}
	snprintf(peer_name, namesz, "%s", p.name);
	if (!p.private_key[0]) {
		resp_error(r, 409, "PEER_CONFIG_UNAVAILABLE",
			   "peer %lld has no private key (imported); its config cannot be generated", pid);
		goto out;
	}
	priv = open_secret(r, p.private_key);
	psk = open_secret(r, p.preshared_key);
	if (!priv || !psk) {
		log_error("handler", "key_decrypt_failed", json_pack("{s:I,s:s}", "peer_id",
			  (json_int_t)p.id, "hint", "master key does not match this database"));
		resp_error(r, 500, "INTERNAL_ERROR", "cannot decrypt the peer's keys");
		goto out;
	}
	/* The tunnel address is the first allowed_ips item (the rest are site LANs). */
	if (other_sites(r->app->db, &p, &sites, &nsites) < 0 || first_address(p.allowed_ips, &first) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "cannot read the peer's network");
		goto out;
	}
	ipaddr_format(addr, &first);
	allowed = wgconf_client_allowed_ips(n.mode, p.tunnel_type, n.subnet, p.split_cidrs,
					    (const char *const *)sites, nsites);
	db_setting_get(r->app->db, "public_ip", &pub_ip);
	conf = allowed ? wgconf_client_render(&(struct wgconf_client){
		.peer_name = p.name, .private_key = priv, .address = addr,
		.dns = n.dns_servers, .server_public_key = n.public_key, .preshared_key = psk,
		.allowed_ips = allowed, .endpoint_host = pub_ip ? pub_ip : "",
		.listen_port = n.listen_port, .keepalive = p.persistent_keepalive,
		/* feat-005: only a non-default MTU is written, so default configs
		 * keep the documented layout of peers.md §4 */
		.mtu = n.mtu != NETWORK_MTU_DEFAULT ? n.mtu : 0 }) : NULL;
	if (!conf)
		resp_error(r, 500, "INTERNAL_ERROR", "out of memory");
out:
	for (size_t i = 0; i < nsites; i++)
		free(sites[i]);
	free(sites);
	free(allowed);
	free(pub_ip);
	free_secret(priv);
	free_secret(psk);
	peer_free(&p);
	network_free(&n);
	return conf;
}

/* Config, QR and export reveal private keys: for a viewer they count as
 * writes (security.md §6), whatever the HTTP method. */
static int deny_viewer(struct req *r)
{
	if (strcmp(r->user.role, "admin") == 0)
		return 0;
	resp_error(r, 403, "FORBIDDEN", "read-only role");
	return -1;
}

/* GET …/peers/{pid}/config — 200 text/plain attachment; 403 FORBIDDEN for
 * viewers; 404; 409 PEER_CONFIG_UNAVAILABLE (imported peer). */
void peers_config(struct req *r)
{
	char name[72], fname[128], hdr[200];
	char *conf;

	if (deny_viewer(r) < 0)
		return;
	conf = peer_render_config(r, r->ids[0], r->ids[1], name, sizeof name);
	if (!conf)
		return;
	wgconf_filename(fname, sizeof fname, name);
	snprintf(hdr, sizeof hdr, "Content-Disposition: attachment; filename=\"%s\"\r\n", fname);
	resp_raw(r, 200, "text/plain; charset=utf-8", hdr, conf, strlen(conf));
	free_secret(conf);
}

/* GET …/peers/{pid}/qr[?format=png|svg] — 200 image/png 256x256 (default)
 * or image/svg+xml; 400 VALIDATION_ERROR unknown format; 403 FORBIDDEN for
 * viewers; 404; 409 as config. */
void peers_qr(struct req *r)
{
	char name[72], format[8];
	char *conf, *svg = NULL;
	unsigned char *png = NULL;
	size_t len = 0;
	int got;

	if (deny_viewer(r) < 0)
		return;
	got = networks_query(r->query, "format", format, sizeof format);
	if (got < 0 || (got == 1 && strcmp(format, "png") != 0 && strcmp(format, "svg") != 0)) {
		struct verrs v = { 0 };

		verr_add(&v, "format", got == -EEXIST ? "given twice" : "must be png or svg");
		resp_verrs(r, &v);
		return;
	}
	conf = peer_render_config(r, r->ids[0], r->ids[1], name, sizeof name);
	if (!conf)
		return;
	if (got == 1 && strcmp(format, "svg") == 0) {
		if (qr_svg(conf, &svg) < 0)
			resp_error(r, 500, "INTERNAL_ERROR", "cannot render the QR code");
		else
			resp_raw(r, 200, "image/svg+xml", NULL, svg, strlen(svg));
	} else if (qr_png(conf, &png, &len) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "cannot render the QR code");
	} else {
		resp_raw(r, 200, "image/png", NULL, png, len);
	}
	free_secret(conf);
	if (png)        /* the code encodes the private key */
		sodium_memzero(png, len);
	free(png);
	free_secret(svg);
}
