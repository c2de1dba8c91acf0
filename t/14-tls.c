/* SPDX-License-Identifier: MIT */
/* wgpilot/tls.c: the self-signed pair (files, modes, every certificate
 * field), certificate info, key matching, and unreadable input. The openssl
 * command is only used here, to look at the result from the outside. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tap.h"
#include "tls.h"

static char dir[] = "/tmp/wgp-t14-XXXXXX";
static int have_cli;

static const char *path(const char *name)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *p = bufs[next++ % 8];

	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	return p;
}

static int count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	if (d)
		closedir(d);
	return n;
}

static void remove_all(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlink(path(e->d_name));
	if (d)
		closedir(d);
	rmdir(dir);
}

static int mode_of(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static int starts_with_file(const char *p, const char *prefix)
{
	char buf[64] = "";
	FILE *f = fopen(p, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return strncmp(buf, prefix, strlen(prefix)) == 0;
}

static void write_text(const char *p, const char *text, size_t len)
{
	FILE *f = fopen(p, "w");

	if (f) {
		fwrite(text, 1, len, f);
		fclose(f);
	}
}

static X509 *read_cert(const char *p)
{
	FILE *f = fopen(p, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return x;
}

static char *serial_hex(const char *p)
{
	X509 *x = read_cert(p);
	BIGNUM *bn = x ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL) : NULL;
	char *hex = bn ? BN_bn2hex(bn) : NULL, *copy = strdup(hex ? hex : "");

	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	return copy;
}

/* Runs a shell command quietly; 0 on success. */
static int run(const char *fmt, const char *a, const char *b)
{
	char cmd[4 * PATH_MAX];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

/* ---- the created pair ---------------------------------------------------- */

static void test_create(void)
{
	const char *crt = path("selfsigned.crt"), *key = path("selfsigned.key");
	struct tls_cert_info info;
	time_t now = time(NULL);

	is_int(tls_selfsigned_create(crt, key), 0, "create a self-signed pair");
	is_int(mode_of(key), 0600, "key mode 0600");
	is_int(mode_of(crt), 0644, "certificate mode 0644");
	is_int(count_entries(), 2, "no temp files left behind");
	ok(starts_with_file(key, "-----BEGIN PRIVATE KEY-----\n"), "key is PEM PKCS#8");
	ok(starts_with_file(crt, "-----BEGIN CERTIFICATE-----\n"), "certificate is PEM");

	is_int(tls_cert_info(crt, &info), 0, "cert info");
	is_str(info.subject_cn, "wgpilot self-signed", "  subject CN");
	is_str(info.issuer_cn, "wgpilot self-signed", "  issuer CN");
	ok(info.not_after >= now + 365 * 86400 - 5 && info.not_after <= time(NULL) + 365 * 86400,
	   "  expires in 365 days (%lld)", (long long)(info.not_after - now));
	is_int(tls_key_matches(crt, key), 1, "key matches its certificate");
}

static void test_fields(void)
{
	X509 *x = read_cert(path("selfsigned.crt"));
	EVP_PKEY *pub = x ? X509_get0_pubkey(x) : NULL;
	BIGNUM *serial = x ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL) : NULL;
	char group[64] = "";
	int days = -1, secs = -1, crit = -1;
	ASN1_BIT_STRING *ku = NULL;
	EXTENDED_KEY_USAGE *eku = NULL;
	GENERAL_NAMES *san = NULL;

	if (!ok(x != NULL, "certificate parses with libcrypto"))
		return;
	is_int(X509_get_version(x), X509_VERSION_3, "  X.509 v3");
	ok(serial && !BN_is_negative(serial) && BN_num_bits(serial) > 64 &&
	   BN_num_bits(serial) <= 128, "  positive serial of up to 128 random bits (%d)",
	   serial ? BN_num_bits(serial) : -1);
	is_int(X509_get_signature_nid(x), NID_ecdsa_with_SHA256, "  signed ecdsa-with-SHA256");
	ok(pub && EVP_PKEY_get_group_name(pub, group, sizeof(group), NULL) == 1, "  EC key");
	is_str(group, "prime256v1", "  on P-256");
	ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x));
	ok(days == 365 && secs == 0, "  valid for exactly 365 days");
	ok(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(x)) == 0,
	   "  issuer = subject");
	ok(pub && X509_verify(x, pub) == 1, "  signed by its own key");

	ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	ok(ku && crit == 1, "  keyUsage present and critical");
	ok(ku && ASN1_BIT_STRING_get_bit(ku, 0) && ASN1_BIT_STRING_get_bit(ku, 2) &&
	   !ASN1_BIT_STRING_get_bit(ku, 5), "  digitalSignature + keyEncipherment only");
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	ok(eku && sk_ASN1_OBJECT_num(eku) == 1 &&
	   OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)) == NID_server_auth && crit == 0,
	   "  extendedKeyUsage serverAuth, not critical");
	san = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	is_int(san ? sk_GENERAL_NAME_num(san) : -1, 4, "  four subjectAltNames");
	ok(X509_check_ip_asc(x, "127.0.0.1", 0) == 1, "  SAN IP 127.0.0.1");
	ok(X509_check_ip_asc(x, "::1", 0) == 1, "  SAN IP ::1");
	ok(X509_check_ip_asc(x, "0.0.0.0", 0) == 1, "  SAN IP 0.0.0.0");
	ok(X509_check_host(x, "localhost", 0, 0, NULL) == 1, "  SAN DNS localhost");
	ok(X509_check_host(x, "example.com", 0, 0, NULL) != 1, "  no other host");

	ASN1_BIT_STRING_free(ku);
	EXTENDED_KEY_USAGE_free(eku);
	GENERAL_NAMES_free(san);
	BN_free(serial);
	X509_free(x);
}

