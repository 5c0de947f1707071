#!/usr/bin/env bats
# The balloon (doc/balloon.md): Firecracker's API with its texts and gating,
# the config key, and the device driven by the probe guest's balloon,
# balloon-report and balloon-hint scenarios. Memory given back is measured
# where it goes: the Rss of ember's guest-memory mapping in
# /proc/<pid>/smaps, against a probe=wait run in the same test (the same
# RAM, nothing touched). Those comparisons skip under the seccomp suite's
# strace wrapper, where $EMBER_PID is not ember.

load helpers
load api-helpers
load boot-helpers

teardown() {
	api_stop
}

MEM=128

# guest_rss_kib PID: the Rss of the process's guest-memory mapping (the
# anonymous mapping of $MEM MiB), in KiB.
guest_rss_kib() {
	python3 - "$1" "$((MEM * 1024))" <<-'PY'
	import sys
	size, rss, best = None, 0, None
	for line in open(f"/proc/{sys.argv[1]}/smaps"):
	    f = line.split()
	    if f[0] == "Size:":
	        size = int(f[1])
	    elif f[0] == "Rss:" and size == int(sys.argv[2]):
	        best = int(f[1])
	print(best if best is not None else -1)
	PY
}

# can_measure: $EMBER_PID is ember itself (not the strace wrapper's).
can_measure() {
	head -c 4 "$EMBER" | grep -q ELF
}

# wait_baseline_kib: boots probe=wait through the API, reads the guest
# memory's Rss once it runs, ends it; the Rss in $BASE_KIB.
wait_baseline_kib() {
	api_start
	expect_api 204 PUT /machine-config "{\"vcpu_count\":1,\"mem_size_mib\":$MEM}"
	boot_probe probe=wait
	wait_guest_running
	BASE_KIB=$(guest_rss_kib "$EMBER_PID")
	expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	[ "$BASE_KIB" -gt 0 ] || fail "no guest mapping of $MEM MiB in /proc/$EMBER_PID/smaps"
}

# assert_freed RSS_KIB TOUCHED_KIB: the guest touched TOUCHED_KIB beyond
# what probe=wait touches and gave it back: its Rss is below the baseline
# plus a quarter of that (without the balloon it would be baseline + all).
assert_freed() {
	local rss=$1 touched=$2
	echo "# guest Rss ${rss} KiB, probe=wait ${BASE_KIB} KiB, given back ${touched} KiB" >&3
	[ "$rss" -gt 0 ] || fail "no guest mapping in smaps"
	[ "$rss" -lt $((BASE_KIB + touched / 4)) ] ||
		fail "guest Rss ${rss} KiB: not below the probe=wait run's ${BASE_KIB} KiB + a quarter of the ${touched} KiB given back"
}

# metric_sum FIELD: the sum over the metrics file's lines of balloon.FIELD.
metric_sum() {
	python3 - "$BATS_TEST_TMPDIR/metrics.json" "$1" <<-'PY'
	import json, sys
	print(sum(json.loads(l)["balloon"][sys.argv[2]] for l in open(sys.argv[1]) if l.strip()))
	PY
}

