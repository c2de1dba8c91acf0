/* SPDX-License-Identifier: MIT */
/* The wgpilot command: one function per subcommand, each returning the
 * process exit status (0 ok, 1 failure, 2 usage). */
#ifndef WGP_CLI_H
#define WGP_CLI_H

#include "config.h"

struct cli {
	struct config cfg;
	const char *admin_pass;         /* init --admin-pass */
};

int cmd_init(struct cli *c);
int cmd_migrate(struct cli *c);

#endif
