/* SPDX-License-Identifier: MIT */
/* /api/networks/{id}/peers (api.md §6, peers.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "api.h"
#include "db.h"
#include "ipnet.h"
#include "log.h"
#include "model.h"
#include "qr.h"
#include "sbuf.h"
#include "validate.h"
#include "wgconf.h"

#define ONLINE_WINDOW 180       /* seconds since the last handshake (peers.md §7) */

/* Live state of one kernel peer, looked up by public key. */
struct live {
	long long last_handshake, rx, tx;
};

static json_t *live_peers_of(json_t *ifaces, const char *iface)
{
	size_t i;
	json_t *it;

	json_array_foreach(ifaces, i, it)
		if (json_is_string(json_object_get(it, "name"))
		    && strcmp(json_string_value(json_object_get(it, "name")), iface) == 0)
			return json_object_get(it, "peers");
	return NULL;
}

static json_t *peer_json(const struct peer *p, struct live l)
{
	long long now = (long long)time(NULL);
	json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:b,s:b,s:I,s:I,s:I,"
			      "s:o,s:I,s:I,s:s,s:s}",
			      "id", (json_int_t)p->id, "network_id", (json_int_t)p->network_id,
			      "name", p->name, "email", p->email, "public_key", p->public_key,
			      "allowed_ips", p->allowed_ips, "endpoint", p->endpoint,
			      "persistent_keepalive", p->persistent_keepalive, "role", p->role,
			      "site_networks", p->site_networks, "enabled", p->enabled,
			      "online", l.last_handshake > 0 && now - l.last_handshake < ONLINE_WINDOW,
			      "last_handshake", (json_int_t)l.last_handshake,
			      "transfer_rx", (json_int_t)l.rx, "transfer_tx", (json_int_t)l.tx,
			      "expires_at", p->expires_at ? json_integer(p->expires_at) : json_null(),
			      "created_at", (json_int_t)p->created_at, "updated_at", (json_int_t)p->updated_at,
			      "tunnel_type", p->tunnel_type, "split_cidrs", p->split_cidrs);
	return o;
}

/* The kernel peers of a status reply sorted by public key, for bsearch,
 * with their counters read out once. */
struct live_entry {
	const char *key;
	struct live l;
};
struct live_sorted {
	struct live_entry *v;
	size_t n;
};

static int live_cmp(const void *a, const void *b)
{
	return strcmp(((const struct live_entry *)a)->key, ((const struct live_entry *)b)->key);
}

static void live_sort(struct live_sorted *ls, json_t *peers)
{
	size_t i;
	json_t *p;

	ls->n = 0;
	ls->v = malloc((json_array_size(peers) + 1) * sizeof *ls->v);
	if (!ls->v)
		return;
	json_array_foreach(peers, i, p) {
		const char *k = json_string_value(json_object_get(p, "public_key"));
		if (k)
			ls->v[ls->n++] = (struct live_entry){ k, {
				json_integer_value(json_object_get(p, "last_handshake")),
				json_integer_value(json_object_get(p, "rx_bytes")),
				json_integer_value(json_object_get(p, "tx_bytes")) } };
	}
	qsort(ls->v, ls->n, sizeof *ls->v, live_cmp);
}

static struct live live_find(const struct live_sorted *ls, const char *public_key)
{
	struct live_entry key = { public_key, { 0 } }, *e;

	e = ls->v ? bsearch(&key, ls->v, ls->n, sizeof *ls->v, live_cmp) : NULL;
	return e ? e->l : (struct live){ 0 };
}

/* The sorted index of the last status reply seen, kept while the status
 * cache hands out the same reply (a reference is held, so the pointer
 * cannot be reused for another reply): one sort per reply, not per request. */
static struct {
	json_t *ifs;
	struct live_sorted ls;
} live_memo;

static unsigned long long live_gen;     /* changes with live_memo.ifs */

static const struct live_sorted *live_sorted_of(json_t *ifs, const char *iface)
{
	if (ifs != live_memo.ifs) {
		live_gen++;
		json_decref(live_memo.ifs);
		free(live_memo.ls.v);
		live_memo.ls = (struct live_sorted){ 0 };
		live_memo.ifs = json_incref(ifs);
		live_sort(&live_memo.ls, live_peers_of(ifs, iface));
	}
	return &live_memo.ls;
}

/* The columns of peers_list's query, in peer_json's field order. */
static const char list_sql[] =
	"SELECT id, network_id, name, email, public_key, allowed_ips, endpoint, "
	"persistent_keepalive, role, site_networks, enabled, created_at, updated_at, "
	"expires_at, tunnel_type, split_cidrs FROM peers "
	"WHERE network_id = ? ORDER BY id LIMIT ? OFFSET ?";
