/* virtio-blk through the mmio transport with guest memory built in-process:
 * request parsing, status placement, bounds, GET_ID, UNSUPP, read-only,
 * flush, both engines, the rate limiter and a live file swap. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/loop.h"
#include "core/device_env.h"
#include "devices/virtio/block-internal.h"
#include "virtio-driver.h"

#define QN 64
#define MEM (16ull << 20)
#define DISK_SECTORS 256u

struct fx {
	struct guest_memory *m;
	struct event_loop *loop;
	struct device_env env;
	char path[64];
	struct drive_config cfg;
	struct block_options opts;
	struct block *b;
	struct virtio_mmio *t;
};

static uint64_t fake_now = 1;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	assert_int_equal(guest_memory_create(MEM, &f->m), 0);
	assert_int_equal(loop_create(&f->loop), 0);
	f->env = (struct device_env){ .vm_fd = -1, .mem = f->m, .loop = f->loop };
	snprintf(f->path, sizeof(f->path), "/tmp/ember-test-blk-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, DISK_SECTORS * 512), 0);
	snprintf(f->cfg.drive_id, sizeof(f->cfg.drive_id), "rootfs");
	f->cfg.fd = fd;
	f->opts.clock = fake_clock;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	virtio_mmio_destroy(f->t);
	block_destroy(f->b);
	close(f->cfg.fd);
	unlink(f->path);
	loop_destroy(f->loop);
	guest_memory_destroy(f->m);
	free(f);
	return 0;
}

static void fx_start(struct fx *f, uint64_t want)
{
	assert_int_equal(block_create(&f->env, &f->cfg, &f->opts, &f->b), 0);
	assert_int_equal(virtio_mmio_create(&f->env, 0, block_virtio(f->b), &f->t), 0);
	assert_int_equal(vd_init(f->t, QN, want) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
}

/* Kicks queue 0 and, for Async, runs the loop until `used` chains are back. */
static void fx_run(struct fx *f, uint16_t used)
{
	virtio_mmio_notify(f->t, 0);
	for (int i = 0; i < 100 && h_used_idx(f->m) != used; i++)
		loop_run_once(f->loop, 100);
	assert_int_equal(h_used_idx(f->m), used);
}

static uint32_t used_len(struct fx *f, uint16_t pos)
{
	uint32_t id, len;

	h_used_elem(f->m, QN, pos, &id, &len);
	return len;
}

