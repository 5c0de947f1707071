#!/usr/bin/env bats
# virtio-blk end to end: the probe guest drives the device through its MMIO
# registers and queues (scenarios blk and hostile-blk), the host checks the
# backing files. See doc/block.md.

load helpers
load block-helpers

setup() {
	TMP=$(mktemp -d)
	truncate -s 1M "$TMP/data.img"
	truncate -s 64K "$TMP/root.img"
}

teardown() {
	declare -F api_stop >/dev/null && api_stop
	[ -n "${LARGE:-}" ] && rm -f "$LARGE"
	rm -rf "$TMP"
}

blk_run_engine() {
	local engine=$1
	blk_config "$TMP/vm.json" boot,blk,hostile-blk "probe.blk_seed=7" \
		"$(blk_drive rootfs "$TMP/root.img" true true)" \
		"$(blk_drive data "$TMP/data.img" false false "\"cache_type\": \"Writeback\", \"io_engine\": \"$engine\"")"
	run_blk_config "$TMP/vm.json"
	assert_probe_all_ok
	assert_equal "$status" 0
	# what the guest wrote is in the file
	assert_equal "$(blk_sector8_hex "$TMP/data.img")" "$(blk_pattern_hex 7)"
	# GET_ID is Firecracker's st_dev‖st_rdev‖st_ino
	assert_equal "$(probe_info blk.id)" "$(blk_expected_id "$TMP/data.img")"
	# root first (vda, read-only), then the data drive; one window and IRQ each
	# (the probe cuts its cmdline line, so only the start is compared)
	assert_output --partial "root=/dev/vda ro virtio_mmio.device=4K@0xc0001000:5 virtio_mmio.device=4K@0xc00"
	# a used buffer's interrupt reached the boot CPU's LAPIC (IRR), per engine
	assert_output --partial "PROBE irq.blk ok"
}

@test "blk and hostile-blk scenarios pass with the Sync engine" {
	require_kvm
	blk_run_engine Sync
	refute_output --partial "falls back"
}

@test "blk and hostile-blk scenarios pass with the Async (io_uring) engine" {
	require_kvm
	blk_run_engine Async
	refute_output --partial "falls back to the Sync engine"
}

@test "blk-large: one read of 7 x 480 MiB into a 512 MiB guest is served whole (Sync engine)" {
	require_kvm
	blk_large_run Sync
	assert_output --partial "PROBE blk-large.read ok"
	assert_probe_all_ok
	assert_equal "$status" 0
}

@test "blk-large: one read of 7 x 480 MiB into a 512 MiB guest is served whole (Async engine: short completions resubmitted)" {
	require_kvm
	blk_large_run Async
	refute_output --partial "falls back to the Sync engine"
	assert_output --partial "PROBE blk-large.read ok"
	assert_probe_all_ok
	assert_equal "$status" 0
}

@test "a second boot reads what the first wrote" {
	require_kvm
	blk_config "$TMP/vm.json" blk "probe.blk_seed=11" "$(blk_drive data "$TMP/data.img" false false)"
	run_blk_config "$TMP/vm.json"
	assert_probe_all_ok
	blk_config "$TMP/vm.json" blk "probe.blk_verify=11 probe.blk_seed=12" \
		"$(blk_drive data "$TMP/data.img" false false '"io_engine": "Async"')"
	run_blk_config "$TMP/vm.json"
	assert_probe_all_ok
	assert_output --partial "PROBE blk.verify ok"
	assert_equal "$(blk_sector8_hex "$TMP/data.img")" "$(blk_pattern_hex 12)"
}

@test "a read-only drive cannot be written and its file is untouched" {
	require_kvm
	printf 'untouched' >"$TMP/ro.img"
	truncate -s 64K "$TMP/ro.img"
	before=$(sha256sum <"$TMP/ro.img")
	blk_config "$TMP/vm.json" blk "" "$(blk_drive data "$TMP/data.img" false false)" \
		"$(blk_drive ro "$TMP/ro.img" false true)"
	run_blk_config "$TMP/vm.json"
	assert_probe_all_ok
	assert_output --partial "PROBE blk.ro_write ok"
	assert_equal "$(sha256sum <"$TMP/ro.img")" "$before"
}

@test "a root drive with a partuuid appears as root=PARTUUID=" {
	require_kvm
	blk_config "$TMP/vm.json" boot "" \
		"$(blk_drive rootfs "$TMP/root.img" true false '"partuuid": "0eaa91a0-01"')"
	run_blk_config "$TMP/vm.json"
	assert_probe_all_ok
	assert_output --partial "root=PARTUUID=0eaa91a0-01 rw virtio_mmio.device=4K@0xc0001000:5"
}

