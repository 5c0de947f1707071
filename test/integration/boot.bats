#!/usr/bin/env bats
# The guest tier: ember boots the probe guest (test/guest) and the guest checks
# what the boot protocol promised. See doc/probe-guest.md.

load helpers
load boot-helpers

setup() {
	TMP=$(mktemp -d)
}

teardown() {
	rm -rf "$TMP"
}

@test "probe.elf is a vmlinux-shaped freestanding ELF with a PVH note" {
	[ -f "$PROBE" ] || fail "probe guest not built: $PROBE"
	run readelf -h "$PROBE"
	assert_output --regexp 'Class:[[:space:]]+ELF64'
	assert_output --regexp 'Type:[[:space:]]+EXEC'
	assert_output --regexp 'Machine:[[:space:]]+Advanced Micro Devices X86-64'
	run readelf -lW "$PROBE"
	refute_output --partial 'INTERP'
	refute_output --partial 'DYNAMIC'
	# Every PT_LOAD at p_paddr >= 1 MiB, like vmlinux.
	loads=$(printf '%s\n' "$output" | awk '$1 == "LOAD" { print $4 }')
	[ -n "$loads" ]
	for paddr in $loads; do
		[ $((paddr)) -ge $((0x100000)) ] || fail "PT_LOAD at $paddr is below 1 MiB"
	done
	run readelf -n "$PROBE"
	assert_output --regexp 'Xen[[:space:]]+0x00000008[[:space:]]+.*(0x00000012|PHYS32_ENTRY)'
}

@test "probe boots at 1 vCPU / 128 MiB with every check ok" {
	require_kvm
	probe_config "$TMP/vm.json" 1 128 boot
	run_ember_config "$TMP/vm.json"
	assert_probe_all_ok
	assert_equal "$status" 0
}

@test "probe boots at 2 vCPUs / 1024 MiB with every check ok" {
	require_kvm
	probe_config "$TMP/vm.json" 2 1024 boot
	run_ember_config "$TMP/vm.json"
	assert_probe_all_ok
	assert_equal "$status" 0
}

@test "probe boots at 1 vCPU / 4096 MiB: RAM split around the MMIO gap adds up" {
	require_kvm
	probe_config "$TMP/vm.json" 1 4096 boot
	run_ember_config "$TMP/vm.json"
	assert_probe_all_ok
	assert_equal "$status" 0
	assert_output --partial 'PROBE-INFO e820_ram_mib 4096'
	assert_output --regexp 'PROBE-INFO e820 [0-9]+ 0x100000000 0x40000000 1'
}

@test "without boot_args the guest sees Firecracker's default command line" {
	require_kvm
	cat >"$TMP/vm.json" <<-JSON
	{ "boot-source": { "kernel_image_path": "$PROBE" }, "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 } }
	JSON
	run_ember_config "$TMP/vm.json"
	assert_equal "$status" 0
	assert_equal "$(probe_info cmdline)" \
		"reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.dumbkbd swiotlb=noforce$(ember_appended_cmdline)"
}

@test "the guest sees the configured command line plus ember's appended part" {
	require_kvm
	probe_config "$TMP/vm.json" 1 128 boot
	configured=$(probe_boot_args 1 128 boot)
	run_ember_config "$TMP/vm.json"
	assert_equal "$status" 0
	seen=$(probe_info cmdline)
	[ -n "$seen" ] || fail "no PROBE-INFO cmdline line: $output"
	case "$seen" in
	"$configured"*) ;;
	*) fail "the guest saw '$seen', configured was '$configured'" ;;
	esac
	appended=${seen#"$configured"}
	assert_equal "$appended" "$(ember_appended_cmdline)"
}

@test "the guest's TSC rate (CPUID 0x40000010) is the one ember logs at Debug, and interrupts reach the LAPIC" {
	require_kvm
	probe_config "$TMP/vm.json" 2 128 boot
	# The log goes to its own file: on stdout a vCPU's log line can land in
	# the middle of a serial line (seen under strace) and break its PROBE line.
	run_ember_config "$TMP/vm.json" --level Debug --log-path "$TMP/log"
	assert_probe_all_ok
	assert_equal "$status" 0
	guest=$(probe_info tsc_khz)
	logged=$(sed -n 's/.*guest TSC rate: \([0-9]*\) kHz$/\1/p' "$TMP/log" | head -n 1)
	[ -n "$logged" ] || fail "ember logged no 'guest TSC rate' at Debug: $(cat "$TMP/log")"
	assert_equal "$guest" "$logged"
	assert_output --partial 'PROBE boot.tsc_khz ok'
	assert_output --partial 'PROBE irq.serial ok'
}

@test "an initrd arrives intact, page-aligned above the kernel and described in the zero page" {
	require_kvm
	head -c 20000 /dev/urandom >"$TMP/initrd.img"
	probe_config_initrd "$TMP/vm.json" "$TMP/initrd.img" 1 128 boot
	run_ember_config "$TMP/vm.json"
	assert_probe_all_ok
	assert_equal "$status" 0
	assert_output --partial 'PROBE boot.initrd ok'
	assert_output --partial 'PROBE boot.initrd.bytes ok'
}

@test "an initrd larger than guest RAM: exit 152 naming the initrd" {
	require_kvm
	truncate -s 200M "$TMP/big.img"
	probe_config_initrd "$TMP/vm.json" "$TMP/big.img" 1 128 boot
	run_ember_config "$TMP/vm.json"
	assert_equal "$status" 152
	assert_output --partial 'initrd'
	refute_output --partial 'PROBE'
}

