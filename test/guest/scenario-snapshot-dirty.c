/* Scenario snapshot-dirty: a guest for Diff snapshots (doc/snapshots.md).
 *
 * Parameters (defaults):
 *   probe.snap_mib=8      MiB of RAM patterned, from DIRTY_BASE up
 *   probe.snap_seed=N     the pattern's seed (0)
 *   probe.snap_polls=N    rounds after which it gives up waiting (50 million)
 *
 * Before ready it writes one 8-byte value into each 4 KiB page of the
 * pattern and a known sector 1 through the first drive, then prints
 * `PROBE snapshot-dirty.ready ok` and polls the serial input. On `W` (the
 * host took a Full snapshot) it writes a new value into every 16th pattern
 * page and has the drive read sector 1 into a page right after the pattern
 * that the CPU never wrote: only the device writes that page, so KVM's
 * dirty log never shows it (the host must track its own writes). It prints
 *   PROBE-INFO snapshot-dirty.pages <gpa> <stride> <count>   hex gpa of the
 *              first written page, the stride in bytes (hex), the number
 *              of pages written (decimal)
 *   PROBE-INFO snapshot-dirty.dma <gpa>                      hex gpa
 *   PROBE snapshot-dirty.written ok
 * On `R` (a restore of the Diff rebased onto the Full) it checks the
 * written pages hold their new values, the others their old ones, and the
 * DMA page the sector: `PROBE snapshot-dirty.checked ok`, then the probe
 * ends. Other input bytes are ignored. */
#include "probe.h"
#include "snapshot-pattern.h"
#include "virtio-probe.h"

#define DIRTY_BASE (16ull << 20)
#define PAGE 4096u
#define STRIDE 16u
#define COM1 0x3f8u
#define UART_LSR (COM1 + 5)
#define LSR_DR 0x01u

static struct blk_hdr hdr __attribute__((aligned(16)));
static uint8_t sector[512] __attribute__((aligned(512)));
static volatile uint8_t blk_status;

/* The value before (gen 0) and after (gen 1) the `W`. */
static uint64_t page_value(uint64_t seed, uint64_t page, unsigned gen)
{
	return snap_mix(seed ^ (page << 20) ^ (gen ? 0xd1d1d1d1d1ull : 0x5eed5eed5eedull)) | 1;
}

static bool dirty_in_ram(uint64_t end)
{
	for (unsigned i = 0; i < probe_boot.nr_mem; i++)
		if (probe_boot.mem[i].type == PROBE_MEM_RAM && probe_boot.mem[i].addr <= DIRTY_BASE &&
		    probe_boot.mem[i].addr + probe_boot.mem[i].size >= end)
			return true;
	return !probe_boot.have_mem;
}

static void sector_fill(uint8_t *buf, uint64_t seed)
{
	for (unsigned i = 0; i < sizeof(sector); i++)
		buf[i] = (uint8_t)(snap_mix(seed + 0xd5a + i / 8) >> (8 * (i % 8)));
}

/* One request on sector 1: out of `sector`, or into buf (512 bytes). */
static uint8_t blk_io(struct vp_dev *d, uint32_t type, void *buf)
{
	uint32_t id, len;

	hdr = (struct blk_hdr){ .type = type, .sector = 1 };
	blk_status = 0xff;
	d->desc[0] = (struct vp_desc){ (uint64_t)(uintptr_t)&hdr, sizeof(hdr), VP_DESC_F_NEXT, 1 };
	d->desc[1] = (struct vp_desc){ (uint64_t)(uintptr_t)buf, sizeof(sector),
				       (uint16_t)(VP_DESC_F_NEXT | (type == BLK_T_IN ? VP_DESC_F_WRITE : 0)), 2 };
	d->desc[2] = (struct vp_desc){ (uint64_t)(uintptr_t)&blk_status, 1, VP_DESC_F_WRITE, 0 };
	return vp_submit(d, 0, &id, &len) ? blk_status : 0xff;
}

struct dirty_run {
	uint64_t seed, pages, polls, dma;
	struct vp_dev dev;
};

/* The next byte on the serial input that is `want`; false after polls rounds. */
static bool dirty_wait(const struct dirty_run *r, char want)
{
	for (uint64_t i = 0; i < r->polls; i++)
		if ((inb(UART_LSR) & LSR_DR) && inb(COM1) == (uint8_t)want)
			return true;
	return false;
}

static void dirty_write(struct dirty_run *r)
{
	uint8_t st;

	for (uint64_t p = 0; p < r->pages; p += STRIDE)
		*snap_page_slot(DIRTY_BASE, r->seed, p) = page_value(r->seed, p, 1);
	st = blk_io(&r->dev, BLK_T_IN, (void *)(uintptr_t)r->dma);
	probe_info("snapshot-dirty.pages", "0x%lx 0x%x %lu", (uint64_t)DIRTY_BASE, STRIDE * PAGE,
		   (r->pages + STRIDE - 1) / STRIDE);
	probe_info("snapshot-dirty.dma", "0x%lx", r->dma);
	probe_check("snapshot-dirty.written", st == BLK_S_OK, "reading sector 1: status %u", st);
}

static void dirty_check(const struct dirty_run *r)
{
	uint8_t want[sizeof(sector)];

	for (uint64_t p = 0; p < r->pages; p++) {
		uint64_t v = *snap_page_slot(DIRTY_BASE, r->seed, p);

		if (v != page_value(r->seed, p, p % STRIDE == 0)) {
			probe_fail("snapshot-dirty.checked", "page 0x%lx holds its %s value", (uint64_t)(DIRTY_BASE + p * PAGE),
				   v == page_value(r->seed, p, p % STRIDE != 0) ? (p % STRIDE ? "new" : "old") : "no");
			return;
		}
	}
	sector_fill(want, r->seed);
	probe_check("snapshot-dirty.checked", !memcmp((const void *)(uintptr_t)r->dma, want, sizeof(want)),
		    "the DMA page 0x%lx does not hold sector 1", r->dma);
}

void scenario_snapshot_dirty(void)
{
	struct dirty_run r = { .pages = 8, .polls = 50000000 };

	probe_param_u64("probe.snap_mib", &r.pages);
	r.pages = r.pages * ((1u << 20) / PAGE);
	probe_param_u64("probe.snap_seed", &r.seed);
	probe_param_u64("probe.snap_polls", &r.polls);
	r.dma = DIRTY_BASE + r.pages * PAGE;
	if (!dirty_in_ram(r.dma + PAGE)) {
		probe_fail("snapshot-dirty.ready", "%lu pages from 0x%lx are not all RAM", r.pages + 1,
			   (uint64_t)DIRTY_BASE);
		return;
	}
	if (!vp_open_first_blk(&r.dev)) {
		probe_fail("snapshot-dirty.ready", "no drive");
		return;
	}
	for (uint64_t p = 0; p < r.pages; p++)
		*snap_page_slot(DIRTY_BASE, r.seed, p) = page_value(r.seed, p, 0);
	sector_fill(sector, r.seed);
	if (blk_io(&r.dev, BLK_T_OUT, sector) != BLK_S_OK) {
		probe_fail("snapshot-dirty.ready", "writing sector 1 failed");
		return;
	}
	probe_ok("snapshot-dirty.ready");
	if (!dirty_wait(&r, 'W')) {
		probe_fail("snapshot-dirty.written", "no `W` on the serial input");
		return;
	}
	dirty_write(&r);
	if (!dirty_wait(&r, 'R')) {
		probe_fail("snapshot-dirty.checked", "no `R` on the serial input");
		return;
	}
	dirty_check(&r);
}