static void test_openssl_text(void)
{
	static const char *const want[] = {
		"Version: 3 (0x2)", "Signature Algorithm: ecdsa-with-SHA256",
		"Issuer: O = wgpilot, CN = wgpilot self-signed",
		"Subject: O = wgpilot, CN = wgpilot self-signed", "NIST CURVE: P-256",
		"X509v3 Subject Alternative Name:",
		"IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:0.0.0.0, DNS:localhost",
		"X509v3 Key Usage: critical", "Digital Signature, Key Encipherment",
		"X509v3 Extended Key Usage:", "TLS Web Server Authentication",
	};
	char cmd[PATH_MAX + 64], text[16384];
	FILE *p;
	size_t n;

	if (!have_cli) {
		ok(1, "# SKIP openssl command not installed");
		return;
	}
	snprintf(cmd, sizeof(cmd), "openssl x509 -noout -text -in %s", path("selfsigned.crt"));
	p = popen(cmd, "r");
	n = p ? fread(text, 1, sizeof(text) - 1, p) : 0;
	text[n] = '\0';
	is_int(p ? pclose(p) : -1, 0, "openssl x509 -text reads the certificate");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ok(strstr(text, want[i]) != NULL, "  shows '%s'", want[i]);
	is_int(run("openssl pkey -noout -in %s 2>/dev/null%s", path("selfsigned.key"), ""), 0,
	       "openssl pkey reads the key without a passphrase");
}

