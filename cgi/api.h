/* SPDX-License-Identifier: MIT */
/*
 * The API worker: one struct app per process, one struct req per request
 * (reset by every accept), handlers routed from the table in main.c.
 * Handlers return nothing: they always produce exactly one response through
 * the resp_* functions.
 */
#ifndef WGP_API_H
#define WGP_API_H

#include <fcgiapp.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include "config.h"
#include "keys.h"

struct app {
	struct config cfg;
	struct master_keys keys;
	sqlite3 *db;
};

struct user {
	long long id;
	char username[65];
	char role[16];
	bool via_api_key;
};

struct req {
	struct app *app;
	FCGX_Request *fcgx;
	const char *method, *uri, *remote_addr, *origin, *host, *user_agent;
	char path[1024];                /* URI path without the query */
	const char *query;              /* after '?', or "" */
	char request_id[17];            /* "req_" + 12 hex */
	long long ids[2];               /* numeric path parameters in order */
	int nids;
	char *body;                     /* raw request body (NUL-terminated) */
	size_t body_len;
	bool authed;
	struct user user;
	/* response bookkeeping for the access log */
	int status;
	size_t bytes_out;
	bool responded;
	char set_cookie[1024];          /* extra Set-Cookie header, "" = none */
	char extra_headers[256];        /* more "Name: value\r\n" lines, "" = none */
};

/* ---- responses (http.c) ---- */
/* Sends status with a JSON body (reference stolen; NULL -> {}). */
void resp_json(struct req *r, int status, json_t *body);
/* Sends status with a raw body of content type ctype; extra_headers are
 * complete "Name: value\r\n" lines or NULL. */
void resp_raw(struct req *r, int status, const char *ctype, const char *extra_headers,
	      const void *body, size_t len);
/* 204 No Content. */
void resp_empty(struct req *r, int status);
/* The spec's error body {"error":{"code","message","request_id"}}. */
__attribute__((format(printf, 4, 5)))
void resp_error(struct req *r, int status, const char *code, const char *fmt, ...);
/* Sets the session cookie (token NULL clears it) for the next response. */
void resp_set_session(struct req *r, const char *token, long long max_age);

/* Collected field errors: 400 VALIDATION_ERROR "validation failed" with fields[]. */
struct verrs {
	json_t *fields;                 /* array, NULL until the first error */
};
void verr_add(struct verrs *v, const char *field, const char *message);
bool verr_any(const struct verrs *v);
/* Sends the 400 and frees v. */
void resp_verrs(struct req *r, struct verrs *v);
void verr_free(struct verrs *v);

/* ---- request bodies (body.c) ---- */
enum ftype { FT_STRING, FT_INT, FT_BOOL };
enum fflags {
	FF_REQUIRED = 1u << 0,
	FF_IMMUTABLE = 1u << 1,         /* PUT: present -> "immutable" */
	FF_EMPTY_OK = 1u << 2,          /* "" is "not given" for optional strings */
};
struct field {
	const char *key;
	enum ftype type;
	unsigned flags;
	const char *(*check_str)(const char *);  /* NULL or validator */
	const char *(*check_int)(long long);
	const char *alias;              /* accepted second name, e.g. install_token */
};
#define BODY_MAX_FIELDS 24
struct body {
	bool has[BODY_MAX_FIELDS];
	const char *s[BODY_MAX_FIELDS];         /* borrowed from root */
	long long i[BODY_MAX_FIELDS];
	bool b[BODY_MAX_FIELDS];
	json_t *root;
};
/* Parses r->body as a JSON object against table: every problem (malformed
 * JSON, not an object, unknown field, wrong type, missing required, validator
 * failure) goes into v. 0 when the body is usable (v may still have errors
 * the caller adds to), -1 when the JSON itself is unusable. b->root must be
 * released with body_free. */
int body_parse(struct req *r, const struct field *table, size_t n, struct body *b,
	       struct verrs *v);
void body_free(struct body *b);
/* The value of field idx or def when absent. */
const char *body_str(const struct body *b, int idx, const char *def);

/* ---- auth.c ---- */
/* Authenticates from the Bearer API key or the session cookie. 0 ok
 * (r->user set), or sends 401 and returns -1. */
