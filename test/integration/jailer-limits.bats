#!/usr/bin/env bats
# The jailer's operator-facing limits: the no-file floor, what the shipped
# cgroup templates contain, where templates are found, and the optional io
# weight on hosts without one.

load helpers
load jailer-helpers
load boot-helpers

setup() {
	jail_setup
}

teardown() {
	jail_teardown
	[ -n "${CFG_DIR:-}" ] && rm -rf "$CFG_DIR"
	return 0
}

# The floor from jailer/jailer.h (JAIL_MIN_NOFILE), as doc/jailer.md states it.
nofile_floor() {
	sed -n 's/^#define JAIL_MIN_NOFILE \([0-9]*\).*/\1/p' "$EMBER_SRC/jailer/jailer.h"
}

@test "no-file=5 is refused while planning and leaves nothing behind" {
	bad_input 2 "Resource limit no-file=5 is below $(nofile_floor), what ember needs to start" \
		--resource-limit no-file=5
}

@test "no-file at the floor: the jailer's last steps still run and the VMM gets the limit" {
	local n
	n=$(nofile_floor)
	jail --resource-limit "no-file=$n" -- --report /run/report
	assert_success
	wait_for_file "$JROOT/run/report"
	assert_equal "$(report_get rlimit_nofile)" "$n,$n"
}

@test "no-file at the floor: a jailed ember boots the probe with its API" {
	require_kvm
	require_built_ember
	! readelf -lW "$EMBER" | grep -q 'program interpreter' || skip "a dynamically linked (sanitizer) ember cannot run alone in a jail"
	local n cfg PROBE_HOST=$PROBE
	# the VMM's uid must reach the bound files itself (doc/jailer.md, Bound files)
	CFG_DIR=$(mktemp -d /tmp/ember-limits-bats.XXXXXX)
	chmod 755 "$CFG_DIR"
	cfg="$CFG_DIR/vm.json"
	n=$(nofile_floor)
	PROBE=/probe.elf probe_config "$cfg" 1 128 boot # the kernel as the jail shows it
	STANDIN=$EMBER
	STANDIN_ORIG=$EMBER # the teardown's --cleanup names the ember jail
	JDIR="$JBASE/ember/$JID"
	JROOT="$JDIR/root"
	run timeout --kill-after=5 120 "$JAILER" --id "$JID" --exec-file "$EMBER" --uid "$JUID" --gid "$JGID" \
		--chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT" --resource-limit "no-file=$n" \
		--bind-ro "$PROBE_HOST=probe.elf" --bind-ro "$cfg=vm.json" -- --api-sock /run/api.sock --config-file /vm.json
	assert_success
	assert_output --regexp 'PROBE DONE pass=[1-9][0-9]* fail=0'
	refute_output --partial 'Too many open files'
}

@test "the shipped templates pin no CPU (--dry-run shows no cpuset)" {
	local t v
	for t in small medium; do
		for v in 1 2; do
			jail --dry-run --cgroup-version "$v" --cgroup-template "$t"
			# v2 needs the controllers delegated at the root; a host without them says so
			if [ "$v" = 2 ] && [ "$status" -ne 0 ]; then
				assert_output --partial "is unavailable"
				continue
			fi
			assert_success
			refute_output --partial cpuset
		done
	done
}

@test "the shipped templates' memory limits leave room beside the guest size they name" {
	local t guest limit
	for t in small medium; do
		guest=$(sed -n 's/^# guest-mib: \([0-9]*\).*/\1/p' "$EMBER_SRC/cgroup-templates/$t.yaml")
		[ -n "$guest" ] || fail "$t.yaml names no guest size (# guest-mib: N)"
		jail --dry-run --cgroup-template "$t"
		assert_success
		limit=$(printf '%s\n' "$output" | sed -n 's/^cgroup-file: .*memory.limit_in_bytes = //p')
		[ -n "$limit" ] || fail "no memory limit in $t: $output"
		# ember itself needs a few MiB (doc/cgroup-templates.md); 64 MiB is the least room allowed
		[ "$limit" -ge $(((guest + 64) * 1048576)) ] || fail "$t: $limit bytes for a $guest MiB guest"
	done
}

@test "--template-dir DIR: the template is read from DIR; a missing one names the path" {
	mkdir "$BATS_TEST_TMPDIR/tpl"
	printf 'pids:\n  max: 7\n' >"$BATS_TEST_TMPDIR/tpl/small.yaml"
	jail --dry-run --template-dir "$BATS_TEST_TMPDIR/tpl" --cgroup-template small
	assert_success
	assert_output --regexp 'cgroup-file: [^ ]*/pids.max = 7'$'\n'
	refute_output --partial memory.limit_in_bytes
	jail --dry-run --template-dir "$BATS_TEST_TMPDIR/tpl" --cgroup-template medium
	assert_failure 2
	assert_output --partial "Cannot open cgroup template $BATS_TEST_TMPDIR/tpl/medium.yaml"
	assert_output --partial "No such file or directory"
	# --help lists the names that directory offers
	run "$JAILER" --template-dir "$BATS_TEST_TMPDIR/tpl" --help
	assert_success
	assert_output --partial "Cgroup templates in $BATS_TEST_TMPDIR/tpl: small"
	refute_output --partial medium
}

@test "a template's io weight without blkio.weight on the host: skipped in silence, shown in --dry-run" {
	local blkio
	blkio=$(cgroup_v1_mount blkio)
	[ -n "$blkio" ] || skip "no v1 blkio hierarchy here"
	jail --dry-run --cgroup-template small
	assert_success
	if [ -e "$blkio/blkio.weight" ]; then
		assert_output --partial "/blkio.weight = 100"
		skip "this host has blkio.weight: nothing is skipped"
	fi
	assert_output --partial "cgroup-skipped: blkio.weight = 100 (this host has no cgroup v1 blkio.weight"
	jail --cgroup-template small -- --report /run/report
	assert_success
	refute_output --partial warning
	refute_output --partial blkio
}
