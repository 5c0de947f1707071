/* Scenario snapshot: a guest whose state a snapshot must carry whole.
 *
 * Parameters (defaults):
 *   probe.snap_mib=8          MiB of RAM patterned, from SNAP_BASE up
 *   probe.snap_seed=N         the pattern's seed (0)
 *   probe.snap_check=1000     rounds between two checks of the pattern
 *   probe.snap_generations=1  restores to see before `snapshot.resumed`
 *   probe.snap_polls=N        rounds after which it gives up waiting (50 million)
 *
 * It writes one 8-byte value into each 4 KiB page (its offset and value
 * derived from the seed and the page number: cheap under PVM), writes
 * sector 1 of the first drive when there is one, and sets the UART's IER,
 * LCR and SCR. Then `PROBE snapshot.ready ok` and `PROBE-INFO
 * snapshot.counter <n>`, and it loops: counting, checking the pattern every
 * snap_check rounds, polling the UART's LSR. A correct restore is invisible
 * to the guest (memory and TSC come back), so the host tells it: a byte `R`
 * on the serial input. The probe then checks and prints
 *   PROBE snapshot.pattern ok      every page still holds its value
 *   PROBE snapshot.blk ok          sector 1 reads back, sector 2 is written and read
 *   PROBE snapshot.serial ok       IER, LCR and SCR as it set them
 *   PROBE snapshot.pmem ok         with a pmem device: its page 1 as written,
 *                                  a new page written and FLUSHed (snapshot-pmem.c)
 *   PROBE-INFO snapshot.counter <n>, PROBE-INFO snapshot.generation <g>
 * and after the last generation `PROBE snapshot.resumed ok` (then the probe
 * prints its DONE line and resets). Other input bytes are ignored. The
 * other devices on the command line (net, MMDS, vsock, balloon) and the
 * kvmclock are checked too: snapshot-devices.h. */
#include "probe.h"
#include "snapshot-pattern.h"
#include "snapshot-devices.h"
#include "snapshot-pmem.h"
#include "virtio-probe.h"

#define SNAP_BASE (16ull << 20)
#define PAGE 4096u
#define COM1 0x3f8u
#define UART_IER (COM1 + 1)
#define UART_LCR (COM1 + 3)
#define UART_LSR (COM1 + 5)
#define UART_SCR (COM1 + 7)
#define LSR_DR 0x01u
/* What the probe sets: the receive-line-status interrupt enable (no IRQ is
 * taken: IF stays 0), 8 data bits with even parity, and a scratch value. */
#define SNAP_IER 0x04u
#define SNAP_LCR 0x1bu

static struct blk_hdr hdr __attribute__((aligned(16)));
static uint8_t sector[512] __attribute__((aligned(512)));
static volatile uint8_t blk_status;

static uint64_t page_value(uint64_t seed, uint64_t page)
{
	return snap_mix(seed ^ (page << 20) ^ 0x5eed5eed5eedull) | 1;
}

static bool snap_in_ram(uint64_t pages)
{
	uint64_t end = SNAP_BASE + pages * PAGE;

	for (unsigned i = 0; i < probe_boot.nr_mem; i++)
		if (probe_boot.mem[i].type == PROBE_MEM_RAM && probe_boot.mem[i].addr <= SNAP_BASE &&
		    probe_boot.mem[i].addr + probe_boot.mem[i].size >= end)
			return true;
	return !probe_boot.have_mem;
}

static void pattern_write(uint64_t seed, uint64_t pages)
{
	for (uint64_t p = 0; p < pages; p++)
		*snap_page_slot(SNAP_BASE, seed, p) = page_value(seed, p);
}

/* The first page whose value is not there, or pages when all are. */
static uint64_t pattern_check(uint64_t seed, uint64_t pages)
{
	for (uint64_t p = 0; p < pages; p++)
		if (*snap_page_slot(SNAP_BASE, seed, p) != page_value(seed, p))
			return p;
	return pages;
}

static void sector_fill(uint8_t *buf, uint64_t seed, unsigned which)
{
	for (unsigned i = 0; i < sizeof(sector); i++)
		buf[i] = (uint8_t)(snap_mix(seed + which * 1000u + i / 8) >> (8 * (i % 8)));
}

static uint8_t blk_io(struct vp_dev *d, uint32_t type, uint64_t lba)
{
	uint32_t id, len;

	hdr = (struct blk_hdr){ .type = type, .sector = lba };
	blk_status = 0xff;
	d->desc[0] = (struct vp_desc){ (uint64_t)(uintptr_t)&hdr, sizeof(hdr), VP_DESC_F_NEXT, 1 };
	d->desc[1] = (struct vp_desc){ (uint64_t)(uintptr_t)sector, sizeof(sector),
				       (uint16_t)(VP_DESC_F_NEXT | (type == BLK_T_IN ? VP_DESC_F_WRITE : 0)), 2 };
	d->desc[2] = (struct vp_desc){ (uint64_t)(uintptr_t)&blk_status, 1, VP_DESC_F_WRITE, 0 };
	return vp_submit(d, 0, &id, &len) ? blk_status : 0xff;
}

