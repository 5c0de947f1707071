#include "block.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "block-internal.h"
#include "cleanup.h"
#include "core/device_env.h"
#include "log.h"
#include "metrics.h"
#include "virtio.h"

#define BLK_HEADER_BYTES 16u

static const struct virtio_device_ops block_ops;


static struct block *blk_of(struct virtio_dev *d)
{
	return (struct block *)((char *)d - offsetof(struct block, vdev));
}

/* Copies len bytes from the start of an iovec list (len <= its total). */
static void iov_gather(const struct iovec *iov, unsigned n, void *dst, size_t len)
{
	uint8_t *d = dst;

	for (unsigned i = 0; i < n && len; i++) {
		size_t c = iov[i].iov_len < len ? iov[i].iov_len : len;

		memcpy(d, iov[i].iov_base, c);
		d += c;
		len -= c;
	}
}

static size_t iov_scatter(const struct iovec *iov, unsigned n, const void *src, size_t len)
{
	const uint8_t *s = src;
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t c = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;

		memcpy(iov[i].iov_base, s + done, c);
		done += c;
	}
	return done;
}

/* The bytes [skip, skip + len) of iov[0, n) as iovecs in dst (room for n);
 * *ret_n gets their count. Returns how many bytes they hold (less than len
 * when the list is shorter). */
static uint64_t iov_window(const struct iovec *iov, unsigned n, uint64_t skip, uint64_t len, struct iovec *dst,
			   unsigned *ret_n)
{
	uint64_t got = 0;

	*ret_n = 0;
	for (unsigned i = 0; i < n && got < len; i++) {
		uint8_t *base = iov[i].iov_base;
		uint64_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		base += skip;
		l -= skip;
		skip = 0;
		if (l > len - got)
			l = len - got;
		dst[(*ret_n)++] = (struct iovec){ .iov_base = base, .iov_len = l };
		got += l;
	}
	return got;
}

/* Copies iov[0, n) into r->data without its first `skip` and last `trim` bytes. */
static void blk_req_set_data(struct blk_req *r, const struct iovec *iov, unsigned n, uint64_t skip, uint64_t trim)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < n; i++)
		total += iov[i].iov_len;
	total = total > skip + trim ? total - skip - trim : 0;
	r->data_len = iov_window(iov, n, skip, total, r->data, &r->nr_data);
}

/* Splits a chain into header, data and status (§5.2.6). -EBADMSG when there
 * is no room for a header or a status byte: the chain cannot be answered. */
static int blk_parse(const struct virtq_elem *e, struct blk_req *r)
{
	struct {
		uint32_t type;
		uint32_t reserved;
		uint64_t sector;
	} h;
	const struct iovec *last;

	if (e->out_len < BLK_HEADER_BYTES || e->in_len < 1)
		return -EBADMSG;
	iov_gather(e->iov, e->nr_out, &h, sizeof(h));
	r->head = e->head;
	r->type = le32toh(h.type);
	r->sector = le64toh(h.sector);
	last = &e->iov[e->nr_out + e->nr_in - 1];
	r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	if (r->type == VIRTIO_BLK_T_OUT) {
		/* header and data readable; only the status byte writable */
		r->layout_ok = e->in_len == 1;
		blk_req_set_data(r, e->iov, e->nr_out, BLK_HEADER_BYTES, 0);
	} else {
		/* header readable; data (if any) and status writable */
		r->layout_ok = e->out_len == BLK_HEADER_BYTES;
		blk_req_set_data(r, e->iov + e->nr_out, e->nr_in, 0, 1);
	}
	return 0;
}

