#!/usr/bin/env bats
# Full snapshots and the File memory backend end to end (doc/snapshots.md):
# the probe's snapshot scenario runs, is paused and saved, its ember killed,
# and a new ember loads it; the guest cannot see a correct restore, so the
# test sends `R` on the serial input (ember's stdin, a FIFO) and the guest
# checks its memory, its drive and its UART registers.

load helpers
load api-helpers
load snapshot-helpers

setup() {
	snap_setup
}

teardown() {
	mountpoint -q "$TMP/small" 2>/dev/null && umount "$TMP/small"
	snap_teardown
}

# A snapshot of the scenario (seed 7, 1 vCPU) at $TMP/state and $TMP/mem;
# the ember that made it is killed.
snap_base() {
	snap_ember a
	snap_boot a "${1:-1}" 7
	snap_create a "$TMP/state" "$TMP/mem"
	snap_use a
	expect_api 200 GET /vm/config
	CONFIG_BEFORE=$body
	snap_kill a
}

@test "create, kill, load in a new ember, R: the guest finds its memory, drive and UART, and ends with exit 0" {
	require_kvm
	snap_base
	# the files: 0600, the memory file as large as RAM with holes for the zero pages
	assert_equal "$(stat -c %a "$TMP/state")" 600
	assert_equal "$(stat -c %a "$TMP/mem")" 600
	assert_equal "$(stat -c %s "$TMP/mem")" $((128 << 20))
	[ "$(du -k "$TMP/mem" | cut -f1)" -lt $((64 << 10)) ] || fail "the memory file has no holes: $(du -k "$TMP/mem")"
	ls "$TMP" | grep -q '\.tmp$' && fail "a temporary file was left: $(ls "$TMP")"
	# The guest prints counter 0 right after ready: a pause that falls between
	# the two lines (seen under strace) leaves that line for the restored guest.
	before=$(snap_counter a)
	before=${before:-0}
	snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" false)"
	snap_state Paused
	# the snapshotted configuration, boot source included
	expect_api 200 GET /vm/config
	assert_equal "$body" "$CONFIG_BEFORE"
	expect_api 400 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\"}" "not supported after starting the microVM"
	expect_api 204 PATCH /vm '{"state":"Resumed"}'
	snap_send b R
	snap_wait b 'PROBE DONE'
	snap_exit b
	assert_equal "$SNAP_STATUS" 0
	run cat "$TMP/b.out"
	assert_output --partial "PROBE snapshot.pattern ok"
	assert_output --partial "PROBE snapshot.blk ok"
	assert_output --partial "PROBE snapshot.serial ok"
	assert_output --partial "PROBE snapshot.resumed ok"
	assert_output --regexp "PROBE DONE pass=[0-9]+ fail=0"
	# a fresh boot would print ready again and start counting from 0
	refute_output --partial "snapshot.ready"
	[ "$(snap_counter b)" -gt "$before" ] || fail "counter $(snap_counter b) not above $before"
}

@test "--snapshot-version and --describe-snapshot print the state file's version" {
	require_kvm
	run "$EMBER" --snapshot-version
	assert_success
	assert_output --regexp '^v[0-9]+\.[0-9]+\.[0-9]+$'
	version=$output
	snap_base
	run "$EMBER" --describe-snapshot "$TMP/state"
	assert_success
	assert_output "$version"
	run "$EMBER" --describe-snapshot "$TMP/mem"
	assert_failure
	assert_output --partial "not an ember snapshot state file"
}

@test "ember-snapshot info and verify read the state file with ember's parser" {
	require_kvm
	TOOL=$EMBER_BUILD/tools/ember-snapshot
	snap_base
	run "$TOOL" info "$TMP/state"
	assert_success
	assert_line --regexp '^version: [0-9]+\.[0-9]+\.[0-9]+$'
	assert_output --partial '"mem_size_mib":128'
	assert_line "  0: guest 0x0, 134217728 bytes, file offset 0"
	assert_output --regexp "block \(id: rootfs\) $TMP/disk.img"
	assert_output --partial "serial console"
	run "$TOOL" verify "$TMP/state"
	assert_success
	assert_output --regexp '^ok: version '
	cp "$TMP/state" "$TMP/bad"
	python3 "$BATS_TEST_DIRNAME/snapshot-file.py" "$TMP/bad" flip 50
	run "$TOOL" verify "$TMP/bad"
	assert_failure 1
	assert_output --partial "CRC64 validation failed"
	run "$TOOL" info "$TMP/missing"
	assert_failure 1
	assert_output --partial "No such file or directory"
	run "$TOOL" frobnicate "$TMP/state"
	assert_failure 2
}

