#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/boot/params.h"
#include "core/layout.h"
#include "core/memory.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

static uint64_t e820_sum(const struct boot_e820_entry *t, int n)
{
	uint64_t sum = 0;

	for (int i = 0; i < n; i++)
		sum += t[i].size;
	return sum;
}

/* No entry may cover any byte of the MMIO gap, and entries are sorted and disjoint. */
static void assert_layout(const struct boot_e820_entry *t, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t end = t[i].addr + t[i].size;

		assert_true(t[i].size > 0);
		assert_true(end <= LAYOUT_MMIO_GAP_START || t[i].addr >= LAYOUT_MMIO_GAP_END);
		if (i)
			assert_true(t[i].addr >= t[i - 1].addr + t[i - 1].size);
	}
}

static void test_small_ram(void **state)
{
	struct boot_e820_entry t[8];
	int n = e820_build(128 * MIB, t, 8);

	assert_int_equal(n, 3);
	assert_layout(t, n);
	assert_int_equal(t[0].addr, 0);
	assert_int_equal(t[0].size, LAYOUT_EBDA);
	assert_int_equal(t[0].type, BOOT_E820_RAM);
	assert_int_equal(t[1].addr, LAYOUT_EBDA);
	assert_int_equal(t[1].type, BOOT_E820_RESERVED);
	assert_int_equal(t[1].addr + t[1].size, LAYOUT_HIMEM);
	assert_int_equal(t[2].addr, LAYOUT_HIMEM);
	assert_int_equal(t[2].addr + t[2].size, 128 * MIB);
	assert_int_equal(e820_sum(t, n), 128 * MIB);
}

static void test_exactly_3g_ends_at_the_gap(void **state)
{
	struct boot_e820_entry t[8];
	int n = e820_build(3 * GIB, t, 8);

	assert_int_equal(n, 3);
	assert_layout(t, n);
	assert_int_equal(t[2].addr + t[2].size, LAYOUT_MMIO_GAP_START);
	assert_int_equal(e820_sum(t, n), 3 * GIB);
}

static void test_4g_splits_around_the_gap(void **state)
{
	struct boot_e820_entry t[8];
	int n = e820_build(4 * GIB, t, 8);

	assert_int_equal(n, 4);
	assert_layout(t, n);
	assert_int_equal(t[2].addr + t[2].size, LAYOUT_MMIO_GAP_START);
	assert_int_equal(t[3].addr, LAYOUT_MMIO_GAP_END);
	assert_int_equal(t[3].size, 1 * GIB);
	assert_int_equal(t[3].type, BOOT_E820_RAM);
	assert_int_equal(e820_sum(t, n), 4 * GIB);
}

static void test_64g(void **state)
{
	struct boot_e820_entry t[8];
	int n = e820_build(64 * GIB, t, 8);

	assert_int_equal(n, 4);
	assert_layout(t, n);
	assert_int_equal(t[3].addr + t[3].size, 65 * GIB);
	assert_int_equal(e820_sum(t, n), 64 * GIB);
}

/* The e820 RAM entries describe exactly the regions guest_memory maps. */
static void test_matches_memory_plan(void **state)
{
	static const uint64_t sizes[] = { 128 * MIB, 3 * GIB, 3 * GIB + 4096, 4 * GIB, 64 * GIB };

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct guest_region r[GUEST_MAX_REGIONS];
		struct boot_e820_entry t[8];
		int nr = guest_memory_plan(sizes[s], r);
		int n = e820_build(sizes[s], t, 8);

		assert_true(nr > 0 && n > 0);
		for (int i = 0; i < n; i++) {
			bool inside = false;

			for (int j = 0; j < nr; j++)
				inside |= t[i].addr >= r[j].gpa && t[i].addr + t[i].size <= r[j].gpa + r[j].size;
			assert_true(inside);
		}
	}
}

static void test_rejects(void **state)
{
	struct boot_e820_entry t[8];

	assert_int_equal(e820_build(512 * 1024, t, 8), -EINVAL);
	assert_int_equal(e820_build(128 * MIB + 1, t, 8), -EINVAL);
	assert_int_equal(e820_build(4 * GIB, t, 3), -E2BIG);
}

static void test_zero_page(void **state)
{
	struct kernel_info k = { .entry = 0x1000000, .initrd_addr_max = 0xffffffff };
	struct boot_info info = { .ram_size = 4 * GIB, .kernel = &k, .cmdline_addr = LAYOUT_CMDLINE,
				  .cmdline_size = 42, .initrd_addr = 0x7000000, .initrd_size = 0x1000 };
	struct boot_params bp;

	assert_int_equal(boot_params_build(&info, &bp), 0);
	assert_int_equal(bp.hdr.header, 0x53726448);
	assert_int_equal(bp.hdr.boot_flag, 0xaa55);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_int_equal(bp.hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	assert_int_equal(bp.hdr.cmdline_size, 42);
	assert_int_equal(bp.hdr.ramdisk_image, 0x7000000);
	assert_int_equal(bp.hdr.ramdisk_size, 0x1000);
	assert_int_equal(bp.e820_entries, 4);

	/* A bzImage's own header is kept, with the loader's fields on top. */
	k.bzimage = true;
	k.hdr.version = 0x20f;
	k.hdr.type_of_loader = 0x12;
	info.initrd_size = 0;
	assert_int_equal(boot_params_build(&info, &bp), 0);
	assert_int_equal(bp.hdr.version, 0x20f);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_int_equal(bp.hdr.ramdisk_image, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_ram),
		cmocka_unit_test(test_exactly_3g_ends_at_the_gap),
		cmocka_unit_test(test_4g_splits_around_the_gap),
		cmocka_unit_test(test_64g),
		cmocka_unit_test(test_matches_memory_plan),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_zero_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
