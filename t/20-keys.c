/* SPDX-License-Identifier: MIT */
/* lib/keys.c: key codecs, HKDF, master key file, sb1 secrets, passwords, tokens. */
#include "keys.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define skip(...) do { printf("ok %d # SKIP ", ++tap_n); printf(__VA_ARGS__); printf("\n"); } while (0)

/* One pair made with `wg genkey | tee /dev/stderr | wg pubkey`. */
static const char PRIV_B64[] = "CNkThuNN7vf5U3Y4GB2Y8PndNf8hcqo7MwgHn3JESEw=";
static const char PRIV_HEX[] = "08d91386e34deef7f9537638181d98f0f9dd35ff2172aa3b3308079f7244484c";
static const char PUB_B64[] = "mi/Hr8j9gXdMgvdtxYZfbscqlzf92ulkmZkqe2cjAnU=";
static const char PUB_HEX[] = "9a2fc7afc8fd81774c82f76dc5865f6ec72a9737fddae96499992a7b67230275";

/* Hex of a byte string, for is_str() comparisons. */
static const char *hex(const uint8_t *p, size_t n)
{
	static char buf[2 * 255 * 32 + 1];

	sodium_bin2hex(buf, sizeof(buf), p, n);
	return buf;
}

/* Parses hex into out, returns the byte count. */
static size_t unhex(uint8_t *out, size_t max, const char *h)
{
	size_t n = 0;

	if (sodium_hex2bin(out, max, h, strlen(h), NULL, &n, NULL) != 0)
		return 0;
	return n;
}

static void test_key_codecs(void)
{
	uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN], k[WG_KEY_LEN];
	char b64[WG_KEY_B64_LEN + 1], h[WG_KEY_HEX_LEN + 1];
	char upper[WG_KEY_HEX_LEN + 1];
	size_t i;

	is_int(key_from_b64(priv, PRIV_B64), 0, "key_from_b64 accepts a wg private key");
	is_str(hex(priv, sizeof(priv)), PRIV_HEX, "... and decodes its bytes");
	key_public_from_private(pub, priv);
	key_to_b64(b64, pub);
	is_str(b64, PUB_B64, "public key matches `wg pubkey`");
	key_to_hex(h, pub);
	is_str(h, PUB_HEX, "key_to_hex is lowercase UAPI hex");
	key_to_b64(b64, priv);
	is_str(b64, PRIV_B64, "key_to_b64 round trip");
	is_int(key_from_hex(k, PRIV_HEX), 0, "key_from_hex accepts 64 hex chars");
	ok(memcmp(k, priv, WG_KEY_LEN) == 0, "... and yields the same key");
	for (i = 0; i < WG_KEY_HEX_LEN; i++)
		upper[i] = (char)(PRIV_HEX[i] >= 'a' ? PRIV_HEX[i] - 32 : PRIV_HEX[i]);
	upper[WG_KEY_HEX_LEN] = '\0';
	memset(k, 0, sizeof(k));
	is_int(key_from_hex(k, upper), 0, "key_from_hex accepts uppercase");
	ok(memcmp(k, priv, WG_KEY_LEN) == 0, "... with the same bytes");
}

