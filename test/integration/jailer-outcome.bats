#!/usr/bin/env bats
# The jailer's one outcome (the readiness pipe, --status-fd's one line), its
# integrity checks (the exec copy, bound files, planning refusals) and
# --bind FILE=NAME[:rw|:ro]. Run as root on this host, with the stand-in VMM
# (test/helpers/vmm-standin) and, where it says so, the real ember.

load helpers
load jailer-helpers

setup() {
	jail_setup
	STATUS="$BATS_TEST_TMPDIR/status"
}

teardown() {
	jail_teardown
}

# The status file holds exactly one line, and it is valid JSON.
assert_one_json_line() {
	[ "$(wc -l <"$STATUS")" -eq 1 ] || fail "expected one status line, got: $(cat "$STATUS")"
	jq -e . "$STATUS" >/dev/null || fail "not valid JSON: $(cat "$STATUS")"
}

status_get() {
	jq -r "$1" "$STATUS"
}

require_static_ember() {
	[ -x "$EMBER" ] || skip "ember is not built: $EMBER"
	! readelf -lW "$EMBER" | grep -q 'program interpreter' ||
		skip "this ember is dynamically linked (a sanitizer build): only a static one can run alone in a jail"
}

# Runs the jailer on the real ember with the test's unique names.
jail_ember() {
	JROOT="$JBASE/ember/$JID/root"
	STANDIN=$EMBER
	STANDIN_ORIG=$EMBER
	run timeout --kill-after=5 120 "$JAILER" --id "$JID" --exec-file "$EMBER" --uid "$JUID" --gid "$JGID" \
		--chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT" "$@"
}

# Stops a daemonized ember named by the status line's pid (SIGKILL: this
# test is about the jailer, not ember's shutdown) and waits until it is gone.
kill_status_pid() {
	local pid i
	pid=$(status_get .pid)
	[ -n "$pid" ] && [ "$pid" != null ] || return 0
	kill -KILL "$pid" 2>/dev/null || true
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
}

# ---------------------------------------------------------------- readiness

@test "--status-fd: the stand-in says ready; one line with ready:true, the pid and the chroot" {
	jail --status-fd 9 -- --report /run/report 9>"$STATUS"
	assert_success
	assert_one_json_line
	assert_equal "$(status_get .outcome)" "ok"
	assert_equal "$(status_get .ready)" "true"
	assert_equal "$(status_get .pid)" "$(cat "$JROOT/vmm-standin.pid")"
	assert_equal "$(status_get .chroot)" "$JROOT"
	# Only with --daemonize or --status-fd: fd 3 and EMBER_READY_FD=3.
	assert_equal "$(report_get fds)" "0,1,2,3"
	assert_equal "$(report_get env)" "EMBER_READY_FD=3"
}

@test "without --daemonize or --status-fd the VMM gets no readiness fd and no variable" {
	jail --new-pid-ns -- --report /run/report
	assert_success
	wait_for_file "$JROOT/run/report"
	assert_equal "$(report_get fds)" "0,1,2"
	assert_equal "$(report_get env_count)" "0"
}

@test "--daemonize: a VMM that fails before it is ready: exit 3, its message shown, the jail stays" {
	jail --daemonize --status-fd 9 -- --report /run/report --ready fail --exit 7 9>"$STATUS"
	assert_failure 3
	assert_output --partial "failed before it was ready, exit code 7: the stand-in fails on purpose"
	assert_output --partial "jailer --cleanup"
	assert_one_json_line
	assert_equal "$(status_get .step)" "vmm_ready"
	assert_equal "$(status_get .exit_code)" "7"
	assert_equal "$(status_get .detail)" "the stand-in fails on purpose"
	[ -d "$JROOT" ] || fail "the jail was removed"
}

@test "a VMM that closes its readiness fd without a word: exit 3" {
	jail --status-fd 9 -- --report /run/report --ready close --sleep 30 9>"$STATUS"
	assert_failure 3
	assert_output --partial "without a word"
	assert_one_json_line
	assert_equal "$(status_get .step)" "vmm_ready"
}

