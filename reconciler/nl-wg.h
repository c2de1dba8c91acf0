/* SPDX-License-Identifier: MIT */
/*
 * The kernel backend: WireGuard devices driven through the generic netlink
 * family "wireguard" (version 1) with libmnl; the link itself through
 * rtnetlink (nl-link.c). Every call opens its own short-lived
 * NETLINK_GENERIC socket in the caller's network namespace and resolves the
 * family id on it. Returns 0 or -errno unless said otherwise.
 */
#ifndef WGP_NL_WG_H
#define WGP_NL_WG_H

#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include "wgdev.h"

#define NLWG_MSG_MAX 8192       /* size of each WG_CMD_SET_DEVICE message we send */
#define NLWG_MSG_MIN 512        /* smallest size nlwg_build_set accepts */
#define NLWG_MSG_LIMIT 65535    /* nested attribute lengths are 16 bits */

/* 1 when the kernel has the "wireguard" generic netlink family (module
 * loaded or built in), 0 when it does not (-ENOENT / -EOPNOTSUPP from the
 * controller) or netlink cannot be used at all. */
int nlwg_available(void);

/* The kernel backend (name "kernel", device_type "Linux kernel"):
 * create = RTM_NEWLINK kind "wireguard" (-EEXIST, -EOPNOTSUPP without the
 * module); destroy refuses (-EOPNOTSUPP) a link of another kind, -ENODEV
 * when absent; exists = a link of kind "wireguard"; get = WG_CMD_GET_DEVICE
 * dump, retried when a concurrent change interrupts it; set = one or more
 * WG_CMD_SET_DEVICE messages (nlwg_build_set), each acknowledged before the
 * next is sent: on an error the earlier messages stay applied. */
const struct wg_backend *nlwg_backend(void);

/* Message builder and parser, exposed for tests and fuzzing (no I/O). */

/* Receives each message nlwg_build_set builds, in order; may change nlh
 * (e.g. its sequence number) but must copy what it keeps: the buffer is
 * reused for the next message and wiped at the end. 0 to go on, or -errno
 * to stop building (nlwg_build_set then returns it). */
typedef int (*nlwg_msg_cb)(struct nlmsghdr *nlh, void *data);

/*
 * Builds the WG_CMD_SET_DEVICE messages (type family, NLM_F_REQUEST |
 * NLM_F_ACK, sequence 0) for dev, each at most msg_max bytes
 * (NLWG_MSG_MIN..NLWG_MSG_LIMIT), and hands them to cb:
 * - the first message carries the flagged device fields (private key,
 *   listen port, fwmark); WGDEVICE_F_REPLACE_PEERS is never sent;
 * - a peer is its public key plus WGPEER_F_REMOVE_ME (nothing else then),
 *   WGPEER_F_UPDATE_ONLY, WGPEER_F_REPLACE_ALLOWEDIPS, PSK (zero = clear),
 *   endpoint, keepalive when flagged, and its allowed IPs;
 * - when a peer's allowed IPs do not fit, the message ends there and the
 *   next one resumes that peer with its public key, WGPEER_F_UPDATE_ONLY
 *   (so it never creates a peer the first part did not) and the remaining
 *   allowed IPs, without REPLACE_ALLOWEDIPS or the other fields.
 * At least one message is built (a device with nothing flagged is a no-op
 * that still checks the device exists). The messages hold the private key
 * and PSKs. 0; -EINVAL for a bad name or msg_max, an endpoint or allowed IP
 * of unknown family or with a prefix too long (checked before any message
 * is built); -ENOMEM; or cb's error.
 */
int nlwg_build_set(const struct wg_device *dev, uint16_t family, size_t msg_max,
                   nlwg_msg_cb cb, void *data);

/*
 * Parses the n data messages of a WG_CMD_GET_DEVICE dump (without the
 * NLMSG_DONE) into *dev (malloc'd, free with wgdev_free; NULL on error).
 * The first part holds the name and device fields; later parts add peers
 * (the kernel sends them without a name), and a peer whose public key
 * equals the previous peer's continues it (its allowed IPs did not fit the
 * previous message). Flags reflect what was read: WGDEV_HAS_PRIVATE_KEY
 * for a non-zero private key, WGDEV_HAS_LISTEN_PORT / WGDEV_HAS_FWMARK when
 * sent; per peer WGPEER_HAS_PSK for a non-zero PSK, WGPEER_HAS_ENDPOINT,
 * WGPEER_HAS_KEEPALIVE when > 0. Unknown attributes are ignored.
 * 0, -EPROTO (malformed, wrong command, no messages, a first part
 * without a name, parts naming different devices), -ENOMEM.
 */
int nlwg_parse_get(const struct nlmsghdr *const *msgs, size_t n, struct wg_device **dev);

#endif
