/* The device-memory allocator (core/guest_space.h): first fit from 512 GiB,
 * aligned, freed gaps reused, bounds and limits; no KVM (vm_fd -1). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/guest_space.h"
#include "core/layout.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static struct guest_space s;

static int setup(void **state)
{
	guest_space_init(&s, -1, LAYOUT_PMEM_BASE, LAYOUT_PMEM_END, 2);
	return 0;
}

static void test_first_fit_and_alignment(void **state)
{
	uint64_t a, b, c, d;

	assert_int_equal(guest_space_alloc(&s, 2 * MiB, 2 * MiB, &a), 0);
	assert_int_equal(a, 512 * GiB);
	assert_int_equal(guest_space_alloc(&s, 6 * MiB, 2 * MiB, &b), 0);
	assert_int_equal(b, 512 * GiB + 2 * MiB);
	assert_int_equal(guest_space_alloc(&s, 2 * MiB, 2 * MiB, &c), 0);
	assert_int_equal(c, 512 * GiB + 8 * MiB);
	/* A freed gap is reused by the next request that fits it, first. */
	assert_int_equal(guest_space_free(&s, b), 0);
	assert_int_equal(guest_space_alloc(&s, 4 * MiB, 2 * MiB, &d), 0);
	assert_int_equal(d, b);
	assert_int_equal(guest_space_alloc(&s, 4 * MiB, 2 * MiB, &d), 0);
	assert_int_equal(d, 512 * GiB + 10 * MiB); /* 2 MiB left in the gap: too small */
	assert_int_equal(guest_space_alloc(&s, 2 * MiB, 2 * MiB, &d), 0);
	assert_int_equal(d, b + 4 * MiB);
	/* A larger alignment skips to the next boundary. */
	assert_int_equal(guest_space_alloc(&s, 1 * GiB, 1 * GiB, &d), 0);
	assert_int_equal(d, 513 * GiB);
}

static void test_rejects(void **state)
{
	uint64_t a = 0;

	assert_int_equal(guest_space_alloc(&s, 0, 2 * MiB, &a), -EINVAL);
	assert_int_equal(guest_space_alloc(&s, 3 * MiB, 2 * MiB, &a), -EINVAL); /* not whole 2 MiB pages */
	assert_int_equal(guest_space_alloc(&s, 6 * MiB, 3 * MiB, &a), -EINVAL); /* not a power of two */
	assert_int_equal(guest_space_alloc(&s, LAYOUT_PMEM_END, 2 * MiB, &a), -ENOSPC);
	assert_int_equal(guest_space_free(&s, 12345), -ENOENT);
	assert_int_equal(a, 0);
}

static void test_space_ends(void **state)
{
	uint64_t a, size = LAYOUT_PMEM_END - LAYOUT_PMEM_BASE;

	assert_int_equal(guest_space_alloc(&s, size - 2 * MiB, 2 * MiB, &a), 0);
	assert_int_equal(guest_space_alloc(&s, 2 * MiB, 2 * MiB, &a), 0);
	assert_int_equal(a + 2 * MiB, LAYOUT_PMEM_END);
	assert_int_equal(guest_space_alloc(&s, 2 * MiB, 2 * MiB, &a), -ENOSPC);
}

static void test_region_limit_and_slots(void **state)
{
	static char host[1];
	uint64_t a;

	for (unsigned i = 0; i < GUEST_SPACE_MAX_REGIONS; i++)
		assert_int_equal(guest_space_map(&s, host, 2 * MiB, i % 2, &a), 0);
	assert_int_equal(s.r[0].slot, 2);
	assert_int_equal(s.r[GUEST_SPACE_MAX_REGIONS - 1].slot, 2 + GUEST_SPACE_MAX_REGIONS - 1);
	assert_int_equal(guest_space_alloc(&s, 2 * MiB, 2 * MiB, &a), -ENOSPC);
	/* Unmapping gives the slot and the range back. */
	guest_space_unmap(&s, 512 * GiB + 2 * MiB);
	assert_int_equal(guest_space_map(&s, host, 2 * MiB, false, &a), 0);
	assert_int_equal(a, 512 * GiB + 2 * MiB);
	assert_int_equal(s.r[1].slot, 3);
}

/* A snapshot's placement (hostile input): aligned, inside, free; the region
 * keeps its slot and stays put on any refusal. */
static void test_move(void **state)
{
	static char host[1];
	uint64_t a, b;

	assert_int_equal(guest_space_map(&s, host, 4 * MiB, false, &a), 0);
	assert_int_equal(guest_space_map(&s, host, 2 * MiB, true, &b), 0);
	assert_int_equal(b, a + 4 * MiB);
	assert_int_equal(guest_space_move(&s, a, a + 1 * MiB, host, false), -EINVAL);  /* not aligned */
	assert_int_equal(guest_space_move(&s, a, 16 * MiB, host, false), -EINVAL);     /* below the space */
	assert_int_equal(guest_space_move(&s, a, LAYOUT_PMEM_END - 2 * MiB, host, false), -EINVAL); /* past its end */
	assert_int_equal(guest_space_move(&s, a, UINT64_MAX - 2 * MiB + 1, host, false), -EINVAL); /* wraps */
	assert_int_equal(guest_space_move(&s, a, a + 2 * MiB, host, false), -EEXIST);  /* over b */
	assert_int_equal(guest_space_move(&s, a + 2 * MiB, a, host, false), -ENOENT);  /* no region there */
	assert_int_equal(s.n, 2);
	assert_int_equal(s.r[0].gpa, a);
	/* Over its own old range is fine; then past b, order kept. */
	assert_int_equal(guest_space_move(&s, b, b - 2 * MiB, host, true), -EEXIST);
	assert_int_equal(guest_space_move(&s, a, b + 2 * MiB, host, false), 0);
	assert_int_equal(s.r[0].gpa, b);
	assert_int_equal(s.r[1].gpa, b + 2 * MiB);
	assert_int_equal(s.r[1].slot, 2);
	assert_int_equal(guest_space_move(&s, b + 2 * MiB, b + 4 * MiB, host, false), 0); /* overlapping itself */
	assert_int_equal(s.r[1].gpa, b + 4 * MiB);
	/* The freed start is reused by the allocator. */
	assert_int_equal(guest_space_alloc(&s, 4 * MiB, 2 * MiB, &a), 0);
	assert_int_equal(a, 512 * GiB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_first_fit_and_alignment, setup),
		cmocka_unit_test_setup(test_rejects, setup),
		cmocka_unit_test_setup(test_space_ends, setup),
		cmocka_unit_test_setup(test_region_limit_and_slots, setup),
		cmocka_unit_test_setup(test_move, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
