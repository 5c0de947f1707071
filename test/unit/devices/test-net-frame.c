/* virtio-net's pure frame rules: TX checks (each fault once, the edges
 * exactly), the RX header translation, RX buffer accounting merged and not,
 * the spoofed-MAC count and the TAP offload flags. */
#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "devices/virtio/net-frame.h"
#include "devices/virtio/tap.h"

#define BIT(n) (1ull << (n))
#define ALL_OFFLOADS                                                                                               \
	(BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4) |                    \
	 BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_GUEST_UFO) | BIT(VIRTIO_NET_F_HOST_TSO4) |                \
	 BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_HOST_UFO) | BIT(VIRTIO_NET_F_MRG_RXBUF))

static void test_tx_lengths(void **state)
{
	struct virtio_net_hdr h = { 0 };

	assert_int_equal(net_tx_check(0, 0, &h, 0), NET_TX_SHORT_HDR);
	assert_int_equal(net_tx_check(11, 0, &h, 0), NET_TX_SHORT_HDR);
	assert_int_equal(net_tx_check(12, 0, &h, 0), NET_TX_NO_DATA);
	assert_int_equal(net_tx_check(13, 0, &h, 0), NET_TX_OK);
	assert_int_equal(net_tx_check(12 + NET_FRAME_MAX, 0, &h, 0), NET_TX_OK);
	assert_int_equal(net_tx_check(12 + NET_FRAME_MAX + 1, 0, &h, 0), NET_TX_TOO_BIG);
	assert_int_equal(net_tx_check(UINT32_MAX, 0, &h, 0), NET_TX_TOO_BIG);
	assert_int_equal(net_tx_check(100, 1, &h, 0), NET_TX_HAS_WRITABLE);
}

static void test_tx_csum(void **state)
{
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM };
	uint32_t len = 12 + 1442; /* a 1400-byte UDP datagram in IPv4 and Ethernet */

	h.csum_start = htole16(34);
	h.csum_offset = htole16(6);
	/* NEEDS_CSUM without CSUM negotiated */
	assert_int_equal(net_tx_check(len, 0, &h, 0), NET_TX_BAD_HDR);
	assert_int_equal(net_tx_check(len, 0, &h, BIT(VIRTIO_NET_F_CSUM)), NET_TX_OK);
	/* the checksum field must lie inside the frame: start + offset + 2 <= data */
	h.csum_start = htole16(1442 - 8);
	assert_int_equal(net_tx_check(len, 0, &h, BIT(VIRTIO_NET_F_CSUM)), NET_TX_OK);
	h.csum_start = htole16(1442 - 7);
	assert_int_equal(net_tx_check(len, 0, &h, BIT(VIRTIO_NET_F_CSUM)), NET_TX_BAD_HDR);
	h.csum_start = htole16(0xffff);
	h.csum_offset = htole16(0xffff);
	assert_int_equal(net_tx_check(len, 0, &h, BIT(VIRTIO_NET_F_CSUM)), NET_TX_BAD_HDR);
	/* DATA_VALID is the device's flag, never the driver's */
	h = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	assert_int_equal(net_tx_check(len, 0, &h, ALL_OFFLOADS), NET_TX_BAD_HDR);
}

static void test_tx_gso(void **state)
{
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4 };
	uint32_t len = 12 + 65000;

	h.csum_start = htole16(34);
	h.csum_offset = htole16(16);
	h.gso_size = htole16(1448);
	assert_int_equal(net_tx_check(len, 0, &h, BIT(VIRTIO_NET_F_CSUM)), NET_TX_BAD_HDR);
	assert_int_equal(net_tx_check(len, 0, &h, BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4)), NET_TX_OK);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	assert_int_equal(net_tx_check(len, 0, &h, BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4)),
			 NET_TX_BAD_HDR);
	assert_int_equal(net_tx_check(len, 0, &h, ALL_OFFLOADS), NET_TX_OK);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	assert_int_equal(net_tx_check(len, 0, &h, ALL_OFFLOADS), NET_TX_OK);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(net_tx_check(len, 0, &h, ALL_OFFLOADS), NET_TX_BAD_HDR);
	h.gso_type = 2;
	assert_int_equal(net_tx_check(len, 0, &h, ALL_OFFLOADS), NET_TX_BAD_HDR);
	/* GSO without a segment size, or without the checksum offload */
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 0;
	assert_int_equal(net_tx_check(len, 0, &h, ALL_OFFLOADS), NET_TX_BAD_HDR);
	h.gso_size = htole16(1448);
	h.flags = 0;
	assert_int_equal(net_tx_check(len, 0, &h, ALL_OFFLOADS), NET_TX_BAD_HDR);
}

static void test_spoofed(void **state)
{
	static const uint8_t mac[6] = { 0xaa, 0xfc, 0, 0, 0, 1 };
	uint8_t eth[14] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xaa, 0xfc, 0, 0, 0, 1, 8, 6 };

	assert_false(net_tx_spoofed(eth, sizeof(eth), mac));
	eth[11] = 2;
	assert_true(net_tx_spoofed(eth, sizeof(eth), mac));
	assert_false(net_tx_spoofed(eth, 13, mac));
}

