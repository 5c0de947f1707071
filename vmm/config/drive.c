#include "drive.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "id.h"
#include "json_field.h"
#include "path_error.h"

static const char *const drive_fields[] = { "drive_id", "partuuid", "is_root_device", "cache_type", "is_read_only",
					    "path_on_host", "rate_limiter", "io_engine", "socket", NULL };
static const char *const partial_drive_fields[] = { "drive_id", "path_on_host", "rate_limiter", NULL };

static const char *const cache_types[] = { "Unsafe", "Writeback", NULL };
static const char *const io_engines[] = { "Sync", "Async", NULL };

static int drive_id_check(const char *id, char *err, size_t errlen)
{
	size_t pos;

	if (!*id)
		return snprintf(err, errlen, "The ID cannot be empty."), -EINVAL;
	if (strlen(id) > DRIVE_ID_MAX)
		return snprintf(err, errlen, "The drive ID is longer than %u characters.", DRIVE_ID_MAX), -EINVAL;
	if (id_resource_check(id, &pos) < 0) {
		snprintf(err, errlen, "API Resource IDs can only contain alphanumeric characters and underscores.");
		return -EINVAL;
	}
	return 0;
}

int drive_body_id(const json_t *obj, const char **ret, char *err, size_t errlen)
{
	const char *id = NULL;
	int r;

	if (!json_is_object(obj))
		return json_field_check_object(obj, "Drive", drive_fields, err, errlen);
	r = json_field_string(obj, "drive_id", true, &id, err, errlen);
	if (r < 0)
		return r;
	*ret = id;
	return 0;
}

/* A regular file or a block device, raw format. */
static int drive_open(const char *path, bool read_only)
{
	if (!*path)
		return -ENOENT;
	if (strlen(path) >= DRIVE_PATH_MAX)
		return -ENAMETOOLONG;
	return fd_open_image(path, read_only ? O_RDONLY : O_RDWR, true);
}

static int drive_open_error(const char *prefix, int r, const char *path, char *err, size_t errlen)
{
	char why[DRIVE_PATH_MAX + PATH_MAX + 100];

	snprintf(err, errlen, "%sError manipulating the backing file: %s", prefix, path_error(why, sizeof(why), path, -r));
	return r;
}

/* partuuid ends up on the kernel command line: only a UUID's alphabet, so it
 * cannot smuggle in another argument. */
static int drive_partuuid_check(const char *s, char *err, size_t errlen)
{
	size_t n = strlen(s);

	if (n == 0 || n > DRIVE_PARTUUID_MAX || strspn(s, "0123456789abcdefABCDEF-") != n) {
		snprintf(err, errlen, "The partuuid must be 1 to %u hexadecimal digits and dashes.", DRIVE_PARTUUID_MAX);
		return -EINVAL;
	}
	return 0;
}

