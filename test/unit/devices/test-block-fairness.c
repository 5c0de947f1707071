/* Guest fairness (devices/virtio/virtio.h): one wake-up serves at most
 * VIRTIO_WAKEUP_BYTES of data, so a chain larger than that goes in pieces
 * across wake-ups, with one used entry after the last piece; a FLUSH behind
 * it completes after it; a reset mid-chain drops the rest and leaks nothing
 * (the ASan build checks the last). Both engines. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/loop.h"
#include "core/device_env.h"
#include "devices/virtio/virtio.h"
#include "virtio-driver.h"

#define QN 256
#define MIB (1ull << 20)
#define MEM (64 * MIB)
#define BUF (16 * MIB)      /* guest buffer of the big chains */
#define BUF_LEN (32 * MIB)  /* up to here */
#define STATUS (60 * MIB)   /* their status bytes */
#define PATTERN_LEN (4 * MIB)
#define DISK_BYTES ((4ull << 30) + 16 * MIB)

struct fx {
	struct guest_memory *m;
	struct event_loop *loop;
	struct device_env env;
	char path[64];
	struct drive_config cfg;
	struct block *b;
	struct virtio_mmio *t;
	unsigned wakeups;    /* queue notifications */
	unsigned completions; /* Async: loop handler runs (io_uring completion wake-ups) */
};

