/* SPDX-License-Identifier: MIT */
/* Calls to the reconciler socket (networking.md §7, API contract). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "api.h"
#include "log.h"
#include "rpc.h"

int reconciler_call(struct req *r, const char *op, json_t *args, char code[48], char message[256])
{
	json_t *req = args ? args : json_object();
	json_t *reply = NULL;
	int err;

	json_object_set_new(req, "op", json_string(op));
	json_object_set_new(req, "request_id", json_string(r->request_id));
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

/* The HTTP status for a reconciler error code. */
int reconciler_status(const char *code)
{
	return strcmp(code, "RECONCILER_UNAVAILABLE") == 0 ? 503 : 500;
}

json_t *status_fetch(struct req *r, const char *iface)
{
	json_t *req = iface ? json_pack("{s:s}", "interface", iface) : json_object();
	json_t *reply = NULL, *ifs;

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
	return ifs;
}
