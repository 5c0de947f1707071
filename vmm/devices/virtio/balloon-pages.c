/* See balloon-pages.h. */
#include "balloon-pages.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>

#include "core/memory.h"
#include "log.h"

/* An in-place heap sort: glibc's qsort may call sysinfo() and malloc(),
 * which the vmm thread's seccomp role does not allow, and n log n with no
 * allocation is what a batch needs. */
static void pfn_sift(uint32_t *a, size_t root, size_t n)
{
	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		uint32_t t;

		if (child + 1 < n && a[child + 1] > a[child])
			child++;
		if (a[root] >= a[child])
			return;
		t = a[root];
		a[root] = a[child];
		a[child] = t;
	}
}

static void pfn_sort(uint32_t *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		pfn_sift(a, i, n);
	for (size_t end = n; end-- > 1;) {
		uint32_t t = a[0];

		a[0] = a[end];
		a[end] = t;
		pfn_sift(a, 0, end);
	}
}

static bool pfn_in_ram(const struct guest_memory *mem, uint32_t pfn)
{
	return guest_memory_contains(mem, (uint64_t)pfn << BALLOON_PFN_SHIFT, BALLOON_PAGE_SIZE);
}

/* Keeps the PFNs that are RAM, in place; returns how many. Checking each
 * page before coalescing keeps a run from reaching into the MMIO gap. */
static size_t pfns_keep_ram(const struct guest_memory *mem, uint32_t *pfn, size_t n,
			    struct balloon_page_faults *faults)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		if (pfn_in_ram(mem, pfn[i]))
			pfn[kept++] = pfn[i];
		else
			faults->outside++;
	}
	return kept;
}

size_t balloon_pfns_to_ranges(const struct guest_memory *mem, uint32_t *pfn, size_t n, struct balloon_range *out,
			      struct balloon_page_faults *faults)
{
	size_t nr = 0;
	uint64_t start = 0, pages = 0;

	n = pfns_keep_ram(mem, pfn, n, faults);
	/* At most a batch (balloon.c's compact buffer) at a time: n log n is small. */
	pfn_sort(pfn, n);
	for (size_t i = 0; i < n; i++) {
		if (i && pfn[i] == pfn[i - 1]) {
			faults->duplicate++;
			continue;
		}
		if (pages && pfn[i] == start + pages) {
			pages++;
			continue;
		}
		if (pages)
			out[nr++] = (struct balloon_range){ start << BALLOON_PFN_SHIFT, pages << BALLOON_PFN_SHIFT };
		start = pfn[i];
		pages = 1;
	}
	if (pages)
		out[nr++] = (struct balloon_range){ start << BALLOON_PFN_SHIFT, pages << BALLOON_PFN_SHIFT };
	return nr;
}

int balloon_discard_host(void *host, uint64_t len, struct balloon_page_faults *faults)
{
	/* madvise rounds the length up: an unaligned end would free a page
	 * the guest did not give. */
	if (!len || ((uintptr_t)host | len) & (BALLOON_PAGE_SIZE - 1)) {
		faults->unaligned++;
		return -EINVAL;
	}
	if (madvise(host, len, MADV_DONTNEED) < 0) {
		faults->discard++;
		return -errno;
	}
	return 0;
}

int balloon_discard_gpa(const struct guest_memory *mem, uint64_t gpa, uint64_t len,
			struct balloon_page_faults *faults)
{
	void *host;

	if (!len || (gpa | len) & (BALLOON_PAGE_SIZE - 1)) {
		faults->unaligned++;
		return -EINVAL;
	}
	host = guest_memory_slice(mem, gpa, len);
	if (!host) {
		faults->outside++;
		return -EFAULT;
	}
	/* huge_pages "2M": a 4 KiB madvise cannot free part of a hugetlb page
	 * (doc/hugepages.md). The guest's pages stay given; the host keeps the
	 * memory. Said once per process, not per page. */
	if (mem->backing == GUEST_BACKING_HUGETLB_2M) {
		static atomic_bool said;

		if (!atomic_exchange(&said, true))
			log_warn("balloon: guest memory is in 2 MiB huge pages (huge_pages \"2M\"); the balloon's 4 KiB "
				 "pages cannot be returned to the host");
		return 0;
	}
	return balloon_discard_host(host, len, faults);
}
