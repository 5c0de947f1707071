/* The i8042 keyboard controller at ports 0x60 (data) and 0x64 (status and
 * command), as Firecracker models it: enough for Linux's i8042 and atkbd
 * drivers, and the x86 reboot path.
 *
 * Controller commands: 0x20 read the control byte, 0x60 write it, 0xD0 read
 * the output port, 0xD1 write it, 0xFE pulse the CPU reset line: on_reset is
 * called (on the vCPU thread) and ember ends with exit code 0, which is how a
 * guest with reboot=k ends the microVM. A keyboard command written to the data
 * port is acknowledged with 0xFA. The output buffer holds I8042_BUF_SIZE bytes;
 * its IRQ (1) is an eventfd bound with KVM_IRQFD (a plain eventfd in tests). */
#pragma once

#include <stdatomic.h>
#include <stdint.h>

#define I8042_BUF_SIZE 16u
#define I8042_PORT_LEN 5u /* 0x60..0x64 */

struct device_env;
struct i8042;

/* The metrics "i8042" group (monotonic). */
struct i8042_metrics {
	_Atomic uint64_t error_count;
	_Atomic uint64_t missed_read_count;  /* data-port reads with nothing buffered */
	_Atomic uint64_t missed_write_count; /* bytes dropped on a full buffer */
	_Atomic uint64_t read_count;
	_Atomic uint64_t reset_count;
	_Atomic uint64_t write_count;
};
extern struct i8042_metrics i8042_metrics;

/* Creates the controller and claims 0x60..0x64 on env->pio_bus. on_reset(ctx)
 * runs on the vCPU thread that wrote 0xFE; it must only request the exit.
 * The caller owns *ret. Returns 0 or -errno. */
int i8042_create(const struct device_env *env, void (*on_reset)(void *ctx), void *ctx, struct i8042 **ret);
struct i8042 *i8042_destroy(struct i8042 *d); /* accepts NULL, returns NULL */

/* Queues the set-2 scancodes of Ctrl, Alt, Del pressed then released
 * (14 11 E0 71, E0 F0 71, F0 11, F0 14) and raises IRQ 1 if the guest enabled
 * keyboard interrupts. All or nothing: -ENOSPC when the buffer lacks room.
 * Callable from any thread (the API's SendCtrlAltDel runs on the vmm thread). */
int i8042_send_ctrl_alt_del(struct i8042 *d);
/* The interrupt eventfd (for tests with vm_fd = -1). */
int i8042_irq_fd(const struct i8042 *d);
