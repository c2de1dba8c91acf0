/* SPDX-License-Identifier: MIT */
/*
 * `wgpilot tls apply` and `wgpilot tls deployed` (operations.md §6, C
 * design): the root job that decides which certificate nginx serves, runs
 * certbot, switches <data_dir>/certs/current (tls_serve) and reloads nginx
 * with SIGHUP. Started by wgpilot-acme.service (via wgpilot-acme.path when
 * the API touches <data_dir>/tls.trigger) and daily by cron. Idempotent: a
 * run that finds everything in place changes nothing, not even tls_status.
 *
 *   self-signed  selfsigned.{crt,key}, made anew when missing, unreadable,
 *                not matching or within TLS_RENEW_DAYS of its end (this is
 *                done in every mode: it is the fallback).
 *   acme         certs/acme/live/<domain>/ (domain: tls.acme_domain, else
 *                the setting hostname) from `certbot certonly --webroot`;
 *                `certbot renew` within TLS_RENEW_DAYS. No usable
 *                certificate after that: the self-signed one, WARN
 *                tls_acme_fallback. A failed renewal keeps a certificate
 *                that is still valid (WARN tls_acme_renew_failed).
 *   manual       tls.cert_file + tls.key_file, checked (PEM, key matches,
 *                not expired) before anything is switched; bad: the
 *                self-signed one, WARN tls_manual_fallback.
 *
 * certbot is the only program started: fork/execve, no shell, its output
 * captured into the log, killed after WGPILOT_TLS_CERTBOT_TIMEOUT.
 * Environment knobs (packaging and tests; not config keys):
 *   WGPILOT_TLS_CERTBOT          certbot binary, default /usr/bin/certbot
 *   WGPILOT_TLS_ACME_SERVER      ACME directory URL (certbot --server);
 *                                default certbot's (Let's Encrypt)
 *   WGPILOT_TLS_NGINX_PID        nginx's pid file, default /run/nginx.pid
 *   WGPILOT_TLS_CERTBOT_TIMEOUT  seconds per certbot run, default 300
 *
 * tls_status (the setting cgi/tls.c documents): the job takes a queued test
 * ("test_requested_at"), runs it (acme: `certbot certonly --dry-run`; other
 * modes: the checks of apply, nothing switched) and writes "ok", "at",
 * "message". Besides, while the served certificate is not the one the mode
 * asks for (or an ACME renewal fails), "warning" is {"code", "message",
 * "since"}: the UI-visible warning. A new warning, a cleared one and a
 * switch also write ok/at/message, so the UI's "last test" line shows it.
 * A new warning is an alert: WARN alert_fired (type = the warning code,
 * subject "tls") and, when SMTP and alert_email are set, one e-mail per
 * episode through the alert mailer; alert_cleared when it goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "db.h"
#include "log.h"
#include "sbuf.h"
#include "tls.h"
#include "validate.h"

#define COMP "tls"
#define CERTBOT_DEFAULT "/usr/bin/certbot"
#define NGINX_PID_DEFAULT "/run/nginx.pid"
#define CERTBOT_TIMEOUT 300
#define OUT_KEEP 4096           /* certbot output kept for the log */
#define IN_JOB_ENV "WGP_TLS_IN_JOB"     /* set for certbot: its deploy hook is ours */

extern char **environ;

enum src { SRC_SELF, SRC_ACME, SRC_MANUAL };
static const char *const src_names[] = { "self-signed", "acme", "manual" };

