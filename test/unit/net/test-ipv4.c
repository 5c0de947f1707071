/* IPv4 and the Internet checksum: what is accepted, what is refused, what is written. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "net/ipv4.h"

/* Wikipedia's "IPv4 header checksum" example: 0xb861 over this header. */
static const uint8_t known[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
				   0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };

static void test_checksum_known(void **state)
{
	uint8_t h[20];

	memcpy(h, known, 20);
	assert_int_equal(inet_fold(inet_sum(h, 20, 0)), 0);
	h[10] = h[11] = 0;
	assert_int_equal(inet_fold(inet_sum(h, 20, 0)), 0xb861);
	/* an odd length pads with a zero byte (RFC 1071) */
	assert_int_equal(inet_sum((const uint8_t *)"\x01\x02\x03", 3, 0), 0x0102 + 0x0300);
}

static size_t make(uint8_t *p, size_t payload)
{
	size_t n = ipv4_write(p, 0xc0a80002, 0xa9fea9fe, IPV4_PROTO_TCP, payload);

	memset(p + n, 0x5a, payload);
	return n + payload;
}

static void test_parse_written(void **state)
{
	uint8_t p[100];
	struct ipv4_view v;
	size_t n = make(p, 30);

	assert_int_equal(n, 50);
	assert_int_equal(p[8], 1); /* TTL 1 */
	assert_int_equal(p[6] & 0x40, 0x40); /* DF */
	assert_int_equal(ipv4_parse(p, n, &v), 0);
	assert_int_equal(v.src, 0xc0a80002);
	assert_int_equal(v.dst, 0xa9fea9fe);
	assert_int_equal(v.proto, IPV4_PROTO_TCP);
	assert_ptr_equal(v.payload, p + 20);
	assert_int_equal(v.len, 30);
	/* Ethernet padding after the datagram is not payload */
	assert_int_equal(ipv4_parse(p, sizeof(p), &v), 0);
	assert_int_equal(v.len, 30);
}

static void test_refused(void **state)
{
	uint8_t p[100];
	struct ipv4_view v;
	uint32_t dst;
	size_t n = make(p, 30);

	assert_int_equal(ipv4_parse(p, n - 1, &v), -EBADMSG); /* total length past the frame */
	assert_int_equal(ipv4_parse(p, 19, &v), -EBADMSG);
	p[10] ^= 1;
	assert_int_equal(ipv4_parse(p, n, &v), -EBADMSG); /* header checksum */
	p[10] ^= 1;
	p[0] = 0x65;
	assert_int_equal(ipv4_parse(p, n, &v), -EBADMSG); /* version 6 */
	p[0] = 0x44;
	assert_int_equal(ipv4_parse(p, n, &v), -EBADMSG); /* IHL below 5 */
	/* the detour still reads the destination of all of them */
	assert_true(ipv4_peek_dst(p, 20, &dst));
	assert_int_equal(dst, 0xa9fea9fe);
	assert_false(ipv4_peek_dst(p, 19, &dst));
}

/* Rewrites byte off of a valid header and fixes the checksum. */
static int parse_with(size_t off, uint8_t value)
{
	uint8_t p[100];
	struct ipv4_view v;
	size_t n = make(p, 30);

	p[off] = value;
	p[10] = p[11] = 0;
	{
		uint16_t c = inet_fold(inet_sum(p, (size_t)(p[0] & 0xf) * 4, 0));

		p[10] = (uint8_t)(c >> 8), p[11] = (uint8_t)c;
	}
	return ipv4_parse(p, n, &v);
}

static void test_options_fragments(void **state)
{
	assert_int_equal(parse_with(0, 0x46), -EOPNOTSUPP); /* one word of options */
	assert_int_equal(parse_with(6, 0x20), -EOPNOTSUPP); /* more fragments */
	assert_int_equal(parse_with(7, 0x01), -EOPNOTSUPP); /* an offset */
	assert_int_equal(parse_with(6, 0x00), 0);           /* DF clear is fine */
	assert_int_equal(parse_with(0, 0x4f), -EBADMSG);    /* 60-byte header, 50-byte datagram */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksum_known),
		cmocka_unit_test(test_parse_written),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_options_fragments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
