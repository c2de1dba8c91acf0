/* SPDX-License-Identifier: MIT */
/* Request bodies checked against a field table before a handler sees them
 * (STYLE rule 3): every bad field is reported at once. */
#include <string.h>
#include "api.h"

static int field_index(const struct field *t, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].key, key) == 0 || (t[i].alias && strcmp(t[i].alias, key) == 0))
			return (int)i;
	return -1;
}

static void check_value(const struct field *f, json_t *val, struct body *b, int idx,
			struct verrs *v)
{
	const char *msg = NULL;

	switch (f->type) {
	case FT_STRING:
		if (!json_is_string(val)) {
			verr_add(v, f->key, "must be a string");
			return;
		}
		b->s[idx] = json_string_value(val);
		if (strlen(b->s[idx]) != json_string_length(val)) {
			verr_add(v, f->key, "must not contain NUL characters");
			return;
		}
		if ((f->flags & FF_EMPTY_OK) && b->s[idx][0] == '\0')
			return;         /* treated as absent */
		if (f->check_str)
			msg = f->check_str(b->s[idx]);
		break;
	case FT_INT:
		if (!json_is_integer(val)) {
			verr_add(v, f->key, "must be an integer");
			return;
		}
		b->i[idx] = json_integer_value(val);
		if (f->check_int)
			msg = f->check_int(b->i[idx]);
		break;
	case FT_BOOL:
		if (!json_is_boolean(val)) {
			verr_add(v, f->key, "must be true or false");
			return;
		}
		b->b[idx] = json_is_true(val);
		break;
	}
	if (msg) {
		verr_add(v, f->key, msg);
		return;
	}
	b->has[idx] = true;
}

int body_parse(struct req *r, const struct field *t, size_t n, struct body *b, struct verrs *v)
{
	json_error_t jerr;
	const char *key;
	json_t *val;

	memset(b, 0, sizeof *b);
	if (!r->body || r->body_len == 0) {
		verr_add(v, "body", "request body must be a JSON object");
		return -1;
	}
	b->root = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!b->root) {
		verr_add(v, "body", "malformed JSON");
		return -1;
	}
	if (!json_is_object(b->root)) {
		verr_add(v, "body", "request body must be a JSON object");
		return -1;
	}
	json_object_foreach(b->root, key, val) {
		int idx = field_index(t, n, key);

		if (idx < 0) {
			verr_add(v, key, "unknown field");
			continue;
		}
		if (b->has[idx]) {
			verr_add(v, t[idx].key, "given twice (field and its alias)");
			continue;
		}
		if (t[idx].flags & FF_IMMUTABLE) {
			verr_add(v, t[idx].key, "immutable");
			continue;
		}
		if (json_is_null(val) && !(t[idx].flags & FF_REQUIRED))
			continue;       /* null = not given */
		check_value(&t[idx], val, b, idx, v);
	}
	for (size_t i = 0; i < n; i++) {
		bool seen = b->has[i] || json_object_get(b->root, t[i].key)
			    || (t[i].alias && json_object_get(b->root, t[i].alias));

		if ((t[i].flags & FF_REQUIRED) && !seen)
			verr_add(v, t[i].key, "required");
	}
	return 0;
}

void body_free(struct body *b)
{
	json_decref(b->root);
	b->root = NULL;
}

const char *body_str(const struct body *b, int idx, const char *def)
{
	return b->has[idx] ? b->s[idx] : def;
}
