/* libFuzzer: random guest memory and queue state through queue.c, the mmio
 * transport and net.c's transmit and receive paths, on a real TAP in a
 * private network namespace (made once; the target needs root and says so
 * otherwise). Guest RAM is a malloc'd buffer, so under ASan any access
 * outside the guest lands in a redzone. The transmitted frames go into the
 * namespace's stack, which has no address: the kernel drops them. For the
 * receive path the harness sends frames into the TAP from the kernel side
 * (AF_PACKET) and, as a driver would, offers the buffers the device used
 * again for a few rounds, so the device's held-buffer bookkeeping wraps.
 * No KVM. */
#include <errno.h>
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
#include <sys/uio.h>
#include <unistd.h>

#include "core/device_env.h"
#include "devices/virtio/net-frame.h"
#include "devices/virtio/net.h"
#include "devices/virtio/tap.h"
#include "log.h"
#include "virtio-driver.h"

#define FUZZ_RAM (1u << 20)
#define FUZZ_USED 0x10000u
#define FUZZ_RX_DESC 0x1800u /* the receive ring from the input too (within -max_len) */
#define FUZZ_RX_USED 0x18000u
#define FUZZ_RX_ROUNDS 4u

static struct guest_memory mem;
static int tap_fd = -2;
static int pkt_fd = -1;
static int tap_index;

/* Up after the attach (carrier on), so frames sent on it reach the fd; a
 * packet socket to send frames into it from the kernel side. */
static void fuzz_tap_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "fuzztap0");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		abort();
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		abort();
	close(s);
	tap_index = (int)if_nametoindex("fuzztap0");
	pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (pkt_fd < 0 || tap_index <= 0)
		abort();
}

static void fuzz_init(void)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	char err[256];
	int fd;

	mem.nr_regions = 1;
	mem.ram_size = FUZZ_RAM;
	mem.region[0] = (struct guest_region){ .gpa = 0, .size = FUZZ_RAM, .host = malloc(FUZZ_RAM) };
	if (!mem.region[0].host)
		abort();
	log_set_level(LOG_OFF);
	tap_fd = -1;
	/* tun makes the TAP in the namespace the fd was opened in: unshare first */
	fd = unshare(CLONE_NEWNET) < 0 ? -1 : open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "fuzztap0");
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) {
		fprintf(stderr, "fuzz-virtio-net: needs root and /dev/net/tun for a TAP in a private netns; not fuzzing\n");
		return;
	}
	close(fd);
	tap_fd = tap_open("fuzztap0", err, sizeof(err));
	if (tap_fd < 0)
		fprintf(stderr, "fuzz-virtio-net: %s\n", err);
	else
		fuzz_tap_up();
}

/* count frames of len bytes (a broadcast Ethernet header, then zeros)
 * into the TAP; they wait there for the device. */
static void fuzz_inject(unsigned count, unsigned len)
{
	static uint8_t frame[1514];
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = tap_index, .sll_halen = 6 };

	memset(frame, 0xff, 6);
	memcpy(frame + 6, "\x02\x00\x00\x00\x00\x02\x88\xb5", 8); /* local experimental ethertype */
	for (unsigned i = 0; i < count; i++)
		(void)sendto(pkt_fd, frame, len, 0, (struct sockaddr *)&to, sizeof(to));
}

/* What the device left in the TAP goes, so inputs do not leak into each other. */
static void fuzz_drain(void)
{
	static uint8_t buf[70000];

	while (read(tap_fd, buf, sizeof(buf)) >= 0 || errno == EINTR)
		;
}

