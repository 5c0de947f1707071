/* Boot scenario, initrd: the zero page's ramdisk fields describe the initrd
 * the VMM loaded, placed as the boot protocol asks (page-aligned, above the
 * kernel, in RAM below 4 GiB), and its bytes arrived intact. Checked only when
 * the test passes probe.initrd_size=N (and probe.initrd_fnv=X, the FNV-1a 32
 * hash of the file in hex). The hash loop costs about 5 instructions a byte:
 * keep test initrds to a few tens of KiB. */
#include <asm/bootparam.h>

#include "boot-checks.h"
#include "probe.h"

#define FOUR_GIB 0x100000000UL
#define PAGE 4096UL

extern const char probe_image_end[];

static uint32_t fnv1a(const uint8_t *p, uint64_t n)
{
	uint32_t h = 2166136261u;

	while (n--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

static bool parse_hex32(const char *v, size_t len, uint32_t *ret)
{
	uint32_t x = 0;

	if (len == 0 || len > 8)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = v[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16;

		if (d > 15)
			return false;
		x = x << 4 | d;
	}
	*ret = x;
	return true;
}

static bool initrd_in_ram(uint64_t addr, uint64_t size)
{
	for (unsigned i = 0; i < probe_boot.nr_mem; i++) {
		const struct probe_mem_range *m = &probe_boot.mem[i];

		if (m->type == PROBE_MEM_RAM && addr >= m->addr && addr + size <= m->addr + m->size)
			return true;
	}
	return false;
}

static void initrd_check_bytes(uint64_t addr, uint64_t size)
{
	size_t len;
	const char *v = probe_param("probe.initrd_fnv", &len);
	uint32_t want, got;

	if (!v) {
		probe_skip("boot.initrd.bytes", "no probe.initrd_fnv=X on the command line");
		return;
	}
	if (!parse_hex32(v, len, &want)) {
		probe_fail("boot.initrd.bytes", "probe.initrd_fnv is not 1-8 lowercase hex digits");
		return;
	}
	got = fnv1a((const uint8_t *)(uintptr_t)addr, size);
	probe_check("boot.initrd.bytes", got == want, "FNV-1a of the initrd is %08x, the file's is %08x", got, want);
}

void boot_initrd(void)
{
	const struct boot_params *zp = probe_boot.zero_page;
	uint64_t want, addr, size, floor = (uintptr_t)probe_image_end;

	if (!probe_param_u64("probe.initrd_size", &want))
		return;
	if (!zp) {
		probe_skip("boot.initrd", "entered through PVH: the initrd is a module there, not in a zero page");
		return;
	}
	addr = zp->hdr.ramdisk_image | (uint64_t)zp->ext_ramdisk_image << 32;
	size = zp->hdr.ramdisk_size | (uint64_t)zp->ext_ramdisk_size << 32;
	probe_info("initrd", "0x%lx %lu bytes", addr, size);
	if (size != want)
		probe_fail("boot.initrd", "ramdisk_size is %lu, the initrd has %lu bytes", size, want);
	else if (addr % PAGE != 0 || addr < floor)
		probe_fail("boot.initrd", "ramdisk_image 0x%lx is not page-aligned above the kernel end 0x%lx", addr, floor);
	else if (addr + size > FOUR_GIB || !initrd_in_ram(addr, size))
		probe_fail("boot.initrd", "0x%lx+%lu is not RAM below 4 GiB", addr, size);
	else {
		probe_ok("boot.initrd");
		initrd_check_bytes(addr, size);
	}
}
