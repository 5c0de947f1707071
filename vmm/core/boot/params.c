#include "params.h"

#include <errno.h>
#include <string.h>

#include "core/layout.h"
#include "core/memory.h"

#define BOOT_HDR_MAGIC 0x53726448u /* "HdrS" */
#define BOOT_FLAG_MAGIC 0xaa55u
#define BOOT_LOADER_UNDEFINED 0xffu
/* Firecracker's kernel_alignment for ELF kernels: 16 MiB. */
#define BOOT_KERNEL_ALIGNMENT 0x1000000u

static int e820_add(struct boot_e820_entry *table, unsigned max, unsigned *n, uint64_t addr, uint64_t size,
		    uint32_t type)
{
	if (size == 0)
		return 0;
	if (*n >= max)
		return -E2BIG;
	table[(*n)++] = (struct boot_e820_entry){ .addr = addr, .size = size, .type = type };
	return 0;
}

int e820_build(uint64_t ram_size, struct boot_e820_entry *table, unsigned max)
{
	uint64_t low_end = ram_size < LAYOUT_MMIO_GAP_START ? ram_size : LAYOUT_MMIO_GAP_START;
	unsigned n = 0;
	int r;

	if (ram_size < LAYOUT_HIMEM || ram_size % 4096)
		return -EINVAL;
	r = e820_add(table, max, &n, 0, LAYOUT_EBDA, BOOT_E820_RAM);
	if (r >= 0)
		r = e820_add(table, max, &n, LAYOUT_EBDA, LAYOUT_HIMEM - LAYOUT_EBDA, BOOT_E820_RESERVED);
	if (r >= 0)
		r = e820_add(table, max, &n, LAYOUT_HIMEM, low_end - LAYOUT_HIMEM, BOOT_E820_RAM);
	if (r >= 0 && ram_size > LAYOUT_MMIO_GAP_START)
		r = e820_add(table, max, &n, LAYOUT_MMIO_GAP_END, ram_size - LAYOUT_MMIO_GAP_START,
			     BOOT_E820_RAM);
	return r < 0 ? r : (int)n;
}

int boot_params_build(const struct boot_info *info, struct boot_params *bp)
{
	int n;

	memset(bp, 0, sizeof(*bp));
	if (info->kernel->bzimage)
		bp->hdr = info->kernel->hdr;
	else
		bp->hdr.kernel_alignment = BOOT_KERNEL_ALIGNMENT;
	bp->hdr.type_of_loader = BOOT_LOADER_UNDEFINED;
	bp->hdr.boot_flag = BOOT_FLAG_MAGIC;
	bp->hdr.header = BOOT_HDR_MAGIC;
	bp->hdr.cmd_line_ptr = (uint32_t)info->cmdline_addr;
	bp->ext_cmd_line_ptr = (uint32_t)(info->cmdline_addr >> 32);
	bp->hdr.cmdline_size = (uint32_t)info->cmdline_size;
	if (info->initrd_size) {
		bp->hdr.ramdisk_image = (uint32_t)info->initrd_addr;
		bp->ext_ramdisk_image = (uint32_t)(info->initrd_addr >> 32);
		bp->hdr.ramdisk_size = (uint32_t)info->initrd_size;
		bp->ext_ramdisk_size = (uint32_t)(info->initrd_size >> 32);
	}
	bp->acpi_rsdp_addr = info->acpi_rsdp_addr;
	n = e820_build(info->ram_size, bp->e820_table, E820_MAX_ENTRIES_ZEROPAGE);
	if (n < 0)
		return n;
	bp->e820_entries = (uint8_t)n;
	return 0;
}

int boot_params_write(const struct guest_memory *mem, const struct boot_info *info)
{
	struct boot_params bp;
	int r = boot_params_build(info, &bp);

	if (r < 0)
		return r;
	return guest_memory_write(mem, LAYOUT_ZERO_PAGE, &bp, sizeof(bp));
}
