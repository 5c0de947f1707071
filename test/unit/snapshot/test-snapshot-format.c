/* The state file format (vmm/snapshot/format.h): sections round trip, and
 * every bound and check refuses what it must with its reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "snapshot/format.h"

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites the trailing CRC after a test changed the bytes before it. */
static void fix_crc(uint8_t *buf, size_t len)
{
	uint64_t crc = snap_crc64(buf, len - SNAP_CRC_SIZE);

	for (int i = 0; i < 8; i++)
		buf[len - 8 + i] = (uint8_t)(crc >> (8 * i));
}

static void build(struct snap_writer *w)
{
	uint32_t khz = 2100000;

	snap_writer_init(w);
	snap_put(w, SNAP_SEC_CONFIG, 0, "{}", 2);
	snap_put(w, SNAP_SEC_VCPU_TSC_KHZ, 0, &khz, sizeof(khz));
	snap_put(w, SNAP_SEC_VCPU_TSC_KHZ, 1, &khz, sizeof(khz));
	snap_put(w, SNAP_SEC_DEVICE, 3, NULL, 0);
	assert_int_equal(snap_writer_finish(w), 0);
}

static void test_round_trip(void **state)
{
	struct snap_writer w;
	struct snap_file f;
	const struct snap_section *s;
	char err[256];
	uint32_t khz;

	build(&w);
	assert_int_equal(snap_parse(w.buf, w.len, &f, err, sizeof(err)), 0);
	assert_int_equal(f.n, 4);
	assert_int_equal(f.version.major, SNAP_VERSION_MAJOR);
	s = snap_find(&f, SNAP_SEC_CONFIG, 0);
	assert_non_null(s);
	assert_int_equal(s->len, 2);
	assert_memory_equal(s->data, "{}", 2);
	s = snap_find(&f, SNAP_SEC_VCPU_TSC_KHZ, 1);
	assert_non_null(s);
	memcpy(&khz, s->data, 4);
	assert_int_equal(khz, 2100000);
	assert_non_null(snap_find(&f, SNAP_SEC_DEVICE, 3));
	assert_null(snap_find(&f, SNAP_SEC_DEVICE, 2));
	snap_file_free(&f);
	snap_writer_free(&w);
}

static void expect_refused(uint8_t *buf, size_t len, int want, const char *why)
{
	struct snap_file f;
	char err[256] = "";

	assert_int_equal(snap_parse(buf, len, &f, err, sizeof(err)), want);
	if (!strstr(err, why))
		fail_msg("error '%s' lacks '%s'", err, why);
}

static void test_crc_checked_first(void **state)
{
	struct snap_writer w;

	build(&w);
	w.buf[SNAP_HEADER_SIZE + 20] ^= 1; /* a payload byte */
	expect_refused(w.buf, w.len, -EBADMSG, "CRC64 validation failed");
	snap_writer_free(&w);
}

static void test_too_short(void **state)
{
	uint8_t b[7] = { 0 };

	expect_refused(b, sizeof(b), -EINVAL, "File too short to contain CRC");
	expect_refused(b, 0, -EINVAL, "File too short to contain CRC");
}

static void test_truncated(void **state)
{
	struct snap_writer w;

	build(&w);
	/* cut inside the last section's header, CRC fixed: the bounds must catch it */
	w.len -= 3;
	fix_crc(w.buf, w.len);
	expect_refused(w.buf, w.len, -EINVAL, "truncated header");
	snap_writer_free(&w);
	/* a payload longer than what follows */
	build(&w);
	w.buf[SNAP_HEADER_SIZE + 8] = 200; /* the config's length */
	fix_crc(w.buf, w.len);
	expect_refused(w.buf, w.len, -EINVAL, "past the end");
	snap_writer_free(&w);
}