@test "a VMM that says nothing for 10 s (not ember): exit 0, a warning, ready:false" {
	jail --daemonize --status-fd 9 -- --report /run/report --ready silent --sleep 60 9>"$STATUS"
	assert_success
	assert_output --partial "warning: the VMM"
	assert_output --partial "within 10 s"
	assert_one_json_line
	assert_equal "$(status_get .outcome)" "ok"
	assert_equal "$(status_get .ready)" "false"
}

@test "--daemonize, ember with a missing kernel: non-zero, ember's message shown" {
	require_static_ember
	printf '{"boot-source": {"kernel_image_path": "/missing.elf"}, "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}}\n' \
		>"$JPUB/vm.json"
	jail_ember --daemonize --bind-ro "$JPUB/vm.json=vm.json" -- --no-api --config-file /vm.json
	assert_failure 3
	assert_output --partial "exit code 152"
	assert_output --partial "The kernel file cannot be opened"
}

@test "--daemonize --status-fd, ember with the API: the socket answers as soon as the jailer returns" {
	require_static_ember
	require_kvm
	jail_ember --daemonize --new-pid-ns --status-fd 9 -- --api-sock /run/api.sock 9>"$STATUS"
	assert_success
	assert_one_json_line
	assert_equal "$(status_get .ready)" "true"
	run curl -s --max-time 5 --unix-socket "$JROOT/run/api.sock" http://localhost/
	assert_success
	assert_output --partial '"state":"Not started"'
	kill_status_pid
}

@test "readiness with the probe guest booting: ready:true once the guest started" {
	require_static_ember
	require_kvm
	[ -f "$PROBE" ] || skip "the probe guest is not built: $PROBE"
	load boot-helpers
	cp "$PROBE" "$JPUB/probe.elf"
	chmod 644 "$JPUB/probe.elf"
	cat >"$JPUB/vm.json" <<-JSON
	{
	  "boot-source": { "kernel_image_path": "/probe.elf", "boot_args": "$(probe_boot_args 1 64 boot)" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 }
	}
	JSON
	jail_ember --status-fd 9 --bind-ro "$JPUB/probe.elf=probe.elf" --bind-ro "$JPUB/vm.json=vm.json" \
		-- --no-api --config-file /vm.json 9>"$STATUS"
	assert_success
	assert_one_json_line
	assert_equal "$(status_get .ready)" "true"
	assert_equal "$(status_get .pid)" "$(cat "$JROOT/ember.pid")"
	kill_status_pid
}

# ---------------------------------------------------------------- one line, whatever happens

@test "--status-fd on a planning refusal: one line, step plan, the message" {
	jail --status-fd 9 --cgroup pids.max=2 -- --report /run/report 9>"$STATUS"
	assert_failure 2
	assert_one_json_line
	assert_equal "$(status_get .outcome)" "error"
	assert_equal "$(status_get .step)" "plan"
	assert_equal "$(status_get .error)" "pids.max=2 is below 3 (threads: vmm, api, one vCPU)"
	assert_no_residue
}

@test "--status-fd on an exec failure: one line naming exec_vmm" {
	cp "$STANDIN" "$BATS_TEST_TMPDIR/vmm-standin"
	chmod 644 "$BATS_TEST_TMPDIR/vmm-standin"
	STANDIN=$BATS_TEST_TMPDIR/vmm-standin
	jail --status-fd 9 -- --report /run/report 9>"$STATUS"
	assert_failure 3
	assert_one_json_line
	assert_equal "$(status_get .step)" "exec_vmm"
	assert_equal "$(status_get .errno)" "13"
}

@test "--status-fd with a non-UTF-8 id: one valid line, the bytes shown as U+FFFD" {
	JID=$'bad\xff\xfeid'
	jail --status-fd 9 -- --report /run/report 9>"$STATUS"
	assert_failure 2
	assert_one_json_line
	assert_equal "$(status_get .step)" "plan"
	assert_equal "$(status_get .id)" $'bad\xef\xbf\xbd\xef\xbf\xbdid'
}

