/* SPDX-License-Identifier: MIT */
/*
 * The reconciler socket (networking.md §7): a fixed set of opcodes, one JSON
 * object per line each way, peers checked with SO_PEERCRED. Requests are
 * served one at a time; a client that does not finish its line within
 * CLIENT_TIMEOUT_MS, or sends more than LINE_MAX_BYTES, is dropped, so a slow
 * or hostile client cannot block the daemon.
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "nl-link.h"
#include "reconciler.h"

#define MAX_CLIENTS 32
#define LINE_MAX_BYTES 65536
#define CLIENT_TIMEOUT_MS 5000
#define REPLY_TIMEOUT_S 10

struct client {
	int fd;
	char buf[LINE_MAX_BYTES];
	size_t len;
	long long deadline;
};

enum op { OP_PING, OP_RECONCILE, OP_APPLY_NETWORK, OP_TEARDOWN, OP_APPLY_PEER,
	  OP_REMOVE_PEER, OP_STATUS, OP_DETECT, OP_CHECK_PORT, OP_APPLY_FIREWALL, OP_ROUTES,
	  OP__MAX };

static const char *const op_names[OP__MAX] = {
	[OP_PING] = "ping", [OP_RECONCILE] = "reconcile", [OP_APPLY_NETWORK] = "apply_network",
	[OP_TEARDOWN] = "teardown", [OP_APPLY_PEER] = "apply_peer", [OP_REMOVE_PEER] = "remove_peer",
	[OP_STATUS] = "status", [OP_DETECT] = "detect", [OP_CHECK_PORT] = "check_port",
	[OP_APPLY_FIREWALL] = "apply_firewall", [OP_ROUTES] = "routes",
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int server_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof sa.sun_path];
	char *slash;
	mode_t old;
	int fd, err;

	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0750) < 0 && errno != EEXIST)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	old = umask(0117);
	err = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (err < 0 || listen(fd, 64) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Root, our own uid, or the service user may talk to us. */
static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	struct passwd *pw;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	if (cred.uid == 0 || cred.uid == getuid())
		return true;
	pw = getpwnam("wgpilot");
	return pw && pw->pw_uid == cred.uid;
}

