/* SPDX-License-Identifier: MIT */
/*
 * TLS material for the local stack (operations.md §6) with OpenSSL 3
 * libcrypto: the self-signed certificate made by `wgpilot init`, and the
 * inspection (expiry, issuer, key match) the API and `diagnose` report.
 * No passphrases: an encrypted key is "unreadable", never prompted for.
 */
#ifndef WGP_TLS_H
#define WGP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct tls_cert_info {
	time_t not_after;               /* unix time */
	char issuer_cn[256];            /* UTF-8, "" when the name has no CN */
	char issuer_o[256];             /* the issuer's first O, "" without one */
	char subject_cn[256];
};

/* Makes a new ECDSA P-256 key (PEM PKCS#8, mode 0600) and a self-signed
 * X.509 v3 certificate for it (PEM, mode 0644): O=wgpilot, CN=wgpilot
 * self-signed, 365 days from now, random 128-bit serial, SAN IP 127.0.0.1,
 * ::1, 0.0.0.0 and DNS localhost, keyUsage digitalSignature+keyEncipherment
 * (critical), extendedKeyUsage serverAuth, SHA-256 signature. Both files are
 * written to temp files beside their targets and renamed over them, key
 * first. 0, -errno from the file system (e.g. -ENOENT: no such directory),
 * or -EIO when OpenSSL fails. */
int tls_selfsigned_create(const char *crt_path, const char *key_path);

/* Fills *out from the first certificate of the PEM file crt_path (*out is
 * zeroed first). 0, -errno for file errors (-EFBIG over 64 KiB), -EINVAL
 * when it holds no readable certificate. */
int tls_cert_info(const char *crt_path, struct tls_cert_info *out);

/* 1 when the private key in key_path belongs to the certificate in
 * crt_path, 0 when it does not, <0 when either file cannot be read
 * (-errno, or -EINVAL for no PEM certificate / unencrypted private key). */
int tls_key_matches(const char *crt_path, const char *key_path);

/* ---- what nginx serves (operations.md §6, C design) ----------------------
 *
 * nginx names <data_dir>/certs/current/fullchain.pem and privkey.pem;
 * current is a symlink to a directory served.XXXXXX holding copies of the
 * pair chosen by `wgpilot tls apply` plus a file "source" (self-signed,
 * acme or manual). The symlink is replaced with rename(), so nginx never
 * reads a certificate with the key of another. */

/* Renewal window: a self-signed certificate this close to its end is made
 * anew, an ACME one renewed (certbot's own default), diagnose warns. */
#define TLS_RENEW_DAYS 30

enum tls_file {
	TLS_SELF_CRT, TLS_SELF_KEY,     /* certs/selfsigned.crt, .key */
	TLS_ACME_DIR,                   /* certs/acme: certbot --config-dir */
	TLS_ACME_CRT, TLS_ACME_KEY,     /* certs/acme/live/<domain>/fullchain.pem, privkey.pem */
	TLS_CERTS_DIR,                  /* certs */
	TLS_CUR_CRT, TLS_CUR_KEY,       /* certs/current/fullchain.pem, privkey.pem */
	TLS_CUR_SOURCE,                 /* certs/current/source */
	TLS_WEBROOT,                    /* acme-webroot: certbot -w, nginx's port-80 root */
	TLS_TRIGGER,                    /* tls.trigger: touched by the API, watched by
	                                 * wgpilot-acme.path */
	TLS_RELOAD_PENDING,             /* certs/reload-pending: see tls_serve */
	TLS_FILE__MAX
};

/* Writes the path of f under data_dir into out. domain is used (and must be
 * non-empty, without '/', not starting with '.') for TLS_ACME_CRT/KEY only.
 * 0, -EINVAL for a bad domain, -ENAMETOOLONG. */
int tls_path(char *out, size_t outsz, const char *data_dir, enum tls_file f, const char *domain);

/* Whether the pair can be served at now: the certificate reads, the key
 * matches, and it stays valid for more than min_secs. 0 when it can; else
 * -errno from the files, -EINVAL (no PEM certificate or key), -EKEYREJECTED
 * (key does not match), -EKEYEXPIRED (expired, or ends within min_secs),
 * with a one-line reason naming the file in why (may be NULL). *info (may
 * be NULL) is filled when the certificate reads. */
int tls_pair_check(const char *crt_path, const char *key_path, time_t now, long long min_secs,
		   struct tls_cert_info *info, char *why, size_t whysz);

/* Makes current serve copies of crt_path and key_path, recording source
 * (a word), with hsts.conf: the nginx map of $wgp_hsts, HSTS unless source
 * is "self-signed". Nothing is written when current already holds the same
 * bytes, source and hsts.conf. The new directory gets the group of certs_dir, mode 0710,
 * the certificate 0644 and the key 0600; older served.* are removed.
 * Before the switch it creates certs_dir/reload-pending (0600, synced):
 * nginx owes a reload until the caller signalled it and called
 * tls_reload_done(), so a run that dies or cannot reach nginx in between
 * leaves the reload to the next run. 1 switched, 0 unchanged, -errno (then
 * current is as before, and so is reload-pending).
 */
int tls_serve(const char *certs_dir, const char *crt_path, const char *key_path, const char *source);

/* 1 when certs_dir/reload-pending exists, 0 when not, -errno when that
 * cannot be told. */
int tls_reload_pending(const char *certs_dir);

/* Removes certs_dir/reload-pending (nginx has been reloaded). 0 (also when
 * it was absent) or -errno. */
int tls_reload_done(const char *certs_dir);

/* Asks wgpilot-acme.path to start `wgpilot tls apply`: writes the time
 * into <data_dir>/tls.trigger (created 0640; the unit watches for the
 * write). Called by the API (unprivileged) after a change the root job must
 * act on. 0 or -errno. */
int tls_trigger(const char *data_dir);

/* The source word current records ("" and -ENOENT before the first
 * tls_serve). 0 or -errno. */
int tls_served_source(const char *certs_dir, char *out, size_t outsz);

/* The pair nginx serves, or will once `wgpilot tls apply` has run
 * (operations.md §6): certs/current when it exists (*served, may be NULL, true; source
 * its word); before that the pair mode names: manual cert_file/key_file
 * (source "manual"; "" when unset), acme certs/acme/live/<domain>/ when
 * that certificate exists (domain may be NULL), else the self-signed pair
 * (source "self-signed"). crt and key have pathsz bytes each (truncated). */
void tls_expected_pair(const char *data_dir, const char *mode, const char *cert_file,
		       const char *key_file, const char *domain, char *crt, char *key, size_t pathsz,
		       char source[32], bool *served);

#endif