struct tj {
	const struct config *cfg;
	struct job j;
	bool no_certbot;                /* tls deployed */
	char domain[256];
	char certs[PATH_MAX], self_crt[PATH_MAX], self_key[PATH_MAX], webroot[PATH_MAX];
	char acme_dir[PATH_MAX], acme_crt[PATH_MAX], acme_key[PATH_MAX];
	char hook[3 * PATH_MAX];
	const char *certbot, *server, *pidfile;
	int timeout;
	/* outcome */
	const char *warn_code;          /* NULL: the mode's certificate is served */
	char warn_msg[768];
	bool switched;
	char report[768];               /* what was switched to */
	bool tested, test_ok;
	char test_msg[768];
};

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static void tj_warn(struct tj *t, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void tj_warn(struct tj *t, const char *code, const char *fmt, ...)
{
	va_list ap;

	t->warn_code = code;
	va_start(ap, fmt);
	vsnprintf(t->warn_msg, sizeof t->warn_msg, fmt, ap);
	va_end(ap);
}

/* mkdir that accepts an existing directory. 0 or -errno. */
static int tj_mkdir(const char *path, mode_t mode)
{
	return mkdir(path, mode) == 0 || errno == EEXIST ? 0 : -errno;
}

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

/* "<this program> [--config F] [--data-dir D] tls deployed", or "" when
 * no safe command line can be made (then certbot runs without the hook and
 * only renewals by this job switch the certificate). */
static void tj_hook(struct tj *t)
{
	char exe[PATH_MAX], def_db[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	struct sbuf b = SBUF_INIT;
	int err = n > 0 ? 0 : -EINVAL;

	t->hook[0] = '\0';
	if (n > 0)
		exe[n] = '\0';
	if (!err)
		err = hook_word(&b, exe);
	if (!err && t->cfg->path[0]) {
		sb_puts(&b, "--config ");
		err = hook_word(&b, t->cfg->path);
	}
	snprintf(def_db, sizeof def_db, "%s/wgpilot.db", t->cfg->data_dir);
	if (!err && strcmp(def_db, t->cfg->db_path) == 0) {
		sb_puts(&b, "--data-dir ");
		err = hook_word(&b, t->cfg->data_dir);
	}
	sb_puts(&b, "tls deployed");
	if (!err && !b.oom && b.len < sizeof t->hook)
		snprintf(t->hook, sizeof t->hook, "%s", b.s);
	else
		log_warn(COMP, "tls_deploy_hook_unavailable", json_pack("{s:s,s:s}", "task_id",
			 t->j.task_id, "hint", "paths with spaces or shell characters cannot be passed to certbot's hook"));
	sb_free(&b);
}

static int tj_paths(struct tj *t)
{
	const char *d = t->cfg->data_dir;
	int err = 0;

	err |= tls_path(t->certs, sizeof t->certs, d, TLS_CERTS_DIR, NULL);
	err |= tls_path(t->self_crt, sizeof t->self_crt, d, TLS_SELF_CRT, NULL);
	err |= tls_path(t->self_key, sizeof t->self_key, d, TLS_SELF_KEY, NULL);
	err |= tls_path(t->webroot, sizeof t->webroot, d, TLS_WEBROOT, NULL);
	err |= tls_path(t->acme_dir, sizeof t->acme_dir, d, TLS_ACME_DIR, NULL);
	return err ? -ENAMETOOLONG : 0;
}

/* ---- certbot --------------------------------------------------------------- */

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

/* Runs certbot with argv (argv[0] the binary), stdout and stderr into a
 * pipe, in its own process group (killed with it after the timeout). 0 exit
 * status 0; -EIO other status; -ETIMEDOUT; -errno when it cannot start.
 * msg gets the reason of a failure. */
static int certbot_run(struct tj *t, const char *const *argv, const char *what, char *msg,
		       size_t msgsz)
{
	char out[OUT_KEEP] = "", buf[1024];
	size_t used = 0, nenv = 0;
	char **envp = NULL;
	int pfd[2] = { -1, -1 }, status = 0, rc = 0, devnull;
	double deadline = mono() + t->timeout;
	bool open_pipe = true, timed_out = false, exited = false;
	pid_t pid;

	msg[0] = '\0';
	while (environ[nenv])
		nenv++;
	if (!(envp = calloc(nenv + 2, sizeof *envp)))
		return -ENOMEM;
	for (size_t i = 0, k = 0; i < nenv; i++)
		if (strncmp(environ[i], IN_JOB_ENV "=", sizeof IN_JOB_ENV) != 0)
			envp[k++] = environ[i];
	for (nenv = 0; envp[nenv]; nenv++)
		;
	envp[nenv] = (char *)IN_JOB_ENV "=1";
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		rc = -errno;
		free(envp);
		snprintf(msg, msgsz, "pipe: %s", strerror(-rc));
		return rc;
	}
	log_info(COMP, "tls_certbot_started", json_pack("{s:s,s:s,s:s,s:s}", "task_id", t->j.task_id,
		 "run", what, "certbot", argv[0], "domain", t->domain));
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
		snprintf(msg, msgsz, "certbot did not finish within %d s", t->timeout);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = -EIO;
		out_reason(out, msg, msgsz);
	}
	/* certbot prints neither keys nor the account's secrets */
	if (rc == 0)
		log_debug(COMP, "tls_certbot_done", json_pack("{s:s,s:s,s:s}", "task_id", t->j.task_id,
			  "run", what, "output", out));
	else
		log_warn(COMP, "tls_certbot_failed", json_pack("{s:s,s:s,s:s,s:i,s:s,s:s}", "task_id",
			 t->j.task_id, "run", what, "domain", t->domain, "exit_status", WIFEXITED(status)
			 ? WEXITSTATUS(status) : -1, "error", msg, "output", out));
	return rc;
}

