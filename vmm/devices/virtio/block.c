#include "block.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "block-internal.h"
#include "cleanup.h"
#include "devices/device.h"
#include "log.h"
#include "metrics.h"
#include "mmio.h"

#define BLK_HEADER_BYTES 16u

static const struct virtio_device_ops block_ops;


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

/* Copies iov[0, n) into r->data without its first `skip` and last `trim` bytes. */
static void blk_req_set_data(struct blk_req *r, const struct iovec *iov, unsigned n, size_t skip, size_t trim)
{
	r->nr_data = 0;
	r->data_len = 0;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *base = iov[i].iov_base;
		size_t len = iov[i].iov_len;

		if (skip) {
			size_t c = skip < len ? skip : len;

			base += c;
			len -= c;
			skip -= c;
		}
		if (i == n - 1)
			len -= trim < len ? trim : len;
		if (len == 0)
			continue;
		r->data[r->nr_data++] = (struct iovec){ .iov_base = base, .iov_len = len };
		r->data_len += len;
	}
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
	struct virtq *q = virtio_mmio_queue(b->t, 0);

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

static uint64_t blk_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Sync engine: the I/O happens here, on the vmm thread. */
static void blk_execute_sync(struct block *b, struct blk_req *r)
{
	uint64_t off = r->sector * VIRTIO_BLK_SECTOR, t0;
	int err = 0;

	if (r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT) {
		t0 = blk_now_us();
		err = blk_sync_rw(b->fd, r->data, r->nr_data, off, r->type == VIRTIO_BLK_T_OUT);
		metrics_record_latency(r->type == VIRTIO_BLK_T_IN ? &b->m.read_agg__min_us : &b->m.write_agg__min_us,
				       blk_now_us() - t0);
	} else if (r->type == VIRTIO_BLK_T_FLUSH && b->cache_type == DRIVE_CACHE_WRITEBACK)
		err = fsync(b->fd) < 0 ? -errno : 0;
	if (err < 0) {
		BLK_COUNT(b, execute_fails, 1);
		log_rl(LOG_ERROR, "block %s: %s at sector %" PRIu64 " failed: %s", b->id,
		       r->type == VIRTIO_BLK_T_IN ? "read" : r->type == VIRTIO_BLK_T_OUT ? "write" : "flush",
		       r->sector, strerror(-err));
		block_complete(b, r->head, r->status, VIRTIO_BLK_S_IOERR, 0);
		return;
	}
	block_complete(b, r->head, r->status, VIRTIO_BLK_S_OK,
		       r->type == VIRTIO_BLK_T_IN ? (uint32_t)r->data_len : 0);
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
	} else if (b->uring && !(r->type == VIRTIO_BLK_T_FLUSH && b->cache_type != DRIVE_CACHE_WRITEBACK)) {
		if (blk_uring_queue(b->uring, r, b->fd) < 0) {
			BLK_COUNT(b, execute_fails, 1);
			block_complete(b, r->head, r->status, VIRTIO_BLK_S_IOERR, 0);
		}
	} else {
		blk_execute_sync(b, r);
	}
	return true;
}

/* Serves the queue until it is empty, the limiter parks it or io_uring is
 * full. A guest that refills the ring as fast as it drains could keep the
 * vmm thread here forever: after a queue's worth of chains the rest waits for
 * the next loop round, behind the other fds. */
static void block_process(struct block *b)
{
	struct virtq *q = virtio_mmio_queue(b->t, 0);
	unsigned budget = VIRTQ_MAX_SIZE;

	if (!b->active)
		return;
	for (;;) {
		bool stopped = false, yield = false;
		int r;

		while (!stopped) {
			if (budget-- == 0) {
				yield = stopped = true;
				break;
			}
			if (b->uring && blk_uring_full(b->uring)) {
				/* resumed by the completion handler */
				BLK_COUNT(b, io_engine_throttled_events, 1);
				stopped = true;
				break;
			}
			r = virtq_pop(q, &b->elem);
			if (r < 0) {
				/* what was queued before the breakage still goes to the disk */
				virtio_mmio_set_needs_reset(b->t);
				stopped = true;
				break;
			}
			if (r == 0)
				break;
			stopped = !blk_handle(b, q);
		}
		if (b->uring)
			blk_uring_submit(b->uring);
		virtio_mmio_signal_used(b->t, 0);
		if (yield) {
			BLK_COUNT(b, remaining_reqs_count, 1);
			virtio_mmio_requeue(b->t, 0);
		}
		if (stopped || !virtq_idle(q))
			return;
	}
}

