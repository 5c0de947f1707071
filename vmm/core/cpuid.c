#include "cpuid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cleanup.h"

enum cpuid_vendor { VENDOR_INTEL, VENDOR_AMD, VENDOR_OTHER };

struct kvm_cpuid2 *cpuid_alloc(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + CPUID_MAX_ENTRIES * sizeof(c->entries[0]));

	if (c)
		c->nent = CPUID_MAX_ENTRIES;
	return c;
}

int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **ret)
{
	_cleanup_free_ struct kvm_cpuid2 *c = cpuid_alloc();

	if (!c)
		return -ENOMEM;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0)
		return -errno;
	*ret = TAKE_PTR(c);
	return 0;
}

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == function &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index))
			return e;
	}
	return NULL;
}

static void cpuid_remove(struct kvm_cpuid2 *c, uint32_t function)
{
	uint32_t out = 0;

	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function != function)
			c->entries[out++] = c->entries[i];
	c->nent = out;
}

static int cpuid_add(struct kvm_cpuid2 *c, const struct kvm_cpuid_entry2 *e)
{
	if (c->nent >= CPUID_MAX_ENTRIES)
		return -E2BIG;
	c->entries[c->nent++] = *e;
	return 0;
}

static bool cpuid_has(struct kvm_cpuid2 *c, uint32_t function)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == function)
			return true;
	return false;
}

static enum cpuid_vendor cpuid_vendor(const struct kvm_cpuid_entry2 *leaf0)
{
	char v[12];

	memcpy(v, &leaf0->ebx, 4);
	memcpy(v + 4, &leaf0->edx, 4);
	memcpy(v + 8, &leaf0->ecx, 4);
	if (memcmp(v, "GenuineIntel", 12) == 0)
		return VENDOR_INTEL;
	if (memcmp(v, "AuthenticAMD", 12) == 0 || memcmp(v, "HygonGenuine", 12) == 0)
		return VENDOR_AMD;
	return VENDOR_OTHER;
}

static uint32_t set_bits(uint32_t reg, unsigned lo, unsigned hi, uint32_t val)
{
	uint32_t mask = (uint32_t)((2ull << hi) - (1ull << lo));

	return (reg & ~mask) | ((val << lo) & mask);
}

/* Bits needed to number n items: the APIC-id shift of a topology level. */
static uint32_t order(uint32_t n)
{
	uint32_t bits = 0;

	while ((1u << bits) < n)
		bits++;
	return bits;
}

static unsigned threads_per_core(const struct cpuid_topology *t)
{
	return t->smt && t->vcpu_count > 1 ? 2 : 1;
}

static void cpuid_leaf1(struct kvm_cpuid2 *c, const struct cpuid_topology *t)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, 1, 0);

	if (!e)
		return;
	e->ebx = set_bits(e->ebx, 24, 31, t->cpu_index);
	e->ebx = set_bits(e->ebx, 16, 23, t->vcpu_count);
	e->ebx = set_bits(e->ebx, 8, 15, 8); /* CLFLUSH line size in quadwords: 64 bytes */
	e->edx = set_bits(e->edx, 28, 28, t->vcpu_count > 1);
	e->ecx |= 1u << 31;
}

/* Deterministic cache parameters: leaf 4 on Intel, 0x8000001d on AMD share the EAX layout. */
static void cpuid_cache_leaves(struct kvm_cpuid2 *c, uint32_t function, const struct cpuid_topology *t,
			       bool set_cores)
{
	unsigned tpc = threads_per_core(t);

	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		unsigned level = (e->eax >> 5) & 7;

		if (e->function != function || (e->eax & 0x1f) == 0)
			continue;
		e->eax = set_bits(e->eax, 14, 25, level >= 3 ? t->vcpu_count - 1 : tpc - 1);
		if (set_cores)
			e->eax = set_bits(e->eax, 26, 31, t->vcpu_count / tpc - 1);
	}
}

/* Extended topology (Intel leaf 0xb, and 0x1f when the host lists it):
 * level 0 = SMT, level 1 = core, then an invalid level that ends the list. */
static int cpuid_ext_topology(struct kvm_cpuid2 *c, uint32_t function, const struct cpuid_topology *t)
{
	unsigned tpc = threads_per_core(t);
	struct kvm_cpuid_entry2 e = { .function = function, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
	int r;

	if (!cpuid_has(c, function))
		return 0;
	cpuid_remove(c, function);
	for (uint32_t level = 0; level < 3; level++) {
		e.index = level;
		e.edx = t->cpu_index;
		e.ecx = level;
		e.eax = e.ebx = 0;
		if (level == 0) {
			e.eax = order(tpc);
			e.ebx = tpc;
			e.ecx |= 1u << 8;
		} else if (level == 1) {
			e.eax = order(t->vcpu_count);
			e.ebx = t->vcpu_count;
			e.ecx |= 2u << 8;
		}
		r = cpuid_add(c, &e);
		if (r < 0)
			return r;
	}
	return 0;
}

/* WAITPKG (leaf 7 ECX[5]): UMWAIT and TPAUSE put the physical core into
 * C0.1/C0.2 from the guest, and since Linux 5.8 KVM_GET_SUPPORTED_CPUID
 * reports the bit whenever VMX can allow them. Cleared, as Firecracker does,
 * so KVM leaves "enable user wait and pause" off and the guest gets #UD, as
 * for MONITOR/MWAIT, which KVM turns into NOPs. The bit is reserved on AMD. */
static void cpuid_intel_features(struct kvm_cpuid2 *c)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, 7, 0);

	if (e)
		e->ecx &= ~CPUID_7_ECX_WAITPKG;
}

