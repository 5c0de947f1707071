#!/usr/bin/env bats
# A jailed create and load (doc/snapshots.md): one jail's ember snapshots its
# guest into its own root, another jail's ember loads those files and the
# guest resumes. Apart from snapshot.bats because seccomp.bats' minimality
# run skips suites that use the jailer (the jail cannot run its traced
# wrapper), and snapshot.bats must be traced.

load helpers
load api-helpers
load jailer-helpers

setup() {
	TMP=$(mktemp -d)
}

teardown() {
	[ -n "${JID2:-}" ] && "$JAILER" --cleanup --id "$JID2" --exec-file "$EMBER" --chroot-base-dir "$JBASE" \
		--parent-cgroup "$JPARENT" >/dev/null 2>&1
	declare -F jail_teardown >/dev/null && [ -n "${JBASE:-}" ] && jail_teardown
	rm -rf "$TMP"
}

# jail_snap ID OUT IN BINDS...: the jailer runs ember (not daemonized: its
# stdin stays the FIFO IN) with the API at /run/api.sock in the jail ID.
jail_snap() {
	local id=$1 out=$2 in=$3
	shift 3
	"$JAILER" --id "$id" --exec-file "$EMBER" --uid "$JUID" --gid "$JGID" --chroot-base-dir "$JBASE" \
		--parent-cgroup "$JPARENT" "$@" -- --api-sock /run/api.sock <"$in" >"$out" 2>&1 3>&- &
	JAIL_BG_PIDS="${JAIL_BG_PIDS:-} $!"
	sleep 100000 >"$in" 3>&- &
	JAIL_BG_PIDS="$JAIL_BG_PIDS $!"
	SOCK=$JBASE/ember/$id/root/run/api.sock
	wait_until 200 0.05 test -S "$SOCK" || fail "the jailed ember $id did not create its socket: $(cat "$out")"
}

jail_snap_require() {
	require_kvm
	jail_setup
	! readelf -lW "$EMBER" | grep -q 'program interpreter' || skip "a dynamically linked ember cannot run alone in a jail"
}

# jail_wait OUT PATTERN: waits (bounded) for a line of a jailed ember's output.
jail_wait() {
	wait_until 300 0.1 grep -q -- "$2" "$1" || fail "no '$2' from the jailed ember: $(tail -20 "$1")"
}

# jail_snap_create: the snapshot scenario (seed 9) booted in the jail $JID,
# with the FIFOs $JPUB/in1 and in2 made, paused and saved to its /run/state
# and /run/mem ($R1 on the host); the second jail's id in $JID2.
jail_snap_create() {
	STANDIN_ORIG=$EMBER
	JID2="${JID}-b"
	cp "$PROBE" "$JPUB/probe.elf"
	chmod 644 "$JPUB/probe.elf"
	truncate -s 1M "$JPUB/disk.img"
	chown "$JUID:$JGID" "$JPUB/disk.img"
	mkfifo "$JPUB/in1" "$JPUB/in2"
	local args="console=ttyS0 probe=snapshot probe.snap_seed=9"
	is_pvm_host && args="$args probe.pvm=1"
	jail_snap "$JID" "$TMP/j1.out" "$JPUB/in1" --bind-ro "$JPUB/probe.elf=probe.elf" --bind "$JPUB/disk.img=disk.img:rw"
	expect_api 204 PUT /drives/rootfs '{"drive_id":"rootfs","path_on_host":"/disk.img","is_root_device":true,"is_read_only":false}'
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"/probe.elf\",\"boot_args\":\"$args\"}"
	expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
	jail_wait "$TMP/j1.out" 'snapshot.ready ok'
	expect_api 204 PATCH /vm '{"state":"Paused"}'
	expect_api 204 PUT /snapshot/create '{"snapshot_path":"/run/state","mem_file_path":"/run/mem"}'
	R1=$JBASE/ember/$JID/root/run
}

