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

@test "teardown: the VM fd's last reference goes to an io_uring after the vCPU fds are closed" {
	require_built_ember
	command -v strace >/dev/null || skip "strace is not installed (tools/setup.sh installs it)"
	build_min_guest "$TMP/min.elf"
	cat >"$TMP/two.json" <<-JSON
	{ "boot-source": { "kernel_image_path": "$TMP/min.elf", "boot_args": "console=ttyS0" },
	  "machine-config": { "vcpu_count": 2, "mem_size_mib": 128 },
	  "drives": [ $(blk_drive data "$TMP/data.img" false false) ] }
	JSON
	run timeout --kill-after=5 60 strace -f -qq -e trace=ioctl,close,io_uring_setup,io_uring_register \
		-o "$TMP/trace" "$EMBER" --no-api --config-file "$TMP/two.json" --id "startup-bats-$$"
	assert_success
	assert_line "startup guest"
	# the number of the first trace line after line ${2:-0} matching the extended regexp $1
	at() { awk -v from="${2:-0}" -v re="$1" 'NR > from && $0 ~ re { print NR; exit }' "$TMP/trace"; }
	local vm ring reg vm_close ring_close fd
	vm=$(sed -nE 's/.*KVM_CREATE_VM, 0\) += ([0-9]+)$/\1/p' "$TMP/trace")
	[ -n "$vm" ] || fail "no KVM_CREATE_VM: $(cat "$TMP/trace")"
	ring=$(sed -nE "s/.*io_uring_register\(([0-9]+), IORING_REGISTER_FILES, \[$vm\], 1\) += 0$/\1/p" "$TMP/trace")
	[ -n "$ring" ] || fail "the VM fd $vm was not registered in an io_uring: $(tail -30 "$TMP/trace")"
	reg=$(at "io_uring_register[(]$ring, IORING_REGISTER_FILES")
	# the VM fd's first close after its creation comes after the hand-over,
	# and the ring's close after that
	vm_close=$(at "close[(]$vm[)] += 0" "$(at 'KVM_CREATE_VM')")
	ring_close=$(at "close[(]$ring[)] += 0" "$reg")
	[ -n "$vm_close" ] && [ -n "$ring_close" ] || fail "the VM fd or the ring was not closed: $(tail -30 "$TMP/trace")"
	[ "$reg" -lt "$vm_close" ] && [ "$vm_close" -lt "$ring_close" ] ||
		fail "register, close(VM), close(ring) out of order (lines $reg, $vm_close, $ring_close)"
	# each vCPU fd (they hold the VM too) was closed before the hand-over
	local created closed
	for fd in $(sed -nE 's/.*KVM_CREATE_VCPU, [0-9]+\) += ([0-9]+)$/\1/p' "$TMP/trace"); do
		created=$(at "KVM_CREATE_VCPU, [0-9]+[)] += $fd$")
		closed=$(at "close[(]$fd[)] += 0" "$created")
		[ -n "$closed" ] && [ "$closed" -lt "$reg" ] || fail "vCPU fd $fd closed after the VM fd's hand-over, or never"
	done
}

@test "teardown: the kernel destroys the VM once ember is gone (its PIT worker ends)" {
	require_built_ember # the worker is named after ember's pid, not a tracing wrapper's
	build_min_guest "$TMP/stay.elf" -DSTAY
	cat >"$TMP/stay.json" <<-JSON
	{ "boot-source": { "kernel_image_path": "$TMP/stay.elf", "boot_args": "console=ttyS0" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 } }
	JSON
	"$EMBER" --no-api --config-file "$TMP/stay.json" --id "startup-bats-$$" >"$TMP/out" 2>&1 &
	local pid=$! _
	# KVM's in-kernel PIT has a kthread worker named after the VM's creator
	# (kvm_create_pit: "kvm-pit/<pid>"); kvm_free_pit() stops it when the VM
	# is destroyed.
	for _ in $(seq 100); do
		grep -q 'startup guest' "$TMP/out" && break
		sleep 0.1
	done
	grep -q 'startup guest' "$TMP/out" || { kill -9 "$pid"; fail "the guest did not start: $(cat "$TMP/out")"; }
	local w
	w=$(ps -e -o pid=,comm= | awk -v p="$pid" '$2 == "kvm-pit/" p { print $1 }')
	kill -TERM "$pid"
	wait "$pid" || fail "ember's SIGTERM exit failed: $(cat "$TMP/out")"
	[ -n "$w" ] || skip "no kvm-pit/$pid worker to watch (this kernel names it otherwise)"
	for _ in $(seq 100); do
		[ -d "/proc/$w" ] || return 0
		sleep 0.1
	done
	fail "kvm-pit/$pid (pid $w) still exists 10 s after ember exited: the VM was not destroyed"
}
