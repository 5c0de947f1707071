/* Scenario blk-hog: a guest that asks the block device for as much work as
 * one queue can describe, so the host can check that the VMM's control plane
 * stays responsive meanwhile (guest fairness, devices/virtio/virtio.h).
 *
 * 16 chains in flight at once, each (through an indirect table) a header,
 * seven device-writable buffers of 480 MiB that all alias one region of RAM
 * (7 x 480 MiB = 3.28 GiB, under the 4 GiB - 1 a chain may carry) and the
 * status byte: reads from sector 0 of a disk of at least 3.28 GiB (a sparse
 * file). A completed chain is offered again until probe.blk_hog=N have
 * completed; the rest are left in flight when the probe resets the VM.
 *
 * Parameters: probe.blk_hog=N (required: without it the scenario skips),
 * probe.blk_hog_ms=M, how long to wait for the N completions (default
 * 600000). Needs 512 MiB of RAM (the region is 24..504 MiB). Prints
 * `PROBE-INFO blk-hog ready <chains> <bytes per chain>` once all are offered,
 * then `PROBE-INFO blk-hog done <n> <ms>`. */
#include "probe.h"
#include "virtio-probe.h"

#define HOG_CHAINS VP_QN
#define HOG_BUFS 7u
#define HOG_BUF_BYTES (480ul << 20)
#define HOG_BUF_ADDR (24ul << 20)
#define HOG_CHAIN_BYTES (HOG_BUFS * HOG_BUF_BYTES)
#define VP_F_INDIRECT_DESC (1ull << 28)
#define VP_DESC_F_INDIRECT 4u

static struct vp_desc tables[HOG_CHAINS][HOG_BUFS + 2] __attribute__((aligned(16)));
static struct blk_hdr hdrs[HOG_CHAINS] __attribute__((aligned(16)));
static volatile uint8_t statuses[HOG_CHAINS];

/* Whether [HOG_BUF_ADDR, + HOG_BUF_BYTES) is RAM in the memory map. */
static bool hog_region_is_ram(void)
{
	for (unsigned i = 0; i < probe_boot.nr_mem; i++) {
		const struct probe_mem_range *m = &probe_boot.mem[i];

		if (m->type == PROBE_MEM_RAM && m->addr <= HOG_BUF_ADDR &&
		    m->addr + m->size >= HOG_BUF_ADDR + HOG_BUF_BYTES)
			return true;
	}
	return false;
}

static bool hog_open(struct vp_dev *d)
{
	uint64_t base[VP_MAX_DEVICES];
	unsigned irq[VP_MAX_DEVICES], n = vp_find(base, irq, VP_MAX_DEVICES);

	for (unsigned i = 0; i < n; i++) {
		if (vp_read(&(struct vp_dev){ .base = base[i] }, 0x008) != 2)
			continue;
		if (vp_init(d, base[i], i, VP_F_INDIRECT_DESC) == 0 && (d->features & VP_F_INDIRECT_DESC))
			return true;
	}
	return false;
}

/* Chain i: ring descriptor i points at its indirect table. */
static void hog_build(struct vp_dev *d, unsigned i)
{
	struct vp_desc *t = tables[i];

	hdrs[i] = (struct blk_hdr){ .type = BLK_T_IN, .sector = 0 };
	t[0] = (struct vp_desc){ (uint64_t)(uintptr_t)&hdrs[i], sizeof(hdrs[i]), VP_DESC_F_NEXT, 1 };
	for (unsigned b = 1; b <= HOG_BUFS; b++)
		t[b] = (struct vp_desc){ HOG_BUF_ADDR, (uint32_t)HOG_BUF_BYTES, VP_DESC_F_WRITE | VP_DESC_F_NEXT,
					 (uint16_t)(b + 1) };
	t[HOG_BUFS + 1] = (struct vp_desc){ (uint64_t)(uintptr_t)&statuses[i], 1, VP_DESC_F_WRITE, 0 };
	d->desc[i] = (struct vp_desc){ (uint64_t)(uintptr_t)t, sizeof(tables[i]), VP_DESC_F_INDIRECT, 0 };
}

static void hog_offer(struct vp_dev *d, unsigned i)
{
	statuses[i] = 0xff;
	d->avail[2 + d->avail_idx % VP_QN] = (uint16_t)i;
	__asm__ volatile("" ::: "memory");
	d->avail[1] = ++d->avail_idx;
	__asm__ volatile("" ::: "memory");
}

/* Takes the next used element; false when there is none yet. */
static bool hog_reap(struct vp_dev *d, uint32_t *ret_id, uint32_t *ret_len)
{
	volatile uint16_t *used_idx = (volatile uint16_t *)(d->used + 2);

	if (*used_idx == d->used_seen)
		return false;
	__asm__ volatile("" ::: "memory");
	*ret_id = *(volatile uint32_t *)(d->used + 4 + 8 * (d->used_seen % VP_QN));
	*ret_len = *(volatile uint32_t *)(d->used + 8 + 8 * (d->used_seen % VP_QN));
	d->used_seen++;
	return true;
}

/* Reaps until `want` completions (re-offering chains while more are
 * needed) or the deadline; returns how many completed, 0 on a bad one. */
static uint64_t hog_run(struct vp_dev *d, uint64_t want, uint64_t deadline)
{
	uint64_t done = 0, offered = HOG_CHAINS;
	uint32_t id, len;

	while (done < want && !probe_deadline_passed(deadline)) {
		if (!hog_reap(d, &id, &len)) {
			__asm__ volatile("pause");
			continue;
		}
		if (id >= HOG_CHAINS || statuses[id] != BLK_S_OK || len != HOG_CHAIN_BYTES + 1) {
			probe_fail("blk-hog.completions", "chain %u came back with status %u and length %u", id,
				   id < HOG_CHAINS ? statuses[id] : 0xff, len);
			return 0;
		}
		done++;
		if (offered < want) {
			hog_offer(d, id);
			vp_write(d, 0x050, 0);
			offered++;
		}
	}
	return done;
}

void scenario_blk_hog(void)
{
	uint64_t want, ms = 600000, t0, done;
	struct vp_dev d;

	if (!probe_param_u64("probe.blk_hog", &want) || want == 0) {
		probe_skip("blk-hog.completions", "no probe.blk_hog=N on the command line");
		return;
	}
	probe_param_u64("probe.blk_hog_ms", &ms);
	if (!hog_region_is_ram() || !hog_open(&d)) {
		probe_fail("blk-hog.completions", "needs 512 MiB of RAM and a virtio-blk device with INDIRECT_DESC");
		return;
	}
	for (unsigned i = 0; i < HOG_CHAINS; i++) {
		hog_build(&d, i);
		hog_offer(&d, i);
	}
	vp_write(&d, 0x050, 0);
	probe_info("blk-hog", "ready %u %lu", HOG_CHAINS, HOG_CHAIN_BYTES);
	t0 = rdtsc();
	done = hog_run(&d, want, probe_deadline_ms(ms));
	probe_info("blk-hog", "done %lu %lu", done, (rdtsc() - t0) / (probe_tsc_khz() ?: 1));
	if (done)
		probe_check("blk-hog.completions", done == want, "%lu of %lu chains completed within %lu ms", done, want,
			    ms);
}