int auth_require(struct req *r);
/* Issues a session cookie for user. 0 or -1 (500 sent). */
int auth_issue_session(struct req *r, const struct user *u);
/* Checks the login rate limit for the client IP and records this attempt.
 * 0 allowed, -1 limited (429 sent). */
int auth_rate_limit(struct req *r);
void auth_login(struct req *r);
void auth_logout(struct req *r);
void auth_me(struct req *r);

/* ---- audit.c ---- */
/* Writes audit_log (user r->user.id when authenticated or set, else NULL;
 * client IP) and an INFO line with component=audit. resource NULL means
 * "user:<r->user.id>". detail (stolen, may be NULL) is stored as JSON text. */
void audit(struct req *r, const char *action, const char *resource, json_t *detail);

/* ---- resources ---- */
void setup_status(struct req *r);
void setup_detect_ip(struct req *r);
void setup_step1(struct req *r);
/* The admin account from the one-time setup password (step 1 and POST
 * /api/auth/setup), in one transaction: checks otp, creates the admin,
 * forgets the OTP, marks step 1 done and, when complete, the whole setup.
 * 0 with r->user set (the caller answers), or -1 with the error sent (401
 * INVALID_OTP, 409 no OTP / name taken, 500). */
int setup_admin_from_otp(struct req *r, const char *otp, const char *username,
			 const char *password, bool complete);
void setup_step2(struct req *r);
void setup_step3(struct req *r);
void setup_step4(struct req *r);

void networks_list(struct req *r);
void networks_create(struct req *r);
void networks_get(struct req *r);
void networks_update(struct req *r);
void networks_delete(struct req *r);
void networks_enable(struct req *r);
void networks_disable(struct req *r);
void networks_export(struct req *r);
/* Query string parameter key of query (r->query) percent-decoded into out:
 * 1 found, 0 absent, -EEXIST given twice, -EINVAL bad encoding, NUL byte or
 * longer than outsz - 1. */
int networks_query(const char *query, const char *key, char *out, size_t outsz);
/* The optional ?limit=N&offset=M of list endpoints: *limit -1 (all) and
 * *offset 0 when absent. 0, or -1 after sending 400 VALIDATION_ERROR. */
int networks_page(struct req *r, long long *limit, long long *offset);
/* Shared with setup step 3: validates body and creates the network (keys,
 * row, reconciler). On success returns the network JSON (new reference) and
 * *id; on failure sends the error response and returns NULL. dns_default is
 * used when the body has no dns_servers. */
json_t *network_create_from_body(struct req *r, const char *dns_default, long long *id);
/* Subnet overlap (409 SUBNET_CONFLICT) or port clash (409 PORT_IN_USE) with
 * any network, checked inside the caller's write transaction. 0 free, or -1
 * with the response (409, or 500 on a DB error) sent. Needs ipnet.h. */
struct ipnet;
struct network;
int network_conflicts(struct req *r, const struct ipnet *subnet, int port);
/* Inserts n in one write transaction after network_conflicts, then runs
 * then(r, n, ctx) (may be NULL; <0 = 500 and nothing kept) inside the same
 * transaction. 0, or -1 with the response sent (409 SUBNET_CONFLICT /
 * PORT_IN_USE, 500). */
int network_insert(struct req *r, struct network *n, const struct ipnet *subnet,
		   int (*then)(struct req *, const struct network *, void *), void *ctx);

void peers_list(struct req *r);
void peers_create(struct req *r);
void peers_get(struct req *r);
void peers_config(struct req *r);
void peers_qr(struct req *r);
void peers_update(struct req *r);
void peers_delete(struct req *r);
void peers_enable(struct req *r);
void peers_disable(struct req *r);
/* Shared with setup step 4: creates a peer in network_id from the body
 * fields; keepalive_default applies when the body has none. Returns the peer
 * JSON and *id, or NULL after sending the error. */
json_t *peer_create_from_body(struct req *r, long long network_id, int keepalive_default,
			      long long *id);
/* Renders the client config of peer pid in network nid (malloc'd) or sends
 * the error (404/409/500) and returns NULL. */
