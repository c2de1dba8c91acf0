/* SPDX-License-Identifier: MIT */
/* Calls to the reconciler socket (networking.md §7, API contract). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "api.h"
#include "log.h"
#include "rpc.h"

static int call(struct req *r, const char *op, json_t *args, char code[48], char message[256],
		json_t **out)
{
	json_t *req = args ? args : json_object();
	json_t *reply = NULL;
	int err;

	json_object_set_new(req, "op", json_string(op));
	json_object_set_new(req, "request_id", json_string(r->request_id));
	if (!out)
		status_cache_clear();   /* this request changes what status would say */
	err = rpc_call(r->app->cfg.rec_socket, req, &reply, RPC_TIMEOUT_MS);
	json_decref(req);
	if (err < 0) {
		snprintf(code, 48, "RECONCILER_UNAVAILABLE");
		snprintf(message, 256, "reconciler unavailable: %s",
			 err == -ETIMEDOUT ? "timed out" : strerror(-err));
		log_error("handler", "reconciler_unavailable", json_pack("{s:s,s:s,s:s}", "op", op,
			  "error", strerror(-err), "request_id", r->request_id));
		return -1;
	}
	if (json_is_true(json_object_get(reply, "ok"))) {
		if (out)
			*out = reply;
		else
			json_decref(reply);
		return 0;
	}
	snprintf(code, 48, "%s", json_string_value(json_object_get(reply, "code")) ?: "INTERNAL_ERROR");
	snprintf(message, 256, "%s", json_string_value(json_object_get(reply, "message")) ?: "reconciler error");
	log_error("handler", "reconciler_failed", json_pack("{s:s,s:s,s:s,s:s}", "op", op,
		  "code", code, "message", message, "request_id", r->request_id));
	json_decref(reply);
	return -1;
}

int reconciler_call(struct req *r, const char *op, json_t *args, char code[48], char message[256])
{
	return call(r, op, args, code, message, NULL);
}

int reconciler_query(struct req *r, const char *op, json_t *args, json_t **reply)
{
	char code[48], msg[256];

	*reply = NULL;
	if (call(r, op, args, code, msg, reply) == 0)
		return 0;
	resp_error(r, reconciler_status(code), code, "%s", msg);
	return -1;
}

/* The HTTP status for a reconciler error code. */
int reconciler_status(const char *code)
{
	return strcmp(code, "RECONCILER_UNAVAILABLE") == 0 ? 503 : 500;
}

int reconciler_apply_or_revert(struct req *r, const char *op, json_t *args,
			       int (*revert)(struct req *, void *), void *ctx)
{
	char code[48], msg[256];

	json_incref(args);      /* kept for the second call after the revert */
	if (reconciler_call(r, op, args, code, msg) == 0) {
		json_decref(args);
		return 0;
	}
	/* reconciler_call added op and request_id; the second call sets them again */
	if (revert(r, ctx) == 0 && strcmp(code, "RECONCILER_UNAVAILABLE") != 0)
		reconciler_call(r, op, json_incref(args), (char[48]){ 0 }, (char[256]){ 0 });
	json_decref(args);
	resp_error(r, reconciler_status(code), code, "%s", msg);
	return -1;
}

/*
 * Live state changes by the second, and a busy page or a dashboard asks for
 * it on every request: each worker thread keeps the last reply per interface
 * for STATUS_TTL_MS (the reconciler keeps its serialized reply as long), and
 * drops it whenever it asks the reconciler to change something.
 */
#define STATUS_TTL_MS 1000
#define STATUS_CACHE 4
static _Thread_local struct {
	char key[16];
	json_t *ifaces;
	long long at_ms;
} status_cache[STATUS_CACHE];

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void status_cache_clear(void)
{
	for (int i = 0; i < STATUS_CACHE; i++) {
		json_decref(status_cache[i].ifaces);
		status_cache[i].ifaces = NULL;
	}
}

json_t *status_fetch(struct req *r, const char *iface)
{
	const char *key = iface ? iface : "";
	long long now = mono_ms();
	json_t *req, *reply = NULL, *ifs;
	int slot = 0;

	for (int i = 0; i < STATUS_CACHE; i++) {
		if (status_cache[i].ifaces && strcmp(status_cache[i].key, key) == 0) {
			if (now - status_cache[i].at_ms < STATUS_TTL_MS)
				return json_incref(status_cache[i].ifaces);
			slot = i;
			break;
		}
		if (status_cache[i].at_ms < status_cache[slot].at_ms)
			slot = i;
	}
	req = iface ? json_pack("{s:s}", "interface", iface) : json_object();
	json_object_set_new(req, "op", json_string("status"));
	json_object_set_new(req, "request_id", json_string(r->request_id));
	if (rpc_call(r->app->cfg.rec_socket, req, &reply, RPC_TIMEOUT_MS) < 0) {
		json_decref(req);
		return NULL;
	}
	json_decref(req);
	ifs = json_object_get(reply, "interfaces");
	if (!json_is_true(json_object_get(reply, "ok")) || !json_is_array(ifs)) {
		json_decref(reply);
		return NULL;
	}
	json_incref(ifs);
	json_decref(reply);
	json_decref(status_cache[slot].ifaces);
	snprintf(status_cache[slot].key, sizeof status_cache[slot].key, "%s", key);
	status_cache[slot].ifaces = json_incref(ifs);
	status_cache[slot].at_ms = now;
	return ifs;
}