static int drive_read_fields(const json_t *obj, struct drive_config *d, const char **ret_path,
			     const char **ret_partuuid, char *err, size_t errlen)
{
	const char *id = NULL;
	int cache = 0, engine = 0, r;
	const json_t *rl;

	r = json_field_check_object(obj, "Drive", drive_fields, err, errlen);
	if (r >= 0)
		r = json_field_string(obj, "drive_id", true, &id, err, errlen);
	if (r >= 0)
		r = json_field_bool(obj, "is_root_device", true, &d->is_root_device, err, errlen);
	if (r >= 0)
		r = json_field_string(obj, "partuuid", false, ret_partuuid, err, errlen);
	if (r >= 0)
		r = json_field_enum(obj, "cache_type", false, cache_types, &cache, err, errlen);
	if (r >= 0)
		r = json_field_bool(obj, "is_read_only", false, &d->is_read_only, err, errlen);
	if (r >= 0)
		r = json_field_enum(obj, "io_engine", false, io_engines, &engine, err, errlen);
	if (r >= 0 && json_object_get(obj, "socket") && !json_is_null(json_object_get(obj, "socket"))) {
		snprintf(err, errlen, DRIVE_ERR_CREATE "this build does not provide vhost-user-blk (`socket`).");
		return -EOPNOTSUPP;
	}
	if (r >= 0)
		r = json_field_string(obj, "path_on_host", true, ret_path, err, errlen);
	rl = json_object_get(obj, "rate_limiter");
	if (r >= 0 && rl && !json_is_null(rl))
		r = rate_limiter_spec_parse(rl, &d->rate_limiter, err, errlen);
	if (r >= 0)
		r = drive_id_check(id, err, errlen);
	if (r >= 0 && *ret_partuuid)
		r = drive_partuuid_check(*ret_partuuid, err, errlen);
	if (r < 0)
		return r;
	snprintf(d->drive_id, sizeof(d->drive_id), "%s", id);
	d->cache_type = cache ? DRIVE_CACHE_WRITEBACK : DRIVE_CACHE_UNSAFE;
	d->io_engine = engine ? DRIVE_ENGINE_ASYNC : DRIVE_ENGINE_SYNC;
	return 0;
}

int drive_config_parse(const json_t *obj, struct drive_config *ret, char *err, size_t errlen)
{
	struct drive_config d = { .fd = -1 };
	const char *path = NULL, *partuuid = NULL;
	int r = drive_read_fields(obj, &d, &path, &partuuid, err, errlen);

	if (r < 0)
		return r;
	d.fd = drive_open(path, d.is_read_only);
	if (d.fd < 0)
		return drive_open_error(DRIVE_ERR_CREATE, d.fd, path, err, errlen);
	d.path_on_host = strdup(path);
	d.partuuid = partuuid ? strdup(partuuid) : NULL;
	if (!d.path_on_host || (partuuid && !d.partuuid)) {
		drive_config_clear(&d);
		snprintf(err, errlen, DRIVE_ERR_CREATE "out of memory");
		return -ENOMEM;
	}
	*ret = d;
	return 0;
}

int drive_update_parse(const json_t *obj, bool read_only, struct drive_update *ret, char *err, size_t errlen)
{
	struct drive_update u = { .fd = -1 };
	const char *id = NULL, *path = NULL;
	const json_t *rl;
	int r;

	r = json_field_check_object(obj, "PartialDrive", partial_drive_fields, err, errlen);
	if (r >= 0)
		r = json_field_string(obj, "drive_id", true, &id, err, errlen);
	if (r >= 0)
		r = json_field_string(obj, "path_on_host", false, &path, err, errlen);
	rl = json_object_get(obj, "rate_limiter");
	if (r >= 0 && rl && !json_is_null(rl))
		r = rate_limiter_spec_parse(rl, &u.rate_limiter, err, errlen);
	if (r >= 0)
		r = drive_id_check(id, err, errlen);
	if (r < 0)
		return r;
	if (!path && !u.rate_limiter.present) {
		snprintf(err, errlen, "Running method expected different backend.");
		return -EINVAL;
	}
	snprintf(u.drive_id, sizeof(u.drive_id), "%s", id);
	if (path) {
		u.fd = drive_open(path, read_only);
		if (u.fd < 0)
			return drive_open_error(DRIVE_ERR_PATCH, u.fd, path, err, errlen);
		u.path_on_host = strdup(path);
		if (!u.path_on_host) {
			drive_update_clear(&u);
			snprintf(err, errlen, DRIVE_ERR_PATCH "out of memory");
			return -ENOMEM;
		}
	}
	*ret = u;
	return 0;
}

void drive_config_clear(struct drive_config *d)
{
	free(d->path_on_host);
	free(d->partuuid);
	if (d->fd >= 0)
		close(d->fd);
	*d = (struct drive_config){ .fd = -1 };
}

void drive_update_clear(struct drive_update *u)
{
	free(u->path_on_host);
	if (u->fd >= 0)
		close(u->fd);
	*u = (struct drive_update){ .fd = -1 };
}

