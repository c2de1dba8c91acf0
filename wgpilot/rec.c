/* SPDX-License-Identifier: MIT */
/* `wgpilot reconcile` and `wgpilot status`: ask the running reconciler. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "rpc.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One request; prints the failure and returns NULL when it did not work. */
static json_t *call(struct cli *c, json_t *req)
{
	json_t *reply = NULL;
	int err = rpc_call(c->cfg.rec_socket, req, &reply, 120000);

	json_decref(req);
	if (err < 0) {
		fprintf(stderr, "wgpilot: reconciler at %s: %s\n", c->cfg.rec_socket,
			err == -ETIMEDOUT ? "timed out" : strerror(-err));
		return NULL;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		fprintf(stderr, "wgpilot: %s: %s\n",
			json_string_value(json_object_get(reply, "code")) ?: "error",
			json_string_value(json_object_get(reply, "message")) ?: "");
		json_decref(reply);
		return NULL;
	}
	return reply;
}

int cmd_reconcile(struct cli *c, long long network_id, long long peer_id)
{
	json_t *req = peer_id > 0
		? json_pack("{s:s,s:I,s:I}", "op", "apply_peer", "network_id", (json_int_t)network_id,
			    "peer_id", (json_int_t)peer_id)
		: network_id > 0
		? json_pack("{s:s,s:I}", "op", "apply_network", "network_id", (json_int_t)network_id)
		: json_pack("{s:s}", "op", "reconcile");
	double t0 = now_s();
	json_t *reply = call(c, req);

	if (!reply)
		return 1;
	printf("reconciled %s in %.3f s\n", peer_id > 0 ? "peer" : network_id > 0 ? "network"
	       : "all networks", now_s() - t0);
	json_decref(reply);
	return 0;
}

int cmd_status(struct cli *c, int as_json)
{
	json_t *reply = call(c, json_pack("{s:s}", "op", "status")), *it, *p;
	long long now = (long long)time(NULL);
	size_t i, k;

	if (!reply)
		return 1;
	if (as_json) {
		json_dumpf(json_object_get(reply, "interfaces"), stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(reply);
		return 0;
	}
	json_array_foreach(json_object_get(reply, "interfaces"), i, it) {
		size_t online = 0, total = json_array_size(json_object_get(it, "peers"));

		json_array_foreach(json_object_get(it, "peers"), k, p) {
			long long hs = json_integer_value(json_object_get(p, "last_handshake"));
			online += hs > 0 && now - hs < 180;
		}
		printf("%-8s %-4s port %-5lld %-12s peers %zu, online %zu\n",
		       json_string_value(json_object_get(it, "name")),
		       json_is_true(json_object_get(it, "up")) ? "up" : "down",
		       (long long)json_integer_value(json_object_get(it, "listen_port")),
		       json_string_value(json_object_get(it, "device_type")), total, online);
	}
	json_decref(reply);
	return 0;
}
