/* SPDX-License-Identifier: MIT */
/* lib/jwt.c: HS256 tokens, checked against an HMAC computed here. */
#include "jwt.h"
#include "tap.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define NOW 1700000000LL
#define HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define CLAIMS "{\"sub\":\"42\",\"username\":\"alice\",\"role\":\"admin\"," \
	"\"iat\":1700000000,\"exp\":1700086400}"

static uint8_t key[32];

/* Appends base64url(p[0..n)) to out (which has room). */
static void cat_b64url(char *out, const void *p, size_t n)
{
	size_t len = strlen(out);

	sodium_bin2base64(out + len, sodium_base64_ENCODED_LEN(n, B64URL), p, n, B64URL);
}

static void cat_b64url_str(char *out, const char *s)
{
	cat_b64url(out, s, strlen(s));
}

/* A token built independently of lib/jwt.c: b64url(header).b64url(claims).
 * HMAC-SHA256 over both with k. Static buffer, valid until the next call. */
static const char *make_token_key(const uint8_t k[32], const char *header, const char *claims)
{
	static char tok[8192];
	uint8_t mac[crypto_auth_hmacsha256_BYTES];

	tok[0] = '\0';
	cat_b64url_str(tok, header);
	strcat(tok, ".");
	cat_b64url_str(tok, claims);
	crypto_auth_hmacsha256(mac, (const uint8_t *)tok, strlen(tok), k);
	strcat(tok, ".");
	cat_b64url(tok, mac, sizeof(mac));
	return tok;
}

static const char *make_token(const char *header, const char *claims)
{
	return make_token_key(key, header, claims);
}

static struct jwt_claims alice(void)
{
	struct jwt_claims c = { .sub = 42, .username = "alice", .role = "admin",
	                        .iat = NOW, .exp = NOW + 86400 };
	return c;
}

static void test_roundtrip(void)
{
	struct jwt_claims in = alice(), out;
	char *tok, *part, payload[512];
	size_t n = 0;

	tok = jwt_sign(key, &in);
	ok(tok != NULL, "jwt_sign");
	if (!tok)
		return;
	is_str(tok, make_token(HEADER, CLAIMS), "token equals one built by hand (header, "
	       "compact claims in order, HMAC-SHA256 computed here)");
	ok(!strncmp(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37),
	   "header part is the fixed HS256/JWT header");
	part = strchr(tok, '.') + 1;
	ok(sodium_base642bin((uint8_t *)payload, sizeof(payload) - 1, part,
	                     (size_t)(strchr(part, '.') - part), NULL, &n, NULL, B64URL) == 0,
	   "payload is unpadded base64url");
	payload[n] = '\0';
	is_str(payload, CLAIMS, "payload is the compact claims JSON, sub a string");
	ok(!strchr(tok, '=') && !strchr(tok, '+') && !strchr(tok, '/'), "no padding, url alphabet");

	memset(&out, 0, sizeof(out));
	is_int(jwt_verify(key, tok, NOW, &out), JWT_OK, "verify own token");
	is_int(out.sub, 42, "sub");
	is_str(out.username, "alice", "username");
	is_str(out.role, "admin", "role");
	is_int(out.iat, NOW, "iat");
	is_int(out.exp, NOW + 86400, "exp");
	is_int(jwt_verify(key, tok, NOW, NULL), JWT_OK, "verify with c = NULL");
	is_int(jwt_verify(key, tok, NOW + 86399, &out), JWT_OK, "valid one second before exp");
	is_int(jwt_verify(key, tok, NOW + 86400, &out), JWT_EXPIRED, "expired at exp (exp <= now)");
	is_int(jwt_verify(key, tok, NOW + 999999, &out), JWT_EXPIRED, "expired long after");
	free(tok);
}

