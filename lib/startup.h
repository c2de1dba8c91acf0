/* SPDX-License-Identifier: MIT */
/* The start of every program: the global flags of operations.md §2, loading
 * the configuration with them, reporting its errors, and setting up logging. */
#ifndef WGP_STARTUP_H
#define WGP_STARTUP_H

#include <getopt.h>
#include "config.h"

/* Entries for a program's struct option table. */
#define STARTUP_OPTIONS \
	{ "config", required_argument, NULL, 'c' }, \
	{ "data-dir", required_argument, NULL, 'd' }, \
	{ "log-level", required_argument, NULL, 'l' }, \
	{ "dev-mode", no_argument, NULL, 'D' }

struct startup_flags {
	const char *config, *data_dir, *log_level;
	int dev_mode;                   /* -1 = not given */
};
#define STARTUP_FLAGS_INIT { NULL, NULL, NULL, -1 }

/* Takes one getopt_long result: 1 when it was a global flag, else 0. */
int startup_flag(struct startup_flags *f, int opt, const char *arg);
/* Prints each error as "FILE:LINE: key: message" (or "PROG: key: message"). */
void startup_print_errors(const char *prog, const struct config *cfg,
			  const struct config_errors *errs);
/* config_load with the flags, errors printed, logging set up from the
 * config. 0, or -1 when the configuration is unusable. */
int startup_config(const char *prog, struct config *cfg, const struct startup_flags *f);

#endif