enum {
	LC_ID, LC_NETWORK, LC_NAME, LC_EMAIL, LC_PUBKEY, LC_ALLOWED, LC_ENDPOINT,
	LC_KEEPALIVE, LC_ROLE, LC_SITES, LC_ENABLED, LC_CREATED, LC_UPDATED,
	LC_EXPIRES, LC_TUNNEL, LC_SPLIT,
};

/* The current row of list_sql as peer_json's object, written as JSON text
 * straight from SQLite's column buffers (no copies, no jansson tree). */
static void peer_write_row(struct sbuf *b, sqlite3_stmt *st, const struct live_sorted *ls,
			   long long now)
{
#define STR(key, i) do { sb_lit(b, key); sb_json_str(b, db_col_text(st, i)); } while (0)
#define INT(key, v) do { sb_lit(b, key); sb_int(b, v); } while (0)
	struct live l = live_find(ls, db_col_text(st, LC_PUBKEY));
	bool online = l.last_handshake > 0 && now - l.last_handshake < ONLINE_WINDOW;

	INT("{\"id\":", sqlite3_column_int64(st, LC_ID));
	INT(",\"network_id\":", sqlite3_column_int64(st, LC_NETWORK));
	STR(",\"name\":", LC_NAME);
	STR(",\"email\":", LC_EMAIL);
	STR(",\"public_key\":", LC_PUBKEY);
	STR(",\"allowed_ips\":", LC_ALLOWED);
	STR(",\"endpoint\":", LC_ENDPOINT);
	INT(",\"persistent_keepalive\":", sqlite3_column_int(st, LC_KEEPALIVE));
	STR(",\"role\":", LC_ROLE);
	STR(",\"site_networks\":", LC_SITES);
	if (sqlite3_column_int(st, LC_ENABLED))
		sb_lit(b, ",\"enabled\":true");
	else
		sb_lit(b, ",\"enabled\":false");
	if (online)
		sb_lit(b, ",\"online\":true");
	else
		sb_lit(b, ",\"online\":false");
	INT(",\"last_handshake\":", l.last_handshake);
	INT(",\"transfer_rx\":", l.rx);
	INT(",\"transfer_tx\":", l.tx);
	if (sqlite3_column_type(st, LC_EXPIRES) == SQLITE_NULL)
		sb_lit(b, ",\"expires_at\":null");
	else
		INT(",\"expires_at\":", sqlite3_column_int64(st, LC_EXPIRES));
	INT(",\"created_at\":", sqlite3_column_int64(st, LC_CREATED));
	INT(",\"updated_at\":", sqlite3_column_int64(st, LC_UPDATED));
	STR(",\"tunnel_type\":", LC_TUNNEL);
	STR(",\"split_cidrs\":", LC_SPLIT);
	sb_putc(b, '}');
#undef INT
#undef STR
}

int peer_load_network(struct req *r, struct network *n)
{
	int found = model_network_get(r->app->db, r->ids[0], n);

	if (found < 0)
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
	else if (found == 0)
		resp_error(r, 404, "NETWORK_NOT_FOUND", "network %lld not found", r->ids[0]);
	return found;
}

int peer_load_peer(struct req *r, struct peer *p)
{
	int found = model_peer_get(r->app->db, r->ids[0], r->ids[1], p);

	if (found < 0)
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
	else if (found == 0)
		resp_error(r, 404, "PEER_NOT_FOUND", "peer %lld not found in network %lld",
			   r->ids[1], r->ids[0]);
	return found;
}

/* The live state of one peer of network n (zeros when the network is
 * disabled, its state unavailable or the peer not in the kernel), from the
 * same sorted index as the list: one status call per request. */
static struct live live_of_peer(struct req *r, const struct network *n, const char *public_key)
{
	struct live l = { 0 };
	json_t *ifs;

	if (n->enabled && (ifs = status_fetch(r, n->iface))) {
		l = live_find(live_sorted_of(ifs, n->iface), public_key);
		json_decref(ifs);
	}
	return l;
}

/* GET /api/networks/{id}/peers[?limit=N&offset=M] — 200 array ordered by id;
 * 400 VALIDATION_ERROR bad limit/offset; 404 NETWORK_NOT_FOUND; 500
 * database error. One SQL query and one reconciler status call. */
/*
 * The last lists this worker sent. A list is a function of the DB, the
 * live state (one status reply, kept up to a second by status_fetch) and
 * the current second (online), so while none of them moved the same bytes
 * go out again instead of being rebuilt: dashboards polling one network
 * cost a render per second per worker, not one per request. Auth runs for
 * every request before this.
 */
