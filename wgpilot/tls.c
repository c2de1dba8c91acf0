/* SPDX-License-Identifier: MIT */
/*
 * Self-signed certificate and certificate inspection (operations.md §6),
 * OpenSSL 3 EVP/X509 API only. Key material only ever sits in OpenSSL's
 * secure-clearing buffers or in buffers this file wipes before freeing.
 */
#include <dirent.h>
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

/* Writes len bytes of data to fd, then syncs it. 0 or -errno. */
static int tls_write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	return fsync(fd) < 0 ? -errno : 0;
}

/* Writes bio's bytes to a new temp file beside path (name left in tmp) with
 * mode, synced. 0 or -errno; on failure no temp file is left. */
static int tls_write_temp(const char *path, BIO *bio, mode_t mode, char tmp[PATH_MAX])
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);
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
	if (rc == 0)
		rc = tls_write_all(fd, data, len > 0 ? (size_t)len : 0);
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

/* The whole file (at most TLS_MAX_PEM bytes) in *bufp (TLS_MAX_PEM + 1
 * bytes, always set when not -ENOMEM: the caller passes it to tls_wipe),
 * its length in *lenp. 0 or -errno (-EFBIG when larger). */
static int tls_slurp(const char *path, char **bufp, size_t *lenp)
{
	char *buf = malloc(TLS_MAX_PEM + 1);
	size_t len = 0;
	ssize_t n;
	int fd = -1, rc = 0;

	*bufp = buf;
	*lenp = 0;
	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	while (len <= TLS_MAX_PEM) {
		n = read(fd, buf + len, TLS_MAX_PEM + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (rc == 0 && len > TLS_MAX_PEM)
		rc = -EFBIG;
	*lenp = len;
	return rc;
}

/* The whole file (at most TLS_MAX_PEM bytes) in a memory BIO; the caller
 * wipes and frees *bufp after freeing the BIO. 0 or -errno. */
static int tls_read_pem(const char *path, BIO **biop, char **bufp)
{
	size_t len;
	int rc = tls_slurp(path, bufp, &len);

	*biop = NULL;
	if (rc == 0 && !(*biop = BIO_new_mem_buf(*bufp, (int)len)))
		rc = -ENOMEM;
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

/* The first entry nid of name as UTF-8 (control characters as '?', cut on a
 * character boundary), or "". */
static void tls_name_entry(const X509_NAME *name, int nid, char *out, size_t outsz)
{
	int idx = X509_NAME_get_index_by_NID(name, nid, -1);
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
	tls_name_entry(X509_get_issuer_name(x), NID_commonName, out->issuer_cn, sizeof(out->issuer_cn));
	tls_name_entry(X509_get_issuer_name(x), NID_organizationName, out->issuer_o, sizeof(out->issuer_o));
	tls_name_entry(X509_get_subject_name(x), NID_commonName, out->subject_cn, sizeof(out->subject_cn));
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

/* ---- what nginx serves --------------------------------------------------- */

static const char *const tls_file_names[TLS_FILE__MAX] = {
	[TLS_SELF_CRT] = "certs/selfsigned.crt", [TLS_SELF_KEY] = "certs/selfsigned.key",
	[TLS_ACME_DIR] = "certs/acme", [TLS_ACME_CRT] = "certs/acme/live/%s/fullchain.pem",
	[TLS_ACME_KEY] = "certs/acme/live/%s/privkey.pem", [TLS_CERTS_DIR] = "certs",
	[TLS_CUR_CRT] = "certs/current/fullchain.pem", [TLS_CUR_KEY] = "certs/current/privkey.pem",
	[TLS_CUR_SOURCE] = "certs/current/source", [TLS_WEBROOT] = "acme-webroot",
	[TLS_TRIGGER] = "tls.trigger", [TLS_RELOAD_PENDING] = "certs/reload-pending",
};

int tls_path(char *out, size_t outsz, const char *data_dir, enum tls_file f, const char *domain)
{
	char rel[512];
	int n;

	if ((unsigned)f >= TLS_FILE__MAX)
		return -EINVAL;
	if (f == TLS_ACME_CRT || f == TLS_ACME_KEY) {
		/* the name becomes a directory: never one that leaves live/ */
		if (!domain || !*domain || *domain == '.' || strchr(domain, '/') || strlen(domain) > 253)
			return -EINVAL;
		snprintf(rel, sizeof rel, tls_file_names[f], domain);
	} else {
		snprintf(rel, sizeof rel, "%s", tls_file_names[f]);
	}
	n = snprintf(out, outsz, "%s/%s", data_dir, rel);
	return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

int tls_pair_check(const char *crt_path, const char *key_path, time_t now, long long min_secs,
		   struct tls_cert_info *info, char *why, size_t whysz)
{
	struct tls_cert_info scratch;
	char when[32];
	struct tm tm;
	int rc;

	if (!info)
		info = &scratch;
	if (!why || !whysz) {
		why = when;
		whysz = sizeof when;
	}
	rc = tls_cert_info(crt_path, info);
	if (rc < 0) {
		snprintf(why, whysz, "%s: %s", crt_path, rc == -EINVAL ? "no PEM certificate" : strerror(-rc));
		return rc;
	}
	rc = tls_key_matches(crt_path, key_path);
	if (rc < 0) {
		snprintf(why, whysz, "%s: %s", key_path, rc == -EINVAL ? "no unencrypted PEM private key"
			 : strerror(-rc));
		return rc;
	}
	if (rc == 0) {
		snprintf(why, whysz, "%s does not belong to %s", key_path, crt_path);
		return -EKEYREJECTED;
	}
	gmtime_r(&info->not_after, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
	if ((long long)info->not_after <= (long long)now) {
		snprintf(why, whysz, "%s expired on %s", crt_path, when);
		return -EKEYEXPIRED;
	}
	if ((long long)info->not_after - (long long)now <= min_secs) {
		snprintf(why, whysz, "%s expires on %s", crt_path, when);
		return -EKEYEXPIRED;
	}
	snprintf(why, whysz, "%s valid until %s", crt_path, when);
	return 0;
}

/* 1 when path holds exactly len bytes equal to data, 0 otherwise. */
static int tls_same_bytes(const char *path, const char *data, size_t len)
{
	char *buf;
	size_t n;
	int same = tls_slurp(path, &buf, &n) == 0 && n == len && memcmp(buf, data, len) == 0;

	tls_wipe(buf);
	return same;
}

/* Creates dir/name (new, mode) with data. 0 or -errno. */
static int tls_put(const char *dir, const char *name, const char *data, size_t len, mode_t mode)
{
	char path[PATH_MAX + 32];
	int fd, rc;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	rc = fchmod(fd, mode) < 0 ? -errno : tls_write_all(fd, data, len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* Removes certs_dir/name (a served.* directory) and its files. */
static void tls_remove_served(const char *certs_dir, const char *name)
{
	static const char *const files[] = { "fullchain.pem", "privkey.pem", "source", "hsts.conf" };
	char path[PATH_MAX + 300];

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s/%s", certs_dir, name, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof path, "%s/%s", certs_dir, name);
	rmdir(path);
}

/* Every served.* but keep, and stale temp links of earlier runs. */
static void tls_prune(const char *certs_dir, const char *keep)
{
	DIR *d = opendir(certs_dir);
	struct dirent *e;
	char path[PATH_MAX + 300];

	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, "served.", 7) == 0 && strcmp(e->d_name, keep) != 0) {
			tls_remove_served(certs_dir, e->d_name);
		} else if (strncmp(e->d_name, ".current.", 9) == 0) {
			snprintf(path, sizeof path, "%s/%s", certs_dir, e->d_name);
			unlink(path);
		}
	}
	if (d)
		closedir(d);
}

/* nginx's $wgp_hsts for the pair served (security-headers.conf sends
 * Strict-Transport-Security with it; nginx sends no header for ""): HSTS
 * only with a certificate browsers trust, never the self-signed one. */
static const char *tls_hsts_conf(const char *source)
{
	return strcmp(source, "self-signed") == 0
		? "# wgpilot tls apply: no HSTS with the self-signed certificate\n"
		  "map $scheme $wgp_hsts { default \"\"; }\n"
		: "# wgpilot tls apply: HSTS, the certificate is a real one\n"
		  "map $scheme $wgp_hsts { default \"max-age=31536000; includeSubDomains\"; }\n";
}

int tls_serve(const char *certs_dir, const char *crt_path, const char *key_path, const char *source)
{
	char *crt = NULL, *key = NULL, dir[PATH_MAX + 16], link_tmp[PATH_MAX + 32], cur[PATH_MAX];
	char path[PATH_MAX + 32];
	const char *name;
	size_t crt_len, key_len;
	struct stat st;
	int rc, had_marker;

	dir[0] = '\0';
	if ((rc = tls_slurp(crt_path, &crt, &crt_len)) < 0 || (rc = tls_slurp(key_path, &key, &key_len)) < 0)
		goto out;
	if ((size_t)snprintf(cur, sizeof cur, "%s/current", certs_dir) >= sizeof cur) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	snprintf(path, sizeof path, "%s/fullchain.pem", cur);
	if (tls_same_bytes(path, crt, crt_len)) {
		snprintf(path, sizeof path, "%s/privkey.pem", cur);
		if (tls_same_bytes(path, key, key_len)) {
			snprintf(path, sizeof path, "%s/source", cur);
			if (tls_same_bytes(path, source, strlen(source))) {
				snprintf(path, sizeof path, "%s/hsts.conf", cur);
				if (tls_same_bytes(path, tls_hsts_conf(source), strlen(tls_hsts_conf(source)))) {
					rc = 0;
					goto out;
				}
			}
		}
	}
	if (stat(certs_dir, &st) < 0) {
		rc = -errno;
		goto out;
	}
	snprintf(dir, sizeof dir, "%s/served.XXXXXX", certs_dir);
	if (!mkdtemp(dir)) {
		rc = -errno;
		dir[0] = '\0';
		goto out;
	}
	/* nginx's master (root) reads the key; the API (group) the certificate */
	if ((geteuid() == 0 && chown(dir, (uid_t)-1, st.st_gid) < 0) || chmod(dir, 0710) < 0) {
		rc = -errno;
		goto out;
	}
	if ((rc = tls_put(dir, "privkey.pem", key, key_len, 0600)) < 0
	    || (rc = tls_put(dir, "fullchain.pem", crt, crt_len, 0644)) < 0
	    || (rc = tls_put(dir, "source", source, strlen(source), 0644)) < 0
	    || (rc = tls_put(dir, "hsts.conf", tls_hsts_conf(source), strlen(tls_hsts_conf(source)),
			     0644)) < 0)
		goto out;
	snprintf(path, sizeof path, "%s/source", dir);
	tls_sync_dir(path);     /* the new directory's entries */
	name = strrchr(dir, '/') + 1;
	snprintf(link_tmp, sizeof link_tmp, "%s/.current.%ld", certs_dir, (long)getpid());
	unlink(link_tmp);
	if (symlink(name, link_tmp) < 0) {
		rc = -errno;
		goto out;
	}
	if ((had_marker = tls_reload_pending(certs_dir)) < 0 || (!had_marker
	    && (rc = tls_put(certs_dir, "reload-pending", "", 0, 0600)) < 0)) {
		rc = had_marker < 0 ? had_marker : rc;
		unlink(link_tmp);
		goto out;
	}
	tls_sync_dir(link_tmp); /* the marker is on disk before the switch */
	if (rename(link_tmp, cur) < 0) {
		rc = -errno;
		unlink(link_tmp);
		if (!had_marker)
			tls_reload_done(certs_dir);
		goto out;
	}
	tls_sync_dir(cur);
	tls_prune(certs_dir, name);
	dir[0] = '\0';         /* in use now */
	rc = 1;
out:
	if (dir[0])
		tls_remove_served(certs_dir, strrchr(dir, '/') + 1);
	tls_wipe(crt);
	tls_wipe(key);
	return rc;
}

/* certs_dir/reload-pending into out (PATH_MAX + 32). */
static int tls_marker_path(char *out, const char *certs_dir)
{
	return (size_t)snprintf(out, PATH_MAX + 32, "%s/reload-pending", certs_dir) >= PATH_MAX + 32
	       ? -ENAMETOOLONG : 0;
}

int tls_reload_pending(const char *certs_dir)
{
	char path[PATH_MAX + 32];
	int rc = tls_marker_path(path, certs_dir);

	if (rc < 0)
		return rc;
	if (access(path, F_OK) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

int tls_reload_done(const char *certs_dir)
{
	char path[PATH_MAX + 32];
	int rc = tls_marker_path(path, certs_dir);

	if (rc < 0)
		return rc;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	tls_sync_dir(path);
	return 0;
}

void tls_expected_pair(const char *data_dir, const char *mode, const char *cert_file,
		       const char *key_file, const char *domain, char *crt, char *key, size_t pathsz,
		       char source[32], bool *served)
{
	char certs[PATH_MAX];
	bool current = tls_path(certs, sizeof certs, data_dir, TLS_CERTS_DIR, NULL) == 0
		       && tls_served_source(certs, source, 32) == 0;

	if (served)
		*served = current;
	if (current) {
		tls_path(crt, pathsz, data_dir, TLS_CUR_CRT, NULL);
		tls_path(key, pathsz, data_dir, TLS_CUR_KEY, NULL);
	} else if (strcmp(mode, "manual") == 0) {
		snprintf(crt, pathsz, "%s", cert_file);
		snprintf(key, pathsz, "%s", key_file);
		snprintf(source, 32, "manual");
	} else if (strcmp(mode, "acme") == 0 && tls_path(crt, pathsz, data_dir, TLS_ACME_CRT, domain) == 0
		   && tls_path(key, pathsz, data_dir, TLS_ACME_KEY, domain) == 0 && access(crt, F_OK) == 0) {
		snprintf(source, 32, "acme");
	} else {
		tls_path(crt, pathsz, data_dir, TLS_SELF_CRT, NULL);
		tls_path(key, pathsz, data_dir, TLS_SELF_KEY, NULL);
		snprintf(source, 32, "self-signed");
	}
}

int tls_served_source(const char *certs_dir, char *out, size_t outsz)
{
	char path[PATH_MAX], *buf;
	size_t len;
	int rc;

	out[0] = '\0';
	if ((size_t)snprintf(path, sizeof path, "%s/current/source", certs_dir) >= sizeof path)
		return -ENAMETOOLONG;
	rc = tls_slurp(path, &buf, &len);
	if (rc == 0) {
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
			len--;
		snprintf(out, outsz, "%.*s", (int)len, buf);
	}
	tls_wipe(buf);
	return rc;
}

int tls_trigger(const char *data_dir)
{
	char path[PATH_MAX], line[32];
	int fd, rc, n;

	if ((rc = tls_path(path, sizeof path, data_dir, TLS_TRIGGER, NULL)) < 0)
		return rc;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);
	if (fd < 0)
		return -errno;
	n = snprintf(line, sizeof line, "%lld\n", (long long)time(NULL));
	rc = tls_write_all(fd, line, (size_t)n);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}
