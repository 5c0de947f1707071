/* The cgroup allowlist, value and parent checks, and hierarchy detection
 * from a mountinfo text (hybrid layout as on the development hosts). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "jailer.h"

static void test_file_allowlist(void **state)
{
	static const char *const good[] = { "cpu.cfs_quota_us", "cpu.max", "cpuset.cpus", "cpuset.mems",
					    "memory.limit_in_bytes", "memory.max", "memory.swap.max", "pids.max",
					    "io.max", "blkio.throttle.read_bps_device", "hugetlb.2MB.max" };
	static const char *const bad[] = { "cgroup.procs", "tasks", "release_agent", "notify_on_release",
					   "cgroup.subtree_control", "cgroup.threads", "devices.allow", "devices.deny",
					   "../../release_agent", "pids.max/../tasks", "pids.max\n", "", ".", "pids",
					   "pids.max ", "PIDS.MAX", "memory.oom_control", "cgroup.kill" };
	char ctl[JAIL_CGROUP_FILE_MAX];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(jail_cgroup_check_file(good[i], ctl, sizeof(ctl)), 0);
	jail_cgroup_check_file("memory.swap.max", ctl, sizeof(ctl));
	assert_string_equal(ctl, "memory");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(jail_cgroup_check_file(bad[i], ctl, sizeof(ctl)), -EINVAL);
}

static void test_value_injection(void **state)
{
	char big[JAIL_CGROUP_VALUE_MAX + 1];

	assert_int_equal(jail_cgroup_check_value("100000"), 0);
	assert_int_equal(jail_cgroup_check_value("max 100000"), 0);
	assert_int_equal(jail_cgroup_check_value("8:0 rbps=1048576"), 0);
	assert_int_equal(jail_cgroup_check_value("0-1,3"), 0);
	assert_int_equal(jail_cgroup_check_value(""), -EINVAL);
	assert_int_equal(jail_cgroup_check_value("10\n+cpu"), -EINVAL);
	assert_int_equal(jail_cgroup_check_value("10\r"), -EINVAL);
	assert_int_equal(jail_cgroup_check_value("a/b"), -EINVAL);
	assert_int_equal(jail_cgroup_check_value(".."), -EINVAL);
	assert_int_equal(jail_cgroup_check_value("1..2"), -EINVAL);
	assert_int_equal(jail_cgroup_check_value("\x1b[0m"), -EINVAL);
	assert_int_equal(jail_cgroup_check_value("\xc3\xa9"), -EINVAL);
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(jail_cgroup_check_value(big), -EINVAL);
	big[JAIL_CGROUP_VALUE_MAX - 1] = '\0';
	assert_int_equal(jail_cgroup_check_value(big), 0);
}

static void test_parent(void **state)
{
	static const char *const good[] = { "firecracker", "a/b", "a.b/c-d_e", "x/y/z" };
	static const char *const bad[] = { "", "/abs", "a/../b", "..", ".", "a//b", "a/", "a/./b", "a b", "a\nb",
					   "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(jail_cgroup_check_parent(good[i]), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(jail_cgroup_check_parent(bad[i]), -EINVAL);
}

static const char hybrid[] =
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
	"35 31 0:32 / /sys/fs/cgroup/mem\\040ory rw,relatime - cgroup cgroup rw,memory\n"
	"36 31 0:36 / /sys/fs/cgroup/pids rw,relatime shared:5 - cgroup cgroup rw,pids\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n";

static void test_resolve_v1(void **state)
{
	struct jail_plan *p = calloc(1, sizeof(*p));
	char err[256] = "";

	p->cgroup_version = 1;
	p->n_cgroups = 3;
	strcpy(p->cgroups[0].file, "pids.max");
	strcpy(p->cgroups[0].controller, "pids");
	strcpy(p->cgroups[1].file, "memory.limit_in_bytes");
	strcpy(p->cgroups[1].controller, "memory");
	strcpy(p->cgroups[2].file, "pids.max");
	strcpy(p->cgroups[2].controller, "pids");
	assert_int_equal(jail_cgroup_resolve(p, hybrid, err, sizeof(err)), 0);
	assert_int_equal(p->n_hier, 2);
	assert_string_equal(p->hier[0].mount, "/sys/fs/cgroup/pids");
	assert_string_equal(p->hier[1].mount, "/sys/fs/cgroup/mem ory"); /* \040 decoded */
	assert_int_equal(p->cgroups[2].hier, 0);
	free(p);
}

static void test_resolve_errors(void **state)
{
	struct jail_plan *p = calloc(1, sizeof(*p));
	char err[256] = "";

	p->cgroup_version = 1;
	p->n_cgroups = 1;
	strcpy(p->cgroups[0].file, "blkio.weight");
	strcpy(p->cgroups[0].controller, "blkio");
	assert_int_equal(jail_cgroup_resolve(p, hybrid, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "Controller blkio is unavailable");
	p->cgroup_version = 2;
	strcpy(p->cgroups[0].file, "pids.max");
	strcpy(p->cgroups[0].controller, "pids");
	assert_int_equal(jail_cgroup_resolve(p, hybrid, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "Hierarchy not found: No hierarchy found for this cgroup version.");
	strcpy(p->cgroups[0].file, "cpu.cfs_quota_us");
	strcpy(p->cgroups[0].controller, "cpu");
	assert_int_equal(jail_cgroup_resolve(p, hybrid, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Cgroup file cpu.cfs_quota_us does not exist in cgroup v2");
	free(p);
}

/* v2: the controllers come from the unified mount's cgroup.controllers. */
static void test_resolve_v2(void **state)
{
	char dir[] = "/tmp/jailer-unit-XXXXXX", path[64], mi[512], err[256] = "";
	struct jail_plan *p = calloc(1, sizeof(*p));
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	f = fopen(path, "w");
	fputs("cpuset cpu io memory pids\n", f);
	fclose(f);
	snprintf(mi, sizeof(mi), "41 31 0:38 / %s rw,relatime - cgroup2 cgroup2 rw\n", dir);
	p->cgroup_version = 2;
	p->n_cgroups = 2;
	strcpy(p->cgroups[0].file, "memory.max");
	strcpy(p->cgroups[0].controller, "memory");
	strcpy(p->cgroups[1].file, "pids.max");
	strcpy(p->cgroups[1].controller, "pids");
	assert_int_equal(jail_cgroup_resolve(p, mi, err, sizeof(err)), 0);
	assert_int_equal(p->n_hier, 1);
	assert_string_equal(p->hier[0].controllers, "memory pids");
	strcpy(p->cgroups[1].file, "hugetlb.2MB.max");
	strcpy(p->cgroups[1].controller, "hugetlb");
	p->n_hier = 0;
	p->hier[0].controllers[0] = '\0';
	assert_int_equal(jail_cgroup_resolve(p, mi, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "Controller hugetlb is unavailable");
	unlink(path);
	rmdir(dir);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_allowlist), cmocka_unit_test(test_value_injection),
		cmocka_unit_test(test_parent),         cmocka_unit_test(test_resolve_v1),
		cmocka_unit_test(test_resolve_errors), cmocka_unit_test(test_resolve_v2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
