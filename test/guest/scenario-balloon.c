/* Scenario balloon: inflate, deflate, statistics and hostile PFNs, as
 * Linux's virtio_balloon drives the device.
 *
 * It reads num_pages, touches that many pages of its region (at
 * probe.balloon_addr_mib, default 32 MiB), inflates them in batches of 256
 * PFNs, writes actual and prints `PROBE-INFO balloon.inflated <pages>`. It
 * then waits up to probe.balloon_wait_ms (default 3000) for a lower target,
 * deflates down to it (`PROBE-INFO balloon.deflated <pages>`). With the stats
 * queue it posts SWAP_IN=1 SWAP_OUT=2 MAJFLT=3 MINFLT=4 MEMFREE=5*4096
 * MEMTOT=6*4096 AVAIL=7*4096 CACHES=8*4096 at start and checks the device
 * returns the buffer (balloon.stats), re-posting it. Then a PFN past RAM,
 * one in the MMIO gap and a duplicate: balloon.hostile if the device still
 * serves. irq.balloon: a used buffer's interrupt reaches the LAPIC IRR. */
#include "balloon-probe.h"
#include "probe.h"

#define MMIO_GAP_PFN ((uint32_t)(0xc0000000ull >> 12) + 1)
#define PAST_RAM_PFN 0xfffffff0u

static struct {
	uint16_t tag;
	uint64_t val;
} __attribute__((packed)) stats[8] __attribute__((aligned(16)));

static struct bp b;

static void post_stats(void)
{
	static const uint64_t vals[8] = { 1, 2, 3, 4, 5 * 4096, 6 * 4096, 7 * 4096, 8 * 4096 };

	for (unsigned i = 0; i < 8; i++) {
		stats[i].tag = (uint16_t)i;
		stats[i].val = vals[i];
	}
	b.dev.q[2].desc[0] = (struct vp_desc){ (uint64_t)(uintptr_t)stats, sizeof(stats), 0, 0 };
	vp_post(&b.dev, 2, 0);
}

/* The lower target, or the inflated count when none came in time. */
static uint32_t wait_lower_target(uint32_t inflated, uint64_t ms)
{
	uint64_t deadline = probe_deadline_ms(ms);
	uint32_t target;

	while ((target = bp_cfg(&b, BP_CFG_NUM_PAGES)) >= inflated && !probe_deadline_passed(deadline))
		probe_sleep_ms(5);
	bp_ack(&b);
	return target < inflated ? target : inflated;
}

static void check_stats(uint64_t ms)
{
	uint64_t deadline = probe_deadline_ms(ms);
	uint32_t id, len;

	if (!(b.dev.features & BP_F_STATS_VQ)) {
		probe_skip("balloon.stats", "the device offers no statistics queue");
		return;
	}
	while (!vp_poll(&b.dev, 2, &id, &len)) {
		if (probe_deadline_passed(deadline)) {
			probe_fail("balloon.stats", "the statistics buffer did not come back within %lu ms", ms);
			return;
		}
		probe_sleep_ms(5);
	}
	probe_ok("balloon.stats");
	post_stats(); /* fresh values for the next poll, as the driver does */
}

static void check_hostile(uint32_t inflated)
{
	uint32_t first = (uint32_t)(b.region / BP_PAGE);
	uint32_t pfn[4] = { PAST_RAM_PFN, MMIO_GAP_PFN, first, first };

	if (!bp_send_pfns(&b, 0, pfn, 4)) {
		probe_fail("balloon.hostile", "the inflate buffer with hostile PFNs did not come back");
		return;
	}
	/* still serving: a good deflate and the config space */
	probe_check("balloon.hostile", bp_send_pfns(&b, 1, &first, 1) && bp_cfg(&b, BP_CFG_ACTUAL) == inflated,
		    "the device stopped serving after hostile PFNs");
}

static struct bp *irq_b;

static void balloon_trigger_used(void)
{
	uint32_t pfn = (uint32_t)(irq_b->region / BP_PAGE);

	(void)bp_send_pfns(irq_b, 1, &pfn, 1);
	bp_ack(irq_b);
}

void scenario_balloon(void)
{
	uint64_t wait_ms = bp_param("probe.balloon_wait_ms", 3000);
	const char *err = bp_open(&b, BP_F_STATS_VQ | BP_F_DEFLATE_ON_OOM);
	uint32_t target, lower;

	if (err) {
		probe_fail("balloon.device", "%s", err);
		return;
	}
	probe_ok("balloon.device");
	if (b.dev.features & BP_F_STATS_VQ)
		post_stats();
	target = bp_cfg(&b, BP_CFG_NUM_PAGES);
	if (b.region + (uint64_t)target * BP_PAGE > bp_ram_top()) {
		probe_fail("balloon.inflate", "a target of %u pages does not fit above %lu MiB", target, b.region >> 20);
		return;
	}
	bp_touch(b.region, (uint64_t)target * BP_PAGE);
	if (!probe_check("balloon.inflate", bp_send_range(&b, 0, 0, target), "an inflate buffer did not come back"))
		return;
	bp_cfg_write(&b, BP_CFG_ACTUAL, target);
	probe_info("balloon.inflated", "%u", target);
	lower = wait_lower_target(target, wait_ms);
	if (lower < target && probe_check("balloon.deflate", bp_send_range(&b, 1, lower, target - lower),
					  "a deflate buffer did not come back")) {
		bp_cfg_write(&b, BP_CFG_ACTUAL, lower);
		probe_info("balloon.deflated", "%u", target - lower);
	} else if (lower == target) {
		probe_skip("balloon.deflate", "no lower target within %lu ms", wait_ms);
	}
	check_stats(wait_ms);
	check_hostile(lower);
	irq_b = &b;
	probe_irq_check("irq.balloon", b.dev.irq, balloon_trigger_used);
}
