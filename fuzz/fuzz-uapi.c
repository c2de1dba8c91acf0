/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for uapi_parse_get, the parser of a userspace WireGuard
 * implementation's "get=1" reply. Never a crash, a leak or undefined
 * behaviour; an error is -EPROTO, -ENOMEM or the reply's own errno and
 * leaves no device; a parsed device is consistent and can always be turned
 * back into a set request. Build and run from the top of the tree:
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -Ilib -Ireconciler fuzz/fuzz-uapi.c reconciler/uapi.c reconciler/wgdev.c \
 *       reconciler/nl-link.c $(pkg-config --cflags --libs libmnl libsodium) -o fuzz-uapi
 *   mkdir -p corpus-uapi && printf 'private_key=%064d\nlisten_port=51820\npublic_key=%064d\nendpoint=[::1]:5\nallowed_ip=10.0.0.0/8\nerrno=0\n\n' 1 2 > corpus-uapi/seed
 *   ./fuzz-uapi -max_len=4096 -max_total_time=20 corpus-uapi
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sodium.h>

#include "wgdev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_device(const struct wg_device *dev)
{
	size_t i, j;
	char *req;

	if (strnlen(dev->name, sizeof(dev->name)) != 3 || (dev->npeers && !dev->peers))
		abort();
	for (i = 0; i < dev->npeers; i++) {
		const struct wg_peer *p = &dev->peers[i];

		if (p->nallowed && !p->allowed)
			abort();
		for (j = 0; j < p->nallowed; j++)
			if (!(p->allowed[j].family == AF_INET && p->allowed[j].prefix <= 32) &&
			    !(p->allowed[j].family == AF_INET6 && p->allowed[j].prefix <= 128))
				abort();
		if ((p->flags & WGPEER_HAS_ENDPOINT) && p->endpoint.addr.sa_family != AF_INET &&
		    p->endpoint.addr.sa_family != AF_INET6)
			abort();
	}
	/* Whatever was read can be written back. */
	req = uapi_build_set(dev);
	if (!req)
		abort();
	sodium_memzero(req, strlen(req));
	free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_device *dev = (struct wg_device *)&dev;    /* must be reset */
	int ret;

	ret = uapi_parse_get((const char *)data, size, "wg0", &dev);
	if (ret == 0) {
		if (!dev)
			abort();
		fuzz_check_device(dev);
	} else if (dev || ret < -4095 || ret > -1) {
		abort();
	}
	wgdev_free(dev);
	return 0;
}
