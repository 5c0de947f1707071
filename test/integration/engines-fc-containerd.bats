#!/usr/bin/env bats
# firecracker-containerd against ember (engines/fc-containerd.bash).

load engines/replay
load engines/fc-containerd

setup() {
	eng_setup
}

teardown() {
	eng_teardown
}

@test "firecracker-containerd: its argv, the SDK requests in order with their bodies (T2 on Intel where it applies, CID 0), agent dial on 10789, metadata; net, MMDS, vsock for real; SIGTERM" {
	fc_containerd_replay
}

@test "firecracker-containerd as on Intel (cpu_template T2 by default): where T2 applies the VM starts; elsewhere InstanceStart gives Firecracker's exact error and the VM stays unstarted" {
	fc_containerd_t2_replay
}
