/* install.c in a child process: baseline and role filters, and the SIGSYS
 * report with exit code 148. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* The ASan runtime maps memory and switches signal stacks after the filter
 * is on (at _exit, for instance): sanitizer builds let those calls through. */
#if defined(EMBER_SANITIZE)
#define SANITIZER_RULES "    - {syscalls: [mmap, munmap, mprotect, madvise, sigaltstack], comment: sanitizer runtime, dangerous: 'the ASan and UBSan runtime maps and protects its own memory with any flags'}\n"
#else
#define SANITIZER_RULES ""
#endif

#include "seccomp/install.h"
#include "log.h"

static const char policy[] =
	"version: 1\narches: [x86_64]\ndefaults: {action: trap, bad_arch: kill_process}\n"
	"groups:\n  base:\n    - {syscalls: [write, pwritev2, exit_group], comment: report (pwritev2 on a pipe) and exit}\n" SANITIZER_RULES
	"startup:\n  rules:\n    - {syscall: seccomp, comment: stack the role filter,"
	" args: [{arg: 0, op: eq, value: SECCOMP_SET_MODE_FILTER}]}\n"
	"    - {syscall: getppid, comment: allowed before the role only}\n"
	"roles:\n  vmm: {use: [base]}\n  api: {use: [base]}\n"
	"  vcpu:\n    use: [base]\n    rules: [{syscall: getpid, comment: probe}]\n";

static void hook(void)
{
	(void)!write(log_get_fd(), "flushed\n", 8);
}

/* Runs the child and returns its exit status; its log goes to out. */
static int child_run(const char *path, char *out, size_t outlen)
{
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[600];

		close(fds[0]);
		log_set_fd(fds[1]);
		if (seccomp_filters_load(path, err, sizeof(err)) < 0)
			_exit(152);
		seccomp_set_flush_hook(hook);
		if (seccomp_install_baseline() < 0 || syscall(SYS_getppid) < 0)
			_exit(2);
		if (seccomp_install_role(SECCOMP_ROLE_VCPU) < 0)
			_exit(3);
		syscall(SYS_getpid);
		syscall(SYS_getppid); /* outside the vcpu role: SIGSYS */
		_exit(0);
	}
	close(fds[1]);
	for (size_t off = 0;; off += (size_t)n) {
		n = read(fds[0], out + off, outlen - 1 - off);
		if (n <= 0) {
			out[off] = '\0';
			break;
		}
	}
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

static void test_violation_exits_148(void **state)
{
	char path[] = "/tmp/ember-seccomp-test-XXXXXX", out[1024];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, policy, strlen(policy)), (ssize_t)strlen(policy));
	close(fd);
	assert_int_equal(child_run(path, out, sizeof(out)), 148);
	unlink(path);
	assert_non_null(strstr(out, "Shutting down VM after intercepting a bad syscall (110): getppid, in role vcpu.\n"));
	assert_non_null(strstr(out, "flushed\n"));
}

static void test_bad_policy_refused(void **state)
{
	char path[] = "/tmp/ember-seccomp-test-XXXXXX", out[1024];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "version: 2\n", 11), 11);
	close(fd);
	assert_int_equal(child_run(path, out, sizeof(out)), 152);
	unlink(path);
}

static void *thread_main(void *arg)
{
	return arg;
}

/* Under the built-in baseline: what a thread without its role yet can do
 * about new tasks. Reports on fd, then makes the one call that must trap. */
static _Noreturn void baseline_child(int fd)
{
	struct clone_args args = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };
	char err[600], line[128];
	void *back = NULL;
	pthread_t t;
	long r;
	int n;

	log_set_fd(fd);
	if (seccomp_filters_load(NULL, err, sizeof(err)) < 0 || seccomp_install_baseline() < 0)
		_exit(2);
	r = syscall(SYS_clone3, &args, sizeof(args));
	n = snprintf(line, sizeof(line), "clone3=%s\n", r < 0 ? strerrorname_np(errno) : "ok");
	(void)!write(fd, line, (size_t)n);
	r = pthread_create(&t, NULL, thread_main, line);
	if (r == 0)
		r = pthread_join(t, &back);
	n = snprintf(line, sizeof(line), "pthread=%s\n", r == 0 && back == line ? "ok" : strerror((int)r));
	(void)!write(fd, line, (size_t)n);
#if defined(EMBER_SANITIZE)
	_exit(0); /* the built-in policy is in log mode here: the clone below would succeed */
#endif
	syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	_exit(0);
}

static void test_default_baseline_threads(void **state)
{
	char out[2048];
	int fds[2], status;
	ssize_t n;
	size_t off = 0;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		baseline_child(fds[1]);
	}
	close(fds[1]);
	while ((n = read(fds[0], out + off, sizeof(out) - 1 - off)) > 0)
		off += (size_t)n;
	out[off] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_non_null(strstr(out, "clone3=ENOSYS\n"));
	assert_non_null(strstr(out, "pthread=ok\n"));
#if !defined(EMBER_SANITIZE)
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 148);
	assert_non_null(strstr(out, "intercepting a bad syscall (56): clone, in role "));
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_violation_exits_148),
		cmocka_unit_test(test_bad_policy_refused),
		cmocka_unit_test(test_default_baseline_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
