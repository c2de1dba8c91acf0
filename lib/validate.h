/* SPDX-License-Identifier: MIT */
/*
 * Validators for every user-supplied field (security.md §9, peers.md).
 * Each returns NULL when the value is valid, else a static English message
 * suitable for the API's fields[].message. None of them allocate.
 */
#ifndef WGP_VALIDATE_H
#define WGP_VALIDATE_H

#include <stdbool.h>
#include "ipnet.h"

const char *v_name(const char *s);          /* ^[a-zA-Z0-9 _-]{1,64}$ */
const char *v_username(const char *s);      /* ^[A-Za-z0-9_-]{1,64}$ */
const char *v_password(const char *s);      /* >= 10 characters */
const char *v_mode(const char *s);          /* gateway|site-to-site|hub-routed */
const char *v_peer_role(const char *s);     /* client|site-gateway */
const char *v_user_role(const char *s);     /* admin|viewer */
const char *v_tunnel_type(const char *s);   /* full|split */
const char *v_direction(const char *s);     /* a_to_b|b_to_a|bidirectional */
const char *v_email(const char *s);         /* "" or <=254, x@y with '.' in domain */
const char *v_email_required(const char *s);/* as v_email but non-empty */
const char *v_hostname(const char *s);      /* "" or FQDN <= 253 (the spec's regex) */
const char *v_endpoint(const char *s);      /* "" or host:port ([v6]:port), port 1-65535 */
const char *v_ip(const char *s);            /* one IPv4/IPv6 address */
const char *v_dns_list(const char *s);      /* "" or <= 3 comma-separated IPs */
const char *v_cidr_list(const char *s);     /* "" or comma-separated CIDRs */
const char *v_port(long long v);            /* listen_port 1024-65535 */
const char *v_port_any(long long v);        /* 1-65535 */
const char *v_keepalive(long long v);       /* 0-65535 */
const char *v_mtu(long long v);             /* 1280-9000 */
const char *v_public_key(const char *s);    /* base64, 44 chars, ends '=', 32 bytes */
/* IPv4 CIDR, /16-/30, inside 10/8, 172.16/12, 192.168/16. On success *out is
 * the normalised network (host bits cleared). */
const char *v_subnet(const char *s, struct ipnet *out);

/* Go-style duration: decimal numbers (fractions allowed) with units ns, us,
 * µs, ms, s, m, h and (C design) d, e.g. "720h", "1h30m", "1.5d". Must be > 0.
 * Rounds down to whole seconds (at least 1 if the value is > 0 but < 1s).
 * 0 and *seconds set, or -EINVAL. */
int parse_duration(const char *s, long long *seconds);
#define DURATION_MSG "invalid duration format (e.g. '720h')"

/* Normalises a comma list ("1.1.1.1 , 8.8.8.8" -> "1.1.1.1,8.8.8.8") into out.
 * Caller validated it first. out may be s (in place). Returns out. */
char *list_normalize(char *out, size_t outsz, const char *s);

#endif
