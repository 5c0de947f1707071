/* Guest physical space beyond RAM for device memory (virtio-pmem regions).
 *
 * Regions are handed out from [base, end), LAYOUT_PMEM_BASE (512 GiB) up,
 * first fit, each aligned to its `align` (2 MiB for pmem, virtio 1.3
 * §5.19.5: the region must be 2 MiB aligned for DAX). The space below it,
 * 256-512 GiB, stays free for PCI BARs. Each mapped region gets its own KVM
 * memory slot, read-only (KVM_MEM_READONLY) when asked: a guest write there
 * then comes back as an MMIO exit, which the owner of the region answers on
 * the MMIO bus.
 *
 * The allocator itself (guest_space_alloc/free) touches nothing but the
 * struct, so it is unit-tested on its own (test/unit/core/test-guest-space.c).
 * Regions are created and freed on the vmm thread only. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define GUEST_SPACE_MAX_REGIONS 32u

struct guest_space_region {
	uint64_t gpa, size;
	uint32_t slot; /* KVM slot, or UINT32_MAX when not mapped into KVM */
};

struct guest_space {
	int vm_fd;            /* -1: no KVM (host tests); map then only allocates */
	uint64_t base, end;
	uint32_t first_slot;  /* KVM slots from here are this space's */
	struct guest_space_region r[GUEST_SPACE_MAX_REGIONS]; /* sorted by gpa */
	unsigned n;
	uint32_t slots_used;  /* bit i: first_slot + i is taken */
};

/* An empty space over [base, end) whose KVM slots start at first_slot. */
void guest_space_init(struct guest_space *s, int vm_fd, uint64_t base, uint64_t end, uint32_t first_slot);

/* The lowest address in the space, aligned to align (a power of two), where
 * size bytes fit between the regions already there. 0 and *ret_gpa, or
 * -EINVAL (size 0, size not a multiple of align, align not a power of two)
 * or -ENOSPC (no room, or GUEST_SPACE_MAX_REGIONS regions already). */
int guest_space_alloc(struct guest_space *s, uint64_t size, uint64_t align, uint64_t *ret_gpa);
/* Frees the region starting at gpa (no KVM call); -ENOENT if there is none. */
int guest_space_free(struct guest_space *s, uint64_t gpa);

/* Allocates size bytes (2 MiB aligned) and maps host memory there with its
 * own KVM slot, read-only when readonly. 0 and *ret_gpa, or -errno (from the
 * allocator or KVM_SET_USER_MEMORY_REGION); nothing is left allocated on
 * failure. */
int guest_space_map(struct guest_space *s, void *host, uint64_t size, bool readonly, uint64_t *ret_gpa);
/* Moves the mapped region at gpa to new_gpa (a snapshot's placement, which
 * is hostile input): new_gpa must be 2 MiB aligned, inside the space, and
 * overlap no other region. The KVM slot is deleted and set again at the new
 * address (the vCPUs do not run yet). 0, -EINVAL (alignment, bounds),
 * -EEXIST (overlap), -ENOENT (no region at gpa) or the ioctl's -errno; on
 * an error the region stays where it was. */
int guest_space_move(struct guest_space *s, uint64_t gpa, uint64_t new_gpa, void *host, bool readonly);
/* Removes the KVM slot (size 0) and frees the region; accepts an unknown gpa. */
void guest_space_unmap(struct guest_space *s, uint64_t gpa);
