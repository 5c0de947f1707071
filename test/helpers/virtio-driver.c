/* The host-side virtio driver (see virtio-driver.h for the API). Split
 * virtqueues per virtio 1.2 §2.7, the mmio transport's initialisation per
 * §3.1.1 and §4.2.3. */
#include "virtio-driver.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACK_DRIVER (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER)

/* A test that points the driver outside guest memory has a bug of its own:
 * stop there, naming the address, rather than read garbage later. */
static void vd_mem_write(const struct guest_memory *m, uint64_t gpa, const void *src, size_t len)
{
	if (guest_memory_write(m, gpa, src, len) < 0) {
		fprintf(stderr, "virtio-driver: write of %zu bytes at 0x%llx is outside guest memory\n", len,
			(unsigned long long)gpa);
		abort();
	}
}

static void vd_mem_read(const struct guest_memory *m, uint64_t gpa, void *dst, size_t len)
{
	if (guest_memory_read(m, gpa, dst, len) < 0) {
		fprintf(stderr, "virtio-driver: read of %zu bytes at 0x%llx is outside guest memory\n", len,
			(unsigned long long)gpa);
		abort();
	}
}

uint32_t vd_read(struct virtio_mmio *t, uint64_t off)
{
	uint32_t v;

	virtio_mmio_read(t, off, (uint8_t *)&v, 4);
	return v;
}

void vd_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	virtio_mmio_write(t, off, (const uint8_t *)&v, 4);
}

/* §3.1.1 steps 1-6: reset, ACKNOWLEDGE, DRIVER, the feature bits the device
 * offers that we want (VERSION_1 always: ember is a modern device only),
 * FEATURES_OK and its read-back. Returns the negotiated set, or -EIO. */
