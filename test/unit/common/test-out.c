/* common/out.c: writes that never block, on pipes, ptys, files and sockets,
 * without ever setting O_NONBLOCK on the caller's own description. */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "out.h"

static bool nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	assert_true(fl >= 0);
	return fl & O_NONBLOCK;
}

/* Writes chunks until the sink refuses; the bytes taken. The test would hang
 * here (and time out) if a write slept. */
static size_t fill(int fd, enum out_mode *mode, size_t chunk)
{
	static char buf[4096];
	size_t total = 0;

	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < 100000; i++) {
		ssize_t w = out_write(fd, mode, buf, chunk);

		if (w == -EAGAIN)
			return total;
		assert_true(w > 0);
		total += (size_t)w;
	}
	fail_msg("the sink never filled up");
	return total;
}

static void test_pipe_nowait(void **state)
{
	int p[2];
	struct out o;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	o = out_classify(p[1]);
	assert_int_equal(o.mode, OUT_NOWAIT);
	/* PIPE_BUF lines: each is taken whole or not at all */
	assert_int_equal(fill(p[1], &o.mode, 4096) % 4096, 0);
	assert_int_equal(o.mode, OUT_NOWAIT);
	assert_false(nonblock(p[1]));
	close(p[0]);
	close(p[1]);
}

static void test_socket_nowait(void **state)
{
	int sp[2];
	struct out o;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	o = out_classify(sp[0]);
	assert_int_equal(o.mode, OUT_NOWAIT);
	assert_true(fill(sp[0], &o.mode, 1000) > 0);
	assert_false(nonblock(sp[0]));
	close(sp[0]);
	close(sp[1]);
}

static void test_pty_polled(void **state)
{
	int m, s;
	struct out o;
	enum out_mode mode = OUT_NOWAIT;

	assert_int_equal(openpty(&m, &s, NULL, NULL, NULL), 0);
	o = out_classify(s);
	assert_int_equal(o.mode, OUT_POLL);
	/* 1-byte writes, as the UART makes them, and whole lines */
	assert_true(fill(s, &o.mode, 1) > 0);
	assert_int_equal(o.mode, OUT_POLL);
	assert_int_equal(fill(s, &o.mode, 200), 0);
	/* A terminal refuses RWF_NOWAIT: the write falls back to polling. */
	assert_int_equal(out_write(s, &mode, "x", 1), -EAGAIN);
	assert_int_equal(mode, OUT_POLL);
	assert_false(nonblock(s));
	close(m);
	close(s);
}

static void test_regular_file_plain(void **state)
{
	char path[] = "/tmp/test-out-XXXXXX";
	int fd = mkstemp(path);
	struct out o;

	assert_true(fd >= 0);
	unlink(path);
	o = out_classify(fd);
	assert_int_equal(o.mode, OUT_PLAIN);
	assert_int_equal(out_write(fd, &o.mode, "line\n", 5), 5);
	assert_int_equal(out_write(fd, &o.mode, "", 0), 0);
	close(fd);
}

static void test_closed_reader_is_an_error(void **state)
{
	int p[2];
	struct out o;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	close(p[0]);
	o = out_classify(p[1]);
	assert_int_equal(out_write(p[1], &o.mode, "x", 1), -EPIPE);
	close(p[1]);
}

/* stdout a pty: ember writes through its own description of it, and the
 * caller's (shared) description keeps its flags. */
static void test_stdout_pty_reopened_privately(void **state)
{
	int m, s, saved = dup(STDOUT_FILENO);
	struct out o;
	char buf[64];

	assert_true(saved >= 0);
	assert_int_equal(openpty(&m, &s, NULL, NULL, NULL), 0);
	assert_int_equal(dup2(s, STDOUT_FILENO), STDOUT_FILENO);
	assert_int_equal(out_stdout_prepare(), 0);
	o = out_get(STDOUT_FILENO);
	if (o.fd == STDOUT_FILENO) {
		/* no /proc here: polled writes on the shared description */
		assert_int_equal(o.mode, OUT_POLL);
	} else {
		assert_int_equal(o.mode, OUT_PLAIN);
		assert_true(out_is_private(o.fd));
		assert_true(nonblock(o.fd));
		assert_true(fcntl(o.fd, F_GETFD) & FD_CLOEXEC);
		assert_int_equal(out_write(o.fd, &o.mode, "hi", 2), 2);
		assert_int_equal(read(m, buf, sizeof(buf)), 2);
		assert_true(fill(o.fd, &o.mode, 200) > 0);
	}
	assert_false(nonblock(STDOUT_FILENO));
	assert_false(nonblock(s));
	assert_int_equal(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
	assert_int_equal(out_stdout_prepare(), 0); /* the test's own stdout again */
	close(saved);
	close(m);
	close(s);
}

/* The logger drops and counts a line the sink cannot take now. */
static void test_log_full_pipe_counts(void **state)
{
	int p[2];
	uint64_t before;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	log_set_fd(p[1]);
	while (log_emit("0123456789abcdef0123456789abcdef\n", 33))
		;
	before = log_missed_count();
	log_error("dropped");
	log_error("dropped too");
	assert_int_equal(log_missed_count() - before, 2);
	assert_false(nonblock(p[1]));
	log_set_fd(STDOUT_FILENO);
	close(p[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipe_nowait),
		cmocka_unit_test(test_socket_nowait),
		cmocka_unit_test(test_pty_polled),
		cmocka_unit_test(test_regular_file_plain),
		cmocka_unit_test(test_closed_reader_is_an_error),
		cmocka_unit_test(test_stdout_pty_reopened_privately),
		cmocka_unit_test(test_log_full_pipe_counts),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
