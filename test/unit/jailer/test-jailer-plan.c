/* argv → plan: required flags, duplicates, defaults, the chroot layout, the
 * VMM arguments, rlimits and --status-fd. Uses this test binary as the exec
 * file and a temporary directory as the chroot base; touches nothing else. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "jailer.h"

static char base[] = "/tmp/jailer-plan-XXXXXX";
static char exe[PATH_MAX];

static int build(struct jail_plan *p, char *err, ...)
{
	static char *argv[64] = { (char *)"jailer" }; /* the plan points into argv */
	int argc = 1;
	va_list ap;

	va_start(ap, err);
	for (char *a; argc < 63 && (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return jail_plan_build(argc, argv, p, err, 512);
}

#define STD "--id", "vm-1", "--exec-file", exe, "--uid", "123", "--gid", "100", "--chroot-base-dir", base

static int setup(void **state)
{
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0 || !mkdtemp(base))
		return -1;
	exe[n] = '\0';
	*state = calloc(1, sizeof(struct jail_plan));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	free(*state);
	return rmdir(base);
}

static void test_defaults(void **state)
{
	struct jail_plan *p = *state;
	char err[512], want[PATH_MAX + 64];
	int r = build(p, err, STD, "--", "--no-api", "--config-file", "/vm.json", NULL);

	if (r == -ENODEV)
		skip(); /* no /dev/kvm or /dev/net/tun on this host: the plan rightly refuses */
	assert_int_equal(r, 0);
	assert_string_equal(p->id, "vm-1");
	assert_string_equal(p->exec_name, "test-jailer-plan");
	snprintf(want, sizeof(want), "%s/test-jailer-plan/vm-1/root", base);
	assert_string_equal(p->chroot_dir, want);
	assert_string_equal(p->parent_cgroup, "test-jailer-plan");
	assert_int_equal(p->cgroup_version, 1);
	assert_int_equal(p->rlimit_nofile, JAIL_DEFAULT_NOFILE);
	assert_false(p->has_fsize);
	assert_int_equal(p->status_fd, -1);
	assert_int_equal(p->n_vmm_args, 3);
	assert_string_equal(p->vmm_args[2], "/vm.json");
	assert_int_equal(p->n_cgroups, 0);
	assert_true(p->n_nodes >= 2);
	assert_string_equal(p->nodes[0].path, "dev/kvm");
}

static void test_options(void **state)
{
	struct jail_plan *p = *state;
	char err[512];
	int fds[2];
	char fdnum[16];
	int r;

	assert_int_equal(pipe(fds), 0);
	snprintf(fdnum, sizeof(fdnum), "%d", fds[1]);
	r = build(p, err, STD, "--resource-limit", "fsize=1024", "--resource-limit", "no-file=64", "--status-fd", fdnum,
		  "--new-pid-ns", "--daemonize", "--new-user-ns", "--parent-cgroup", "a/b", NULL);
	close(fds[0]);
	close(fds[1]);
	if (r == -ENODEV)
		skip();
	assert_int_equal(r, 0);
	assert_true(p->has_fsize);
	assert_int_equal(p->rlimit_fsize, 1024);
	assert_int_equal(p->rlimit_nofile, 64);
	assert_int_equal(p->status_fd, fds[1]);
	assert_true(p->new_pid_ns && p->daemonize && p->new_user_ns && !p->new_ipc_ns);
	assert_string_equal(p->parent_cgroup, "a/b");
}

static void test_refusals(void **state)
{
	struct jail_plan *p = *state;
	char err[512], big[5000];

	assert_int_equal(build(p, err, "--id", "x", NULL), -EINVAL);
	assert_string_equal(err, "Missing argument: --exec-file");
	assert_int_equal(build(p, err, STD, "--id", "again", NULL), -EINVAL);
	assert_string_equal(err, "Argument --id given twice");
	assert_int_equal(build(p, err, STD, "--netns", NULL), -EINVAL);
	assert_string_equal(err, "Argument --netns needs a value");
	assert_int_equal(build(p, err, STD, "-id", NULL), -EINVAL);
	assert_int_equal(build(p, err, STD, "--cgroup", "tasks=1", NULL), -EINVAL);
	assert_int_equal(build(p, err, STD, "--cgroup", "pids.max", NULL), -EINVAL);
	assert_int_equal(build(p, err, STD, "--resource-limit", "fsize=1", "--resource-limit", "fsize=2", NULL), -EINVAL);
	assert_string_equal(err, "Resource limit given twice: fsize=2");
	assert_int_equal(build(p, err, STD, "--status-fd", "2", NULL), -EINVAL);
	assert_int_equal(build(p, err, STD, "--status-fd", "999", NULL), -EBADF);
	assert_int_equal(build(p, err, STD, "--cleanup", "--dry-run", NULL), -EINVAL);
	assert_int_equal(build(p, err, STD, "--cgroup-version", "2", "--cgroup-template", "nope", NULL), -ENOENT);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(build(p, err, STD, "--", big, NULL), -E2BIG);
	assert_int_equal(build(p, err, "--id", "x", "--exec-file", big, "--uid", "1", "--gid", "1", NULL), -ENAMETOOLONG);
}

/* --cleanup needs neither uid nor gid, nor an existing exec file. */
static void test_cleanup_plan(void **state)
{
	struct jail_plan *p = *state;
	char err[512];

	assert_int_equal(build(p, err, "--cleanup", "--id", "vm-1", "--exec-file", "/nonexistent/ember",
			       "--chroot-base-dir", base, NULL), 0);
	assert_true(p->cleanup);
	assert_string_equal(p->exec_name, "ember");
	assert_string_equal(p->parent_cgroup, "ember");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_cleanup_plan),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
