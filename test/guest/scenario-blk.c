/* Scenario blk: drive virtio-blk as Linux's virtio_blk would, by polling.
 *
 * Uses the first block device without VIRTIO_BLK_F_RO for I/O and, when one
 * exists, a read-only one for the refusal check. Parameters (optional):
 *   probe.blk_seed=N     the pattern written at sector 8 (default 1)
 *   probe.blk_verify=N   first read sector 8 and expect the pattern of seed N
 *                        (a second boot checking what the first wrote)
 *   probe.blk_reads=N    then time N 4 KiB reads with the TSC (rate limiter runs)
 *   probe.irq_ms=N       how long irq.blk waits for the IRR bit (default 1000)
 * irq.blk: a used buffer's interrupt reaches the boot CPU's LAPIC IRR. */
#include "probe.h"
#include "virtio-probe.h"

#define DATA_SECTOR 8u

static struct blk_hdr hdr __attribute__((aligned(16)));
static uint8_t data[4096] __attribute__((aligned(4096)));
static volatile uint8_t status;

static void fill(uint8_t *buf, unsigned len, uint64_t seed)
{
	for (unsigned i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 31u);
}

/* One request: header, optional data (len 0: none), status. Returns the
 * status byte, or 0xff on a timeout; *ret_len gets the used length. */
static uint8_t blk_request(struct vp_dev *d, uint32_t type, uint64_t sector, uint32_t len, uint32_t *ret_len)
{
	bool device_writes = type != BLK_T_OUT;
	uint32_t id;

	hdr = (struct blk_hdr){ .type = type, .sector = sector };
	status = 0xff;
	d->desc[0] = (struct vp_desc){ (uint64_t)(uintptr_t)&hdr, sizeof(hdr), VP_DESC_F_NEXT, 1 };
	d->desc[1] = (struct vp_desc){ (uint64_t)(uintptr_t)data, len,
				       (uint16_t)(VP_DESC_F_NEXT | (device_writes ? VP_DESC_F_WRITE : 0)), 2 };
	d->desc[2] = (struct vp_desc){ (uint64_t)(uintptr_t)&status, 1, VP_DESC_F_WRITE, 0 };
	if (len == 0)
		d->desc[0].next = 2;
	if (!vp_submit(d, 0, &id, ret_len))
		return 0xff;
	return status;
}

static uint64_t blk_capacity(const struct vp_dev *d)
{
	return vp_read(d, 0x100) | (uint64_t)vp_read(d, 0x104) << 32;
}

/* The devices on the command line with device id 2, split by the RO feature. */
static bool blk_open(struct vp_dev *rw, struct vp_dev *ro, bool *have_ro)
{
	uint64_t base[VP_MAX_DEVICES];
	unsigned irq[VP_MAX_DEVICES], n = vp_find(base, irq, VP_MAX_DEVICES);
	bool have_rw = false;

	*have_ro = false;
	for (unsigned i = 0; i < n; i++) {
		struct vp_dev d;
		const char *err;

		d.base = base[i];
		if (vp_read(&d, 0x008) != 2)
			continue;
		err = vp_init(&d, base[i], i, BLK_F_RO | BLK_F_FLUSH | VP_F_EVENT_IDX);
		if (err) {
			probe_fail("blk.init", "device at 0x%lx: %s", base[i], err);
			continue;
		}
		d.irq = irq[i];
		if ((d.features & BLK_F_RO) && !*have_ro) {
			*ro = d;
			*have_ro = true;
		} else if (!(d.features & BLK_F_RO) && !have_rw) {
			*rw = d;
			have_rw = true;
		}
	}
	return have_rw;
}

static void blk_interrupt(struct vp_dev *d)
{
	uint32_t isr = vp_read(d, 0x060);

	if (!probe_check("blk.interrupt", isr & 1, "interrupt status is 0x%x, the used-buffer bit is clear", isr))
		return;
	vp_write(d, 0x064, isr);
	probe_check("blk.interrupt_ack", (vp_read(d, 0x060) & 1) == 0, "interrupt status still 0x%x after ACK",
		    vp_read(d, 0x060));
}

