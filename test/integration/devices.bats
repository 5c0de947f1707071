#!/usr/bin/env bats
# The device manager (vmm/devices/manager.c) and the one build path: a
# --config-file start and an API InstanceStart go through the same function,
# so the guest sees the same command line, the root drive's window first.

load helpers
load block-helpers
load api-helpers

setup() {
	TMP=$(mktemp -d)
	truncate -s 1M "$TMP/data.img" "$TMP/root.img"
	ARGS=$(probe_boot_args 1 128 boot)
}

teardown() {
	api_stop
	rm -rf "$TMP"
}

# The drives in insertion order: a data drive, then the root drive.
DRIVES='data root'

drive_json() {
	if [ "$1" = root ]; then
		blk_drive root "$TMP/root.img" true false
	else
		blk_drive data "$TMP/data.img" false false
	fi
}

@test "--config-file and InstanceStart give one command line, root drive first" {
	require_kvm
	cat >"$TMP/vm.json" <<-JSON
	{
	  "boot-source": { "kernel_image_path": "$PROBE", "boot_args": "$ARGS" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
	  "drives": [ $(drive_json data), $(drive_json root) ]
	}
	JSON
	run timeout --kill-after=5 60 "$EMBER" --no-api --config-file "$TMP/vm.json" --id "devices-bats-$$"
	assert_equal "$status" 0
	from_file=$(probe_info cmdline)

	api_start
	expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128}'
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"$ARGS\"}"
	for d in $DRIVES; do
		expect_api 204 PUT "/drives/$d" "$(drive_json "$d")"
	done
	expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	output=$(cat "$OUT")
	from_api=$(probe_info cmdline)

	[ -n "$from_file" ] || fail "no command line from the config-file boot"
	assert_equal "$from_api" "$from_file"
	# root= first, then the root drive's window (the first one), then the data drive's.
	case "$from_file" in
	*" root=/dev/vda rw virtio_mmio.device=4K@0xc0001000:5 virtio_mmio.device=4K@0xc0002000:6") ;;
	*) fail "unexpected device part of the command line: $from_file" ;;
	esac
}