@test "two loads of one snapshot at once: both guests resume (resume_vm, and PATCH)" {
	require_kvm
	snap_base
	snap_ember b
	snap_ember c
	snap_use b
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true)"
	snap_state Running
	snap_use c
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" false)"
	expect_api 204 PATCH /vm '{"state":"Resumed"}'
	snap_send b R
	snap_send c R
	for n in b c; do
		snap_wait "$n" 'PROBE DONE'
		snap_exit "$n"
		assert_equal "$SNAP_STATUS" 0
		run cat "$TMP/$n.out"
		assert_output --regexp "PROBE DONE pass=[0-9]+ fail=0"
	done
}

@test "five generations with 2 vCPUs, each paused 0-500 ms after R and saved over its source files" {
	require_kvm
	snap_ember g0
	snap_boot g0 2 11 probe.snap_generations=5
	snap_create g0 "$TMP/state" "$TMP/mem"
	snap_kill g0
	last=0
	for g in 1 2 3 4 5; do
		snap_ember "g$g"
		snap_use "g$g"
		expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true)"
		snap_send "g$g" R
		snap_wait "g$g" "PROBE-INFO snapshot.generation $g"
		counter=$(snap_counter "g$g")
		[ "$counter" -gt "$last" ] || fail "generation $g: counter $counter not above $last"
		last=$counter
		[ "$g" = 5 ] && break
		sleep "0.$((RANDOM % 500))"
		snap_create "g$g" "$TMP/state" "$TMP/mem"
		snap_kill "g$g"
	done
	snap_wait g5 'PROBE DONE'
	snap_exit g5
	assert_equal "$SNAP_STATUS" 0
	run cat "$TMP/g5.out"
	assert_output --partial "PROBE snapshot.resumed ok"
	assert_output --regexp "PROBE DONE pass=[0-9]+ fail=0"
	refute_output --partial "FAIL"
}

@test "logger, metrics and serial_out_path before a load are accepted and filled; the load's latencies reach the metrics file" {
	require_kvm
	snap_base
	snap_ember b
	snap_use b
	expect_api 204 PUT /logger "{\"log_path\":\"$TMP/b.log\",\"level\":\"Info\"}"
	expect_api 204 PUT /metrics "{\"metrics_path\":\"$TMP/b.metrics\"}"
	expect_api 204 PUT /serial "{\"serial_out_path\":\"$TMP/b.serial\"}"
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true)"
	expect_api 204 PUT /actions '{"action_type":"FlushMetrics"}'
	run jq -s '.[-1].latencies_us.load_snapshot > 0 and .[-1].latencies_us.vmm_load_snapshot > 0' "$TMP/b.metrics"
	assert_output true
	grep -q "Restored the microVM from a snapshot" "$TMP/b.log" || fail "the log file lacks the restore line"
	snap_send b R
	snap_exit b
	assert_equal "$SNAP_STATUS" 0
	# the restored guest's console went to the file given before the load
	run cat "$TMP/b.serial"
	assert_output --partial "PROBE snapshot.resumed ok"
	assert_output --regexp "PROBE DONE pass=[0-9]+ fail=0"
}

@test "create: refused before boot and while running; a Diff into a missing directory fails; with pmem and every other kind saved, no device is refused" {
	require_kvm
	snap_ember a
	snap_use a
	req='{"snapshot_path":"'$TMP'/s","mem_file_path":"'$TMP'/m"}'
	expect_api 400 PUT /snapshot/create "$req" "not supported before starting the microVM."
	truncate -s 2M "$TMP/pm.img"
	expect_api 204 PUT /pmem/pm0 "{\"id\":\"pm0\",\"path_on_host\":\"$TMP/pm.img\"}"
	snap_boot a 1 3
	expect_api 400 PUT /snapshot/create "$req" \
		"Create snapshot error: Cannot save the microVM state: Operation not allowed: save/restore unavailable while running"
	expect_api 204 PATCH /vm '{"state":"Paused"}'
	expect_api 400 PUT /snapshot/create "{\"snapshot_type\":\"Diff\",\"snapshot_path\":\"$TMP/s\",\"mem_file_path\":\"$TMP/none/m\"}" \
		"Cannot perform open on the memory backing file: $TMP/none/m"
	[ ! -e "$TMP/s" ] && [ ! -e "$TMP/m" ] || fail "a refused create wrote a file: $(ls "$TMP")"
	expect_api 204 PUT /snapshot/create "$req"
	expect_api 400 PUT /snapshot/create '{"snapshot_path":"x"}' 'missing field `mem_file_path`'
}