/* The status a request gets before any I/O, VIRTIO_BLK_S_OK if it may run. */
static uint8_t blk_check(struct block *b, const struct blk_req *r)
{
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (!r->layout_ok || r->data_len % VIRTIO_BLK_SECTOR)
			return VIRTIO_BLK_S_IOERR;
		if (r->type == VIRTIO_BLK_T_OUT && b->read_only)
			return VIRTIO_BLK_S_IOERR;
		if (r->sector > b->capacity || r->data_len / VIRTIO_BLK_SECTOR > b->capacity - r->sector)
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
	case VIRTIO_BLK_T_GET_ID:
		return r->layout_ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

void block_complete(struct block *b, uint16_t head, uint8_t *status, uint8_t code, uint32_t data_written)
{
	struct virtq *q = virtio_queue(&b->vdev, 0);

	__atomic_store_n(status, code, __ATOMIC_RELAXED);
	virtq_push(q, head, data_written + 1);
}

void blk_iov_consume(struct iovec *iov, unsigned nr, unsigned *first, uint64_t n)
{
	unsigned i = *first;

	while (i < nr && n >= iov[i].iov_len) {
		n -= iov[i].iov_len;
		i++;
	}
	if (i < nr && n) {
		iov[i].iov_base = (uint8_t *)iov[i].iov_base + n;
		iov[i].iov_len -= (size_t)n;
	}
	*first = i;
}

/* One call moves at most BLK_MAX_TRANSFER bytes and may stop short: go on
 * from where it stopped until all of it is done or the file ends. */
static int blk_sync_rw(int fd, struct iovec *iov, unsigned n, uint64_t off, bool write)
{
	unsigned first = 0;

	while (first < n) {
		ssize_t r = write ? pwritev(fd, iov + first, (int)(n - first), (off_t)off)
				  : preadv(fd, iov + first, (int)(n - first), (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO; /* the file shrank under us */
		off += (uint64_t)r;
		blk_iov_consume(iov, n, &first, (uint64_t)r);
	}
	return 0;
}

static void blk_count(struct block *b, const struct blk_req *r)
{
	if (r->type == VIRTIO_BLK_T_IN) {
		BLK_COUNT(b, read_count, 1);
		BLK_COUNT(b, read_bytes, r->data_len);
	} else if (r->type == VIRTIO_BLK_T_OUT) {
		BLK_COUNT(b, write_count, 1);
		BLK_COUNT(b, write_bytes, r->data_len);
	} else if (r->type == VIRTIO_BLK_T_FLUSH) {
		BLK_COUNT(b, flush_count, 1);
	}
}

uint64_t blk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

void blk_time_io(struct block *b, uint32_t type, uint64_t t0_ns)
{
	/* Rounded up: an I/O never took 0 µs, so sum_us grows with every one. */
	uint64_t us = (blk_now_ns() - t0_ns + 999) / 1000;

	if (type == VIRTIO_BLK_T_IN)
		metrics_record_latency(&b->m.read_agg__min_us, us);
	else if (type == VIRTIO_BLK_T_OUT)
		metrics_record_latency(&b->m.write_agg__min_us, us);
}

static const char *blk_op_name(uint32_t type)
{
	return type == VIRTIO_BLK_T_IN ? "read" : type == VIRTIO_BLK_T_OUT ? "write" : "flush";
}

static void blk_fail(struct block *b, const struct blk_req *r, uint64_t at, int err)
{
	BLK_COUNT(b, execute_fails, 1);
	log_rl(LOG_ERROR, "block %s: %s at sector %" PRIu64 " failed: %s", b->id, blk_op_name(r->type), at,
	       strerror(-err));
}

/* Sync FLUSH (a no-op unless the drive caches: Writeback). */
static void blk_flush_sync(struct block *b, struct blk_req *r)
{
	int err = b->cache_type == DRIVE_CACHE_WRITEBACK && fsync(b->fd) < 0 ? -errno : 0;

	if (err < 0)
		blk_fail(b, r, r->sector, err);
	block_complete(b, r->head, r->status, err < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK, 0);
}

/* The window [skip, skip + len) of r's data as r->piece's data. */
static void blk_set_piece(struct block *b, const struct blk_req *r, uint64_t skip, uint64_t len)
{
	struct blk_req *p = &b->piece;

	p->head = r->head;
	p->type = r->type;
	p->status = r->status;
	p->sector = r->sector + skip / VIRTIO_BLK_SECTOR;
	iov_window(r->data, r->nr_data, skip, len, p->data, &p->nr_data);
	p->data_len = len;
}

/* This wake-up's share of the open chain's bytes: 0 when the budget is spent. */
static uint64_t blk_take(struct block *b, uint64_t want)
{
	return virtio_take_bytes(&b->vdev, want, VIRTIO_BLK_SECTOR);
}

static void blk_close(struct block *b, uint8_t code, uint32_t data_written)
{
	struct blk_req *r = &b->req;

	b->open = false;
	block_complete(b, r->head, r->status, code, data_written);
}

/* Sync: the open chain's next pieces, each one preadv/pwritev of at most
 * what the budget grants (<= VIRTIO_WAKEUP_BYTES). Returns false when the
 * budget ran out before the chain's end. */
static bool blk_serve_sync(struct block *b)
{
	struct blk_req *r = &b->req;

	while (b->open_done < r->data_len) {
		uint64_t grant = blk_take(b, r->data_len - b->open_done), t0 = blk_now_ns();
		int err;

		if (!grant)
			return false;
		blk_set_piece(b, r, b->open_done, grant);
		err = blk_sync_rw(b->fd, b->piece.data, b->piece.nr_data, b->piece.sector * VIRTIO_BLK_SECTOR,
				  r->type == VIRTIO_BLK_T_OUT);
		blk_time_io(b, r->type, t0);
		if (err < 0) {
			blk_fail(b, r, b->piece.sector, err);
			blk_close(b, VIRTIO_BLK_S_IOERR, 0);
			return true;
		}
		b->open_done += grant;
	}
	blk_close(b, VIRTIO_BLK_S_OK, r->type == VIRTIO_BLK_T_IN ? (uint32_t)r->data_len : 0);
	return true;
}

void block_piece_done(struct block *b, bool ok)
{
	b->piece_inflight = false;
	if (!ok)
		b->open_failed = true;
}

/* Async: one piece of the open chain with io_uring at a time, each at most
 * what the budget grants; the next goes when it completed (the completion
 * is a wake-up of its own). Returns false while the chain is unfinished. */
static bool blk_serve_async(struct block *b)
{
	struct blk_req *r = &b->req;
	uint64_t grant;

	if (b->piece_inflight)
		return false;
	if (b->open_failed || b->open_done == r->data_len) {
		blk_close(b, b->open_failed ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK,
			  !b->open_failed && r->type == VIRTIO_BLK_T_IN ? (uint32_t)r->data_len : 0);
		return true;
	}
	if (blk_uring_full(b->uring))
		return false; /* a completion frees a slot and comes back here */
	grant = blk_take(b, r->data_len - b->open_done);
	if (!grant)
		return false;
	blk_set_piece(b, r, b->open_done, grant);
	if (blk_uring_queue(b->uring, &b->piece, b->fd, true) < 0) {
		BLK_COUNT(b, execute_fails, 1);
		blk_close(b, VIRTIO_BLK_S_IOERR, 0);
		return true;
	}
	b->piece_inflight = true;
	b->open_done += grant;
	return false;
}

/* Reads and writes. One that fits in what is left of this wake-up's budget
 * goes whole (Async: several in flight); a larger one is opened and served
 * in pieces. */
static void blk_start_data(struct block *b, struct blk_req *r)
{
	if (b->uring && r->data_len <= virtio_budget_bytes(&b->vdev)) {
		blk_take(b, r->data_len);
		if (blk_uring_queue(b->uring, r, b->fd, false) < 0) {
			BLK_COUNT(b, execute_fails, 1);
			block_complete(b, r->head, r->status, VIRTIO_BLK_S_IOERR, 0);
		}
		return;
	}
	b->open = true;
	b->open_failed = false;
	b->piece_inflight = false;
	b->open_done = 0;
}

static bool blk_is_data(uint32_t type)
{
	return type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_OUT;
}

/* Returns false when the request went back to the queue (rate limited). */
static bool blk_handle(struct block *b, struct virtq *q)
{
	struct blk_req *r = &b->req;
	uint8_t code;

	if (blk_parse(&b->elem, r) < 0) {
		BLK_COUNT(b, invalid_reqs_count, 1);
		log_rl(LOG_WARNING, "block %s: request without header or status byte dropped", b->id);
		virtq_push(q, b->elem.head, 0);
		return true;
	}
	if (!virtio_throttle_admit(&b->throttle, blk_is_data(r->type) ? r->data_len : 0, 1)) {
		/* only reached unparked, so each refusal is a new throttling event */
		BLK_COUNT(b, rate_limiter_throttled_events, 1);
		virtq_unpop(q);
		return false;
	}
	code = blk_check(b, r);
	if (code != VIRTIO_BLK_S_OK) {
		BLK_COUNT(b, invalid_reqs_count, 1);
		log_rl(LOG_WARNING, "block %s: request type %u sector %" PRIu64 " length %" PRIu64 " refused", b->id,
		       r->type, r->sector, r->data_len);
		block_complete(b, r->head, r->status, code, 0);
		return true;
	}
	blk_count(b, r);
	if (r->type == VIRTIO_BLK_T_GET_ID) {
		size_t n = iov_scatter(r->data, r->nr_data, b->dev_id, VIRTIO_BLK_ID_BYTES);

		block_complete(b, r->head, r->status, VIRTIO_BLK_S_OK, (uint32_t)n);
	} else if (blk_is_data(r->type)) {
		blk_start_data(b, r);
	} else if (b->uring && b->cache_type == DRIVE_CACHE_WRITEBACK) {
		/* IO_DRAIN: it starts once everything before it, every piece of an
		 * earlier open chain included, has completed */
		if (blk_uring_queue(b->uring, r, b->fd, false) < 0) {
			BLK_COUNT(b, execute_fails, 1);
			block_complete(b, r->head, r->status, VIRTIO_BLK_S_IOERR, 0);
		}
	} else {
		blk_flush_sync(b, r);
	}
	return true;
}

enum blk_step {
	BLK_NEXT,  /* go on */
	BLK_IDLE,  /* the queue is empty */
	BLK_STOP,  /* wait: the rate limiter's timer or an io_uring completion comes back */
	BLK_YIELD, /* this wake-up's budget is spent: another turn after the loop's other fds */
};

static enum blk_step blk_step_open(struct block *b)
{
	if (b->uring ? blk_serve_async(b) : blk_serve_sync(b))
		return BLK_NEXT;
	if (b->uring && (b->piece_inflight || blk_uring_full(b->uring)))
		return BLK_STOP;
	return BLK_YIELD;
}

/* One step of a wake-up: the open chain's next pieces, or the next chain. */
static enum blk_step blk_step(struct block *b, struct virtq *q)
{
	int r;

	if (b->open)
		return blk_step_open(b);
	if (virtio_budget_spent(&b->vdev) || !virtio_take_chain(&b->vdev))
		return BLK_YIELD;
	if (b->uring && blk_uring_full(b->uring)) {
		BLK_COUNT(b, io_engine_throttled_events, 1);
		return BLK_STOP;
	}
	r = virtq_pop(q, &b->elem);
	if (r < 0) {
		/* what was queued before the breakage still goes to the disk */
		virtio_set_needs_reset(&b->vdev);
		return BLK_STOP;
	}
	if (r == 0)
		return BLK_IDLE;
	return blk_handle(b, q) ? BLK_NEXT : BLK_STOP;
}

/* Serves the queue until it is empty, the limiter parks it, io_uring is
 * full or this wake-up's budget (virtio.h) is spent. A guest that refills
 * the ring as fast as it drains, or hands over one chain of 4 GiB - 1 bytes,
 * could otherwise keep the vmm thread here for minutes: the rest waits for
 * the next turn, behind the loop's other fds. */
static void block_process(struct block *b)
{
	struct virtq *q = virtio_queue(&b->vdev, 0);
	enum blk_step step;

	if (!b->active)
		return;
	for (;;) {
		while ((step = blk_step(b, q)) == BLK_NEXT)
			;
		if (b->uring)
			blk_uring_submit(b->uring);
		virtio_signal_used(&b->vdev, 0);
		if (step == BLK_YIELD) {
			BLK_COUNT(b, remaining_reqs_count, 1);
			virtio_yield(&b->vdev, 0);
		}
		if (step != BLK_IDLE || !virtq_idle(q))
			return;
	}
}

static void block_notify(struct virtio_dev *d, uint16_t queue)
{
	struct block *b = blk_of(d);

	BLK_COUNT(b, queue_event_count, 1);
	if (b->throttle.parked)
		return; /* the timer will come back for these */
	block_process(b);
}

static void block_on_timer(void *ctx, uint32_t events)
{
	struct block *b = ctx;

	virtio_lock(&b->vdev);
	virtio_wakeup(&b->vdev); /* a loop handler call of its own */
	BLK_COUNT(b, rate_limiter_event_count, 1);
	virtio_throttle_fired(&b->throttle);
	block_process(b);
	virtio_unlock(&b->vdev);
}

void block_resume(struct block *b)
{
	virtio_signal_used(&b->vdev, 0);
	if (!b->throttle.parked)
		block_process(b);
}

static uint64_t block_features(struct virtio_dev *d)
{
	struct block *b = blk_of(d);
	uint64_t f = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_EVENT_IDX) | (1ull << VIRTIO_F_INDIRECT_DESC);

	if (b->read_only)
		f |= 1ull << VIRTIO_BLK_F_RO;
	if (b->cache_type == DRIVE_CACHE_WRITEBACK)
		f |= 1ull << VIRTIO_BLK_F_FLUSH;
	return f;
}

static void block_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct block *b = blk_of(d);
	uint64_t capacity = htole64(b->capacity);

	/* struct virtio_blk_config: only capacity is offered (no SIZE_MAX, SEG_MAX, ...). */
	memcpy(data, (uint8_t *)&capacity + off, len);
}

static void block_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct block *b = blk_of(d);

	BLK_COUNT_SHARED(b, cfg_fails, 1);
	log_rl(LOG_WARNING, "block %s: guest wrote read-only config space at %u", b->id, off);
}