enum { LIST_MEMOS = 2, LIST_MEMO_MAX = 512 * 1024 };
static struct list_memo {
	long long net, limit, offset, now;
	unsigned long long live;        /* live_gen, 0 = no live state */
	struct db_version dbv;
	char *body;
	size_t len;
} list_memos[LIST_MEMOS];
static unsigned list_memo_next;

static struct list_memo *list_memo_find(const struct list_memo *key)
{
	for (int i = 0; i < LIST_MEMOS; i++) {
		struct list_memo *m = &list_memos[i];

		if (m->body && m->net == key->net && m->limit == key->limit && m->offset == key->offset
		    && m->now == key->now && m->live == key->live && m->dbv.others == key->dbv.others
		    && m->dbv.own == key->dbv.own)
			return m;
	}
	return NULL;
}

static void list_memo_store(const struct list_memo *key, const struct sbuf *out)
{
	struct list_memo *m = &list_memos[list_memo_next++ % LIST_MEMOS];

	free(m->body);
	*m = *key;
	m->body = NULL;
	if (out->len > LIST_MEMO_MAX || !(m->body = malloc(out->len)))
		return;
	memcpy(m->body, out->s, out->len);
	m->len = out->len;
}

void peers_list(struct req *r)
{
	struct network n;
	long long limit, offset;
	struct sbuf out = SBUF_INIT;
	static const struct live_sorted none;
	const struct live_sorted *ls = &none;
	sqlite3_stmt *st;
	json_t *ifs = NULL;
	long long now = (long long)time(NULL);
	struct list_memo key = { 0 }, *hit;
	bool first = true, memo;
	int rc;

	if (networks_page(r, &limit, &offset) < 0 || peer_load_network(r, &n) != 1)
		return;
	if (n.enabled && (ifs = status_fetch(r, n.iface)))
		ls = live_sorted_of(ifs, n.iface);
	key = (struct list_memo){ .net = n.id, .limit = limit, .offset = offset, .now = now,
				  .live = ifs ? live_gen : 0 };
	memo = db_version(r->app->db, &key.dbv) == 0;
	if (memo && (hit = list_memo_find(&key))) {
		json_decref(ifs);
		network_free(&n);
		resp_raw(r, 200, "application/json", NULL, hit->body, hit->len);
		return;
	}
	if (db_cached(r->app->db, list_sql, &st) < 0) {
		json_decref(ifs);
		network_free(&n);
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	sqlite3_bind_int64(st, 1, n.id);
	sqlite3_bind_int64(st, 2, limit);
	sqlite3_bind_int64(st, 3, offset);
	/* Rows go straight from SQLite into one buffer: building a struct and a
	 * jansson tree per peer cost more than the rest of the request. About
	 * 420 bytes a peer: reserved up front instead of grown. */
	sb_reserve(&out, 64 + 448 * (size_t)(limit > 0 && limit < 1000 ? limit : 100));
	sb_putc(&out, '[');
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!first)
			sb_putc(&out, ',');
		first = false;
		peer_write_row(&out, st, ls, now);
	}
	sb_putc(&out, ']');
	db_finish(st);
	json_decref(ifs);
	network_free(&n);
	if (rc != SQLITE_DONE)
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
	else if (out.oom)
		resp_error(r, 500, "INTERNAL_ERROR", "out of memory");
	else {
		if (memo)
			list_memo_store(&key, &out);
		resp_raw(r, 200, "application/json", NULL, out.s, out.len);
	}
	sb_free(&out);
}

/* GET /api/networks/{id}/peers/{pid} — 200; 404 NETWORK_/PEER_NOT_FOUND. */
void peers_get(struct req *r)
{
	struct network n;
	struct peer p;

	if (peer_load_network(r, &n) != 1)
		return;
	if (peer_load_peer(r, &p) == 1) {
		resp_json(r, 200, peer_json(&p, live_of_peer(r, &n, p.public_key)));
		peer_free(&p);
	}
	network_free(&n);
}