static void test_second_pair(void)
{
	const char *crt = path("selfsigned.crt"), *key = path("selfsigned.key");
	const char *crt2 = path("other.crt"), *key2 = path("other.key");
	char *serial1 = serial_hex(crt), *serial2;

	is_int(tls_selfsigned_create(crt2, key2), 0, "a second pair");
	is_int(tls_key_matches(crt2, key2), 1, "  matches itself");
	is_int(tls_key_matches(crt, key2), 0, "  first cert, second key: mismatch");
	is_int(tls_key_matches(crt2, key), 0, "  second cert, first key: mismatch");
	serial2 = serial_hex(crt2);
	ok(*serial1 && strcmp(serial1, serial2) != 0, "  serials differ");
	free(serial2);

	chmod(key, 0666);
	is_int(tls_selfsigned_create(crt, key), 0, "recreate over the existing pair");
	is_int(mode_of(key), 0600, "  key mode 0600 again");
	is_int(tls_key_matches(crt, key), 1, "  new pair matches");
	is_int(tls_key_matches(crt, key2), 0, "  not the other key");
	serial2 = serial_hex(crt);
	ok(strcmp(serial1, serial2) != 0, "  new serial");
	free(serial1);
	free(serial2);
	is_int(count_entries(), 4, "  still no temp files");
	unlink(crt2);
	unlink(key2);
}

/* Certificates made by the openssl command: another issuer, RSA, no CN. */
static void test_foreign_certs(void)
{
	struct tls_cert_info info;
	time_t now = time(NULL);
	int rc;

	if (!have_cli) {
		ok(1, "# SKIP openssl command not installed");
		return;
	}
	rc = run("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	         "-keyout ca.key -out ca.crt -subj '/CN=Test CA' -days 10 2>/dev/null && "
	         "openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr "
	         "-subj '/O=x/CN=leaf.example \xc3\xa9' -utf8 2>/dev/null && "
	         "openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
	         "-out leaf.crt -days 30 2>/dev/null && "
	         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	         "-keyout nocn.key -out nocn.crt -subj '/O=NoCN' 2>/dev/null && "
	         "openssl pkey -in ca.key -aes256 -passout pass:secret -out enc.key%s", dir, "");
	if (!ok(rc == 0, "openssl made a CA, an RSA leaf, a cert without CN, an encrypted key"))
		return;
	is_int(tls_cert_info(path("leaf.crt"), &info), 0, "leaf info");
	is_str(info.issuer_cn, "Test CA", "  issuer CN");
	is_str(info.subject_cn, "leaf.example \xc3\xa9", "  subject CN in UTF-8");
	ok(info.not_after > now + 29 * 86400 && info.not_after <= now + 31 * 86400, "  expiry");
	is_int(tls_key_matches(path("leaf.crt"), path("leaf.key")), 1, "  RSA key matches");
	is_int(tls_key_matches(path("leaf.crt"), path("ca.key")), 0, "  EC key vs RSA cert: 0");
	is_int(tls_key_matches(path("ca.crt"), path("leaf.key")), 0, "  RSA key vs EC cert: 0");
	is_int(tls_cert_info(path("nocn.crt"), &info), 0, "cert without CN");
	is_str(info.subject_cn, "", "  subject CN empty");
	is_str(info.issuer_cn, "", "  issuer CN empty");
	is_int(tls_key_matches(path("ca.crt"), path("enc.key")), -EINVAL,
	       "encrypted key: -EINVAL, no prompt");
}