static void write_read_roundtrip(struct fx *f)
{
	uint8_t pattern[4096], back[4096], disk[4096];

	for (unsigned i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 3);
	guest_memory_write(f->m, vd_data(0), pattern, sizeof(pattern));
	vd_blk_request(f->m, QN, 0, VIRTIO_BLK_T_OUT, 8, sizeof(pattern));
	fx_run(f, 1);
	assert_int_equal(vd_blk_status(f->m, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(used_len(f, 0), 1);
	assert_int_equal(pread(f->cfg.fd, disk, sizeof(disk), 8 * 512), sizeof(disk));
	assert_memory_equal(disk, pattern, sizeof(disk));
	vd_blk_request(f->m, QN, 1, VIRTIO_BLK_T_IN, 8, sizeof(back));
	fx_run(f, 2);
	assert_int_equal(vd_blk_status(f->m, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(used_len(f, 1), sizeof(back) + 1);
	guest_memory_read(f->m, vd_data(1), back, sizeof(back));
	assert_memory_equal(back, pattern, sizeof(back));
}

/* read_agg / write_agg after `reads` reads and `writes` writes: each I/O
 * adds at least 1 µs (rounded up), min <= max <= sum. */
static void assert_timed(const struct block_metrics *bm, uint64_t reads, uint64_t writes)
{
	assert_true(bm->read_agg__min_us >= 1 && bm->read_agg__min_us <= bm->read_agg__max_us);
	assert_true(bm->read_agg__max_us <= bm->read_agg__sum_us && bm->read_agg__sum_us >= reads);
	assert_true(bm->write_agg__min_us >= 1 && bm->write_agg__min_us <= bm->write_agg__max_us);
	assert_true(bm->write_agg__max_us <= bm->write_agg__sum_us && bm->write_agg__sum_us >= writes);
}

static void test_sync_roundtrip(void **state)
{
	struct fx *f = *state;
	struct block_metrics bm;

	fx_start(f, ~0ull);
	write_read_roundtrip(f);
	block_metrics_get(f->b, &bm);
	assert_int_equal(bm.read_count, 1);
	assert_int_equal(bm.write_count, 1);
	assert_int_equal(bm.read_bytes, 4096);
	assert_int_equal(bm.invalid_reqs_count, 0);
	assert_timed(&bm, 1, 1);
	/* the guest saw a used-buffer interrupt */
	assert_true(vd_read(f->t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	vd_write(f->t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

static void test_async_roundtrip_and_flush(void **state)
{
	struct fx *f = *state;
	struct block_metrics bm;

	f->cfg.io_engine = DRIVE_ENGINE_ASYNC;
	f->cfg.cache_type = DRIVE_CACHE_WRITEBACK;
	fx_start(f, ~0ull);
	if (block_engine(f->b) != DRIVE_ENGINE_ASYNC) {
		skip(); /* io_uring unavailable here; the fallback message was logged */
	}
	write_read_roundtrip(f);
	/* several writes then a flush: the flush completes last */
	for (unsigned k = 2; k < 6; k++)
		vd_blk_request(f->m, QN, k, VIRTIO_BLK_T_OUT, k * 8, 4096);
	vd_blk_request(f->m, QN, 6, VIRTIO_BLK_T_FLUSH, 0, 0);
	fx_run(f, 7);
	for (unsigned k = 2; k < 7; k++)
		assert_int_equal(vd_blk_status(f->m, k), VIRTIO_BLK_S_OK);
	block_metrics_get(f->b, &bm);
	assert_int_equal(bm.flush_count, 1);
	assert_int_equal(bm.write_count, 5);
	/* the engine's reads and writes are timed like Sync's; the flush is not */
	assert_timed(&bm, 1, 5);
}

static void test_async_reset_drops_inflight(void **state)
{
	struct fx *f = *state;

	f->cfg.io_engine = DRIVE_ENGINE_ASYNC;
	fx_start(f, ~0ull);
	if (block_engine(f->b) != DRIVE_ENGINE_ASYNC)
		skip();
	for (unsigned k = 0; k < 4; k++)
		vd_blk_request(f->m, QN, k, VIRTIO_BLK_T_IN, k, 4096);
	virtio_mmio_notify(f->t, 0); /* submitted, not reaped */
	vd_write(f->t, VIRTIO_MMIO_STATUS, 0);
	for (int i = 0; i < 5; i++)
		loop_run_once(f->loop, 20);
	assert_int_equal(h_used_idx(f->m), 0); /* nothing pushed into the reset queue */
	/* the device comes back and serves */
	memset(guest_memory_slice(f->m, H_AVAIL, 4), 0, 4);
	assert_int_equal(vd_init(f->t, QN, ~0ull) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
	vd_blk_request(f->m, QN, 0, VIRTIO_BLK_T_IN, 0, 512);
	fx_run(f, 1);
	assert_int_equal(vd_blk_status(f->m, 0), VIRTIO_BLK_S_OK);
}

/* Slot 0's header and status with data in three buffers of 1024, 2048 and
 * 1024 bytes (4096 in all) at vd_data(0), read from sector 0. */
static void three_buffer_read(struct fx *f)
{
	struct {
		uint32_t type, reserved;
		uint64_t sector;
	} h = { VIRTIO_BLK_T_IN, 0, 0 };
	uint8_t status = 0xff;
	uint64_t d = vd_data(0);

	guest_memory_write(f->m, vd_hdr(0), &h, sizeof(h));
	guest_memory_write(f->m, vd_status(0), &status, 1);
	memset(guest_memory_slice(f->m, d, 4096), 0, 4096);
	h_desc(f->m, 0, vd_hdr(0), 16, VIRTQ_DESC_F_NEXT, 1);
	h_desc(f->m, 1, d, 1024, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	h_desc(f->m, 2, d + 1024, 2048, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
	h_desc(f->m, 3, d + 3072, 1024, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 4);
	h_desc(f->m, 4, vd_status(0), 1, VIRTQ_DESC_F_WRITE, 0);
	h_offer(f->m, QN, 0);
}

static void disk_pattern(struct fx *f, uint8_t *ret, size_t len)
{
	for (size_t i = 0; i < len; i++)
		ret[i] = (uint8_t)(i * 13 + i / 512);
	assert_int_equal(pwrite(f->cfg.fd, ret, len, 0), (ssize_t)len);
}

/* A completion shorter than the request is resubmitted for the rest from the
 * iovec and byte where it stopped: pieces of 1536 bytes end inside the second
 * buffer, at 512 of its 2048, so the second piece must start there. */
static void test_async_short_completion_resubmits_from_the_right_offset(void **state)
{
	struct fx *f = *state;
	uint8_t disk[4096];
	struct block_metrics bm;

	f->cfg.io_engine = DRIVE_ENGINE_ASYNC;
	f->opts.async_max_transfer = 1536;
	disk_pattern(f, disk, sizeof(disk));
	fx_start(f, ~0ull);
	if (block_engine(f->b) != DRIVE_ENGINE_ASYNC)
		skip();
	three_buffer_read(f);
	fx_run(f, 1);
	assert_int_equal(vd_blk_status(f->m, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(used_len(f, 0), 4096 + 1);
	assert_memory_equal(guest_memory_slice(f->m, vd_data(0), 4096), disk, 4096);
	block_metrics_get(f->b, &bm);
	assert_int_equal(bm.execute_fails, 0);
	assert_int_equal(bm.read_count, 1);
}

/* The kernel's own short read (the file shrank after the drive was sized):
 * the rest is resubmitted, its zero-length completion fails the request. */
static void test_async_zero_length_completion_is_ioerr(void **state)
{
	struct fx *f = *state;
	uint8_t disk[4096];
	struct block_metrics bm;

	f->cfg.io_engine = DRIVE_ENGINE_ASYNC;
	disk_pattern(f, disk, sizeof(disk));
	fx_start(f, ~0ull);
	if (block_engine(f->b) != DRIVE_ENGINE_ASYNC)
		skip();
	assert_int_equal(ftruncate(f->cfg.fd, 1536), 0);
	three_buffer_read(f);
	fx_run(f, 1);
	assert_int_equal(vd_blk_status(f->m, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used_len(f, 0), 1);
	/* what the file still had arrived before the failure */
	assert_memory_equal(guest_memory_slice(f->m, vd_data(0), 1536), disk, 1536);
	block_metrics_get(f->b, &bm);
	assert_int_equal(bm.execute_fails, 1);
}

/* The same short read on the Sync engine: served up to the end, then IOERR. */
static void test_sync_short_read_is_ioerr(void **state)
{
	struct fx *f = *state;
	uint8_t disk[4096];

	disk_pattern(f, disk, sizeof(disk));
	fx_start(f, ~0ull);
	assert_int_equal(ftruncate(f->cfg.fd, 1536), 0);
	three_buffer_read(f);
	fx_run(f, 1);
	assert_int_equal(vd_blk_status(f->m, 0), VIRTIO_BLK_S_IOERR);
	assert_memory_equal(guest_memory_slice(f->m, vd_data(0), 1536), disk, 1536);
}

static void test_iov_consume(void **state)
{
	uint8_t buf[64];
	struct iovec iov[3] = { { buf, 10 }, { buf + 10, 20 }, { buf + 30, 30 } };
	unsigned first = 0;

	blk_iov_consume(iov, 3, &first, 0);
	assert_int_equal(first, 0);
	blk_iov_consume(iov, 3, &first, 15); /* all of the first, 5 of the second */
	assert_int_equal(first, 1);
	assert_ptr_equal(iov[1].iov_base, buf + 15);
	assert_int_equal(iov[1].iov_len, 15);
	blk_iov_consume(iov, 3, &first, 15); /* exactly the rest of the second */
	assert_int_equal(first, 2);
	assert_ptr_equal(iov[2].iov_base, buf + 30);
	assert_int_equal(iov[2].iov_len, 30);
	blk_iov_consume(iov, 3, &first, 30);
	assert_int_equal(first, 3);
}

static void test_features(void **state)
{
	struct fx *f = *state;
	uint32_t lo;

	f->cfg.is_read_only = true;
	fx_start(f, ~0ull);
	vd_write(f->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	lo = vd_read(f->t, VIRTIO_MMIO_DEVICE_FEATURES);
	assert_true(lo & (1u << VIRTIO_BLK_F_RO));
	assert_false(lo & (1u << VIRTIO_BLK_F_FLUSH)); /* cache_type Unsafe */
	assert_true(lo & (1u << VIRTIO_F_EVENT_IDX));
	vd_write(f->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_DEVICE_FEATURES), 1); /* VERSION_1 */
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_CONFIG), DISK_SECTORS);
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_CONFIG + 4), 0);
}

static void test_read_only_rejects_writes(void **state)
{
	struct fx *f = *state;
	uint8_t ones[512], disk[512];

	f->cfg.is_read_only = true;
	fx_start(f, ~0ull);
	memset(ones, 0xaa, sizeof(ones));
	guest_memory_write(f->m, vd_data(0), ones, sizeof(ones));
	vd_blk_request(f->m, QN, 0, VIRTIO_BLK_T_OUT, 0, 512);
	fx_run(f, 1);
	assert_int_equal(vd_blk_status(f->m, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(pread(f->cfg.fd, disk, 512, 0), 512);
	assert_int_equal(disk[0], 0);
}

static void test_past_end_and_sector_overflow(void **state)
{
	struct fx *f = *state;
	struct block_metrics bm;

	fx_start(f, ~0ull);
	vd_blk_request(f->m, QN, 0, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 1024); /* straddles the end */
	vd_blk_request(f->m, QN, 1, VIRTIO_BLK_T_IN, DISK_SECTORS, 512);
	vd_blk_request(f->m, QN, 2, VIRTIO_BLK_T_OUT, UINT64_MAX, 512);   /* sector·512 overflows */
	vd_blk_request(f->m, QN, 3, VIRTIO_BLK_T_IN, UINT64_MAX / 512, 512);
	vd_blk_request(f->m, QN, 4, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 512); /* the last sector is fine */
	fx_run(f, 5);
	for (unsigned k = 0; k < 4; k++)
		assert_int_equal(vd_blk_status(f->m, k), VIRTIO_BLK_S_IOERR);
	assert_int_equal(vd_blk_status(f->m, 4), VIRTIO_BLK_S_OK);
	block_metrics_get(f->b, &bm);
	assert_int_equal(bm.invalid_reqs_count, 4);
}

static void test_unaligned_length_is_ioerr(void **state)
{
	struct fx *f = *state;

	fx_start(f, ~0ull);
	vd_blk_request(f->m, QN, 0, VIRTIO_BLK_T_IN, 0, 100);
	fx_run(f, 1);
	assert_int_equal(vd_blk_status(f->m, 0), VIRTIO_BLK_S_IOERR);
}

static void test_get_id(void **state)
{
	struct fx *f = *state;
	char id[VIRTIO_BLK_ID_BYTES + 1] = { 0 }, want[64];
	struct stat st;

	fx_start(f, ~0ull);
	assert_int_equal(fstat(f->cfg.fd, &st), 0);
	snprintf(want, sizeof(want), "%ju%ju%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_rdev, (uintmax_t)st.st_ino);
	want[VIRTIO_BLK_ID_BYTES] = 0;
	vd_blk_request(f->m, QN, 0, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES);
	fx_run(f, 1);
	assert_int_equal(vd_blk_status(f->m, 0), VIRTIO_BLK_S_OK);
	guest_memory_read(f->m, vd_data(0), id, VIRTIO_BLK_ID_BYTES);
	assert_string_equal(id, want);
	assert_int_equal(used_len(f, 0), strlen(want) <= VIRTIO_BLK_ID_BYTES ? VIRTIO_BLK_ID_BYTES + 1 : 0);
}

static void test_unsupported_type(void **state)
{
	struct fx *f = *state;

	fx_start(f, ~0ull);
	vd_blk_request(f->m, QN, 0, 11 /* DISCARD: not offered */, 0, 512);
	fx_run(f, 1);
	assert_int_equal(vd_blk_status(f->m, 0), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(used_len(f, 0), 1);
}

static void test_no_status_byte_dropped(void **state)
{
	struct fx *f = *state;
	struct block_metrics bm;

	fx_start(f, ~0ull);
	h_desc(f->m, 0, vd_hdr(0), 16, 0, 0); /* header only, nothing writable */
	h_offer(f->m, QN, 0);
	h_desc(f->m, 1, vd_hdr(0), 8, VIRTQ_DESC_F_NEXT, 2); /* header too short */
	h_desc(f->m, 2, vd_status(0), 1, VIRTQ_DESC_F_WRITE, 0);
	h_offer(f->m, QN, 1);
	fx_run(f, 2);
	assert_int_equal(used_len(f, 0), 0);
	assert_int_equal(used_len(f, 1), 0);
	block_metrics_get(f->b, &bm);
	assert_int_equal(bm.invalid_reqs_count, 2);
}

static void test_split_header_and_shared_status(void **state)
{
	struct fx *f = *state;
	struct {
		uint32_t type, reserved;
		uint64_t sector;
	} h = { VIRTIO_BLK_T_IN, 0, 0 };
	uint8_t disk[512], back[512], status;

	fx_start(f, ~0ull);
	memset(disk, 0x5c, sizeof(disk));
	assert_int_equal(pwrite(f->cfg.fd, disk, 512, 0), 512);
	/* header in two pieces; data and status in one writable buffer: the
	 * status is its last byte (§5.2.6) */
	guest_memory_write(f->m, vd_hdr(0), &h, sizeof(h));
	h_desc(f->m, 0, vd_hdr(0), 5, VIRTQ_DESC_F_NEXT, 1);
	h_desc(f->m, 1, vd_hdr(0) + 5, 11, VIRTQ_DESC_F_NEXT, 2);
	h_desc(f->m, 2, vd_data(0), 513, VIRTQ_DESC_F_WRITE, 0);
	h_offer(f->m, QN, 0);
	fx_run(f, 1);
	guest_memory_read(f->m, vd_data(0), back, 512);
	guest_memory_read(f->m, vd_data(0) + 512, &status, 1);
	assert_memory_equal(back, disk, 512);
	assert_int_equal(status, VIRTIO_BLK_S_OK);
	assert_int_equal(used_len(f, 0), 513);
}

static void test_read_into_readonly_buffer(void **state)
{
	struct fx *f = *state;

	fx_start(f, ~0ull);
	/* an IN whose data buffer is device-readable */
	vd_blk_request(f->m, QN, 0, VIRTIO_BLK_T_IN, 0, 512);
	h_desc(f->m, 1, vd_data(0), 512, VIRTQ_DESC_F_NEXT, 2);
	fx_run(f, 1);
	assert_int_equal(vd_blk_status(f->m, 0), VIRTIO_BLK_S_IOERR);
	/* an OUT whose data buffer is device-writable */
	vd_blk_request(f->m, QN, 1, VIRTIO_BLK_T_OUT, 0, 512);
	h_desc(f->m, 4, vd_data(1), 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
	fx_run(f, 2);
	assert_int_equal(vd_blk_status(f->m, 1), VIRTIO_BLK_S_IOERR);
}

static void test_flush_only_fsyncs_with_writeback(void **state)
{
	struct fx *f = *state;
	struct block_metrics bm;

	f->cfg.cache_type = DRIVE_CACHE_WRITEBACK;
	fx_start(f, ~0ull);
	vd_write(f->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_true(vd_read(f->t, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_BLK_F_FLUSH));
	vd_blk_request(f->m, QN, 0, VIRTIO_BLK_T_FLUSH, 0, 0);
	fx_run(f, 1);
	assert_int_equal(vd_blk_status(f->m, 0), VIRTIO_BLK_S_OK);
	block_metrics_get(f->b, &bm);
	assert_int_equal(bm.flush_count, 1);
}

static void test_rate_limited_queue_parks_and_resumes(void **state)
{
	struct fx *f = *state;
	struct block_metrics bm;

	/* one op per 10 ms */
	f->cfg.rate_limiter.cfg.bucket[RATE_LIMITER_OPS] = (struct token_bucket_config){ .size = 1, .refill_time_ms = 10 };
	fx_start(f, ~0ull);
	vd_blk_request(f->m, QN, 0, VIRTIO_BLK_T_IN, 0, 512);
	vd_blk_request(f->m, QN, 1, VIRTIO_BLK_T_IN, 1, 512);
	virtio_mmio_notify(f->t, 0);
	assert_int_equal(h_used_idx(f->m), 1);
	block_metrics_get(f->b, &bm);
	assert_int_equal(bm.rate_limiter_throttled_events, 1);
	/* more kicks while parked change nothing */
	virtio_mmio_notify(f->t, 0);
	assert_int_equal(h_used_idx(f->m), 1);
	fake_now += 10 * 1000000ull;
	fx_run(f, 2);
	block_metrics_get(f->b, &bm);
	assert_int_equal(bm.rate_limiter_event_count, 1);
	assert_int_equal(bm.read_count, 2);
}

static void test_patch_swaps_file_and_limiter(void **state)
{
	struct fx *f = *state;
	struct drive_update u = { .fd = -1 };
	char path2[] = "/tmp/ember-test-blk2-XXXXXX";
	uint32_t gen;
	int fd2 = mkstemp(path2);

	assert_true(fd2 >= 0);
	assert_int_equal(ftruncate(fd2, 1024 * 512), 0);
	f->cfg.rate_limiter.cfg.bucket[RATE_LIMITER_OPS] = (struct token_bucket_config){ .size = 1, .refill_time_ms = 100000 };
	fx_start(f, ~0ull);
	gen = vd_read(f->t, VIRTIO_MMIO_CONFIG_GENERATION);
	u.path_on_host = path2;
	u.fd = fd2;
	u.rate_limiter.present = true;
	u.rate_limiter.bucket_present[RATE_LIMITER_OPS] = true; /* size 0: this bucket off */
	vd_blk_request(f->m, QN, 0, VIRTIO_BLK_T_IN, 0, 512);
	vd_blk_request(f->m, QN, 1, VIRTIO_BLK_T_IN, 0, 512);
	virtio_mmio_notify(f->t, 0);
	assert_int_equal(h_used_idx(f->m), 1); /* second one parked */
	assert_int_equal(block_update(f->b, &u), 0);
	assert_int_equal(h_used_idx(f->m), 2); /* released by the new limiter */
	assert_int_equal(vd_read(f->t, VIRTIO_MMIO_CONFIG), 1024);
	assert_int_not_equal(vd_read(f->t, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	assert_true(vd_read(f->t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	vd_blk_request(f->m, QN, 2, VIRTIO_BLK_T_IN, 1000, 512); /* only in the new file */
	fx_run(f, 3);
	assert_int_equal(vd_blk_status(f->m, 2), VIRTIO_BLK_S_OK);
	close(fd2);
	unlink(path2);
}

/* A restore as a load runs it: the transport first, then the drive, into a
 * drive and transport created afresh from the same configuration. */
static int restore_into_fresh(struct fx *f, const uint8_t *tbuf, size_t tl, const uint8_t *dbuf, size_t dl,
			      uint32_t *ret_status)
{
	struct block *b2 = NULL;
	struct virtio_mmio *t2 = NULL;
	char err[512] = "";
	int r;

	assert_int_equal(block_create(&f->env, &f->cfg, &f->opts, &b2), 0);
	assert_int_equal(virtio_mmio_create(&f->env, 1, block_virtio(b2), &t2), 0);
	r = virtio_transport_restore((struct virtio_transport *)t2, tbuf, tl, err, sizeof(err));
	assert_int_equal(r, 0);
	r = block_snapshot_restore(b2, dbuf, dl, err, sizeof(err));
	assert_true(r >= 0 || err[0]); /* every refusal says why */
	*ret_status = vd_read(t2, VIRTIO_MMIO_STATUS);
	virtio_mmio_destroy(t2);
	block_destroy(b2);
	return r;
}

/* The drive's saved features and activity are checked against what the
 * transport's restore activated, not copied over it. */
static void test_snapshot_restore_checks_the_transport(void **state)
{
	static uint8_t tbuf[VIRTIO_TRANSPORT_STATE_MAX];
	struct fx *f = *state;
	uint8_t dbuf[256];
	uint64_t acked;
	uint32_t status;
	size_t tl;
	int dl;

	fx_start(f, ~0ull);
	tl = virtio_transport_save((struct virtio_transport *)f->t, tbuf, sizeof(tbuf));
	dl = block_snapshot_save(f->b, dbuf, sizeof(dbuf));
	assert_true(tl > 0);
	assert_true(dl > 16);
	assert_int_equal(restore_into_fresh(f, tbuf, tl, dbuf, (size_t)dl, &status), 0);
	assert_int_equal(status & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
	/* struct block_saved: the capacity, then the acked features */
	memcpy(&acked, dbuf + 8, 8);
	acked ^= 1ull << VIRTIO_F_EVENT_IDX;
	memcpy(dbuf + 8, &acked, 8);
	assert_int_equal(restore_into_fresh(f, tbuf, tl, dbuf, (size_t)dl, &status), -EINVAL);
}

/* A queue the guest broke sets NEEDS_RESET on an active drive; a snapshot
 * of it loads, and the restored drive is as broken as the saved one. */
static void test_snapshot_of_a_broken_queue_loads(void **state)
{
	static uint8_t tbuf[VIRTIO_TRANSPORT_STATE_MAX];
	struct fx *f = *state;
	uint8_t dbuf[256];
	uint32_t status;
	size_t tl;
	int dl;

	fx_start(f, ~0ull);
	h_set_avail_idx(f->m, QN + 1); /* more chains pending than the queue holds */
	virtio_mmio_notify(f->t, 0);
	loop_run_once(f->loop, 0);
	assert_true(vd_read(f->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	tl = virtio_transport_save((struct virtio_transport *)f->t, tbuf, sizeof(tbuf));
	dl = block_snapshot_save(f->b, dbuf, sizeof(dbuf));
	assert_true(tl > 0);
	assert_true(dl > 0);
	assert_int_equal(restore_into_fresh(f, tbuf, tl, dbuf, (size_t)dl, &status), 0);
	assert_int_equal(status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET),
			 VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_sync_roundtrip),
		T(test_async_roundtrip_and_flush),
		T(test_async_reset_drops_inflight),
		T(test_async_short_completion_resubmits_from_the_right_offset),
		T(test_async_zero_length_completion_is_ioerr),
		T(test_sync_short_read_is_ioerr),
		cmocka_unit_test(test_iov_consume),
		T(test_features),
		T(test_read_only_rejects_writes),
		T(test_past_end_and_sector_overflow),
		T(test_unaligned_length_is_ioerr),
		T(test_get_id),
		T(test_unsupported_type),
		T(test_no_status_byte_dropped),
		T(test_split_header_and_shared_status),
		T(test_read_into_readonly_buffer),
		T(test_flush_only_fsyncs_with_writeback),
		T(test_rate_limited_queue_parks_and_resumes),
		T(test_patch_swaps_file_and_limiter),
		T(test_snapshot_restore_checks_the_transport),
		T(test_snapshot_of_a_broken_queue_loads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
