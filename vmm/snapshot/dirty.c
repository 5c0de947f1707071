/* See dirty.h. */
#include "dirty.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "core/memory.h"
#include "files.h"
#include "log.h"

#define DIRTY_PAGE 4096ull
#define DIRTY_MINCORE_CHUNK (64ull << 20)

static void dirty_set(uint64_t *bits, uint64_t p)
{
	bits[p / 64] |= 1ull << (p % 64);
}

/* KVM's log of slot `slot` (region r, whose first page is `first` in file
 * order), ORed in. KVM_GET_DIRTY_LOG returns the log and clears it. */
static int dirty_from_kvm(int vm_fd, unsigned slot, const struct guest_region *r, uint64_t first, uint64_t *bits)
{
	uint64_t pages = r->size / DIRTY_PAGE, words = (pages + 63) / 64;
	uint64_t *log = calloc(words, sizeof(uint64_t));
	struct kvm_dirty_log dl = { .slot = slot };

	if (!log)
		return -ENOMEM;
	dl.dirty_bitmap = log;
	if (ioctl(vm_fd, KVM_GET_DIRTY_LOG, &dl) < 0) {
		int e = -errno;

		free(log);
		return e;
	}
	for (uint64_t w = 0; w < words; w++)
		for (uint64_t v = log[w]; v; v &= v - 1)
			dirty_set(bits, first + w * 64 + (uint64_t)__builtin_ctzll(v));
	free(log);
	return 0;
}

/* Resident pages of region r, in chunks (mincore's vector is one byte a page). */
static int dirty_from_mincore(const struct guest_region *r, uint64_t first, uint64_t *bits)
{
	static uint8_t vec[DIRTY_MINCORE_CHUNK / DIRTY_PAGE]; /* vmm thread only */

	for (uint64_t off = 0; off < r->size; off += DIRTY_MINCORE_CHUNK) {
		uint64_t len = r->size - off < DIRTY_MINCORE_CHUNK ? r->size - off : DIRTY_MINCORE_CHUNK;

		if (mincore(r->host + off, len, vec) < 0)
			return -errno;
		for (uint64_t i = 0; i < len / DIRTY_PAGE; i++)
			if (vec[i] & 1)
				dirty_set(bits, first + off / DIRTY_PAGE + i);
	}
	return 0;
}

/* ember's own writes: taken and cleared word by word (a device on another
 * thread may set a bit meanwhile; it then stays for the next snapshot). */
static void dirty_take_own(const struct guest_memory *m, uint64_t *bits, uint64_t words)
{
	for (uint64_t w = 0; w < words; w++)
		bits[w] |= __atomic_exchange_n(&m->dirty[w], 0, __ATOMIC_RELAXED);
}

int snap_dirty_resident(const struct guest_memory *m, struct snap_dirty *d)
{
	uint64_t first = 0;
	int e = 0;

	*d = (struct snap_dirty){ .words = guest_memory_dirty_words(m) };
	d->bits = calloc(d->words, sizeof(uint64_t));
	if (!d->bits)
		return -ENOMEM;
	for (unsigned i = 0; e >= 0 && i < m->nr_regions; i++) {
		e = dirty_from_mincore(&m->region[i], first, d->bits);
		first += m->region[i].size / DIRTY_PAGE;
	}
	if (e < 0)
		snap_dirty_free(d);
	return e;
}

int snap_dirty_collect(int vm_fd, const struct guest_memory *m, bool residency, struct snap_dirty *d, char *err,
		       size_t errlen)
{
	uint64_t first = 0;
	int e;

	*d = (struct snap_dirty){ 0 };
	if (!m->dirty && !residency)
		return 0;
	if (!m->dirty) {
		if (snap_host_has_swap())
			log_warn("snapshot: the host has swap and dirty page tracking is off: the Diff takes the "
				 "pages mincore(2) reports resident, and a swapped-out page is not (use "
				 "track_dirty_pages)");
		e = snap_dirty_resident(m, d);
		if (e < 0)
			snprintf(err, errlen, "mincore: %s (os error %d)", strerror(-e), -e);
		return e;
	}
	*d = (struct snap_dirty){ .tracked = true, .words = guest_memory_dirty_words(m) };
	d->bits = calloc(d->words, sizeof(uint64_t));
	if (!d->bits)
		return -ENOMEM;
	for (unsigned i = 0; i < m->nr_regions; i++) {
		e = dirty_from_kvm(vm_fd, i, &m->region[i], first, d->bits);
		if (e < 0) {
			snprintf(err, errlen, "Cannot get the dirty bitmap: KVM_GET_DIRTY_LOG (memory slot %u): %s "
				 "(os error %d)", i, strerror(-e), -e);
			/* the slots read before this one lost their log: keep it */
			snap_dirty_restore(m, d);
			snap_dirty_free(d);
			return e;
		}
		first += m->region[i].size / DIRTY_PAGE;
	}
	dirty_take_own(m, d->bits, d->words);
	return 0;
}

void snap_dirty_restore(const struct guest_memory *m, const struct snap_dirty *d)
{
	if (!m->dirty || !d->bits)
		return;
	for (uint64_t w = 0; w < d->words; w++)
		if (d->bits[w])
			__atomic_fetch_or(&m->dirty[w], d->bits[w], __ATOMIC_RELAXED);
}

void snap_dirty_free(struct snap_dirty *d)
{
	free(d->bits);
	*d = (struct snap_dirty){ 0 };
}
