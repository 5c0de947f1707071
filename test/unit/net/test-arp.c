/* Ethernet and ARP: parsing requests, refusing what is not one, replies. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "net/arp.h"
#include "net/eth.h"

static const uint8_t guest_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t mmds_mac[6] = { 0x06, 0x01, 0x23, 0x45, 0x67, 0x01 };

/* A request from 192.168.0.2 (guest_mac) for tpa, as Linux sends it. */
static void make_request(uint8_t b[ARP_LEN], uint32_t tpa)
{
	static const uint8_t head[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };

	memcpy(b, head, 8);
	memcpy(b + 8, guest_mac, 6);
	b[14] = 192, b[15] = 168, b[16] = 0, b[17] = 2;
	memset(b + 18, 0, 6);
	b[24] = (uint8_t)(tpa >> 24), b[25] = (uint8_t)(tpa >> 16), b[26] = (uint8_t)(tpa >> 8), b[27] = (uint8_t)tpa;
}

static void test_eth_roundtrip(void **state)
{
	uint8_t f[64] = { 0 };
	struct eth_view v;

	assert_int_equal(eth_write(f, guest_mac, mmds_mac, ETHERTYPE_ARP), ETH_HDR_LEN);
	assert_int_equal(eth_parse(f, sizeof(f), &v), 0);
	assert_memory_equal(v.dst, guest_mac, 6);
	assert_memory_equal(v.src, mmds_mac, 6);
	assert_int_equal(v.type, ETHERTYPE_ARP);
	assert_ptr_equal(v.payload, f + ETH_HDR_LEN);
	assert_int_equal(v.len, sizeof(f) - ETH_HDR_LEN);
	assert_int_equal(eth_parse(f, ETH_HDR_LEN - 1, &v), -EBADMSG);
	assert_int_equal(eth_parse(f, ETH_HDR_LEN, &v), 0);
	assert_int_equal(v.len, 0);
}

static void test_arp_request(void **state)
{
	uint8_t b[ARP_LEN + 18]; /* Ethernet padding after the body */
	struct arp_request r;
	uint32_t tpa;

	memset(b, 0xee, sizeof(b));
	make_request(b, 0xa9fea9fe);
	assert_int_equal(arp_parse_request(b, sizeof(b), &r), 0);
	assert_memory_equal(r.sha, guest_mac, 6);
	assert_int_equal(r.spa, 0xc0a80002);
	assert_int_equal(r.tpa, 0xa9fea9fe);
	assert_true(arp_target(b, ARP_LEN, &tpa));
	assert_int_equal(tpa, 0xa9fea9fe);
	assert_false(arp_target(b, ARP_LEN - 1, &tpa));
	assert_int_equal(arp_parse_request(b, ARP_LEN - 1, &r), -EBADMSG);
}

static void test_arp_refused(void **state)
{
	static const struct {
		unsigned off;
		uint8_t v;
		int err;
	} bad[] = {
		{ 1, 6, -EPROTONOSUPPORT },  /* htype IEEE 802 */
		{ 2, 0x86, -EPROTONOSUPPORT }, /* ptype IPv6 */
		{ 4, 8, -EPROTONOSUPPORT },  /* hlen */
		{ 5, 16, -EPROTONOSUPPORT }, /* plen */
		{ 7, 2, -EOPNOTSUPP },       /* a reply */
		{ 7, 3, -EOPNOTSUPP },       /* RARP */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t b[ARP_LEN];
		struct arp_request r;
		uint32_t tpa;

		make_request(b, 0xa9fea9fe);
		b[bad[i].off] = bad[i].v;
		assert_int_equal(arp_parse_request(b, sizeof(b), &r), bad[i].err);
		/* the detour still sees whom it is for */
		assert_true(arp_target(b, sizeof(b), &tpa));
		assert_int_equal(tpa, 0xa9fea9fe);
	}
}

static void test_arp_reply(void **state)
{
	uint8_t b[ARP_LEN];
	static const uint8_t want[ARP_LEN] = { 0, 1, 8, 0, 6, 4, 0, 2, 0x06, 0x01, 0x23, 0x45, 0x67, 0x01, 169, 254,
					       169, 254, 0x02, 0, 0, 0, 0, 0x01, 192, 168, 0, 2 };

	assert_int_equal(arp_write_reply(b, mmds_mac, 0xa9fea9fe, guest_mac, 0xc0a80002), ARP_LEN);
	assert_memory_equal(b, want, ARP_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eth_roundtrip),
		cmocka_unit_test(test_arp_request),
		cmocka_unit_test(test_arp_refused),
		cmocka_unit_test(test_arp_reply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
