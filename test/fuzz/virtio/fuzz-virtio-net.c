/* libFuzzer: random guest memory and queue state through queue.c, the mmio
 * transport and net.c's transmit and receive paths, on a real TAP in a
 * private network namespace (made once; the target needs root and says so
 * otherwise). Guest RAM is a malloc'd buffer, so under ASan any access
 * outside the guest lands in a redzone. The transmitted frames go to the
 * TAP, which is down: the kernel drops them. No KVM. */
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/device_env.h"
#include "devices/virtio/net-frame.h"
#include "devices/virtio/net.h"
#include "devices/virtio/tap.h"
#include "log.h"
#include "virtio-driver.h"

#define FUZZ_RAM (1u << 20)
#define FUZZ_USED 0x10000u
#define FUZZ_RX_RING 0x20000u

static struct guest_memory mem;
static int tap_fd = -2;

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
}

/* The receive queue is set up at FUZZ_RX_RING (not fuzzed: the frames the
 * TAP could deliver are few), the transmit queue from the input. */
static void fuzz_rx_queue(struct virtio_mmio *t, uint16_t qn)
{
	vd_write(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	vd_write(t, VIRTIO_MMIO_QUEUE_NUM, qn);
	vd_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW, FUZZ_RX_RING);
	vd_write(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, FUZZ_RX_RING + 0x1000);
	vd_write(t, VIRTIO_MMIO_QUEUE_USED_LOW, FUZZ_RX_RING + 0x2000);
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

/* Layout of an input: flags, a queue-size shift, the features the driver
 * takes (8 bytes), then guest memory from address 0: the transmit
 * descriptor table at 0, its avail ring right after, buffers anywhere. */
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

	if (tap_fd == -2)
		fuzz_init();
	if (tap_fd < 0 || size < 10)
		return 0;
	qn = (uint16_t)(1u << (data[1] % 9));
	memcpy(&want, data + 2, 8);
	cfg.tap_fd = tap_fd;
	if (data[0] & 1)
		cfg.tx_rate_limiter.cfg.bucket[RATE_LIMITER_OPS] = (struct token_bucket_config){ .size = 4, .refill_time_ms = 1000 };
	data += 10;
	size -= 10;
	memset(mem.region[0].host, 0, 0x30000);
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
	virtio_mmio_notify(t, 0);
	virtio_mmio_destroy(t);
	net_destroy(n);
	return 0;
}
