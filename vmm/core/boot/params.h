/* The zero page (struct boot_params, Linux Documentation/arch/x86/boot.rst
 * and zero-page.rst) and its e820 memory map.
 *
 * The e820 map describes guest RAM as Linux must see it:
 *   [0, LAYOUT_EBDA)            RAM
 *   [LAYOUT_EBDA, 1 MiB)        reserved: the EBDA (MP table), the VGA/BIOS hole,
 *                               the ACPI tables (LAYOUT_ACPI_RSDP..LAYOUT_ACPI_END)
 *   [1 MiB, min(RAM, 3 GiB))    RAM
 *   [3 GiB, 4 GiB)              absent: the 32-bit MMIO gap (devices, IOAPIC, LAPIC)
 *   [4 GiB, 4 GiB + rest)       RAM, when RAM reaches into the gap
 * so the entries add up to exactly mem_size_mib. */
#pragma once

#include <asm/bootparam.h>
#include <stddef.h>
#include <stdint.h>

#include "loader.h"

#define BOOT_E820_RAM 1u
#define BOOT_E820_RESERVED 2u

struct guest_memory;

/* Fills table (room for max entries) for ram_size bytes of guest RAM.
 * Returns the number of entries, -EINVAL for a RAM size below 1 MiB or not
 * page-aligned, -E2BIG when max is too small. */
int e820_build(uint64_t ram_size, struct boot_e820_entry *table, unsigned max);

struct boot_info {
	uint64_t ram_size;
	const struct kernel_info *kernel;
	uint64_t cmdline_addr;
	size_t cmdline_size;  /* including the NUL */
	uint64_t initrd_addr; /* 0 when there is no initrd */
	uint64_t initrd_size;
	uint64_t acpi_rsdp_addr; /* boot protocol 2.14: where the RSDP is; 0 for none */
};

/* Builds the zero page in *bp: for a bzImage its own setup header first,
 * then the fields the boot loader owns (loader type, command line, initrd,
 * e820). Returns 0 or the errors of e820_build(). */
int boot_params_build(const struct boot_info *info, struct boot_params *bp);
/* Builds the zero page and writes it at LAYOUT_ZERO_PAGE. 0 or -errno. */
int boot_params_write(const struct guest_memory *mem, const struct boot_info *info);
