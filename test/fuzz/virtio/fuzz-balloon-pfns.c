/* libFuzzer: page frame numbers from an inflate or deflate buffer (le32 each,
 * up to the device's batch of 2048) through balloon_pfns_to_ranges() and
 * balloon_discard_gpa(), on guest RAM of two regions with a gap between them
 * (as RAM around the MMIO gap is). Traps unless every range is 4 KiB
 * aligned, inside one region, sorted, apart from the next, and the ranges
 * hold exactly the distinct PFNs that are RAM. Guest RAM is heap memory
 * (page-aligned), so ASan sees any access outside it. */
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/memory.h"
#include "devices/virtio/balloon-pages.h"
#include "log.h"

#define BATCH 2048u
#define REGION (256u << 10)
#define HIGH (1ull << 32)

static struct guest_memory mem;

static void fuzz_init(void)
{
	mem.nr_regions = 2;
	mem.ram_size = 2 * REGION;
	mem.region[0] = (struct guest_region){ .gpa = 0, .size = REGION, .host = aligned_alloc(4096, REGION) };
	mem.region[1] = (struct guest_region){ .gpa = HIGH, .size = REGION, .host = aligned_alloc(4096, REGION) };
	if (!mem.region[0].host || !mem.region[1].host)
		abort();
	log_set_level(LOG_OFF);
}

static int in_ram(uint32_t pfn)
{
	return guest_memory_contains(&mem, (uint64_t)pfn << 12, 4096);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint32_t pfn[BATCH], orig[BATCH];
	static struct balloon_range r[BATCH];
	struct balloon_page_faults f = { 0 };
	uint64_t pages = 0, distinct = 0;
	size_t n = size / 4, nr;

	if (!mem.nr_regions)
		fuzz_init();
	if (n > BATCH)
		n = BATCH;
	for (size_t i = 0; i < n; i++) {
		uint32_t v;

		memcpy(&v, data + 4 * i, 4);
		/* half the inputs aimed near RAM, so ranges form */
		v = le32toh(v);
		if (data[0] & 1)
			v = (v & 0x80000000u) ? (uint32_t)(HIGH >> 12) + (v & 0x7f) : v & 0x7f;
		pfn[i] = orig[i] = v;
	}
	nr = balloon_pfns_to_ranges(&mem, pfn, n, r, &f);
	for (size_t i = 0; i < nr; i++) {
		if ((r[i].gpa | r[i].len) & 4095 || !r[i].len || !guest_memory_slice(&mem, r[i].gpa, r[i].len))
			abort();
		if (i && r[i].gpa <= r[i - 1].gpa + r[i - 1].len)
			abort(); /* sorted, de-duplicated, coalesced: adjacent ranges would have merged */
		pages += r[i].len >> 12;
		if (balloon_discard_gpa(&mem, r[i].gpa, r[i].len, &f) < 0)
			abort();
	}
	/* distinct RAM PFNs of the input, by a quadratic count on small inputs */
	if (n <= 256) {
		for (size_t i = 0; i < n; i++) {
			size_t j = 0;

			while (j < i && orig[j] != orig[i])
				j++;
			distinct += j == i && in_ram(orig[i]);
		}
		if (pages != distinct)
			abort();
	}
	if (f.outside + f.duplicate + pages != n)
		abort();
	return 0;
}
