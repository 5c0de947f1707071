#pragma once
/* The page pattern the snapshot scenarios write and check: one 64-bit word a
 * page, at an offset and with a value both derived from the seed, so a page
 * restored from the wrong place or left zero shows. */

#include <stdint.h>

#define SNAP_PATTERN_PAGE 4096u

/* A 64-bit finalizer (MurmurHash3's): neighbouring inputs give unrelated words. */
static inline uint64_t snap_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* The word of page `page` above `base` that carries the pattern. */
static inline volatile uint64_t *snap_page_slot(uint64_t base, uint64_t seed, uint64_t page)
{
	uint64_t off = (snap_mix(seed * 0x9e3779b97f4a7c15ull + page) % (SNAP_PATTERN_PAGE / 8)) * 8;

	return (volatile uint64_t *)(uintptr_t)(base + page * SNAP_PATTERN_PAGE + off);
}
