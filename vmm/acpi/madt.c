/* The MADT (ACPI 6.5 §5.2.12): the same interrupt controllers as the MP
 * table (core/boot/mptable.c), so a guest reads one machine either way.
 *
 *   - one enabled Processor Local APIC per vCPU, APIC id = ACPI UID = index;
 *   - the IOAPIC at LAYOUT_IOAPIC with the MP table's id, GSI base 0;
 *   - Local APIC NMI on LINT1 for all processors (the MP table's LINT1);
 *   - no Interrupt Source Override: the MP table routes each ISA IRQ to the
 *     IOAPIC pin of the same number with the bus's default polarity and
 *     trigger, which is what ACPI assumes for an ISA IRQ without an override
 *     (§5.2.12.5), so none is needed;
 *   - PCAT_COMPAT only when a legacy PIC exists (irqchip "kernel"): ember's
 *     split irqchip has none. */
#include <errno.h>
#include <string.h>

#include "core/layout.h"
#include "tables.h"

#define MADT_REVISION 6u /* ACPI 6.5 */
#define MADT_PCAT_COMPAT 1u

enum { MADT_LOCAL_APIC = 0, MADT_IO_APIC = 1, MADT_LOCAL_APIC_NMI = 4 };
#define MADT_LOCAL_APIC_LEN 8u
#define MADT_IO_APIC_LEN 12u
#define MADT_LOCAL_APIC_NMI_LEN 6u
#define MADT_LAPIC_ENABLED 1u
#define MADT_ALL_PROCESSORS 0xffu

#define MADT_MAX_LEN (ACPI_SDT_HEADER_LEN + 8u + ACPI_MAX_VCPUS * MADT_LOCAL_APIC_LEN + MADT_IO_APIC_LEN + \
		      MADT_LOCAL_APIC_NMI_LEN)

static size_t madt_put_lapics(uint8_t *p, unsigned vcpu_count)
{
	for (unsigned i = 0; i < vcpu_count; i++, p += MADT_LOCAL_APIC_LEN) {
		p[0] = MADT_LOCAL_APIC;
		p[1] = MADT_LOCAL_APIC_LEN;
		p[2] = (uint8_t)i; /* ACPI processor UID */
		p[3] = (uint8_t)i; /* APIC id */
		acpi_put32(p + 4, MADT_LAPIC_ENABLED);
	}
	return (size_t)vcpu_count * MADT_LOCAL_APIC_LEN;
}

static size_t madt_put_ioapic(uint8_t *p, uint8_t id)
{
	p[0] = MADT_IO_APIC;
	p[1] = MADT_IO_APIC_LEN;
	p[2] = id;
	p[3] = 0;
	acpi_put32(p + 4, (uint32_t)LAYOUT_IOAPIC);
	acpi_put32(p + 8, 0); /* global system interrupt base */
	return MADT_IO_APIC_LEN;
}

/* Flags 0: the bus's default polarity and trigger, as the MP table's NMI entry. */
static size_t madt_put_lint1_nmi(uint8_t *p)
{
	p[0] = MADT_LOCAL_APIC_NMI;
	p[1] = MADT_LOCAL_APIC_NMI_LEN;
	p[2] = MADT_ALL_PROCESSORS;
	acpi_put16(p + 3, 0);
	p[5] = 1; /* LINT1 */
	return MADT_LOCAL_APIC_NMI_LEN;
}

int acpi_madt_write(uint8_t *buf, size_t cap, const struct acpi_machine *m)
{
	size_t len = ACPI_SDT_HEADER_LEN + 8u;

	if (m->vcpu_count == 0 || m->vcpu_count > ACPI_MAX_VCPUS)
		return -EINVAL;
	if (cap < MADT_MAX_LEN)
		return -E2BIG;
	acpi_sdt_header(buf, "APIC", MADT_REVISION, "EMBRAPIC");
	acpi_put32(buf + ACPI_SDT_HEADER_LEN, (uint32_t)LAYOUT_LAPIC);
	acpi_put32(buf + ACPI_SDT_HEADER_LEN + 4, m->pic ? MADT_PCAT_COMPAT : 0);
	len += madt_put_lapics(buf + len, m->vcpu_count);
	len += madt_put_ioapic(buf + len, m->ioapic_id);
	len += madt_put_lint1_nmi(buf + len);
	acpi_sdt_finish(buf, len);
	return (int)len;
}
