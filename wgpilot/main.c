/* SPDX-License-Identifier: MIT */
/* wgpilot: the command-line tool (operations.md §2). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "db.h"
#include "log.h"
#include "startup.h"

static void usage(FILE *to)
{
	fputs("usage: wgpilot [--config FILE] [--data-dir DIR] [--log-level LEVEL] [--dev-mode]\n"
	      "               COMMAND [ARGS]\n"
	      "\n"
	      "commands:\n"
	      "  init [--admin-pass=STRING]   create the data dir, database, master key and\n"
	      "                               certificate; print the one-time setup password\n"
	      "  migrate                      apply pending database migrations\n"
	      "  config check                 validate the configuration file\n"
	      "  status [--json]              live interfaces and peers (from the reconciler)\n"
	      "  reconcile [--network ID [--peer ID]]\n"
	      "                               make the kernel match the database now\n"
	      "  version                      print version, commit and build date\n", to);
}

static int cmd_version(void)
{
	printf("wgpilot %s\n  commit: %s\n  built:  %s\n", PACKAGE_VERSION, WGP_COMMIT, WGP_BUILD_DATE);
	return 0;
}

static int cmd_config_check(struct cli *c, const struct config_errors *errs)
{
	struct stat st;
	int warn = 0;

	if (errs->n > 0) {
		startup_print_errors("wgpilot", &c->cfg, errs);
		fprintf(stderr, "config: %d problem%s found\n", errs->n, errs->n == 1 ? "" : "s");
		return 1;
	}
	printf("config file:  %s\n", c->cfg.path[0] ? c->cfg.path : "(none, defaults)");
	printf("data dir:     %s\n", c->cfg.data_dir);
	printf("database:     %s\n", c->cfg.db_path);
	printf("listen:       %s\n", c->cfg.listen);
	printf("tls mode:     %s\n", c->cfg.tls_mode);
	printf("dev mode:     %s\n", c->cfg.dev_mode ? "true" : "false");
	if (stat(c->cfg.data_dir, &st) != 0) {
		printf("WARN: data dir %s does not exist (run `wgpilot init`)\n", c->cfg.data_dir);
		warn = 1;
	} else if (stat(c->cfg.db_path, &st) != 0) {
		printf("WARN: database %s does not exist (run `wgpilot init`)\n", c->cfg.db_path);
		warn = 1;
	}
	printf("config OK%s\n", warn ? " (with warnings)" : "");
	return 0;
}

int cmd_migrate(struct cli *c)
{
	sqlite3 *db;
	int applied = 0, err = db_open(c->cfg.db_path, DB_RDWR, &db);

	if (err < 0) {
		fprintf(stderr, "wgpilot: cannot open %s: %s\n", c->cfg.db_path, strerror(-err));
		return 1;
	}
	err = db_migrate(db, &applied);
	db_close(db);
	if (err == -EPROTO) {
		fprintf(stderr, "wgpilot: database %s is newer than this program; upgrade wgpilot\n",
			c->cfg.db_path);
		return 1;
	}
	if (err < 0) {
		fprintf(stderr, "wgpilot: migration failed: %s\n", strerror(-err));
		return 1;
	}
	printf("%d migration%s applied, schema at version %d\n", applied, applied == 1 ? "" : "s",
	       db_migrations_count);
	return 0;
}

/* Global flags and init's --admin-pass, before or after the command. */
static int parse_flags(int argc, char **argv, struct startup_flags *f, struct cli *c)
{
	static const struct option opts[] = {
		STARTUP_OPTIONS,
		{ "admin-pass", required_argument, NULL, 'p' },
		{ "network", required_argument, NULL, 'n' },
		{ "peer", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (startup_flag(f, opt, optarg))
			continue;
		switch (opt) {
		case 'p': c->admin_pass = optarg; break;
		case 'n':
			c->network_id = strtoll(optarg, NULL, 10);
			if (c->network_id <= 0)
				return -1;
			break;
		case 'P':
			c->peer_id = strtoll(optarg, NULL, 10);
			if (c->peer_id <= 0)
				return -1;
			break;
		case 'j': c->json = 1; break;
		case 'h': return 1;
		default: return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct cli c;
	struct startup_flags flags = STARTUP_FLAGS_INIT;
	struct config_errors errs = { .n = 0 };
	const char *cmd;
	int loaded, rc;

	if ((rc = parse_flags(argc, argv, &flags, &c)) != 0 || optind >= argc) {
		usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	cmd = argv[optind++];
	if ((rc = parse_flags(argc, argv, &flags, &c)) != 0) {
		usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	if (strcmp(cmd, "version") == 0 && optind == argc)
		return cmd_version();
	loaded = config_load(&c.cfg, flags.config, flags.data_dir, flags.log_level, flags.dev_mode, &errs);
	if (strcmp(cmd, "config") == 0 && optind + 1 == argc && strcmp(argv[optind], "check") == 0)
		return cmd_config_check(&c, &errs);
	if (loaded < 0) {
		startup_print_errors("wgpilot", &c.cfg, &errs);
		return 1;
	}
	log_setup(log_level_parse(c.cfg.log_level) < 0 ? LOG_INFO : log_level_parse(c.cfg.log_level),
		  strcmp(c.cfg.log_format, "text") != 0);
	if (optind != argc || (c.admin_pass && strcmp(cmd, "init") != 0)
	    || ((c.network_id || c.peer_id) && strcmp(cmd, "reconcile") != 0)
	    || (c.peer_id && !c.network_id) || (c.json && strcmp(cmd, "status") != 0)) {
		usage(stderr);
		return 2;
	}
	if (strcmp(cmd, "init") == 0)
		return cmd_init(&c);
	if (strcmp(cmd, "migrate") == 0)
		return cmd_migrate(&c);
	if (strcmp(cmd, "reconcile") == 0)
		return cmd_reconcile(&c, c.network_id, c.peer_id);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(&c, c.json);
	fprintf(stderr, "wgpilot: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