@test "load: the request's texts (both or neither memory field, Uffd, deprecated mem_file_path) and after a boot-path call" {
	require_kvm
	snap_base
	snap_ember b
	snap_use b
	expect_api 400 PUT /snapshot/load "{\"snapshot_path\":\"$TMP/state\"}" \
		"missing field: either \`mem_backend\` or \`mem_file_path\` is required"
	expect_api 400 PUT /snapshot/load "{\"snapshot_path\":\"$TMP/state\",\"mem_file_path\":\"$TMP/mem\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$TMP/mem\"}}" \
		"too many fields: either \`mem_backend\` or \`mem_file_path\` exclusively is required"
	expect_api 400 PUT /snapshot/load "{\"snapshot_path\":\"$TMP/state\",\"mem_backend\":{\"backend_type\":\"Uffd\",\"backend_path\":\"$TMP/uffd.sock\"}}" \
		"Failed to connect to UDS Unix stream: No such file or directory (os error 2) $TMP/uffd.sock"
	expect_api 400 PUT /snapshot/load "{\"snapshot_path\":\"$TMP/state\",\"mem_file_path\":\"$TMP/mem\",\"track_dirty_pages\":1}" \
		"expected a boolean for field \`track_dirty_pages\`"
	# the deprecated field works and says so
	run curl -s -i --unix-socket "$SOCK" -X PUT -H 'Content-Type: application/json' \
		--data-binary "{\"snapshot_path\":\"$TMP/state\",\"mem_file_path\":\"$TMP/mem\",\"resume_vm\":true}" \
		http://localhost/snapshot/load
	assert_output --partial "204"
	assert_output --regexp "[Dd]eprecation: true"
	snap_send b R
	snap_wait b 'PROBE DONE'
	# a boot-path call first: load refused, the process goes on
	snap_ember c
	snap_use c
	expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128}'
	expect_api 400 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true)" \
		"Load snapshot error: Loading a microVM snapshot not allowed after configuring boot-specific resources."
	snap_state "Not started"
}

# expect_bad_load NAME STATE MEM REASON: refused with 400 naming the file and
# the reason; ember NAME lives on, no guest resumed.
expect_bad_load() {
	snap_use "$1"
	expect_api 400 PUT /snapshot/load "$(snap_load_body "$2" "$3" true)" "$4"
	case "$body" in
	*"$2"* | *"$3"*) ;;
	*) fail "the answer names neither file: $body" ;;
	esac
	kill -0 "$(cat "$TMP/$1.pid")" || fail "ember $1 died on a bad load"
	snap_state "Not started"
}