@test "balloon API before boot: Firecracker's fields, texts and gating; machine-config and the balloon bound each other" {
	api_start
	expect_api 400 GET /balloon '' '"fault_message":"Balloon config error: No balloon device found."'
	expect_api 400 PUT /balloon '{"amount_mib":1}' 'missing field `deflate_on_oom`'
	expect_api 400 PUT /balloon '{"deflate_on_oom":true}' 'missing field `amount_mib`'
	expect_api 400 PUT /balloon '{"amount_mib":-1,"deflate_on_oom":true}' 'expected u32 for field `amount_mib`'
	expect_api 400 PUT /balloon '{"amount_mib":1,"deflate_on_oom":true,"stats_polling_interval_s":65536}' 'expected u16'
	expect_api 400 PUT /balloon '{"amount_mib":1,"deflate_on_oom":1}' 'expected a boolean'
	expect_api 400 PUT /balloon '{"amount_mib":1,"deflate_on_oom":true,"x":1}' 'unknown field `x`'
	expect_api 400 PUT /balloon '{"amount_mib":129,"deflate_on_oom":true}' \
		'"fault_message":"Balloon config error: Amount of pages requested is too large."'
	expect_api 400 PUT /balloon '{"amount_mib":16777216,"deflate_on_oom":true}' 'Amount of pages requested is too large.'
	expect_api 204 PUT /balloon '{"amount_mib":1,"deflate_on_oom":true}'
	# a second PUT replaces the first
	expect_api 204 PUT /balloon '{"amount_mib":64,"deflate_on_oom":false,"stats_polling_interval_s":5,"free_page_hinting":true,"free_page_reporting":true}'
	expect_api 200 GET /balloon '' '{"amount_mib":64,"deflate_on_oom":false,"stats_polling_interval_s":5,"free_page_hinting":true,"free_page_reporting":true}'
	expect_api 200 GET /vm/config '' '"balloon":{"amount_mib":64,"deflate_on_oom":false,"stats_polling_interval_s":5'
	expect_api 400 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":63}' \
		'"fault_message":"Machine config error: The memory size (MiB) is smaller than the previously set balloon device target size."'
	expect_api 400 PATCH /machine-config '{"mem_size_mib":32}' 'smaller than the previously set balloon device target size.'
	expect_api 204 PATCH /machine-config '{"mem_size_mib":64}'
	# post-boot requests before boot
	expect_api 400 PATCH /balloon '{"amount_mib":2}' 'The requested operation is not supported before starting the microVM.'
	expect_api 400 GET /balloon/statistics '' 'not supported before starting the microVM.'
	expect_api 400 PATCH /balloon/statistics '{"stats_polling_interval_s":1}' 'not supported before starting the microVM.'
	expect_api 400 PATCH /balloon/hinting/start '' 'not supported before starting the microVM.'
	expect_api 400 GET /balloon/hinting/status '' 'not supported before starting the microVM.'
	expect_api 400 PATCH /balloon/hinting/stop '' 'not supported before starting the microVM.'
	# paths Firecracker does not know under /balloon, and bodies
	expect_api 400 GET /balloon/foo '' 'Unrecognized GET request path `foo`.'
	expect_api 400 GET /balloon/hinting/foo '' 'Unrecognized GET request path `/hinting/foo`.'
	expect_api 400 PATCH /balloon/hinting/foo '' 'Unrecognized PATCH request path `/hinting/foo`.'
	expect_api 400 PATCH /balloon/statistics '' 'Empty PATCH request.'
	expect_api 400 GET /balloon/statistics '{}' 'GET request cannot have a body.'
}

@test "the config key balloon: accepted, shown by GET /vm/config, bounded by mem_size_mib in either order" {
	require_kvm
	probe_config "$BATS_TEST_TMPDIR/vm.json" 1 "$MEM" balloon probe.balloon_wait_ms=100
	python3 - "$BATS_TEST_TMPDIR/vm.json" <<-'PY'
	import json, sys
	c = json.load(open(sys.argv[1]))
	c["balloon"] = {"amount_mib": 8, "deflate_on_oom": False}
	json.dump(c, open(sys.argv[1], "w"))
	PY
	run_ember_config "$BATS_TEST_TMPDIR/vm.json"
	assert_success
	assert_line 'PROBE-INFO balloon.inflated 2048'
	assert_line --partial 'PROBE balloon.stats skip'
	assert_probe_all_ok
	printf '{"balloon":{"amount_mib":65,"deflate_on_oom":true},"machine-config":{"vcpu_count":1,"mem_size_mib":64}}' \
		>"$BATS_TEST_TMPDIR/big.json"
	run_ember_config "$BATS_TEST_TMPDIR/big.json"
	assert_equal "$status" 152
	assert_output --partial 'balloon: Amount of pages requested is too large.'
	printf '{"balloon":[]}' >"$BATS_TEST_TMPDIR/list.json"
	run_ember_config "$BATS_TEST_TMPDIR/list.json"
	assert_equal "$status" 152
	assert_output --partial 'balloon: expected one balloon device object'
}

