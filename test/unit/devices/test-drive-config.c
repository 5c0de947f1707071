/* The Drive / PartialDrive / RateLimiter validators: each field wrong once,
 * Firecracker's texts, the drive order and the root= argument. */
#include <errno.h>
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

#include "config/drive.h"
#include "config/json_field.h"

static char img[64];

static int setup(void **state)
{
	int fd;

	snprintf(img, sizeof(img), "/tmp/ember-drive-test-XXXXXX");
	fd = mkstemp(img);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(img);
	return 0;
}

/* Parses text (with %s replaced by the image path) as a Drive. */
static int parse(const char *fmt, struct drive_config *d, char *err, size_t errlen)
{
	char text[1024];
	const char *at = strstr(fmt, "%s");
	json_t *j;
	int r;

	if (at)
		snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - fmt), fmt, img, at + 2);
	else
		snprintf(text, sizeof(text), "%s", fmt);
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	r = drive_config_parse(j, d, err, errlen);
	json_decref(j);
	return r;
}

static void expect_error(const char *fmt, const char *want)
{
	struct drive_config d;
	char err[512] = "";

	assert_true(parse(fmt, &d, err, sizeof(err)) < 0);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void test_good_drive(void **state)
{
	struct drive_config d;
	char err[512];
	json_t *j;
	char *s;

	assert_int_equal(parse("{\"drive_id\":\"rootfs\",\"path_on_host\":\"%s\",\"is_root_device\":true,"
			       "\"is_read_only\":true,\"cache_type\":\"Writeback\",\"io_engine\":\"Async\","
			       "\"partuuid\":\"0eaa91a0-01\",\"rate_limiter\":{\"bandwidth\":{\"size\":1000,"
			       "\"refill_time\":100},\"ops\":null}}", &d, err, sizeof(err)), 0);
	assert_string_equal(d.drive_id, "rootfs");
	assert_true(d.fd >= 0);
	assert_true(d.is_read_only && d.is_root_device);
	assert_int_equal(d.cache_type, DRIVE_CACHE_WRITEBACK);
	assert_int_equal(d.io_engine, DRIVE_ENGINE_ASYNC);
	assert_true(d.rate_limiter.present);
	assert_int_equal(d.rate_limiter.cfg.bucket[RATE_LIMITER_BANDWIDTH].size, 1000);
	assert_false(d.rate_limiter.bucket_present[RATE_LIMITER_OPS]);
	j = drive_config_to_json(&d);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(strstr(s, "\"rate_limiter\":{\"bandwidth\":{\"one_time_burst\":null,\"refill_time\":100,"
				  "\"size\":1000},\"ops\":null}"));
	assert_non_null(strstr(s, "\"socket\":null"));
	free(s);
	json_decref(j);
	drive_config_clear(&d);
	assert_int_equal(d.fd, -1);
}

static void test_defaults(void **state)
{
	struct drive_config d;
	char err[512];

	assert_int_equal(parse("{\"drive_id\":\"d1\",\"path_on_host\":\"%s\",\"is_root_device\":false}", &d, err,
			       sizeof(err)), 0);
	assert_false(d.is_read_only);
	assert_int_equal(d.cache_type, DRIVE_CACHE_UNSAFE);
	assert_int_equal(d.io_engine, DRIVE_ENGINE_SYNC);
	assert_false(d.rate_limiter.present);
	assert_null(d.partuuid);
	drive_config_clear(&d);
}

static void test_bad_fields(void **state)
{
	expect_error("{\"drive_id\":\"a\",\"path_on_host\":\"%s\",\"is_root_device\":false,\"foo\":1}",
		     JSON_DESERIALIZE_PREFIX "unknown field `foo`, expected one of `drive_id`");
	expect_error("{\"drive_id\":\"a\",\"path_on_host\":\"%s\"}", "missing field `is_root_device`");
	expect_error("{\"drive_id\":\"a\",\"is_root_device\":false}", "missing field `path_on_host`");
	expect_error("{\"path_on_host\":\"%s\",\"is_root_device\":false}", "missing field `drive_id`");
	expect_error("{\"drive_id\":\"a\",\"path_on_host\":\"%s\",\"is_root_device\":\"yes\"}",
		     "invalid type: string \"yes\", expected a boolean");
	expect_error("{\"drive_id\":\"a\",\"path_on_host\":\"%s\",\"is_root_device\":false,\"cache_type\":\"Fast\"}",
		     "unknown variant `Fast`, expected `Unsafe` or `Writeback`");
	expect_error("{\"drive_id\":\"a\",\"path_on_host\":\"%s\",\"is_root_device\":false,\"io_engine\":\"Uring\"}",
		     "unknown variant `Uring`, expected `Sync` or `Async`");
	expect_error("{\"drive_id\":\"a b\",\"path_on_host\":\"%s\",\"is_root_device\":false}",
		     "API Resource IDs can only contain alphanumeric characters and underscores.");
	expect_error("{\"drive_id\":\"a\",\"path_on_host\":\"%s\",\"is_root_device\":true,\"partuuid\":\"x y\"}",
		     "partuuid");
	expect_error("{\"drive_id\":\"a\",\"path_on_host\":\"%s\",\"is_root_device\":false,\"socket\":\"/s\"}",
		     "vhost-user-blk");
	expect_error("[1]", "invalid type");
}

static void test_bad_rate_limiter(void **state)
{
	expect_error("{\"drive_id\":\"a\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
		     "\"rate_limiter\":{\"bw\":{}}}", "unknown field `bw`, expected one of `bandwidth`, `ops`");
	expect_error("{\"drive_id\":\"a\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
		     "\"rate_limiter\":{\"ops\":{\"size\":1}}}", "missing field `refill_time`");
	expect_error("{\"drive_id\":\"a\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
		     "\"rate_limiter\":{\"ops\":{\"size\":-1,\"refill_time\":1}}}", "invalid");
	expect_error("{\"drive_id\":\"a\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
		     "\"rate_limiter\":{\"ops\":{\"size\":1,\"refill_time\":1,\"extra\":1}}}", "unknown field `extra`");
}

static void test_missing_file(void **state)
{
	json_t *j = json_loads("{\"drive_id\":\"a\",\"path_on_host\":\"/nonexistent/x.img\",\"is_root_device\":false}",
			       0, NULL);
	struct drive_config d;
	char err[512];

	assert_int_equal(drive_config_parse(j, &d, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, DRIVE_ERR_CREATE "Error manipulating the backing file: /nonexistent/x.img: No such file "
				 "or directory (os error 2)");
	json_decref(j);
	expect_error("{\"drive_id\":\"a\",\"path_on_host\":\"/tmp\",\"is_root_device\":false}", "Is a directory");
	/* a FIFO is refused, and opening it read-only does not hang */
	char fifo[80];
	snprintf(fifo, sizeof(fifo), "%s.fifo", img);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	json_t *j2 = json_pack("{s:s, s:s, s:b, s:b}", "drive_id", "f", "path_on_host", fifo, "is_root_device", 0,
			       "is_read_only", 1);
	struct drive_config d2;
	char err2[512];
	assert_int_equal(drive_config_parse(j2, &d2, err2, sizeof(err2)), -EINVAL);
	json_decref(j2);
	unlink(fifo);
}

static void test_set_order_and_roots(void **state)
{
	struct drive_set s = { 0 };
	struct drive_config d;
	char err[512], root[128];

	assert_int_equal(parse("{\"drive_id\":\"b\",\"path_on_host\":\"%s\",\"is_root_device\":false}", &d, err,
			       sizeof(err)), 0);
	assert_int_equal(drive_set_put(&s, &d, err, sizeof(err)), 0);
	assert_int_equal(drive_set_root_arg(&s, root, sizeof(root)), 0);
	assert_int_equal(parse("{\"drive_id\":\"r\",\"path_on_host\":\"%s\",\"is_root_device\":true}", &d, err,
			       sizeof(err)), 0);
	assert_int_equal(drive_set_put(&s, &d, err, sizeof(err)), 0);
	assert_string_equal(s.drive[0].drive_id, "r");
	assert_string_equal(s.drive[1].drive_id, "b");
	assert_true(drive_set_root_arg(&s, root, sizeof(root)) > 0);
	assert_string_equal(root, "root=/dev/vda rw");
	/* a second root is refused, and the set is unchanged */
	assert_int_equal(parse("{\"drive_id\":\"r2\",\"path_on_host\":\"%s\",\"is_root_device\":true}", &d, err,
			       sizeof(err)), 0);
	assert_int_equal(drive_set_put(&s, &d, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "A root block device already exists!");
	assert_int_equal(s.count, 2);
	drive_config_clear(&d);
	/* replacing the root by id is fine, with a partuuid and read-only */
	assert_int_equal(parse("{\"drive_id\":\"r\",\"path_on_host\":\"%s\",\"is_root_device\":true,"
			       "\"is_read_only\":true,\"partuuid\":\"abcd-01\"}", &d, err, sizeof(err)), 0);
	assert_int_equal(drive_set_put(&s, &d, err, sizeof(err)), 0);
	assert_int_equal(s.count, 2);
	assert_true(drive_set_root_arg(&s, root, sizeof(root)) > 0);
	assert_string_equal(root, "root=PARTUUID=abcd-01 ro");
	assert_int_equal(drive_set_find(&s, "b"), 1);
	assert_int_equal(drive_set_find(&s, "zz"), -ENOENT);
	drive_set_clear(&s);
}

static void test_partial_drive(void **state)
{
	struct drive_update u;
	char err[512], text[256];
	json_t *j;

	j = json_loads("{\"drive_id\":\"a\"}", 0, NULL);
	assert_int_equal(drive_update_parse(j, false, &u, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Running method expected different backend.");
	json_decref(j);
	j = json_loads("{\"drive_id\":\"a\",\"is_read_only\":true}", 0, NULL);
	assert_int_equal(drive_update_parse(j, false, &u, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown field `is_read_only`, expected one of `drive_id`, `path_on_host`, "
				    "`rate_limiter`"));
	json_decref(j);
	j = json_loads("{\"drive_id\":\"a\",\"path_on_host\":\"/nope\"}", 0, NULL);
	assert_int_equal(drive_update_parse(j, false, &u, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, DRIVE_ERR_PATCH "Error manipulating the backing file: /nope: No such file or "
				 "directory (os error 2)");
	json_decref(j);
	snprintf(text, sizeof(text), "{\"drive_id\":\"a\",\"path_on_host\":\"%s\",\"rate_limiter\":{}}", img);
	j = json_loads(text, 0, NULL);
	assert_int_equal(drive_update_parse(j, true, &u, err, sizeof(err)), 0);
	assert_true(u.fd >= 0 && u.rate_limiter.present);
	drive_update_clear(&u);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_drive),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_bad_rate_limiter),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_set_order_and_roots),
		cmocka_unit_test(test_partial_drive),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
