/* The DSDT (ACPI 6.5 §5.2.11.1): the devices a guest cannot discover.
 *
 *   \_SB_.COM1  the 8250 at 0x3f8, IRQ 4 (PNP0501; Firecracker's device);
 *   \_SB_.PS2_  the i8042 at 0x60 and 0x64, IRQ 1 (PNP0303), with _STA;
 *   \_SB_.Vnnn  one LNRO0005 (virtio-mmio, Linux's virtio_mmio ACPI id) per
 *               window of the device manager's plan, in attach order: its
 *               4 KiB window and its GSI, edge-triggered, active high, as the
 *               MP table's ISA-conforming routing makes it;
 *   \_S5_       the sleep package: SLP_TYP for S5 is ACPI_SLP_TYP_S5.
 * A later GED (ACPI0013) and the VMGenID/VMClock devices go after the
 * virtio devices in \_SB_. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aml.h"
#include "core/layout.h"
#include "tables.h"

#define DSDT_REVISION 2u /* 64-bit integers */
#define STA_PRESENT_ENABLED_SHOWN_OK 0x0fu

static void dsdt_com1(struct aml *a)
{
	aml_device_begin(a, "COM1");
	aml_name(a, "_HID");
	aml_eisa_id(a, "PNP0501");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_DDN");
	aml_string(a, "COM1");
	aml_name(a, "_CRS");
	aml_resource_template_begin(a);
	aml_interrupt(a, true, false, false, LAYOUT_IRQ_COM1);
	aml_io(a, LAYOUT_PORT_COM1, LAYOUT_PORT_COM1, 1, 8);
	aml_resource_template_end(a);
	aml_end(a);
}

static void dsdt_i8042(struct aml *a)
{
	aml_device_begin(a, "PS2_");
	aml_name(a, "_HID");
	aml_eisa_id(a, "PNP0303");
	aml_method_begin(a, "_STA", 0, false);
	aml_return(a);
	aml_integer(a, STA_PRESENT_ENABLED_SHOWN_OK);
	aml_end(a);
	aml_name(a, "_CRS");
	aml_resource_template_begin(a);
	aml_io(a, LAYOUT_PORT_I8042_DATA, LAYOUT_PORT_I8042_DATA, 1, 1);
	aml_io(a, LAYOUT_PORT_I8042_CMD, LAYOUT_PORT_I8042_CMD, 1, 1);
	aml_irq_no_flags(a, LAYOUT_IRQ_I8042);
	aml_resource_template_end(a);
	aml_end(a);
}

static void dsdt_virtio(struct aml *a, unsigned index, const struct acpi_mmio_window *w)
{
	char name[16];

	snprintf(name, sizeof(name), "V%03u", index % 1000u); /* index < ACPI_MAX_VIRTIO */
	aml_device_begin(a, name);
	aml_name(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_name(a, "_UID");
	aml_integer(a, index);
	aml_name(a, "_CCA"); /* DMA is cache-coherent */
	aml_integer(a, 1);
	aml_name(a, "_CRS");
	aml_resource_template_begin(a);
	aml_memory32_fixed(a, true, (uint32_t)w->base, (uint32_t)w->size);
	aml_interrupt(a, true, false, false, w->gsi);
	aml_resource_template_end(a);
	aml_end(a);
}

static void dsdt_s5(struct aml *a)
{
	aml_name(a, "\\_S5");
	aml_package_begin(a);
	aml_integer(a, ACPI_SLP_TYP_S5); /* SLP_TYPa: what the power device decodes */
	aml_integer(a, 0);               /* SLP_TYPb: no second register */
	aml_end(a);
}

static int dsdt_check(const struct acpi_machine *m)
{
	if (m->nr_virtio > ACPI_MAX_VIRTIO || (m->nr_virtio && !m->virtio))
		return -EINVAL;
	for (unsigned i = 0; i < m->nr_virtio; i++) {
		const struct acpi_mmio_window *w = &m->virtio[i];

		if (w->size == 0 || w->base > UINT32_MAX || w->size > UINT32_MAX - w->base)
			return -EINVAL;
	}
	return 0;
}

int acpi_dsdt_write(uint8_t *buf, size_t cap, const struct acpi_machine *m)
{
	struct aml a;
	size_t len;
	int r = dsdt_check(m);

	if (r < 0)
		return r;
	aml_init(&a);
	aml_scope_begin(&a, "\\_SB");
	dsdt_com1(&a);
	dsdt_i8042(&a);
	for (unsigned i = 0; i < m->nr_virtio; i++)
		dsdt_virtio(&a, i, &m->virtio[i]);
	aml_end(&a);
	dsdt_s5(&a);
	r = aml_finish(&a);
	len = ACPI_SDT_HEADER_LEN + a.len;
	if (r == 0 && cap < len)
		r = -E2BIG;
	if (r == 0) {
		acpi_sdt_header(buf, "DSDT", DSDT_REVISION, "EMBRDSDT");
		memcpy(buf + ACPI_SDT_HEADER_LEN, a.buf, a.len);
		acpi_sdt_finish(buf, len);
	}
	aml_free(&a);
	return r < 0 ? r : (int)len;
}
