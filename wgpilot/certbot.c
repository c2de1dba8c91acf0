/* SPDX-License-Identifier: MIT */
/*
 * certbot runs for `wgpilot tls apply` (certbot.h). Moved out of tlsjob.c
 * unchanged in behaviour: the same arguments, log lines and limits.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "certbot.h"
#include "log.h"
#include "sbuf.h"

#define COMP "tls"
#define OUT_KEEP 4096           /* certbot output kept for the log */

extern char **environ;

static const char *const certbot_ops[CERTBOT_OP__MAX] = {
	[CERTBOT_CERTONLY] = "certonly", [CERTBOT_RENEW] = "renew", [CERTBOT_DRY_RUN] = "dry-run",
};

const char *certbot_op_name(enum certbot_op op)
{
	return op < CERTBOT_OP__MAX ? certbot_ops[op] : "?";
}

/* ---- running it ----------------------------------------------------------- */

/* Keeps printable ASCII and newlines (the log wants valid UTF-8). */
static void out_clean(char *s)
{
	for (; *s; s++)
		if ((*s < 0x20 && *s != '\n') || (unsigned char)*s >= 0x7f)
			*s = '?';
}

/* The line of certbot's output that says what went wrong: the last one
 * that is not boilerplate. */
static void out_reason(const char *out, char *msg, size_t msgsz)
{
	const char *best = NULL, *p = out;
	size_t best_len = 0;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len > 0 && strncmp(p, "Ask for help", 12) != 0 && strncmp(p, "Saving debug log", 16) != 0
		    && strncmp(p, "See the logfile", 15) != 0) {
			best = p;
			best_len = len;
		}
		p += len + (nl ? 1 : 0);
	}
	if (best)
		snprintf(msg, msgsz, "%.*s", (int)(best_len > 300 ? 300 : best_len), best);
	else
		snprintf(msg, msgsz, "no output");
}

