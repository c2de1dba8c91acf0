/* SPDX-License-Identifier: MIT */
/*
 * Field validators (validate.h, security.md §9). Rules work on bytes in the
 * C locale: every class below is ASCII, so UTF-8 never matches a character
 * class. A NULL string is invalid for every validator (a caller bug or a
 * JSON value of the wrong type), never a crash.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "validate.h"

#define MSG_NAME      "must be 1-64 characters of letters, digits, space, _ or -"
#define MSG_USERNAME  "must be 1-64 characters of letters, digits, _ or -"
#define MSG_EMAIL     "must be an e-mail address like name@example.com"
#define MSG_EMAIL_LEN "must be at most 254 characters"
#define MSG_HOSTNAME  "must be a fully qualified host name like vpn.example.com (at most 253 characters)"
#define MSG_ENDPOINT  "must be host:port"
#define MSG_EP_PORT   "port must be 1-65535"
#define MSG_EP_HOST   "host must be a host name or an IP address"
#define MSG_EP_V6     "an IPv6 host needs brackets, e.g. [2001:db8::1]:51820"
#define MSG_EP_BRACKET "brackets must hold an IPv6 address"
#define MSG_IP        "must be an IPv4 or IPv6 address"
#define MSG_DNS       "must be up to 3 comma-separated IPv4 or IPv6 addresses"
#define MSG_CIDRS     "must be a comma-separated list of CIDRs like 192.168.1.0/24"
#define MSG_KEY       "must be a base64 key of 44 characters ending in '='"
#define MSG_CIDR      "invalid CIDR, expected e.g. 10.0.0.0/24"
#define MSG_NO_PREFIX "prefix is required, e.g. 10.0.0.0/24"
#define MSG_IPV4_ONLY "must be an IPv4 subnet"
#define MSG_PREFIX    "prefix must be between /16 and /30"
#define MSG_PRIVATE   "must be inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"

#define HOSTNAME_MAX 253
#define LABEL_MAX    63
#define EMAIL_MAX    254
#define DNS_MAX      3
#define KEY_B64_LEN  44
#define KEY_LEN      32

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
	return is_alpha(c) || is_digit(c);
}

static bool is_name_char(char c)
{
	return is_alnum(c) || c == ' ' || c == '_' || c == '-';
}

static bool is_username_char(char c)
{
	return is_alnum(c) || c == '_' || c == '-';
}

static bool is_host_char(char c)
{
	return is_alnum(c) || c == '-' || c == '.';
}

/* true when s is min..max bytes, each accepted by ok. Stops at max + 1. */
static bool validate_chars(const char *s, size_t min, size_t max, bool (*ok)(char))
{
	size_t n = 0;

	for (; s[n]; n++)
		if (n == max || !ok(s[n]))
			return false;
	return n >= min;
}

