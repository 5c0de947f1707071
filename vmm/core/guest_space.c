/* See guest_space.h. */
#include "guest_space.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#define GUEST_SPACE_ALIGN (2ull << 20)

void guest_space_init(struct guest_space *s, int vm_fd, uint64_t base, uint64_t end, uint32_t first_slot)
{
	*s = (struct guest_space){ .vm_fd = vm_fd, .base = base, .end = end, .first_slot = first_slot };
}

static uint64_t align_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

/* The index region i would take when inserted at gpa (regions stay sorted). */
static unsigned guest_space_insert(struct guest_space *s, uint64_t gpa, uint64_t size)
{
	unsigned i = 0;

	while (i < s->n && s->r[i].gpa < gpa)
		i++;
	memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(s->r[0]));
	s->r[i] = (struct guest_space_region){ .gpa = gpa, .size = size, .slot = UINT32_MAX };
	s->n++;
	return i;
}

int guest_space_alloc(struct guest_space *s, uint64_t size, uint64_t align, uint64_t *ret_gpa)
{
	uint64_t at;

	if (size == 0 || align == 0 || (align & (align - 1)) || size % align)
		return -EINVAL;
	if (s->n == GUEST_SPACE_MAX_REGIONS)
		return -ENOSPC;
	at = align_up(s->base, align);
	/* First fit: the gap before each region in address order, then the tail. */
	for (unsigned i = 0; i <= s->n; i++) {
		uint64_t limit = i < s->n ? s->r[i].gpa : s->end;

		if (at >= s->base && at <= limit && limit - at >= size) {
			guest_space_insert(s, at, size);
			*ret_gpa = at;
			return 0;
		}
		if (i < s->n) {
			if (s->r[i].gpa + s->r[i].size < s->r[i].gpa)
				return -ENOSPC;
			at = align_up(s->r[i].gpa + s->r[i].size, align);
		}
	}
	return -ENOSPC;
}

static int guest_space_find(const struct guest_space *s, uint64_t gpa)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->r[i].gpa == gpa)
			return (int)i;
	return -ENOENT;
}

int guest_space_free(struct guest_space *s, uint64_t gpa)
{
	int i = guest_space_find(s, gpa);

	if (i < 0)
		return i;
	memmove(&s->r[i], &s->r[i + 1], (s->n - (unsigned)i - 1) * sizeof(s->r[0]));
	s->n--;
	return 0;
}

static int guest_space_set_slot(const struct guest_space *s, uint32_t slot, uint64_t gpa, uint64_t size,
				void *host, uint32_t flags)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	if (s->vm_fd < 0)
		return 0;
	return ioctl(s->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? -errno : 0;
}

int guest_space_map(struct guest_space *s, void *host, uint64_t size, bool readonly, uint64_t *ret_gpa)
{
	uint32_t bit = 0;
	uint64_t gpa;
	int i, r;

	while (bit < 32 && (s->slots_used & (1u << bit)))
		bit++;
	if (bit == 32)
		return -ENOSPC;
	r = guest_space_alloc(s, size, GUEST_SPACE_ALIGN, &gpa);
	if (r < 0)
		return r;
	r = guest_space_set_slot(s, s->first_slot + bit, gpa, size, host, readonly ? KVM_MEM_READONLY : 0);
	if (r < 0) {
		guest_space_free(s, gpa);
		return r;
	}
	i = guest_space_find(s, gpa);
	s->r[i].slot = s->first_slot + bit;
	s->slots_used |= 1u << bit;
	*ret_gpa = gpa;
	return 0;
}

/* Whether [gpa, end) overlaps no region but region `self`. */
static bool guest_space_clear(const struct guest_space *s, int self, uint64_t gpa, uint64_t end)
{
	for (unsigned i = 0; i < s->n; i++)
		if ((int)i != self && gpa < s->r[i].gpa + s->r[i].size && s->r[i].gpa < end)
			return false;
	return true;
}

int guest_space_move(struct guest_space *s, uint64_t gpa, uint64_t new_gpa, void *host, bool readonly)
{
	uint32_t flags = readonly ? KVM_MEM_READONLY : 0;
	struct guest_space_region r;
	int i = guest_space_find(s, gpa), e;
	uint64_t end;

	if (i < 0)
		return i;
	r = s->r[i];
	if (new_gpa % GUEST_SPACE_ALIGN || new_gpa < s->base || __builtin_add_overflow(new_gpa, r.size, &end) ||
	    end > s->end)
		return -EINVAL;
	if (!guest_space_clear(s, i, new_gpa, end))
		return -EEXIST;
	if (r.slot != UINT32_MAX) {
		e = guest_space_set_slot(s, r.slot, 0, 0, NULL, 0);
		if (e >= 0)
			e = guest_space_set_slot(s, r.slot, new_gpa, r.size, host, flags);
		if (e < 0) {
			/* Put the slot back where it was; the caller fails the load. */
			guest_space_set_slot(s, r.slot, gpa, r.size, host, flags);
			return e;
		}
	}
	guest_space_free(s, gpa);
	s->r[guest_space_insert(s, new_gpa, r.size)].slot = r.slot;
	return 0;
}

void guest_space_unmap(struct guest_space *s, uint64_t gpa)
{
	int i = guest_space_find(s, gpa);

	if (i < 0)
		return;
	if (s->r[i].slot != UINT32_MAX) {
		/* A slot of size 0 is KVM's way to delete it. */
		guest_space_set_slot(s, s->r[i].slot, 0, 0, NULL, 0);
		s->slots_used &= ~(1u << (s->r[i].slot - s->first_slot));
	}
	guest_space_free(s, gpa);
}
