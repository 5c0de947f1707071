/* Scenario wait: a guest that stays alive until the host sends Ctrl-Alt-Del.
 *
 * For the API tests that need a running guest (pause/resume, GET / showing
 * Running/Paused, SendCtrlAltDel). The probe turns off the i8042 keyboard
 * interrupt (it takes no IRQs), then polls the status port and reads the
 * scancodes the VMM queues. Every probe.wait_tick polls (default 20000) it
 * prints `PROBE-INFO wait tick N`, so the host can tell a running guest from
 * a paused one by whether ticks keep coming. It reports ok once the whole
 * Ctrl-Alt-Del sequence (set 2: 14 11 E0 71 E0 F0 71 F0 11 F0 14) arrived,
 * FAIL on any other byte or after probe.wait_polls polls (default 8 million:
 * minutes under PVM, where each poll is a VM exit), then returns so the probe
 * resets the VM. */
#include "probe.h"

#define I8042_DATA 0x60
#define I8042_STATUS 0x64
#define I8042_STATUS_OBF 0x01
#define I8042_CMD_READ_CTR 0x20
#define I8042_CMD_WRITE_CTR 0x60
#define I8042_CTR_KBD_INT 0x01

static const uint8_t ctrl_alt_del[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14 };

static bool wait_byte(uint8_t *ret, uint64_t *polls, uint64_t max, uint64_t tick)
{
	while (*polls < max) {
		(*polls)++;
		if (*polls % tick == 0)
			probe_info("wait", "tick %u", (unsigned)(*polls / tick));
		if (inb(I8042_STATUS) & I8042_STATUS_OBF) {
			*ret = inb(I8042_DATA);
			return true;
		}
	}
	return false;
}

static void wait_disable_kbd_irq(void)
{
	uint8_t ctr, dummy;
	uint64_t polls = 0;

	outb(I8042_STATUS, I8042_CMD_READ_CTR);
	ctr = wait_byte(&dummy, &polls, 1000, 1000000) ? dummy : 0;
	outb(I8042_STATUS, I8042_CMD_WRITE_CTR);
	outb(I8042_DATA, ctr & (uint8_t)~I8042_CTR_KBD_INT);
}

void scenario_wait(void)
{
	uint64_t max = 8000000, tick = 20000, polls = 0;
	unsigned got = 0;
	uint8_t b;

	probe_param_u64("probe.wait_polls", &max);
	probe_param_u64("probe.wait_tick", &tick);
	if (tick == 0)
		tick = 1;
	wait_disable_kbd_irq();
	probe_info("wait", "ready");
	while (got < sizeof(ctrl_alt_del)) {
		if (!wait_byte(&b, &polls, max, tick)) {
			probe_fail("wait.ctrl-alt-del", "no Ctrl-Alt-Del after %u polls (%u of %u bytes)",
				   (unsigned)polls, got, (unsigned)sizeof(ctrl_alt_del));
			return;
		}
		if (b != ctrl_alt_del[got]) {
			probe_fail("wait.ctrl-alt-del", "byte %u is 0x%x, expected 0x%x", got, b, ctrl_alt_del[got]);
			return;
		}
		got++;
	}
	probe_ok("wait.ctrl-alt-del");
}