static void test_key_b64_bad(void)
{
	static const struct { const char *in, *why; } bad[] = {
		{ "", "empty" },
		{ "CNkThuNN7vf5U3Y4GB2Y8PndNf8hcqo7MwgHn3JESEw", "43 chars, no padding" },
		{ "CNkThuNN7vf5U3Y4GB2Y8PndNf8hcqo7MwgHn3JESEw==", "45 chars" },
		{ "CNkThuNN7vf5U3Y4GB2Y8PndNf8hcqo7MwgHn3JESEw=\n", "trailing newline" },
		{ " CNkThuNN7vf5U3Y4GB2Y8PndNf8hcqo7MwgHn3JESEw=", "leading space" },
		{ "CNkThuNN7vf5U3Y4GB2Y8PndNf8hcqo7MwgHn3JESEwA", "44 chars without '='" },
		{ "CNkThuNN7vf5U3Y4GB2Y8PndNf8hcqo7MwgHn3JESEx=", "non-zero pad bits" },
		{ "CNkThuNN7vf5U3Y4GB2Y8PndNf8hcqo7MwgHn3JESA==", "canonical 31 bytes" },
		{ "CNkThuNN7vf5U3Y4GB2Y8PndNf8hcqo7MwgHn3JES!w=", "invalid char" },
		{ "CNkThuNN7vf5U3Y4GB2Y8PndNf8hcqo7MwgHn3JE_Ew=", "url-safe alphabet" },
		{ "CNkThuNN7vf5U3Y4GB2Y8PndNf8hcqo7 wgHn3JESEw=", "inner space" },
		{ "CNkThuNN7vf5U3Y4GB2Y8PndNf8=cqo7MwgHn3JESEw=", "inner '='" },
		{ "sb1:huNN7vf5U3Y4GB2Y8PndNf8hcqo7MwgHn3JESEw=", "sb1 prefix" },
		/* libsodium 1.0.18 alone would decode any byte >= 0x80 as '/'. */
		{ "mi\xffHr8j9gXdMgvdtxYZfbscqlzf92ulkmZkqe2cjAnU=", "0xff in place of '/'" },
		{ "mi\x80Hr8j9gXdMgvdtxYZfbscqlzf92ulkmZkqe2cjAnU=", "0x80 in place of '/'" },
		{ "CNkThuNN7vf5U3Y4GB2Y8PndNf8hcqo7MwgHn3JESE\xc3\xa9", "UTF-8 at the end" },
	};
	uint8_t k[WG_KEY_LEN], pattern[WG_KEY_LEN];
	size_t i;

	memset(pattern, 0xa5, sizeof(pattern));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(k, pattern, sizeof(k));
		is_int(key_from_b64(k, bad[i].in), -EINVAL, "key_from_b64 rejects %s", bad[i].why);
		ok(memcmp(k, pattern, sizeof(k)) == 0, "... and leaves the key untouched");
	}
	is_int(key_from_b64(k, NULL), -EINVAL, "key_from_b64 rejects NULL");
}

static void test_key_hex_bad(void)
{
	static const struct { const char *in, *why; } bad[] = {
		{ "", "empty" },
		{ "08d91386e34deef7f9537638181d98f0f9dd35ff2172aa3b3308079f7244484", "63 chars" },
		{ "08d91386e34deef7f9537638181d98f0f9dd35ff2172aa3b3308079f7244484c0", "65 chars" },
		{ "08d91386e34deef7f9537638181d98f0f9dd35ff2172aa3b3308079f7244484g", "non-hex char" },
		{ "08d91386e34deef7f9537638181d98f0f9dd35ff2172aa3b3308079f724448 c", "space" },
		{ "0x091386e34deef7f9537638181d98f0f9dd35ff2172aa3b3308079f7244484c", "0x prefix" },
	};
	uint8_t k[WG_KEY_LEN], pattern[WG_KEY_LEN];
	size_t i;

	memset(pattern, 0x5a, sizeof(pattern));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(k, pattern, sizeof(k));
		is_int(key_from_hex(k, bad[i].in), -EINVAL, "key_from_hex rejects %s", bad[i].why);
		ok(memcmp(k, pattern, sizeof(k)) == 0, "... and leaves the key untouched");
	}
	is_int(key_from_hex(k, NULL), -EINVAL, "key_from_hex rejects NULL");
}

