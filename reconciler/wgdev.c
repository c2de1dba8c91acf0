/* SPDX-License-Identifier: MIT */
/* The in-memory WireGuard device shared by the kernel and userspace backends. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "wgdev.h"

void wgdev_free(struct wg_device *dev)
{
	size_t i;

	if (!dev)
		return;
	for (i = 0; i < dev->npeers; i++) {
		sodium_memzero(dev->peers[i].preshared_key, WG_KEY_LEN);
		free(dev->peers[i].allowed);
	}
	free(dev->peers);
	sodium_memzero(dev->private_key, WG_KEY_LEN);
	free(dev);
}

/*
 * Growth for arrays whose capacity is not stored: with n used elements the
 * capacity is 0 for n == 0, else max(4, next power of two >= n). It is full
 * (and must double) exactly when n == 0 or n >= 4 is a power of two.
 * A secret array (peers hold PSKs) is copied and the old block wiped rather
 * than realloc'd, so no key stays behind in freed memory.
 * Returns the array to use, or NULL (old array intact) on ENOMEM.
 */
static void *wgdev_grow(void *arr, size_t n, size_t size, bool secret)
{
	size_t cap;
	void *grown;

	if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
		return arr;
	cap = n ? n * 2 : 4;
	if (cap > SIZE_MAX / size)
		return NULL;
	if (!secret)
		return realloc(arr, cap * size);
	grown = malloc(cap * size);
	if (!grown)
		return NULL;
	if (n) {
		memcpy(grown, arr, n * size);
		sodium_memzero(arr, n * size);
	}
	free(arr);
	return grown;
}

struct wg_peer *wgdev_peer_append(struct wg_device *dev)
{
	struct wg_peer *peers = wgdev_grow(dev->peers, dev->npeers, sizeof(*peers), true);

	if (!peers)
		return NULL;
	dev->peers = peers;
	memset(&peers[dev->npeers], 0, sizeof(*peers));
	return &peers[dev->npeers++];
}

struct ipnet *wgpeer_allowed_append(struct wg_peer *peer)
{
	struct ipnet *allowed = wgdev_grow(peer->allowed, peer->nallowed, sizeof(*allowed), false);

	if (!allowed)
		return NULL;
	peer->allowed = allowed;
	memset(&allowed[peer->nallowed], 0, sizeof(*allowed));
	return &allowed[peer->nallowed++];
}