/* Sends len bytes (the line including its '\n') within REPLY_TIMEOUT_S. */
static void send_text(int fd, const char *s, size_t len)
{
	size_t off = 0;
	long long deadline = now_ms() + REPLY_TIMEOUT_S * 1000;

	while (off < len && now_ms() < deadline) {
		ssize_t w = send(fd, s + off, len - off, MSG_NOSIGNAL);

		if (w > 0) {
			off += (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			poll(&p, 1, 100);
		} else {
			break;
		}
	}
}

static void send_line(int fd, json_t *reply)
{
	char *s = json_dumps(reply, JSON_COMPACT);
	size_t len;

	if (!s)
		return;
	len = strlen(s);
	s[len++] = '\n';                /* replaces the NUL */
	send_text(fd, s, len);
	free(s);
}

/*
 * Status replies are read by every page view, SSE tick and metrics scrape,
 * and the device read behind one costs milliseconds at hundreds of peers:
 * a serialized reply is reused for STATUS_TTL_MS unless anything changed
 * (generation bumped by every modifying op, link event and resync).
 */
#define STATUS_TTL_MS 1000
#define STATUS_CACHE 8
static struct status_cache {
	char key[IFNAMSIZ];             /* interface, "" = all */
	char *text;                     /* the reply line with its '\n' */
	size_t len;
	long long at_ms;
	unsigned long long gen;
} status_cache[STATUS_CACHE];
static unsigned long long generation = 1;

static void status_changed(void)
{
	generation++;
}

static struct status_cache *status_cached(const char *key)
{
	for (int i = 0; i < STATUS_CACHE; i++) {
		struct status_cache *c = &status_cache[i];

		if (c->text && c->gen == generation && strcmp(c->key, key) == 0
		    && now_ms() - c->at_ms < STATUS_TTL_MS)
			return c;
	}
	return NULL;
}

static void status_store(const char *key, json_t *reply)
{
	struct status_cache *c = &status_cache[0];
	char *s = json_dumps(reply, JSON_COMPACT);

	if (!s)
		return;
	for (int i = 0; i < STATUS_CACHE; i++) {       /* same key, else the oldest */
		if (strcmp(status_cache[i].key, key) == 0) {
			c = &status_cache[i];
			break;
		}
		if (status_cache[i].at_ms < c->at_ms)
			c = &status_cache[i];
	}
	free(c->text);
	snprintf(c->key, sizeof c->key, "%s", key);
	c->len = strlen(s);
	s[c->len++] = '\n';
	c->text = s;
	c->at_ms = now_ms();
	c->gen = generation;
}

static json_t *error_reply(const char *code, const char *message, const char *hint)
{
	return json_pack("{s:b,s:s,s:s,s:s}", "ok", 0, "code", code, "message", message,
			 "hint", hint ? hint : "");
}

static json_t *ok_reply(void)
{
	return json_pack("{s:b}", "ok", 1);
}

static long long int_arg(json_t *req, const char *key)
{
	json_t *v = json_object_get(req, key);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static const char *str_arg(json_t *req, const char *key)
{
	return json_string_value(json_object_get(req, key));
}

static bool iface_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n >= 16)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '-' || s[i] == '_' || s[i] == '.' || (s[i] >= '0' && s[i] <= '9')
		      || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

static json_t *handle(struct rec *r, enum op op, json_t *req)
{
	const char *code = NULL, *iface;
	char msg[256];
	json_t *o;
	int err;

	switch (op) {
	case OP_PING:
		return json_pack("{s:b,s:s,s:I,s:s}", "ok", 1, "version", PACKAGE_VERSION,
				 "started_at", (json_int_t)r->started_at, "backend", r->wg->name);
	case OP_RECONCILE:
		err = rec_full(r);
		return err ? error_reply("INTERNAL_ERROR", "some networks failed; see the log", NULL)
			   : ok_reply();
	case OP_APPLY_NETWORK:
	case OP_APPLY_PEER:
		if (int_arg(req, "network_id") <= 0 || (op == OP_APPLY_PEER && int_arg(req, "peer_id") <= 0))
			return error_reply("VALIDATION_ERROR", "network_id/peer_id required", NULL);
		err = op == OP_APPLY_NETWORK ? rec_network(r, int_arg(req, "network_id"), &code, msg)
			: rec_peer(r, int_arg(req, "network_id"), int_arg(req, "peer_id"), &code, msg);
		return err < 0 ? error_reply(code ? code : "INTERNAL_ERROR", msg, NULL) : ok_reply();
	case OP_TEARDOWN:
		iface = str_arg(req, "interface");
		if (!iface_name_ok(iface))
			return error_reply("VALIDATION_ERROR", "interface required", NULL);
		err = rec_teardown(r, iface);
		if (err < 0)
			return error_reply("INTERNAL_ERROR", strerror(-err), NULL);
		err = rec_firewall(r, &code, msg);
		return err < 0 ? error_reply(code, msg, NULL) : ok_reply();
	case OP_APPLY_FIREWALL:
		err = rec_firewall(r, &code, msg);
		return err < 0 ? error_reply(code, msg, NULL) : ok_reply();
	case OP_ROUTES:
		iface = str_arg(req, "interface");
		if (iface && !iface_name_ok(iface))
			return error_reply("VALIDATION_ERROR", "bad interface name", NULL);
		return json_pack("{s:b,s:o}", "ok", 1, "routes", rec_routes(r, iface));
	case OP_REMOVE_PEER:
		iface = str_arg(req, "interface");
		if (!iface_name_ok(iface) || !str_arg(req, "public_key"))
			return error_reply("VALIDATION_ERROR", "interface and public_key required", NULL);
		err = rec_remove_peer(r, iface, str_arg(req, "public_key"));
		return err < 0 ? error_reply("WG_PEER_ADD_FAILED", strerror(-err), NULL) : ok_reply();
	case OP_STATUS:
		iface = str_arg(req, "interface");
		if (iface && !iface_name_ok(iface))
			return error_reply("VALIDATION_ERROR", "bad interface name", NULL);
		o = rec_status(r, iface);
		json_object_set_new(o, "ok", json_true());
		return o;
	case OP_DETECT:
		return json_pack("{s:b,s:o}", "ok", 1, "interfaces", rec_detect(r));
	case OP_CHECK_PORT:
		if (int_arg(req, "port") < 1 || int_arg(req, "port") > 65535)
			return error_reply("VALIDATION_ERROR", "port 1-65535 required", NULL);
		o = rec_check_port(r, (int)int_arg(req, "port"));
		json_object_set_new(o, "ok", json_true());
		return o;
	case OP__MAX:
		break;
	}
	return error_reply("VALIDATION_ERROR", "unknown op", NULL);
}

static void serve_line(struct rec *r, int fd, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, 0, &jerr), *reply;
	const char *opname = json_string_value(json_object_get(req, "op"));
	const char *rid = json_string_value(json_object_get(req, "request_id"));
	int op = OP__MAX;

	for (int i = 0; opname && i < OP__MAX; i++)
		if (strcmp(opname, op_names[i]) == 0)
			op = i;
	if (!json_is_object(req)) {
		log_warn("reconcile", "socket_bad_request", json_pack("{s:s}", "error", "malformed JSON"));
		reply = error_reply("VALIDATION_ERROR", "malformed request", NULL);
	} else if (op == OP__MAX) {
		log_warn("reconcile", "socket_unknown_op", json_pack("{s:s}", "op", opname ? opname : ""));
		reply = error_reply("VALIDATION_ERROR", "unknown op", NULL);
	} else {
		bool reads = op == OP_STATUS || op == OP_PING || op == OP_DETECT || op == OP_CHECK_PORT
			     || op == OP_ROUTES;
		const char *iface = json_string_value(json_object_get(req, "interface"));
		const char *key = iface && strlen(iface) < IFNAMSIZ ? iface : "";
		struct status_cache *hit = op == OP_STATUS ? status_cached(key) : NULL;

		log_ev(reads ? LOG_DEBUG : LOG_INFO, "reconcile", "socket_request",
		       json_pack("{s:s,s:s,s:b}", "op", op_names[op], "request_id", rid ? rid : "",
				 "cached", hit != NULL));
		if (hit) {
			send_text(fd, hit->text, hit->len);
			json_decref(req);
			return;
		}
		if (!reads)
			status_changed();
		reply = handle(r, (enum op)op, req);
		if (!reads)
			status_changed();       /* also what the op itself changed */
		if (op == OP_STATUS && json_is_true(json_object_get(reply, "ok")))
			status_store(key, reply);
	}
	send_line(fd, reply);
	json_decref(reply);
	json_decref(req);
}

