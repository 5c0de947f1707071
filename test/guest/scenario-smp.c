/* Scenario smp: the second vCPU runs guest code.
 *
 * ember, as Firecracker, leaves the application processors waiting for
 * INIT and SIPI in KVM's local APIC, as they are on a real machine; a guest
 * starts them. This scenario starts the vCPU with APIC id 1 the way Linux
 * does (INIT, then SIPI twice, Intel SDM vol. 3, 9.4.4.1): the SIPI vector
 * points at a real-mode page holding a few instructions that write one port
 * (a VM exit on that vCPU's thread), then a marker the boot CPU polls for,
 * then halt with IF=0 forever. Under PVM the real-mode code runs in KVM's
 * instruction emulator (its non-PVM mode), which covers these instructions.
 *
 * It needs probe.vcpus >= 2; `PROBE smp.ap ok` once the marker is seen
 * within probe.smp_ms (default 1000). */
#include "probe.h"

#define LAPIC 0xfee00000UL
#define LAPIC_SVR (LAPIC + 0xf0)
#define LAPIC_ICR_LO (LAPIC + 0x300)
#define LAPIC_ICR_HI (LAPIC + 0x310)
#define SVR_ENABLE_SPURIOUS_FF 0x1ffu
#define ICR_INIT 0x00004500u /* delivery mode INIT, level assert */
#define ICR_SIPI 0x00004600u /* delivery mode start-up, vector in bits 0-7 */
#define ICR_BUSY (1u << 12)

/* Below the zero page (0x7000) and above the GDT and IDT ember writes at
 * 0x500: free low memory, page-aligned as a SIPI vector must be. */
#define TRAMPOLINE 0x6000UL
#define MARKER (TRAMPOLINE + 0xff0)
#define MARKER_VALUE 0x5a5a
#define AP_PORT 0x2ff /* COM2's scratch register: a port sink, writes dropped */

/* 16-bit real mode, CS:IP = 0x0600:0000. */
static const uint8_t trampoline[] = {
	0xfa,                               /* cli */
	0x31, 0xc0,                         /* xor %ax, %ax */
	0x8e, 0xd8,                         /* mov %ax, %ds */
	0xba, AP_PORT & 0xff, AP_PORT >> 8, /* mov $AP_PORT, %dx */
	0xb9, 0x01, 0x00,                   /* mov $outs, %cx (patched: OUTS_AT) */
	0xee,                               /* 1: out %al, (%dx): a VM exit */
	0xe2, 0xfd,                         /* loop 1b */
	0xc7, 0x06, MARKER & 0xff, (MARKER >> 8) & 0xff, MARKER_VALUE & 0xff, MARKER_VALUE >> 8,
					    /* movw $MARKER_VALUE, MARKER */
	0xf4,                               /* 1: hlt */
	0xeb, 0xfd,                         /* jmp 1b */
};

#define OUTS_AT 9 /* the immediate of mov $outs, %cx */

static void icr_send(uint32_t apic_id, uint32_t lo)
{
	uint64_t deadline = probe_deadline_ms(100);

	mmio_write32(LAPIC_ICR_HI, apic_id << 24);
	mmio_write32(LAPIC_ICR_LO, lo);
	while ((mmio_read32(LAPIC_ICR_LO) & ICR_BUSY) && !probe_deadline_passed(deadline))
		;
}

void scenario_smp(void)
{
	volatile uint16_t *marker = (volatile uint16_t *)MARKER;
	uint64_t vcpus = 1, ms = 1000, outs = 1, deadline;

	probe_param_u64("probe.vcpus", &vcpus);
	probe_param_u64("probe.smp_ms", &ms);
	probe_param_u64("probe.smp_outs", &outs);
	if (outs < 1 || outs > 0xffff) {
		probe_fail("smp.ap", "probe.smp_outs must be 1-65535 (got %u)", (unsigned)outs);
		return;
	}
	if (vcpus < 2) {
		probe_fail("smp.ap", "needs probe.vcpus >= 2 (got %u)", (unsigned)vcpus);
		return;
	}
	memcpy((void *)TRAMPOLINE, trampoline, sizeof(trampoline));
	((volatile uint8_t *)TRAMPOLINE)[OUTS_AT] = (uint8_t)outs;
	((volatile uint8_t *)TRAMPOLINE)[OUTS_AT + 1] = (uint8_t)(outs >> 8);
	*marker = 0;
	mmio_write32(LAPIC_SVR, SVR_ENABLE_SPURIOUS_FF);
	icr_send(1, ICR_INIT);
	probe_sleep_ms(10);
	for (int i = 0; i < 2; i++) {
		icr_send(1, ICR_SIPI | (uint32_t)(TRAMPOLINE >> 12));
		probe_sleep_ms(1);
	}
	deadline = probe_deadline_ms(ms);
	while (*marker != MARKER_VALUE && !probe_deadline_passed(deadline))
		;
	if (*marker == MARKER_VALUE)
		probe_ok("smp.ap");
	else
		probe_fail("smp.ap", "the AP wrote no marker within %u ms (marker 0x%x)", (unsigned)ms,
			   (unsigned)*marker);
}
