#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/layout.h"
#include "core/memory.h"

static void test_plan_small_is_one_region(void **state)
{
	struct guest_region r[GUEST_MAX_REGIONS];

	assert_int_equal(guest_memory_plan(128ull << 20, r), 1);
	assert_int_equal(r[0].gpa, 0);
	assert_int_equal(r[0].size, 128ull << 20);
	assert_int_equal(guest_memory_plan(LAYOUT_MMIO_GAP_START, r), 1);
}

static void test_plan_splits_around_gap(void **state)
{
	struct guest_region r[GUEST_MAX_REGIONS];

	assert_int_equal(guest_memory_plan(4ull << 30, r), 2);
	assert_int_equal(r[0].size, LAYOUT_MMIO_GAP_START);
	assert_int_equal(r[1].gpa, LAYOUT_MMIO_GAP_END);
	assert_int_equal(r[1].size, (4ull << 30) - LAYOUT_MMIO_GAP_START);
}

static void test_plan_rejects(void **state)
{
	struct guest_region r[GUEST_MAX_REGIONS];

	assert_int_equal(guest_memory_plan(0, r), -EINVAL);
	assert_int_equal(guest_memory_plan(4097, r), -EINVAL);
	assert_int_equal(guest_memory_plan(UINT64_MAX & ~4095ull, r), -EINVAL);
}

static void test_slice_bounds(void **state)
{
	struct guest_memory *m = NULL;
	uint64_t size = 1ull << 20;
	uint8_t b = 0x5a;

	assert_int_equal(guest_memory_create(size, &m), 0);
	assert_non_null(guest_memory_slice(m, 0, size));
	assert_non_null(guest_memory_slice(m, size - 1, 1));
	assert_null(guest_memory_slice(m, size - 1, 2));
	assert_null(guest_memory_slice(m, size, 1));
	assert_null(guest_memory_slice(m, 0, 0));
	assert_null(guest_memory_slice(m, UINT64_MAX, 2));     /* wraps */
	assert_null(guest_memory_slice(m, 16, UINT64_MAX - 8)); /* wraps */
	assert_int_equal(guest_memory_write(m, 100, &b, 1), 0);
	b = 0;
	assert_int_equal(guest_memory_read(m, 100, &b, 1), 0);
	assert_int_equal(b, 0x5a);
	assert_int_equal(guest_memory_read(m, size, &b, 1), -EFAULT);
	m = guest_memory_destroy(m);
	assert_null(m);
}

static void test_slice_never_spans_the_gap(void **state)
{
	struct guest_memory *m = NULL;

	/* MAP_NORESERVE: 4 GiB of address space, no RAM committed. */
	assert_int_equal(guest_memory_create(4ull << 30, &m), 0);
	assert_int_equal(m->nr_regions, 2);
	assert_null(guest_memory_slice(m, LAYOUT_MMIO_GAP_START - 8, 16));
	assert_null(guest_memory_slice(m, LAYOUT_MMIO_GAP_START, 8));
	assert_non_null(guest_memory_slice(m, LAYOUT_MMIO_GAP_END, 8));
	assert_null(guest_memory_slice(m, LAYOUT_MMIO_GAP_END + (1ull << 30), 1));
	guest_memory_destroy(m);
}

/* Transparent: every region starts on a 2 MiB boundary (over-allocated and
 * trimmed), so each guest 2 MiB frame can be one THP; the memory works. */
static void test_transparent_is_aligned(void **state)
{
	struct guest_memory *m = NULL;
	uint8_t b = 0x33;

	for (int i = 0; i < 4; i++) { /* a few times: mmap's hint varies with what is mapped */
		assert_int_equal(guest_memory_create_backed(6ull << 20, GUEST_BACKING_TRANSPARENT, &m, NULL), 0);
		assert_int_equal((uintptr_t)m->region[0].host % GUEST_HUGE_PAGE_SIZE, 0);
		assert_int_equal(m->page_size, 4096);
		assert_int_equal(guest_memory_write(m, (6ull << 20) - 1, &b, 1), 0);
		assert_int_equal(m->region[0].host[(6ull << 20) - 1], 0x33);
		m = guest_memory_destroy(m);
	}
	assert_int_equal(guest_memory_create_backed(4ull << 30, GUEST_BACKING_TRANSPARENT, &m, NULL), 0);
	assert_int_equal((uintptr_t)m->region[1].host % GUEST_HUGE_PAGE_SIZE, 0);
	guest_memory_destroy(m);
}

/* Both huge kinds need whole 2 MiB pages; 2M maps without touching the
 * pool (MAP_NORESERVE), so this works on a host with no huge pages. */
static void test_huge_sizes(void **state)
{
	struct guest_memory *m = NULL;

	assert_int_equal(guest_memory_create_backed(3ull << 20, GUEST_BACKING_TRANSPARENT, &m, NULL), -EINVAL);
	assert_int_equal(guest_memory_create_backed(3ull << 20, GUEST_BACKING_HUGETLB_2M, &m, NULL), -EINVAL);
	assert_null(m);
	if (guest_memory_create_backed(4ull << 20, GUEST_BACKING_HUGETLB_2M, &m, NULL) < 0)
		skip(); /* a kernel without hugetlbfs */
	assert_int_equal(m->page_size, 2ull << 20);
	assert_int_equal(m->backing, GUEST_BACKING_HUGETLB_2M);
	guest_memory_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_small_is_one_region),
		cmocka_unit_test(test_plan_splits_around_gap),
		cmocka_unit_test(test_plan_rejects),
		cmocka_unit_test(test_slice_bounds),
		cmocka_unit_test(test_slice_never_spans_the_gap),
		cmocka_unit_test(test_transparent_is_aligned),
		cmocka_unit_test(test_huge_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