enum { PF_NAME, PF_EMAIL, PF_ROLE, PF_KEEPALIVE, PF_SITES, PF_EXPIRES, PF_TUNNEL, PF_SPLIT, PF__MAX };
static const struct field create_fields[PF__MAX] = {
	[PF_NAME] = { "name", FT_STRING, FF_REQUIRED, v_name, NULL, NULL },
	[PF_EMAIL] = { "email", FT_STRING, 0, v_email, NULL, NULL },
	[PF_ROLE] = { "role", FT_STRING, 0, v_peer_role, NULL, NULL },
	[PF_KEEPALIVE] = { "persistent_keepalive", FT_INT, 0, NULL, v_keepalive, NULL },
	[PF_SITES] = { "site_networks", FT_STRING, 0, v_cidr_list, NULL, NULL },
	[PF_EXPIRES] = { "expires_in", FT_STRING, FF_EMPTY_OK, NULL, NULL, NULL },
	[PF_TUNNEL] = { "tunnel_type", FT_STRING, 0, v_tunnel_type, NULL, NULL },
	[PF_SPLIT] = { "split_cidrs", FT_STRING, 0, v_cidr_list, NULL, NULL },
};

/* Every address used in network_id (networking.md §4). 0 or -errno. */
static int used_addresses(sqlite3 *db, long long network_id, struct ipnet **used, size_t *nused)
{
	sqlite3_stmt *st;
	size_t total = 0, cap = 0;
	int rc, err = db_prepare(db, "SELECT allowed_ips FROM peers WHERE network_id = ?", &st);

	*used = NULL;
	*nused = 0;
	if (err < 0)
		return err;
	sqlite3_bind_int64(st, 1, network_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *ips = (const char *)sqlite3_column_text(st, 0);
		struct ipnet *items;
		size_t k;

		if (!ips || ipnet_parse_list(ips, &items, &k, NULL) < 0)
			continue;
		if (total + k > cap) {
			size_t ncap = (total + k) * 2;
			struct ipnet *grown = realloc(*used, ncap * sizeof **used);

			if (!grown) {
				free(items);
				err = -ENOMEM;
				break;
			}
			*used = grown;
			cap = ncap;
		}
		memcpy(*used + total, items, k * sizeof *items);
		total += k;
		free(items);
	}
	if (!err && rc != SQLITE_DONE)
		err = db_rc_errno(rc);
	sqlite3_finalize(st);
	*nused = total;
	return err;
}

/* Keys of a new peer: sealed private key and PSK, plain public key. */
static int peer_keys(struct req *r, struct peer *p)
{
	uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN], psk[WG_KEY_LEN];
	char b64[WG_KEY_B64_LEN + 1];

	key_generate_private(priv);
	key_public_from_private(pub, priv);
	key_generate_psk(psk);
	key_to_b64(b64, priv);
	p->private_key = secret_seal(r->app->keys.enc, b64);
	key_to_b64(b64, psk);
	p->preshared_key = secret_seal(r->app->keys.enc, b64);
	key_to_b64(p->public_key, pub);
	sodium_memzero(b64, sizeof b64);
	sodium_memzero(priv, sizeof priv);
	sodium_memzero(psk, sizeof psk);
	return p->private_key && p->preshared_key ? 0 : -ENOMEM;
}

/* Allocates the address and inserts the row in one BEGIN IMMEDIATE
 * transaction, so concurrent creations never share an address.
 * 0, or -1 with the response sent. */
