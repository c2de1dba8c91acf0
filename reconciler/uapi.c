/* SPDX-License-Identifier: MIT */
/*
 * The userspace backend: a WireGuard implementation such as wireguard-go
 * runs as its own process and is driven over its UAPI socket
 * <sockdir>/<ifname>.sock with the cross-platform text protocol
 * (wireguard.com/xplatform, uapi-text.c): "get=1\n\n" and "set=1\n...\n\n",
 * replies ending in "errno=N\n\n". This file holds the socket and the
 * implementation's process; the link itself (a TUN device) is handled
 * through rtnetlink like any other.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "nl-link.h"
#include "uapi-int.h"
#include "wgdev.h"

#define UAPI_IO_TIMEOUT_S 10     /* per send/recv on the socket */
#define UAPI_START_TIMEOUT_MS 5000
#define UAPI_STOP_TIMEOUT_MS 5000
#define UAPI_POLL_MS 20
#define UAPI_RXBUF 65536        /* reply window; lines are far shorter */

static const char *uapi_binary = "/usr/bin/wireguard-go";
static const char *uapi_sockdir = "/var/run/wireguard";

/* ---- the socket ------------------------------------------------------------ */

/* Kernel rules for a device name; also keeps the socket path inside sockdir. */
static bool uapi_ifname_ok(const char *ifname)
{
	size_t len = ifname ? strlen(ifname) : 0;

	if (len == 0 || len >= IFNAMSIZ || !strcmp(ifname, ".") || !strcmp(ifname, ".."))
		return false;
	return strcspn(ifname, "/: \t\n\r\f\v") == len;
}

static int uapi_sock_path(struct sockaddr_un *sun, const char *ifname)
{
	int n;

	if (!uapi_ifname_ok(ifname))
		return -EINVAL;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s.sock", uapi_sockdir, ifname);
	return n < 0 || (size_t)n >= sizeof(sun->sun_path) ? -ENAMETOOLONG : 0;
}

/* Connected socket with I/O timeouts in *fdp. 0, -ENODEV when nothing
 * listens (no socket file, or a stale one), -errno. */
static int uapi_connect(const char *ifname, int *fdp)
{
	struct timeval tv = { .tv_sec = UAPI_IO_TIMEOUT_S };
	struct sockaddr_un sun;
	int fd = -1, ret;

	ret = uapi_sock_path(&sun, ifname);
	if (ret < 0)
		goto out;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		ret = -errno;
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = errno == ENOENT || errno == ECONNREFUSED ? -ENODEV : -errno;
		goto out;
	}
	*fdp = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

static int uapi_io_errno(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
}

static int uapi_send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return uapi_io_errno();
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Feeds the reply to p line by line as it arrives, up to its blank line.
 * Only a window of UAPI_RXBUF bytes is kept (complete lines are consumed and
 * the tail moved to the front), so a multi-MB reply costs one linear pass
 * and no large buffer. A line longer than the window is a protocol error.
 */
