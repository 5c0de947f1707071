#include "json_field.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int json_field_error(char *err, size_t errlen, const char *fmt, ...)
{
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, JSON_DESERIALIZE_PREFIX "%s.", what);
	return -EINVAL;
}

void json_field_describe(const json_t *v, char *buf, size_t len)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		snprintf(buf, len, "string \"%.64s\"", json_string_value(v));
		break;
	case JSON_INTEGER:
		snprintf(buf, len, "integer `%" JSON_INTEGER_FORMAT "`", json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(buf, len, "floating point `%g`", json_real_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		snprintf(buf, len, "boolean `%s`", json_is_true(v) ? "true" : "false");
		break;
	case JSON_NULL:
		snprintf(buf, len, "null");
		break;
	case JSON_ARRAY:
		snprintf(buf, len, "sequence");
		break;
	default:
		snprintf(buf, len, "map");
		break;
	}
}

/* key names the field (the issue asks every message to); NULL for a whole body. */
static int json_field_invalid_type(const json_t *v, const char *expected, const char *key, char *err,
				   size_t errlen)
{
	char desc[96];

	json_field_describe(v, desc, sizeof(desc));
	if (!key)
		return json_field_error(err, errlen, "invalid type: %s, expected %s", desc, expected);
	return json_field_error(err, errlen, "invalid type: %s, expected %s for field `%s`", desc, expected, key);
}

static bool json_field_known(const char *key, const char *const *fields)
{
	for (size_t i = 0; fields[i]; i++)
		if (strcmp(key, fields[i]) == 0)
			return true;
	return false;
}

static int json_field_unknown(const char *key, const char *const *fields, char *err, size_t errlen)
{
	char list[256] = "";
	size_t n = 0;

	for (size_t i = 0; fields[i] && n < sizeof(list); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s`%s`", i ? ", " : "", fields[i]);
	return json_field_error(err, errlen, "unknown field `%.64s`, expected one of %s", key, list);
}

int json_field_check_object(const json_t *j, const char *what, const char *const *fields, char *err,
			    size_t errlen)
{
	const char *key;
	json_t *v;
	char expected[80];

	if (!json_is_object(j)) {
		snprintf(expected, sizeof(expected), "struct %s", what);
		return json_field_invalid_type(j, expected, NULL, err, errlen);
	}
	json_object_foreach((json_t *)j, key, v) {
		if (!json_field_known(key, fields))
			return json_field_unknown(key, fields, err, errlen);
	}
	return 0;
}

/* Returns the value, or NULL when absent (an error if required). */
static json_t *json_field_get(const json_t *j, const char *key, bool required, int *r, char *err, size_t errlen)
{
	json_t *v = json_object_get(j, key);

	*r = 0;
	if (!v && required)
		*r = json_field_error(err, errlen, "missing field `%s`", key);
	return v;
}

int json_field_uint(const json_t *j, const char *key, bool required, uint64_t max, const char *type_name,
		    uint64_t *ret, char *err, size_t errlen)
{
	int r;
	json_t *v = json_field_get(j, key, required, &r, err, errlen);
	json_int_t n;

	if (!v || (json_is_null(v) && !required))
		return r;
	if (!json_is_integer(v))
		return json_field_invalid_type(v, type_name, key, err, errlen);
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n > max)
		return json_field_error(err, errlen,
					"invalid value: integer `%" JSON_INTEGER_FORMAT "`, expected %s for field `%s`", n,
					type_name, key);
	*ret = (uint64_t)n;
	return 1;
}

int json_field_bool(const json_t *j, const char *key, bool required, bool *ret, char *err, size_t errlen)
{
	int r;
	json_t *v = json_field_get(j, key, required, &r, err, errlen);

	if (!v || (json_is_null(v) && !required))
		return r;
	if (!json_is_boolean(v))
		return json_field_invalid_type(v, "a boolean", key, err, errlen);
	*ret = json_is_true(v);
	return 1;
}

int json_field_string(const json_t *j, const char *key, bool required, const char **ret, char *err,
		      size_t errlen)
{
	int r;
	json_t *v = json_field_get(j, key, required, &r, err, errlen);

	if (!v || (json_is_null(v) && !required))
		return r;
	if (!json_is_string(v))
		return json_field_invalid_type(v, "a string", key, err, errlen);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return json_field_error(err, errlen, "invalid value: string with a NUL byte in `%s`", key);
	*ret = json_string_value(v);
	return 1;
}

int json_field_enum(const json_t *j, const char *key, bool required, const char *const *variants, int *ret,
		    char *err, size_t errlen)
{
	const char *v = NULL;
	char list[256] = "";
	size_t off = 0, n = 0;
	int r = json_field_string(j, key, required, &v, err, errlen);

	if (r <= 0)
		return r;
	while (variants[n])
		n++;
	for (size_t i = 0; i < n; i++) {
		const char *sep = i == 0 ? "" : n == 2 ? " or " : ", ";

		if (strcmp(variants[i], v) == 0) {
			*ret = (int)i;
			return 1;
		}
		if (off < sizeof(list))
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s`%s`", sep, variants[i]);
	}
	return json_field_error(err, errlen, "unknown variant `%.64s`, expected %s%s", v, n > 2 ? "one of " : "", list);
}

int json_field_sequence(const json_t *arr, int (*add)(const json_t *v, void *ctx, char *err, size_t errlen),
			void *ctx, char *err, size_t errlen)
{
	size_t i;
	json_t *v;

	if (json_is_null(arr))
		return 0;
	if (!json_is_array(arr)) {
		char desc[96];

		json_field_describe(arr, desc, sizeof(desc));
		return json_field_error(err, errlen, "invalid type: %s, expected a sequence", desc);
	}
	json_array_foreach(arr, i, v) {
		int r = add(v, ctx, err, errlen);

		if (r < 0)
			return r;
	}
	return 0;
}

json_t *json_array_of(const void *items, size_t count, size_t size, json_t *(*to_json)(const void *item))
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < count; i++)
		if (json_array_append_new(a, to_json((const char *)items + i * size)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}
