/* virtio-pmem (virtio 1.3 §5.19), on any transport through its struct
 * virtio_dev (virtio.h). doc/pmem.md.
 *
 * The device is a window of guest physical memory, at or above 512 GiB
 * (core/guest_space.h), onto a host file mapped MAP_SHARED (pmem-map.h):
 * the guest reads and writes the file's page cache directly (DAX), with no
 * guest page cache of its own. Its one queue takes FLUSH requests, answered
 * with msync(MS_SYNC) of the file; the flushes of one notification share
 * one msync. Offered features: VERSION_1 only. Config space: start and size
 * of the window (le64 each). A read-only device's window is a read-only KVM
 * slot: a guest write there comes back as an MMIO exit, which is logged
 * (rate-limited), counted and dropped, and the guest goes on. */
#pragma once

#include <stdint.h>

#include "config/pmem.h"
#include "metrics.h"
#include "token_bucket.h"

struct device_env;
struct virtio_dev;
struct pmem;

#define VIRTIO_ID_PMEM 27u
#define VIRTIO_PMEM_REQ_FLUSH 0u
#define PMEM_QUEUE_SIZE 256u

/* Firecracker's `pmem` group, per device `pmem_<id>` (summed into `pmem`). */
#define PMEM_METRICS(X)                                                                            \
	X(activate_fails, METRICS_COUNTER)                                                         \
	X(cfg_fails, METRICS_COUNTER)                                                              \
	X(event_fails, METRICS_COUNTER)                                                            \
	X(queue_event_count, METRICS_COUNTER)                                                      \
	X(rate_limiter_throttled_events, METRICS_COUNTER)                                          \
	X(rate_limiter_event_count, METRICS_COUNTER)
METRICS_COUNTERS(pmem_metrics, PMEM_METRICS);
extern const struct metrics_group pmem_metrics_group;

/* Opens and maps cfg's file, takes a window in env->space (and a KVM slot)
 * and, read-only, claims the window on env->mmio_bus. 0 or -errno; on an
 * error why (whylen bytes) says what failed in Firecracker's words ("Error
 * backing file size is 0", or the path and the open error). The caller owns
 * *ret. clock: NULL for the monotonic clock (tests pass theirs). */
int pmem_create(const struct device_env *env, const struct pmem_config *cfg, tb_clock_fn clock, struct pmem **ret,
		char *why, size_t whylen);
/* Removes the KVM slot, unmaps, frees; accepts NULL; returns NULL. */
struct pmem *pmem_destroy(struct pmem *p);
struct virtio_dev *pmem_virtio(struct pmem *p);
const char *pmem_id(const struct pmem *p);
/* The window's guest address and size (config space start and size). */
uint64_t pmem_start(const struct pmem *p);
uint64_t pmem_size(const struct pmem *p);
/* Snapshots (pmem-state.h): the device's state into buf, its length or
 * -ENOSPC; and back, after the device was created from the snapshot's
 * configuration and its transport restored: 0, or -errno with err filled
 * (the file's mapping no longer the saved size: "Restored pmem size N does
 * not match backing file mapping size M", Firecracker's words). */
int pmem_snapshot_save(struct pmem *p, uint8_t *buf, size_t size);
int pmem_snapshot_restore(struct pmem *p, const uint8_t *buf, size_t len, char *err, size_t errlen);
/* PATCH: a bucket named in u replaces the device's, one left out stays. 0. */
int pmem_update(struct pmem *p, const struct pmem_update *u);
