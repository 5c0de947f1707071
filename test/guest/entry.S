/* Entry points of the probe guest.
 *
 * probe_entry64: the Linux 64-bit boot protocol, as ember enters a vmlinux:
 *   long mode, paging on (identity map of at least the first 1 GiB), RSI =
 *   the zero page, interrupts off.
 * probe_entry_pvh: the PVH boot ABI (Xen's arch-x86/hvm/start_info.h), as QEMU
 *   -M microvm enters an ELF with a XEN_ELFNOTE_PHYS32_ENTRY note: 32-bit
 *   protected mode, paging off, flat segments, EBX = struct hvm_start_info.
 *
 * Both switch to the probe's own page tables, which identity-map the first
 * 4 GiB so that the MMIO gap at 3 GiB (boot timer, virtio-mmio) is reachable,
 * then call probe_main(info, kind). Nothing here can fault: the probe takes
 * no exceptions and loads no IDT. */
#include "entry.h"

	.section .note.Xen, "a", @note
	.balign 4
	.long 4                         /* namesz: "Xen\0" */
	.long 8                         /* descsz: QEMU reads a 64-bit value from a 64-bit ELF */
	.long 18                        /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.quad probe_entry_pvh

	.section .text.entry, "ax"
	.code64
	.globl probe_entry64
probe_entry64:
	/* Record the loader's CPU state for the boot scenario's checks. The
	 * probe's own stack comes first, so that pushfq cannot depend on the
	 * loader's RSP being sane. The registers written here (RAX, RBX, RCX,
	 * RDX) carry nothing in the boot protocol; RSI is kept. */
	movq %rsp, %rbx
	movq $probe_stack_top, %rsp
	pushfq
	popq probe_entry_state + PROBE_ES_RFLAGS
	cli
	movq %rbx, probe_entry_state + PROBE_ES_RSP
	movq %cr0, %rax
	movq %rax, probe_entry_state + PROBE_ES_CR0
	movq %cr3, %rax
	movq %rax, probe_entry_state + PROBE_ES_CR3
	movq %cr4, %rax
	movq %rax, probe_entry_state + PROBE_ES_CR4
	movl $0xc0000080, %ecx          /* IA32_EFER */
	rdmsr
	movl %eax, probe_entry_state + PROBE_ES_EFER
	movl %edx, probe_entry_state + PROBE_ES_EFER + 4
	sgdt probe_entry_state + PROBE_ES_GDTR
	movw %cs, probe_entry_state + PROBE_ES_CS
	movw %ds, probe_entry_state + PROBE_ES_DS
	movw %es, probe_entry_state + PROBE_ES_ES
	movw %ss, probe_entry_state + PROBE_ES_SS
	movb $1, probe_entry_state + PROBE_ES_VALID
	movq %rsi, %rdi
	movl $PROBE_BOOT_ZERO_PAGE, %esi
	jmp probe_entry_common

	.code32
	.globl probe_entry_pvh
probe_entry_pvh:
	cli
	movl %ebx, %esi
	lgdt probe_gdt_desc
	movl $probe_pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $0x20, %eax                 /* CR4.PAE */
	movl %eax, %cr4
	movl $0xc0000080, %ecx          /* IA32_EFER */
	rdmsr
	orl $0x100, %eax                /* EFER.LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax           /* CR0.PG | CR0.PE */
	movl %eax, %cr0
	ljmp $0x08, $probe_pvh_long

	.code64
probe_pvh_long:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %esi, %edi                 /* zero-extends the start_info address */
	movl $PROBE_BOOT_PVH, %esi

probe_entry_common:
	movq $probe_stack_top, %rsp
	movq $probe_pml4, %rax
	movq %rax, %cr3
	call probe_main
1:	cli
	hlt
	jmp 1b

	.section .rodata
	.balign 8
probe_gdt:
	.quad 0                         /* null */
	.quad 0x00af9a000000ffff        /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff        /* 0x10: flat data */
probe_gdt_end:
probe_gdt_desc:
	.word probe_gdt_end - probe_gdt - 1
	.long probe_gdt

/* Page tables, built at assembly time so that entry costs no instructions:
 * PML4[0] -> PDPT, PDPT[0..3] -> four page directories of 2 MiB pages covering
 * 0..4 GiB. The last GiB (the MMIO gap) is mapped uncached (PCD | PWT). */
	.section .data.pagetables, "aw"
	.balign 4096
	.globl probe_pml4
probe_pml4:
	.quad probe_pdpt + 0x3
	.quad probe_pdpt_hi + 0x3       /* 512 GiB - 1 TiB: device memory (pmem) */
	.fill 510, 8, 0
probe_pdpt:
	.quad probe_pd + 0x3
	.quad probe_pd + 0x1000 + 0x3
	.quad probe_pd + 0x2000 + 0x3
	.quad probe_pd + 0x3000 + 0x3
	.fill 508, 8, 0
probe_pd:
	.set pde, 0
	.rept 2048
	.if pde >= 1536
	.quad (pde << 21) | 0x9b        /* P | RW | PWT | PCD | PS */
	.else
	.quad (pde << 21) | 0x83        /* P | RW | PS */
	.endif
	.set pde, pde + 1
	.endr
/* 512-513 GiB, where ember places virtio-pmem windows (core/layout.h), in
 * 2 MiB write-back pages: the probe reads and writes them as memory. */
probe_pdpt_hi:
	.quad probe_pd_pmem + 0x3
	.fill 511, 8, 0
probe_pd_pmem:
	.set pde, 0
	.rept 512
	.quad ((512 << 30) + (pde << 21)) | 0x83        /* P | RW | PS */
	.set pde, pde + 1
	.endr

	.section .bss
	.balign 16
	.globl probe_entry_state
probe_entry_state:
	.skip PROBE_ES_SIZE
	.balign 16
probe_stack:
	.skip PROBE_STACK_SIZE
probe_stack_top:
