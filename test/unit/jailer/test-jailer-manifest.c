/* The jail manifest: what jail_manifest_write() makes parses back to the
 * same, and a manifest that could steer --cleanup outside the jail is refused. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fd.h"
#include "jailer.h"

#define GOOD_HEAD "{\"version\": 1, \"id\": \"vm1\", \"exec_name\": \"ember\", \"id_dir\": {\"existed\": false}, " \
		  "\"pid_file\": \"root/ember.pid\", "
#define GOOD_ENTRIES "\"entries\": [{\"path\": \"root\", \"kind\": \"dir\", \"existed\": true, \"uid\": 0, " \
		     "\"gid\": 0, \"mode\": 488}, {\"path\": \"root/ember\", \"kind\": \"file\", \"existed\": false}], "
#define GOOD_CGROUPS "\"cgroups\": [{\"mount\": \"/sys/fs/cgroup/pids\", \"levels\": [{\"path\": \"ember\", " \
		     "\"existed\": true}, {\"path\": \"ember/vm1\", \"existed\": false}]}]}"

static struct jail_manifest *parse(const char *text, int *ret)
{
	struct jail_manifest *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	*ret = jail_manifest_parse(text, strlen(text), m);
	return m;
}

static void test_good(void **state)
{
	int r;
	struct jail_manifest *m = parse(GOOD_HEAD GOOD_ENTRIES GOOD_CGROUPS, &r);

	assert_int_equal(r, 0);
	assert_string_equal(m->id, "vm1");
	assert_int_equal(m->n_entries, 2);
	assert_true(m->entries[0].existed);
	assert_int_equal(m->entries[0].mode, 0750);
	assert_int_equal(m->entries[1].kind, JAIL_ENTRY_FILE);
	assert_int_equal(m->cgroups[0].n_levels, 2);
	assert_true(m->cgroups[0].existed[0]);
	assert_string_equal(m->cgroups[0].levels[1], "ember/vm1");
	free(m);
}

/* A file name is bytes: stored percent-encoded, read back as it was. */
static void test_escaped_names(void **state)
{
	int r;
	struct jail_manifest *m = parse("{\"version\": 1, \"id\": \"vm1\", \"exec_name\": \"a%C3b%25\", "
					"\"id_dir\": {\"existed\": false}, \"pid_file\": \"root/a%C3b%25.pid\", "
					"\"entries\": [{\"path\": \"root/a%C3b%25\", \"kind\": \"file\", \"existed\": false}], "
					"\"cgroups\": []}", &r);

	assert_int_equal(r, 0);
	assert_string_equal(m->exec_name, "a\xc3" "b%");
	assert_string_equal(m->pid_file, "root/a\xc3" "b%.pid");
	assert_string_equal(m->entries[0].path, "root/a\xc3" "b%");
	free(m);
}

