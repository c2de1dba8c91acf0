/* SPDX-License-Identifier: MIT */
/*
 * A WireGuard device as the reconciler sees it, and the backends that read
 * and program one: the kernel (generic netlink, nl-wg.c) and a userspace
 * implementation such as wireguard-go (UAPI text protocol, uapi.c).
 *
 * A device passed to a backend's set() carries only what should change:
 * device fields flagged in dev->flags, and peers each flagged with what to do.
 * set() never replaces the whole peer list (no REPLACE_PEERS), so unchanged
 * peers keep their sessions.
 */
#ifndef WGP_WGDEV_H
#define WGP_WGDEV_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ipnet.h"
#include "keys.h"

enum wgpeer_flags {
	WGPEER_REMOVE = 1u << 0,                /* remove this peer */
	WGPEER_UPDATE_ONLY = 1u << 1,           /* do not create it if absent */
	WGPEER_REPLACE_ALLOWEDIPS = 1u << 2,    /* allowed[] replaces the set */
	WGPEER_HAS_PSK = 1u << 3,               /* preshared_key is meaningful (zero = clear) */
	WGPEER_HAS_KEEPALIVE = 1u << 4,
	WGPEER_HAS_ENDPOINT = 1u << 5,
};

enum wgdev_flags {
	WGDEV_HAS_PRIVATE_KEY = 1u << 0,
	WGDEV_HAS_LISTEN_PORT = 1u << 1,
	WGDEV_HAS_FWMARK = 1u << 2,
};

union wg_endpoint {
	struct sockaddr addr;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

struct wg_peer {
	uint8_t public_key[WG_KEY_LEN];
	uint8_t preshared_key[WG_KEY_LEN];
	union wg_endpoint endpoint;     /* addr.sa_family == 0: none */
	uint16_t keepalive;             /* seconds, 0 = off */
	struct ipnet *allowed;          /* malloc'd array */
	size_t nallowed;
	/* read-only state from get() */
	int64_t last_handshake;         /* unix seconds, 0 = never */
	uint64_t rx_bytes, tx_bytes;
	unsigned flags;                 /* enum wgpeer_flags */
};

struct wg_device {
	char name[IFNAMSIZ];
	uint8_t private_key[WG_KEY_LEN];
	uint8_t public_key[WG_KEY_LEN];  /* from get(); zero when no private key */
	uint16_t listen_port;
	uint32_t fwmark;
	unsigned flags;                 /* enum wgdev_flags */
	struct wg_peer *peers;          /* malloc'd array */
	size_t npeers;
};

/* Frees the peers, their allowed IPs, and dev itself; wipes the keys. NULL-safe. */
void wgdev_free(struct wg_device *dev);
/* Appends a zeroed peer to dev->peers (amortised O(1): the capacity is
 * implied by npeers, so only grow arrays through these two helpers).
 * Returns the new peer, valid until the next append; NULL on ENOMEM
 * (dev unchanged). */
struct wg_peer *wgdev_peer_append(struct wg_device *dev);
/* Appends a zeroed entry to peer->allowed, like wgdev_peer_append. */
struct ipnet *wgpeer_allowed_append(struct wg_peer *peer);

struct wg_backend {
	const char *name;               /* "kernel" | "userspace" */
	const char *device_type;        /* "Linux kernel" | "userspace" */
	/* Makes the link exist (kernel: RTM_NEWLINK kind wireguard; userspace:
	 * start the implementation and wait for its UAPI socket). 0 or -errno;
	 * -EEXIST when it already exists. */
	int (*create)(const char *ifname);
	/* Removes the link. 0, -ENODEV, -errno. */
	int (*destroy)(const char *ifname);
	/* 1 when ifname is a WireGuard device this backend can drive, 0 if not. */
	int (*exists)(const char *ifname);
	/* Reads the whole device (all peers, all allowed IPs, merged across
	 * multi-part replies). *dev malloc'd, free with wgdev_free. 0, -ENODEV, -errno. */
	int (*get)(const char *ifname, struct wg_device **dev);
	/* Applies dev (see the header comment). 0 or -errno. */
	int (*set)(const struct wg_device *dev);
};

/* The userspace backend (uapi.c). binary is the implementation to start
 * (e.g. "/usr/bin/wireguard-go"); sockdir its UAPI directory
 * ("/var/run/wireguard"). Both strings must outlive the backend. There is
 * one userspace backend: a later call replaces the configuration. */
const struct wg_backend *uapi_backend(const char *binary, const char *sockdir);

/* UAPI text protocol pieces, exposed for tests and fuzzing (no I/O). */
/* Builds the "set=1\n...\n\n" request for dev. malloc'd, NULL on ENOMEM or
 * EINVAL (an endpoint or allowed IP of unknown family). It holds the private
 * and preshared keys in hex: sodium_memzero it before free. */
char *uapi_build_set(const struct wg_device *dev);
/* Parses a "get=1" reply (key=value lines up to a blank line, including
 * "errno=N"). *dev malloc'd (NULL on error). 0, -EPROTO malformed, -EINVAL
 * ifname too long, -ENOMEM, or -N for errno=N != 0 (wireguard-go sends
 * errno=-N; both signs are accepted). Unknown keys are ignored, malformed
 * values of known keys rejected. Peer flags reflect what was read:
 * HAS_PSK when the PSK is non-zero, HAS_ENDPOINT, HAS_KEEPALIVE when > 0. */
int uapi_parse_get(const char *text, size_t len, const char *ifname, struct wg_device **dev);

#endif