static int uapi_read_reply(int fd, struct uapi_parser *p)
{
	char *buf = malloc(UAPI_RXBUF), *line, *nl;
	size_t have = 0;
	ssize_t n;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	while (!p->done) {
		n = recv(fd, buf + have, UAPI_RXBUF - have, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = uapi_io_errno();
			goto out;
		}
		if (n == 0) {
			ret = -EPROTO;  /* closed before the end of the reply */
			goto out;
		}
		have += (size_t)n;
		line = buf;
		while (!p->done && (nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
			ret = uapi_parser_line(p, line, (size_t)(nl - line));
			if (ret < 0)
				goto out;
			line = nl + 1;
		}
		if (line == buf && have == UAPI_RXBUF) {
			ret = -EPROTO;
			goto out;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
	}
out:
	sodium_memzero(buf, UAPI_RXBUF);        /* held the private key */
	free(buf);
	return ret;
}

/* One request/reply exchange on a fresh connection. */
static int uapi_exchange(const char *ifname, const char *req, size_t len, struct uapi_parser *p)
{
	int fd = -1, ret;

	ret = uapi_connect(ifname, &fd);
	if (ret < 0)
		goto out;
	ret = uapi_send_all(fd, req, len);
	if (ret < 0)
		goto out;
	ret = uapi_read_reply(fd, p);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* 0, -ENODEV when no implementation serves ifname, -ETIMEDOUT, -EPROTO,
 * -errno of the implementation. */
static int uapi_get(const char *ifname, struct wg_device **dev)
{
	static const char req[] = "get=1\n\n";
	struct uapi_parser p;
	int ret;

	*dev = NULL;
	ret = uapi_parser_init(&p, ifname);
	if (ret < 0)
		goto out;
	ret = uapi_exchange(ifname, req, sizeof(req) - 1, &p);
	if (ret < 0)
		goto out;
	ret = uapi_parser_finish(&p, dev);
out:
	wgdev_free(p.dev);
	return ret;
}

/* Like uapi_get; -EINVAL for a device the protocol cannot express. */
static int uapi_set(const struct wg_device *dev)
{
	struct uapi_parser p;
	char *req = NULL;
	size_t len = 0;
	int ret;

	ret = uapi_parser_init(&p, dev->name);
	if (ret < 0)
		goto out;
	req = uapi_build_set(dev);
	if (!req) {
		ret = errno == EINVAL ? -EINVAL : -ENOMEM;
		goto out;
	}
	len = strlen(req);
	ret = uapi_exchange(dev->name, req, len, &p);
	if (ret < 0)
		goto out;
	ret = uapi_parser_finish(&p, NULL);
out:
	if (req) {
		sodium_memzero(req, len);
		free(req);
	}
	wgdev_free(p.dev);
	return ret;
}

static int uapi_exists(const char *ifname)
{
	int fd = -1;

	if (uapi_connect(ifname, &fd) < 0)
		return 0;
	close(fd);
	return 1;
}

/* ---- the implementation's process --------------------------------------- */

static void uapi_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* false once pid has exited (gone, or a zombie nobody reaped yet). */
static bool uapi_proc_alive(pid_t pid)
{
	char path[64], buf[512], *rparen;
	ssize_t n;
	int fd = -1;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? false : kill(pid, 0) == 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	rparen = strrchr(buf, ')');    /* the comm field may hold anything */
	return rparen && rparen[1] == ' ' && rparen[2] != 'Z' && rparen[2] != 'X';
}

/* Waits up to ms for pid to exit. true when it did. */
static bool uapi_wait_exit(pid_t pid, long ms)
{
	for (; ms > 0; ms -= UAPI_POLL_MS) {
		if (!uapi_proc_alive(pid))
			return true;
		uapi_sleep_ms(UAPI_POLL_MS);
	}
	return !uapi_proc_alive(pid);
}

/* What the two children report through the spawn pipe. */
struct uapi_spawn_msg {
	int pid;                /* > 0: the implementation's pid */
	int err;                /* != 0: errno of a failed setsid/fork/exec */
};

/* Runs in the first child; async-signal-safe calls only. Never returns. */
static void uapi_spawn_child(char *const argv[], int devnull, int wfd)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGPIPE, SIGTERM, SIGCHLD };
	struct uapi_spawn_msg msg = { 0, 0 };
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	size_t i;
	pid_t pid;

	/* Ignored signals and the mask survive exec: give the implementation
	 * a clean slate (uapi_destroy relies on SIGTERM). */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setsid() < 0) {
		msg.err = errno;
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		msg.err = errno;
		goto fail;
	}
	if (pid > 0) {
		/* Exiting re-parents the implementation to init (or the nearest
		 * subreaper): it outlives the reconciler and nobody must reap it. */
		msg.pid = pid;
		if (write(wfd, &msg, sizeof(msg)) < 0)
			_exit(1);
		_exit(0);
	}
	if (devnull <= STDOUT_FILENO)
		fcntl(devnull, F_SETFD, 0);
	if (dup2(devnull, STDIN_FILENO) < 0 || dup2(devnull, STDOUT_FILENO) < 0) {
		msg.err = errno;
		goto fail;
	}
	/* Descriptors the reconciler opened without O_CLOEXEC must not leak
	 * into a long-lived process; wfd is already close-on-exec. */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	execv(argv[0], argv);
	msg.err = errno;
fail:
	if (write(wfd, &msg, sizeof(msg)) < 0)
		_exit(126);
	_exit(127);
}

/* Starts "binary -f ifname" detached; its pid in *pidp. 0 or -errno (e.g.
 * -ENOENT for a missing binary, reported by the child after execv). */
