#!/usr/bin/env bats
# The jailer, run as root on this host: the jail it builds, what the VMM
# inside sees, cgroups v1 and v2, namespaces, rollback, --cleanup, and many
# bad inputs that must each fail cleanly and leave nothing behind.

load helpers
load jailer-helpers

setup() {
	jail_setup
}

teardown() {
	jail_teardown
}

# ---------------------------------------------------------------- success

@test "jail layout: dirs, nodes, owners and modes, the copied binary, the pid file" {
	jail -- --report /run/report
	assert_success
	wait_for_file "$JROOT/run/report"
	for d in "$JROOT" "$JROOT/dev" "$JROOT/dev/net" "$JROOT/run"; do
		assert_equal "$(stat -c '%F %a %u:%g' "$d")" "directory 700 $JUID:$JGID"
	done
	for n in kvm net/tun urandom; do
		assert_equal "$(stat -c '%F %a %u:%g' "$JROOT/dev/$n")" "character special file 600 $JUID:$JGID"
		assert_equal "$(stat -c '%t:%T' "$JROOT/dev/$n")" "$(stat -c '%t:%T' "/dev/$n")"
	done
	if [ -c /dev/userfaultfd ]; then
		assert_equal "$(stat -c '%t:%T %a' "$JROOT/dev/userfaultfd")" "$(stat -c '%t:%T' /dev/userfaultfd) 600"
	fi
	assert_equal "$(stat -c '%F %u:%g %h' "$JROOT/vmm-standin")" "regular file $JUID:$JGID 1"
	cmp "$STANDIN" "$JROOT/vmm-standin"
	assert_equal "$(stat -c '%F %a %u' "$JROOT/vmm-standin.pid")" "regular file 600 0"
	assert_equal "$(cat "$JROOT/vmm-standin.pid")" "$(report_get pid)"
	# Only what the jailer made: no old_root, nothing else.
	assert_equal "$(cd "$JROOT" && find . | sort | tr '\n' ' ')" \
		"$(cd "$JROOT" && printf '%s\n' . ./dev ./dev/kvm ./dev/net ./dev/net/tun ./dev/urandom \
			$([ -c /dev/userfaultfd ] && echo ./dev/userfaultfd) ./run ./run/report ./vmm-standin \
			./vmm-standin.pid | sort | tr '\n' ' ')"
}

@test "the VMM runs as uid:gid, no groups, empty env, fds 0-2 only, no caps, NoNewPrivs, locked securebits" {
	FOO=bar jail -- --report /run/report 7</dev/null
	assert_success
	wait_for_file "$JROOT/run/report"
	assert_equal "$(report_get uid)" "$JUID,$JUID,$JUID"
	assert_equal "$(report_get gid)" "$JGID,$JGID,$JGID"
	assert_equal "$(report_get groups)" ""
	assert_equal "$(report_get env_count)" "0"
	assert_equal "$(report_get fds)" "0,1,2"
	for c in eff prm inh bnd amb; do
		assert_equal "$(report_get cap_$c)" "0000000000000000"
	done
	assert_equal "$(report_get no_new_privs)" "1"
	assert_equal "$(report_get securebits)" "239"
	assert_equal "$(report_get rlimit_nofile)" "2048,2048"
	assert_equal "$(report_get rlimit_fsize)" "-1"
	assert_equal "$(report_get proc)" "absent"
}

@test "a closed stdin reaches the VMM as /dev/null, not as a missing or stolen fd 0" {
	jail -- --report /run/report <&-
	assert_success
	wait_for_file "$JROOT/run/report"
	assert_equal "$(report_get fds)" "0,1,2"
}

@test "the VMM gets Firecracker's argv: --id, the three start times, then the arguments after --" {
	jail -- --report /run/report --extra 'a b'
	assert_success
	wait_for_file "$JROOT/run/report"
	assert_equal "$(report_get argv0)" "/vmm-standin"
	assert_equal "$(report_get argv1) $(report_get argv2)" "--id $JID"
	assert_equal "$(report_get argv3)" "--start-time-us"
	[[ "$(report_get argv4)" =~ ^[0-9]+$ ]]
	assert_equal "$(report_get argv5)" "--start-time-cpu-us"
	assert_equal "$(report_get argv7)" "--parent-cpu-time-us"
	assert_equal "$(report_get argv9) $(report_get argv10)" "--report /run/report"
	assert_equal "$(report_get argv12)" "a b"
}

