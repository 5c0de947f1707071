#!/usr/bin/env bats
# virtio-pmem (doc/pmem.md): Firecracker's two pmem API tests with their
# texts, the probe's `pmem` scenario against host files (1 MiB and 2 MiB,
# read-write and read-only), hostile chains, start-up errors and the rate
# limiter's delay; snapshots (a File restore re-maps the file, a changed
# size is refused with Firecracker's text, a hostile window is refused).

load helpers
load boot-helpers
load api-helpers
load snapshot-helpers

DESER='An error occurred when deserializing the json body of a request: '
NOT_BEFORE='The requested operation is not supported before starting the microVM.'

setup() {
	TMP=$(mktemp -d)
}

teardown() {
	api_stop
	snap_kill_all
	rm -rf "$TMP"
}

# pattern_file PATH BYTES: byte i = (i * 7 + 3) & 0xff, what the probe expects.
pattern_file() {
	python3 -c "
import sys
n = int(sys.argv[2])
open(sys.argv[1], 'wb').write(bytes((i * 7 + 3) & 0xff for i in range(n)))" "$1" "$2"
}

# pmem_config FILE EXTRA_ARGS PMEM_JSON [RATE_LIMITER_PARAMS]: a probe VM with those pmem devices.
pmem_config() {
	local file=$1 extra=$2 pmem=$3 args
	args=$(probe_boot_args 1 128 pmem "$extra")
	cat >"$file" <<-JSON
	{
	  "boot-source": { "kernel_image_path": "$PROBE", "boot_args": "$args" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
	  "metrics": { "metrics_path": "$TMP/metrics.json" },
	  "pmem": $pmem
	}
	JSON
}

@test "Firecracker's test_pmem_api: required fields, roots against drives both ways, replacing an id, after boot" {
	require_kvm
	truncate -s 2M "$TMP/scratch"
	api_start
	expect_api 400 PUT /pmem/pmem '{"id":"pmem"}' "${DESER}missing field \`path_on_host\`"
	expect_api 204 PUT /drives/drive "{\"drive_id\":\"drive\",\"path_on_host\":\"$TMP/scratch\",\"is_root_device\":true}"
	expect_api 400 PUT /pmem/pmem "{\"id\":\"pmem\",\"path_on_host\":\"$TMP/scratch\",\"root_device\":true}" \
		'Pmem config error: Attempt to add pmem as a root device while the root device defined as a block device'
	expect_api 204 PUT /drives/drive "{\"drive_id\":\"drive\",\"path_on_host\":\"$TMP/scratch\",\"is_root_device\":false}"
	expect_api 204 PUT /pmem/pmem "{\"id\":\"pmem\",\"path_on_host\":\"$TMP/scratch\",\"root_device\":true}"
	expect_api 400 PUT /pmem/pmem2 "{\"id\":\"pmem2\",\"path_on_host\":\"$TMP/scratch\",\"root_device\":true}" \
		'Pmem config error: A root pmem device already exist'
	# ember also checks the other way: a root drive while pmem holds the root.
	expect_api 400 PUT /drives/drive "{\"drive_id\":\"drive\",\"path_on_host\":\"$TMP/scratch\",\"is_root_device\":true}" \
		'Attempt to add block as a root device while the root device defined as a pmem device'
	expect_api 204 PUT /pmem/pmem "{\"id\":\"pmem\",\"path_on_host\":\"$TMP/scratch\",\"root_device\":false}"
	expect_api 400 PUT /pmem/pmem '{"id":"other","path_on_host":"x"}' 'The id from the path does not match the id from the body!'
	expect_api 400 PUT /pmem/pmem '{"id":"pmem","path_on_host":"x","cache":1}' "${DESER}unknown field \`cache\`"
	expect_api 400 DELETE /pmem/pmem '' "$NOT_BEFORE"
	api GET /vm/config
	assert_equal "$(printf '%s' "$body" | jq -c '.pmem')" \
		"[{\"id\":\"pmem\",\"path_on_host\":\"$TMP/scratch\",\"root_device\":false,\"read_only\":false,\"rate_limiter\":null}]"
	expect_api 204 PUT /pmem/rootfs "{\"id\":\"rootfs\",\"path_on_host\":\"$TMP/scratch\",\"root_device\":true,\"read_only\":true}"
	boot_wait_guest
	expect_api 400 PUT /pmem/pmem '{"id":"pmem"}' 'not supported after starting the microVM'
	expect_api 400 DELETE /pmem/pmem '' 'PCI is not enabled'
}

@test "Firecracker's test_pmem_rate_limiter_api: PUT with and without, PATCH before and after boot" {
	require_kvm
	truncate -s 2M "$TMP/scratch"
	api_start
	expect_api 204 PUT /pmem/pmem0 "{\"id\":\"pmem0\",\"path_on_host\":\"$TMP/scratch\",\"rate_limiter\":{\"bandwidth\":{\"size\":1000000,\"refill_time\":100},\"ops\":{\"size\":10,\"refill_time\":1000}}}"
	api GET /vm/config
	assert_equal "$(printf '%s' "$body" | jq '.pmem[0].rate_limiter.bandwidth.size')" 1000000
	assert_equal "$(printf '%s' "$body" | jq '.pmem[0].rate_limiter.ops.size')" 10
	expect_api 204 PUT /pmem/pmem0 "{\"id\":\"pmem0\",\"path_on_host\":\"$TMP/scratch\"}"
	api GET /vm/config
	assert_equal "$(printf '%s' "$body" | jq -c '.pmem[0].rate_limiter')" null
	expect_api 400 PATCH /pmem/pmem0 '{"id":"pmem0","rate_limiter":{"bandwidth":{"size":5000,"refill_time":100}}}' "$NOT_BEFORE"
	expect_api 204 PUT /pmem/rootfs "{\"id\":\"rootfs\",\"path_on_host\":\"$TMP/scratch\",\"root_device\":true,\"read_only\":true}"
	boot_wait_guest
	expect_api 204 PATCH /pmem/pmem0 '{"id":"pmem0","rate_limiter":{"bandwidth":{"size":5000,"refill_time":100},"ops":{"size":500,"refill_time":100}}}'
	expect_api 204 PATCH /pmem/pmem0 '{"id":"pmem0","rate_limiter":{"bandwidth":{"size":2000000,"refill_time":200}}}'
	expect_api 204 PATCH /pmem/pmem0 '{"id":"pmem0","rate_limiter":{"ops":{"size":100,"refill_time":500}}}'
	expect_api 204 PATCH /pmem/pmem0 '{"id":"pmem0"}'
	expect_api 400 PATCH /pmem/pmem0 '{"id":"pmem0","path_on_host":"foo","rate_limiter":{"ops":{"size":1,"refill_time":100}}}' 'unknown field'
	expect_api 400 PATCH /pmem/nonexistent '{"id":"nonexistent","rate_limiter":{"ops":{"size":1,"refill_time":100}}}' 'not found'
	api GET /vm/config
	assert_equal "$(printf '%s' "$body" | jq -c '.pmem[0].rate_limiter.bandwidth.size')" 2000000
	assert_equal "$(printf '%s' "$body" | jq -c '.pmem[0].rate_limiter.ops.size')" 100
}

@test "probe=pmem: 1 MiB read-write and 2 MiB read-only files, both 2 MiB windows at >= 512 GiB; the file gets the guest's bytes, the read-only one stays" {
	require_kvm
	pattern_file "$TMP/rw.img" 1048576
	pattern_file "$TMP/ro.img" 2097152
	cp "$TMP/rw.img" "$TMP/rw.orig"
	cp "$TMP/ro.img" "$TMP/ro.orig"
	pmem_config "$TMP/vm.json" "probe.pmem_file=1048576 probe.pmem_file=2097152 probe.pmem_ro=1" \
		"[{\"id\":\"p0\",\"path_on_host\":\"$TMP/rw.img\"},{\"id\":\"p1\",\"path_on_host\":\"$TMP/ro.img\",\"read_only\":true}]"
	run_ember_config "$TMP/vm.json"
	assert_probe_all_ok
	assert_equal "$status" 0
	for check in pmem.config pmem.read pmem.flush; do
		assert_equal "$(printf '%s\n' "$output" | grep -c "^PROBE $check ok")" 2
	done
	assert_output --partial 'PROBE pmem.ro ok'
	assert_output --partial 'PROBE pmem.hostile ok'
	assert_output --partial 'PROBE irq.pmem ok'
	# The guest's 4 KiB of 0x5a reached the file; the rest is the pattern.
	assert_equal "$(head -c 4096 "$TMP/rw.img" | od -An -v -tx1 | tr -s ' \n' '\n' | sort -u | grep -v '^$')" 5a
	cmp <(tail -c +4097 "$TMP/rw.img") <(tail -c +4097 "$TMP/rw.orig")
	assert_equal "$(stat -c %s "$TMP/rw.img")" 1048576
	cmp "$TMP/ro.img" "$TMP/ro.orig"
	# The hostile chains count as event_fails (3 by the device, 1 by the
	# queue), the read-only store as well; both devices in the line.
	[ -s "$TMP/metrics.json" ] || fail "no metrics line"
	fails=$(tail -n 1 "$TMP/metrics.json" | jq '.pmem_p0.event_fails')
	[ "$fails" -ge 4 ] || fail "pmem_p0.event_fails is $fails, expected >= 4"
	[ "$(tail -n 1 "$TMP/metrics.json" | jq '.pmem_p1.event_fails')" -ge 1 ]
	[ "$(tail -n 1 "$TMP/metrics.json" | jq '.pmem.queue_event_count')" -ge 5 ]
}

@test "pmem: a root device puts root=/dev/pmem<N> on the command line, N its index among pmem devices" {
	require_kvm
	pattern_file "$TMP/a.img" 4096
	pattern_file "$TMP/b.img" 4096
	pmem_config "$TMP/vm.json" "probe.pmem_file=4096 probe.pmem_file=4096" \
		"[{\"id\":\"a\",\"path_on_host\":\"$TMP/a.img\"},{\"id\":\"b\",\"path_on_host\":\"$TMP/b.img\",\"root_device\":true,\"read_only\":true}]"
	sed -i 's/probe=pmem /probe=boot,pmem /' "$TMP/vm.json"
	run_ember_config "$TMP/vm.json"
	assert_equal "$status" 0
	assert_output --regexp 'PROBE-INFO cmdline .*root=/dev/pmem1 ro'
}

@test "pmem: an empty file fails InstanceStart with Firecracker's text; a missing one names its path" {
	require_kvm
	: >"$TMP/empty.img"
	api_start
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"console=ttyS0 probe=wait\"}"
	expect_api 204 PUT /pmem/e "{\"id\":\"e\",\"path_on_host\":\"$TMP/empty.img\"}"
	expect_api 400 PUT /actions '{"action_type":"InstanceStart"}' 'Error backing file size is 0'
	pmem_config "$TMP/vm.json" "" "[{\"id\":\"m\",\"path_on_host\":\"$TMP/missing.img\"}]"
	run_ember_config "$TMP/vm.json"
	[ "$status" -ne 0 ]
	assert_output --partial "$TMP/missing.img"
	refute_output --partial 'PROBE DONE'
}

@test "pmem config file: a root pmem next to a root drive is refused with Firecracker's text (exit 152)" {
	truncate -s 2M "$TMP/scratch"
	cat >"$TMP/vm.json" <<-JSON
	{
	  "boot-source": { "kernel_image_path": "$PROBE" },
	  "drives": [ { "drive_id": "d", "path_on_host": "$TMP/scratch", "is_root_device": true, "is_read_only": true } ],
	  "pmem": [ { "id": "p", "path_on_host": "$TMP/scratch", "root_device": true } ]
	}
	JSON
	run_ember_config "$TMP/vm.json"
	assert_equal "$status" 152
	assert_output --partial 'pmem: Pmem config error: Attempt to add pmem as a root device while the root device defined as a block device'
}

@test "pmem rate limiter: two flushes wait for the ops bucket (at least 400 ms of TSC for a 500 ms refill)" {
	require_kvm
	pattern_file "$TMP/rw.img" 65536
	pmem_config "$TMP/vm.json" "probe.pmem_file=65536 probe.pmem_rl=1 probe.pmem_ms=20000" \
		"[{\"id\":\"p0\",\"path_on_host\":\"$TMP/rw.img\",\"rate_limiter\":{\"ops\":{\"size\":1,\"refill_time\":500}}}]"
	sed -i 's/probe=pmem /probe=boot,pmem /' "$TMP/vm.json" # boot prints the TSC rate
	run_ember_config "$TMP/vm.json"
	assert_probe_all_ok
	khz=$(probe_info tsc_khz)
	cycles=$(probe_info pmem.flush_cycles)
	[ -n "$cycles" ] || fail "no PROBE-INFO pmem.flush_cycles: $output"
	if [ -z "$khz" ] || [ "$khz" -eq 0 ]; then
		skip "the guest has no TSC rate (CPUID 0x40000010) to turn $cycles cycles into time"
	fi
	ms=$(( cycles / khz ))
	[ "$ms" -ge 400 ] || fail "two rate-limited flushes took $ms ms (${cycles} cycles at $khz kHz), expected >= 400"
	[ "$(tail -n 1 "$TMP/metrics.json" | jq '.pmem.rate_limiter_throttled_events')" -ge 1 ]
}

# page_bytes FILE PAGE: the distinct byte values of 4 KiB page PAGE of FILE.
page_bytes() {
	od -An -v -tx1 -j $(($2 * 4096)) -N 4096 "$1" | tr -s ' \n' '\n' | sort -u | grep -v '^$' | tr '\n' ' '
}

# pmem_snap_base RW_BYTES: a snapshot (seed 7) of probe=snapshot with the
# drive, a read-write pmem p0 of RW_BYTES and a read-only 2 MiB p1, at
# $TMP/state and $TMP/mem; the ember that made it is killed.
pmem_snap_base() {
	truncate -s 1M "$TMP/disk.img"
	pattern_file "$TMP/rw.img" "$1"
	pattern_file "$TMP/ro.img" 2097152
	cp "$TMP/ro.img" "$TMP/ro.orig"
	SNAP_PMEM="{\"id\":\"p0\",\"path_on_host\":\"$TMP/rw.img\"} {\"id\":\"p1\",\"path_on_host\":\"$TMP/ro.img\",\"read_only\":true}"
	snap_ember a
	snap_boot a 1 7
	snap_create a "$TMP/state" "$TMP/mem"
	snap_kill a
}

@test "pmem snapshot: a File restore re-maps the files; the guest finds its page, and its write after the restore reaches the host file" {
	require_kvm
	pmem_snap_base 2097152
	# before ready the guest filled page 1 of p0 with 0x43 (0x3c + seed 7) and
	# flushed: the file has it (MAP_SHARED), the rest is the host's pattern
	assert_equal "$(page_bytes "$TMP/rw.img" 1)" "43 "
	run "$EMBER_BUILD/tools/ember-snapshot" info "$TMP/state"
	assert_output --partial pmem
	snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true)"
	expect_api 200 GET /vm/config
	assert_equal "$(printf '%s' "$body" | jq -c '[.pmem[] | {id, read_only}]')" \
		'[{"id":"p0","read_only":false},{"id":"p1","read_only":true}]'
	snap_send b R
	snap_wait b 'PROBE DONE'
	snap_exit b
	assert_equal "$SNAP_STATUS" 0
	run cat "$TMP/b.out"
	assert_output --partial "PROBE snapshot.pmem ok"
	assert_output --partial "PROBE snapshot.pattern ok"
	assert_output --regexp "PROBE DONE pass=[0-9]+ fail=0"
	refute_output --partial "snapshot.ready"
	# the restored guest's page 2 (0x44) went through the re-mapped file
	assert_equal "$(page_bytes "$TMP/rw.img" 2)" "44 "
	cmp <(tail -c +12289 "$TMP/rw.img") <(python3 -c "
import sys
sys.stdout.buffer.write(bytes((i * 7 + 3) & 0xff for i in range(12288, 2097152)))")
	cmp "$TMP/ro.img" "$TMP/ro.orig"
}

@test "pmem snapshot: a backing file grown or shrunk past a 2 MiB unit fails the load with Firecracker's text (a size within the unit loads)" {
	require_kvm
	pmem_snap_base 4194304
	truncate -s 6M "$TMP/rw.img"
	snap_ember b
	snap_use b
	expect_api 400 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true)" \
		'Restored pmem size 4194304 does not match backing file mapping size 6291456'
	snap_exit b
	assert_equal "$SNAP_STATUS" 1
	truncate -s 2M "$TMP/rw.img"
	snap_ember c
	snap_use c
	expect_api 400 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true)" \
		'Restored pmem size 4194304 does not match backing file mapping size 2097152'
	snap_exit c
	assert_equal "$SNAP_STATUS" 1
	# 3 MiB is still two 2 MiB units: the window is the same, the load works
	truncate -s 3M "$TMP/rw.img"
	snap_ember d
	snap_use d
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true)"
	snap_send d R
	snap_wait d 'PROBE DONE'
	snap_exit d
	assert_equal "$SNAP_STATUS" 0
	run cat "$TMP/d.out"
	assert_output --partial "PROBE snapshot.pmem ok"
}

