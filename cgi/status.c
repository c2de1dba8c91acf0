/* SPDX-License-Identifier: MIT */
/* GET /api/status (api.md §8): live peer state from the reconciler merged
 * with the DB's names. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "api.h"
#include "model.h"

#define ONLINE_WINDOW 180

static json_t *find_iface(json_t *ifaces, const char *name)
{
	size_t i;
	json_t *it;

	json_array_foreach(ifaces, i, it) {
		const char *n = json_string_value(json_object_get(it, "name"));
		if (n && strcmp(n, name) == 0)
			return it;
	}
	return NULL;
}

static json_t *peer_entry(const struct peer *p, json_t *kp, long long now)
{
	const char *key = json_string_value(json_object_get(kp, "public_key"));
	const char *ep = json_string_value(json_object_get(kp, "endpoint"));
	long long hs = json_integer_value(json_object_get(kp, "last_handshake"));

	return json_pack("{s:I,s:s,s:s,s:s,s:I,s:I,s:I,s:b}",
		"peer_id", (json_int_t)(p ? p->id : 0), "name", p ? p->name : "",
		"public_key", key ? key : "", "endpoint", ep ? ep : "",
		"last_handshake", (json_int_t)hs,
		"transfer_rx", json_integer_value(json_object_get(kp, "rx_bytes")),
		"transfer_tx", json_integer_value(json_object_get(kp, "tx_bytes")),
		"online", hs > 0 && now - hs < ONLINE_WINDOW);
}

/* Kernel peers in DB order (by id), then those unknown to the DB (peer_id 0).
 * The scan is O(DB peers x kernel peers); fine for hundreds of peers, to be
 * indexed by key for the 10k-peer targets. */
static json_t *status_peers(struct req *r, const struct network *n, json_t *kif)
{
	long long now = (long long)time(NULL);
	json_t *out = json_array(), *kp, *kpeers = json_object_get(kif, "peers");
	struct peer *v = NULL;
	size_t cnt = 0, i, nk = json_array_size(kpeers);
	char *used = calloc(nk + 1, 1);

	model_peer_list(r->app->db, n->id, &v, &cnt);
	for (size_t k = 0; used && k < cnt; k++) {
		json_array_foreach(kpeers, i, kp) {
			const char *key = json_string_value(json_object_get(kp, "public_key"));
			if (!used[i] && key && strcmp(key, v[k].public_key) == 0) {
				used[i] = 1;
				json_array_append_new(out, peer_entry(&v[k], kp, now));
				break;
			}
		}
	}
	json_array_foreach(kpeers, i, kp)
		if (used && !used[i])
			json_array_append_new(out, peer_entry(NULL, kp, now));
	free(used);
	peers_free(v, cnt);
	return out;
}

/* GET /api/status — 200; networks the reconciler cannot read are up:false. */
void status_get(struct req *r)
{
	struct network *v;
	size_t n;
	json_t *ifaces, *nets;

	if (model_network_list(r->app->db, &v, &n) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	ifaces = status_fetch(r, NULL);
	nets = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *kif = v[i].enabled ? find_iface(ifaces, v[i].iface) : NULL;
		bool up = kif && json_is_true(json_object_get(kif, "up"));

		json_t *o = json_pack("{s:I,s:s,s:s,s:b,s:b,s:i,s:o}",
			"id", (json_int_t)v[i].id, "name", v[i].name, "interface", v[i].iface,
			"enabled", v[i].enabled, "up", up, "listen_port", v[i].listen_port,
			"peers", kif ? status_peers(r, &v[i], kif) : json_array());

		/* feat-003/010: link counters and the backend of a readable device */
		if (o && kif) {
			json_object_set(o, "device_type", json_object_get(kif, "device_type"));
			json_object_set(o, "interface_stats", json_object_get(kif, "interface_stats"));
		}
		json_array_append_new(nets, o);
	}
	json_decref(ifaces);
	networks_free(v, n);
	resp_json(r, 200, json_pack("{s:o}", "networks", nets));
}
