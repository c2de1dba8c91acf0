/* SPDX-License-Identifier: MIT */
/* Network and peer rows; see model.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db.h"
#include "model.h"

enum sql {
	SQL_NET_GET, SQL_NET_BY_IFACE, SQL_NET_LIST, SQL_NET_INSERT, SQL_NET_DELETE,
	SQL_NET_IFACES, SQL_PEER_GET, SQL_PEER_LIST, SQL_PEER_INSERT, SQL_PEER_DELETE,
	SQL_NET_UPDATE, SQL_PEER_UPDATE, SQL__MAX
};

#define NET_COLS "n.id, n.name, n.interface, n.mode, n.subnet, n.listen_port, " \
	"n.private_key, n.public_key, n.dns_servers, n.nat_enabled, " \
	"n.inter_peer_routing, n.enabled, n.created_at, n.updated_at, n.mtu"
#define PEER_COLS "id, network_id, name, email, private_key, public_key, " \
	"preshared_key, allowed_ips, endpoint, persistent_keepalive, role, " \
	"site_networks, enabled, created_at, updated_at, expires_at, tunnel_type, split_cidrs"

static const char *const sqls[SQL__MAX] = {
	[SQL_NET_GET] = "SELECT " NET_COLS ", 0 FROM networks n WHERE n.id = ?",
	[SQL_NET_BY_IFACE] = "SELECT " NET_COLS ", 0 FROM networks n WHERE n.interface = ?",
	[SQL_NET_LIST] = "SELECT " NET_COLS ", (SELECT COUNT(*) FROM peers p WHERE p.network_id = n.id) "
		"FROM networks n ORDER BY n.id LIMIT ? OFFSET ?",
	[SQL_NET_INSERT] = "INSERT INTO networks (name, interface, mode, subnet, listen_port, "
		"private_key, public_key, dns_servers, nat_enabled, inter_peer_routing, enabled, mtu) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id, created_at, updated_at",
	[SQL_NET_DELETE] = "DELETE FROM networks WHERE id = ?",
	[SQL_NET_IFACES] = "SELECT interface FROM networks",
	[SQL_PEER_GET] = "SELECT " PEER_COLS " FROM peers WHERE network_id = ? AND id = ?",
	[SQL_PEER_LIST] = "SELECT " PEER_COLS " FROM peers WHERE network_id = ? ORDER BY id "
		"LIMIT ? OFFSET ?",
	[SQL_PEER_INSERT] = "INSERT INTO peers (network_id, name, email, private_key, public_key, "
		"preshared_key, allowed_ips, endpoint, persistent_keepalive, role, site_networks, "
		"enabled, expires_at, tunnel_type, split_cidrs) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id, created_at, updated_at",
	[SQL_PEER_DELETE] = "DELETE FROM peers WHERE network_id = ? AND id = ?",
	/* ?6 NULL = now; a revert passes the old updated_at back. */
	[SQL_NET_UPDATE] = "UPDATE networks SET name = ?1, dns_servers = ?2, nat_enabled = ?3, "
		"inter_peer_routing = ?4, enabled = ?5, updated_at = coalesce(?6, unixepoch()), "
		"mtu = ?8 WHERE id = ?7 RETURNING updated_at",
	[SQL_PEER_UPDATE] = "UPDATE peers SET name = ?1, email = ?2, enabled = ?3, "
		"persistent_keepalive = ?4, endpoint = ?5, expires_at = ?6, tunnel_type = ?7, "
		"split_cidrs = ?8, updated_at = coalesce(?9, unixepoch()) "
		"WHERE network_id = ?10 AND id = ?11 RETURNING updated_at",
};

static int col_dup(char **dst, sqlite3_stmt *st, int i)
{
	*dst = strdup(db_col_text(st, i));
	return *dst ? 0 : -ENOMEM;
}

void network_free(struct network *n)
{
	if (!n)
		return;
	free(n->private_key);
	n->private_key = NULL;
}

void networks_free(struct network *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		network_free(&v[i]);
	free(v);
}

void peer_free(struct peer *p)
{
	if (!p)
		return;
	free(p->private_key);
	free(p->preshared_key);
	free(p->allowed_ips);
	free(p->site_networks);
	free(p->split_cidrs);
	p->private_key = p->preshared_key = p->allowed_ips = NULL;
	p->site_networks = p->split_cidrs = NULL;
}

void peers_free(struct peer *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		peer_free(&v[i]);
	free(v);
}

