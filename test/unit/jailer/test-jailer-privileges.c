/* The post-drop check of /proc/self/status: anything left over is refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "jailer.h"

static const char clean[] = "Name:\tember\n"
			    "Uid:\t123\t123\t123\t123\n"
			    "Gid:\t100\t100\t100\t100\n"
			    "Groups:\t\n"
			    "CapInh:\t0000000000000000\n"
			    "CapPrm:\t0000000000000000\n"
			    "CapEff:\t0000000000000000\n"
			    "CapBnd:\t0000000000000000\n"
			    "CapAmb:\t0000000000000000\n"
			    "NoNewPrivs:\t1\n";

static int check_with(const char *from, const char *to, char *err)
{
	char buf[sizeof(clean) + 64];
	const char *at = strstr(clean, from);

	assert_non_null(at);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - clean), clean, to, at + strlen(from));
	return jail_privileges_check_status(buf, 123, 100, err, 128);
}

static void test_clean(void **state)
{
	char err[128];

	assert_int_equal(jail_privileges_check_status(clean, 123, 100, err, sizeof(err)), 0);
	assert_int_equal(jail_privileges_check_status(clean, 124, 100, err, sizeof(err)), -EPERM);
	assert_int_equal(jail_privileges_check_status(clean, 123, 101, err, sizeof(err)), -EPERM);
}

static void test_leftovers(void **state)
{
	char err[128];

	assert_int_equal(check_with("Uid:\t123\t123\t123\t123", "Uid:\t123\t123\t0\t123", err), -EPERM);
	assert_string_equal(err, "uid 0 remains");
	assert_int_equal(check_with("Gid:\t100\t100\t100\t100", "Gid:\t100\t100\t100\t0", err), -EPERM);
	assert_int_equal(check_with("Groups:\t\n", "Groups:\t0 \n", err), -EPERM);
	assert_int_equal(check_with("CapBnd:\t0000000000000000", "CapBnd:\t000001ffffffffff", err), -EPERM);
	assert_string_equal(err, "CapBnd is not empty");
	assert_int_equal(check_with("CapAmb:\t0000000000000000", "CapAmb:\t0000000000000400", err), -EPERM);
	assert_int_equal(check_with("CapInh:\t0000000000000000", "CapInh:\t0000000000000001", err), -EPERM);
	assert_int_equal(check_with("NoNewPrivs:\t1", "NoNewPrivs:\t0", err), -EPERM);
	assert_int_equal(check_with("NoNewPrivs:\t1\n", "", err), -EPERM);
	assert_int_equal(check_with("CapEff:\t0000000000000000\n", "", err), -EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_leftovers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
