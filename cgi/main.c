/* SPDX-License-Identifier: MIT */
/*
 * wgpilot-api.fcgi: the FastCGI API worker. With --socket it is a small
 * pre-forking master that binds the socket and keeps --workers children
 * alive; without it, it serves the FastCGI socket on fd 0 (spawn-fcgi).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "api.h"
#include "db.h"
#include "log.h"
#include "sbuf.h"
#include "startup.h"

#define BODY_LIMIT (1024 * 1024)

enum level {
	LVL_P,          /* public */
	LVL_A,          /* authenticated, also before setup completes */
	LVL_G,          /* authenticated and setup complete */
	LVL_GW,         /* G; viewers may not write */
	LVL_ADM,        /* G and admin */
};

struct route {
	const char *method;
	const char *pattern;            /* '#' = one numeric path id */
	void (*fn)(struct req *);
	enum level level;
};

static const struct route routes[] = {
	{ "GET", "/api/setup/status", setup_status, LVL_P },
	{ "GET", "/api/setup/detect-ip", setup_detect_ip, LVL_P },
	{ "POST", "/api/setup/step/1", setup_step1, LVL_P },
	{ "POST", "/api/setup/admin", setup_step1, LVL_P },
	{ "POST", "/api/setup/step/2", setup_step2, LVL_A },
	{ "PUT", "/api/setup/server", setup_step2, LVL_A },
	{ "POST", "/api/setup/step/3", setup_step3, LVL_A },
	{ "POST", "/api/setup/network", setup_step3, LVL_A },
	{ "POST", "/api/setup/step/4", setup_step4, LVL_A },
	{ "POST", "/api/setup/peer", setup_step4, LVL_A },
	{ "POST", "/api/auth/login", auth_login, LVL_P },
	{ "POST", "/api/auth/logout", auth_logout, LVL_P },
	{ "GET", "/api/auth/me", auth_me, LVL_A },
	{ "GET", "/api/networks", networks_list, LVL_G },
	{ "POST", "/api/networks", networks_create, LVL_GW },
	{ "GET", "/api/networks/#", networks_get, LVL_G },
	{ "GET", "/api/networks/#/peers", peers_list, LVL_G },
	{ "POST", "/api/networks/#/peers", peers_create, LVL_GW },
	{ "GET", "/api/networks/#/peers/#", peers_get, LVL_G },
	{ "GET", "/api/networks/#/peers/#/config", peers_config, LVL_ADM },     /* private key */
	{ "GET", "/api/networks/#/peers/#/qr", peers_qr, LVL_ADM },
	{ "GET", "/api/status", status_get, LVL_G },
	/* routes: networks and peers (networks.c, peers.c) */
	{ "PUT", "/api/networks/#", networks_update, LVL_GW },
	{ "DELETE", "/api/networks/#", networks_delete, LVL_GW },
	{ "POST", "/api/networks/#/enable", networks_enable, LVL_GW },
	{ "POST", "/api/networks/#/disable", networks_disable, LVL_GW },
	{ "GET", "/api/networks/#/export", networks_export, LVL_ADM },
	{ "PUT", "/api/networks/#/peers/#", peers_update, LVL_GW },
	{ "DELETE", "/api/networks/#/peers/#", peers_delete, LVL_GW },
	{ "POST", "/api/networks/#/peers/#/enable", peers_enable, LVL_GW },
	{ "POST", "/api/networks/#/peers/#/disable", peers_disable, LVL_GW },
	/* routes: bridges, settings, alerts, audit log, users, API keys */
	{ "GET", "/api/settings/tls", settings_tls_get, LVL_G },
	{ "POST", "/api/settings/tls/test", settings_tls_test, LVL_GW },
	{ "GET", "/api/bridges", bridges_list, LVL_G },
	{ "POST", "/api/bridges", bridges_create, LVL_GW },
	{ "GET", "/api/bridges/#", bridges_get, LVL_G },
	{ "PUT", "/api/bridges/#", bridges_update, LVL_GW },
	{ "DELETE", "/api/bridges/#", bridges_delete, LVL_GW },
	{ "GET", "/api/settings", settings_get, LVL_G },
	{ "PUT", "/api/settings", settings_update, LVL_GW },
	{ "GET", "/api/alerts", alerts_list, LVL_G },
	{ "POST", "/api/alerts", alerts_create, LVL_GW },
	{ "PUT", "/api/alerts/#", alerts_update, LVL_GW },
	{ "DELETE", "/api/alerts/#", alerts_delete, LVL_GW },
	{ "GET", "/api/audit-log", auditlog_list, LVL_G },
	{ "GET", "/api/users", users_list, LVL_ADM },
	{ "POST", "/api/users", users_create, LVL_ADM },
	{ "DELETE", "/api/users/#", users_delete, LVL_ADM },
	{ "GET", "/api/api-keys", apikeys_list, LVL_G },
	{ "POST", "/api/api-keys", apikeys_create, LVL_G },
	{ "DELETE", "/api/api-keys/#", apikeys_delete, LVL_G },
	{ "PUT", "/api/auth/password", account_password, LVL_A },
	{ "POST", "/api/auth/setup", account_setup, LVL_P },
	/* routes: system, health, metrics, debug, stats, events, import */
	{ "GET", "/health", health_get, LVL_P },
	{ "GET", "/metrics", metrics_get, LVL_P },
	{ "GET", "/api/system/info", system_info, LVL_G },
	{ "GET", "/api/system/ports", system_ports, LVL_G },
	{ "GET", "/api/system/routes", system_routes, LVL_G },
	{ "POST", "/api/system/backup", system_backup, LVL_ADM },
	{ "POST", "/api/system/restore", system_restore, LVL_ADM },
	{ "GET", "/api/debug/info", debug_info, LVL_ADM },
	{ "GET", "/api/debug/logs", debug_logs, LVL_ADM },
	{ "GET", "/api/networks/#/stats", stats_get, LVL_G },
	{ "GET", "/api/networks/#/events", events_stream, LVL_G },
	{ "POST", "/api/setup/import", setup_import, LVL_A },
};