static int network_row(sqlite3_stmt *st, struct network *n)
{
	memset(n, 0, sizeof *n);
	n->id = sqlite3_column_int64(st, 0);
	db_col_copy(n->name, sizeof n->name, st, 1);
	db_col_copy(n->iface, sizeof n->iface, st, 2);
	db_col_copy(n->mode, sizeof n->mode, st, 3);
	db_col_copy(n->subnet, sizeof n->subnet, st, 4);
	n->listen_port = sqlite3_column_int(st, 5);
	db_col_copy(n->public_key, sizeof n->public_key, st, 7);
	db_col_copy(n->dns_servers, sizeof n->dns_servers, st, 8);
	n->nat_enabled = sqlite3_column_int(st, 9);
	n->inter_peer_routing = sqlite3_column_int(st, 10);
	n->enabled = sqlite3_column_int(st, 11);
	n->created_at = sqlite3_column_int64(st, 12);
	n->updated_at = sqlite3_column_int64(st, 13);
	n->mtu = sqlite3_column_int(st, 14);
	n->peer_count = sqlite3_column_int(st, 15);
	return col_dup(&n->private_key, st, 6);
}

static int peer_row(sqlite3_stmt *st, struct peer *p)
{
	int err = 0;

	memset(p, 0, sizeof *p);
	p->id = sqlite3_column_int64(st, 0);
	p->network_id = sqlite3_column_int64(st, 1);
	db_col_copy(p->name, sizeof p->name, st, 2);
	db_col_copy(p->email, sizeof p->email, st, 3);
	db_col_copy(p->public_key, sizeof p->public_key, st, 5);
	db_col_copy(p->endpoint, sizeof p->endpoint, st, 8);
	p->persistent_keepalive = sqlite3_column_int(st, 9);
	db_col_copy(p->role, sizeof p->role, st, 10);
	p->enabled = sqlite3_column_int(st, 12);
	p->created_at = sqlite3_column_int64(st, 13);
	p->updated_at = sqlite3_column_int64(st, 14);
	p->expires_at = sqlite3_column_type(st, 15) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 15);
	db_col_copy(p->tunnel_type, sizeof p->tunnel_type, st, 16);
	err |= col_dup(&p->private_key, st, 4);
	err |= col_dup(&p->preshared_key, st, 6);
	err |= col_dup(&p->allowed_ips, st, 7);
	err |= col_dup(&p->site_networks, st, 11);
	err |= col_dup(&p->split_cidrs, st, 17);
	if (err) {
		peer_free(p);
		return -ENOMEM;
	}
	return 0;
}

/* Runs a prepared one-row lookup: 1 found (row read by fn), 0 none, <0. */
static int one_row(sqlite3 *db, sqlite3_stmt *st, int (*fn)(sqlite3_stmt *, void *), void *out)
{
	int rc = sqlite3_step(st), err;

	if (rc == SQLITE_ROW)
		err = fn(st, out) < 0 ? -ENOMEM : 1;
	else if (rc == SQLITE_DONE)
		err = 0;
	else {
		db_log_error(db, "lookup");
		err = db_rc_errno(rc);
	}
	db_finish(st);
	return err;
}

static int network_row_cb(sqlite3_stmt *st, void *out) { return network_row(st, out); }
static int peer_row_cb(sqlite3_stmt *st, void *out) { return peer_row(st, out); }

int model_network_get(sqlite3 *db, long long id, struct network *out)
{
	sqlite3_stmt *st;
	int err = db_cached(db, sqls[SQL_NET_GET], &st);

	if (err < 0)
		return err;
	sqlite3_bind_int64(st, 1, id);
	return one_row(db, st, network_row_cb, out);
}

int model_network_by_iface(sqlite3 *db, const char *iface, struct network *out)
{
	sqlite3_stmt *st;
	int err = db_cached(db, sqls[SQL_NET_BY_IFACE], &st);

	if (err < 0)
		return err;
	sqlite3_bind_text(st, 1, iface, -1, SQLITE_STATIC);
	return one_row(db, st, network_row_cb, out);
}

/* Collects every row of st into a growing array of elements of size sz. */
static int all_rows(sqlite3 *db, sqlite3_stmt *st, size_t sz,
		    int (*fn)(sqlite3_stmt *, void *), void **out, size_t *n)
{
	char *v = NULL;
	size_t cap = 0, cnt = 0;
	int rc, err = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char *p = realloc(v, ncap * sz);
			if (!p) {
				err = -ENOMEM;
				break;
			}
			v = p;
			cap = ncap;
		}
		if (fn(st, v + cnt * sz) < 0) {
			err = -ENOMEM;
			break;
		}
		cnt++;
	}
	if (!err && rc != SQLITE_DONE) {
		db_log_error(db, "list");
		err = db_rc_errno(rc);
	}
	db_finish(st);
	*out = v;
	*n = cnt;
	return err;
}