static void test_key_generate(void)
{
	uint8_t a[WG_KEY_LEN], b[WG_KEY_LEN], pub[WG_KEY_LEN], z[WG_KEY_LEN] = { 0 };
	int clamped = 1, i;

	for (i = 0; i < 64; i++) {
		key_generate_private(a);
		if ((a[0] & 7) || (a[31] & 128) || !(a[31] & 64))
			clamped = 0;
	}
	ok(clamped, "generated private keys are clamped");
	key_generate_private(b);
	ok(memcmp(a, b, WG_KEY_LEN) != 0, "two private keys differ");
	key_public_from_private(pub, a);
	ok(!key_is_zero(pub) && memcmp(pub, a, WG_KEY_LEN) != 0, "public key is derived");
	key_generate_psk(a);
	key_generate_psk(b);
	ok(!key_is_zero(a) && memcmp(a, b, WG_KEY_LEN) != 0, "PSKs are random");

	is_int(key_is_zero(z), 1, "key_is_zero on zeros");
	for (i = 0; i < WG_KEY_LEN; i += 31) {
		z[i] = 1;
		is_int(key_is_zero(z), 0, "key_is_zero with byte %d set", i);
		z[i] = 0;
	}
}

/* RFC 5869 appendix A, test cases 1-3 (SHA-256). */
static const struct {
	const char *ikm, *salt, *info, *okm;
	size_t len;
} hkdf_vec[] = {
	{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
	  "f0f1f2f3f4f5f6f7f8f9",
	  "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	  "34007208d5b887185865", 42 },
	{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	  "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	  "404142434445464748494a4b4c4d4e4f",
	  "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	  "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	  "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
	  "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
	  "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
	  "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
	  "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
	  "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
	  "cc30c58179ec3e87c14c01d5c1f3434f1d87", 82 },
	{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
	  "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	  "9d201395faa4b61a96c8", 42 },
};

static void test_hkdf(void)
{
	uint8_t ikm[80], salt[80], info[80], okm[82];
	char salt_s[81], info_s[81];
	static uint8_t big[255 * 32 + 1];
	size_t i, ikm_n, salt_n, info_n;

	for (i = 0; i < sizeof(hkdf_vec) / sizeof(hkdf_vec[0]); i++) {
		ikm_n = unhex(ikm, sizeof(ikm), hkdf_vec[i].ikm);
		salt_n = unhex(salt, sizeof(salt), hkdf_vec[i].salt);
		info_n = unhex(info, sizeof(info), hkdf_vec[i].info);
		hkdf_sha256_raw(okm, hkdf_vec[i].len, ikm, ikm_n, salt, salt_n, info, info_n);
		is_str(hex(okm, hkdf_vec[i].len), hkdf_vec[i].okm, "HKDF RFC 5869 case %zu", i + 1);
		if (memchr(salt, 0, salt_n) || memchr(info, 0, info_n))
			continue;       /* case 1's salt holds a NUL: not a C string */
		memcpy(salt_s, salt, salt_n);
		salt_s[salt_n] = '\0';
		memcpy(info_s, info, info_n);
		info_s[info_n] = '\0';
		hkdf_sha256(okm, hkdf_vec[i].len, ikm, ikm_n, salt_s, info_s);
		is_str(hex(okm, hkdf_vec[i].len), hkdf_vec[i].okm,
		       "HKDF RFC 5869 case %zu via string API", i + 1);
	}
	ikm_n = unhex(ikm, sizeof(ikm), hkdf_vec[2].ikm);
	hkdf_sha256(okm, 42, ikm, ikm_n, NULL, NULL);
	is_str(hex(okm, 42), hkdf_vec[2].okm, "HKDF NULL salt/info = empty (case 3)");
	hkdf_sha256_raw(okm, 42, ikm, ikm_n, NULL, 0, NULL, 0);
	is_str(hex(okm, 42), hkdf_vec[2].okm, "HKDF raw NULL salt/info = empty (case 3)");

	hkdf_sha256(big, 255 * 32, ikm, ikm_n, "s", "i");
	ok(!sodium_is_zero(big + 254 * 32, 32), "HKDF fills the maximum 255 blocks");
	memset(big, 0xff, sizeof(big));
	hkdf_sha256(big, sizeof(big), ikm, ikm_n, "s", "i");
	ok(sodium_is_zero(big, sizeof(big)), "HKDF beyond 255 blocks gives zeros");
}

/* Writes n bytes of data to dir/name; returns the path in buf. */
static const char *put_file(char *buf, size_t sz, const char *dir, const char *name,
                            const void *data, size_t n)
{
	int fd;

	snprintf(buf, sz, "%s/%s", dir, name);
	fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, n) != (ssize_t)n)
		printf("# cannot write %s\n", buf);
	if (fd >= 0)
		close(fd);
	return buf;
}