static int peer_insert(struct req *r, const struct network *n, struct peer *p)
{
	struct ipnet subnet, addr, *used = NULL;
	char ip[IPNET_STRLEN];
	size_t nused;
	int err;

	if (ipnet_parse_cidr(&subnet, n->subnet) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "stored subnet is invalid");
		return -1;
	}
	if (db_exec(r->app->db, "BEGIN IMMEDIATE") < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database busy");
		return -1;
	}
	if (used_addresses(r->app->db, n->id, &used, &nused) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		goto rollback;
	}
	err = ipnet_alloc(&subnet, used, nused, &addr);
	free(used);
	if (err < 0) {
		resp_error(r, 409, "IP_POOL_EXHAUSTED", "no available IPs in subnet %s", n->subnet);
		goto rollback;
	}
	ipaddr_format(ip, &addr);
	p->allowed_ips = wgconf_server_allowed_ips(ip, p->role, p->site_networks);
	if (!p->allowed_ips) {
		resp_error(r, 500, "INTERNAL_ERROR", "out of memory");
		goto rollback;
	}
	err = model_peer_insert(r->app->db, p);
	if (err == -EEXIST) {
		resp_error(r, 409, "PEER_ALREADY_EXISTS", "a peer with this public key exists");
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

/* Validates the body into p; -1 after sending the 400. */
static int peer_from_body(struct req *r, struct peer *p, int keepalive_default)
{
	struct verrs v = { 0 };
	struct body b;
	long long secs = 0;

	body_parse(r, create_fields, PF__MAX, &b, &v);
	if (b.has[PF_EXPIRES] && parse_duration(b.s[PF_EXPIRES], &secs) < 0)
		verr_add(&v, "expires_in", DURATION_MSG);
	if (b.has[PF_SITES] && b.s[PF_SITES][0]
	    && strcmp(body_str(&b, PF_ROLE, "client"), "site-gateway") != 0)
		verr_add(&v, "site_networks", "only allowed for role site-gateway");
	if (b.has[PF_SPLIT] && b.s[PF_SPLIT][0]
	    && strcmp(body_str(&b, PF_TUNNEL, "full"), "split") != 0)
		verr_add(&v, "split_cidrs", "only allowed for tunnel_type split");
	if (verr_any(&v)) {
		body_free(&b);
		resp_verrs(r, &v);
		return -1;
	}
	snprintf(p->name, sizeof p->name, "%s", b.s[PF_NAME]);
	snprintf(p->email, sizeof p->email, "%s", body_str(&b, PF_EMAIL, ""));
	snprintf(p->role, sizeof p->role, "%s", body_str(&b, PF_ROLE, "client"));
	snprintf(p->tunnel_type, sizeof p->tunnel_type, "%s", body_str(&b, PF_TUNNEL, "full"));
	p->persistent_keepalive = b.has[PF_KEEPALIVE] ? (int)b.i[PF_KEEPALIVE] : keepalive_default;
	p->site_networks = strdup(body_str(&b, PF_SITES, ""));
	p->split_cidrs = strdup(body_str(&b, PF_SPLIT, ""));
	if (p->site_networks)
		list_normalize(p->site_networks, strlen(p->site_networks) + 1, p->site_networks);
	if (p->split_cidrs)
		list_normalize(p->split_cidrs, strlen(p->split_cidrs) + 1, p->split_cidrs);
	p->expires_at = secs ? (long long)time(NULL) + secs : 0;
	p->enabled = true;
	body_free(&b);
	if (!p->site_networks || !p->split_cidrs) {
		resp_error(r, 500, "INTERNAL_ERROR", "out of memory");
		return -1;
	}
	return 0;
}

json_t *peer_create_from_body(struct req *r, long long network_id, int keepalive_default, long long *id)
{
	struct network n;
	struct peer p = { .network_id = network_id };
	char code[48], msg[256], res[40];
	json_t *out = NULL;
	int found = model_network_get(r->app->db, network_id, &n);

	if (found <= 0) {
		if (found < 0)
			resp_error(r, 500, "INTERNAL_ERROR", "database error");
		else
			resp_error(r, 404, "NETWORK_NOT_FOUND", "network %lld not found", network_id);
		return NULL;
	}
	if (peer_from_body(r, &p, keepalive_default) < 0)
		goto out;
	if (peer_keys(r, &p) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "out of memory");
		goto out;
	}
	if (peer_insert(r, &n, &p) < 0)
		goto out;
	if (reconciler_call(r, "apply_peer", json_pack("{s:I,s:I}", "network_id", (json_int_t)n.id,
			    "peer_id", (json_int_t)p.id), code, msg) < 0) {
		model_peer_delete(r->app->db, n.id, p.id);
		resp_error(r, reconciler_status(code), reconciler_status(code) == 503 ? code
			   : "WG_PEER_ADD_FAILED", "%s", msg);
		goto out;
	}
	log_info("handler", "peer_created", json_pack("{s:I,s:s,s:I,s:s,s:s}", "peer_id",
		 (json_int_t)p.id, "peer_name", p.name, "network_id", (json_int_t)n.id,
		 "public_key", p.public_key, "allowed_ips", p.allowed_ips));
	snprintf(res, sizeof res, "peer:%lld", p.id);
	audit(r, "peer.created", res, json_pack("{s:s,s:I,s:s}", "name", p.name,
	      "network_id", (json_int_t)n.id, "allowed_ips", p.allowed_ips));
	*id = p.id;
	out = peer_json(&p, (struct live){ 0 });
out:
	peer_free(&p);
	network_free(&n);
	return out;
}

/* POST /api/networks/{id}/peers — 201 peer; 400 VALIDATION_ERROR; 404
 * NETWORK_NOT_FOUND; 409 IP_POOL_EXHAUSTED; 500 WG_PEER_ADD_FAILED and 503
 * RECONCILER_UNAVAILABLE (row removed again). */
void peers_create(struct req *r)
{
	long long id;
	json_t *p = peer_create_from_body(r, r->ids[0], 0, &id);

	if (p)
		resp_json(r, 201, p);
}

/* ---- changes to an existing peer ---- */

/* Writes p (previous state in old), then apply_peer. On a reconciler failure
 * the row goes back to old, the reconciler is asked again (best effort) so
 * the kernel follows the reverted row, and its code is returned: 503
 * RECONCILER_UNAVAILABLE, else 500 with the code. 0, or -1 with the response
 * sent. */
