/* JSON body decoding: see fields.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/fields.h"
#include "cleanup.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) _printf_(3, 4);
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	size_t plen = strlen(FIELDS_ERR_PREFIX);
	va_list ap;

	snprintf(err, errlen, "%s", FIELDS_ERR_PREFIX);
	if (plen < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + plen, errlen - plen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void fields_describe(const json_t *v, char *buf, size_t len)
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
	}
}

static int wrong_type(const json_t *v, const char *expected, const char *field, char *err, size_t errlen)
{
	char got[96];
	fields_describe(v, got, sizeof(got));
	return fail(err, errlen, "invalid type: %s, expected %s for field `%s`.", got, expected, field);
}

static int decode_uint(const struct field_spec *f, const json_t *v, char *err, size_t errlen)
{
	const char *tn = f->type_name ? f->type_name : "an unsigned integer";
	json_int_t i;

	if (!json_is_integer(v))
		return wrong_type(v, tn, f->name, err, errlen);
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i < f->min || (uint64_t)i > f->max)
		return fail(err, errlen, "invalid value: integer `%" JSON_INTEGER_FORMAT "`, expected %s for field `%s`.",
			    i, tn, f->name);
	*(uint64_t *)f->dst = (uint64_t)i;
	return 0;
}

static int decode_enum(const struct field_spec *f, const json_t *v, char *err, size_t errlen)
{
	char expected[256] = "";
	size_t off = 0;

	if (!json_is_string(v))
		return wrong_type(v, "a string", f->name, err, errlen);
	for (int i = 0; f->choices[i]; i++) {
		if (strcmp(f->choices[i], json_string_value(v)) == 0) {
			*(int *)f->dst = i;
			return 0;
		}
		if (off < sizeof(expected))
			off += (size_t)snprintf(expected + off, sizeof(expected) - off, "%s`%s`", i ? ", " : "",
						f->choices[i]);
	}
	return fail(err, errlen, "unknown variant `%.64s`, expected one of %s for field `%s`.",
		    json_string_value(v), expected, f->name);
}

static int decode_strmap(const struct field_spec *f, json_t *v, char *err, size_t errlen)
{
	const char *k;
	json_t *e;

	if (!json_is_object(v))
		return wrong_type(v, "a map", f->name, err, errlen);
	json_object_foreach(v, k, e)
		if (!json_is_string(e))
			return wrong_type(e, "a string", f->name, err, errlen);
	*(json_t **)f->dst = json_incref(v);
	return 0;
}

static int decode_one(const struct field_spec *f, json_t *v, char *err, size_t errlen)
{
	switch (f->type) {
	case FIELD_BOOL:
		if (!json_is_boolean(v))
			return wrong_type(v, "a boolean", f->name, err, errlen);
		*(bool *)f->dst = json_is_true(v);
		return 0;
	case FIELD_UINT:
		return decode_uint(f, v, err, errlen);
	case FIELD_STRING:
		if (!json_is_string(v))
			return wrong_type(v, "a string", f->name, err, errlen);
		if (memchr(json_string_value(v), '\0', json_string_length(v)))
			return fail(err, errlen, "invalid value: string with a NUL byte for field `%s`.", f->name);
		free(*(char **)f->dst);
		*(char **)f->dst = strdup(json_string_value(v));
		return *(char **)f->dst ? 0 : -ENOMEM;
	case FIELD_ENUM:
		return decode_enum(f, v, err, errlen);
	case FIELD_JSON:
		*(json_t **)f->dst = json_incref(v);
		return 0;
	case FIELD_STRMAP:
		return decode_strmap(f, v, err, errlen);
	}
	return -EINVAL;
}

static const struct field_spec *find_spec(const struct field_spec *specs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(specs[i].name, name) == 0)
			return &specs[i];
	return NULL;
}

static int unknown_field(const char *key, const struct field_spec *specs, size_t n, char *err, size_t errlen)
{
	char expected[512] = "";
	size_t off = 0;

	for (size_t i = 0; i < n && off < sizeof(expected); i++)
		off += (size_t)snprintf(expected + off, sizeof(expected) - off, "%s`%s`", i ? ", " : "", specs[i].name);
	return fail(err, errlen, "unknown field `%.64s`, expected one of %s.", key, expected);
}

static int decode_all(json_t *o, const char *struct_name, const struct field_spec *specs, size_t n,
		      char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	int r;

	if (!json_is_object(o))
		return wrong_type(o, struct_name, "(body)", err, errlen);
	json_object_foreach(o, key, v) {
		const struct field_spec *f = find_spec(specs, n, key);
		if (!f)
			return unknown_field(key, specs, n, err, errlen);
		if (json_is_null(v) && f->nullable)
			continue;
		r = decode_one(f, v, err, errlen);
		if (r < 0)
			return r;
		if (f->ret_present)
			*f->ret_present = true;
	}
	for (size_t i = 0; i < n; i++) {
		v = json_object_get(o, specs[i].name);
		if (specs[i].required && (!v || json_is_null(v)))
			return fail(err, errlen, "missing field `%s`.", specs[i].name);
	}
	return 0;
}

int fields_decode(const json_t *obj, const char *struct_name, const struct field_spec *specs, size_t n,
		  char *err, size_t errlen)
{
	/* jansson's accessors take non-const objects; decoding does not modify obj. */
	int r = decode_all((json_t *)obj, struct_name, specs, n, err, errlen);

	if (r == -ENOMEM)
		snprintf(err, errlen, "Out of memory.");
	if (r < 0)
		fields_release(specs, n);
	return r;
}

void fields_release(const struct field_spec *specs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (specs[i].type == FIELD_STRING) {
			char **p = specs[i].dst;
			*p = mfree(*p);
		} else if (specs[i].type == FIELD_JSON || specs[i].type == FIELD_STRMAP) {
			json_t **p = specs[i].dst;
			json_decref(*p);
			*p = NULL;
		}
	}
}

json_t *fields_parse_body(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *v = json_loadb(body ? body : "", body ? len : 0, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);

	if (!v)
		fail(err, errlen, "%s at line %d column %d.", jerr.text, jerr.line, jerr.column);
	return v;
}
