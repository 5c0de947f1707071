/* Scenario balloon-report: free page reporting (VIRTIO_BALLOON_F_PAGE_REPORTING),
 * as Linux's page_reporting does it: touches probe.balloon_report_mib
 * (default 16) MiB of its region, reports it as device-writable ranges of
 * 1 MiB, up to 15 to a chain on reporting_vq, prints `PROBE-INFO
 * balloon.reported <pages>` and `PROBE balloon.report ok` once the buffers
 * came back. Then a range past RAM: the device refuses it, counts it in
 * free_page_report_fails and returns the buffer (balloon.report_hostile). */
#include "balloon-probe.h"
#include "probe.h"

#define CHAIN_MAX 15u

static struct bp b;

/* n ranges of 1 MiB from gpa in one chain. */
static bool report_chain(uint64_t gpa, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		b.dev.q[2].desc[i] = (struct vp_desc){ gpa + i * BP_MIB, (uint32_t)BP_MIB,
						       (uint16_t)(VP_DESC_F_WRITE | (i + 1 < n ? VP_DESC_F_NEXT : 0)),
						       (uint16_t)(i + 1) };
	return bp_submit(&b, 2, 2000);
}

void scenario_balloon_report(void)
{
	uint64_t mib = bp_param("probe.balloon_report_mib", 16), done = 0;
	const char *err = bp_open(&b, BP_F_PAGE_REPORTING);

	if (!err && !(b.dev.features & BP_F_PAGE_REPORTING))
		err = "the device does not offer PAGE_REPORTING";
	if (err) {
		probe_fail("balloon.report", "%s", err);
		return;
	}
	if (b.region + mib * BP_MIB > bp_ram_top()) {
		probe_fail("balloon.report", "%lu MiB do not fit above %lu MiB", mib, b.region >> 20);
		return;
	}
	bp_touch(b.region, mib * BP_MIB);
	while (done < mib) {
		unsigned n = mib - done < CHAIN_MAX ? (unsigned)(mib - done) : CHAIN_MAX;

		if (!report_chain(b.region + done * BP_MIB, n)) {
			probe_fail("balloon.report", "a report of %u MiB did not come back", n);
			return;
		}
		done += n;
	}
	probe_info("balloon.reported", "%lu", mib * BP_MIB / BP_PAGE);
	probe_ok("balloon.report");
	/* 16 TiB: past any RAM this probe runs with */
	b.dev.q[2].desc[0] = (struct vp_desc){ 1ull << 44, (uint32_t)BP_MIB, VP_DESC_F_WRITE, 0 };
	probe_check("balloon.report_hostile", bp_submit(&b, 2, 2000) && report_chain(b.region, 1),
		    "the device stopped serving after a range past RAM");
}
