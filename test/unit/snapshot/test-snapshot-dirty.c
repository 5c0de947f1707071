/* Dirty tracking's bookkeeping: ember's own writes marked in file order
 * across both RAM regions (core/memory.c), a failed snapshot's pages put
 * back (snapshot/dirty.c), and rebase's check for a filesystem that hides
 * holes (tools/snapshot/rebase.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/layout.h"
#include "core/memory.h"
#include "rebase.h"
#include "snapshot/dirty.h"

static bool bit(const uint64_t *bits, uint64_t p)
{
	return bits[p / 64] >> (p % 64) & 1;
}

static unsigned count(const uint64_t *bits, uint64_t words)
{
	unsigned n = 0;

	for (uint64_t w = 0; w < words; w++)
		n += (unsigned)__builtin_popcountll(bits[w]);
	return n;
}

/* Two regions (RAM above the 32-bit gap), never touched: mapped NORESERVE. */
static void test_mark_file_order(void **state)
{
	uint64_t ram = LAYOUT_MMIO_GAP_START + (64ull << 20), gap_pages = LAYOUT_MMIO_GAP_START / 4096;
	struct guest_memory *m;
	char byte = 1;

	assert_int_equal(guest_memory_create(ram, &m), 0);
	assert_int_equal(m->nr_regions, 2);
	/* off: marks nothing, writes still work */
	assert_int_equal(guest_memory_write(m, 0x1000, &byte, 1), 0);
	assert_null(m->dirty);
	assert_int_equal(guest_memory_track_dirty(m), 0);
	assert_int_equal(guest_memory_write(m, 0x1000, &byte, 1), 0);
	/* a write straddling a page boundary marks both pages */
	guest_memory_mark_dirty(m, 0x5ffe, 4);
	/* above the gap: region 1's first page follows region 0's last */
	assert_int_equal(guest_memory_write(m, LAYOUT_MMIO_GAP_END + 0x2000, &byte, 1), 0);
	/* outside RAM, and through a host pointer from the other region */
	guest_memory_mark_dirty(m, LAYOUT_MMIO_GAP_START, 8);
	guest_memory_mark_host(m, (uint8_t *)guest_memory_slice(m, LAYOUT_MMIO_GAP_END, 4096) + 4096 * 5, 1);
	assert_true(bit(m->dirty, 1));
	assert_true(bit(m->dirty, 5) && bit(m->dirty, 6));
	assert_true(bit(m->dirty, gap_pages + 2));
	assert_true(bit(m->dirty, gap_pages + 5));
	assert_int_equal(count(m->dirty, guest_memory_dirty_words(m)), 5);
	guest_memory_destroy(m);
}

/* A failed Diff's pages go back and join what was marked meanwhile. */
static void test_restore(void **state)
{
	struct guest_memory *m;
	struct snap_dirty d = { 0 };
	char err[256];

	assert_int_equal(guest_memory_create(1 << 20, &m), 0);
	/* no tracking, no residency: nothing is read, nothing to put back */
	assert_int_equal(snap_dirty_collect(-1, m, false, &d, err, sizeof(err)), 0);
	assert_null(d.bits);
	snap_dirty_restore(m, &d);
	assert_int_equal(guest_memory_track_dirty(m), 0);
	d.words = guest_memory_dirty_words(m);
	d.bits = calloc(d.words, sizeof(uint64_t));
	d.bits[0] = 0x11;
	guest_memory_mark_dirty(m, 0x2000, 1);
	snap_dirty_restore(m, &d);
	assert_int_equal(m->dirty[0], 0x15);
	snap_dirty_free(&d);
	assert_null(d.bits);
	guest_memory_destroy(m);
}

static void test_hides_holes(void **state)
{
	uint64_t mib = 1 << 20;

	/* sparse, and the filesystem calls all of it data: refused */
	assert_true(snap_tool_hides_holes(128 * mib, 4 * mib, 0, (int64_t)(128 * mib)));
	/* sparse with holes reported */
	assert_false(snap_tool_hides_holes(128 * mib, 4 * mib, 0, (int64_t)mib));
	assert_false(snap_tool_hides_holes(128 * mib, 4 * mib, 4096, (int64_t)(128 * mib)));
	/* dense: all data indeed */
	assert_false(snap_tool_hides_holes(128 * mib, 128 * mib, 0, (int64_t)(128 * mib)));
	assert_false(snap_tool_hides_holes(128 * mib, 129 * mib, 0, (int64_t)(128 * mib)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mark_file_order),
		cmocka_unit_test(test_restore),
		cmocka_unit_test(test_hides_holes),
	};

	return cmocka_run_group_tests_name("snapshot-dirty", tests, NULL, NULL);
}
