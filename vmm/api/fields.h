/* Strict decoding of a JSON request body into a C struct, one field table per
 * resource: unknown fields, wrong types, out-of-range numbers and missing
 * required fields are rejected with a message that names the field, in the
 * words Firecracker's (serde) errors use. Outputs are written only for fields
 * present in the body; the caller presets defaults. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Prefix of every body decoding error, as Firecracker words it. */
#define FIELDS_ERR_PREFIX "An error occurred when deserializing the json body of a request: "

enum field_type {
	FIELD_BOOL,   /* bool *dst */
	FIELD_UINT,   /* uint64_t *dst, within [min, max] */
	FIELD_STRING, /* char **dst (strdup'ed; caller frees) */
	FIELD_ENUM,   /* int *dst = index in choices (NULL-terminated) */
	FIELD_JSON,   /* json_t **dst (new reference), any value */
	FIELD_STRMAP, /* json_t **dst, an object whose values are all strings */
};

struct field_spec {
	const char *name;
	enum field_type type;
	bool required;
	void *dst;
	bool *ret_present;       /* optional: set true when the field was present */
	uint64_t min, max;       /* FIELD_UINT */
	const char *type_name;   /* FIELD_UINT: "u8", "u32", ...; for messages */
	const char *const *choices; /* FIELD_ENUM */
	bool nullable;           /* JSON null accepted as absent */
};

/* Decodes obj against specs. Returns 0, or -EINVAL with the full message
 * (prefix included) in err; on error, string/JSON outputs already written
 * are freed and reset. */
int fields_decode(const json_t *obj, const char *struct_name, const struct field_spec *specs, size_t n,
		  char *err, size_t errlen);
/* Frees the FIELD_STRING/JSON/STRMAP outputs of specs. */
void fields_release(const struct field_spec *specs, size_t n);
/* Parses a request body: JSON text, any top-level value. NULL with the message in err. */
json_t *fields_parse_body(const char *body, size_t len, char *err, size_t errlen);
/* Describes a JSON value the way serde names an unexpected one: `string "x"`, `integer `3``, ... */
void fields_describe(const json_t *v, char *buf, size_t len);
