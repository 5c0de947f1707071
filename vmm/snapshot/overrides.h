/* What PUT /snapshot/load changes of the snapshot it loads (Firecracker's
 * LoadSnapshotParams network_overrides, vsock_override, clock_realtime):
 * parsed by the API (api/snapshot.c), applied to the state file's
 * configuration before it is validated and its resources opened
 * (snapshot/config.c), and to the kvm-clock (snapshot/kvm_vm.c). A plain
 * value: no pointers, nothing to free. */
#pragma once

#include <stdbool.h>

#define SNAP_OVERRIDE_NETS_MAX 16u       /* NET_IFACES_MAX */
#define SNAP_OVERRIDE_IFACE_ID_MAX 64u   /* NET_IFACE_ID_MAX */
#define SNAP_OVERRIDE_TAP_MAX 63u        /* more than a TAP name holds: tap_open says why */
#define SNAP_OVERRIDE_UDS_MAX 255u       /* more than a socket path holds: the vsock config says why */

struct snap_net_override {
	char iface_id[SNAP_OVERRIDE_IFACE_ID_MAX + 1];
	char host_dev_name[SNAP_OVERRIDE_TAP_MAX + 1];
};

struct snap_overrides {
	unsigned net_count;
	struct snap_net_override net[SNAP_OVERRIDE_NETS_MAX];
	bool has_vsock;
	char vsock_uds_path[SNAP_OVERRIDE_UDS_MAX + 1];
	/* KVM_SET_CLOCK with KVM_CLOCK_REALTIME: the guest's clock advances by
	 * the wall time since the save. */
	bool clock_realtime;
};