/* certonly (issue; a --dry-run for the test) or renew of t->domain. */
static int certbot_for(struct tj *t, const char *what, char *msg, size_t msgsz)
{
	char work[PATH_MAX + 8], logs[PATH_MAX + 8];
	const char *argv[40];
	int n = 0;
	bool renew = strcmp(what, "renew") == 0, dry = strcmp(what, "dry-run") == 0;

	snprintf(work, sizeof work, "%s/work", t->acme_dir);
	snprintf(logs, sizeof logs, "%s/logs", t->acme_dir);
	argv[n++] = t->certbot;
	if (renew) {
		argv[n++] = "renew";
		argv[n++] = "--no-random-sleep-on-renew";
	} else {
		argv[n++] = "certonly";
		argv[n++] = "--webroot";
		argv[n++] = "-w";
		argv[n++] = t->webroot;
		argv[n++] = "-d";
		argv[n++] = t->domain;
		argv[n++] = "--agree-tos";
		argv[n++] = "--keep-until-expiring";
		if (t->cfg->acme_email[0]) {
			argv[n++] = "--email";
			argv[n++] = t->cfg->acme_email;
		} else {
			argv[n++] = "--register-unsafely-without-email";
		}
		if (t->hook[0]) {
			argv[n++] = "--deploy-hook";
			argv[n++] = t->hook;
		}
	}
	argv[n++] = "--cert-name";
	argv[n++] = t->domain;
	argv[n++] = "--non-interactive";
	argv[n++] = "--config-dir";
	argv[n++] = t->acme_dir;
	argv[n++] = "--work-dir";
	argv[n++] = work;
	argv[n++] = "--logs-dir";
	argv[n++] = logs;
	if (t->server) {
		argv[n++] = "--server";
		argv[n++] = t->server;
	}
	if (dry)
		argv[n++] = "--dry-run";
	argv[n] = NULL;
	return certbot_run(t, argv, what, msg, msgsz);
}

/* ---- the modes --------------------------------------------------------------- */

static void fmt_day(char out[32], time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%d", &tm);
}

/* The self-signed pair, made anew when it cannot serve for TLS_RENEW_DAYS
 * more. 0 or -errno (logged). */
static int tj_selfsigned(struct tj *t)
{
	char why[PATH_MAX + 128];
	int err = tls_pair_check(t->self_crt, t->self_key, time(NULL), TLS_RENEW_DAYS * 86400LL, NULL,
				 why, sizeof why);

	if (err == 0)
		return 0;
	if ((err = tls_selfsigned_create(t->self_crt, t->self_key)) < 0) {
		log_error(COMP, "tls_selfsigned_failed", json_pack("{s:s,s:s,s:s,s:s}", "task_id",
			  t->j.task_id, "path", t->self_crt, "error", strerror(-err), "reason", why));
		return err;
	}
	log_info(COMP, "tls_selfsigned_renewed", json_pack("{s:s,s:s,s:s}", "task_id", t->j.task_id,
		 "path", t->self_crt, "reason", why));
	return 0;
}