static void test_errors(void)
{
	struct tls_cert_info info;
	char *big = malloc(70000);

	is_int(tls_selfsigned_create(path("nodir/a.crt"), path("nodir/a.key")), -ENOENT,
	       "create in a missing directory: -ENOENT");
	is_int(tls_selfsigned_create(path("b.crt"), path("nodir/b.key")), -ENOENT,
	       "create with the key in a missing directory: -ENOENT");
	ok(access(path("b.crt"), F_OK) != 0, "  certificate not written either");
	memset(&info, 0x5a, sizeof(info));
	is_int(tls_cert_info(path("missing.crt"), &info), -ENOENT, "info of a missing file");
	ok(info.not_after == 0 && info.subject_cn[0] == '\0', "  out zeroed");
	write_text(path("garbage.crt"), "not a certificate\n", 18);
	is_int(tls_cert_info(path("garbage.crt"), &info), -EINVAL, "info of garbage: -EINVAL");
	write_text(path("empty.crt"), "", 0);
	is_int(tls_cert_info(path("empty.crt"), &info), -EINVAL, "info of an empty file");
	is_int(tls_cert_info(path("selfsigned.key"), &info), -EINVAL, "info of a key file");
	is_int(tls_cert_info(dir, &info), -EISDIR, "info of a directory: -EISDIR");
	memset(big, '#', 70000);
	write_text(path("big.crt"), big, 70000);
	is_int(tls_cert_info(path("big.crt"), &info), -EFBIG, "info of a 70 KB file: -EFBIG");
	free(big);
	is_int(tls_key_matches(path("selfsigned.crt"), path("missing.key")), -ENOENT,
	       "match with a missing key");
	is_int(tls_key_matches(path("missing.crt"), path("selfsigned.key")), -ENOENT,
	       "match with a missing certificate");
	is_int(tls_key_matches(path("selfsigned.crt"), path("garbage.crt")), -EINVAL,
	       "match with a garbage key");
	is_int(tls_key_matches(path("selfsigned.crt"), path("selfsigned.crt")), -EINVAL,
	       "a certificate is not a key");
}

/* ---- paths, pair checks, serving ------------------------------------------- */

static void test_paths(void)
{
	char p[PATH_MAX];

	ok(tls_path(p, sizeof p, "/d", TLS_ACME_CRT, "vpn.example.org") == 0
	   && strcmp(p, "/d/certs/acme/live/vpn.example.org/fullchain.pem") == 0, "acme path: %s", p);
	ok(tls_path(p, sizeof p, "/d", TLS_CUR_KEY, NULL) == 0 && strcmp(p, "/d/certs/current/privkey.pem") == 0,
	   "current key: %s", p);
	ok(tls_path(p, sizeof p, "/d", TLS_WEBROOT, NULL) == 0 && strcmp(p, "/d/acme-webroot") == 0,
	   "webroot: %s", p);
	is_int(tls_path(p, sizeof p, "/d", TLS_ACME_CRT, "../x"), -EINVAL, "a domain may not leave live/");
	is_int(tls_path(p, sizeof p, "/d", TLS_ACME_KEY, "a/b"), -EINVAL, "  nor hold a slash");
	is_int(tls_path(p, sizeof p, "/d", TLS_ACME_KEY, ""), -EINVAL, "  nor be empty");
	is_int(tls_path(p, 8, "/d", TLS_SELF_CRT, NULL), -ENAMETOOLONG, "too long");
	ok(tls_path(p, sizeof p, "/d", TLS_RELOAD_PENDING, NULL) == 0 && strcmp(p, "/d/certs/reload-pending") == 0,
	   "%s", p);
}

static int count_served(const char *certs)
{
	DIR *d = opendir(certs);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += strncmp(e->d_name, "served.", 7) == 0;
	if (d)
		closedir(d);
	return n;
}