/* --sse-threads: this process serves the events route only. */
static bool sse_only;

static bool setup_complete(struct req *r)
{
	return db_setting_true(r->app->db, "setup_complete");
}

/* Cookie-authenticated writes must come from our own origin (CSRF). */
static bool origin_ok(struct req *r)
{
	const char *o = r->origin;

	if (r->user.via_api_key || !o || !*o || strcmp(r->method, "GET") == 0)
		return true;
	if (!r->host)
		return false;
	if (strncmp(o, "https://", 8) == 0)
		o += 8;
	else if (strncmp(o, "http://", 7) == 0)
		o += 7;
	else
		return false;
	return strcmp(o, r->host) == 0;
}

static int check_level(struct req *r, enum level lvl)
{
	if (lvl == LVL_P)
		return 0;
	if (auth_require(r) < 0)
		return -1;
	if (!origin_ok(r)) {
		resp_error(r, 403, "FORBIDDEN", "cross-origin request refused");
		return -1;
	}
	if (lvl == LVL_A)
		return 0;
	if (!setup_complete(r)) {
		resp_error(r, 403, "SETUP_REQUIRED", "setup is not complete");
		return -1;
	}
	if (lvl == LVL_GW && strcmp(r->user.role, "admin") != 0 && strcmp(r->method, "GET") != 0) {
		resp_error(r, 403, "FORBIDDEN", "read-only role");
		return -1;
	}
	if (lvl == LVL_ADM && strcmp(r->user.role, "admin") != 0) {
		resp_error(r, 403, "FORBIDDEN", "admin role required");
		return -1;
	}
	return 0;
}

static bool has_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	return ct && strncasecmp(ct, "application/json", n) == 0 && (ct[n] == '\0' || ct[n] == ';');
}

/* Reads the body into r->body. 0, or -1 after sending the error. */
static int read_body(struct req *r)
{
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", r->fcgx->envp);
	long long len = cl && *cl ? strtoll(cl, NULL, 10) : 0;
	int got;

	if (len <= 0)
		return 0;
	if (len > BODY_LIMIT) {
		resp_error(r, 413, "VALIDATION_ERROR", "request body too large (limit 1 MiB)");
		return -1;
	}
	if (!has_json_type(FCGX_GetParam("CONTENT_TYPE", r->fcgx->envp))) {
		resp_error(r, 400, "VALIDATION_ERROR", "Content-Type must be application/json");
		return -1;
	}
	r->body = malloc((size_t)len + 1);
	if (!r->body) {
		resp_error(r, 500, "INTERNAL_ERROR", "out of memory");
		return -1;
	}
	got = FCGX_GetStr(r->body, (int)len, r->fcgx->in);
	r->body_len = got > 0 ? (size_t)got : 0;
	r->body[r->body_len] = '\0';
	return 0;
}

static void dispatch(struct req *r)
{
	const struct route *shape = NULL;

	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		const char *bad = NULL;
		int m;

		if (sse_only && routes[i].fn != events_stream)
			continue;
		m = api_route_match(routes[i].pattern, r->path, r, &bad);

		if (m == 0)
			continue;
		if (m < 0) {
			resp_error(r, 400, "VALIDATION_ERROR", "invalid %s ID", bad);
			return;
		}
		if (strcmp(routes[i].method, r->method) != 0) {
			shape = &routes[i];
			continue;
		}
		/* restore streams its body (up to 64 MiB, not JSON) itself */
		if (check_level(r, routes[i].level) < 0
		    || (routes[i].fn != system_restore && read_body(r) < 0))
			return;
		routes[i].fn(r);
		if (!r->responded)
			resp_error(r, 500, "INTERNAL_ERROR", "handler sent no response");
		return;
	}
	if (shape)
		resp_error(r, 405, "METHOD_NOT_ALLOWED", "method %s not allowed", r->method);
	else
		resp_error(r, 404, "NOT_FOUND", "no such endpoint");
}

