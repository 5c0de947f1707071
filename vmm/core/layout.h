/* The x86-64 guest physical memory map. Every fixed guest address lives here.
 *
 *   0x0000_0500  GDT used for the 64-bit entry (4 entries)
 *   0x0000_0520  IDT (empty: the probe guest takes no exceptions, Linux installs its own)
 *   0x0000_7000  zero page (struct boot_params)
 *   0x0000_8ff0  initial stack pointer
 *   0x0000_9000  PML4, 0xa000 PDPT, 0xb000 PD: identity map of the first 1 GiB in 2 MiB pages
 *   0x0002_0000  kernel command line (CMDLINE_MAX bytes)
 *   0x0009_fc00  EBDA: the MP table
 *   0x000a_0000  legacy VGA/BIOS hole, reserved in e820
 *   0x000d_eff0  VMGenID: the 16-byte generation ID (ACPI \_SB_.VGEN)
 *   0x000d_f000  VMClock: its 4 KiB page (ACPI \_SB_.VCLK)
 *   0x000e_0000  ACPI: the RSDP, then the DSDT, FADT, MADT and XSDT (the BIOS area Linux scans, reserved)
 *   0x0010_0000  HIMEM: kernels load here or above
 *   0xc000_0000  start of the 32-bit MMIO gap (1 GiB): boot timer, virtio-mmio windows, IOAPIC, LAPIC
 *   0x1_0000_0000 RAM above 4 GiB when mem_size_mib reaches into the gap
 *   0x40_0000_0000 (256 GiB) kept free for 64-bit PCI BARs
 *   0x80_0000_0000 (512 GiB) device memory: virtio-pmem regions (core/guest_space.h),
 *                 2 MiB aligned, first fit, up to LAYOUT_PMEM_END
 */
#pragma once

#include <stdint.h>

#define LAYOUT_GDT 0x500ull
#define LAYOUT_IDT 0x520ull
#define LAYOUT_ZERO_PAGE 0x7000ull
#define LAYOUT_BOOT_STACK 0x8ff0ull
#define LAYOUT_PML4 0x9000ull
#define LAYOUT_PDPT 0xa000ull
#define LAYOUT_PD 0xb000ull
#define LAYOUT_CMDLINE 0x20000ull
#define LAYOUT_CMDLINE_MAX 2048u
#define LAYOUT_EBDA 0x9fc00ull
#define LAYOUT_LEGACY_HOLE 0xa0000ull
#define LAYOUT_HIMEM 0x100000ull

/* ACPI tables (vmm/acpi/): the RSDP where Linux's scan of the BIOS area
 * [0xe0000, 0x100000) finds it on a 16-byte boundary (and the zero page's
 * acpi_rsdp_addr points), then the other tables up to the end of that area,
 * all inside the e820-reserved range [LAYOUT_EBDA, LAYOUT_HIMEM). */
#define LAYOUT_ACPI_RSDP 0xe0000ull
#define LAYOUT_ACPI_END 0x100000ull

/* VMGenID and VMClock (the device manager's), what the DSDT's VGEN and
 * VCLK point at: guest memory below the RSDP, inside the same e820-reserved range, so
 * Linux never takes them for RAM and maps them as the drivers ask. The
 * VMClock structure has its page to itself (Linux maps it to user space);
 * the ID sits at the end of the page before it, away from the 2 KiB steps
 * at which Linux's probe_roms() looks for a 0x55aa option-ROM signature. */
#define LAYOUT_VMCLOCK 0xdf000ull
#define LAYOUT_VMCLOCK_SIZE 0x1000ull
#define LAYOUT_VMGENID (LAYOUT_VMCLOCK - LAYOUT_VMGENID_SIZE)
#define LAYOUT_VMGENID_SIZE 16ull

#define LAYOUT_MMIO_GAP_START 0xc0000000ull
#define LAYOUT_MMIO_GAP_END 0x100000000ull
#define LAYOUT_MMIO_GAP_SIZE (LAYOUT_MMIO_GAP_END - LAYOUT_MMIO_GAP_START)

/* Firecracker's boot-timer device: the guest writes 123 to offset 0 at the end of boot. */
#define LAYOUT_BOOT_TIMER 0xc0000000ull
#define LAYOUT_BOOT_TIMER_SIZE 0x1000ull
/* virtio-mmio windows: 4 KiB each, consecutive, one IRQ each from
 * LAYOUT_VIRTIO_IRQ_FIRST. The ACPI GED takes the LAYOUT_GED_GSIS GSIs
 * after the last virtio device's (VMGenID's, then VMClock's), so at most
 * LAYOUT_VIRTIO_MAX_DEVICES - LAYOUT_GED_GSIS (17) virtio devices attach,
 * as in Firecracker. */
#define LAYOUT_VIRTIO_MMIO_BASE 0xc0001000ull
#define LAYOUT_VIRTIO_MMIO_SIZE 0x1000ull
#define LAYOUT_VIRTIO_IRQ_FIRST 5u
#define LAYOUT_VIRTIO_IRQ_LAST 23u
#define LAYOUT_VIRTIO_MAX_DEVICES (LAYOUT_VIRTIO_IRQ_LAST - LAYOUT_VIRTIO_IRQ_FIRST + 1u)
#define LAYOUT_GED_GSIS 2u

#define LAYOUT_IOAPIC 0xfec00000ull
#define LAYOUT_LAPIC 0xfee00000ull

/* Port I/O */
#define LAYOUT_PORT_I8042_DATA 0x60u
#define LAYOUT_PORT_I8042_CMD 0x64u
#define LAYOUT_PORT_COM1 0x3f8u
#define LAYOUT_PORT_COM2 0x2f8u
#define LAYOUT_PORT_COM3 0x3e8u
#define LAYOUT_PORT_COM4 0x2e8u
#define LAYOUT_IRQ_COM1 4u
#define LAYOUT_IRQ_I8042 1u
/* The ACPI sleep control, sleep status and reset registers, one byte each at
 * one port, as Cloud Hypervisor places them (the ACPI power port device). */
#define LAYOUT_PORT_ACPI_POWER 0x600u
/* QEMU's isa-debug-exit port; the probe writes it for QEMU microvm, ember treats it as a sink. */
#define LAYOUT_PORT_DEBUG_EXIT 0xf4u

/* Device memory (core/guest_space.h): above RAM's end when RAM reaches
 * that far; the end stays inside 46 physical address bits. */
#define LAYOUT_PCI_MMIO64_BASE (256ull << 30)
#define LAYOUT_PMEM_BASE (512ull << 30)
#define LAYOUT_PMEM_END (1ull << 46)

/* Upper bound on guest RAM, a sanity cap for the config validator (1 TiB). */
#define LAYOUT_MAX_RAM_MIB (1024ull * 1024ull)