@test "--status-fd with a non-UTF-8 exec file name: one valid line, the chroot with U+FFFD" {
	local name=$'stand\xc3in'
	cp "$STANDIN" "$BATS_TEST_TMPDIR/$name"
	STANDIN="$BATS_TEST_TMPDIR/$name"
	STANDIN_ORIG=$STANDIN
	jail --status-fd 9 -- --report /run/report 9>"$STATUS"
	assert_success
	assert_one_json_line
	assert_equal "$(status_get .chroot)" "$JBASE/stand"$'\xef\xbf\xbd'"in/$JID/root"
}

# ---------------------------------------------------------------- planning refusals

@test "refused while planning: memory.limit_in_bytes=1" {
	bad_input 2 "memory.limit_in_bytes=1 is below 16 MiB" --cgroup memory.limit_in_bytes=1
}

@test "refused while planning: memory.memsw.limit_in_bytes=8M" {
	bad_input 2 "memory.memsw.limit_in_bytes=8M is below 16 MiB" --cgroup memory.memsw.limit_in_bytes=8M
}

@test "refused while planning: pids.max=2, with the exact text" {
	bad_input 2 "pids.max=2 is below 3 (threads: vmm, api, one vCPU)" --cgroup pids.max=2
}

@test "refused while planning: an empty template file" {
	: >"$BATS_TEST_TMPDIR/empty.yaml"
	bad_input 2 "sets no value" --cgroup-template "$BATS_TEST_TMPDIR/empty.yaml"
}

@test "refused while planning: a bound file the VMM's uid cannot read (0600, root's), naming file and uid" {
	echo secret >"$JPUB/secret"
	chmod 600 "$JPUB/secret"
	bad_input 2 "$JPUB/secret: uid $JUID" --bind-ro "$JPUB/secret=secret"
	assert_output --partial "cannot read it"
}

@test "refused while planning: a bound file in a 0700 directory the uid cannot search" {
	mkdir -m 700 "$JPUB/private"
	echo secret >"$JPUB/private/file"
	chmod 644 "$JPUB/private/file"
	bad_input 2 "cannot search $JPUB/private" --bind-ro "$JPUB/private/file=file"
}

@test "refused while planning: a bound file through a symlink" {
	echo data >"$JPUB/data"
	chmod 644 "$JPUB/data"
	ln -s "$JPUB/data" "$JPUB/link"
	bad_input 2 "symbolic link" --bind-ro "$JPUB/link=data"
	mkdir "$JPUB/realdir"
	cp "$JPUB/data" "$JPUB/realdir/data"
	ln -s "$JPUB/realdir" "$JPUB/dirlink"
	bad_input 2 "symbolic link" --bind "$JPUB/dirlink/data=data"
}

@test "refused while planning: an exec file writable by group or others" {
	cp "$STANDIN" "$BATS_TEST_TMPDIR/vmm-standin"
	chmod 775 "$BATS_TEST_TMPDIR/vmm-standin"
	STANDIN=$BATS_TEST_TMPDIR/vmm-standin
	bad_input 2 "is writable by group or others (mode 0775)"
}

@test "refused while planning: an exec file in a world-writable directory without the sticky bit" {
	mkdir -m 777 "$BATS_TEST_TMPDIR/open"
	chmod 777 "$BATS_TEST_TMPDIR/open"
	cp "$STANDIN" "$BATS_TEST_TMPDIR/open/vmm-standin"
	STANDIN=$BATS_TEST_TMPDIR/open/vmm-standin
	bad_input 2 "world-writable without the sticky bit"
}

@test "refused while planning: an exec file named dev, run, old_root or .hidden" {
	local n
	for n in dev run old_root .hidden; do
		mkdir -p "$BATS_TEST_TMPDIR/x-$n"
		cp "$STANDIN" "$BATS_TEST_TMPDIR/x-$n/$n"
		STANDIN=$BATS_TEST_TMPDIR/x-$n/$n
		bad_input 2 "Invalid exec file name: $n"
	done
}