# jail_snap_move: the first jail's ember ended, its state and mem copied to
# $JPUB for the jail's uid (teardown cleans both jails up).
jail_snap_move() {
	local p
	for p in $JAIL_BG_PIDS; do kill -KILL "$p" 2>/dev/null || true; done
	JAIL_BG_PIDS=
	cp --sparse=always "$R1/state" "$R1/mem" "$JPUB/"
	chown "$JUID:$JGID" "$JPUB/state" "$JPUB/mem"
}

@test "jailed: create inside one jail, load the files in another, R: the guest resumes" {
	jail_snap_require
	jail_snap_create
	assert_equal "$(stat -c '%a %u' "$R1/state")" "600 $JUID"
	assert_equal "$(stat -c '%a %u' "$R1/mem")" "600 $JUID"
	# a directory the jail does not have: refused, naming the file
	expect_api 400 PUT /snapshot/create '{"snapshot_path":"/run/state2","mem_file_path":"/no-such-dir/mem"}' \
		"/no-such-dir/mem: No such file or directory"
	jail_snap_move
	jail_snap "$JID2" "$TMP/j2.out" "$JPUB/in2" --bind-ro "$JPUB/state=state" --bind-ro "$JPUB/mem=mem" \
		--bind "$JPUB/disk.img=disk.img:rw"
	expect_api 204 PUT /snapshot/load '{"snapshot_path":"/state","mem_backend":{"backend_type":"File","backend_path":"/mem"},"resume_vm":true}'
	printf R >"$JPUB/in2"
	jail_wait "$TMP/j2.out" 'PROBE DONE'
	run cat "$TMP/j2.out"
	assert_output --partial "PROBE snapshot.resumed ok"
	assert_output --regexp "PROBE DONE pass=[0-9]+ fail=0"
}

@test "jailed: a Uffd load through /dev/userfaultfd in the jail, served by ember-uffd-handler as the jail's uid" {
	jail_snap_require
	[ -c /dev/userfaultfd ] || skip "no /dev/userfaultfd on this host (the jailer creates it only when the host has it)"
	jail_snap_create
	jail_snap_move
	jail_snap "$JID2" "$TMP/j2.out" "$JPUB/in2" --bind-ro "$JPUB/state=state" --bind "$JPUB/disk.img=disk.img:rw"
	assert_equal "$(stat -c '%a %u' "$JBASE/ember/$JID2/root/dev/userfaultfd")" "600 $JUID"
	# the handler as the jail's uid, its socket in the jail's /run (entered as root: the base is root's 0700)
	(cd "$JBASE/ember/$JID2/root/run" && exec setpriv --reuid "$JUID" --regid "$JGID" --clear-groups \
		"$EMBER_BUILD/tools/ember-uffd-handler" uffd.sock "$JPUB/mem") >"$TMP/handler.out" 2>&1 &
	hpid=$!
	JAIL_BG_PIDS="$JAIL_BG_PIDS $hpid"
	wait_until 100 0.05 test -S "$JBASE/ember/$JID2/root/run/uffd.sock" || fail "no handler socket: $(cat "$TMP/handler.out")"
	expect_api 204 PUT /snapshot/load '{"snapshot_path":"/state","mem_backend":{"backend_type":"Uffd","backend_path":"/run/uffd.sock"},"resume_vm":true}'
	printf R >"$JPUB/in2"
	jail_wait "$TMP/j2.out" 'PROBE DONE'
	run cat "$TMP/j2.out"
	assert_output --partial "PROBE snapshot.pattern ok"
	assert_output --regexp "PROBE DONE pass=[0-9]+ fail=0"
	wait_until 100 0.1 pid_ended "$hpid" || fail "the handler still runs: $(cat "$TMP/handler.out")"
	run cat "$TMP/handler.out"
	assert_output --regexp "faults=[0-9]+ copied_bytes=[0-9]+"
}
