#include "memory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

#include "cleanup.h"
#include "layout.h"

#define GUEST_PAGE_SIZE 4096ull

int guest_memory_plan(uint64_t ram_size, struct guest_region ret[GUEST_MAX_REGIONS])
{
	if (ram_size == 0 || ram_size % GUEST_PAGE_SIZE)
		return -EINVAL;
	if (ram_size > (LAYOUT_MAX_RAM_MIB << 20))
		return -EINVAL;
	ret[0] = (struct guest_region){ .gpa = 0, .size = ram_size };
	if (ram_size <= LAYOUT_MMIO_GAP_START)
		return 1;
	ret[0].size = LAYOUT_MMIO_GAP_START;
	ret[1] = (struct guest_region){ .gpa = LAYOUT_MMIO_GAP_END, .size = ram_size - LAYOUT_MMIO_GAP_START };
	return 2;
}

/* A 2 MiB-aligned anonymous mapping: size + 2 MiB mapped, the unaligned head
 * and the tail trimmed, so that every 2 MiB of guest physical address space
 * lies in one 2 MiB host page a THP can back (region gpas are 2 MiB aligned). */
static void *memory_map_aligned(uint64_t size)
{
	uint64_t span = size + GUEST_HUGE_PAGE_SIZE, head;
	uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *start;

	if (p == MAP_FAILED)
		return MAP_FAILED;
	start = (uint8_t *)(((uintptr_t)p + GUEST_HUGE_PAGE_SIZE - 1) & ~(uintptr_t)(GUEST_HUGE_PAGE_SIZE - 1));
	head = (uint64_t)(start - p);
	if (head)
		munmap(p, head);
	munmap(start + size, span - head - size);
	return start;
}

