#include "vsock-probe.h"

#define MMIO_DEVICE_ID 0x008
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
#define MMIO_CONFIG 0x100
#define VIRTIO_ID_VSOCK 19u
#define RXQ 0u
#define TXQ 1u
#define EVQ 2u
#define BUF_SIZE (sizeof(struct vsv_hdr) + VSV_DATA_MAX)

#define barrier() __asm__ volatile("" ::: "memory")

struct vsv_rings {
	struct vp_desc desc[VSV_QN] __attribute__((aligned(16)));
	uint16_t avail[2 + VSV_QN + 1] __attribute__((aligned(16)));
	uint8_t used[6 + 8 * VSV_QN] __attribute__((aligned(16)));
};

static struct vsv_rings rings[3] __attribute__((aligned(4096)));
static uint8_t rx_buf[VSV_QN][BUF_SIZE];
static uint8_t tx_buf[VSV_QN][BUF_SIZE];
static uint8_t ev_buf[VSV_QN][8];

static void wr64(struct vsv *v, uint32_t off, uint64_t x)
{
	vp_write(&v->dev, off, (uint32_t)x);
	vp_write(&v->dev, off + 4, (uint32_t)(x >> 32));
}

static void q_post(struct vsv *v, unsigned qi, uint16_t head)
{
	struct vsv_queue *q = &v->q[qi];

	q->avail[2 + q->avail_idx % VSV_QN] = head;
	barrier();
	q->avail[1] = ++q->avail_idx;
	barrier();
	vp_write(&v->dev, MMIO_QUEUE_NOTIFY, qi);
}

static bool q_poll(struct vsv *v, unsigned qi, uint16_t *ret_id, uint32_t *ret_len)
{
	struct vsv_queue *q = &v->q[qi];
	uint16_t pos = q->used_seen;

	if (*(volatile uint16_t *)(q->used + 2) == pos)
		return false;
	barrier();
	*ret_id = (uint16_t)*(volatile uint32_t *)(q->used + 4 + 8 * (pos % VSV_QN));
	*ret_len = *(volatile uint32_t *)(q->used + 8 + 8 * (pos % VSV_QN));
	q->used_seen = pos + 1;
	return true;
}

static const char *q_setup(struct vsv *v, unsigned qi)
{
	struct vsv_rings *r = &rings[qi];

	vp_write(&v->dev, MMIO_QUEUE_SEL, qi);
	if (vp_read(&v->dev, MMIO_QUEUE_READY) != 0 || vp_read(&v->dev, MMIO_QUEUE_NUM_MAX) < VSV_QN)
		return "a queue is unusable";
	memset(r, 0, sizeof(*r));
	v->q[qi] = (struct vsv_queue){ .desc = r->desc, .avail = r->avail, .used = r->used };
	vp_write(&v->dev, MMIO_QUEUE_NUM, VSV_QN);
	wr64(v, MMIO_QUEUE_DESC, (uint64_t)(uintptr_t)r->desc);
	wr64(v, MMIO_QUEUE_AVAIL, (uint64_t)(uintptr_t)r->avail);
	wr64(v, MMIO_QUEUE_USED, (uint64_t)(uintptr_t)r->used);
	vp_write(&v->dev, MMIO_QUEUE_READY, 1);
	return vp_read(&v->dev, MMIO_QUEUE_READY) == 1 ? NULL : "a queue did not become ready";
}

static const char *vsv_negotiate(struct vsv *v)
{
	vp_write(&v->dev, MMIO_STATUS, 0);
	vp_write(&v->dev, MMIO_STATUS, 1 | 2);
	vp_write(&v->dev, MMIO_DEVICE_FEATURES_SEL, 1);
	if (!(vp_read(&v->dev, MMIO_DEVICE_FEATURES) & 1))
		return "VERSION_1 not offered";
	vp_write(&v->dev, MMIO_DRIVER_FEATURES_SEL, 0);
	vp_write(&v->dev, MMIO_DRIVER_FEATURES, 0);
	vp_write(&v->dev, MMIO_DRIVER_FEATURES_SEL, 1);
	vp_write(&v->dev, MMIO_DRIVER_FEATURES, 1);
	vp_write(&v->dev, MMIO_STATUS, 1 | 2 | 8);
	return (vp_read(&v->dev, MMIO_STATUS) & 8) ? NULL : "FEATURES_OK not accepted";
}

static void vsv_post_buffers(struct vsv *v)
{
	for (uint16_t i = 0; i < VSV_QN; i++) {
		v->q[RXQ].desc[i] = (struct vp_desc){ (uint64_t)(uintptr_t)rx_buf[i], BUF_SIZE, VP_DESC_F_WRITE, 0 };
		q_post(v, RXQ, i);
		v->q[TXQ].desc[i] = (struct vp_desc){ (uint64_t)(uintptr_t)tx_buf[i], BUF_SIZE, 0, 0 };
		v->tx_free[i] = i;
		v->q[EVQ].desc[i] = (struct vp_desc){ (uint64_t)(uintptr_t)ev_buf[i], 8, VP_DESC_F_WRITE, 0 };
		q_post(v, EVQ, i);
	}
	v->tx_nfree = VSV_QN;
}

