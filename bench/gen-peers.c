/* SPDX-License-Identifier: MIT */
/*
 * Benchmark fixture: adds one network with N peers straight into the DB
 * (fresh keys, encrypted as the API would store them) and writes the same
 * device as a `wg setconf` file, the reference the reconciler is measured
 * against.
 *
 *   gen-peers --config FILE --peers N --port P --subnet CIDR [--disabled] SETCONF-OUT
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "db.h"
#include "ipnet.h"
#include "keys.h"
#include "model.h"
#include "startup.h"

static char *sealed_b64(const struct master_keys *mk, const uint8_t key[static 32], char b64[45])
{
	key_to_b64(b64, key);
	return secret_seal(mk->enc, b64);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		STARTUP_OPTIONS,
		{ "peers", required_argument, NULL, 'n' },
		{ "port", required_argument, NULL, 'p' },
		{ "subnet", required_argument, NULL, 's' },
		{ "disabled", no_argument, NULL, 'x' },
		{ 0 },
	};
	struct startup_flags flags = STARTUP_FLAGS_INIT;
	static struct config cfg;
	struct master_keys mk;
	struct network n = { .enabled = true };
	struct ipnet subnet, host;
	uint8_t priv[32], pub[32], psk[32];
	char b64[45], ip[IPNET_STRLEN];
	const char *subnet_s = "10.100.0.0/18";
	long npeers = 1000;
	int port = 51820, opt;
	sqlite3 *db;
	FILE *out;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (startup_flag(&flags, opt, optarg))
			continue;
		switch (opt) {
		case 'n': npeers = strtol(optarg, NULL, 10); break;
		case 'p': port = atoi(optarg); break;
		case 's': subnet_s = optarg; break;
		case 'x': n.enabled = false; break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || npeers < 1 || ipnet_parse_cidr(&subnet, subnet_s) < 0) {
		fputs("usage: gen-peers --config FILE --peers N [--port P] [--subnet CIDR] [--disabled] OUT\n", stderr);
		return 2;
	}
	if (crypto_init() < 0 || startup_config("gen-peers", &cfg, &flags) < 0
	    || master_load(cfg.master_key_file, &mk) < 0 || db_open(cfg.db_path, DB_RDWR, &db) < 0) {
		fputs("gen-peers: cannot open the key or the database\n", stderr);
		return 1;
	}
	out = fopen(argv[optind], "w");
	if (!out)
		return 1;
	key_generate_private(priv);
	key_public_from_private(pub, priv);
	snprintf(n.name, sizeof n.name, "Bench %ld", npeers);
	snprintf(n.mode, sizeof n.mode, "hub-routed");
	ipnet_format(n.subnet, &subnet);
	n.listen_port = port;
	n.private_key = sealed_b64(&mk, priv, b64);
	fprintf(out, "[Interface]\nPrivateKey = %s\nListenPort = %d\n", b64, port);
	key_to_b64(n.public_key, pub);
	db_exec(db, "BEGIN IMMEDIATE");
	if (model_network_insert(db, &n) < 0) {
		fputs("gen-peers: cannot insert the network (port or subnet taken?)\n", stderr);
		return 1;
	}
	ipnet_first_host(&host, &subnet);
	for (long i = 0; i < npeers; i++) {
		struct peer p = { .network_id = n.id, .enabled = true };
		char allowed[IPNET_STRLEN + 4];

		for (int k = 15; k >= 12; k--)          /* next IPv4 address */
			if (++host.addr[k - 12] != 0)
				break;
		ipaddr_format(ip, &host);
		snprintf(allowed, sizeof allowed, "%s/32", ip);
		snprintf(p.name, sizeof p.name, "peer %ld", i + 1);
		snprintf(p.role, sizeof p.role, "client");
		key_generate_private(priv);
		key_public_from_private(pub, priv);
		key_generate_psk(psk);
		p.private_key = sealed_b64(&mk, priv, b64);
		p.preshared_key = sealed_b64(&mk, psk, b64);
		fprintf(out, "\n[Peer]\nPublicKey = ");
		key_to_b64(p.public_key, pub);
		fprintf(out, "%s\nPresharedKey = %s\nAllowedIPs = %s\n", p.public_key, b64, allowed);
		p.allowed_ips = allowed;
		if (model_peer_insert(db, &p) < 0) {
			fputs("gen-peers: insert failed\n", stderr);
			return 1;
		}
		free(p.private_key);
		free(p.preshared_key);
	}
	db_exec(db, "COMMIT");
	sodium_memzero(priv, sizeof priv);
	fclose(out);
	printf("network %lld (%s) with %ld peers\n", n.id, n.iface, npeers);
	free(n.private_key);
	db_close(db);
	return 0;
}