@test "--resource-limit no-file and fsize reach the VMM" {
	jail --resource-limit no-file=1024 --resource-limit fsize=1048576 -- --report /run/report
	assert_success
	wait_for_file "$JROOT/run/report"
	assert_equal "$(report_get rlimit_nofile)" "1024,1024"
	assert_equal "$(report_get rlimit_fsize)" "1048576"
}

# Tests that look at a live VMM use --daemonize: a foreground VMM keeps bats'
# output pipe open, so `run` would wait for it to end.

@test "cgroup v1: values written, cpuset seeded, the VMM is a member before it runs" {
	[ -n "$(cgroup_v1_mount pids)" ] && [ -n "$(cgroup_v1_mount cpuset)" ] || skip "no v1 pids and cpuset here"
	jail --daemonize --cgroup pids.max=33 --cgroup cpuset.mems=0 -- --report /run/report --sleep 30
	assert_success
	wait_for_file "$JROOT/run/report"
	pid=$(cat "$JROOT/vmm-standin.pid")
	pids=$(cgroup_v1_mount pids)
	cpuset=$(cgroup_v1_mount cpuset)
	assert_equal "$(cat "$pids/$JPARENT/$JID/pids.max")" "33"
	assert_equal "$(cat "$cpuset/$JPARENT/$JID/cpuset.cpus")" "$(cat "$cpuset/cpuset.cpus")"
	grep -qx "$pid" "$pids/$JPARENT/$JID/tasks"
	grep -q ":pids:/$JPARENT/$JID\$" "/proc/$pid/cgroup"
	grep -q ":cpuset:/$JPARENT/$JID\$" "/proc/$pid/cgroup"
}

@test "cgroup v2: controller enabled down the tree, value written, the VMM is a member" {
	v2=$(cgroup_v2_mount)
	[ -n "$v2" ] || skip "no cgroup2 mount"
	grep -qw hugetlb "$v2/cgroup.controllers" || skip "no v2 controller to test with (hugetlb absent from $v2)"
	jail --daemonize --cgroup-version 2 --cgroup hugetlb.2MB.max=0 -- --report /run/report --sleep 30
	assert_success
	wait_for_file "$JROOT/run/report"
	pid=$(cat "$JROOT/vmm-standin.pid")
	assert_equal "$(cat "$v2/$JPARENT/$JID/hugetlb.2MB.max")" "0"
	grep -qx "$pid" "$v2/$JPARENT/$JID/cgroup.procs"
	grep -qx "0::/$JPARENT/$JID" "/proc/$pid/cgroup"
}

@test "--cgroup-template small applies its values (v1), a raw --cgroup overrides one" {
	[ -n "$(cgroup_v1_mount memory)" ] && [ -n "$(cgroup_v1_mount cpu)" ] || skip "no v1 memory and cpu here"
	jail --cgroup-template small --cgroup pids.max=40 -- --report /run/report
	assert_success
	assert_equal "$(cat "$(cgroup_v1_mount memory)/$JPARENT/$JID/memory.limit_in_bytes")" "268435456"
	assert_equal "$(cat "$(cgroup_v1_mount cpu)/$JPARENT/$JID/cpu.cfs_quota_us")" "100000"
	assert_equal "$(cat "$(cgroup_v1_mount pids)/$JPARENT/$JID/pids.max")" "40"
}

@test "--netns: the VMM is inside the given network namespace" {
	JNETNS="bats-jailer-$$-$BATS_TEST_NUMBER"
	ip netns add "$JNETNS"
	jail --daemonize --netns "/var/run/netns/$JNETNS" -- --report /run/report --sleep 30
	assert_success
	wait_for_file "$JROOT/run/report"
	pid=$(cat "$JROOT/vmm-standin.pid")
	assert_equal "$(stat -L -c %i "/proc/$pid/ns/net")" "$(stat -L -c %i "/var/run/netns/$JNETNS")"
}

@test "--new-pid-ns: the VMM is pid 1 inside, the pid file holds its host pid" {
	jail --daemonize --new-pid-ns -- --report /run/report --sleep 30
	assert_success
	wait_for_file "$JROOT/run/report"
	assert_equal "$(report_get pid)" "1"
	hostpid=$(cat "$JROOT/vmm-standin.pid")
	assert_equal "$(awk '/^NSpid:/ { print $2, $3 }' "/proc/$hostpid/status")" "$hostpid 1"
	assert_equal "$(readlink "/proc/$hostpid/exe")" "/vmm-standin"
}

