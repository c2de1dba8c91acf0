/* SPDX-License-Identifier: MIT */
/* Reconciler socket client; see rpc.h. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "rpc.h"
#include "sbuf.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Waits for fd to become ready for events until deadline. 0, -ETIMEDOUT, -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		long long left = deadline - now_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		err = -errno;
		close(fd);
		/* A socket file nobody listens on is the same as no socket. */
		return err == -EAGAIN ? -ECONNREFUSED : err;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t len, long long deadline)
{
	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		int err;

		if (w > 0) {
			p += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if ((err = wait_fd(fd, POLLOUT, deadline)) < 0)
			return err;
	}
	return 0;
}

/* Reads up to the first '\n' into b (without it). */
static int recv_line(int fd, struct sbuf *b, long long deadline)
{
	char buf[65536];

	for (;;) {
		ssize_t r = recv(fd, buf, sizeof buf, 0);
		char *nl;
		int err;

		if (r > 0) {
			nl = memchr(buf, '\n', (size_t)r);
			sb_putn(b, buf, nl ? (size_t)(nl - buf) : (size_t)r);
			if (b->oom)
				return -ENOMEM;
			if (nl)
				return 0;
			if (b->len > RPC_MAX_LINE)
				return -EPROTO;
			continue;
		}
		if (r == 0)
			return -EPROTO;         /* closed before a full line */
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if ((err = wait_fd(fd, POLLIN, deadline)) < 0)
			return err;
	}
}

int rpc_call(const char *path, json_t *req, json_t **reply, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	struct sbuf in = SBUF_INIT;
	char *out = NULL;
	json_error_t jerr;
	int fd, err;

	*reply = NULL;
	fd = connect_unix(path);
	if (fd < 0)
		return fd;
	out = json_dumps(req, JSON_COMPACT);
	if (!out) {
		err = -ENOMEM;
		goto out;
	}
	if ((err = send_all(fd, out, strlen(out), deadline)) < 0
	    || (err = send_all(fd, "\n", 1, deadline)) < 0)
		goto out;
	if ((err = recv_line(fd, &in, deadline)) < 0)
		goto out;
	*reply = json_loadb(in.s ? in.s : "", in.len, 0, &jerr);
	if (!*reply || !json_is_object(*reply)) {
		json_decref(*reply);
		*reply = NULL;
		err = -EPROTO;
	}
out:
	free(out);
	sb_free(&in);
	close(fd);
	return err;
}
