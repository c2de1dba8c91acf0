/* SPDX-License-Identifier: MIT */
/*
 * GET /api/networks/{id}/events (api.md §8): live peer state as Server-Sent
 * Events, and the process that serves them (wgpilot-api.fcgi --sse-threads N).
 *
 * A stream lives as long as the browser tab, so it must not hold one of the
 * two pre-forked API workers. The SSE process runs N threads on its own
 * FastCGI socket; each thread has its own read-only DB connection and
 * accepts (serialised by a mutex, as libfcgi's threaded example does) and
 * serves one stream at a time. N bounds the number of concurrent streams.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "api.h"
#include "db.h"
#include "log.h"
#include "model.h"

#define TICK_SEC 5              /* one event every 5 s (monitoring.md §1) */
#define KEEPALIVE_SEC 15        /* ": keepalive" at least this often */
#define ONLINE_WINDOW 180
#define THREAD_STACK (2 * 1024 * 1024)
#define STOP_SIGNAL SIGUSR1

static volatile sig_atomic_t sse_stopping;

static long long mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static json_t *event_entry(long long peer_id, json_t *kp, long long now)
{
	long long hs = json_integer_value(json_object_get(kp, "last_handshake"));

	return json_pack("{s:I,s:b,s:I,s:I,s:I,s:s}", "peer_id", (json_int_t)peer_id,
			 "online", hs > 0 && now - hs < ONLINE_WINDOW, "last_handshake", (json_int_t)hs,
			 "transfer_rx", json_integer_value(json_object_get(kp, "rx_bytes")),
			 "transfer_tx", json_integer_value(json_object_get(kp, "tx_bytes")),
			 "public_key", json_string_value(json_object_get(kp, "public_key")) ?: "");
}

/* The event's data: kernel peers in DB order, then those unknown to the DB
 * (peer_id 0). [] for a disabled network; NULL when the status read fails
 * (that tick sends nothing). */
static json_t *event_data(struct req *r, const struct network *n)
{
	long long now = (long long)time(NULL);
	json_t *ifs, *kif, *kpeers, *kp, *out;
	struct peer *v = NULL;
	size_t cnt = 0, i, nk;
	char *used;

	if (!n->enabled)
		return json_array();
	if (!(ifs = ops_status(r, n->iface)))
		return NULL;
	kif = ops_find_iface(ifs, n->iface);
	kpeers = json_object_get(kif, "peers");
	nk = json_array_size(kpeers);
	used = calloc(nk + 1, 1);
	if (!kif || !used || model_peer_list(r->app->db, n->id, &v, &cnt) < 0) {
		free(used);
		json_decref(ifs);
		return NULL;
	}
	out = json_array();
	for (size_t k = 0; k < cnt; k++)
		json_array_foreach(kpeers, i, kp) {
			const char *key = json_string_value(json_object_get(kp, "public_key"));
			if (!used[i] && key && strcmp(key, v[k].public_key) == 0) {
				used[i] = 1;
				json_array_append_new(out, event_entry(v[k].id, kp, now));
				break;
			}
		}
	json_array_foreach(kpeers, i, kp)
		if (!used[i])
			json_array_append_new(out, event_entry(0, kp, now));
	free(used);
	peers_free(v, cnt);
	json_decref(ifs);
	return out;
}

/* Writes and flushes s. 0, or -1 once the connection is gone. */
static int put(struct req *r, const char *s, size_t len)
{
	if (FCGX_PutStr(s, (int)len, r->fcgx->out) != (int)len || FCGX_FFlush(r->fcgx->out) != 0
	    || FCGX_GetError(r->fcgx->out) != 0)
		return -1;
	r->bytes_out += len;
	return 0;
}

/* Waits until deadline (monotonic seconds). -1 when nginx closed the
 * connection (the client went away) or the process stops. libfcgi has no
 * call for this; its request keeps the connection in ipcFd. Only hang-ups
 * count: unread input (the empty stdin record) must not end the stream.
 * Only stop signals have handlers here (STOP_SIGNAL in the SSE process,
 * SIGTERM/SIGINT in a plain worker), so an interrupted poll means: stop. */