/* The domain of acme mode, or "" (logged by the caller). */
static void tj_domain(struct tj *t)
{
	char *host = NULL;

	if (t->cfg->acme_domain[0])
		snprintf(t->domain, sizeof t->domain, "%s", t->cfg->acme_domain);
	else if (db_setting_get(t->j.db, "hostname", &host) >= 0 && host)
		snprintf(t->domain, sizeof t->domain, "%s", host);
	free(host);
}

/* 0 when the ACME pair is usable (issued or renewed as needed), else -1
 * with the warning set. */
static int tj_acme(struct tj *t)
{
	char why[PATH_MAX + 128], msg[400], day[32];
	struct tls_cert_info before, after;
	const char *run;
	int have, due, crc;

	if (!t->domain[0] || v_hostname(t->domain)) {
		tj_warn(t, "tls_acme_fallback", "no usable domain for Let's Encrypt (%s); serving the "
			"self-signed certificate", t->domain[0] ? "the hostname is not a valid DNS name"
			: "set tls.acme_domain or the hostname setting");
		return -1;
	}
	if (tls_path(t->acme_crt, sizeof t->acme_crt, t->cfg->data_dir, TLS_ACME_CRT, t->domain) < 0
	    || tls_path(t->acme_key, sizeof t->acme_key, t->cfg->data_dir, TLS_ACME_KEY, t->domain) < 0) {
		tj_warn(t, "tls_acme_fallback", "data directory path too long; serving the self-signed "
			"certificate");
		return -1;
	}
	have = tls_pair_check(t->acme_crt, t->acme_key, time(NULL), 0, &before, why, sizeof why) == 0;
	due = !have || tls_pair_check(t->acme_crt, t->acme_key, time(NULL),
				      TLS_RENEW_DAYS * 86400LL, NULL, NULL, 0) < 0;
	if (!due || t->no_certbot) {
		if (have)
			return 0;
		tj_warn(t, "tls_acme_fallback", "no Let's Encrypt certificate for %s (%s); serving the "
			"self-signed certificate", t->domain, why);
		return -1;
	}
	if (tj_mkdir(t->acme_dir, 0700) < 0 || tj_mkdir(t->webroot, 0755) < 0)
		log_warn(COMP, "tls_mkdir_failed", json_pack("{s:s,s:s,s:s}", "task_id", t->j.task_id,
			 "path", t->acme_dir, "error", strerror(errno)));
	/* a lineage certbot knows is renewed; anything else issued anew */
	run = have || access(t->acme_crt, F_OK) == 0 ? "renew" : "certonly";
	crc = certbot_for(t, run, msg, sizeof msg);
	if (crc < 0 && strcmp(run, "renew") == 0 && !have) {
		/* a broken lineage: ask for a new certificate */
		run = "certonly";
		crc = certbot_for(t, run, msg, sizeof msg);
	}
	if (tls_pair_check(t->acme_crt, t->acme_key, time(NULL), 0, &after, why, sizeof why) == 0) {
		if (crc < 0) {
			fmt_day(day, after.not_after);
			tj_warn(t, "tls_acme_renew_failed", "renewing the Let's Encrypt certificate for %s "
				"failed: %s; the current one stays until %s", t->domain, msg, day);
			log_warn(COMP, "tls_acme_renew_failed", json_pack("{s:s,s:s,s:s,s:I}", "task_id",
				 t->j.task_id, "domain", t->domain, "error", msg, "not_after",
				 (json_int_t)after.not_after));
		} else if (!have || after.not_after != before.not_after) {
			log_info(COMP, have ? "tls_renewed" : "tls_provisioned", json_pack("{s:s,s:s,s:s,s:I}",
				 "task_id", t->j.task_id, "domain", t->domain, "issuer", after.issuer_cn,
				 "not_after", (json_int_t)after.not_after));
		}
		return 0;
	}
	tj_warn(t, "tls_acme_fallback", "Let's Encrypt certificate for %s failed: %s; serving the "
		"self-signed certificate", t->domain, crc < 0 ? msg : why);
	return -1;
}

