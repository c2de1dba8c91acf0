/* SPDX-License-Identifier: MIT */
/*
 * Keys and secrets on libsodium: key encodings (constant-time codecs), HKDF,
 * the master secret file, "sb1:" secretbox values, Argon2id hashes and random
 * tokens. Contracts are in keys.h.
 */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define HKDF_HASH_LEN crypto_auth_hmacsha256_BYTES
#define HKDF_MAX_OUT (255 * HKDF_HASH_LEN)
#define SECRET_PREFIX "sb1:"
#define SECRET_PREFIX_LEN (sizeof(SECRET_PREFIX) - 1)
#define SECRET_OVERHEAD (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
#define B64_ORIG sodium_base64_VARIANT_ORIGINAL

_Static_assert(PWHASH_STR_LEN >= crypto_pwhash_STRBYTES, "PWHASH_STR_LEN too small");
_Static_assert(sizeof(((struct master_keys *)0)->enc) == crypto_secretbox_KEYBYTES,
               "enc key must fit secretbox");
_Static_assert(WG_KEY_LEN == crypto_scalarmult_curve25519_BYTES, "X25519 key size");

int crypto_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

/* sodium_base642bin as in libsodium 1.0.18, but refusing bytes >= 0x80: that
 * version decodes every one of them as '/', so a key would have many
 * spellings. The check is branch-free over the bytes to stay constant time. */
int b64_decode_strict(uint8_t *bin, size_t bin_max, size_t *bin_len, const char *b64, size_t b64_len,
		      int variant)
{
	unsigned char high = 0;
	size_t i;

	for (i = 0; i < b64_len; i++)
		high |= (unsigned char)b64[i];
	if (high & 0x80)
		return -1;
	return sodium_base642bin(bin, bin_max, b64, b64_len, NULL, bin_len, NULL, variant);
}

/* --- WireGuard keys ------------------------------------------------------ */

void key_to_b64(char out[static WG_KEY_B64_LEN + 1], const uint8_t key[static WG_KEY_LEN])
{
	sodium_bin2base64(out, WG_KEY_B64_LEN + 1, key, WG_KEY_LEN, B64_ORIG);
}

int key_from_b64(uint8_t key[static WG_KEY_LEN], const char *b64)
{
	uint8_t tmp[WG_KEY_LEN + 1];
	size_t len = 0;
	int ret = -EINVAL;

	/* Length and the final '=' say nothing about the key bytes. */
	if (!b64 || strnlen(b64, WG_KEY_B64_LEN + 1) != WG_KEY_B64_LEN ||
	    b64[WG_KEY_B64_LEN - 1] != '=')
		return -EINVAL;
	/* The decoder is constant time and rejects non-zero pad bits. */
	if (b64_decode_strict(tmp, sizeof(tmp), &len, b64, WG_KEY_B64_LEN, B64_ORIG) != 0 ||
	    len != WG_KEY_LEN)
		goto out;
	memcpy(key, tmp, WG_KEY_LEN);
	ret = 0;
out:
	sodium_memzero(tmp, sizeof(tmp));
	return ret;
}

void key_to_hex(char out[static WG_KEY_HEX_LEN + 1], const uint8_t key[static WG_KEY_LEN])
{
	sodium_bin2hex(out, WG_KEY_HEX_LEN + 1, key, WG_KEY_LEN);
}

int key_from_hex(uint8_t key[static WG_KEY_LEN], const char *hex)
{
	uint8_t tmp[WG_KEY_LEN];
	size_t len = 0;
	int ret = -EINVAL;

	if (!hex || strnlen(hex, WG_KEY_HEX_LEN + 1) != WG_KEY_HEX_LEN)
		return -EINVAL;
	if (sodium_hex2bin(tmp, sizeof(tmp), hex, WG_KEY_HEX_LEN, NULL, &len, NULL) != 0 ||
	    len != WG_KEY_LEN)
		goto out;
	memcpy(key, tmp, WG_KEY_LEN);
	ret = 0;
out:
	sodium_memzero(tmp, sizeof(tmp));
	return ret;
}