static const char *param(FCGX_Request *f, const char *name)
{
	return FCGX_GetParam(name, f->envp);
}

static void req_init(struct req *r, struct app *app, FCGX_Request *f)
{
	unsigned char rnd[6];
	const char *q;
	size_t plen;

	memset(r, 0, sizeof *r);
	r->app = app;
	r->fcgx = f;
	r->method = param(f, "REQUEST_METHOD");
	r->uri = param(f, "REQUEST_URI");
	r->remote_addr = param(f, "REMOTE_ADDR");
	r->origin = param(f, "HTTP_ORIGIN");
	r->host = param(f, "HTTP_HOST");
	r->user_agent = param(f, "HTTP_USER_AGENT");
	if (!r->method)
		r->method = "GET";
	if (!r->uri)
		r->uri = "/";
	if (!r->remote_addr)
		r->remote_addr = "";
	q = strchr(r->uri, '?');
	plen = q ? (size_t)(q - r->uri) : strlen(r->uri);
	if (plen >= sizeof r->path)
		plen = sizeof r->path - 1;
	memcpy(r->path, r->uri, plen);
	r->path[plen] = '\0';
	r->query = q ? q + 1 : "";
	randombytes_buf(rnd, sizeof rnd);
	memcpy(r->request_id, "req_", 4);
	sodium_bin2hex(r->request_id + 4, 13, rnd, sizeof rnd);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void access_log(struct req *r, const struct timespec *t0)
{
	enum log_level l = r->status >= 500 ? LOG_ERROR : r->status >= 400 ? LOG_WARN : LOG_INFO;

	struct sbuf b = SBUF_INIT;
	char ms[32];

	if (!log_enabled(l))
		return;
	/* Written straight as JSON text: one line per request, and building
	 * two jansson objects for it cost more than a quarter of a small GET. */
	snprintf(ms, sizeof ms, "%.3f", ms_since(t0));
	sb_lit(&b, "\"request_id\":");
	sb_json_str(&b, r->request_id);
	sb_lit(&b, ",\"method\":");
	sb_json_str(&b, r->method);
	sb_lit(&b, ",\"path\":");
	sb_json_str(&b, r->path);
	sb_lit(&b, ",\"remote_addr\":");
	sb_json_str(&b, r->remote_addr);
	sb_lit(&b, ",\"user_agent\":");
	sb_json_str(&b, r->user_agent ? r->user_agent : "");
	sb_lit(&b, ",\"status\":");
	sb_int(&b, r->status);
	sb_lit(&b, ",\"duration_ms\":");
	sb_puts(&b, ms);
	sb_lit(&b, ",\"bytes_written\":");
	sb_int(&b, r->bytes_out);
	sb_lit(&b, ",\"user\":");
	sb_json_str(&b, r->authed ? r->user.username : "");
	if (!b.oom)
		log_ev_pairs(l, "http", "http_request", b.s);
	sb_free(&b);
}

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static int app_open(struct app *app)
{
	int err;

	if (crypto_init() < 0) {
		log_error("main", "crypto_init_failed", NULL);
		return -1;
	}
	if ((err = master_load(app->cfg.master_key_file, &app->keys)) < 0) {
		log_error("main", "master_key_unavailable",
			  json_pack("{s:s,s:s,s:s}", "path", app->cfg.master_key_file,
				    "error", strerror(-err), "hint", "run `wgpilot init` first"));
		return -1;
	}
	if ((err = db_open(app->cfg.db_path, DB_RDWR, &app->db)) < 0) {
		log_error("main", "database_open_failed",
			  json_pack("{s:s,s:s}", "path", app->cfg.db_path, "error", strerror(-err)));
		return -1;
	}
	err = db_schema_check(app->db);
	if (err == -EPROTO) {
		log_error("main", "database_newer_than_program",
			  json_pack("{s:s}", "hint", "upgrade wgpilot; this DB was written by a newer version"));
		return -1;
	}
	if (err < 0) {
		log_error("main", "database_not_migrated",
			  json_pack("{s:s}", "hint", "run `wgpilot migrate` (or `wgpilot init`)"));
		return -1;
	}
	return 0;
}

/* One accepted request, up to (not including) FCGX_Finish_r. */
static void handle_request(struct app *app, FCGX_Request *f)
{
	struct timespec t0;
	struct req r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	req_init(&r, app, f);
	dispatch(&r);
	access_log(&r, &t0);
	metrics_http_count(&r);
	if (r.body) {
		sodium_memzero(r.body, r.body_len);     /* may hold passwords */
		free(r.body);
	}
}

/* The accept loop of one worker process. */
static int serve(struct app *app, int sock)
{
	FCGX_Request f;

	if (app_open(app) < 0)
		return 1;
	debug_log_install();
	FCGX_InitRequest(&f, sock, FCGI_FAIL_ACCEPT_ON_INTR);
	while (!stopping && FCGX_Accept_r(&f) >= 0) {
		handle_request(app, &f);
		FCGX_Finish_r(&f);
		debug_log_flush(app->db);       /* after the client has its answer */
	}
	db_close(app->db);
	master_wipe(&app->keys);
	return 0;
}

/* Pre-forking master: keeps n workers alive until SIGTERM. */
static int supervise(struct app *app, int sock, int n)
{
	pid_t *kids = calloc((size_t)n, sizeof *kids);
	int status;

	if (!kids)
		return 1;
	while (!stopping) {
		for (int i = 0; i < n; i++) {
			if (kids[i] > 0)
				continue;
			kids[i] = fork();
			if (kids[i] == 0) {
				/* No SA_RESTART: a blocked accept must return on SIGTERM. */
				struct sigaction sa = { .sa_handler = on_term };

				free(kids);     /* the master's bookkeeping */
				sigaction(SIGTERM, &sa, NULL);
				sigaction(SIGINT, &sa, NULL);
				_exit(serve(app, sock));
			}
			if (kids[i] < 0) {
				kids[i] = 0;
				sleep(1);
			}
		}
		pid_t pid = wait(&status);
		for (int i = 0; pid > 0 && i < n; i++) {
			if (kids[i] != pid)
				continue;
			kids[i] = 0;
			if (!stopping)
				log_warn("main", "worker_exited", json_pack("{s:i,s:i}", "pid", (int)pid,
					 "status", WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status)));
			if (!stopping && WIFEXITED(status) && WEXITSTATUS(status) != 0)
				sleep(1);       /* a worker that cannot start: do not spin */
		}
	}
	for (int i = 0; i < n; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	while (wait(&status) > 0 || errno == EINTR)
		;
	free(kids);
	log_info("main", "api_stopped", NULL);
	return 0;
}

static void usage(FILE *to)
{
	fputs("usage: wgpilot-api.fcgi [--config FILE] [--data-dir DIR] [--log-level L]\n"
	      "                        [--dev-mode] [--socket PATH [--workers N | --sse-threads N]]\n"
	      "--sse-threads N serves only GET /api/networks/{id}/events, N streams at once.\n"
	      "Without --socket it serves the FastCGI socket on fd 0 (spawn-fcgi).\n", to);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		STARTUP_OPTIONS,
		{ "socket", required_argument, NULL, 's' },
		{ "workers", required_argument, NULL, 'w' },
		{ "sse-threads", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct startup_flags flags = STARTUP_FLAGS_INIT;
	const char *sock_path = NULL;
	int workers = 2, sse_threads = 0, opt, sock = 0;
	static struct app app;
	struct sigaction sa = { .sa_handler = on_term };

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (startup_flag(&flags, opt, optarg))
			continue;
		switch (opt) {
		case 's': sock_path = optarg; break;
		case 'w': workers = atoi(optarg); break;
		case 'S': sse_threads = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || workers < 1 || workers > 64 || sse_threads < 0 || sse_threads > 1024
	    || (sse_threads > 0 && !sock_path)) {
		usage(stderr);
		return 2;
	}
	if (startup_config("wgpilot-api", &app.cfg, &flags) < 0)
		return 1;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0) {
		log_error("main", "fcgx_init_failed", NULL);
		return 1;
	}
	/* Fail fast (key, DB, schema) before binding or forking anything. */
	if (app_open(&app) < 0)
		return 1;
	db_close(app.db);
	app.db = NULL;
	if (!sock_path)
		return serve(&app, 0);
	unlink(sock_path);
	mode_t old = umask(0117);       /* socket mode 0660 */
	sock = FCGX_OpenSocket(sock_path, 128);
	umask(old);
	if (sock < 0) {
		log_error("main", "socket_failed", json_pack("{s:s}", "path", sock_path));
		return 1;
	}
	if (sse_threads > 0) {
		sse_only = true;
		log_info("main", "sse_starting", json_pack("{s:s,s:i}", "socket", sock_path,
							   "threads", sse_threads));
		sock = events_serve(&app, sock, sse_threads, handle_request);
		master_wipe(&app.keys);
		return sock;
	}
	log_info("main", "api_started", json_pack("{s:s,s:i,s:i}", "socket", sock_path,
						  "workers", workers, "pid", (int)getpid()));
	return supervise(&app, sock, workers);
}
