/* The MMDS data store: see store.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fd.h"
#include "mmds/store.h"
#include "path_error.h"

struct mmds_store {
	json_t *data; /* NULL until initialized */
	size_t limit;
};

int mmds_store_new(size_t limit, struct mmds_store **ret)
{
	struct mmds_store *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->limit = limit;
	*ret = s;
	return 0;
}

struct mmds_store *mmds_store_free(struct mmds_store *store)
{
	if (!store)
		return NULL;
	json_decref(store->data);
	return mfree(store);
}

static int count_bytes(const char *buf, size_t size, void *data)
{
	*(size_t *)data += size;
	return 0;
}

size_t json_compact_size(const json_t *v)
{
	size_t n = 0;
	json_dump_callback(v, count_bytes, &n, JSON_COMPACT | JSON_ENCODE_ANY);
	return n;
}

/* Takes over value: installs it when it fits, drops it otherwise. */
static int store_install(struct mmds_store *store, json_t *value)
{
	if (!value)
		return -ENOMEM;
	if (json_compact_size(value) > store->limit) {
		json_decref(value);
		return -EFBIG;
	}
	json_decref(store->data);
	store->data = value;
	return 0;
}

int mmds_store_put(struct mmds_store *store, const json_t *value)
{
	return store_install(store, json_deep_copy(value));
}

int mmds_store_patch(struct mmds_store *store, const json_t *patch)
{
	if (!store->data)
		return -ENODATA;
	return store_install(store, json_merge_patch(store->data, patch));
}

bool mmds_store_initialized(const struct mmds_store *store)
{
	return store->data != NULL;
}

const json_t *mmds_store_data(const struct mmds_store *store)
{
	return store->data;
}

char *mmds_store_dump(const struct mmds_store *store)
{
	if (!store->data || json_is_null(store->data))
		return strdup("{}");
	return json_dumps(store->data, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Applies patch (an object) to target (an object we own), in place. */
static int merge_object(json_t *target, const json_t *patch)
{
	const char *key;
	json_t *value;

	/* jansson's iteration macro takes a non-const object; it does not modify it. */
	json_object_foreach((json_t *)patch, key, value) {
		if (json_is_null(value)) {
			json_object_del(target, key);
			continue;
		}
		json_t *merged = json_merge_patch(json_object_get(target, key), value);
		if (!merged || json_object_set_new(target, key, merged) < 0)
			return -ENOMEM;
	}
	return 0;
}

json_t *json_merge_patch(const json_t *target, const json_t *patch)
{
	json_t *result;

	/* RFC 7396 §2: a non-object patch replaces the target wholesale. */
	if (!json_is_object(patch))
		return json_deep_copy(patch);
	result = json_is_object(target) ? json_deep_copy(target) : json_object();
	if (result && merge_object(result, patch) < 0)
		result = (json_decref(result), NULL);
	return result;
}

/* Firecracker's three --metadata failures, in its words (its integration
 * tests and the engines' log watchers look for them), each with the file. */
#define MMDS_FILE_UNREADABLE "Unable to open or read from the mmds content file"
#define MMDS_FILE_NOT_JSON "MMDS error: metadata provided not valid json"
#define MMDS_FILE_TOO_BIG "Populating MMDS from file failed: The MMDS patch request doesn't fit."

int mmds_store_load_file(struct mmds_store *store, const char *path, char *err, size_t errlen)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *text = NULL;
	json_error_t jerr;
	size_t len;
	int r;

	if (fd < 0) {
		int e = errno;
		char why[PATH_MAX + 160];

		snprintf(err, errlen, MMDS_FILE_UNREADABLE ": %s", path_error(why, sizeof(why), path, e));
		return -e;
	}
	/* Pretty-printed files are larger than their compact form: allow slack,
	 * but still bound what a hostile file can make us allocate. */
	r = fd_read_all(fd, store->limit * 8 + 4096, &text, &len);
	if (r == -EFBIG) {
		snprintf(err, errlen, MMDS_FILE_TOO_BIG " (%s is far larger than the MMDS size limit of %zu bytes)",
			 path, store->limit);
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, MMDS_FILE_UNREADABLE ": %s: %s", path, strerror(-r));
		return r;
	}
	json_t *v = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
	if (!v) {
		snprintf(err, errlen, MMDS_FILE_NOT_JSON ": %s at line %d column %d of %s", jerr.text, jerr.line,
			 jerr.column, path);
		return -EINVAL;
	}
	r = store_install(store, v);
	if (r == -EFBIG)
		snprintf(err, errlen, MMDS_FILE_TOO_BIG " (%s is larger than the MMDS size limit of %zu bytes)", path,
			 store->limit);
	else if (r < 0)
		snprintf(err, errlen, "Populating MMDS from file failed: %s: %s", path, strerror(-r));
	return r;
}