int model_network_list(sqlite3 *db, struct network **out, size_t *n)
{
	return model_network_page(db, -1, 0, out, n);
}

int model_network_page(sqlite3 *db, long long limit, long long offset,
		       struct network **out, size_t *n)
{
	sqlite3_stmt *st;
	void *v = NULL;
	int err = db_cached(db, sqls[SQL_NET_LIST], &st);

	*out = NULL;
	*n = 0;
	if (err < 0)
		return err;
	sqlite3_bind_int64(st, 1, limit);       /* negative = no limit (SQLite) */
	sqlite3_bind_int64(st, 2, offset);
	err = all_rows(db, st, sizeof(struct network), network_row_cb, &v, n);
	if (err < 0) {
		networks_free(v, *n);
		*n = 0;
		return err;
	}
	*out = v;
	return 0;
}

int model_next_iface(sqlite3 *db, char out[16])
{
	sqlite3_stmt *st;
	unsigned char used[1024] = { 0 };
	int rc, err = db_cached(db, sqls[SQL_NET_IFACES], &st);

	if (err < 0)
		return err;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = db_col_text(st, 0);
		char *end;
		long k;

		if (strncmp(name, "wg", 2) != 0)
			continue;
		k = strtol(name + 2, &end, 10);
		if (*end == '\0' && end != name + 2 && k >= 0 && k < (long)sizeof used)
			used[k] = 1;
	}
	db_finish(st);
	if (rc != SQLITE_DONE)
		return db_rc_errno(rc);
	for (size_t k = 0; k < sizeof used; k++) {
		if (!used[k]) {
			snprintf(out, 16, "wg%zu", k);
			return 0;
		}
	}
	return -ENOSPC;
}

/* Runs an INSERT ... RETURNING id, created_at, updated_at. */
static int insert_returning(sqlite3 *db, sqlite3_stmt *st, long long *id,
			    long long *created, long long *updated)
{
	int rc = sqlite3_step(st), err = 0;

	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		*created = sqlite3_column_int64(st, 1);
		*updated = sqlite3_column_int64(st, 2);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE) {
		if ((rc & 0xff) != SQLITE_CONSTRAINT)
			db_log_error(db, "insert");
		err = db_rc_errno(rc);
	}
	db_finish(st);
	return err;
}

int model_network_insert(sqlite3 *db, struct network *n)
{
	sqlite3_stmt *st;
	int err;

	if ((err = model_next_iface(db, n->iface)) < 0)
		return err;
	if ((err = db_cached(db, sqls[SQL_NET_INSERT], &st)) < 0)
		return err;
	sqlite3_bind_text(st, 1, n->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, n->iface, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, n->mode, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, n->subnet, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, n->listen_port);
	sqlite3_bind_text(st, 6, n->private_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, n->public_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, n->dns_servers, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 9, n->nat_enabled);
	sqlite3_bind_int(st, 10, n->inter_peer_routing);
	sqlite3_bind_int(st, 11, n->enabled);
	sqlite3_bind_int(st, 12, n->mtu ? n->mtu : NETWORK_MTU_DEFAULT);
	return insert_returning(db, st, &n->id, &n->created_at, &n->updated_at);
}

static int delete_by(sqlite3 *db, enum sql q, long long a, long long b)
{
	sqlite3_stmt *st;
	int rc, err = db_cached(db, sqls[q], &st);

	if (err < 0)
		return err;
	sqlite3_bind_int64(st, 1, a);
	if (b)
		sqlite3_bind_int64(st, 2, b);
	rc = sqlite3_step(st);
	db_finish(st);
	if (rc != SQLITE_DONE)
		return db_rc_errno(rc);
	return sqlite3_changes(db) > 0 ? 1 : 0;
}

int model_network_delete(sqlite3 *db, long long id)
{
	return delete_by(db, SQL_NET_DELETE, id, 0);
}

int model_peer_get(sqlite3 *db, long long network_id, long long id, struct peer *out)
{
	sqlite3_stmt *st;
	int err = db_cached(db, sqls[SQL_PEER_GET], &st);

	if (err < 0)
		return err;
	sqlite3_bind_int64(st, 1, network_id);
	sqlite3_bind_int64(st, 2, id);
	return one_row(db, st, peer_row_cb, out);
}

