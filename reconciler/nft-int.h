/* SPDX-License-Identifier: MIT */
/* Shared by nft.c, fw-plan.c and nft-dump.c only (not part of nft.h). */
#ifndef WGP_NFT_INT_H
#define WGP_NFT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>
#include <libnftnl/set.h>

#define RECV_SIZE (64 * 1024)

/* One element key of an interval set as nft_dump collects them. */
struct key {
	uint32_t key;           /* host order */
	bool end;               /* NFT_SET_ELEM_INTERVAL_END */
};

/* Grows the array v of *cap elements of size bytes so that index n fits
 * (doubling, 8 at first). v itself when it fits, NULL on ENOMEM (v kept). */
void *fw_grow(void *v, size_t n, size_t *cap, size_t size);
/* A netfilter netlink socket, bound, with NETLINK_CAP_ACK. 0 or -errno. */
int nft_open(struct mnl_socket **out);
/* A set object of table wgpilot with name and transaction id. NULL on ENOMEM. */
struct nftnl_set *nft_set_new(const char *name, uint32_t id);

#endif
