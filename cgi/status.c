/* SPDX-License-Identifier: MIT */
/* GET /api/status (api.md §8): live peer state from the reconciler merged
 * with the DB's names. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "api.h"
#include "model.h"
#include "sbuf.h"
#include "db.h"

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

/* One kernel peer as a status entry; id 0 = unknown to the DB. */
static void peer_write(struct sbuf *b, long long id, const char *name, json_t *kp, long long now)
{
	const char *key = json_string_value(json_object_get(kp, "public_key"));
	const char *ep = json_string_value(json_object_get(kp, "endpoint"));
	long long hs = json_integer_value(json_object_get(kp, "last_handshake"));

	sb_printf(b, "{\"peer_id\":%lld,\"name\":", id);
	sb_json_str(b, name);
	sb_puts(b, ",\"public_key\":");
	sb_json_str(b, key ? key : "");
	sb_puts(b, ",\"endpoint\":");
	sb_json_str(b, ep ? ep : "");
	sb_printf(b, ",\"last_handshake\":%lld,\"transfer_rx\":%lld,\"transfer_tx\":%lld,"
		  "\"online\":%s}", hs, (long long)json_integer_value(json_object_get(kp, "rx_bytes")),
		  (long long)json_integer_value(json_object_get(kp, "tx_bytes")),
		  hs > 0 && now - hs < ONLINE_WINDOW ? "true" : "false");
}

/* Kernel peers in DB order (by id), then those unknown to the DB (peer_id 0).
 * The kernel peers are indexed by public key, so this is linear. */
static void status_peers(struct req *r, const struct network *n, json_t *kif, struct sbuf *b)
{
	long long now = (long long)time(NULL);
	json_t *kpeers = json_object_get(kif, "peers"), *idx = json_object(), *kp;
	size_t i, nk = json_array_size(kpeers);
	char *used = calloc(nk + 1, 1);
	sqlite3_stmt *st = NULL;
	bool first = true;

	json_array_foreach(kpeers, i, kp) {
		const char *key = json_string_value(json_object_get(kp, "public_key"));
		if (key)
			json_object_set_new(idx, key, json_integer((json_int_t)i));
	}
	sb_putc(b, '[');
	if (used && db_cached(r->app->db, "SELECT id, name, public_key FROM peers "
			       "WHERE network_id = ? ORDER BY id", &st) == 0) {
		sqlite3_bind_int64(st, 1, n->id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *key = (const char *)sqlite3_column_text(st, 2);
			json_t *at = key ? json_object_get(idx, key) : NULL;

			if (!at || used[json_integer_value(at)])
				continue;
			i = (size_t)json_integer_value(at);
			used[i] = 1;
			if (!first)
				sb_putc(b, ',');
			first = false;
			peer_write(b, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
				   json_array_get(kpeers, i), now);
		}
		db_finish(st);
	}
	json_array_foreach(kpeers, i, kp) {
		if (used && used[i])
			continue;
		if (!first)
			sb_putc(b, ',');
		first = false;
		peer_write(b, 0, "", kp, now);
	}
	sb_putc(b, ']');
	free(used);
	json_decref(idx);
}

/* Appends "key":<json of v> when v is there. */
static void put_json(struct sbuf *b, const char *key, json_t *v)
{
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	if (s) {
		sb_printf(b, ",\"%s\":%s", key, s);
		free(s);
	}
}

/* GET /api/status — 200; networks the reconciler cannot read are up:false. */
void status_get(struct req *r)
{
	struct network *v;
	struct sbuf b = SBUF_INIT;
	size_t n;
	json_t *ifaces;

	if (model_network_list(r->app->db, &v, &n) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	ifaces = status_fetch(r, NULL);
	sb_puts(&b, "{\"networks\":[");
	for (size_t i = 0; i < n; i++) {
		json_t *kif = v[i].enabled ? find_iface(ifaces, v[i].iface) : NULL;
		bool up = kif && json_is_true(json_object_get(kif, "up"));

		sb_printf(&b, "%s{\"id\":%lld,\"name\":", i ? "," : "", v[i].id);
		sb_json_str(&b, v[i].name);
		sb_puts(&b, ",\"interface\":");
		sb_json_str(&b, v[i].iface);
		sb_printf(&b, ",\"enabled\":%s,\"up\":%s,\"listen_port\":%d,\"peers\":",
			  v[i].enabled ? "true" : "false", up ? "true" : "false", v[i].listen_port);
		if (kif)
			status_peers(r, &v[i], kif, &b);
		else
			sb_puts(&b, "[]");
		/* feat-003/010: link counters and the backend of a readable device */
		if (kif) {
			put_json(&b, "device_type", json_object_get(kif, "device_type"));
			put_json(&b, "interface_stats", json_object_get(kif, "interface_stats"));
		}
		sb_putc(&b, '}');
	}
	sb_puts(&b, "]}");
	json_decref(ifaces);
	networks_free(v, n);
	if (b.oom)
		resp_error(r, 500, "INTERNAL_ERROR", "out of memory");
	else
		resp_raw(r, 200, "application/json", NULL, b.s, b.len);
	sb_free(&b);
}
