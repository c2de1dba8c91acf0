/* SPDX-License-Identifier: MIT */
/* A growable byte buffer. After an allocation failure every call is a no-op
 * and oom is set; check it once at the end. */
#ifndef WGP_SBUF_H
#define WGP_SBUF_H

#include <stdarg.h>
#include <stddef.h>

struct sbuf {
	char *s;        /* always NUL-terminated once anything was added */
	size_t len, cap;
	int oom;
};

#define SBUF_INIT { NULL, 0, 0, 0 }

void sb_putn(struct sbuf *b, const char *p, size_t n);
void sb_puts(struct sbuf *b, const char *s);
void sb_putc(struct sbuf *b, char c);
/* sb_puts of a string literal, without the strlen. */
#define sb_lit(b, lit) sb_putn((b), "" lit, sizeof(lit) - 1)
__attribute__((format(printf, 2, 3)))
void sb_printf(struct sbuf *b, const char *fmt, ...);
/* Appends v in decimal (no printf on the hot path). */
void sb_int(struct sbuf *b, long long v);
/* Appends s as a quoted JSON string with every needed escape. */
void sb_json_str(struct sbuf *b, const char *s);
/* Makes room for extra more bytes (sets oom when it cannot). */
void sb_reserve(struct sbuf *b, size_t extra);
/* Appends s with the HTML special characters (<>&"') as entities. */
void sb_html_str(struct sbuf *b, const char *s);
/* Empties without freeing. */
void sb_reset(struct sbuf *b);
/* Frees; the struct can be reused. */
void sb_free(struct sbuf *b);
/* Hands the string to the caller (malloc'd; "" if empty) and resets b. NULL on oom. */
char *sb_take(struct sbuf *b);

#endif
