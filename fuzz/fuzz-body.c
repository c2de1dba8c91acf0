/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for body_parse (cgi/body.c, STYLE rule 3): arbitrary
 * bytes as a request body against a field table shaped like the peer-create
 * table of cgi/peers.c (strings, integers and a bool with validators, two
 * required fields, one with an alias, an immutable field, an FF_EMPTY_OK
 * field). Besides crashes, leaks and sanitizer reports it traps when
 *   - the return value is not 0 / -1, or -1 is given for a JSON object or
 *     0 for anything else, or a body that is not an object has no error;
 *   - has[i] is set for a value that is absent, of the wrong type, fails its
 *     validator, or belongs to an immutable field;
 *   - the errors do not match a reference reading of the rules (no error
 *     exactly when every key is known, mutable and valid and every required
 *     field is there), or an error lacks its field / message.
 *
 * Build and run from the source root (http.c provides verr_*; it needs
 * libfcgi only for the response functions the harness never calls):
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Ilib \
 *     fuzz/fuzz-body.c cgi/body.c cgi/http.c lib/validate.c lib/ipnet.c \
 *     $(pkg-config --cflags --libs jansson libsodium fcgi) -o fuzz-body
 *   ./fuzz-body -max_total_time=30 fuzz/seeds/body
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../cgi/api.h"
#include "validate.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *nonempty(const char *s)
{
	return s[0] ? NULL : "required";
}

enum {
	F_NAME, F_EMAIL, F_ROLE, F_KEEPALIVE, F_SITES, F_EXPIRES, F_TUNNEL, F_SPLIT,
	F_ENABLED, F_OTP, F_PUBKEY, F_MTU, F__MAX
};
static const struct field table[F__MAX] = {
	[F_NAME] = { "name", FT_STRING, FF_REQUIRED, v_name, NULL, NULL },
	[F_EMAIL] = { "email", FT_STRING, 0, v_email, NULL, NULL },
	[F_ROLE] = { "role", FT_STRING, 0, v_peer_role, NULL, NULL },
	[F_KEEPALIVE] = { "persistent_keepalive", FT_INT, 0, NULL, v_keepalive, NULL },
	[F_SITES] = { "site_networks", FT_STRING, 0, v_cidr_list, NULL, NULL },
	[F_EXPIRES] = { "expires_in", FT_STRING, FF_EMPTY_OK, NULL, NULL, NULL },
	[F_TUNNEL] = { "tunnel_type", FT_STRING, 0, v_tunnel_type, NULL, NULL },
	[F_SPLIT] = { "split_cidrs", FT_STRING, 0, v_cidr_list, NULL, NULL },
	[F_ENABLED] = { "enabled", FT_BOOL, 0, NULL, NULL, NULL },
	[F_OTP] = { "otp", FT_STRING, FF_REQUIRED, nonempty, NULL, "install_token" },
	[F_PUBKEY] = { "public_key", FT_STRING, FF_IMMUTABLE, NULL, NULL, NULL },
	[F_MTU] = { "mtu", FT_INT, 0, NULL, v_mtu, NULL },
};

static int index_of(const char *key)
{
	for (int i = 0; i < F__MAX; i++)
		if (strcmp(table[i].key, key) == 0 || (table[i].alias && strcmp(table[i].alias, key) == 0))
			return i;
	return -1;
}

/* The value given for field i (under its name or its alias), or NULL. */
static json_t *given(json_t *root, int i)
{
	json_t *v = json_object_get(root, table[i].key);

	return v || !table[i].alias ? v : json_object_get(root, table[i].alias);
}

/* A non-null value that passes type and validator; *empty for "" of an
 * FF_EMPTY_OK field (accepted as "not given"). */
static bool valid_value(const struct field *f, json_t *val, bool *empty)
{
	*empty = false;
	switch (f->type) {
	case FT_STRING:
		if (!json_is_string(val) || strlen(json_string_value(val)) != json_string_length(val))
			return false;
		if ((f->flags & FF_EMPTY_OK) && json_string_length(val) == 0) {
			*empty = true;
			return true;
		}
		return !f->check_str || !f->check_str(json_string_value(val));
	case FT_INT:
		return json_is_integer(val) && (!f->check_int || !f->check_int(json_integer_value(val)));
	case FT_BOOL:
		return json_is_boolean(val);
	}
	return false;
}

/* The rules of body.c read independently: true when the object deserves
 * no error at all. */
static bool acceptable(json_t *root)
{
	bool seen_valid[F__MAX] = { false }, empty;
	const char *key;
	json_t *val;

	json_object_foreach(root, key, val) {
		int i = index_of(key);

		if (i < 0 || seen_valid[i] || (table[i].flags & FF_IMMUTABLE))
			return false;
		if (json_is_null(val) && !(table[i].flags & FF_REQUIRED))
			continue;
		if (!valid_value(&table[i], val, &empty))
			return false;
		seen_valid[i] = !empty;
	}
	for (int i = 0; i < F__MAX; i++)
		if ((table[i].flags & FF_REQUIRED) && !given(root, i))
			return false;
	return true;
}

/* The value body.c keeps for field i: the first one, in the object's order,
 * under its name or its alias that passes (NULL when none does). */
static json_t *first_valid(json_t *root, int i)
{
	const char *key;
	json_t *val;
	bool empty;

	json_object_foreach(root, key, val) {
		if (index_of(key) == i && !(json_is_null(val) && !(table[i].flags & FF_REQUIRED))
		    && valid_value(&table[i], val, &empty) && !empty)
			return val;
	}
	return NULL;
}

static void check_has(const struct body *b)
{
	for (int i = 0; i < F__MAX; i++) {
		json_t *val;

		if (!b->has[i])
			continue;
		val = first_valid(b->root, i);
		CHECK(val && !(table[i].flags & FF_IMMUTABLE));
		switch (table[i].type) {
		case FT_STRING:
			CHECK(b->s[i] == json_string_value(val));
			break;
		case FT_INT:
			CHECK(b->i[i] == json_integer_value(val));
			break;
		case FT_BOOL:
			CHECK(b->b[i] == json_is_true(val));
			break;
		}
	}
}

static void check_errors(const struct verrs *v)
{
	size_t i;
	json_t *e;

	if (!v->fields)
		return;
	json_array_foreach(v->fields, i, e) {
		const char *f = json_string_value(json_object_get(e, "field"));
		const char *m = json_string_value(json_object_get(e, "message"));

		CHECK(f && m && *m);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct req r = { 0 };
	struct verrs v = { 0 };
	struct body b;
	json_t *ref;
	int rc;

	r.body = malloc(size + 1);
	if (!r.body)
		return 0;
	memcpy(r.body, data, size);
	r.body[size] = '\0';
	r.body_len = size;
	ref = size ? json_loadb(r.body, size, JSON_REJECT_DUPLICATES, NULL) : NULL;

	rc = body_parse(&r, table, F__MAX, &b, &v);
	CHECK(rc == 0 || rc == -1);
	CHECK((rc == 0) == json_is_object(ref));
	check_errors(&v);
	if (rc < 0) {
		CHECK(verr_any(&v));
		for (int i = 0; i < F__MAX; i++)
			CHECK(!b.has[i]);
	} else {
		CHECK(json_is_object(b.root) && json_equal(b.root, ref));
		check_has(&b);
		CHECK(verr_any(&v) == !acceptable(b.root));
		if (!verr_any(&v))
			CHECK(b.has[F_NAME] && b.has[F_OTP]);
	}
	body_free(&b);
	verr_free(&v);
	json_decref(ref);
	free(r.body);
	return 0;
}
