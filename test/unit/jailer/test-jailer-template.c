/* cgroup templates: the strict YAML shape, value checks, and the mapping to
 * cgroup v1 and v2 files; the shipped templates must load for both. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "jailer.h"

static int parse(const char *y, struct jail_template_value *out, char *err)
{
	err[0] = '\0';
	return jail_template_parse(y, strlen(y), out, 16, err, 256);
}

static void test_good(void **state)
{
	struct jail_template_value v[16];
	char err[256];

	assert_int_equal(parse("pids:\n  max: 10\nmemory:\n  limit: 1000\n  swap: max\n", v, err), 3);
	assert_string_equal(v[0].key, "pids.max");
	assert_string_equal(v[0].value, "10");
	assert_string_equal(v[2].key, "memory.swap");
	assert_string_equal(v[2].value, "max");
	assert_int_equal(parse("", v, err), 0);
	assert_int_equal(parse("# only a comment\n", v, err), 0);
	assert_int_equal(parse("cpu: {max: \"max 100000\"}\n", v, err), 1);
	assert_int_equal(parse("---\ncpuset:\n  cpus: '0-3,5'\n...\n", v, err), 1);
}

static void test_bad(void **state)
{
	static const struct {
		const char *yaml, *msg;
	} bad[] = {
		{ "pids:\n  max: 10\n  max: 20\n", "duplicate key pids.max" },
		{ "pids:\n  max: 10\npids:\n  max: 20\n", "duplicate section pids" },
		{ "pids:\n  maximum: 10\n", "unknown key pids.maximum" },
		{ "network:\n  x: 1\n", "unknown section \"network\"" },
		{ "pids: &a\n  max: 10\n", "anchors are not allowed" },
		{ "pids:\n  max: &a 10\nmemory:\n  limit: *a\n", "anchors are not allowed" },
		{ "pids:\n  max: *a\n", "" },
		{ "pids:\n  max: !!int 10\n", "tags are not allowed" },
		{ "!!map\npids:\n  max: 10\n", "tags are not allowed" },
		{ "pids:\n  - 10\n", "lists are not allowed" },
		{ "- pids\n", "lists are not allowed" },
		{ "pids: 10\n", "a section must be a mapping" },
		{ "pids:\n  max:\n    deeper: 1\n", "a mapping is not allowed here" },
		{ "just a scalar\n", "the template must be a mapping" },
		{ "pids:\n  max: 10\n---\npids:\n  max: 20\n", "only one document" },
		{ "pids:\n  max: -1\n", "invalid value for pids.max" },
		{ "pids:\n  max: 0x10\n", "invalid value for pids.max" },
		{ "pids:\n  max: \"10\\n+cpu\"\n", "invalid value for pids.max" },
		{ "cpu:\n  period_us: 10\n", "invalid value for cpu.period_us" },
		{ "cpu:\n  max: \"100000\"\n", "invalid value for cpu.max" },
		{ "cpu:\n  max: \"1 2 3\"\n", "invalid value for cpu.max" },
		{ "cpuset:\n  cpus: \"0/../1\"\n", "invalid value for cpuset.cpus" },
		{ "io:\n  weight: 5\n", "invalid value for io.weight" },
		{ "pids:\n  max: [1\n", "" },
		{ "pids:\n\tmax: 1\n", "" },
	};
	struct jail_template_value v[16];
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i].yaml, v, err);

		if (r >= 0 || !strstr(err, bad[i].msg))
			fail_msg("case %zu (%s): r=%d err=%s", i, bad[i].yaml, r, err);
	}
}

static void test_nul_and_size(void **state)
{
	struct jail_template_value v[16];
	char err[256], big[70000];

	assert_int_equal(jail_template_parse("pids:\0\n", 7, v, 16, err, sizeof(err)), -EINVAL);
	memset(big, ' ', sizeof(big));
	assert_int_equal(jail_template_parse(big, sizeof(big), v, 16, err, sizeof(err)), -EFBIG);
}

static int files(const char *yaml, int version, struct jail_cgroup_value *out, char *err)
{
	struct jail_template_value v[16];
	int n = parse(yaml, v, err);

	assert_true(n >= 0);
	return jail_template_to_files(v, (size_t)n, version, out, 16, err, 256);
}

static void test_mapping(void **state)
{
	struct jail_cgroup_value out[16];
	char err[256];

	assert_int_equal(files("cpu:\n  quota_us: 50000\n  period_us: 100000\n", 2, out, err), 1);
	assert_string_equal(out[0].file, "cpu.max");
	assert_string_equal(out[0].value, "50000 100000");
	assert_int_equal(files("cpu:\n  max: \"max 200000\"\n", 1, out, err), 2);
	assert_string_equal(out[0].file, "cpu.cfs_period_us");
	assert_string_equal(out[0].value, "200000");
	assert_string_equal(out[1].value, "-1");
	assert_int_equal(files("memory:\n  limit: 1000\n  swap: 24\n", 1, out, err), 2);
	assert_string_equal(out[1].file, "memory.memsw.limit_in_bytes");
	assert_string_equal(out[1].value, "1024");
	assert_int_equal(files("memory:\n  limit: 1000\n  swap: 24\n", 2, out, err), 2);
	assert_string_equal(out[1].file, "memory.swap.max");
	assert_string_equal(out[1].value, "24");
	assert_int_equal(files("memory:\n  swap: 24\n", 1, out, err), -EINVAL);
	assert_non_null(strstr(err, "needs a numeric memory.limit"));
	assert_int_equal(files("cpu:\n  max: \"max 100000\"\n  quota_us: 5\n", 2, out, err), -EINVAL);
	assert_int_equal(files("memory:\n  limit: 9223372036854775807\n  swap: 1\n", 1, out, err), -EINVAL);
	/* cpuset first, whatever the order in the file */
	assert_int_equal(files("pids:\n  max: 3\ncpuset:\n  mems: \"0\"\n", 1, out, err), 2);
	assert_string_equal(out[0].file, "cpuset.mems");
	assert_int_equal(files("io:\n  weight: 100\n", 1, out, err), 1);
	assert_string_equal(out[0].file, "blkio.weight");
	assert_true(out[0].optional);
}