static void test_master_load(const char *dir)
{
	/* Expected values from Python's hmac/hashlib and `openssl kdf HKDF`. */
	static const char want_enc[] =
		"4b361bf6736015b2e56ff38df2eab4b16135b4a12b3ba53b0e093e9b3e9ac32a";
	static const char want_jwt[] =
		"3fb6437a21308bc90679f1398a3d01dabeadeb527e7a28724137695843bd6265";
	struct master_keys mk, untouched;
	uint8_t secret[64];
	char path[512];
	int i;

	for (i = 0; i < 64; i++)
		secret[i] = (uint8_t)i;
	put_file(path, sizeof(path), dir, "known.key", secret, 32);
	is_int(master_load(path, &mk), 0, "master_load reads a 32-byte file");
	is_str(hex(mk.enc, 32), want_enc, "enc = HKDF(secret, \"wgpilot-key-encryption\")");
	is_str(hex(mk.jwt, 32), want_jwt, "jwt = HKDF(secret, \"wgpilot-jwt\")");
	master_wipe(&mk);
	ok(sodium_is_zero((uint8_t *)&mk, sizeof(mk)), "master_wipe zeroes both keys");
	master_wipe(NULL);
	ok(1, "master_wipe(NULL) is harmless");

	memset(&untouched, 0x77, sizeof(untouched));
	mk = untouched;
	snprintf(path, sizeof(path), "%s/absent.key", dir);
	is_int(master_load(path, &mk), -ENOENT, "master_load: missing file -> -ENOENT");
	is_int(master_load(put_file(path, sizeof(path), dir, "short.key", secret, 31), &mk),
	       -EINVAL, "master_load: 31 bytes -> -EINVAL");
	is_int(master_load(put_file(path, sizeof(path), dir, "long.key", secret, 33), &mk),
	       -EINVAL, "master_load: 33 bytes -> -EINVAL");
	is_int(master_load(put_file(path, sizeof(path), dir, "huge.key", secret, 64), &mk),
	       -EINVAL, "master_load: 64 bytes -> -EINVAL");
	is_int(master_load(put_file(path, sizeof(path), dir, "empty.key", secret, 0), &mk),
	       -EINVAL, "master_load: empty file -> -EINVAL");
	is_int(master_load(dir, &mk), -EISDIR, "master_load: a directory -> -EISDIR");
	ok(memcmp(&mk, &untouched, sizeof(mk)) == 0, "failed loads leave keys untouched");
}