/* Exact, case-sensitive match against a NULL-terminated set. */
static bool validate_enum(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

/* A port "1".."65535": decimal digits only, no sign, no leading zero. */
static bool validate_port_text(const char *s)
{
	long v = 0;

	if (!is_digit(s[0]) || s[0] == '0')
		return false;
	for (; *s; s++) {
		if (!is_digit(*s))
			return false;
		v = v * 10 + (*s - '0');
		if (v > 65535)
			return false;
	}
	return true;
}

/* No surrounding blanks: stored single values are used verbatim. */
static bool validate_untrimmed(const char *s)
{
	size_t len = strlen(s);

	return len && s[0] != ' ' && s[0] != '\t' && s[len - 1] != ' ' && s[len - 1] != '\t';
}

const char *v_name(const char *s)
{
	return s && validate_chars(s, 1, 64, is_name_char) ? NULL : MSG_NAME;
}

const char *v_username(const char *s)
{
	return s && validate_chars(s, 1, 64, is_username_char) ? NULL : MSG_USERNAME;
}

/* Bytes, not code points: >= 10 bytes. */
const char *v_password(const char *s)
{
	return s && strnlen(s, 10) >= 10 ? NULL : "must be at least 10 characters";
}

const char *v_mode(const char *s)
{
	static const char *const set[] = { "gateway", "site-to-site", "hub-routed", NULL };

	return s && validate_enum(s, set) ? NULL : "must be gateway, site-to-site or hub-routed";
}

const char *v_peer_role(const char *s)
{
	static const char *const set[] = { "client", "site-gateway", NULL };

	return s && validate_enum(s, set) ? NULL : "must be client or site-gateway";
}

const char *v_user_role(const char *s)
{
	static const char *const set[] = { "admin", "viewer", NULL };

	return s && validate_enum(s, set) ? NULL : "must be admin or viewer";
}

const char *v_tunnel_type(const char *s)
{
	static const char *const set[] = { "full", "split", NULL };

	return s && validate_enum(s, set) ? NULL : "must be full or split";
}

const char *v_direction(const char *s)
{
	static const char *const set[] = { "a_to_b", "b_to_a", "bidirectional", NULL };

	return s && validate_enum(s, set) ? NULL : "must be a_to_b, b_to_a or bidirectional";
}

/*
 * A plain addr-spec: one '@', non-empty local part, a domain holding a '.'
 * that neither starts nor ends it. Blanks, controls and the RFC 5322
 * specials are refused, so the value can go into a mail header as it is
 * (a ',' or '<' would add recipients or change the address).
 */
static const char *validate_email_shape(const char *s)
{
	const char *at = strchr(s, '@'), *domain;
	size_t dlen;

	if (strlen(s) > EMAIL_MAX)
		return MSG_EMAIL_LEN;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == 0x7f || strchr("()<>[]:;,\\\"", *p))
			return MSG_EMAIL;
	if (!at || at == s || strchr(at + 1, '@'))
		return MSG_EMAIL;
	domain = at + 1;
	dlen = strlen(domain);
	if (!dlen || domain[0] == '.' || domain[dlen - 1] == '.' || !strchr(domain, '.'))
		return MSG_EMAIL;
	return NULL;
}

const char *v_email(const char *s)
{
	if (!s)
		return MSG_EMAIL;
	return *s ? validate_email_shape(s) : NULL;
}

const char *v_email_required(const char *s)
{
	if (!s)
		return MSG_EMAIL;
	return *s ? validate_email_shape(s) : "is required";
}

