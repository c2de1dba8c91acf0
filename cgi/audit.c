/* SPDX-License-Identifier: MIT */
/* The audit log (security.md §11). */
#include <stdio.h>
#include <stdlib.h>
#include "api.h"
#include "db.h"
#include "log.h"

void audit(struct req *r, const char *action, const char *resource, json_t *detail)
{
	char res[48];
	char *text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	sqlite3_stmt *st;

	if (!resource) {
		snprintf(res, sizeof res, "user:%lld", r->user.id);
		resource = res;
	}
	if (db_prepare(r->app->db, "INSERT INTO audit_log (user_id, action, resource, detail, "
		       "ip_address) VALUES (?, ?, ?, ?, ?)", &st) == 0) {
		if (r->user.id > 0)
			sqlite3_bind_int64(st, 1, r->user.id);
		else
			sqlite3_bind_null(st, 1);
		sqlite3_bind_text(st, 2, action, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, resource, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, text ? text : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, r->remote_addr, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			db_log_error(r->app->db, "audit insert");
		sqlite3_finalize(st);
	}
	log_info("audit", action, json_pack("{s:s,s:I,s:s,s:s}", "resource", resource,
		 "user_id", (json_int_t)r->user.id, "remote_addr", r->remote_addr,
		 "request_id", r->request_id));
	free(text);
	json_decref(detail);
}