@test "a rate-limited drive is throttled and still serves every request" {
	require_kvm
	# 4 ops per 50 ms: 24 reads must be held back several times
	blk_config "$TMP/vm.json" blk "probe.blk_reads=24" \
		"$(blk_drive data "$TMP/data.img" false false \
			'"rate_limiter": { "ops": { "size": 4, "refill_time": 50 }, "bandwidth": { "size": 1048576, "refill_time": 1000 } }')"
	run_blk_config "$TMP/vm.json" --level Info --metrics-path "$TMP/metrics.json"
	assert_probe_all_ok
	assert_output --partial "PROBE blk.timed_reads ok"
	[ -n "$(probe_info blk.reads_tsc)" ] || fail "no TSC figure"
	throttled=$(printf '%s\n' "$output" | sed -n 's/.*block data: .*rate limiter held requests back \([0-9]*\) times.*/\1/p')
	[ -n "$throttled" ] && [ "$throttled" -gt 0 ] || fail "no throttling reported: $output"
	# the metrics lines (deltas) add up to the same story
	sums=$(python3 -c 'import json,sys
t={}
for line in open(sys.argv[1]):
    m=json.loads(line)
    for g in ("block","block_data"):
        for k in ("rate_limiter_throttled_events","rate_limiter_event_count","read_count"):
            t[g+k]=t.get(g+k,0)+m.get(g,{}).get(k,0)
print(t["blockrate_limiter_throttled_events"], t["blockrate_limiter_event_count"], t["blockread_count"],
      t["block_datarate_limiter_throttled_events"], t["block_dataread_count"])' "$TMP/metrics.json")
	read -r m_throttled m_events m_reads d_throttled d_reads <<<"$sums"
	assert_equal "$m_throttled" "$throttled"
	# the drive's own group, block_<id>, tells the same
	assert_equal "$d_throttled" "$throttled"
	assert_equal "$d_reads" "$m_reads"
	[ "$m_events" -gt 0 ] || fail "no rate limiter timer events in the metrics: $sums"
	[ "$m_reads" -ge 24 ] || fail "block.read_count is $m_reads: $sums"
}

@test "config file: a missing backing file is refused with Firecracker's text" {
	blk_config "$TMP/vm.json" boot "" "$(blk_drive data "$TMP/nope.img" false false)"
	run_blk_config "$TMP/vm.json"
	assert_failure
	assert_output --partial "Unable to create the virtio block device: Error manipulating the backing file: $TMP/nope.img: No such file or directory (os error 2)"
}

@test "config file: two root drives are refused" {
	blk_config "$TMP/vm.json" boot "" "$(blk_drive a "$TMP/data.img" true false)" \
		"$(blk_drive b "$TMP/root.img" true false)"
	run_blk_config "$TMP/vm.json"
	assert_failure
	assert_output --partial "A root block device already exists!"
}

@test "config file: wrong types and unknown fields are refused" {
	blk_config "$TMP/vm.json" boot "" "$(blk_drive a "$TMP/data.img" '"yes"' false)"
	run_blk_config "$TMP/vm.json"
	assert_failure
	assert_output --partial 'invalid type: string "yes", expected a boolean'
	blk_config "$TMP/vm.json" boot "" "$(blk_drive a "$TMP/data.img" false false '"cache": 1')"
	run_blk_config "$TMP/vm.json"
	assert_failure
	assert_output --partial 'unknown field `cache`'
	blk_config "$TMP/vm.json" boot "" "$(blk_drive a "$TMP/data.img" false false '"io_engine": "Fast"')"
	run_blk_config "$TMP/vm.json"
	assert_failure
	assert_output --partial 'unknown variant `Fast`, expected `Sync` or `Async`'
	blk_config "$TMP/vm.json" boot "" "$(blk_drive 'a-b' "$TMP/data.img" false false)"
	run_blk_config "$TMP/vm.json"
	assert_failure
	assert_output --partial 'API Resource IDs can only contain alphanumeric characters and underscores.'
}

@test "API: PUT /drives before boot: ids, a missing file, two roots, wrong types; GET /vm/config lists them" {
	load api-helpers
	api_start
	expect_api 204 PUT /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$TMP/data.img\",\"is_root_device\":false}"
	expect_api 204 PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$TMP/root.img\",\"is_root_device\":true,\"is_read_only\":true}"
	expect_api 400 PUT /drives/data '{"drive_id":"other"}' 'The id from the path does not match the id from the body!'
	expect_api 400 PUT /drives/bad-id '{"drive_id":"bad-id"}' 'API Resource IDs can only contain alphanumeric characters and underscores.'
	expect_api 400 PUT /drives/gone "{\"drive_id\":\"gone\",\"path_on_host\":\"$TMP/gone.img\",\"is_root_device\":false}" \
		"Unable to create the virtio block device: Error manipulating the backing file: $TMP/gone.img: No such file or directory (os error 2)"
	expect_api 400 PUT /drives/root2 "{\"drive_id\":\"root2\",\"path_on_host\":\"$TMP/data.img\",\"is_root_device\":true}" \
		'A root block device already exists!'
	expect_api 400 PUT /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$TMP/data.img\",\"is_root_device\":false,\"is_read_only\":\"no\"}" \
		'invalid type: string \"no\", expected a boolean'
	expect_api 400 PUT /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$TMP/data.img\",\"is_root_device\":false,\"rate_limiter\":{\"ops\":{\"size\":1}}}" \
		'missing field `refill_time`'
	expect_api 400 PATCH /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$TMP/data.img\"}" \
		'The requested operation is not supported before starting the microVM.'
	expect_api 200 GET /vm/config
	# root first, then insertion order; the failed PUTs changed nothing
	drives=$(printf '%s' "$body" | python3 -c 'import json,sys; print(" ".join(d["drive_id"] + ":" + str(d["is_read_only"]) for d in json.load(sys.stdin)["drives"]))')
	assert_equal "$drives" "rootfs:True data:False"
	# and the answer matches doc/api.yaml, when its validator is installed
	if [ -d "$EMBER_SRC/tools/npm/node_modules" ]; then
		printf '%s' "$body" >"$TMP/vm-config.json"
		run node "$EMBER_SRC/test/integration/api-openapi.js" "$EMBER_SRC/doc/api.yaml" "/vm/config=$TMP/vm-config.json"
		assert_success
	fi
	api_stop
}

@test "API: PATCH /drives after boot swaps the file and the rate limiter; PUT is refused" {
	require_kvm
	load api-helpers
	truncate -s 2M "$TMP/new.img"
	api_start
	expect_api 204 PUT /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$TMP/data.img\",\"is_root_device\":false,\"rate_limiter\":{\"ops\":{\"size\":10,\"refill_time\":100}}}"
	boot_wait_guest
	expect_api 204 PATCH /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$TMP/new.img\"}"
	expect_api 204 PATCH /drives/data '{"drive_id":"data","rate_limiter":{"bandwidth":{"size":1048576,"refill_time":1000,"one_time_burst":4096}}}'
	expect_api 400 PATCH /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$TMP/gone.img\"}" \
		"Unable to patch the block device: Error manipulating the backing file: $TMP/gone.img: No such file or directory (os error 2)"
	expect_api 400 PATCH /drives/data '{"drive_id":"data"}' 'Running method expected different backend.'
	expect_api 400 PATCH /drives/data '{"drive_id":"data","is_read_only":true}' 'unknown field `is_read_only`'
	expect_api 400 PATCH /drives/nope '{"drive_id":"nope","rate_limiter":{}}' 'no drive with id `nope` exists'
	expect_api 400 PUT /drives/more "{\"drive_id\":\"more\",\"path_on_host\":\"$TMP/data.img\",\"is_root_device\":false}" \
		'The requested operation is not supported after starting the microVM.'
	expect_api 200 GET /vm/config
	assert_equal "$(printf '%s' "$body" | python3 -c 'import json,sys; d=json.load(sys.stdin)["drives"][0]; print(d["path_on_host"], d["rate_limiter"]["bandwidth"]["one_time_burst"], d["rate_limiter"]["ops"]["size"])')" \
		"$TMP/new.img 4096 10"
	expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
}

@test "API: PATCH path_on_host reaches the running guest as a config-change interrupt with the new capacity" {
	require_kvm
	load api-helpers
	truncate -s 2M "$TMP/new.img"
	api_start
	local args="console=ttyS0 probe=blk-resize"
	is_pvm_host && args="$args probe.pvm=1"
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"$args\"}"
	expect_api 204 PUT /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$TMP/data.img\",\"is_root_device\":false}"
	expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
	wait_output 'PROBE-INFO blk-resize ready 2048'
	expect_api 204 PATCH /drives/data "{\"drive_id\":\"data\",\"path_on_host\":\"$TMP/new.img\"}"
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	run cat "$OUT"
	assert_output --partial 'PROBE blk-resize.config_interrupt ok'
	assert_output --partial 'PROBE blk-resize.capacity ok'
	assert_output --partial 'PROBE-INFO blk-resize capacity 4096'
	assert_output --partial 'PROBE blk-resize.read_new_end ok'
	assert_output --partial 'PROBE DONE pass=4 fail=0'
}