/* One label of the spec's regex: [a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])? */
static bool validate_label(const char *s, size_t len)
{
	if (len < 1 || len > LABEL_MAX || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return false;
	for (size_t i = 1; i + 1 < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/*
 * ^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,}$ by hand:
 * neither part may hold a '.', so splitting at the dots is the only way the
 * regex can match — labels before the last dot, letters after it.
 */
const char *v_hostname(const char *s)
{
	const char *last, *label, *dot;
	size_t len;

	if (!s)
		return MSG_HOSTNAME;
	len = strlen(s);
	if (!len)
		return NULL;
	last = strrchr(s, '.');
	if (len > HOSTNAME_MAX || !last || strlen(last + 1) < 2)
		return MSG_HOSTNAME;
	for (const char *p = last + 1; *p; p++)
		if (!is_alpha(*p))
			return MSG_HOSTNAME;
	label = s;
	do {
		dot = strchr(label, '.');
		if (!validate_label(label, (size_t)(dot - label)))
			return MSG_HOSTNAME;
		label = dot + 1;
	} while (dot != last);
	return NULL;
}

/* "[v6]" of a bracketed endpoint host (len includes the brackets). */
static bool validate_bracketed_v6(const char *s, size_t len)
{
	char buf[IPNET_STRLEN];
	struct ipnet n;

	if (len < 3 || len - 2 >= sizeof(buf))
		return false;
	memcpy(buf, s + 1, len - 2);
	buf[len - 2] = '\0';
	return ipaddr_parse(&n, buf) == 0 && n.family == AF_INET6 && validate_untrimmed(buf);
}

/*
 * "host:port", the port after the last colon. An IPv6 host must be in
 * brackets; any other host is 1-253 bytes of letters, digits, '-' and '.'
 * (a host name or an IPv4 address).
 */
const char *v_endpoint(const char *s)
{
	const char *colon;
	size_t hostlen;

	if (!s)
		return MSG_ENDPOINT;
	if (!*s)
		return NULL;
	if (s[0] == '[') {
		colon = strchr(s, ']');
		if (!colon || colon[1] != ':')
			return MSG_ENDPOINT;
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return MSG_ENDPOINT;
	}
	if (!validate_port_text(colon + 1))
		return MSG_EP_PORT;
	hostlen = (size_t)(colon - s);
	if (s[0] == '[')
		return validate_bracketed_v6(s, hostlen) ? NULL : MSG_EP_BRACKET;
	if (memchr(s, ':', hostlen))
		return MSG_EP_V6;
	if (!hostlen || hostlen > HOSTNAME_MAX)
		return MSG_EP_HOST;
	for (size_t i = 0; i < hostlen; i++)
		if (!is_host_char(s[i]))
			return MSG_EP_HOST;
	return NULL;
}

const char *v_ip(const char *s)
{
	struct ipnet n;

	return s && validate_untrimmed(s) && ipaddr_parse(&n, s) == 0 ? NULL : MSG_IP;
}

const char *v_dns_list(const char *s)
{
	char item[IPNET_STRLEN];
	const char *cur;
	struct ipnet n;
	unsigned count = 0;

	if (!s)
		return MSG_DNS;
	for (cur = *s ? s : NULL; cur; )
		if (++count > DNS_MAX || ipnet_list_next(&cur, item, NULL) < 0 ||
		    ipaddr_parse(&n, item) < 0)
			return MSG_DNS;
	return NULL;
}

/* Every item needs its "/n"; host bits may be set (WireGuard masks them). */
const char *v_cidr_list(const char *s)
{
	char item[IPNET_STRLEN];
	const char *cur;
	struct ipnet n;

	if (!s)
		return MSG_CIDRS;
	for (cur = *s ? s : NULL; cur; )
		if (ipnet_list_next(&cur, item, NULL) < 0 || ipnet_parse_cidr(&n, item) < 0)
			return MSG_CIDRS;
	return NULL;
}

const char *v_port(long long v)
{
	return v >= 1024 && v <= 65535 ? NULL : "must be between 1024 and 65535";
}

const char *v_port_any(long long v)
{
	return v >= 1 && v <= 65535 ? NULL : "must be between 1 and 65535";
}

const char *v_keepalive(long long v)
{
	return v >= 0 && v <= 65535 ? NULL : "must be between 0 and 65535";
}

const char *v_mtu(long long v)
{
	return v >= 1280 && v <= 9000 ? NULL : "must be between 1280 and 9000";
}

/* Standard base64 with padding, canonical (libsodium refuses stray bits in
 * the last character), decoding to exactly 32 bytes. */
const char *v_public_key(const char *s)
{
	unsigned char key[KEY_LEN];
	size_t len = 0;
	const char *end = NULL;

	if (!s || strnlen(s, KEY_B64_LEN + 1) != KEY_B64_LEN || s[KEY_B64_LEN - 1] != '=')
		return MSG_KEY;
	if (sodium_base642bin(key, sizeof(key), s, KEY_B64_LEN, NULL, &len, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != KEY_LEN || end != s + KEY_B64_LEN)
		return MSG_KEY;
	return NULL;
}

/* Strict (no surrounding blanks); each message names the rule that failed.
 * out may be NULL and is only written on success. */
const char *v_subnet(const char *s, struct ipnet *out)
{
	struct ipnet n;

	if (!s || !validate_untrimmed(s))
		return MSG_CIDR;
	if (ipnet_parse_cidr(&n, s) < 0)
		return ipaddr_parse(&n, s) == 0 ? MSG_NO_PREFIX : MSG_CIDR;
	if (n.family != AF_INET)
		return MSG_IPV4_ONLY;
	if (n.prefix < 16 || n.prefix > 30)
		return MSG_PREFIX;
	ipnet_normalize(&n);
	if (!ipnet_is_private4(&n))
		return MSG_PRIVATE;
	if (out)
		*out = n;
	return NULL;
}

#define NS_PER_S   1000000000ULL
#define DURATION_MAX ((uint64_t)INT64_MAX)
/* Fraction digits beyond this cannot change a whole-nanosecond result. */
#define FRACTION_MAX 100000000000000000ULL

struct duration_unit {
	const char *name;
	uint64_t ns;
};

static const struct duration_unit duration_units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "\xc2\xb5s", 1000 },          /* U+00B5 MICRO SIGN */
	{ "\xce\xbcs", 1000 },          /* U+03BC GREEK SMALL LETTER MU */
	{ "ms", 1000000 },
	{ "s", NS_PER_S },
	{ "m", 60 * NS_PER_S },
	{ "h", 3600 * NS_PER_S },
	{ "d", 86400 * NS_PER_S },
};

/* Leading digits of *p as an integer; -EINVAL when over DURATION_MAX. */
static int duration_int(const char **p, uint64_t *v)
{
	uint64_t x = 0;

	for (; is_digit(**p); (*p)++) {
		unsigned d = (unsigned)(**p - '0');

		if (x > (DURATION_MAX - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/* Leading digits of *p as a fraction f / scale. */
static void duration_fraction(const char **p, uint64_t *f, double *scale)
{
	*f = 0;
	*scale = 1;
	for (; is_digit(**p); (*p)++) {
		if (*f >= FRACTION_MAX)
			continue;
		*f = *f * 10 + (uint64_t)(**p - '0');
		*scale *= 10;
	}
}

/* The unit: every byte up to the next digit, '.' or the end. */
static const struct duration_unit *duration_unit(const char **p)
{
	const char *b = *p;
	size_t len;

	while (**p && **p != '.' && !is_digit(**p))
		(*p)++;
	len = (size_t)(*p - b);
	for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
		if (strlen(duration_units[i].name) == len &&
		    memcmp(duration_units[i].name, b, len) == 0)
			return &duration_units[i];
	return NULL;
}

/* One "<number><unit>" of Go's grammar: digits, '.', digits (either side may
 * be empty, not both), unit. Its value in nanoseconds. */
static int duration_part(const char **p, uint64_t *ns)
{
	const struct duration_unit *unit;
	const char *b = *p;
	uint64_t v, f = 0;
	double scale = 1;
	bool pre, post = false;

	if (duration_int(p, &v) < 0)
		return -EINVAL;
	pre = *p != b;
	if (**p == '.') {
		(*p)++;
		b = *p;
		duration_fraction(p, &f, &scale);
		post = *p != b;
	}
	unit = duration_unit(p);
	if ((!pre && !post) || !unit || v > DURATION_MAX / unit->ns)
		return -EINVAL;
	/* As Go does: the fraction is below one unit, so the double is exact
	 * enough and its integer part cannot overflow. */
	v = v * unit->ns + (uint64_t)((double)f * ((double)unit->ns / scale));
	if (v > DURATION_MAX)
		return -EINVAL;
	*ns = v;
	return 0;
}

/* No sign, no blanks, no bare number (not even "0"); the total must fit
 * Go's int64 nanoseconds (about 292 years). */
int parse_duration(const char *s, long long *seconds)
{
	const char *p = s;
	uint64_t total = 0, part;
	int ret = -EINVAL;

	if (!s || !*s)
		goto out;
	while (*p) {
		if (duration_part(&p, &part) < 0 || part > DURATION_MAX - total)
			goto out;
		total += part;
	}
	if (!total)
		goto out;
	*seconds = total < NS_PER_S ? 1 : (long long)(total / NS_PER_S);
	ret = 0;
out:
	return ret;
}

/* Appends n bytes of p at out + *len, truncating at outsz - 1. memmove:
 * when normalising in place the source lies at or after the destination. */
static void list_append(char *out, size_t outsz, size_t *len, const char *p, size_t n)
{
	size_t room = outsz - 1 - *len;

	if (n > room)
		n = room;
	memmove(out + *len, p, n);
	*len += n;
}

/*
 * Empty items are dropped; the result is truncated to outsz - 1 bytes and
 * outsz 0 leaves out untouched. out may be s: the output never gets ahead
 * of the input, and each item's end is found before anything is written.
 */
char *list_normalize(char *out, size_t outsz, const char *s)
{
	size_t len = 0;

	if (!outsz)
		return out;
	while (*s) {
		const char *b = s, *e = strchr(s, ','), *next;

		if (!e)
			e = s + strlen(s);
		next = *e ? e + 1 : e;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (b < e) {
			if (len)
				list_append(out, outsz, &len, ",", 1);
			list_append(out, outsz, &len, b, (size_t)(e - b));
		}
		s = next;
	}
	out[len] = '\0';
	return out;
}