/* Puts the peer's row back as it was. */
static int revert_peer(struct req *r, void *old)
{
	struct peer *p = old;

	if (model_peer_update(r->app->db, p, true) >= 0)
		return 0;
	log_error("handler", "peer_revert_failed", json_pack("{s:I,s:I,s:s}", "peer_id",
		  (json_int_t)p->id, "network_id", (json_int_t)p->network_id,
		  "request_id", r->request_id));
	return -1;
}

static int save_and_apply(struct req *r, struct peer *p, struct peer *old)
{
	int err = model_peer_update(r->app->db, p, false);

	if (err <= 0) {
		if (err == 0)
			resp_error(r, 404, "PEER_NOT_FOUND", "peer %lld not found in network %lld",
				   p->id, p->network_id);
		else
			resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return -1;
	}
	return reconciler_apply_or_revert(r, "apply_peer",
					  json_pack("{s:I,s:I}", "network_id", (json_int_t)p->network_id,
						    "peer_id", (json_int_t)p->id),
					  revert_peer, old);
}

enum {
	UP_NAME, UP_EMAIL, UP_ENABLED, UP_KEEPALIVE, UP_ENDPOINT, UP_EXPIRES, UP_TUNNEL, UP_SPLIT,
	/* known but not changeable */
	UP_ROLE, UP_SITES, UP_ALLOWED, UP_ID, UP_NETID, UP_PUBKEY, UP_ONLINE, UP_HANDSHAKE,
	UP_RX, UP_TX, UP_EXPIRES_AT, UP_CREATED, UP_UPDATED, UP__MAX
};
static const struct field update_fields[UP__MAX] = {
	[UP_NAME] = { "name", FT_STRING, 0, v_name, NULL, NULL },
	[UP_EMAIL] = { "email", FT_STRING, 0, v_email, NULL, NULL },
	[UP_ENABLED] = { "enabled", FT_BOOL, 0, NULL, NULL, NULL },
	[UP_KEEPALIVE] = { "persistent_keepalive", FT_INT, 0, NULL, v_keepalive, NULL },
	[UP_ENDPOINT] = { "endpoint", FT_STRING, 0, v_endpoint, NULL, NULL },
	/* "" clears the expiry; checked by the handler */
	[UP_EXPIRES] = { "expires_in", FT_STRING, 0, NULL, NULL, NULL },
	[UP_TUNNEL] = { "tunnel_type", FT_STRING, 0, v_tunnel_type, NULL, NULL },
	[UP_SPLIT] = { "split_cidrs", FT_STRING, 0, v_cidr_list, NULL, NULL },
	[UP_ROLE] = { "role", FT_STRING, FF_IMMUTABLE, NULL, NULL, NULL },
	[UP_SITES] = { "site_networks", FT_STRING, FF_IMMUTABLE, NULL, NULL, NULL },
	[UP_ALLOWED] = { "allowed_ips", FT_STRING, FF_IMMUTABLE, NULL, NULL, NULL },
	[UP_ID] = { "id", FT_INT, FF_IMMUTABLE, NULL, NULL, NULL },
	[UP_NETID] = { "network_id", FT_INT, FF_IMMUTABLE, NULL, NULL, NULL },
	[UP_PUBKEY] = { "public_key", FT_STRING, FF_IMMUTABLE, NULL, NULL, NULL },
	[UP_ONLINE] = { "online", FT_BOOL, FF_IMMUTABLE, NULL, NULL, NULL },
	[UP_HANDSHAKE] = { "last_handshake", FT_INT, FF_IMMUTABLE, NULL, NULL, NULL },
	[UP_RX] = { "transfer_rx", FT_INT, FF_IMMUTABLE, NULL, NULL, NULL },
	[UP_TX] = { "transfer_tx", FT_INT, FF_IMMUTABLE, NULL, NULL, NULL },
	[UP_EXPIRES_AT] = { "expires_at", FT_INT, FF_IMMUTABLE, NULL, NULL, NULL },
	[UP_CREATED] = { "created_at", FT_INT, FF_IMMUTABLE, NULL, NULL, NULL },
	[UP_UPDATED] = { "updated_at", FT_INT, FF_IMMUTABLE, NULL, NULL, NULL },
};

/* Applies the valid body b to p, recording each changed field (new value)
 * in changes. split is where a new split_cidrs string goes (caller frees). */