@test "refused while planning: a base dir on procfs, sysfs or cgroupfs" {
	JBASE_ARG=/proc
	bad_input 2 "is on procfs"
	JBASE_ARG=/sys/kernel
	bad_input 2 "is on sysfs"
	JBASE_ARG=$(cgroup_mounts | head -1)
	[ -n "$JBASE_ARG" ] || skip "no cgroup mount here"
	bad_input 2 "is on cgroup"
}

@test "refused while planning: a base dir mounted read-only, noexec or nodev" {
	local opt why
	for opt in ro noexec nodev; do
		mkdir -p "$BATS_TEST_TMPDIR/m-$opt"
		# A private mount namespace: the host never sees the tmpfs.
		run unshare -m sh -c "mount -t tmpfs -o $opt tmpfs '$BATS_TEST_TMPDIR/m-$opt' &&
			exec '$JAILER' --id '$JID' --exec-file '$STANDIN' --uid $JUID --gid $JGID \
				--chroot-base-dir '$BATS_TEST_TMPDIR/m-$opt' --parent-cgroup '$JPARENT'"
		assert_failure 2
		case $opt in ro) why="read-only" ;; *) why=$opt ;; esac
		assert_output --partial "mounted $why"
	done
	assert_no_residue
}

# ---------------------------------------------------------------- --bind

# The mount of /NAME as the VMM sees it: "<options> <inode>".
jail_mount_of() {
	local pid=$1 name=$2
	awk -v n="/$name" '$5 == n { print $6 }' "/proc/$pid/mountinfo"
}

@test "--bind FILE=NAME:rw: writable by the VMM, nosuid, nodev, noexec; --bind-ro and :ro read-only" {
	echo rw >"$JPUB/disk.img"
	echo ro >"$JPUB/ro.img"
	echo ro2 >"$JPUB/ro2.img"
	chown "$JUID:$JGID" "$JPUB/disk.img"
	chmod 600 "$JPUB/disk.img"
	chmod 644 "$JPUB/ro.img" "$JPUB/ro2.img"
	jail --daemonize --bind "$JPUB/disk.img=disk.img:rw" --bind-ro "$JPUB/ro.img=ro.img" \
		--bind "$JPUB/ro2.img=ro2.img" -- --report /run/report --sleep 30
	assert_success
	pid=$(cat "$JROOT/vmm-standin.pid")
	assert_equal "$(jail_mount_of "$pid" disk.img)" "rw,nosuid,nodev,noexec,relatime"
	assert_equal "$(jail_mount_of "$pid" ro.img)" "ro,nosuid,nodev,noexec,relatime"
	assert_equal "$(jail_mount_of "$pid" ro2.img)" "ro,nosuid,nodev,noexec,relatime"
	# The jail sees the very inodes named.
	assert_equal "$(stat -c %i "/proc/$pid/root/disk.img")" "$(stat -c %i "$JPUB/disk.img")"
	assert_equal "$(stat -c %i "/proc/$pid/root/ro.img")" "$(stat -c %i "$JPUB/ro.img")"
	# On the host the tree holds only empty, root-owned mount points.
	assert_equal "$(stat -c '%s %u' "$JROOT/disk.img")" "0 0"
}

@test "--bind :rw needs a file the VMM's uid can write" {
	echo data >"$JPUB/disk.img"
	chmod 644 "$JPUB/disk.img"
	bad_input 2 "uid $JUID (gid $JGID, no groups, no capabilities) cannot read and write it" \
		--bind "$JPUB/disk.img=disk.img:rw"
}

@test "--bind :rw with uid 0: a root-owned file is refused" {
	echo data >"$JPUB/disk.img"
	chmod 600 "$JPUB/disk.img"
	JUID=0
	JGID=0
	bad_input 2 "is owned by root" --allow-root --bind "$JPUB/disk.img=disk.img:rw"
}