static int wait_tick(struct req *r, long long deadline)
{
	for (long long left; (left = deadline - mono_sec()) > 0; ) {
		struct pollfd p = { .fd = r->fcgx->ipcFd, .events = POLLRDHUP };
		int n;

		if (sse_stopping)
			return -1;
		n = poll(&p, 1, (int)(left > 1 ? 1000 : left * 1000));
		if (n > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
			return -1;
		if (n < 0)
			return -1;
	}
	return sse_stopping ? -1 : 0;
}

/* GET /api/networks/{id}/events — 200 text/event-stream until the client
 * disconnects (or the network is deleted); 404 NETWORK_NOT_FOUND before
 * streaming; 500 database error. */
void events_stream(struct req *r)
{
	struct network n;
	char head[512];
	long long next, last_keepalive;
	int found = model_network_get(r->app->db, r->ids[0], &n), len;

	if (found <= 0) {
		if (found < 0)
			resp_error(r, 500, "INTERNAL_ERROR", "database error");
		else
			resp_error(r, 404, "NETWORK_NOT_FOUND", "network %lld not found", r->ids[0]);
		return;
	}
	r->responded = true;
	r->status = 200;
	len = snprintf(head, sizeof head, "Status: 200 OK\r\nX-Request-ID: %s\r\n"
		       "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
		       "Connection: keep-alive\r\nX-Accel-Buffering: no\r\n\r\n", r->request_id);
	if (FCGX_PutStr(head, len, r->fcgx->out) != len || FCGX_FFlush(r->fcgx->out) != 0) {
		network_free(&n);
		return;
	}
	log_debug("handler", "sse_stream_started", json_pack("{s:I,s:s}", "network_id",
		  (json_int_t)n.id, "request_id", r->request_id));
	next = last_keepalive = mono_sec();
	for (;;) {
		json_t *data = event_data(r, &n);
		char *s = data ? json_dumps(data, JSON_COMPACT) : NULL;
		int err = 0;

		json_decref(data);
		if (s) {
			size_t need = strlen(s) + 32;
			char *ev = malloc(need);

			if (ev) {
				int k = snprintf(ev, need, "event: status\ndata: %s\n\n", s);
				err = put(r, ev, (size_t)k);
				free(ev);
			}
			free(s);
		}
		if (!err && mono_sec() - last_keepalive >= KEEPALIVE_SEC) {
			err = put(r, ": keepalive\n\n", 13);
			last_keepalive = mono_sec();
		}
		next += TICK_SEC;
		if (err || wait_tick(r, next) < 0)
			break;
		network_free(&n);
		found = model_network_get(r->app->db, r->ids[0], &n);
		if (found <= 0) {
			memset(&n, 0, sizeof n);
			break;  /* deleted: nothing left to watch */
		}
	}
	network_free(&n);
}

/* ---- the SSE process ---- */

struct sse_server {
	const struct app *tmpl;
	int sock;
	sse_handler_fn *handle;
	pthread_mutex_t accept_lock;
};

static void on_stop_signal(int sig)
{
	(void)sig;      /* only interrupts accept()/poll() */
}

static void *sse_thread(void *arg)
{
	struct sse_server *s = arg;
	struct app app;
	FCGX_Request f;
	int err;

	memcpy(&app, s->tmpl, sizeof app);
	if ((err = db_open(app.cfg.db_path, DB_RDONLY, &app.db)) < 0) {
		log_error("main", "database_open_failed", json_pack("{s:s,s:s}", "path", app.cfg.db_path,
			  "error", strerror(-err)));
		sodium_memzero(&app.keys, sizeof app.keys);
		return NULL;
	}
	FCGX_InitRequest(&f, s->sock, FCGI_FAIL_ACCEPT_ON_INTR);
	while (!sse_stopping) {
		int rc;

		pthread_mutex_lock(&s->accept_lock);
		rc = sse_stopping ? -1 : FCGX_Accept_r(&f);
		pthread_mutex_unlock(&s->accept_lock);
		if (rc < 0) {
			if (sse_stopping)
				break;
			continue;       /* interrupted or a failed connection: accept again */
		}
		s->handle(&app, &f);
		FCGX_Finish_r(&f);
		debug_log_flush(app.db);
	}
	FCGX_Free(&f, 1);
	db_close(app.db);
	sodium_memzero(&app.keys, sizeof app.keys);
	return NULL;
}

int events_serve(const struct app *tmpl, int sock, int nthreads, sse_handler_fn *handle)
{
	struct sse_server s = { .tmpl = tmpl, .sock = sock, .handle = handle,
				.accept_lock = PTHREAD_MUTEX_INITIALIZER };
	struct sigaction sa = { .sa_handler = on_stop_signal };        /* no SA_RESTART */
	pthread_t *tids = calloc((size_t)nthreads, sizeof *tids);
	bool *alive = calloc((size_t)nthreads, sizeof *alive);
	pthread_attr_t attr;
	sigset_t stop, old;
	int sig = 0, started = 0;

	if (!tids || !alive) {
		free(tids);
		free(alive);
		return 1;
	}
	json_object_seed(0);    /* before any thread builds an object */
	sigaction(STOP_SIGNAL, &sa, NULL);
	/* SIGTERM/SIGINT go to sigwait() below, never to a serving thread. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	for (int i = 0; i < nthreads; i++) {
		alive[i] = pthread_create(&tids[i], &attr, sse_thread, &s) == 0;
		started += alive[i];
	}
	pthread_attr_destroy(&attr);
	log_info("main", "sse_started", json_pack("{s:i,s:i,s:i}", "threads", started,
		 "requested", nthreads, "pid", (int)getpid()));
	if (started > 0)
		sigwait(&stop, &sig);
	sse_stopping = 1;
	/* Wake every thread until it is gone: one may be about to block in
	 * accept() right after a signal, so repeat. */
	for (int left = started; left > 0; ) {
		for (int i = 0; i < nthreads; i++)
			if (alive[i])
				pthread_kill(tids[i], STOP_SIGNAL);
		usleep(50000);
		for (int i = 0; i < nthreads; i++)
			if (alive[i] && pthread_tryjoin_np(tids[i], NULL) == 0) {
				alive[i] = false;
				left--;
			}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free(tids);
	free(alive);
	log_info("main", "sse_stopped", json_pack("{s:i}", "signal", sig));
	return started > 0 ? 0 : 1;
}
