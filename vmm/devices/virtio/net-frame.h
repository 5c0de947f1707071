/* virtio-net's frame rules as pure functions (no fd, no queue, no guest
 * memory), so the unit tests and the fuzzer reach every branch:
 *   - the TX checks: what a guest chain must be before it becomes a writev to
 *     the TAP (a whole vnet header, some data, at most 64 KiB of it, a header
 *     that only uses the offloads the driver negotiated);
 *   - the vnet header translation both ways (virtio 1.2 §5.1.6);
 *   - RX buffer accounting: how a frame read from the TAP spreads over the
 *     chains the guest posted, merged or not;
 *   - the TAP offload flags that match the negotiated features. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Feature bits (virtio 1.2 §5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16

#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1u
#define VIRTIO_NET_HDR_F_DATA_VALID 2u
#define VIRTIO_NET_HDR_GSO_NONE 0u
#define VIRTIO_NET_HDR_GSO_TCPV4 1u
#define VIRTIO_NET_HDR_GSO_UDP 3u
#define VIRTIO_NET_HDR_GSO_TCPV6 4u
#define VIRTIO_NET_HDR_GSO_ECN 0x80u

/* The largest frame a chain may carry after its header: a TSO frame is at
 * most 64 KiB (Linux's GSO_MAX_SIZE). */
#define NET_FRAME_MAX 65536u
#define NET_ETH_HLEN 14u

/* struct virtio_net_hdr_v1: 12 bytes, little-endian (VERSION_1). */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
} __attribute__((packed));

_Static_assert(sizeof(struct virtio_net_hdr) == 12, "virtio_net_hdr_v1 is 12 bytes");

/* Why a TX chain is dropped (each counted in tx_malformed_frames). */
enum net_tx_fault {
	NET_TX_OK = 0,
	NET_TX_SHORT_HDR,  /* fewer than 12 readable bytes */
	NET_TX_NO_DATA,    /* a header and nothing after it */
	NET_TX_TOO_BIG,    /* more than NET_FRAME_MAX after the header */
	NET_TX_BAD_HDR,    /* flags or GSO the driver did not negotiate, or out of the frame */
	NET_TX_HAS_WRITABLE, /* device-writable buffers in a TX chain */
};

/* Checks a TX chain of out_len readable bytes and in_len writable ones,
 * whose first 12 bytes (when out_len >= 12) are hdr. */
enum net_tx_fault net_tx_check(uint32_t out_len, uint32_t in_len, const struct virtio_net_hdr *hdr,
			       uint64_t features);
/* Whether a frame's source MAC (bytes 6..11 of the Ethernet header) differs
 * from mac; frames shorter than an Ethernet header do not count. */
bool net_tx_spoofed(const uint8_t *eth, size_t len, const uint8_t mac[6]);

/* The header as the TAP wrote it into the first RX buffer, made what the
 * driver may see: no checksum flags unless GUEST_CSUM, no GSO unless the
 * matching GUEST_ offload, num_buffers set (the TAP leaves those two bytes
 * alone). Returns false when the frame uses an offload the driver cannot
 * take (TUNSETOFFLOAD should have prevented it): the frame is dropped. */
bool net_rx_hdr_fixup(struct virtio_net_hdr *hdr, uint64_t features, uint16_t num_buffers);

/* How a frame of len bytes (header included) fills the posted RX chains of
 * writable capacity caps[0..n), in order: without MRG_RXBUF the first chain
 * holds it all; with it, as many chains as needed (the header in the first).
 * ret_used[i] is chain i's written length. Returns the number of chains used,
 * -EINVAL when len or caps[0] cannot hold the header (a chain too small is
 * returned empty and counted), or -EMSGSIZE when the frame does not fit what is posted (it
 * is dropped and counted). */
int net_rx_split(size_t len, const uint32_t *caps, unsigned n, bool mergeable, uint32_t *ret_used);

/* Copies in[0..n) to out (room for n), joining neighbours where one ends
 * exactly where the next begins, so that one readv fills several posted
 * buffers with fewer segments for the kernel to import and walk: a guest's
 * receive buffers are often consecutive pieces of one page (Linux carves
 * them from page frags in order). Empty segments are left out. Returns the
 * count written to out; the bytes covered, in order, are unchanged. */
unsigned net_iov_join(const struct iovec *in, unsigned n, struct iovec *out);

/* TUN_F_* flags for TUNSETOFFLOAD: what the TAP may hand the guest. */
unsigned net_offload_flags(uint64_t features);
