/* SPDX-License-Identifier: MIT */
/* Growable buffer; see sbuf.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sbuf.h"

static int grow(struct sbuf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(b->s, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->s = p;
	b->cap = cap;
	return 0;
}

void sb_reserve(struct sbuf *b, size_t extra)
{
	grow(b, extra);
}

void sb_putn(struct sbuf *b, const char *p, size_t n)
{
	if (b->len + n >= b->cap && grow(b, n) < 0)
		return;
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

void sb_putc(struct sbuf *b, char c)
{
	if (b->len + 1 >= b->cap && grow(b, 1) < 0)
		return;
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	/* Usually one pass: format into the free space, grow only if short. */
	if (grow(b, 128) < 0)
		return;
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->s[b->len] = '\0';
		return;
	}
	if ((size_t)n >= room) {
		if (grow(b, (size_t)n) < 0)
			return;
		va_start(ap, fmt);
		vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void sb_int(struct sbuf *b, long long v)
{
	char tmp[24], *p = tmp + sizeof tmp;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	sb_putn(b, p, (size_t)(tmp + sizeof tmp - p));
}

void sb_json_str(struct sbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run = p;

	sb_putc(b, '"');
	for (; *p; p++) {
		const char *esc = NULL;
		char u[7];

		while (*p >= 0x20 && *p != '"' && *p != '\\' && *p != 0x7f)
			p++;    /* the common case: nothing to escape */
		if (!*p)
			break;

		switch (*p) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				memcpy(u, "\\u00", 4);
				u[4] = hex[*p >> 4];
				u[5] = hex[*p & 15];
				u[6] = '\0';
				esc = u;
			}
		}
		if (esc) {
			sb_putn(b, (const char *)run, (size_t)(p - run));
			sb_puts(b, esc);
			run = p + 1;
		}
	}
	sb_putn(b, (const char *)run, (size_t)(p - run));
	sb_putc(b, '"');
}

void sb_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

void sb_free(struct sbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

char *sb_take(struct sbuf *b)
{
	char *s;

	if (b->oom) {
		sb_free(b);
		return NULL;
	}
	s = b->s ? b->s : strdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void sb_html_str(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': sb_lit(b, "&lt;"); break;
		case '>': sb_lit(b, "&gt;"); break;
		case '&': sb_lit(b, "&amp;"); break;
		case '"': sb_lit(b, "&quot;"); break;
		case '\'': sb_lit(b, "&#39;"); break;
		default: sb_putc(b, *s);
		}
	}
}
