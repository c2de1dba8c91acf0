/* SPDX-License-Identifier: MIT */
/* The wgpilot command: one function per subcommand, each returning the
 * process exit status (0 ok, 1 failure, 2 usage), and the plumbing the
 * maintenance jobs share (operations.md §2, §4; monitoring.md §2-§4, §6). */
#ifndef WGP_CLI_H
#define WGP_CLI_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <jansson.h>
#include <sqlite3.h>
#include "config.h"

struct cli {
	struct config cfg;
	const char *admin_pass;         /* init --admin-pass */
	long long network_id;           /* reconcile --network */
	long long peer_id;              /* reconcile --peer */
	int json;                       /* status --json, diagnose --json */
	int once;                       /* snapshot --once */
	const char *output;             /* backup --output */
};

int cmd_init(struct cli *c);
int cmd_migrate(struct cli *c);
/* Asks the reconciler for a full pass, one network (network_id > 0) or one
 * peer of it (peer_id > 0). */
int cmd_reconcile(struct cli *c, long long network_id, long long peer_id);
/* Live interfaces and peers from the reconciler; JSON with as_json. */
int cmd_status(struct cli *c, int as_json);

/* Cron jobs (jobs.c, maint.c). Each takes its own lock and is a no-op
 * (exit 0, logged) while another instance of the same job holds it. */
int cmd_snapshot(struct cli *c, int once);
int cmd_compact(struct cli *c);
int cmd_expire(struct cli *c);
int cmd_gc(struct cli *c);
/* backup [--output PATH | PATH], restore FILE (maint.c). */
int cmd_backup(struct cli *c, const char *output);
int cmd_restore(struct cli *c, const char *file);
/* Offline checks with a fix for each problem (diagnose.c). */
int cmd_diagnose(struct cli *c, int as_json);
/* tls apply | tls deployed: the certificate nginx serves (tlsjob.c, root;
 * operations.md §6). -2 for another subcommand (usage). */
int cmd_tls(struct cli *c, const char *sub);

/* ---- job plumbing (jobs.c) ---- */

struct job {
	const char *component;          /* log component: monitor, compactor, ... */
	char task_id[64];               /* task_<name>_<unix> */
	int lock_fd;
	sqlite3 *db;
	double t0;                      /* monotonic start, seconds */
};

/* Takes the job's lock (flock on <data_dir>/.lock-<name>, non-blocking) and
 * opens the DB read-write with a current schema. 1 ready; 0 another
 * instance holds the lock (logged, nothing else done); -1 failure (logged).
 * Call job_end() after 1 (it is harmless after 0 and -1 too). */
int job_begin(struct cli *c, struct job *j, const char *name, const char *component);
void job_end(struct job *j);
/* Seconds since job_begin, for duration fields. */
double job_elapsed(const struct job *j);

/* ---- the live view one snapshot pass builds (jobs.c), read by alerts ---- */

struct live_net {
	long long id;
	char name[72], iface[16];
	bool present, up;               /* in the reconciler's status reply */
};

struct live_peer {
	long long id, created_at;
	size_t net;                     /* index into live.nets */
	char public_key[48], name[72];
	bool enabled, in_kernel, online;
	long long handshake, rx, tx;    /* kernel values when in_kernel */
	char endpoint[64];
	bool have_prev, prev_online;    /* the peer's latest stored sample */
	long long prev_ts, prev_rx, prev_tx;
};

struct live {
	long long now;                  /* the pass's one timestamp */
	bool status_ok;                 /* the reconciler answered */
	struct live_net *nets;
	size_t nnets;
	struct live_peer *peers;        /* sorted by (nets[net].iface, public_key) */
	size_t npeers;
};

void live_free(struct live *lv);

/* ---- alerts (alerts.c, monitoring.md §4) ---- */

/* Evaluates every enabled alert against lv and the stored snapshots, one
 * notification per episode and subject (alert_state), delivering by log or
 * e-mail. Number of notifications sent, or -1 on a DB error (logged). */
int alerts_run(const struct config *cfg, sqlite3 *db, const struct live *lv, const char *task_id);
/* "<n><KB|MB|GB|TB>/<minute|hour|day>" -> bytes and window seconds; 0 or -EINVAL. */
int alerts_parse_rate(const char *s, long long *bytes, long long *window);

/* ---- mail (mail.c) ---- */

struct mail_settings {
	char host[256], user[256], from[256], to[256];
	char *pass;                     /* plaintext, malloc'd; mail_settings_clear() */
	int port;                       /* default 587 */
	bool tls;                       /* STARTTLS (or implicit TLS on 465); default true */
};

/* Reads the smtp_* settings and alert_email, decrypting smtp_pass with the
 * master key. 1 complete (host, from and recipient set), 0 not configured,
 * -errno on failure (logged). */
int mail_settings_load(const struct config *cfg, sqlite3 *db, struct mail_settings *m);
void mail_settings_clear(struct mail_settings *m);
/* Sends one HTML mail. 0, -ENOTSUP when built without libcurl, -EIO
 * (logged with curl's reason). */
int mail_send(const struct mail_settings *m, const char *subject, const char *html);

/* ---- shared helpers ---- */

/* The first global IPv4 address of an up, non-loopback, non-WireGuard link,
 * public preferred over private ("" when none) (pubip.c). */
void pubip_detect(char out[INET6_ADDRSTRLEN]);
/* An audit_log row by the system (user NULL, no IP) plus its INFO line;
 * detail is stolen. 0 or -errno (jobs.c). */
int job_audit(sqlite3 *db, const char *action, const char *resource, json_t *detail,
	      const char *task_id);

#endif
