/* An 8250/16550A UART, modelled register by register (COM1: port 0x3f8, IRQ 4).
 *
 * Output goes to out_fd (stdout, later a file) one byte per THR write, as the
 * guest writes it, and never waits: a byte the sink cannot take now is dropped
 * and counted in missed_write_count (common/out.h says how). Input comes from in_fd when it is a tty or a FIFO: it is
 * read on the vmm thread into a bounded FIFO of SERIAL_FIFO_SIZE bytes and
 * reading stops while the FIFO is full, so a fast producer can never make
 * ember buffer without limit. The interrupt is an eventfd: bound to the IRQ
 * with KVM_IRQFD when env->vm_fd >= 0, a plain eventfd otherwise (tests).
 *
 * Registers (offset from the base; DLAB = LCR bit 7):
 *   0 RBR (read) / THR (write) / DLL (DLAB)   4 MCR (loopback: THR feeds RBR,
 *   1 IER / DLM (DLAB)                          MSR mirrors DTR/RTS/OUT1/OUT2)
 *   2 IIR (read) / FCR (write)                5 LSR: DR, THRE, TEMT
 *   3 LCR                                      6 MSR   7 SCR
 * Guest accesses run on vCPU threads; a mutex orders them against the vmm
 * thread's stdin reads. */
#pragma once

#include <stdatomic.h>
#include <stdint.h>

#define SERIAL_FIFO_SIZE 64u
#define SERIAL_PORT_LEN 8u

struct device_env;
struct serial;

/* The metrics "uart" group (monotonic counters, summed over all UARTs). */
struct uart_metrics {
	_Atomic uint64_t read_count;         /* bytes the guest read from RBR */
	_Atomic uint64_t write_count;        /* bytes written to the output */
	_Atomic uint64_t flush_count;
	_Atomic uint64_t missed_read_count;  /* input bytes that could not be read */
	_Atomic uint64_t missed_write_count; /* output bytes dropped: sink full or failed */
	_Atomic uint64_t error_count;
};
extern struct uart_metrics uart_metrics;

/* Creates the UART, claims [port, port + 8) on env->pio_bus, binds its IRQ and,
 * when in_fd is a tty or FIFO, registers in_fd on env->loop. out_fd and in_fd
 * are not owned (in_fd < 0: no input). The caller owns *ret and frees it with
 * serial_destroy() after the vCPUs have stopped. Returns 0 or -errno. */
int serial_create(const struct device_env *env, uint16_t port, unsigned irq, int out_fd, int in_fd,
		  struct serial **ret);
/* Unregisters the loop fds and frees; accepts NULL, returns NULL. */
struct serial *serial_destroy(struct serial *s);
/* The interrupt eventfd (for tests with vm_fd = -1). */
int serial_irq_fd(const struct serial *s);
