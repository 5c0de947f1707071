/* Guest physical memory and its single bounds-checked accessor.
 *
 * RAM is anonymous, MAP_PRIVATE|MAP_NORESERVE and never prefaulted, so an idle
 * guest costs only the pages it touches. When RAM reaches into the 32-bit MMIO
 * gap it is split in two regions: [0, gap) and [4 GiB, 4 GiB + rest).
 *
 * Every guest physical address that comes from the guest or from a file goes
 * through guest_memory_slice() (or the read/write helpers built on it). It
 * checks for overflow and for the range lying wholly inside one region.
 * Nothing else in ember turns a guest address into a host pointer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MAX_REGIONS 2
#define GUEST_HUGE_PAGE_SIZE (2ull << 20)

/* How RAM is backed (doc/hugepages.md):
 *   SMALL        anonymous 4 KiB pages;
 *   HUGETLB_2M   MAP_HUGETLB|MAP_HUGE_2MB|MAP_NORESERVE, as Firecracker: the
 *                pool's pages are claimed when first touched, so an exhausted
 *                pool shows as SIGBUS on ember's own write (exit 149) or as a
 *                guest access KVM cannot back (vcpu.c, exit 149 too);
 *   TRANSPARENT  anonymous pages, each region 2 MiB aligned (over-allocated
 *                and trimmed) and MADV_HUGEPAGE, so khugepaged and the fault
 *                path may use THPs whenever the host allows it. */
enum guest_backing { GUEST_BACKING_SMALL, GUEST_BACKING_HUGETLB_2M, GUEST_BACKING_TRANSPARENT };

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_memory {
	struct guest_region region[GUEST_MAX_REGIONS];
	unsigned nr_regions;
	uint64_t ram_size;
	enum guest_backing backing;
	uint64_t page_size; /* 4096, or 2 MiB for HUGETLB_2M (what one fault maps) */
	bool file_backed;   /* mapped from a snapshot's memory file (guest_memory_create_file) */
	bool thp_refused;   /* TRANSPARENT: madvise(MADV_HUGEPAGE) was refused */
	/* Kept open for the memory's life, closed by guest_memory_destroy()
	 * (-1: none): a userfaultfd registered on the regions and the socket
	 * to the page server that serves it (snapshot/uffd.c). Holding the
	 * uffd means a page server that dies leaves faults unserved (the
	 * guest freezes) rather than letting the kernel fill them with zeros. */
	int uffd;
	int uffd_peer;
	/* Dirty tracking (doc/snapshots.md): the pages ember itself wrote
	 * since the last snapshot, one bit per 4 KiB page in memory-file order
	 * (region 0's pages, then region 1's), which KVM's dirty log never
	 * sees. NULL: not tracked. Bits are set atomically (any thread). */
	uint64_t *dirty;
};

/* Plans the regions for ram_size bytes (page-aligned, > 0) without mapping
 * anything; used by the e820 builder and by guest_memory_create(). Returns
 * the number of regions or -EINVAL. */
int guest_memory_plan(uint64_t ram_size, struct guest_region ret[GUEST_MAX_REGIONS]);

/* Maps ram_size bytes of guest RAM. The caller owns *ret and frees it with
 * guest_memory_destroy(). Returns 0, -EINVAL for a size that is zero, not
 * page-aligned or overflows, or -ENOMEM when the mapping fails. */
int guest_memory_create(uint64_t ram_size, struct guest_memory **ret);
/* The same with a backing; HUGETLB_2M and TRANSPARENT need ram_size to be a
 * multiple of 2 MiB (-EINVAL otherwise). A failed madvise(MADV_HUGEPAGE) is
 * not an error (the RAM works, with small pages): *ret_thp_refused is set
 * then (may be NULL). */
int guest_memory_create_backed(uint64_t ram_size, enum guest_backing backing, struct guest_memory **ret,
			       bool *ret_thp_refused);
/* The same regions mapped MAP_PRIVATE from fd (a snapshot's memory file),
 * region i at offset[i] (page-aligned; the caller checked the file is
 * large enough). The guest's writes stay private. 0 or -errno. */
int guest_memory_create_file(uint64_t ram_size, int fd, const uint64_t offset[GUEST_MAX_REGIONS],
			     struct guest_memory **ret);
/* madvise(MADV_HUGEPAGE) on every region (a snapshot's file mapping under
 * "Transparent"). 0 or -errno of the first refusal. */
int guest_memory_advise_thp(struct guest_memory *m);
/* Unmaps, closes uffd and uffd_peer, frees; accepts NULL; returns NULL. */
struct guest_memory *guest_memory_destroy(struct guest_memory *m);

/* The host pointer for [gpa, gpa + len), or NULL when the range overflows,
 * is empty, or is not wholly inside one region. */
void *guest_memory_slice(const struct guest_memory *m, uint64_t gpa, uint64_t len);
/* Copy helpers: 0 or -EFAULT. */
int guest_memory_read(const struct guest_memory *m, uint64_t gpa, void *dst, size_t len);
int guest_memory_write(const struct guest_memory *m, uint64_t gpa, const void *src, size_t len);
/* Dirty tracking of ember's own writes (see struct guest_memory.dirty).
 * guest_memory_track_dirty() allocates the (zeroed) bitmap: 0 or -ENOMEM;
 * a second call keeps the one there. The mark functions set the bits of
 * every page [gpa, gpa + len) (or the host range) touches, and do nothing
 * when tracking is off or the range is not guest RAM. guest_memory_write()
 * marks itself; whoever writes through a pointer from guest_memory_slice()
 * marks what it writes (the virtqueue does for device-writable buffers and
 * the used ring). */
int guest_memory_track_dirty(struct guest_memory *m);
void guest_memory_mark_dirty(const struct guest_memory *m, uint64_t gpa, uint64_t len);
void guest_memory_mark_host(const struct guest_memory *m, const void *host, uint64_t len);
/* The bitmap's length in 64-bit words: ram_size / 4096 bits, rounded up. */
uint64_t guest_memory_dirty_words(const struct guest_memory *m);

/* Whether [gpa, gpa + len) is guest RAM. */
int guest_memory_contains(const struct guest_memory *m, uint64_t gpa, uint64_t len);
