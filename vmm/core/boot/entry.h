/* The CPU state at the 64-bit entry (Linux boot protocol, "64-bit Boot
 * Protocol"): long mode with paging on, an identity map of the first 1 GiB in
 * 2 MiB pages (PML4 at LAYOUT_PML4, PDPT at LAYOUT_PDPT, PD at LAYOUT_PD), a
 * GDT at LAYOUT_GDT with flat 64-bit code (selector 0x08), flat data (0x10)
 * and a TSS (0x18), an empty IDT, RSI = the zero page, RIP = the kernel's
 * entry and RSP = LAYOUT_BOOT_STACK. Everything here is pure computation or a
 * write through the guarded accessor, so it is unit-tested without KVM. */
#pragma once

#include <linux/kvm.h>
#include <stdint.h>

struct guest_memory;

#define ENTRY_GDT_ENTRIES 4u
#define ENTRY_SEL_CODE 0x08u
#define ENTRY_SEL_DATA 0x10u
#define ENTRY_SEL_TSS 0x18u

/* Writes the GDT, the IDT and the page tables into guest memory. 0 or -EFAULT. */
int entry_write_tables(const struct guest_memory *mem);
/* The GDT ember uses, entry by entry (for the tables and the tests). */
void entry_gdt(uint64_t gdt[ENTRY_GDT_ENTRIES]);
/* Turns a GDT entry into the KVM segment the CPU caches for selector index*8. */
struct kvm_segment entry_segment(uint64_t gdt_entry, unsigned index);
/* Updates the segments, descriptor tables, CR0/CR3/CR4 and EFER of sregs
 * (as read from KVM, which fills in the rest) for the 64-bit entry. */
void entry_sregs(struct kvm_sregs *sregs);
/* The general registers at entry. */
void entry_regs(struct kvm_regs *regs, uint64_t entry);
/* x87 and SSE control words at their reset values (FCW 0x37f, MXCSR 0x1f80). */
void entry_fpu(struct kvm_fpu *fpu);