/* The driver's refill: every used receive buffer offered again, then a kick. */
static void fuzz_rx_rounds(struct virtio_mmio *t, uint16_t qn)
{
	uint8_t *g = mem.region[0].host;
	uint16_t seen = 0, idx, avail;
	uint32_t avail_at = FUZZ_RX_DESC + 16u * qn;

	for (unsigned r = 0; r < FUZZ_RX_ROUNDS; r++) {
		memcpy(&idx, g + FUZZ_RX_USED + 2, 2);
		memcpy(&avail, g + avail_at + 2, 2);
		for (; seen != idx; seen++, avail++) {
			uint32_t id;

			memcpy(&id, g + FUZZ_RX_USED + 4 + 8u * (seen % qn), 4);
			memcpy(g + avail_at + 4 + 2u * (avail % qn), &id, 2);
		}
		memcpy(g + avail_at + 2, &avail, 2);
		virtio_mmio_notify(t, 0);
	}
}

/* The receive ring's descriptors and avail ring come from the input at
 * FUZZ_RX_DESC (they may overlap the transmit side: a hostile guest's
 * choice); its used ring is beyond what the input fills. */
static void fuzz_rx_queue(struct virtio_mmio *t, uint16_t qn)
{
	vd_write(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	vd_write(t, VIRTIO_MMIO_QUEUE_NUM, qn);
	vd_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW, FUZZ_RX_DESC);
	vd_write(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, FUZZ_RX_DESC + 16u * qn);
	vd_write(t, VIRTIO_MMIO_QUEUE_USED_LOW, FUZZ_RX_USED);
	vd_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
}

static void fuzz_tx_queue(struct virtio_mmio *t, uint16_t qn)
{
	vd_write(t, VIRTIO_MMIO_QUEUE_SEL, 1);
	vd_write(t, VIRTIO_MMIO_QUEUE_NUM, qn);
	vd_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	vd_write(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 16u * qn);
	vd_write(t, VIRTIO_MMIO_QUEUE_USED_LOW, FUZZ_USED);
	vd_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Layout of an input: flags (bit 0: a TX ops limiter; bits 2-6: frames
 * sent into the TAP before the receive kick), the queue-size shift (modulo
 * 9; the rest picks those frames' length), the features the driver takes
 * (8 bytes), then guest memory from address 0: the transmit descriptor
 * table at 0, its avail ring right after, the receive ring's at
 * FUZZ_RX_DESC, buffers anywhere. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct device_env env = { .vm_fd = -1, .mem = &mem };
	struct net_config cfg = { .iface_id = "fuzz", .host_dev_name = "fuzztap0", .has_mac = true,
				  .guest_mac = { 2, 0, 0, 0, 0, 1 } };
	struct net *n = NULL;
	struct virtio_mmio *t;
	uint64_t want;
	uint16_t qn;
	unsigned frames, frame_len;

	if (tap_fd == -2)
		fuzz_init();
	if (tap_fd < 0 || size < 10)
		return 0;
	qn = (uint16_t)(1u << (data[1] % 9));
	frames = (data[0] >> 2) & 31;
	frame_len = 14 + (data[1] / 9) * 53; /* 14 to 1498 bytes */
	memcpy(&want, data + 2, 8);
	cfg.tap_fd = tap_fd;
	if (data[0] & 1)
		cfg.tx_rate_limiter.cfg.bucket[RATE_LIMITER_OPS] = (struct token_bucket_config){ .size = 4, .refill_time_ms = 1000 };
	data += 10;
	size -= 10;
	memset(mem.region[0].host, 0, 0x20000);
	if (net_create(&env, &cfg, NULL, &n) < 0 || virtio_mmio_create(&env, 0, net_virtio(n), &t) < 0)
		abort();
	vd_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32) | 1u);
	vd_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	fuzz_rx_queue(t, qn);
	fuzz_tx_queue(t, qn);
	vd_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
						 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	memcpy(mem.region[0].host, data, size < FUZZ_USED ? size : FUZZ_USED);
	virtio_mmio_notify(t, 1);
	fuzz_inject(frames, frame_len);
	virtio_mmio_notify(t, 0);
	fuzz_rx_rounds(t, qn);
	virtio_mmio_destroy(t);
	net_destroy(n);
	fuzz_drain();
	return 0;
}
