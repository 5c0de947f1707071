#include "net-frame.h"

#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <string.h>

#include "tap.h"

#define HAS(f, bit) (((f) >> (bit)) & 1u)

/* The offload each GSO type needs from the driver's side (HOST_*: the
 * device accepts it) or the device's (GUEST_*). */
static bool net_gso_allowed(uint8_t gso_type, uint64_t features, bool host)
{
	switch (gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return HAS(features, host ? VIRTIO_NET_F_HOST_TSO4 : VIRTIO_NET_F_GUEST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return HAS(features, host ? VIRTIO_NET_F_HOST_TSO6 : VIRTIO_NET_F_GUEST_TSO6);
	case VIRTIO_NET_HDR_GSO_UDP:
		return HAS(features, host ? VIRTIO_NET_F_HOST_UFO : VIRTIO_NET_F_GUEST_UFO);
	default:
		return false; /* ECN and unknown types are not offered */
	}
}

/* virtio 1.2 §5.1.6.2: NEEDS_CSUM only with CSUM, and csum_start +
 * csum_offset + 2 inside the frame (the kernel's virtio_net_hdr_to_skb()
 * refuses otherwise; checking here counts it instead of a failed writev). */
static bool net_tx_hdr_ok(const struct virtio_net_hdr *h, uint32_t data_len, uint64_t features)
{
	uint16_t start = le16toh(h->csum_start), off = le16toh(h->csum_offset);

	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return false;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!HAS(features, VIRTIO_NET_F_CSUM) || (uint32_t)start + off + 2 > data_len)
			return false;
	}
	if (!net_gso_allowed(h->gso_type, features, true))
		return false;
	/* GSO needs the checksum offload too, and a segment size. */
	return h->gso_type == VIRTIO_NET_HDR_GSO_NONE ||
	       ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && le16toh(h->gso_size) != 0);
}

enum net_tx_fault net_tx_check(uint32_t out_len, uint32_t in_len, const struct virtio_net_hdr *hdr,
			       uint64_t features)
{
	if (in_len)
		return NET_TX_HAS_WRITABLE;
	if (out_len < TAP_VNET_HDR_LEN)
		return NET_TX_SHORT_HDR;
	if (out_len == TAP_VNET_HDR_LEN)
		return NET_TX_NO_DATA;
	if (out_len - TAP_VNET_HDR_LEN > NET_FRAME_MAX)
		return NET_TX_TOO_BIG;
	if (!net_tx_hdr_ok(hdr, out_len - TAP_VNET_HDR_LEN, features))
		return NET_TX_BAD_HDR;
	return NET_TX_OK;
}

bool net_tx_spoofed(const uint8_t *eth, size_t len, const uint8_t mac[6])
{
	return len >= NET_ETH_HLEN && memcmp(eth + 6, mac, 6) != 0;
}

bool net_rx_hdr_fixup(struct virtio_net_hdr *hdr, uint64_t features, uint16_t num_buffers)
{
	if (!HAS(features, VIRTIO_NET_F_GUEST_CSUM)) {
		/* §5.1.6.3.1: without GUEST_CSUM the device sets flags to zero. */
		if (hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			return false;
		hdr->flags = 0;
	}
	hdr->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	if (!net_gso_allowed(hdr->gso_type, features, false))
		return false;
	hdr->num_buffers = htole16(num_buffers);
	return true;
}

int net_rx_split(size_t len, const uint32_t *caps, unsigned n, bool mergeable, uint32_t *ret_used)
{
	size_t left = len;
	unsigned i;

	if (len < TAP_VNET_HDR_LEN || (n && caps[0] < TAP_VNET_HDR_LEN))
		return -EINVAL;
	if (n == 0)
		return -EMSGSIZE;
	if (!mergeable) {
		if (len > caps[0])
			return -EMSGSIZE;
		ret_used[0] = (uint32_t)len;
		return 1;
	}
	for (i = 0; i < n && left; i++) {
		uint32_t take = left < caps[i] ? (uint32_t)left : caps[i];

		ret_used[i] = take;
		left -= take;
	}
	/* num_buffers is a u16; the queue size (256) bounds n well below. */
	return left ? -EMSGSIZE : (int)i;
}

unsigned net_iov_join(const struct iovec *in, unsigned n, struct iovec *out)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		if (!in[i].iov_len)
			continue;
		if (k && (const char *)out[k - 1].iov_base + out[k - 1].iov_len == (const char *)in[i].iov_base)
			out[k - 1].iov_len += in[i].iov_len;
		else
			out[k++] = in[i];
	}
	return k;
}

unsigned net_offload_flags(uint64_t features)
{
	unsigned f = 0;

	/* The kernel refuses TSO/UFO without TUN_F_CSUM, and the spec ties
	 * GUEST_TSO and GUEST_UFO to GUEST_CSUM. */
	if (!HAS(features, VIRTIO_NET_F_GUEST_CSUM))
		return 0;
	f |= TUN_F_CSUM;
	if (HAS(features, VIRTIO_NET_F_GUEST_TSO4))
		f |= TUN_F_TSO4;
	if (HAS(features, VIRTIO_NET_F_GUEST_TSO6))
		f |= TUN_F_TSO6;
	if (HAS(features, VIRTIO_NET_F_GUEST_UFO))
		f |= TUN_F_UFO;
	return f;
}
