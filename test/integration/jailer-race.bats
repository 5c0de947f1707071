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
		run env ASAN_OPTIONS=verify_asan_link_order=0 RACE_SHIM_KILL_AT="$n" LD_PRELOAD="$SHIM" "$JAILER" --id "$JID" --exec-file "$STANDIN" \
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
	echo kernel >"$JPUB/kernel"
	chmod 644 "$JPUB/kernel"
	kill_every_op "${cg[@]}" --bind-ro "$JPUB/kernel=vmlinux"
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

# ---------------------------------------------------------------- --cleanup of a running jail

# Jails the real ember serving its API, with the given jailer flags, and
# sets VMM_PID. Output goes to a file: with --new-pid-ns the VMM keeps it.
jail_ember() {
	[ -x "$EMBER" ] || skip "ember is not built: $EMBER"
	! readelf -lW "$EMBER" | grep -q 'program interpreter' ||
		skip "this ember is dynamically linked (a sanitizer build): only a static one can run alone in a jail"
	local i
	JEXEC=$EMBER
	STANDIN_ORIG=$EMBER
	JDIR="$JBASE/ember/$JID"
	JROOT="$JDIR/root"
	"$JAILER" --id "$JID" --exec-file "$EMBER" --chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT" "$@" \
		-- --api-sock /run/api.sock >"$BATS_TEST_TMPDIR/jailer.out" 2>&1 &
	JAIL_BG_PIDS=$!
	for i in $(seq 1 200); do
		[ -S "$JROOT/run/api.sock" ] && [ -s "$JROOT/ember.pid" ] && break
		sleep 0.05
	done
	[ -S "$JROOT/run/api.sock" ] || fail "no API socket: $(cat "$BATS_TEST_TMPDIR/jailer.out")"
	VMM_PID=$(cat "$JROOT/ember.pid")
	JAIL_BG_PIDS="$JAIL_BG_PIDS $VMM_PID"
}

api_answers() {
	run curl -s -o /dev/null -w '%{http_code}' --max-time 10 --unix-socket "$JROOT/run/api.sock" http://localhost/
	assert_output 200
}

# --cleanup while ember runs: exit 1 naming its pid, nothing touched; then,
# once it is gone, everything goes.
cleanup_refused_while_running() {
	jail_ember --uid "$JUID" --gid "$JGID" "$@"
	run "$JAILER" --cleanup --id "$JID" --exec-file "$EMBER" --chroot-base-dir "$JBASE"
	assert_failure 1
	assert_output --partial "pid $VMM_PID"
	assert_output --partial "nothing was changed"
	api_answers
	[ -c "$JROOT/dev/kvm" ] && [ -x "$JROOT/ember" ] && [ -f "$JDIR/jailer-manifest.json" ]
	kill_wait "$VMM_PID"
	cleanup_jail
	assert_success
	assert_no_residue
}

pids_cgroup() {
	[ -n "$(cgroup_v1_mount pids)" ] || skip "no v1 pids here"
	echo --cgroup pids.max=64
}

@test "--cleanup of a running jailed ember (plain): exit 1 naming the pid, API answering, files there" {
	cleanup_refused_while_running
}

@test "--cleanup of a running jailed ember (plain, cgroups)" {
	cleanup_refused_while_running $(pids_cgroup)
}

@test "--cleanup of a running jailed ember (--daemonize)" {
	cleanup_refused_while_running --daemonize
}

@test "--cleanup of a running jailed ember (--daemonize, cgroups)" {
	cleanup_refused_while_running --daemonize $(pids_cgroup)
}

@test "--cleanup of a running jailed ember (--new-pid-ns)" {
	cleanup_refused_while_running --new-pid-ns
}

@test "--cleanup of a running jailed ember (--new-pid-ns, cgroups)" {
	cleanup_refused_while_running --new-pid-ns $(pids_cgroup)
}

@test "--cleanup: a pid file naming an unrelated live process does not block it" {
	jail -- --exit 0
	assert_success
	echo $$ >"$JROOT/vmm-standin.pid"
	cleanup_jail
	assert_success
	assert_output --partial "removed $JDIR"
	kill -0 $$
	assert_no_residue
}