static int block_activate(struct virtio_dev *d, uint64_t features, const struct guest_memory *mem)
{
	struct block *b = blk_of(d);

	if (!virtio_queue(&b->vdev, 0)->ready) {
		BLK_COUNT_SHARED(b, activate_fails, 1);
		return -EINVAL;
	}
	b->acked_features = features;
	b->active = true;
	return 0;
}

static void block_reset(struct virtio_dev *d)
{
	struct block *b = blk_of(d);

	/* In-flight reads still land in the buffers the guest gave; their
	 * completions no longer reach the (reset) used ring. Waiting here would
	 * need io_uring_enter on a vCPU thread. */
	if (b->uring)
		blk_uring_forget(b->uring);
	b->open = false; /* the rest of a chain served in pieces is dropped */
	b->piece_inflight = false;
	b->active = false;
	b->acked_features = 0;
}

static const struct virtio_device_ops block_ops = {
	.name = "block",
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.config_size = 8,
	.features = block_features,
	.config_read = block_config_read,
	.config_write = block_config_write,
	.activate = block_activate,
	.reset = block_reset,
	.notify = block_notify,
};

/* Capacity and the GET_ID string of a backing file: Firecracker's id is the
 * decimal st_dev, st_rdev and st_ino run together (kvmtool style), cut at 20
 * bytes and zero-padded. */
