/* libFuzzer: random guest memory plus queue state through queue.c, the mmio
 * transport and pmem.c's request handling (FLUSH chains, broken ones, the
 * rate limiter). Guest RAM is a malloc'd buffer, so under ASan any access
 * outside it lands in a redzone. The backing file is a 4 KiB temporary file
 * mapped with its 2 MiB padding; no KVM (vm_fd -1). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/pmem.h"
#include "core/device_env.h"
#include "core/guest_space.h"
#include "core/layout.h"
#include "devices/virtio/pmem.h"
#include "log.h"
#include "virtio-driver.h"

#define FUZZ_RAM (1u << 20)
#define FUZZ_USED 0x10000u

static struct guest_memory mem;
static char file[64];

static void fuzz_init(void)
{
	int fd;

	mem.nr_regions = 1;
	mem.ram_size = FUZZ_RAM;
	mem.region[0] = (struct guest_region){ .gpa = 0, .size = FUZZ_RAM, .host = malloc(FUZZ_RAM) };
	snprintf(file, sizeof(file), "/tmp/ember-fuzz-pmem.%d", (int)getpid());
	fd = open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (!mem.region[0].host || fd < 0 || ftruncate(fd, 4096) < 0)
		abort();
	close(fd);
	log_set_level(LOG_OFF);
}

/* Input: flags, queue-size shift, up to 8 register accesses (offset byte,
 * 32-bit value), then guest memory from 0: descriptor table at 0, avail
 * ring after it, used ring at FUZZ_USED. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_space space;
	struct device_env env = { .vm_fd = -1, .mem = &mem, .space = &space };
	struct pmem_config cfg = { .id = "fuzz" };
	struct virtio_mmio *t;
	struct pmem *p = NULL;
	uint8_t flags, regs;
	char why[256];
	uint16_t qn;

	if (!file[0])
		fuzz_init();
	if (size < 3)
		return 0;
	flags = data[0];
	qn = (uint16_t)(1u << (data[1] % 10)); /* 1..512: 512 must be refused */
	regs = data[2] % 9;
	data += 3;
	size -= 3;
	cfg.path_on_host = file;
	cfg.read_only = flags & 1;
	if (flags & 4)
		cfg.rate_limiter.cfg.bucket[RATE_LIMITER_OPS] = (struct token_bucket_config){ .size = 2, .refill_time_ms = 1000 };
	if (flags & 8)
		cfg.rate_limiter.cfg.bucket[RATE_LIMITER_BANDWIDTH] = (struct token_bucket_config){ .size = 1000, .refill_time_ms = 1000 };
	guest_space_init(&space, -1, LAYOUT_PMEM_BASE, LAYOUT_PMEM_END, 2);
	memset(mem.region[0].host, 0, 0x20000);
	if (pmem_create(&env, &cfg, NULL, &p, why, sizeof(why)) < 0 || virtio_mmio_create(&env, 0, pmem_virtio(p), &t) < 0)
		abort();
	vd_init_at(t, qn, flags & 2 ? ~0ull : 0, 0, 16u * qn, FUZZ_USED);
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
	pmem_destroy(p);
	return 0;
}