json_t *drive_config_to_json(const struct drive_config *d)
{
	return json_pack("{s:s, s:o, s:b, s:s, s:b, s:s, s:o, s:s, s:n}", "drive_id", d->drive_id, "partuuid",
			 d->partuuid ? json_string(d->partuuid) : json_null(), "is_root_device", d->is_root_device,
			 "cache_type", d->cache_type == DRIVE_CACHE_WRITEBACK ? "Writeback" : "Unsafe", "is_read_only",
			 d->is_read_only, "path_on_host", d->path_on_host, "rate_limiter",
			 rate_limiter_spec_to_json(&d->rate_limiter), "io_engine",
			 d->io_engine == DRIVE_ENGINE_ASYNC ? "Async" : "Sync", "socket");
}

int drive_set_find(const struct drive_set *s, const char *drive_id)
{
	for (unsigned i = 0; i < s->count; i++)
		if (strcmp(s->drive[i].drive_id, drive_id) == 0)
			return (int)i;
	return -ENOENT;
}

/* Firecracker's order: a root drive goes first (/dev/vda), others keep their
 * insertion order; a PUT on an existing id replaces it and re-inserts. */
int drive_set_put(struct drive_set *s, struct drive_config *d, char *err, size_t errlen)
{
	int old = drive_set_find(s, d->drive_id);
	unsigned at;

	for (unsigned i = 0; d->is_root_device && i < s->count; i++)
		if (s->drive[i].is_root_device && (int)i != old) {
			snprintf(err, errlen, "A root block device already exists!");
			return -EINVAL;
		}
	if (old < 0 && s->count == DRIVES_MAX) {
		snprintf(err, errlen, DRIVE_ERR_CREATE "this build allows at most %u drives.", DRIVES_MAX);
		return -EINVAL;
	}
	if (old >= 0) {
		drive_config_clear(&s->drive[old]);
		memmove(&s->drive[old], &s->drive[old + 1], sizeof(s->drive[0]) * (s->count - (unsigned)old - 1));
		s->count--;
	}
	at = d->is_root_device ? 0 : s->count;
	memmove(&s->drive[at + 1], &s->drive[at], sizeof(s->drive[0]) * (s->count - at));
	s->drive[at] = *d;
	s->count++;
	*d = (struct drive_config){ .fd = -1 };
	return 0;
}

void drive_set_clear(struct drive_set *s)
{
	for (unsigned i = 0; i < s->count; i++)
		drive_config_clear(&s->drive[i]);
	s->count = 0;
}

static int drive_set_add(const json_t *v, void *set, char *err, size_t errlen)
{
	struct drive_config d;
	int r = drive_config_parse(v, &d, err, errlen);

	if (r >= 0) {
		r = drive_set_put(set, &d, err, errlen);
		drive_config_clear(&d);
	}
	return r;
}

int drive_set_parse(const json_t *arr, struct drive_set *s, char *err, size_t errlen)
{
	return json_field_sequence(arr, drive_set_add, s, err, errlen);
}

static json_t *drive_item_to_json(const void *d)
{
	return drive_config_to_json(d);
}

json_t *drive_set_to_json(const struct drive_set *s)
{
	return json_array_of(s->drive, s->count, sizeof(s->drive[0]), drive_item_to_json);
}

int drive_set_root_arg(const struct drive_set *s, char *buf, size_t size)
{
	int n;

	if (s->count == 0 || !s->drive[0].is_root_device) {
		if (size)
			buf[0] = 0;
		return 0;
	}
	if (s->drive[0].partuuid)
		n = snprintf(buf, size, "root=PARTUUID=%s %s", s->drive[0].partuuid,
			     s->drive[0].is_read_only ? "ro" : "rw");
	else
		n = snprintf(buf, size, "root=/dev/vda %s", s->drive[0].is_read_only ? "ro" : "rw");
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}
