/* Scenario serial-flood: a guest that prints without end, for a while.
 *
 *   probe.flood_ms=N        how long it prints (default 3000)
 *   probe.flood_quiet_ms=N  then how long it stays silent (default 1500), so
 *                           a host output budget refills before the report
 *
 * It writes lines of 64 bytes ("FLOOD ...\n") to COM1's data port with
 * `rep outsb`, 4 KiB per instruction and no LSR polling between bytes: one
 * VM exit per 4 KiB, as fast as a guest can print (a kernel's console waits
 * for THRE, which ember's 8250 always shows). Then
 * `PROBE-INFO serial-flood.bytes <n>` and `PROBE serial-flood.printed ok`.
 * serial.bats holds it against the output cap and the /serial limiter. */
#include "probe.h"
#include "scenarios.h"

#define COM1 0x3f8
#define FLOOD_CHUNK 4096u
#define FLOOD_LINE 64u

static char flood[FLOOD_CHUNK];

static void flood_fill(void)
{
	static const char hex[] = "0123456789abcdef";

	for (unsigned i = 0; i < FLOOD_CHUNK; i++)
		flood[i] = (i % FLOOD_LINE) < 6 ? "FLOOD "[i % FLOOD_LINE] : hex[(i / FLOOD_LINE) % 16];
	for (unsigned i = FLOOD_LINE - 1; i < FLOOD_CHUNK; i += FLOOD_LINE)
		flood[i] = '\n';
}

static void flood_out(const char *p, uint64_t n)
{
	if (probe_param_is("probe.flood_mode", "outb")) {
		for (uint64_t i = 0; i < n; i++)
			outb(COM1, (uint8_t)p[i]);
		return;
	}
	__asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"((uint16_t)COM1) : "memory");
}

void scenario_serial_flood(void)
{
	uint64_t ms = 3000, quiet = 1500, bytes = 0, end;

	probe_param_u64("probe.flood_ms", &ms);
	probe_param_u64("probe.flood_quiet_ms", &quiet);
	flood_fill();
	end = probe_deadline_ms(ms);
	while (!probe_deadline_passed(end)) {
		flood_out(flood, FLOOD_CHUNK);
		bytes += FLOOD_CHUNK;
	}
	probe_sleep_ms(quiet);
	probe_info("serial-flood.bytes", "%lu", bytes);
	probe_ok("serial-flood.printed");
}
