#!/usr/bin/env bats
# The device sets of machine-config "irqchip" and "pit" (doc/irqchip.md):
# the API and config-file fields, the probe's boot and blk scenarios with
# their interrupt checks (irq.serial, irq.blk: a pin routed through the
# IOAPIC lands in the local APIC's IRR) under each set, and an IOAPIC that
# misroutes a pin failing those checks.

load helpers
load api-helpers
load boot-helpers
load tree-helpers

setup() {
	TMP=$BATS_TEST_TMPDIR
}

teardown() {
	api_stop
}

NEEDS_KERNEL='Machine config error: an in-kernel PIT needs irqchip \"kernel\".'

# refute_body SUBSTRING: the last answer's body does not contain it.
refute_body() {
	case "$body" in
	*"$1"*) fail "body '$body' contains '$1'" ;;
	esac
}

@test "API: irqchip and pit absent from GET at their defaults, shown when set; pit true with split is a 400" {
	api_start
	for p in /machine-config /vm/config; do
		expect_api 200 GET $p
		refute_body '"irqchip"'
		refute_body '"pit"'
	done
	expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128,"irqchip":"split"}'
	expect_api 200 GET /machine-config '' '"irqchip":"split"'
	refute_body '"pit"'
	expect_api 200 GET /vm/config '' '"irqchip":"split"'
	expect_api 400 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128,"irqchip":"split","pit":true}'
	assert_equal "$body" "{\"fault_message\":\"$NEEDS_KERNEL\"}"
	expect_api 400 PATCH /machine-config '{"pit":true}' "$NEEDS_KERNEL"
	expect_api 200 GET /machine-config '' '"irqchip":"split"' # the refused requests changed nothing
	refute_body '"pit"'
	expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128,"pit":false}'
	expect_api 200 GET /machine-config '' '"pit":false'
	refute_body '"irqchip"'
	expect_api 200 GET /vm/config '' '"pit":false'
	# Explicit defaults are defaults: not shown.
	expect_api 204 PATCH /machine-config '{"irqchip":"kernel","pit":true}'
	expect_api 200 GET /machine-config
	refute_body '"irqchip"'
	refute_body '"pit"'
	expect_api 400 PATCH /machine-config '{"irqchip":"userspace"}' 'unknown variant `userspace`, expected `kernel` or `split`'
	expect_api 400 PATCH /machine-config '{"pit":"off"}' 'expected a boolean for field `pit`'
}

@test "config file: irqchip split with pit true exits 152 naming the rule" {
	cat >"$TMP/vm.json" <<-JSON
	{ "boot-source": { "kernel_image_path": "$PROBE" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128, "irqchip": "split", "pit": true } }
	JSON
	run timeout --kill-after=5 30 "$EMBER" --no-api --config-file "$TMP/vm.json" --id "irqchip-bats-$$"
	assert_equal "$status" 152
	assert_output --partial 'Machine config error: an in-kernel PIT needs irqchip "kernel".'
}

# set_config FILE MACHINE_EXTRA VCPUS: the probe's boot and blk scenarios
# with one writable drive, machine-config extended by MACHINE_EXTRA.
set_config() {
	local args
	args=$(probe_boot_args "$3" 128 boot,blk probe.blk_seed=5)
	truncate -s 16M "$TMP/data.img"
	cat >"$1" <<-JSON
	{
	  "boot-source": { "kernel_image_path": "$PROBE", "boot_args": "$args" },
	  "machine-config": { "vcpu_count": $3, "mem_size_mib": 128 $2 },
	  "drives": [ { "drive_id": "data", "path_on_host": "$TMP/data.img", "is_root_device": false,
	                "is_read_only": false } ]
	}
	JSON
}

@test "probe boot and blk with their irq checks pass with the default set, irqchip split and pit false" {
	require_kvm
	for set in '' ', "irqchip": "split"' ', "pit": false' ', "irqchip": "split", "pit": false'; do
		for vcpus in 1 2; do
			set_config "$TMP/vm.json" "$set" "$vcpus"
			run_ember_config "$TMP/vm.json"
			[ "$status" -eq 0 ] || fail "set '$set', $vcpus vCPUs: exit $status: $output"
			assert_probe_all_ok
			assert_line 'PROBE irq.serial ok'
			assert_line 'PROBE irq.blk ok'
			assert_line --regexp '^PROBE DONE pass=[0-9]+ fail=0$'
		done
	done
}

@test "an IOAPIC that routes a pin's GSI elsewhere fails the probe's IRR check; the same build's kernel set passes" {
	require_kvm
	require_built_ember
	command -v ninja >/dev/null || skip "ninja is not installed"
	tree=$TMP/tree
	tree_copy "$tree"
	# Pin n's route lands on GSI n ^ 1: the serial's irqfd (GSI 4) fires on
	# nothing, and what pin 5 was routed for goes to GSI 4.
	sed -i 's|^\t\tt.e\[n\].gsi = pin;$|\t\tt.e[n].gsi = pin ^ 1;|' "$tree/vmm/core/irqchip/split.c"
	grep -q 'gsi = pin ^ 1;' "$tree/vmm/core/irqchip/split.c" || fail "the split.c patch did not apply"
	meson setup "$TMP/build" "$tree" >/dev/null
	nice -n 19 ninja -C "$TMP/build" vmm/ember >/dev/null
	set_config "$TMP/vm.json" ', "irqchip": "split"' 1
	sed -i 's|probe.blk_seed=5|probe.blk_seed=5 probe.irq_ms=200|' "$TMP/vm.json"
	run timeout --kill-after=5 60 "$TMP/build/vmm/ember" --no-api --config-file "$TMP/vm.json" --id "irqchip-bats-$$"
	assert_line --regexp '^PROBE irq.serial FAIL the IRR bit stayed clear after the unmasked trigger'
	assert_line --regexp '^PROBE DONE pass=[0-9]+ fail=[1-9]'
	set_config "$TMP/vm.json" '' 1
	run timeout --kill-after=5 60 "$TMP/build/vmm/ember" --no-api --config-file "$TMP/vm.json" --id "irqchip-bats-$$"
	assert_equal "$status" 0
	assert_line 'PROBE irq.serial ok'
}

