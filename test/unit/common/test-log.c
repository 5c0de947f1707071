#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

static void test_level_names(void **state)
{
	enum log_level l;

	assert_int_equal(log_level_parse("warning", &l), 0);
	assert_int_equal(l, LOG_WARNING);
	assert_int_equal(log_level_parse("WARN", &l), 0);
	assert_int_equal(l, LOG_WARNING);
	assert_int_equal(log_level_parse("Trace", &l), 0);
	assert_int_equal(l, LOG_TRACE);
	assert_int_equal(log_level_parse("off", &l), 0);
	assert_int_equal(l, LOG_OFF);
	assert_int_equal(log_level_parse("verbose", &l), -EINVAL);
	assert_int_equal(log_level_parse("", &l), -EINVAL);
}

static void read_line(int fd, char *buf, size_t len)
{
	ssize_t n = read(fd, buf, len - 1);

	assert_true(n > 0);
	buf[n] = '\0';
}

static void test_line_format(void **state)
{
	int p[2];
	char buf[512];

	assert_int_equal(pipe(p), 0);
	log_set_fd(p[1]);
	log_set_instance_id("vm-7");
	log_set_thread_name("vmm");
	log_set_level(LOG_INFO);
	log_set_show_level(true);
	log_set_show_origin(true);
	log_info("hello %d", 42);
	read_line(p[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, " [vm-7:vmm:INFO:"));
	assert_non_null(strstr(buf, "test-log.c:"));
	assert_non_null(strstr(buf, "] hello 42\n"));
	assert_int_equal(buf[4], '-'); /* RFC 3339 date first */

	log_set_show_level(false);
	log_set_show_origin(false);
	log_debug("filtered out");
	log_warn("w");
	read_line(p[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, " [vm-7:vmm] w\n"));
	log_set_fd(STDOUT_FILENO);
	close(p[0]);
}

static void test_rate_limit(void **state)
{
	int p[2];
	uint64_t before = log_rate_limited_count();

	assert_int_equal(pipe(p), 0);
	log_set_fd(p[1]);
	for (int i = 0; i < 25; i++)
		log_rl(LOG_ERROR, "guest did something %d", i);
	assert_int_equal(log_rate_limited_count() - before, 25 - LOG_RL_BURST);
	log_set_fd(STDOUT_FILENO);
	close(p[0]);
}

/* What a site suppressed is reported at exit (flush all), once. */
static void test_rate_limit_summary_at_flush(void **state)
{
	int p[2];
	char buf[8192];
	ssize_t n;

	log_ratelimit_flush(true); /* what earlier tests left */
	assert_int_equal(pipe(p), 0);
	log_set_fd(p[1]);
	log_set_show_origin(false);
	for (int i = 0; i < LOG_RL_BURST + 7; i++)
		log_rl(LOG_ERROR, "flood %d", i);
	log_ratelimit_flush(true);
	log_ratelimit_flush(true); /* nothing new: no second summary */
	n = read(p[0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "] 7 messages from this site were suppressed"));
	assert_null(strstr(strstr(buf, "suppressed") + 1, "suppressed"));
	log_set_fd(STDOUT_FILENO);
	close(p[0]);
}

/* A site with its own budget. */
static void test_rate_limit_own_budget(void **state)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(64);
	int allowed = 0;

	for (int i = 0; i < 100; i++)
		allowed += log_ratelimit_allow(&rl, __FILE__, __LINE__);
	assert_int_equal(allowed, 64);
}

/* The fatal-signal line has the normal line's shape. */
static void test_signal_safe_line(void **state)
{
	int p[2];
	char normal[512], safe[512];

	assert_int_equal(pipe(p), 0);
	log_set_fd(p[1]);
	log_set_instance_id("vm-9");
	log_set_thread_name("vcpu0");
	log_set_show_level(true);
	log_set_show_origin(false);
	log_error("x %d y %d.", 7, 150);
	read_line(p[0], normal, sizeof(normal));
	log_signal_safe_error("x %d y %d.", 7, 150);
	read_line(p[0], safe, sizeof(safe));
	assert_string_equal(strchr(safe, ' '), strchr(normal, ' '));
	assert_int_equal(strlen(safe), strlen(normal));
	assert_memory_equal(safe, normal, 14); /* same date and hour (unless the hour turned) */
	assert_int_equal(safe[10], 'T');
	assert_int_equal(safe[19], '.');
	log_set_show_level(false);
	log_set_fd(STDOUT_FILENO);
	close(p[0]);
}

static void test_missed_lines_are_counted(void **state)
{
	int p[2];
	uint64_t before = log_missed_count();

	assert_int_equal(pipe(p), 0);
	close(p[0]);
	log_set_fd(p[1]); /* writes now fail with EPIPE (SIGPIPE is ignored below) */
	log_error("lost");
	assert_int_equal(log_missed_count() - before, 1);
	log_set_fd(STDOUT_FILENO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_names),
		cmocka_unit_test(test_line_format),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_rate_limit_summary_at_flush),
		cmocka_unit_test(test_rate_limit_own_budget),
		cmocka_unit_test(test_signal_safe_line),
		cmocka_unit_test(test_missed_lines_are_counted),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