# pmem_state_patch FILE START: p0's saved window start replaced by START
# (p0's section holds le64 512 GiB, then le64 4 MiB), the CRC fixed.
pmem_state_patch() {
	python3 - "$BATS_TEST_DIRNAME/snapshot-file.py" "$@" <<-'PY'
	import importlib.util, struct, sys
	spec = importlib.util.spec_from_file_location("snapfile", sys.argv[1])
	m = importlib.util.module_from_spec(spec)
	spec.loader.exec_module(m)
	data = bytearray(open(sys.argv[2], "rb").read())
	body = data[:-8]
	at = bytes(body).find(struct.pack("<QQ", 512 << 30, 4 << 20))
	assert at >= 0 and bytes(body).find(struct.pack("<QQ", 512 << 30, 4 << 20), at + 1) < 0
	body[at:at + 8] = struct.pack("<Q", int(sys.argv[3], 0))
	open(sys.argv[2], "wb").write(bytes(body) + struct.pack("<Q", m.crc64(bytes(body))))
	PY
}

@test "pmem snapshot: a hostile saved window (in RAM, not 2 MiB aligned, over the other device) is refused with the reason" {
	require_kvm
	pmem_snap_base 4194304
	n=0
	for bad in "0x1000000:is not 2 MiB units at a 2 MiB boundary" \
		"0x8000100000:is not 2 MiB units at a 2 MiB boundary" \
		"0x8000200000:another region is there" \
		"0xffffffffffe00000:is not 2 MiB units at a 2 MiB boundary"; do
		cp "$TMP/state" "$TMP/bad"
		pmem_state_patch "$TMP/bad" "${bad%%:*}"
		n=$((n + 1))
		snap_ember "x$n"
		snap_use "x$n"
		expect_api 400 PUT /snapshot/load "$(snap_load_body "$TMP/bad" "$TMP/mem" true)" "${bad#*:}"
		[[ $body == *"pmem p0: "* ]] || fail "the error does not name the device: $body"
		snap_exit "x$n"
		assert_equal "$SNAP_STATUS" 1
	done
}

@test "Linux guest with a pmem DAX root (skipped under PVM)" {
	is_pvm_host && skip "under nested PVM Linux stops at its first exception long before mounting a root (doc/design.md §4)"
	skip "no Linux guest image with CONFIG_VIRTIO_PMEM is built by tools/ yet"
}