@test "--cleanup: a directory that is no jail survives (exit 2)" {
	mkdir -p "$JDIR/root/run"
	echo data >"$JDIR/root/precious"
	run "$JAILER" --cleanup --id "$JID" --exec-file "$STANDIN" --chroot-base-dir "$JBASE"
	assert_failure 2
	assert_output --partial "$JDIR is not a jail made by the jailer"
	assert_equal "$(cat "$JDIR/root/precious")" data
	assert_equal "$(cd "$JBASE" && find . | sort | tr '\n' ' ')" \
		". ./vmm-standin ./vmm-standin/$JID ./vmm-standin/$JID/root ./vmm-standin/$JID/root/precious ./vmm-standin/$JID/root/run "
	rm -rf "${JBASE:?}"/*
}

@test "--cleanup: nothing of the id anywhere gives exit 4 naming the base" {
	run "$JAILER" --cleanup --id "$JID" --exec-file "$STANDIN" --chroot-base-dir "$JBASE"
	assert_failure 4
	assert_output --partial "nothing of jail $JID in $JBASE"
	assert_output --partial "$JBASE/vmm-standin/$JID"
	assert_no_residue
}

@test "--cleanup: <exec-name> exists but nothing of the id: exit 0 saying where it looked" {
	mkdir "$JBASE/vmm-standin"
	run "$JAILER" --cleanup --id "$JID" --exec-file "$STANDIN" --chroot-base-dir "$JBASE"
	assert_success
	assert_output --partial "nothing of jail $JID found: looked for $JBASE/vmm-standin/$JID"
	# Not the jailer's (no marker): it stays.
	[ -d "$JBASE/vmm-standin" ]
	rmdir "$JBASE/vmm-standin"
}

@test "--cleanup of a partial jail (pieces already gone) removes the rest" {
	[ -n "$(cgroup_v1_mount pids)" ] || skip "no v1 pids here"
	jail --cgroup pids.max=10 -- --exit 0
	assert_success
	rm -rf "$JROOT/dev" "$JROOT/vmm-standin.pid"
	rmdir "$(cgroup_v1_mount pids)/$JPARENT/$JID"
	cleanup_jail
	assert_success
	assert_no_residue
}

@test "a caller-made <id>/root is adopted: --cleanup leaves the caller's file, names it, gives back owner and mode" {
	mkdir -p "$JROOT"
	chmod 0751 "$JDIR" "$JROOT"
	echo mine >"$JROOT/mine"
	jail -- --report /run/report
	assert_success
	wait_for_file "$JROOT/run/report"
	assert_equal "$(stat -c '%a %u:%g' "$JROOT")" "700 $JUID:$JGID"
	cleanup_jail
	assert_success
	assert_output --partial "left $JROOT/mine: not made by the jailer"
	assert_output --partial "removed $JROOT/vmm-standin"
	assert_equal "$(cat "$JROOT/mine")" mine
	assert_equal "$(stat -c '%a %u:%g' "$JROOT")" "751 0:0"
	assert_equal "$(stat -c '%a %u:%g' "$JDIR")" "751 0:0"
	assert_equal "$(cd "$JBASE" && find . | sort | tr '\n' ' ')" \
		". ./vmm-standin ./vmm-standin/$JID ./vmm-standin/$JID/root ./vmm-standin/$JID/root/mine "
	rm -rf "${JBASE:?}"/*
}

@test "a jailer whose id's manifest names a stale jail exits 2: run jailer --cleanup first" {
	jail -- --exit 0
	assert_success
	jail -- --exit 0
	assert_failure 2
	assert_output --partial "run jailer --cleanup first"
	cleanup_jail
	assert_success
	assert_no_residue
}

# ---------------------------------------------------------------- Kata's calls

@test "Kata's calls (uid 0, caller-made root, --daemonize): each VMM thread has no capability, no_new_privs, seccomp" {
	mkdir -p "$JBASE/ember/$JID/root"
	chmod 0750 "$JBASE/ember/$JID" "$JBASE/ember/$JID/root"
	jail_ember --uid 0 --gid 0 --daemonize --allow-root
	wait "${JAIL_BG_PIDS%% *}" || fail "jailer failed: $(cat "$BATS_TEST_TMPDIR/jailer.out")"
	assert_equal "$(grep -c warning "$BATS_TEST_TMPDIR/jailer.out")" 1
	api_answers
	# A capless uid 0 owns root's files: the caller's <id> was closed to others.
	assert_equal "$(stat -c '%a' "$JDIR")" 700
	local t n=0
	for t in /proc/"$VMM_PID"/task/*; do
		n=$((n + 1))
		for f in CapInh CapPrm CapEff CapBnd CapAmb; do
			assert_equal "$(awk -v f="$f:" '$1 == f { print $2 }' "$t/status")" 0000000000000000
		done
		assert_equal "$(awk '$1 == "NoNewPrivs:" { print $2 }' "$t/status")" 1
		assert_equal "$(awk '$1 == "Seccomp:" { print $2 }' "$t/status")" 2
		assert_equal "$(awk '$1 == "Uid:" { print $2 $3 $4 $5 }' "$t/status")" 0000
	done
	[ "$n" -ge 2 ] || fail "expected the vmm and api threads, found $n"
	kill_wait "$VMM_PID"
	cleanup_jail
	assert_success
	assert_equal "$(stat -c '%a %u' "$JDIR" "$JROOT" | tr '\n' ' ')" "750 0 750 0 "
	rm -rf "${JBASE:?}"/*
}

# ---------------------------------------------------------------- the lock itself

@test "while another process holds the id's lock: a jailer exits 2, --cleanup exits 1 naming the pid" {
	mkdir -p "$JBASE/vmm-standin"
	install -m 0600 /dev/null "$JBASE/vmm-standin/$JID.lock"
	# -o: the lock stays with flock(1) itself, not with its child.
	flock -x -o "$JBASE/vmm-standin/$JID.lock" sleep 60 &
	local holder=$! child=
	for _ in $(seq 1 100); do child=$(pgrep -P "$holder") && break; sleep 0.05; done
	JAIL_BG_PIDS="$holder $child"
	jail -- --exit 0
	assert_failure 2
	assert_output --partial "another jail has this id (held by pid $holder)"
	run "$JAILER" --cleanup --id "$JID" --exec-file "$STANDIN" --chroot-base-dir "$JBASE"
	assert_failure 1
	assert_output --partial "a jailer (pid $holder) holds $JBASE/vmm-standin/$JID.lock"
	# Neither changed anything.
	assert_equal "$(cd "$JBASE" && find . | sort | tr '\n' ' ')" ". ./vmm-standin ./vmm-standin/$JID.lock "
	kill_wait "$holder"
	kill_wait "$child"
	cleanup_jail
	assert_success
	assert_output --partial "removed $JBASE/vmm-standin/$JID.lock"
	rm -rf "${JBASE:?}"/*
}

@test "a parent cgroup level another jail still uses stays, in --cleanup and in the undo" {
	[ -n "$(cgroup_v1_mount pids)" ] || skip "no v1 pids here"
	local pids other=$JID-b
	pids=$(cgroup_v1_mount pids)
	jail --cgroup pids.max=10 -- --exit 0
	assert_success
	run "$JAILER" --id "$other" --exec-file "$STANDIN" --uid "$JUID" --gid "$JGID" --chroot-base-dir "$JBASE" \
		--parent-cgroup "$JPARENT" --cgroup pids.max=10 --daemonize -- --sleep 60
	assert_success
	local pid
	pid=$(cat "$JBASE/vmm-standin/$other/root/vmm-standin.pid")
	JAIL_BG_PIDS=$pid
	cleanup_jail
	assert_success
	assert_output --partial "removed $pids/$JPARENT/$JID"
	assert_output --partial "left $pids/$JPARENT: shared, still in use"
	[ -d "$pids/$JPARENT/$other" ]
	kill -0 "$pid"
	# A failing jailer under the same parent undoes its own level only.
	jail --cgroup pids.max=10 --cgroup cpuset.cpus=4095 -- --exit 0
	assert_failure 1
	[ -d "$pids/$JPARENT/$other" ]
	kill_wait "$pid"
	run "$JAILER" --cleanup --id "$other" --exec-file "$STANDIN" --chroot-base-dir "$JBASE"
	assert_success
	assert_output --partial "removed $pids/$JPARENT/$other"
	# The parent existed when this jail was made: not its to remove.
	refute_line "removed $pids/$JPARENT"
	rmdir "$pids/$JPARENT"
	assert_no_residue
}

@test "temporary names a killed jailer left do not block the next one, which removes them" {
	local kill_at_manifest
	# Kill the first jailer right at the rename of its temporary <id> into place.
	run env RACE_SHIM_LOG="$BATS_TEST_TMPDIR/ops" LD_PRELOAD="$SHIM" "$JAILER" --id "$JID" --exec-file "$STANDIN" \
		--uid "$JUID" --gid "$JGID" --chroot-base-dir "$JBASE" -- --exit 0
	assert_success
	kill_at_manifest=$(awk -v id="$JID" '$2 == "renameat2" && $3 == id { print $1; exit }' "$BATS_TEST_TMPDIR/ops")
	[ -n "$kill_at_manifest" ] || fail "no rename of the <id> in: $(cat "$BATS_TEST_TMPDIR/ops")"
	cleanup_jail
	assert_success
	run env ASAN_OPTIONS=verify_asan_link_order=0 RACE_SHIM_KILL_AT="$kill_at_manifest" LD_PRELOAD="$SHIM" \
		"$JAILER" --id "$JID" --exec-file "$STANDIN" --uid "$JUID" --gid "$JGID" --chroot-base-dir "$JBASE" -- --exit 0
	assert_equal "$status" 137
	[ -n "$(find "$JBASE/vmm-standin" -maxdepth 1 -name ".$JID.new-*")" ] || fail "no temporary <id> left"
	jail -- --exit 0
	assert_success
	[ -z "$(find "$JBASE/vmm-standin" -maxdepth 1 -name ".$JID.new-*")" ] || fail "the temporary <id> stayed"
	cleanup_jail
	assert_success
	assert_no_residue
}