@test "--boot-timer logs the guest boot time when the guest writes 123" {
	require_kvm
	probe_config "$TMP/vm.json" 1 128 boot probe.boot_timer=1
	run_ember_config "$TMP/vm.json" --boot-timer
	assert_probe_all_ok
	assert_equal "$status" 0
	assert_output --regexp 'Guest-boot-time = [0-9]+ us [0-9]+ ms, [0-9]+ CPU us [0-9]+ CPU ms'
}

@test "without --boot-timer a boot-timer write logs nothing" {
	require_kvm
	probe_config "$TMP/vm.json" 1 128 boot probe.boot_timer=1
	run_ember_config "$TMP/vm.json"
	assert_equal "$status" 0
	refute_output --partial 'Guest-boot-time'
}

@test "an unknown scenario is reported as FAIL by the probe" {
	require_kvm
	probe_config "$TMP/vm.json" 1 128 boot,no-such-scenario
	run_ember_config "$TMP/vm.json"
	assert_output --partial 'PROBE no-such-scenario FAIL unknown scenario'
	assert_output --regexp 'PROBE DONE pass=[0-9]+ fail=1'
	# The guest still ends through the i8042 reset: ember's own exit is clean.
	assert_equal "$status" 0
}

@test "a triple-faulting guest ends with a non-zero exit and a message" {
	require_kvm
	probe_config "$TMP/vm.json" 1 128 triplefault
	run_ember_config "$TMP/vm.json"
	[ "$status" -ne 124 ] && [ "$status" -ne 137 ] || fail "ember hung on a triple fault (timeout): $output"
	[ "$status" -ne 0 ] || fail "ember exited 0 after a triple fault: $output"
	assert_output --partial 'PROBE-INFO triplefault'
	refute_output --partial 'PROBE DONE'
	assert_output --regexp '[Tt]riple fault|KVM_EXIT_SHUTDOWN|[Ii]nternal error|KVM_EXIT_INTERNAL_ERROR'
}

@test "a Linux guest boots (bzImage from tools/build-linux-guest.sh)" {
	if is_pvm_host; then
		skip "PVM KVM host (/sys/module/kvm_pvm): its emulator cannot deliver the interrupts a Linux guest needs"
	fi
	require_kvm
	require_built_ember_linux
	kernel=$EMBER_BUILD/linux-guest/vmlinuz
	[ -f "$kernel" ] || skip "no Linux guest kernel: run tools/build-linux-guest.sh first"
	cat >"$TMP/vm.json" <<-JSON
	{
	  "boot-source": { "kernel_image_path": "$kernel",
	                   "boot_args": "console=ttyS0 reboot=k panic=1 nomodule i8042.noaux i8042.nomux i8042.dumbkbd" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 256 }
	}
	JSON
	run timeout --kill-after=5 120 "$EMBER" --no-api --config-file "$TMP/vm.json"
	# Without a root device the kernel panics and, with panic=1 reboot=k,
	# resets through the i8042: the boot got as far as mounting root.
	assert_output --partial 'Linux version'
	assert_output --regexp 'VFS: Unable to mount root|Kernel panic'
	assert_equal "$status" 0
}

# Bad inputs: each gets a clear message and exit 152 (bad configuration), never a
# crash. The runs happen in $TMP with core dumps allowed, so a crash would leave one.
bad_kernel_run() {
	local kernel=$1
	shift
	require_kvm
	cat >"$TMP/vm.json" <<-JSON
	{ "boot-source": { "kernel_image_path": "$kernel", "boot_args": "probe=boot" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 } }
	JSON
	cd "$TMP"
	run bash -c 'ulimit -c unlimited; "$@"' _ timeout --kill-after=5 60 "$EMBER" --no-api --config-file "$TMP/vm.json" "$@"
	cd - >/dev/null
	assert_equal "$status" 152
	refute_output --partial 'PROBE'
	[ -z "$(find "$TMP" -maxdepth 1 -name 'core*')" ] || fail "ember dumped core"
}

@test "a missing kernel file: exit 152 naming the problem" {
	bad_kernel_run "$TMP/no-such-vmlinux"
	assert_output --partial 'kernel file cannot be opened'
}

@test "a kernel that is neither ELF nor bzImage: exit 152" {
	printf '#!/bin/sh\necho not a kernel\n' >"$TMP/not-a-kernel"
	bad_kernel_run "$TMP/not-a-kernel"
	assert_output --partial 'neither an ELF vmlinux nor a bzImage'
}

@test "a truncated ELF: exit 152" {
	head -c 100 "$PROBE" >"$TMP/truncated.elf"
	bad_kernel_run "$TMP/truncated.elf"
	assert_output --partial 'program header table'
}

@test "an ELF with a segment below 1 MiB: exit 152" {
	cp "$PROBE" "$TMP/low.elf"
	# The first program header's p_paddr (offset 64 + 24) set to 0x1000.
	printf '\x00\x10\x00\x00\x00\x00\x00\x00' | dd of="$TMP/low.elf" bs=1 seek=88 conv=notrunc status=none
	bad_kernel_run "$TMP/low.elf"
	assert_output --partial 'below 1 MiB'
}

@test "a memory size that cannot be mapped: exit 152" {
	require_kvm
	if ember_is_sanitized; then
		skip "ASan reserves terabytes of shadow address space: an address-space limit aborts it before ember runs"
	fi
	probe_config "$TMP/vm.json" 1 4096 boot
	run bash -c 'ulimit -v 1000000; "$@"' _ timeout --kill-after=5 60 "$EMBER" --no-api --config-file "$TMP/vm.json"
	assert_equal "$status" 152
	assert_output --regexp '[Mm]emory'
	refute_output --partial 'PROBE'
}
