/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for wgconf_import_parse (networking.md §8): any bytes in,
 * never a crash, a leak or undefined behaviour; a success has everything the
 * importer relies on, a failure has a message. Build and run from the top
 * of the tree:
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -Ilib fuzz/fuzz-import.c lib/wgconf.c -o fuzz-import
 *   mkdir -p corpus-import && ./fuzz-import -max_len=16384 -max_total_time=20 corpus-import
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wgconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_import(const struct wgconf_import *im)
{
	if (!im->private_key || !*im->private_key || !im->address || !*im->address ||
	    im->listen_port < 1 || im->listen_port > 65535 || im->mtu < 0 || im->mtu > 65535)
		abort();
	for (size_t i = 0; i < im->npeers; i++)
		if (!im->peers[i].public_key || im->peers[i].keepalive < 0 ||
		    im->peers[i].keepalive > 65535)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wgconf_import im;
	char err[160];
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (wgconf_import_parse(text, &im, err, sizeof(err)) == 0) {
		fuzz_check_import(&im);
		wgconf_import_free(&im);
	} else if (!err[0] || !memchr(err, '\0', sizeof(err)) || im.peers || im.private_key) {
		abort();
	}
	free(text);
	return 0;
}
