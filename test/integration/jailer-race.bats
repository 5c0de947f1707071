#!/usr/bin/env bats
# Races made deterministic with the LD_PRELOAD shim (test/helpers/race-shim.c):
# the jailer killed at each of its host operations in turn, files swapped
# right after the jailer opened them, and twin jailers with one id.

load helpers
load jailer-helpers

SHIM=$EMBER_BUILD/test/helpers/race-shim.so

setup() {
	jail_setup
	[ -f "$SHIM" ] || skip "race shim not built ($SHIM)"
}

teardown() {
	jail_teardown
}

# ---------------------------------------------------------------- the shim itself

@test "race shim: counts and logs operations, kills at the Nth, swaps a file after its first open" {
	run env RACE_SHIM_LOG="$BATS_TEST_TMPDIR/log" LD_PRELOAD="$SHIM" mkdir "$BATS_TEST_TMPDIR/a"
	assert_success
	grep -q "^1 mkdir $BATS_TEST_TMPDIR/a\$" "$BATS_TEST_TMPDIR/log"
	run env RACE_SHIM_KILL_AT=1 LD_PRELOAD="$SHIM" mkdir "$BATS_TEST_TMPDIR/b"
	assert_equal "$status" 137
	[ ! -e "$BATS_TEST_TMPDIR/b" ]
	echo first >"$BATS_TEST_TMPDIR/f"
	echo second >"$BATS_TEST_TMPDIR/g"
	run env RACE_SHIM_RENAME_OVER="$BATS_TEST_TMPDIR/f" RACE_SHIM_RENAME_FROM="$BATS_TEST_TMPDIR/g" \
		LD_PRELOAD="$SHIM" cat "$BATS_TEST_TMPDIR/f"
	assert_success
	assert_output first
	assert_equal "$(cat "$BATS_TEST_TMPDIR/f")" second
	[ ! -e "$BATS_TEST_TMPDIR/g" ]
}
