/* SPDX-License-Identifier: MIT */
/* The reconciler daemon's internal interfaces: the state it keeps, the
 * desired-vs-actual diff (reconcile.c) and the socket server (server.c). */
#ifndef WGP_RECONCILER_H
#define WGP_RECONCILER_H

#include <jansson.h>
#include <sqlite3.h>
#include <time.h>
#include "config.h"
#include "keys.h"
#include "startup.h"
#include "wgdev.h"

#define UAPI_SOCKDIR "/var/run/wireguard"

struct rec {
	struct config cfg;
	struct master_keys keys;
	sqlite3 *db;                    /* read-only: the DB is the truth */
	const struct wg_backend *wg;
	time_t started_at;
	struct startup_flags flags;     /* how the config was loaded, for SIGHUP */
	/* Links whose event-driven repair failed: their events are ignored
	 * until the retry (a failing create would otherwise loop on its own
	 * rollback's events). */
	struct { char iface[IFNAMSIZ]; long long until_ms; } held[16];
};

/* Re-reads the configuration and applies the log level (SIGHUP). */
void rec_reload(struct rec *r);

/* Full pass over every network (start, `reconcile`, resync timer); a failing
 * network is logged and the pass continues. Returns the number of networks
 * that failed. */
int rec_full(struct rec *r);
/* Aligns one network with its row (create, update, enable/disable); a
 * missing row means nothing to do. 0 or -errno; on error *code and msg
 * describe it in API terms. */
int rec_network(struct rec *r, long long network_id, const char **code, char msg[256]);
/* Rebuilds `table ip wgpilot` from the DB in one atomic batch (networking.md
 * §6). 0 or -errno with *code (NFTABLES_UNAVAILABLE, ...) and msg set. */
int rec_firewall(struct rec *r, const char **code, char msg[256]);
/* Removes the interface of a deleted network. 0 (also when absent) or -errno. */
int rec_teardown(struct rec *r, const char *iface);
/* Adds/updates/removes one peer per its row (absent row = remove). */
int rec_peer(struct rec *r, long long network_id, long long peer_id, const char **code, char msg[256]);
/* Removes the peer with public_key (base64) from iface. */
int rec_remove_peer(struct rec *r, const char *iface, const char *public_key);
/* {"interfaces":[…]} for iface or (NULL) every managed interface. New reference. */
json_t *rec_status(struct rec *r, const char *iface);
/* feat-007: whether UDP port is free in this namespace, and which managed
 * interface holds it. {"port","in_use","owner"}; new reference. */
json_t *rec_check_port(struct rec *r, int port);
/* feat-009: the routes through managed interfaces (or iface only), each
 * with destination, table, protocol and whether wgpilot manages it. New
 * reference (array). */
json_t *rec_routes(struct rec *r, const char *iface);
/* Every WireGuard link of this host/namespace. New reference (array). */
json_t *rec_detect(struct rec *r);

/* A link event named iface: when it is a managed, enabled network's link and
 * it is now missing or down, the network is reconciled back (feat-004).
 * Returns the delay in ms after which a full pass should retry (> 0 when
 * the repair failed and the link is held), else 0. */
long long rec_link_changed(struct rec *r, const char *iface, long long now_ms);

/* Serves the socket until SIGTERM/SIGINT; SIGHUP reloads the log level.
 * Returns the process exit status. */
int server_run(struct rec *r, int listen_fd);
/* Binds the socket at path (mode 0660, parent dir created 0750). fd or -errno. */
int server_listen(const char *path);

#endif
