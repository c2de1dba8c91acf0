/* SPDX-License-Identifier: MIT */
/*
 * Self-signed certificate and certificate inspection (operations.md §6),
 * OpenSSL 3 EVP/X509 API only. Key material only ever sits in OpenSSL's
 * secure-clearing buffers or in buffers this file wipes before freeing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"

#define TLS_DAYS 365
#define TLS_MAX_PEM (64 * 1024)         /* a certificate chain is a few KiB */

static const struct {
	int nid;
	const char *value;
} tls_extensions[] = {
	{ NID_subject_alt_name, "IP:127.0.0.1,IP:::1,IP:0.0.0.0,DNS:localhost" },
	{ NID_key_usage, "critical,digitalSignature,keyEncipherment" },
	{ NID_ext_key_usage, "serverAuth" },
};

/* ---- making the pair ---------------------------------------------------- */

static EVP_PKEY *tls_keygen(void)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pkey = NULL;

	if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_group_name(ctx, "P-256") <= 0 || EVP_PKEY_generate(ctx, &pkey) <= 0) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* 128 random bits; BN_bin2bn reads them unsigned, so the serial is positive. */
static int tls_set_serial(X509 *x)
{
	unsigned char raw[16];
	BIGNUM *bn = NULL;
	int ok = 0;

	if (RAND_bytes(raw, sizeof(raw)) == 1)
		bn = BN_bin2bn(raw, sizeof(raw), NULL);
	if (bn && !BN_is_zero(bn))
		ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

static int tls_set_names(X509 *x)
{
	X509_NAME *name = X509_get_subject_name(x);

	return X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	                                  (const unsigned char *)"wgpilot", -1, -1, 0) == 1 &&
	       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                                  (const unsigned char *)"wgpilot self-signed", -1, -1,
	                                  0) == 1 &&
	       X509_set_issuer_name(x, name) == 1;
}

static int tls_add_extensions(X509 *x)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok = 1;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	for (size_t i = 0; ok && i < sizeof(tls_extensions) / sizeof(tls_extensions[0]); i++) {
		ext = X509V3_EXT_conf_nid(NULL, &ctx, tls_extensions[i].nid, tls_extensions[i].value);
		ok = ext && X509_add_ext(x, ext, -1) == 1;
		X509_EXTENSION_free(ext);
	}
	return ok;
}

static X509 *tls_make_cert(EVP_PKEY *pkey)
{
	X509 *x = X509_new();

	if (!x)
		return NULL;
	if (X509_set_version(x, X509_VERSION_3) != 1 || !tls_set_serial(x) || !tls_set_names(x) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)TLS_DAYS * 24 * 3600) ||
	    X509_set_pubkey(x, pkey) != 1 || !tls_add_extensions(x) ||
	    X509_sign(x, pkey, EVP_sha256()) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* ---- files ----------------------------------------------------------------- */

/* Writes bio's bytes to a new temp file beside path (name left in tmp) with
 * mode, synced. 0 or -errno; on failure no temp file is left. */
static int tls_write_temp(const char *path, BIO *bio, mode_t mode, char tmp[PATH_MAX])
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	ssize_t n;
	int fd, rc = 0;

	if ((size_t)snprintf(tmp, PATH_MAX, "%s.XXXXXX", path) >= PATH_MAX) {
		tmp[0] = '\0';
		return -ENAMETOOLONG;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		tmp[0] = '\0';
		return rc;
	}
	if (fchmod(fd, mode) < 0)
		rc = -errno;
	while (rc == 0 && len > 0) {
		n = write(fd, data, (size_t)len);
		if (n < 0 && errno != EINTR)
			rc = -errno;
		if (n > 0) {
			data += n;
			len -= n;
		}
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		tmp[0] = '\0';
	}
	return rc;
}

/* Makes a completed rename durable. Best effort: the files are in place
 * already and there is nothing the caller could do about a failure. */
