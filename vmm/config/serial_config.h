/* Serial console configuration: Firecracker's SerialConfig (`PUT /serial`)
 * and ember's config file key `serial`, validated once here.
 *
 *   {"serial_out_path": "/run/vm1/console", "rate_limiter": {"size": 65536, "refill_time": 1000}}
 *
 * serial_out_path is a file or FIFO the guest's output goes to instead of
 * stdout. It is opened at PUT time (a bad path fails the request, not
 * InstanceStart) as Firecracker opens it at boot: read-write (a FIFO with
 * no reader yet then opens, and a full one drops instead of blocking),
 * non-blocking, created 0600 when missing; ember also appends, so an
 * existing file is never overwritten from its start.
 *
 * rate_limiter is one TokenBucket (bytes) for the output. It is also the
 * output cap: without one, SERIAL_DEFAULT_BUCKET applies, and a bucket of
 * size 0 or refill_time 0 turns the cap off. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "token_bucket.h"

/* A boot log passes whole (the 1 MiB burst); an endless printer gets 64 KiB/s. */
#define SERIAL_DEFAULT_BUCKET                                                                      \
	((struct token_bucket_config){ .size = 65536, .refill_time_ms = 1000, .one_time_burst = 1048576 })

struct serial_config {
	char *out_path; /* owned; NULL: stdout */
	bool has_rate_limiter;
	struct token_bucket_config rate_limiter;
};

/* Parses a SerialConfig object: unknown fields, wrong types and a bucket's
 * missing fields with serde's texts; an empty or over-long path named. 0 or
 * -EINVAL / -ENOMEM with err; *ret (freed by serial_config_clear) is written
 * only on success. */
int serial_config_parse(const json_t *obj, struct serial_config *ret, char *err, size_t errlen);
void serial_config_clear(struct serial_config *c);

/* Opens path as above. The fd, or -errno with the path and reason in err. */
int serial_out_open(const char *path, char *err, size_t errlen);

/* The VM's serial settings as put: the config and its opened output. */
struct serial_slot {
	bool present;
	struct serial_config cfg;
	int out_fd; /* owned; -1: stdout */
};

#define SERIAL_SLOT_INIT { .present = false, .out_fd = -1 }

/* Takes c (on success the slot owns its path; on error c is untouched and
 * the slot unchanged): opens c->out_path first, then lets the old output go,
 * as PUT /serial replaces the previous settings whole. 0 or -errno with err. */
int serial_slot_put(struct serial_slot *s, struct serial_config *c, char *err, size_t errlen);
/* Closes the output; the slot is empty again. */
void serial_slot_clear(struct serial_slot *s);
/* The config file's `serial` key: one SerialConfig object. */
int serial_slot_parse(const json_t *j, struct serial_slot *s, char *err, size_t errlen);
/* The output bucket in force: the given one, or SERIAL_DEFAULT_BUCKET (s NULL: nothing put). */
struct token_bucket_config serial_slot_bucket(const struct serial_slot *s);