char *peer_render_config(struct req *r, long long nid, long long pid, char *peer_name, size_t namesz);
/* The network / peer of the path (r->ids); 1 found, else the response (404
 * NETWORK_NOT_FOUND / PEER_NOT_FOUND, 500) is sent. */
struct peer;
int peer_load_network(struct req *r, struct network *n);
int peer_load_peer(struct req *r, struct peer *p);

void status_get(struct req *r);

/* ---- handlers: bridges, settings, alerts, audit log, users, API keys ---- */
void bridges_list(struct req *r);
void bridges_get(struct req *r);
void bridges_create(struct req *r);
void bridges_update(struct req *r);
void bridges_delete(struct req *r);
void settings_get(struct req *r);
void settings_update(struct req *r);
void settings_tls_get(struct req *r);           /* tls.c */
void settings_tls_test(struct req *r);
void alerts_list(struct req *r);
void alerts_create(struct req *r);
void alerts_update(struct req *r);
void alerts_delete(struct req *r);
void auditlog_list(struct req *r);
void users_list(struct req *r);
void users_create(struct req *r);
void users_delete(struct req *r);
void apikeys_list(struct req *r);
void apikeys_create(struct req *r);
void apikeys_delete(struct req *r);
void account_password(struct req *r);
void account_setup(struct req *r);
/* Query strings and route patterns (query.c). The one query-string scanner
 * under networks_query and query_parse: query_next takes the next non-empty
 * '&'-separated piece off *pos (advanced past it and its '&'); raw_key /
 * raw_klen get its key as sent, and when the caller set key / val buffers
 * the key and the value (after the first '=', "" without one) are
 * percent-decoded ('+' = space) into them, NUL-terminated. 0 at the end of
 * the query, else QUERY_PIECE plus QUERY_BAD_KEY / QUERY_BAD_VAL for a part
 * with a broken escape or an encoded NUL or too long for its buffer. */
enum { QUERY_PIECE = 1, QUERY_BAD_KEY = 2, QUERY_BAD_VAL = 4 };
struct query_piece {
	const char *raw_key;            /* not NUL-terminated */
	size_t raw_klen;
	char *key, *val;                /* NULL: not decoded */
	size_t keysz, valsz;
};
int query_next(const char **pos, struct query_piece *pc);
/* Matches path against a route pattern ('#' = one decimal id > 0, stored in
 * r->ids[0..1], count in r->nids). 1 match, 0 no match, -1 the shape
 * matched but an id is not decimal (*bad, NULL on entry, names the thing:
 * "network", "peer", ...). */
int api_route_match(const char *pattern, const char *path, struct req *r, const char **bad);
/* r->query is split at '&' (empty pieces
 * skipped), keys and values percent-decoded ('+' = space). Each key must be
 * one of keys[0..n-1] and appear once; an unknown or repeated key, a broken
 * escape or an encoded NUL goes into v (field = the key). vals[i] is the
 * decoded value (malloc'd, "" for "key" without '=') or NULL when absent;
 * release with query_free. 0, or -ENOMEM. */
int query_parse(struct req *r, const char *const *keys, size_t n, char **vals, struct verrs *v);
void query_free(char **vals, size_t n);
/* A decimal integer in [min, max] (digits only, no sign): 0 and *out set,
 * or -EINVAL after adding "must be an integer between min and max" for key. */
int query_int(struct verrs *v, const char *key, const char *s, long long min, long long max,
	      long long *out);
/* The optional ?limit=1..200&offset=N>=0 of plain lists (no other key):
 * *limit -1 (whole list) and *offset 0 unless given. 0, or -1 with the 400
 * VALIDATION_ERROR sent. */
int query_page(struct req *r, long long *limit, long long *offset);
/* A plain paged list: query_page, then sql bound with limit (?1), offset
 * (?2) and owner (?3, when > 0), one row(st) object per row (NULL: out of
 * memory). Sends 200 with the array, 400 for a bad page, 500 on errors. */
void resp_list(struct req *r, const char *sql, long long owner, json_t *(*row)(sqlite3_stmt *));

