#!/usr/bin/env bats
# flintlock against ember (engines/flintlock.bash).

load engines/replay
load engines/flintlock

setup() {
	eng_setup
}

teardown() {
	eng_teardown
}

@test "flintlock: its config file, metadata file and argv (--no-api --boot-timer); net and MMDS v1 for real; SIGHUP" {
	flintlock_replay
}