/* Written to a file and read back through jail_manifest_read(). */
static void test_round_trip(void **state)
{
	char dir[] = "/tmp/test-manifest-XXXXXX", err[256];
	struct jail_manifest *a, *b = calloc(1, sizeof(*b));
	int r, fd;

	a = parse(GOOD_HEAD GOOD_ENTRIES GOOD_CGROUPS, &r);
	assert_int_equal(r, 0);
	assert_non_null(mkdtemp(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(jail_manifest_write(fd, JAIL_MANIFEST, a), 0);
	assert_int_equal(jail_manifest_write(fd, JAIL_MANIFEST, a), -EEXIST); /* never over an existing one */
	if (geteuid() == 0) { /* the reader wants root's file */
		assert_int_equal(jail_manifest_read(fd, dir, b, err, sizeof(err)), 0);
		assert_memory_equal(a, b, sizeof(*a));
	}
	unlinkat(fd, JAIL_MANIFEST, 0);
	close(fd);
	rmdir(dir);
	free(a);
	free(b);
}

static void test_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		GOOD_HEAD GOOD_ENTRIES GOOD_CGROUPS "x",
		/* an entry outside root, or two levels down, or a dot name */
		GOOD_HEAD "\"entries\": [{\"path\": \"etc\", \"kind\": \"dir\", \"existed\": false}], " GOOD_CGROUPS,
		GOOD_HEAD "\"entries\": [{\"path\": \"root/..\", \"kind\": \"dir\", \"existed\": false}], " GOOD_CGROUPS,
		GOOD_HEAD "\"entries\": [{\"path\": \"root/a/b\", \"kind\": \"dir\", \"existed\": false}], " GOOD_CGROUPS,
		GOOD_HEAD "\"entries\": [{\"path\": \"root/\", \"kind\": \"dir\", \"existed\": false}], " GOOD_CGROUPS,
		GOOD_HEAD "\"entries\": [{\"path\": \"root/x\\n\", \"kind\": \"file\", \"existed\": false}], " GOOD_CGROUPS,
		/* an unknown kind or key; owner fields on a jailer-made entry; a mode beyond 07777 */
		GOOD_HEAD "\"entries\": [{\"path\": \"root/x\", \"kind\": \"link\", \"existed\": false}], " GOOD_CGROUPS,
		GOOD_HEAD "\"entries\": [{\"path\": \"root/x\", \"kind\": \"file\", \"existed\": false, \"y\": 1}], " GOOD_CGROUPS,
		GOOD_HEAD "\"entries\": [{\"path\": \"root/x\", \"kind\": \"file\", \"existed\": false, \"uid\": 1, \"gid\": 1, "
			  "\"mode\": 1}], " GOOD_CGROUPS,
		GOOD_HEAD "\"entries\": [{\"path\": \"root\", \"kind\": \"dir\", \"existed\": true, \"uid\": 0, \"gid\": 0, "
			  "\"mode\": 4096}], " GOOD_CGROUPS,
		/* cgroup levels: traversal, absolute, not ending in the id, a relative mount */
		GOOD_HEAD GOOD_ENTRIES "\"cgroups\": [{\"mount\": \"/m\", \"levels\": [{\"path\": \"../vm1\", \"existed\": false}]}]}",
		GOOD_HEAD GOOD_ENTRIES "\"cgroups\": [{\"mount\": \"/m\", \"levels\": [{\"path\": \"/a/vm1\", \"existed\": false}]}]}",
		GOOD_HEAD GOOD_ENTRIES "\"cgroups\": [{\"mount\": \"/m\", \"levels\": [{\"path\": \"a/vm2\", \"existed\": false}]}]}",
		GOOD_HEAD GOOD_ENTRIES "\"cgroups\": [{\"mount\": \"m\", \"levels\": [{\"path\": \"a/vm1\", \"existed\": false}]}]}",
		GOOD_HEAD GOOD_ENTRIES "\"cgroups\": [{\"mount\": \"/m\", \"levels\": []}]}",
		/* a duplicate key, a wrong version, a bad id */
		"{\"version\": 1, \"version\": 1, \"id\": \"vm1\", \"exec_name\": \"ember\", \"id_dir\": {\"existed\": false}, "
		"\"pid_file\": \"root/ember.pid\", " GOOD_ENTRIES GOOD_CGROUPS,
		"{\"version\": 2, \"id\": \"vm1\", \"exec_name\": \"ember\", \"id_dir\": {\"existed\": false}, "
		"\"pid_file\": \"root/ember.pid\", " GOOD_ENTRIES GOOD_CGROUPS,
		"{\"version\": 1, \"id\": \"../x\", \"exec_name\": \"ember\", \"id_dir\": {\"existed\": false}, "
		"\"pid_file\": \"root/ember.pid\", " GOOD_ENTRIES GOOD_CGROUPS,
		"{\"version\": 1, \"id\": \"vm1\", \"exec_name\": \"ember\", \"id_dir\": {\"existed\": false}, "
		"\"pid_file\": \"root\", " GOOD_ENTRIES GOOD_CGROUPS,
		/* percent-encoding: a NUL, bad hex, a '/' or a control character smuggled in */
		GOOD_HEAD "\"entries\": [{\"path\": \"root/a%00\", \"kind\": \"file\", \"existed\": false}], " GOOD_CGROUPS,
		GOOD_HEAD "\"entries\": [{\"path\": \"root/a%zz\", \"kind\": \"file\", \"existed\": false}], " GOOD_CGROUPS,
		GOOD_HEAD "\"entries\": [{\"path\": \"root/a%2Fb\", \"kind\": \"file\", \"existed\": false}], " GOOD_CGROUPS,
		GOOD_HEAD "\"entries\": [{\"path\": \"root%2F..\", \"kind\": \"file\", \"existed\": false}], " GOOD_CGROUPS,
		GOOD_HEAD "\"entries\": [{\"path\": \"root/a%0A\", \"kind\": \"file\", \"existed\": false}], " GOOD_CGROUPS,
		GOOD_HEAD "\"entries\": [{\"path\": \"root/a%2\", \"kind\": \"file\", \"existed\": false}], " GOOD_CGROUPS,
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r;
		struct jail_manifest *m = parse(bad[i], &r);

		if (r >= 0)
			fail_msg("accepted #%zu: %s", i, bad[i]);
		free(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_escaped_names),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
