#!/usr/bin/env bats
# The Uffd memory backend of PUT /snapshot/load (doc/snapshots.md): ember
# maps anonymous RAM, registers it on a userfaultfd and hands both to a page
# server on a unix socket; ember-uffd-handler serves the faults from the
# snapshot's memory file. The probe's snapshot scenario checks its pattern
# after the restore (R), so every pattern page went through the handler.

load helpers
load api-helpers
load snapshot-helpers

HANDLER=$EMBER_BUILD/tools/ember-uffd-handler
PEER=$BATS_TEST_DIRNAME/uffd-peer.py

setup() {
	snap_setup
}

teardown() {
	[ -f "$TMP/handler.pid" ] && { kill -9 "$(cat "$TMP/handler.pid")" 2>/dev/null || true; }
	snap_teardown
}

# A snapshot of the scenario (seed 7, 1 vCPU, 8 MiB of pattern) at $TMP/state and $TMP/mem.
uffd_base() {
	snap_ember a
	snap_boot a 1 7
	snap_create a "$TMP/state" "$TMP/mem"
	snap_kill a
}

# uffd_body STATE SOCKET RESUME [EXTRA]: a load body with the Uffd backend.
uffd_body() {
	printf '{"snapshot_path":"%s","mem_backend":{"backend_type":"Uffd","backend_path":"%s"},"resume_vm":%s%s}' \
		"$1" "$2" "$3" "${4:-}"
}

# handler_start [ARGS...]: ember-uffd-handler on $TMP/uffd.sock serving $TMP/mem, output in $TMP/handler.out.
handler_start() {
	"$HANDLER" "$@" "$TMP/uffd.sock" "$TMP/mem" >"$TMP/handler.out" 2>&1 &
	echo $! >"$TMP/handler.pid"
	wait_socket "$TMP/uffd.sock"
}

# handler_end: waits (bounded) for the handler to end (ember closed its socket); its summary in $SUMMARY.
handler_end() {
	local pid
	pid=$(cat "$TMP/handler.pid")
	wait_until 100 0.1 pid_ended "$pid" || fail "the handler still runs: $(cat "$TMP/handler.out")"
	HANDLER_STATUS=0
	wait "$pid" || HANDLER_STATUS=$?
	rm -f "$TMP/handler.pid"
	SUMMARY=$(grep '^faults=' "$TMP/handler.out" | tail -1)
	[ -n "$SUMMARY" ] || fail "no summary from the handler: $(cat "$TMP/handler.out")"
}

