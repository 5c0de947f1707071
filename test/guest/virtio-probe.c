#include "virtio-probe.h"

#include "probe.h"

#define MMIO_MAGIC 0x000
#define MMIO_VERSION 0x004
#define MMIO_DEVICE_FEATURES 0x010
#define MMIO_DEVICE_FEATURES_SEL 0x014
#define MMIO_DRIVER_FEATURES 0x020
#define MMIO_DRIVER_FEATURES_SEL 0x024
#define MMIO_QUEUE_SEL 0x030
#define MMIO_QUEUE_NUM_MAX 0x034
#define MMIO_QUEUE_NUM 0x038
#define MMIO_QUEUE_READY 0x044
#define MMIO_QUEUE_NOTIFY 0x050
#define MMIO_STATUS 0x070
#define MMIO_QUEUE_DESC 0x080
#define MMIO_QUEUE_AVAIL 0x090
#define MMIO_QUEUE_USED 0x0a0

#define POLL_LIMIT 20000000u

struct vp_rings {
	struct vp_desc desc[VP_QN] __attribute__((aligned(16)));
	uint16_t avail[2 + VP_QN + 1] __attribute__((aligned(16)));
	uint8_t used[6 + 8 * VP_QN] __attribute__((aligned(16)));
};

static struct vp_rings vp_rings[VP_MAX_DEVICES][VP_MAX_QUEUES] __attribute__((aligned(4096)));

#define barrier() __asm__ volatile("" ::: "memory")

static uint64_t parse_hex(const char *s, const char **end)
{
	uint64_t v = 0;

	for (;; s++) {
		char c = *s;

		if (c >= '0' && c <= '9')
			v = v * 16 + (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uint64_t)(c - 'a' + 10);
		else
			break;
	}
	*end = s;
	return v;
}

unsigned vp_find(uint64_t base[], unsigned irq[], unsigned max)
{
	static const char key[] = "virtio_mmio.device=4K@0x";
	const char *c = probe_boot.cmdline;
	unsigned n = 0;

	while (*c && n < max) {
		const char *e;

		if (memcmp(c, key, sizeof(key) - 1) != 0 || (c != probe_boot.cmdline && c[-1] != ' ')) {
			c++;
			continue;
		}
		base[n] = parse_hex(c + sizeof(key) - 1, &e);
		irq[n] = 0;
		if (*e == ':')
			for (e++; *e >= '0' && *e <= '9'; e++)
				irq[n] = irq[n] * 10 + (unsigned)(*e - '0');
		n++;
		c = e;
	}
	return n;
}

uint32_t vp_read(const struct vp_dev *d, uint32_t off)
{
	return mmio_read32(d->base + off);
}

void vp_write(const struct vp_dev *d, uint32_t off, uint32_t v)
{
	mmio_write32(d->base + off, v);
}

static void vp_write64(const struct vp_dev *d, uint32_t off, uint64_t v)
{
	vp_write(d, off, (uint32_t)v);
	vp_write(d, off + 4, (uint32_t)(v >> 32));
}

