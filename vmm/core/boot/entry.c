#include "entry.h"

#include <stdbool.h>
#include <string.h>

#include "core/layout.h"
#include "core/memory.h"

#define CR0_PE (1ull << 0)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define PTE_PRESENT 0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull

/* flags holds access byte (bits 0-7) and the G/DB/L/AVL nibble (bits 12-15). */
static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0x0000ffffu);
}

void entry_gdt(uint64_t gdt[ENTRY_GDT_ENTRIES])
{
	gdt[0] = 0;
	gdt[1] = gdt_entry(0xa09b, 0, 0xfffff); /* code: G, L, present, execute/read, accessed */
	gdt[2] = gdt_entry(0xc093, 0, 0xfffff); /* data: G, D/B, present, read/write, accessed */
	gdt[3] = gdt_entry(0x808b, 0, 0xfffff); /* TSS: G, present, busy 64-bit TSS */
}

struct kvm_segment entry_segment(uint64_t e, unsigned index)
{
	uint32_t limit = (uint32_t)((e & 0xffff) | ((e >> 32) & 0xf0000));
	bool g = (e >> 55) & 1;

	return (struct kvm_segment){
		.base = ((e >> 16) & 0xffffff) | ((e >> 32) & 0xff000000ull),
		.limit = g ? (limit << 12) | 0xfff : limit,
		.selector = (uint16_t)(index * 8),
		.type = (e >> 40) & 0xf,
		.present = (e >> 47) & 1,
		.dpl = (e >> 45) & 3,
		.db = (e >> 54) & 1,
		.s = (e >> 44) & 1,
		.l = (e >> 53) & 1,
		.g = g,
		.avl = (e >> 52) & 1,
		.unusable = !((e >> 47) & 1),
	};
}

static int entry_write_pagetables(const struct guest_memory *mem)
{
	uint64_t pml4 = LAYOUT_PDPT | PTE_PRESENT | PTE_RW;
	uint64_t pdpt = LAYOUT_PD | PTE_PRESENT | PTE_RW;
	uint64_t pd[512];
	int r;

	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_RW | PTE_PS;
	r = guest_memory_write(mem, LAYOUT_PML4, &pml4, sizeof(pml4));
	if (r >= 0)
		r = guest_memory_write(mem, LAYOUT_PDPT, &pdpt, sizeof(pdpt));
	if (r >= 0)
		r = guest_memory_write(mem, LAYOUT_PD, pd, sizeof(pd));
	return r;
}

int entry_write_tables(const struct guest_memory *mem)
{
	uint64_t gdt[ENTRY_GDT_ENTRIES];
	uint64_t idt = 0;
	int r;

	entry_gdt(gdt);
	r = guest_memory_write(mem, LAYOUT_GDT, gdt, sizeof(gdt));
	if (r >= 0)
		r = guest_memory_write(mem, LAYOUT_IDT, &idt, sizeof(idt));
	if (r >= 0)
		r = entry_write_pagetables(mem);
	return r;
}

void entry_sregs(struct kvm_sregs *s)
{
	uint64_t gdt[ENTRY_GDT_ENTRIES];

	entry_gdt(gdt);
	s->gdt.base = LAYOUT_GDT;
	s->gdt.limit = sizeof(gdt) - 1;
	s->idt.base = LAYOUT_IDT;
	s->idt.limit = sizeof(uint64_t) - 1;
	s->cs = entry_segment(gdt[1], 1);
	s->ds = s->es = s->fs = s->gs = s->ss = entry_segment(gdt[2], 2);
	s->tr = entry_segment(gdt[3], 3);
	/* Caching on: CD/NW from reset would make every guest access uncached. */
	s->cr0 = (s->cr0 & ~(CR0_CD | CR0_NW)) | CR0_PE | CR0_PG;
	s->cr3 = LAYOUT_PML4;
	s->cr4 |= CR4_PAE;
	s->efer |= EFER_LME | EFER_LMA;
}

void entry_regs(struct kvm_regs *regs, uint64_t entry)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2; /* bit 1 is reserved and reads as one */
	regs->rip = entry;
	regs->rsp = LAYOUT_BOOT_STACK;
	regs->rbp = LAYOUT_BOOT_STACK;
	regs->rsi = LAYOUT_ZERO_PAGE;
}

void entry_fpu(struct kvm_fpu *fpu)
{
	memset(fpu, 0, sizeof(*fpu));
	fpu->fcw = 0x37f;
	fpu->mxcsr = 0x1f80;
}
