/* Boot scenario, entry state: the CPU as the Linux 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol") promises it:
 * long mode with paging, interrupts disabled, flat segments from a loaded
 * GDT (the protocol names selectors 0x10/0x18; Firecracker uses 0x08/0x10 and
 * Linux reloads its own, so only the descriptors' shape is checked), and an
 * identity map covering the zero page, the command line and the kernel (the
 * VMM promises the whole first GiB). entry.S records the state; under PVH
 * there is none to check. */
#include <stddef.h>

#include "boot-checks.h"
#include "entry.h"
#include "probe.h"

struct __attribute__((packed)) probe_entry_state {
	uint64_t rflags, cr0, cr3, cr4, efer, rsp;
	uint16_t gdt_limit;
	uint64_t gdt_base;
	uint16_t cs, ds, es, ss;
	uint8_t valid;
};

_Static_assert(offsetof(struct probe_entry_state, gdt_limit) == PROBE_ES_GDTR, "entry.h offsets");
_Static_assert(offsetof(struct probe_entry_state, cs) == PROBE_ES_CS, "entry.h offsets");
_Static_assert(offsetof(struct probe_entry_state, valid) == PROBE_ES_VALID, "entry.h offsets");
_Static_assert(sizeof(struct probe_entry_state) <= PROBE_ES_SIZE, "entry.h size");

extern const struct probe_entry_state probe_entry_state;
extern const char probe_image_end[];

#define RFLAGS_IF (1UL << 9)
#define CR0_PE (1UL << 0)
#define CR0_PG (1UL << 31)
#define CR4_PAE (1UL << 5)
#define EFER_LME (1UL << 8)
#define EFER_LMA (1UL << 10)
#define PTE_P 1UL
#define PTE_PS 0x80UL
#define PTE_ADDR 0x000ffffffffff000UL
#define READABLE_END 0xc0000000UL
#define GIB (1UL << 30)
#define STEP_2M (1UL << 21)

static void entry_mode(const struct probe_entry_state *s)
{
	if (s->rflags & RFLAGS_IF)
		probe_fail("boot.entry.mode", "interrupts are enabled at entry (RFLAGS 0x%lx)", s->rflags);
	else if ((s->cr0 & (CR0_PE | CR0_PG)) != (CR0_PE | CR0_PG) || !(s->cr4 & CR4_PAE))
		probe_fail("boot.entry.mode", "not paged protected mode with PAE (CR0 0x%lx, CR4 0x%lx)", s->cr0, s->cr4);
	else
		probe_check("boot.entry.mode", (s->efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA),
			    "EFER 0x%lx: long mode is not active", s->efer);
}

/* The descriptor for selector sel, or 0 when it lies outside the GDT. */
static uint64_t gdt_entry(const struct probe_entry_state *s, uint16_t sel)
{
	uint64_t off = sel & ~7u;

	if ((sel & 4) || off + 7 > s->gdt_limit || s->gdt_base + off + 8 > READABLE_END)
		return 0;
	return *(const uint64_t *)(uintptr_t)(s->gdt_base + off);
}

static bool desc_flat(uint64_t d)
{
	uint64_t base = ((d >> 16) & 0xffffff) | ((d >> 56) << 24);
	uint64_t limit = (d & 0xffff) | (((d >> 48) & 0xf) << 16);

	return base == 0 && limit == 0xfffff && (d & (1UL << 55)); /* G: 4 GiB */
}

static void entry_gdt(const struct probe_entry_state *s)
{
	const uint16_t data[] = { s->ds, s->es, s->ss };
	uint64_t cs = gdt_entry(s, s->cs);

	/* Present (P), code/data (S), executable, and 64-bit (L). */
	if (!(cs & (1UL << 47)) || !(cs & (1UL << 44)) || !(cs & (1UL << 43)) || !(cs & (1UL << 53))) {
		probe_fail("boot.entry.gdt", "CS 0x%x is not a present 64-bit code segment (0x%lx)", s->cs, cs);
		return;
	}
	for (unsigned i = 0; i < 3; i++) {
		uint64_t d = gdt_entry(s, data[i]);

		if (data[i] < 4) /* a null selector is legal in 64-bit mode */
			continue;
		/* Present, code/data, not executable, writable, flat 4 GiB. */
		if (!(d & (1UL << 47)) || !(d & (1UL << 44)) || (d & (1UL << 43)) || !(d & (1UL << 41)) || !desc_flat(d)) {
			probe_fail("boot.entry.gdt", "data selector 0x%x is not a flat writable segment (0x%lx)", data[i], d);
			return;
		}
	}
	probe_ok("boot.entry.gdt");
}

/* Translates va through the loader's page tables (4-level, 4 KiB to 1 GiB pages). */
static bool entry_translate(uint64_t cr3, uint64_t va, uint64_t *ret_pa)
{
	uint64_t table = cr3 & PTE_ADDR;

	for (int level = 3; level >= 0; level--) {
		uint64_t e, size = 1UL << (12 + 9 * level);

		if (table + 4096 > READABLE_END)
			return false;
		e = ((const uint64_t *)(uintptr_t)table)[(va >> (12 + 9 * level)) & 511];
		if (!(e & PTE_P))
			return false;
		if (level == 0 || (level < 3 && (e & PTE_PS))) {
			*ret_pa = (e & PTE_ADDR & ~(size - 1)) | (va & (size - 1));
			return true;
		}
		table = e & PTE_ADDR;
	}
	return false;
}

static void entry_identity(const struct probe_entry_state *s)
{
	uint64_t low_end = 0, pa = 0;

	for (unsigned i = 0; i < probe_boot.nr_mem; i++)
		if (probe_boot.mem[i].type == PROBE_MEM_RAM && probe_boot.mem[i].addr < GIB)
			low_end = probe_boot.mem[i].addr + probe_boot.mem[i].size;
	if (low_end == 0 || low_end > GIB)
		low_end = GIB;
	if ((uint64_t)(uintptr_t)probe_image_end > low_end) {
		probe_fail("boot.entry.identity", "the probe's image ends past the RAM below 1 GiB");
		return;
	}
	/* One look per 2 MiB: ember maps the first GiB with 2 MiB pages. */
	for (uint64_t va = 0; va < low_end; va += STEP_2M) {
		if (!entry_translate(s->cr3, va, &pa) || pa != va) {
			probe_fail("boot.entry.identity", "0x%lx is not identity-mapped by the loader's tables", va);
			return;
		}
	}
	probe_ok("boot.entry.identity");
}

void boot_entry_state(void)
{
	const struct probe_entry_state *s = &probe_entry_state;

	if (!s->valid) {
		probe_skip("boot.entry", "entered through PVH: 32-bit entry, the probe sets up long mode itself");
		return;
	}
	probe_info("entry_state", "rflags=0x%lx cr0=0x%lx cr3=0x%lx cr4=0x%lx efer=0x%lx rsp=0x%lx cs=0x%x ds=0x%x ss=0x%x",
		   s->rflags, s->cr0, s->cr3, s->cr4, s->efer, s->rsp, s->cs, s->ds, s->ss);
	entry_mode(s);
	entry_gdt(s);
	entry_identity(s);
}
