/* bzImage loader: the loading half of the Linux x86 boot protocol
 * (Documentation/arch/x86/boot.rst).
 *
 * The file is a real-mode setup of (setup_sects + 1) sectors followed by the
 * protected-mode kernel. ember skips the real-mode part: it loads the
 * protected-mode kernel at 1 MiB (or at pref_address for a relocatable
 * kernel) and enters its 64-bit entry point, load address + 0x200
 * (§"64-bit Boot Protocol"). The setup header is returned for the zero page. */
#include "loader.h"

#include <errno.h>
#include <string.h>

#include "core/layout.h"
#include "core/memory.h"
#include "loader-internal.h"

#define BZ_HDR_OFFSET 0x1f1u       /* struct setup_header within the image and the zero page */
#define BZ_HDR_MAGIC 0x53726448u   /* "HdrS" */
#define BZ_BOOT_FLAG 0xaa55u
#define BZ_MIN_VERSION 0x0206u     /* 2.06: cmdline_size; older kernels are out of scope */
#define BZ_VERSION_INIT_SIZE 0x020au /* init_size and pref_address exist from 2.10 */
#define BZ_SECTOR 512u
#define BZ_OLD_INITRD_ADDR_MAX 0x37ffffffu
#define BZ_DEFAULT_SETUP_SECTS 4u  /* "If this field is 0, the real value is 4." */
#define BZ_ENTRY64_OFFSET 0x200u
#define BZ_LOADED_HIGH 0x01u       /* loadflags bit 0 */
#define BZ_XLF_KERNEL_64 0x01u     /* xloadflags bit 0: has the 64-bit entry at +0x200 */

/* Reads the setup header. The header's real length is given by the jump
 * instruction at 0x200: its end is 0x202 + the jump's 8-bit displacement.
 * Bytes past that end belong to code, not to the header, so they are zeroed
 * rather than trusted (a 2.06 kernel has no init_size field, for example). */
static int bzimage_read_header(int fd, uint64_t file_size, struct setup_header *hdr, char *err, size_t errlen)
{
	size_t len = sizeof(*hdr), hdr_end;
	uint8_t jump_disp;
	int r;

	if (file_size < BZ_HDR_OFFSET + len)
		return loader_fail(err, errlen, -ENOEXEC, "bzImage setup header truncated (file has %llu bytes)",
				   (unsigned long long)file_size);
	memset(hdr, 0, sizeof(*hdr));
	r = loader_pread(fd, hdr, len, BZ_HDR_OFFSET);
	if (r < 0)
		return loader_fail(err, errlen, r, "reading the bzImage setup header: %s", strerror(-r));
	jump_disp = (uint8_t)(hdr->jump >> 8);
	hdr_end = 0x202u + jump_disp;
	if (hdr_end < BZ_HDR_OFFSET + len)
		memset((uint8_t *)hdr + (hdr_end - BZ_HDR_OFFSET), 0, BZ_HDR_OFFSET + len - hdr_end);
	return 0;
}

static int bzimage_check_header(const struct setup_header *hdr, char *err, size_t errlen)
{
	if (hdr->header != BZ_HDR_MAGIC)
		return loader_fail(err, errlen, -ENOEXEC, "bzImage has no \"HdrS\" magic at 0x202");
	if (hdr->boot_flag != BZ_BOOT_FLAG)
		return loader_fail(err, errlen, -ENOEXEC, "bzImage boot_flag 0x%x is not 0xaa55", hdr->boot_flag);
	if (hdr->version < BZ_MIN_VERSION)
		return loader_fail(err, errlen, -ENOEXEC, "bzImage boot protocol %u.%02u is older than 2.06",
				   hdr->version >> 8, hdr->version & 0xff);
	if (!(hdr->loadflags & BZ_LOADED_HIGH))
		return loader_fail(err, errlen, -ENOEXEC, "bzImage is not loaded high (loadflags lacks LOADED_HIGH)");
	if (!(hdr->xloadflags & BZ_XLF_KERNEL_64))
		return loader_fail(err, errlen, -ENOEXEC, "bzImage has no 64-bit entry point (xloadflags lacks XLF_KERNEL_64)");
	return 0;
}

/* Where the protected-mode kernel goes: pref_address when the kernel is
 * relocatable and that address is sensible (>= 1 MiB, aligned to
 * kernel_alignment, and the image fits there), 1 MiB otherwise. */
static uint64_t bzimage_load_address(const struct guest_memory *mem, const struct setup_header *hdr, uint64_t need)
{
	uint64_t pref = hdr->pref_address;
	uint32_t align = hdr->kernel_alignment;

	if (hdr->version < BZ_VERSION_INIT_SIZE || !hdr->relocatable_kernel || pref < LAYOUT_HIMEM)
		return LAYOUT_HIMEM;
	if (align == 0 || (align & (align - 1)) != 0 || pref % align != 0)
		return LAYOUT_HIMEM;
	if (!guest_memory_slice(mem, pref, need))
		return LAYOUT_HIMEM;
	return pref;
}

int bzimage_load(const struct guest_memory *mem, int fd, struct kernel_info *ret, char *err, size_t errlen)
{
	struct kernel_info info = { .bzimage = true };
	uint64_t file_size, setup_size, kernel_size, need, load;
	unsigned setup_sects;
	void *dst;
	int r;

	r = loader_file_size(fd, &file_size);
	if (r < 0)
		return loader_fail(err, errlen, r == -EINVAL ? -ENOEXEC : r, "kernel image is not a regular file");
	r = bzimage_read_header(fd, file_size, &info.hdr, err, errlen);
	if (r < 0)
		return r;
	r = bzimage_check_header(&info.hdr, err, errlen);
	if (r < 0)
		return r;
	setup_sects = info.hdr.setup_sects ? info.hdr.setup_sects : BZ_DEFAULT_SETUP_SECTS;
	setup_size = (uint64_t)(setup_sects + 1) * BZ_SECTOR;
	if (setup_size + BZ_ENTRY64_OFFSET >= file_size)
		return loader_fail(err, errlen, -ENOEXEC,
				   "bzImage setup of %u sectors leaves no protected-mode kernel in a %llu-byte file",
				   setup_sects, (unsigned long long)file_size);
	kernel_size = file_size - setup_size;
	/* init_size is the memory the kernel needs from its load address while it
	 * decompresses itself; it is at least the kernel's own size. */
	need = kernel_size;
	if (info.hdr.version >= BZ_VERSION_INIT_SIZE && info.hdr.init_size > need)
		need = info.hdr.init_size;
	load = bzimage_load_address(mem, &info.hdr, need);
	dst = guest_memory_slice(mem, load, need);
	if (!dst)
		return loader_fail(err, errlen, -EFBIG, "bzImage needs %llu bytes at 0x%llx, more than guest memory holds",
				   (unsigned long long)need, (unsigned long long)load);
	r = loader_pread(fd, dst, kernel_size, setup_size);
	if (r < 0)
		return loader_fail(err, errlen, r, "reading the bzImage kernel: %s", strerror(-r));
	info.entry = load + BZ_ENTRY64_OFFSET;
	info.start = load;
	info.end = load + need;
	/* A zero initrd_addr_max is the pre-2.03 default, 0x37ffffff (§"Details of Header Fields"). */
	info.initrd_addr_max = info.hdr.initrd_addr_max ? info.hdr.initrd_addr_max : BZ_OLD_INITRD_ADDR_MAX;
	if (info.initrd_addr_max >= LAYOUT_MMIO_GAP_END)
		info.initrd_addr_max = LAYOUT_MMIO_GAP_END - 1;
	*ret = info;
	return 0;
}
