#!/usr/bin/env bats
# Start-up ordering (issue 30, doc/design-notes.md "Start-up and teardown"):
# a virtio queue's KVM ioeventfd is registered only after its first notifies
# went through the MMIO exit path; the guest must not be able to tell.

load helpers
load block-helpers

setup() {
	require_kvm
	TMP=$(mktemp -d)
	truncate -s 1M "$TMP/data.img"
	truncate -s 64K "$TMP/root.img"
	blk_config "$TMP/vm.json" blk "probe.blk_seed=5" \
		"$(blk_drive rootfs "$TMP/root.img" true true)" \
		"$(blk_drive data "$TMP/data.img" false false '"cache_type": "Writeback"')"
}

teardown() {
	rm -rf "$TMP"
}

# The last run's log file does not contain TEXT (the file must exist: ember wrote its log there).
run_log_lacks() {
	[ -f "$TMP/log" ] || fail "ember wrote no log file"
	! grep -qF "$1" "$TMP/log" || fail "the log has '$1': $(cat "$TMP/log")"
	rm -f "$TMP/log"
}

# The guest's PROBE lines of the last run, in order.
probe_lines() {
	printf '%s\n' "$output" | grep '^PROBE'
}

@test "blk: the same PROBE lines with the ioeventfd at attach, after 1 and 3 notifies, and never" {
	local want
	# The log goes to its own file: a line logged on a vCPU thread mid-scenario
	# must not land inside a serial line on stdout.
	EMBER_TEST_IOEVENTFD_AFTER=0 run_blk_config "$TMP/vm.json" --level Debug --log-path "$TMP/log"
	assert_probe_all_ok
	assert_equal "$status" 0
	run_log_lacks "ioeventfd registered after"
	want=$(probe_lines)
	for after in 1 3; do
		EMBER_TEST_IOEVENTFD_AFTER=$after run_blk_config "$TMP/vm.json" --level Debug --log-path "$TMP/log"
		assert_equal "$status" 0
		# registered on the vCPU thread in the middle of the scenario
		grep -qF "virtio-mmio block: queue 0 ioeventfd registered after $after notifies" "$TMP/log" ||
			fail "no registration after $after notifies in the log: $(cat "$TMP/log")"
		rm -f "$TMP/log"
		assert_equal "$(probe_lines)" "$want"
	done
	# the default: the blk scenario's few notifies never reach the threshold
	run_blk_config "$TMP/vm.json" --level Debug --log-path "$TMP/log"
	assert_equal "$status" 0
	run_log_lacks "ioeventfd registered after"
	assert_equal "$(probe_lines)" "$want"
	assert_equal "$(blk_sector8_hex "$TMP/data.img")" "$(blk_pattern_hex 5)"
}

@test "EMBER_TEST_IOEVENTFD_AFTER that is not a number is an error naming it" {
	EMBER_TEST_IOEVENTFD_AFTER=x3 run_blk_config "$TMP/vm.json"
	assert_failure
	assert_output --partial 'EMBER_TEST_IOEVENTFD_AFTER="x3": not a number of notifies'
}

# bench/startup's minimal guest, built with gcc: DEFINES... OUT.
build_min_guest() {
	local out=$1
	shift
	command -v gcc >/dev/null || skip "gcc is not installed (tools/setup.sh installs build-essential)"
	gcc -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-T,"$EMBER_SRC/bench/startup/guest.ld" "$@" \
		-o "$out" "$EMBER_SRC/bench/startup/guest.S"
}

@test "serial: output without a newline still reaches stdout while the guest idles" {
	build_min_guest "$TMP/open.elf" -DSTAY -DNO_NEWLINE
	cat >"$TMP/open.json" <<-JSON
	{ "boot-source": { "kernel_image_path": "$TMP/open.elf", "boot_args": "console=ttyS0" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 } }
	JSON
	"$EMBER" --no-api --config-file "$TMP/open.json" --id "startup-bats-$$" >"$TMP/out" 2>&1 &
	local pid=$! seen=
	for _ in $(seq 50); do
		grep -q 'startup guest' "$TMP/out" && { seen=1; break; }
		sleep 0.1
	done
	kill -9 "$pid"
	wait "$pid" || true
	[ -n "$seen" ] || fail "the guest's open line did not appear within 5 s: $(cat "$TMP/out")"
	# the line is the last thing on stdout: nothing was appended to it
	assert_equal "$(tail -c 13 "$TMP/out")" "startup guest"
}

@test "serial: the minimal guest's line, then the reset: exit 0" {
	build_min_guest "$TMP/min.elf"
	cat >"$TMP/min.json" <<-JSON
	{ "boot-source": { "kernel_image_path": "$TMP/min.elf", "boot_args": "console=ttyS0" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 } }
	JSON
	run timeout --kill-after=5 60 "$EMBER" --no-api --config-file "$TMP/min.json" --id "startup-bats-$$"
	assert_success
	assert_line "startup guest"
}

@test "start-up order: memory before the irqchip and PIT, one KVM_GET_SUPPORTED_CPUID, no ioeventfd before the guest runs" {
	require_built_ember
	command -v strace >/dev/null || skip "strace is not installed (tools/setup.sh installs it)"
	build_min_guest "$TMP/min.elf"
	cat >"$TMP/two.json" <<-JSON
	{ "boot-source": { "kernel_image_path": "$TMP/min.elf", "boot_args": "console=ttyS0" },
	  "machine-config": { "vcpu_count": 2, "mem_size_mib": 128 },
	  "drives": [ $(blk_drive data "$TMP/data.img" false false) ] }
	JSON
	run timeout --kill-after=5 60 strace -f -qq -e trace=ioctl -o "$TMP/trace" \
		"$EMBER" --no-api --config-file "$TMP/two.json" --id "startup-bats-$$"
	assert_success
	assert_line "startup guest"
	# the line number of the first ioctl named $1 in the trace
	first() { grep -n "$1" "$TMP/trace" | head -n 1 | cut -d: -f1; }
	local mem irqchip pit run
	mem=$(first KVM_SET_USER_MEMORY_REGION)
	irqchip=$(first KVM_CREATE_IRQCHIP)
	pit=$(first KVM_CREATE_PIT2)
	run=$(first KVM_RUN)
	[ -n "$mem" ] && [ -n "$irqchip" ] && [ -n "$pit" ] && [ -n "$run" ] || fail "missing ioctls: $(cat "$TMP/trace")"
	[ "$mem" -lt "$irqchip" ] && [ "$mem" -lt "$pit" ] ||
		fail "a memory region came after the irqchip or PIT (lines $mem, $irqchip, $pit)"
	assert_equal "$(grep -c 'KVM_GET_SUPPORTED_CPUID' "$TMP/trace")" 1
	assert_equal "$(grep -c 'KVM_CREATE_VCPU' "$TMP/trace")" 2
	# the guest never notifies the drive: its queue's ioeventfd is never registered
	assert_equal "$(grep -c 'KVM_IOEVENTFD' "$TMP/trace")" 0
}
