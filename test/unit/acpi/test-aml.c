/* The AML encoder, construct by construct, against the bytes iasl compiled
 * from the same ASL (test/data/acpi/aml/<name>.asl and .aml; compile.sh
 * regenerates them). The 36-byte table header is iasl's, the rest is the
 * encoder's to match. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "acpi/aml.h"

#define SDT_HEADER_LEN 36u

/* The body of test/data/acpi/aml/<name>.aml; the caller frees it. */
static uint8_t *load_aml(const char *name, size_t *ret_len)
{
	const char *dir = getenv("EMBER_TEST_DATA");
	char path[512];
	uint8_t *buf = malloc(65536);
	size_t n;
	FILE *f;

	assert_non_null(dir);
	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/acpi/aml/%s.aml", dir, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	n = fread(buf, 1, 65536, f);
	fclose(f);
	assert_true(n > SDT_HEADER_LEN);
	memmove(buf, buf + SDT_HEADER_LEN, n - SDT_HEADER_LEN);
	*ret_len = n - SDT_HEADER_LEN;
	return buf;
}

static void expect_iasl(struct aml *a, const char *name)
{
	size_t len;
	uint8_t *want = load_aml(name, &len);

	assert_int_equal(aml_finish(a), 0);
	if (a->len != len || memcmp(a->buf, want, len) != 0) {
		for (size_t i = 0; i < len && i < a->len; i++)
			if (a->buf[i] != want[i]) {
				print_message("%s: first difference at body offset %zu: 0x%02x, iasl 0x%02x\n", name,
					      i, a->buf[i], want[i]);
				break;
			}
		fail_msg("%s: %zu bytes encoded, iasl compiled %zu", name, a->len, len);
	}
	free(want);
	aml_free(a);
}

static void name_int(struct aml *a, const char *name, uint64_t v)
{
	aml_name(a, name);
	aml_integer(a, v);
}

static void test_names(void **state)
{
	struct aml a;

	aml_init(&a);
	name_int(&a, "I0", 0);
	name_int(&a, "\\I1", 1);
	aml_scope_begin(&a, "\\_SB");
	aml_device_begin(&a, "DEV0");
	name_int(&a, "_UID", 0);
	aml_end(&a);
	aml_end(&a);
	name_int(&a, "\\_SB.DEV0.ABC", 1);
	aml_scope_begin(&a, "\\_SB.DEV0");
	name_int(&a, "^PPP", 1);
	aml_end(&a);
	name_int(&a, "\\_SB.X", 1);
	expect_iasl(&a, "names");
}

static void test_integers(void **state)
{
	static const struct {
		const char *name;
		uint64_t v;
	} ints[] = {
		{ "IZ", 0 }, { "IO", 1 }, { "IB2", 2 }, { "IBF", 0xff }, { "IW1", 0x100 }, { "IWF", 0xffff },
		{ "ID1", 0x10000 }, { "IDF", 0xffffffff }, { "IQ1", 0x100000000 }, { "IQ", 0x123456789abcdef0 },
	};
	struct aml a;

	aml_init(&a);
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		name_int(&a, ints[i].name, ints[i].v);
	expect_iasl(&a, "integers");
}

static void test_strings(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_name(&a, "S0");
	aml_string(&a, "");
	aml_name(&a, "S1");
	aml_string(&a, "LNRO0005");
	aml_name(&a, "S2");
	aml_string(&a, "COM1");
	expect_iasl(&a, "strings");
}

static void test_eisa_id(void **state)
{
	static const char *const ids[][2] = {
		{ "E0", "PNP0501" }, { "E1", "PNP0303" }, { "E2", "PNP0A03" }, { "E3", "ACP0013" },
	};
	struct aml a;

	aml_init(&a);
	for (size_t i = 0; i < 4; i++) {
		aml_name(&a, ids[i][0]);
		aml_eisa_id(&a, ids[i][1]);
	}
	expect_iasl(&a, "eisaid");
}