static uint8_t pattern_byte(uint64_t off)
{
	return (uint8_t)(off * 13 + (off >> 9) + 1);
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t *p = malloc(PATTERN_LEN);
	int fd;

	assert_non_null(f);
	assert_non_null(p);
	assert_int_equal(guest_memory_create(MEM, &f->m), 0);
	assert_int_equal(loop_create(&f->loop), 0);
	f->env = (struct device_env){ .vm_fd = -1, .mem = f->m, .loop = f->loop };
	snprintf(f->path, sizeof(f->path), "/tmp/ember-test-fair-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)DISK_BYTES), 0); /* sparse */
	for (uint64_t i = 0; i < PATTERN_LEN; i++)
		p[i] = pattern_byte(i);
	assert_int_equal(pwrite(fd, p, PATTERN_LEN, 0), PATTERN_LEN);
	free(p);
	snprintf(f->cfg.drive_id, sizeof(f->cfg.drive_id), "fair");
	f->cfg.fd = fd;
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

/* false: the engine asked for is not available here (io_uring missing). */
static bool fx_start(struct fx *f, enum drive_io_engine engine, enum drive_cache_type cache)
{
	f->cfg.io_engine = engine;
	f->cfg.cache_type = cache;
	assert_int_equal(block_create(&f->env, &f->cfg, NULL, &f->b), 0);
	assert_int_equal(virtio_mmio_create(&f->env, 0, block_virtio(f->b), &f->t), 0);
	assert_int_equal(vd_init(f->t, QN, ~0ull) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
	memset(guest_memory_slice(f->m, BUF, BUF_LEN), 0xaa, BUF_LEN);
	return block_engine(f->b) == engine;
}

/* A read of `len` bytes from sector 0 into BUF as one chain at descriptor
 * `d`: header, data in descriptors of at most `piece` bytes that all alias
 * [BUF, BUF + piece) past the first BUF_LEN, and a status byte. */
static void big_read(struct fx *f, uint16_t d, uint64_t len, uint32_t piece)
{
	struct {
		uint32_t type, reserved;
		uint64_t sector;
	} h = { VIRTIO_BLK_T_IN, 0, 0 };
	uint64_t hdr = 0x40000 + 0x100ull * d, off = 0;
	uint16_t i = d;
	uint8_t st = 0xff;

	guest_memory_write(f->m, hdr, &h, sizeof(h));
	guest_memory_write(f->m, STATUS + d, &st, 1);
	h_desc(f->m, i, hdr, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	for (i++; off < len; i++, off += piece) {
		uint32_t n = len - off < piece ? (uint32_t)(len - off) : piece;

		h_desc(f->m, i, BUF + (off < BUF_LEN ? off : 0), n, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
		       (uint16_t)(i + 1));
	}
	h_desc(f->m, i, STATUS + d, 1, VIRTQ_DESC_F_WRITE, 0);
	h_offer(f->m, QN, d);
}

static void flush_request(struct fx *f, uint16_t d)
{
	struct {
		uint32_t type, reserved;
		uint64_t sector;
	} h = { VIRTIO_BLK_T_FLUSH, 0, 0 };
	uint64_t hdr = 0x40000 + 0x100ull * d;
	uint8_t st = 0xff;

	guest_memory_write(f->m, hdr, &h, sizeof(h));
	guest_memory_write(f->m, STATUS + d, &st, 1);
	h_desc(f->m, d, hdr, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1));
	h_desc(f->m, (uint16_t)(d + 1), STATUS + d, 1, VIRTQ_DESC_F_WRITE, 0);
	h_offer(f->m, QN, d);
}

static uint8_t status_of(struct fx *f, uint16_t d)
{
	uint8_t s;

	guest_memory_read(f->m, STATUS + d, &s, 1);
	return s;
}

/* One wake-up, as the vmm loop would run it: a queue notification. */
static void wakeup(struct fx *f)
{
	virtio_mmio_notify(f->t, 0);
	f->wakeups++;
}

/* Async: completions are wake-ups of their own; runs the loop until `used`
 * (at most `max_runs` handler runs), counting them. */
static void run_async_until(struct fx *f, uint16_t used, unsigned max_runs)
{
	wakeup(f);
	for (unsigned i = 0; i < max_runs && h_used_idx(f->m) != used; i++) {
		int n = loop_run_once(f->loop, 100);

		assert_true(n >= 0);
		f->completions += (unsigned)n;
	}
	assert_int_equal(h_used_idx(f->m), used);
}

static void run_async(struct fx *f, uint16_t used)
{
	run_async_until(f, used, 2000);
}

/* How many bytes of BUF hold the file's data (the rest is still 0xaa). */
static uint64_t landed(struct fx *f, uint64_t max)
{
	const uint8_t *p = guest_memory_slice(f->m, BUF, max);
	uint64_t n = 0;

	while (n < max && p[n] == pattern_byte(n))
		n++;
	return n;
}

/* Sync: 3.5 MiB in one chain lands 1 MiB per wake-up, used once at the end. */
static void test_sync_big_chain_in_pieces(void **state)
{
	struct fx *f = *state;
	uint64_t len = 3 * MIB + MIB / 2;
	uint32_t id, ulen;

	fx_start(f, DRIVE_ENGINE_SYNC, DRIVE_CACHE_UNSAFE);
	big_read(f, 0, len, 4 * MIB);
	for (unsigned w = 1; w <= 3; w++) {
		wakeup(f);
		assert_int_equal(landed(f, len), w * MIB);
		assert_int_equal(h_used_idx(f->m), 0);
	}
	wakeup(f);
	assert_int_equal(landed(f, len), len);
	assert_int_equal(h_used_idx(f->m), 1);
	h_used_elem(f->m, QN, 0, &id, &ulen);
	assert_int_equal(id, 0);
	assert_int_equal(ulen, len + 1);
	assert_int_equal(status_of(f, 0), VIRTIO_BLK_S_OK);
}

/* Chains up to the budget go in one wake-up; the rest waits for the next. */
static void test_sync_small_chains_share_a_budget(void **state)
{
	struct fx *f = *state;

	fx_start(f, DRIVE_ENGINE_SYNC, DRIVE_CACHE_UNSAFE);
	for (uint16_t k = 0; k < 6; k++)
		big_read(f, (uint16_t)(3 * k), MIB / 2, MIB); /* all read the same 512 KiB */
	wakeup(f);
	assert_int_equal(h_used_idx(f->m), 2);
	wakeup(f);
	assert_int_equal(h_used_idx(f->m), 4);
	wakeup(f);
	assert_int_equal(h_used_idx(f->m), 6);
}

/* A FLUSH offered behind a big chain completes after it, never before. */
static void flush_after_big_chain(struct fx *f, bool async)
{
	uint64_t len = 2 * MIB + 4096;
	uint32_t id, ulen;

	big_read(f, 0, len, 4 * MIB);
	flush_request(f, 8);
	if (async) {
		run_async(f, 2);
	} else {
		wakeup(f);
		assert_int_equal(h_used_idx(f->m), 0);
		for (int i = 0; i < 5 && h_used_idx(f->m) < 2; i++)
			wakeup(f);
		assert_int_equal(h_used_idx(f->m), 2);
	}
	h_used_elem(f->m, QN, 0, &id, &ulen);
	assert_int_equal(id, 0);
	assert_int_equal(ulen, len + 1);
	h_used_elem(f->m, QN, 1, &id, &ulen);
	assert_int_equal(id, 8);
	assert_int_equal(status_of(f, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(status_of(f, 8), VIRTIO_BLK_S_OK);
	assert_int_equal(landed(f, len), len);
}

static void test_sync_flush_after_big_chain(void **state)
{
	struct fx *f = *state;

	fx_start(f, DRIVE_ENGINE_SYNC, DRIVE_CACHE_WRITEBACK);
	flush_after_big_chain(f, false);
}

static void test_async_flush_after_big_chain(void **state)
{
	struct fx *f = *state;

	if (!fx_start(f, DRIVE_ENGINE_ASYNC, DRIVE_CACHE_WRITEBACK))
		skip(); /* io_uring unavailable here; the fallback was logged */
	flush_after_big_chain(f, true);
	/* 2 MiB + 4 KiB go as three pieces, one in flight at a time, each
	 * completing in a wake-up of its own; one submission of the whole chain
	 * would have completed in one */
	assert_true(f->completions >= 3);
}

/* A reset mid-chain: nothing of it is pushed, no more of it lands, and the
 * device serves the next driver. */
static void reset_mid_chain(struct fx *f, bool async)
{
	uint64_t len = 3 * MIB;
	uint64_t before;

	big_read(f, 0, len, 4 * MIB);
	wakeup(f);
	vd_write(f->t, VIRTIO_MMIO_STATUS, 0);
	for (int i = 0; i < 20; i++)
		loop_run_once(f->loop, 10);
	before = landed(f, len);
	assert_true(before <= MIB);
	assert_int_equal(h_used_idx(f->m), 0);
	memset(guest_memory_slice(f->m, H_AVAIL, 4), 0, 4);
	memset(guest_memory_slice(f->m, H_USED, 4), 0, 4);
	assert_int_equal(vd_init(f->t, QN, ~0ull) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
	flush_request(f, 8);
	if (async)
		run_async(f, 1);
	else
		wakeup(f);
	assert_int_equal(h_used_idx(f->m), 1);
	assert_int_equal(status_of(f, 8), VIRTIO_BLK_S_OK);
	assert_int_equal(landed(f, len), before); /* the rest was dropped */
}

static void test_sync_reset_mid_chain(void **state)
{
	struct fx *f = *state;

	fx_start(f, DRIVE_ENGINE_SYNC, DRIVE_CACHE_UNSAFE);
	reset_mid_chain(f, false);
}

static void test_async_reset_mid_chain(void **state)
{
	struct fx *f = *state;

	if (!fx_start(f, DRIVE_ENGINE_ASYNC, DRIVE_CACHE_UNSAFE))
		skip();
	reset_mid_chain(f, true);
}

/* The largest chain a guest can build: 4 GiB - 1 bytes device-writable
 * (4 GiB - 512 of data and the status byte), 128 descriptors of 32 MiB
 * aliasing one buffer. It goes in exactly one 1 MiB piece per wake-up. */
static void test_sync_4gib_chain(void **state)
{
	struct fx *f = *state;
	uint64_t len = (4ull << 30) - 512;
	uint32_t id, ulen;
	unsigned w = 0;

	fx_start(f, DRIVE_ENGINE_SYNC, DRIVE_CACHE_UNSAFE);
	big_read(f, 0, len, (uint32_t)BUF_LEN);
	while (h_used_idx(f->m) == 0 && w < 5000) {
		wakeup(f);
		w++;
	}
	assert_int_equal(w, (len + MIB - 1) / MIB); /* 4096: none carried more than 1 MiB */
	h_used_elem(f->m, QN, 0, &id, &ulen);
	assert_int_equal(ulen, (uint32_t)(len + 1));
	assert_int_equal(status_of(f, 0), VIRTIO_BLK_S_OK);
}

/* Async: the same chain, one piece of at most 1 MiB in flight at a time,
 * so at least one completion wake-up per MiB; used once, after the last. */
static void test_async_4gib_chain(void **state)
{
	struct fx *f = *state;
	uint64_t len = (4ull << 30) - 512;
	uint32_t id, ulen;

	if (!fx_start(f, DRIVE_ENGINE_ASYNC, DRIVE_CACHE_UNSAFE))
		skip();
	big_read(f, 0, len, (uint32_t)BUF_LEN);
	run_async_until(f, 1, 20000);
	assert_true(f->completions >= (len + MIB - 1) / MIB);
	h_used_elem(f->m, QN, 0, &id, &ulen);
	assert_int_equal(ulen, (uint32_t)(len + 1));
	assert_int_equal(status_of(f, 0), VIRTIO_BLK_S_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sync_big_chain_in_pieces, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sync_small_chains_share_a_budget, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sync_flush_after_big_chain, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_async_flush_after_big_chain, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sync_reset_mid_chain, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_async_reset_mid_chain, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sync_4gib_chain, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_async_4gib_chain, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
