/* SPDX-License-Identifier: MIT */
/* validate: every field validator, parse_duration and list_normalize. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "validate.h"
#include "tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

typedef const char *(*str_validator)(const char *);
typedef const char *(*int_validator)(long long);

/* s with control and non-ASCII bytes escaped, fit for a TAP description. */
static const char *show(const char *s)
{
	static char buf[160];
	size_t n = 0;

	if (!s)
		return "(null)";
	for (; *s && n + 5 < sizeof(buf); s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7f)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\\x%02x", c);
		else
			buf[n++] = *s;
	}
	buf[n] = '\0';
	return buf;
}

/* Messages are short English with a lowercase first letter (API fields[]). */
static void check_message(const char *what, const char *msg)
{
	ok(msg[0] >= 'a' && msg[0] <= 'z' && strlen(msg) < 100,
	   "%s: message '%s' is short, lowercase first", what, msg);
}

#define S(fn, in, valid) { #fn, fn, in, valid, NULL }
#define M(fn, in, msg)   { #fn, fn, in, false, msg }

#define KEY_ZERO "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define KEY_FF   "//////////////////////////////////////////8="
#define KEY_SEQ  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static const struct {
	const char *name;
	str_validator fn;
	const char *in;
	bool valid;
	const char *msg;        /* exact message expected, NULL = any */
} str_rows[] = {
	S(v_name, "a", true),
	S(v_name, "My Phone", true),
	S(v_name, "node_1-x", true),
	S(v_name, "A B C 123", true),
	S(v_name, " ", true),
	S(v_name, "-", true),
	S(v_name, "_", true),
	M(v_name, "", "must be 1-64 characters of letters, digits, space, _ or -"),
	S(v_name, "caf\xc3\xa9", false),
	S(v_name, "na\xc3\xafve", false),
	S(v_name, "emoji \xf0\x9f\x98\x80", false),
	S(v_name, "name!", false),
	S(v_name, "a.b", false),
	S(v_name, "a/b", false),
	S(v_name, "tab\tname", false),
	S(v_name, "new\nline", false),
	S(v_name, "<script>", false),
	S(v_name, "quote'", false),

	S(v_username, "admin", true),
	S(v_username, "a", true),
	S(v_username, "user_01", true),
	S(v_username, "x-Y", true),
	M(v_username, "", "must be 1-64 characters of letters, digits, _ or -"),
	S(v_username, "ad min", false),
	S(v_username, "a.b", false),
	S(v_username, "user@x", false),
	S(v_username, "\xc3\x84" "dmin", false),
	S(v_username, "admin\n", false),
	S(v_username, " admin", false),

	S(v_password, "0123456789", true),
	S(v_password, "aaaaaaaaaa", true),
	S(v_password, "correct horse battery staple", true),
	S(v_password, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", true),  /* 10 bytes */
	M(v_password, "123456789", "must be at least 10 characters"),
	S(v_password, "", false),
	S(v_password, "short", false),
	S(v_password, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" "a", false),    /* 9 bytes */

	S(v_mode, "gateway", true),
	S(v_mode, "site-to-site", true),
	S(v_mode, "hub-routed", true),
	M(v_mode, "mesh", "must be gateway, site-to-site or hub-routed"),
	S(v_mode, "Gateway", false),
	S(v_mode, "gateway ", false),
	S(v_mode, "site_to_site", false),
	S(v_mode, "gatewa", false),
	S(v_mode, "", false),

	S(v_peer_role, "client", true),
	S(v_peer_role, "site-gateway", true),
	M(v_peer_role, "Client", "must be client or site-gateway"),
	S(v_peer_role, "site_gateway", false),
	S(v_peer_role, "admin", false),
	S(v_peer_role, "", false),

	S(v_user_role, "admin", true),
	S(v_user_role, "viewer", true),
	M(v_user_role, "root", "must be admin or viewer"),
	S(v_user_role, "Admin", false),
	S(v_user_role, "viewer\n", false),
	S(v_user_role, "", false),

	S(v_tunnel_type, "full", true),
	S(v_tunnel_type, "split", true),
	M(v_tunnel_type, "partial", "must be full or split"),
	S(v_tunnel_type, "Full", false),
	S(v_tunnel_type, "split ", false),
	S(v_tunnel_type, "", false),

	S(v_direction, "a_to_b", true),
	S(v_direction, "b_to_a", true),
	S(v_direction, "bidirectional", true),
	M(v_direction, "both", "must be a_to_b, b_to_a or bidirectional"),
	S(v_direction, "A_TO_B", false),
	S(v_direction, "a-to-b", false),
	S(v_direction, "", false),

	S(v_email, "", true),
	S(v_email, "a@b.c", true),
	S(v_email, "user@example.com", true),
	S(v_email, "first.last+tag@sub.example.co.uk", true),
	S(v_email, "o'brien@example.ie", true),
	S(v_email, "\xc3\xbc@example.com", true),
	M(v_email, "a", "must be an e-mail address like name@example.com"),
	S(v_email, "@example.com", false),
	S(v_email, "a@", false),
	S(v_email, "a@b", false),
	S(v_email, "a@.com", false),
	S(v_email, "a@com.", false),
	S(v_email, "a@.", false),
	S(v_email, "a@@b.c", false),
	S(v_email, "a@b@c.d", false),
	S(v_email, "a b@c.d", false),
	S(v_email, "a@b .c", false),
	S(v_email, "a@b.c ", false),
	S(v_email, " a@b.c", false),
	S(v_email, "a\r\n@b.c", false),
	S(v_email, "a@b.c\r\nBcc: x@y.z", false),
	S(v_email, "a\tb@c.d", false),
	S(v_email, "a\x7f@b.c", false),
	S(v_email, "a,b@c.d", false),
	S(v_email, "<a@b.c>", false),
	S(v_email, "a@[1.2.3.4]", false),
	S(v_email, "\"a\"@b.c", false),
	S(v_email, "a;b@c.d", false),

	S(v_email_required, "a@b.c", true),
	M(v_email_required, "", "is required"),
	S(v_email_required, "bad", false),
	S(v_email_required, "a@b", false),

	S(v_hostname, "", true),
	S(v_hostname, "vpn.example.com", true),
	S(v_hostname, "a.io", true),
	S(v_hostname, "my-host.example.org", true),
	S(v_hostname, "x1.y2.zz", true),
	S(v_hostname, "1.example.com", true),
	S(v_hostname, "A.B.CC", true),
	S(v_hostname, "a--b.example.museum", true),
	M(v_hostname, "localhost",
	  "must be a fully qualified host name like vpn.example.com (at most 253 characters)"),
	S(v_hostname, "example.c", false),
	S(v_hostname, "example.com.", false),
	S(v_hostname, ".example.com", false),
	S(v_hostname, ".com", false),
	S(v_hostname, "a..com", false),
	S(v_hostname, "-a.com", false),
	S(v_hostname, "a-.com", false),
	S(v_hostname, "a_b.com", false),
	S(v_hostname, "1.2.3.4", false),
	S(v_hostname, "example.c0m", false),
	S(v_hostname, "example.co-m", false),
	S(v_hostname, "ex ample.com", false),
	S(v_hostname, "vpn.ex\xc3\xa4mple.com", false),
	S(v_hostname, "*.example.com", false),
	S(v_hostname, "example.com:80", false),
	S(v_hostname, ".", false),

	S(v_endpoint, "", true),
	S(v_endpoint, "vpn.example.com:51820", true),
	S(v_endpoint, "1.2.3.4:51820", true),
	S(v_endpoint, "[2001:db8::1]:51820", true),
	S(v_endpoint, "[::1]:1", true),
	S(v_endpoint, "[::ffff:1.2.3.4]:80", true),
	S(v_endpoint, "host:65535", true),
	S(v_endpoint, "localhost:1", true),
	S(v_endpoint, "a:9", true),
	M(v_endpoint, "vpn.example.com", "must be host:port"),
	M(v_endpoint, "1.2.3.4:", "port must be 1-65535"),
	M(v_endpoint, ":51820", "host must be a host name or an IP address"),
	M(v_endpoint, "2001:db8::1:51820", "an IPv6 host needs brackets, e.g. [2001:db8::1]:51820"),
	M(v_endpoint, "[1.2.3.4]:80", "brackets must hold an IPv6 address"),
	M(v_endpoint, "[2001:db8::1]", "must be host:port"),
	S(v_endpoint, "host:0", false),
	S(v_endpoint, "host:65536", false),
	S(v_endpoint, "host:051820", false),
	S(v_endpoint, "host:+1", false),
	S(v_endpoint, "host:-1", false),
	S(v_endpoint, "host: 1", false),
	S(v_endpoint, "host:1 ", false),
	S(v_endpoint, "host:1a", false),
	S(v_endpoint, "host:0x50", false),
	S(v_endpoint, "host:99999999999999999999", false),
	S(v_endpoint, "[2001:db8::1]51820", false),
	S(v_endpoint, "[2001:db8::1", false),
	S(v_endpoint, "[]:80", false),
	S(v_endpoint, "[ ::1]:80", false),
	S(v_endpoint, "[::1]:80:80", false),
	S(v_endpoint, "[fe80::1%eth0]:80", false),
	S(v_endpoint, "ho st:80", false),
	S(v_endpoint, "host_name:80", false),
	S(v_endpoint, "h\xc3\xa9llo:80", false),
	S(v_endpoint, " host:80", false),
	S(v_endpoint, ":", false),

	S(v_ip, "1.1.1.1", true),
	S(v_ip, "0.0.0.0", true),
	S(v_ip, "255.255.255.255", true),
	S(v_ip, "::1", true),
	S(v_ip, "2001:db8::1", true),
	S(v_ip, "::ffff:1.2.3.4", true),
	M(v_ip, "", "must be an IPv4 or IPv6 address"),
	S(v_ip, "1.1.1.1/32", false),
	S(v_ip, " 1.1.1.1", false),
	S(v_ip, "1.1.1.1 ", false),
	S(v_ip, "01.1.1.1", false),
	S(v_ip, "1.1.1", false),
	S(v_ip, "256.1.1.1", false),
	S(v_ip, "example.com", false),
	S(v_ip, "fe80::1%eth0", false),
	S(v_ip, "::g", false),
	S(v_ip, "[::1]", false),

	S(v_dns_list, "", true),
	S(v_dns_list, "1.1.1.1", true),
	S(v_dns_list, "1.1.1.1,8.8.8.8", true),
	S(v_dns_list, "1.1.1.1 , 8.8.8.8", true),
	S(v_dns_list, "1.1.1.1,8.8.8.8,9.9.9.9", true),
	S(v_dns_list, "2606:4700:4700::1111, 1.1.1.1", true),
	S(v_dns_list, " 1.1.1.1 ", true),
	M(v_dns_list, "1.1.1.1,8.8.8.8,9.9.9.9,1.0.0.1",
	  "must be up to 3 comma-separated IPv4 or IPv6 addresses"),
	S(v_dns_list, "1.1.1.1,", false),
	S(v_dns_list, ",1.1.1.1", false),
	S(v_dns_list, "1.1.1.1,,8.8.8.8", false),
	S(v_dns_list, "1.1.1.1 8.8.8.8", false),
	S(v_dns_list, "1.1.1.1;8.8.8.8", false),
	S(v_dns_list, "dns.google", false),
	S(v_dns_list, "1.1.1.1/32", false),
	S(v_dns_list, " ", false),

	S(v_cidr_list, "", true),
	S(v_cidr_list, "192.168.1.0/24", true),
	S(v_cidr_list, "10.0.0.0/8, 192.168.0.0/16", true),
	S(v_cidr_list, "0.0.0.0/0, ::/0", true),
	S(v_cidr_list, "192.168.1.5/24", true),
	S(v_cidr_list, "fd00::/64", true),
	M(v_cidr_list, "192.168.1.0", "must be a comma-separated list of CIDRs like 192.168.1.0/24"),
	S(v_cidr_list, "192.168.1.0/33", false),
	S(v_cidr_list, "10.0.0.0/8,", false),
	S(v_cidr_list, "a/24", false),
	S(v_cidr_list, "10.0.0.0/8 10.1.0.0/16", false),
	S(v_cidr_list, "10.0.0.0/8,,10.1.0.0/16", false),
	S(v_cidr_list, " ", false),

	S(v_public_key, KEY_ZERO, true),
	S(v_public_key, KEY_FF, true),
	S(v_public_key, KEY_SEQ, true),
	M(v_public_key, "", "must be a base64 key of 44 characters ending in '='"),
	S(v_public_key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", false),    /* 43 */
	S(v_public_key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", false),  /* 45 */
	S(v_public_key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false),   /* 33 bytes */
	S(v_public_key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", false),   /* 31 bytes */
	S(v_public_key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", false),   /* stray bits */
	S(v_public_key, "__________________________________________8=", false),   /* URL-safe */
	S(v_public_key, "AAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAA=", false),
	S(v_public_key, "AAAAAAAAAAAAAAAAAAAA*AAAAAAAAAAAAAAAAAAAAAA=", false),
	S(v_public_key, KEY_ZERO "\n", false),
	S(v_public_key, " " KEY_ZERO, false),
};

static void test_strings(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(str_rows); i++) {
		const char *msg = str_rows[i].fn(str_rows[i].in);
		const char *in = show(str_rows[i].in);

		if (str_rows[i].valid) {
			ok(msg == NULL, "%s('%s') valid%s%s", str_rows[i].name, in,
			   msg ? ": " : "", msg ? msg : "");
			continue;
		}
		if (!ok(msg != NULL, "%s('%s') invalid", str_rows[i].name, in))
			continue;
		check_message(str_rows[i].name, msg);
		if (str_rows[i].msg)
			is_str(msg, str_rows[i].msg, "%s('%s') message", str_rows[i].name, in);
	}
}

/* Every string validator refuses NULL instead of crashing. */
static void test_null(void)
{
	static const struct { const char *name; str_validator fn; } all[] = {
		{ "v_name", v_name }, { "v_username", v_username },
		{ "v_password", v_password }, { "v_mode", v_mode },
		{ "v_peer_role", v_peer_role }, { "v_user_role", v_user_role },
		{ "v_tunnel_type", v_tunnel_type }, { "v_direction", v_direction },
		{ "v_email", v_email }, { "v_email_required", v_email_required },
		{ "v_hostname", v_hostname }, { "v_endpoint", v_endpoint },
		{ "v_ip", v_ip }, { "v_dns_list", v_dns_list },
		{ "v_cidr_list", v_cidr_list }, { "v_public_key", v_public_key },
	};
	struct ipnet n;
	long long secs = 0;

	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		ok(all[i].fn(NULL) != NULL, "%s(NULL) invalid", all[i].name);
	ok(v_subnet(NULL, &n) != NULL, "v_subnet(NULL) invalid");
	is_int(parse_duration(NULL, &secs), -EINVAL, "parse_duration(NULL)");
}

/* Lengths at and just past each limit, built at run time. */
static void test_lengths(void)
{
	char buf[600];

	memset(buf, 'a', 64);
	buf[64] = '\0';
	ok(!v_name(buf), "v_name: 64 characters valid");
	ok(!v_username(buf), "v_username: 64 characters valid");
	buf[64] = 'a';
	buf[65] = '\0';
	ok(v_name(buf) != NULL, "v_name: 65 characters invalid");
	ok(v_username(buf) != NULL, "v_username: 65 characters invalid");

	memset(buf, 'a', 500);
	buf[500] = '\0';
	ok(!v_password(buf), "v_password: 500 characters valid");
	ok(v_name(buf) != NULL, "v_name: 500 characters invalid");

	/* e-mail: local part padded so the total is 254, then 255 */
	memset(buf, 'x', 254);
	memcpy(buf + 254 - 12, "@example.com", 12);
	buf[254] = '\0';
	ok(!v_email(buf), "v_email: 254 characters valid");
	ok(!v_email_required(buf), "v_email_required: 254 characters valid");
	memset(buf, 'x', 255);
	memcpy(buf + 255 - 12, "@example.com", 12);
	buf[255] = '\0';
	is_str(v_email(buf), "must be at most 254 characters", "v_email: 255 characters invalid");

	/* hostname: labels of 63, four of them plus ".com" = 4*64 + 3 > 253 */
	memset(buf, 'a', 63);
	strcpy(buf + 63, ".com");
	ok(!v_hostname(buf), "v_hostname: 63-character label valid");
	memset(buf, 'a', 64);
	strcpy(buf + 64, ".com");
	ok(v_hostname(buf) != NULL, "v_hostname: 64-character label invalid");
	/* 62 labels "ab." (186) + a 63-character label + ".zzz" = 253 */
	for (int i = 0; i < 62; i++)
		memcpy(buf + 3 * i, "ab.", 3);
	memset(buf + 186, 'b', 63);
	strcpy(buf + 249, ".zzz");
	is_int((long long)strlen(buf), 253, "built a 253-character host name");
	ok(!v_hostname(buf), "v_hostname: 253 characters valid");
	strcpy(buf + 249, ".zzzz");
	ok(v_hostname(buf) != NULL, "v_hostname: 254 characters invalid");

	/* endpoint host: 253 host characters then 254 */
	memset(buf, 'h', 253);
	strcpy(buf + 253, ":51820");
	ok(!v_endpoint(buf), "v_endpoint: 253-character host valid");
	memset(buf, 'h', 254);
	strcpy(buf + 254, ":51820");
	ok(v_endpoint(buf) != NULL, "v_endpoint: 254-character host invalid");

	memset(buf, '1', 599);
	buf[599] = '\0';
	ok(v_ip(buf) != NULL, "v_ip: long digit string invalid");
	ok(v_dns_list(buf) != NULL, "v_dns_list: long digit string invalid");
	ok(v_cidr_list(buf) != NULL, "v_cidr_list: long digit string invalid");
	ok(v_subnet(buf, NULL) != NULL, "v_subnet: long digit string invalid");
	ok(v_public_key(buf) != NULL, "v_public_key: long string invalid");
}

static void test_ints(void)
{
	static const struct {
		const char *name;
		int_validator fn;
		long long v;
		bool valid;
	} rows[] = {
		{ "v_port", v_port, 1023, false },
		{ "v_port", v_port, 1024, true },
		{ "v_port", v_port, 51820, true },
		{ "v_port", v_port, 65535, true },
		{ "v_port", v_port, 65536, false },
		{ "v_port", v_port, 0, false },
		{ "v_port", v_port, -1, false },
		{ "v_port", v_port, -51820, false },
		{ "v_port", v_port, LLONG_MIN, false },
		{ "v_port", v_port, LLONG_MAX, false },
		{ "v_port", v_port, 4294967296LL + 51820, false },
		{ "v_port_any", v_port_any, 0, false },
		{ "v_port_any", v_port_any, 1, true },
		{ "v_port_any", v_port_any, 25, true },
		{ "v_port_any", v_port_any, 587, true },
		{ "v_port_any", v_port_any, 65535, true },
		{ "v_port_any", v_port_any, 65536, false },
		{ "v_port_any", v_port_any, -1, false },
		{ "v_port_any", v_port_any, LLONG_MAX, false },
		{ "v_keepalive", v_keepalive, -1, false },
		{ "v_keepalive", v_keepalive, 0, true },
		{ "v_keepalive", v_keepalive, 25, true },
		{ "v_keepalive", v_keepalive, 65535, true },
		{ "v_keepalive", v_keepalive, 65536, false },
		{ "v_keepalive", v_keepalive, LLONG_MIN, false },
		{ "v_mtu", v_mtu, 1279, false },
		{ "v_mtu", v_mtu, 1280, true },
		{ "v_mtu", v_mtu, 1420, true },
		{ "v_mtu", v_mtu, 9000, true },
		{ "v_mtu", v_mtu, 9001, false },
		{ "v_mtu", v_mtu, 0, false },
		{ "v_mtu", v_mtu, -1280, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const char *msg = rows[i].fn(rows[i].v);

		if (rows[i].valid) {
			ok(msg == NULL, "%s(%lld) valid", rows[i].name, rows[i].v);
		} else if (ok(msg != NULL, "%s(%lld) invalid", rows[i].name, rows[i].v)) {
			check_message(rows[i].name, msg);
		}
	}
	is_str(v_port(80), "must be between 1024 and 65535", "v_port message");
	is_str(v_mtu(100), "must be between 1280 and 9000", "v_mtu message");
}

#define MSG_CIDR      "invalid CIDR, expected e.g. 10.0.0.0/24"
#define MSG_PREFIX    "prefix must be between /16 and /30"
#define MSG_PRIVATE   "must be inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"

static void test_subnet(void)
{
	static const struct {
		const char *in;
		const char *msg;        /* NULL = valid */
		const char *want;       /* normalised network when valid */
	} rows[] = {
		{ "10.0.0.0/24", NULL, "10.0.0.0/24" },
		{ "10.0.0.5/24", NULL, "10.0.0.0/24" },
		{ "10.0.0.0/16", NULL, "10.0.0.0/16" },
		{ "10.200.7.9/16", NULL, "10.200.0.0/16" },
		{ "10.255.255.252/30", NULL, "10.255.255.252/30" },
		{ "10.255.255.255/30", NULL, "10.255.255.252/30" },
		{ "172.16.0.0/16", NULL, "172.16.0.0/16" },
		{ "172.31.255.0/24", NULL, "172.31.255.0/24" },
		{ "192.168.0.0/16", NULL, "192.168.0.0/16" },
		{ "192.168.1.0/30", NULL, "192.168.1.0/30" },
		{ "192.168.100.77/20", NULL, "192.168.96.0/20" },
		{ "10.0.0.0/15", MSG_PREFIX, NULL },
		{ "10.0.0.0/31", MSG_PREFIX, NULL },
		{ "10.0.0.0/32", MSG_PREFIX, NULL },
		{ "10.0.0.0/8", MSG_PREFIX, NULL },
		{ "10.0.0.0/0", MSG_PREFIX, NULL },
		{ "172.16.0.0/11", MSG_PREFIX, NULL },
		{ "172.16.0.0/12", MSG_PREFIX, NULL },
		{ "172.32.0.0/16", MSG_PRIVATE, NULL },
		{ "172.15.0.0/16", MSG_PRIVATE, NULL },
		{ "8.8.8.0/24", MSG_PRIVATE, NULL },
		{ "192.169.0.0/16", MSG_PRIVATE, NULL },
		{ "100.64.0.0/16", MSG_PRIVATE, NULL },
		{ "11.0.0.0/24", MSG_PRIVATE, NULL },
		{ "fd00::/64", "must be an IPv4 subnet", NULL },
		{ "10.0.0.0", "prefix is required, e.g. 10.0.0.0/24", NULL },
		{ "10.0.0.0/", MSG_CIDR, NULL },
		{ "", MSG_CIDR, NULL },
		{ " 10.0.0.0/24", MSG_CIDR, NULL },
		{ "10.0.0.0/24 ", MSG_CIDR, NULL },
		{ "010.0.0.0/24", MSG_CIDR, NULL },
		{ "10.0.0.0/024", MSG_CIDR, NULL },
		{ "10.0.0.0/-24", MSG_CIDR, NULL },
		{ "10.0.0/24", MSG_CIDR, NULL },
		{ "abc", MSG_CIDR, NULL },
		{ "10.0.0.0/24,10.1.0.0/24", MSG_CIDR, NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct ipnet out = { .family = -1 };
		const char *msg = v_subnet(rows[i].in, &out);
		char buf[IPNET_STRLEN];

		if (rows[i].msg) {
			is_str(msg, rows[i].msg, "v_subnet('%s') message", rows[i].in);
			is_int(out.family, -1, "v_subnet('%s') leaves out alone", rows[i].in);
			continue;
		}
		ok(msg == NULL, "v_subnet('%s') valid", rows[i].in);
		ipnet_format(buf, &out);
		is_str(buf, rows[i].want, "v_subnet('%s') normalised", rows[i].in);
	}
	ok(v_subnet("10.0.0.0/24", NULL) == NULL, "v_subnet accepts a NULL out");
}

#define MICRO "\xc2\xb5"        /* U+00B5 */
#define MU    "\xce\xbc"        /* U+03BC */

static void test_duration(void)
{
	static const struct { const char *in; long long secs; } rows[] = {
		/* secs 0 = -EINVAL */
		{ "720h", 2592000 },
		{ "1h30m", 5400 },
		{ "1.5h", 5400 },
		{ "1.5d", 129600 },
		{ "1d", 86400 },
		{ "30s", 30 },
		{ "1s", 1 },
		{ "1m", 60 },
		{ "90m", 5400 },
		{ "1h1m1s", 3661 },
		{ "1d1h", 90000 },
		{ "2h45m30.5s", 9930 },
		{ "1000ms", 1 },
		{ "2500ms", 2 },
		{ "1ns", 1 },
		{ "999ms", 1 },
		{ "1us", 1 },
		{ "1" MICRO "s", 1 },
		{ "1" MU "s", 1 },
		{ "3000000000" MICRO "s", 3000 },
		{ ".5h", 1800 },
		{ "5.h", 18000 },
		{ "0.5s", 1 },
		{ "1.9s", 1 },
		{ "59.999s", 59 },
		{ "0h1s", 1 },
		{ "1h0m", 3600 },
		{ "0001h", 3600 },
		{ "1.000000000000000000000000001h", 3600 },
		{ "0.0000000001h", 1 },
		{ "106751d", 9223286400 },
		{ "2562047h", 9223369200 },
		{ "9223372036854775807ns", 9223372036 },
		{ "2562047h47m16.854775807s", 9223372036 },
		{ "106752d", 0 },
		{ "2562048h", 0 },
		{ "9223372036854775808ns", 0 },
		{ "99999999999999999999h", 0 },
		{ "2562047h47m16.854775808s", 0 },
		{ "106751d106751d", 0 },
		{ "", 0 },
		{ "0", 0 },
		{ "0s", 0 },
		{ "0h0m", 0 },
		{ "0.0000000001s", 0 },
		{ "1", 0 },
		{ "10", 0 },
		{ "1.5", 0 },
		{ "1h30", 0 },
		{ "-1h", 0 },
		{ "+1h", 0 },
		{ "1H", 0 },
		{ "1 h", 0 },
		{ " 1h", 0 },
		{ "1h ", 0 },
		{ "h", 0 },
		{ ".", 0 },
		{ ".h", 0 },
		{ "1.2.3h", 0 },
		{ "1..5h", 0 },
		{ "1hh", 0 },
		{ "1y", 0 },
		{ "1w", 0 },
		{ "1sec", 0 },
		{ "1h-30m", 0 },
		{ "1e3s", 0 },
		{ "1,5h", 0 },
		{ MICRO "s", 0 },
		{ "1" MICRO, 0 },
		{ "1\xc2s", 0 },
		{ "\xd9\xa1h", 0 },     /* ARABIC-INDIC DIGIT ONE */
		{ "1h\n", 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		long long secs = -7;
		int ret = parse_duration(rows[i].in, &secs);

		if (!rows[i].secs) {
			is_int(ret, -EINVAL, "parse_duration('%s') rejected", show(rows[i].in));
			is_int(secs, -7, "parse_duration('%s') leaves *seconds alone",
			       show(rows[i].in));
			continue;
		}
		is_int(ret, 0, "parse_duration('%s') accepted", show(rows[i].in));
		is_int(secs, rows[i].secs, "parse_duration('%s') seconds", show(rows[i].in));
	}
	check_message("DURATION_MSG", DURATION_MSG);
}

static void test_normalize(void)
{
	static const struct { const char *in, *want; size_t outsz; } rows[] = {
		{ "1.1.1.1 , 8.8.8.8", "1.1.1.1,8.8.8.8", 64 },
		{ "", "", 64 },
		{ "1.1.1.1", "1.1.1.1", 64 },
		{ " a ,b,  c ", "a,b,c", 64 },
		{ "a,,b", "a,b", 64 },
		{ "\t1.1.1.1\t,\t::1", "1.1.1.1,::1", 64 },
		{ "10.0.0.0/8, 192.168.0.0/16", "10.0.0.0/8,192.168.0.0/16", 64 },
		{ "1.1.1.1,8.8.8.8", "1.1.1.1", 8 },
		{ "1.1.1.1,8.8.8.8", "1.1.1.1,", 9 },
		{ "1.1.1.1,8.8.8.8", "1.1.1.1,8.8.8.8", 16 },
		{ "1.1.1.1,8.8.8.8", "1.1.1.1,8.8.8.", 15 },
		{ "1.1.1.1", "", 1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char out[64];

		memset(out, '#', sizeof(out));
		ok(list_normalize(out, rows[i].outsz, rows[i].in) == out, "returns out");
		is_str(out, rows[i].want, "list_normalize('%s', %zu)", rows[i].in, rows[i].outsz);
		if (rows[i].outsz <= strlen(rows[i].in))
			continue;
		/* in place, as the peer handler normalises its strdup'd lists */
		strcpy(out, rows[i].in);
		list_normalize(out, strlen(out) + 1, out);
		is_str(out, rows[i].want, "list_normalize('%s') in place", rows[i].in);
	}
	{
		char out[4] = "xyz";

		list_normalize(out, 0, "1.1.1.1");
		is_str(out, "xyz", "outsz 0 leaves out untouched");
	}
}

int main(void)
{
	test_strings();
	test_null();
	test_lengths();
	test_ints();
	test_subnet();
	test_duration();
	test_normalize();
	return done_testing();
}