static void test_device(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_scope_begin(&a, "\\_SB");
	aml_device_begin(&a, "COM1");
	aml_name(&a, "_HID");
	aml_eisa_id(&a, "PNP0501");
	name_int(&a, "_UID", 0);
	aml_name(&a, "_DDN");
	aml_string(&a, "COM1");
	aml_end(&a);
	aml_device_begin(&a, "V000");
	aml_name(&a, "_HID");
	aml_string(&a, "LNRO0005");
	name_int(&a, "_UID", 0);
	aml_end(&a);
	aml_end(&a);
	expect_iasl(&a, "device");
}

static void test_package(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_name(&a, "\\_S5");
	aml_package_begin(&a);
	aml_integer(&a, 5);
	aml_integer(&a, 0);
	aml_end(&a);
	aml_name(&a, "P0");
	aml_package_begin(&a);
	aml_end(&a);
	aml_name(&a, "P1");
	aml_package_begin(&a);
	aml_integer(&a, 1);
	aml_package_begin(&a);
	aml_integer(&a, 2);
	aml_string(&a, "x");
	aml_end(&a);
	aml_integer(&a, 0x1234);
	aml_eisa_id(&a, "PNP0303");
	aml_end(&a);
	expect_iasl(&a, "package");
}

static void package_of(struct aml *a, const char *name, unsigned n)
{
	aml_name(a, name);
	aml_package_begin(a);
	for (unsigned i = 0; i < n; i++)
		aml_integer(a, 0x2a);
	aml_end(a);
}

static void test_pkglength(void **state)
{
	struct aml a;
	char name[8];

	aml_init(&a);
	for (unsigned n = 29; n <= 32; n++) {
		snprintf(name, sizeof(name), "P%u", n);
		package_of(&a, name, n);
	}
	aml_scope_begin(&a, "\\_SB");
	for (unsigned i = 0; i < 9; i++) {
		snprintf(name, sizeof(name), "Q%03u", i);
		package_of(&a, name, 255);
	}
	aml_end(&a);
	expect_iasl(&a, "pkglength");
}

/* Past what iasl's tests here build: a 4-byte PkgLength (a body of 1 MiB),
 * checked against §20.2.4 directly. */
static void test_pkglength_four_bytes(void **state)
{
	struct aml a;
	size_t total;
	static char big[4096];

	memset(big, 'A', sizeof(big) - 1);
	aml_init(&a);
	aml_scope_begin(&a, "\\_SB");
	for (unsigned i = 0; i < 300; i++) {
		aml_name(&a, "S");
		aml_string(&a, big);
	}
	aml_end(&a);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.buf[0], 0x10);
	assert_int_equal(a.buf[1] >> 6, 3);
	total = (size_t)(a.buf[1] & 0xf) | (size_t)a.buf[2] << 4 | (size_t)a.buf[3] << 12 | (size_t)a.buf[4] << 20;
	assert_int_equal(total, a.len - 1);
	aml_free(&a);
}

static void test_resources(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_name(&a, "R0");
	aml_resource_template_begin(&a);
	aml_memory32_fixed(&a, true, 0xc0001000, 0x1000);
	aml_interrupt(&a, true, false, false, 5);
	aml_resource_template_end(&a);
	aml_name(&a, "R1");
	aml_resource_template_begin(&a);
	aml_io(&a, 0x60, 0x60, 1, 1);
	aml_io(&a, 0x64, 0x64, 1, 1);
	aml_irq_no_flags(&a, 1);
	aml_resource_template_end(&a);
	aml_name(&a, "R2");
	aml_resource_template_begin(&a);
	aml_memory32_fixed(&a, false, 0xfec00000, 0x100000);
	aml_io(&a, 0x3f8, 0x3f8, 1, 8);
	aml_irq_no_flags(&a, 15);
	aml_interrupt(&a, false, true, true, 23);
	aml_resource_template_end(&a);
	aml_name(&a, "R3");
	aml_resource_template_begin(&a);
	aml_resource_template_end(&a);
	expect_iasl(&a, "resources");
}