/* 0 when tls.cert_file/key_file can be served, else -1 with the warning. */
static int tj_manual(struct tj *t, char *ok_msg, size_t ok_msgsz)
{
	const struct config *c = t->cfg;
	char why[2 * PATH_MAX + 64];
	struct tls_cert_info ci;

	if (!c->tls_cert_file[0] || !c->tls_key_file[0]) {
		tj_warn(t, "tls_manual_fallback", "tls.cert_file and tls.key_file must both be set; serving "
			"the self-signed certificate");
		return -1;
	}
	if (tls_pair_check(c->tls_cert_file, c->tls_key_file, time(NULL), 0, &ci, why, sizeof why) < 0) {
		tj_warn(t, "tls_manual_fallback", "%s; serving the self-signed certificate", why);
		return -1;
	}
	if ((long long)ci.not_after - (long long)time(NULL) < TLS_RENEW_DAYS * 86400LL)
		log_warn(COMP, "tls_manual_expiring", json_pack("{s:s,s:s,s:I,s:s}", "task_id", t->j.task_id,
			 "path", c->tls_cert_file, "not_after", (json_int_t)ci.not_after, "hint",
			 "install a renewed certificate and run `wgpilot tls apply`"));
	snprintf(ok_msg, ok_msgsz, "%s", why);
	return 0;
}

/* ---- switching and nginx ------------------------------------------------------ */

/* SIGHUP to the nginx master named by the pid file. 0 or -errno. */
static int nginx_reload(struct tj *t)
{
	char buf[32] = "", comm[64] = "", path[64];
	FILE *f = fopen(t->pidfile, "re");
	long pid = 0;
	char *end;

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	pid = strtol(buf, &end, 10);
	if (pid <= 1 || (*end && *end != '\n'))
		return -EINVAL;
	/* a stale pid file must not make us signal someone else */
	snprintf(path, sizeof path, "/proc/%ld/comm", pid);
	if ((f = fopen(path, "re"))) {
		if (!fgets(comm, sizeof comm, f))
			comm[0] = '\0';
		fclose(f);
	}
	if (strncmp(comm, "nginx", 5) != 0)
		return -ESRCH;
	return kill((pid_t)pid, SIGHUP) < 0 ? -errno : 0;
}

/* Serves the pair of src; reloads nginx when that changed what it serves.
 * 0 or -errno (logged). */
static int tj_serve(struct tj *t, enum src src)
{
	const char *crt = src == SRC_SELF ? t->self_crt : src == SRC_ACME ? t->acme_crt : t->cfg->tls_cert_file;
	const char *key = src == SRC_SELF ? t->self_key : src == SRC_ACME ? t->acme_key : t->cfg->tls_key_file;
	char was[32], day[32];
	struct tls_cert_info ci;
	int rc, err;

	tls_served_source(t->certs, was, sizeof was);
	rc = tls_serve(t->certs, crt, key, src_names[src]);
	if (rc < 0) {
		log_error(COMP, "tls_switch_failed", json_pack("{s:s,s:s,s:s,s:s}", "task_id", t->j.task_id,
			  "source", src_names[src], "path", crt, "error", strerror(-rc)));
		return rc;
	}
	if (rc == 0) {
		log_debug(COMP, "tls_unchanged", json_pack("{s:s,s:s}", "task_id", t->j.task_id, "source",
			  src_names[src]));
		return 0;
	}
	t->switched = true;
	tls_cert_info(crt, &ci);
	fmt_day(day, ci.not_after);
	snprintf(t->report, sizeof t->report, "now serving the %s certificate%s%s (issuer %s, valid until %s)",
		 src_names[src], src == SRC_ACME ? " for " : "", src == SRC_ACME ? t->domain : "",
		 ci.issuer_cn[0] ? ci.issuer_cn : "unnamed", day);
	log_info(COMP, "tls_switched", json_pack("{s:s,s:s,s:s,s:s,s:I}", "task_id", t->j.task_id,
		 "source", src_names[src], "previous", was[0] ? was : "none", "issuer", ci.issuer_cn,
		 "not_after", (json_int_t)ci.not_after));
	if ((err = nginx_reload(t)) == -ENOENT)
		log_info(COMP, "tls_nginx_not_running", json_pack("{s:s,s:s}", "task_id", t->j.task_id,
			 "pid_file", t->pidfile));
	else if (err < 0)
		log_warn(COMP, "tls_nginx_reload_failed", json_pack("{s:s,s:s,s:s,s:s}", "task_id",
			 t->j.task_id, "pid_file", t->pidfile, "error", err == -ESRCH
			 ? "no nginx process with that pid" : strerror(-err), "hint",
			 "nginx reads the new certificate when it starts or reloads (systemctl reload nginx)"));
	else
		log_info(COMP, "tls_nginx_reloaded", json_pack("{s:s,s:s}", "task_id", t->j.task_id,
			 "pid_file", t->pidfile));
	return 0;
}

