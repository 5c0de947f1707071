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
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

#define I8042_BUF_SIZE 16u
#define I8042_PORT_LEN 5u /* 0x60..0x64 */

struct device_env;
struct i8042;

/* The metrics "i8042" group (monotonic): missed_read_count counts data-port
 * reads with nothing buffered, missed_write_count bytes dropped on a full
 * buffer. i8042_create registers it. */
#define I8042_METRICS(X)                                                                           \
	X(error_count, METRICS_COUNTER)                                                            \
	X(missed_read_count, METRICS_COUNTER)                                                      \
	X(missed_write_count, METRICS_COUNTER)                                                     \
	X(read_count, METRICS_COUNTER)                                                             \
	X(reset_count, METRICS_COUNTER)                                                            \
	X(write_count, METRICS_COUNTER)
METRICS_ATOMIC_COUNTERS(i8042_metrics, I8042_METRICS);
extern struct i8042_metrics i8042_metrics;
extern const struct metrics_group i8042_metrics_group;

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
/* Snapshots: the controller's registers and buffered bytes into buf (its
 * length, 0 when size is below I8042_STATE_MAX), and back (0, or -EINVAL
 * for a malformed state with err filled). */
#define I8042_STATE_MAX (5u + I8042_BUF_SIZE)
size_t i8042_state_save(struct i8042 *d, uint8_t *buf, size_t size);
int i8042_state_restore(struct i8042 *d, const uint8_t *buf, size_t len, char *err, size_t errlen);
