/* Scenario boot: what the boot protocol promises at the entry point.
 *
 * Command-line parameters read here (all optional; a check that needs an
 * absent one is skipped and says so):
 *   probe.mem_mib=N        the configured mem_size_mib: the e820 map must add up to it
 *   probe.vcpus=N          the configured vcpu_count: the MP table and CPUID topology must show N CPUs
 *   probe.cpu_vendor=S     the host's CPUID vendor string (GenuineIntel, AuthenticAMD)
 *   probe.hv_sig=S         the hypervisor signature the VMM puts in leaf 0x40000000
 *   probe.pvm=1            the host is PVM KVM: leaves 1 and 7 are the host's, not the VMM's
 *   probe.initrd_size=N    the initrd's size: the zero page must describe it (see boot-initrd.c)
 *   probe.initrd_fnv=X     with it, the FNV-1a 32 hash of its bytes, 8 hex digits
 *   probe.boot_timer=1     write 123 to the boot-timer device at the end
 *   probe.irq_ms=N         how long irq.serial waits for the IRR bit (default 1000)
 *
 * It prints PROBE-INFO tsc_khz (CPUID 0x40000010), checks boot.tsc_khz, and
 * irq.serial: a THRE interrupt reaches the boot CPU's LAPIC IRR (irq.c). */
#include <asm/bootparam.h>

#include "boot-checks.h"
#include "probe.h"

#define MIB (1UL << 20)
#define GAP_START 0xc0000000UL
#define GAP_END 0x100000000UL
#define BOOT_TIMER_ADDR 0xc0000000UL
#define BOOT_TIMER_MAGIC 123u

static void boot_zero_page_header(void)
{
	const struct boot_params *zp = probe_boot.zero_page;

	if (!zp) {
		probe_skip("boot.zeropage", "entered through PVH: there is no zero page");
		return;
	}
	if (zp->hdr.boot_flag != 0xaa55)
		probe_fail("boot.zeropage", "hdr.boot_flag is 0x%x, not 0xaa55", zp->hdr.boot_flag);
	else if (zp->hdr.header != 0x53726448u)
		probe_fail("boot.zeropage", "hdr.header is 0x%x, not \"HdrS\"", zp->hdr.header);
	else
		probe_check("boot.zeropage", zp->hdr.type_of_loader != 0, "hdr.type_of_loader is 0 (the loader must set it)");
}

static void boot_cmdline(void)
{
	const struct boot_params *zp = probe_boot.zero_page;
	size_t len = strlen(probe_boot.cmdline);

	probe_info("cmdline", "%s", probe_boot.cmdline);
	if (!probe_check("boot.cmdline.present", probe_boot.cmdline_addr != 0 && probe_boot.cmdline_terminated,
			 "command line at 0x%lx is absent, unreadable or not NUL-terminated within %u bytes",
			 probe_boot.cmdline_addr, PROBE_CMDLINE_MAX))
		return;
	if (!zp) {
		probe_skip("boot.cmdline.fields", "entered through PVH: no cmd_line_ptr/cmdline_size");
		return;
	}
	if (zp->ext_cmd_line_ptr != 0)
		probe_fail("boot.cmdline.fields", "ext_cmd_line_ptr is 0x%x: the command line belongs below 4 GiB",
			   zp->ext_cmd_line_ptr);
	else
		probe_check("boot.cmdline.fields", zp->hdr.cmdline_size == 0 || len < zp->hdr.cmdline_size,
			    "command line of %zu bytes does not fit cmdline_size %u", len, zp->hdr.cmdline_size);
}

/* Sorted, non-empty, non-overlapping, and no RAM inside the MMIO gap. */
static bool boot_e820_sane(void)
{
	const struct probe_mem_range *m = probe_boot.mem;
	uint64_t prev_end = 0;

	for (unsigned i = 0; i < probe_boot.nr_mem; i++)
		probe_info("e820", "%u 0x%lx 0x%lx %u", i, m[i].addr, m[i].size, m[i].type);
	if (probe_boot.nr_mem == 0) {
		probe_fail("boot.e820.sane", "the memory map is empty");
		return false;
	}
	for (unsigned i = 0; i < probe_boot.nr_mem; i++) {
		uint64_t end = m[i].addr + m[i].size;

		if (m[i].size == 0 || end < m[i].addr) {
			probe_fail("boot.e820.sane", "entry %u (0x%lx, %lu bytes) is empty or wraps", i, m[i].addr, m[i].size);
			return false;
		}
		if (i > 0 && m[i].addr < prev_end) {
			probe_fail("boot.e820.sane", "entry %u at 0x%lx is unsorted or overlaps the one before", i, m[i].addr);
			return false;
		}
		if (m[i].type == PROBE_MEM_RAM && m[i].addr < GAP_END && end > GAP_START) {
			probe_fail("boot.e820.sane", "RAM entry %u (0x%lx-0x%lx) reaches into the MMIO gap", i, m[i].addr, end);
			return false;
		}
		prev_end = end;
	}
	probe_ok("boot.e820.sane");
	return true;
}