void key_generate_private(uint8_t priv[static WG_KEY_LEN])
{
	randombytes_buf(priv, WG_KEY_LEN);
	/* Curve25519 clamping, as `wg genkey` does. */
	priv[0] &= 248;
	priv[31] = (uint8_t)((priv[31] & 127) | 64);
}

void key_public_from_private(uint8_t pub[static WG_KEY_LEN], const uint8_t priv[static WG_KEY_LEN])
{
	/* Base-point multiplication cannot yield the all-zero point. */
	(void)crypto_scalarmult_curve25519_base(pub, priv);
}

void key_generate_psk(uint8_t psk[static WG_KEY_LEN])
{
	randombytes_buf(psk, WG_KEY_LEN);
}

int key_is_zero(const uint8_t key[static WG_KEY_LEN])
{
	return sodium_is_zero(key, WG_KEY_LEN);
}

/* --- HKDF-SHA256 --------------------------------------------------------- */

static void hkdf_update(crypto_auth_hmacsha256_state *st, const uint8_t *p, size_t len)
{
	if (len)
		crypto_auth_hmacsha256_update(st, p, len);
}

void hkdf_sha256_raw(uint8_t *out, size_t out_len, const uint8_t *ikm, size_t ikm_len,
                     const uint8_t *salt, size_t salt_len,
                     const uint8_t *info, size_t info_len)
{
	static const uint8_t zero_salt[HKDF_HASH_LEN];
	crypto_auth_hmacsha256_state st;
	uint8_t prk[HKDF_HASH_LEN], t[HKDF_HASH_LEN];
	size_t done = 0, n;
	uint8_t ctr;

	if (out_len > HKDF_MAX_OUT) {
		/* A caller bug; zeros are an obviously wrong key, not a weak one. */
		memset(out, 0, out_len);
		return;
	}
	if (!salt_len) {        /* RFC 5869 2.2: absent salt = HashLen zeros */
		salt = zero_salt;
		salt_len = sizeof(zero_salt);
	}
	/* Extract: PRK = HMAC(salt, IKM). */
	crypto_auth_hmacsha256_init(&st, salt, salt_len);
	hkdf_update(&st, ikm, ikm_len);
	crypto_auth_hmacsha256_final(&st, prk);

	/* Expand: T(i) = HMAC(PRK, T(i-1) | info | i). */
	for (ctr = 1; done < out_len; ctr++) {
		crypto_auth_hmacsha256_init(&st, prk, sizeof(prk));
		if (ctr > 1)
			hkdf_update(&st, t, sizeof(t));
		hkdf_update(&st, info, info_len);
		hkdf_update(&st, &ctr, 1);
		crypto_auth_hmacsha256_final(&st, t);
		n = out_len - done < sizeof(t) ? out_len - done : sizeof(t);
		memcpy(out + done, t, n);
		done += n;
	}
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(prk, sizeof(prk));
	sodium_memzero(t, sizeof(t));
}

void hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *ikm, size_t ikm_len,
                 const char *salt, const char *info)
{
	hkdf_sha256_raw(out, out_len, ikm, ikm_len,
	                (const uint8_t *)salt, salt ? strlen(salt) : 0,
	                (const uint8_t *)info, info ? strlen(info) : 0);
}

/* --- master secret file -------------------------------------------------- */

