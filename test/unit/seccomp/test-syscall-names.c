/* The build-time syscall-name table (gen-syscall-names.py) against
 * libseccomp's resolver, which start-up used to call for every number. */
#include <seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include <cmocka.h>

#include "seccomp/syscall_names.h"

static void test_known_numbers(void **state)
{
	(void)state;
	assert_string_equal(syscall_names[SYS_read], "read");
	assert_string_equal(syscall_names[SYS_ioctl], "ioctl");
	assert_string_equal(syscall_names[SYS_exit_group], "exit_group");
	assert_string_equal(syscall_names[SYS_seccomp], "seccomp");
}

/* Every number libseccomp names gets the same name here, and the table names
 * no number libseccomp does not know. */
static void test_agrees_with_libseccomp(void **state)
{
	unsigned named = 0;

	(void)state;
	for (int nr = 0; nr < SYSCALL_NAMES; nr++) {
		char *want = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		if (want && syscall_names[nr]) {
			if (strcmp(want, syscall_names[nr]) != 0)
				fail_msg("syscall %d: table says %s, libseccomp %s", nr, syscall_names[nr], want);
			named++;
		} else if (syscall_names[nr] && !want) {
			fail_msg("syscall %d: table says %s, libseccomp knows no name", nr, syscall_names[nr]);
		}
		free(want);
	}
	assert_true(named > 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_numbers),
		cmocka_unit_test(test_agrees_with_libseccomp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
