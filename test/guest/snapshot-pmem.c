/* probe=snapshot with a virtio-pmem device (doc/pmem.md): the window is a
 * host file mapped MAP_SHARED, so a snapshot saves only where it is and its
 * queue; the bytes stay in the file.
 *
 * Before ready the probe fills the window's page 1 with one byte value
 * (0x3c + seed) and FLUSHes. After restore g it checks that the config
 * space still names the same window, that page 1 still holds the value
 * (read through the re-mapped file), writes page 1 + g with value + g and
 * FLUSHes through the restored queue (used length 4, status 0): `PROBE
 * snapshot.pmem ok`. The host then finds both pages in the file. */
#include "snapshot-pmem.h"

#include "probe.h"
#include "virtio-probe.h"

#define PMEM_DEVICE_ID 27u
#define PAGE 4096u
#define PMEM_MAPPED_END (513ull << 30) /* what the probe's page tables map */

static struct {
	bool present;
	struct vp_dev dev;
	uint64_t start, size;
	uint8_t value;
} pm;

static volatile uint32_t req_type __attribute__((aligned(16)));
static volatile uint32_t req_status __attribute__((aligned(16)));

static uint64_t cfg64(uint32_t off)
{
	return vp_read(&pm.dev, VP_MMIO_CONFIG + off) | (uint64_t)vp_read(&pm.dev, VP_MMIO_CONFIG + off + 4) << 32;
}

/* A FLUSH: true when it came back with used length 4 and status 0. */
static bool flush(uint32_t *ret_len, int32_t *ret_status)
{
	uint32_t id = 0;

	req_type = 0;
	req_status = 0xeeeeeeee;
	pm.dev.desc[0] = (struct vp_desc){ (uint64_t)(uintptr_t)&req_type, 4, VP_DESC_F_NEXT, 1 };
	pm.dev.desc[1] = (struct vp_desc){ (uint64_t)(uintptr_t)&req_status, 4, VP_DESC_F_WRITE, 0 };
	*ret_len = 0xffffffffu;
	if (!vp_submit(&pm.dev, 0, &id, ret_len))
		return false;
	*ret_status = (int32_t)req_status;
	return id == 0 && *ret_len == 4 && *ret_status == 0;
}

static void fill(uint64_t page, uint8_t v)
{
	volatile uint8_t *w = (volatile uint8_t *)(uintptr_t)(pm.start + page * PAGE);

	for (unsigned i = 0; i < PAGE; i++)
		w[i] = v;
}

/* The first offset of page that does not hold v, or PAGE. */
static unsigned differs(uint64_t page, uint8_t v)
{
	const volatile uint8_t *w = (const volatile uint8_t *)(uintptr_t)(pm.start + page * PAGE);

	for (unsigned i = 0; i < PAGE; i++)
		if (w[i] != v)
			return i;
	return PAGE;
}

bool snap_pmem_prepare(uint64_t seed)
{
	uint64_t base[VP_MAX_DEVICES];
	unsigned irq[VP_MAX_DEVICES], n = vp_find(base, irq, VP_MAX_DEVICES);
	uint32_t len;
	int32_t status = 1;
	const char *err;

	for (unsigned i = 0; i < n && !pm.present; i++) {
		pm.dev = (struct vp_dev){ .base = base[i] };
		if (vp_read(&pm.dev, 0x008) != PMEM_DEVICE_ID)
			continue;
		err = vp_init(&pm.dev, base[i], i, 0);
		if (err) {
			probe_fail("snapshot.ready", "pmem at 0x%lx: %s", base[i], err);
			return false;
		}
		pm.present = true;
	}
	if (!pm.present)
		return true;
	pm.start = cfg64(0);
	pm.size = cfg64(8);
	pm.value = (uint8_t)(0x3c + seed);
	if (pm.size < 16 * PAGE || pm.start + 16 * PAGE > PMEM_MAPPED_END) {
		probe_fail("snapshot.ready", "pmem window 0x%lx, %lu bytes: not 16 pages below 513 GiB", pm.start,
			   pm.size);
		return false;
	}
	fill(1, pm.value);
	if (!flush(&len, &status)) {
		probe_fail("snapshot.ready", "pmem FLUSH: used length %u, status %d", len, status);
		return false;
	}
	return true;
}

void snap_pmem_after(unsigned gen)
{
	uint64_t start = cfg64(0), size = cfg64(8), page = 1 + gen % 15;
	uint8_t v = (uint8_t)(pm.value + gen);
	unsigned bad;
	uint32_t len = 0;
	int32_t status = 1;

	if (!pm.present)
		return;
	if (start != pm.start || size != pm.size) {
		probe_fail("snapshot.pmem", "config space: window 0x%lx, %lu bytes; before 0x%lx, %lu", start, size,
			   pm.start, pm.size);
		return;
	}
	bad = differs(1, pm.value);
	if (bad != PAGE) {
		probe_fail("snapshot.pmem", "page 1 byte %u is 0x%x, written 0x%x", bad,
			   *(volatile uint8_t *)(uintptr_t)(pm.start + PAGE + bad), pm.value);
		return;
	}
	if (page != 1)
		fill(page, v);
	probe_check("snapshot.pmem", flush(&len, &status), "FLUSH after restore %u: used length %u, status %d", gen,
		    len, status);
}
