/* SPDX-License-Identifier: MIT */
/* lib/notify.c: sd_notify datagrams to a real AF_UNIX socket (a path and an
 * abstract "@name"), the sender's credentials systemd checks for
 * NotifyAccess=main, the environment cleanup, and the watchdog thread. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"
#include "tap.h"

/* A datagram socket like systemd's: SO_PASSCRED, bound to name ("@..." is
 * abstract). fd or -1. */
static int listener(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0 || n >= sizeof sa.sun_path)
		return -1;
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] != '@'))) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One datagram within ms into buf (NUL-terminated); its length or -1.
 * *pid: the sender's pid from SCM_CREDENTIALS (0 if none). */
static int receive(int fd, char *buf, size_t size, int ms, pid_t *pid)
{
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(struct ucred))]; } ctl;
	struct iovec iov = { buf, size - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl,
			    .msg_controllen = sizeof ctl };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (pid)
		*pid = 0;
	if (poll(&p, 1, ms) != 1)
		return -1;
	n = recvmsg(fd, &m, MSG_DONTWAIT);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c && pid; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred u;
			memcpy(&u, CMSG_DATA(c), sizeof u);
			*pid = u.pid;
		}
	return (int)n;
}

static atomic_int probes;
static atomic_bool answer;
static atomic_bool term_blocked;

static bool probe(void *arg)
{
	sigset_t cur;

	(void)arg;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	atomic_store(&term_blocked, sigismember(&cur, SIGTERM) && sigismember(&cur, SIGHUP));
	atomic_fetch_add(&probes, 1);
	return atomic_load(&answer);
}

/* How many WATCHDOG=1 datagrams arrive within ms. */
static int count_pings(int fd, int ms)
{
	struct timespec t0, t;
	char buf[256];
	int n = 0, left = ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (left > 0) {
		if (receive(fd, buf, sizeof buf, left, NULL) > 0 && strcmp(buf, "WATCHDOG=1") == 0)
			n++;
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
	}
	return n;
}

int main(void)
{
	char dir[] = "/tmp/wgp-t15-XXXXXX", path[128], abs_name[64], buf[4200], pidstr[32];
	pid_t from;
	int fd, afd, n;

	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(path, sizeof path, "%s/notify", dir);
	snprintf(abs_name, sizeof abs_name, "@wgp-t15-%d", (int)getpid());

	/* --- not under systemd -------------------------------------------- */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	is_int(notify_init(), 0, "no NOTIFY_SOCKET: notify_init says so");
	is_int(notify_send("READY=1"), 0, "and notify_send is a no-op");
	is_int(notify_watchdog_start(probe, NULL), 0, "no watchdog without WATCHDOG_USEC");

	/* --- a path socket -------------------------------------------------- */
	fd = listener(path);
	ok(fd >= 0, "datagram socket bound at %s", path);
	setenv("NOTIFY_SOCKET", path, 1);
	is_int(notify_init(), 1, "NOTIFY_SOCKET=path: notify_init finds it");
	ok(getenv("NOTIFY_SOCKET") == NULL, "NOTIFY_SOCKET removed from the environment (children)");
	is_int(notify_send("READY=1\nSTATUS=Serving"), 1, "READY=1 sent");
	n = receive(fd, buf, sizeof buf, 2000, &from);
	is_str(n > 0 ? buf : NULL, "READY=1\nSTATUS=Serving", "the datagram is the state, byte for byte");
	is_int(from, getpid(), "sender credentials carry our pid (NotifyAccess=main)");
	is_int(notify_sendf("STATUS=%d networks, %s", 3, "ok"), 1, "notify_sendf");
	n = receive(fd, buf, sizeof buf, 2000, NULL);
	is_str(n > 0 ? buf : NULL, "STATUS=3 networks, ok", "formatted STATUS line");
	{
		char big[6000];
		memset(big, 'y', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		is_int(notify_sendf("STATUS=%s", big), 1, "an over-long STATUS is truncated, still sent");
		n = receive(fd, buf, sizeof buf, 2000, NULL);
		is_int(n, 4095, "to 4 KiB - 1 bytes");
	}

	/* --- the abstract namespace ------------------------------------------- */
	afd = listener(abs_name);
	ok(afd >= 0, "abstract datagram socket %s", abs_name);
	setenv("NOTIFY_SOCKET", abs_name, 1);
	is_int(notify_init(), 1, "NOTIFY_SOCKET=@name accepted");
	is_int(notify_send("STOPPING=1"), 1, "STOPPING=1 sent to the abstract name");
	n = receive(afd, buf, sizeof buf, 2000, NULL);
	is_str(n > 0 ? buf : NULL, "STOPPING=1", "received on the abstract socket");
	n = receive(fd, buf, sizeof buf, 100, NULL);
	is_int(n, -1, "nothing went to the path socket");

	/* --- bad or dead sockets ------------------------------------------------ */
	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	is_int(notify_init(), -EINVAL, "a relative NOTIFY_SOCKET is refused");
	is_int(notify_send("READY=1"), 0, "and sending is then a no-op");
	snprintf(buf, sizeof buf, "%s/nobody", dir);
	setenv("NOTIFY_SOCKET", buf, 1);
	is_int(notify_init(), 1, "a socket path nobody listens on");
	is_int(notify_send("READY=1"), -ENOENT, "sending reports -ENOENT, nothing else happens");

	/* --- watchdog --------------------------------------------------------- */
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "200000", 1);
	snprintf(pidstr, sizeof pidstr, "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pidstr, 1);
	notify_init();
	is_int(notify_watchdog_usec(), 0, "WATCHDOG_PID of another process: no watchdog for us");
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "200000", 1);
	snprintf(pidstr, sizeof pidstr, "%d", (int)getpid());
	setenv("WATCHDOG_PID", pidstr, 1);
	notify_init();
	is_int(notify_watchdog_usec(), 200000, "WATCHDOG_USEC for our pid");
	ok(!getenv("WATCHDOG_USEC") && !getenv("WATCHDOG_PID"), "watchdog variables removed too");
	atomic_store(&answer, true);
	is_int(notify_watchdog_start(probe, NULL), 1, "watchdog thread started");
	n = count_pings(fd, 1050);
	ok(n >= 7 && n <= 13, "WATCHDOG=1 every half interval (100 ms): %d pings in 1.05 s", n);
	ok(atomic_load(&term_blocked), "SIGTERM and SIGHUP blocked in the watchdog thread (signalfd)");
	atomic_store(&answer, false);
	count_pings(fd, 120);           /* a ping already on its way */
	atomic_store(&probes, 0);
	n = count_pings(fd, 500);
	is_int(n, 0, "no ping while the probe says the main loop is stuck");
	ok(atomic_load(&probes) >= 3, "but it keeps asking (%d probes)", atomic_load(&probes));
	atomic_store(&answer, true);
	ok(count_pings(fd, 400) >= 1, "pings resume when the loop answers again");
	notify_watchdog_stop();
	count_pings(fd, 50);
	is_int(count_pings(fd, 300), 0, "notify_watchdog_stop: no more pings");
	notify_watchdog_stop();
	ok(1, "a second notify_watchdog_stop is harmless");

	close(fd);
	close(afd);
	unlink(path);
	rmdir(dir);
	return done_testing();
}