static void client_close(struct client *c)
{
	close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/* Reads what is there; serves a complete line. */
static void client_read(struct rec *r, struct client *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
		char *nl;

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			client_close(c);
			return;
		}
		if (n < 0)
			return;
		c->len += (size_t)n;
		nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			serve_line(r, c->fd, c->buf, (size_t)(nl - c->buf));
			client_close(c);        /* one request per connection */
			return;
		}
		if (c->len == sizeof c->buf) {
			log_warn("reconcile", "socket_request_too_large", NULL);
			send_line(c->fd, error_reply("VALIDATION_ERROR", "request too large", NULL));
			client_close(c);
			return;
		}
	}
}

static void accept_clients(int lfd, struct client *cl)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		int slot = -1;

		if (fd < 0)
			return;
		if (!peer_allowed(fd)) {
			log_warn("reconcile", "socket_peer_refused", NULL);
			close(fd);
			continue;
		}
		for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
			if (cl[i].fd < 0)
				slot = i;
		if (slot < 0) {
			close(fd);      /* full: the client retries or times out */
			continue;
		}
		cl[slot].fd = fd;
		cl[slot].len = 0;
		cl[slot].deadline = now_ms() + CLIENT_TIMEOUT_MS;
	}
}

/* Link names seen in one batch of events, handled after the batch. */
struct link_events {
	char names[16][IFNAMSIZ];
	int n;
	bool overflow;
};

