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

@test "Go SDK, jailed: its jailer argv, linked files, requests in order with their bodies; net, MMDS v2, vsock, balloon for real; a snapshot with its net, vsock and balloon devices; SIGTERM" {
	go_sdk_replay
}
