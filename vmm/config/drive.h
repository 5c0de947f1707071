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

#include "token_bucket.h"

#define DRIVE_ID_MAX 64u
#define DRIVE_PATH_MAX 4096u
#define DRIVE_PARTUUID_MAX 64u
/* Firecracker caps x86 virtio-mmio devices at 17; ember's IRQ range allows this many drives. */
#define DRIVES_MAX 16u

enum drive_cache_type { DRIVE_CACHE_UNSAFE = 0, DRIVE_CACHE_WRITEBACK };
enum drive_io_engine { DRIVE_ENGINE_SYNC = 0, DRIVE_ENGINE_ASYNC };

/* A RateLimiter object as given, so GET /vm/config can echo it. */
struct rate_limiter_spec {
	bool present;
	bool bucket_present[RATE_LIMITER_KINDS];
	bool burst_present[RATE_LIMITER_KINDS];
	struct rate_limiter_config cfg;
};

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

/* PATCH /drives/{id}: what is absent stays as it is. */
struct drive_update {
	char drive_id[DRIVE_ID_MAX + 1];
	char *path_on_host; /* NULL: keep the file */
	int fd;             /* opened when path_on_host is set */
	struct rate_limiter_spec rate_limiter; /* .present false: keep the limiter */
};

/* Parses and validates a Drive object and opens its file (O_RDONLY for
 * read-only drives, else O_RDWR; O_CLOEXEC, no symlink following for the last
 * component is not applied: Firecracker accepts symlinked images). On error
 * returns -EINVAL (or -errno of the open) and writes a heap-allocated message
 * in Firecracker's words to *ret_error (caller frees). *ret is written only
 * on success; the caller releases it with drive_config_clear(). */
int drive_config_parse(json_t *obj, struct drive_config *ret, char **ret_error);
/* The same for a PartialDrive. */
int drive_update_parse(json_t *obj, struct drive_update *ret, char **ret_error);
/* Parses a RateLimiter object (also used by net and entropy). */
int rate_limiter_spec_parse(json_t *obj, struct rate_limiter_spec *ret, char **ret_error);

/* Releases what a parse allocated and closes the fd; the struct is zeroed (fd -1). */
void drive_config_clear(struct drive_config *d);
void drive_update_clear(struct drive_update *u);

/* JSON as GET /vm/config shows it (new reference, NULL on ENOMEM). */
json_t *drive_config_to_json(const struct drive_config *d);
json_t *rate_limiter_spec_to_json(const struct rate_limiter_spec *s);

/* The ordered drive set of a VM: one root at most, root first then insertion
 * order (the guest names them vda, vdb, ... in this order). */
struct drive_set {
	struct drive_config drive[DRIVES_MAX];
	unsigned count;
};

/* Inserts d (taking ownership: *d is zeroed) or replaces the drive with the
 * same id. Returns 0 or -EINVAL with *ret_error ("A root block device already
 * exists!", too many drives). */
int drive_set_put(struct drive_set *s, struct drive_config *d, char **ret_error);
/* Index of drive_id or -ENOENT. */
int drive_set_find(const struct drive_set *s, const char *drive_id);
/* Frees every drive. */
void drive_set_clear(struct drive_set *s);
/* The root= argument for the kernel command line ("root=/dev/vda rw",
 * "root=PARTUUID=<uuid> ro"), or 0 bytes when there is no root drive.
 * Returns the length or -ENOSPC. */
int drive_set_root_arg(const struct drive_set *s, char *buf, size_t size);