@test "hostile state and memory files: 400 naming file and reason, no crash, then a good load in the same process" {
	require_kvm
	snap_base
	snap_ember b
	S=$TMP/bad
	expect_bad_load b "$TMP/missing" "$TMP/mem" "No such file or directory"
	: >"$S.empty"
	expect_bad_load b "$S.empty" "$TMP/mem" "File too short to contain CRC"
	cp "$TMP/state" "$S.corrupt"
	python3 "$BATS_TEST_DIRNAME/snapshot-file.py" "$S.corrupt" flip 100
	expect_bad_load b "$S.corrupt" "$TMP/mem" "CRC64 validation failed"
	head -c 1000 "$TMP/state" >"$S.truncated"
	expect_bad_load b "$S.truncated" "$TMP/mem" "CRC64 validation failed"
	head -c $((11 << 20)) /dev/zero >"$S.big"
	expect_bad_load b "$S.big" "$TMP/mem" "larger than the 10 MiB"
	cp "$TMP/state" "$S.magic"
	python3 "$BATS_TEST_DIRNAME/snapshot-file.py" "$S.magic" magic
	expect_bad_load b "$S.magic" "$TMP/mem" "Magic value does not match"
	cp "$TMP/state" "$S.newer"
	python3 "$BATS_TEST_DIRNAME/snapshot-file.py" "$S.newer" version 1 9
	expect_bad_load b "$S.newer" "$TMP/mem" "Invalid data version: 1.9"
	cp "$TMP/state" "$S.major"
	python3 "$BATS_TEST_DIRNAME/snapshot-file.py" "$S.major" version 2 0
	expect_bad_load b "$S.major" "$TMP/mem" "Invalid data version: 2.0"
	cp "$TMP/state" "$S.len"
	python3 "$BATS_TEST_DIRNAME/snapshot-file.py" "$S.len" section-len 4000000000
	expect_bad_load b "$S.len" "$TMP/mem" "out of range"
	expect_bad_load b "$TMP" "$TMP/mem" "not a regular file"
	head -c $((64 << 20)) "$TMP/mem" >"$TMP/mem.short"
	expect_bad_load b "$TMP/state" "$TMP/mem.short" "the snapshot's memory needs"
	mkfifo "$TMP/mem.fifo"
	expect_bad_load b "$TMP/state" "$TMP/mem.fifo" "not a regular file"
	if [ "$(id -u)" -ne 0 ]; then
		cp "$TMP/state" "$S.unreadable"
		chmod 000 "$S.unreadable"
		expect_bad_load b "$S.unreadable" "$TMP/mem" "Permission denied"
	fi
	# a drive whose size is not the snapshot's: refused naming both (after
	# the VM was made: 400, then the process ends with exit 1)
	truncate -s 2M "$TMP/disk.img"
	snap_use b
	expect_api 400 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true)" \
		"the backing file holds 4096 sectors, the snapshot's guest was told 2048"
	snap_exit b
	assert_equal "$SNAP_STATUS" 1
	truncate -s 1M "$TMP/disk.img"
	run cat "$TMP/b.out"
	refute_output --partial "snapshot.resumed"
	# and a good load in a process that refused bad files before
	snap_ember c
	expect_bad_load c "$S.corrupt" "$TMP/mem" "CRC64 validation failed"
	snap_use c
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true)"
	snap_send c R
	snap_wait c 'PROBE DONE'
	snap_exit c
	assert_equal "$SNAP_STATUS" 0
}

@test "ENOSPC on a small tmpfs: 400 naming the file, no partial file, the earlier file kept, the VM still paused" {
	require_kvm
	require_root
	mkdir "$TMP/small"
	mount -t tmpfs -o size=256k tmpfs "$TMP/small" || skip "cannot mount a tmpfs here"
	echo old >"$TMP/small/mem"
	snap_ember a
	snap_boot a 1 5
	snap_use a
	expect_api 204 PATCH /vm '{"state":"Paused"}'
	expect_api 400 PUT /snapshot/create "{\"snapshot_path\":\"$TMP/small/state\",\"mem_file_path\":\"$TMP/small/mem\"}" \
		"No space left on device"
	case "$body" in *"$TMP/small/mem"*) ;; *) fail "the answer does not name the file: $body" ;; esac
	assert_equal "$(ls "$TMP/small")" mem
	assert_equal "$(cat "$TMP/small/mem")" old
	snap_state Paused
	# the VM is whole: a snapshot elsewhere works and restores
	snap_create a "$TMP/state" "$TMP/mem"
	snap_kill a
	snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true)"
	snap_send b R
	snap_wait b "PROBE DONE pass=[0-9]* fail=0"
}

@test "a memory file truncated under a restored VM: the guest's touch ends the VM (149), naming the address" {
	require_kvm
	snap_base
	snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" false)"
	# the guest's code and the probe's data stay; its patterned pages (16 MiB up) go
	truncate -s $((16 << 20)) "$TMP/mem"
	expect_api 204 PATCH /vm '{"state":"Resumed"}'
	snap_send b R
	snap_exit b
	assert_equal "$SNAP_STATUS" 149
	run cat "$TMP/b.out"
	assert_output --regexp "guest memory at 0x[0-9a-f]+ could not be backed \(a snapshot's memory file truncated\?\)"
	refute_output --partial "snapshot.resumed ok"
}

@test "irqchip split without a PIT, 2 vCPUs: ember's own IOAPIC is saved and restored, the guest resumes" {
	require_kvm
	SNAP_MACHINE_EXTRA=',"irqchip":"split","pit":false'
	snap_ember a
	snap_boot a 2 13
	snap_create a "$TMP/state" "$TMP/mem"
	snap_kill a
	run "$EMBER_BUILD/tools/ember-snapshot" info "$TMP/state"
	assert_output --partial '"irqchip":"split"'
	snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true)"
	expect_api 200 GET /machine-config
	assert_equal "$(printf '%s' "$body" | jq -r .irqchip)" split
	snap_send b R
	snap_wait b 'PROBE DONE'
	snap_exit b
	assert_equal "$SNAP_STATUS" 0
	run cat "$TMP/b.out"
	assert_output --regexp "PROBE DONE pass=[0-9]+ fail=0"
}

