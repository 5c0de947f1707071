#!/usr/bin/env bats
# the Firecracker Go SDK, jailed against ember (engines/go-sdk.bash).

load engines/replay
load engines/go-sdk

setup() {
	eng_setup
}

teardown() {
	eng_teardown
}

@test "Go SDK, jailed: its jailer argv, linked files, requests in order with their bodies; net, MMDS v2, vsock for real; balloon not provided, snapshot refused for its net and vsock devices; SIGTERM" {
	go_sdk_replay
}
