/* SPDX-License-Identifier: MIT */
/*
 * Keys and secrets: WireGuard X25519 keys, their base64/hex forms, the master
 * secret file and what is derived from it (HKDF-SHA256), secretbox encryption
 * at rest ("sb1:" values), Argon2id password hashes and random tokens.
 * Everything here is libsodium; call crypto_init() once before use.
 */
#ifndef WGP_KEYS_H
#define WGP_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WG_KEY_LEN 32
#define WG_KEY_B64_LEN 44       /* base64 with padding, without the NUL */
#define WG_KEY_HEX_LEN 64
#define MASTER_KEY_LEN 32
#define PWHASH_STR_LEN 128      /* >= crypto_pwhash_STRBYTES */

/* 0, or -1 when libsodium cannot start. Safe to call more than once. */
int crypto_init(void);
/* sodium_base642bin in the given variant (sodium_base64_VARIANT_*), but
 * refusing bytes >= 0x80: libsodium 1.0.18 decodes every one of them as a
 * valid character, so one key or token would have many spellings. 0, or
 * -1 for anything that is not exactly one valid encoding. */
int b64_decode_strict(uint8_t *bin, size_t bin_max, size_t *bin_len, const char *b64, size_t b64_len,
		      int variant);

/* Standard base64 with padding, exactly 44 chars + NUL. */
void key_to_b64(char out[static WG_KEY_B64_LEN + 1], const uint8_t key[static WG_KEY_LEN]);
/* 0 when b64 is exactly 44 base64 chars ending in '=' decoding to 32 bytes,
 * else -EINVAL (out untouched on error). Constant time in the key bytes. */
int key_from_b64(uint8_t key[static WG_KEY_LEN], const char *b64);
/* Lowercase hex, 64 chars + NUL (the UAPI form). */
void key_to_hex(char out[static WG_KEY_HEX_LEN + 1], const uint8_t key[static WG_KEY_LEN]);
/* 0, or -EINVAL unless exactly 64 hex chars. */
int key_from_hex(uint8_t key[static WG_KEY_LEN], const char *hex);
/* Fresh clamped Curve25519 private key from the CSPRNG. */
void key_generate_private(uint8_t priv[static WG_KEY_LEN]);
/* Public key of a private key (crypto_scalarmult_base). */
void key_public_from_private(uint8_t pub[static WG_KEY_LEN], const uint8_t priv[static WG_KEY_LEN]);
/* 32 random bytes (preshared key). */
void key_generate_psk(uint8_t psk[static WG_KEY_LEN]);
/* 1 when all 32 bytes are zero. */
int key_is_zero(const uint8_t key[static WG_KEY_LEN]);

/* HKDF-SHA256 (RFC 5869): extract with salt, expand with info, out_len <= 255*32. */
void hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *ikm, size_t ikm_len,
                 const char *salt, const char *info);
/* The same with byte-string salt and info (which may hold NUL bytes); NULL is
 * allowed for a zero length. out_len > 255*32 fills out with zeros. */
void hkdf_sha256_raw(uint8_t *out, size_t out_len, const uint8_t *ikm, size_t ikm_len,
                     const uint8_t *salt, size_t salt_len,
                     const uint8_t *info, size_t info_len);

/* Keys derived from the master secret. */
struct master_keys {
	uint8_t enc[32];        /* HKDF salt "wgpilot-key-encryption" */
	uint8_t jwt[32];        /* HKDF salt "wgpilot-jwt" */
};
/* Reads exactly MASTER_KEY_LEN bytes from path into keys (derived).
 * 0; -ENOENT missing; -EINVAL short/long file; other -errno. */
int master_load(const char *path, struct master_keys *keys);
/* Creates path with 32 random bytes, mode 0640, only if absent (O_EXCL).
 * gid >= 0 chowns the file to root:gid; gid_t is unsigned, so pass (gid_t)-1
 * (the chown(2) "no change" value) to skip that. 1 created, 0 already there,
 * -errno (a file that could not be completed is removed again). */
int master_create(const char *path, gid_t gid);
/* Zeroes both derived keys; NULL is ignored. */
void master_wipe(struct master_keys *keys);

/* Encrypts a NUL-terminated secret: "" stays "", else "sb1:" + base64(nonce|mac|ct).
 * Returns malloc'd string (caller frees), NULL on ENOMEM. */
char *secret_seal(const uint8_t key[static 32], const char *plain);
/* Decrypts a stored value into a malloc'd string (caller zeroes + frees):
 * "" -> "", "sb1:..." -> plaintext, legacy plaintext (no prefix, decodes to
 * exactly 32 bytes as base64) -> returned as is. 0, -EINVAL (bad format),
 * -EBADMSG (authentication failed: wrong master key or tampered). */
int secret_open(const uint8_t key[static 32], const char *stored, char **plain);
/* 1 when stored is legacy plaintext that secret_seal should replace. */
int secret_is_legacy(const char *stored);

/* Argon2id string hash of pw (crypto_pwhash_str); a limit of 0 means the
 * libsodium INTERACTIVE value. 0, -ENOMEM, -EINVAL (limit out of range). */
int pw_hash(char out[static PWHASH_STR_LEN], const char *pw,
            unsigned long long opslimit, size_t memlimit);
/* 0 when pw matches hash, -EACCES when not, -EINVAL for a malformed hash. */
int pw_verify(const char *hash, const char *pw);
/* 1 when the hash was made with other limits and should be redone. */
int pw_needs_rehash(const char *hash, unsigned long long opslimit, size_t memlimit);

/* n chars uniformly from [A-Za-z0-9] plus NUL (out has n+1 bytes). */
void rand_alnum(char *out, size_t n);
/* 2*nbytes lowercase hex chars plus NUL from nbytes random bytes. */
void rand_hex(char *out, size_t nbytes);
/* Lowercase hex SHA-256 of s: 64 chars + NUL (API key hashes). */
void sha256_hex(char out[static 65], const char *s);

#endif