static void tls_sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int tls_selfsigned_create(const char *crt_path, const char *key_path)
{
	char key_tmp[PATH_MAX] = "", crt_tmp[PATH_MAX] = "";
	EVP_PKEY *pkey = tls_keygen();
	X509 *x = pkey ? tls_make_cert(pkey) : NULL;
	BIO *key_pem = BIO_new(BIO_s_secmem()), *crt_pem = BIO_new(BIO_s_mem());
	int rc = 0;

	if (!x || !key_pem || !crt_pem ||
	    PEM_write_bio_PKCS8PrivateKey(key_pem, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_X509(crt_pem, x) != 1) {
		rc = -EIO;
		goto out;
	}
	rc = tls_write_temp(key_path, key_pem, 0600, key_tmp);
	if (rc == 0)
		rc = tls_write_temp(crt_path, crt_pem, 0644, crt_tmp);
	if (rc < 0)
		goto out;
	if (rename(key_tmp, key_path) < 0) {
		rc = -errno;
		goto out;
	}
	key_tmp[0] = '\0';
	if (rename(crt_tmp, crt_path) < 0) {
		rc = -errno;
		goto out;
	}
	crt_tmp[0] = '\0';
	tls_sync_dir(key_path);
	tls_sync_dir(crt_path);
out:
	if (key_tmp[0])
		unlink(key_tmp);
	if (crt_tmp[0])
		unlink(crt_tmp);
	BIO_free(key_pem);
	BIO_free(crt_pem);
	X509_free(x);
	EVP_PKEY_free(pkey);
	if (rc < 0)
		ERR_clear_error();
	return rc;
}

/* ---- reading ------------------------------------------------------------- */

/* The whole file (at most TLS_MAX_PEM bytes) in a memory BIO; the caller
 * wipes and frees *bufp after freeing the BIO. 0 or -errno. */
static int tls_read_pem(const char *path, BIO **biop, char **bufp)
{
	char *buf = malloc(TLS_MAX_PEM + 1);
	size_t len = 0;
	ssize_t n;
	int fd = -1, rc = 0;

	*biop = NULL;
	*bufp = buf;
	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	while (len <= TLS_MAX_PEM) {
		n = read(fd, buf + len, TLS_MAX_PEM + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > TLS_MAX_PEM) {
		rc = -EFBIG;
		goto out;
	}
	*biop = BIO_new_mem_buf(buf, (int)len);
	if (!*biop)
		rc = -ENOMEM;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static void tls_wipe(char *buf)
{
	if (buf)
		OPENSSL_cleanse(buf, TLS_MAX_PEM + 1);
	free(buf);
}

static int tls_load_cert(const char *path, X509 **out)
{
	BIO *bio;
	char *buf;
	int rc = tls_read_pem(path, &bio, &buf);

	*out = rc == 0 ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	if (rc == 0 && !*out)
		rc = -EINVAL;
	BIO_free(bio);
	tls_wipe(buf);
	return rc;
}

/* Refuses every passphrase prompt: keys here are never encrypted. */
static int tls_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

static int tls_load_key(const char *path, EVP_PKEY **out)
{
	BIO *bio;
	char *buf;
	int rc = tls_read_pem(path, &bio, &buf);

	*out = rc == 0 ? PEM_read_bio_PrivateKey(bio, NULL, tls_no_passphrase, NULL) : NULL;
	if (rc == 0 && !*out)
		rc = -EINVAL;
	BIO_free(bio);
	tls_wipe(buf);
	return rc;
}

/* The first CN of name as UTF-8 (control characters as '?', cut on a
 * character boundary), or "". */
static void tls_name_cn(const X509_NAME *name, char *out, size_t outsz)
{
	int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	const X509_NAME_ENTRY *e = idx >= 0 ? X509_NAME_get_entry(name, idx) : NULL;
	unsigned char *utf8 = NULL;
	int n = e ? ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e)) : -1;
	size_t len = n > 0 ? (size_t)n : 0;

	if (len >= outsz) {
		len = outsz - 1;
		while (len > 0 && (utf8[len] & 0xc0) == 0x80)
			len--;
	}
	for (size_t i = 0; i < len; i++)
		out[i] = utf8[i] < 0x20 || utf8[i] == 0x7f ? '?' : (char)utf8[i];
	out[len] = '\0';
	OPENSSL_free(utf8);
}

int tls_cert_info(const char *crt_path, struct tls_cert_info *out)
{
	X509 *x = NULL;
	struct tm tm;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = tls_load_cert(crt_path, &x);
	if (rc < 0)
		goto out;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
		rc = -EINVAL;
		goto out;
	}
	out->not_after = timegm(&tm);
	tls_name_cn(X509_get_issuer_name(x), out->issuer_cn, sizeof(out->issuer_cn));
	tls_name_cn(X509_get_subject_name(x), out->subject_cn, sizeof(out->subject_cn));
out:
	X509_free(x);
	if (rc < 0)
		ERR_clear_error();
	return rc;
}

int tls_key_matches(const char *crt_path, const char *key_path)
{
	X509 *x = NULL;
	EVP_PKEY *pkey = NULL, *pub;
	int rc;

	rc = tls_load_cert(crt_path, &x);
	if (rc == 0)
		rc = tls_load_key(key_path, &pkey);
	if (rc < 0)
		goto out;
	pub = X509_get0_pubkey(x);
	/* -1: different key types, which cannot match either */
	rc = pub ? EVP_PKEY_eq(pub, pkey) : -2;
	if (rc == -1)
		rc = 0;
	else if (rc < 0)
		rc = -EINVAL;
out:
	EVP_PKEY_free(pkey);
	X509_free(x);
	ERR_clear_error();
	return rc;
}
