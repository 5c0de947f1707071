#!/usr/bin/env bats
# The README's first command, exactly as an operator runs it: a jailed ember boots the probe guest.

load helpers

@test "tools/demo.sh boots the probe guest in a jail and leaves nothing behind" {
	require_root
	require_kvm
	[ -c /dev/net/tun ] || skip "the jailer needs /dev/net/tun on the host"
	! readelf -lW "$EMBER" | grep -q 'program interpreter' ||
		skip "this ember is dynamically linked (a sanitizer build): only a static one can run alone in a jail"
	before=$(ls -d /tmp/ember-demo.* 2>/dev/null | wc -l)
	cgroups_before=$(find /sys/fs/cgroup -maxdepth 3 -type d -name 'ember-demo-*' | wc -l)
	run timeout --kill-after=5 300 "$EMBER_SRC/tools/demo.sh"
	assert_success
	assert_output --regexp 'PROBE DONE pass=[1-9][0-9]* fail=0'
	refute_output --regexp 'PROBE [^ ]+ FAIL'
	assert_output --partial 'Guest-boot-time ='
	assert_output --partial 'Firecracker exiting successfully. exit_code=0'
	# each step says what it does; the build shows ninja's own progress; no npm for a demo
	assert_output --partial 'demo: [1/3] installing what the build needs'
	assert_output --partial 'demo: [2/3] building'
	assert_output --partial 'ninja: Entering directory'
	assert_output --partial 'demo: [3/3] jailing ember'
	refute_output --partial 'OpenAPI validator'
	assert_equal "$(ls -d /tmp/ember-demo.* 2>/dev/null | wc -l)" "$before"
	assert_equal "$(find /sys/fs/cgroup -maxdepth 3 -type d -name 'ember-demo-*' | wc -l)" "$cgroups_before"
}

@test "tools/demo.sh says which step failed: the jailed VM's exit code is the demo's" {
	require_root
	require_kvm
	! readelf -lW "$EMBER" | grep -q 'program interpreter' ||
		skip "this ember is dynamically linked (a sanitizer build): only a static one can run alone in a jail"
	# uid 4294967295 is refused by the jailer while planning: a failure in step 3, after set-up and build
	run env EMBER_DEMO_UID=4294967295 timeout --kill-after=5 300 "$EMBER_SRC/tools/demo.sh"
	assert_failure 2
	assert_output --partial 'Invalid uid: 4294967295'
	assert_output --partial 'demo: FAILED: [3/3] the jailed microVM (exit 2'
}
