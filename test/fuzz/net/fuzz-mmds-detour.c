/* libFuzzer: arbitrary frames through virtio-net's real transmit path on an
 * interface with the MMDS enabled (queue.c, the mmio transport, net.c's
 * detour, every layer of net/ and the HTTP server behind it), answers pulled
 * through its receive path, on a real TAP in a private network namespace
 * (made once; the target needs root and says so otherwise). No KVM.
 *
 * The oracle is written apart from the detour: a packet socket on the TAP
 * sees every frame the device wrote to it, and none may be addressed to the
 * MMDS MAC, or be ARP or IPv4 (also behind one or two VLAN tags) for the
 * MMDS IP. Every frame the device hands the guest must be one the stack
 * could have written: from the MMDS MAC, ARP or IPv4 with TTL 1 from the
 * MMDS IP, checksums right.
 *
 * Input: a flags byte (1: the chains' virtio headers ask for checksum
 * offload; 2: the harness fixes IPv4 and TCP checksums and 4: points IPv4
 * and ARP at the MMDS IP, so that the TCP state machine is reached; 8: the
 * receive buffers are merged; 16: a TCP segment's ACK field is set to what
 * the stack sent last, whose initial sequence number the input cannot know),
 * then frames, each a 2-byte length (mod 1600),
 * a split point and its bytes. Up to 16 frames. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/mmds.h"
#include "core/device_env.h"
#include "devices/virtio/net-frame.h"
#include "devices/virtio/net.h"
#include "devices/virtio/tap.h"
#include "log.h"
#include "mmds/guest.h"
#include "mmds/store.h"
#include "net/bytes.h"
#include "net/ipv4.h"
#include "net/stack.h"
#include "virtio-driver.h"

#define TAP_NAME "fuzzmmds0"
#define FUZZ_RAM (1u << 20)
#define QN 64u
#define TXQ_RING 0x1000u
#define RXQ_RING 0x5000u
#define TX_BUF(i) (0x10000u + 0x800u * (i))
#define RX_BUF(i) (0x40000u + 0x800u * (i))
#define MAX_FRAMES 16u
#define MMDS_IP 0xa9fea9feu

static struct guest_memory mem;
static int tap_fd = -2, pkt_fd = -1;
static struct mmds_store *store;
static struct mmds_guest *guest;
static uint32_t ack_hint; /* the sequence number after the stack's last segment */

static void fuzz_tap_up(void)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd, s;

	fd = unshare(CLONE_NEWNET) < 0 ? -1 : open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), TAP_NAME);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) {
		fprintf(stderr, "fuzz-mmds-detour: needs root and /dev/net/tun for a TAP in a private netns; not fuzzing\n");
		tap_fd = -1;
		return;
	}
	close(fd);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		abort();
	ifr.ifr_flags |= IFF_UP; /* a TAP that is down refuses writes: the oracle would see nothing */
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		abort();
	close(s);
}

static void fuzz_init(void)
{
	struct mmds_config cfg = { .enabled = true, .version = MMDS_V2, .ipv4_address = MMDS_IP, .iface_count = 1 };
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(0x0003) /* ETH_P_ALL */ };
	json_t *data = json_pack("{s:{s:s,s:[i,i]}}", "latest", "meta", "data", "list", 1, 2);
	char err[256];

	log_set_level(LOG_OFF);
	mem.nr_regions = 1;
	mem.ram_size = FUZZ_RAM;
	mem.region[0] = (struct guest_region){ .gpa = 0, .size = FUZZ_RAM, .host = calloc(1, FUZZ_RAM) };
	snprintf(cfg.iface_id[0], sizeof(cfg.iface_id[0]), "fuzz");
	if (!mem.region[0].host || mmds_store_new(51200, &store) < 0 || mmds_store_put(store, data) < 0 ||
	    mmds_guest_new(store, "fuzz-vm", NULL, &guest) < 0)
		abort();
	json_decref(data);
	mmds_guest_configure(guest, &cfg);
	fuzz_tap_up();
	if (tap_fd == -1)
		return;
	tap_fd = tap_open(TAP_NAME, err, sizeof(err));
	ll.sll_ifindex = (int)if_nametoindex(TAP_NAME);
	pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(0x0003));
	if (tap_fd < 0 || pkt_fd < 0 || bind(pkt_fd, (struct sockaddr *)&ll, sizeof(ll)) < 0) {
		fprintf(stderr, "fuzz-mmds-detour: %s\n", tap_fd < 0 ? err : "no packet socket");
		tap_fd = -1;
	}
}