/* ---- handlers: system, health, metrics, debug, stats, events, import ---- */
void health_get(struct req *r);                 /* health.c */
void metrics_get(struct req *r);
void system_info(struct req *r);                /* system.c */
void system_ports(struct req *r);                /* system.c */
void system_routes(struct req *r);               /* system.c */
void system_backup(struct req *r);
/* Reads the raw body itself (≤ 64 MiB): main.c skips read_body for it. */
void system_restore(struct req *r);
void debug_info(struct req *r);                 /* debug.c */
void debug_logs(struct req *r);
void stats_get(struct req *r);                  /* stats.c */
void events_stream(struct req *r);              /* events.c */
void setup_import(struct req *r);               /* import.c */

/* The reconciler's ping (3 s timeout): 0 and *p filled, or -1 (p->up false). */
struct rec_ping {
	bool up;
	long long started_at;
	char backend[32], version[32];
};
int ops_ping(struct req *r, struct rec_ping *p);
/* Seconds since the reconciler started (0 when it is down). */
long long ops_uptime_sec(const struct rec_ping *p);
/* "<d>d <h>h <m>m" / "<h>h <m>m" / "<m>m" (api.md §13). */
void ops_uptime(char out[32], long long secs);
/* status_fetch with a 5 s timeout; NULL when unavailable. */
json_t *ops_status(struct req *r, const char *iface);
/* The entry of interface name in a status array (borrowed) or NULL. */
json_t *ops_find_iface(json_t *ifaces, const char *name);
struct network;
/* n is enabled and its interface is up in ifaces. */
bool ops_iface_up(json_t *ifaces, const struct network *n);
/* PRETTY_NAME of /etc/os-release ("Linux" if unknown); this process's RSS
 * in whole MiB. */
void ops_os_name(char *out, size_t outsz);
long long ops_rss_mb(void);

/* Hooks for main.c. metrics_http_count: counts the finished request for
 * wg_webui_http_requests_total (call after the response, before
 * FCGX_Finish_r). debug_log_install: keep WARN/ERROR lines (call once per
 * worker process); debug_log_flush: write them to log_entries (after
 * FCGX_Finish_r; a no-op on read-only connections). */
void metrics_http_count(struct req *r);
void debug_log_install(void);
void debug_log_flush(sqlite3 *db);
/* The SSE process: nthreads threads accept on sock, each with a copy of
 * tmpl and its own read-only DB connection, and call handle for each
 * request (handle does everything up to, not including, FCGX_Finish_r).
 * Returns after SIGTERM/SIGINT once every thread has ended (0), or 1 when
 * no thread could start. */
typedef void sse_handler_fn(struct app *app, FCGX_Request *f);
int events_serve(const struct app *tmpl, int sock, int nthreads, sse_handler_fn *handle);

/* Asks the reconciler for the live state of iface (NULL = all). Returns the
 * reply's "interfaces" array (new reference) or NULL when unavailable. */
json_t *status_fetch(struct req *r, const char *iface);
/* Forgets the live state this thread cached (after any change). */
void status_cache_clear(void);

/* ---- reconciler calls ---- */
/* Calls op with args (stolen). 0 ok; otherwise sends nothing and returns
 * -1 with code and message set for the caller's error response
 * ("RECONCILER_UNAVAILABLE" on socket errors). The reply's fields are copied
 * to code/message buffers. */
int reconciler_call(struct req *r, const char *op, json_t *args, char code[48], char message[256]);
/* A read-only call (the status cache stays): 0 with *reply (new reference,
 * "ok" true), or -1 with the error response sent (503/500). */
int reconciler_query(struct req *r, const char *op, json_t *args, json_t **reply);
/* 503 for RECONCILER_UNAVAILABLE, else 500. */
int reconciler_status(const char *code);
/* networking.md §7 after a committed change: calls op with args (stolen).
 * When it fails, revert(r, ctx) puts the row back as it was (returns 0, or
 * <0 after logging its own failure) and, unless the reconciler is down, op
 * runs again so the kernel follows the restored row; then the error response
 * is sent. 0 applied, -1 response sent. */
int reconciler_apply_or_revert(struct req *r, const char *op, json_t *args,
			       int (*revert)(struct req *, void *), void *ctx);

#endif
