/* Boot scenario, serial: the 8250 registers behave like an 8250 (the
 * register model Linux's 8250 driver probes at boot). The probe's own output
 * goes through the same UART, so each check restores what it changed. */
#include "boot-checks.h"
#include "probe.h"

#define COM1 0x3f8u
#define RBR (COM1 + 0) /* THR on write; DLL with DLAB */
#define DLM (COM1 + 1) /* with DLAB */
#define IER (COM1 + 1) /* without DLAB */
#define LCR (COM1 + 3)
#define MCR (COM1 + 4)
#define LSR (COM1 + 5)
#define SCR (COM1 + 7)

#define LCR_DLAB 0x80u
#define LCR_8N1 0x03u
#define MCR_OUT2 0x08u
#define MCR_LOOP 0x10u
#define IER_THRE 0x02u
#define SERIAL_IRQ 4u
#define LSR_DR 0x01u
#define LSR_THRE 0x20u
#define LSR_TEMT 0x40u
#define SPIN_MAX 10000u

static void serial_scratch(void)
{
	uint8_t a, b;

	outb(SCR, 0x5a);
	a = inb(SCR);
	outb(SCR, 0xa5);
	b = inb(SCR);
	probe_check("boot.serial.scratch", a == 0x5a && b == 0xa5, "scratch register read 0x%x/0x%x after 0x5a/0xa5", a, b);
}

static void serial_divisor(void)
{
	uint8_t lcr = inb(LCR), dll, dlm, got_l, got_m;

	outb(LCR, lcr | LCR_DLAB);
	dll = inb(RBR);
	dlm = inb(DLM);
	outb(RBR, 0x0c);
	outb(DLM, 0x01);
	got_l = inb(RBR);
	got_m = inb(DLM);
	outb(RBR, dll);
	outb(DLM, dlm);
	outb(LCR, lcr & (uint8_t)~LCR_DLAB);
	probe_check("boot.serial.divisor", got_l == 0x0c && got_m == 0x01 && (inb(LCR) & LCR_DLAB) == 0,
		    "divisor latch read 0x%x/0x%x after writing 0x0c/0x01", got_l, got_m);
}

static void serial_idle(void)
{
	uint8_t lsr = 0;

	for (unsigned i = 0; i < SPIN_MAX; i++) {
		lsr = inb(LSR);
		if ((lsr & (LSR_THRE | LSR_TEMT)) == (LSR_THRE | LSR_TEMT))
			break;
	}
	probe_check("boot.serial.lsr-idle", (lsr & (LSR_THRE | LSR_TEMT)) == (LSR_THRE | LSR_TEMT),
		    "LSR is 0x%x when idle: THRE and TEMT should be set", lsr);
}

static void serial_loopback(void)
{
	uint8_t mcr = inb(MCR), lsr_before, got, lsr_after;

	/* Stale input (a host typing at the console) is drained first. */
	for (unsigned i = 0; i < 64 && (inb(LSR) & LSR_DR); i++)
		(void)inb(RBR);
	outb(MCR, mcr | MCR_LOOP);
	outb(RBR, 0x42);
	lsr_before = inb(LSR);
	got = inb(RBR);
	lsr_after = inb(LSR);
	outb(MCR, mcr);
	if (!(lsr_before & LSR_DR))
		probe_fail("boot.serial.loopback", "LSR.DR is clear after a loopback write (LSR 0x%x)", lsr_before);
	else if (got != 0x42)
		probe_fail("boot.serial.loopback", "RBR read 0x%x in loopback, 0x42 was written", got);
	else
		probe_check("boot.serial.loopback", !(lsr_after & LSR_DR), "LSR.DR stays set after RBR was read");
}

/* A THRE interrupt, as Linux's 8250 driver provokes one when it probes the
 * IRQ: OUT2 gates the UART's interrupt line to the PIC/IOAPIC, and enabling
 * IER.THRE with the transmitter empty interrupts at once. */
static void serial_trigger_thre(void)
{
	outb(IER, 0);
	outb(MCR, inb(MCR) | MCR_OUT2);
	outb(IER, IER_THRE);
}

static void serial_irq(void)
{
	probe_irq_check("irq.serial", SERIAL_IRQ, serial_trigger_thre);
	outb(IER, 0); /* the probe polls LSR: no transmit interrupts */
}

void boot_serial(void)
{
	serial_scratch();
	serial_divisor();
	serial_idle();
	serial_loopback();
	serial_irq();
}
