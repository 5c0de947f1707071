/* A minimal virtio-mmio + virtio-blk driver for host-side tests, the fuzzer
 * and the benchmark: it talks to the transport through its register
 * functions, exactly as a guest driver would through MMIO exits. */
#pragma once

#include <endian.h>
#include <stdint.h>
#include <string.h>

#include "devices/virtio/block.h"
#include "devices/virtio/mmio.h"
#include "virtq-harness.h"

static inline uint32_t vd_read(struct virtio_mmio *t, uint64_t off)
{
	uint32_t v;

	virtio_mmio_read(t, off, (uint8_t *)&v, 4);
	return v;
}

static inline void vd_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	virtio_mmio_write(t, off, (const uint8_t *)&v, 4);
}

/* Negotiates `want` (masked by what the device offers, plus VERSION_1) and
 * sets up queue 0 with n entries at the given ring addresses. Returns the
 * status register afterwards. */
static inline uint32_t vd_init_at(struct virtio_mmio *t, uint16_t n, uint64_t want, uint64_t desc, uint64_t avail,
				  uint64_t used)
{
	uint64_t offered;

	vd_write(t, VIRTIO_MMIO_STATUS, 0);
	vd_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	vd_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vd_write(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered = (uint64_t)vd_read(t, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	vd_write(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered |= vd_read(t, VIRTIO_MMIO_DEVICE_FEATURES);
	want = (want & offered) | (1ull << VIRTIO_F_VERSION_1);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vd_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	vd_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	vd_write(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	vd_write(t, VIRTIO_MMIO_QUEUE_NUM, n);
	vd_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	vd_write(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	vd_write(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	vd_write(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	vd_write(t, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	vd_write(t, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
	vd_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
	vd_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
						 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	return vd_read(t, VIRTIO_MMIO_STATUS);
}

/* The same at the harness addresses (H_DESC, H_AVAIL, H_USED). */
static inline uint32_t vd_init(struct virtio_mmio *t, uint16_t n, uint64_t want)
{
	return vd_init_at(t, n, want, H_DESC, H_AVAIL, H_USED);
}

/* Request slot k uses descriptors 3k..3k+2, a header at vd_hdr(k), data at
 * vd_data(k) (up to 64 KiB) and the status byte at vd_status(k). */
static inline uint64_t vd_hdr(unsigned k)
{
	return 0x100000ull + 0x20000ull * k;
}

static inline uint64_t vd_data(unsigned k)
{
	return vd_hdr(k) + 0x1000;
}

static inline uint64_t vd_status(unsigned k)
{
	return vd_hdr(k) + 0x800;
}

/* Builds and offers a three-descriptor request (two when len is 0). */
static inline void vd_blk_request(struct guest_memory *m, uint16_t n, unsigned k, uint32_t type, uint64_t sector,
				  uint32_t len)
{
	struct {
		uint32_t type, reserved;
		uint64_t sector;
	} h = { htole32(type), 0, htole64(sector) };
	uint16_t d = (uint16_t)(3 * k);
	uint8_t status = 0xff;
	uint16_t data_flags = type == VIRTIO_BLK_T_OUT ? 0 : VIRTQ_DESC_F_WRITE;

	guest_memory_write(m, vd_hdr(k), &h, sizeof(h));
	guest_memory_write(m, vd_status(k), &status, 1);
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

static inline uint8_t vd_blk_status(struct guest_memory *m, unsigned k)
{
	uint8_t s;

	guest_memory_read(m, vd_status(k), &s, 1);
	return s;
}