@test "inflate gives the pages back (guest Rss vs probe=wait), PATCH deflates, statistics equal those posted, hostile PFNs skipped; the Go SDK's five calls" {
	require_kvm
	can_measure && wait_baseline_kib
	: >"$BATS_TEST_TMPDIR/metrics.json"
	api_start --metrics-path "$BATS_TEST_TMPDIR/metrics.json" --log-path "$BATS_TEST_TMPDIR/log" --level Warning
	expect_api 204 PUT /machine-config "{\"vcpu_count\":1,\"mem_size_mib\":$MEM}"
	# the SDK's CreateBalloon (NewCreateBalloonHandler) and GetBalloonConfig, with their bodies
	expect_api 204 PUT /balloon '{"amount_mib":64,"deflate_on_oom":true,"stats_polling_interval_s":1}'
	expect_api 200 GET /balloon '' '{"amount_mib":64,"deflate_on_oom":true,"stats_polling_interval_s":1,"free_page_hinting":false,"free_page_reporting":false}'
	boot_probe probe=balloon,wait probe.balloon_wait_ms=60000
	wait_output 'PROBE-INFO balloon.inflated 16384'
	if can_measure; then
		assert_freed "$(guest_rss_kib "$EMBER_PID")" $((64 * 1024))
	fi
	# GetBalloonStats: the eight values the probe posted, the sizes in pages and MiB
	expect_api 200 GET /balloon/statistics '' \
		'{"target_pages":16384,"actual_pages":16384,"target_mib":64,"actual_mib":64,"swap_in":1,"swap_out":2,"major_faults":3,"minor_faults":4,"free_memory":20480,"total_memory":24576,"available_memory":28672,"disk_caches":32768}'
	# UpdateBalloonStats, then Firecracker's refusals after boot
	expect_api 204 PATCH /balloon/statistics '{"stats_polling_interval_s":2}'
	expect_api 400 PATCH /balloon/statistics '{"stats_polling_interval_s":0}' \
		'"fault_message":"Balloon update error: Balloon: Statistics cannot be enabled/disabled after activation."'
	expect_api 400 PATCH /balloon '{"amount_mib":129}' \
		'"fault_message":"Balloon update error: Balloon: Requested memory should be less than 128MiB"'
	expect_api 400 PATCH /balloon '{"amount_mib":4294967296}' 'expected u32 for field `amount_mib`'
	expect_api 400 PATCH /balloon/hinting/start '' 'Balloon update error: Balloon: Attempting to use hinting when not enabled'
	expect_api 400 GET /balloon/hinting/status '' 'Balloon update error: Balloon: Attempting to use hinting when not enabled'
	expect_api 400 PATCH /balloon/hinting/stop '' 'Balloon update error: Balloon: Attempting to use hinting when not enabled'
	expect_api 400 PUT /balloon '{"amount_mib":1,"deflate_on_oom":true}' 'not supported after starting the microVM.'
	# UpdateBalloon: a lower target, which the guest deflates to
	expect_api 204 PATCH /balloon '{"amount_mib":32}'
	wait_output 'PROBE-INFO balloon.deflated 8192'
	expect_api 200 GET /balloon '' '"amount_mib":32,'
	expect_api 200 GET /vm/config '' '"balloon":{"amount_mib":32,'
	# the wait scenario after it keeps the guest until told
	wait_output 'PROBE irq.balloon'
	wait_guest_running
	expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	run cat "$OUT"
	assert_line 'PROBE balloon.stats ok'
	assert_line 'PROBE balloon.hostile ok'
	assert_line 'PROBE irq.balloon ok'
	assert_probe_all_ok
	# the hostile inflate: one PFN past RAM, one in the MMIO gap, a duplicate
	grep -q 'balloon: inflate PFNs skipped: 2 outside guest RAM, 1 duplicated' "$BATS_TEST_TMPDIR/log" ||
		fail "no skipped-PFN line in the log: $(cat "$BATS_TEST_TMPDIR/log")"
	[ "$(metric_sum inflate_count)" -ge 2 ] || fail "inflate_count $(metric_sum inflate_count)"
	[ "$(metric_sum deflate_count)" -ge 1 ] || fail "deflate_count $(metric_sum deflate_count)"
	[ "$(metric_sum stats_updates_count)" -ge 2 ] || fail "stats_updates_count $(metric_sum stats_updates_count)"
}