# field NAME: the handler summary's NAME value.
field() {
	echo "$SUMMARY" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# uffd_restore_run NAME: resumes the loaded ember NAME, sends R, expects a clean end of the scenario.
uffd_restore_run() {
	snap_send "$1" R
	snap_wait "$1" 'PROBE DONE'
	snap_exit "$1"
	assert_equal "$SNAP_STATUS" 0
	run cat "$TMP/$1.out"
	assert_output --partial "PROBE snapshot.pattern ok"
	assert_output --partial "PROBE snapshot.blk ok"
	assert_output --regexp "PROBE DONE pass=[0-9]+ fail=0"
	refute_output --partial "snapshot.ready"
}

@test "restore through ember-uffd-handler: the guest finds its pattern; every pattern page was a fault served by a copy" {
	require_kvm
	uffd_base
	handler_start
	assert_equal "$(stat -c %a "$TMP/uffd.sock")" 600
	snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(uffd_body "$TMP/state" "$TMP/uffd.sock" false)"
	snap_state Paused
	expect_api 200 GET /machine-config
	[[ $body == *'"huge_pages":"None"'* ]] || fail "machine-config after the load: $body"
	expect_api 204 PATCH /vm '{"state":"Resumed"}'
	uffd_restore_run b
	handler_end
	assert_equal "$HANDLER_STATUS" 0
	# 8 MiB of pattern: 2048 pages, each one fault at least, each fault one 4 KiB copy
	[ "$(field faults)" -ge 2048 ] || fail "faults: $SUMMARY"
	[ "$(field copied_bytes)" -ge $((2048 * 4096)) ] || fail "copied: $SUMMARY"
	[ "$(field copied_bytes)" -le $(($(field faults) * 4096)) ] || fail "more copied than faulted pages: $SUMMARY"
	assert_equal "$(field removed_bytes)" 0
}

@test "--all: the first fault fills all of the memory (the file's data copied, its holes zeroed), the rest need no fault" {
	require_kvm
	uffd_base
	handler_start --all
	snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(uffd_body "$TMP/state" "$TMP/uffd.sock" true)"
	uffd_restore_run b
	handler_end
	assert_equal $(($(field copied_bytes) + $(field zeroed_bytes))) $((128 << 20))
	# the data: the 8 MiB pattern and what the probe's boot wrote, far from all of it
	[ "$(field copied_bytes)" -ge $((8 << 20)) ] && [ "$(field copied_bytes)" -lt $((64 << 20)) ] || fail "$SUMMARY"
	[ "$(field faults)" -ge 1 ] && [ "$(field faults)" -lt 64 ] || fail "faults: $SUMMARY"
}

@test "the handshake, field by field: one sendmsg, a userfaultfd and Firecracker's JSON in its key order" {
	require_kvm
	uffd_base
	python3 "$PEER" check "$TMP/uffd.sock" 128 4096 >"$TMP/peer.out" 2>&1 &
	peer=$!
	wait_socket "$TMP/uffd.sock"
	snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(uffd_body "$TMP/state" "$TMP/uffd.sock" false)"
	wait "$peer" || fail "the peer: $(cat "$TMP/peer.out")"
	assert_equal "$(cat "$TMP/peer.out")" "uffd-peer: ok"
}

@test "socket errors: Firecracker's texts plus the path; the process may load again" {
	require_kvm
	uffd_base
	snap_ember b
	snap_use b
	expect_api 400 PUT /snapshot/load "$(uffd_body "$TMP/state" "$TMP/none.sock" false)" \
		"Load snapshot error: Failed to restore from snapshot: Failed to load guest memory: Error creating guest memory from uffd: Failed to connect to UDS Unix stream: No such file or directory (os error 2) $TMP/none.sock"
	# not a socket
	echo x >"$TMP/file.sock"
	expect_api 400 PUT /snapshot/load "$(uffd_body "$TMP/state" "$TMP/file.sock" false)" \
		"Failed to connect to UDS Unix stream: Connection refused (os error 111) $TMP/file.sock"
	# a socket nobody listens on
	python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$TMP/dead.sock"
	expect_api 400 PUT /snapshot/load "$(uffd_body "$TMP/state" "$TMP/dead.sock" false)" \
		"Failed to connect to UDS Unix stream: Connection refused (os error 111) $TMP/dead.sock"
	snap_state "Not started"
	# the same process then loads through the handler
	handler_start
	expect_api 204 PUT /snapshot/load "$(uffd_body "$TMP/state" "$TMP/uffd.sock" true)"
	uffd_restore_run b
	handler_end
}

@test "a page server that never serves: pause answers 400 naming the vCPU, SIGTERM ends ember, each within 5 s" {
	require_kvm
	uffd_base
	python3 "$PEER" hold "$TMP/uffd.sock" >"$TMP/peer.out" 2>&1 &
	echo $! >"$TMP/handler.pid"
	wait_socket "$TMP/uffd.sock"
	snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(uffd_body "$TMP/state" "$TMP/uffd.sock" true)"
	# the load returns once the handshake is sent: the peer may print a little later
	wait_until 100 0.1 grep -q 'fault pending' "$TMP/peer.out" ||
		fail "the peer saw no fault: $(cat "$TMP/peer.out")"
	grep -q holding "$TMP/peer.out" || fail "the peer got no handshake: $(cat "$TMP/peer.out")"
	t0=$(date +%s%N)
	api PATCH /vm '{"state":"Paused"}'
	t1=$(date +%s%N)
	assert_equal "$code" 400
	[[ $body == *"Failed to pause the microVM: vCPU 0 did not leave KVM_RUN"* ]] || fail "pause: $body"
	snap_state Running
	kill -TERM "$(cat "$TMP/b.pid")"
	snap_exit b
	t2=$(date +%s%N)
	assert_equal "$SNAP_STATUS" 0
	# liveness bounds (Firecracker would hang in both); timing only for the real binary
	if head -c 4 "$EMBER" | grep -q ELF; then
		[ $(((t1 - t0) / 1000000)) -lt 5000 ] || fail "pause took $(((t1 - t0) / 1000000)) ms"
		[ $(((t2 - t1) / 1000000)) -lt 5000 ] || fail "SIGTERM took $(((t2 - t1) / 1000000)) ms"
	fi
	grep -q 'did not leave KVM_RUN' "$TMP/b.out" || fail "no warning about the abandoned vCPU: $(tail "$TMP/b.out")"
}

@test "a paused load whose page server holds the VMGenID page and then dies: SIGTERM ends ember with 0 (the late generation writer's devices and memory are left to the exit)" {
	require_kvm
	uffd_base
	python3 "$PEER" hold "$TMP/uffd.sock" >"$TMP/peer.out" 2>&1 &
	echo $! >"$TMP/handler.pid"
	wait_socket "$TMP/uffd.sock"
	snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(uffd_body "$TMP/state" "$TMP/uffd.sock" false)"
	grep -q 'has not served the VMGenID and VMClock pages' "$TMP/b.out" ||
		fail "the generation writer was not left waiting: $(tail "$TMP/b.out")"
	# The page server ends: its copy of the userfaultfd closes, and ember's
	# own copy, closed by its teardown, is the last, so the writer's fault
	# may wake while ember tears down: the devices and memory it uses are
	# left to the process's exit (vm_leave_to_exit), never freed under it.
	kill -KILL "$(cat "$TMP/handler.pid")"
	wait "$(cat "$TMP/handler.pid")" 2>/dev/null || true
	kill -TERM "$(cat "$TMP/b.pid")"
	snap_exit b
	assert_equal "$SNAP_STATUS" 0
}

@test "a handshake that does not fit the memory file: the handler names the field and kills the VMM" {
	require_kvm
	uffd_base
	truncate -s 64M "$TMP/mem"
	handler_start
	snap_ember b
	snap_use b
	# no answer: the handler kills ember while the load waits on guest memory or right after
	api PUT /snapshot/load "$(uffd_body "$TMP/state" "$TMP/uffd.sock" true)" || true
	handler_end
	assert_equal "$HANDLER_STATUS" 1
	run cat "$TMP/handler.out"
	assert_output --partial "bad handshake: region 0: offset 0 + size 134217728"
	assert_output --partial "killing the VMM"
	snap_exit b
	assert_equal "$SNAP_STATUS" 137
}

@test "a VM restored through Uffd and saved at once: the pages it never touched are read through the handler, not lost" {
	require_kvm
	uffd_base
	handler_start
	snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(uffd_body "$TMP/state" "$TMP/uffd.sock" false)"
	# paused since the load: no page was served yet; the save must fetch them all
	expect_api 204 PUT /snapshot/create "{\"snapshot_path\":\"$TMP/state2\",\"mem_file_path\":\"$TMP/mem2\"}"
	snap_kill b
	handler_end
	[ "$(field copied_bytes)" -ge $((8 << 20)) ] || fail "the save read less than the pattern through the handler: $SUMMARY"
	snap_ember c
	snap_use c
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state2" "$TMP/mem2" true)"
	uffd_restore_run c
}

@test "balloon under Uffd: inflated pages reach the handler as UFFD_EVENT_REMOVE and read zero when deflated" {
	require_kvm
	snap_ember a
	snap_use a
	args="console=ttyS0 probe=snapshot probe.snap_seed=7 probe.snap_balloon_zero=1"
	is_pvm_host && args="$args probe.pvm=1"
	expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128}'
	expect_api 204 PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$TMP/disk.img\",\"is_root_device\":true,\"is_read_only\":false}"
	expect_api 204 PUT /balloon '{"amount_mib":16,"deflate_on_oom":true}'
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"$args\"}"
	expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
	snap_wait a 'PROBE snapshot.ready ok'
	snap_create a "$TMP/state" "$TMP/mem"
	snap_kill a
	handler_start
	snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(uffd_body "$TMP/state" "$TMP/uffd.sock" true)"
	uffd_restore_run b
	run cat "$TMP/b.out"
	assert_output --partial "PROBE snapshot.balloon ok"
	handler_end
	# the guest inflated 256 pages after the restore: ember's MADV_DONTNEED on them is a REMOVE event,
	# and their next touch (after the deflate) is zero-filled, not copied from the file
	[ "$(field removed_bytes)" -ge $((256 * 4096)) ] || fail "removed: $SUMMARY"
	[ "$(field zeroed_bytes)" -gt 0 ] || fail "zeroed: $SUMMARY"
}
