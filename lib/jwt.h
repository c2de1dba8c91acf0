/* SPDX-License-Identifier: MIT */
/* HS256 JSON Web Tokens for the session cookie (security.md §3). */
#ifndef WGP_JWT_H
#define WGP_JWT_H

#include <stdint.h>

struct jwt_claims {
	long long sub;          /* user id; a decimal string in the token */
	char username[65];
	char role[16];
	long long iat, exp;
};

enum jwt_result { JWT_OK = 0, JWT_INVALID = -1, JWT_EXPIRED = -2 };

/* header {"alg":"HS256","typ":"JWT"} . claims . HMAC-SHA256(key).
 * Returns a malloc'd token (caller frees), NULL on ENOMEM or for claims that
 * jwt_verify would refuse (sub <= 0, username > 64 or role > 15 bytes). */
char *jwt_sign(const uint8_t key[static 32], const struct jwt_claims *c);
/* Checks shape, alg == HS256 exactly (rejects "none" and all others), the MAC
 * in constant time, then exp > now. Fills *c (may be NULL) on JWT_OK only. */
enum jwt_result jwt_verify(const uint8_t key[static 32], const char *token,
                           long long now, struct jwt_claims *c);

#endif
