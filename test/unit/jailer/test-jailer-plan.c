/* argv → plan: required flags, duplicates, defaults, the chroot layout, the
 * VMM arguments, rlimits and --status-fd. The exec file is a minimal static
 * ELF header written into a temporary directory, which is also the chroot
 * base; nothing else is touched. */
#include <elf.h>
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
	struct jail_early early;
	int argc = 1;
	va_list ap;

	va_start(ap, err);
	for (char *a; argc < 63 && (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return jail_plan_build(argc, argv, p, &early, err, 512);
}

#define STD "--id", "vm-1", "--exec-file", exe, "--uid", "123", "--gid", "100", "--chroot-base-dir", base

/* An ELF header and one PT_LOAD: enough for the planner's static-ELF check. */
static int write_static_elf(const char *path)
{
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
	} img = { 0 };
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	ssize_t n;

	if (fd < 0)
		return -1;
	memcpy(img.eh.e_ident, ELFMAG, SELFMAG);
	img.eh.e_ident[EI_CLASS] = ELFCLASS64;
	img.eh.e_type = ET_EXEC;
	img.eh.e_phoff = sizeof(img.eh);
	img.eh.e_phentsize = sizeof(Elf64_Phdr);
	img.eh.e_phnum = 1;
	img.ph.p_type = PT_LOAD;
	n = write(fd, &img, sizeof(img));
	close(fd);
	return n == (ssize_t)sizeof(img) ? 0 : -1;
}

static int setup(void **state)
{
	if (!mkdtemp(base))
		return -1;
	snprintf(exe, sizeof(exe), "%s/test-jailer-plan", base);
	if (write_static_elf(exe) < 0)
		return -1;
	*state = calloc(1, sizeof(struct jail_plan));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	free(*state);
	unlink(exe);
	return rmdir(base);
}

/* This test program itself is dynamically linked: refused as an exec file. */
static void test_dynamic_refused(void **state)
{
	struct jail_plan *p = *state;
	char err[512], self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	assert_true(n > 0);
	self[n] = '\0';
	err[0] = '\0';
	{
		char *argv[] = { (char *)"jailer", (char *)"--id", (char *)"x", (char *)"--exec-file", self,
				 (char *)"--uid", (char *)"1", (char *)"--gid", (char *)"1", NULL };

		struct jail_early early;

		assert_int_equal(jail_plan_build(9, argv, p, &early, err, sizeof(err)), -ENOEXEC);
	}
	assert_non_null(strstr(err, "is dynamically linked"));
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
	/* The cgroups come from the jail's manifest, not from flags. */
	assert_string_equal(p->parent_cgroup, "");
	assert_int_equal(p->n_hier, 0);
	/* An exec name unfit as a parent cgroup does not stop a cleanup. */
	assert_int_equal(build(p, err, "--cleanup", "--id", "vm-1", "--exec-file", "/nonexistent/em%ber",
			       "--chroot-base-dir", base, NULL), 0);
	assert_string_equal(p->exec_name, "em%ber");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_cleanup_plan),
		cmocka_unit_test(test_dynamic_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
