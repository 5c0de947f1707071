/* Shared between block.c and block-uring.c only. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "block.h"
#include "queue.h"
#include "throttle.h"
#include "virtio.h"

struct blk_uring;

/* The most one read or write call moves (Linux's MAX_RW_COUNT: INT_MAX rounded
 * down to a page). A chain may carry up to 4 GiB - 1, so both engines go on
 * where a transfer stopped. */
#define BLK_MAX_TRANSFER 0x7ffff000ull

/* A parsed request: header fields, the status byte and the data buffers. */
struct blk_req {
	uint16_t head;
	uint32_t type;
	uint64_t sector;
	uint8_t *status;
	bool layout_ok; /* buffers point the way the type needs */
	unsigned nr_data;
	uint64_t data_len;
	struct iovec data[VIRTQ_MAX_SIZE];
};

struct block {
	struct virtio_dev vdev; /* the handle to whichever transport carries it */
	char id[DRIVE_ID_MAX + 1];
	int fd;
	bool read_only;
	enum drive_cache_type cache_type;
	enum drive_io_engine engine;
	uint64_t capacity; /* sectors */
	char dev_id[VIRTIO_BLK_ID_BYTES];
	uint64_t acked_features;
	bool active;
	struct virtio_throttle throttle;
	struct blk_uring *uring; /* Async engine, NULL for Sync */
	struct block_metrics m; /* also the metrics group block_<id>: relaxed atomics */
	int metrics_group;
	struct virtq_elem elem; /* scratch for the chain being handled */
	struct blk_req req;     /* its parsed form; while open, the chain served in pieces */
	/* A data chain larger than what is left of a wake-up's budget is open:
	 * it goes in pieces across wake-ups (virtio.h), no later chain is taken
	 * before it completes, and its used entry is pushed once, after the
	 * last piece. A reset closes it and drops the rest. */
	bool open;
	bool open_failed;       /* a piece failed: the chain ends with IOERR */
	bool piece_inflight;    /* Async: its current piece is with io_uring */
	uint64_t open_done;     /* bytes of it transferred (Async: submitted) */
	struct blk_req piece;   /* scratch: the window of the current piece */
};

/* Counts into the drive's own counters (block_<id>; the flush sums them
 * into `block`). The request path runs on the vmm thread only, so these
 * have a single writer: a relaxed load and store, no locked instruction,
 * and readers on other threads never see a torn value. */
#define BLK_COUNT(b, name, n) metrics_local_add((b)->m.name, (n))
/* The same for the few counters that vCPU threads bump (register accesses):
 * several writers, so a real atomic add. */
#define BLK_COUNT_SHARED(b, name, n) metrics_add_shared((b)->m.name, (n))

/* Writes the status, returns the chain (used length = data bytes written + 1). */
void block_complete(struct block *b, uint16_t head, uint8_t *status, uint8_t code, uint32_t data_written);

/* read_agg / write_agg: records the time since t0_ns (blk_now_ns) of one
 * read or write (Sync: a preadv/pwritev; Async: a submission to its last
 * completion), in µs rounded up; other types are not timed. */
uint64_t blk_now_ns(void);
void blk_time_io(struct block *b, uint32_t type, uint64_t t0_ns);

/* Async: the current piece of the open chain completed (ok: in full). */
void block_piece_done(struct block *b, bool ok);

/* After completions (lock held): signal the guest and serve what waited for room. */
void block_resume(struct block *b);

/* Drops the first n bytes of iov[*first, nr) (n at most what is there): whole
 * entries are skipped by advancing *first, a partly transferred one is
 * trimmed in place. */
void blk_iov_consume(struct iovec *iov, unsigned nr, unsigned *first, uint64_t n);

/* The Async engine. All calls on the vmm thread or under the transport lock.
 * Each submission moves at most max_transfer bytes (rounded down to a sector;
 * 0 or more than BLK_MAX_TRANSFER: BLK_MAX_TRANSFER). */
int blk_uring_create(struct block *b, unsigned depth, uint64_t max_transfer, struct event_loop *loop,
		     struct blk_uring **ret);
/* Waits for what is in flight (results discarded), then frees. Accepts NULL, returns NULL. */
struct blk_uring *blk_uring_destroy(struct blk_uring *u);
bool blk_uring_full(const struct blk_uring *u);
/* Queues a read, write or (drained) flush for r. 0 or -errno (-EBUSY when
 * full). A piece of an open chain completes through block_piece_done(), a
 * whole request through block_complete(). */
int blk_uring_queue(struct blk_uring *u, const struct blk_req *r, int fd, bool piece);
/* Submits what was queued. */
void blk_uring_submit(struct blk_uring *u);
/* Waits for every in-flight request. complete: finish them as usual (file
 * swap); otherwise discard the results (device reset: the queue is gone). */
void blk_uring_drain(struct blk_uring *u, bool complete);
/* A device reset: requests in flight finish in the background and their
 * results are dropped (the queue they came from is gone). No syscall: this
 * runs on the vCPU thread that wrote the status register. */
void blk_uring_forget(struct blk_uring *u);
/* One completion (user_data and res of its CQE): the rest of a request that
 * completed short is prepared again (submitted by the next blk_uring_submit),
 * a finished or failed one goes to the used ring. complete = false: the
 * result is dropped and the request ends (reset, teardown). */
void blk_uring_complete(struct blk_uring *u, uint64_t user_data, int32_t res, bool complete);
/* Reaps finished requests into the used ring and submits the rest of those
 * that completed short; returns how many completions it saw. */
unsigned blk_uring_reap(struct blk_uring *u);
unsigned blk_uring_inflight(const struct blk_uring *u);
