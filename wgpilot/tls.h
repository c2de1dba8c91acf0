/* SPDX-License-Identifier: MIT */
/*
 * TLS material for the local stack (operations.md §6) with OpenSSL 3
 * libcrypto: the self-signed certificate made by `wgpilot init`, and the
 * inspection (expiry, issuer, key match) the API and `diagnose` report.
 * No passphrases: an encrypted key is "unreadable", never prompted for.
 */
#ifndef WGP_TLS_H
#define WGP_TLS_H

#include <time.h>

struct tls_cert_info {
	time_t not_after;               /* unix time */
	char issuer_cn[256];            /* UTF-8, "" when the name has no CN */
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

#endif
