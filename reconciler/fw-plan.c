/* SPDX-License-Identifier: MIT */
/*
 * The firewall plan (struct fw_plan, nft.h) read from the DB: what
 * networks, sites and bridges the table must express; and the IP
 * forwarding check. No netlink here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db.h"
#include "log.h"
#include "nft.h"
#include "nft-int.h"

/* ---- the plan, from the DB ------------------------------------------------ */

enum fw_sql { SQL_NETWORKS, SQL_SITES, SQL_BRIDGES, SQL__MAX };

static const char *const fw_sqls[SQL__MAX] = {
	[SQL_NETWORKS] = "SELECT id, interface, mode, subnet, listen_port, nat_enabled,"
		" inter_peer_routing, enabled FROM networks ORDER BY id",
	[SQL_SITES] = "SELECT p.network_id, p.site_networks FROM peers p"
		" JOIN networks n ON n.id = p.network_id WHERE n.mode = 'site-to-site'"
		" AND p.role = 'site-gateway' AND p.enabled AND p.site_networks <> ''"
		" ORDER BY p.network_id, p.id",
	[SQL_BRIDGES] = "SELECT a.interface, b.interface, nb.direction, nb.allowed_cidrs,"
		" nb.enabled AND a.enabled AND b.enabled FROM network_bridges nb"
		" JOIN networks a ON a.id = nb.network_a_id"
		" JOIN networks b ON b.id = nb.network_b_id ORDER BY nb.id",
};

static const char *const fw_mode_names[FW_MODE__MAX] = {
	[FW_GATEWAY] = "gateway", [FW_SITE_TO_SITE] = "site-to-site", [FW_HUB_ROUTED] = "hub-routed",
};
static const char *const fw_direction_names[FW_DIRECTION__MAX] = {
	[FW_A_TO_B] = "a_to_b", [FW_B_TO_A] = "b_to_a", [FW_BIDIRECTIONAL] = "bidirectional",
};

static int fw_name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

/* v itself, or v moved to room for one more of size bytes; NULL on ENOMEM
 * (v untouched). */
static void fw_bad_row(const char *what, const char *iface, const char *value)
{
	log_warn("reconcile", "firewall_row_invalid", json_pack("{s:s,s:s,s:s}", "field", what,
		 "interface", iface, "value", value));
}

/* Parses a CIDR list, host bits cleared. 0 or -EINVAL/-ENOMEM. */
static int fw_cidrs(const char *s, struct ipnet **out, size_t *n)
{
	int err = ipnet_parse_list(s, out, n, NULL);

	for (size_t i = 0; err == 0 && i < *n; i++)
		ipnet_normalize(&(*out)[i]);
	return err;
}

static int fw_read_networks(sqlite3_stmt *st, struct fw_plan *p)
{
	size_t cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct fw_network *v = fw_grow(p->networks, p->nnetworks, &cap, sizeof *v), *n;
		const char *iface = db_col_text(st, 1), *mode = db_col_text(st, 2);
		int m = fw_name_index(fw_mode_names, FW_MODE__MAX, mode);

		if (!v)
			return -ENOMEM;
		p->networks = v;
		if (strlen(iface) >= sizeof v->iface) {
			fw_bad_row("interface", iface, iface);
			continue;
		}
		n = &v[p->nnetworks++];
		memset(n, 0, sizeof *n);
		n->id = sqlite3_column_int64(st, 0);
		strcpy(n->iface, iface);
		if (m < 0)
			fw_bad_row("mode", iface, mode);
		n->mode = m < 0 ? FW_GATEWAY : (enum fw_mode)m;
		if (ipnet_parse_cidr(&n->subnet, db_col_text(st, 3)) < 0 || n->subnet.family != AF_INET) {
			fw_bad_row("subnet", iface, db_col_text(st, 3));
			memset(&n->subnet, 0, sizeof n->subnet);
		}
		ipnet_normalize(&n->subnet);
		n->listen_port = (uint16_t)sqlite3_column_int(st, 4);
		n->nat_enabled = sqlite3_column_int(st, 5) != 0;
		n->inter_peer_routing = sqlite3_column_int(st, 6) != 0;
		n->enabled = sqlite3_column_int(st, 7) != 0;
	}
	return rc == SQLITE_DONE ? 0 : db_rc_errno(rc);
}

static int fw_cmp_id(const void *key, const void *elem)
{
	long long id = *(const long long *)key, other = ((const struct fw_network *)elem)->id;
	return id < other ? -1 : id > other;
}