static void test_rx_fixup(void **state)
{
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_DATA_VALID, .num_buffers = 0x5a5a };

	/* without GUEST_CSUM the flags go to zero (§5.1.6.3.1) */
	assert_true(net_rx_hdr_fixup(&h, 0, 1));
	assert_int_equal(h.flags, 0);
	assert_int_equal(le16toh(h.num_buffers), 1);
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	assert_true(net_rx_hdr_fixup(&h, BIT(VIRTIO_NET_F_GUEST_CSUM), 3));
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	assert_int_equal(le16toh(h.num_buffers), 3);
	/* a partial checksum the driver cannot finish: drop */
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	assert_false(net_rx_hdr_fixup(&h, 0, 1));
	assert_true(net_rx_hdr_fixup(&h, BIT(VIRTIO_NET_F_GUEST_CSUM), 1));
	/* GSO only with the matching GUEST_ offload */
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	assert_false(net_rx_hdr_fixup(&h, BIT(VIRTIO_NET_F_GUEST_CSUM), 1));
	assert_true(net_rx_hdr_fixup(&h, BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4), 1));
	/* unknown flag bits from the TAP are not passed on */
	h = (struct virtio_net_hdr){ .flags = 0xf0 | VIRTIO_NET_HDR_F_DATA_VALID };
	assert_true(net_rx_hdr_fixup(&h, BIT(VIRTIO_NET_F_GUEST_CSUM), 1));
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
}

static void test_rx_split(void **state)
{
	uint32_t caps[4] = { 1526, 1526, 1526, 100 }, used[4];

	/* not merged: the first chain holds it all, or the frame is dropped */
	assert_int_equal(net_rx_split(1526, caps, 4, false, used), 1);
	assert_int_equal(used[0], 1526);
	assert_int_equal(net_rx_split(1527, caps, 4, false, used), -EMSGSIZE);
	/* merged: in order, the last chain partly */
	assert_int_equal(net_rx_split(3000, caps, 4, true, used), 2);
	assert_int_equal(used[0], 1526);
	assert_int_equal(used[1], 1474);
	assert_int_equal(net_rx_split(4678, caps, 4, true, used), 4);
	assert_int_equal(used[3], 100);
	assert_int_equal(net_rx_split(4679, caps, 4, true, used), -EMSGSIZE);
	/* no frame at all (found by fuzz-net-frame: 0 chains used for 0 bytes) */
	assert_int_equal(net_rx_split(0, caps, 4, true, used), -EINVAL);
	assert_int_equal(net_rx_split(TAP_VNET_HDR_LEN - 1, caps, 4, false, used), -EINVAL);
	/* nothing posted, or a first buffer smaller than the vnet header */
	assert_int_equal(net_rx_split(60, caps, 0, true, used), -EMSGSIZE);
	caps[0] = TAP_VNET_HDR_LEN - 1;
	assert_int_equal(net_rx_split(8, caps, 4, true, used), -EINVAL);
	caps[0] = TAP_VNET_HDR_LEN;
	assert_int_equal(net_rx_split(12 + 60, caps, 4, true, used), 2);
	assert_int_equal(used[0], 12);
	assert_int_equal(used[1], 60);
}

static void test_iov_join(void **state)
{
	static uint8_t page[4096];
	struct iovec in[5] = {
		{ page, 100 }, { page + 100, 200 }, { page + 1000, 0 }, { page + 300, 50 }, { page + 2000, 10 },
	};
	struct iovec out[5];

	/* adjacent pieces join; an empty one neither counts nor breaks a run */
	assert_int_equal(net_iov_join(in, 5, out), 2);
	assert_ptr_equal(out[0].iov_base, page);
	assert_int_equal(out[0].iov_len, 350);
	assert_ptr_equal(out[1].iov_base, page + 2000);
	assert_int_equal(out[1].iov_len, 10);
	/* a piece that comes before its neighbour in memory stays apart */
	in[0] = (struct iovec){ page + 100, 100 };
	in[1] = (struct iovec){ page, 100 };
	assert_int_equal(net_iov_join(in, 2, out), 2);
	assert_int_equal(net_iov_join(in, 0, out), 0);
}

static void test_offload(void **state)
{
	assert_int_equal(net_offload_flags(0), 0);
	/* TSO without GUEST_CSUM would make TUNSETOFFLOAD fail: nothing offered */
	assert_int_equal(net_offload_flags(BIT(VIRTIO_NET_F_GUEST_TSO4)), 0);
	assert_int_equal(net_offload_flags(BIT(VIRTIO_NET_F_GUEST_CSUM)), TUN_F_CSUM);
	assert_int_equal(net_offload_flags(ALL_OFFLOADS), TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_UFO);
	/* the HOST_ side is the guest's TX: it does not change what the TAP sends */
	assert_int_equal(net_offload_flags(BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4)), TUN_F_CSUM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx_lengths), cmocka_unit_test(test_tx_csum), cmocka_unit_test(test_tx_gso),
		cmocka_unit_test(test_spoofed),	   cmocka_unit_test(test_rx_fixup), cmocka_unit_test(test_rx_split),
		cmocka_unit_test(test_iov_join),  cmocka_unit_test(test_offload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
