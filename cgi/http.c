/* SPDX-License-Identifier: MIT */
/* Responses and field errors; the only place that writes to the client. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

void resp_raw(struct req *r, int status, const char *ctype, const char *extra_headers,
	      const void *body, size_t len)
{
	char head[2048];
	int n;

	if (r->responded)
		return;
	r->responded = true;
	r->status = status;
	/* Formatted here: libfcgi's own printf knows no %zu. */
	n = snprintf(head, sizeof head, "Status: %d %s\r\nX-Request-ID: %s\r\nCache-Control: no-store\r\n",
		     status, status_text(status), r->request_id);
	if (ctype)
		n += snprintf(head + n, sizeof head - (size_t)n, "Content-Type: %s\r\nContent-Length: %zu\r\n",
			      ctype, len);
	if (r->set_cookie[0])
		n += snprintf(head + n, sizeof head - (size_t)n, "Set-Cookie: %s\r\n", r->set_cookie);
	n += snprintf(head + n, sizeof head - (size_t)n, "%s%s\r\n", extra_headers ? extra_headers : "",
		      r->extra_headers);
	if (n >= (int)sizeof head)
		n = sizeof head - 1;    /* cannot happen: every part is bounded well below */
	FCGX_PutStr(head, n, r->fcgx->out);
	if (len)
		FCGX_PutStr(body, (int)len, r->fcgx->out);
	r->bytes_out = len;
}

void resp_empty(struct req *r, int status)
{
	resp_raw(r, status, NULL, NULL, NULL, 0);
}

#define OOM_BODY "{\"error\":{\"code\":\"INTERNAL_ERROR\",\"message\":\"out of memory\"}}"

void resp_json(struct req *r, int status, json_t *body)
{
	char *s;

	if (!body)
		body = json_object();
	s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	if (!s) {
		json_decref(body);
		resp_raw(r, 500, "application/json",
			 NULL, OOM_BODY, sizeof OOM_BODY - 1);
		return;
	}
	resp_raw(r, status, "application/json", NULL, s, strlen(s));
	free(s);
	json_decref(body);
}

static json_t *error_body(struct req *r, const char *code, const char *message, json_t *fields)
{
	json_t *e = json_pack("{s:s,s:s,s:s}", "code", code, "message", message,
			      "request_id", r->request_id);

	if (e && fields)
		json_object_set(e, "fields", fields);
	return json_pack("{s:o}", "error", e);
}

void resp_error(struct req *r, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	resp_json(r, status, error_body(r, code, msg, NULL));
}

void resp_set_session(struct req *r, const char *token, long long max_age)
{
	snprintf(r->set_cookie, sizeof r->set_cookie,
		 "session=%s; Path=/; Max-Age=%lld; HttpOnly;%s SameSite=Strict",
		 token ? token : "", token ? max_age : 0,
		 r->app->cfg.dev_mode ? "" : " Secure;");
}

void verr_add(struct verrs *v, const char *field, const char *message)
{
	if (!v->fields)
		v->fields = json_array();
	json_array_append_new(v->fields, json_pack("{s:s,s:s}", "field", field, "message", message));
}

bool verr_any(const struct verrs *v)
{
	return v->fields && json_array_size(v->fields) > 0;
}

void verr_free(struct verrs *v)
{
	json_decref(v->fields);
	v->fields = NULL;
}

void resp_verrs(struct req *r, struct verrs *v)
{
	resp_json(r, 400, error_body(r, "VALIDATION_ERROR", "validation failed", v->fields));
	verr_free(v);
}