static void block_notify(void *dev, uint16_t queue)
{
	struct block *b = dev;

	BLK_COUNT(b, queue_event_count, 1);
	if (b->throttle.parked)
		return; /* the timer will come back for these */
	block_process(b);
}

static void block_on_timer(void *ctx, uint32_t events)
{
	struct block *b = ctx;

	virtio_mmio_lock(b->t);
	BLK_COUNT(b, rate_limiter_event_count, 1);
	virtio_throttle_fired(&b->throttle);
	block_process(b);
	virtio_mmio_unlock(b->t);
}

void block_resume(struct block *b)
{
	virtio_mmio_signal_used(b->t, 0);
	if (!b->throttle.parked)
		block_process(b);
}

static uint64_t block_features(void *dev)
{
	struct block *b = dev;
	uint64_t f = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_EVENT_IDX) | (1ull << VIRTIO_F_INDIRECT_DESC);

	if (b->read_only)
		f |= 1ull << VIRTIO_BLK_F_RO;
	if (b->cache_type == DRIVE_CACHE_WRITEBACK)
		f |= 1ull << VIRTIO_BLK_F_FLUSH;
	return f;
}

static void block_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct block *b = dev;
	uint64_t capacity = htole64(b->capacity);

	/* struct virtio_blk_config: only capacity is offered (no SIZE_MAX, SEG_MAX, ...). */
	memcpy(data, (uint8_t *)&capacity + off, len);
}

static void block_config_write(void *dev, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct block *b = dev;

	BLK_COUNT_SHARED(b, cfg_fails, 1);
	log_rl(LOG_WARNING, "block %s: guest wrote read-only config space at %u", b->id, off);
}

static int block_activate(void *dev, uint64_t features)
{
	struct block *b = dev;

	if (!virtio_mmio_queue(b->t, 0)->ready) {
		BLK_COUNT_SHARED(b, activate_fails, 1);
		return -EINVAL;
	}
	b->acked_features = features;
	b->active = true;
	return 0;
}

static void block_reset(void *dev)
{
	struct block *b = dev;

	/* In-flight reads still land in the buffers the guest gave; their
	 * completions no longer reach the (reset) used ring. Waiting here would
	 * need io_uring_enter on a vCPU thread. */
	if (b->uring)
		blk_uring_forget(b->uring);
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

int block_create(const struct device_env *env, unsigned slot, const struct drive_config *cfg,
		 const struct block_options *opts, struct block **ret)
{
	_cleanup_free_ struct block *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return -ENOMEM;
	b->fd = -1;
	b->metrics_group = -1;
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
	r = virtio_mmio_create(env, slot, &block_ops, b, &b->t);
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
	/* The transport goes first: no more kicks can reach the device. */
	b->t = virtio_mmio_destroy(b->t);
	b->uring = blk_uring_destroy(b->uring);
	virtio_throttle_destroy(&b->throttle);
	if (b->fd >= 0)
		close(b->fd);
	free(b);
	return NULL;
}

struct virtio_mmio *block_transport(struct block *b)
{
	return b->t;
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

	virtio_mmio_lock(b->t);
	c = b->capacity;
	virtio_mmio_unlock(b->t);
	return c;
}

void block_metrics_get(struct block *b, struct block_metrics *ret)
{
	virtio_mmio_lock(b->t);
	*ret = b->m;
	virtio_mmio_unlock(b->t);
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
		virtio_mmio_signal_config(b->t);
	return 0;
}

int block_update(struct block *b, const struct drive_update *u)
{
	int r = 0;

	virtio_mmio_lock(b->t);
	if (u->path_on_host)
		r = block_swap_file(b, u->fd);
	if (r >= 0 && u->rate_limiter.present) {
		/* Firecracker's PATCH: a bucket named in the body is replaced (size 0
		 * disables it), a bucket left out keeps its configuration. */
		struct rate_limiter_config cfg;

		for (unsigned i = 0; i < RATE_LIMITER_KINDS; i++)
			cfg.bucket[i] = u->rate_limiter.bucket_present[i] ? u->rate_limiter.cfg.bucket[i]
									   : b->throttle.rl.bucket[i].cfg;
		virtio_throttle_replace(&b->throttle, &cfg);
		block_process(b); /* what the old limiter held back may go now */
	}
	if (r < 0)
		BLK_COUNT(b, update_fails, 1);
	else
		BLK_COUNT(b, update_count, 1);
	virtio_mmio_unlock(b->t);
	return r;
}
