/* What the balloon does with the pages a guest gives back: page frame
 * numbers (inflate and deflate queues) checked against guest RAM, sorted,
 * de-duplicated and coalesced into ranges, and ranges (inflated, hinted,
 * reported) returned to the host with madvise(MADV_DONTNEED).
 *
 * Every PFN and range comes from the guest. One outside RAM (past its end,
 * or in the 32-bit MMIO gap between the two regions), unaligned, or given
 * twice in a batch is counted and skipped; nothing here fails the device. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct guest_memory;

/* The balloon's page is 4 KiB whatever the guest's (virtio 1.3 §5.5.6). */
#define BALLOON_PFN_SHIFT 12u
#define BALLOON_PAGE_SIZE (1ull << BALLOON_PFN_SHIFT)

/* Why a PFN or a range was skipped. */
struct balloon_page_faults {
	uint64_t outside;   /* not wholly inside one region of guest RAM */
	uint64_t duplicate; /* the same PFN twice in one batch */
	uint64_t unaligned; /* a range whose start or length is not a multiple of 4 KiB */
	uint64_t discard;   /* madvise refused it */
	uint64_t malformed; /* a PFN buffer of the wrong shape (device-writable, not whole u32s, too long) */
};

struct balloon_range {
	uint64_t gpa;
	uint64_t len;
};

/* Turns pfn[0, n) into ranges of consecutive RAM pages in out (room for n):
 * PFNs outside RAM are dropped (faults->outside), the rest sorted (pfn is
 * reordered) and duplicates dropped (faults->duplicate). Returns how many
 * ranges were written. */
size_t balloon_pfns_to_ranges(const struct guest_memory *mem, uint32_t *pfn, size_t n, struct balloon_range *out,
			      struct balloon_page_faults *faults);

/* Returns [gpa, gpa + len) to the host: it must be 4 KiB aligned at both
 * ends and inside guest RAM. 0, -EINVAL (unaligned or empty: counted in
 * faults->unaligned), -EFAULT (not RAM: faults->outside) or madvise's -errno
 * (faults->discard). The guest reads zeros there afterwards. */
int balloon_discard_gpa(const struct guest_memory *mem, uint64_t gpa, uint64_t len,
			struct balloon_page_faults *faults);
/* The same for a buffer queue.c already turned into a host pointer inside
 * guest RAM (a hinted or reported range): only the alignment is checked. */
int balloon_discard_host(void *host, uint64_t len, struct balloon_page_faults *faults);
