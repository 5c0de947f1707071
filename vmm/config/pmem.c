/* See pmem.h. */
#include "pmem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "id.h"
#include "json_field.h"

static const char *const pmem_fields[] = { "id", "path_on_host", "root_device", "read_only", "rate_limiter", NULL };
static const char *const pmem_update_fields[] = { "id", "rate_limiter", NULL };

static int pmem_id_check(const char *id, char *err, size_t errlen)
{
	size_t pos;

	if (!*id)
		return snprintf(err, errlen, "The ID cannot be empty."), -EINVAL;
	if (strlen(id) > PMEM_ID_MAX)
		return snprintf(err, errlen, PMEM_ERR "the id is longer than %u characters.", PMEM_ID_MAX), -EINVAL;
	if (id_resource_check(id, &pos) < 0) {
		snprintf(err, errlen, "API Resource IDs can only contain alphanumeric characters and underscores.");
		return -EINVAL;
	}
	return 0;
}

int pmem_body_id(const json_t *obj, const char **ret, char *err, size_t errlen)
{
	if (!json_is_object(obj))
		return json_field_check_object(obj, "Pmem", pmem_fields, err, errlen);
	return json_field_string(obj, "id", true, ret, err, errlen);
}

static int pmem_rate_limiter(const json_t *obj, struct rate_limiter_spec *ret, char *err, size_t errlen)
{
	const json_t *rl = json_object_get(obj, "rate_limiter");

	return rl && !json_is_null(rl) ? rate_limiter_spec_parse(rl, ret, err, errlen) : 0;
}

int pmem_config_parse(const json_t *obj, struct pmem_config *ret, char *err, size_t errlen)
{
	struct pmem_config p = { 0 };
	const char *id = NULL, *path = NULL;
	int r = json_field_check_object(obj, "Pmem", pmem_fields, err, errlen);

	if (r >= 0)
		r = json_field_string(obj, "id", true, &id, err, errlen);
	if (r >= 0)
		r = json_field_string(obj, "path_on_host", true, &path, err, errlen);
	if (r >= 0)
		r = json_field_bool(obj, "root_device", false, &p.root_device, err, errlen);
	if (r >= 0)
		r = json_field_bool(obj, "read_only", false, &p.read_only, err, errlen);
	if (r >= 0)
		r = pmem_rate_limiter(obj, &p.rate_limiter, err, errlen);
	if (r >= 0)
		r = pmem_id_check(id, err, errlen);
	if (r >= 0 && strlen(path) >= PMEM_PATH_MAX) {
		snprintf(err, errlen, PMEM_ERR "path_on_host is longer than %u bytes.", PMEM_PATH_MAX - 1);
		r = -EINVAL;
	}
	if (r < 0)
		return r;
	snprintf(p.id, sizeof(p.id), "%s", id);
	p.path_on_host = strdup(path);
	if (!p.path_on_host) {
		snprintf(err, errlen, PMEM_ERR "out of memory");
		return -ENOMEM;
	}
	*ret = p;
	return 0;
}

int pmem_update_parse(const json_t *obj, struct pmem_update *ret, char *err, size_t errlen)
{
	struct pmem_update u = { 0 };
	const char *id = NULL;
	int r = json_field_check_object(obj, "PmemDeviceUpdateConfig", pmem_update_fields, err, errlen);

	if (r >= 0)
		r = json_field_string(obj, "id", true, &id, err, errlen);
	if (r >= 0)
		r = pmem_rate_limiter(obj, &u.rate_limiter, err, errlen);
	if (r >= 0)
		r = pmem_id_check(id, err, errlen);
	if (r < 0)
		return r;
	snprintf(u.id, sizeof(u.id), "%s", id);
	*ret = u;
	return 0;
}

void pmem_config_clear(struct pmem_config *p)
{
	free(p->path_on_host);
	*p = (struct pmem_config){ 0 };
}

/* Firecracker's field order; rate_limiter null when absent. */
json_t *pmem_config_to_json(const struct pmem_config *p)
{
	return json_pack("{s:s, s:s, s:b, s:b, s:o}", "id", p->id, "path_on_host", p->path_on_host, "root_device",
			 p->root_device, "read_only", p->read_only, "rate_limiter",
			 rate_limiter_spec_to_json(&p->rate_limiter));
}

int pmem_set_find(const struct pmem_set *s, const char *id)
{
	for (unsigned i = 0; i < s->count; i++)
		if (strcmp(s->dev[i].id, id) == 0)
			return (int)i;
	return -ENOENT;
}

bool pmem_set_has_root(const struct pmem_set *s)
{
	for (unsigned i = 0; i < s->count; i++)
		if (s->dev[i].root_device)
			return true;
	return false;
}

/* PmemBuilder::build: a root next to a root drive is refused first; a
 * replaced device may keep or take the root if no other device has it. */
int pmem_set_put(struct pmem_set *s, struct pmem_config *p, bool block_root, char *err, size_t errlen)
{
	int old = pmem_set_find(s, p->id);

	if (p->root_device && block_root) {
		snprintf(err, errlen, PMEM_ERR "Attempt to add pmem as a root device while the root device defined as a "
			 "block device");
		return -EINVAL;
	}
	for (unsigned i = 0; p->root_device && i < s->count; i++) {
		if (s->dev[i].root_device && (int)i != old) {
			snprintf(err, errlen, PMEM_ERR "A root pmem device already exist");
			return -EINVAL;
		}
	}
	if (old < 0 && s->count == PMEM_DEVICES_MAX) {
		snprintf(err, errlen, PMEM_ERR "this build allows at most %u pmem devices.", PMEM_DEVICES_MAX);
		return -EINVAL;
	}
	if (old >= 0)
		pmem_config_clear(&s->dev[old]);
	s->dev[old >= 0 ? (unsigned)old : s->count++] = *p;
	*p = (struct pmem_config){ 0 };
	return 0;
}

void pmem_set_clear(struct pmem_set *s)
{
	for (unsigned i = 0; i < s->count; i++)
		pmem_config_clear(&s->dev[i]);
	s->count = 0;
}

static int pmem_set_add(const json_t *v, void *set, char *err, size_t errlen)
{
	struct pmem_config p;
	int r = pmem_config_parse(v, &p, err, errlen);

	if (r >= 0) {
		r = pmem_set_put(set, &p, false, err, errlen);
		pmem_config_clear(&p);
	}
	return r;
}

int pmem_set_parse(const json_t *arr, struct pmem_set *s, char *err, size_t errlen)
{
	return json_field_sequence(arr, pmem_set_add, s, err, errlen);
}

static json_t *pmem_item_to_json(const void *p)
{
	return pmem_config_to_json(p);
}

json_t *pmem_set_to_json(const struct pmem_set *s)
{
	return json_array_of(s->dev, s->count, sizeof(s->dev[0]), pmem_item_to_json);
}

int pmem_set_root_arg(const struct pmem_set *s, char *buf, size_t size)
{
	for (unsigned i = 0; i < s->count; i++) {
		if (s->dev[i].root_device) {
			int n = snprintf(buf, size, "root=/dev/pmem%u %s", i, s->dev[i].read_only ? "ro" : "rw");

			return n < 0 || (size_t)n >= size ? -ENOSPC : n;
		}
	}
	return 0;
}
