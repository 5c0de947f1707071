/* TCP segments: checksum over the pseudo-header, options, what is written. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "net/tcp.h"

#define GUEST 0xc0a80002u
#define MMDS 0xa9fea9feu

static void test_roundtrip(void **state)
{
	uint8_t p[128];
	struct tcp_out h = { .sport = 80, .dport = 40000, .seq = 0xfffffff0u, .ack = 7, .flags = TCP_SYN | TCP_ACK,
			     .window = 2500, .mss = 1460 };
	struct tcp_seg s;
	size_t n = tcp_write(p, MMDS, GUEST, &h, (const uint8_t *)"hello", 5);

	assert_int_equal(n, 29);
	assert_int_equal(tcp_parse(p, n, MMDS, GUEST, true, &s), 0);
	assert_int_equal(s.sport, 80);
	assert_int_equal(s.dport, 40000);
	assert_int_equal(s.seq, 0xfffffff0u);
	assert_int_equal(s.ack, 7);
	assert_int_equal(s.flags, TCP_SYN | TCP_ACK);
	assert_int_equal(s.window, 2500);
	assert_int_equal(s.mss, 1460);
	assert_int_equal(s.len, 5);
	assert_memory_equal(s.data, "hello", 5);
	/* the pseudo-header counts: other addresses fail the checksum */
	assert_int_equal(tcp_parse(p, n, MMDS, GUEST + 1, true, &s), -EBADMSG);
	/* unless the guest offloaded it (the field is then partial) */
	assert_int_equal(tcp_parse(p, n, MMDS, GUEST + 1, false, &s), 0);
	p[25] ^= 0x20;
	assert_int_equal(tcp_parse(p, n, MMDS, GUEST, true, &s), -EBADMSG);
}

static void test_header_bounds(void **state)
{
	uint8_t p[64] = { 0 };
	struct tcp_out h = { .sport = 1, .dport = 80, .flags = TCP_ACK };
	struct tcp_seg s;
	size_t n = tcp_write(p, GUEST, MMDS, &h, NULL, 0);

	assert_int_equal(n, TCP_HDR_LEN);
	assert_int_equal(tcp_parse(p, n - 1, GUEST, MMDS, false, &s), -EBADMSG);
	p[12] = 0x40; /* data offset 4 words */
	assert_int_equal(tcp_parse(p, n, GUEST, MMDS, false, &s), -EBADMSG);
	p[12] = 0x60; /* 24 bytes of header in a 20-byte segment */
	assert_int_equal(tcp_parse(p, n, GUEST, MMDS, false, &s), -EBADMSG);
}

/* A segment with options opts (olen bytes, a multiple of 4). */
static int parse_opts(const uint8_t *opts, size_t olen, struct tcp_seg *s)
{
	uint8_t p[80] = { 0 };

	p[12] = (uint8_t)((20 + olen) / 4 << 4);
	memcpy(p + 20, opts, olen);
	return tcp_parse(p, 20 + olen, GUEST, MMDS, false, s);
}

static void test_options(void **state)
{
	struct tcp_seg s;
	/* Linux's SYN: MSS, SACK permitted, timestamps, NOP, window scale */
	static const uint8_t linux_syn[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7 };

	assert_int_equal(parse_opts(linux_syn, sizeof(linux_syn), &s), 0);
	assert_int_equal(s.mss, 1460);
	assert_int_equal(parse_opts((const uint8_t *)"\x01\x01\x00\x02", 4, &s), 0); /* END stops the walk */
	assert_int_equal(s.mss, 0);
	assert_int_equal(parse_opts((const uint8_t *)"\x02\x03\x05\x00", 4, &s), -EBADMSG); /* MSS of length 3 */
	assert_int_equal(parse_opts((const uint8_t *)"\x08\x01\x00\x00", 4, &s), -EBADMSG); /* length below 2 */
	assert_int_equal(parse_opts((const uint8_t *)"\x01\x01\x08\x09", 4, &s), -EBADMSG); /* past the header */
	assert_int_equal(parse_opts((const uint8_t *)"\x01\x01\x01\x08", 4, &s), -EBADMSG); /* no length byte */
}

static void test_seq_compare(void **state)
{
	assert_true(tcp_seq_lt(0xfffffff0u, 5));
	assert_false(tcp_seq_lt(5, 0xfffffff0u));
	assert_true(tcp_seq_le(7, 7));
	assert_false(tcp_seq_lt(7, 7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_header_bounds),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_seq_compare),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
