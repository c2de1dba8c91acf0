/* SPDX-License-Identifier: MIT */
/*
 * JSON log lines (monitoring.md §5) on stderr:
 * {"time":"2026-01-01T00:00:00.123Z","level":"INFO","msg":"peer_created",
 *  "component":"handler", ...fields}
 * Values are escaped by jansson, so nothing a client sends can forge a line.
 * Never pass secrets (keys, passwords, tokens) as fields.
 */
#ifndef WGP_LOG_H
#define WGP_LOG_H

#include <jansson.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the minimum level and format (text when json == 0). */
void log_setup(enum log_level min, int json);
/* "debug"|"info"|"warn"|"error" -> level; -1 when unknown. */
int log_level_parse(const char *s);
const char *log_level_name(enum log_level l);
int log_enabled(enum log_level l);
/* Optional hook called for WARN/ERROR lines (e.g. store in log_entries). */
void log_set_sink(void (*sink)(enum log_level, const char *msg, const char *fields_json));

/* Writes one line. fields (may be NULL) is a JSON object whose reference is
 * stolen; its keys are appended after component. */
void log_ev(enum log_level l, const char *component, const char *msg, json_t *fields);

/* log_ev with the fields already JSON text: `"key":value` pairs joined by
 * commas, without braces (values escaped with sb_json_str), for the hot
 * path of the access log. The same line as log_ev in JSON format. */
void log_ev_pairs(enum log_level l, const char *component, const char *msg, const char *pairs);

#define log_debug(c, m, f) log_ev(LOG_DEBUG, c, m, f)
#define log_info(c, m, f) log_ev(LOG_INFO, c, m, f)
#define log_warn(c, m, f) log_ev(LOG_WARN, c, m, f)
#define log_error(c, m, f) log_ev(LOG_ERROR, c, m, f)

#endif
