/* The pmem resource: PUT /pmem/{id} before boot, PATCH /pmem/{id} after it
 * (rate_limiter only), the config file's "pmem" key and GET /vm/config's
 * list; Firecracker's PmemConfig, PmemDeviceUpdateConfig and PmemBuilder.
 * The backing file is only named here: it is opened and mapped when the VM
 * starts (devices/virtio/pmem.c). doc/pmem.md. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "rate_limiter.h"

#define PMEM_ID_MAX 64u
#define PMEM_PATH_MAX 4096u
/* Each device takes a GSI and a KVM slot; 8 is far above what Firecracker's
 * users attach and keeps the 17 virtio GSIs for the others. */
#define PMEM_DEVICES_MAX 8u
#define PMEM_ERR "Pmem config error: "

struct pmem_config {
	char id[PMEM_ID_MAX + 1];
	char *path_on_host; /* owned */
	bool root_device;
	bool read_only;
	struct rate_limiter_spec rate_limiter;
};

/* PATCH: only the rate limiter (absent: nothing changes). */
struct pmem_update {
	char id[PMEM_ID_MAX + 1];
	struct rate_limiter_spec rate_limiter;
};

/* In insertion order (a PUT of an existing id replaces it in place): the
 * order of attachment, so the root's index there is its /dev/pmem<N>. */
struct pmem_set {
	struct pmem_config dev[PMEM_DEVICES_MAX];
	unsigned count;
};

/* Api thread: the body's id (required string) for the path check. */
int pmem_body_id(const json_t *obj, const char **ret, char *err, size_t errlen);
/* A Pmem object: id and path_on_host required, root_device, read_only and
 * rate_limiter optional, unknown fields refused (serde's texts). 0 or -EINVAL
 * with err; *ret owned by the caller on success (pmem_config_clear). */
int pmem_config_parse(const json_t *obj, struct pmem_config *ret, char *err, size_t errlen);
/* A PmemDeviceUpdateConfig object: id required, rate_limiter optional. */
int pmem_update_parse(const json_t *obj, struct pmem_update *ret, char *err, size_t errlen);
void pmem_config_clear(struct pmem_config *p);
json_t *pmem_config_to_json(const struct pmem_config *p);

/* Adds or replaces (same id) p, taking its strings. block_root: a root drive
 * is configured. Errors (err prefixed PMEM_ERR): a root while a root drive
 * exists, a second root pmem, more than PMEM_DEVICES_MAX. */
int pmem_set_put(struct pmem_set *s, struct pmem_config *p, bool block_root, char *err, size_t errlen);
int pmem_set_find(const struct pmem_set *s, const char *id);
bool pmem_set_has_root(const struct pmem_set *s);
void pmem_set_clear(struct pmem_set *s);
/* The config file's array (each element as PUT, in order). */
int pmem_set_parse(const json_t *arr, struct pmem_set *s, char *err, size_t errlen);
json_t *pmem_set_to_json(const struct pmem_set *s);
/* "root=/dev/pmem<N> rw|ro" for the root device, or 0 bytes without one;
 * its length or -ENOSPC. */
int pmem_set_root_arg(const struct pmem_set *s, char *buf, size_t size);
