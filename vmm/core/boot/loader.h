/* Kernel and initrd loaders: the Linux x86 boot protocol's loading half.
 *
 * kernel_load() recognises an ELF64 vmlinux (PT_LOAD segments placed at
 * p_paddr >= 1 MiB, entered at e_entry in 64-bit mode) or a bzImage (setup
 * header validated, protocol >= 2.06, protected-mode code loaded at 1 MiB and
 * entered at its 64-bit entry, +0x200). Every byte is placed through the guarded
 * guest-memory accessor; the file is read with pread and never trusted.
 *
 * Errors are -errno (-ENOEXEC for an unrecognised or malformed image, -EFBIG
 * for an image that does not fit guest memory, -EIO for a short read) and a
 * human-readable reason in err, fit to be shown to the operator. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <asm/bootparam.h>

struct guest_memory;

struct kernel_info {
	uint64_t entry;     /* guest physical address of the 64-bit entry point */
	uint64_t start;     /* lowest guest physical address the image occupies */
	uint64_t end;       /* one past the highest */
	bool bzimage;
	/* bzImage only: the image's setup header, to be copied into the zero page
	 * (boot protocol §"The Real-Mode Kernel Header"). */
	struct setup_header hdr;
	/* Highest address (inclusive) an initrd may occupy: the header's
	 * initrd_addr_max for a bzImage, 4 GiB - 1 otherwise (capped below 4 GiB). */
	uint64_t initrd_addr_max;
};

int kernel_load(const struct guest_memory *mem, int fd, struct kernel_info *ret, char *err, size_t errlen);
int elf_load(const struct guest_memory *mem, int fd, struct kernel_info *ret, char *err, size_t errlen);
int bzimage_load(const struct guest_memory *mem, int fd, struct kernel_info *ret, char *err, size_t errlen);

/* Places the initrd page-aligned, as high as possible below both
 * kernel->initrd_addr_max and the top of low RAM, and above kernel->end.
 * -EFBIG when it does not fit. */
int initrd_load(const struct guest_memory *mem, int fd, const struct kernel_info *kernel,
		uint64_t *ret_addr, uint64_t *ret_size, char *err, size_t errlen);