/* The oracle's own reading of "addressed to the MMDS". */
static int for_mmds(const uint8_t *f, size_t len)
{
	size_t off = 12;
	uint16_t type;

	if (len >= 6 && !memcmp(f, MMDS_MAC, 6))
		return 1;
	for (int tags = 0; len >= off + 2; tags++) {
		type = net_get16(f + off);
		if ((type == 0x8100 || type == 0x88a8) && tags < 2) {
			off += 4;
			continue;
		}
		if (type == 0x0806 && len >= off + 2 + 28 && net_get32(f + off + 2 + 24) == MMDS_IP)
			return 1;
		if (type == 0x0800 && len >= off + 2 + 20 && net_get32(f + off + 2 + 16) == MMDS_IP)
			return 1;
		break;
	}
	return 0;
}

static void check_tap(void)
{
	uint8_t f[70000];
	struct sockaddr_ll from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	while ((n = recvfrom(pkt_fd, f, sizeof(f), 0, (struct sockaddr *)&from, &fl)) > 0) {
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue; /* the kernel's own frames, toward the guest */
		if (for_mmds(f, (size_t)n)) {
			fprintf(stderr, "fuzz-mmds-detour: a %zd-byte frame for the MMDS reached the TAP\n", n);
			abort();
		}
		fl = sizeof(from);
	}
}

/* Fixes what flags 2 and 4 ask of one frame (len bytes). */
static void fuzz_fixup(uint8_t *f, size_t len, uint8_t flags)
{
	uint16_t type = len >= 14 ? net_get16(f + 12) : 0;
	uint8_t *ip = f + 14;

	if ((flags & 4) && type == 0x0806 && len >= 14 + 28)
		net_put32(ip + 24, MMDS_IP);
	if (type != 0x0800 || len < 14 + 20)
		return;
	if (flags & 4)
		net_put32(ip + 16, MMDS_IP);
	if ((flags & 16) && ip[9] == 6 && (ip[0] & 0xf) == 5 && len >= 14 + 20 + 20)
		net_put32(ip + 20 + 8, ack_hint);
	if (flags & 2) {
		size_t ihl = (size_t)(ip[0] & 0xf) * 4, total = net_get16(ip + 2);

		if (ihl < 20 || ihl > len - 14)
			return;
		net_put16(ip + 10, 0);
		net_put16(ip + 10, inet_fold(inet_sum(ip, ihl, 0)));
		if (ip[9] == 6 && total >= ihl + 20 && total <= len - 14) {
			uint8_t ph[12];
			uint8_t *t = ip + ihl;
			size_t tl = total - ihl;

			memcpy(ph, ip + 12, 8);
			ph[8] = 0, ph[9] = 6;
			net_put16(ph + 10, (uint16_t)tl);
			net_put16(t + 16, 0);
			net_put16(t + 16, inet_fold(inet_sum(t, tl, inet_sum(ph, 12, 0))));
		}
	}
}

static void check_rx(struct virtio_mmio *t, uint16_t *seen)
{
	uint16_t used = 0;

	guest_memory_read(&mem, RXQ_RING + 0x2000 + 2, &used, 2);
	for (; *seen != used; (*seen)++) {
		uint32_t id, len;
		uint8_t *f;

		guest_memory_read(&mem, RXQ_RING + 0x2000 + 4 + 8u * (*seen % QN), &id, 4);
		guest_memory_read(&mem, RXQ_RING + 0x2000 + 8 + 8u * (*seen % QN), &len, 4);
		if (id >= QN || len > 0x800)
			abort();
		f = (uint8_t *)mem.region[0].host + RX_BUF(id) + 12;
		/* only the stack writes to this guest (the TAP's peer is the kernel, which sends nothing here
		 * but IPv6 noise, disabled or not from the MMDS MAC) */
		if (len < 12 + 14 || memcmp(f + 6, MMDS_MAC, 6))
			continue;
		if (net_get16(f + 12) == 0x0800) {
			struct ipv4_view v;
			struct tcp_seg s;

			if (ipv4_parse(f + 14, len - 12 - 14, &v) < 0 || f[14 + 8] != 1 || v.src != MMDS_IP ||
			    tcp_parse(v.payload, v.len, v.src, v.dst, true, &s) < 0)
				abort();
			ack_hint = s.seq + (uint32_t)s.len + !!(s.flags & (TCP_SYN | TCP_FIN));
		} else if (net_get16(f + 12) != 0x0806) {
			abort();
		}
	}
}

