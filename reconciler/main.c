/* SPDX-License-Identifier: MIT */
/*
 * wgpilot-reconciler: the only privileged process (CAP_NET_ADMIN). Reads the
 * DB (never writes it), makes WireGuard devices, links and addresses match
 * it at start, on request over its socket, and every resync interval.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "db.h"
#include "log.h"
#include "nl-wg.h"
#include "notify.h"
#include "reconciler.h"
#include "rpc.h"
#include "startup.h"

static void usage(FILE *to)
{
	fputs("usage: wgpilot-reconciler [--config FILE] [--data-dir DIR] [--log-level L] [--dev-mode]\n"
	      "Runs in the foreground; SIGTERM stops it leaving the interfaces up,\n"
	      "SIGHUP re-reads the configuration.\n", to);
}

static int load_config(struct rec *r, struct config *cfg)
{
	return startup_config("wgpilot-reconciler", cfg, &r->flags);
}

void rec_reload(struct rec *r)
{
	static struct config fresh;
	struct timespec now;

	/* systemd shows "reloading" until the READY=1 below (MONOTONIC_USEC
	 * is what Type=notify-reload of newer systemd asks for as well). */
	clock_gettime(CLOCK_MONOTONIC, &now);
	notify_sendf("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading the configuration",
		     (unsigned long long)now.tv_sec * 1000000ULL + (unsigned long long)now.tv_nsec / 1000);
	if (load_config(r, &fresh) < 0) {
		log_error("main", "reload_failed", json_pack("{s:s}", "hint", "fix the config file"));
		notify_send("READY=1\nSTATUS=Reload failed (config unusable), serving with the old one");
		return;
	}
	/* Socket, DB and backend stay as they are until a restart. */
	r->cfg.resync_interval = fresh.resync_interval;
	snprintf(r->cfg.log_level, sizeof r->cfg.log_level, "%s", fresh.log_level);
	log_info("main", "reloaded", json_pack("{s:s}", "log_level", fresh.log_level));
	notify_send("READY=1\nSTATUS=Serving (configuration reloaded)");
}

/* The watchdog's question (notify.h): until the first full pass is done the
 * start-up is TimeoutStartSec's business; after it, the main loop must
 * answer a ping on its own socket, so a hung loop stops the keep-alives. */
static atomic_bool serving;
static const char *probe_socket;  /* r.cfg.rec_socket: fixed until a restart */

static bool rec_alive(void *arg)
{
	json_t *req, *reply = NULL;
	int ms = (int)(notify_watchdog_usec() / 2000), err;
	bool ok;

	(void)arg;
	if (!atomic_load(&serving))
		return true;
	if (!(req = json_pack("{s:s}", "op", "ping")))
		return false;
	err = rpc_call(probe_socket, req, &reply, ms > 0 ? ms : 1);
	ok = err == 0 && json_is_true(json_object_get(reply, "ok"));
	json_decref(reply);
	json_decref(req);
	return ok;
}

