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

# ---------------------------------------------------------------- helpers

# Runs --cleanup of this test's jail (no --parent-cgroup: the manifest names
# the cgroups). A VMM killed a moment ago may still be exiting: retry then.
cleanup_jail() {
	local i
	for i in $(seq 1 50); do
		run "$JAILER" --cleanup --id "$JID" --exec-file "${JEXEC:-$STANDIN}" --chroot-base-dir "$JBASE"
		[ "$status" -eq 1 ] || return 0
		sleep 0.1
	done
}

# The base dir holds nothing, and the parent cgroup level is gone or empty.
assert_base_and_parent_empty() {
	local m left
	left=$(find "$JBASE" -mindepth 1 2>/dev/null | head -5)
	[ -z "$left" ] || fail "$1: left under $JBASE: $left"
	for m in $(cgroup_mounts); do
		[ ! -e "$m/$JPARENT" ] || [ -z "$(find "$m/$JPARENT" -mindepth 1 -type d | head -1)" ] ||
			fail "$1: cgroup $m/$JPARENT is not empty"
	done
}

kill_wait() {
	local pid=$1 i
	kill -KILL "$pid" 2>/dev/null || true
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	fail "pid $pid did not die"
}

# kill_every_op [jailer flags]: SIGKILL the jailer at its 1st, 2nd, ...
# host operation until a run gets to exec the VMM; after each, --cleanup
# must leave the base dir and the parent cgroup empty.
kill_every_op() {
	local n status_all=""
	for n in $(seq 1 400); do
		run env RACE_SHIM_KILL_AT="$n" LD_PRELOAD="$SHIM" "$JAILER" --id "$JID" --exec-file "$STANDIN" \
			--uid "$JUID" --gid "$JGID" --chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT" "$@" -- --exit 0
		local rc=$status
		status_all="$status_all $rc"
		cleanup_jail
		[ "$status" -eq 0 ] || [ "$status" -eq 4 ] || fail "kill at op $n (jailer exit $rc): --cleanup exit $status: $output"
		assert_base_and_parent_empty "kill at op $n (jailer exit $rc)"
		[ "$rc" -eq 0 ] && break
	done
	[ "$rc" -eq 0 ] || fail "set-up never completed in 400 operations: $status_all"
	# The shim really killed: most runs died by SIGKILL (137).
	[ "$(echo "$status_all" | tr ' ' '\n' | grep -c '^137$')" -gt 10 ] || fail "too few kills: $status_all"
	echo "# killed at each of $((n - 1)) operations" >&3
}

# ---------------------------------------------------------------- SIGKILL at every operation

@test "SIGKILL at every host operation of set-up: --cleanup leaves base dir and parent cgroup empty" {
	local cg=()
	[ -n "$(cgroup_v1_mount pids)" ] && cg=(--cgroup pids.max=10)
	echo kernel >"$BATS_TEST_TMPDIR/kernel"
	kill_every_op "${cg[@]}" --bind-ro "$BATS_TEST_TMPDIR/kernel=vmlinux"
}

@test "SIGKILL at every host operation with --daemonize --new-pid-ns: --cleanup leaves nothing" {
	local cg=()
	[ -n "$(cgroup_v1_mount pids)" ] && cg=(--cgroup pids.max=10)
	kill_every_op "${cg[@]}" --daemonize --new-pid-ns
}

# ---------------------------------------------------------------- twins

@test "twin jailers with one id, 50 rounds: one exits 0, the other 2, the winner's jail intact" {
	local round a b ra rb pid
	for round in $(seq 1 50); do
		"$JAILER" --id "$JID" --exec-file "$STANDIN" --uid "$JUID" --gid "$JGID" --chroot-base-dir "$JBASE" \
			--parent-cgroup "$JPARENT" --daemonize -- --sleep 60 >"$BATS_TEST_TMPDIR/a" 2>&1 &
		a=$!
		"$JAILER" --id "$JID" --exec-file "$STANDIN" --uid "$JUID" --gid "$JGID" --chroot-base-dir "$JBASE" \
			--parent-cgroup "$JPARENT" --daemonize -- --sleep 60 >"$BATS_TEST_TMPDIR/b" 2>&1 &
		b=$!
		ra=0; wait "$a" || ra=$?
		rb=0; wait "$b" || rb=$?
		[ "$ra$rb" = "02" ] || [ "$ra$rb" = "20" ] ||
			fail "round $round: exits $ra and $rb: $(cat "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b")"
		grep -q "another jail has this id" "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b" ||
			fail "round $round: the loser did not say why: $(cat "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b")"
		pid=$(cat "$JROOT/vmm-standin.pid")
		kill -0 "$pid" || fail "round $round: the winner's VMM is gone"
		[ -c "$JROOT/dev/kvm" ] && [ -x "$JROOT/vmm-standin" ] && [ -f "$JDIR/jailer-manifest.json" ] ||
			fail "round $round: the winner's jail lost files"
		kill_wait "$pid"
		cleanup_jail
		assert_success
		assert_base_and_parent_empty "round $round"
	done
}
