#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "path_error.h"

static void test_absolute(void **state)
{
	char buf[256];

	assert_string_equal(path_error(buf, sizeof(buf), "/srv/vmlinux", ENOENT),
			    "/srv/vmlinux: No such file or directory (os error 2)");
}

/* Relative: both forms, "./" dropped in the resolved one. */
static void test_relative(void **state)
{
	char buf[512], want[512];

	assert_int_equal(chdir("/tmp"), 0);
	path_error_init();
	assert_string_equal(path_error(buf, sizeof(buf), "./k/vmlinux", ENOENT),
			    "./k/vmlinux (resolved: /tmp/k/vmlinux): No such file or directory (os error 2)");
	assert_int_equal(chdir("/"), 0);
	path_error_init();
	assert_string_equal(path_error(buf, sizeof(buf), "vmlinux", EISDIR),
			    "vmlinux (resolved: /vmlinux): Is a directory (os error 21)");
	snprintf(want, sizeof(want), "x: Permission denied (os error 13; uid %u, gid %u)", (unsigned)geteuid(),
		 (unsigned)getegid());
	assert_string_equal(strstr(path_error(buf, sizeof(buf), "x", EACCES), "Permission"), strstr(want, "Permission"));
}

/* A short buffer truncates, always terminated. */
static void test_truncated(void **state)
{
	char buf[8];

	path_error(buf, sizeof(buf), "/a/very/long/path", ENOENT);
	assert_string_equal(buf, "/a/very");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absolute),
		cmocka_unit_test(test_relative),
		cmocka_unit_test(test_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
