/* Scenario serial-input: what the host types reaches the guest.
 *
 *   probe.serial_input_n=N    bytes to wait for (default 1, at most 64)
 *   probe.serial_input_ms=N   how long to wait for them (default 10000)
 *
 * Prints `PROBE-INFO serial-input ready`, then polls COM1's LSR.DR and
 * reads RBR; each byte is printed as `PROBE-INFO serial-input.byte 0xNN`.
 * `PROBE serial-input.received ok` once N bytes came, FAIL at the deadline.
 * serial.bats types Ctrl-C and the Ctrl-A escapes on a terminal, and
 * writes bytes into a FIFO on stdin. */
#include "probe.h"
#include "scenarios.h"

#define COM1 0x3f8
#define LSR_DR 0x01

void scenario_serial_input(void)
{
	uint64_t n = 1, ms = 10000, got = 0, end;

	probe_param_u64("probe.serial_input_n", &n);
	probe_param_u64("probe.serial_input_ms", &ms);
	if (n > 64)
		n = 64;
	probe_info("serial-input", "ready");
	end = probe_deadline_ms(ms);
	while (got < n && !probe_deadline_passed(end)) {
		if (!(inb(COM1 + 5) & LSR_DR))
			continue;
		probe_info("serial-input.byte", "0x%02x", inb(COM1));
		got++;
	}
	probe_check("serial-input.received", got == n, "%lu of %lu bytes within %lu ms", got, n, ms);
}
