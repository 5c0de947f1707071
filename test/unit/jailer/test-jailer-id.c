/* Instance id and uid/gid validation: the first line of defence, pure. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "jailer.h"

static void test_id_good(void **state)
{
	char err[256];
	char max[JAIL_ID_MAX + 1];

	memset(max, 'a', JAIL_ID_MAX);
	max[JAIL_ID_MAX] = '\0';
	assert_int_equal(jail_id_validate("vm1", err, sizeof(err)), 0);
	assert_int_equal(jail_id_validate("a-b-C-9", err, sizeof(err)), 0);
	assert_int_equal(jail_id_validate("a", err, sizeof(err)), 0);
	assert_int_equal(jail_id_validate(max, err, sizeof(err)), 0);
	/* Firecracker's validate_instance_id accepts a leading '-' */
	assert_int_equal(jail_id_validate("-a", err, sizeof(err)), 0);
	assert_int_equal(jail_id_validate("-", err, sizeof(err)), 0);
}

static void test_id_bad(void **state)
{
	static const char *const bad[] = { "", "a_b", "a/b", "..", ".", "a b", "a\nb", "caf\xc3\xa9", "a:b",
					   "a;b", "a$b", "*" };
	char err[256];
	char long_id[JAIL_ID_MAX + 2];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(jail_id_validate(bad[i], err, sizeof(err)), -EINVAL);
	memset(long_id, 'a', JAIL_ID_MAX + 1);
	long_id[JAIL_ID_MAX + 1] = '\0';
	assert_int_equal(jail_id_validate(long_id, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Invalid instance ID: Invalid len (65);  the length must be between 1 and 64");
	jail_id_validate("ab_c", err, sizeof(err));
	assert_string_equal(err, "Invalid instance ID: Invalid char (_) at position 2");
	jail_id_validate("a\nb", err, sizeof(err));
	assert_string_equal(err, "Invalid instance ID: Invalid char (\\x0a) at position 1");
}

static void test_uid_parse(void **state)
{
	char err[256];
	uint32_t v = 7;

	assert_int_equal(jail_id_parse_uid("123", "uid", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 123);
	assert_int_equal(jail_id_parse_uid("4294967294", "uid", &v, err, sizeof(err)), 0);
	assert_true(v == 4294967294u);
	assert_int_equal(jail_id_parse_uid("0", "uid", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 0);
}

static void test_uid_bad(void **state)
{
	static const char *const bad[] = { "", "-1", "+1", "0x10", "010", " 1", "1 ", "abc", "4294967295",
					   "4294967296", "99999999999999999999", "1.0" };
	char err[256];
	uint32_t v = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(jail_id_parse_uid(bad[i], "gid", &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(v, 7); /* never written on failure */
	jail_id_parse_uid("x", "gid", &v, err, sizeof(err));
	assert_string_equal(err, "Invalid gid: x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_good),
		cmocka_unit_test(test_id_bad),
		cmocka_unit_test(test_uid_parse),
		cmocka_unit_test(test_uid_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
