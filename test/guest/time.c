/* The probe's time base: the TSC, at the rate ember reports in CPUID leaf
 * 0x40000010 (the VMware/ACRN timing leaf: EAX = TSC kHz). Nothing here
 * calibrates: a probe parameter in milliseconds means wall time only when
 * the VMM told the guest its TSC rate, which is what boot.tsc_khz checks. */
#include "probe.h"

#define HV_LEAF 0x40000000u
#define TIMING_LEAF 0x40000010u
/* Without a rate (another VMM, or KVM could not tell): assume 1 GHz, so a
 * deadline still ends; boot.tsc_khz fails in that case and says why. */
#define FALLBACK_KHZ 1000000u

uint32_t probe_tsc_khz(void)
{
	uint32_t r[4];

	cpuid(HV_LEAF, 0, r);
	if (r[0] < TIMING_LEAF || r[0] >= HV_LEAF + 0x100)
		return 0;
	cpuid(TIMING_LEAF, 0, r);
	return r[0];
}

uint64_t probe_deadline_ms(uint64_t ms)
{
	static uint32_t khz;

	if (!khz)
		khz = probe_tsc_khz() ?: FALLBACK_KHZ;
	return rdtsc() + ms * khz;
}

bool probe_deadline_passed(uint64_t deadline)
{
	return (int64_t)(rdtsc() - deadline) >= 0;
}

void probe_sleep_ms(uint64_t ms)
{
	uint64_t d = probe_deadline_ms(ms);

	while (!probe_deadline_passed(d))
		__asm__ volatile("pause");
}