static const struct wg_backend *pick_backend(struct rec *r)
{
	const char *b = r->cfg.rec_backend;

	/* auto: the kernel's WireGuard when it has one (asking may load the
	 * module), else the userspace implementation. */
	if (strcmp(b, "userspace") != 0 && nlwg_available()) {
		log_info("main", "wireguard_detection", json_pack("{s:s,s:s}", "backend", "kernel",
			 "device_type", nlwg_backend()->device_type));
		return nlwg_backend();
	}
	if (strcmp(b, "kernel") == 0) {
		log_error("main", "wireguard_detection", json_pack("{s:s,s:s,s:s}", "backend", "kernel",
			  "error", "the kernel has no WireGuard (generic netlink family \"wireguard\")",
			  "hint", "modprobe wireguard (Linux >= 5.6), or set reconciler.backend: userspace"));
		return NULL;
	}
	if (!r->cfg.rec_userspace_binary[0]) {
		log_error("main", "wireguard_detection", json_pack("{s:s,s:s}", "error",
			  "no userspace WireGuard implementation configured",
			  "hint", "set reconciler.userspace_binary (e.g. /usr/bin/wireguard-go)"));
		return NULL;
	}
	if (access(r->cfg.rec_userspace_binary, X_OK) != 0) {
		log_error("main", "wireguard_detection", json_pack("{s:s,s:s}", "binary",
			  r->cfg.rec_userspace_binary, "error", strerror(errno)));
		return NULL;
	}
	log_info("main", "wireguard_detection", json_pack("{s:s,s:s}", "backend", "userspace",
		 "binary", r->cfg.rec_userspace_binary));
	return uapi_backend(r->cfg.rec_userspace_binary, UAPI_SOCKDIR);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		STARTUP_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static struct rec r = { .flags = STARTUP_FLAGS_INIT };
	int opt, err, lfd, ret;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (startup_flag(&r.flags, opt, optarg))
			continue;
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		usage(stderr);
		return 2;
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (notify_init() < 0)
		fprintf(stderr, "wgpilot-reconciler: ignoring an unusable NOTIFY_SOCKET\n");
	if (load_config(&r, &r.cfg) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	r.started_at = time(NULL);
	log_info("main", "wgpilot_starting", json_pack("{s:s,s:s,s:i,s:i,s:i,s:s,s:s}", "version",
		 PACKAGE_VERSION, "component_name", "reconciler", "pid", (int)getpid(),
		 "uid", (int)getuid(), "gid", (int)getgid(), "log_level", r.cfg.log_level,
		 "db_path", r.cfg.db_path));
	if (crypto_init() < 0)
		return 1;
	if ((err = master_load(r.cfg.master_key_file, &r.keys)) < 0) {
		log_error("main", "master_key_unavailable", json_pack("{s:s,s:s,s:s}", "path",
			  r.cfg.master_key_file, "error", strerror(-err), "hint", "run `wgpilot init` first"));
		return 1;
	}
	if ((err = db_open(r.cfg.db_path, DB_RDONLY, &r.db)) < 0 || (err = db_schema_check(r.db)) < 0) {
		log_error("main", "database_state", json_pack("{s:s,s:s,s:s}", "path", r.cfg.db_path,
			  "error", err == -EPROTO ? "database is newer than this program"
			  : err == -ESTALE ? "database needs `wgpilot migrate`" : strerror(-err),
			  "hint", "run `wgpilot init` / `wgpilot migrate`"));
		return 1;
	}
	if (!(r.wg = pick_backend(&r)))
		return 1;
	lfd = server_listen(r.cfg.rec_socket);
	if (lfd < 0) {
		log_error("main", "socket_failed", json_pack("{s:s,s:s}", "path", r.cfg.rec_socket,
			  "error", strerror(-lfd)));
		return 1;
	}
	probe_socket = r.cfg.rec_socket;
	notify_sendf("STATUS=First full reconcile (backend %s)", r.wg->name);
	if ((err = notify_watchdog_start(rec_alive, NULL)) < 0)
		log_warn("main", "watchdog_failed", json_pack("{s:s}", "error", strerror(-err)));
	err = rec_full(&r);
	log_info("main", "reconciler_ready", json_pack("{s:s,s:s}", "socket", r.cfg.rec_socket,
		 "backend", r.wg->name));
	atomic_store(&serving, true);
	notify_sendf("READY=1\nSTATUS=Serving %s (backend %s)%s", r.cfg.rec_socket, r.wg->name,
		     err > 0 ? "; some networks failed the first pass, see the log" : "");
	ret = server_run(&r, lfd);
	notify_send("STOPPING=1\nSTATUS=Stopping (interfaces stay up)");
	notify_watchdog_stop();
	close(lfd);
	unlink(r.cfg.rec_socket);
	db_close(r.db);
	master_wipe(&r.keys);
	log_info("main", "reconciler_stopped", NULL);
	return ret;
}
