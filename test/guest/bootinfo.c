/* Normalises what the loader handed over: the Linux zero page (ember, any
 * Linux boot-protocol loader) or PVH's hvm_start_info (QEMU -M microvm).
 * Every pointer in either structure is treated as untrusted: it is followed
 * only below the MMIO gap, and every length is capped. */
#include <asm/bootparam.h>

#include "entry.h"
#include "probe.h"

/* Xen's public/arch-x86/hvm/start_info.h, version 1. */
#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* Addresses the probe may dereference: identity-mapped RAM below the gap. */
#define PROBE_READABLE_END 0xc0000000ull

struct probe_boot probe_boot;

static bool boot_readable(uint64_t addr, uint64_t len)
{
	return addr != 0 && addr < PROBE_READABLE_END && len <= PROBE_READABLE_END - addr;
}

static void boot_copy_cmdline(uint64_t addr)
{
	const char *src = (const char *)(uintptr_t)addr;
	size_t n;

	probe_boot.cmdline_addr = addr;
	if (!boot_readable(addr, PROBE_CMDLINE_MAX))
		return;
	n = strnlen(src, PROBE_CMDLINE_MAX);
	memcpy(probe_boot.cmdline, src, n);
	probe_boot.cmdline[n] = '\0';
	probe_boot.cmdline_terminated = n < PROBE_CMDLINE_MAX;
}

static void boot_from_zero_page(const struct boot_params *zp)
{
	unsigned n = zp->e820_entries;

	probe_boot.zero_page = zp;
	boot_copy_cmdline(zp->hdr.cmd_line_ptr | (uint64_t)zp->ext_cmd_line_ptr << 32);
	if (n > sizeof(zp->e820_table) / sizeof(zp->e820_table[0]))
		n = sizeof(zp->e820_table) / sizeof(zp->e820_table[0]);
	for (unsigned i = 0; i < n; i++)
		probe_boot.mem[i] = (struct probe_mem_range){ zp->e820_table[i].addr, zp->e820_table[i].size,
							      zp->e820_table[i].type };
	probe_boot.nr_mem = n;
	probe_boot.have_mem = true;
}

/* QEMU lists its PVH memory map unsorted (Linux sorts it while sanitising);
 * ember's zero page must come sorted, so only this path sorts. */
static void boot_sort_mem(void)
{
	for (unsigned i = 1; i < probe_boot.nr_mem; i++) {
		struct probe_mem_range r = probe_boot.mem[i];
		unsigned j = i;

		for (; j > 0 && probe_boot.mem[j - 1].addr > r.addr; j--)
			probe_boot.mem[j] = probe_boot.mem[j - 1];
		probe_boot.mem[j] = r;
	}
}

static void boot_from_pvh(const struct hvm_start_info *si)
{
	const struct hvm_memmap_entry *mm;
	unsigned n;

	probe_boot.pvh = true;
	if (!boot_readable((uintptr_t)si, sizeof(*si)) || si->magic != HVM_START_MAGIC)
		return;
	boot_copy_cmdline(si->cmdline_paddr);
	if (si->version < 1)
		return;
	n = si->memmap_entries < PROBE_MEM_MAX ? si->memmap_entries : PROBE_MEM_MAX;
	if (!boot_readable(si->memmap_paddr, (uint64_t)n * sizeof(*mm)))
		return;
	mm = (const struct hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;
	/* QEMU counts an all-zero terminator in memmap_entries; empty entries
	 * describe nothing (Linux's e820 sanitiser drops them too). */
	probe_boot.nr_mem = 0;
	for (unsigned i = 0; i < n; i++)
		if (mm[i].size != 0)
			probe_boot.mem[probe_boot.nr_mem++] =
				(struct probe_mem_range){ mm[i].addr, mm[i].size, mm[i].type };
	boot_sort_mem();
	probe_boot.have_mem = true;
}

void probe_boot_init(const void *info, int kind)
{
	if (kind == PROBE_BOOT_PVH)
		boot_from_pvh(info);
	else if (boot_readable((uintptr_t)info, sizeof(struct boot_params)))
		boot_from_zero_page(info);
}

/* Finds "key=" at the start of a space-separated word. */
const char *probe_param(const char *key, size_t *ret_len)
{
	return probe_param_nth(key, 0, ret_len);
}

const char *probe_param_nth(const char *key, unsigned n, size_t *ret_len)
{
	const char *c = probe_boot.cmdline;
	size_t klen = strlen(key);

	while (*c) {
		size_t wlen = 0;

		while (*c == ' ')
			c++;
		while (c[wlen] && c[wlen] != ' ')
			wlen++;
		if (wlen > klen && memcmp(c, key, klen) == 0 && c[klen] == '=' && n-- == 0) {
			*ret_len = wlen - klen - 1;
			return c + klen + 1;
		}
		c += wlen;
	}
	return NULL;
}

bool probe_param_u64(const char *key, uint64_t *ret)
{
	size_t len;
	const char *v = probe_param(key, &len);
	uint64_t n = 0;

	if (!v || len == 0 || len > 19)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	*ret = n;
	return true;
}

bool probe_param_is(const char *key, const char *value)
{
	size_t len;
	const char *v = probe_param(key, &len);

	return v && len == strlen(value) && memcmp(v, value, len) == 0;
}

bool probe_is_pvm(void)
{
	return probe_param_is("probe.pvm", "1");
}