static int block_probe_file(const char *id, int fd, uint64_t *ret_capacity, char ret_dev_id[VIRTIO_BLK_ID_BYTES])
{
	char buf[3 * 21 + 1];
	struct stat st;
	off_t size;

	if (fstat(fd, &st) < 0)
		return -errno;
	size = lseek(fd, 0, SEEK_END);
	if (size < 0)
		return -errno;
	if (size % VIRTIO_BLK_SECTOR)
		log_warn("block %s: backing file size %jd is not a multiple of %u; the tail is not visible to the guest",
			 id, (intmax_t)size, VIRTIO_BLK_SECTOR);
	snprintf(buf, sizeof(buf), "%ju%ju%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_rdev, (uintmax_t)st.st_ino);
	memset(ret_dev_id, 0, VIRTIO_BLK_ID_BYTES);
	memcpy(ret_dev_id, buf, strnlen(buf, VIRTIO_BLK_ID_BYTES));
	*ret_capacity = (uint64_t)size / VIRTIO_BLK_SECTOR;
	return 0;
}

static int block_setup_engine(struct block *b, const struct device_env *env, const struct block_options *opts)
{
	int r;

	if (b->engine != DRIVE_ENGINE_ASYNC)
		return 0;
	r = blk_uring_create(b, opts && opts->async_depth ? opts->async_depth : 64, opts ? opts->async_max_transfer : 0,
			     env->loop, &b->uring);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		log_warn("block %s: io_uring is unavailable (%s); the drive uses the Sync engine instead", b->id,
			 strerror(-r));
		b->engine = DRIVE_ENGINE_SYNC;
	}
	return 0;
}

