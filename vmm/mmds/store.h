/* The MMDS data store: one JSON value, replaced by PUT and merged by PATCH
 * (JSON Merge Patch, RFC 7396), never larger than its limit.
 *
 * The size is the length of the value's compact serialisation, as Firecracker
 * measures it; an update that would exceed it fails with -EFBIG and leaves the
 * store unchanged. The store belongs to the vmm thread (the API hands it
 * actions; the guest-side MMDS reads it on the same thread), so it has no lock. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define MMDS_FAULT_NOT_INITIALIZED "MMDS error: The MMDS data store is not initialized."
#define MMDS_FAULT_TOO_LARGE "MMDS limit exceeded error: The MMDS patch request doesn't fit."

struct mmds_store;

/* Returns 0 or -ENOMEM; the caller owns *ret. */
int mmds_store_new(size_t limit, struct mmds_store **ret);
/* Accepts NULL; returns NULL. */
struct mmds_store *mmds_store_free(struct mmds_store *store);

/* Replaces the data with a copy of value. 0, -EFBIG (too large) or -ENOMEM. */
int mmds_store_put(struct mmds_store *store, const json_t *value);
/* Applies an RFC 7396 merge patch. 0, -ENODATA (no PUT yet), -EFBIG or -ENOMEM. */
int mmds_store_patch(struct mmds_store *store, const json_t *patch);
/* True after the first successful PUT (or --metadata). */
bool mmds_store_initialized(const struct mmds_store *store);
/* The data (borrowed; valid until the next update), or NULL before any PUT. */
const json_t *mmds_store_data(const struct mmds_store *store);
/* The data as compact JSON, "{}" before any PUT. The caller frees it; NULL on ENOMEM. */
char *mmds_store_dump(const struct mmds_store *store);
/* Loads a JSON file (--metadata) as a PUT would. -errno, with a reason in err. */
int mmds_store_load_file(struct mmds_store *store, const char *path, char *err, size_t errlen);

/* Guest-side reads (the MMDS HTTP server over the net device's stack).
 *
 * Resolves a request path as Firecracker does: repeated '/' collapse, a
 * trailing '/' is tolerated, each segment indexes an object key (JSON Pointer
 * escapes ~0 and ~1 apply) or an array position. *ret is borrowed from the
 * store. 0, -ENOENT when nothing is there, -EINVAL for a path not starting
 * with '/'. */
int mmds_store_lookup(const struct mmds_store *store, const char *path, const json_t **ret);
/* The IMDS text form of a value: an object lists its keys sorted, one per
 * line, objects suffixed with '/', no trailing newline; a string is itself.
 * Other types have no IMDS form: -EPROTONOSUPPORT (the server answers 501).
 * The caller frees *ret. */
int mmds_render_imds(const json_t *v, char **ret);
/* A string value as JSON text, escaped as Firecracker's serde_json does
 * (\u00xx in lowercase hex). The caller frees *ret. 0 or -ENOMEM. */
int mmds_render_json_string(const json_t *v, char **ret);
/* jansson writes \u001F where serde_json writes \u001f: lowercases the hex
 * digits of every \u escape of a JSON text, in place. */
void mmds_json_lowercase_escapes(char *text);

/* RFC 7396 MergePatch(target, patch) as a new value (target may be NULL);
 * neither input is modified. NULL on ENOMEM. */
json_t *json_merge_patch(const json_t *target, const json_t *patch);
/* Length of the compact serialisation of v. */
size_t json_compact_size(const json_t *v);