/* Appends n bytes to the tail buffer, keeping the newest OUT_KEEP - 1. */
static void out_add(char *out, size_t *used, const char *p, size_t n)
{
	if (n >= OUT_KEEP - 1) {
		p += n - (OUT_KEEP - 1);
		n = OUT_KEEP - 1;
	}
	if (*used + n > OUT_KEEP - 1) {
		size_t drop = *used + n - (OUT_KEEP - 1);
		memmove(out, out + drop, *used - drop);
		*used -= drop;
	}
	memcpy(out + *used, p, n);
	*used += n;
	out[*used] = '\0';
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs argv (argv[0] the binary) as certbot_run() says. */
static int certbot_exec(const struct certbot *cb, const char *const *argv, const char *what,
			char *msg, size_t msgsz)
{
	char out[OUT_KEEP] = "", buf[1024];
	size_t used = 0, nenv = 0;
	char **envp = NULL;
	int pfd[2] = { -1, -1 }, status = 0, rc = 0, devnull;
	double deadline = mono() + cb->timeout;
	bool open_pipe = true, timed_out = false, exited = false;
	pid_t pid;

	msg[0] = '\0';
	while (environ[nenv])
		nenv++;
	if (!(envp = calloc(nenv + 2, sizeof *envp)))
		return -ENOMEM;
	for (size_t i = 0, k = 0; i < nenv; i++)
		if (strncmp(environ[i], CERTBOT_IN_JOB_ENV "=", sizeof CERTBOT_IN_JOB_ENV) != 0)
			envp[k++] = environ[i];
	for (nenv = 0; envp[nenv]; nenv++)
		;
	envp[nenv] = (char *)CERTBOT_IN_JOB_ENV "=1";
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		rc = -errno;
		free(envp);
		snprintf(msg, msgsz, "pipe: %s", strerror(-rc));
		return rc;
	}
	log_info(COMP, "tls_certbot_started", json_pack("{s:s,s:s,s:s,s:s}", "task_id", cb->task_id,
		 "run", what, "certbot", argv[0], "domain", cb->domain));
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0)
			_exit(126);
		execve(argv[0], (char *const *)argv, envp);
		dprintf(2, "cannot execute %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	rc = pid < 0 ? -errno : 0;
	close(pfd[1]);
	free(envp);
	if (rc < 0) {
		close(pfd[0]);
		snprintf(msg, msgsz, "fork: %s", strerror(-rc));
		return rc;
	}
	setpgid(pid, pid);      /* either side may win the race; both set the same */
	while (!exited) {
		double left = deadline - mono();

		if (left <= 0 && !timed_out) {
			timed_out = true;
			kill(-pid, SIGTERM);
			deadline = mono() + 5;
			continue;
		}
		if (left <= 0) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		if (open_pipe) {
			struct pollfd p = { .fd = pfd[0], .events = POLLIN };
			int n = poll(&p, 1, (int)(left * 1000) + 1);

			if (n < 0 && errno != EINTR)
				open_pipe = false;
			if (n > 0) {
				ssize_t r = read(pfd[0], buf, sizeof buf);
				if (r > 0)
					out_add(out, &used, buf, (size_t)r);
				else if (r == 0 || errno != EINTR)
					open_pipe = false;
			}
			continue;
		}
		if (waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
		else
			usleep(100 * 1000);
	}
	if (!exited && !timed_out)
		waitpid(pid, &status, 0);
	close(pfd[0]);
	out_clean(out);
	if (timed_out) {
		rc = -ETIMEDOUT;
		snprintf(msg, msgsz, "certbot did not finish within %d s", cb->timeout);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = -EIO;
		out_reason(out, msg, msgsz);
	}
	/* certbot prints neither keys nor the account's secrets */
	if (rc == 0)
		log_debug(COMP, "tls_certbot_done", json_pack("{s:s,s:s,s:s}", "task_id", cb->task_id,
			  "run", what, "output", out));
	else
		log_warn(COMP, "tls_certbot_failed", json_pack("{s:s,s:s,s:s,s:i,s:s,s:s}", "task_id",
			 cb->task_id, "run", what, "domain", cb->domain, "exit_status", WIFEXITED(status)
			 ? WEXITSTATUS(status) : -1, "error", msg, "output", out));
	return rc;
}

int certbot_run(const struct certbot *cb, enum certbot_op op, char *msg, size_t msgsz)
{
	char work[PATH_MAX + 8], logs[PATH_MAX + 8];
	const char *argv[40];
	int n = 0;

	if (op >= CERTBOT_OP__MAX) {
		snprintf(msg, msgsz, "unknown certbot run");
		return -EINVAL;
	}
	snprintf(work, sizeof work, "%s/work", cb->config_dir);
	snprintf(logs, sizeof logs, "%s/logs", cb->config_dir);
	argv[n++] = cb->bin;
	if (op == CERTBOT_RENEW) {
		argv[n++] = "renew";
		argv[n++] = "--no-random-sleep-on-renew";
	} else {
		argv[n++] = "certonly";
		argv[n++] = "--webroot";
		argv[n++] = "-w";
		argv[n++] = cb->webroot;
		argv[n++] = "-d";
		argv[n++] = cb->domain;
		argv[n++] = "--agree-tos";
		argv[n++] = "--keep-until-expiring";
		if (cb->email && cb->email[0]) {
			argv[n++] = "--email";
			argv[n++] = cb->email;
		} else {
			argv[n++] = "--register-unsafely-without-email";
		}
		if (cb->hook && cb->hook[0]) {
			argv[n++] = "--deploy-hook";
			argv[n++] = cb->hook;
		}
	}
	argv[n++] = "--cert-name";
	argv[n++] = cb->domain;
	argv[n++] = "--non-interactive";
	argv[n++] = "--config-dir";
	argv[n++] = cb->config_dir;
	argv[n++] = "--work-dir";
	argv[n++] = work;
	argv[n++] = "--logs-dir";
	argv[n++] = logs;
	if (cb->server) {
		argv[n++] = "--server";
		argv[n++] = cb->server;
	}
	if (op == CERTBOT_DRY_RUN)
		argv[n++] = "--dry-run";
	argv[n] = NULL;
	return certbot_exec(cb, argv, certbot_ops[op], msg, msgsz);
}

/* ---- the deploy hook --------------------------------------------------------- */

/* Appends s and a space for certbot's hook, which a shell runs and whose
 * first word certbot checks unquoted: only paths of plain characters.
 * -EINVAL for anything else. */
static int hook_word(struct sbuf *b, const char *s)
{
	if (!*s || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._+-:@,=")
	    != strlen(s))
		return -EINVAL;
	sb_printf(b, "%s ", s);
	return 0;
}

int certbot_hook(char *out, size_t outsz, const char *config_path, const char *data_dir,
		 const char *db_path)
{
	char exe[PATH_MAX], def_db[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	struct sbuf b = SBUF_INIT;
	int err = n > 0 ? 0 : -EINVAL;

	if (outsz)
		out[0] = '\0';
	if (n > 0)
		exe[n] = '\0';
	if (!err)
		err = hook_word(&b, exe);
	if (!err && config_path[0]) {
		sb_puts(&b, "--config ");
		err = hook_word(&b, config_path);
	}
	snprintf(def_db, sizeof def_db, "%s/wgpilot.db", data_dir);
	if (!err && strcmp(def_db, db_path) == 0) {
		sb_puts(&b, "--data-dir ");
		err = hook_word(&b, data_dir);
	}
	sb_puts(&b, "tls deployed");
	if (!err)
		err = b.oom ? -ENOMEM : b.len >= outsz ? -ENAMETOOLONG : 0;
	if (!err)
		snprintf(out, outsz, "%s", b.s);
	sb_free(&b);
	return err;
}
