/* Drive configuration: Firecracker's Drive, PartialDrive, RateLimiter and
 * TokenBucket objects, validated once here for both the config file's
 * `drives` key and the API's PUT/PATCH /drives/{id}.
 *
 * Validation is strict (unknown fields, wrong types and missing fields are
 * refused with Firecracker's texts) and opens the backing file, so that a bad
 * path fails at PUT time, not at InstanceStart. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "rate_limiter.h"

#define DRIVE_ID_MAX 64u
#define DRIVE_PATH_MAX 4096u
#define DRIVE_PARTUUID_MAX 64u
#define DRIVE_ERR_CREATE "Unable to create the virtio block device: "
#define DRIVE_ERR_PATCH "Unable to patch the block device: "
/* Firecracker caps x86 virtio-mmio devices at 17; ember's IRQ range allows this many drives. */
#define DRIVES_MAX 16u

enum drive_cache_type { DRIVE_CACHE_UNSAFE = 0, DRIVE_CACHE_WRITEBACK };
enum drive_io_engine { DRIVE_ENGINE_SYNC = 0, DRIVE_ENGINE_ASYNC };

struct drive_config {
	char drive_id[DRIVE_ID_MAX + 1];
	char *path_on_host;
	char *partuuid; /* NULL when absent */
	bool is_root_device;
	bool is_read_only;
	enum drive_cache_type cache_type;
	enum drive_io_engine io_engine;
	struct rate_limiter_spec rate_limiter;
	int fd; /* the backing file, opened by the validator; owned */
};

/* PATCH /drives/{id}: what is absent stays as it is, down to each bucket of
 * the rate limiter (a bucket given with size 0 is switched off). */
struct drive_update {
	char drive_id[DRIVE_ID_MAX + 1];
	char *path_on_host; /* NULL: keep the file */
	int fd;             /* opened when path_on_host is set */
	struct rate_limiter_spec rate_limiter; /* .present false: keep the limiter */
};

/* Parses and validates a Drive object and opens its file (O_RDONLY for a
 * read-only drive, else O_RDWR; O_CLOEXEC). On error returns -EINVAL (or the
 * open's -errno) with Firecracker's text in err. *ret is written only on
 * success; release it with drive_config_clear(). */
int drive_config_parse(const json_t *obj, struct drive_config *ret, char *err, size_t errlen);
/* The same for a PartialDrive (PATCH). The file, when given, is opened like
 * the drive it replaces: read_only says how. */
int drive_update_parse(const json_t *obj, bool read_only, struct drive_update *ret, char *err, size_t errlen);
/* Only the drive_id of a Drive/PartialDrive body, for looking the drive up
 * before a full parse. Returns 0 or -EINVAL with err. */
int drive_body_id(const json_t *obj, const char **ret, char *err, size_t errlen);

/* Releases what a parse allocated and closes the fd; the struct is zeroed (fd -1). */
void drive_config_clear(struct drive_config *d);
void drive_update_clear(struct drive_update *u);

/* JSON as GET /vm/config shows it (new reference, NULL on ENOMEM). */
json_t *drive_config_to_json(const struct drive_config *d);

/* The ordered drive set of a VM: one root at most, root first then insertion
 * order (the guest names them vda, vdb, ... in this order). */
struct drive_set {
	struct drive_config drive[DRIVES_MAX];
	unsigned count;
};

/* Inserts d (taking ownership: *d is cleared) or replaces the drive with the
 * same id. Returns 0 or -EINVAL with err ("A root block device already
 * exists!", too many drives); d is untouched on error. */
int drive_set_put(struct drive_set *s, struct drive_config *d, char *err, size_t errlen);
/* Index of drive_id or -ENOENT. */
int drive_set_find(const struct drive_set *s, const char *drive_id);
/* Frees every drive. */
void drive_set_clear(struct drive_set *s);
/* The config file's `drives` array: each element through drive_config_parse
 * and drive_set_put. */
int drive_set_parse(const json_t *arr, struct drive_set *s, char *err, size_t errlen);
/* The `drives` array of GET /vm/config (new reference, NULL on ENOMEM). */
json_t *drive_set_to_json(const struct drive_set *s);
/* The root= argument for the kernel command line ("root=/dev/vda rw",
 * "root=PARTUUID=<uuid> ro"), or 0 bytes when there is no root drive.
 * Returns the length or -ENOSPC. */
int drive_set_root_arg(const struct drive_set *s, char *buf, size_t size);
