/* SPDX-License-Identifier: MIT */
/* The get-reply parser, shared by uapi-text.c and uapi.c's socket reader
 * (which feeds it line by line as the reply arrives). */
#ifndef WGP_UAPI_INT_H
#define WGP_UAPI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include "wgdev.h"

struct uapi_parser {
	struct wg_device *dev;
	struct wg_peer *peer;   /* being read; NULL before the first public_key */
	long err;               /* the errno=N value */
	bool have_errno, done;
};

/* A parser for a reply about ifname. 0, -EINVAL (name too long), -ENOMEM. */
int uapi_parser_init(struct uapi_parser *p, const char *ifname);
/* One line without its newline; the empty line ends the reply (done set).
 * 0 or -EPROTO / -ENOMEM. */
int uapi_parser_line(struct uapi_parser *p, const char *line, size_t len);
/* 0 when the reply was complete with errno=0: the device moves to *dev
 * (may be NULL: it stays in p). Else -EPROTO, or -N for errno=N. Either
 * way the caller frees what is left with wgdev_free(p->dev). */
int uapi_parser_finish(struct uapi_parser *p, struct wg_device **dev);

#endif
