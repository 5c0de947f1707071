/* Scenario balloon-hint: free page hinting (VIRTIO_BALLOON_F_FREE_PAGE_HINT)
 * as Linux's virtio_balloon does it. Touches probe.balloon_hint_mib (default
 * 16) MiB of its region, prints `PROBE-INFO balloon.hint_ready`, and waits up
 * to probe.balloon_wait_ms (default 3000) for the host's command id (PATCH
 * /balloon/hinting/start writes one, 2 or more). It acks with that id (a
 * 4-byte device-readable buffer), hints the pages as device-writable ranges
 * of 1 MiB, then ends its hints with the STOP id (0): `PROBE-INFO
 * balloon.hinted <pages>`. `PROBE balloon.hint ok` when the host ends the
 * run (the DONE id, 1: acknowledge_on_stop or PATCH /balloon/hinting/stop),
 * after which Linux would free the hinted pages. */
#include "balloon-probe.h"
#include "probe.h"

static struct bp b;
static uint32_t cmd __attribute__((aligned(16)));

static bool send_cmd(uint32_t id)
{
	cmd = id;
	b.dev.q[2].desc[0] = (struct vp_desc){ (uint64_t)(uintptr_t)&cmd, 4, 0, 0 };
	return bp_submit(&b, 2, 2000);
}

static bool hint(uint64_t mib)
{
	for (uint64_t i = 0; i < mib; i++) {
		b.dev.q[2].desc[0] = (struct vp_desc){ b.region + i * BP_MIB, (uint32_t)BP_MIB, VP_DESC_F_WRITE, 0 };
		if (!bp_submit(&b, 2, 2000))
			return false;
	}
	return true;
}

/* Polls free_page_hint_cmd_id until pred holds or ms pass; the last value. */
static uint32_t wait_cmd(bool (*pred)(uint32_t), uint64_t ms)
{
	uint64_t deadline = probe_deadline_ms(ms);
	uint32_t v;

	while (!pred(v = bp_cfg(&b, BP_CFG_CMD_ID)) && !probe_deadline_passed(deadline))
		probe_sleep_ms(5);
	bp_ack(&b);
	return v;
}

static bool is_run_id(uint32_t v)
{
	return v > BP_CMD_ID_DONE;
}

static bool is_done(uint32_t v)
{
	return v == BP_CMD_ID_DONE;
}

void scenario_balloon_hint(void)
{
	uint64_t mib = bp_param("probe.balloon_hint_mib", 16), ms = bp_param("probe.balloon_wait_ms", 3000);
	const char *err = bp_open(&b, BP_F_FREE_PAGE_HINT);
	uint32_t id;

	if (!err && !(b.dev.features & BP_F_FREE_PAGE_HINT))
		err = "the device does not offer FREE_PAGE_HINT";
	if (err) {
		probe_fail("balloon.hint", "%s", err);
		return;
	}
	if (b.region + mib * BP_MIB > bp_ram_top()) {
		probe_fail("balloon.hint", "%lu MiB do not fit above %lu MiB", mib, b.region >> 20);
		return;
	}
	bp_touch(b.region, mib * BP_MIB);
	probe_info("balloon.hint_ready", "%lu", mib * BP_MIB / BP_PAGE);
	id = wait_cmd(is_run_id, ms);
	if (!is_run_id(id)) {
		probe_fail("balloon.hint", "no command id from the host within %lu ms (it reads %u)", ms, id);
		return;
	}
	if (!send_cmd(id) || !hint(mib) || !send_cmd(BP_CMD_ID_STOP)) {
		probe_fail("balloon.hint", "a hinting buffer did not come back");
		return;
	}
	probe_info("balloon.hinted", "%lu", mib * BP_MIB / BP_PAGE);
	id = wait_cmd(is_done, ms);
	probe_check("balloon.hint", is_done(id), "the host did not end the run within %lu ms (it reads %u)", ms, id);
}
