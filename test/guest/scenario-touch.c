/* Scenario touch: guest RAM that the host backs as the VM goes (huge pages).
 *
 * Writes one byte into every 4 KiB page of probe.touch_mib MiB (default 64)
 * from TOUCH_BASE, prints `PROBE touch.filled ok`, then waits for one byte on
 * the serial input: the host inspects the VMM's mapping meanwhile (smaps,
 * HugePages_Free). Then it re-reads every byte: `PROBE touch.checked ok`.
 * Polling only; probe.touch_wait_ms (default 120000) bounds the wait. */
#include "probe.h"

/* Above the probe image (1 MiB + a few hundred KiB) and 2 MiB aligned, so
 * the touched range covers whole huge pages. */
#define TOUCH_BASE (16ull << 20)
#define TOUCH_STEP 4096ull
#define COM1 0x3f8
#define COM1_LSR (COM1 + 5)
#define LSR_DATA_READY 0x01
/* The probe's page tables map 0-3 GiB write-back (entry.S). */
#define TOUCH_LIMIT (3ull << 30)

static uint8_t touch_pattern(uint64_t addr)
{
	return (uint8_t)((addr >> 12) * 31u + 7u);
}

/* Whether [base, end) lies inside one RAM range of the memory map. */
static bool touch_in_ram(uint64_t base, uint64_t end)
{
	for (unsigned i = 0; i < probe_boot.nr_mem; i++) {
		const struct probe_mem_range *m = &probe_boot.mem[i];

		if (m->type == PROBE_MEM_RAM && base >= m->addr && end <= m->addr + m->size)
			return true;
	}
	return false;
}

static bool touch_wait_input(uint64_t ms)
{
	uint64_t deadline = probe_deadline_ms(ms);

	while (!probe_deadline_passed(deadline)) {
		if (inb(COM1_LSR) & LSR_DATA_READY) {
			(void)inb(COM1);
			return true;
		}
	}
	return false;
}

void scenario_touch(void)
{
	uint64_t mib = 64, wait_ms = 120000, end, bad = 0;

	probe_param_u64("probe.touch_mib", &mib);
	probe_param_u64("probe.touch_wait_ms", &wait_ms);
	end = TOUCH_BASE + (mib << 20);
	if (mib == 0 || mib > (TOUCH_LIMIT >> 20) || end > TOUCH_LIMIT || !touch_in_ram(TOUCH_BASE, end)) {
		probe_fail("touch.filled", "%u MiB from 0x%x is not RAM the probe maps", (unsigned)mib,
			   (unsigned)TOUCH_BASE);
		return;
	}
	for (uint64_t a = TOUCH_BASE; a < end; a += TOUCH_STEP)
		*(volatile uint8_t *)(uintptr_t)a = touch_pattern(a);
	probe_ok("touch.filled");
	if (!touch_wait_input(wait_ms)) {
		probe_fail("touch.checked", "no serial input byte within %u ms", (unsigned)wait_ms);
		return;
	}
	for (uint64_t a = TOUCH_BASE; a < end; a += TOUCH_STEP)
		bad += *(volatile uint8_t *)(uintptr_t)a != touch_pattern(a);
	probe_check("touch.checked", bad == 0, "%u of %u pages lost their byte", (unsigned)bad,
		    (unsigned)((end - TOUCH_BASE) / TOUCH_STEP));
}
