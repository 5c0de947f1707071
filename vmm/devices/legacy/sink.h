/* Silent port-I/O sinks: COM2-COM4 and QEMU's isa-debug-exit port 0xf4.
 *
 * Linux probes every legacy COM port; a sink answers reads with 0xff (no UART
 * there) and drops writes, at the cost of one exit and no log line. The probe
 * guest writes 0xf4 so that QEMU microvm exits; under ember that write is an
 * ordinary no-op and the i8042 reset ends the VM. */
#pragma once

struct bus;

/* Claims the sink ranges on the port bus. 0 or -errno (-EEXIST on overlap). */
int legacy_sinks_attach(struct bus *pio_bus);