int model_peer_list(sqlite3 *db, long long network_id, struct peer **out, size_t *n)
{
	return model_peer_page(db, network_id, -1, 0, out, n);
}

int model_peer_page(sqlite3 *db, long long network_id, long long limit, long long offset,
		    struct peer **out, size_t *n)
{
	sqlite3_stmt *st;
	void *v = NULL;
	int err = db_cached(db, sqls[SQL_PEER_LIST], &st);

	*out = NULL;
	*n = 0;
	if (err < 0)
		return err;
	sqlite3_bind_int64(st, 1, network_id);
	sqlite3_bind_int64(st, 2, limit);
	sqlite3_bind_int64(st, 3, offset);
	err = all_rows(db, st, sizeof(struct peer), peer_row_cb, &v, n);
	if (err < 0) {
		peers_free(v, *n);
		*n = 0;
		return err;
	}
	*out = v;
	return 0;
}

int model_peer_insert(sqlite3 *db, struct peer *p)
{
	sqlite3_stmt *st;
	int err = db_cached(db, sqls[SQL_PEER_INSERT], &st);

	if (err < 0)
		return err;
	sqlite3_bind_int64(st, 1, p->network_id);
	sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, p->email, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, p->private_key ? p->private_key : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, p->public_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, p->preshared_key ? p->preshared_key : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, p->allowed_ips, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, p->endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 9, p->persistent_keepalive);
	sqlite3_bind_text(st, 10, p->role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, p->site_networks ? p->site_networks : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 12, p->enabled);
	if (p->expires_at)
		sqlite3_bind_int64(st, 13, p->expires_at);
	else
		sqlite3_bind_null(st, 13);
	sqlite3_bind_text(st, 14, p->tunnel_type[0] ? p->tunnel_type : "full", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 15, p->split_cidrs ? p->split_cidrs : "", -1, SQLITE_STATIC);
	return insert_returning(db, st, &p->id, &p->created_at, &p->updated_at);
}

int model_peer_delete(sqlite3 *db, long long network_id, long long id)
{
	return delete_by(db, SQL_PEER_DELETE, network_id, id);
}

/* Runs an UPDATE ... RETURNING updated_at: 1 updated (*updated set), 0 no
 * such row, <0 -errno. */
static int update_returning(sqlite3 *db, sqlite3_stmt *st, long long *updated)
{
	int rc = sqlite3_step(st), ret = 0;

	if (rc == SQLITE_ROW) {
		*updated = sqlite3_column_int64(st, 0);
		ret = 1;
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE) {
		db_log_error(db, "update");
		ret = db_rc_errno(rc);
	}
	db_finish(st);
	return ret;
}

int model_network_update(sqlite3 *db, struct network *n, bool keep_time)
{
	sqlite3_stmt *st;
	int err = db_cached(db, sqls[SQL_NET_UPDATE], &st);

	if (err < 0)
		return err;
	sqlite3_bind_text(st, 1, n->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, n->dns_servers, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, n->nat_enabled);
	sqlite3_bind_int(st, 4, n->inter_peer_routing);
	sqlite3_bind_int(st, 5, n->enabled);
	if (keep_time)
		sqlite3_bind_int64(st, 6, n->updated_at);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int64(st, 7, n->id);
	sqlite3_bind_int(st, 8, n->mtu ? n->mtu : NETWORK_MTU_DEFAULT);
	return update_returning(db, st, &n->updated_at);
}

int model_peer_update(sqlite3 *db, struct peer *p, bool keep_time)
{
	sqlite3_stmt *st;
	int err = db_cached(db, sqls[SQL_PEER_UPDATE], &st);

	if (err < 0)
		return err;
	sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->email, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, p->enabled);
	sqlite3_bind_int(st, 4, p->persistent_keepalive);
	sqlite3_bind_text(st, 5, p->endpoint, -1, SQLITE_STATIC);
	if (p->expires_at)
		sqlite3_bind_int64(st, 6, p->expires_at);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_text(st, 7, p->tunnel_type[0] ? p->tunnel_type : "full", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, p->split_cidrs ? p->split_cidrs : "", -1, SQLITE_STATIC);
	if (keep_time)
		sqlite3_bind_int64(st, 9, p->updated_at);
	else
		sqlite3_bind_null(st, 9);
	sqlite3_bind_int64(st, 10, p->network_id);
	sqlite3_bind_int64(st, 11, p->id);
	return update_returning(db, st, &p->updated_at);
}
