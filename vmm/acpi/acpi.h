/* ember's ACPI tables (ACPI 6.5 §5.2): RSDP, XSDT, FADT, MADT and DSDT,
 * built from a description of the machine and placed from LAYOUT_ACPI_RSDP.
 *
 * The description comes from the same data that starts the VM: the vCPU
 * count and irqchip from the machine config, the virtio-mmio windows from the
 * device manager's plan (devices_plan(), the one that writes the
 * virtio_mmio.device= entries). acpi_build() is pure: --dump-acpi and
 * InstanceStart call it alike and get the same bytes at the same addresses.
 *
 * What the tables promise the guest, which the power device
 * (devices/legacy/acpi_power.c) keeps: the sleep control, sleep status and
 * reset registers are the byte at LAYOUT_PORT_ACPI_POWER; \_S5's SLP_TYP is
 * ACPI_SLP_TYP_S5, so powering off writes ACPI_SLEEP_S5_WRITE there, and
 * rebooting writes ACPI_RESET_VALUE. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_OEM_ID "EMBER "
#define ACPI_SLP_TYP_S5 5u
/* §4.8.3.7: SLP_TYP in bits 2-4, SLP_EN bit 5 of the sleep control register. */
#define ACPI_SLEEP_TYP_SHIFT 2u
#define ACPI_SLEEP_TYP_MASK 0x1cu
#define ACPI_SLEEP_EN 0x20u
#define ACPI_SLEEP_S5_WRITE ((ACPI_SLP_TYP_S5 << ACPI_SLEEP_TYP_SHIFT) | ACPI_SLEEP_EN)
#define ACPI_RESET_VALUE 1u

#define ACPI_MAX_VCPUS 32u
#define ACPI_MAX_VIRTIO 32u

struct acpi_mmio_window {
	uint64_t base, size;
	uint32_t gsi;
};

struct acpi_machine {
	unsigned vcpu_count;   /* 1..ACPI_MAX_VCPUS; APIC id = vCPU index */
	uint8_t ioapic_id;     /* as in the MP table (MPTABLE_IOAPIC_ID) */
	bool pic;              /* a legacy PIC exists (irqchip "kernel"): PCAT_COMPAT */
	unsigned nr_virtio;    /* 0..ACPI_MAX_VIRTIO */
	const struct acpi_mmio_window *virtio; /* in attach order: V000, V001, ... */
	/* The GED's two GSIs (distinct, < 256, none a virtio device's): VMGenID's
	 * at LAYOUT_VMGENID and VMClock's page at LAYOUT_VMCLOCK change on them. */
	uint32_t vmgenid_gsi, vmclock_gsi;
};

enum acpi_table_index { ACPI_RSDP, ACPI_XSDT, ACPI_FACP, ACPI_APIC, ACPI_DSDT, ACPI_TABLES };

struct acpi_table_ref {
	char signature[5]; /* "RSDP" for the RSDP, the SDT signature otherwise */
	uint64_t addr;     /* guest physical */
	size_t len;
};

/* The tables as one image of guest memory from LAYOUT_ACPI_RSDP. */
struct acpi_image {
	uint8_t *buf; /* len bytes, owned */
	size_t len;
	struct acpi_table_ref table[ACPI_TABLES];
};

/* Builds every table. 0; -EINVAL for a description out of range; -E2BIG
 * when the tables would pass LAYOUT_ACPI_END; -ENOMEM. *ret is written only
 * on success; free it with acpi_image_free(). */
int acpi_build(const struct acpi_machine *m, struct acpi_image *ret);
void acpi_image_free(struct acpi_image *img); /* accepts a zeroed image */
/* Writes the image at LAYOUT_ACPI_RSDP. 0 or -errno of the guest accessor. */
struct guest_memory;
int acpi_write(const struct guest_memory *mem, const struct acpi_image *img);

/* The 8-bit checksum rule of §5.2.5.3/§5.2.6: all bytes sum to 0. */
uint8_t acpi_checksum(const uint8_t *p, size_t len);

/* The tables of a VM: its machine config (vCPUs, irqchip) and the device
 * manager's plan (core/device_env.h). What InstanceStart writes and
 * --dump-acpi saves. 0 or the errors of acpi_build(). */
struct vm_config;
struct device_plan;
int acpi_build_vm(const struct vm_config *cfg, const struct device_plan *plan, struct acpi_image *ret);
