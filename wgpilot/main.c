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

/* Command flags, to refuse those a command does not take. */
enum {
	F_ADMIN_PASS = 1 << 0, F_NETWORK = 1 << 1, F_PEER = 1 << 2, F_JSON = 1 << 3,
	F_ONCE = 1 << 4, F_OUTPUT = 1 << 5,
};

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
	      "  backup [--output PATH | PATH]\n"
	      "                               consistent copy of the database (VACUUM INTO)\n"
	      "  restore FILE                 replace the database with a verified backup\n"
	      "  diagnose [--json]            offline checks, each problem with its fix\n"
	      "  tls apply                    (root) choose, obtain or renew the certificate nginx\n"
	      "                               serves for tls.mode, reload nginx, run a queued test\n"
	      "  tls deployed                 (root) certbot's deploy hook: switch and reload only\n"
	      "  version                      print version, commit and build date\n"
	      "\n"
	      "cron jobs (each runs once at a time; a second start is a logged no-op):\n"
	      "  snapshot [--once]            sample peer transfer and state, then alerts; without\n"
	      "                               --once samples again at second 30 of the minute\n"
	      "  compact                      thin the snapshot history (hourly, daily, retention)\n"
	      "  expire                       disable peers past their expiry\n"
	      "  gc                           purge login attempts, trim the stored log lines,\n"
	      "                               refresh the detected public IP daily\n", to);
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

/* Global flags and the commands' flags, before or after the command. */
static int parse_flags(int argc, char **argv, struct startup_flags *f, struct cli *c,
		       unsigned *given)
{
	static const struct option opts[] = {
		STARTUP_OPTIONS,
		{ "admin-pass", required_argument, NULL, 'p' },
		{ "network", required_argument, NULL, 'n' },
		{ "peer", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "once", no_argument, NULL, 'o' },
		{ "output", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (startup_flag(f, opt, optarg))
			continue;
		switch (opt) {
		case 'p': c->admin_pass = optarg; *given |= F_ADMIN_PASS; break;
		case 'n':
			c->network_id = strtoll(optarg, NULL, 10);
			if (c->network_id <= 0)
				return -1;
			*given |= F_NETWORK;
			break;
		case 'P':
			c->peer_id = strtoll(optarg, NULL, 10);
			if (c->peer_id <= 0)
				return -1;
			*given |= F_PEER;
			break;
		case 'j': c->json = 1; *given |= F_JSON; break;
		case 'o': c->once = 1; *given |= F_ONCE; break;
		case 'O':
			if (!*optarg)
				return -1;
			c->output = optarg;
			*given |= F_OUTPUT;
			break;
		case 'h': return 1;
		default: return -1;
		}
	}
	return 0;
}

static int run_init(struct cli *c, char **args) { return cmd_init(c); }
static int run_migrate(struct cli *c, char **args) { return cmd_migrate(c); }
static int run_status(struct cli *c, char **args) { return cmd_status(c, c->json); }
static int run_reconcile(struct cli *c, char **args) { return cmd_reconcile(c, c->network_id, c->peer_id); }
static int run_snapshot(struct cli *c, char **args) { return cmd_snapshot(c, c->once); }
static int run_compact(struct cli *c, char **args) { return cmd_compact(c); }
static int run_expire(struct cli *c, char **args) { return cmd_expire(c); }
static int run_gc(struct cli *c, char **args) { return cmd_gc(c); }
static int run_diagnose(struct cli *c, char **args) { return cmd_diagnose(c, c->json); }
static int run_restore(struct cli *c, char **args) { return cmd_restore(c, args[0]); }
static int run_tls(struct cli *c, char **args) { return cmd_tls(c, args[0]); }

static int run_backup(struct cli *c, char **args)
{
	if (c->output && args[0])
		return -2;      /* one output path, not two */
	return cmd_backup(c, c->output ? c->output : args[0]);
}

/* The commands after configuration loading: flags each accepts, and how
 * many positional arguments. */
static const struct command {
	const char *name;
	int (*fn)(struct cli *c, char **args);
	unsigned flags;
	int min_args, max_args;
} commands[] = {
	{ "init", run_init, F_ADMIN_PASS, 0, 0 },
	{ "migrate", run_migrate, 0, 0, 0 },
	{ "status", run_status, F_JSON, 0, 0 },
	{ "reconcile", run_reconcile, F_NETWORK | F_PEER, 0, 0 },
	{ "snapshot", run_snapshot, F_ONCE, 0, 0 },
	{ "compact", run_compact, 0, 0, 0 },
	{ "expire", run_expire, 0, 0, 0 },
	{ "gc", run_gc, 0, 0, 0 },
	{ "backup", run_backup, F_OUTPUT, 0, 1 },
	{ "restore", run_restore, 0, 1, 1 },
	{ "diagnose", run_diagnose, F_JSON, 0, 0 },
	{ "tls", run_tls, 0, 1, 1 },
};

int main(int argc, char **argv)
{
	static struct cli c;
	struct startup_flags flags = STARTUP_FLAGS_INIT;
	struct config_errors errs = { .n = 0 };
	const struct command *cmd = NULL;
	char *args[2] = { NULL, NULL };
	unsigned given = 0;
	const char *name;
	int loaded, rc, nargs = 0;

	if ((rc = parse_flags(argc, argv, &flags, &c, &given)) != 0 || optind >= argc) {
		usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	name = argv[optind++];
	/* Positional arguments may sit between flags. */
	while (optind <= argc) {
		if ((rc = parse_flags(argc, argv, &flags, &c, &given)) != 0) {
			usage(rc > 0 ? stdout : stderr);
			return rc > 0 ? 0 : 2;
		}
		if (optind == argc)
			break;
		if (nargs == 2) {
			usage(stderr);
			return 2;
		}
		args[nargs++] = argv[optind++];
	}
	if (strcmp(name, "version") == 0 && nargs == 0 && given == 0)
		return cmd_version();
	loaded = config_load(&c.cfg, flags.config, flags.data_dir, flags.log_level, flags.dev_mode, &errs);
	if (strcmp(name, "config") == 0 && nargs == 1 && strcmp(args[0], "check") == 0 && given == 0)
		return cmd_config_check(&c, &errs);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(name, commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd && strcmp(name, "version") != 0 && strcmp(name, "config") != 0) {
		fprintf(stderr, "wgpilot: unknown command '%s'\n", name);
		usage(stderr);
		return 2;
	}
	if (!cmd || (given & ~cmd->flags) || nargs < cmd->min_args || nargs > cmd->max_args
	    || (c.peer_id && !c.network_id)) {
		usage(stderr);
		return 2;
	}
	if (loaded < 0) {
		startup_print_errors("wgpilot", &c.cfg, &errs);
		return 1;
	}
	log_setup(log_level_parse(c.cfg.log_level) < 0 ? LOG_INFO : log_level_parse(c.cfg.log_level),
		  strcmp(c.cfg.log_format, "text") != 0);
	rc = cmd->fn(&c, args);
	if (rc == -2) {
		usage(stderr);
		return 2;
	}
	return rc;
}
