/* The vsock device's part of a snapshot (vsock-dev.h), as Firecracker's
 * (devices/virtio/vsock/persist.rs and docs/snapshotting): connections do
 * not survive a snapshot. At create the device posts
 * VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on the event queue and closes the
 * host's side of every connection (and of every host connection still
 * reading its CONNECT line); the guest's driver, once it runs again (the
 * original VM resumed, or a restored one), closes its connections and
 * reads guest_cid again, while its listening sockets stay. The event is in
 * guest memory and its interrupt in the saved interrupt controller, so a
 * restored guest sees it too. What is saved besides the transport: the CID
 * the guest was told, whether the event was posted, and the next local
 * port for host-initiated connections. The unix socket is the
 * configuration's uds_path (or the load's vsock_override), bound at load. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "vsock-dev.h"

struct vsock_saved {
	uint64_t cid;
	uint32_t next_local_port;
	uint8_t active, reset_posted, pad[2];
};

void vsock_snapshot_quiesce(struct vsock_dev *v)
{
	bool active;
	int r;

	virtio_lock(&v->vdev);
	active = v->active;
	vsock_host_drop_pending(v);
	virtio_unlock(&v->vdev);
	if (!active)
		return; /* no driver: nothing to tell, and no connection exists */
	r = vsock_transport_reset(v);
	virtio_lock(&v->vdev);
	v->reset_posted = r >= 0;
	virtio_unlock(&v->vdev);
	if (r < 0)
		log_warn("vsock: the guest posted no event buffer: TRANSPORT_RESET not sent (its connections are "
			 "closed on the host side all the same)");
}

int vsock_snapshot_save(struct vsock_dev *v, uint8_t *buf, size_t size)
{
	struct vsock_saved s = { 0 };

	if (size < sizeof(s))
		return -ENOSPC;
	virtio_lock(&v->vdev);
	s.cid = v->cid;
	s.next_local_port = v->table.next_local_port;
	s.active = v->active;
	s.reset_posted = v->reset_posted;
	virtio_unlock(&v->vdev);
	memcpy(buf, &s, sizeof(s));
	return (int)sizeof(s);
}

int vsock_snapshot_restore(struct vsock_dev *v, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct vsock_saved s;
	int r = 0;

	if (len != sizeof(s)) {
		snprintf(err, errlen, "vsock: state of %zu bytes, expected %zu", len, sizeof(s));
		return -EINVAL;
	}
	memcpy(&s, buf, sizeof(s));
	virtio_lock(&v->vdev);
	if (s.cid != v->cid || !!s.active != v->active) {
		snprintf(err, errlen, "vsock: the saved state (CID %" PRIu64 ", %s) is not the configuration's and "
			 "transport's (CID %" PRIu32 ", %s)", s.cid, s.active ? "active" : "inactive", v->cid,
			 v->active ? "active" : "inactive");
		r = -EINVAL;
	} else if (s.next_local_port < VSOCK_LOCAL_PORT_FIRST || s.next_local_port >= VSOCK_LOCAL_PORT_END) {
		snprintf(err, errlen, "vsock: the saved next local port %" PRIu32 " is outside [%u, %u)",
			 s.next_local_port, VSOCK_LOCAL_PORT_FIRST, VSOCK_LOCAL_PORT_END);
		r = -EINVAL;
	} else {
		v->table.next_local_port = s.next_local_port;
		v->reset_posted = s.reset_posted;
		/* Packets the guest queued before the save get a turn (their
		 * connections are gone: each gets a RST). */
		if (v->active)
			virtio_yield(&v->vdev, VSOCK_TXQ);
	}
	virtio_unlock(&v->vdev);
	return r;
}