METRICS_GROUP(block_metrics, "block", BLOCK_METRICS);

int block_create(const struct device_env *env, const struct drive_config *cfg, const struct block_options *opts,
		 struct block **ret)
{
	_cleanup_free_ struct block *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return -ENOMEM;
	b->fd = -1;
	b->metrics_group = -1;
	virtio_dev_init(&b->vdev, &block_ops);
	snprintf(b->id, sizeof(b->id), "%s", cfg->drive_id);
	b->read_only = cfg->is_read_only;
	b->cache_type = cfg->cache_type;
	b->engine = cfg->io_engine;
	b->fd = fcntl(cfg->fd, F_DUPFD_CLOEXEC, 3);
	if (b->fd < 0) {
		r = -errno;
		goto fail;
	}
	r = block_probe_file(b->id, b->fd, &b->capacity, b->dev_id);
	if (r < 0)
		goto fail;
	r = virtio_throttle_init(&b->throttle, env->loop, &cfg->rate_limiter.cfg, opts ? opts->clock : NULL,
				 block_on_timer, b);
	if (r < 0)
		goto fail;
	r = block_setup_engine(b, env, opts);
	if (r < 0)
		goto fail;
	b->metrics_group = metrics_register(&block_metrics_group, b->id, &b->m);
	r = b->metrics_group;
	if (r < 0)
		goto fail;
	*ret = TAKE_PTR(b);
	return 0;
fail:
	block_destroy(TAKE_PTR(b));
	return r;
}

