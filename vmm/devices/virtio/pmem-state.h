/* A pmem device's part of a snapshot (doc/pmem.md), as bytes: the window
 * the guest was told (config space start and size), whether it is
 * read-only, and what is left in the rate limiter's buckets. The queue is
 * the transport's section; the file's contents stay in the file (the
 * mapping is MAP_SHARED), and the configuration (path, id, limiter sizes)
 * is in the state file's config section.
 *
 * The bytes come from a state file, which is hostile input at load:
 * pmem_state_parse checks everything that does not need the device (it is
 * fuzzed by fuzz-snapshot-state); the device checks the rest against its
 * mapping and its guest space. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "token_bucket.h"

struct pmem_state {
	uint64_t start, size; /* the guest window (config space) */
	bool read_only;
	uint64_t budget[RATE_LIMITER_KINDS], burst[RATE_LIMITER_KINDS];
};

/* le64 start, size, flags (bit 0: read-only), then budget and burst per kind. */
#define PMEM_STATE_SIZE ((3u + 2u * RATE_LIMITER_KINDS) * 8u)

/* Writes s into buf: PMEM_STATE_SIZE, or -ENOSPC. */
int pmem_state_write(const struct pmem_state *s, uint8_t *buf, size_t size);
/* Reads and checks a saved state: exactly PMEM_STATE_SIZE bytes, only known
 * flags, a window of whole 2 MiB units, 2 MiB aligned, inside the device
 * space [512 GiB, LAYOUT_PMEM_END) without wrapping. 0 and *ret, or -EINVAL
 * with the reason in err. */
int pmem_state_parse(const uint8_t *buf, size_t len, struct pmem_state *ret, char *err, size_t errlen);
