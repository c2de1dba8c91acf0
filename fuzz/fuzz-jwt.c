/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: arbitrary bytes (as a NUL-terminated copy) into
 * jwt_verify. A MAC cannot be guessed, so when the first byte is odd the rest
 * is taken as "header.payload" and the harness appends the right signature:
 * that lets the fuzzer reach the header and claims parsers behind the MAC.
 * Besides crashes and sanitizer reports it traps when a result is outside the
 * enum, or when claims that verified do not survive jwt_sign + jwt_verify.
 *
 * Build and run from the source root:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ilib \
 *     fuzz/fuzz-jwt.c lib/jwt.c $(pkg-config --cflags --libs libsodium jansson) -o fuzz-jwt
 *   ./fuzz-jwt -max_total_time=20 CORPUS_DIR
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "jwt.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)
#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define NOW 1700000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[32] = "fuzz-jwt-key-0123456789abcdefghi";

/* data as a string, with ".<base64url HMAC>" appended when sign is set. */
static char *fuzz_token(const uint8_t *data, size_t size, int sign)
{
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	size_t sig_len = sign ? sodium_base64_ENCODED_LEN(sizeof(mac), B64URL) : 0;
	char *tok;

	tok = malloc(size + 1 + sig_len + 1);
	if (!tok)
		return NULL;
	memcpy(tok, data, size);
	tok[size] = '\0';
	if (sign) {
		/* Over the bytes up to the first NUL, as jwt_verify will see them. */
		crypto_auth_hmacsha256(mac, (const uint8_t *)tok, strlen(tok), key);
		strcat(tok, ".");
		sodium_bin2base64(tok + strlen(tok), sig_len, mac, sizeof(mac), B64URL);
	}
	return tok;
}

/* Claims that verified must be well-formed and come back the same. */
static void fuzz_resign(const struct jwt_claims *c)
{
	struct jwt_claims again;
	char *tok;

	CHECK(c->sub > 0 && c->exp > NOW);
	CHECK(strnlen(c->username, sizeof(c->username)) < sizeof(c->username));
	CHECK(strnlen(c->role, sizeof(c->role)) < sizeof(c->role));
	tok = jwt_sign(key, c);
	/* jansson refuses to emit invalid UTF-8, and so refuses to read it. */
	CHECK(tok != NULL);
	CHECK(jwt_verify(key, tok, NOW, &again) == JWT_OK);
	CHECK(again.sub == c->sub && again.iat == c->iat && again.exp == c->exp);
	CHECK(!strcmp(again.username, c->username) && !strcmp(again.role, c->role));
	free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwt_claims c;
	enum jwt_result r;
	char *tok;

	if (sodium_init() < 0 || size == 0)
		return 0;
	tok = fuzz_token(data + 1, size - 1, data[0] & 1);
	if (!tok)
		return 0;
	r = jwt_verify(key, tok, NOW, &c);
	CHECK(r == JWT_OK || r == JWT_INVALID || r == JWT_EXPIRED);
	if (r == JWT_OK)
		fuzz_resign(&c);
	free(tok);
	return 0;
}
