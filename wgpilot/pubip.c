/* SPDX-License-Identifier: MIT */
/* The server's public address as the local interfaces show it, shared by
 * `wgpilot init` and the daily refresh of `wgpilot gc`. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

static bool is_private(uint32_t a)
{
	return (a >> 24) == 10 || (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8
	       || (a >> 16) == 0xa9fe || (a >> 22) == (100u << 2 | 1);
}

void pubip_detect(char out[INET6_ADDRSTRLEN])
{
	struct ifaddrs *ifa, *i;
	char priv[INET6_ADDRSTRLEN] = "";

	out[0] = '\0';
	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i && !out[0]; i = i->ifa_next) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)i->ifa_addr;

		if (!sin || sin->sin_family != AF_INET || !(i->ifa_flags & IFF_UP)
		    || (i->ifa_flags & IFF_LOOPBACK) || strncmp(i->ifa_name, "wg", 2) == 0)
			continue;
		if (is_private(ntohl(sin->sin_addr.s_addr))) {
			if (!priv[0])
				inet_ntop(AF_INET, &sin->sin_addr, priv, INET6_ADDRSTRLEN);
			continue;
		}
		inet_ntop(AF_INET, &sin->sin_addr, out, INET6_ADDRSTRLEN);
	}
	if (!out[0])
		snprintf(out, INET6_ADDRSTRLEN, "%s", priv);
	freeifaddrs(ifa);
}
