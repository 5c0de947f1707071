#!/usr/bin/env bats
# firectl (through the Go SDK) against ember (engines/firectl.bash).

load engines/replay
load engines/firectl

setup() {
	eng_setup
}

teardown() {
	eng_teardown
}

@test "firectl: its argv, the Go SDK's requests in order with their bodies, MMDS after InstanceStart; net, MMDS, vsock for real; SIGTERM" {
	firectl_replay
}