static void test_sign_limits(void)
{
	struct jwt_claims c = alice(), out;
	char *tok;

	memset(c.username, 'u', 64);
	c.username[64] = '\0';
	memset(c.role, 'r', 15);
	c.role[15] = '\0';
	c.sub = LLONG_MAX;
	tok = jwt_sign(key, &c);
	is_int(jwt_verify(key, tok, NOW, &out), JWT_OK, "64-char username, 15-char role, max sub");
	ok(out.sub == LLONG_MAX && strlen(out.username) == 64 && strlen(out.role) == 15,
	   "... come back intact");
	free(tok);

	c = alice();
	c.sub = 0;
	ok(jwt_sign(key, &c) == NULL, "jwt_sign refuses sub 0");
	c.sub = -5;
	ok(jwt_sign(key, &c) == NULL, "jwt_sign refuses a negative sub");
	c = alice();
	memset(c.username, 'u', sizeof(c.username));   /* no NUL inside */
	ok(jwt_sign(key, &c) == NULL, "jwt_sign refuses an unterminated username");
	c = alice();
	memset(c.role, 'r', sizeof(c.role));
	ok(jwt_sign(key, &c) == NULL, "jwt_sign refuses an unterminated role");
	c = alice();
	strcpy(c.username, "\xff\xfe");
	ok(jwt_sign(key, &c) == NULL, "jwt_sign refuses a non-UTF-8 username");
}

/* Replaces part idx (0-2) of tok with repl. Static buffer. */
static const char *with_part(const char *tok, int idx, const char *repl)
{
	static char out[8192];
	const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
	const char *start[3] = { tok, d1 + 1, d2 + 1 }, *end[3] = { d1, d2, tok + strlen(tok) };
	int i;

	out[0] = '\0';
	for (i = 0; i < 3; i++) {
		if (i)
			strcat(out, ".");
		if (i == idx)
			strcat(out, repl);
		else
			strncat(out, start[i], (size_t)(end[i] - start[i]));
	}
	return out;
}

static void test_tampered(void)
{
	struct jwt_claims c = alice(), pattern, out;
	uint8_t other[32];
	char good[1024], sig[64], hdr[128] = "", pay[512] = "";
	const char *tok;

	tok = make_token(HEADER, CLAIMS);
	strcpy(good, tok);
	memset(&pattern, 0x3c, sizeof(pattern));

	/* Payload with role viewer -> admin, signature of the viewer token kept. */
	strcpy(sig, strrchr(make_token(HEADER, "{\"sub\":\"42\",\"username\":\"alice\","
	       "\"role\":\"viewer\",\"iat\":1700000000,\"exp\":1700086400}"), '.') + 1);
	out = pattern;
	is_int(jwt_verify(key, with_part(good, 2, sig), NOW, &out), JWT_INVALID,
	       "payload swapped under another token's MAC");
	ok(memcmp(&out, &pattern, sizeof(out)) == 0, "... claims untouched");

	cat_b64url_str(pay, "{\"sub\":\"1\",\"username\":\"alice\",\"role\":\"admin\","
	               "\"iat\":1700000000,\"exp\":1700086400}");
	is_int(jwt_verify(key, with_part(good, 1, pay), NOW, &out), JWT_INVALID,
	       "payload edited (sub 42 -> 1)");

	cat_b64url_str(hdr, "{\"alg\":\"HS256\",\"typ\":\"JWT\" }");
	is_int(jwt_verify(key, with_part(good, 0, hdr), NOW, &out), JWT_INVALID,
	       "header edited (extra space)");

	strcpy(sig, strrchr(good, '.') + 1);
	sig[0] = sig[0] == 'A' ? 'B' : 'A';
	is_int(jwt_verify(key, with_part(good, 2, sig), NOW, &out), JWT_INVALID,
	       "signature's first char changed");
	strcpy(sig, strrchr(good, '.') + 1);
	sig[21] = sig[21] == 'A' ? 'B' : 'A';
	is_int(jwt_verify(key, with_part(good, 2, sig), NOW, &out), JWT_INVALID,
	       "signature's middle char changed");

	memcpy(other, key, 32);
	other[0] ^= 1;
	is_int(jwt_verify(other, good, NOW, &out), JWT_INVALID, "wrong key");
	tok = jwt_sign(other, &c);
	is_int(jwt_verify(key, tok, NOW, &out), JWT_INVALID, "token signed with another key");
	free((char *)tok);
	ok(memcmp(&out, &pattern, sizeof(out)) == 0, "claims untouched after all failures");
}