static void blk_pattern(struct vp_dev *d)
{
	uint64_t seed = 1, verify;
	static uint8_t want[sizeof(data)];
	uint32_t len;
	uint8_t s;

	probe_param_u64("probe.blk_seed", &seed);
	if (probe_param_u64("probe.blk_verify", &verify)) {
		s = blk_request(d, BLK_T_IN, DATA_SECTOR, sizeof(data), &len);
		fill(want, sizeof(want), verify);
		probe_check("blk.verify", s == BLK_S_OK && memcmp(data, want, sizeof(want)) == 0,
			    "status %u, data %s the pattern of seed %lu", s,
			    memcmp(data, want, sizeof(want)) ? "differs from" : "matches", verify);
	}
	fill(data, sizeof(data), seed);
	s = blk_request(d, BLK_T_OUT, DATA_SECTOR, sizeof(data), &len);
	probe_check("blk.write", s == BLK_S_OK && len == 1, "status %u, used length %u", s, len);
	blk_interrupt(d);
	memset(data, 0, sizeof(data));
	s = blk_request(d, BLK_T_IN, DATA_SECTOR, sizeof(data), &len);
	fill(want, sizeof(want), seed);
	probe_check("blk.read", s == BLK_S_OK && len == sizeof(data) + 1 && memcmp(data, want, sizeof(want)) == 0,
		    "status %u, used length %u, data %s", s, len,
		    memcmp(data, want, sizeof(want)) ? "differs from what was written" : "ok");
}

static void blk_misc(struct vp_dev *d)
{
	uint64_t cap = blk_capacity(d);
	uint32_t len;
	uint8_t s;

	if (d->features & BLK_F_FLUSH) {
		s = blk_request(d, BLK_T_FLUSH, 0, 0, &len);
		probe_check("blk.flush", s == BLK_S_OK, "status %u", s);
	} else {
		probe_skip("blk.flush", "FLUSH not offered (cache_type Unsafe)");
	}
	memset(data, 0, 32);
	s = blk_request(d, BLK_T_GET_ID, 0, 20, &len);
	data[20] = 0;
	if (probe_check("blk.get_id", s == BLK_S_OK && data[0] >= '0' && data[0] <= '9', "status %u, id \"%s\"", s,
			(const char *)data))
		probe_info("blk.id", "%s", (const char *)data);
	s = blk_request(d, BLK_T_IN, cap, 512, &len);
	probe_check("blk.past_end", s == BLK_S_IOERR, "read at sector %lu (the capacity) gave status %u", cap, s);
	s = blk_request(d, BLK_T_IN, cap - 1, 1024, &len);
	probe_check("blk.straddle_end", s == BLK_S_IOERR, "read across the end gave status %u", s);
}

static void blk_read_only(struct vp_dev *ro)
{
	uint32_t len;
	uint8_t s;

	fill(data, 512, 99);
	s = blk_request(ro, BLK_T_OUT, 0, 512, &len);
	probe_check("blk.ro_write", s == BLK_S_IOERR, "write to a read-only drive gave status %u", s);
	s = blk_request(ro, BLK_T_IN, 0, 512, &len);
	probe_check("blk.ro_read", s == BLK_S_OK, "read from a read-only drive gave status %u", s);
}

static void blk_timed_reads(struct vp_dev *d, uint64_t n)
{
	uint64_t t0 = rdtsc(), ok = 0;
	uint32_t len;

	for (uint64_t i = 0; i < n; i++)
		ok += blk_request(d, BLK_T_IN, i % 8, sizeof(data), &len) == BLK_S_OK;
	probe_info("blk.reads_tsc", "%lu reads of 4096 bytes in %lu TSC cycles", n, rdtsc() - t0);
	probe_check("blk.timed_reads", ok == n, "%lu of %lu reads succeeded", ok, n);
}

static struct vp_dev *irq_dev;

/* A GET_ID request: the device's used-buffer notification raises its IRQ. */
static void blk_trigger_used(void)
{
	uint32_t len;

	(void)blk_request(irq_dev, BLK_T_GET_ID, 0, 20, &len);
	vp_write(irq_dev, VP_MMIO_INTERRUPT_ACK, vp_read(irq_dev, VP_MMIO_INTERRUPT_STATUS));
}

static void blk_irq(struct vp_dev *d)
{
	irq_dev = d;
	probe_irq_check("irq.blk", d->irq, blk_trigger_used);
}

void scenario_blk(void)
{
	struct vp_dev rw, ro;
	bool have_ro;
	uint64_t reads;

	if (!blk_open(&rw, &ro, &have_ro)) {
		probe_fail("blk.device", "no writable virtio-blk device among the virtio_mmio.device= entries");
		return;
	}
	probe_ok("blk.device");
	probe_check("blk.capacity", blk_capacity(&rw) > DATA_SECTOR + 8, "capacity is %lu sectors",
		    blk_capacity(&rw));
	blk_pattern(&rw);
	blk_misc(&rw);
	blk_irq(&rw);
	if (have_ro)
		blk_read_only(&ro);
	else
		probe_skip("blk.ro_write", "no read-only drive configured");
	if (probe_param_u64("probe.blk_reads", &reads))
		blk_timed_reads(&rw, reads);
}