static void *memory_map_region(uint64_t size, enum guest_backing backing, bool *thp_refused)
{
	void *p;

	switch (backing) {
	case GUEST_BACKING_HUGETLB_2M:
		/* MAP_NORESERVE: pool pages are taken at first touch, as in
		 * Firecracker; without it mmap would reserve the whole RAM. */
		return mmap(NULL, size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
	case GUEST_BACKING_TRANSPARENT:
		p = memory_map_aligned(size);
		if (p != MAP_FAILED && madvise(p, size, MADV_HUGEPAGE) < 0)
			*thp_refused = true;
		return p;
	default:
		return mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	}
}

int guest_memory_create_backed(uint64_t ram_size, enum guest_backing backing, struct guest_memory **ret,
			       bool *ret_thp_refused)
{
	_cleanup_free_ struct guest_memory *m = calloc(1, sizeof(*m));
	bool thp_refused = false;
	int n;

	if (!m)
		return -ENOMEM;
	m->uffd = m->uffd_peer = -1;
	if (backing != GUEST_BACKING_SMALL && ram_size % GUEST_HUGE_PAGE_SIZE)
		return -EINVAL;
	n = guest_memory_plan(ram_size, m->region);
	if (n < 0)
		return n;
	m->nr_regions = (unsigned)n;
	m->ram_size = ram_size;
	m->backing = backing;
	m->page_size = backing == GUEST_BACKING_HUGETLB_2M ? GUEST_HUGE_PAGE_SIZE : GUEST_PAGE_SIZE;
	for (unsigned i = 0; i < m->nr_regions; i++) {
		void *p = memory_map_region(m->region[i].size, backing, &thp_refused);

		if (p == MAP_FAILED) {
			int err = -errno;

			m->nr_regions = i;
			guest_memory_destroy(TAKE_PTR(m));
			return err;
		}
		/* Guest RAM in a core dump would leak tenant data to whoever reads the dump. */
		madvise(p, m->region[i].size, MADV_DONTDUMP);
		m->region[i].host = p;
	}
	m->thp_refused = thp_refused;
	if (ret_thp_refused)
		*ret_thp_refused = thp_refused;
	*ret = TAKE_PTR(m);
	return 0;
}

int guest_memory_create(uint64_t ram_size, struct guest_memory **ret)
{
	return guest_memory_create_backed(ram_size, GUEST_BACKING_SMALL, ret, NULL);
}

int guest_memory_create_file(uint64_t ram_size, int fd, const uint64_t offset[GUEST_MAX_REGIONS],
			     struct guest_memory **ret)
{
	_cleanup_free_ struct guest_memory *m = calloc(1, sizeof(*m));
	int n;

	if (!m)
		return -ENOMEM;
	m->uffd = m->uffd_peer = -1;
	n = guest_memory_plan(ram_size, m->region);
	if (n < 0)
		return n;
	m->nr_regions = (unsigned)n;
	m->ram_size = ram_size;
	m->backing = GUEST_BACKING_SMALL;
	m->page_size = GUEST_PAGE_SIZE;
	m->file_backed = true;
	for (unsigned i = 0; i < m->nr_regions; i++) {
		/* MAP_PRIVATE: the guest's writes stay in this process (copy on
		 * write), the file is never changed; pages come in on first touch. */
		void *p = mmap(NULL, m->region[i].size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd,
			       (off_t)offset[i]);

		if (p == MAP_FAILED) {
			int err = -errno;

			m->nr_regions = i;
			guest_memory_destroy(TAKE_PTR(m));
			return err;
		}
		madvise(p, m->region[i].size, MADV_DONTDUMP);
		m->region[i].host = p;
	}
	*ret = TAKE_PTR(m);
	return 0;
}

int guest_memory_advise_thp(struct guest_memory *m)
{
	for (unsigned i = 0; i < m->nr_regions; i++)
		if (madvise(m->region[i].host, m->region[i].size, MADV_HUGEPAGE) < 0) {
			m->thp_refused = true;
			return -errno;
		}
	return 0;
}

struct guest_memory *guest_memory_destroy(struct guest_memory *m)
{
	if (!m)
		return NULL;
	for (unsigned i = 0; i < m->nr_regions; i++)
		if (m->region[i].host)
			munmap(m->region[i].host, m->region[i].size);
	if (m->uffd >= 0)
		close(m->uffd);
	if (m->uffd_peer >= 0)
		close(m->uffd_peer);
	free(m->dirty);
	free(m);
	return NULL;
}

void *guest_memory_slice(const struct guest_memory *m, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (len == 0 || __builtin_add_overflow(gpa, len, &end))
		return NULL;
	for (unsigned i = 0; i < m->nr_regions; i++) {
		const struct guest_region *r = &m->region[i];

		if (gpa >= r->gpa && end <= r->gpa + r->size)
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int guest_memory_read(const struct guest_memory *m, uint64_t gpa, void *dst, size_t len)
{
	const void *src = guest_memory_slice(m, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int guest_memory_write(const struct guest_memory *m, uint64_t gpa, const void *src, size_t len)
{
	void *dst = guest_memory_slice(m, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	guest_memory_mark_dirty(m, gpa, len);
	return 0;
}

uint64_t guest_memory_dirty_words(const struct guest_memory *m)
{
	return (m->ram_size / GUEST_PAGE_SIZE + 63) / 64;
}

int guest_memory_track_dirty(struct guest_memory *m)
{
	if (m->dirty)
		return 0;
	m->dirty = calloc(guest_memory_dirty_words(m), sizeof(uint64_t));
	return m->dirty ? 0 : -ENOMEM;
}

/* Pages [first, last] of the file-order bitmap. */
static void memory_mark_pages(uint64_t *bits, uint64_t first, uint64_t last)
{
	for (uint64_t p = first; p <= last; p++)
		__atomic_fetch_or(&bits[p / 64], 1ull << (p % 64), __ATOMIC_RELAXED);
}

void guest_memory_mark_host(const struct guest_memory *m, const void *host, uint64_t len)
{
	uintptr_t h = (uintptr_t)host;
	uint64_t base = 0;

	if (!m || !m->dirty || len == 0)
		return;
	for (unsigned i = 0; i < m->nr_regions; i++) {
		const struct guest_region *r = &m->region[i];
		uintptr_t start = (uintptr_t)r->host;

		if (h >= start && h - start < r->size && len <= r->size - (h - start)) {
			uint64_t off = base + (h - start);

			memory_mark_pages(m->dirty, off / GUEST_PAGE_SIZE, (off + len - 1) / GUEST_PAGE_SIZE);
			return;
		}
		base += r->size;
	}
}

void guest_memory_mark_dirty(const struct guest_memory *m, uint64_t gpa, uint64_t len)
{
	const void *host;

	if (!m || !m->dirty)
		return;
	host = guest_memory_slice(m, gpa, len);
	if (host)
		guest_memory_mark_host(m, host, len);
}

int guest_memory_contains(const struct guest_memory *m, uint64_t gpa, uint64_t len)
{
	return guest_memory_slice(m, gpa, len) != NULL;
}
