/* SPDX-License-Identifier: MIT */
/* See startup.h. */
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "startup.h"

int startup_flag(struct startup_flags *f, int opt, const char *arg)
{
	switch (opt) {
	case 'c': f->config = arg; return 1;
	case 'd': f->data_dir = arg; return 1;
	case 'l': f->log_level = arg; return 1;
	case 'D': f->dev_mode = 1; return 1;
	default: return 0;
	}
}

void startup_print_errors(const char *prog, const struct config *cfg,
			  const struct config_errors *errs)
{
	for (int i = 0; i < errs->n; i++) {
		const struct config_error *e = &errs->e[i];

		if (e->line > 0)
			fprintf(stderr, "%s:%d: ", cfg->path[0] ? cfg->path : "config", e->line);
		else
			fprintf(stderr, "%s: ", prog);
		fprintf(stderr, "%s%s%s\n", e->key, e->key[0] ? ": " : "", e->message);
	}
}

int startup_config(const char *prog, struct config *cfg, const struct startup_flags *f)
{
	struct config_errors errs = { .n = 0 };
	int lvl;

	if (config_load(cfg, f->config, f->data_dir, f->log_level, f->dev_mode, &errs) < 0) {
		startup_print_errors(prog, cfg, &errs);
		return -1;
	}
	lvl = log_level_parse(cfg->log_level);
	log_setup(lvl < 0 ? LOG_INFO : (enum log_level)lvl, strcmp(cfg->log_format, "text") != 0);
	return 0;
}
