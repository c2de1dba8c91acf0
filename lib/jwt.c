/* SPDX-License-Identifier: MIT */
/*
 * HS256 JSON Web Tokens (security.md §3). We only ever verify tokens we
 * signed ourselves, so verification is strict: one fixed algorithm, no
 * duplicate JSON keys, canonical base64url, every claim typed and bounded.
 */
#include "jwt.h"
#include "keys.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#define JWT_B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define JWT_MAC_LEN crypto_auth_hmacsha256_BYTES
/* Our tokens are ~300 bytes; anything far larger is not ours. */
#define JWT_MAX_LEN 4096
#define JWT_USERNAME_MAX (sizeof(((struct jwt_claims *)0)->username) - 1)
#define JWT_ROLE_MAX (sizeof(((struct jwt_claims *)0)->role) - 1)

_Static_assert(crypto_auth_hmacsha256_KEYBYTES == 32, "HS256 key is 32 bytes");

static const char jwt_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* Length of the unpadded base64url form of n bytes, without the NUL. */
static size_t jwt_b64_len(size_t n)
{
	return sodium_base64_ENCODED_LEN(n, JWT_B64) - 1;
}

/* The claims as compact JSON (malloc'd), or NULL when they would not pass
 * jwt_verify themselves or memory ran out. */
static char *jwt_claims_json(const struct jwt_claims *c)
{
	char sub[24];
	json_t *obj;
	char *out;

	if (c->sub <= 0 || strnlen(c->username, sizeof(c->username)) > JWT_USERNAME_MAX ||
	    strnlen(c->role, sizeof(c->role)) > JWT_ROLE_MAX)
		return NULL;
	snprintf(sub, sizeof(sub), "%lld", c->sub);
	obj = json_pack("{s:s, s:s, s:s, s:I, s:I}", "sub", sub, "username", c->username,
	                "role", c->role, "iat", (json_int_t)c->iat, "exp", (json_int_t)c->exp);
	if (!obj)
		return NULL;
	out = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return out;
}

char *jwt_sign(const uint8_t key[static 32], const struct jwt_claims *c)
{
	uint8_t mac[JWT_MAC_LEN];
	size_t hlen, plen, slen, payload_len;
	char *payload, *tok = NULL, *p;

	payload = jwt_claims_json(c);
	if (!payload)
		return NULL;
	payload_len = strlen(payload);
	hlen = jwt_b64_len(sizeof(jwt_header) - 1);
	plen = jwt_b64_len(payload_len);
	slen = jwt_b64_len(sizeof(mac));
	tok = malloc(hlen + 1 + plen + 1 + slen + 1);
	if (!tok)
		goto out;
	p = tok;
	sodium_bin2base64(p, hlen + 1, (const uint8_t *)jwt_header, sizeof(jwt_header) - 1, JWT_B64);
	p += hlen;
	*p++ = '.';
	sodium_bin2base64(p, plen + 1, (const uint8_t *)payload, payload_len, JWT_B64);
	p += plen;
	crypto_auth_hmacsha256(mac, (const uint8_t *)tok, (size_t)(p - tok), key);
	*p++ = '.';
	sodium_bin2base64(p, slen + 1, mac, sizeof(mac), JWT_B64);
out:
	free(payload);
	return tok;
}

/* Decodes one base64url token part holding a JSON object: the object (caller
 * decrefs) or NULL. Duplicate keys are refused so that no parser can read a
 * different "alg" than we did. */
static json_t *jwt_part_json(const char *b64, size_t len)
{
	uint8_t buf[JWT_MAX_LEN];
	size_t n = 0;
	json_t *obj;

	if (b64_decode_strict(buf, sizeof(buf), &n, b64, len, JWT_B64) != 0)
		return NULL;
	obj = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
	if (obj && !json_is_object(obj)) {
		json_decref(obj);
		obj = NULL;
	}
	return obj;
}

/* 1 when v is a JSON string equal to s. */
static int jwt_str_is(const json_t *v, const char *s)
{
	size_t n = strlen(s);

	return json_is_string(v) && json_string_length(v) == n &&
	       memcmp(json_string_value(v), s, n) == 0;
}

