/* A polling virtio-vsock driver for the probe guest (virtio 1.2 §5.10):
 * three queues (rx, tx, event) of VSV_QN entries in static memory, each RX
 * and TX buffer a header and VSV_DATA_MAX bytes in one descriptor. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "probe.h"
#include "virtio-probe.h"

#define VSV_QN 16u
#define VSV_DATA_MAX 4096u
#define VSV_HOST_CID 2u

enum {
	VSV_OP_REQUEST = 1,
	VSV_OP_RESPONSE = 2,
	VSV_OP_RST = 3,
	VSV_OP_SHUTDOWN = 4,
	VSV_OP_RW = 5,
	VSV_OP_CREDIT_UPDATE = 6,
	VSV_OP_CREDIT_REQUEST = 7,
};

struct vsv_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));

struct vsv_queue {
	struct vp_desc *desc;
	volatile uint16_t *avail;
	volatile uint8_t *used;
	uint16_t avail_idx;
	uint16_t used_seen;
};

struct vsv {
	struct vp_dev dev;
	uint64_t cid;
	struct vsv_queue q[3];
	uint16_t tx_free[VSV_QN];
	unsigned tx_nfree;
};

/* One received packet; data points into the RX buffer until vsv_recv_done(). */
struct vsv_pkt {
	struct vsv_hdr hdr;
	const uint8_t *data;
	uint16_t id;
};

/* memcpy eight bytes a step: the emulator runs every instruction, and a
 * 1 MiB echo copies each byte twice. */
void vsv_copy(void *dst, const void *src, uint32_t n);
/* Finds the vsock device, sets up its queues, posts the RX and event
 * buffers. Returns NULL or why not. */
const char *vsv_open(struct vsv *v);
/* Sends one packet from the guest's CID to the host (waits for a TX buffer). */
void vsv_send(struct vsv *v, uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t buf_alloc,
	      uint32_t fwd_cnt, uint32_t flags, const void *data, uint32_t len);
/* Takes the next RX packet, if any (no waiting). */
bool vsv_recv(struct vsv *v, struct vsv_pkt *ret);
/* Gives the packet's buffer back to the device. */
void vsv_recv_done(struct vsv *v, const struct vsv_pkt *p);
/* Sends raw bytes as one TX descriptor (the hostile scenario's header games). */
void vsv_send_raw(struct vsv *v, const void *buf, uint32_t len);
/* Takes the next used event buffer, if any: its le32 event id (0 is
 * VIRTIO_VSOCK_EVENT_TRANSPORT_RESET; 0xffffffff for a bad buffer), the
 * buffer posted again. */
bool vsv_event(struct vsv *v, uint32_t *ret_id);
/* irq.vsock: a used TX buffer raises the device's IRQ (probe_irq_check). */
void vsv_irq_check(struct vsv *v);
