/* SPDX-License-Identifier: MIT */
/*
 * GET /health and GET /metrics (api.md §13), the reconciler ping shared with
 * the system and debug pages, and the request counter behind
 * wg_webui_http_requests_total: a small file of 64-bit counters in the data
 * dir, mapped MAP_SHARED by every worker process and thread and bumped with
 * atomic adds, so the separate workers (and the SSE process) count into one
 * set without a DB write per request.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "api.h"
#include "db.h"
#include "log.h"
#include "model.h"
#include "rpc.h"
#include "sbuf.h"

#define ONLINE_WINDOW 180       /* seconds since the last handshake (peers.md §7) */
#define PING_TIMEOUT_MS 3000    /* health checks must answer fast */
#define STATUS_TIMEOUT_MS 5000

/* ---- reconciler ping and uptime ---- */

int ops_ping(struct req *r, struct rec_ping *p)
{
	json_t *req = json_pack("{s:s,s:s}", "op", "ping", "request_id", r->request_id);
	json_t *reply = NULL;
	int err = rpc_call(r->app->cfg.rec_socket, req, &reply, PING_TIMEOUT_MS);

	memset(p, 0, sizeof *p);
	json_decref(req);
	if (err == 0 && json_is_true(json_object_get(reply, "ok"))) {
		p->up = true;
		p->started_at = json_integer_value(json_object_get(reply, "started_at"));
		snprintf(p->backend, sizeof p->backend, "%s",
			 json_string_value(json_object_get(reply, "backend")) ?: "");
		snprintf(p->version, sizeof p->version, "%s",
			 json_string_value(json_object_get(reply, "version")) ?: "");
	}
	json_decref(reply);
	return p->up ? 0 : -1;
}

json_t *ops_status(struct req *r, const char *iface)
{
	json_t *req = iface ? json_pack("{s:s}", "interface", iface) : json_object();
	json_t *reply = NULL, *ifs = NULL;

	json_object_set_new(req, "op", json_string("status"));
	json_object_set_new(req, "request_id", json_string(r->request_id));
	if (rpc_call(r->app->cfg.rec_socket, req, &reply, STATUS_TIMEOUT_MS) == 0
	    && json_is_true(json_object_get(reply, "ok"))
	    && json_is_array(json_object_get(reply, "interfaces")))
		ifs = json_incref(json_object_get(reply, "interfaces"));
	json_decref(req);
	json_decref(reply);
	return ifs;
}

long long ops_uptime_sec(const struct rec_ping *p)
{
	long long now = (long long)time(NULL);

	return p->up && p->started_at > 0 && now > p->started_at ? now - p->started_at : 0;
}

void ops_uptime(char out[32], long long secs)
{
	long long d = secs / 86400, h = secs % 86400 / 3600, m = secs % 3600 / 60;

	if (d > 0)
		snprintf(out, 32, "%lldd %lldh %lldm", d, h, m);
	else if (h > 0)
		snprintf(out, 32, "%lldh %lldm", h, m);
	else
		snprintf(out, 32, "%lldm", m);
}

json_t *ops_find_iface(json_t *ifaces, const char *name)
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

bool ops_iface_up(json_t *ifaces, const struct network *n)
{
	json_t *kif = n->enabled ? ops_find_iface(ifaces, n->iface) : NULL;

	return kif && json_is_true(json_object_get(kif, "up"));
}

/* ---- GET /health ---- */

/* GET /health — 200 {"status","version","uptime","networks","database"}
 * ("healthy" or "degraded"); 503 with "status":"unhealthy" and
 * "database":"error" when the DB cannot be read. Public. */
void health_get(struct req *r)
{
	struct network *v = NULL;
	struct rec_ping ping;
	size_t n = 0;
	int healthy = 0, degraded = 0;
	bool db_ok = model_network_list(r->app->db, &v, &n) == 0;
	json_t *ifaces = NULL;
	char up[32];

	ops_ping(r, &ping);
	if (db_ok && ping.up)
		ifaces = ops_status(r, NULL);
	for (size_t i = 0; db_ok && i < n; i++) {
		if (!v[i].enabled)
			continue;
		if (ops_iface_up(ifaces, &v[i]))
			healthy++;
		else
			degraded++;
	}
	json_decref(ifaces);
	networks_free(v, n);
	ops_uptime(up, ops_uptime_sec(&ping));
	if (!db_ok)
		log_error("handler", "health_database_error", json_pack("{s:s}", "request_id", r->request_id));
	resp_json(r, db_ok ? 200 : 503, json_pack("{s:s,s:s,s:s,s:{s:i,s:i,s:i},s:s}",
		  "status", !db_ok ? "unhealthy" : degraded || !ping.up ? "degraded" : "healthy",
		  "version", PACKAGE_VERSION, "uptime", up,
		  "networks", "total", (int)n, "healthy", healthy, "degraded", degraded,
		  "database", db_ok ? "ok" : "error"));
}

