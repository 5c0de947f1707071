#!/usr/bin/env bats
# Kata Containers' Go runtime against ember (engines/kata-go.bash).

load engines/replay
load engines/kata-go

setup() {
	eng_setup
}

teardown() {
	eng_teardown
}

@test "Kata Go runtime, jailed: its root, files, config file and checks; net and vsock for real; SIGTERM within 15 s" {
	kata_go_replay
}
