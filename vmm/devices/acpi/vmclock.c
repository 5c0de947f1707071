/* See vmclock.h. */
#include "vmclock.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/device_env.h"
#include "core/layout.h"
#include "core/memory.h"
#include "ged.h"

_Static_assert(sizeof(struct vmclock_abi) == VMCLOCK_ABI_SIZE, "struct vmclock_abi is Linux's");
_Static_assert(offsetof(struct vmclock_abi, seq_count) == 12, "vmclock-abi.h: seq_count");
_Static_assert(offsetof(struct vmclock_abi, flags) == 24, "vmclock-abi.h: flags");
_Static_assert(offsetof(struct vmclock_abi, clock_status) == 34, "vmclock-abi.h: clock_status");
_Static_assert(offsetof(struct vmclock_abi, counter_value) == 40, "vmclock-abi.h: counter_value");
_Static_assert(offsetof(struct vmclock_abi, vm_generation_counter) == 104, "vmclock-abi.h: the generation");

struct vmclock {
	const struct guest_memory *mem;
	struct vmclock_abi abi;
	struct ged_line irq;
};

/* One field of ember's copy into the guest's page. */
#define VMCLOCK_WRITE(c, field)                                                                  \
	guest_memory_write((c)->mem, LAYOUT_VMCLOCK + offsetof(struct vmclock_abi, field), &(c)->abi.field, \
			   sizeof((c)->abi.field))

static int vmclock_write_page(struct vmclock *c, char *why, size_t whylen)
{
	static uint8_t page[LAYOUT_VMCLOCK_SIZE]; /* vmm thread only */
	int r;

	memset(page, 0, sizeof(page));
	memcpy(page, &c->abi, sizeof(c->abi));
	r = guest_memory_write(c->mem, LAYOUT_VMCLOCK, page, sizeof(page));
	if (r < 0)
		snprintf(why, whylen, "VMClock: cannot write its page at 0x%llx: %s", (unsigned long long)LAYOUT_VMCLOCK,
			 strerror(-r));
	return r;
}

int vmclock_create(const struct device_env *env, uint32_t gsi, struct vmclock **ret, char *why, size_t whylen)
{
	struct vmclock *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->mem = env->mem;
	c->irq.fd = -1;
	c->abi = (struct vmclock_abi){ .magic = VMCLOCK_MAGIC, .size = LAYOUT_VMCLOCK_SIZE, .version = VMCLOCK_VERSION,
				       .counter_id = VMCLOCK_COUNTER_INVALID, .flags = VMCLOCK_FLAGS };
	/* Not into memory a page server fills (see vmgenid_create): the
	 * load writes the restored page (snapshot/generation.c). */
	r = env->mem->uffd < 0 ? vmclock_write_page(c, why, whylen) : 0;
	if (r >= 0)
		r = ged_line_open(&c->irq, env->vm_fd, gsi, why, whylen);
	if (r < 0) {
		vmclock_destroy(c);
		return r;
	}
	*ret = c;
	return 0;
}

struct vmclock *vmclock_destroy(struct vmclock *c)
{
	if (!c)
		return NULL;
	ged_line_close(&c->irq);
	free(c);
	return NULL;
}

const struct vmclock_abi *vmclock_fields(const struct vmclock *c)
{
	return &c->abi;
}

uint32_t vmclock_gsi(const struct vmclock *c)
{
	return c->irq.gsi;
}

bool vmclock_fields_valid(const struct vmclock_abi *abi)
{
	return abi->magic == VMCLOCK_MAGIC && abi->size == LAYOUT_VMCLOCK_SIZE && abi->version == VMCLOCK_VERSION &&
	       abi->counter_id == VMCLOCK_COUNTER_INVALID && abi->flags == VMCLOCK_FLAGS && !(abi->seq_count & 1);
}

/* The writer's side of the seqcount (vmclock-abi.h; Firecracker's
 * do_post_restore): odd, the fields, even; the fences pair with the
 * guest's read barriers. No vCPU runs yet, but the page is written as if
 * one did. */
static int vmclock_disrupt(struct vmclock *c)
{
	int r;

	c->abi.seq_count |= 1;
	r = VMCLOCK_WRITE(c, seq_count);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	c->abi.disruption_marker++;
	c->abi.vm_generation_counter++;
	if (r >= 0)
		r = VMCLOCK_WRITE(c, disruption_marker);
	if (r >= 0)
		r = VMCLOCK_WRITE(c, vm_generation_counter);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	c->abi.seq_count++;
	if (r >= 0)
		r = VMCLOCK_WRITE(c, seq_count);
	return r;
}

int vmclock_restore(struct vmclock *c, const struct vmclock_abi *saved, char *why, size_t whylen)
{
	int r;

	c->abi = *saved;
	c->abi.seq_count |= 1; /* the page is written whole with an update in progress */
	r = vmclock_write_page(c, why, whylen);
	if (r >= 0) {
		r = vmclock_disrupt(c);
		if (r < 0)
			snprintf(why, whylen, "VMClock: cannot update its page: %s", strerror(-r));
	}
	if (r >= 0) {
		r = ged_line_pulse(&c->irq);
		if (r < 0)
			snprintf(why, whylen, "VMClock: cannot pulse GSI %u: %s", c->irq.gsi, strerror(-r));
	}
	return r;
}
