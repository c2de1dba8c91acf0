/* SPDX-License-Identifier: MIT */
/* Client side of the reconciler socket (networking.md §7): one JSON object
 * per line each way. */
#ifndef WGP_RPC_H
#define WGP_RPC_H

#include <jansson.h>

#define RPC_MAX_LINE (8 * 1024 * 1024)  /* replies: status of 10k peers fits */
#define RPC_TIMEOUT_MS 10000

/* Sends req (not stolen) to the socket at path and reads one reply line.
 * 0 with *reply set (caller decrefs; check its "ok"), -ECONNREFUSED/-ENOENT
 * when nobody listens, -ETIMEDOUT after timeout_ms, -EPROTO for a malformed
 * reply, other -errno. */
int rpc_call(const char *path, json_t *req, json_t **reply, int timeout_ms);

#endif