@test "--daemonize: the jailer returns once the VMM runs, detached, stdio on /dev/null" {
	jail --daemonize -- --report /run/report --sleep 30
	assert_success
	assert_output ""
	pid=$(cat "$JROOT/vmm-standin.pid")
	kill -0 "$pid"
	for fd in 0 1 2; do
		assert_equal "$(readlink "/proc/$pid/fd/$fd")" "/dev/null"
	done
	# setsid then a second fork: not a session leader, not in our session.
	[ "$(ps -o sid= -p "$pid" | tr -d ' ')" != "$pid" ]
	[ "$(ps -o sid= -p "$pid" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ]
}

@test "--new-user-ns, --new-ipc-ns, --new-uts-ns: new namespaces, uid and gid mapped to themselves only" {
	jail --daemonize --new-user-ns --new-ipc-ns --new-uts-ns -- --report /run/report --sleep 30
	assert_success
	wait_for_file "$JROOT/run/report"
	pid=$(cat "$JROOT/vmm-standin.pid")
	for ns in user ipc uts mnt; do
		[ "$(readlink "/proc/$pid/ns/$ns")" != "$(readlink "/proc/self/ns/$ns")" ] || fail "$ns namespace not new"
	done
	assert_equal "$(awk '{ print $1, $2, $3 }' "/proc/$pid/uid_map")" "$JUID $JUID 1"
	assert_equal "$(awk '{ print $1, $2, $3 }' "/proc/$pid/gid_map")" "$JGID $JGID 1"
	assert_equal "$(report_get uid)" "$JUID,$JUID,$JUID"
	assert_equal "$(report_get cap_bnd)" "0000000000000000"
	# The jailer set user.max_user_namespaces to 0 in the jail's namespace.
	assert_equal "$(report_get unshare_user)" "ENOSPC"
}

@test "--status-fd: one JSON line with the pid, the chroot and the cgroups" {
	[ -n "$(cgroup_v1_mount pids)" ] || skip "no v1 pids here"
	jail --status-fd 9 --cgroup pids.max=20 -- --report /run/report 9>"$BATS_TEST_TMPDIR/status"
	assert_success
	assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/status")" "1"
	assert_equal "$(jq -r .outcome "$BATS_TEST_TMPDIR/status")" "ok"
	assert_equal "$(jq -r .pid "$BATS_TEST_TMPDIR/status")" "$(cat "$JROOT/vmm-standin.pid")"
	assert_equal "$(jq -r .chroot "$BATS_TEST_TMPDIR/status")" "$JROOT"
	assert_equal "$(jq -r '.cgroups[0]' "$BATS_TEST_TMPDIR/status")" "$(cgroup_v1_mount pids)/$JPARENT/$JID"
}

@test "--status-fd after --daemonize and --new-pid-ns reports the VMM's host pid" {
	jail --daemonize --new-pid-ns --status-fd 9 -- --report /run/report --sleep 30 9>"$BATS_TEST_TMPDIR/status"
	assert_success
	assert_equal "$(jq -r .pid "$BATS_TEST_TMPDIR/status")" "$(cat "$JROOT/vmm-standin.pid")"
}

@test "--status-fd reports the failed step and errno" {
	[ -n "$(cgroup_v1_mount cpuset)" ] || skip "no v1 cpuset here"
	jail --status-fd 9 --cgroup cpuset.cpus=4095 -- --report /run/report 9>"$BATS_TEST_TMPDIR/status"
	assert_failure 1
	assert_equal "$(jq -r .outcome "$BATS_TEST_TMPDIR/status")" "error"
	assert_equal "$(jq -r .step "$BATS_TEST_TMPDIR/status")" "write_cgroup_values"
	[ "$(jq -r .errno "$BATS_TEST_TMPDIR/status")" -gt 0 ]
	assert_no_residue
}

@test "--dry-run prints every path, node, cgroup file, rlimit and namespace, and touches nothing" {
	[ -n "$(cgroup_v1_mount pids)" ] || skip "no v1 pids here"
	jail --dry-run --new-pid-ns --cgroup pids.max=9 --resource-limit no-file=99 -- --report /run/report
	assert_success
	assert_output --partial "mkdir: $JDIR (0700 with its manifest, or adopted if the caller made it)"
	assert_output --partial "lock: $JDIR.lock"
	assert_output --partial "copy: $STANDIN -> $JROOT/vmm-standin (owner $JUID:$JGID)"
	assert_output --partial "cgroup-file: $(cgroup_v1_mount pids)/$JPARENT/$JID/pids.max = 9"
	assert_output --partial "node: /dev/kvm c $((16#$(stat -c '%t' /dev/kvm))):$((16#$(stat -c '%T' /dev/kvm))) 0600 $JUID:$JGID"
	assert_output --partial "rlimit: nofile=99"
	assert_output --partial "namespaces: mount pid"
	assert_output --partial "exec: /vmm-standin --id $JID"
	assert_no_residue
}

@test "--help and --version" {
	run "$JAILER" --help
	assert_success
	assert_output --partial "Jailer v"
	assert_output --partial "--cgroup-template"
	run "$JAILER" --version
	assert_success
	assert_output --regexp '^Jailer v[0-9]+\.[0-9]+\.[0-9]+$'
}

# ---------------------------------------------------------------- rollback and cleanup

@test "a failure injected late (impossible cpuset) rolls back tree and cgroups" {
	[ -n "$(cgroup_v1_mount cpuset)" ] && [ -n "$(cgroup_v1_mount pids)" ] || skip "no v1 cpuset here"
	jail --cgroup pids.max=10 --cgroup cpuset.cpus=4095 -- --report /run/report
	assert_failure 1
	assert_output --partial "step write_cgroup_values failed"
	assert_output --partial "cpuset.cpus"
	assert_no_residue
}

@test "a VMM that cannot be exec'd: the jailer says the jail stays, --cleanup removes it" {
	# A static ELF without an execute bit passes planning but fails at exec,
	# after the drop: the jailer cannot undo then and says so; --cleanup
	# removes it all.
	cp "$STANDIN" "$BATS_TEST_TMPDIR/vmm-standin"
	chmod 644 "$BATS_TEST_TMPDIR/vmm-standin"
	run "$JAILER" --id "$JID" --exec-file "$BATS_TEST_TMPDIR/vmm-standin" --uid "$JUID" --gid "$JGID" \
		--chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT"
	assert_failure 3
	assert_output --partial "step exec_vmm failed"
	assert_output --partial "jailer --cleanup"
	run "$JAILER" --cleanup --id "$JID" --exec-file "$BATS_TEST_TMPDIR/vmm-standin" --chroot-base-dir "$JBASE" \
		--parent-cgroup "$JPARENT"
	assert_success
	assert_no_residue
}

@test "a signal during set-up (SIGTERM at mknod) undoes everything" {
	command -v strace >/dev/null || skip "strace not installed"
	[ -n "$(cgroup_v1_mount pids)" ] || skip "no v1 pids here"
	run strace -f -qq -o /dev/null -e trace=mknodat -e inject=mknodat:signal=SIGTERM:when=1 \
		"$JAILER" --id "$JID" --exec-file "$STANDIN" --uid "$JUID" --gid "$JGID" \
		--chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT" --cgroup pids.max=10 -- --report /run/report
	assert_failure 1
	assert_output --partial "set-up interrupted by signal 15"
	assert_no_residue
}

@test "--cleanup after the VMM exited removes everything and says so; a second run finds nothing (exit 4)" {
	[ -n "$(cgroup_v1_mount pids)" ] || skip "no v1 pids here"
	jail --cgroup pids.max=10 -- --report /run/report
	assert_success
	[ -d "$(cgroup_v1_mount pids)/$JPARENT/$JID" ]
	run "$JAILER" --cleanup --id "$JID" --exec-file "$STANDIN" --chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT"
	assert_success
	[ ! -e "$JDIR" ]
	[ ! -e "$(cgroup_v1_mount pids)/$JPARENT/$JID" ]
	assert_output --partial "removed $JDIR/root/vmm-standin"
	assert_output --partial "removed $(cgroup_v1_mount pids)/$JPARENT/$JID"
	# The parent level was made by this jail: it goes too.
	assert_output --partial "removed $(cgroup_v1_mount pids)/$JPARENT"
	assert_no_residue
	# Nothing of the id anywhere: exit 4, naming where it looked.
	run "$JAILER" --cleanup --id "$JID" --exec-file "$STANDIN" --chroot-base-dir "$JBASE"
	assert_failure 4
	assert_output --partial "nothing of jail $JID in $JBASE"
	assert_output --partial "$JBASE/vmm-standin/$JID.lock"
	assert_no_residue
}

@test "--cleanup after SIGKILL of the VMM removes everything; it refuses while the VMM lives" {
	[ -n "$(cgroup_v1_mount pids)" ] || skip "no v1 pids here"
	jail --daemonize --cgroup pids.max=10 -- --report /run/report --sleep 60
	assert_success
	pid=$(cat "$JROOT/vmm-standin.pid")
	run "$JAILER" --cleanup --id "$JID" --exec-file "$STANDIN" --chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT"
	assert_failure 1
	assert_output --partial "pid $pid"
	kill -KILL "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	run "$JAILER" --cleanup --id "$JID" --exec-file "$STANDIN" --chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT"
	assert_success
	run "$JAILER" --cleanup --id "$JID" --exec-file "$STANDIN" --chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT"
	assert_failure 4
	assert_no_residue
}

@test "--cleanup never follows a symlink or crosses a mount inside the tree" {
	jail -- --report /run/report
	assert_success
	mkdir -p "$BATS_TEST_TMPDIR/precious"
	touch "$BATS_TEST_TMPDIR/precious/keep"
	ln -s "$BATS_TEST_TMPDIR/precious" "$JROOT/run/link"
	mkdir "$JROOT/run/mnt"
	mount --bind "$BATS_TEST_TMPDIR/precious" "$JROOT/run/mnt"
	run "$JAILER" --cleanup --id "$JID" --exec-file "$STANDIN" --chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT"
	umount "$JROOT/run/mnt"
	assert_failure 1
	[ -e "$BATS_TEST_TMPDIR/precious/keep" ]
	run "$JAILER" --cleanup --id "$JID" --exec-file "$STANDIN" --chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT"
	assert_success
	[ -e "$BATS_TEST_TMPDIR/precious/keep" ]
	rm -rf "$BATS_TEST_TMPDIR/precious"
	assert_no_residue
}

# ---------------------------------------------------------------- bad input: ids

@test "bad id: empty" { JID=""; bad_input 2 "Invalid len (0)"; }
@test "bad id: 65 characters" {
	JID=$(printf 'a%.0s' $(seq 1 65))
	bad_input 2 "Invalid len (65)"
}
@test "bad id: underscore" { JID="ab_c"; bad_input 2 "Invalid char (_) at position 2"; }
@test "an id with a leading dash passes the id check, as in Firecracker (the next error is reported)" {
	JID="-abc"
	bad_input 2 "Invalid resource argument: bogus=1" --resource-limit bogus=1
	refute_output --partial 'instance ID'
}
@test "bad id: slash" { JID="a/b"; bad_input 2 "Invalid char (/) at position 1"; }
@test "bad id: dot-dot" { JID=".."; bad_input 2 "Invalid char (.) at position 0"; }
@test "bad id: newline" { JID=$'a\nb'; bad_input 2 'Invalid char (\x0a) at position 1'; }
@test "bad id: non-ASCII" { JID="caf$(printf '\xc3\xa9')"; bad_input 2 'Invalid char (\xc3) at position 3'; }

# ---------------------------------------------------------------- bad input: uid/gid

@test "bad uid: not a number" { JUID=abc; bad_input 2 "Invalid uid: abc"; }
@test "bad uid: negative" { JUID=-1; bad_input 2 "Invalid uid: -1"; }
@test "bad uid: hex" { JUID=0x10; bad_input 2 "Invalid uid: 0x10"; }
@test "bad uid: leading zero" { JUID=010; bad_input 2 "Invalid uid: 010"; }
@test "bad uid: 4294967295 (the 'no change' id)" { JUID=4294967295; bad_input 2 "Invalid uid: 4294967295"; }
@test "bad uid: 4294967296 (overflow)" { JUID=4294967296; bad_input 2 "Invalid uid: 4294967296"; }
@test "bad gid: with a space" { JGID="1 2"; bad_input 2 "Invalid gid: 1 2"; }
@test "bad gid: empty" { JGID=""; bad_input 2 "Invalid gid: "; }

# ---------------------------------------------------------------- bad input: exec file

@test "bad exec file: missing" { STANDIN=$BATS_TEST_TMPDIR/nope; bad_input 2 "Failed to canonicalize path $BATS_TEST_TMPDIR/nope"; }
@test "bad exec file: a directory" {
	mkdir "$BATS_TEST_TMPDIR/vmm-standin"
	STANDIN=$BATS_TEST_TMPDIR/vmm-standin
	bad_input 2 "$BATS_TEST_TMPDIR/vmm-standin is not a file"
}
@test "bad exec file: a FIFO" {
	mkfifo "$BATS_TEST_TMPDIR/vmm-standin"
	STANDIN=$BATS_TEST_TMPDIR/vmm-standin
	bad_input 2 "is not a file"
}
@test "bad exec file: a symlink" {
	ln -s "$STANDIN" "$BATS_TEST_TMPDIR/vmm-standin"
	STANDIN=$BATS_TEST_TMPDIR/vmm-standin
	bad_input 2 "is a symbolic link"
}
@test "bad exec file: setuid" {
	cp "$STANDIN" "$BATS_TEST_TMPDIR/vmm-standin"
	chmod 4755 "$BATS_TEST_TMPDIR/vmm-standin"
	STANDIN=$BATS_TEST_TMPDIR/vmm-standin
	bad_input 2 "has the setuid or setgid bit"
}
@test "bad exec file: setgid" {
	cp "$STANDIN" "$BATS_TEST_TMPDIR/vmm-standin"
	chmod 2755 "$BATS_TEST_TMPDIR/vmm-standin"
	STANDIN=$BATS_TEST_TMPDIR/vmm-standin
	bad_input 2 "has the setuid or setgid bit"
}

@test "bad exec file: dynamically linked" {
	cp /bin/true "$BATS_TEST_TMPDIR/vmm-standin"
	STANDIN=$BATS_TEST_TMPDIR/vmm-standin
	bad_input 2 "is dynamically linked"
}
@test "bad exec file: a script" {
	printf '#!/bin/sh\nexit 0\n' >"$BATS_TEST_TMPDIR/vmm-standin"
	chmod 755 "$BATS_TEST_TMPDIR/vmm-standin"
	STANDIN=$BATS_TEST_TMPDIR/vmm-standin
	bad_input 2 "is not a 64-bit ELF executable"
}

@test "a caller-made <id> that group or others may write is refused, naming path, owner and mode" {
	mkdir -p "$JDIR"
	chmod 0777 "$JDIR"
	jail -- --report /run/report
	assert_failure 2
	assert_output --partial "$JDIR must be a directory owned by root and not writable by group or others"
	assert_output --partial "owner 0, mode 0777"
	assert_equal "$(find "$JDIR" | wc -l)" "1"
	[ ! -e "$JBASE/vmm-standin/$JID.lock" ]
	rm -rf "${JBASE:?}"/*
}

@test "a caller-made <id>/root holding what the jailer makes there is refused and left as it was" {
	mkdir -p "$JDIR/root/dev"
	jail -- --report /run/report
	assert_failure 2
	assert_output --partial "$JROOT/dev exists"
	assert_equal "$(find "$JDIR" | wc -l)" "3"
	rm -rf "${JBASE:?}"/*
}

@test "<base>/<exec-name> owned by another user is refused" {
	mkdir -p "$JBASE/vmm-standin"
	chown "$JUID" "$JBASE/vmm-standin"
	jail -- --report /run/report
	assert_failure 2
	assert_output --partial "$JBASE/vmm-standin must be a directory owned by root"
	assert_output --partial "owner $JUID"
	assert_equal "$(find "$JBASE/vmm-standin" | wc -l)" "1"
	rm -rf "${JBASE:?}"/*
}

@test "bad chroot base: missing" { JBASE_ARG=$BATS_TEST_TMPDIR/none; bad_input 2 "Failed to canonicalize path $BATS_TEST_TMPDIR/none"; }
@test "bad chroot base: a file" {
	touch "$BATS_TEST_TMPDIR/file"
	JBASE_ARG=$BATS_TEST_TMPDIR/file
	bad_input 2 "$BATS_TEST_TMPDIR/file is not a directory"
	rm "$BATS_TEST_TMPDIR/file"
}

# ---------------------------------------------------------------- bad input: cgroups

@test "bad cgroup key: cgroup.procs" { bad_input 2 "Cgroup invalid file: cgroup.procs" --cgroup cgroup.procs=1; }
@test "bad cgroup key: tasks" { bad_input 2 "Cgroup invalid file: tasks" --cgroup tasks=1; }
@test "bad cgroup key: release_agent" { bad_input 2 "Cgroup invalid file: release_agent" --cgroup release_agent=/tmp/x; }
@test "bad cgroup key: notify_on_release" { bad_input 2 "Cgroup invalid file: notify_on_release" --cgroup notify_on_release=1; }
@test "bad cgroup key: path traversal" { bad_input 2 "Cgroup invalid file: ../../release_agent" --cgroup ../../release_agent=x; }
@test "bad cgroup key: slash inside" { bad_input 2 "Cgroup invalid file: pids.max/../x" --cgroup pids.max/../x=1; }
@test "bad cgroup key: devices.allow is not on the allowlist" { bad_input 2 "Cgroup invalid file: devices.allow" --cgroup "devices.allow=a *:* rwm"; }
@test "bad cgroup value: newline injection" { bad_input 2 "Cgroup invalid value for pids.max" --cgroup $'pids.max=10\n+cpu'; }
@test "bad cgroup value: a slash" { bad_input 2 "Cgroup invalid value for cpuset.cpus" --cgroup cpuset.cpus=0/../1; }
@test "bad cgroup value: over-long" { bad_input 2 "Cgroup invalid value for pids.max" --cgroup "pids.max=$(printf '1%.0s' $(seq 1 300))"; }
@test "bad cgroup: no '='" { bad_input 2 "Invalid format for cgroups: pids.max" --cgroup pids.max; }
@test "bad cgroup: empty value" { bad_input 2 "Invalid format for cgroups: pids.max=" --cgroup pids.max=; }
@test "bad cgroup: a v1 file with --cgroup-version 2" { bad_input 2 "Cgroup file cpu.cfs_quota_us does not exist in cgroup v2" --cgroup-version 2 --cgroup cpu.cfs_quota_us=1000; }
@test "bad cgroup: a controller the hierarchy lacks" {
	v2=$(cgroup_v2_mount)
	[ -n "$v2" ] && ! grep -qw memory "$v2/cgroup.controllers" || skip "memory is available on v2 here"
	bad_input 2 "Controller memory is unavailable" --cgroup-version 2 --cgroup memory.max=100000000
}
@test "bad cgroup version: 3" { bad_input 2 "3 is an invalid cgroup version specifier" --cgroup-version 3 --cgroup pids.max=1; }
@test "bad parent cgroup: absolute" { JPARENT_ARG=/abs; bad_input 2 "Parent cgroup path is invalid"; }
@test "bad parent cgroup: dot-dot" { JPARENT_ARG=a/../../b; bad_input 2 "Parent cgroup path is invalid"; }
@test "bad parent cgroup: empty component" { JPARENT_ARG=a//b; bad_input 2 "Parent cgroup path is invalid"; }
@test "bad parent cgroup: given twice" { bad_input 2 "Argument --parent-cgroup given twice" --parent-cgroup x; }
@test "bad cgroup template: unknown name" { bad_input 2 "Cannot open cgroup template" --cgroup-template nosuchtemplate; }
@test "bad cgroup template: an unknown key" {
	printf 'pids:\n  max: 10\n  maximum: 3\n' >"$BATS_TEST_TMPDIR/t.yaml"
	bad_input 2 "unknown key pids.maximum" --cgroup-template "$BATS_TEST_TMPDIR/t.yaml"
}
@test "bad cgroup template: a duplicate key" {
	printf 'pids:\n  max: 10\n  max: 20\n' >"$BATS_TEST_TMPDIR/t.yaml"
	bad_input 2 "duplicate key pids.max" --cgroup-template "$BATS_TEST_TMPDIR/t.yaml"
}
@test "bad cgroup template: an anchor and alias" {
	printf 'pids: &a\n  max: 10\nmemory: *a\n' >"$BATS_TEST_TMPDIR/t.yaml"
	bad_input 2 "anchors are not allowed" --cgroup-template "$BATS_TEST_TMPDIR/t.yaml"
}
@test "bad cgroup template: a tag" {
	printf 'pids:\n  max: !!str 10\n' >"$BATS_TEST_TMPDIR/t.yaml"
	bad_input 2 "tags are not allowed" --cgroup-template "$BATS_TEST_TMPDIR/t.yaml"
}

# ---------------------------------------------------------------- bad input: other flags

@test "bad netns: missing path" { bad_input 2 "Failed to join network namespace" --netns "$BATS_TEST_TMPDIR/none"; }
@test "bad netns: a regular file" {
	touch "$BATS_TEST_TMPDIR/ns"
	bad_input 2 "is not a namespace file" --netns "$BATS_TEST_TMPDIR/ns"
	rm "$BATS_TEST_TMPDIR/ns"
}
@test "bad flags: --id given twice" { bad_input 2 "Argument --id given twice" --id other; }
@test "bad flags: --daemonize given twice" { bad_input 2 "Argument --daemonize given twice" --daemonize --daemonize; }
@test "bad flags: unknown flag" { bad_input 2 "Unknown argument: --frobnicate" --frobnicate; }
@test "bad flags: a flag without its value" {
	run "$JAILER" --id "$JID" --exec-file "$STANDIN" --uid "$JUID" --gid "$JGID" --chroot-base-dir
	assert_failure 2
	assert_output --partial "Argument --chroot-base-dir needs a value"
}
@test "bad flags: --uid missing" {
	run "$JAILER" --id "$JID" --exec-file "$STANDIN" --gid "$JGID" --chroot-base-dir "$JBASE"
	assert_failure 2
	assert_output --partial "Missing argument: --uid"
	assert_no_residue
}
@test "bad resource limit: unknown resource" { bad_input 2 "Invalid resource argument: nofile=3" --resource-limit nofile=3; }
@test "bad resource limit: not a number" { bad_input 2 "Invalid limit value for resource: abc" --resource-limit no-file=abc; }
@test "bad resource limit: above fs.nr_open" { bad_input 2 "Invalid limit value for resource: 99999999999" --resource-limit no-file=99999999999; }
@test "bad resource limit: no '='" { bad_input 2 "Invalid format for resources limits: fsize" --resource-limit fsize; }
@test "bad --status-fd: not open" { bad_input 2 "--status-fd 57 is not an open, writable descriptor" --status-fd 57; }
@test "huge argv: one VMM argument over 4096 bytes" {
	jail -- "$(head -c 5000 /dev/zero | tr '\0' x)"
	assert_failure 2
	assert_output --partial "VMM argument 1 is longer than 4096 bytes"
	assert_no_residue
}
@test "huge argv: more than 256 VMM arguments" {
	jail -- $(seq 1 300)
	assert_failure 2
	assert_output --partial "Too many VMM arguments after --: 300"
	assert_no_residue
}
@test "huge argv: a flag value over PATH_MAX" {
	JBASE_ARG="/$(head -c 5000 /dev/zero | tr '\0' x)"
	bad_input 2 "The value of --chroot-base-dir is longer than"
}
@test "missing host /dev/net/tun is a clear error, before anything is created" {
	run unshare -m sh -c "mount -t tmpfs none /dev/net && exec \"$JAILER\" --id $JID --exec-file $STANDIN --uid $JUID --gid $JGID --chroot-base-dir $JBASE --parent-cgroup $JPARENT"
	assert_failure 2
	assert_output --partial "/dev/net/tun is missing on the host"
	assert_no_residue
}
@test "missing host /dev/kvm is a clear error, before anything is created" {
	touch "$BATS_TEST_TMPDIR/not-a-device"
	run unshare -m sh -c "mount --bind $BATS_TEST_TMPDIR/not-a-device /dev/kvm && exec \"$JAILER\" --id $JID --exec-file $STANDIN --uid $JUID --gid $JGID --chroot-base-dir $JBASE --parent-cgroup $JPARENT"
	assert_failure 2
	assert_output --partial "/dev/kvm is missing on the host"
	assert_no_residue
}

# ---------------------------------------------------------------- the real VMM

@test "the real ember, jailed (cgroup, pid namespace), boots the probe guest from --bind-ro files" {
	[ -x "$EMBER" ] || skip "ember is not built: $EMBER"
	[ -f "$PROBE" ] || skip "the probe guest is not built: $PROBE"
	! readelf -lW "$EMBER" | grep -q 'program interpreter' ||
		skip "this ember is dynamically linked (a sanitizer build): only a static one can run alone in a jail"
	require_kvm
	[ -n "$(cgroup_v1_mount pids)" ] || skip "no v1 pids here"
	load boot-helpers
	cat >"$JPUB/probe.json" <<-JSON
	{
	  "boot-source": { "kernel_image_path": "/probe.elf", "boot_args": "$(probe_boot_args 1 128 boot)" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 }
	}
	JSON
	JROOT="$JBASE/ember/$JID/root"
	run timeout --kill-after=5 120 "$JAILER" --id "$JID" --exec-file "$EMBER" --uid "$JUID" --gid "$JGID" \
		--chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT" --cgroup pids.max=64 --new-pid-ns \
		--bind-ro "$PROBE=probe.elf" --bind-ro "$JPUB/probe.json=probe.json" \
		-- --no-api --config-file /probe.json
	assert_success
	assert_probe_all_ok
	assert_output --partial "[$JID:vmm]"
	# The kernel and config were bound only in the jail's namespace: on the
	# host the tree holds empty mount points, owned by root.
	assert_equal "$(stat -c '%s %u' "$JROOT/probe.elf")" "0 0"
	run "$JAILER" --cleanup --id "$JID" --exec-file "$EMBER" --chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT"
	assert_success
	assert_no_residue
}

@test "bad --bind-ro: a directory, a reserved name, a path as name" {
	bad_input 2 "not a regular file" --bind-ro "$BATS_TEST_TMPDIR=x"
	bad_input 2 "Invalid --bind-ro" --bind-ro "$STANDIN=dev"
	bad_input 2 "Invalid --bind-ro" --bind-ro "$STANDIN=vmm-standin.pid"
	bad_input 2 "Invalid --bind-ro" --bind-ro "$STANDIN=../x"
	bad_input 2 "Invalid --bind-ro" --bind-ro "$STANDIN=.hidden"
}
