/* libFuzzer: virtio-net's frame rules on arbitrary bytes: a vnet header, the
 * chain lengths and negotiated features for the TX checks and the RX header
 * translation, then a list of posted RX buffer sizes for the accounting.
 * Oracles: an accepted TX frame fits NET_FRAME_MAX and keeps its checksum
 * field inside the data; an RX split uses only posted chains, each within
 * its capacity, and adds up to the frame. */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/net-frame.h"
#include "devices/virtio/tap.h"

struct frame_input {
	struct virtio_net_hdr hdr;
	uint32_t out_len, in_len, rx_len;
	uint64_t features;
	uint8_t mergeable;
} __attribute__((packed));

static void check_tx(const struct frame_input *in)
{
	enum net_tx_fault f = net_tx_check(in->out_len, in->in_len, &in->hdr, in->features);

	if (f != NET_TX_OK)
		return;
	if (in->in_len || in->out_len <= TAP_VNET_HDR_LEN || in->out_len - TAP_VNET_HDR_LEN > NET_FRAME_MAX)
		abort();
	if ((in->hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (uint32_t)le16toh(in->hdr.csum_start) + le16toh(in->hdr.csum_offset) + 2 > in->out_len - TAP_VNET_HDR_LEN)
		abort();
}

static void check_rx(const struct frame_input *in, const uint8_t *rest, size_t size)
{
	uint32_t caps[64], used[64];
	unsigned n = (unsigned)(size / 4 < 64 ? size / 4 : 64);
	struct virtio_net_hdr h = in->hdr;
	uint64_t sum = 0;
	int r;

	memcpy(caps, rest, n * 4);
	r = net_rx_split(in->rx_len, caps, n, in->mergeable & 1, used);
	if (r >= 0) {
		if (r == 0 || (unsigned)r > n || (!(in->mergeable & 1) && r != 1))
			abort();
		for (int i = 0; i < r; i++) {
			if (used[i] > caps[i])
				abort();
			sum += used[i];
		}
		if (sum != in->rx_len)
			abort();
	}
	if (net_rx_hdr_fixup(&h, in->features, (uint16_t)(r > 0 ? r : 1)) &&
	    !((in->features >> VIRTIO_NET_F_GUEST_CSUM) & 1) && h.flags)
		abort();
	(void)net_offload_flags(in->features);
	(void)net_tx_spoofed(rest, size, (const uint8_t *)&in->hdr);
}

/* The receive buffers' iovecs as the input lays them out (place, length
 * pairs in an arena, never touched; an even place means right after the
 * previous piece, so runs of neighbours are common): the join must cover
 * the same bytes in the same order, with no empty or adjacent pieces left. */
static void check_join(const uint8_t *rest, size_t size)
{
	static uint8_t arena[65536 * 66];
	uint8_t *end = arena;
	struct iovec in[64], out[64];
	unsigned n = (unsigned)(size / 4 < 64 ? size / 4 : 64), k;
	size_t j = 0, off_out = 0, total = 0;

	for (unsigned i = 0; i < n; i++) {
		uint16_t o, l;

		memcpy(&o, rest + 4 * i, 2);
		memcpy(&l, rest + 4 * i + 2, 2);
		in[i] = (struct iovec){ o & 1 ? arena + o : end, l };
		end = (uint8_t *)in[i].iov_base + l;
		total += l;
	}
	k = net_iov_join(in, n, out);
	if (k > n)
		abort();
	for (unsigned i = 0; i < k; i++) {
		if (!out[i].iov_len || (i && (uint8_t *)out[i - 1].iov_base + out[i - 1].iov_len == out[i].iov_base))
			abort();
		off_out += out[i].iov_len;
	}
	if (off_out != total)
		abort();
	/* piece by piece, the same addresses in the same order */
	for (unsigned i = 0, oi = 0; i < n; i++) {
		if (!in[i].iov_len)
			continue;
		if (oi >= k || (uint8_t *)in[i].iov_base != (uint8_t *)out[oi].iov_base + j)
			abort();
		j += in[i].iov_len;
		if (j > out[oi].iov_len)
			abort();
		if (j == out[oi].iov_len)
			oi++, j = 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_input in;

	if (size < sizeof(in))
		return 0;
	memcpy(&in, data, sizeof(in));
	check_tx(&in);
	check_rx(&in, data + sizeof(in), size - sizeof(in));
	check_join(data + sizeof(in), size - sizeof(in));
	return 0;
}
