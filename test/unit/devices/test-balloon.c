/* The balloon device on its queues, without KVM: this test is the guest's
 * driver (the shared host-side driver, test/helpers/virtio-driver.h: rings
 * in in-process guest memory, notifications through the mmio transport), as
 * Linux's
 * virtio_balloon.c drives it. Pages given back must read as zeros
 * afterwards (MADV_DONTNEED on private anonymous memory); hostile PFNs and
 * ranges are counted and skipped. */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/device_env.h"
#include "core/layout.h"
#include "core/loop.h"
#include "devices/virtio/balloon.h"
#include "log.h"
#include "virtio-driver.h"

#define QN 16u
#define RAM (64ull << 20)
#define RING_BASE 0x10000ull /* queue q's rings at + VD_RING_STRIDE * q */
#define BUF(q, i) (0x100000ull + 0x10000ull * (q) + 0x1000ull * (i))
#define REGION 0x2000000ull /* 32 MiB: the pages the tests give back */
#define BIT(b) (1ull << (b))

struct t {
	struct guest_memory *m;
	struct event_loop *loop;
	struct virtio_mmio *mmio;
	struct balloon *dev;
	struct vd_driver drv;
};

/* One descriptor d on queue q, offered and kicked. */
static void q_offer(struct t *T, unsigned q, uint16_t d, uint64_t addr, uint32_t len, uint16_t flags)
{
	vd_desc(&T->drv, q, d, addr, len, flags, 0);
	vd_offer(&T->drv, q, d);
	vd_kick(&T->drv, q);
}

static bool q_used(struct t *T, unsigned q, uint32_t *ret_id, uint32_t *ret_len)
{
	return vd_used(&T->drv, q, ret_id, ret_len);
}

static uint32_t cfg_read(struct t *T, unsigned off)
{
	return le32toh(vd_read(T->mmio, VIRTIO_MMIO_CONFIG + off));
}

/* Negotiates want and sets up nq queues, as the driver numbers them. */
static void driver_start(struct t *T, uint64_t want, unsigned nq)
{
	assert_int_equal(vd_start(&T->drv, T->m, T->mmio, nq, QN, RING_BASE, want), 0);
	assert_int_equal(T->drv.features, want | (1ull << VIRTIO_F_VERSION_1));
}

static struct t *make(const struct balloon_config *c)
{
	struct t *T = calloc(1, sizeof(*T));
	struct device_env env;

	assert_non_null(T);
	assert_int_equal(guest_memory_create(RAM, &T->m), 0);
	assert_int_equal(loop_create(&T->loop), 0);
	env = (struct device_env){ .vm_fd = -1, .mem = T->m, .loop = T->loop };
	assert_int_equal(balloon_create(&env, c, &T->dev), 0);
	assert_int_equal(virtio_mmio_create(&env, 0, balloon_virtio(T->dev), &T->mmio), 0);
	return T;
}

static void unmake(struct t *T)
{
	virtio_mmio_destroy(T->mmio);
	balloon_destroy(T->dev);
	loop_destroy(T->loop);
	guest_memory_destroy(T->m);
	free(T);
}

static void touch(struct t *T, uint64_t gpa, uint64_t len)
{
	for (uint64_t a = gpa; a < gpa + len; a += 4096)
		guest_memory_write(T->m, a, "x", 1);
}

static char byte_at(struct t *T, uint64_t gpa)
{
	char c;

	guest_memory_read(T->m, gpa, &c, 1);
	return c;
}

static int request(struct t *T, struct balloon_request *req)
{
	int r = balloon_request(T->dev, req);

	return r;
}

/* ---- PFN arrays ---- */