static void apply_changes(struct peer *p, const struct body *b, long long expires_at,
			  char **split, json_t *changes)
{
	if (b->has[UP_NAME] && strcmp(b->s[UP_NAME], p->name) != 0) {
		snprintf(p->name, sizeof p->name, "%s", b->s[UP_NAME]);
		json_object_set_new(changes, "name", json_string(p->name));
	}
	if (b->has[UP_EMAIL] && strcmp(b->s[UP_EMAIL], p->email) != 0) {
		snprintf(p->email, sizeof p->email, "%s", b->s[UP_EMAIL]);
		json_object_set_new(changes, "email", json_string(p->email));
	}
	if (b->has[UP_ENABLED] && b->b[UP_ENABLED] != p->enabled) {
		p->enabled = b->b[UP_ENABLED];
		json_object_set_new(changes, "enabled", json_boolean(p->enabled));
	}
	if (b->has[UP_KEEPALIVE] && b->i[UP_KEEPALIVE] != p->persistent_keepalive) {
		p->persistent_keepalive = (int)b->i[UP_KEEPALIVE];
		json_object_set_new(changes, "persistent_keepalive", json_integer(p->persistent_keepalive));
	}
	if (b->has[UP_ENDPOINT] && strcmp(b->s[UP_ENDPOINT], p->endpoint) != 0) {
		snprintf(p->endpoint, sizeof p->endpoint, "%s", b->s[UP_ENDPOINT]);
		json_object_set_new(changes, "endpoint", json_string(p->endpoint));
	}
	/* A new duration always moves the expiry (counted from now). */
	if (b->has[UP_EXPIRES] && (expires_at || p->expires_at)) {
		p->expires_at = expires_at;
		json_object_set_new(changes, "expires_at", expires_at ? json_integer(expires_at) : json_null());
	}
	if (b->has[UP_TUNNEL] && strcmp(b->s[UP_TUNNEL], p->tunnel_type) != 0) {
		snprintf(p->tunnel_type, sizeof p->tunnel_type, "%s", b->s[UP_TUNNEL]);
		json_object_set_new(changes, "tunnel_type", json_string(p->tunnel_type));
	}
	if (*split && strcmp(*split, p->split_cidrs) != 0) {
		p->split_cidrs = *split;
		json_object_set_new(changes, "split_cidrs", json_string(p->split_cidrs));
	}
}

static json_t *field_names(json_t *changes)
{
	json_t *names = json_array(), *val;
	const char *key;

	json_object_foreach(changes, key, val)
		json_array_append_new(names, json_string(key));
	return names;
}

/* PUT /api/networks/{id}/peers/{pid} — any of name, email, enabled,
 * persistent_keepalive, endpoint, expires_in ("" clears), tunnel_type,
 * split_cidrs. 200 peer (unchanged when nothing differs); 404
 * NETWORK_/PEER_NOT_FOUND; 400 VALIDATION_ERROR (every bad field: unknown,
 * wrong type, invalid, "immutable" for role, site_networks, allowed_ips and
 * the other peer fields); 500 reconciler code or 503 RECONCILER_UNAVAILABLE
 * (row reverted). */
void peers_update(struct req *r)
{
	struct network n;
	struct peer p, cur;
	struct verrs v = { 0 };
	struct body b;
	long long secs = 0, expires_at = 0;
	char *split = NULL, res[40];
	json_t *changes = NULL;

	if (peer_load_network(r, &n) != 1)
		return;
	if (peer_load_peer(r, &p) != 1) {
		network_free(&n);
		return;
	}
	body_parse(r, update_fields, UP__MAX, &b, &v);
	if (b.has[UP_EXPIRES] && b.s[UP_EXPIRES][0] && parse_duration(b.s[UP_EXPIRES], &secs) < 0)
		verr_add(&v, "expires_in", DURATION_MSG);
	if (b.has[UP_SPLIT] && b.s[UP_SPLIT][0]
	    && strcmp(body_str(&b, UP_TUNNEL, p.tunnel_type), "split") != 0)
		verr_add(&v, "split_cidrs", "only allowed for tunnel_type split");
	if (verr_any(&v)) {
		body_free(&b);
		resp_verrs(r, &v);
		goto out;
	}
	if (b.has[UP_SPLIT] && !(split = strdup(b.s[UP_SPLIT]))) {
		body_free(&b);
		resp_error(r, 500, "INTERNAL_ERROR", "out of memory");
		goto out;
	}
	if (split)
		list_normalize(split, strlen(split) + 1, split);
	expires_at = secs ? (long long)time(NULL) + secs : 0;
	/* cur shares p's allocations; only split (if set) is its own. */
	cur = p;
	changes = json_object();
	apply_changes(&cur, &b, expires_at, &split, changes);
	body_free(&b);
	if (json_object_size(changes) > 0) {
		if (save_and_apply(r, &cur, &p) < 0)
			goto out;
		log_info("handler", "peer_updated", json_pack("{s:I,s:s,s:I,s:o}", "peer_id",
			 (json_int_t)cur.id, "peer_name", cur.name, "network_id", (json_int_t)n.id,
			 "fields", field_names(changes)));
		snprintf(res, sizeof res, "peer:%lld", cur.id);
		audit(r, "peer.updated", res, changes);
		changes = NULL;
	}
	resp_json(r, 200, peer_json(&cur, live_of_peer(r, &n, cur.public_key)));
out:
	json_decref(changes);
	free(split);
	peer_free(&p);
	network_free(&n);
}