static int fw_read_sites(sqlite3_stmt *st, struct fw_plan *p)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		long long id = sqlite3_column_int64(st, 0);
		struct fw_network *n = bsearch(&id, p->networks, p->nnetworks, sizeof *n, fw_cmp_id);
		struct ipnet *items = NULL, *all;
		size_t cnt = 0;
		int err;

		if (!n)
			continue;
		if ((err = fw_cidrs(db_col_text(st, 1), &items, &cnt)) < 0) {
			if (err == -ENOMEM)
				return err;
			fw_bad_row("site_networks", n->iface, db_col_text(st, 1));
			continue;
		}
		all = realloc(n->sites, (n->nsites + cnt + 1) * sizeof *all);
		if (!all) {
			free(items);
			return -ENOMEM;
		}
		memcpy(all + n->nsites, items, cnt * sizeof *items);
		n->sites = all;
		n->nsites += cnt;
		free(items);
	}
	return rc == SQLITE_DONE ? 0 : db_rc_errno(rc);
}

static int fw_read_bridges(sqlite3_stmt *st, struct fw_plan *p)
{
	size_t cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct fw_bridge *v = fw_grow(p->bridges, p->nbridges, &cap, sizeof *v), *b;
		const char *a = db_col_text(st, 0), *bb = db_col_text(st, 1), *dir = db_col_text(st, 2);
		int d = fw_name_index(fw_direction_names, FW_DIRECTION__MAX, dir), err;

		if (!v)
			return -ENOMEM;
		p->bridges = v;
		if (strlen(a) >= sizeof v->iface_a || strlen(bb) >= sizeof v->iface_b || d < 0) {
			fw_bad_row("bridge", a, dir);
			continue;
		}
		b = &v[p->nbridges];
		memset(b, 0, sizeof *b);
		if ((err = fw_cidrs(db_col_text(st, 3), &b->cidrs, &b->ncidrs)) < 0) {
			if (err == -ENOMEM)
				return err;
			fw_bad_row("allowed_cidrs", a, db_col_text(st, 3));
			continue;       /* never open a bridge wider than asked */
		}
		p->nbridges++;
		strcpy(b->iface_a, a);
		strcpy(b->iface_b, bb);
		b->direction = (enum fw_direction)d;
		b->enabled = sqlite3_column_int(st, 4) != 0;
	}
	return rc == SQLITE_DONE ? 0 : db_rc_errno(rc);
}

int fw_plan_from_db(sqlite3 *db, struct fw_plan *out)
{
	static int (*const readers[SQL__MAX])(sqlite3_stmt *, struct fw_plan *) = {
		[SQL_NETWORKS] = fw_read_networks, [SQL_SITES] = fw_read_sites,
		[SQL_BRIDGES] = fw_read_bridges,
	};
	sqlite3_stmt *st = NULL;
	int err = 0;

	memset(out, 0, sizeof *out);
	out->isolate = true;
	/* one read snapshot, so networks, peers and bridges agree */
	if ((err = db_exec(db, "SAVEPOINT fw_plan")) < 0)
		return err;
	for (int i = 0; i < SQL__MAX && err == 0; i++) {
		if ((err = db_prepare(db, fw_sqls[i], &st)) < 0)
			goto out;
		if ((err = readers[i](st, out)) < 0 && err != -ENOMEM)
			db_log_error(db, "firewall plan");
		sqlite3_finalize(st);
	}
out:
	db_exec(db, "RELEASE fw_plan");
	return err;
}

void fw_plan_free(struct fw_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nnetworks; i++)
		free(p->networks[i].sites);
	for (size_t i = 0; i < p->nbridges; i++)
		free(p->bridges[i].cidrs);
	free(p->networks);
	free(p->bridges);
	memset(p, 0, sizeof *p);
}

/* ---- IP forwarding -------------------------------------------------------- */

/* 1 on, 0 off, -errno. */
static int fw_sysctl_on(const char *path)
{
	FILE *f = fopen(path, "re");
	int c, err;

	if (!f)
		return -errno;
	c = fgetc(f);
	err = c == EOF && ferror(f) ? -EIO : 0;
	fclose(f);
	return err ? err : c == '1';
}

int fw_forwarding_check(void)
{
	int v4 = fw_sysctl_on("/proc/sys/net/ipv4/ip_forward");
	int v6 = fw_sysctl_on("/proc/sys/net/ipv6/conf/all/forwarding");

	if (v4 < 0)
		return v4;
	return (v4 ? 0 : FW_FWD_V4_OFF) | (v6 == 0 ? FW_FWD_V6_OFF : 0);
}
