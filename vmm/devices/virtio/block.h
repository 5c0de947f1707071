/* virtio-blk (virtio 1.2 §5.2), on any transport through its struct
 * virtio_dev (virtio.h).
 *
 * Requests: IN, OUT, FLUSH and GET_ID; anything else gets UNSUPP. Offered
 * features: VERSION_1, RING_EVENT_IDX, INDIRECT_DESC, plus FLUSH for
 * cache_type Writeback and RO for read-only drives. Two engines: Sync
 * (preadv/pwritev on the vmm thread) and Async (io_uring; completions come
 * through an eventfd on the vmm loop; FLUSH is submitted with IO_DRAIN so it
 * runs after everything before it). The queue is rate limited with
 * struct virtio_throttle: one op per request, the data length in bytes. */
#pragma once

#include <stdint.h>

#include "config/drive.h"
#include "metrics.h"
#include "token_bucket.h"

struct device_env;
struct virtio_dev;
struct block;

#define VIRTIO_ID_BLOCK 2u
#define VIRTIO_BLK_SECTOR 512u
#define VIRTIO_BLK_ID_BYTES 20u

#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9

#define VIRTIO_BLK_T_IN 0u
#define VIRTIO_BLK_T_OUT 1u
#define VIRTIO_BLK_T_FLUSH 4u
#define VIRTIO_BLK_T_GET_ID 8u

#define VIRTIO_BLK_S_OK 0u
#define VIRTIO_BLK_S_IOERR 1u
#define VIRTIO_BLK_S_UNSUPP 2u

/* Firecracker's `block` metrics group: every drive registers its counters
 * with its id (`block_<id>`), and the flush sums them into `block`.
 * read_agg / write_agg: the time one read or write took, in µs rounded up
 * (min, max, sum), with either engine: Sync times each preadv/pwritev, Async
 * each submission to its last completion (a request, or a piece of a big
 * chain); remaining_reqs_count: wake-ups that ended with requests still on
 * the queue. */
#define BLOCK_METRICS(X)                                                                           \
	X(activate_fails, METRICS_COUNTER)                                                         \
	X(cfg_fails, METRICS_COUNTER)                                                              \
	X(no_avail_buffer, METRICS_COUNTER)                                                        \
	X(event_fails, METRICS_COUNTER)                                                            \
	X(execute_fails, METRICS_COUNTER)                                                          \
	X(invalid_reqs_count, METRICS_COUNTER)                                                     \
	X(flush_count, METRICS_COUNTER)                                                            \
	X(queue_event_count, METRICS_COUNTER)                                                      \
	X(rate_limiter_event_count, METRICS_COUNTER)                                               \
	X(update_count, METRICS_COUNTER)                                                           \
	X(update_fails, METRICS_COUNTER)                                                           \
	X(read_bytes, METRICS_COUNTER)                                                             \
	X(write_bytes, METRICS_COUNTER)                                                            \
	X(read_count, METRICS_COUNTER)                                                             \
	X(write_count, METRICS_COUNTER)                                                            \
	X(read_agg__min_us, METRICS_MIN)                                                           \
	X(read_agg__max_us, METRICS_MAX)                                                           \
	X(read_agg__sum_us, METRICS_COUNTER)                                                       \
	X(write_agg__min_us, METRICS_MIN)                                                          \
	X(write_agg__max_us, METRICS_MAX)                                                          \
	X(write_agg__sum_us, METRICS_COUNTER)                                                      \
	X(rate_limiter_throttled_events, METRICS_COUNTER)                                          \
	X(io_engine_throttled_events, METRICS_COUNTER)                                             \
	X(remaining_reqs_count, METRICS_COUNTER)
METRICS_COUNTERS(block_metrics, BLOCK_METRICS);
extern const struct metrics_group block_metrics_group;

/* Host-side knobs; zero values mean the defaults. */
struct block_options {
	tb_clock_fn clock;         /* rate limiter clock (tests) */
	unsigned async_depth;      /* io_uring requests in flight, default 64 */
	uint64_t async_max_transfer; /* bytes per io_uring submission, default (0) the kernel's cap */
};

/* Creates the device for cfg; a transport then attaches to block_virtio().
 * The backing file is cfg->fd, duplicated (the config keeps its own). An
 * Async drive whose io_uring cannot be set up falls back to Sync with a
 * warning. Returns 0, -errno from fstat/dup, or -ENOMEM. Caller owns *ret. */
int block_create(const struct device_env *env, const struct drive_config *cfg, const struct block_options *opts,
		 struct block **ret);
/* Waits for in-flight io_uring requests, then frees. Its transport must be
 * gone already (no kick may reach the device). Accepts NULL; returns NULL. */
struct block *block_destroy(struct block *b);

/* The handle a transport attaches to. */
struct virtio_dev *block_virtio(struct block *b);
const char *block_id(const struct block *b);
/* The engine actually in use (Async may have fallen back to Sync). */
enum drive_io_engine block_engine(const struct block *b);
uint64_t block_capacity_sectors(struct block *b);
/* Copies the counters (under the device lock). */
void block_metrics_get(struct block *b, struct block_metrics *ret);

/* PATCH: swaps the backing file (u->fd, duplicated; the guest gets a
 * config-change interrupt with the new capacity) and/or replaces the rate
 * limiter. Returns 0 or -errno (the drive is unchanged on error). */
int block_update(struct block *b, const struct drive_update *u);

/* Snapshots (block-snapshot.c). quiesce: in-flight io_uring requests
 * completed, a chain served in pieces put back on its queue. save: the
 * run-time state into buf, its length or -ENOSPC. restore: after the
 * transport; the backing file's capacity must equal the saved one (refused
 * naming both). 0 or -EINVAL with err filled. */
void block_snapshot_quiesce(struct block *b);
int block_snapshot_save(struct block *b, uint8_t *buf, size_t size);
int block_snapshot_restore(struct block *b, const uint8_t *buf, size_t len, char *err, size_t errlen);