@test "free page reporting gives the reported pages back and counts them; a range past RAM counts in free_page_report_fails" {
	require_kvm
	can_measure && wait_baseline_kib
	: >"$BATS_TEST_TMPDIR/metrics.json"
	api_start --metrics-path "$BATS_TEST_TMPDIR/metrics.json"
	expect_api 204 PUT /machine-config "{\"vcpu_count\":1,\"mem_size_mib\":$MEM}"
	expect_api 204 PUT /balloon '{"amount_mib":0,"deflate_on_oom":false,"free_page_reporting":true}'
	boot_probe probe=balloon-report,wait probe.balloon_report_mib=48
	wait_output 'PROBE balloon.report_hostile'
	wait_guest_running
	if can_measure; then
		assert_freed "$(guest_rss_kib "$EMBER_PID")" $((48 * 1024))
	fi
	expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	run cat "$OUT"
	assert_line 'PROBE-INFO balloon.reported 12288'
	assert_line 'PROBE balloon.report ok'
	assert_line 'PROBE balloon.report_hostile ok'
	assert_probe_all_ok
	# 48 ranges, the hostile one and the 1 MiB reported after it
	assert_equal "$(metric_sum free_page_report_count)" 49
	assert_equal "$(metric_sum free_page_report_freed)" $((49 * 1048576))
	assert_equal "$(metric_sum free_page_report_fails)" 1
}

@test "free page hinting: start with acknowledge_on_stop false, the guest's id and ranges, status, stop; the hinted pages are given back and counted" {
	require_kvm
	can_measure && wait_baseline_kib
	: >"$BATS_TEST_TMPDIR/metrics.json"
	api_start --metrics-path "$BATS_TEST_TMPDIR/metrics.json"
	expect_api 204 PUT /machine-config "{\"vcpu_count\":1,\"mem_size_mib\":$MEM}"
	expect_api 204 PUT /balloon '{"amount_mib":0,"deflate_on_oom":false,"free_page_hinting":true}'
	boot_probe probe=balloon-hint,wait probe.balloon_hint_mib=32 probe.balloon_wait_ms=60000
	wait_output 'PROBE-INFO balloon.hint_ready'
	expect_api 200 GET /balloon/hinting/status '' '{"host_cmd":0,"guest_cmd":null}'
	expect_api 400 GET /balloon/statistics '' \
		'"fault_message":"Internal VMM error: Balloon: Received stats query when stats are disabled."'
	expect_api 400 PATCH /balloon/hinting/start '{"acknowledge_on_stop":1}' 'expected a boolean'
	expect_api 204 PATCH /balloon/hinting/start '{"acknowledge_on_stop":false}'
	wait_output 'PROBE-INFO balloon.hinted 8192'
	# the guest ended its hints with STOP (0); the host's run is still 2
	expect_api 200 GET /balloon/hinting/status '' '{"host_cmd":2,"guest_cmd":0}'
	if can_measure; then
		assert_freed "$(guest_rss_kib "$EMBER_PID")" $((32 * 1024))
	fi
	expect_api 204 PATCH /balloon/hinting/stop
	wait_output 'PROBE balloon.hint '
	expect_api 200 GET /balloon/hinting/status '' '{"host_cmd":1,"guest_cmd":0}'
	wait_guest_running
	expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	run cat "$OUT"
	assert_line 'PROBE balloon.hint ok'
	assert_probe_all_ok
	assert_equal "$(metric_sum free_page_hint_count)" 32
	assert_equal "$(metric_sum free_page_hint_freed)" $((32 * 1048576))
	assert_equal "$(metric_sum free_page_hint_fails)" 0
}

@test "post-boot balloon requests without a balloon: Firecracker's device-not-found texts" {
	require_kvm
	api_start
	boot_wait_guest
	expect_api 400 GET /balloon '' '"fault_message":"Internal VMM error: Failed perform action on device: Device not found"'
	expect_api 400 PATCH /balloon '{"amount_mib":1}' '"fault_message":"Balloon update error: Failed perform action on device: Device not found"'
	expect_api 400 GET /balloon/statistics '' 'Internal VMM error: Failed perform action on device: Device not found'
	expect_api 400 PATCH /balloon/hinting/start '' 'Balloon update error: Failed perform action on device: Device not found'
	expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
}
