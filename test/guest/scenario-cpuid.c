/* Scenario cpuid: the guest's CPUID as the VMM set it, one line per leaf,
 *   PROBE-INFO cpuid <leaf> <subleaf> <eax> <ebx> <ecx> <edx>
 * (hex, registers 8 digits), so a host test can compare what a CPU template
 * promised with what the guest reads. Printed: leaf 0, leaves 1, 7.0, 0xd.0
 * and 0xd.1 (which the templates change; under PVM leaves 1 and 7 are the
 * host's whatever the VMM set, design.md §4), the hypervisor leaves
 * 0x40000000..its max and KVM's 0x40000100..its max, and the extended
 * leaves 0x80000000..its max. Each range is capped at 64 leaves: the values
 * are the VMM's to choose, and the probe must end.
 *
 * CPUID only: the probe never runs rdmsr, whose #GP for an MSR KVM lacks
 * would triple-fault under PVM, where the probe cannot take exceptions. */
#include "probe.h"

#define RANGE_CAP 64u

static void cpuid_print(uint32_t leaf, uint32_t sub)
{
	uint32_t r[4];

	cpuid(leaf, sub, r);
	probe_info("cpuid", "0x%x 0x%x 0x%08x 0x%08x 0x%08x 0x%08x", leaf, sub, r[0], r[1], r[2], r[3]);
}

/* base..max as the range's first leaf reports it (EAX); 0 leaves when EAX
 * is not in the range (the range is absent). Returns how many were printed. */
static unsigned cpuid_print_range(uint32_t base)
{
	uint32_t r[4], last;
	unsigned n = 0;

	cpuid(base, 0, r);
	if (r[0] < base || r[0] - base >= 0x100)
		return 0;
	last = r[0] - base < RANGE_CAP ? r[0] : base + RANGE_CAP - 1;
	for (uint32_t leaf = base; leaf <= last; leaf++, n++)
		cpuid_print(leaf, 0);
	return n;
}

void scenario_cpuid(void)
{
	uint32_t r[4];
	unsigned ext;

	cpuid(0, 0, r);
	cpuid_print(0, 0);
	if (r[0] >= 1)
		cpuid_print(1, 0);
	if (r[0] >= 7)
		cpuid_print(7, 0);
	if (r[0] >= 0xd) {
		cpuid_print(0xd, 0);
		cpuid_print(0xd, 1);
	}
	cpuid_print_range(0x40000000u);
	cpuid_print_range(0x40000100u);
	ext = cpuid_print_range(0x80000000u);
	probe_check("cpuid.extended", ext > 0, "leaf 0x80000000 reports no extended leaves");
}
