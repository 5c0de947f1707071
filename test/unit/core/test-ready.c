/* ember's readiness report (vmm/ready.c): one line on EMBER_READY_FD, then
 * the fd is closed; nothing without the variable or with a non-pipe. */
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

#include "log.h"
#include "ready.h"

/* Points EMBER_READY_FD at a fresh pipe and takes it; returns the read end. */
static int ready_pipe(void)
{
	int fds[2];
	char num[16];

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	snprintf(num, sizeof(num), "%d", fds[1]);
	setenv("EMBER_READY_FD", num, 1);
	ready_init();
	assert_null(getenv("EMBER_READY_FD"));
	return fds[0];
}

/* Everything the read end gets until EOF (the write end must be closed). */
static void assert_pipe_says(int rfd, const char *want)
{
	char buf[1024];
	ssize_t n, got = 0;

	while ((n = read(rfd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	assert_true(n == 0);
	buf[got] = '\0';
	assert_string_equal(buf, want);
	close(rfd);
}

static void test_ready_once(void **state)
{
	int rfd = ready_pipe();

	ready_signal();
	ready_fail(1, "too late", 8); /* after ready: nothing */
	assert_int_equal(ready_exit(152), 152);
	assert_pipe_says(rfd, "ready\n");
}

static void test_failed_with_message(void **state)
{
	int rfd = ready_pipe();

	ready_fail(152, "Configuration failed\nsecond line", 33);
	ready_signal(); /* after failed: nothing */
	assert_pipe_says(rfd, "failed 152 Configuration failed\n");
}

static void test_failed_with_the_last_error_logged(void **state)
{
	int rfd = ready_pipe();

	log_set_fd(open("/dev/null", O_WRONLY | O_CLOEXEC));
	log_error("Seccomp error: %s", "a bad policy");
	log_warn("not an error");
	assert_int_equal(ready_exit(152), 152);
	assert_pipe_says(rfd, "failed 152 Seccomp error: a bad policy\n");
}

static void test_failed_signal(void **state)
{
	int rfd = ready_pipe();

	ready_fail_signal(11, 150);
	assert_pipe_says(rfd, "failed 150 Shutting down VM after intercepting signal 11\n");
}

static void test_not_a_pipe_is_ignored(void **state)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	char num[16];

	snprintf(num, sizeof(num), "%d", fd);
	setenv("EMBER_READY_FD", num, 1);
	ready_init();
	ready_signal();
	/* Still open: ready_init did not take it. */
	assert_int_equal(fcntl(fd, F_GETFD) >= 0, 1);
	close(fd);
	setenv("EMBER_READY_FD", "1", 1); /* stdout is never taken */
	ready_init();
	ready_signal();
	assert_int_equal(fcntl(1, F_GETFD) >= 0, 1);
	unsetenv("EMBER_READY_FD");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ready_once),
		cmocka_unit_test(test_failed_with_message),
		cmocka_unit_test(test_failed_with_the_last_error_logged),
		cmocka_unit_test(test_failed_signal),
		cmocka_unit_test(test_not_a_pipe_is_ignored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