static void test_serve(void)
{
	/* path() has 8 rotating buffers: keep copies */
	char crt[PATH_MAX], key[PATH_MAX], crt2[PATH_MAX], key2[PATH_MAX], certs[PATH_MAX / 2];
	char src[32], link1[PATH_MAX / 2] = "", link2[PATH_MAX / 2] = "", cur[PATH_MAX + 16];
	struct tls_cert_info info;
	char why[PATH_MAX + 128];
	ssize_t n;

	snprintf(crt, sizeof crt, "%s", path("selfsigned.crt"));
	snprintf(key, sizeof key, "%s", path("selfsigned.key"));
	snprintf(crt2, sizeof crt2, "%s", path("b.crt"));
	snprintf(key2, sizeof key2, "%s", path("b.key"));
	snprintf(certs, sizeof certs, "%s", path("srv"));
	tls_selfsigned_create(crt, key);
	tls_selfsigned_create(crt2, key2);
	is_int(tls_pair_check(crt, key, time(NULL), 30 * 86400LL, &info, why, sizeof why), 0,
	       "a fresh pair serves: %s", why);
	is_int(tls_pair_check(crt, key, time(NULL), 400 * 86400LL, NULL, why, sizeof why), -EKEYEXPIRED,
	       "  but not for 400 more days: %s", why);
	is_int(tls_pair_check(crt, key, time(NULL) + 366 * 86400LL, 0, NULL, why, sizeof why), -EKEYEXPIRED,
	       "  and not after its end");
	is_int(tls_pair_check(crt, key2, time(NULL), 0, NULL, why, sizeof why), -EKEYREJECTED,
	       "another key: %s", why);
	is_int(tls_pair_check(path("nope.crt"), key, time(NULL), 0, NULL, why, sizeof why), -ENOENT,
	       "a missing certificate: %s", why);

	mkdir(certs, 0710);
	snprintf(cur, sizeof cur, "%s/current", certs);
	is_int(tls_served_source(certs, src, sizeof src), -ENOENT, "nothing served yet");
	is_int(tls_reload_pending(certs), 0, "no reload pending yet");
	is_int(tls_serve(certs, crt, key, "self-signed"), 1, "serve: switched");
	is_int(tls_reload_pending(certs), 1, "  reload-pending written");
	is_int(mode_of(path("srv/reload-pending")), 0600, "  mode 0600");
	is_int(tls_reload_done(certs), 0, "  reload done: marker removed");
	is_int(tls_reload_pending(certs), 0, "  none pending");
	is_int(tls_reload_done(certs), 0, "  done again: still fine");
	n = readlink(cur, link1, sizeof link1 - 1);
	link1[n > 0 ? n : 0] = '\0';
	ok(tls_served_source(certs, src, sizeof src) == 0 && strcmp(src, "self-signed") == 0, "  source %s", src);
	ok(tls_key_matches(path("srv/current/fullchain.pem"), path("srv/current/privkey.pem")) == 1,
	   "  current/ holds the pair");
	is_int(mode_of(path("srv/current/privkey.pem")), 0600, "  key 0600");
	is_int(tls_serve(certs, crt, key, "self-signed"), 0, "the same again: unchanged");
	n = readlink(cur, link2, sizeof link2 - 1);
	link2[n > 0 ? n : 0] = '\0';
	is_str(link2, link1, "  same directory");
	is_int(tls_reload_pending(certs), 0, "  no reload owed");
	is_int(tls_serve(certs, crt, key, "manual"), 1, "another source: switched");
	is_int(tls_reload_pending(certs), 1, "  reload owed");
	is_int(tls_serve(certs, crt2, key2, "manual"), 1, "another pair: switched");
	ok(tls_key_matches(crt2, path("srv/current/privkey.pem")) == 1, "  the new key");
	is_int(count_served(certs), 1, "  older served.* removed");
	is_int(tls_reload_pending(certs), 1, "  one marker for both switches");
	tls_reload_done(certs);
	is_int(tls_serve(certs, path("nope.crt"), key2, "manual"), -ENOENT, "a missing file: error");
	ok(tls_key_matches(crt2, path("srv/current/privkey.pem")) == 1, "  current untouched");
	is_int(count_served(certs), 1, "  nothing left behind");
	is_int(tls_reload_pending(certs), 0, "  no reload owed");

	n = readlink(cur, link2, sizeof link2 - 1);
	link2[n > 0 ? n : 0] = '\0';
	snprintf(cur, sizeof cur, "%s/%s", certs, link2);
	run("rm -rf '%s' '%s'", cur, certs);
	unlink(crt2);
	unlink(key2);
}

int main(void)
{
	if (!mkdtemp(dir))
		skip_all("mkdtemp failed");
	have_cli = system("openssl version >/dev/null 2>&1") == 0;
	test_create();
	test_fields();
	test_openssl_text();
	test_second_pair();
	test_foreign_certs();
	test_errors();
	test_paths();
	test_serve();
	remove_all();
	return done_testing();
}
