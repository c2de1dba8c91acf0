/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: arbitrary bytes (as a NUL-terminated copy) into
 * key_from_b64, key_from_hex, secret_is_legacy and secret_open. Besides
 * crashes and sanitizer reports it traps when a cross-check fails: an
 * accepted key must re-encode to exactly the input (one spelling per key),
 * legacy detection must agree with key_from_b64, secret_open may only return
 * its documented codes, and sealing the input then opening it gives it back.
 *
 * Build and run from the source root:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ilib \
 *     fuzz/fuzz-keys.c lib/keys.c $(pkg-config --cflags --libs libsodium) -o fuzz-keys
 *   ./fuzz-keys -max_total_time=20 CORPUS_DIR
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keys.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[32] = "fuzz-keys-secretbox-key-01234567";

static void fuzz_b64(const char *s)
{
	char again[WG_KEY_B64_LEN + 1];
	uint8_t k[WG_KEY_LEN];

	if (key_from_b64(k, s) != 0) {
		CHECK(!secret_is_legacy(s));
		return;
	}
	key_to_b64(again, k);
	CHECK(!strcmp(again, s));
	CHECK(secret_is_legacy(s));
}

static void fuzz_hex(const char *s)
{
	char again[WG_KEY_HEX_LEN + 1];
	uint8_t k[WG_KEY_LEN];
	size_t i;

	if (key_from_hex(k, s) != 0)
		return;
	key_to_hex(again, k);
	for (i = 0; i < WG_KEY_HEX_LEN; i++)
		CHECK(again[i] == tolower((unsigned char)s[i]));
	CHECK(s[WG_KEY_HEX_LEN] == '\0');
}

static void fuzz_open(const char *s)
{
	char *plain = NULL;
	int r;

	r = secret_open(key, s, &plain);
	CHECK(r == 0 || r == -EINVAL || r == -EBADMSG || r == -ENOMEM);
	CHECK((r == 0) == (plain != NULL));
	/* Legacy and empty values come back unchanged. */
	if (r == 0 && strncmp(s, "sb1:", 4))
		CHECK(!strcmp(plain, s));
	free(plain);
}

static void fuzz_seal(const char *s)
{
	char *sealed, *plain = NULL;

	sealed = secret_seal(key, s);
	if (!sealed)
		return;
	CHECK(*s ? !strncmp(sealed, "sb1:", 4) : !*sealed);
	CHECK(!secret_is_legacy(sealed));
	CHECK(secret_open(key, sealed, &plain) == 0 && !strcmp(plain, s));
	free(plain);
	free(sealed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (crypto_init() < 0)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_b64(s);
	fuzz_hex(s);
	fuzz_open(s);
	fuzz_seal(s);
	free(s);
	return 0;
}
