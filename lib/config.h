/* SPDX-License-Identifier: MIT */
/*
 * Configuration (operations.md §3): defaults < YAML file < environment
 * (WGPILOT_<SECTION>_<KEY>) < command-line flags. The file is parsed with
 * libyaml; only a mapping of sections, each a mapping of scalars, is valid.
 */
#ifndef WGP_CONFIG_H
#define WGP_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define CONFIG_DEFAULT_PATH "/etc/wgpilot/config.yaml"
#define CONFIG_DEFAULT_DATA_DIR "/var/lib/wgpilot"

struct config {
	/* server */
	char listen[128];               /* "0.0.0.0:443" */
	bool dev_mode;
	/* database */
	char db_path[PATH_MAX];         /* "/var/lib/wgpilot/wgpilot.db" */
	/* auth */
	long long session_ttl;          /* seconds, "24h" */
	int bcrypt_cost;                /* accepted and ignored (Go only) */
	unsigned long long argon2_opslimit;     /* 0 = libsodium INTERACTIVE */
	size_t argon2_memlimit;         /* bytes; 0 = libsodium INTERACTIVE */
	int rate_limit_rpm;             /* 5 */
	char master_key_file[PATH_MAX]; /* (C design) "/etc/wgpilot/master.key" */
	/* tls */
	char tls_mode[16];              /* self-signed|acme|manual */
	char tls_cert_file[PATH_MAX], tls_key_file[PATH_MAX];
	char acme_email[256], acme_domain[256];
	/* logging */
	char log_level[8];              /* debug|info|warn|error */
	char log_format[8];             /* json|text */
	/* monitor */
	long long poll_interval;        /* s, 30 */
	long long snapshot_retention;   /* s, 365d */
	long long compaction_interval;  /* s, 24h */
	bool event_driven;
	/* reconciler */
	char rec_socket[PATH_MAX];      /* "/run/wgpilot/reconciler.sock" */
	char rec_backend[16];           /* auto|kernel|userspace */
	char rec_userspace_binary[PATH_MAX];
	long long resync_interval;      /* s, 60 */
	/* metrics */
	char metrics_allow[512];

	/* derived / bookkeeping */
	char path[PATH_MAX];            /* config file used ("" if none) */
	char data_dir[PATH_MAX];        /* dirname(db_path) */
};

/* One problem found while loading: line is 0 for environment/flags. */
struct config_error {
	int line;
	char key[96];                   /* "auth.session_ttl", or "" */
	char message[160];
};

struct config_errors {
	struct config_error e[32];
	int n;
};

/* Fills every default. */
void config_defaults(struct config *c);

/* Applies the YAML file at path. Unknown sections/keys, wrong types (sequences,
 * nested mappings below a section), and invalid values are each reported in
 * errs with their line; loading continues past bad keys. Errors are appended
 * to errs (which may be NULL); a syntax error adds exactly one and leaves c
 * untouched; c->path is set when the file was read.
 * Returns 0 (even with errs->n > 0: the caller decides), -ENOENT when the file
 * does not exist, -EINVAL for a YAML syntax error (reported in errs), other -errno. */
int config_load_file(struct config *c, const char *path, struct config_errors *errs);

/* Applies WGPILOT_<SECTION>_<KEY> variables of envp (NULL-terminated, e.g.
 * environ); the first '_' after the section splits: WGPILOT_AUTH_SESSION_TTL ->
 * auth.session_ttl. WGPILOT_CONFIG and WGPILOT_DATA_DIR are not keys and are
 * skipped here. Unknown keys are reported. Returns the number of errors. */
int config_apply_env(struct config *c, char *const *envp, struct config_errors *errs);

/* Sets one key ("section.key") from text, validating it. 0, or -ENOENT unknown
 * key, -EINVAL bad value (message in msg). */
int config_set(struct config *c, const char *key, const char *value, char *msg, size_t msgsz);

/* --data-dir: sets db_path = dir/wgpilot.db (and data_dir). Leaves c as it
 * was for "" or a dir too long for PATH_MAX (config_load reports both). */
void config_set_data_dir(struct config *c, const char *dir);

/*
 * The usual sequence for every program: defaults, file (path, or
 * $WGPILOT_CONFIG, or CONFIG_DEFAULT_PATH read only if present), environment
 * (incl. $WGPILOT_DATA_DIR), then the flags already parsed by the caller:
 * flag_data_dir, flag_log_level, flag_dev_mode (< 0 = not given) override.
 * Dev mode then raises log_level "info" to "debug". errs is reset first
 * (may be NULL). 0 when usable; -EINVAL with errs filled otherwise (an
 * unreadable or missing named file is an error with line 0).
 */
int config_load(struct config *c, const char *path, const char *flag_data_dir,
                const char *flag_log_level, int flag_dev_mode, struct config_errors *errs);

#endif