static const char *vp_negotiate(struct vp_dev *d, uint64_t base, uint64_t want)
{
	uint64_t offered;

	d->base = base;
	if (vp_read(d, MMIO_MAGIC) != 0x74726976u)
		return "bad magic";
	if (vp_read(d, MMIO_VERSION) != 2)
		return "not a version 2 (modern) transport";
	vp_write(d, MMIO_STATUS, 0);
	vp_write(d, MMIO_STATUS, 1);
	vp_write(d, MMIO_STATUS, 1 | 2);
	vp_write(d, MMIO_DEVICE_FEATURES_SEL, 1);
	offered = (uint64_t)vp_read(d, MMIO_DEVICE_FEATURES) << 32;
	vp_write(d, MMIO_DEVICE_FEATURES_SEL, 0);
	offered |= vp_read(d, MMIO_DEVICE_FEATURES);
	if (!(offered & (1ull << 32)))
		return "VERSION_1 not offered";
	d->features = (want & offered) | (1ull << 32);
	vp_write(d, MMIO_DRIVER_FEATURES_SEL, 0);
	vp_write(d, MMIO_DRIVER_FEATURES, (uint32_t)d->features);
	vp_write(d, MMIO_DRIVER_FEATURES_SEL, 1);
	vp_write(d, MMIO_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
	vp_write(d, MMIO_STATUS, 1 | 2 | 8);
	if (!(vp_read(d, MMIO_STATUS) & 8))
		return "FEATURES_OK not accepted";
	return 0;
}

static const char *vp_queue_setup(struct vp_dev *d, unsigned qi, struct vp_rings *r)
{
	struct vp_queue *q = &d->q[qi];

	vp_write(d, MMIO_QUEUE_SEL, qi);
	if (vp_read(d, MMIO_QUEUE_READY) != 0 || vp_read(d, MMIO_QUEUE_NUM_MAX) < VP_QN)
		return "queue unusable";
	memset(r, 0, sizeof(*r));
	*q = (struct vp_queue){ .desc = r->desc, .avail = r->avail, .used = r->used };
	vp_write(d, MMIO_QUEUE_NUM, VP_QN);
	vp_write64(d, MMIO_QUEUE_DESC, (uint64_t)(uintptr_t)r->desc);
	vp_write64(d, MMIO_QUEUE_AVAIL, (uint64_t)(uintptr_t)r->avail);
	vp_write64(d, MMIO_QUEUE_USED, (uint64_t)(uintptr_t)r->used);
	vp_write(d, MMIO_QUEUE_READY, 1);
	if (vp_read(d, MMIO_QUEUE_READY) != 1)
		return "queue not ready after QueueReady=1";
	return 0;
}

const char *vp_init_queues(struct vp_dev *d, uint64_t base, unsigned slot, uint64_t want, unsigned nq)
{
	const char *err = vp_negotiate(d, base, want);

	for (unsigned qi = 0; !err && qi < nq; qi++)
		err = vp_queue_setup(d, qi, &vp_rings[slot][qi]);
	if (err)
		return err;
	vp_write(d, MMIO_STATUS, 1 | 2 | 8 | 4);
	if (vp_read(d, MMIO_STATUS) != (1 | 2 | 8 | 4))
		return "DRIVER_OK not accepted";
	return 0;
}

const char *vp_init(struct vp_dev *d, uint64_t base, unsigned slot, uint64_t want)
{
	return vp_init_queues(d, base, slot, want, 1);
}

void vp_post(struct vp_dev *d, unsigned qi, uint16_t head)
{
	struct vp_queue *q = &d->q[qi];

	q->avail[2 + q->avail_idx % VP_QN] = head;
	/* With EVENT_IDX: interrupt me once the next element is used (virtqueue_enable_cb). */
	q->avail[2 + VP_QN] = q->used_seen;
	barrier();
	q->avail[1] = ++q->avail_idx;
	barrier();
	vp_write(d, MMIO_QUEUE_NOTIFY, qi);
}

bool vp_poll(struct vp_dev *d, unsigned qi, uint32_t *ret_id, uint32_t *ret_len)
{
	struct vp_queue *q = &d->q[qi];
	uint16_t pos = q->used_seen;

	if (*(volatile uint16_t *)(q->used + 2) == pos)
		return false;
	barrier();
	*ret_id = *(volatile uint32_t *)(q->used + 4 + 8 * (pos % VP_QN));
	*ret_len = *(volatile uint32_t *)(q->used + 8 + 8 * (pos % VP_QN));
	q->used_seen = pos + 1;
	return true;
}

bool vp_submit(struct vp_dev *d, uint16_t head, uint32_t *ret_id, uint32_t *ret_len)
{
	vp_post(d, 0, head);
	for (uint32_t i = 0; !vp_poll(d, 0, ret_id, ret_len); i++) {
		if (i == POLL_LIMIT)
			return false;
		__asm__ volatile("pause");
	}
	return true;
}

bool vp_open_first_blk(struct vp_dev *d)
{
	uint64_t base[VP_MAX_DEVICES];
	unsigned irq[VP_MAX_DEVICES], n = vp_find(base, irq, VP_MAX_DEVICES);

	for (unsigned i = 0; i < n; i++) {
		d->base = base[i];
		if (vp_read(d, 0x008) == 2)
			return vp_init(d, base[i], i, VP_F_EVENT_IDX) == 0;
	}
	return false;
}