static void on_link_event(const struct nl_link *l, bool deleted, void *data)
{
	struct link_events *ev = data;

	(void)deleted;  /* the current state is re-read before acting */
	for (int i = 0; i < ev->n; i++)
		if (strcmp(ev->names[i], l->name) == 0)
			return;
	if (ev->n == (int)(sizeof ev->names / sizeof ev->names[0])) {
		ev->overflow = true;
		return;
	}
	snprintf(ev->names[ev->n++], IFNAMSIZ, "%s", l->name);
}

/* Handles a batch of link events; may move the next full pass earlier. */
static void handle_link_events(struct rec *r, struct nl_monitor *mon, long long *next_resync)
{
	struct link_events ev = { .n = 0 };
	int err = nl_monitor_read(mon, on_link_event, &ev);

	if (err == -ENOBUFS || ev.overflow) {
		log_warn("reconcile", "link_events_lost", json_pack("{s:s}", "action", "full_reconcile"));
		rec_full(r);
		return;
	}
	status_changed();
	for (int i = 0; i < ev.n; i++) {
		long long retry = rec_link_changed(r, ev.names[i], now_ms());

		if (retry > 0 && now_ms() + retry < *next_resync)
			*next_resync = now_ms() + retry;
	}
}

static int signal_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int server_run(struct rec *r, int lfd)
{
	static struct client cl[MAX_CLIENTS];
	struct pollfd pfd[MAX_CLIENTS + 3];
	long long next_resync = now_ms() + r->cfg.resync_interval * 1000;
	int sfd = signal_fd();
	struct nl_monitor *mon = NULL;

	for (int i = 0; i < MAX_CLIENTS; i++)
		cl[i].fd = -1;
	if (r->cfg.event_driven && nl_monitor_open(&mon) < 0)
		log_warn("reconcile", "link_events_unavailable", json_pack("{s:s}", "hint",
			 "managed links are still checked every resync interval"));
	for (;;) {
		int n = 0, map[MAX_CLIENTS];
		long long now = now_ms(), wait = next_resync - now;

		pfd[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = mon ? nl_monitor_fd(mon) : -1, .events = POLLIN };
		for (int i = 0; i < MAX_CLIENTS; i++) {
			if (cl[i].fd < 0)
				continue;
			if (now >= cl[i].deadline) {
				log_warn("reconcile", "socket_client_timeout", NULL);
				client_close(&cl[i]);
				continue;
			}
			if (cl[i].deadline - now < wait)
				wait = cl[i].deadline - now;
			map[n - 3] = i;
			pfd[n++] = (struct pollfd){ .fd = cl[i].fd, .events = POLLIN };
		}
		if (poll(pfd, (nfds_t)n, wait < 0 ? 0 : (int)wait) < 0 && errno != EINTR)
			return 1;
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si) {
				if (si.ssi_signo == SIGHUP) {
					rec_reload(r);
				} else {
					log_info("main", "reconciler_stopping", json_pack("{s:s}",
						 "note", "interfaces stay up"));
					break;
				}
			}
		}
		for (int k = 3; k < n; k++)
			if (pfd[k].revents)
				client_read(r, &cl[map[k - 3]]);
		if (mon && (pfd[2].revents & POLLIN))
			handle_link_events(r, mon, &next_resync);
		if (pfd[0].revents & POLLIN)
			accept_clients(lfd, cl);
		if (now_ms() >= next_resync) {
			status_changed();
			rec_full(r);
			next_resync = now_ms() + r->cfg.resync_interval * 1000;
		}
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (cl[i].fd >= 0)
			client_close(&cl[i]);
	close(sfd);
	nl_monitor_close(mon);
	return 0;
}