/* POST …/peers/{pid}/enable and /disable — 200 peer (no-op when already in
 * that state); 404 NETWORK_/PEER_NOT_FOUND; 500 reconciler code or 503
 * RECONCILER_UNAVAILABLE (flag reverted). Disabled peers keep row, address
 * and keys; the reconciler removes them from the kernel. */
static void set_enabled(struct req *r, bool on)
{
	struct network n;
	struct peer p, cur;
	char res[40];

	if (peer_load_network(r, &n) != 1)
		return;
	if (peer_load_peer(r, &p) != 1) {
		network_free(&n);
		return;
	}
	cur = p;        /* shares p's allocations */
	if (p.enabled != on) {
		cur.enabled = on;
		if (save_and_apply(r, &cur, &p) < 0)
			goto out;
		log_info("handler", on ? "peer_enabled" : "peer_disabled", json_pack("{s:I,s:s,s:I,s:s}",
			 "peer_id", (json_int_t)cur.id, "peer_name", cur.name, "network_id",
			 (json_int_t)n.id, "public_key", cur.public_key));
		snprintf(res, sizeof res, "peer:%lld", cur.id);
		audit(r, on ? "peer.enabled" : "peer.disabled", res, json_pack("{s:s,s:I}", "name",
		      cur.name, "network_id", (json_int_t)n.id));
	}
	resp_json(r, 200, peer_json(&cur, live_of_peer(r, &n, cur.public_key)));
out:
	peer_free(&p);
	network_free(&n);
}

void peers_enable(struct req *r)
{
	set_enabled(r, true);
}

void peers_disable(struct req *r)
{
	set_enabled(r, false);
}

/* DELETE …/peers/{pid} — 204; 404 NETWORK_/PEER_NOT_FOUND; 503
 * RECONCILER_UNAVAILABLE (checked first: nothing is deleted); 500 database
 * error. The row goes before remove_peer so that no concurrent
 * level-triggered apply can put the peer back; a failed removal is only
 * logged (the next full pass removes peers without a row). The address
 * returns to the pool with the row. */
void peers_delete(struct req *r)
{
	struct network n;
	struct peer p;
	char code[48], msg[256], res[40];
	int err;

	if (peer_load_network(r, &n) != 1)
		return;
	if (peer_load_peer(r, &p) != 1) {
		network_free(&n);
		return;
	}
	if (reconciler_call(r, "ping", NULL, code, msg) < 0) {
		resp_error(r, reconciler_status(code), code, "%s", msg);
		goto out;
	}
	err = model_peer_delete(r->app->db, n.id, p.id);
	if (err <= 0) {
		if (err == 0)
			resp_error(r, 404, "PEER_NOT_FOUND", "peer %lld not found in network %lld",
				   p.id, n.id);
		else
			resp_error(r, 500, "INTERNAL_ERROR", "database error");
		goto out;
	}
	if (reconciler_call(r, "remove_peer", json_pack("{s:s,s:s}", "interface", n.iface,
			    "public_key", p.public_key), code, msg) < 0)
		log_error("handler", "peer_remove_failed", json_pack("{s:I,s:s,s:s,s:s,s:s}",
			  "peer_id", (json_int_t)p.id, "interface", n.iface, "code", code,
			  "error", msg, "request_id", r->request_id));
	log_info("handler", "peer_deleted", json_pack("{s:I,s:s,s:I,s:s,s:s}", "peer_id",
		 (json_int_t)p.id, "peer_name", p.name, "network_id", (json_int_t)n.id,
		 "public_key", p.public_key, "allowed_ips", p.allowed_ips));
	snprintf(res, sizeof res, "peer:%lld", p.id);
	audit(r, "peer.deleted", res, json_pack("{s:s,s:I,s:s}", "name", p.name,
	      "network_id", (json_int_t)n.id, "allowed_ips", p.allowed_ips));
	resp_empty(r, 204);
out:
	peer_free(&p);
	network_free(&n);
}
