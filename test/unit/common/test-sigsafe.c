#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sigsafe.h"

/* Each conversion it supports renders as snprintf renders it. */
#define same(fmt, ...)                                                                             \
	do {                                                                                       \
		char a[128], b[128];                                                               \
		int na = sigsafe_snprintf(a, sizeof(a), fmt, __VA_ARGS__);                         \
		int nb = snprintf(b, sizeof(b), fmt, __VA_ARGS__);                                 \
		assert_string_equal(a, b);                                                         \
		assert_int_equal(na, nb);                                                          \
	} while (0)

static void test_like_snprintf(void **state)
{
	same("signal %d, code %d.", 11, 150);
	same("%d %i %u %x", -2147483647 - 1, -1, 4294967295u, 0xdeadbeefu);
	same("%ld %lu %lld %llu", -9223372036854775807L - 1, 18446744073709551615UL, -5LL, 7ULL);
	same("%" PRIu64 " %" PRIx64 " %zu", UINT64_MAX, (uint64_t)0xabc, (size_t)42);
	same("[%s:%s] %c%%", "vm1", "vcpu0", 'x');
	same("%.*s|", 3, "abcdef");
	same("%.*s|", 10, "ab");
}

/* Truncated like snprintf: terminated, and the full length returned. */
static void test_truncation(void **state)
{
	char buf[6];

	assert_int_equal(sigsafe_snprintf(buf, sizeof(buf), "%s-%d", "abcd", 1234), 9);
	assert_string_equal(buf, "abcd-");
	assert_int_equal(sigsafe_snprintf(buf, 0, "%d", 5), 1);
}

/* A conversion it does not know is an error, never a guess. (The format
 * attribute lets %f through: it is a valid printf format.) */
static void test_unknown_conversion(void **state)
{
	char buf[32];

	assert_int_equal(sigsafe_snprintf(buf, sizeof(buf), "%f", 1.0), -EINVAL);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_like_snprintf),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_unknown_conversion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
