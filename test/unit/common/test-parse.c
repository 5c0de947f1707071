#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parse.h"

static void test_decimal(void **state)
{
	uint64_t v = 7;

	assert_int_equal(parse_u64("0", false, UINT64_MAX, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u64("18446744073709551615", false, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
}

static void test_rejects_malformed(void **state)
{
	static const char *const bad[] = { "", "-1", "+1", " 1", "1 ", "01", "1x", "0x", "1e3", "0b1", "١" };
	uint64_t v = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_u64(bad[i], true, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_u64(NULL, true, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(v, 42); /* never written on failure */
}

static void test_overflow_and_max(void **state)
{
	uint64_t v;
	uint32_t w;

	assert_int_equal(parse_u64("18446744073709551616", false, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_u64("101", false, 100, &v), -ERANGE);
	assert_int_equal(parse_u32("4294967296", &w), -ERANGE);
	assert_int_equal(parse_u32("4294967295", &w), 0);
	assert_true(w == UINT32_MAX);
}

static void test_hex_only_when_allowed(void **state)
{
	uint64_t v;

	assert_int_equal(parse_u64("0x10", false, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_u64("0xAEf", true, UINT64_MAX, &v), 0);
	assert_int_equal(v, 0xaef);
	assert_int_equal(parse_u64("0x1g", true, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_u64("0x10000000000000000", true, UINT64_MAX, &v), -ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_rejects_malformed),
		cmocka_unit_test(test_overflow_and_max),
		cmocka_unit_test(test_hex_only_when_allowed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
