/* libFuzzer: random guest memory plus queue state through queue.c, the mmio
 * transport and rng.c, with and without a rate limiter. Guest RAM is a
 * malloc'd buffer, so under ASan any write outside the guest lands in a
 * redzone and is reported. No KVM; the host RNG is a counter (fast and
 * deterministic), and every 8th input makes it fail. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/device_env.h"
#include "devices/virtio/rng.h"
#include "log.h"
#include "virtio-driver.h"

#define FUZZ_RAM (1u << 20)
#define FUZZ_USED 0x10000u

static struct guest_memory mem;
static bool fill_fails;

static ssize_t fuzz_fill(void *buf, size_t len, unsigned flags)
{
	if (fill_fails) {
		errno = EAGAIN;
		return -1;
	}
	memset(buf, 0xa5, len);
	return (ssize_t)len;
}

static uint64_t fuzz_clock(void)
{
	return 1;
}

static void fuzz_init(void)
{
	mem.nr_regions = 1;
	mem.ram_size = FUZZ_RAM;
	mem.region[0] = (struct guest_region){ .gpa = 0, .size = FUZZ_RAM, .host = malloc(FUZZ_RAM) };
	if (!mem.region[0].host)
		abort();
	log_set_level(LOG_OFF);
}

/* Layout of an input: flags, queue-size shift, then guest memory from
 * address 0 (descriptor table at 0, avail ring right after it, used ring at
 * FUZZ_USED). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct device_env env = { .vm_fd = -1, .mem = &mem };
	struct entropy_config cfg = { 0 };
	struct rng_options opts = { .clock = fuzz_clock, .fill = fuzz_fill };
	struct rng_dev *g = NULL;
	struct virtio_mmio *t;
	uint8_t flags;
	uint16_t qn;

	if (!mem.region[0].host)
		fuzz_init();
	if (size < 2)
		return 0;
	flags = data[0];
	qn = (uint16_t)(1u << (data[1] % 10)); /* 1..512: 512 must be refused */
	data += 2;
	size -= 2;
	fill_fails = (flags & 7) == 7;
	if (flags & 8) {
		cfg.rate_limiter.present = true;
		cfg.rate_limiter.cfg.bucket[RATE_LIMITER_BANDWIDTH] = (struct token_bucket_config){ .size = 8192, .refill_time_ms = 100 };
		cfg.rate_limiter.cfg.bucket[RATE_LIMITER_OPS] = (struct token_bucket_config){ .size = 2, .refill_time_ms = 100 };
	}
	memset(mem.region[0].host, 0, 0x20000);
	if (rng_create(&env, &cfg, &opts, &g) < 0 || virtio_mmio_create(&env, 0, rng_virtio(g), &t) < 0)
		abort();
	vd_init_at(t, qn, flags & 16 ? ~0ull : (1ull << VIRTIO_F_EVENT_IDX) | (1ull << VIRTIO_F_INDIRECT_DESC), 0,
		   16u * qn, FUZZ_USED);
	memcpy(mem.region[0].host, data, size < FUZZ_USED ? size : FUZZ_USED);
	virtio_mmio_notify(t, 0);
	rng_timer_fired(g);
	virtio_mmio_notify(t, 0);
	virtio_mmio_destroy(t);
	rng_destroy(g);
	return 0;
}
