#!/usr/bin/env bats
# Kata Containers' Rust runtime (runtime-rs) against ember (engines/kata-rs.bash).

load engines/replay
load engines/kata-rs

setup() {
	eng_setup
}

teardown() {
	eng_teardown
}

@test "Kata runtime-rs, jailed: its jailer argv, the kernel and image mounted in after start, its requests with retries (two PUT /vsock, CID 3 then 4294967295); vsock and net for real; container drive PATCH; SIGKILL and cleanup" {
	kata_rs_replay jailed
}

@test "Kata runtime-rs, not jailed: firecracker --api-sock <vm>/run/fc.sock, absolute paths, the same requests; vsock and net for real; SIGKILL and cleanup" {
	kata_rs_replay direct
}
