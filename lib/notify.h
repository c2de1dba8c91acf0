/* SPDX-License-Identifier: MIT */
/* The sd_notify protocol (operations.md §4) without libsystemd: one datagram
 * of "KEY=VALUE\n" lines to the AF_UNIX socket systemd names in
 * $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace), and the
 * service watchdog of $WATCHDOG_USEC / $WATCHDOG_PID. */
#ifndef WGP_NOTIFY_H
#define WGP_NOTIFY_H

#include <stdbool.h>

/* Takes $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID for this process
 * and removes them from the environment, so that children (wireguard-go)
 * never talk to systemd in our name. Call once, before any thread starts.
 * 1 when a notify socket is set, 0 when not (every call below is then a
 * no-op returning 0), -EINVAL for an unusable $NOTIFY_SOCKET (ignored). */
int notify_init(void);

/* Sends state (e.g. "READY=1\nSTATUS=serving") as one datagram. 1 sent,
 * 0 no socket configured, -errno on failure. Thread-safe. */
int notify_send(const char *state);
/* notify_send of a printf-formatted state (truncated at 4 KiB). */
int notify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The watchdog interval in microseconds when systemd asks this process for
 * keep-alive pings (WatchdogSec=), else 0. */
unsigned long long notify_watchdog_usec(void);

/* Starts a thread that sends WATCHDOG=1 every half watchdog interval, but
 * only when alive(arg) returns true (alive may block for up to that half
 * interval, e.g. to ask the main loop whether it still answers). All
 * signals are blocked in the thread. 1 started, 0 no watchdog wanted,
 * -errno. alive and arg must stay valid until notify_watchdog_stop(). */
int notify_watchdog_start(bool (*alive)(void *arg), void *arg);
/* Stops and joins the watchdog thread; no-op when none runs. */
void notify_watchdog_stop(void);

#endif