const char *vsv_open(struct vsv *v)
{
	uint64_t base[VP_MAX_DEVICES];
	unsigned irq[VP_MAX_DEVICES], n = vp_find(base, irq, VP_MAX_DEVICES);
	const char *why = "no virtio-vsock device among the virtio_mmio.device= entries";

	for (unsigned i = 0; i < n; i++) {
		v->dev.base = base[i];
		v->dev.irq = irq[i];
		if (vp_read(&v->dev, MMIO_DEVICE_ID) != VIRTIO_ID_VSOCK)
			continue;
		why = vsv_negotiate(v);
		for (unsigned qi = 0; !why && qi < 3; qi++)
			why = q_setup(v, qi);
		if (why)
			return why;
		vp_write(&v->dev, MMIO_STATUS, 1 | 2 | 8 | 4);
		v->cid = vp_read(&v->dev, MMIO_CONFIG) | (uint64_t)vp_read(&v->dev, MMIO_CONFIG + 4) << 32;
		vsv_post_buffers(v);
		return NULL;
	}
	return why;
}

void vsv_copy(void *dst, const void *src, uint32_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	for (; n >= 8; n -= 8, d += 8, s += 8) {
		uint64_t x;

		__builtin_memcpy(&x, s, 8);
		__builtin_memcpy(d, &x, 8);
	}
	while (n--)
		*d++ = *s++;
}

static uint16_t vsv_tx_desc(struct vsv *v)
{
	uint16_t id;
	uint32_t len;

	while (q_poll(v, TXQ, &id, &len))
		v->tx_free[v->tx_nfree++] = id;
	while (!v->tx_nfree) {
		if (q_poll(v, TXQ, &id, &len))
			v->tx_free[v->tx_nfree++] = id;
		else
			__asm__ volatile("pause");
	}
	return v->tx_free[--v->tx_nfree];
}

void vsv_send_raw(struct vsv *v, const void *buf, uint32_t len)
{
	uint16_t d = vsv_tx_desc(v);

	memcpy(tx_buf[d], buf, len < BUF_SIZE ? len : BUF_SIZE);
	v->q[TXQ].desc[d].len = len;
	q_post(v, TXQ, d);
}

void vsv_send(struct vsv *v, uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t buf_alloc,
	      uint32_t fwd_cnt, uint32_t flags, const void *data, uint32_t len)
{
	uint16_t d = vsv_tx_desc(v);
	struct vsv_hdr h = { .src_cid = v->cid, .dst_cid = VSV_HOST_CID, .src_port = src_port,
			     .dst_port = dst_port, .len = len, .type = 1, .op = op, .flags = flags,
			     .buf_alloc = buf_alloc, .fwd_cnt = fwd_cnt };

	memcpy(tx_buf[d], &h, sizeof(h));
	if (len)
		vsv_copy(tx_buf[d] + sizeof(h), data, len);
	v->q[TXQ].desc[d].len = (uint32_t)sizeof(h) + len;
	q_post(v, TXQ, d);
}

bool vsv_recv(struct vsv *v, struct vsv_pkt *ret)
{
	uint32_t len;
	uint16_t id;

	while (q_poll(v, RXQ, &id, &len)) {
		if (id < VSV_QN && len >= sizeof(struct vsv_hdr)) {
			memcpy(&ret->hdr, rx_buf[id], sizeof(ret->hdr));
			ret->data = rx_buf[id] + sizeof(struct vsv_hdr);
			ret->id = id;
			if (ret->hdr.dst_cid == v->cid && ret->hdr.len <= len - sizeof(struct vsv_hdr))
				return true;
		}
		if (id < VSV_QN)
			q_post(v, RXQ, id);
	}
	return false;
}

void vsv_recv_done(struct vsv *v, const struct vsv_pkt *p)
{
	q_post(v, RXQ, p->id);
}

static struct vsv *irq_vsv;

/* A RST for no connection: the device drops it silently, and returns the
 * TX buffer used, which raises the IRQ. */
static void vsv_trigger_used(void)
{
	vsv_send(irq_vsv, VSV_OP_RST, 3999, 3999, 0, 0, 0, NULL, 0);
	for (uint32_t i = 0; i < 2000000u && irq_vsv->q[TXQ].used_seen == *(volatile uint16_t *)(irq_vsv->q[TXQ].used + 2); i++)
		__asm__ volatile("pause");
	vp_write(&irq_vsv->dev, VP_MMIO_INTERRUPT_ACK, vp_read(&irq_vsv->dev, VP_MMIO_INTERRUPT_STATUS));
}

void vsv_irq_check(struct vsv *v)
{
	irq_vsv = v;
	probe_irq_check("irq.vsock", v->dev.irq, vsv_trigger_used);
}

bool vsv_event(struct vsv *v, uint32_t *ret_id)
{
	uint16_t id;
	uint32_t len;

	if (!q_poll(v, EVQ, &id, &len))
		return false;
	*ret_id = id < VSV_QN && len >= 4 ? *(volatile uint32_t *)(void *)ev_buf[id] : 0xffffffffu;
	if (id < VSV_QN)
		q_post(v, EVQ, id);
	return true;
}