static void test_master_create(const char *dir)
{
	uint8_t before[40], after[40];
	struct master_keys a, b;
	char path[512];
	struct stat st;
	mode_t old;
	int fd;

	snprintf(path, sizeof(path), "%s/master.key", dir);
	old = umask(077);       /* must not take away the group bit */
	is_int(master_create(path, (gid_t)-1), 1, "master_create makes a new file");
	umask(old);
	ok(stat(path, &st) == 0 && S_ISREG(st.st_mode), "... a regular file");
	is_int(st.st_mode & 07777, 0640, "... with mode 0640 despite umask 077");
	is_int(st.st_size, MASTER_KEY_LEN, "... of 32 bytes");
	is_int(st.st_uid, geteuid(), "... owned by us when no gid is given");

	fd = open(path, O_RDONLY);
	ok(fd >= 0 && read(fd, before, sizeof(before)) == MASTER_KEY_LEN, "read it back");
	if (fd >= 0)
		close(fd);
	ok(!sodium_is_zero(before, MASTER_KEY_LEN), "... random, not zeros");
	is_int(master_create(path, (gid_t)-1), 0, "master_create on an existing file -> 0");
	fd = open(path, O_RDONLY);
	ok(fd >= 0 && read(fd, after, sizeof(after)) == MASTER_KEY_LEN &&
	   memcmp(before, after, MASTER_KEY_LEN) == 0, "... and leaves it as it was");
	if (fd >= 0)
		close(fd);

	is_int(master_load(path, &a), 0, "created file loads");
	ok(memcmp(a.enc, a.jwt, 32) != 0, "enc and jwt keys differ");
	snprintf(path, sizeof(path), "%s/other.key", dir);
	is_int(master_create(path, (gid_t)-1), 1, "second master file");
	is_int(master_load(path, &b), 0, "... loads");
	ok(memcmp(a.enc, b.enc, 32) != 0, "two master files give different keys");
	master_wipe(&a);
	master_wipe(&b);

	snprintf(path, sizeof(path), "%s/no/such/dir/master.key", dir);
	is_int(master_create(path, (gid_t)-1), -ENOENT, "master_create in a missing dir -> -ENOENT");

	snprintf(path, sizeof(path), "%s/group.key", dir);
	if (geteuid() != 0) {
		skip("chown to root:gid needs root");
		skip("chown to root:gid needs root");
		return;
	}
	is_int(master_create(path, 4321), 1, "master_create with a gid");
	ok(stat(path, &st) == 0 && st.st_uid == 0 && st.st_gid == 4321, "... owned root:4321");
}