@test "an entropy device is saved and restored: the restored guest reads random bytes through it, its interrupt routed" {
	require_kvm
	SNAP_PROBE=snapshot,rng
	SNAP_ENTROPY='{"rate_limiter":{"ops":{"size":1000,"refill_time":100}}}'
	snap_ember a
	snap_boot a 1 17
	snap_create a "$TMP/state" "$TMP/mem"
	snap_kill a
	run "$EMBER_BUILD/tools/ember-snapshot" info "$TMP/state"
	assert_output --partial entropy
	snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true)"
	expect_api 200 GET /vm/config
	assert_equal "$(printf '%s' "$body" | jq -c '.entropy.rate_limiter.ops | {size, refill_time}')" '{"size":1000,"refill_time":100}'
	snap_send b R
	snap_wait b 'PROBE DONE'
	snap_exit b
	assert_equal "$SNAP_STATUS" 0
	run cat "$TMP/b.out"
	assert_output --partial "PROBE snapshot.resumed ok"
	assert_output --partial "PROBE rng.read ok"
	assert_output --partial "PROBE irq.rng ok"
	assert_output --regexp "PROBE DONE pass=[0-9]+ fail=0"
	refute_output --partial "snapshot.ready"
}

# snap_dev_boot NAME SEED EXTRA_ARGS: the snapshot scenario on ember NAME
# (in $SNAP_NETNS) with eth0 on TAP snapa, a vsock at $TMP/a.vsock, a
# balloon, and $SNAP_MMDS_CONFIG when set; the MMDS data in $SNAP_MMDS_DATA.
snap_dev_boot() {
	local n=$1 seed=$2
	shift 2
	local args="console=ttyS0 probe=snapshot probe.snap_seed=$seed probe.net_ip=$SNAP_GUEST probe.net_peer=$SNAP_PEER $*"
	is_pvm_host && args="$args probe.pvm=1"
	snap_use "$n"
	expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128}'
	expect_api 204 PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$TMP/disk.img\",\"is_root_device\":true,\"is_read_only\":false}"
	expect_api 204 PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"snapa","guest_mac":"06:00:0a:4d:00:02","rx_rate_limiter":{"ops":{"size":1000,"refill_time":100}}}'
	expect_api 204 PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$TMP/a.vsock\"}"
	expect_api 204 PUT /balloon '{"amount_mib":16,"deflate_on_oom":true,"stats_polling_interval_s":1}'
	[ -z "${SNAP_MMDS_CONFIG:-}" ] || expect_api 204 PUT /mmds/config "$SNAP_MMDS_CONFIG"
	[ -z "${SNAP_MMDS_DATA:-}" ] || expect_api 204 PUT /mmds "$SNAP_MMDS_DATA"
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"$args\"}"
	expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
	snap_wait "$n" 'PROBE snapshot.ready ok'
}

@test "net, vsock and balloon are saved (no longer refused): the original resumes and a restored guest uses all three; the balloon's target and actual come back" {
	require_kvm
	snap_require_net
	snap_netns a snapa
	SNAP_NETNS=$NS_a snap_ember a
	snap_dev_boot a 21
	snap_use a
	expect_api 204 PATCH /balloon '{"amount_mib":8}'
	snap_create a "$TMP/state" "$TMP/mem"
	expect_api 200 GET /vm/config
	before=$body
	expect_api 200 GET /balloon/statistics
	assert_equal "$(printf '%s' "$body" | jq -c '{target_pages, actual_pages}')" '{"target_pages":2048,"actual_pages":16}'
	# the original goes on after the save: its vsock driver got TRANSPORT_RESET too
	snap_vsock_peer a "$TMP/a.vsock_53" 2
	expect_api 204 PATCH /vm '{"state":"Resumed"}'
	snap_send a R
	snap_wait a 'PROBE snapshot.resumed'
	run cat "$TMP/a.out"
	assert_output --partial "PROBE snapshot.net ok"
	assert_output --partial "PROBE snapshot.vsock ok"
	assert_output --partial "PROBE snapshot.balloon ok"
	snap_kill a
	run "$EMBER_BUILD/tools/ember-snapshot" info "$TMP/state"
	assert_output --partial net
	assert_output --partial vsock
	assert_output --partial balloon
	# a new ember in the same namespace: the TAP is free again, the socket path is not (a killed
	# ember leaves it), so the load overrides it
	rm -f "$TMP/a.vsock"
	SNAP_NETNS=$NS_a snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true)"
	expect_api 200 GET /vm/config
	assert_equal "$body" "$before"
	expect_api 200 GET /balloon/statistics
	assert_equal "$(printf '%s' "$body" | jq -c '{target_pages, actual_pages, target_mib}')" '{"target_pages":2048,"actual_pages":16,"target_mib":8}'
	snap_send b R
	snap_wait b 'PROBE DONE'
	snap_exit b
	assert_equal "$SNAP_STATUS" 0
	run cat "$TMP/b.out"
	assert_output --partial "PROBE snapshot.net ok"
	assert_output --partial "PROBE snapshot.vsock ok"
	assert_output --partial "PROBE snapshot.balloon ok"
	assert_output --regexp "PROBE DONE pass=[0-9]+ fail=0"
	refute_output --partial "snapshot.ready"
	run cat "$TMP/a.peer"
	assert_output --partial "echoed 64 ok"
}

