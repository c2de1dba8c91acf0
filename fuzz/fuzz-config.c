/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for config_load_file: the input becomes a temp config
 * file (the function reads files only). Never a crash, a leak or undefined
 * behaviour; a syntax error is exactly one error; every string field stays
 * terminated. Build and run from the top of the tree:
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -Ilib fuzz/fuzz-config.c lib/config.c $(pkg-config --cflags --libs yaml-0.1) \
 *       -o fuzz-config
 *   mkdir -p corpus-config && ./fuzz-config -max_len=8192 -max_total_time=20 corpus-config
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[] = "/tmp/wgp-fuzz-config-XXXXXX";
static int fuzz_fd = -1;

static void fuzz_cleanup(void)
{
	unlink(fuzz_path);
}

/* The config file, rewritten for every input. */
static int fuzz_write(const uint8_t *data, size_t size)
{
	if (fuzz_fd < 0) {
		fuzz_fd = mkstemp(fuzz_path);
		if (fuzz_fd < 0)
			abort();
		atexit(fuzz_cleanup);
	}
	if (ftruncate(fuzz_fd, 0) < 0 || pwrite(fuzz_fd, data, size, 0) != (ssize_t)size)
		abort();
	return 0;
}

#define TERMINATED(f) (memchr(c->f, '\0', sizeof(c->f)) != NULL)

static void fuzz_check(const struct config *c, const struct config_errors *e, int rc)
{
	if ((rc != 0 && rc != -EINVAL && rc != -ENOMEM) || e->n < 0 || e->n > 32 ||
	    (rc == -EINVAL && e->n != 1))
		abort();
	for (int i = 0; i < e->n; i++)
		if (!memchr(e->e[i].message, '\0', sizeof(e->e[i].message)) ||
		    !memchr(e->e[i].key, '\0', sizeof(e->e[i].key)) || e->e[i].line < 0)
			abort();
	if (!TERMINATED(listen) || !TERMINATED(db_path) || !TERMINATED(master_key_file) ||
	    !TERMINATED(tls_mode) || !TERMINATED(tls_cert_file) || !TERMINATED(tls_key_file) ||
	    !TERMINATED(acme_email) || !TERMINATED(acme_domain) || !TERMINATED(log_level) ||
	    !TERMINATED(log_format) || !TERMINATED(rec_socket) || !TERMINATED(rec_backend) ||
	    !TERMINATED(rec_userspace_binary) || !TERMINATED(metrics_allow) ||
	    !TERMINATED(path) || !TERMINATED(data_dir))
		abort();
	/* values that passed validation can never be out of range */
	if (!c->db_path[0] || !c->listen[0] || c->rate_limit_rpm < 1 ||
	    c->rate_limit_rpm > 10000 || c->session_ttl < 1 || c->poll_interval < 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	struct config_errors e = { .n = 0 };
	int rc;

	fuzz_write(data, size);
	config_defaults(&c);
	rc = config_load_file(&c, fuzz_path, &e);
	fuzz_check(&c, &e, rc);
	return 0;
}