static void test_master(void)
{
	char dir[] = "/tmp/wgp-keys-XXXXXX";
	char cmd[64];

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	test_master_load(dir);
	test_master_create(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
}

/* A copy of a sealed value with bit 0 of raw byte flip_at flipped (malloc'd). */
static char *reseal_raw(const char *sealed, size_t flip_at)
{
	uint8_t raw[512];
	size_t n = 0, b64n;
	char *out;

	if (sodium_base642bin(raw, sizeof(raw), sealed + 4, strlen(sealed + 4), NULL, &n, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 || flip_at >= n)
		return NULL;
	raw[flip_at] ^= 0x01;
	b64n = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	out = malloc(4 + b64n);
	if (!out)
		return NULL;
	memcpy(out, "sb1:", 4);
	sodium_bin2base64(out + 4, b64n, raw, n, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

static void test_secret_roundtrip(const uint8_t key[32])
{
	static const char *plain[] = {
		"x", PRIV_B64, "smtp pass with spaces & symbols: <>\"'\\",
		"UTF-8 \xe2\x80\x94 dash", "line\nbreaks\n",
	};
	char *s, *p, *s2, big[2001];
	size_t i;
	int r;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		s = secret_seal(key, plain[i]);
		ok(s && !strncmp(s, "sb1:", 4), "seal %zu has the sb1: prefix", i);
		is_int(s ? strlen(s) : 0,
		       4 + sodium_base64_ENCODED_LEN(40 + strlen(plain[i]),
		                                     sodium_base64_VARIANT_ORIGINAL) - 1,
		       "... and base64(nonce|mac|ct) length");
		is_int(secret_is_legacy(s), 0, "... is not legacy");
		p = NULL;
		r = secret_open(key, s, &p);
		is_int(r, 0, "open %zu", i);
		is_str(p, plain[i], "... round trip");
		free(p);
		free(s);
	}
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s = secret_seal(key, big);
	p = NULL;
	ok(secret_open(key, s, &p) == 0 && p && strcmp(p, big) == 0, "2000-byte round trip");
	free(p);
	s2 = secret_seal(key, big);
	ok(s && s2 && strcmp(s, s2) != 0, "same plaintext seals differently (fresh nonce)");
	free(s);
	free(s2);

	s = secret_seal(key, "");
	is_str(s, "", "seal(\"\") = \"\"");
	free(s);
	ok(secret_seal(key, NULL) == NULL, "seal(NULL) = NULL");
	p = NULL;
	is_int(secret_open(key, "", &p), 0, "open(\"\") = 0");
	is_str(p, "", "... gives \"\"");
	free(p);
}

static void test_secret_empty_box(const uint8_t key[32])
{
	uint8_t raw[40];
	char stored[4 + 57], *p = NULL;

	/* A valid box with no ciphertext: never made by seal, still well-formed. */
	randombytes_buf(raw, 24);
	crypto_secretbox_easy(raw + 24, (const uint8_t *)"", 0, raw, key);
	memcpy(stored, "sb1:", 4);
	sodium_bin2base64(stored + 4, sizeof(stored) - 4, raw, sizeof(raw),
	                  sodium_base64_VARIANT_ORIGINAL);
	is_int(secret_open(key, stored, &p), 0, "open of an empty box");
	is_str(p, "", "... gives \"\"");
	free(p);
}

/* A sealed value whose first '/' is spelled 0xff must not open. */
static void test_secret_high_bytes(const uint8_t key[32])
{
	char *s = NULL, *slash, *p = NULL, text[16] = "";
	int i;

	/* Seal until the base64 has a '/': about one try in two, at most 64. */
	for (i = 0; i < 64; i++) {
		free(s);
		snprintf(text, sizeof(text), "pw%d", i);
		s = secret_seal(key, text);
		if (!s || strchr(s, '/'))
			break;
	}
	slash = s ? strchr(s, '/') : NULL;
	ok(slash != NULL, "found a sealed value with '/'");
	if (slash) {
		*slash = '\xff';
		is_int(secret_open(key, s, &p), -EINVAL, "0xff in place of '/' -> -EINVAL");
		*slash = '/';
		is_int(secret_open(key, s, &p), 0, "... and the real spelling opens");
		is_str(p, text, "... to the plaintext");
		free(p);
	}
	free(s);
}

static void test_secret_bad(const uint8_t key[32])
{
	static const size_t flips[] = { 0, 23, 24, 39, 40, 55 };
	static const struct { const char *in, *why; } bad[] = {
		{ "sb1:", "prefix only" },
		{ "sb1:AAAA", "3 bytes" },
		{ "sb1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "39 bytes" },
		{ "sb1:!!!!", "bad base64" },
		{ "sb1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "no padding" },
		{ "sb2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "sb2 prefix" },
		{ "SB1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "upper prefix" },
		{ "hunter2", "plain text that is no key" },
		{ "CNkThuNN7vf5U3Y4GB2Y8PndNf8hcqo7MwgHn3JESEx=", "non-canonical base64 key" },
		{ "CNkThuNN7vf5U3Y4GB2Y8PndNf8hcqo7MwgHn3JESA==", "31-byte base64" },
	};
	uint8_t other[32];
	char *s, *t, *p;
	size_t i, n;

	s = secret_seal(key, "a secret of some length");
	for (i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		t = reseal_raw(s, flips[i]);
		p = (char *)"sentinel";
		is_int(secret_open(key, t, &p), -EBADMSG, "flipped byte %zu -> -EBADMSG", flips[i]);
		ok(p == NULL, "... and *plain = NULL");
		free(t);
	}
	memcpy(other, key, 32);
	other[31] ^= 0x80;
	p = NULL;
	is_int(secret_open(other, s, &p), -EBADMSG, "wrong key -> -EBADMSG");
	free(p);
	n = strlen(s);
	t = strdup(s);
	t[n - 4] = '\0';        /* drops 3 ciphertext bytes, still valid base64 */
	p = NULL;
	is_int(secret_open(key, t, &p), -EBADMSG, "truncated ciphertext -> -EBADMSG");
	t[n - 5] = '\0';
	is_int(secret_open(key, t, &p), -EINVAL, "truncated base64 -> -EINVAL");
	free(t);
	free(s);
	test_secret_high_bytes(key);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = (char *)"sentinel";
		is_int(secret_open(key, bad[i].in, &p), -EINVAL, "open rejects %s", bad[i].why);
		ok(p == NULL, "... and *plain = NULL");
	}
	is_int(secret_open(key, NULL, &p), -EINVAL, "open(NULL) -> -EINVAL");
}

static void test_secret_legacy(const uint8_t key[32])
{
	char *p = NULL;

	is_int(secret_is_legacy(PRIV_B64), 1, "a base64 key is legacy plaintext");
	is_int(secret_open(key, PRIV_B64, &p), 0, "open of legacy plaintext = 0");
	is_str(p, PRIV_B64, "... returned as is");
	free(p);
	is_int(secret_is_legacy(""), 0, "\"\" is not legacy");
	is_int(secret_is_legacy(NULL), 0, "NULL is not legacy");
	is_int(secret_is_legacy("hunter2"), 0, "other text is not legacy");
	is_int(secret_is_legacy("CNkThuNN7vf5U3Y4GB2Y8PndNf8hcqo7MwgHn3JESEw"), 0,
	       "unpadded base64 is not legacy");
	is_int(secret_is_legacy("CNkThuNN7vf5U3Y4GB2Y8PndNf8hcqo7MwgHn3JESEw=x"), 0,
	       "45 chars is not legacy");
	is_int(secret_is_legacy("mi\xffHr8j9gXdMgvdtxYZfbscqlzf92ulkmZkqe2cjAnU="), 0,
	       "a key with 0xff for '/' is not legacy");
}

static void test_secret(void)
{
	uint8_t key[32];

	randombytes_buf(key, sizeof(key));
	test_secret_roundtrip(key);
	test_secret_empty_box(key);
	test_secret_bad(key);
	test_secret_legacy(key);
}

static void test_pw(void)
{
	const unsigned long long ops = crypto_pwhash_OPSLIMIT_MIN;
	const size_t mem = crypto_pwhash_MEMLIMIT_MIN;
	char h[PWHASH_STR_LEN], h2[PWHASH_STR_LEN], cut[PWHASH_STR_LEN];

	is_int(pw_hash(h, "correct horse battery", ops, mem), 0, "pw_hash (MIN limits)");
	ok(!strncmp(h, "$argon2id$", 10), "... is an Argon2id string: %s", h);
	is_int(pw_verify(h, "correct horse battery"), 0, "pw_verify: right password");
	is_int(pw_verify(h, "correct horse batterY"), -EACCES, "pw_verify: wrong password");
	is_int(pw_verify(h, ""), -EACCES, "pw_verify: empty password");
	is_int(pw_hash(h2, "correct horse battery", ops, mem), 0, "second hash");
	ok(strcmp(h, h2) != 0, "... has its own salt");
	is_int(pw_needs_rehash(h, ops, mem), 0, "needs_rehash: same limits -> 0");
	is_int(pw_needs_rehash(h, ops + 1, mem), 1, "needs_rehash: other opslimit -> 1");
	is_int(pw_needs_rehash(h, 0, 0), 1, "needs_rehash: MIN hash vs INTERACTIVE -> 1");
	is_int(pw_needs_rehash("garbage", ops, mem), 1, "needs_rehash: malformed -> 1");
	is_int(pw_needs_rehash(NULL, ops, mem), 1, "needs_rehash: NULL -> 1");

	strcpy(cut, h);
	cut[strlen(cut) - 10] = '\0';
	is_int(pw_verify(cut, "correct horse battery"), -EINVAL, "pw_verify: truncated hash");
	is_int(pw_verify("", "x"), -EINVAL, "pw_verify: empty hash");
	is_int(pw_verify("plaintext", "plaintext"), -EINVAL, "pw_verify: not a hash");
	is_int(pw_verify("$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", "x"),
	       -EINVAL, "pw_verify: bcrypt hash");
	is_int(pw_verify(NULL, "x"), -EINVAL, "pw_verify: NULL hash");
	is_int(pw_verify(h, NULL), -EINVAL, "pw_verify: NULL password");

	is_int(pw_hash(h2, "", ops, mem), 0, "pw_hash of \"\"");
	is_int(pw_verify(h2, ""), 0, "... verifies");
	is_int(pw_hash(h2, "x", ops, crypto_pwhash_MEMLIMIT_MIN - 1), -EINVAL,
	       "pw_hash: memlimit below MIN -> -EINVAL");
	is_int(pw_hash(h2, NULL, ops, mem), -EINVAL, "pw_hash: NULL password -> -EINVAL");

	is_int(pw_hash(h2, "interactive pw", 0, 0), 0, "pw_hash with 0/0 (INTERACTIVE)");
	is_int(pw_needs_rehash(h2, 0, 0), 0, "... needs no rehash at 0/0");
	is_int(pw_needs_rehash(h2, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                       crypto_pwhash_MEMLIMIT_INTERACTIVE), 0,
	       "... nor at the explicit INTERACTIVE limits");
	is_int(pw_verify(h2, "interactive pw"), 0, "... verifies");
}

static int all_in(const char *s, const char *set)
{
	return strspn(s, set) == strlen(s);
}

static void test_rand(void)
{
	static const char alnum[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	static char big[62 * 1000 + 1];
	char s[17], h[2 * 100 + 1];
	int count[256] = { 0 }, lo = 1 << 30, hi = 0, c;
	size_t i;

	memset(s, 'X', sizeof(s));
	rand_alnum(s, 16);
	is_int(strlen(s), 16, "rand_alnum(16) is 16 chars");
	ok(all_in(s, alnum), "... all from [A-Za-z0-9]: %s", s);
	rand_alnum(s, 0);
	is_str(s, "", "rand_alnum(0) is \"\"");

	/* 62000 draws: each char expects 1000 (sd ~31); [700, 1300] is ~10 sd. */
	rand_alnum(big, sizeof(big) - 1);
	ok(all_in(big, alnum), "62000 chars all alphanumeric");
	for (i = 0; i < sizeof(big) - 1; i++)
		count[(unsigned char)big[i]]++;
	for (i = 0; alnum[i]; i++) {
		c = count[(unsigned char)alnum[i]];
		lo = c < lo ? c : lo;
		hi = c > hi ? c : hi;
	}
	ok(lo >= 700 && hi <= 1300, "rand_alnum is uniform (per-char counts %d..%d)", lo, hi);

	rand_hex(h, 100);
	is_int(strlen(h), 200, "rand_hex(100) is 200 chars (spans chunks)");
	ok(all_in(h, "0123456789abcdef"), "... lowercase hex");
	rand_hex(h, 32);
	is_int(strlen(h), 64, "rand_hex(32) is 64 chars");
	rand_hex(h, 0);
	is_str(h, "", "rand_hex(0) is \"\"");
}

static void test_sha256(void)
{
	char out[65];

	sha256_hex(out, "abc");
	is_str(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "sha256_hex(\"abc\") (FIPS 180-2)");
	sha256_hex(out, "");
	is_str(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	       "sha256_hex(\"\")");
}

int main(void)
{
	is_int(crypto_init(), 0, "crypto_init");
	is_int(crypto_init(), 0, "crypto_init again");
	test_key_codecs();
	test_key_b64_bad();
	test_key_hex_bad();
	test_key_generate();
	test_hkdf();
	test_master();
	test_secret();
	test_pw();
	test_rand();
	test_sha256();
	return done_testing();
}