/* Reads up to len bytes, retrying on EINTR and short reads: count or -errno. */
static ssize_t master_read_all(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int master_write_all(int fd, const uint8_t *buf, size_t len)
{
	size_t put = 0;
	ssize_t n;

	while (put < len) {
		n = write(fd, buf + put, len - put);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		put += (size_t)n;
	}
	return 0;
}

int master_load(const char *path, struct master_keys *keys)
{
	/* One byte more than needed, so that a long file shows. */
	uint8_t secret[MASTER_KEY_LEN + 1];
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = master_read_all(fd, secret, sizeof(secret));
	close(fd);
	if (n < 0) {
		ret = (int)n;
		goto out;
	}
	if (n != MASTER_KEY_LEN) {
		ret = -EINVAL;
		goto out;
	}
	hkdf_sha256(keys->enc, sizeof(keys->enc), secret, MASTER_KEY_LEN,
	            "wgpilot-key-encryption", "");
	hkdf_sha256(keys->jwt, sizeof(keys->jwt), secret, MASTER_KEY_LEN,
	            "wgpilot-jwt", "");
	ret = 0;
out:
	sodium_memzero(secret, sizeof(secret));
	return ret;
}

int master_create(const char *path, gid_t gid)
{
	uint8_t secret[MASTER_KEY_LEN];
	int fd, ret;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	randombytes_buf(secret, sizeof(secret));
	ret = master_write_all(fd, secret, sizeof(secret));
	/* The umask may have taken group read away; the contract says 0640. */
	if (!ret && fchmod(fd, 0640) < 0)
		ret = -errno;
	if (!ret && gid != (gid_t)-1 && fchown(fd, 0, gid) < 0)
		ret = -errno;
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (ret)
		goto out;
	ret = 1;
out:
	/* A half-made key file would make every later start fail: remove it. */
	if (ret < 0)
		unlink(path);
	sodium_memzero(secret, sizeof(secret));
	return ret;
}

void master_wipe(struct master_keys *keys)
{
	if (keys)
		sodium_memzero(keys, sizeof(*keys));
}

/* --- secrets at rest ----------------------------------------------------- */

char *secret_seal(const uint8_t key[static 32], const char *plain)
{
	size_t len, raw_len, b64_len;
	uint8_t *raw = NULL;
	char *out = NULL;

	if (!plain)
		return NULL;
	if (!*plain)
		return strdup("");
	len = strlen(plain);
	/* Keep the base64 length computation (4/3 of raw_len) from overflowing. */
	if (len > SIZE_MAX / 2 - SECRET_OVERHEAD)
		return NULL;
	raw_len = SECRET_OVERHEAD + len;
	raw = malloc(raw_len);
	if (!raw)
		goto out;
	b64_len = sodium_base64_ENCODED_LEN(raw_len, B64_ORIG);
	out = malloc(SECRET_PREFIX_LEN + b64_len);
	if (!out)
		goto out;
	randombytes_buf(raw, crypto_secretbox_NONCEBYTES);
	/* secretbox_easy writes MAC || ciphertext right after the nonce. */
	crypto_secretbox_easy(raw + crypto_secretbox_NONCEBYTES, (const uint8_t *)plain,
	                      len, raw, key);
	memcpy(out, SECRET_PREFIX, SECRET_PREFIX_LEN);
	sodium_bin2base64(out + SECRET_PREFIX_LEN, b64_len, raw, raw_len, B64_ORIG);
out:
	free(raw);
	return out;
}

/* Decodes and decrypts the part after "sb1:" into a new string: 0 or -errno. */
static int secret_open_sb1(const uint8_t key[static 32], const char *b64, char **plain)
{
	size_t b64_len = strlen(b64), raw_len = 0, max_len = b64_len / 4 * 3 + 3;
	uint8_t *raw = NULL;
	char *text = NULL;
	int ret = -ENOMEM;

	raw = malloc(max_len);
	if (!raw)
		goto out;
	if (b64_decode_strict(raw, max_len, &raw_len, b64, b64_len, B64_ORIG) != 0 ||
	    raw_len < SECRET_OVERHEAD) {
		ret = -EINVAL;
		goto out;
	}
	text = malloc(raw_len - SECRET_OVERHEAD + 1);
	if (!text)
		goto out;
	if (crypto_secretbox_open_easy((uint8_t *)text, raw + crypto_secretbox_NONCEBYTES,
	                               raw_len - crypto_secretbox_NONCEBYTES, raw, key) != 0) {
		ret = -EBADMSG;
		goto out;
	}
	text[raw_len - SECRET_OVERHEAD] = '\0';
	*plain = text;
	text = NULL;
	ret = 0;
out:
	/* Still set only when the MAC failed, and then nothing was decrypted. */
	free(text);
	free(raw);
	return ret;
}

int secret_open(const uint8_t key[static 32], const char *stored, char **plain)
{
	*plain = NULL;
	if (!stored)
		return -EINVAL;
	if (!strncmp(stored, SECRET_PREFIX, SECRET_PREFIX_LEN))
		return secret_open_sb1(key, stored + SECRET_PREFIX_LEN, plain);
	if (*stored && !secret_is_legacy(stored))
		return -EINVAL;
	*plain = strdup(stored);
	return *plain ? 0 : -ENOMEM;
}

int secret_is_legacy(const char *stored)
{
	uint8_t tmp[WG_KEY_LEN];
	int legacy;

	/* Anything starting "sb1:" fails the base64 check because of the ':'. */
	legacy = stored && key_from_b64(tmp, stored) == 0;
	sodium_memzero(tmp, sizeof(tmp));
	return legacy;
}

/* --- passwords ----------------------------------------------------------- */

static unsigned long long pw_ops(unsigned long long opslimit)
{
	return opslimit ? opslimit : crypto_pwhash_OPSLIMIT_INTERACTIVE;
}

static size_t pw_mem(size_t memlimit)
{
	return memlimit ? memlimit : crypto_pwhash_MEMLIMIT_INTERACTIVE;
}

int pw_hash(char out[static PWHASH_STR_LEN], const char *pw,
            unsigned long long opslimit, size_t memlimit)
{
	unsigned long long ops = pw_ops(opslimit);
	size_t mem = pw_mem(memlimit);

	if (!pw || ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_MAX ||
	    mem < crypto_pwhash_MEMLIMIT_MIN || mem > crypto_pwhash_MEMLIMIT_MAX)
		return -EINVAL;
	/* With valid limits the only way left to fail is allocating memlimit. */
	if (crypto_pwhash_str(out, pw, strlen(pw), ops, mem) != 0)
		return -ENOMEM;
	return 0;
}

int pw_verify(const char *hash, const char *pw)
{
	if (!hash || !pw || strnlen(hash, PWHASH_STR_LEN) >= PWHASH_STR_LEN)
		return -EINVAL;
	/* str_verify says -1 for "malformed" and "mismatch" alike; needs_rehash
	 * fails only on a string it cannot parse, which tells them apart. */
	if (crypto_pwhash_str_needs_rehash(hash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                                   crypto_pwhash_MEMLIMIT_INTERACTIVE) < 0)
		return -EINVAL;
	return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0 ? 0 : -EACCES;
}

int pw_needs_rehash(const char *hash, unsigned long long opslimit, size_t memlimit)
{
	if (!hash || strnlen(hash, PWHASH_STR_LEN) >= PWHASH_STR_LEN)
		return 1;
	/* A malformed hash (-1) should be replaced as well. */
	return crypto_pwhash_str_needs_rehash(hash, pw_ops(opslimit), pw_mem(memlimit)) != 0;
}

/* --- random tokens and digests ------------------------------------------- */

void rand_alnum(char *out, size_t n)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	size_t i;

	_Static_assert(sizeof(set) - 1 == 62, "alphabet");
	/* randombytes_uniform rejects the biased tail: every char is 1/62. */
	for (i = 0; i < n; i++)
		out[i] = set[randombytes_uniform(sizeof(set) - 1)];
	out[n] = '\0';
}

void rand_hex(char *out, size_t nbytes)
{
	uint8_t chunk[32];
	size_t done, n;

	out[0] = '\0';
	for (done = 0; done < nbytes; done += n) {
		n = nbytes - done < sizeof(chunk) ? nbytes - done : sizeof(chunk);
		randombytes_buf(chunk, n);
		sodium_bin2hex(out + 2 * done, 2 * n + 1, chunk, n);
	}
	sodium_memzero(chunk, sizeof(chunk));
}

void sha256_hex(char out[static 65], const char *s)
{
	uint8_t digest[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(digest, (const uint8_t *)s, strlen(s));
	sodium_bin2hex(out, 65, digest, sizeof(digest));
}