static void test_pfns_to_ranges(void **state)
{
	struct guest_memory *m;
	/* RAM reaching past the MMIO gap: two regions */
	uint64_t ram = LAYOUT_MMIO_GAP_START + (64ull << 20);
	uint32_t gap = (uint32_t)(LAYOUT_MMIO_GAP_START >> 12), high = (uint32_t)(LAYOUT_MMIO_GAP_END >> 12);
	uint32_t pfn[] = { 7, 5, 6, 6, gap - 1, gap, gap + 1, high, high + 1, 0xffffffffu, 100 };
	struct balloon_range r[11];
	struct balloon_page_faults f = { 0 };
	size_t n;

	assert_int_equal(guest_memory_create(ram, &m), 0);
	n = balloon_pfns_to_ranges(m, pfn, 11, r, &f);
	/* 5..7, 100, the last page below the gap, the first two above it */
	assert_int_equal(n, 4);
	assert_int_equal(r[0].gpa, 5 << 12);
	assert_int_equal(r[0].len, 3 << 12);
	assert_int_equal(r[1].gpa, 100 << 12);
	assert_int_equal(r[2].gpa, (uint64_t)(gap - 1) << 12);
	assert_int_equal(r[2].len, 4096);
	assert_int_equal(r[3].gpa, LAYOUT_MMIO_GAP_END);
	assert_int_equal(r[3].len, 2 << 12);
	assert_int_equal(f.duplicate, 1);
	assert_int_equal(f.outside, 3); /* two in the gap, one past RAM */
	assert_int_equal(balloon_discard_gpa(m, 4096, 100, &f), -EINVAL);
	assert_int_equal(balloon_discard_gpa(m, LAYOUT_MMIO_GAP_START, 4096, &f), -EFAULT);
	assert_int_equal(balloon_discard_gpa(m, 4096, 4096, &f), 0);
	assert_int_equal(f.unaligned, 1);
	assert_int_equal(f.outside, 4);
	guest_memory_destroy(m);
}

/* ---- the device ---- */

static void test_queue_numbering(void **state)
{
	struct balloon_config c = { .amount_mib = 8, .stats_polling_interval_s = 1, .free_page_hinting = true,
				    .free_page_reporting = true };
	struct t *T = make(&c);
	struct balloon_page_faults f;
	uint32_t id, len;

	/* the driver takes reporting only: it is queue 2, as Linux numbers it */
	driver_start(T, BIT(BALLOON_F_PAGE_REPORTING), 3);
	touch(T, REGION, 8192);
	q_offer(T, 2, 0, REGION, 8192, VIRTQ_DESC_F_WRITE);
	assert_true(q_used(T, 2, &id, &len));
	assert_int_equal(byte_at(T, REGION), 0);
	assert_int_equal(byte_at(T, REGION + 4096), 0);
	f = balloon_faults(T->dev);
	assert_int_equal(f.unaligned + f.outside + f.discard, 0);
	unmake(T);
}

