/* json_field_enum, the one parser of serde unit-variant enums: the index of
 * the variant, absent and null, and serde's wording for one, two and more
 * variants. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "config/json_field.h"

#define DESER "An error occurred when deserializing the json body of a request: "

static int parse(const char *json, bool required, const char *const *variants, int *ret, char *err, size_t len)
{
	json_t *j = json_loads(json, 0, NULL);
	int r;

	assert_non_null(j);
	r = json_field_enum(j, "k", required, variants, ret, err, len);
	json_decref(j);
	return r;
}

static void test_enum_values(void **state)
{
	static const char *const v3[] = { "Paused", "Resumed", "Stopped", NULL };
	char err[256];
	int got = -1;

	assert_int_equal(parse("{\"k\": \"Resumed\"}", true, v3, &got, err, sizeof(err)), 1);
	assert_int_equal(got, 1);
	got = -1;
	assert_int_equal(parse("{}", false, v3, &got, err, sizeof(err)), 0);
	assert_int_equal(parse("{\"k\": null}", false, v3, &got, err, sizeof(err)), 0);
	assert_int_equal(got, -1); /* written only on success */
	assert_int_equal(parse("{}", true, v3, &got, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, DESER "missing field `k`.");
	assert_int_equal(parse("{\"k\": 3}", true, v3, &got, err, sizeof(err)), -EINVAL);
	assert_int_equal(parse("{\"k\": \"paused\"}", true, v3, &got, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, DESER "unknown variant `paused`, expected one of `Paused`, `Resumed`, `Stopped`.");
}

static void test_enum_wording(void **state)
{
	static const char *const v1[] = { "Only", NULL };
	static const char *const v2[] = { "Sync", "Async", NULL };
	char err[256];
	int got;

	assert_int_equal(parse("{\"k\": \"x\"}", true, v1, &got, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, DESER "unknown variant `x`, expected `Only`.");
	assert_int_equal(parse("{\"k\": \"Uring\"}", true, v2, &got, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, DESER "unknown variant `Uring`, expected `Sync` or `Async`.");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enum_values),
		cmocka_unit_test(test_enum_wording),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