# linux_lines FILE: what Linux printed of the e820 map, the MP table and the
# APICs, without timestamps.
linux_lines() {
	sed -E 's/^\[ *[0-9.]+\] //' "$1" |
		grep -E '^(BIOS-e820|found SMP MP-table|MPTABLE|IOAPIC\[|APIC|x2apic|Switched APIC|TSC deadline|smpboot: Allowing)'
}

# linux_start NAME KERNEL ARGS EXTRA: boots Linux with machine-config
# extended by EXTRA in the background, its output in $TMP/NAME.out; the
# process id is appended to $pids.
linux_start() {
	cat >"$TMP/$1.json" <<-JSON
	{ "boot-source": { "kernel_image_path": "$2", "boot_args": "$3" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 256 $4 } }
	JSON
	timeout --kill-after=5 1800 "$EMBER" --no-api --config-file "$TMP/$1.json" --id "irqchip-linux-$1-$$" \
		>"$TMP/$1.out" 2>&1 &
	pids="$pids $!"
}

# linux_check NAME: the boot got as far as the host allows.
linux_check() {
	local out=$TMP/$1.out
	grep -q 'Linux version' "$out" || fail "$1: Linux printed nothing: $(tail -5 "$out")"
	if is_pvm_host; then
		# alternative_instructions()'s int3 self-test: the first exception,
		# which PVM's emulator cannot deliver (design.md §4).
		grep -q 'x86/fpu: ' "$out" || fail "$1: Linux stopped early: $(tail -5 "$out")"
		grep -q 'KVM internal error, suberror 1' "$out" || fail "$1: $(tail -5 "$out")"
	else
		grep -qE 'VFS: Unable to mount root|Kernel panic' "$out" || fail "$1: $(tail -5 "$out")"
	fi
}

@test "Linux boots with each set (VMX/SVM), or under PVM reaches its int3 self-test printing the same e820, MP-table and APIC lines" {
	require_kvm
	require_built_ember_linux
	require_linux_guest
	# acpi=off: the MP table's path, where the sets differ. With ember's ACPI
	# tables (hardware-reduced, doc/acpi.md) Linux uses no legacy PIC in any
	# set; acpi.bats checks that path.
	local kernel=$EMBER_BUILD/linux-guest/vmlinuz args="console=ttyS0 reboot=k panic=1 nomodule i8042.noaux i8042.nomux i8042.dumbkbd acpi=off"
	if is_pvm_host; then
		kernel=$EMBER_BUILD/linux-guest/vmlinux
		args="earlyprintk=serial,ttyS0 console=ttyS0 noxsave clearcpuid=cx16 $args"
	fi
	# The three boots run side by side: each is one vCPU, and under PVM about
	# 40 s of emulation, so together they take the time of about two.
	local pids='' pid name
	linux_start kernel "$kernel" "$args" ''
	linux_start pit-off "$kernel" "$args" ', "pit": false'
	linux_start split "$kernel" "$args" ', "irqchip": "split"'
	for pid in $pids; do
		wait "$pid" || true # the exit status says nothing under PVM (the int3); the output does
	done
	for name in kernel pit-off split; do
		linux_check "$name"
	done
	[ -n "$(linux_lines "$TMP/kernel.out")" ] || fail "no e820, MP-table or APIC lines: $(head -40 "$TMP/kernel.out")"
	diff <(linux_lines "$TMP/kernel.out") <(linux_lines "$TMP/pit-off.out") || fail "pit:false changed what Linux parsed"
	diff <(linux_lines "$TMP/kernel.out") <(linux_lines "$TMP/split.out") || fail "split changed what Linux parsed"
	# Each kind of line is there, so a set that printed none of a kind cannot
	# pass by matching another that printed none either.
	local want
	for want in '^BIOS-e820: ' '^found SMP MP-table' '^IOAPIC\[0\]: apic_id ' '^APIC: Switch to symmetric I/O mode' \
		'^Switched APIC routing to '; do
		linux_lines "$TMP/kernel.out" | grep -qE "$want" || fail "the kernel set printed no line matching '$want'"
	done
	# The split set's one visible difference at this point: no PIC, so no
	# legacy IRQs preallocated (doc/irqchip.md).
	grep -q 'Using NULL legacy PIC' "$TMP/split.out" || fail "split: Linux found a PIC"
	! grep -q 'Using NULL legacy PIC' "$TMP/kernel.out" || fail "kernel: Linux found no PIC"
	grep -qE 'preallocated irqs: 0\s*$' "$TMP/split.out" || fail "split: $(grep 'preallocated irqs' "$TMP/split.out")"
	for name in kernel pit-off; do
		grep -qE 'preallocated irqs: 16\s*$' "$TMP/$name.out" || fail "$name: $(grep 'preallocated irqs' "$TMP/$name.out")"
	done
}