static int uapi_spawn(const char *ifname, pid_t *pidp)
{
	char *argv[] = { (char *)uapi_binary, (char *)"-f", (char *)ifname, NULL };
	struct uapi_spawn_msg msg;
	int pfd[2] = { -1, -1 }, devnull, status, ret = 0;
	pid_t child;
	ssize_t n;

	*pidp = 0;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		ret = -errno;
		goto out;
	}
	fflush(stderr);
	child = fork();
	if (child < 0) {
		ret = -errno;
		goto out;
	}
	if (child == 0)
		uapi_spawn_child(argv, devnull, pfd[1]);
	close(pfd[1]);
	pfd[1] = -1;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	/* EOF once the first child exited and the second one exec'd. */
	while ((n = read(pfd[0], &msg, sizeof(msg))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(msg)) {
			ret = n < 0 ? -errno : -EPROTO;
			goto out;
		}
		if (msg.pid > 0)
			*pidp = msg.pid;
		if (msg.err)
			ret = -msg.err;
	}
	if (!ret && !*pidp)
		ret = -ECHILD;
out:
	if (devnull >= 0)
		close(devnull);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	return ret;
}

/*
 * 0 once the UAPI socket answers; -EEXIST when it already did or another
 * link holds the name; -EIO when the implementation exited before its
 * socket appeared (its stderr, which is ours, says why); -ETIMEDOUT after
 * 5 s (it is then terminated); -errno of the spawn.
 */
static int uapi_create(const char *ifname)
{
	pid_t pid;
	long waited;
	int fd = -1, ret;

	ret = uapi_connect(ifname, &fd);
	if (ret == 0) {
		close(fd);
		return -EEXIST;
	}
	if (ret != -ENODEV)
		return ret;
	if (nl_link_index(ifname) > 0)
		return -EEXIST;
	ret = uapi_spawn(ifname, &pid);
	if (ret < 0)
		return ret;
	for (waited = 0; waited < UAPI_START_TIMEOUT_MS; waited += UAPI_POLL_MS) {
		if (uapi_connect(ifname, &fd) == 0) {
			close(fd);
			return 0;
		}
		if (!uapi_proc_alive(pid))
			return -EIO;
		uapi_sleep_ms(UAPI_POLL_MS);
	}
	kill(pid, SIGTERM);
	return -ETIMEDOUT;
}

/*
 * Deleting the TUN link makes the implementation exit; we wait for that
 * (its pid comes from SO_PEERCRED), terminate it if it lingers or if it
 * runs without a link, and remove a stale socket file.
 * 0; -ENODEV when there was neither link nor socket; -ETIMEDOUT when the
 * process would not exit; -errno.
 */
static int uapi_destroy(const char *ifname)
{
	struct ucred cred = { 0 };
	socklen_t credlen = sizeof(cred);
	struct sockaddr_un sun;
	bool found = false;
	int fd = -1, ret;

	ret = uapi_sock_path(&sun, ifname);
	if (ret < 0)
		goto out;
	if (uapi_connect(ifname, &fd) == 0) {
		found = true;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0)
			cred.pid = 0;
		close(fd);
	}
	ret = nl_link_delete(ifname);
	if (ret < 0 && ret != -ENODEV)
		goto out;
	if (ret == 0)
		found = true;
	if (cred.pid > 0 && !uapi_wait_exit(cred.pid, ret == 0 ? UAPI_STOP_TIMEOUT_MS : 0)) {
		kill(cred.pid, SIGTERM);
		if (!uapi_wait_exit(cred.pid, UAPI_STOP_TIMEOUT_MS)) {
			ret = -ETIMEDOUT;
			goto out;
		}
	}
	ret = 0;
	if (unlink(sun.sun_path) == 0)
		found = true;
	else if (errno != ENOENT)
		ret = -errno;
	if (!ret && !found)
		ret = -ENODEV;
out:
	return ret;
}

static const struct wg_backend uapi_ops = {
	.name = "userspace",
	.device_type = "userspace",
	.create = uapi_create,
	.destroy = uapi_destroy,
	.exists = uapi_exists,
	.get = uapi_get,
	.set = uapi_set,
};

const struct wg_backend *uapi_backend(const char *binary, const char *sockdir)
{
	uapi_binary = binary;
	uapi_sockdir = sockdir;
	return &uapi_ops;
}