/* ---- the shared request counter ---- */

static const char *const count_methods[] = { "GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD",
					     "PATCH", "OTHER" };
#define N_METHODS (sizeof count_methods / sizeof count_methods[0])
#define N_STATUS 600            /* index = HTTP status (100-599); 0 = anything else */
#define COUNTERS_MAGIC 0x77677063746e7231ULL    /* "wgpctnr1" */

struct counters {
	uint64_t magic;
	uint64_t n[N_METHODS][N_STATUS];
};

/* Mapped once per process (threads share it); NULL when unavailable. */
static struct counters *counters;
static bool counters_tried;
static pthread_mutex_t counters_lock = PTHREAD_MUTEX_INITIALIZER;

static void counters_map(const char *data_dir)
{
	char path[4200];
	struct counters *c = MAP_FAILED;
	uint64_t zero = 0;
	int fd, err = 0;

	snprintf(path, sizeof path, "%s/http-requests.counters", data_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	/* ftruncate to the same size changes nothing: safe in every process. */
	if (fd < 0 || ftruncate(fd, sizeof *c) < 0
	    || (c = mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
		err = errno;
	if (fd >= 0)
		close(fd);
	/* A fresh (all-zero) file is claimed once; another layout is left
	 * alone and counting stays off. */
	if (!err && !__atomic_compare_exchange_n(&c->magic, &zero, COUNTERS_MAGIC, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
	    && zero != COUNTERS_MAGIC)
		err = EPROTO;
	if (!err) {
		counters = c;
		return;
	}
	if (c != MAP_FAILED)
		munmap(c, sizeof *c);
	log_warn("handler", "http_counters_unavailable", json_pack("{s:s,s:s}", "path", path,
		 "error", strerror(err)));
}

static struct counters *counters_get(const struct app *app)
{
	struct counters *c;

	pthread_mutex_lock(&counters_lock);
	if (!counters_tried) {
		counters_tried = true;
		counters_map(app->cfg.data_dir);
	}
	c = counters;
	pthread_mutex_unlock(&counters_lock);
	return c;
}

void metrics_http_count(struct req *r)
{
	struct counters *c = counters_get(r->app);
	size_t m = N_METHODS - 1;
	int s = r->status >= 100 && r->status < N_STATUS ? r->status : 0;

	if (!c)
		return;
	for (size_t i = 0; i + 1 < N_METHODS; i++)
		if (strcmp(r->method, count_methods[i]) == 0)
			m = i;
	__atomic_fetch_add(&c->n[m][s], 1, __ATOMIC_RELAXED);
}

/* ---- GET /metrics ---- */

/* Prometheus label value: backslash, double quote and newline escaped. */
static void label(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			sb_printf(b, "\\%c", *s);
		else if (*s == '\n')
			sb_puts(b, "\\n");
		else
			sb_putn(b, s, 1);
	}
}

static void head(struct sbuf *b, const char *name, const char *type, const char *help)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The per-network numbers of one up interface. */
struct net_metrics {
	long long peers, online, rx, tx;
};

static const char *peer_label(const struct peer *v, size_t n, const char *key, char buf[16])
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].public_key, key) == 0)
			return v[i].name;
	snprintf(buf, 16, "%.8s...", key);
	return buf;
}

/* GET /metrics — 200 text/plain; version=0.0.4 (api.md §13); 500 when the
 * DB cannot be read. Public (nginx may restrict it). */
