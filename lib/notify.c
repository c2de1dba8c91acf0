/* SPDX-License-Identifier: MIT */
/*
 * sd_notify(3) spoken directly (operations.md §4): the protocol is one
 * datagram per state change, so libsystemd would add a dependency for a
 * dozen lines. The socket address is read once and the variables are
 * removed from the environment, as sd_notify(unset_environment=1) does.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "notify.h"

/* Written by notify_init() only, before any thread: read-only after. */
static struct {
	struct sockaddr_un sa;
	socklen_t len;                  /* 0: no socket */
	unsigned long long wd_usec;
} target;

static struct {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool running, stop;
	bool (*alive)(void *);
	void *arg;
} wd = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* $WATCHDOG_USEC when it is meant for this process ($WATCHDOG_PID unset or
 * ours), else 0. */
static unsigned long long watchdog_from_env(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (!usec || !*usec)
		return 0;
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno || *end || v == 0)
		return 0;
	if (pid && *pid) {
		long p = strtol(pid, &end, 10);
		if (*end || p != (long)getpid())
			return 0;
	}
	return v;
}

int notify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t n;
	int ret = 0;

	memset(&target, 0, sizeof target);
	target.wd_usec = watchdog_from_env();
	if (path && *path) {
		n = strlen(path);
		/* "@name": abstract namespace, sun_path[0] = '\0', no terminator
		 * counted; a path must be absolute. (systemd >= 254 also knows
		 * "vsock:", which no host of ours hands to a service.) */
		if ((path[0] != '/' && path[0] != '@') || n >= sizeof target.sa.sun_path || n < 2) {
			ret = -EINVAL;
		} else {
			target.sa.sun_family = AF_UNIX;
			memcpy(target.sa.sun_path, path, n);
			if (path[0] == '@')
				target.sa.sun_path[0] = '\0';
			target.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n
						 + (path[0] == '/'));
			ret = 1;
		}
	}
	if (ret != 1)
		target.wd_usec = 0;     /* nobody to ping */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return ret;
}

int notify_send(const char *state)
{
	size_t len = strlen(state);
	ssize_t n;
	int fd, err = 0;

	if (!target.len)
		return 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	n = sendto(fd, state, len, MSG_NOSIGNAL, (const struct sockaddr *)&target.sa, target.len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EMSGSIZE;
	close(fd);
	return err ? err : 1;
}

int notify_sendf(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	if (!target.len)
		return 0;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return notify_send(buf);
}

unsigned long long notify_watchdog_usec(void)
{
	return target.wd_usec;
}

static void *watchdog_main(void *unused)
{
	unsigned long long half = target.wd_usec / 2;
	struct timespec due;

	(void)unused;
	clock_gettime(CLOCK_MONOTONIC, &due);
	pthread_mutex_lock(&wd.lock);
	while (!wd.stop) {
		pthread_mutex_unlock(&wd.lock);
		/* A main loop that does not answer within the interval earns
		 * no ping: systemd then restarts the service (Restart=always). */
		if (wd.alive(wd.arg))
			notify_send("WATCHDOG=1");
		due.tv_sec += (time_t)(half / 1000000);
		due.tv_nsec += (long)(half % 1000000) * 1000;
		if (due.tv_nsec >= 1000000000L) {
			due.tv_sec++;
			due.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&wd.lock);
		while (!wd.stop && pthread_cond_timedwait(&wd.wake, &wd.lock, &due) != ETIMEDOUT)
			;
		/* A probe that took longer than the interval: start afresh
		 * rather than firing the missed rounds back to back. */
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > due.tv_sec + 1)
			due = now;
	}
	pthread_mutex_unlock(&wd.lock);
	return NULL;
}

int notify_watchdog_start(bool (*alive)(void *arg), void *arg)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	int err;

	if (!target.wd_usec || wd.running)
		return 0;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	err = pthread_cond_init(&wd.wake, &ca);
	pthread_condattr_destroy(&ca);
	if (err)
		return -err;
	wd.alive = alive;
	wd.arg = arg;
	wd.stop = false;
	/* The daemon takes SIGTERM/SIGHUP through a signalfd in the main
	 * thread: a thread with them unblocked would receive them instead. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&wd.thread, NULL, watchdog_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pthread_cond_destroy(&wd.wake);
		return -err;
	}
	wd.running = true;
	return 1;
}

void notify_watchdog_stop(void)
{
	if (!wd.running)
		return;
	pthread_mutex_lock(&wd.lock);
	wd.stop = true;
	pthread_cond_signal(&wd.wake);
	pthread_mutex_unlock(&wd.lock);
	pthread_join(wd.thread, NULL);
	pthread_cond_destroy(&wd.wake);
	wd.running = false;
}