static void cpuid_amd_topology(struct kvm_cpuid2 *c, const struct cpuid_topology *t)
{
	unsigned tpc = threads_per_core(t);
	struct kvm_cpuid_entry2 *e;

	e = cpuid_find(c, 0x80000001, 0);
	if (e) {
		e->ecx = set_bits(e->ecx, 1, 1, t->vcpu_count > 1); /* CmpLegacy */
		e->ecx |= 1u << 22;                                  /* TopologyExtensions */
	}
	e = cpuid_find(c, 0x80000008, 0);
	if (e) {
		e->ecx = set_bits(e->ecx, 0, 7, t->vcpu_count - 1);
		e->ecx = set_bits(e->ecx, 12, 15, order(t->vcpu_count));
	}
	e = cpuid_find(c, 0x8000001e, 0);
	if (e) {
		e->eax = t->cpu_index;
		e->ebx = ((tpc - 1) << 8) | (t->cpu_index / tpc);
		e->ecx = 0;
		e->edx = 0;
	}
	cpuid_cache_leaves(c, 0x8000001d, t, false);
}

/* The timing leaf (VMware's layout, also ACRN's): a guest reads the TSC and
 * APIC timer rates instead of calibrating them against the PIT. KVM's local
 * APIC timer counts in nanoseconds, so its bus runs at 1 GHz = 1000000 kHz. */
static int cpuid_timing_leaf(struct kvm_cpuid2 *c, uint32_t tsc_khz)
{
	struct kvm_cpuid_entry2 timing = { .function = CPUID_TIMING_LEAF, .eax = tsc_khz, .ebx = CPUID_APIC_BUS_KHZ };

	return cpuid_add(c, &timing);
}

static int cpuid_hypervisor_leaves(struct kvm_cpuid2 *c, uint32_t tsc_khz)
{
	struct kvm_cpuid_entry2 ember = { .function = CPUID_EMBER_BASE, .eax = CPUID_TIMING_LEAF };
	int r;

	memcpy(&ember.ebx, CPUID_EMBER_SIGNATURE, 4);
	memcpy(&ember.ecx, &CPUID_EMBER_SIGNATURE[4], 4);
	memcpy(&ember.edx, &CPUID_EMBER_SIGNATURE[8], 4);
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function >= CPUID_EMBER_BASE && e->function < CPUID_KVM_BASE) {
			e->function += CPUID_KVM_BASE - CPUID_EMBER_BASE;
			if (e->function == CPUID_KVM_BASE)
				e->eax += CPUID_KVM_BASE - CPUID_EMBER_BASE;
		}
	}
	r = cpuid_add(c, &ember);
	return r < 0 ? r : cpuid_timing_leaf(c, tsc_khz);
}

static bool cpuid_topology_valid(const struct cpuid_topology *t)
{
	if (t->vcpu_count == 0 || t->vcpu_count > 32 || t->cpu_index >= t->vcpu_count)
		return false;
	return !(t->smt && t->vcpu_count > 1 && t->vcpu_count % 2);
}

int cpuid_normalize(const struct kvm_cpuid2 *supported, const struct cpuid_topology *t, uint32_t tsc_khz,
		    struct kvm_cpuid2 **ret)
{
	_cleanup_free_ struct kvm_cpuid2 *c = cpuid_alloc();
	struct kvm_cpuid_entry2 *leaf0;
	int r;

	if (!c)
		return -ENOMEM;
	if (!cpuid_topology_valid(t) || supported->nent > CPUID_MAX_ENTRIES)
		return -EINVAL;
	c->nent = supported->nent;
	memcpy(c->entries, supported->entries, supported->nent * sizeof(c->entries[0]));
	leaf0 = cpuid_find(c, 0, 0);
	if (!leaf0)
		return -EINVAL;
	cpuid_leaf1(c, t);
	if (cpuid_vendor(leaf0) == VENDOR_AMD) {
		cpuid_amd_topology(c, t);
	} else {
		cpuid_intel_features(c);
		cpuid_cache_leaves(c, 4, t, true);
		r = cpuid_ext_topology(c, 0xb, t);
		if (r >= 0)
			r = cpuid_ext_topology(c, 0x1f, t);
		if (r < 0)
			return r;
	}
	r = cpuid_hypervisor_leaves(c, tsc_khz);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}
