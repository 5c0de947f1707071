/* Interrupt delivery without taking an interrupt.
 *
 * The probe runs with IF=0: under PVM a delivered interrupt kills it
 * (design.md §4). An interrupt the IOAPIC routes to the boot CPU still lands
 * in the local APIC's IRR, where it stays (the probe never EOIs), so each
 * check uses a vector no earlier check used and whose IRR bit is clear.
 *
 * The redirection entry is edge-triggered: writing it so clears Remote IRR,
 * while a level entry would stay blocked after its first delivery. KVM
 * injects an irqfd as a pulse (line up, then down), so a pulse while the
 * pin is masked leaves nothing behind to be delivered at unmask. */
#include "probe.h"

#define LAPIC 0xfee00000UL
#define LAPIC_SVR (LAPIC + 0xf0)
#define LAPIC_ISR (LAPIC + 0x100)
#define LAPIC_IRR (LAPIC + 0x200)
#define SVR_ENABLE_SPURIOUS_FF 0x1ffu

#define IOAPIC 0xfec00000UL
#define IOAPIC_SEL (IOAPIC + 0x00)
#define IOAPIC_WIN (IOAPIC + 0x10)
#define IOAPIC_PINS 24u
#define RTE_MASKED (1u << 16)

#define FIRST_VECTOR 0x40u
#define LAST_VECTOR 0xfeu /* 0xff is the spurious vector */
#define MASKED_WAIT_MS 20u

static unsigned next_vector = FIRST_VECTOR;

static uint32_t ioapic_read(unsigned reg)
{
	mmio_write32(IOAPIC_SEL, reg);
	return mmio_read32(IOAPIC_WIN);
}

static void ioapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(IOAPIC_SEL, reg);
	mmio_write32(IOAPIC_WIN, v);
}

static uint32_t lapic_bits(uint64_t base, unsigned vector)
{
	return mmio_read32(base + 0x10 * (vector / 32));
}

static bool irr_set(unsigned vector)
{
	return lapic_bits(LAPIC_IRR, vector) & (1u << (vector % 32));
}

/* A vector this boot has not used, with its IRR bit clear; 0 when none is left. */
static unsigned take_vector(void)
{
	while (next_vector <= LAST_VECTOR) {
		unsigned v = next_vector++;

		if (!irr_set(v))
			return v;
	}
	return 0;
}

/* Fixed delivery, physical destination APIC id 0 (the BSP), active high, edge. */
static void route(unsigned irq, unsigned vector, bool masked)
{
	ioapic_write(0x11 + 2 * irq, 0);
	ioapic_write(0x10 + 2 * irq, vector | (masked ? RTE_MASKED : 0));
}

static bool irr_within(unsigned vector, uint64_t ms)
{
	uint64_t deadline = probe_deadline_ms(ms);

	do {
		if (irr_set(vector))
			return true;
	} while (!probe_deadline_passed(deadline));
	return false;
}

static void irq_fail(const char *name, unsigned irq, unsigned vector, const char *why)
{
	probe_fail(name, "%s (IRQ %u vector 0x%x: entry 0x%x, IRR 0x%x, ISR 0x%x)", why, irq, vector,
		   ioapic_read(0x10 + 2 * irq), lapic_bits(LAPIC_IRR, vector), lapic_bits(LAPIC_ISR, vector));
}

bool probe_irq_check(const char *name, unsigned irq, void (*trigger)(void))
{
	uint64_t ms = 1000;
	unsigned vector;
	bool masked_clear, delivered = false;

	probe_param_u64("probe.irq_ms", &ms);
	if (irq >= IOAPIC_PINS) {
		probe_fail(name, "IRQ %u is beyond the IOAPIC's %u pins", irq, IOAPIC_PINS);
		return false;
	}
	mmio_write32(LAPIC_SVR, SVR_ENABLE_SPURIOUS_FF);
	vector = take_vector();
	if (!vector) {
		probe_fail(name, "no unused vector with a clear IRR bit is left");
		return false;
	}
	route(irq, vector, true);
	trigger();
	masked_clear = !irr_within(vector, MASKED_WAIT_MS);
	if (masked_clear) {
		route(irq, vector, false);
		trigger();
		delivered = irr_within(vector, ms);
	}
	if (!masked_clear)
		irq_fail(name, irq, vector, "the IRR bit was set while the pin was masked");
	else if (!delivered)
		irq_fail(name, irq, vector, "the IRR bit stayed clear after the unmasked trigger");
	route(irq, vector, true);
	if (masked_clear && delivered)
		probe_ok(name);
	return masked_clear && delivered;
}

unsigned probe_irq_route(unsigned irq)
{
	unsigned vector;

	if (irq >= IOAPIC_PINS)
		return 0;
	mmio_write32(LAPIC_SVR, SVR_ENABLE_SPURIOUS_FF);
	vector = take_vector();
	if (vector)
		route(irq, vector, false);
	return vector;
}

bool probe_irq_pending(unsigned vector, uint64_t ms)
{
	return irr_within(vector, ms);
}
