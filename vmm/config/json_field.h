/* Strict JSON field access with serde's wording, so that ember's errors read
 * like Firecracker's ("unknown field `foo`, expected one of `a`, `b`",
 * "missing field `x`", "invalid type: string \"x\", expected u8").
 *
 * Every function returns 0 (or 1 for "present" where noted) or -EINVAL with
 * the full API-ready text in err:
 *   "An error occurred when deserializing the json body of a request: <what>."
 * Outputs are written only on success. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_DESERIALIZE_PREFIX "An error occurred when deserializing the json body of a request: "

/* err = JSON_DESERIALIZE_PREFIX + formatted text + "."; returns -EINVAL. */
int json_field_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* serde's description of an unexpected value: "string \"x\"", "integer `5`", ... */
void json_field_describe(const json_t *v, char *buf, size_t len);

/* j must be an object (else "invalid type: ..., expected struct <what>")
 * whose keys are all in the NULL-terminated list fields. */
int json_field_check_object(const json_t *j, const char *what, const char *const *fields, char *err,
			    size_t errlen);

/* Looks up key. A missing key, or null where the field is optional, returns 0
 * and leaves *ret untouched; a present value returns 1. required: a missing
 * key is "missing field `key`". type_name is serde's (u8, u32, usize, u64). */
int json_field_uint(const json_t *j, const char *key, bool required, uint64_t max, const char *type_name,
		    uint64_t *ret, char *err, size_t errlen);
int json_field_bool(const json_t *j, const char *key, bool required, bool *ret, char *err, size_t errlen);
/* serde's unit-variant enum, the one parser of them: the string at key must
 * be one of variants (NULL-terminated, at least one); 1 with its index in
 * *ret, 0 when absent (or null and optional), -EINVAL with serde's text:
 * "unknown variant `x`, expected `A`" / "expected `A` or `B`" / "expected
 * one of `A`, `B`, `C`". */
int json_field_enum(const json_t *j, const char *key, bool required, const char *const *variants, int *ret,
		    char *err, size_t errlen);
/* *ret points into j (valid while j lives). Strings with NUL bytes are refused. */
int json_field_string(const json_t *j, const char *key, bool required, const char **ret, char *err,
		      size_t errlen);

/* A config file's list of resources ("drives", "network-interfaces"): null
 * is none; anything but an array is serde's "invalid type: ..., expected a
 * sequence"; each element goes through add(v, ctx, ...), stopping at the
 * first error. Returns 0 or add's -errno (with its text in err). */
int json_field_sequence(const json_t *arr, int (*add)(const json_t *v, void *ctx, char *err, size_t errlen),
			void *ctx, char *err, size_t errlen);
/* GET /vm/config's list of a set: count items, size bytes apart, each
 * through to_json. A new reference, NULL on ENOMEM. */
json_t *json_array_of(const void *items, size_t count, size_t size, json_t *(*to_json)(const void *item));
