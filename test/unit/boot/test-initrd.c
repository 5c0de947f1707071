#include <errno.h>
#include <stdlib.h>

#include "boot-test.h"
#include "core/boot/loader.h"
#include "core/layout.h"

#define PAGE 4096ull

static int initrd_try(uint64_t guest_size, const struct kernel_info *ki, size_t size, uint64_t *ret_addr)
{
	struct guest_memory *m = test_guest(guest_size);
	uint8_t *buf = malloc(size ? size : 1);
	uint64_t addr = 0, len = 0;
	char err[256] = "";
	int fd, r;

	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 3 + 1);
	fd = test_memfd(buf, size);
	r = initrd_load(m, fd, ki, &addr, &len, err, sizeof(err));
	if (r == 0) {
		assert_int_equal(len, size);
		assert_int_equal(addr % PAGE, 0);
		assert_true(addr >= ki->end);
		assert_true(addr + size - 1 <= ki->initrd_addr_max);
		assert_true(addr + size <= LAYOUT_MMIO_GAP_START);
		assert_memory_equal(guest_memory_slice(m, addr, size), buf, size);
		*ret_addr = addr;
	} else {
		assert_true(err[0] != '\0');
	}
	close(fd);
	free(buf);
	guest_memory_destroy(m);
	return r;
}

static void test_initrd_top_of_ram(void **state)
{
	struct kernel_info ki = { .end = 0x180000, .initrd_addr_max = (1ull << 32) - 1 };
	uint64_t addr;

	assert_int_equal(initrd_try(4ull << 20, &ki, 5000, &addr), 0);
	/* As high as possible: the last page-aligned start that still fits. */
	assert_int_equal(addr, ((4ull << 20) - 5000) & ~(PAGE - 1));
}

static void test_initrd_addr_max(void **state)
{
	struct kernel_info ki = { .end = 0x180000, .initrd_addr_max = 0x2fffff };
	uint64_t addr;

	assert_int_equal(initrd_try(4ull << 20, &ki, 2 * PAGE, &addr), 0);
	assert_int_equal(addr, 0x300000 - 2 * PAGE);
}

static void test_initrd_below_gap(void **state)
{
	struct kernel_info ki = { .end = 0x180000, .initrd_addr_max = (1ull << 32) - 1 };
	uint64_t addr;

	/* 4 GiB of RAM is split around the gap; the initrd stays in low RAM. */
	assert_int_equal(initrd_try(4ull << 30, &ki, 3 * PAGE, &addr), 0);
	assert_int_equal(addr, LAYOUT_MMIO_GAP_START - 3 * PAGE);
}

static void test_initrd_too_big(void **state)
{
	struct kernel_info ki = { .end = 0x180000, .initrd_addr_max = (1ull << 32) - 1 };
	uint64_t addr;

	assert_int_equal(initrd_try(4ull << 20, &ki, 4u << 20, &addr), -EFBIG);
	/* It would fit in RAM, but not above the kernel. */
	ki.end = 0x3ff001;
	assert_int_equal(initrd_try(4ull << 20, &ki, PAGE, &addr), -EFBIG);
	ki.end = 0x3ff000;
	assert_int_equal(initrd_try(4ull << 20, &ki, PAGE, &addr), 0);
	/* initrd_addr_max below the kernel's end. */
	ki.end = 0x200000;
	ki.initrd_addr_max = 0x1fffff;
	assert_int_equal(initrd_try(4ull << 20, &ki, PAGE, &addr), -EFBIG);
	ki.end = UINT64_MAX - 2;
	ki.initrd_addr_max = UINT64_MAX;
	assert_int_equal(initrd_try(4ull << 20, &ki, PAGE, &addr), -EFBIG);
}

static void test_initrd_empty(void **state)
{
	struct kernel_info ki = { .end = 0x180000, .initrd_addr_max = (1ull << 32) - 1 };
	uint64_t addr;

	assert_int_equal(initrd_try(4ull << 20, &ki, 0, &addr), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initrd_top_of_ram),
		cmocka_unit_test(test_initrd_addr_max),
		cmocka_unit_test(test_initrd_below_gap),
		cmocka_unit_test(test_initrd_too_big),
		cmocka_unit_test(test_initrd_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
