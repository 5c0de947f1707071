/* queue.c against every malformed-chain shape a guest can build. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "virtq-harness.h"

#define QN 16
#define MEM (1ull << 20)

struct fixture {
	struct guest_memory *m;
	struct virtq q;
	struct virtq_elem e;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(guest_memory_create(MEM, &f->m), 0);
	h_queue_setup(&f->q, QN);
	f->q.indirect = true;
	assert_int_equal(virtq_enable(&f->q, f->m), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	guest_memory_destroy(f->m);
	free(f);
	return 0;
}

/* Pops once expecting a drop for `fault`, and checks the head came back with length 0. */
static void expect_dropped(struct fixture *f, uint16_t head, enum virtq_fault fault)
{
	uint16_t used = h_used_idx(f->m);
	uint32_t id, len;

	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	assert_int_equal(f->q.stats.fault[fault], 1);
	assert_int_equal(f->q.stats.dropped, 1);
	assert_int_equal(h_used_idx(f->m), (uint16_t)(used + 1));
	h_used_elem(f->m, QN, used, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
}

static void test_good_chain(void **state)
{
	struct fixture *f = *state;

	h_desc(f->m, 3, H_BUF, 16, VIRTQ_DESC_F_NEXT, 7);
	h_desc(f->m, 7, H_BUF + 0x1000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	h_desc(f->m, 1, H_BUF + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	h_offer(f->m, QN, 3);
	assert_int_equal(virtq_pending(&f->q), 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(f->e.head, 3);
	assert_int_equal(f->e.nr_out, 1);
	assert_int_equal(f->e.nr_in, 2);
	assert_int_equal(f->e.out_len, 16);
	assert_int_equal(f->e.in_len, 513);
	assert_ptr_equal(f->e.iov[0].iov_base, guest_memory_slice(f->m, H_BUF, 16));
	assert_ptr_equal(f->e.iov[2].iov_base, guest_memory_slice(f->m, H_BUF + 0x2000, 1));
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	virtq_push(&f->q, 3, 513);
	assert_int_equal(h_used_idx(f->m), 1);
}

static void test_loop(void **state)
{
	struct fixture *f = *state;

	h_desc(f->m, 0, H_BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	h_desc(f->m, 1, H_BUF, 8, VIRTQ_DESC_F_NEXT, 0);
	h_offer(f->m, QN, 0);
	expect_dropped(f, 0, VIRTQ_FAULT_TOO_LONG);
}

static void test_self_loop(void **state)
{
	struct fixture *f = *state;

	h_desc(f->m, 5, H_BUF, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
	h_offer(f->m, QN, 5);
	expect_dropped(f, 5, VIRTQ_FAULT_TOO_LONG);
}

static void test_chain_of_exactly_queue_size(void **state)
{
	struct fixture *f = *state;

	for (uint16_t i = 0; i < QN; i++)
		h_desc(f->m, i, H_BUF, 8, i + 1 < QN ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	h_offer(f->m, QN, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(f->e.nr_out, QN);
}

static void test_next_out_of_range(void **state)
{
	struct fixture *f = *state;

	h_desc(f->m, 2, H_BUF, 8, VIRTQ_DESC_F_NEXT, QN);
	h_offer(f->m, QN, 2);
	expect_dropped(f, 2, VIRTQ_FAULT_NEXT_RANGE);
}

static void test_head_out_of_range_not_returned(void **state)
{
	struct fixture *f = *state;

	h_offer(f->m, QN, QN + 100);
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	assert_int_equal(f->q.stats.fault[VIRTQ_FAULT_HEAD_RANGE], 1);
	assert_int_equal(h_used_idx(f->m), 0);
}

static void test_address_past_memory(void **state)
{
	struct fixture *f = *state;

	h_desc(f->m, 0, MEM - 8, 16, 0, 0);
	h_offer(f->m, QN, 0);
	expect_dropped(f, 0, VIRTQ_FAULT_ADDRESS);
}

static void test_address_wraps(void **state)
{
	struct fixture *f = *state;

	h_desc(f->m, 0, UINT64_MAX - 0xff, 0x1000, VIRTQ_DESC_F_WRITE, 0);
	h_offer(f->m, QN, 0);
	expect_dropped(f, 0, VIRTQ_FAULT_ADDRESS);
}

static void test_zero_length(void **state)
{
	struct fixture *f = *state;

	h_desc(f->m, 0, H_BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	h_desc(f->m, 1, H_BUF, 0, VIRTQ_DESC_F_WRITE, 0);
	h_offer(f->m, QN, 0);
	expect_dropped(f, 0, VIRTQ_FAULT_ZERO_LENGTH);
}

static void test_write_before_read(void **state)
{
	struct fixture *f = *state;

	h_desc(f->m, 0, H_BUF, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	h_desc(f->m, 1, H_BUF, 16, 0, 0);
	h_offer(f->m, QN, 0);
	expect_dropped(f, 0, VIRTQ_FAULT_ORDER);
}

static void test_indirect_good(void **state)
{
	struct fixture *f = *state;

	h_desc_at(f->m, H_INDIRECT, 0, H_BUF, 16, VIRTQ_DESC_F_NEXT, 2);
	h_desc_at(f->m, H_INDIRECT, 2, H_BUF + 0x100, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	h_desc_at(f->m, H_INDIRECT, 1, H_BUF + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	/* The WRITE flag on the indirect pointer itself is ignored (§2.7.5.3.2). */
	h_desc(f->m, 4, H_INDIRECT, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	h_offer(f->m, QN, 4);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(f->e.head, 4);
	assert_int_equal(f->e.nr_out, 1);
	assert_int_equal(f->e.nr_in, 2);
	assert_int_equal(f->e.in_len, 4097);
}

static void test_indirect_not_negotiated(void **state)
{
	struct fixture *f = *state;

	f->q.indirect = false;
	h_desc_at(f->m, H_INDIRECT, 0, H_BUF, 16, 0, 0);
	h_desc(f->m, 0, H_INDIRECT, 16, VIRTQ_DESC_F_INDIRECT, 0);
	h_offer(f->m, QN, 0);
	expect_dropped(f, 0, VIRTQ_FAULT_INDIRECT);
}

static void test_indirect_nested(void **state)
{
	struct fixture *f = *state;

	h_desc_at(f->m, H_INDIRECT, 0, H_BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	h_desc_at(f->m, H_INDIRECT, 1, H_INDIRECT, 32, VIRTQ_DESC_F_INDIRECT, 0);
	h_desc(f->m, 0, H_INDIRECT, 32, VIRTQ_DESC_F_INDIRECT, 0);
	h_offer(f->m, QN, 0);
	expect_dropped(f, 0, VIRTQ_FAULT_INDIRECT);
}

static void test_indirect_with_next(void **state)
{
	struct fixture *f = *state;

	h_desc_at(f->m, H_INDIRECT, 0, H_BUF, 16, 0, 0);
	h_desc(f->m, 0, H_INDIRECT, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	h_desc(f->m, 1, H_BUF, 16, 0, 0);
	h_offer(f->m, QN, 0);
	expect_dropped(f, 0, VIRTQ_FAULT_INDIRECT);
}

static void test_indirect_table_too_large(void **state)
{
	struct fixture *f = *state;

	h_desc(f->m, 0, H_INDIRECT, (QN + 1) * 16, VIRTQ_DESC_F_INDIRECT, 0);
	h_offer(f->m, QN, 0);
	expect_dropped(f, 0, VIRTQ_FAULT_INDIRECT);
}

static void test_indirect_table_misaligned_length(void **state)
{
	struct fixture *f = *state;

	h_desc(f->m, 0, H_INDIRECT, 24, VIRTQ_DESC_F_INDIRECT, 0);
	h_offer(f->m, QN, 0);
	expect_dropped(f, 0, VIRTQ_FAULT_INDIRECT);
}

static void test_indirect_table_empty(void **state)
{
	struct fixture *f = *state;

	h_desc(f->m, 0, H_INDIRECT, 0, VIRTQ_DESC_F_INDIRECT, 0);
	h_offer(f->m, QN, 0);
	expect_dropped(f, 0, VIRTQ_FAULT_INDIRECT);
}

static void test_indirect_table_outside_memory(void **state)
{
	struct fixture *f = *state;

	h_desc(f->m, 0, MEM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	h_offer(f->m, QN, 0);
	expect_dropped(f, 0, VIRTQ_FAULT_ADDRESS);
}

static void test_indirect_next_out_of_table(void **state)
{
	struct fixture *f = *state;

	/* next 2 is inside the queue size but outside this 2-entry table */
	h_desc_at(f->m, H_INDIRECT, 0, H_BUF, 16, VIRTQ_DESC_F_NEXT, 2);
	h_desc(f->m, 0, H_INDIRECT, 32, VIRTQ_DESC_F_INDIRECT, 0);
	h_offer(f->m, QN, 0);
	expect_dropped(f, 0, VIRTQ_FAULT_NEXT_RANGE);
}

static void test_indirect_loop(void **state)
{
	struct fixture *f = *state;

	h_desc_at(f->m, H_INDIRECT, 0, H_BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	h_desc_at(f->m, H_INDIRECT, 1, H_BUF, 16, VIRTQ_DESC_F_NEXT, 0);
	h_desc(f->m, 0, H_INDIRECT, 32, VIRTQ_DESC_F_INDIRECT, 0);
	h_offer(f->m, QN, 0);
	expect_dropped(f, 0, VIRTQ_FAULT_TOO_LONG);
}

static void test_avail_idx_jumps_too_far(void **state)
{
	struct fixture *f = *state;

	h_set_avail_idx(f->m, QN + 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EIO);
	assert_true(f->q.broken);
	assert_int_equal(f->q.stats.broken, 1);
	/* stays broken until reset, even if the guest walks it back */
	h_set_avail_idx(f->m, 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EIO);
	assert_false(virtq_idle(&f->q));
}

static void test_length_overflow(void **state)
{
	struct guest_memory *m;
	struct virtq q = { 0 };
	static struct virtq_elem e;

	/* Two writable buffers of 3 GiB - 64 KiB: together more than a u32. */
	assert_int_equal(guest_memory_create(3ull << 30, &m), 0);
	h_queue_setup(&q, QN);
	assert_int_equal(virtq_enable(&q, m), 0);
	h_desc(m, 0, 0x10000, 0xbfff0000u, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	h_desc(m, 1, 0x10000, 0xbfff0000u, VIRTQ_DESC_F_WRITE, 0);
	h_offer(m, QN, 0);
	assert_int_equal(virtq_pop(&q, &e), 0);
	assert_int_equal(q.stats.fault[VIRTQ_FAULT_LENGTH], 1);
	guest_memory_destroy(m);
}

static void test_wraparound_at_65535(void **state)
{
	struct fixture *f = *state;
	uint32_t id, len;

	/* Driver and device both sit just below the 16-bit wrap. */
	f->q.last_avail = 65534;
	f->q.used_idx = 65534;
	h_set_avail_idx(f->m, 65534);
	for (uint16_t i = 0; i < 4; i++) {
		h_desc(f->m, i, H_BUF + 0x100ull * i, 8, VIRTQ_DESC_F_WRITE, 0);
		h_offer(f->m, QN, i);
	}
	assert_int_equal(h_avail_idx(f->m), 2);
	assert_int_equal(virtq_pending(&f->q), 4);
	for (uint16_t i = 0; i < 4; i++) {
		assert_int_equal(virtq_pop(&f->q, &f->e), 1);
		assert_int_equal(f->e.head, i);
		virtq_push(&f->q, f->e.head, 8);
	}
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	assert_int_equal(h_used_idx(f->m), 2);
	h_used_elem(f->m, QN, 65535, &id, &len);
	assert_int_equal(id, 1);
	h_used_elem(f->m, QN, 0, &id, &len);
	assert_int_equal(id, 2);
}

static void test_unpop(void **state)
{
	struct fixture *f = *state;

	h_desc(f->m, 0, H_BUF, 8, 0, 0);
	h_offer(f->m, QN, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	virtq_unpop(&f->q);
	assert_int_equal(virtq_pending(&f->q), 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(f->q.stats.popped, 2);
}

static void test_interrupt_suppression_flags(void **state)
{
	struct fixture *f = *state;
	uint16_t flags = VIRTQ_AVAIL_F_NO_INTERRUPT;

	assert_false(virtq_needs_interrupt(&f->q)); /* nothing pushed */
	virtq_push(&f->q, 0, 0);
	assert_true(virtq_needs_interrupt(&f->q));
	assert_false(virtq_needs_interrupt(&f->q));
	guest_memory_write(f->m, H_AVAIL, &flags, 2);
	virtq_push(&f->q, 0, 0);
	assert_false(virtq_needs_interrupt(&f->q));
}

static void test_event_idx(void **state)
{
	struct fixture *f = *state;
	uint16_t used_event = 2, avail_event;

	f->q.event_idx = true;
	guest_memory_write(f->m, H_AVAIL + 4 + 2 * QN, &used_event, 2);
	virtq_push(&f->q, 0, 0); /* used 1 */
	assert_true(virtq_needs_interrupt(&f->q)); /* first signal always goes out */
	virtq_push(&f->q, 0, 0); /* used 2: event 2 not yet passed */
	assert_false(virtq_needs_interrupt(&f->q));
	virtq_push(&f->q, 0, 0); /* used 3: passed 2 */
	assert_true(virtq_needs_interrupt(&f->q));
	virtq_push(&f->q, 0, 0);
	assert_false(virtq_needs_interrupt(&f->q));
	/* avail_event tells the driver where to kick next */
	h_desc(f->m, 0, H_BUF, 8, 0, 0);
	h_offer(f->m, QN, 0);
	assert_true(virtq_idle(&f->q));
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_false(virtq_idle(&f->q));
	guest_memory_read(f->m, H_USED + 4 + 8 * QN, &avail_event, 2);
	assert_int_equal(avail_event, 1);
}

static void test_enable_checks(void **state)
{
	struct fixture *f = *state;
	struct virtq q = { 0 };

	h_queue_setup(&q, 0);
	assert_int_equal(virtq_enable(&q, f->m), -EINVAL);
	h_queue_setup(&q, 12);
	assert_int_equal(virtq_enable(&q, f->m), -EINVAL);
	h_queue_setup(&q, 512);
	assert_int_equal(virtq_enable(&q, f->m), -EINVAL);
	h_queue_setup(&q, 16);
	q.desc_gpa = H_DESC + 8;
	assert_int_equal(virtq_enable(&q, f->m), -EINVAL);
	h_queue_setup(&q, 16);
	q.used_gpa = H_USED + 2;
	assert_int_equal(virtq_enable(&q, f->m), -EINVAL);
	h_queue_setup(&q, 256);
	q.used_gpa = MEM - 0x400; /* 6 + 8·256 bytes do not fit */
	assert_int_equal(virtq_enable(&q, f->m), -EFAULT);
	assert_false(q.ready);
	h_queue_setup(&q, 16);
	q.avail_gpa = UINT64_MAX - 1;
	assert_int_equal(virtq_enable(&q, f->m), -EFAULT);
	/* the used ring over the available ring or the descriptor table: each
	 * returned chain would offer another, and a device refusing chains
	 * would pop and return them forever */
	h_queue_setup(&q, 16);
	q.used_gpa = H_AVAIL;
	assert_int_equal(virtq_enable(&q, f->m), -EINVAL);
	h_queue_setup(&q, 16);
	q.used_gpa = H_AVAIL - 8; /* its last bytes (avail_event) reach the avail flags */
	assert_int_equal(virtq_enable(&q, f->m), -EINVAL);
	h_queue_setup(&q, 16);
	q.used_gpa = H_DESC + 16 * 15;
	assert_int_equal(virtq_enable(&q, f->m), -EINVAL);
	assert_false(q.ready);
	h_queue_setup(&q, 16);
	q.used_gpa = H_AVAIL + 40; /* just after the available ring (38 bytes), 4-aligned: allowed */
	assert_int_equal(virtq_enable(&q, f->m), 0);
	h_queue_setup(&q, 256);
	assert_int_equal(virtq_enable(&q, f->m), 0);
}

/* A header split over three iovecs, read and written from an offset; a list
 * that ends early gives a short count. */
static void test_iov_copy(void **state)
{
	uint8_t a[3] = { 1, 2, 3 }, b[2] = { 4, 5 }, c[4] = { 6, 7, 8, 9 }, out[8] = { 0 };
	const uint8_t in[4] = { 0xa, 0xb, 0xc, 0xd };
	struct iovec iov[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) } };

	(void)state;
	assert_int_equal(virtq_iov_read(iov, 3, 2, out, 5), 5);
	assert_memory_equal(out, ((uint8_t[]){ 3, 4, 5, 6, 7 }), 5);
	assert_int_equal(virtq_iov_read(iov, 3, 7, out, 8), 2); /* only 8 and 9 remain */
	assert_memory_equal(out, ((uint8_t[]){ 8, 9 }), 2);
	assert_int_equal(virtq_iov_read(iov, 3, 9, out, 1), 0);
	assert_int_equal(virtq_iov_write(iov, 3, 1, in, sizeof(in)), 4);
	assert_memory_equal(a, ((uint8_t[]){ 1, 0xa, 0xb }), 3);
	assert_memory_equal(b, ((uint8_t[]){ 0xc, 0xd }), 2);
	assert_int_equal(c[0], 6);
	assert_int_equal(virtq_iov_write(iov, 2, 4, in, sizeof(in)), 1); /* b[1] only */
	assert_int_equal(b[1], 0xa);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_good_chain),
		T(test_loop),
		T(test_self_loop),
		T(test_chain_of_exactly_queue_size),
		T(test_next_out_of_range),
		T(test_head_out_of_range_not_returned),
		T(test_address_past_memory),
		T(test_address_wraps),
		T(test_zero_length),
		T(test_write_before_read),
		T(test_indirect_good),
		T(test_indirect_not_negotiated),
		T(test_indirect_nested),
		T(test_indirect_with_next),
		T(test_indirect_table_too_large),
		T(test_indirect_table_misaligned_length),
		T(test_indirect_table_empty),
		T(test_indirect_table_outside_memory),
		T(test_indirect_next_out_of_table),
		T(test_indirect_loop),
		T(test_avail_idx_jumps_too_far),
		T(test_length_overflow),
		T(test_wraparound_at_65535),
		T(test_unpop),
		T(test_interrupt_suppression_flags),
		T(test_event_idx),
		T(test_enable_checks),
		T(test_iov_copy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