@test "MMDS after a restore: the config comes back, the store is empty unless PUT before the load, a V2 token from before is refused and a new one works" {
	require_kvm
	snap_require_net
	snap_netns a snapa
	SNAP_NETNS=$NS_a snap_ember a
	SNAP_MMDS_CONFIG='{"version":"V2","network_interfaces":["eth0"],"ipv4_address":"169.254.169.254"}'
	SNAP_MMDS_DATA='{"before":"snapshot"}'
	snap_dev_boot a 23 probe.snap_mmds=1
	snap_create a "$TMP/state" "$TMP/mem"
	snap_kill a
	rm -f "$TMP/a.vsock"
	# no data sent before this load: the store is empty
	SNAP_NETNS=$NS_a snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" false)"
	expect_api 200 GET /vm/config
	assert_equal "$(printf '%s' "$body" | jq -c '.["mmds-config"] | {version, network_interfaces, ipv4_address}')" \
		'{"version":"V2","network_interfaces":["eth0"],"ipv4_address":"169.254.169.254"}'
	api GET /mmds
	case "$body" in *before*) fail "the store came back from the snapshot: $body" ;; esac
	snap_kill b
	rm -f "$TMP/a.vsock"
	# data sent before the load is the restored guest's
	SNAP_NETNS=$NS_a snap_ember c
	snap_use c
	expect_api 204 PUT /mmds '{"after":"load"}'
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true)"
	expect_api 200 GET /mmds
	assert_equal "$body" '{"after":"load"}'
	snap_vsock_peer c "$TMP/a.vsock_53" 1
	snap_send c R
	snap_wait c 'PROBE DONE'
	snap_exit c
	assert_equal "$SNAP_STATUS" 0
	run cat "$TMP/c.out"
	assert_output --partial "PROBE snapshot.mmds ok"
	assert_output --partial "PROBE snapshot.net ok"
	assert_output --regexp "PROBE DONE pass=[0-9]+ fail=0"
}

@test "load overrides: Firecracker's texts for an unknown interface and a VM without vsock, serde's for a bad body; the process loads again" {
	require_kvm
	snap_base
	snap_ember b
	snap_use b
	expect_api 400 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true | sed 's/}$/,"network_overrides":[{"iface_id":"eth9","host_dev_name":"tap9"}]}/')" \
		"Load snapshot error: Failed to restore from snapshot: Failed to get snapshot state from file: Unknown Network Device."
	expect_api 400 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true | sed 's/}$/,"vsock_override":{"uds_path":"x.sock"}}/')" \
		"Load snapshot error: Failed to restore from snapshot: Failed to get snapshot state from file: Unknown Vsock Device."
	expect_api 400 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true | sed 's/}$/,"network_overrides":[{"iface_id":"eth0"}]}/')" \
		'missing field `host_dev_name`'
	expect_api 400 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true | sed 's/}$/,"vsock_override":{"uds_path":"x","bad":1}}/')" \
		'unknown field `bad`'
	expect_api 400 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true | sed 's/}$/,"clock_realtime":"yes"}/')" \
		'invalid type'
	snap_state "Not started"
	# empty overrides change nothing
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true | sed 's/}$/,"network_overrides":[],"vsock_override":null,"clock_realtime":false}/')"
	snap_send b R
	snap_wait b 'PROBE DONE'
	run cat "$TMP/b.out"
	assert_output --regexp "PROBE DONE pass=[0-9]+ fail=0"
}
