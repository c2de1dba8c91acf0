/* SPDX-License-Identifier: MIT */
/*
 * certbot for `wgpilot tls apply` (wgpilot/tlsjob.c, operations.md §6, C
 * design): the argument vector of each run, the deploy hook's command line,
 * and the run itself: fork/execve (no shell) in its own process group,
 * stdin /dev/null, stdout and stderr captured (the newest 4 KiB) into the
 * log, killed (SIGTERM, 5 s later SIGKILL) after the timeout.
 */
#ifndef WGP_CERTBOT_H
#define WGP_CERTBOT_H

#include <stddef.h>

/* Set in certbot's environment: `wgpilot tls deployed` run as the deploy
 * hook of a certbot started by the job does nothing (the job itself
 * switches after certbot). */
#define CERTBOT_IN_JOB_ENV "WGP_TLS_IN_JOB"

enum certbot_op {
	CERTBOT_CERTONLY,       /* certonly --webroot: issue (--keep-until-expiring) */
	CERTBOT_RENEW,          /* renew --cert-name: the lineage, when due */
	CERTBOT_DRY_RUN,        /* certonly --dry-run: the queued test */
	CERTBOT_OP__MAX
};

/* What every run of one job shares. Strings are borrowed. */
struct certbot {
	const char *bin;        /* the certbot binary (execve, no PATH search) */
	const char *server;     /* ACME directory (--server); NULL: certbot's default */
	const char *config_dir; /* --config-dir; work/ and logs/ below it */
	const char *webroot;    /* -w */
	const char *domain;     /* -d and --cert-name */
	const char *email;      /* --email; "": --register-unsafely-without-email */
	const char *hook;       /* --deploy-hook for certonly; "": none */
	int timeout;            /* seconds */
	const char *task_id;    /* for the log lines */
};

/* "certonly", "renew", "dry-run": the "run" field of the log lines. */
const char *certbot_op_name(enum certbot_op op);

/* Runs certbot for op. Logs tls_certbot_started, then tls_certbot_done
 * (debug, with the output) or tls_certbot_failed (warn, with the output).
 * 0 on exit status 0; -EIO any other status; -ETIMEDOUT; -errno when it
 * cannot start. On failure msg (always written) gets a one-line reason:
 * the last meaningful line of certbot's output, or the system error. */
int certbot_run(const struct certbot *cb, enum certbot_op op, char *msg, size_t msgsz);

/* Writes the deploy hook's command line into out: "<exe> [--config
 * config_path] [--data-dir data_dir] tls deployed" (exe: this program;
 * --config when config_path is not ""; --data-dir when db_path is the
 * default <data_dir>/wgpilot.db). certbot runs it through a shell, so only
 * paths of plain characters (no spaces, quotes or shell syntax) are
 * accepted. 0; -EINVAL (out = "") when a path cannot be passed safely;
 * -ENAMETOOLONG or -ENOMEM (out = ""). */
int certbot_hook(char *out, size_t outsz, const char *config_path, const char *data_dir,
		 const char *db_path);

#endif