@test "bad --bind: a bad mode suffix, a reserved name, the same name twice" {
	echo data >"$JPUB/f"
	chmod 644 "$JPUB/f"
	bad_input 2 "Invalid --bind" --bind "$JPUB/f=f:rx"
	bad_input 2 "Invalid --bind" --bind "$JPUB/f=old_root"
	bad_input 2 "Invalid --bind-ro" --bind-ro "$JPUB/f=f:ro"
	bad_input 2 "name f given twice" --bind "$JPUB/f=f" --bind-ro "$JPUB/f=f"
}

# ---------------------------------------------------------------- cgroups joined last

@test "the VMM joins its cgroups after the last fork: pids.max=3 holds only the VMM" {
	[ -n "$(cgroup_v1_mount pids)" ] || skip "no v1 pids here"
	jail --daemonize --new-pid-ns --new-user-ns --status-fd 9 --cgroup pids.max=3 \
		-- --report /run/report --sleep 30 9>"$STATUS"
	assert_success
	local cg
	cg="$(cgroup_v1_mount pids)/$JPARENT/$JID"
	assert_equal "$(cat "$cg/cgroup.procs")" "$(cat "$JROOT/vmm-standin.pid")"
	assert_equal "$(cat "$cg/pids.current")" "1"
}

# ---------------------------------------------------------------- swap races (the race shim)

# The LD_PRELOAD shim of jailer-race.bats: RACE_SHIM_RENAME_FROM is renamed
# over RACE_SHIM_RENAME_OVER right after the jailer's first open of it.
require_shim() {
	SHIM=${RACE_SHIM:-$EMBER_BUILD/test/helpers/race-shim.so}
	[ -f "$SHIM" ] || skip "race shim not built ($SHIM)"
	! ldd "$JAILER" 2>/dev/null | grep -q libasan ||
		skip "a sanitizer build of the jailer takes no LD_PRELOAD shim (the ASan runtime must come first)"
}

@test "swap: a script renamed over the exec file right after the jailer's first open: exit 1, nothing left" {
	require_shim
	cp "$STANDIN" "$BATS_TEST_TMPDIR/vmm-standin"
	STANDIN=$BATS_TEST_TMPDIR/vmm-standin
	printf '#!/bin/sh\necho owned >/run/owned\n' >"$BATS_TEST_TMPDIR/script"
	chmod 755 "$BATS_TEST_TMPDIR/script"
	run env RACE_SHIM_RENAME_OVER="$STANDIN" RACE_SHIM_RENAME_FROM="$BATS_TEST_TMPDIR/script" LD_PRELOAD="$SHIM" \
		"$JAILER" --id "$JID" --exec-file "$STANDIN" --uid "$JUID" --gid "$JGID" --chroot-base-dir "$JBASE" \
		--parent-cgroup "$JPARENT" --cgroup pids.max=10 -- --report /run/report
	assert_failure 1
	assert_output --partial "step copy_exec_file failed"
	assert_output --partial "is not a 64-bit ELF executable"
	# The swap did happen: the path names the script now.
	assert_equal "$(head -c 2 "$STANDIN")" "#!"
	assert_no_residue
}

@test "swap: a file renamed over a bound file right after the jailer's first open: the jail never sees it" {
	# The jail could only ever see the checked inode. Once its name is gone
	# (renamed over), Linux mounts it no more (ENOENT, also through
	# /proc/self/fd): the step fails, everything is undone.
	require_shim
	echo checked >"$JPUB/kernel"
	echo swapped >"$JPUB/other"
	chmod 644 "$JPUB/kernel" "$JPUB/other"
	run env RACE_SHIM_RENAME_OVER="$JPUB/kernel" RACE_SHIM_RENAME_FROM="$JPUB/other" LD_PRELOAD="$SHIM" \
		"$JAILER" --id "$JID" --exec-file "$STANDIN" --uid "$JUID" --gid "$JGID" --chroot-base-dir "$JBASE" \
		--parent-cgroup "$JPARENT" --daemonize --bind-ro "$JPUB/kernel=kernel" -- --report /run/report --sleep 30
	assert_failure 1
	assert_output --partial "step bind_files failed"
	assert_output --partial "renamed over or removed after the jailer checked it"
	assert_equal "$(cat "$JPUB/kernel")" "swapped"
	assert_no_residue
}
