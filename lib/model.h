/* SPDX-License-Identifier: MIT */
/*
 * Networks and peers as stored (data-model.md §2), with the queries both the
 * API workers and the reconciler need. Private keys and PSKs stay in their
 * stored (encrypted) form here; decrypt with secret_open() where needed.
 * Lookups: 1 found, 0 not found, <0 -errno.
 */
#ifndef WGP_MODEL_H
#define WGP_MODEL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

struct network {
	long long id;
	char name[72];
	char iface[16];
	char mode[16];
	char subnet[64];
	int listen_port;
	char *private_key;      /* stored form (sb1:...), malloc'd */
	char public_key[48];
	char dns_servers[256];
	bool nat_enabled, inter_peer_routing, enabled;
	long long created_at, updated_at;
	int mtu;                /* feat-005, 1280-9000, default NETWORK_MTU_DEFAULT */
	int peer_count;         /* filled by list queries */
};

#define NETWORK_MTU_DEFAULT 1420

struct peer {
	long long id, network_id;
	char name[72];
	char email[256];
	char *private_key;      /* stored form, malloc'd; "" for imported */
	char public_key[48];
	char *preshared_key;    /* stored form, malloc'd */
	char *allowed_ips;      /* malloc'd */
	char endpoint[280];
	int persistent_keepalive;
	char role[16];
	char *site_networks;    /* malloc'd */
	bool enabled;
	long long created_at, updated_at;
	long long expires_at;   /* 0 = NULL (never) */
	char tunnel_type[8];
	char *split_cidrs;      /* malloc'd */
};

void network_free(struct network *n);      /* frees members, not n; NULL-safe */
void networks_free(struct network *v, size_t n);
void peer_free(struct peer *p);
void peers_free(struct peer *v, size_t n);

int model_network_get(sqlite3 *db, long long id, struct network *out);
int model_network_by_iface(sqlite3 *db, const char *iface, struct network *out);
/* All networks ordered by id, with peer_count. 0 or -errno. */
int model_network_list(sqlite3 *db, struct network **out, size_t *n);
/* One page of that list: limit < 0 = no limit, offset >= 0. 0 or -errno. */
int model_network_page(sqlite3 *db, long long limit, long long offset,
		       struct network **out, size_t *n);
/* Inserts n (id, iface, created_at, updated_at filled on success).
 * The iface is the smallest free wgN; subnet overlap and port clash are the
 * caller's checks. 0, -EEXIST (UNIQUE port or iface), -errno. */
int model_network_insert(sqlite3 *db, struct network *n);
/* 1 deleted (peers, snapshots and bridges cascade), 0 no such row, -errno. */
int model_network_delete(sqlite3 *db, long long id);
/* Writes the mutable columns of n (name, dns_servers, nat_enabled,
 * inter_peer_routing, enabled) to row n->id. updated_at becomes now, or stays
 * n->updated_at with keep_time (reverting a change); n->updated_at gets the
 * stored value. 1 updated, 0 no such row, -errno. */
int model_network_update(sqlite3 *db, struct network *n, bool keep_time);
/* Smallest N >= 0 such that "wgN" is not used by any row. */
int model_next_iface(sqlite3 *db, char out[16]);

int model_peer_get(sqlite3 *db, long long network_id, long long id, struct peer *out);
/* Peers of one network ordered by id. 0 or -errno. */
int model_peer_list(sqlite3 *db, long long network_id, struct peer **out, size_t *n);
/* One page of that list: limit < 0 = no limit, offset >= 0. 0 or -errno. */
int model_peer_page(sqlite3 *db, long long network_id, long long limit, long long offset,
		    struct peer **out, size_t *n);
/* Inserts p (id, created_at, updated_at filled). 0, -EEXIST, -errno. */
int model_peer_insert(sqlite3 *db, struct peer *p);
/* 1 deleted (snapshots cascade), 0 no such row, -errno. */
int model_peer_delete(sqlite3 *db, long long network_id, long long id);
/* Writes the mutable columns of p (name, email, enabled, persistent_keepalive,
 * endpoint, expires_at (0 = NULL), tunnel_type, split_cidrs) to row
 * (p->network_id, p->id); updated_at as model_network_update. 1, 0, -errno. */
int model_peer_update(sqlite3 *db, struct peer *p, bool keep_time);

#endif
