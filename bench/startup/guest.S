/* bench/startup's minimal guest: prints one line on the 8250 at 0x3f8 and
 * ends the VM, in about 60 instructions that touch no memory.
 *
 * One ELF serves two entries with the same bytes: ember enters e_entry in
 * 64-bit mode (the Linux boot protocol, as for a vmlinux); QEMU -M microvm
 * enters the XEN_ELFNOTE_PHYS32_ENTRY address in 32-bit protected mode (PVH).
 * Every instruction below (cli, mov imm16 to DX with the 0x66 prefix, mov
 * imm8 to AL, out, hlt, a short jmp) encodes the same in both modes.
 *
 * The end, each VMM's native way: 0xfe to the i8042 command port 0x64 (a
 * reset; ember and kvmtool exit), then 0 to isa-debug-exit at 0xf4 (QEMU
 * exits with 1). With -DSTAY the guest instead halts with interrupts off
 * after its line, so that the VMM stays alive to be measured; -DNO_NEWLINE
 * leaves the line open (test/integration/startup.bats: a prompt must still
 * reach stdout). */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4                         /* namesz: "Xen\0" */
	.long 8                         /* descsz: QEMU reads 64 bits from a 64-bit ELF */
	.long 18                        /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.quad guest_start

#define PUTC(c) movb $(c), %al; outb %al, %dx

	.text
	.code64
	.globl guest_start
guest_start:
	cli
	movw $0x3f8, %dx
	PUTC('s'); PUTC('t'); PUTC('a'); PUTC('r'); PUTC('t'); PUTC('u'); PUTC('p')
	PUTC(' '); PUTC('g'); PUTC('u'); PUTC('e'); PUTC('s'); PUTC('t')
#ifndef NO_NEWLINE
	PUTC('\n')
#endif
#ifndef STAY
	movw $0x64, %dx
	PUTC(0xfe)
	movw $0xf4, %dx
	PUTC(0)
#endif
1:	hlt
	jmp 1b
