/* The minimal guest for kvmtool, which runs a kernel file that is not a
 * bzImage as a flat binary in real mode (loaded at 0x1000:0000): the same
 * line and the same i8042 reset as guest.S, assembled as 16-bit code. */
#define PUTC(c) movb $(c), %al; outb %al, %dx

	.code16
	.text
	.globl _start
_start:
	cli
	movw $0x3f8, %dx
	PUTC('s'); PUTC('t'); PUTC('a'); PUTC('r'); PUTC('t'); PUTC('u'); PUTC('p')
	PUTC(' '); PUTC('g'); PUTC('u'); PUTC('e'); PUTC('s'); PUTC('t'); PUTC('\n')
#ifndef STAY
	movw $0x64, %dx
	PUTC(0xfe)
#endif
1:	hlt
	jmp 1b
