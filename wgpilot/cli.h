/* SPDX-License-Identifier: MIT */
/* The wgpilot command: one function per subcommand, each returning the
 * process exit status (0 ok, 1 failure, 2 usage). */
#ifndef WGP_CLI_H
#define WGP_CLI_H

#include "config.h"

struct cli {
	struct config cfg;
	const char *admin_pass;         /* init --admin-pass */
	long long network_id;           /* reconcile --network */
	long long peer_id;              /* reconcile --peer */
	int json;                       /* status --json */
};

int cmd_init(struct cli *c);
int cmd_migrate(struct cli *c);
/* Asks the reconciler for a full pass, one network (network_id > 0) or one
 * peer of it (peer_id > 0). */
int cmd_reconcile(struct cli *c, long long network_id, long long peer_id);
/* Live interfaces and peers from the reconciler; JSON with as_json. */
int cmd_status(struct cli *c, int as_json);

#endif