/* After a restore: sector 1 as written before, then sector 2 written and
 * read back through the restored queue. */
static void blk_after(struct vp_dev *d, uint64_t seed, unsigned gen)
{
	uint8_t want[sizeof(sector)];
	uint8_t st;

	st = blk_io(d, BLK_T_IN, 1);
	sector_fill(want, seed, 1);
	if (st != BLK_S_OK || memcmp(sector, want, sizeof(want))) {
		probe_fail("snapshot.blk", "sector 1: status %u, %s", st, st == BLK_S_OK ? "other data" : "no data");
		return;
	}
	sector_fill(sector, seed, 2 + gen);
	st = blk_io(d, BLK_T_OUT, 2);
	if (st == BLK_S_OK) {
		memset(sector, 0, sizeof(sector));
		st = blk_io(d, BLK_T_IN, 2);
	}
	sector_fill(want, seed, 2 + gen);
	probe_check("snapshot.blk", st == BLK_S_OK && !memcmp(sector, want, sizeof(want)),
		    "sector 2: status %u after write and read", st);
}

static void serial_after(uint8_t scr)
{
	uint8_t ier = inb(UART_IER), lcr = inb(UART_LCR), got_scr = inb(UART_SCR);

	probe_check("snapshot.serial", ier == SNAP_IER && lcr == SNAP_LCR && got_scr == scr,
		    "IER 0x%x LCR 0x%x SCR 0x%x, set 0x%x 0x%x 0x%x", ier, lcr, got_scr, SNAP_IER, SNAP_LCR, scr);
}

struct snap_run {
	uint64_t seed, pages, check, generations, polls;
	uint8_t scr;
	bool blk;
	struct vp_dev dev;
};

static void snap_restored(struct snap_run *r, uint64_t counter, unsigned gen)
{
	uint64_t bad = pattern_check(r->seed, r->pages);

	probe_check("snapshot.pattern", bad == r->pages, "page %lu of %lu lost its value", bad, r->pages);
	if (r->blk)
		blk_after(&r->dev, r->seed, gen);
	else
		probe_skip("snapshot.blk", "no drive");
	serial_after(r->scr);
	snapdev_restored(gen);
	snap_pmem_after(gen);
	probe_info("snapshot.counter", "%lu", counter);
	probe_info("snapshot.generation", "%u", gen);
}

/* The loop: a round is one LSR poll (one exit under PVM). */
static void snap_loop(struct snap_run *r)
{
	uint64_t counter = 0;
	unsigned gen = 0;

	while (counter < r->polls) {
		counter++;
		if (counter % r->check == 0 && pattern_check(r->seed, r->pages) != r->pages) {
			probe_fail("snapshot.pattern", "page %lu changed while running", pattern_check(r->seed, r->pages));
			return;
		}
		if (!(inb(UART_LSR) & LSR_DR) || inb(COM1) != 'R')
			continue;
		snap_restored(r, counter, ++gen);
		if (gen >= r->generations) {
			probe_ok("snapshot.resumed");
			return;
		}
	}
	probe_fail("snapshot.resumed", "no `R` on the serial input after %lu rounds (%u of %lu generations)", counter,
		   gen, r->generations);
}

void scenario_snapshot(void)
{
	struct snap_run r = { .pages = 8, .check = 1000, .generations = 1, .polls = 50000000 };

	probe_param_u64("probe.snap_mib", &r.pages);
	r.pages = r.pages * ((1u << 20) / PAGE);
	probe_param_u64("probe.snap_seed", &r.seed);
	probe_param_u64("probe.snap_check", &r.check);
	probe_param_u64("probe.snap_generations", &r.generations);
	probe_param_u64("probe.snap_polls", &r.polls);
	if (r.check == 0)
		r.check = 1;
	if (!snap_in_ram(r.pages)) {
		probe_fail("snapshot.ready", "%lu pages from 0x%lx are not all RAM", r.pages, (uint64_t)SNAP_BASE);
		return;
	}
	pattern_write(r.seed, r.pages);
	r.blk = vp_open_first_blk(&r.dev);
	if (r.blk) {
		sector_fill(sector, r.seed, 1);
		if (blk_io(&r.dev, BLK_T_OUT, 1) != BLK_S_OK) {
			probe_fail("snapshot.ready", "writing sector 1 failed");
			return;
		}
	}
	if (!snap_pmem_prepare(r.seed))
		return;
	snapdev_setup();
	r.scr = (uint8_t)(0xa5 ^ r.seed);
	outb(UART_IER, SNAP_IER);
	outb(UART_LCR, SNAP_LCR);
	outb(UART_SCR, r.scr);
	probe_ok("snapshot.ready");
	snapdev_ready();
	probe_info("snapshot.counter", "%lu", (uint64_t)0);
	snap_loop(&r);
}