/* ---- tls_status ------------------------------------------------------------------ */

/* tls_status as an object: a new one when absent or not an object. NULL
 * on a DB error or out of memory; *text gets the stored text (or NULL). */
static json_t *status_load(sqlite3 *db, char **text)
{
	json_t *st = NULL;

	*text = NULL;
	if (db_setting_get(db, "tls_status", text) < 0)
		return NULL;
	if (*text)
		st = json_loads(*text, 0, NULL);
	if (!json_is_object(st)) {
		json_decref(st);
		st = json_object();
	}
	return st;
}

/* Stores st when it differs from old. 0 or -errno. */
static int status_store(sqlite3 *db, json_t *st, const char *old)
{
	char *text = json_dumps(st, JSON_COMPACT);
	int err = text ? 0 : -ENOMEM;

	if (text && (!old || strcmp(old, text) != 0))
		err = db_setting_set(db, "tls_status", text);
	free(text);
	return err;
}

/* Takes a queued test (removes "test_requested_at"). 1 taken, 0 none, -1
 * DB error. */
static int status_take_test(struct tj *t)
{
	sqlite3 *db = t->j.db;
	char *old = NULL;
	json_t *st;
	int rc = 0;

	if (db_exec(db, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (!(st = status_load(db, &old)))
		rc = -1;
	else if (json_object_get(st, "test_requested_at")) {
		json_object_del(st, "test_requested_at");
		rc = status_store(db, st, old) < 0 ? -1 : 1;
	}
	if (rc < 0 || db_exec(db, "COMMIT") < 0) {
		db_exec(db, "ROLLBACK");
		rc = -1;
	}
	json_decref(st);
	free(old);
	return rc;
}

/* One notification for a new warning: the alert mailer when configured,
 * else the log line alone. */
static void tj_alert(struct tj *t)
{
	struct mail_settings m;
	struct sbuf html = SBUF_INIT;
	const char *delivery = "log";
	int mail_ok;

	memset(&m, 0, sizeof m);
	mail_ok = mail_settings_load(t->cfg, t->j.db, &m);
	if (mail_ok == 1) {
		sb_puts(&html, "<!DOCTYPE html>\r\n<html><body style=\"font-family: sans-serif\">\r\n"
			"<p>The HTTPS certificate of this wgpilot (mode <b>");
		sb_html_str(&html, t->cfg->tls_mode);
		sb_puts(&html, "</b>) needs attention:</p>\r\n<p>");
		sb_html_str(&html, t->warn_msg);
		sb_puts(&html, "</p>\r\n<p style=\"color: #666\">This is an automatic notice from wgpilot;"
			" it is sent once per incident and again only after the condition cleared.</p>\r\n"
			"</body></html>\r\n");
		delivery = html.oom || mail_send(&m, "[wgpilot] TLS certificate problem", html.s) < 0
			   ? "log (e-mail failed)" : "email";
	} else {
		delivery = "log (e-mail not configured)";
	}
	log_warn(COMP, "alert_fired", json_pack("{s:s,s:s,s:s,s:s,s:s}", "task_id", t->j.task_id,
		 "type", t->warn_code, "subject", "tls", "message", t->warn_msg, "delivery", delivery));
	sb_free(&html);
	mail_settings_clear(&m);
}

/* Writes the run's outcome into tls_status (only what changed), then
 * alerts for a new warning. 0 or -1 (DB error, logged). */
static int tj_report(struct tj *t)
{
	sqlite3 *db = t->j.db;
	json_t *st, *w;
	char *old = NULL, prev[64] = "";
	bool fresh = false, cleared = false;
	long long now = (long long)time(NULL);
	int err = 0;

	if (db_exec(db, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (!(st = status_load(db, &old))) {
		err = -EIO;
		goto out;
	}
	w = json_object_get(st, "warning");
	if (json_is_string(json_object_get(w, "code")))
		snprintf(prev, sizeof prev, "%s", json_string_value(json_object_get(w, "code")));
	if (t->warn_code) {
		fresh = strcmp(prev, t->warn_code) != 0;
		if (fresh)
			json_object_set_new(st, "warning", json_pack("{s:s,s:s,s:I}", "code", t->warn_code,
					    "message", t->warn_msg, "since", (json_int_t)now));
		else
			json_object_set_new(w, "message", json_string(t->warn_msg));
	} else if (w) {
		cleared = true;
		json_object_del(st, "warning");
	}
	if (t->tested) {
		json_object_set_new(st, "ok", json_boolean(t->test_ok));
		json_object_set_new(st, "at", json_integer(now));
		json_object_set_new(st, "message", json_string(t->test_msg));
	} else if (t->switched || fresh || cleared) {
		json_object_set_new(st, "ok", json_boolean(!t->warn_code));
		json_object_set_new(st, "at", json_integer(now));
		json_object_set_new(st, "message", json_string(t->warn_code ? t->warn_msg : t->switched
				    ? t->report : "the configured certificate is served again"));
	}
	err = status_store(db, st, old);
out:
	if (err < 0 || db_exec(db, "COMMIT") < 0) {
		db_exec(db, "ROLLBACK");
		err = -EIO;
	}
	json_decref(st);
	free(old);
	if (err < 0) {
		log_error(COMP, "tls_status_failed", json_pack("{s:s,s:s}", "task_id", t->j.task_id,
			  "error", "cannot store tls_status"));
		return -1;
	}
	if (fresh)
		tj_alert(t);
	if (cleared)
		log_info(COMP, "alert_cleared", json_pack("{s:s,s:s,s:s}", "task_id", t->j.task_id,
			 "type", prev, "subject", "tls"));
	return 0;
}

/* ---- the test ------------------------------------------------------------------ */

static void tj_test(struct tj *t, enum src want, const char *mode_msg)
{
	char why[PATH_MAX + 128], msg[400];

	t->tested = true;
	if (want == SRC_ACME) {
		if (!t->domain[0] || v_hostname(t->domain)) {
			snprintf(t->test_msg, sizeof t->test_msg, "no usable domain: set tls.acme_domain or the "
				 "hostname setting");
			return;
		}
		tj_mkdir(t->acme_dir, 0700);
		tj_mkdir(t->webroot, 0755);
		t->test_ok = certbot_for(t, "dry-run", msg, sizeof msg) == 0;
		snprintf(t->test_msg, sizeof t->test_msg, t->test_ok ? "certbot --dry-run for %s succeeded"
			 : "certbot --dry-run for %s failed: %s", t->domain, msg);
	} else if (want == SRC_MANUAL) {
		/* tj_manual set the warning or the description */
		t->test_ok = !t->warn_code;
		snprintf(t->test_msg, sizeof t->test_msg, "%.700s", t->test_ok ? mode_msg : t->warn_msg);
	} else {
		t->test_ok = tls_pair_check(t->self_crt, t->self_key, time(NULL), 0, NULL, why, sizeof why) == 0;
		snprintf(t->test_msg, sizeof t->test_msg, "self-signed certificate: %.700s", why);
	}
	log_info(COMP, "tls_test_done", json_pack("{s:s,s:b,s:s}", "task_id", t->j.task_id, "ok",
		 t->test_ok, "message", t->test_msg));
}

/* ---- the command ------------------------------------------------------------- */

static int tj_run(struct tj *t)
{
	const struct config *c = t->cfg;
	enum src want = strcmp(c->tls_mode, "acme") == 0 ? SRC_ACME
			: strcmp(c->tls_mode, "manual") == 0 ? SRC_MANUAL : SRC_SELF;
	enum src serve = want;
	char manual_msg[2 * PATH_MAX + 64] = "";
	int taken = 0, rounds = 0;

	if (tj_paths(t) < 0) {
		log_error(COMP, "tls_path_too_long", json_pack("{s:s,s:s}", "task_id", t->j.task_id,
			  "data_dir", c->data_dir));
		return 1;
	}
	if (tj_mkdir(t->certs, 0710) < 0 || tj_selfsigned(t) < 0)
		return 1;
	tj_domain(t);
	tj_hook(t);
	if (!t->no_certbot && (taken = status_take_test(t)) < 0)
		return 1;
	if (want == SRC_ACME && tj_acme(t) < 0)
		serve = SRC_SELF;
	else if (want == SRC_MANUAL && tj_manual(t, manual_msg, sizeof manual_msg) < 0)
		serve = SRC_SELF;
	if (t->warn_code && serve == SRC_SELF)
		log_warn(COMP, t->warn_code, json_pack("{s:s,s:s,s:s,s:s}", "task_id", t->j.task_id, "mode",
			 c->tls_mode, "error", t->warn_msg, "hint", want == SRC_ACME
			 ? "port 80 must reach this host for the domain (HTTP-01); see certs/acme/logs"
			 : "fix tls.cert_file / tls.key_file, then run `wgpilot tls apply`"));
	if (tj_serve(t, serve) < 0)
		return 1;
	/* tests queued while this run went on are answered too (the path unit
	 * does not start a job that is still running) */
	while (taken == 1 && rounds++ < 3) {
		tj_test(t, want, manual_msg);
		if (tj_report(t) < 0)
			return 1;
		t->tested = t->switched = false;
		if ((taken = status_take_test(t)) < 0)
			return 1;
	}
	if (rounds == 0 && tj_report(t) < 0)
		return 1;
	return 0;
}

int cmd_tls(struct cli *c, const char *sub)
{
	struct tj *t;
	int rc;
	long timeout;

	if (strcmp(sub, "apply") != 0 && strcmp(sub, "deployed") != 0)
		return -2;
	if (strcmp(sub, "deployed") == 0 && getenv(IN_JOB_ENV)) {
		/* certbot run by `tls apply`: that run switches after certbot */
		log_debug(COMP, "tls_deploy_hook_in_job", NULL);
		return 0;
	}
	if (!(t = calloc(1, sizeof *t))) {
		fprintf(stderr, "wgpilot: out of memory\n");
		return 1;
	}
	t->cfg = &c->cfg;
	t->no_certbot = strcmp(sub, "deployed") == 0;
	t->certbot = env_or("WGPILOT_TLS_CERTBOT", CERTBOT_DEFAULT);
	t->server = env_or("WGPILOT_TLS_ACME_SERVER", NULL);
	t->pidfile = env_or("WGPILOT_TLS_NGINX_PID", NGINX_PID_DEFAULT);
	timeout = strtol(env_or("WGPILOT_TLS_CERTBOT_TIMEOUT", "0"), NULL, 10);
	t->timeout = timeout > 0 && timeout <= 3600 ? (int)timeout : CERTBOT_TIMEOUT;
	rc = job_begin(c, &t->j, "tls", COMP);
	if (rc > 0) {
		log_info(COMP, "tls_apply_started", json_pack("{s:s,s:s,s:b}", "task_id", t->j.task_id,
			 "mode", c->cfg.tls_mode, "deploy_hook", t->no_certbot));
		rc = tj_run(t);
		log_info(COMP, "tls_apply_done", json_pack("{s:s,s:s,s:s,s:b,s:f}", "task_id", t->j.task_id,
			 "mode", c->cfg.tls_mode, "warning", t->warn_code ? t->warn_code : "", "switched",
			 t->switched, "duration_s", job_elapsed(&t->j)));
	} else {
		rc = rc == 0 ? 0 : 1;
	}
	job_end(&t->j);
	free(t);
	return rc;
}