static void test_inflate_deflate(void **state)
{
	struct balloon_config c = { .amount_mib = 1 };
	struct t *T = make(&c);
	struct balloon_request req = { .op = BALLOON_OP_RESIZE, .amount_mib = 2 };
	uint32_t pfn[6], id, len;
	struct balloon_page_faults f;

	assert_int_equal(request(T, &req), -EAGAIN);
	assert_string_equal(req.fault, "Balloon: Device not activated yet.");
	driver_start(T, 0, 2);
	assert_int_equal(cfg_read(T, 0), 256);
	touch(T, REGION, 4 * 4096);
	for (unsigned i = 0; i < 4; i++)
		pfn[i] = htole32((uint32_t)(REGION >> 12) + i);
	pfn[4] = htole32((uint32_t)(REGION >> 12)); /* a duplicate */
	pfn[5] = htole32((uint32_t)(RAM >> 12));     /* past RAM */
	guest_memory_write(T->m, BUF(0, 0), pfn, sizeof(pfn));
	q_offer(T, 0, 0, BUF(0, 0), sizeof(pfn), 0);
	assert_true(q_used(T, 0, &id, &len));
	assert_int_equal(len, 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(byte_at(T, REGION + 4096ull * i), 0);
	f = balloon_faults(T->dev);
	assert_int_equal(f.duplicate, 1);
	assert_int_equal(f.outside, 1);
	/* a device-writable PFN buffer, and one of 257 PFNs: refused, returned */
	q_offer(T, 0, 1, BUF(0, 1), 8, VIRTQ_DESC_F_WRITE);
	q_offer(T, 0, 2, BUF(0, 2), 257 * 4, 0);
	assert_true(q_used(T, 0, &id, &len));
	assert_true(q_used(T, 0, &id, &len));
	assert_int_equal(balloon_faults(T->dev).malformed, 2);
	/* the guest writes actual; deflate returns its buffer */
	vd_write(T->mmio, VIRTIO_MMIO_CONFIG + 4, htole32(4));
	q_offer(T, 1, 0, BUF(0, 0), 16, 0);
	assert_true(q_used(T, 1, &id, &len));
	/* a new target: within RAM, then past it */
	assert_int_equal(request(T, &req), 0);
	assert_int_equal(cfg_read(T, 0), 512);
	assert_int_equal(cfg_read(T, 4), 4);
	req.amount_mib = 65;
	assert_int_equal(request(T, &req), -EINVAL);
	assert_string_equal(req.fault, "Balloon: Requested memory should be less than 64MiB");
	/* the config space's other fields are the host's */
	vd_write(T->mmio, VIRTIO_MMIO_CONFIG, 7);
	assert_int_equal(cfg_read(T, 0), 512);
	unmake(T);
}

static void post_stats(struct t *T, uint16_t d)
{
	/* packed {le16 tag, le64 val}: SWAP_IN 1, MEMFREE 5*4096, an unknown tag 99 */
	uint8_t buf[30];
	uint16_t tags[3] = { 0, 4, 99 };
	uint64_t vals[3] = { 1, 5 * 4096, 42 };

	for (unsigned i = 0; i < 3; i++) {
		uint16_t t = htole16(tags[i]);
		uint64_t v = htole64(vals[i]);

		memcpy(buf + 10 * i, &t, 2);
		memcpy(buf + 10 * i + 2, &v, 8);
	}
	guest_memory_write(T->m, BUF(2, d), buf, sizeof(buf));
	q_offer(T, 2, d, BUF(2, d), sizeof(buf), 0);
}

static void test_stats(void **state)
{
	struct balloon_config c = { .amount_mib = 2, .stats_polling_interval_s = 1 };
	struct t *T = make(&c);
	struct balloon_request req = { .op = BALLOON_OP_STATS };
	uint32_t id, len;
	char *s;

	driver_start(T, BIT(BALLOON_F_STATS_VQ), 3);
	post_stats(T, 0);
	assert_false(q_used(T, 2, &id, &len)); /* held until the timer */
	assert_int_equal(request(T, &req), 0);
	s = json_dumps(req.reply, JSON_COMPACT);
	assert_string_equal(s, "{\"target_pages\":512,\"actual_pages\":0,\"target_mib\":2,\"actual_mib\":0,"
			       "\"swap_in\":1,\"free_memory\":20480}");
	free(s);
	json_decref(req.reply);
	/* the timer (1 s) returns the buffer */
	for (int i = 0; i < 30 && !q_used(T, 2, &id, &len); i++)
		loop_run_once(T->loop, 100);
	assert_int_equal(id, 0);
	/* statistics cannot be switched off after boot; the interval may change */
	req = (struct balloon_request){ .op = BALLOON_OP_STATS_INTERVAL, .interval_s = 0 };
	assert_int_equal(request(T, &req), -EINVAL);
	assert_string_equal(req.fault, "Balloon: Statistics cannot be enabled/disabled after activation.");
	req.interval_s = 5;
	assert_int_equal(request(T, &req), 0);
	req = (struct balloon_request){ .op = BALLOON_OP_HINT_START };
	assert_int_equal(request(T, &req), -EINVAL);
	assert_string_equal(req.fault, "Balloon: Attempting to use hinting when not enabled");
	unmake(T);
}

static void test_hinting(void **state)
{
	struct balloon_config c = { .amount_mib = 0, .free_page_hinting = true };
	struct t *T = make(&c);
	struct balloon_request req = { .op = BALLOON_OP_HINT_START, .ack_on_stop = true };
	uint32_t id, len, cmd;
	char *s;

	driver_start(T, BIT(BALLOON_F_FREE_PAGE_HINT), 3);
	assert_int_equal(request(T, &req), 0);
	assert_int_equal(cfg_read(T, 8), 2);
	assert_true(vd_read(T->mmio, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	/* the guest acks with the id, hints a range, then says STOP */
	cmd = htole32(2);
	guest_memory_write(T->m, BUF(2, 0), &cmd, 4);
	q_offer(T, 2, 0, BUF(2, 0), 4, 0);
	touch(T, REGION, 3 * 4096);
	q_offer(T, 2, 1, REGION, 2 * 4096, VIRTQ_DESC_F_WRITE);
	assert_int_equal(byte_at(T, REGION), 0);
	assert_int_equal(byte_at(T, REGION + 4096), 0);
	assert_int_equal(byte_at(T, REGION + 8192), 'x');
	req = (struct balloon_request){ .op = BALLOON_OP_HINT_STATUS };
	assert_int_equal(request(T, &req), 0);
	s = json_dumps(req.reply, JSON_COMPACT);
	assert_string_equal(s, "{\"host_cmd\":2,\"guest_cmd\":2}");
	free(s);
	json_decref(req.reply);
	cmd = htole32(BALLOON_CMD_ID_STOP);
	guest_memory_write(T->m, BUF(2, 2), &cmd, 4);
	q_offer(T, 2, 2, BUF(2, 2), 4, 0);
	/* acknowledge_on_stop: the host wrote DONE */
	assert_int_equal(cfg_read(T, 8), BALLOON_CMD_ID_DONE);
	for (int i = 0; i < 3; i++)
		assert_true(q_used(T, 2, &id, &len));
	/* a range after the run is returned untouched */
	q_offer(T, 2, 3, REGION + 8192, 4096, VIRTQ_DESC_F_WRITE);
	assert_true(q_used(T, 2, &id, &len));
	assert_int_equal(byte_at(T, REGION + 8192), 'x');
	/* the next run has the next id; stop writes DONE */
	req = (struct balloon_request){ .op = BALLOON_OP_HINT_START, .ack_on_stop = false };
	assert_int_equal(request(T, &req), 0);
	assert_int_equal(cfg_read(T, 8), 3);
	req = (struct balloon_request){ .op = BALLOON_OP_HINT_STOP };
	assert_int_equal(request(T, &req), 0);
	assert_int_equal(cfg_read(T, 8), BALLOON_CMD_ID_DONE);
	req = (struct balloon_request){ .op = BALLOON_OP_STATS };
	assert_int_equal(request(T, &req), -EINVAL);
	assert_string_equal(req.fault, "Balloon: Received stats query when stats are disabled.");
	unmake(T);
}

static void test_reporting_hostile(void **state)
{
	struct balloon_config c = { .amount_mib = 0, .free_page_reporting = true };
	struct t *T = make(&c);
	uint32_t id, len;
	struct balloon_page_faults f;

	driver_start(T, BIT(BALLOON_F_PAGE_REPORTING), 3);
	/* past RAM: queue.c drops the chain; unaligned: the device refuses it */
	q_offer(T, 2, 0, RAM, 4096, VIRTQ_DESC_F_WRITE);
	touch(T, REGION, 4096);
	q_offer(T, 2, 1, REGION, 100, VIRTQ_DESC_F_WRITE);
	assert_int_equal(byte_at(T, REGION), 'x');
	assert_true(q_used(T, 2, &id, &len));
	assert_true(q_used(T, 2, &id, &len));
	f = balloon_faults(T->dev);
	assert_int_equal(f.unaligned, 1);
	/* the device still serves */
	q_offer(T, 2, 2, REGION, 4096, VIRTQ_DESC_F_WRITE);
	assert_true(q_used(T, 2, &id, &len));
	assert_int_equal(byte_at(T, REGION), 0);
	unmake(T);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pfns_to_ranges), cmocka_unit_test(test_queue_numbering),
		cmocka_unit_test(test_inflate_deflate), cmocka_unit_test(test_stats),
		cmocka_unit_test(test_hinting),         cmocka_unit_test(test_reporting_hostile),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
