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

#include "config/boot_source.h"

static char err[1024];
static char dir[64], kernel[128], initrd[128];

static int setup(void **state)
{
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/ember-test-bs-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", dir);
	snprintf(initrd, sizeof(initrd), "%s/initrd", dir);
	fd = open(kernel, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	fd = open(initrd, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(kernel);
	unlink(initrd);
	rmdir(dir);
	return 0;
}

__attribute__((format(printf, 2, 3))) static int parse_fmt(struct boot_source *bs, const char *fmt, ...)
{
	char text[2048];
	json_error_t jerr;
	json_t *j;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	j = json_loads(text, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr); /* so the validator sees the NUL */
	assert_non_null(j);
	err[0] = '\0';
	r = boot_source_parse(j, bs, err, sizeof(err));
	json_decref(j);
	return r;
}

static struct boot_source empty(void)
{
	return (struct boot_source){ .kernel_fd = -1, .initrd_fd = -1 };
}

static void test_valid(void **state)
{
	struct boot_source bs = empty();

	assert_int_equal(parse_fmt(&bs, "{\"kernel_image_path\": \"%s\"}", kernel), 0);
	assert_true(bs.configured);
	assert_true(bs.kernel_fd >= 0);
	assert_true(fcntl(bs.kernel_fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(bs.initrd_fd, -1);
	assert_null(bs.boot_args);
	assert_int_equal(parse_fmt(&bs, "{\"kernel_image_path\": \"%s\", \"initrd_path\": \"%s\", "
				   "\"boot_args\": \"console=ttyS0\"}", kernel, initrd), 0);
	assert_true(bs.initrd_fd >= 0);
	assert_string_equal(bs.boot_args, "console=ttyS0");
	assert_string_equal(bs.initrd_path, initrd);
	boot_source_clear(&bs);
	assert_false(bs.configured);
}

static void check_error(struct boot_source *bs, const char *want)
{
	if (strcmp(err, want) != 0)
		fail_msg("got:  %s\nwant: %s", err, want);
	assert_false(bs->configured);
	assert_int_equal(bs->kernel_fd, -1);
}

/* A macro so that the format literal stays visible to -Wformat. */
#define expect_error(want, fmt, arg)                                                               \
	do {                                                                                       \
		struct boot_source bs = empty();                                                   \
		assert_true(parse_fmt(&bs, fmt, arg) < 0);                                         \
		check_error(&bs, want);                                                            \
	} while (0)

static void test_errors(void **state)
{
	char want[512];

	/* The message names the file (issue 24). */
	snprintf(want, sizeof(want), "Boot source error: The kernel file cannot be opened: %s/none: No such file or "
		 "directory (os error 2)", dir);
	expect_error(want, "{\"kernel_image_path\": \"%s/none\"}", dir);
	snprintf(want, sizeof(want), "Boot source error: The kernel file cannot be opened: %s: Is a directory "
		 "(os error 21)", dir);
	expect_error(want, "{\"kernel_image_path\": \"%s\"}", dir);
	expect_error("An error occurred when deserializing the json body of a request: missing field "
		     "`kernel_image_path`.", "{\"boot_args\": \"%s\"}", "x");
	expect_error("An error occurred when deserializing the json body of a request: unknown field `kernel`, "
		     "expected one of `kernel_image_path`, `initrd_path`, `boot_args`.",
		     "{\"kernel\": \"%s\"}", kernel);
	expect_error("An error occurred when deserializing the json body of a request: invalid type: integer `5`, "
		     "expected a string for field `boot_args`.", "{\"kernel_image_path\": \"%s\", \"boot_args\": 5}", kernel);
	expect_error("An error occurred when deserializing the json body of a request: invalid type: boolean "
		     "`true`, expected a string for field `kernel_image_path`.", "{\"kernel_image_path\": %s}", "true");
	expect_error("An error occurred when deserializing the json body of a request: invalid type: sequence, "
		     "expected a string for field `initrd_path`.", "{\"kernel_image_path\": \"%s\", \"initrd_path\": []}", kernel);
	expect_error("An error occurred when deserializing the json body of a request: invalid type: string "
		     "\"x\", expected struct BootSource.", "%s", "\"x\"");
	expect_error("Boot source error: The kernel command line is invalid: String contains a non-printable ASCII "
		     "character (byte 1)", "{\"kernel_image_path\": \"%s\", \"boot_args\": \"a\\nb\"}", kernel);
	expect_error("An error occurred when deserializing the json body of a request: invalid value: string with "
		     "a NUL byte in `kernel_image_path`.", "{\"kernel_image_path\": \"%s\\u0000x\"}", kernel);
}

static void test_initrd_error_keeps_old_value(void **state)
{
	struct boot_source bs = empty();
	char want[256];

	assert_int_equal(parse_fmt(&bs, "{\"kernel_image_path\": \"%s\"}", kernel), 0);
	assert_true(parse_fmt(&bs, "{\"kernel_image_path\": \"%s\", \"initrd_path\": \"/nonexistent/initrd\"}",
			      kernel) < 0);
	snprintf(want, sizeof(want), "Boot source error: The initrd file cannot be opened due to invalid path or "
		 "invalid permissions. /nonexistent/initrd: No such file or directory (os error 2)");
	assert_string_equal(err, want);
	assert_true(bs.configured); /* the earlier PUT still stands */
	assert_string_equal(bs.kernel_image_path, kernel);
	boot_source_clear(&bs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_initrd_error_keeps_old_value),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