static void test_method(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_device_begin(&a, "PS2");
	aml_method_begin(&a, "_STA", 0, false);
	aml_return(&a);
	aml_integer(&a, 0x0f);
	aml_end(&a);
	aml_end(&a);
	aml_method_begin(&a, "M2", 2, true);
	aml_return(&a);
	aml_string(&a, "x");
	aml_end(&a);
	aml_method_begin(&a, "M7", 7, false);
	aml_return(&a);
	aml_package_begin(&a);
	aml_integer(&a, 1);
	aml_end(&a);
	aml_end(&a);
	expect_iasl(&a, "method");
}

/* If, LEqual, Arg0/Arg1 and Notify: the GED's _EVT. */
static void test_ged(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_scope_begin(&a, "\\_SB");
	aml_device_begin(&a, "VGEN");
	aml_name(&a, "_HID");
	aml_string(&a, "ACPI0013");
	aml_end(&a);
	aml_device_begin(&a, "GED");
	aml_name(&a, "_HID");
	aml_string(&a, "ACPI0013");
	aml_method_begin(&a, "MEVT", 2, true);
	aml_if_begin(&a);
	aml_lequal(&a);
	aml_arg(&a, 0);
	aml_integer(&a, 0x16);
	aml_notify(&a, "\\_SB.VGEN", 0x80);
	aml_end(&a);
	aml_if_begin(&a);
	aml_lequal(&a);
	aml_arg(&a, 0);
	aml_arg(&a, 1);
	aml_notify(&a, "\\_SB.VGEN", 1);
	aml_end(&a);
	aml_end(&a);
	aml_end(&a);
	aml_end(&a);
	expect_iasl(&a, "ged");
	aml_init(&a);
	aml_arg(&a, 7); /* Arg0..Arg6 only */
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
}

/* Bad input is refused, sticky, and the buffer stays bounded. */
static void test_errors(void **state)
{
	static const char *const bad_names[] = { "", "abcd", "TOOLONG", "A.", ".A", "1ABC", "A..B", "\\\\A", "A-B", "^" };
	struct aml a;

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		aml_init(&a);
		aml_name(&a, bad_names[i]);
		assert_int_equal(aml_finish(&a), -EINVAL);
		aml_free(&a);
	}
	aml_init(&a);
	aml_eisa_id(&a, "pnp0501");
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_eisa_id(&a, "PNP050G");
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_end(&a);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_scope_begin(&a, "\\_SB");
	assert_int_equal(aml_finish(&a), -EINVAL); /* left open */
	aml_free(&a);
	aml_init(&a);
	aml_irq_no_flags(&a, 16);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_method_begin(&a, "M8", 8, false);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
	aml_init(&a);
	for (unsigned i = 0; i <= AML_MAX_DEPTH; i++)
		aml_scope_begin(&a, "\\_SB");
	assert_int_equal(aml_finish(&a), -E2BIG);
	aml_free(&a);
	aml_init(&a);
	aml_package_begin(&a);
	for (unsigned i = 0; i < 256; i++)
		aml_integer(&a, 2);
	aml_end(&a);
	assert_int_equal(aml_finish(&a), -E2BIG);
	aml_free(&a);
	aml_init(&a);
	aml_string(&a, "\x80");
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
}

static void test_size_cap(void **state)
{
	static char big[4096];
	struct aml a;

	memset(big, 'A', sizeof(big) - 1);
	aml_init(&a);
	for (unsigned i = 0; i < AML_MAX_SIZE / sizeof(big) + 2; i++)
		aml_string(&a, big);
	assert_int_equal(aml_finish(&a), -E2BIG);
	assert_true(a.len <= AML_MAX_SIZE);
	aml_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),    cmocka_unit_test(test_integers),
		cmocka_unit_test(test_strings),  cmocka_unit_test(test_eisa_id),
		cmocka_unit_test(test_device),   cmocka_unit_test(test_package),
		cmocka_unit_test(test_pkglength), cmocka_unit_test(test_pkglength_four_bytes),
		cmocka_unit_test(test_resources), cmocka_unit_test(test_method),
		cmocka_unit_test(test_errors),   cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_ged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
