#include "balloon-probe.h"

#include "probe.h"

#define MMIO_DEVICE_ID 0x008u
#define MMIO_DEVICE_FEATURES 0x010u
#define MMIO_DEVICE_FEATURES_SEL 0x014u
#define BALLOON_ID 5u
#define IDENTITY_TOP (1ull << 30)

static uint32_t bp_pfns[BP_PFNS_MAX] __attribute__((aligned(64)));

uint64_t bp_param(const char *key, uint64_t def)
{
	uint64_t v;

	return probe_param_u64(key, &v) ? v : def;
}

static uint64_t bp_offered(struct vp_dev *d)
{
	uint64_t f;

	vp_write(d, MMIO_DEVICE_FEATURES_SEL, 0);
	f = vp_read(d, MMIO_DEVICE_FEATURES);
	vp_write(d, MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)vp_read(d, MMIO_DEVICE_FEATURES) << 32;
}

const char *bp_open(struct bp *b, uint64_t want)
{
	uint64_t base[VP_MAX_DEVICES];
	unsigned irq[VP_MAX_DEVICES], n = vp_find(base, irq, VP_MAX_DEVICES);
	uint64_t got;

	b->region = bp_param("probe.balloon_addr_mib", 32) * BP_MIB;
	for (unsigned i = 0; i < n; i++) {
		b->dev.base = base[i];
		if (vp_read(&b->dev, MMIO_DEVICE_ID) != BALLOON_ID)
			continue;
		b->dev.irq = irq[i];
		got = bp_offered(&b->dev) & want & (BP_F_STATS_VQ | BP_F_FREE_PAGE_HINT | BP_F_PAGE_REPORTING);
		/* one optional queue at most: the scenarios each use one */
		if (got & (got - 1))
			return "more than one optional queue asked for";
		b->extra = got ? 2 : 0;
		return vp_init_queues(&b->dev, base[i], i, want, b->extra ? 3 : 2);
	}
	return "no virtio-balloon device among the virtio_mmio.device= entries";
}

uint32_t bp_cfg(const struct bp *b, unsigned off)
{
	return vp_read(&b->dev, VP_MMIO_CONFIG + off);
}

void bp_cfg_write(const struct bp *b, unsigned off, uint32_t v)
{
	vp_write(&b->dev, VP_MMIO_CONFIG + off, v);
}

void bp_ack(const struct bp *b)
{
	vp_write(&b->dev, VP_MMIO_INTERRUPT_ACK, vp_read(&b->dev, VP_MMIO_INTERRUPT_STATUS));
}

bool bp_submit(struct bp *b, unsigned qi, uint64_t ms)
{
	uint64_t deadline = probe_deadline_ms(ms);
	uint32_t id, len;

	vp_post(&b->dev, qi, 0);
	while (!vp_poll(&b->dev, qi, &id, &len)) {
		if (probe_deadline_passed(deadline))
			return false;
		__asm__ volatile("pause");
	}
	return true;
}

bool bp_send_pfns(struct bp *b, unsigned qi, const uint32_t *pfn, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		bp_pfns[i] = pfn[i];
	b->dev.q[qi].desc[0] = (struct vp_desc){ (uint64_t)(uintptr_t)bp_pfns, 4 * n, 0, 0 };
	return bp_submit(b, qi, 2000);
}

bool bp_send_range(struct bp *b, unsigned qi, uint64_t first, uint64_t n)
{
	uint32_t base = (uint32_t)(b->region / BP_PAGE);

	while (n) {
		unsigned k = n < BP_PFNS_MAX ? (unsigned)n : BP_PFNS_MAX;

		for (unsigned i = 0; i < k; i++)
			bp_pfns[i] = base + (uint32_t)(first + i);
		b->dev.q[qi].desc[0] = (struct vp_desc){ (uint64_t)(uintptr_t)bp_pfns, 4 * k, 0, 0 };
		if (!bp_submit(b, qi, 2000))
			return false;
		first += k;
		n -= k;
	}
	return true;
}

void bp_touch(uint64_t gpa, uint64_t len)
{
	for (uint64_t a = gpa; a < gpa + len; a += BP_PAGE)
		*(volatile uint8_t *)(uintptr_t)a = 0x5a;
}

uint64_t bp_ram_top(void)
{
	uint64_t top = 0;

	for (unsigned i = 0; i < probe_boot.nr_mem; i++) {
		const struct probe_mem_range *r = &probe_boot.mem[i];

		if (r->type == PROBE_MEM_RAM && r->addr + r->size > top)
			top = r->addr + r->size;
	}
	return top < IDENTITY_TOP ? top : IDENTITY_TOP;
}
