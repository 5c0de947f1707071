/* Scenario hostile-blk: broken descriptor chains against virtio-blk, then a
 * good request that must still get the right answer.
 *
 * ember drops a malformed chain and hands its head back with used length 0,
 * so each broken chain is answered and the next can follow. The checks are
 * that every chain comes back (the VMM neither hung nor died), that nothing
 * was written for it, and that the device still serves. */
#include "probe.h"
#include "virtio-probe.h"

static struct blk_hdr hdr __attribute__((aligned(16)));
static uint8_t data[512] __attribute__((aligned(512)));
static volatile uint8_t status;

static void set(struct vp_dev *d, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	d->desc[i] = (struct vp_desc){ addr, len, flags, next };
}

static void read_header(void)
{
	hdr = (struct blk_hdr){ .type = BLK_T_IN, .sector = 0 };
	status = 0xee;
}

/* Submits head and expects it back with used length 0 and the status byte untouched. */
static void expect_dropped(struct vp_dev *d, const char *name, uint16_t head)
{
	uint32_t id = 0, len = 0;

	if (!vp_submit(d, head, &id, &len)) {
		probe_fail(name, "no answer: the device stopped serving");
		return;
	}
	probe_check(name, id == head && len == 0 && status == 0xee, "used id %u length %u, status 0x%x", id, len,
		    status);
}

static void hostile_chains(struct vp_dev *d, uint64_t ram_end)
{
	uint64_t h = (uint64_t)(uintptr_t)&hdr, b = (uint64_t)(uintptr_t)data, s = (uint64_t)(uintptr_t)&status;

	read_header();
	set(d, 0, h, 16, VP_DESC_F_NEXT, 1);
	set(d, 1, b, 512, VP_DESC_F_NEXT | VP_DESC_F_WRITE, 2);
	set(d, 2, s, 1, VP_DESC_F_NEXT | VP_DESC_F_WRITE, 1); /* back to 1: a loop */
	expect_dropped(d, "hostile-blk.loop", 0);

	read_header();
	set(d, 2, s, 1, VP_DESC_F_WRITE, 0);
	set(d, 1, b, 512, VP_DESC_F_NEXT | VP_DESC_F_WRITE, VP_QN + 3);
	expect_dropped(d, "hostile-blk.next_range", 0);

	read_header();
	set(d, 1, ram_end - 256, 512, VP_DESC_F_NEXT | VP_DESC_F_WRITE, 2);
	set(d, 2, s, 1, VP_DESC_F_WRITE, 0);
	expect_dropped(d, "hostile-blk.past_memory", 0);

	read_header();
	set(d, 1, 0xfffffffffffff000ull, 0x2000, VP_DESC_F_NEXT | VP_DESC_F_WRITE, 2);
	expect_dropped(d, "hostile-blk.overflow", 0);

	read_header();
	set(d, 1, b, 512, VP_DESC_F_NEXT | VP_DESC_F_WRITE, 2);
	set(d, 2, s, 1, VP_DESC_F_NEXT | VP_DESC_F_WRITE, 3);
	set(d, 3, h, 16, 0, 0); /* readable after writable */
	expect_dropped(d, "hostile-blk.order", 0);
}

/* An IN whose data buffer is device-readable: the device must not write
 * into it, and says IOERR. */
static void hostile_readonly_buffer(struct vp_dev *d)
{
	uint32_t id, len;

	read_header();
	memset(data, 0x77, sizeof(data));
	set(d, 0, (uint64_t)(uintptr_t)&hdr, 16, VP_DESC_F_NEXT, 1);
	set(d, 1, (uint64_t)(uintptr_t)data, 512, VP_DESC_F_NEXT, 2);
	set(d, 2, (uint64_t)(uintptr_t)&status, 1, VP_DESC_F_WRITE, 0);
	if (!vp_submit(d, 0, &id, &len)) {
		probe_fail("hostile-blk.readonly_buffer", "no answer");
		return;
	}
	probe_check("hostile-blk.readonly_buffer", status == BLK_S_IOERR && data[0] == 0x77 && data[511] == 0x77,
		    "status %u, buffer %s", status, data[0] == 0x77 ? "untouched" : "written");
}

static void hostile_then_good(struct vp_dev *d)
{
	uint32_t id, len;

	read_header();
	set(d, 0, (uint64_t)(uintptr_t)&hdr, 16, VP_DESC_F_NEXT, 1);
	set(d, 1, (uint64_t)(uintptr_t)data, 512, VP_DESC_F_NEXT | VP_DESC_F_WRITE, 2);
	set(d, 2, (uint64_t)(uintptr_t)&status, 1, VP_DESC_F_WRITE, 0);
	if (!vp_submit(d, 0, &id, &len)) {
		probe_fail("hostile-blk.still_serves", "no answer");
		return;
	}
	probe_check("hostile-blk.still_serves", status == BLK_S_OK && len == 513, "status %u, used length %u", status,
		    len);
	probe_check("hostile-blk.status_register", (vp_read(d, 0x070) & 0x40) == 0, "device status 0x%x",
		    vp_read(d, 0x070));
}

void scenario_hostile_blk(void)
{
	uint64_t base[VP_MAX_DEVICES], mem_mib = 0;
	unsigned irq[VP_MAX_DEVICES], n = vp_find(base, irq, VP_MAX_DEVICES);
	struct vp_dev d;
	const char *err = "no virtio-blk device on the command line";

	for (unsigned i = 0; i < n; i++) {
		d.base = base[i];
		if (vp_read(&d, 0x008) == 2) {
			err = vp_init(&d, base[i], i, 0);
			break;
		}
	}
	if (err) {
		probe_fail("hostile-blk.device", "%s", err);
		return;
	}
	if (!probe_param_u64("probe.mem_mib", &mem_mib) || mem_mib == 0 || mem_mib > 3072)
		mem_mib = 128;
	hostile_chains(&d, mem_mib << 20);
	hostile_readonly_buffer(&d);
	hostile_then_good(&d);
}
