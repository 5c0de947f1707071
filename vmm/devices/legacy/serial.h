/* An 8250/16550A UART, modelled register by register (COM1: port 0x3f8, IRQ 4).
 *
 * Output goes to out_fd (stdout, or PUT /serial's serial_out_path) in batches of up to 64 bytes:
 * at each newline, when full, or 1 ms after the batch's first byte (the vmm
 * loop's timer; in a host-side harness without a VM, byte by byte). It never
 * waits: what the sink cannot take now is dropped and counted in
 * missed_write_count (common/out.h says how). Input comes from in_fd when it is a tty or a FIFO: it is
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
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

#define SERIAL_FIFO_SIZE 64u
#define SERIAL_PORT_LEN 8u

struct device_env;
struct serial;

/* The metrics "uart" group (monotonic counters of the one COM1 UART):
 * read_count bytes the guest read from RBR, write_count bytes written to the
 * output, missed_read_count input bytes that could not be read,
 * missed_write_count output bytes dropped (the sink was full or failed). serial_create
 * registers it. */
#define UART_METRICS(X)                                                                            \
	X(error_count, METRICS_COUNTER)                                                            \
	X(flush_count, METRICS_COUNTER)                                                            \
	X(missed_read_count, METRICS_COUNTER)                                                      \
	X(missed_write_count, METRICS_COUNTER)                                                     \
	X(read_count, METRICS_COUNTER)                                                             \
	X(write_count, METRICS_COUNTER)                                                            \
	X(rate_limiter_dropped_bytes, METRICS_COUNTER)
METRICS_ATOMIC_COUNTERS(uart_metrics, UART_METRICS);
extern struct uart_metrics uart_metrics;
extern const struct metrics_group uart_metrics_group;

/* Creates the UART, claims [port, port + 8) on env->pio_bus, binds its IRQ and,
 * when in_fd is a tty or FIFO, registers in_fd on env->loop. out_fd and in_fd
 * are not owned (in_fd < 0: no input). The caller owns *ret and frees it with
 * serial_destroy() after the vCPUs have stopped. Returns 0 or -errno. */
int serial_create(const struct device_env *env, uint16_t port, unsigned irq, int out_fd, int in_fd,
		  struct serial **ret);
/* The output budget, one token bucket of bytes (PUT /serial's rate_limiter,
 * or the default cap config/serial_config.h names): a batch it cannot pay
 * is dropped whole and counted in rate_limiter_dropped_bytes; a disabled
 * bucket (size or refill_time 0) passes everything. Before the vCPUs run. */
struct token_bucket_config;
void serial_set_output_limit(struct serial *s, const struct token_bucket_config *b);
/* stdin is a terminal in raw mode (common/term.h): Ctrl-A x calls
 * exit_fn(ctx) on the vmm thread, Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A
 * and another key send that key. Without it every byte goes to the guest. */
void serial_set_console_escape(struct serial *s, void (*exit_fn)(void *ctx), void *ctx);
/* Unregisters the loop fds and frees; accepts NULL, returns NULL. */
struct serial *serial_destroy(struct serial *s);
/* The interrupt eventfd (for tests with vm_fd = -1). */
int serial_irq_fd(const struct serial *s);
/* Snapshots: the registers and the unread input into buf (its length, 0
 * when size is below SERIAL_STATE_MAX), and back (0, or -EINVAL for a
 * malformed state with err filled). */
#define SERIAL_STATE_MAX (8u + SERIAL_FIFO_SIZE)
size_t serial_state_save(struct serial *s, uint8_t *buf, size_t size);
int serial_state_restore(struct serial *s, const uint8_t *buf, size_t len, char *err, size_t errlen);
