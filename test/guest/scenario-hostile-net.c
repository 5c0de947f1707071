/* Scenario hostile-net: a driver that breaks every rule on virtio-net's
 * queues, then proves the device still works. Needs probe.net_ip and
 * probe.net_peer as scenario net does. On transmitq: a header under 12
 * bytes, a zero-length buffer, a header and no data, a frame over 64 KiB, a
 * looping chain, a buffer straddling the end of guest memory; each must come
 * back used (dropped and counted by ember: the test reads the metrics). On
 * receiveq: a buffer smaller than the vnet header and one straddling the end
 * of memory, posted first, must come back empty. Then features written after
 * DRIVER_OK, and one ARP exchange: PROBE hostile-net.alive ok. */
#include "net-probe.h"
#include "probe.h"

static struct pnet net;
static uint8_t big[12 + 65536 + 16] __attribute__((aligned(64)));
static uint8_t small[64] __attribute__((aligned(64)));

/* The first address past the highest RAM range. */
static uint64_t ram_end(void)
{
	uint64_t end = 0;

	for (unsigned i = 0; i < probe_boot.nr_mem; i++)
		if (probe_boot.mem[i].type == PROBE_MEM_RAM && probe_boot.mem[i].addr + probe_boot.mem[i].size > end)
			end = probe_boot.mem[i].addr + probe_boot.mem[i].size;
	return end;
}

/* Posts one TX chain at head and waits (bounded) for it to come back. */
static bool tx_returned(uint16_t head)
{
	uint64_t deadline = probe_deadline_ms(1000);
	uint32_t id, len;

	vp_post(&net.dev, NET_TXQ, head);
	while (!vp_poll(&net.dev, NET_TXQ, &id, &len))
		if (probe_deadline_passed(deadline))
			return false;
	return id == head;
}

static void hostile_tx(uint64_t end)
{
	struct vp_desc *d = net.dev.q[NET_TXQ].desc;
	unsigned back = 0;

	d[1] = (struct vp_desc){ (uint64_t)(uintptr_t)small, 8, 0, 0 };              /* header under 12 bytes */
	d[2] = (struct vp_desc){ (uint64_t)(uintptr_t)small, 0, 0, 0 };              /* zero length */
	d[3] = (struct vp_desc){ (uint64_t)(uintptr_t)small, 12, 0, 0 };             /* a header, no data */
	d[4] = (struct vp_desc){ (uint64_t)(uintptr_t)big, sizeof(big), 0, 0 };      /* over 64 KiB of frame */
	d[5] = (struct vp_desc){ (uint64_t)(uintptr_t)small, 60, VP_DESC_F_NEXT, 5 }; /* a loop */
	d[6] = (struct vp_desc){ end - 8, 64, 0, 0 };                                /* past the end of RAM */
	for (uint16_t head = 1; head <= 6; head++)
		back += tx_returned(head);
	probe_check("hostile-net.tx", back == 6, "%u of 6 malformed TX chains came back", back);
}

/* Two bad RX buffers first in the ring; the ARP exchange later makes the
 * device reach them. */
static void hostile_rx_post(uint64_t end)
{
	struct vp_desc *d = net.dev.q[NET_RXQ].desc;

	d[15] = (struct vp_desc){ (uint64_t)(uintptr_t)small, 8, VP_DESC_F_WRITE, 0 };
	d[14] = (struct vp_desc){ end - 8, 2048, VP_DESC_F_WRITE, 0 };
	vp_post(&net.dev, NET_RXQ, 15);
	vp_post(&net.dev, NET_RXQ, 14);
	pnet_post_rx(&net, 0, 14);
}

/* virtio 1.2 §2.2: features are fixed once FEATURES_OK is set; a driver
 * writing them later is ignored (ember counts it). */
static void hostile_features(void)
{
	vp_write(&net.dev, VP_MMIO_DRIVER_FEATURES_SEL, 0);
	vp_write(&net.dev, VP_MMIO_DRIVER_FEATURES, 0xffffffffu);
	vp_write(&net.dev, VP_MMIO_DRIVER_FEATURES_SEL, 1);
	vp_write(&net.dev, VP_MMIO_DRIVER_FEATURES, 0xffffffffu);
}

static bool peer_known(const struct pnet *n)
{
	return n->peer_known;
}

void scenario_hostile_net(void)
{
	const char *err = pnet_open(&net, NET_F_CSUM);
	uint64_t end = ram_end();

	if (err) {
		probe_fail("hostile-net.init", "%s", err);
		return;
	}
	hostile_rx_post(end);
	hostile_tx(end);
	hostile_features();
	for (unsigned i = 0; i < 4 && !net.peer_known; i++) {
		pnet_send_arp_request(&net);
		pnet_wait(&net, peer_known, 500);
	}
	probe_check("hostile-net.rx", net.rx_empty >= 2, "%u bad RX buffers came back empty, expected 2", net.rx_empty);
	probe_check("hostile-net.alive", net.peer_known && (vp_read(&net.dev, VP_MMIO_STATUS) & 0x40) == 0,
		    "ARP %s, status 0x%x", net.peer_known ? "answered" : "unanswered", vp_read(&net.dev, VP_MMIO_STATUS));
}