static void test_shipped(void **state)
{
	static const char *const names[] = { "small", "medium" };
	struct jail_cgroup_value out[JAIL_CGROUP_MAX];
	char err[256];

	for (size_t i = 0; i < 2; i++)
		for (int version = 1; version <= 2; version++) {
			int n = jail_template_load(names[i], TEST_TEMPLATE_DIR, version, out, JAIL_CGROUP_MAX, err,
						   sizeof(err));

			if (n < 5)
				fail_msg("%s v%d: %d %s", names[i], version, n, err);
			/* a shipped template pins no CPU: cpusets are the operator's to ask for */
			for (int j = 0; j < n; j++)
				if (strncmp(out[j].file, "cpuset.", 7) == 0)
					fail_msg("%s v%d pins %s", names[i], version, out[j].file);
		}
	assert_int_equal(jail_template_load("../etc/passwd", TEST_TEMPLATE_DIR, 1, out, JAIL_CGROUP_MAX, err,
					    sizeof(err)), -ENOENT);
	assert_int_equal(jail_template_load("Bad.Name", TEST_TEMPLATE_DIR, 1, out, JAIL_CGROUP_MAX, err,
					    sizeof(err)), -EINVAL);
	assert_int_equal(jail_template_load("/dev/null", TEST_TEMPLATE_DIR, 1, out, JAIL_CGROUP_MAX, err,
					    sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),    cmocka_unit_test(test_bad),     cmocka_unit_test(test_nul_and_size),
		cmocka_unit_test(test_mapping), cmocka_unit_test(test_shipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
