#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/boot/cmdline.h"

static char err[256];

static void test_default_when_absent(void **state)
{
	struct cmdline cl;

	assert_int_equal(cmdline_init(&cl, NULL, err, sizeof(err)), 0);
	assert_string_equal(cl.buf, "reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux "
				    "i8042.dumbkbd swiotlb=noforce");
	assert_int_equal(cmdline_size(&cl), strlen(cl.buf) + 1);
}

static void test_append_separates_with_one_space(void **state)
{
	struct cmdline cl;

	assert_int_equal(cmdline_init(&cl, "console=ttyS0", err, sizeof(err)), 0);
	assert_int_equal(cmdline_append(&cl, "virtio_mmio.device=4K@0xc0001000:5", err, sizeof(err)), 0);
	assert_string_equal(cl.buf, "console=ttyS0 virtio_mmio.device=4K@0xc0001000:5");
	assert_int_equal(cmdline_init(&cl, "", err, sizeof(err)), 0);
	assert_int_equal(cmdline_append(&cl, "a=b", err, sizeof(err)), 0);
	assert_string_equal(cl.buf, "a=b");
}

/* 2047 characters plus the NUL fill the 2048 bytes exactly. */
static void test_length_limit(void **state)
{
	char s[LAYOUT_CMDLINE_MAX + 1];
	struct cmdline cl;

	memset(s, 'x', sizeof(s));
	s[LAYOUT_CMDLINE_MAX - 1] = '\0';
	assert_int_equal(cmdline_init(&cl, s, err, sizeof(err)), 0);
	assert_int_equal(cmdline_size(&cl), LAYOUT_CMDLINE_MAX);
	assert_int_equal(cmdline_append(&cl, "y", err, sizeof(err)), -E2BIG);
	assert_int_equal(cl.len, LAYOUT_CMDLINE_MAX - 1); /* unchanged */
	assert_non_null(strstr(err, "too long"));

	s[LAYOUT_CMDLINE_MAX - 1] = 'x';
	s[LAYOUT_CMDLINE_MAX] = '\0';
	assert_int_equal(cmdline_init(&cl, s, err, sizeof(err)), -E2BIG);
	assert_int_equal(cmdline_validate(s, err, sizeof(err)), -E2BIG);
}

/* Appending: room for "x" needs len + 1 (space) + 1 + NUL <= 2048. */
static void test_append_at_the_limit(void **state)
{
	char s[LAYOUT_CMDLINE_MAX];
	struct cmdline cl;

	memset(s, 'x', sizeof(s));
	s[LAYOUT_CMDLINE_MAX - 3] = '\0'; /* 2045 chars */
	assert_int_equal(cmdline_init(&cl, s, err, sizeof(err)), 0);
	assert_int_equal(cmdline_append(&cl, "yz", err, sizeof(err)), -E2BIG);
	assert_int_equal(cmdline_append(&cl, "y", err, sizeof(err)), 0);
	assert_int_equal(cmdline_size(&cl), LAYOUT_CMDLINE_MAX);
	assert_int_equal(cl.buf[LAYOUT_CMDLINE_MAX - 2], 'y');
	assert_int_equal(cl.buf[LAYOUT_CMDLINE_MAX - 1], '\0');
}

static void test_rejects_bad_characters(void **state)
{
	struct cmdline cl;

	assert_int_equal(cmdline_init(&cl, "a\nb", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "non-printable"));
	assert_int_equal(cmdline_init(&cl, "caf\xc3\xa9", err, sizeof(err)), -EINVAL);
	assert_int_equal(cmdline_init(&cl, "ok", err, sizeof(err)), 0);
	assert_int_equal(cmdline_append(&cl, "tab\there", err, sizeof(err)), -EINVAL);
	assert_int_equal(cmdline_append(&cl, "", err, sizeof(err)), -EINVAL);
	assert_string_equal(cl.buf, "ok");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_when_absent),
		cmocka_unit_test(test_append_separates_with_one_space),
		cmocka_unit_test(test_length_limit),
		cmocka_unit_test(test_append_at_the_limit),
		cmocka_unit_test(test_rejects_bad_characters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
