/* Scenario rng: the entropy device (virtio-rng, device ID 4).
 *
 *   rng.read     two reads of 4096 bytes: ok when both come back full, are
 *                not all one byte value, and differ from each other
 *   irq.rng      a used buffer's interrupt reaches the LAPIC IRR (irq.c)
 *   probe.rng_reads=N   N more reads of RNG_TIMED bytes, timed together:
 *                `PROBE-INFO rng.cycles <tsc cycles>` (rng.timed_reads
 *                checks each came back full); a host rate limiter shows here
 *   probe.rng_wait_ms=N how long one read may wait (default 5000: a
 *                limited device parks requests for its refill time)
 * Polling only, like every scenario. */
#include "probe.h"
#include "scenarios.h"
#include "virtio-probe.h"

#define VIRTIO_ID_RNG 4u
#define RNG_READ 4096u
#define RNG_TIMED 64u

static uint8_t buf[2][RNG_READ] __attribute__((aligned(4096)));
static uint64_t wait_ms = 5000;

static bool rng_open(struct vp_dev *d)
{
	uint64_t base[VP_MAX_DEVICES];
	unsigned irq[VP_MAX_DEVICES], n = vp_find(base, irq, VP_MAX_DEVICES);

	for (unsigned i = 0; i < n; i++) {
		d->base = base[i];
		if (vp_read(d, 0x008) != VIRTIO_ID_RNG)
			continue;
		d->irq = irq[i];
		return vp_init(d, base[i], i, VP_F_EVENT_IDX) == 0;
	}
	return false;
}

/* One device-writable buffer; the length the device wrote, or -1 when
 * nothing came back within probe.rng_wait_ms. */
static int64_t rng_read(struct vp_dev *d, uint8_t *p, uint32_t len)
{
	uint64_t deadline = probe_deadline_ms(wait_ms);
	uint32_t id, got;

	d->desc[0] = (struct vp_desc){ .addr = (uint64_t)(uintptr_t)p, .len = len, .flags = VP_DESC_F_WRITE };
	vp_post(d, 0, 0);
	while (!vp_poll(d, 0, &id, &got)) {
		if (probe_deadline_passed(deadline))
			return -1;
		__asm__ volatile("pause");
	}
	return got;
}

static bool all_one_value(const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 1; i < len; i++)
		if (p[i] != p[0])
			return false;
	return true;
}

static void rng_reads(struct vp_dev *d)
{
	int64_t a, b;

	memset(buf, 0, sizeof(buf));
	a = rng_read(d, buf[0], RNG_READ);
	b = rng_read(d, buf[1], RNG_READ);
	if (a != RNG_READ || b != RNG_READ)
		probe_fail("rng.read", "the reads returned %ld and %ld bytes, expected %u", (long)a, (long)b, RNG_READ);
	else if (all_one_value(buf[0], RNG_READ) || all_one_value(buf[1], RNG_READ))
		probe_fail("rng.read", "a buffer holds one byte value (0x%x, 0x%x)", buf[0][0], buf[1][0]);
	else
		probe_check("rng.read", memcmp(buf[0], buf[1], RNG_READ) != 0, "the two reads are equal");
}

static void rng_timed(struct vp_dev *d, uint64_t n)
{
	uint64_t t0 = rdtsc(), full = 0;

	for (uint64_t i = 0; i < n; i++)
		full += rng_read(d, buf[0], RNG_TIMED) == RNG_TIMED;
	probe_info("rng.cycles", "%lu", rdtsc() - t0);
	probe_check("rng.timed_reads", full == n, "%lu of %lu reads came back full", full, n);
}

static struct vp_dev *irq_dev;

static void rng_trigger_used(void)
{
	(void)rng_read(irq_dev, buf[1], 16);
	vp_write(irq_dev, VP_MMIO_INTERRUPT_ACK, vp_read(irq_dev, VP_MMIO_INTERRUPT_STATUS));
}

void scenario_rng(void)
{
	struct vp_dev d;
	uint64_t n;

	probe_param_u64("probe.rng_wait_ms", &wait_ms);
	if (!rng_open(&d)) {
		probe_fail("rng.device", "no virtio-rng device among the virtio_mmio.device= entries");
		return;
	}
	probe_ok("rng.device");
	rng_reads(&d);
	if (probe_param_u64("probe.rng_reads", &n))
		rng_timed(&d, n);
	irq_dev = &d;
	probe_irq_check("irq.rng", d.irq, rng_trigger_used);
}
