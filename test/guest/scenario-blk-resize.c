/* Scenario blk-resize: the host swaps the drive's file (PATCH /drives) while
 * the guest runs; the guest must see a configuration-change interrupt in the
 * interrupt status register, a new config generation and the new capacity,
 * and be able to read the new file's last sector. It prints
 * `PROBE-INFO blk-resize ready <sectors>` when the host may PATCH, then polls
 * (at most probe.resize_polls times, default 400000: each poll is a VM exit). */
#include "probe.h"
#include "virtio-probe.h"

static struct blk_hdr hdr __attribute__((aligned(16)));
static uint8_t data[512] __attribute__((aligned(512)));
static volatile uint8_t status;

static uint64_t capacity(const struct vp_dev *d)
{
	return vp_read(d, 0x100) | (uint64_t)vp_read(d, 0x104) << 32;
}

static uint8_t read_sector(struct vp_dev *d, uint64_t sector)
{
	uint32_t id, len;

	hdr = (struct blk_hdr){ .type = BLK_T_IN, .sector = sector };
	status = 0xff;
	d->desc[0] = (struct vp_desc){ (uint64_t)(uintptr_t)&hdr, sizeof(hdr), VP_DESC_F_NEXT, 1 };
	d->desc[1] = (struct vp_desc){ (uint64_t)(uintptr_t)data, sizeof(data), VP_DESC_F_NEXT | VP_DESC_F_WRITE, 2 };
	d->desc[2] = (struct vp_desc){ (uint64_t)(uintptr_t)&status, 1, VP_DESC_F_WRITE, 0 };
	return vp_submit(d, 0, &id, &len) ? status : 0xff;
}

void scenario_blk_resize(void)
{
	uint64_t polls = 400000, before, after, i;
	uint32_t gen, isr = 0;
	struct vp_dev d;

	if (!vp_open_first_blk(&d)) {
		probe_fail("blk-resize.device", "no usable virtio-blk device");
		return;
	}
	probe_param_u64("probe.resize_polls", &polls);
	before = capacity(&d);
	gen = vp_read(&d, 0x0fc);
	probe_info("blk-resize", "ready %lu", before);
	for (i = 0; i < polls && !(isr & 2); i++)
		isr = vp_read(&d, 0x060);
	if (!probe_check("blk-resize.config_interrupt", isr & 2, "no config-change bit after %lu polls", i))
		return;
	vp_write(&d, 0x064, isr);
	after = capacity(&d);
	probe_check("blk-resize.generation", vp_read(&d, 0x0fc) != gen, "config generation still %u", gen);
	probe_check("blk-resize.capacity", after != before, "capacity still %lu sectors", before);
	probe_info("blk-resize", "capacity %lu", after);
	probe_check("blk-resize.read_new_end", read_sector(&d, after - 1) == BLK_S_OK,
		    "reading sector %lu of the new file failed", after - 1);
}