static void test_magic_and_version(void **state)
{
	struct snap_writer w;

	build(&w);
	w.buf[0] = 'X';
	fix_crc(w.buf, w.len);
	expect_refused(w.buf, w.len, -EINVAL, "Magic value does not match");
	w.buf[0] = 'E';
	w.buf[8] = SNAP_VERSION_MAJOR + 1; /* a newer MAJOR */
	fix_crc(w.buf, w.len);
	expect_refused(w.buf, w.len, -EPROTO, "Invalid data version");
	w.buf[8] = SNAP_VERSION_MAJOR;
	w.buf[10] = SNAP_VERSION_MINOR + 1; /* a newer MINOR */
	fix_crc(w.buf, w.len);
	expect_refused(w.buf, w.len, -EPROTO, "Invalid data version");
	snap_writer_free(&w);
}

static void test_section_bounds(void **state)
{
	struct snap_writer w;
	size_t first = SNAP_HEADER_SIZE;

	build(&w);
	put_le32(w.buf + first, 0x7777); /* unknown type */
	fix_crc(w.buf, w.len);
	expect_refused(w.buf, w.len, -EINVAL, "unknown type");
	put_le32(w.buf + first, SNAP_SEC_CONFIG);
	put_le32(w.buf + first + 4, 1); /* the config has one instance */
	fix_crc(w.buf, w.len);
	expect_refused(w.buf, w.len, -EINVAL, "out of range");
	put_le32(w.buf + first + 4, 0);
	put_le32(w.buf + first + 8, 0xfffffff0u); /* a huge length */
	fix_crc(w.buf, w.len);
	expect_refused(w.buf, w.len, -EINVAL, "out of range");
	snap_writer_free(&w);
}

static void test_duplicate_and_trailing(void **state)
{
	struct snap_writer w;
	uint32_t v = 1;

	snap_writer_init(&w);
	snap_put(&w, SNAP_SEC_VCPU_TSC_KHZ, 0, &v, 4);
	snap_put(&w, SNAP_SEC_VCPU_TSC_KHZ, 0, &v, 4);
	assert_int_equal(snap_writer_finish(&w), 0);
	expect_refused(w.buf, w.len, -EINVAL, "appears twice");
	snap_writer_free(&w);

	build(&w);
	put_le32(w.buf + 16, 3); /* one section fewer than there are */
	fix_crc(w.buf, w.len);
	expect_refused(w.buf, w.len, -EINVAL, "after the last section");
	put_le32(w.buf + 16, SNAP_MAX_SECTIONS + 1);
	fix_crc(w.buf, w.len);
	expect_refused(w.buf, w.len, -EINVAL, "sections");
	snap_writer_free(&w);
}

static void test_writer_caps(void **state)
{
	static uint8_t big[256u << 10];
	struct snap_writer w;

	snap_writer_init(&w);
	for (unsigned i = 0; i < 64; i++) /* 64 x 256 KiB > 10 MiB */
		snap_put(&w, SNAP_SEC_CONFIG, 0, big, sizeof(big));
	assert_int_equal(snap_writer_finish(&w), -EFBIG);
	snap_writer_free(&w);

	snap_writer_init(&w);
	for (unsigned i = 0; i <= SNAP_MAX_SECTIONS; i++)
		snap_put(&w, SNAP_SEC_DEVICE, 0, NULL, 0);
	assert_int_equal(snap_writer_finish(&w), -EFBIG);
	snap_writer_free(&w);
}

static void test_oversized_input(void **state)
{
	uint8_t *b = calloc(1, SNAP_MAX_FILE + 16);

	assert_non_null(b);
	expect_refused(b, SNAP_MAX_FILE + 16, -EFBIG, "larger than");
	free(b);
}

static void test_peek_version(void **state)
{
	struct snap_writer w;
	struct snap_version v;

	build(&w);
	assert_int_equal(snap_peek_version(w.buf, w.len, &v), 0);
	assert_int_equal(v.major, SNAP_VERSION_MAJOR);
	assert_int_equal(v.minor, SNAP_VERSION_MINOR);
	assert_int_equal(snap_peek_version(w.buf, 10, &v), -EINVAL);
	snap_writer_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_crc_checked_first),
		cmocka_unit_test(test_too_short),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_magic_and_version),
		cmocka_unit_test(test_section_bounds),
		cmocka_unit_test(test_duplicate_and_trailing),
		cmocka_unit_test(test_writer_caps),
		cmocka_unit_test(test_oversized_input),
		cmocka_unit_test(test_peek_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