static void test_signature_encoding(void)
{
	static const char b64url[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char good[1024], sig[64];
	uint8_t mac[32];
	size_t len;
	int v;

	strcpy(good, make_token(HEADER, CLAIMS));
	strcpy(sig, strrchr(good, '.') + 1);
	len = strlen(sig);
	is_int(len, 43, "signature is 43 base64url chars");

	/* The last char carries 2 padding bits: setting them keeps the MAC bytes
	 * but must still be refused, or a token would have several spellings. */
	v = (int)(strchr(b64url, sig[len - 1]) - b64url);
	sig[len - 1] = b64url[v | 1];
	ok(v % 4 == 0, "canonical last char has zero pad bits");
	is_int(jwt_verify(key, with_part(good, 2, sig), NOW, NULL), JWT_INVALID,
	       "non-canonical signature encoding");

	strcpy(sig, strrchr(good, '.') + 1);
	strcat(sig, "=");
	is_int(jwt_verify(key, with_part(good, 2, sig), NOW, NULL), JWT_INVALID,
	       "padded signature");
	sig[len - 1] = '\0';
	is_int(jwt_verify(key, with_part(good, 2, sig), NOW, NULL), JWT_INVALID,
	       "signature one char short");
	strcpy(sig, strrchr(good, '.') + 1);
	strcat(sig, "AAAA");
	is_int(jwt_verify(key, with_part(good, 2, sig), NOW, NULL), JWT_INVALID,
	       "signature with 3 extra bytes");

	crypto_auth_hmacsha256(mac, (const uint8_t *)good,
	                       (size_t)(strrchr(good, '.') - good), key);
	sig[0] = '\0';
	cat_b64url(sig, mac, 16);
	is_int(jwt_verify(key, with_part(good, 2, sig), NOW, NULL), JWT_INVALID,
	       "truncated (16-byte) MAC");
	is_int(jwt_verify(key, with_part(good, 2, ""), NOW, NULL), JWT_INVALID, "empty signature");
}

/* libsodium 1.0.18 decodes any byte >= 0x80 as '_': such a spelling of a
 * real signature must not verify. */
static void test_signature_high_byte(void)
{
	struct jwt_claims c = alice();
	char *tok = NULL, *under = NULL;
	int i;

	/* A signature holds a '_' about one time in two; 64 tries are plenty. */
	for (i = 0; i < 64 && !under; i++) {
		free(tok);
		snprintf(c.username, sizeof(c.username), "user%d", i);
		tok = jwt_sign(key, &c);
		under = tok ? strchr(strrchr(tok, '.'), '_') : NULL;
	}
	ok(under != NULL, "found a signature with '_'");
	if (under) {
		*under = '\xff';
		is_int(jwt_verify(key, tok, NOW, NULL), JWT_INVALID, "0xff in place of '_'");
		*under = '\x80';
		is_int(jwt_verify(key, tok, NOW, NULL), JWT_INVALID, "0x80 in place of '_'");
		*under = '_';
		is_int(jwt_verify(key, tok, NOW, NULL), JWT_OK, "... the real spelling verifies");
	}
	free(tok);
}

static void test_headers(void)
{
	static const struct { const char *hdr; int want; const char *why; } v[] = {
		{ "{\"alg\":\"HS256\"}", JWT_OK, "typ is optional" },
		{ "{\"typ\":\"JWT\",\"alg\":\"HS256\"}", JWT_OK, "key order is free" },
		{ "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"1\"}", JWT_OK, "extra header field" },
		{ "{\"alg\":\"none\",\"typ\":\"JWT\"}", JWT_INVALID, "alg none" },
		{ "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", JWT_INVALID, "alg HS512" },
		{ "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", JWT_INVALID, "alg RS256" },
		{ "{\"alg\":\"hs256\",\"typ\":\"JWT\"}", JWT_INVALID, "alg in lowercase" },
		{ "{\"alg\":\"HS256 \",\"typ\":\"JWT\"}", JWT_INVALID, "alg with a space" },
		{ "{\"typ\":\"JWT\"}", JWT_INVALID, "alg missing" },
		{ "{\"alg\":256,\"typ\":\"JWT\"}", JWT_INVALID, "alg a number" },
		{ "{\"alg\":null,\"typ\":\"JWT\"}", JWT_INVALID, "alg null" },
		{ "{\"alg\":[\"HS256\"],\"typ\":\"JWT\"}", JWT_INVALID, "alg an array" },
		{ "{\"alg\":\"HS256\",\"alg\":\"none\"}", JWT_INVALID, "duplicate alg (last none)" },
		{ "{\"alg\":\"none\",\"alg\":\"HS256\"}", JWT_INVALID, "duplicate alg (last HS256)" },
		{ "{\"alg\":\"HS256\",\"typ\":1}", JWT_INVALID, "typ a number" },
		{ "{\"alg\":\"HS256\",\"typ\":\"JWS\"}", JWT_INVALID, "typ not JWT" },
		{ "[\"HS256\"]", JWT_INVALID, "header an array" },
		{ "\"HS256\"", JWT_INVALID, "header a string" },
		{ "{\"alg\":\"HS256\"", JWT_INVALID, "header not JSON" },
		{ "", JWT_INVALID, "empty header" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		is_int(jwt_verify(key, make_token(v[i].hdr, CLAIMS), NOW, NULL), v[i].want,
		       "validly signed header: %s", v[i].why);

	/* The classic attack: alg none and no signature at all. */
	is_int(jwt_verify(key, with_part(make_token("{\"alg\":\"none\"}", CLAIMS), 2, ""),
	                  NOW, NULL), JWT_INVALID, "alg none with empty signature");
}

#define C_(sub, user, role, iat, exp) \
	"{\"sub\":" sub ",\"username\":" user ",\"role\":" role ",\"iat\":" iat ",\"exp\":" exp "}"
#define U64 "\"uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu\""

static void test_claims(void)
{
	static const struct { const char *claims; int want; const char *why; } v[] = {
		{ C_("\"7\"", "\"bob\"", "\"viewer\"", "1", "1700000001"), JWT_OK, "minimal valid" },
		{ C_("\"9223372036854775807\"", "\"a\"", "\"admin\"", "0", "9223372036854775807"),
		  JWT_OK, "sub LLONG_MAX" },
		{ C_("\"7\"", U64, "\"rrrrrrrrrrrrrrr\"", "1", "1700000001"), JWT_OK,
		  "64-char username and 15-char role" },
		{ C_("\"7\"", "\"\"", "\"\"", "1", "1700000001"), JWT_OK, "empty strings" },
		{ "{\"sub\":\"7\",\"username\":\"b\",\"role\":\"r\",\"iat\":1,\"exp\":1700000001,"
		  "\"x\":[1]}", JWT_OK, "extra claim" },
		{ C_("\"7\"", "\"bob\"", "\"viewer\"", "1", "1700000000"), JWT_EXPIRED, "exp == now" },
		{ C_("\"7\"", "\"bob\"", "\"viewer\"", "1", "-1"), JWT_EXPIRED, "negative exp" },
		{ C_("42", "\"bob\"", "\"viewer\"", "1", "1700000001"), JWT_INVALID, "sub a number" },
		{ C_("\"0\"", "\"bob\"", "\"viewer\"", "1", "1700000001"), JWT_INVALID, "sub 0" },
		{ C_("\"-1\"", "\"bob\"", "\"viewer\"", "1", "1700000001"), JWT_INVALID, "sub -1" },
		{ C_("\"+1\"", "\"bob\"", "\"viewer\"", "1", "1700000001"), JWT_INVALID, "sub +1" },
		{ C_("\"01\"", "\"bob\"", "\"viewer\"", "1", "1700000001"), JWT_INVALID,
		  "sub with a leading zero" },
		{ C_("\"\"", "\"bob\"", "\"viewer\"", "1", "1700000001"), JWT_INVALID, "sub empty" },
		{ C_("\"1.0\"", "\"bob\"", "\"viewer\"", "1", "1700000001"), JWT_INVALID, "sub 1.0" },
		{ C_("\" 1\"", "\"bob\"", "\"viewer\"", "1", "1700000001"), JWT_INVALID,
		  "sub with a space" },
		{ C_("\"1a\"", "\"bob\"", "\"viewer\"", "1", "1700000001"), JWT_INVALID, "sub 1a" },
		{ C_("\"9223372036854775808\"", "\"bob\"", "\"viewer\"", "1", "1700000001"),
		  JWT_INVALID, "sub overflowing long long" },
		{ C_("null", "\"bob\"", "\"viewer\"", "1", "1700000001"), JWT_INVALID, "sub null" },
		{ C_("\"7\"", U64 "u", "\"viewer\"", "1", "1700000001"), JWT_INVALID,
		  "65-char username" },
		{ C_("\"7\"", "\"bob\"", "\"rrrrrrrrrrrrrrrr\"", "1", "1700000001"), JWT_INVALID,
		  "16-char role" },
		{ C_("\"7\"", "7", "\"viewer\"", "1", "1700000001"), JWT_INVALID, "username a number" },
		{ C_("\"7\"", "\"bob\"", "true", "1", "1700000001"), JWT_INVALID, "role a bool" },
		{ C_("\"7\"", "\"b\\u0000b\"", "\"viewer\"", "1", "1700000001"), JWT_INVALID,
		  "username with \\u0000" },
		{ C_("\"7\"", "\"bob\"", "\"viewer\"", "\"1\"", "1700000001"), JWT_INVALID,
		  "iat a string" },
		{ C_("\"7\"", "\"bob\"", "\"viewer\"", "1", "1700000001.0"), JWT_INVALID, "exp a real" },
		{ C_("\"7\"", "\"bob\"", "\"viewer\"", "1", "1.7e9"), JWT_INVALID, "exp 1.7e9" },
		{ C_("\"7\"", "\"bob\"", "\"viewer\"", "1", "\"1700000001\""), JWT_INVALID,
		  "exp a string" },
		{ C_("\"7\"", "\"bob\"", "\"viewer\"", "1", "99999999999999999999"), JWT_INVALID,
		  "exp beyond 64 bits" },
		{ "{\"sub\":\"7\",\"username\":\"b\",\"role\":\"r\",\"iat\":1}", JWT_INVALID,
		  "exp missing" },
		{ "{\"sub\":\"7\",\"username\":\"b\",\"role\":\"r\",\"exp\":1700000001}", JWT_INVALID,
		  "iat missing" },
		{ "{\"sub\":\"7\",\"username\":\"b\",\"iat\":1,\"exp\":1700000001}", JWT_INVALID,
		  "role missing" },
		{ "{\"sub\":\"7\",\"role\":\"r\",\"iat\":1,\"exp\":1700000001}", JWT_INVALID,
		  "username missing" },
		{ "{\"username\":\"b\",\"role\":\"r\",\"iat\":1,\"exp\":1700000001}", JWT_INVALID,
		  "sub missing" },
		{ "{\"sub\":\"7\",\"username\":\"b\",\"role\":\"r\",\"role\":\"admin\",\"iat\":1,"
		  "\"exp\":1700000001}", JWT_INVALID, "duplicate role" },
		{ "[1,2]", JWT_INVALID, "claims an array" },
		{ "not json", JWT_INVALID, "claims not JSON" },
		{ "", JWT_INVALID, "claims empty" },
	};
	struct jwt_claims out;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		is_int(jwt_verify(key, make_token(HEADER, v[i].claims), NOW, &out), v[i].want,
		       "validly signed claims: %s", v[i].why);
	jwt_verify(key, make_token(HEADER, v[1].claims), NOW, &out);
	ok(out.sub == LLONG_MAX && out.exp == LLONG_MAX && out.iat == 0, "LLONG_MAX parsed");
}

static void test_malformed(void)
{
	static const struct { const char *tok, *why; } v[] = {
		{ "", "empty" },
		{ ".", "one dot" },
		{ "..", "two dots, empty parts" },
		{ "abc", "one part" },
		{ "eyJhbGciOiJIUzI1NiJ9.e30", "two parts" },
		{ "a.b.c", "three junk parts" },
		{ "a.b.c.d", "four parts" },
		{ "eyJhbGciOiJIUzI1NiJ9=.e30.AAAA", "padded header" },
		{ "eyJhbGciOiJIUzI1NiJ9!.e30.AAAA", "bad base64 char" },
		{ "eyJhbGciOiJIUzI1NiJ9+.e30.AAAA", "standard alphabet '+'" },
	};
	char good[1024], buf[2048];
	char *huge;
	size_t i, n = 1 << 20;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		is_int(jwt_verify(key, v[i].tok, NOW, NULL), JWT_INVALID, "malformed: %s", v[i].why);
	is_int(jwt_verify(key, NULL, NOW, NULL), JWT_INVALID, "malformed: NULL");

	strcpy(good, make_token(HEADER, CLAIMS));
	snprintf(buf, sizeof(buf), "%s.", good);
	is_int(jwt_verify(key, buf, NOW, NULL), JWT_INVALID, "valid token plus a trailing dot");
	snprintf(buf, sizeof(buf), "%s.%s", good, strrchr(good, '.') + 1);
	is_int(jwt_verify(key, buf, NOW, NULL), JWT_INVALID, "valid token plus a 4th part");
	snprintf(buf, sizeof(buf), "%s\n", good);
	is_int(jwt_verify(key, buf, NOW, NULL), JWT_INVALID, "valid token plus a newline");
	snprintf(buf, sizeof(buf), " %s", good);
	is_int(jwt_verify(key, buf, NOW, NULL), JWT_INVALID, "valid token after a space");
	snprintf(buf, sizeof(buf), "Bearer %s", good);
	is_int(jwt_verify(key, buf, NOW, NULL), JWT_INVALID, "\"Bearer \" prefix");

	huge = malloc(n + 1);
	if (!huge)
		return;
	memset(huge, 'A', n);
	huge[100] = '.';
	huge[200] = '.';
	huge[n] = '\0';
	is_int(jwt_verify(key, huge, NOW, NULL), JWT_INVALID, "1 MiB input");
	/* A validly signed token whose claims are padded far beyond any real one. */
	memset(huge, ' ', 6000);
	memcpy(huge, CLAIMS, strlen(CLAIMS));
	huge[6000] = '\0';
	is_int(jwt_verify(key, make_token(HEADER, huge), NOW, NULL), JWT_INVALID,
	       "validly signed 8 KB token");
	free(huge);
}

int main(void)
{
	if (sodium_init() < 0)
		skip_all("libsodium cannot start");
	/* A fixed key keeps the tokens in this test reproducible. */
	memset(key, 0x4b, sizeof(key));
	test_roundtrip();
	test_sign_limits();
	test_tampered();
	test_signature_encoding();
	test_signature_high_byte();
	test_headers();
	test_claims();
	test_malformed();
	return done_testing();
}