struct block *block_destroy(struct block *b)
{
	if (!b)
		return NULL;
	metrics_unregister(b->metrics_group);
	if (b->throttle.throttled_events)
		log_info("block %s: the rate limiter held requests back %" PRIu64 " times", b->id,
			 b->throttle.throttled_events);
	b->uring = blk_uring_destroy(b->uring);
	virtio_throttle_destroy(&b->throttle);
	if (b->fd >= 0)
		close(b->fd);
	virtio_dev_destroy(&b->vdev);
	free(b);
	return NULL;
}

struct virtio_dev *block_virtio(struct block *b)
{
	return &b->vdev;
}

const char *block_id(const struct block *b)
{
	return b->id;
}

enum drive_io_engine block_engine(const struct block *b)
{
	return b->engine;
}

uint64_t block_capacity_sectors(struct block *b)
{
	uint64_t c;

	virtio_lock(&b->vdev);
	c = b->capacity;
	virtio_unlock(&b->vdev);
	return c;
}

void block_metrics_get(struct block *b, struct block_metrics *ret)
{
	virtio_lock(&b->vdev);
	*ret = b->m;
	virtio_unlock(&b->vdev);
}

static int block_swap_file(struct block *b, int new_fd)
{
	char dev_id[VIRTIO_BLK_ID_BYTES];
	uint64_t capacity;
	int fd, r;

	fd = fcntl(new_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	r = block_probe_file(b->id, fd, &capacity, dev_id);
	if (r < 0) {
		close(fd);
		return r;
	}
	/* Requests already submitted were meant for the old file: let them finish there. */
	if (b->uring)
		blk_uring_drain(b->uring, true);
	close(b->fd);
	b->fd = fd;
	b->capacity = capacity;
	memcpy(b->dev_id, dev_id, sizeof(dev_id));
	if (b->active)
		virtio_signal_config(&b->vdev);
	return 0;
}

int block_update(struct block *b, const struct drive_update *u)
{
	int r = 0;

	virtio_lock(&b->vdev);
	if (u->path_on_host)
		r = block_swap_file(b, u->fd);
	if (r >= 0 && u->rate_limiter.present) {
		virtio_throttle_patch(&b->throttle, &u->rate_limiter);
		block_process(b); /* what the old limiter held back may go now */
	}
	if (r < 0)
		BLK_COUNT(b, update_fails, 1);
	else
		BLK_COUNT(b, update_count, 1);
	virtio_unlock(&b->vdev);
	return r;
}
