#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mmds/store.h"

static json_t *j(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
	if (!v)
		fail_msg("bad test JSON %s: %s", text, e.text);
	return v;
}

static void check_patch(const char *target, const char *patch, const char *want)
{
	json_t *t = j(target), *p = j(patch), *w = j(want);
	json_t *got = json_merge_patch(t, p);
	char *dump = json_dumps(got, JSON_ENCODE_ANY | JSON_SORT_KEYS | JSON_COMPACT);

	if (!json_equal(got, w))
		fail_msg("merge(%s, %s) = %s, want %s", target, patch, dump, want);
	free(dump);
	json_decref(t);
	json_decref(p);
	json_decref(w);
	json_decref(got);
}

/* RFC 7396, Appendix A: every example, in order. */
static void test_rfc7396_appendix(void **state)
{
	check_patch("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
	check_patch("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
	check_patch("{\"a\":\"b\"}", "{\"a\":null}", "{}");
	check_patch("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
	check_patch("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
	check_patch("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
	check_patch("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}");
	check_patch("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
	check_patch("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]");
	check_patch("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]");
	check_patch("{\"a\":\"foo\"}", "null", "null");
	check_patch("{\"a\":\"foo\"}", "\"bar\"", "\"bar\"");
	check_patch("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
	check_patch("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}");
	check_patch("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
}

static void test_patch_leaves_inputs_alone(void **state)
{
	json_t *t = j("{\"a\":{\"b\":1}}"), *p = j("{\"a\":{\"b\":null,\"c\":2}}");
	json_t *got = json_merge_patch(t, p);

	assert_int_equal(json_integer_value(json_object_get(json_object_get(t, "a"), "b")), 1);
	assert_non_null(json_object_get(json_object_get(p, "a"), "b"));
	assert_null(json_object_get(json_object_get(got, "a"), "b"));
	json_decref(t);
	json_decref(p);
	json_decref(got);
}

static void test_store_put_patch_get(void **state)
{
	struct mmds_store *s;
	json_t *v = j("{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-1\"}}}");
	json_t *p = j("{\"latest\":{\"meta-data\":{\"hostname\":\"h\"}}}");
	char *dump;

	assert_int_equal(mmds_store_new(1024, &s), 0);
	assert_false(mmds_store_initialized(s));
	dump = mmds_store_dump(s);
	assert_string_equal(dump, "{}");
	free(dump);
	assert_int_equal(mmds_store_patch(s, p), -ENODATA); /* Firecracker: no PATCH before a PUT */
	assert_int_equal(mmds_store_put(s, v), 0);
	assert_int_equal(mmds_store_patch(s, p), 0);
	dump = json_dumps(mmds_store_data(s), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(dump, "{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-1\",\"hostname\":\"h\"}}}");
	free(dump);
	json_decref(v);
	json_decref(p);
	mmds_store_free(s);
}

/* The limit is measured on the compact form, and an update that would exceed
 * it leaves the store exactly as it was. */
static void test_store_size_limit(void **state)
{
	struct mmds_store *s;
	json_t *fits = j("{\"k\":\"0123456789\"}");        /* 18 bytes compact */
	json_t *spaced = j("  {  \"k\" :  \"0123456789\" } "); /* same value */
	json_t *grow = j("{\"k2\":\"x\"}");
	char *before, *after;

	assert_int_equal(json_compact_size(fits), 18);
	assert_int_equal(mmds_store_new(18, &s), 0);
	assert_int_equal(mmds_store_put(s, spaced), 0);
	before = mmds_store_dump(s);
	assert_int_equal(mmds_store_patch(s, grow), -EFBIG);
	assert_int_equal(mmds_store_put(s, grow), 0); /* 10 bytes: fits */
	assert_int_equal(mmds_store_put(s, fits), 0);
	after = mmds_store_dump(s);
	assert_string_equal(before, after);
	assert_int_equal(mmds_store_patch(s, grow), -EFBIG);
	free(after);
	after = mmds_store_dump(s);
	assert_string_equal(before, after);
	free(before);
	free(after);
	json_decref(fits);
	json_decref(spaced);
	json_decref(grow);
	mmds_store_free(s);
}

static void test_store_load_file(void **state)
{
	char path[] = "/tmp/ember-mmds-XXXXXX";
	int fd = mkstemp(path);
	struct mmds_store *s;
	char err[256];

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"a\": [1, 2]}", 13), 13);
	assert_int_equal(mmds_store_new(100, &s), 0);
	assert_int_equal(mmds_store_load_file(s, path, err, sizeof(err)), 0);
	assert_true(mmds_store_initialized(s));
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, "{\"a\": ", 6, 0), 6);
	assert_int_equal(mmds_store_load_file(s, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "MMDS error: metadata provided not valid json: "));
	assert_int_equal(mmds_store_load_file(s, "/nonexistent/meta.json", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "Unable to open or read from the mmds content file: /nonexistent/meta.json"));
	assert_non_null(strstr(err, "No such file or directory"));
	/* Larger than the store's limit of 100 bytes. */
	assert_int_equal(ftruncate(fd, 0), 0);
	static const char big[] = "[\"0123456789012345678901234567890123456789\","
				  "\"0123456789012345678901234567890123456789\",\"01234567890123456789\"]";
	assert_int_equal(pwrite(fd, big, sizeof(big) - 1, 0), (ssize_t)sizeof(big) - 1);
	assert_int_equal(mmds_store_load_file(s, path, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "Populating MMDS from file failed: The MMDS patch request doesn't fit."));
	close(fd);
	unlink(path);
	mmds_store_free(s);
}

static void expect_lookup(struct mmds_store *s, const char *path, int want, const char *imds)
{
	const json_t *v = NULL;
	char *text = NULL;
	int r = mmds_store_lookup(s, path, &v);

	if (r != want)
		fail_msg("lookup %s = %d, want %d", path, r, want);
	if (r < 0)
		return;
	r = mmds_render_imds(v, &text);
	if (!imds) {
		assert_int_equal(r, -EPROTONOSUPPORT);
		return;
	}
	assert_int_equal(r, 0);
	if (strcmp(text, imds) != 0)
		fail_msg("IMDS of %s = '%s', want '%s'", path, text, imds);
	free(text);
}

/* Firecracker's guest-side rules: sorted keys, '/' after objects, no
 * trailing newline, strings raw, other types unsupported. */
static void test_lookup_and_imds(void **state)
{
	struct mmds_store *s;
	json_t *v = j("{\"latest\":{\"meta-data\":{\"zeta\":\"z\",\"ami-id\":\"ami-1\",\"net\":{\"a\":1},"
		      "\"list\":[\"x\",\"y\"],\"n\":5,\"a/b\":\"slash\"}}}");

	assert_int_equal(mmds_store_new(4096, &s), 0);
	expect_lookup(s, "/", -ENOENT, NULL); /* nothing stored yet */
	assert_int_equal(mmds_store_put(s, v), 0);
	expect_lookup(s, "/", 0, "latest/");
	expect_lookup(s, "//latest///meta-data/", 0, "a/b\nami-id\nlist\nn\nnet/\nzeta");
	expect_lookup(s, "/latest/meta-data/ami-id", 0, "ami-1");
	expect_lookup(s, "/latest/meta-data/ami-id/", 0, "ami-1");
	expect_lookup(s, "/latest/meta-data/list/1", 0, "y");
	expect_lookup(s, "/latest/meta-data/list/01", -ENOENT, NULL);
	expect_lookup(s, "/latest/meta-data/list/2", -ENOENT, NULL);
	expect_lookup(s, "/latest/meta-data/a~1b", 0, "slash");
	expect_lookup(s, "/latest/meta-data/n", 0, NULL);
	expect_lookup(s, "/latest/meta-data/list", 0, NULL);
	expect_lookup(s, "/latest/nothing", -ENOENT, NULL);
	expect_lookup(s, "latest", -EINVAL, NULL);
	json_decref(v);
	mmds_store_free(s);
}

/* JSON answers escape as serde_json does (Firecracker): lowercase \u00xx;
 * a string leaf and the same string inside an object agree. */
static void test_json_escapes(void **state)
{
	json_t *v = json_stringn("a\x01\x1f\x7f\"/\\\t\n\r\b\f\0z\xc3\xa9", 16);
	json_t *o = json_pack("{s:O}", "k", v);
	const char *want = "\"a\\u0001\\u001f\x7f\\\"/\\\\\\t\\n\\r\\b\\f\\u0000z\xc3\xa9\"";
	char *got, *whole;

	assert_int_equal(mmds_render_json_string(v, &got), 0);
	assert_string_equal(got, want);
	whole = json_dumps(o, JSON_COMPACT);
	mmds_json_lowercase_escapes(whole);
	assert_non_null(strstr(whole, got));
	free(got);
	free(whole);
	json_decref(o);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7396_appendix),
		cmocka_unit_test(test_patch_leaves_inputs_alone),
		cmocka_unit_test(test_store_put_patch_get),
		cmocka_unit_test(test_store_size_limit),
		cmocka_unit_test(test_store_load_file),
		cmocka_unit_test(test_lookup_and_imds),
		cmocka_unit_test(test_json_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