static int64_t vd_negotiate(struct virtio_mmio *t, uint64_t want)
{
	uint64_t offered;

	vd_write(t, VIRTIO_MMIO_STATUS, 0);
	vd_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	vd_write(t, VIRTIO_MMIO_STATUS, ACK_DRIVER);
	vd_write(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered = (uint64_t)vd_read(t, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	vd_write(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered |= vd_read(t, VIRTIO_MMIO_DEVICE_FEATURES);
	want = (want & offered) | (1ull << VIRTIO_F_VERSION_1);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	vd_write(t, VIRTIO_MMIO_STATUS, ACK_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	if (!(vd_read(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
		return -EIO;
	return (int64_t)(want & INT64_MAX);
}

static void vd_queue_enable(struct virtio_mmio *t, unsigned q, uint16_t n, uint64_t desc, uint64_t avail,
			    uint64_t used)
{
	vd_write(t, VIRTIO_MMIO_QUEUE_SEL, q);
	vd_write(t, VIRTIO_MMIO_QUEUE_NUM, n);
	vd_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	vd_write(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	vd_write(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	vd_write(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	vd_write(t, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	vd_write(t, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
	vd_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
}

int vd_start(struct vd_driver *d, struct guest_memory *m, struct virtio_mmio *t, unsigned nq, uint16_t size,
	     uint64_t base, uint64_t want)
{
	static const uint8_t zeros[VD_RING_STRIDE];
	int64_t features;

	if (nq == 0 || nq > VD_MAX_QUEUES || size == 0 || size > VD_MAX_SIZE)
		return -EINVAL;
	*d = (struct vd_driver){ .mem = m, .t = t, .nq = nq };
	features = vd_negotiate(t, want);
	if (features < 0)
		return (int)features;
	d->features = (uint64_t)features;
	for (unsigned q = 0; q < nq; q++) {
		struct vd_queue *vq = &d->q[q];

		*vq = (struct vd_queue){ .size = size, .desc = base + VD_RING_STRIDE * q };
		vq->avail = vq->desc + 0x1000;
		vq->used = vq->desc + 0x2000;
		vd_mem_write(m, vq->desc, zeros, sizeof(zeros));
		vd_queue_enable(t, q, size, vq->desc, vq->avail, vq->used);
	}
	vd_write(t, VIRTIO_MMIO_STATUS, ACK_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	if (!(vd_read(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK))
		return -EIO;
	return 0;
}

void vd_desc(struct vd_driver *d, unsigned q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc desc = { .addr = htole64(addr), .len = htole32(len), .flags = htole16(flags),
				   .next = htole16(next) };

	vd_mem_write(d->mem, d->q[q].desc + 16ull * i, &desc, sizeof(desc));
}

/* §2.7.13: the ring entry first, then the index that publishes it. The
 * device runs on this thread (vd_kick calls its handler), but a bench may
 * poll from another: the release fence keeps the order for both. */
void vd_offer(struct vd_driver *d, unsigned q, uint16_t head)
{
	struct vd_queue *vq = &d->q[q];
	uint16_t le = htole16(head);

	vd_mem_write(d->mem, vq->avail + 4 + 2ull * (vq->next_avail % vq->size), &le, 2);
	vq->next_avail++;
	le = htole16(vq->next_avail);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vd_mem_write(d->mem, vq->avail + 2, &le, 2);
}

void vd_kick(struct vd_driver *d, unsigned q)
{
	virtio_mmio_notify(d->t, (uint16_t)q);
}

bool vd_used(struct vd_driver *d, unsigned q, uint32_t *ret_id, uint32_t *ret_len)
{
	struct vd_queue *vq = &d->q[q];
	uint64_t elem;
	uint32_t id, len;
	uint16_t idx;

	vd_mem_read(d->mem, vq->used + 2, &idx, 2);
	if (le16toh(idx) == vq->seen_used)
		return false;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	elem = vq->used + 4 + 8ull * (vq->seen_used % vq->size);
	vd_mem_read(d->mem, elem, &id, 4);
	vd_mem_read(d->mem, elem + 4, &len, 4);
	vq->seen_used++;
	*ret_id = le32toh(id);
	*ret_len = le32toh(len);
	return true;
}

void vd_no_interrupt(struct vd_driver *d, unsigned q)
{
	uint16_t flags = htole16(VIRTQ_AVAIL_F_NO_INTERRUPT);

	vd_mem_write(d->mem, d->q[q].avail, &flags, 2);
}

uint32_t vd_init_at(struct virtio_mmio *t, uint16_t n, uint64_t want, uint64_t desc, uint64_t avail, uint64_t used)
{
	vd_negotiate(t, want);
	vd_queue_enable(t, 0, n, desc, avail, used);
	vd_write(t, VIRTIO_MMIO_STATUS, ACK_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	return vd_read(t, VIRTIO_MMIO_STATUS);
}

uint32_t vd_init(struct virtio_mmio *t, uint16_t n, uint64_t want)
{
	return vd_init_at(t, n, want, H_DESC, H_AVAIL, H_USED);
}

void vd_blk_request(struct guest_memory *m, uint16_t n, unsigned k, uint32_t type, uint64_t sector, uint32_t len)
{
	struct {
		uint32_t type, reserved;
		uint64_t sector;
	} h = { htole32(type), 0, htole64(sector) };
	uint16_t d = (uint16_t)(3 * k);
	uint8_t status = 0xff;
	uint16_t data_flags = type == VIRTIO_BLK_T_OUT ? 0 : VIRTQ_DESC_F_WRITE;

	vd_mem_write(m, vd_hdr(k), &h, sizeof(h));
	vd_mem_write(m, vd_status(k), &status, 1);
	if (len) {
		h_desc(m, d, vd_hdr(k), 16, VIRTQ_DESC_F_NEXT, d + 1);
		h_desc(m, d + 1, vd_data(k), len, data_flags | VIRTQ_DESC_F_NEXT, d + 2);
		h_desc(m, d + 2, vd_status(k), 1, VIRTQ_DESC_F_WRITE, 0);
	} else {
		h_desc(m, d, vd_hdr(k), 16, VIRTQ_DESC_F_NEXT, d + 2);
		h_desc(m, d + 2, vd_status(k), 1, VIRTQ_DESC_F_WRITE, 0);
	}
	h_offer(m, n, d);
}

uint8_t vd_blk_status(struct guest_memory *m, unsigned k)
{
	uint8_t s;

	vd_mem_read(m, vd_status(k), &s, 1);
	return s;
}
