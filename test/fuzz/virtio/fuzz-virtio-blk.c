/* libFuzzer: random guest memory plus queue state through queue.c, the mmio
 * transport and block.c. Guest RAM is a malloc'd buffer, so under ASan any
 * access outside the guest lands in a redzone and is reported. No KVM. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/device_env.h"
#include "log.h"
#include "virtio-driver.h"

#define FUZZ_RAM (1u << 20)
#define FUZZ_DISK (64u << 10)
#define FUZZ_USED 0x10000u

static struct guest_memory mem;
static int disk_fd = -1;

static void fuzz_init(void)
{
	mem.nr_regions = 1;
	mem.ram_size = FUZZ_RAM;
	mem.region[0] = (struct guest_region){ .gpa = 0, .size = FUZZ_RAM, .host = malloc(FUZZ_RAM) };
	disk_fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
	if (!mem.region[0].host || disk_fd < 0 || ftruncate(disk_fd, FUZZ_DISK) < 0)
		abort();
	log_set_level(LOG_OFF);
}

/* Layout of an input: flags, queue-size shift, then up to 8 register writes
 * (offset byte ×4, 32-bit value) applied after the driver set-up, then guest
 * memory from address 0. The descriptor table sits at 0 and the avail ring
 * right after it, so short inputs reach the chain walker; the used ring is at
 * FUZZ_USED, where the device writes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct device_env env = { .vm_fd = -1, .mem = &mem };
	struct drive_config cfg = { .drive_id = "fuzz" };
	struct block *b = NULL;
	struct virtio_mmio *t;
	uint8_t flags, regs;
	uint16_t qn;

	if (disk_fd < 0)
		fuzz_init();
	if (size < 3)
		return 0;
	flags = data[0];
	qn = (uint16_t)(1u << (data[1] % 10)); /* 1..512: 512 must be refused */
	regs = data[2] % 9;
	data += 3;
	size -= 3;
	cfg.fd = disk_fd;
	cfg.is_read_only = flags & 1;
	cfg.cache_type = flags & 2 ? DRIVE_CACHE_WRITEBACK : DRIVE_CACHE_UNSAFE;
	if (flags & 4)
		cfg.rate_limiter.cfg.bucket[RATE_LIMITER_OPS] = (struct token_bucket_config){ .size = 4, .refill_time_ms = 1000 };
	memset(mem.region[0].host, 0, 0x20000);
	if (block_create(&env, &cfg, NULL, &b) < 0 || virtio_mmio_create(&env, 0, block_virtio(b), &t) < 0)
		abort();
	vd_init_at(t, qn, flags & 8 ? ~0ull : (1ull << VIRTIO_F_EVENT_IDX) | (1ull << VIRTIO_F_INDIRECT_DESC), 0,
		   16u * qn, FUZZ_USED);
	for (; regs && size >= 5; regs--, data += 5, size -= 5) {
		uint32_t v;

		memcpy(&v, data + 1, 4);
		if (data[0] & 0x80)
			virtio_mmio_read(t, (uint64_t)(data[0] & 0x7f) * 4, (uint8_t *)&v, 4);
		else
			virtio_mmio_write(t, (uint64_t)data[0] * 4, (const uint8_t *)&v, 4);
	}
	memcpy(mem.region[0].host, data, size < FUZZ_USED ? size : FUZZ_USED);
	virtio_mmio_notify(t, 0);
	virtio_mmio_notify(t, 0);
	virtio_mmio_destroy(t);
	block_destroy(b);
	return 0;
}
