/* The --status-fd text sanitising (ill-formed UTF-8 → U+FFFD, Unicode §3.9
 * "maximal subparts"), the limit checks of the planner (v1 and v2 keys: the
 * development host has cgroup v1 only) and the base dir file system check. */
#include <errno.h>
#include <linux/magic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <cmocka.h>

#include "jailer.h"

#define FFFD "\xef\xbf\xbd"

static void check_utf8(const char *in, const char *want)
{
	char out[256];
	size_t n = jail_utf8_sanitize(in, out, sizeof(out));

	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void test_utf8_valid_kept(void **state)
{
	check_utf8("", "");
	check_utf8("vm-1", "vm-1");
	check_utf8("caf\xc3\xa9", "caf\xc3\xa9");                 /* U+00E9 */
	check_utf8("\xe2\x82\xac", "\xe2\x82\xac");               /* U+20AC */
	check_utf8("\xf0\x9f\x94\xa5", "\xf0\x9f\x94\xa5");       /* U+1F525 */
	check_utf8("\xef\xbf\xbd", FFFD);                         /* U+FFFD itself */
	check_utf8("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");       /* U+10FFFF, the last */
}

static void test_utf8_ill_formed(void **state)
{
	check_utf8("a\xff" "b", "a" FFFD "b");
	check_utf8("\x80", FFFD);                                 /* a lone continuation byte */
	check_utf8("\xc0\xaf", FFFD FFFD);                        /* overlong '/': C0 is never a lead */
	check_utf8("\xe0\x80\xaf", FFFD FFFD FFFD);               /* overlong: E0 needs A0..BF next */
	check_utf8("\xed\xa0\x80", FFFD FFFD FFFD);               /* a surrogate, U+D800 */
	check_utf8("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD);      /* above U+10FFFF */
	check_utf8("\xf5\x80", FFFD FFFD);
	check_utf8("\xe2\x82", FFFD);                             /* truncated: one maximal subpart */
	check_utf8("\xe2\x82x", FFFD "x");
	check_utf8("\xf0\x9f\x94", FFFD);
	check_utf8("\xc3", FFFD);
}

static void test_utf8_bounded(void **state)
{
	char out[6];

	/* Never past outlen, never half a character. */
	assert_int_equal(jail_utf8_sanitize("abcd\xc3\xa9", out, sizeof(out)), 4);
	assert_string_equal(out, "abcd");
	assert_int_equal(jail_utf8_sanitize("\xff\xff", out, sizeof(out)), 3);
	assert_string_equal(out, FFFD);
	assert_int_equal(jail_utf8_sanitize("x", out, 1), 0);
	assert_string_equal(out, "");
}

static void check_limit(const char *file, const char *value, int want, const char *msg)
{
	char err[256] = "";

	assert_int_equal(jail_plan_check_limit(file, value, err, sizeof(err)), want);
	if (msg)
		assert_string_equal(err, msg);
}

static void test_limits_pids(void **state)
{
	check_limit("pids.max", "2", -EINVAL, "pids.max=2 is below 3 (threads: vmm, api, one vCPU)");
	check_limit("pids.max", "0", -EINVAL, "pids.max=0 is below 3 (threads: vmm, api, one vCPU)");
	check_limit("pids.max", "3", 0, NULL);
	check_limit("pids.max", "max", 0, NULL);
	check_limit("pids.max", "-1", -EINVAL, NULL);
	check_limit("pids.max", "02", -EINVAL, NULL);
}

static void test_limits_memory(void **state)
{
	static const char *const files[] = { "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.max",
					     "memory.high" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		check_limit(files[i], "1", -EINVAL, NULL);
		check_limit(files[i], "16777215", -EINVAL, NULL);
		check_limit(files[i], "16777216", 0, NULL);
		check_limit(files[i], "15M", -EINVAL, NULL);
		check_limit(files[i], "16m", 0, NULL);
		check_limit(files[i], "16383k", -EINVAL, NULL);
		check_limit(files[i], "1G", 0, NULL);
		check_limit(files[i], "max", 0, NULL);
		check_limit(files[i], "-1", 0, NULL);
		check_limit(files[i], "16MB", -EINVAL, NULL);
		check_limit(files[i], "x", -EINVAL, NULL);
		check_limit(files[i], "99999999999999999999", -EINVAL, NULL);
		check_limit(files[i], "17179869184E", -EINVAL, NULL); /* overflows 64 bits */
	}
	check_limit("memory.max", "8M", -EINVAL,
		    "memory.max=8M is below 16 MiB: ember needs under 5 MiB plus KVM's kernel memory, before guest memory");
	/* Other files are not limits ember needs. */
	check_limit("memory.low", "1", 0, NULL);
	check_limit("memory.soft_limit_in_bytes", "1", 0, NULL);
	check_limit("cpu.shares", "2", 0, NULL);
}

static void test_base_fs(void **state)
{
	char err[256];

	assert_int_equal(jail_plan_check_base_fs("/srv", EXT4_SUPER_MAGIC, 0, err, sizeof(err)), 0);
	assert_int_equal(jail_plan_check_base_fs("/srv", TMPFS_MAGIC, ST_NOSUID, err, sizeof(err)), 0);
	assert_int_equal(jail_plan_check_base_fs("/proc", PROC_SUPER_MAGIC, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "procfs"));
	assert_int_equal(jail_plan_check_base_fs("/sys", SYSFS_MAGIC, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(jail_plan_check_base_fs("/c", CGROUP_SUPER_MAGIC, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(jail_plan_check_base_fs("/c", CGROUP2_SUPER_MAGIC, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "cgroup2fs"));
	assert_int_equal(jail_plan_check_base_fs("/m", TMPFS_MAGIC, ST_RDONLY, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "read-only"));
	assert_int_equal(jail_plan_check_base_fs("/m", TMPFS_MAGIC, ST_NOEXEC, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "noexec"));
	assert_int_equal(jail_plan_check_base_fs("/m", TMPFS_MAGIC, ST_NODEV, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "nodev"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid_kept), cmocka_unit_test(test_utf8_ill_formed),
		cmocka_unit_test(test_utf8_bounded),    cmocka_unit_test(test_limits_pids),
		cmocka_unit_test(test_limits_memory),   cmocka_unit_test(test_base_fs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