void metrics_get(struct req *r)
{
	struct network *nets = NULL;
	size_t nn = 0;
	struct net_metrics *nm;
	struct sbuf b = SBUF_INIT;
	struct counters *c;
	long long now = (long long)time(NULL);
	json_t *ifaces;

	if (model_network_list(r->app->db, &nets, &nn) < 0) {
		resp_error(r, 500, "INTERNAL_ERROR", "database error");
		return;
	}
	nm = calloc(nn + 1, sizeof *nm);
	if (!nm) {
		networks_free(nets, nn);
		resp_error(r, 500, "INTERNAL_ERROR", "out of memory");
		return;
	}
	ifaces = ops_status(r, NULL);

	head(&b, "wg_interface_up", "gauge", "Whether the WireGuard interface of the network is up (1) or not (0).");
	for (size_t i = 0; i < nn; i++) {
		sb_puts(&b, "wg_interface_up{network=\"");
		label(&b, nets[i].iface);
		sb_printf(&b, "\"} %d\n", ops_iface_up(ifaces, &nets[i]) ? 1 : 0);
	}

	head(&b, "wg_peer_last_handshake_seconds", "gauge", "Seconds since the peer's last handshake.");
	for (size_t i = 0; i < nn; i++) {
		json_t *kif = ops_find_iface(ifaces, nets[i].iface), *kp;
		struct peer *pv = NULL;
		size_t np = 0, k;
		char buf[16];

		if (!ops_iface_up(ifaces, &nets[i]))
			continue;
		model_peer_list(r->app->db, nets[i].id, &pv, &np);
		nm[i].peers = (long long)np;
		json_array_foreach(json_object_get(kif, "peers"), k, kp) {
			const char *key = json_string_value(json_object_get(kp, "public_key")) ?: "";
			long long hs = json_integer_value(json_object_get(kp, "last_handshake"));

			nm[i].rx += json_integer_value(json_object_get(kp, "rx_bytes"));
			nm[i].tx += json_integer_value(json_object_get(kp, "tx_bytes"));
			if (hs > 0 && now - hs < ONLINE_WINDOW)
				nm[i].online++;
			if (hs <= 0)
				continue;       /* never: omitted */
			sb_puts(&b, "wg_peer_last_handshake_seconds{network=\"");
			label(&b, nets[i].iface);
			sb_puts(&b, "\",peer=\"");
			label(&b, peer_label(pv, np, key, buf));
			sb_printf(&b, "\"} %lld\n", now > hs ? now - hs : 0);
		}
		peers_free(pv, np);
	}

	head(&b, "wg_peers_total", "gauge", "Configured peers of the network.");
	for (size_t i = 0; i < nn; i++) {
		if (!ops_iface_up(ifaces, &nets[i]))
			continue;
		sb_puts(&b, "wg_peers_total{network=\"");
		label(&b, nets[i].iface);
		sb_printf(&b, "\"} %lld\n", nm[i].peers);
	}
	head(&b, "wg_peers_online", "gauge", "Peers with a handshake in the last 3 minutes.");
	for (size_t i = 0; i < nn; i++) {
		if (!ops_iface_up(ifaces, &nets[i]))
			continue;
		sb_puts(&b, "wg_peers_online{network=\"");
		label(&b, nets[i].iface);
		sb_printf(&b, "\"} %lld\n", nm[i].online);
	}
	head(&b, "wg_transfer_bytes_total", "counter", "Bytes received (rx) and sent (tx) by the network's peers.");
	for (size_t i = 0; i < nn; i++) {
		if (!ops_iface_up(ifaces, &nets[i]))
			continue;
		sb_puts(&b, "wg_transfer_bytes_total{network=\"");
		label(&b, nets[i].iface);
		sb_printf(&b, "\",direction=\"rx\"} %lld\n", nm[i].rx);
		sb_puts(&b, "wg_transfer_bytes_total{network=\"");
		label(&b, nets[i].iface);
		sb_printf(&b, "\",direction=\"tx\"} %lld\n", nm[i].tx);
	}

	head(&b, "wg_webui_http_requests_total", "counter", "HTTP requests answered by the API.");
	c = counters_get(r->app);
	for (size_t m = 0; c && m < N_METHODS; m++)
		for (int s = 0; s < N_STATUS; s++) {
			uint64_t v = __atomic_load_n(&c->n[m][s], __ATOMIC_RELAXED);
			if (v == 0)
				continue;
			if (s)
				sb_printf(&b, "wg_webui_http_requests_total{method=\"%s\",status=\"%d\"} %llu\n",
					  count_methods[m], s, (unsigned long long)v);
			else
				sb_printf(&b, "wg_webui_http_requests_total{method=\"%s\",status=\"other\"} %llu\n",
					  count_methods[m], (unsigned long long)v);
		}

	json_decref(ifaces);
	free(nm);
	networks_free(nets, nn);
	if (b.oom) {
		sb_free(&b);
		resp_error(r, 500, "INTERNAL_ERROR", "out of memory");
		return;
	}
	resp_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, b.s ? b.s : "", b.len);
	sb_free(&b);
}