/* RAM starts at 0, and the RAM above 1 MiB adds up to mem_mib - 1 MiB. Below
 * 1 MiB loaders differ in how they describe the legacy hole (Firecracker
 * reports RAM only up to the EBDA); the memory behind it is still the VM's. */
static void boot_e820_total(void)
{
	uint64_t mem_mib, above = 0;
	const struct probe_mem_range *m = probe_boot.mem;

	if (!probe_param_u64("probe.mem_mib", &mem_mib) || mem_mib < 2) {
		probe_skip("boot.e820.total", "no probe.mem_mib=N on the command line");
		return;
	}
	if (m[0].type != PROBE_MEM_RAM || m[0].addr != 0) {
		probe_fail("boot.e820.total", "the first entry is not RAM at address 0");
		return;
	}
	for (unsigned i = 0; i < probe_boot.nr_mem; i++) {
		uint64_t start = m[i].addr, end = m[i].addr + m[i].size;

		if (m[i].type != PROBE_MEM_RAM || end <= MIB)
			continue;
		above += end - (start > MIB ? start : MIB);
	}
	probe_info("e820_ram_mib", "%lu", (above + MIB) / MIB);
	probe_check("boot.e820.total", above == mem_mib * MIB - MIB, "RAM is 1 MiB + %lu bytes, mem_mib is %lu", above,
		    mem_mib);
}

static void boot_e820(void)
{
	if (!probe_boot.have_mem) {
		probe_fail("boot.e820.sane", "the boot information carries no memory map");
		return;
	}
	if (boot_e820_sane())
		boot_e820_total();
}

static bool mp_checksum_ok(const uint8_t *p, unsigned len)
{
	uint8_t sum = 0;

	for (unsigned i = 0; i < len; i++)
		sum += p[i];
	return sum == 0;
}

/* The MP floating pointer in the EBDA's first KiB (MP spec 1.4 §4), and the
 * enabled processor entries of its configuration table. */
static int boot_mp_cpus(void)
{
	const uint8_t *fp = NULL, *t, *e;
	unsigned count, len, cpus = 0;
	uint32_t table;

	for (uint64_t a = 0x9fc00; a < 0xa0000 && !fp; a += 16)
		if (memcmp((const void *)a, "_MP_", 4) == 0 && mp_checksum_ok((const uint8_t *)a, 16))
			fp = (const uint8_t *)a;
	if (!fp)
		return -1;
	memcpy(&table, fp + 4, 4);
	if (table < 0x1000 || table >= 0x100000 - 44)
		return -2;
	t = (const uint8_t *)(uintptr_t)table;
	len = (unsigned)(t[4] | t[5] << 8);
	count = (unsigned)(t[34] | t[35] << 8);
	if (memcmp(t, "PCMP", 4) != 0 || len < 44 || table + len > 0x100000 || !mp_checksum_ok(t, len))
		return -2;
	for (e = t + 44; count-- && e < t + len;) {
		if (e[0] == 0 && e + 20 <= t + len)
			cpus += e[3] & 1; /* cpu_flags.EN */
		e += e[0] == 0 ? 20 : 8;
	}
	return (int)cpus;
}

static void boot_mptable(void)
{
	uint64_t vcpus;
	int n;

	if (!probe_param_u64("probe.vcpus", &vcpus)) {
		probe_skip("boot.mptable", "no probe.vcpus=N on the command line");
		return;
	}
	if (!probe_boot.zero_page) {
		probe_skip("boot.mptable", "entered through PVH: the VMM need not provide an MP table");
		return;
	}
	n = boot_mp_cpus();
	if (n == -1)
		probe_fail("boot.mptable", "no MP floating pointer in the EBDA");
	else if (n == -2)
		probe_fail("boot.mptable", "the MP configuration table is missing or corrupt");
	else
		probe_check("boot.mptable", (uint64_t)n == vcpus, "the MP table lists %d CPUs, vcpu_count is %lu", n, vcpus);
}

static void boot_timer(void)
{
	if (!probe_param_is("probe.boot_timer", "1"))
		return;
	mmio_write8(BOOT_TIMER_ADDR, BOOT_TIMER_MAGIC);
	probe_info("boot_timer", "wrote %u to 0x%lx", BOOT_TIMER_MAGIC, BOOT_TIMER_ADDR);
}

void scenario_boot(void)
{
	boot_entry_state();
	boot_zero_page_header();
	boot_cmdline();
	boot_e820();
	boot_mptable();
	boot_initrd();
	boot_cpuid();
	boot_serial();
	boot_timer();
}
