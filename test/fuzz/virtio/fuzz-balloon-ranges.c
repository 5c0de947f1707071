/* libFuzzer: the balloon device on its queues, guest RAM chosen by the input:
 * hinted and reported ranges (free_page_vq, reporting_vq), inflate and
 * deflate PFN buffers, the stats buffer, and a hinting run the host starts,
 * through the virtio-mmio transport, queue.c, balloon.c and the page
 * discards. Guest RAM is two heap regions with a gap between them (as around
 * the MMIO gap), so ASan reports any access outside the guest, and a
 * madvise() anywhere but the guest's pages would zero the harness's own
 * canaries, which are checked. No KVM. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/device_env.h"
#include "devices/virtio/balloon.h"
#include "log.h"
#include "virtio-driver.h"

#define RAM0 (1u << 20)
#define RAM1 (64u << 10)
#define HIGH (1ull << 32)
#define IMAGE 0x20000u /* the input covers guest RAM from 0 up to here */
#define QN 16u
/* queue q's rings at VD_RING_STRIDE * q (test/helpers/virtio-driver.h): its
 * descriptor table, its avail ring at + 0x1000, its used ring at + 0x2000 */
#define CANARY 0xa5

static struct guest_memory mem;
static uint8_t *canary;

static void fuzz_init(void)
{
	mem.nr_regions = 2;
	mem.ram_size = RAM0 + RAM1;
	mem.region[0] = (struct guest_region){ .gpa = 0, .size = RAM0, .host = aligned_alloc(4096, RAM0) };
	mem.region[1] = (struct guest_region){ .gpa = HIGH, .size = RAM1, .host = aligned_alloc(4096, RAM1) };
	canary = aligned_alloc(4096, 4096);
	if (!mem.region[0].host || !mem.region[1].host || !canary)
		abort();
	memset(canary, CANARY, 4096);
	log_set_level(LOG_OFF);
}

/* Layout of an input: the features the driver takes (a byte: bit 0 stats,
 * 1 hinting, 2 reporting), a byte of host actions (bit 0: start a hinting
 * run first, bit 1: with acknowledge_on_stop, bit 2: stop it at the end, bit
 * 3: a new target), a byte naming the order of queue notifications, then
 * guest RAM from address 0: each queue's descriptor table at 0x4000 * q,
 * its avail ring at + 0x1000, buffers anywhere. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct balloon_config cfg = { .amount_mib = 1, .stats_polling_interval_s = 1, .free_page_hinting = true,
				      .free_page_reporting = true };
	struct device_env env = { .vm_fd = -1, .mem = &mem };
	struct balloon_request req = { 0 };
	struct balloon *b = NULL;
	struct virtio_mmio *t;
	struct vd_driver drv;
	uint64_t features = 0;
	uint8_t take, host, order;
	unsigned nq;

	if (!mem.nr_regions)
		fuzz_init();
	if (size < 3)
		return 0;
	take = data[0];
	host = data[1];
	order = data[2];
	data += 3;
	size -= 3;
	features |= take & 1 ? 1ull << BALLOON_F_STATS_VQ : 0;
	features |= take & 2 ? 1ull << BALLOON_F_FREE_PAGE_HINT : 0;
	features |= take & 4 ? 1ull << BALLOON_F_PAGE_REPORTING : 0;
	nq = 2 + !!(take & 1) + !!(take & 2) + !!(take & 4);
	memset(mem.region[0].host, 0, IMAGE);
	if (balloon_create(&env, &cfg, &b) < 0 || virtio_mmio_create(&env, 0, balloon_virtio(b), &t) < 0 ||
	    vd_start(&drv, &mem, t, nq, QN, 0, features) < 0)
		abort();
	/* the rings as the input has them, after the driver's set-up zeroed them */
	memcpy(mem.region[0].host, data, size < IMAGE ? size : IMAGE);
	if (host & 1) {
		req = (struct balloon_request){ .op = BALLOON_OP_HINT_START, .ack_on_stop = host & 2 };
		balloon_request(b, &req);
	}
	if (host & 8) {
		req = (struct balloon_request){ .op = BALLOON_OP_RESIZE, .amount_mib = order & 3 };
		balloon_request(b, &req);
	}
	for (unsigned i = 0; i < nq + 2; i++)
		virtio_mmio_notify(t, (uint16_t)((order + i) % (nq + 1))); /* one past the last: no such queue */
	if (host & 4) {
		req = (struct balloon_request){ .op = BALLOON_OP_HINT_STOP };
		balloon_request(b, &req);
	}
	req = (struct balloon_request){ .op = BALLOON_OP_STATS };
	if (balloon_request(b, &req) == 0)
		json_decref(req.reply);
	virtio_mmio_destroy(t);
	balloon_destroy(b);
	for (unsigned i = 0; i < 4096; i++)
		if (canary[i] != CANARY)
			abort();
	return 0;
}
