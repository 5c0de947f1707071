#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/boot/mptable.h"
#include "core/layout.h"
#include "core/memory.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += p[i];
	return s;
}

/* Walks the table as Linux's mpparse.c does and counts the entry types. */
static void check_table(unsigned cpus)
{
	uint8_t buf[MPTABLE_MAX_SIZE];
	int n = mptable_build(cpus, LAYOUT_EBDA, buf, sizeof(buf));
	const uint8_t *mpc = buf + 16, *p;
	unsigned count[5] = { 0 }, bsp = 0;

	assert_true(n > 0);
	assert_memory_equal(buf, "_MP_", 4);
	assert_int_equal(rd32(buf + 4), LAYOUT_EBDA + 16);
	assert_int_equal(buf[8], 1);
	assert_int_equal(buf[9], 4);
	assert_int_equal(sum(buf, 16), 0);

	assert_memory_equal(mpc, "PCMP", 4);
	assert_int_equal(rd16(mpc + 4), n - 16);
	assert_int_equal(sum(mpc, rd16(mpc + 4)), 0);
	assert_int_equal(rd32(mpc + 36), LAYOUT_LAPIC);
	for (p = mpc + 44; p < mpc + rd16(mpc + 4);) {
		assert_true(p[0] <= 4);
		count[p[0]]++;
		if (p[0] == 0) {
			assert_int_equal(p[1], count[0] - 1); /* APIC ids in order */
			assert_true(p[3] & 1);                /* enabled */
			bsp += (p[3] & 2) != 0;
			p += 20;
		} else {
			if (p[0] == 2) {
				assert_int_equal(p[1], cpus + 1);
				assert_int_equal(rd32(p + 4), LAYOUT_IOAPIC);
			}
			p += 8;
		}
	}
	assert_ptr_equal(p, mpc + rd16(mpc + 4));
	assert_int_equal(rd16(mpc + 34), count[0] + count[1] + count[2] + count[3] + count[4]);
	assert_int_equal(count[0], cpus);
	assert_int_equal(bsp, 1);
	assert_int_equal(count[1], 1);
	assert_int_equal(count[2], 1);
	assert_int_equal(count[3], MPTABLE_IOAPIC_PINS);
	assert_int_equal(count[4], 2);
}

static void test_contents(void **state)
{
	check_table(1);
	check_table(2);
	check_table(32);
}

static void test_fits_below_the_legacy_hole(void **state)
{
	struct guest_memory *m = NULL;
	uint8_t sig[4];

	assert_int_equal(guest_memory_create(2 << 20, &m), 0);
	assert_int_equal(mptable_write(m, 32), 0);
	assert_int_equal(guest_memory_read(m, LAYOUT_EBDA, sig, 4), 0);
	assert_memory_equal(sig, "_MP_", 4);
	guest_memory_destroy(m);
}

static void test_rejects(void **state)
{
	uint8_t buf[MPTABLE_MAX_SIZE];

	assert_int_equal(mptable_build(0, LAYOUT_EBDA, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(mptable_build(33, LAYOUT_EBDA, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(mptable_build(1, LAYOUT_EBDA, buf, 100), -EINVAL);
}

static void test_checksum(void **state)
{
	uint8_t b[4] = { 1, 2, 3, 0 };

	b[3] = mptable_checksum(b, 3);
	assert_int_equal(sum(b, 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contents),
		cmocka_unit_test(test_fits_below_the_legacy_hole),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_checksum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
