/* Which guest pages changed since the last snapshot (doc/snapshots.md,
 * "Diff snapshots").
 *
 * With track_dirty_pages, RAM's KVM slots log the guest's writes
 * (KVM_MEM_LOG_DIRTY_PAGES) and ember's own writes into guest memory are in
 * the guest memory's bitmap (core/memory.h): a page is dirty when either
 * says so. KVM_GET_DIRTY_LOG clears KVM's log as it reads it, and the
 * collection clears ember's bitmap, so every snapshot, Full or Diff, starts
 * the next interval. Without tracking, a page is dirty when mincore(2)
 * reports it resident: every page touched since the memory was mapped, a
 * superset (and with swap on, a swapped-out page would be missed: warned).
 *
 * The bitmap is in memory-file order: one bit per 4 KiB page, region 0's
 * pages first. Everything runs on the vmm thread with the vCPUs parked. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_memory;

struct snap_dirty {
	uint64_t *bits;  /* owned; guest_memory_dirty_words() words */
	uint64_t words;
	bool tracked;    /* from the dirty logs (else from mincore) */
};

/* Collects and clears the dirty pages of m (vm_fd: the VM's, for its RAM
 * slots 0..nr_regions-1). With tracking off (m->dirty NULL) and residency
 * false, nothing is read (a Full needs no bitmap) and *d stays empty.
 * 0 or -errno with err filled. */
int snap_dirty_collect(int vm_fd, const struct guest_memory *m, bool residency, struct snap_dirty *d, char *err,
		       size_t errlen);
/* The pages of m that mincore(2) reports resident, into a new bitmap in *d
 * (tracked false): what a Diff without tracking takes, and the pages of
 * anonymous RAM a Full must read (files.c). 0 or -errno (*d empty). */
int snap_dirty_resident(const struct guest_memory *m, struct snap_dirty *d);
/* A snapshot that failed: the pages go back into m's bitmap, so that the
 * next snapshot writes them (nothing to do without tracking). */
void snap_dirty_restore(const struct guest_memory *m, const struct snap_dirty *d);
/* Frees d's bitmap. */
void snap_dirty_free(struct snap_dirty *d);
/* Whether page p (memory-file order) is dirty. */
static inline bool snap_dirty_test(const struct snap_dirty *d, uint64_t p)
{
	return d->bits[p / 64] >> (p % 64) & 1;
}