/* 0 when the header is an object with alg "HS256" and no typ or typ "JWT". */
static int jwt_check_header(const char *b64, size_t len)
{
	json_t *hdr, *typ;
	int ret = -1;

	hdr = jwt_part_json(b64, len);
	if (!hdr)
		return -1;
	if (!jwt_str_is(json_object_get(hdr, "alg"), "HS256"))
		goto out;
	typ = json_object_get(hdr, "typ");
	if (typ && !jwt_str_is(typ, "JWT"))
		goto out;
	ret = 0;
out:
	json_decref(hdr);
	return ret;
}

/* 0 when sig is the base64url HMAC-SHA256 of signed[0..signed_len). */
static int jwt_check_mac(const uint8_t key[static 32], const char *signed_part,
                         size_t signed_len, const char *sig, size_t sig_len)
{
	uint8_t got[JWT_MAC_LEN + 1], want[JWT_MAC_LEN];
	size_t n = 0;
	int ret = -1;

	/* The decoder rejects non-zero padding bits, so a MAC has one spelling. */
	if (b64_decode_strict(got, sizeof(got), &n, sig, sig_len, JWT_B64) != 0 || n != JWT_MAC_LEN)
		return -1;
	crypto_auth_hmacsha256(want, (const uint8_t *)signed_part, signed_len, key);
	if (sodium_memcmp(got, want, JWT_MAC_LEN) == 0)
		ret = 0;
	sodium_memzero(want, sizeof(want));
	return ret;
}

/* "sub": a decimal string of a positive integer without sign or leading zero. */
static int jwt_parse_sub(const json_t *v, long long *sub)
{
	const char *s;
	long long n = 0;
	size_t i, len;
	int d;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || s[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = s[i] - '0';
		if (n > (LLONG_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*sub = n;
	return 0;
}

/* Copies a JSON string of at most max bytes into out[max + 1]. */
static int jwt_parse_str(const json_t *v, char *out, size_t max)
{
	size_t len;

	if (!json_is_string(v))
		return -1;
	len = json_string_length(v);
	/* Without JSON_ALLOW_NUL jansson refuses "\u0000", so len == strlen. */
	if (len > max)
		return -1;
	memcpy(out, json_string_value(v), len);
	out[len] = '\0';
	return 0;
}

static int jwt_parse_int(const json_t *v, long long *out)
{
	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return 0;
}

/* Fills *c from the payload part: 0, or -1 when any claim is missing or bad. */
static int jwt_parse_claims(const char *b64, size_t len, struct jwt_claims *c)
{
	json_t *obj;
	int ret = -1;

	obj = jwt_part_json(b64, len);
	if (!obj)
		return -1;
	if (jwt_parse_sub(json_object_get(obj, "sub"), &c->sub) ||
	    jwt_parse_str(json_object_get(obj, "username"), c->username, JWT_USERNAME_MAX) ||
	    jwt_parse_str(json_object_get(obj, "role"), c->role, JWT_ROLE_MAX) ||
	    jwt_parse_int(json_object_get(obj, "iat"), &c->iat) ||
	    jwt_parse_int(json_object_get(obj, "exp"), &c->exp))
		goto out;
	ret = 0;
out:
	json_decref(obj);
	return ret;
}

enum jwt_result jwt_verify(const uint8_t key[static 32], const char *token,
                           long long now, struct jwt_claims *c)
{
	const char *dot1, *dot2, *end;
	struct jwt_claims tmp;
	size_t len;

	if (!token)
		return JWT_INVALID;
	len = strnlen(token, JWT_MAX_LEN + 1);
	if (len > JWT_MAX_LEN)
		return JWT_INVALID;
	end = token + len;
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1)) : NULL;
	if (!dot2 || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)))
		return JWT_INVALID;

	if (jwt_check_header(token, (size_t)(dot1 - token)) ||
	    jwt_check_mac(key, token, (size_t)(dot2 - token), dot2 + 1, (size_t)(end - dot2 - 1)))
		return JWT_INVALID;
	/* Only now, with the MAC good, is the payload worth parsing. */
	memset(&tmp, 0, sizeof(tmp));
	if (jwt_parse_claims(dot1 + 1, (size_t)(dot2 - dot1 - 1), &tmp))
		return JWT_INVALID;
	if (tmp.exp <= now)
		return JWT_EXPIRED;
	if (c)
		*c = tmp;
	return JWT_OK;
}
