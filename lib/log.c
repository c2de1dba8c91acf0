/* SPDX-License-Identifier: MIT */
/* JSON log lines on stderr; see log.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "sbuf.h"

static enum log_level min_level = LOG_INFO;
static int json_format = 1;
static void (*warn_sink)(enum log_level, const char *, const char *);

static const char *const level_names[] = {
	[LOG_DEBUG] = "DEBUG", [LOG_INFO] = "INFO", [LOG_WARN] = "WARN", [LOG_ERROR] = "ERROR",
};

void log_setup(enum log_level min, int json)
{
	min_level = min;
	json_format = json;
}

int log_level_parse(const char *s)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };

	for (int i = 0; i < 4; i++)
		if (s && strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

const char *log_level_name(enum log_level l)
{
	return (unsigned)l <= LOG_ERROR ? level_names[l] : "INFO";
}

int log_enabled(enum log_level l)
{
	return l >= min_level;
}

void log_set_sink(void (*sink)(enum log_level, const char *, const char *))
{
	warn_sink = sink;
}

/* RFC 3339 UTC with milliseconds. */
static void now_rfc3339(char out[64])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ts.tv_nsec / 1000000);
}

static void write_line(const char *s, size_t len)
{
	/* One write(2) per line so lines of concurrent processes never interleave. */
	while (len > 0) {
		ssize_t w = write(STDERR_FILENO, s, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		len -= (size_t)w;
	}
}

static void emit_text(const char *time, enum log_level l, const char *component,
		      const char *msg, json_t *fields)
{
	char *f = fields ? json_dumps(fields, JSON_COMPACT) : NULL;
	char buf[4096];
	int n = snprintf(buf, sizeof buf, "%s %-5s [%s] %s %s\n", time, log_level_name(l),
			 component, msg, f ? f : "");

	if (n > (int)sizeof buf - 1) {
		n = sizeof buf - 1;
		buf[n - 1] = '\n';
	}
	write_line(buf, (size_t)n);
	free(f);
}

void log_ev(enum log_level l, const char *component, const char *msg, json_t *fields)
{
	char time[64];
	json_t *line;
	const char *key;
	json_t *val;
	char *s;

	if (fields && !json_is_object(fields)) {
		json_decref(fields);
		fields = NULL;
	}
	if (l < min_level && !(warn_sink && l >= LOG_WARN)) {
		json_decref(fields);
		return;
	}
	if (warn_sink && l >= LOG_WARN) {
		char *f = fields ? json_dumps(fields, JSON_COMPACT) : NULL;
		warn_sink(l, msg, f ? f : "{}");
		free(f);
	}
	if (l < min_level) {
		json_decref(fields);
		return;
	}
	now_rfc3339(time);
	if (!json_format) {
		emit_text(time, l, component, msg, fields);
		json_decref(fields);
		return;
	}
	line = json_pack("{s:s,s:s,s:s,s:s}", "time", time, "level", log_level_name(l),
			 "msg", msg, "component", component);
	if (!line) {
		json_decref(fields);
		return;
	}
	if (fields)
		json_object_foreach(fields, key, val)
			if (!json_object_get(line, key))
				json_object_set(line, key, val);
	s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s) {
		size_t len = strlen(s);
		s[len] = '\n';          /* replaces the NUL; write exactly len + 1 */
		write_line(s, len + 1);
		free(s);
	}
	json_decref(line);
	json_decref(fields);
}

void log_ev_pairs(enum log_level l, const char *component, const char *msg, const char *pairs)
{
	char time[64];
	struct sbuf b = SBUF_INIT;

	if (l < min_level && !(warn_sink && l >= LOG_WARN))
		return;
	if (!json_format || (warn_sink && l >= LOG_WARN)) {
		/* the rare paths take the general one */
		sb_putc(&b, '{');
		sb_puts(&b, pairs);
		sb_putc(&b, '}');
		log_ev(l, component, msg, b.oom ? NULL : json_loads(b.s, 0, NULL));
		sb_free(&b);
		return;
	}
	now_rfc3339(time);
	sb_reserve(&b, 256 + strlen(pairs));
	sb_lit(&b, "{\"time\":");
	sb_json_str(&b, time);
	sb_lit(&b, ",\"level\":");
	sb_json_str(&b, log_level_name(l));
	sb_lit(&b, ",\"msg\":");
	sb_json_str(&b, msg);
	sb_lit(&b, ",\"component\":");
	sb_json_str(&b, component);
	if (*pairs) {
		sb_putc(&b, ',');
		sb_puts(&b, pairs);
	}
	sb_lit(&b, "}\n");
	if (!b.oom)
		write_line(b.s, b.len);
	sb_free(&b);
}
