/* The DSDT (ACPI 6.5 §5.2.11.1): the devices a guest cannot discover.
 *
 *   \_SB_.COM1  the 8250 at 0x3f8, IRQ 4 (PNP0501; Firecracker's device);
 *   \_SB_.PS2_  the i8042 at 0x60 and 0x64, IRQ 1 (PNP0303), with _STA;
 *   \_SB_.Vnnn  one LNRO0005 (virtio-mmio, Linux's virtio_mmio ACPI id) per
 *               window of the device manager's plan, in attach order: its
 *               4 KiB window and its GSI, edge-triggered, active high, as the
 *               MP table's ISA-conforming routing makes it;
 *   \_SB_.VGEN  VMGenID (Microsoft's "Virtual Machine Generation ID"):
 *               _HID "VMGENCTR", _CID "VM_Gen_Counter" as Firecracker (Linux
 *               drivers/virt/vmgenid.c matches both), ADDR the Package
 *               (low, high) of the 16-byte ID's address;
 *   \_SB_.VCLK  VMClock (Linux drivers/ptp/ptp_vmclock.c): _HID "AMZNC10C",
 *               _CID "VMCLOCK", _CRS its 4 KiB page;
 *   \_SB_.GED_  the generic event device (ACPI0013, ACPI 6.5 §5.6.9): two
 *               edge-triggered GSIs after the virtio devices'; its _EVT
 *               turns each into Notify(VGEN or VCLK, 0x80), which is how a
 *               guest learns of a restore without polling;
 *   \_S5_       the sleep package: SLP_TYP for S5 is ACPI_SLP_TYP_S5. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aml.h"
#include "core/layout.h"
#include "tables.h"

#define DSDT_REVISION 2u /* 64-bit integers */
#define STA_PRESENT_ENABLED_SHOWN_OK 0x0fu
#define NOTIFY_DEVICE_CHECK_80 0x80u /* a device-specific notification: "the data changed" for both drivers */
#define GSI_MAX 255u                /* _EVT's Arg0 is compared as an integer; ember's are < 24 */

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

/* _STA 0x0f: present, enabled, shown and working. */
static void dsdt_sta_present(struct aml *a)
{
	aml_method_begin(a, "_STA", 0, false);
	aml_return(a);
	aml_integer(a, STA_PRESENT_ENABLED_SHOWN_OK);
	aml_end(a);
}

static void dsdt_i8042(struct aml *a)
{
	aml_device_begin(a, "PS2_");
	aml_name(a, "_HID");
	aml_eisa_id(a, "PNP0303");
	dsdt_sta_present(a);
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

/* Opens a device named by strings, as Linux's drivers match VMGenID and
 * VMClock: _HID, and _CID that is also its _DDN (display name). */
static void dsdt_device_named(struct aml *a, const char *name, const char *hid, const char *cid)
{
	aml_device_begin(a, name);
	aml_name(a, "_HID");
	aml_string(a, hid);
	aml_name(a, "_CID");
	aml_string(a, cid);
	aml_name(a, "_DDN");
	aml_string(a, cid);
}

static void dsdt_vmgenid(struct aml *a)
{
	dsdt_device_named(a, "VGEN", "VMGENCTR", "VM_Gen_Counter");
	aml_name(a, "ADDR");
	aml_package_begin(a);
	aml_integer(a, LAYOUT_VMGENID & 0xffffffffu);
	aml_integer(a, LAYOUT_VMGENID >> 32);
	aml_end(a);
	aml_end(a);
}

static void dsdt_vmclock(struct aml *a)
{
	dsdt_device_named(a, "VCLK", "AMZNC10C", "VMCLOCK");
	dsdt_sta_present(a);
	aml_name(a, "_CRS");
	aml_resource_template_begin(a);
	/* read-only: the guest reads the structure, only ember writes it */
	aml_memory32_fixed(a, false, (uint32_t)LAYOUT_VMCLOCK, (uint32_t)LAYOUT_VMCLOCK_SIZE);
	aml_resource_template_end(a);
	aml_end(a);
}

static void dsdt_ged_event(struct aml *a, uint32_t gsi, const char *device)
{
	aml_if_begin(a);
	aml_lequal(a);
	aml_arg(a, 0);
	aml_integer(a, gsi);
	aml_notify(a, device, NOTIFY_DEVICE_CHECK_80);
	aml_end(a);
}

/* Its interrupts as the virtio devices': edge, active high, exclusive. */
static void dsdt_ged(struct aml *a, const struct acpi_machine *m)
{
	aml_device_begin(a, "GED_");
	aml_name(a, "_HID");
	aml_string(a, "ACPI0013");
	aml_name(a, "_CRS");
	aml_resource_template_begin(a);
	aml_interrupt(a, true, false, false, m->vmgenid_gsi);
	aml_interrupt(a, true, false, false, m->vmclock_gsi);
	aml_resource_template_end(a);
	aml_method_begin(a, "_EVT", 1, true);
	dsdt_ged_event(a, m->vmgenid_gsi, "\\_SB_.VGEN");
	dsdt_ged_event(a, m->vmclock_gsi, "\\_SB_.VCLK");
	aml_end(a);
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

		if (w->size == 0 || w->base > UINT32_MAX || w->size > UINT32_MAX - w->base ||
		    w->gsi == m->vmgenid_gsi || w->gsi == m->vmclock_gsi)
			return -EINVAL;
	}
	if (m->vmgenid_gsi == m->vmclock_gsi || m->vmgenid_gsi > GSI_MAX || m->vmclock_gsi > GSI_MAX)
		return -EINVAL;
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
	dsdt_vmgenid(&a);
	dsdt_vmclock(&a);
	dsdt_ged(&a, m);
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