static void fuzz_queue(struct virtio_mmio *t, unsigned q, uint32_t ring)
{
	vd_write(t, VIRTIO_MMIO_QUEUE_SEL, q);
	vd_write(t, VIRTIO_MMIO_QUEUE_NUM, QN);
	vd_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW, ring);
	vd_write(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, ring + 0x1000);
	vd_write(t, VIRTIO_MMIO_QUEUE_USED_LOW, ring + 0x2000);
	vd_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
}

static struct virtio_mmio *fuzz_device(struct net **ret, bool merged)
{
	struct device_env env = { .vm_fd = -1, .mem = &mem, .mmds = guest };
	struct net_config cfg = { .iface_id = "fuzz", .host_dev_name = TAP_NAME, .tap_fd = tap_fd };
	uint64_t want = (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |
			(merged ? 1ull << VIRTIO_NET_F_MRG_RXBUF : 0);
	struct virtio_mmio *t;

	if (net_create(&env, &cfg, NULL, ret) < 0 || virtio_mmio_create(&env, 0, net_virtio(*ret), &t) < 0)
		abort();
	vd_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES, 1u);
	vd_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	fuzz_queue(t, 0, RXQ_RING);
	fuzz_queue(t, 1, TXQ_RING);
	vd_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
						 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	return t;
}

static void fuzz_post_rx(void)
{
	for (uint16_t i = 0; i < QN; i++) {
		struct virtq_desc d = { .addr = RX_BUF(i), .len = 0x800, .flags = VIRTQ_DESC_F_WRITE };

		guest_memory_write(&mem, RXQ_RING + 16u * i, &d, sizeof(d));
		guest_memory_write(&mem, RXQ_RING + 0x1000 + 4 + 2u * i, &i, 2);
	}
	{
		uint16_t idx = QN;

		guest_memory_write(&mem, RXQ_RING + 0x1000 + 2, &idx, 2);
	}
}

/* Frame i as two descriptors (header and the first cut bytes, then the rest). */
static void fuzz_offer_tx(uint16_t i, const uint8_t *frame, size_t len, size_t cut, uint8_t flags)
{
	struct virtio_net_hdr h = { 0 };
	uint8_t *buf = (uint8_t *)mem.region[0].host + TX_BUF(i);
	struct virtq_desc d[2];
	uint16_t idx = (uint16_t)(i + 1);

	if ((flags & 1) && len >= 34) {
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.csum_start = 34;
		h.csum_offset = 16;
	}
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), frame, len);
	fuzz_fixup(buf + sizeof(h), len, flags);
	cut = cut % (len + sizeof(h) + 1);
	d[0] = (struct virtq_desc){ .addr = TX_BUF(i), .len = (uint32_t)cut, .flags = VIRTQ_DESC_F_NEXT,
				    .next = (uint16_t)(2 * i + 1) };
	d[1] = (struct virtq_desc){ .addr = TX_BUF(i) + cut, .len = (uint32_t)(len + sizeof(h) - cut) };
	if (!cut)
		d[0] = d[1];
	guest_memory_write(&mem, TXQ_RING + 32u * i, d, sizeof(d));
	{
		uint16_t head = (uint16_t)(2 * i);

		guest_memory_write(&mem, TXQ_RING + 0x1000 + 4 + 2u * i, &head, 2);
	}
	guest_memory_write(&mem, TXQ_RING + 0x1000 + 2, &idx, 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_mmio *t;
	struct net *n;
	uint16_t rx_seen = 0;
	uint8_t flags;

	if (tap_fd == -2)
		fuzz_init();
	if (tap_fd < 0 || size < 1)
		return 0;
	flags = data[0];
	data++, size--;
	memset(mem.region[0].host, 0, 0x10000);
	t = fuzz_device(&n, flags & 8);
	fuzz_post_rx();
	virtio_mmio_notify(t, 0);
	for (uint16_t i = 0; i < MAX_FRAMES && size >= 3; i++) {
		size_t len = (size_t)(data[0] | data[1] << 8) % 1600, cut = data[2];

		data += 3, size -= 3;
		if (len > size)
			len = size;
		fuzz_offer_tx(i, data, len, cut, flags);
		data += len, size -= len;
		virtio_mmio_notify(t, 1);
		check_rx(t, &rx_seen);
	}
	check_tap();
	virtio_mmio_destroy(t);
	net_destroy(n);
	return 0;
}
