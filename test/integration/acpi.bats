#!/usr/bin/env bats
# ACPI tables and the power button (issue 32, doc/acpi.md): --dump-acpi
# checked with iasl and against the command line of the same configuration;
# the probe's acpi scenario (Linux's RSDP scan, checksums, MADT, DSDT, then
# S5 or the reset register); Linux's early boot reading the tables (with
# acpi=off it reads the MP table: irqchip.bats).

bats_require_minimum_version 1.5.0
load helpers
load boot-helpers

setup() {
	TMP=$BATS_TEST_TMPDIR
}

teardown() {
	for pid in ${ACPI_PIDS:-}; do kill -KILL "$pid" 2>/dev/null || true; done
}

# acpi_config FILE KERNEL VCPUS DRIVES ARGS: a config with DRIVES drives (the
# first the root) on small files of their own, and $ACPI_EXTRA's keys.
acpi_config() {
	local file=$1 kernel=$2 vcpus=$3 drives=$4 args=$5 i list=""
	for ((i = 0; i < drives; i++)); do
		truncate -s 64K "$TMP/disk$i"
		[ -n "$list" ] && list="$list,"
		list="$list{ \"drive_id\": \"d$i\", \"path_on_host\": \"$TMP/disk$i\", \"is_root_device\": $([ "$i" -eq 0 ] && echo true || echo false), \"is_read_only\": false }"
	done
	cat >"$file" <<-JSON
	{ "boot-source": { "kernel_image_path": "$kernel", "boot_args": "$args" },
	  "drives": [ $list ],${ACPI_EXTRA:-}
	  "machine-config": { "vcpu_count": $vcpus, "mem_size_mib": 128 } }
	JSON
}

# dump_and_check VCPUS DRIVES [ENTRIES]: --dump-acpi, the probe booted with
# acpi=off for the command line (ENTRIES virtio devices, default DRIVES), then
# acpi-check.py on both.
dump_and_check() {
	local vcpus=$1 drives=$2 entries=${3:-$2} dir=$TMP/acpi-$1-$2 cmdline
	acpi_config "$TMP/vm-$vcpus-$drives.json" "$PROBE" "$vcpus" "$drives" \
		"$(probe_boot_args "$vcpus" 128 boot) acpi=off"
	mkdir -p "$dir"
	run "$EMBER" --config-file "$TMP/vm-$vcpus-$drives.json" --dump-acpi "$dir"
	[ "$status" -eq 0 ] || fail "--dump-acpi ($vcpus vCPUs, $drives drives): exit $status: $output"
	run_ember_config "$TMP/vm-$vcpus-$drives.json"
	cmdline=$(printf '%s\n' "$output" | sed -n 's/^PROBE-INFO cmdline //p')
	[ -n "$cmdline" ] || fail "no PROBE-INFO cmdline: $output"
	[ "$(grep -o 'virtio_mmio.device=' <<<"$cmdline" | wc -l)" -eq "$entries" ] ||
		fail "$entries virtio devices but the command line is: $cmdline"
	run python3 "$BATS_TEST_DIRNAME/acpi-check.py" "$dir" --vcpus "$vcpus" --cmdline "$cmdline"
	[ "$status" -eq 0 ] || fail "$vcpus vCPUs, $drives drives: $output"
	ACPI_CMDLINE=$cmdline
}

@test "--dump-acpi for 0, 1, 4 and 16 drives and 1, 2 and 32 vCPUs: checksums, iasl -d clean, LNRO0005 devices = virtio_mmio.device= entries both ways, MADT, COM1, i8042, \\_S5, VGEN, VCLK, GED after the virtio GSIs, FADT, RSDP" {
	require_kvm
	command -v iasl >/dev/null || fail "iasl is not installed (acpica-tools, tools/setup.sh)"
	local d v
	for d in 0 1 4 16; do dump_and_check 1 "$d"; done
	for v in 2 32; do dump_and_check "$v" 4; done
}

@test "the check fails on a bad checksum, a missing device, an extra device, a wrong window or IRQ, a wrong vCPU count" {
	require_kvm
	command -v iasl >/dev/null || fail "iasl is not installed (acpica-tools, tools/setup.sh)"
	dump_and_check 2 4
	local dir=$TMP/acpi-2-4 check=$BATS_TEST_DIRNAME/acpi-check.py
	run python3 "$check" "$dir" --vcpus 2 --cmdline "${ACPI_CMDLINE% virtio_mmio.device=*}"
	assert_failure
	assert_output --partial 'has no virtio_mmio.device= entry'
	run python3 "$check" "$dir" --vcpus 2 --cmdline "$ACPI_CMDLINE virtio_mmio.device=4K@0xc0005000:9"
	assert_failure
	assert_output --partial 'no LNRO0005 device for the command line entry 4K@0xc0005000:9'
	run python3 "$check" "$dir" --vcpus 2 --cmdline "${ACPI_CMDLINE/0xc0002000:6/0xc0002000:7}"
	assert_failure
	assert_output --partial 'no LNRO0005 device for the command line entry 4K@0xc0002000:7'
	run python3 "$check" "$dir" --vcpus 3 --cmdline "$ACPI_CMDLINE"
	assert_failure
	assert_output --partial 'APIC: 2 local APICs, not 3'
	# The GED's _HID changed (its checksum fixed): no GED.
	cp "$dir/DSDT.dat" "$TMP/DSDT.good"
	python3 - "$dir/DSDT.dat" <<-'PY'
	import sys
	p = sys.argv[1]; d = bytearray(open(p, 'rb').read())
	i = d.index(b'ACPI0013'); d[i + 7] = ord('4')
	d[9] = 0; d[9] = (-sum(d)) & 0xff
	open(p, 'wb').write(d)
	PY
	run python3 "$check" "$dir" --vcpus 2 --cmdline "$ACPI_CMDLINE"
	assert_failure
	assert_output --partial 'DSDT: no GED (ACPI0013) with edge interrupts [9, 10]'
	cp "$TMP/DSDT.good" "$dir/DSDT.dat"
	# One byte of the DSDT's body changed: its checksum no longer holds.
	printf '\x01' | dd of="$dir/DSDT.dat" bs=1 seek=40 conv=notrunc status=none
	run python3 "$check" "$dir" --vcpus 2 --cmdline "$ACPI_CMDLINE"
	assert_failure
	assert_output --partial 'DSDT: bad checksum'
}

@test "--dump-acpi: a DIR that is not a writable directory is refused by name with nothing written; config errors exit 152; --config-file is required; no /dev/kvm needed" {
	acpi_config "$TMP/vm.json" "$PROBE" 1 1 "console=ttyS0"
	: >"$TMP/a-file"
	run "$EMBER" --config-file "$TMP/vm.json" --dump-acpi "$TMP/a-file"
	assert_failure 1
	assert_output --partial "--dump-acpi: '$TMP/a-file' is not a directory"
	run "$EMBER" --config-file "$TMP/vm.json" --dump-acpi "$TMP/no-such-dir"
	assert_failure 1
	assert_output --partial "'$TMP/no-such-dir' is not a directory"
	[ ! -e "$TMP/no-such-dir" ] || fail "it created the directory"
	run "$EMBER" --dump-acpi "$TMP"
	assert_failure 153
	assert_output --partial "Argument 'config-file' required"
	sed 's/"vcpu_count": 1/"vcpu_count": 33/' "$TMP/vm.json" >"$TMP/bad.json"
	mkdir "$TMP/out"
	run "$EMBER" --config-file "$TMP/bad.json" --dump-acpi "$TMP/out"
	assert_failure 152
	assert_output --partial 'machine-config: Machine config error: The number of vCPUs'
	[ -z "$(ls -A "$TMP/out")" ] || fail "files written for a bad config: $(ls "$TMP/out")"
	sed "s|$PROBE|$TMP/no-such-kernel|" "$TMP/vm.json" >"$TMP/nokernel.json"
	run "$EMBER" --config-file "$TMP/nokernel.json" --dump-acpi "$TMP/out"
	assert_failure 152
	[ -z "$(ls -A "$TMP/out")" ] || fail "files written for a bad config: $(ls "$TMP/out")"
	# No KVM: /dev/kvm hidden in a private mount namespace.
	if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null && [ -e /dev/kvm ]; then
		run unshare -m sh -c "mount --bind /dev/null /dev/kvm && exec \"\$0\" --config-file \"\$1\" --dump-acpi \"\$2\"" \
			"$EMBER" "$TMP/vm.json" "$TMP/out"
		assert_success
	else
		run "$EMBER" --config-file "$TMP/vm.json" --dump-acpi "$TMP/out"
		assert_success
	fi
	[ "$(ls "$TMP/out" | sort | tr '\n' ' ')" = "APIC.dat DSDT.dat FACP.dat RSDP.dat XSDT.dat " ] ||
		fail "files: $(ls "$TMP/out")"
}

@test "17 virtio devices (16 drives and the entropy device) start, VMGenID and VMClock on GSIs 22 and 23 (probe=genid reads them from the DSDT, acpi-check from --dump-acpi); an 18th (a balloon): Could not allocate GSI" {
	require_kvm
	command -v iasl >/dev/null || fail "iasl is not installed (acpica-tools, tools/setup.sh)"
	ACPI_EXTRA=' "entropy": {},'
	dump_and_check 1 16 17
	assert_output --partial 'VGEN, VCLK, GED on GSIs 22 and 23'
	acpi_config "$TMP/vm17.json" "$PROBE" 1 16 "$(probe_boot_args 1 128 genid) probe.snap_generations=0"
	run_ember_config "$TMP/vm17.json"
	assert_line 'PROBE genid.acpi ok'
	assert_line 'PROBE-INFO genid.gsi 22 23'
	assert_line 'PROBE vmclock.fields ok'
	assert_line 'PROBE genid.ready ok'
	assert_line 'PROBE DONE pass=3 fail=0'
	ACPI_EXTRA=' "entropy": {}, "balloon": { "amount_mib": 0, "deflate_on_oom": false },'
	acpi_config "$TMP/vm18.json" "$PROBE" 1 16 "$(probe_boot_args 1 128 genid)"
	run timeout 60 "$EMBER" --no-api --config-file "$TMP/vm18.json"
	assert_failure 1
	assert_output --partial 'cannot attach the entropy: Could not allocate GSI: The requested resource is not available.'
	mkdir "$TMP/dump18"
	run "$EMBER" --config-file "$TMP/vm18.json" --dump-acpi "$TMP/dump18"
	assert_failure
	assert_output --partial 'Could not allocate GSI: The requested resource is not available.'
	[ -z "$(ls -A "$TMP/dump18")" ] || fail "tables written for 18 devices: $(ls "$TMP/dump18")"
}

# acpi_probe_run EXTRA: probe=acpi with 2 vCPUs and 3 drives, the API socket
# and a metrics file; waits for the exit (a liveness bound of 90 s).
acpi_probe_run() {
	acpi_config "$TMP/vm.json" "$PROBE" 2 3 "$(probe_boot_args 2 128 acpi) $1"
	rm -f "$TMP/api.sock"
	run timeout --kill-after=5 90 "$EMBER" --api-sock "$TMP/api.sock" --config-file "$TMP/vm.json" \
		--metrics-path "$TMP/metrics" --id "acpi-bats-$$"
}

@test "probe=acpi: the RSDP by Linux's scan, checksums, MADT, DSDT, then S5: exit 0, 'Guest powered off', metrics flushed, socket gone" {
	require_kvm
	acpi_probe_run ""
	assert_equal "$status" 0
	assert_line 'PROBE acpi.rsdp ok'
	assert_line 'PROBE acpi.checksums ok'
	assert_line 'PROBE acpi.madt ok'
	assert_line 'PROBE acpi.dsdt ok'
	assert_line --partial 'Guest powered off'
	assert_line --partial 'PROBE-INFO acpi.dsdt LNRO0005 devices 3, virtio windows by magic 3, \_S5 SLP_TYP 5'
	refute_line --partial 'PROBE DONE' # it powered off before its summary
	[ ! -e "$TMP/api.sock" ] || fail "the API socket is left behind"
	[ "$(wc -l <"$TMP/metrics")" -ge 2 ] || fail "no metrics line at exit: $(cat "$TMP/metrics")"
	tail -1 "$TMP/metrics" | python3 -c 'import json,sys; json.loads(sys.stdin.read())' ||
		fail "the last metrics line is not JSON: $(tail -1 "$TMP/metrics")"
	# The guest saw the tables --dump-acpi writes for the same configuration.
	mkdir "$TMP/dump"
	"$EMBER" --config-file "$TMP/vm.json" --dump-acpi "$TMP/dump" >/dev/null
	xsdt=$(python3 -c 'import struct,sys; print(hex(struct.unpack_from("<Q", open(sys.argv[1],"rb").read(), 24)[0]))' \
		"$TMP/dump/RSDP.dat")
	assert_line "PROBE-INFO acpi.rsdp 0xe0000 xsdt=$xsdt"
}

@test "probe=acpi with probe.acpi_reset=1: RESET_VALUE to the FADT's reset register ends ember as the i8042 reset does" {
	require_kvm
	acpi_probe_run "probe.acpi_reset=1"
	assert_equal "$status" 0
	assert_line 'PROBE acpi.dsdt ok'
	assert_line --partial 'PROBE-INFO acpi.reset writing 0x1 to port 0x600'
	assert_line --partial 'Guest requested a reset through the ACPI reset register'
	refute_line --partial 'Guest powered off'
	[ ! -e "$TMP/api.sock" ] || fail "the API socket is left behind"
}

# ---- Linux's early boot (design.md §4: under PVM it stops at its int3 self-test) ----

# linux_start NAME VCPUS DRIVES EXTRA_ARGS: Debian's kernel (tools/build-linux-guest.sh,
# the cached build tools/test.sh makes) in the background, its output in
# $TMP/NAME.out; under PVM the ELF vmlinux with noxsave clearcpuid=cx16.
linux_start() {
	local name=$1 vcpus=$2 drives=$3 extra=$4 kernel=$EMBER_BUILD/linux-guest/vmlinuz
	local args="console=ttyS0 reboot=k panic=1 nomodule $extra"
	if is_pvm_host; then
		kernel=$EMBER_BUILD/linux-guest/vmlinux
		args="earlyprintk=serial,ttyS0 noxsave clearcpuid=cx16 $args"
	fi
	acpi_config "$TMP/$name.json" "$kernel" "$vcpus" "$drives" "$args"
	timeout --kill-after=5 900 "$EMBER" --no-api --config-file "$TMP/$name.json" --id "acpi-linux-$name-$$" \
		>"$TMP/$name.out" 2>&1 &
	ACPI_PIDS="${ACPI_PIDS:-} $!"
	eval "PID_$name=$!"
}

# linux_wait NAME: until Linux has counted its CPUs (the last line asserted
# here) or ended; then the VM is stopped, its job done. A liveness bound of
# 900 s, as irqchip.bats's boots: a loaded host shares two cores many ways.
linux_wait() {
	local pid i
	eval "pid=\$PID_$1"
	for ((i = 0; i < 1800; i++)); do
		grep -q 'smpboot: Allowing' "$TMP/$1.out" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	sleep 1 # the lines just after it
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || true
	sed -E 's/^\[ *[0-9.]+\] //' "$TMP/$1.out" >"$TMP/$1.lines"
}

# assert_acpi_boot NAME VCPUS: Linux found and parsed ember's tables.
assert_acpi_boot() {
	local f=$TMP/$1.lines sig
	grep -q '^ACPI: RSDP 0x00000000000E0000 000024 (v02 EMBER )' "$f" || fail "$1: no RSDP line: $(grep -m5 ACPI "$f")"
	for sig in XSDT FACP APIC DSDT; do
		[ "$(grep -c "^ACPI: $sig 0x[0-9A-F]* [0-9A-F]* (v0[0-9] EMBER  EMBR$sig " "$f")" -eq 1 ] ||
			fail "$1: not one $sig line with ember's OEM id: $(grep ACPI "$f")"
	done
	! grep -E 'ACPI BIOS Error|ACPI Error|ACPI BIOS Warning|Incorrect checksum|A valid RSDP was not found' "$f" ||
		fail "$1: ACPI complained"
	grep -q "^smpboot: Allowing $2 CPUs" "$f" || fail "$1: $(grep -E 'smpboot|ACPI' "$f")"
	grep -q '^ACPI: Using ACPI (MADT) for SMP configuration information' "$f" || fail "$1: the MADT was not used"
}

# Two boots: the MP table with acpi=off is irqchip.bats's early-boot test
# (three boots with acpi=off), whose lines this test's would repeat.
@test "Linux's early boot reads ember's ACPI tables: 1 vCPU and 0 drives, 4 vCPUs and 4 drives" {
	require_kvm
	require_built_ember # under seccomp.bats's tracing wrapper Linux boots would add an hour and no syscall
	require_linux_guest
	# Both at once: each waits mostly on the emulator, and the suite's time counts.
	linux_start acpi1 1 0 ""
	linux_start acpi4 4 4 ""
	linux_wait acpi1
	linux_wait acpi4
	assert_acpi_boot acpi1 1
	assert_acpi_boot acpi4 4
}

# ---- a whole Linux guest (VMX/SVM hosts) ----

# linux_initramfs OUT: busybox and the virtio-mmio modules; /init loads them,
# prints what the guest sees (LINUX-ACPI lines), then does guest.action=
# (poweroff or reboot) with busybox's -f: straight to the kernel's reboot().
linux_initramfs() {
	python3 - "$1" "$(command -v busybox)" "$EMBER_BUILD/linux-guest/modules" <<-'PY'
	import os, sys
	out, busybox, mods = sys.argv[1:]
	init = b'''#!/bin/busybox sh
	/bin/busybox --install -s /bin
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	for m in virtio virtio_ring virtio_mmio virtio_blk; do insmod /modules/$m.ko; done
	sleep 2
	echo "LINUX-ACPI lnro0005 $(ls -d /sys/bus/acpi/devices/LNRO0005:* 2>/dev/null | wc -l)"
	echo "LINUX-ACPI virtio $(ls /sys/bus/virtio/devices | wc -l)"
	for a in $(cat /proc/cmdline); do case $a in guest.action=*) act=${a#guest.action=} ;; esac; done
	echo "LINUX-ACPI action $act"
	$act -f
	sleep 30
	'''.replace(b'\n\t', b'\n')
	files = [('bin', 0o40755, b''), ('proc', 0o40755, b''), ('sys', 0o40755, b''), ('dev', 0o40755, b''),
	         ('modules', 0o40755, b''), ('init', 0o100755, init),
	         ('bin/busybox', 0o100755, open(busybox, 'rb').read())]
	for m in sorted(os.listdir(mods)):
	    files.append(('modules/' + m, 0o100644, open(os.path.join(mods, m), 'rb').read()))
	def pad(b):
	    return b + b'\0' * (-len(b) % 4)
	data = b''
	for i, (name, mode, body) in enumerate(files + [('TRAILER!!!', 0, b'')]):
	    n = name.encode() + b'\0'
	    hdr = b'070701' + b''.join(b'%08X' % v for v in
	        (i + 1, mode, 0, 0, 1, 0, len(body), 0, 0, 0, 0, len(n), 0))
	    data += pad(hdr + n) + pad(body)
	open(out, 'wb').write(data)
	PY
}

# linux_guest NAME DRIVES ARGS: the bzImage with the initramfs, until it ends.
linux_guest() {
	local name=$1
	acpi_config "$TMP/$name.json" "$EMBER_BUILD/linux-guest/vmlinuz" 1 "$2" "console=ttyS0 panic=1 $3"
	python3 - "$TMP/$name.json" "$TMP/initramfs" <<-'PY'
	import json, sys
	c = json.load(open(sys.argv[1]))
	c['boot-source']['initrd_path'] = sys.argv[2]
	for d in c['drives']:
	    d['is_root_device'] = False
	json.dump(c, open(sys.argv[1], 'w'))
	PY
	run timeout --kill-after=5 120 "$EMBER" --no-api --config-file "$TMP/$name.json" --id "acpi-guest-$name-$$"
}

@test "a Linux guest (VMX/SVM): one LNRO0005 per virtio device, each device once with ACPI and with acpi=off; poweroff and reboot end ember with exit 0" {
	if is_pvm_host; then
		skip "PVM KVM host (/sys/module/kvm_pvm): its emulator cannot deliver the interrupts a Linux guest needs (design.md §4); the early-boot test reads the tables here"
	fi
	require_kvm
	require_built_ember
	require_linux_guest
	[ -f "$EMBER_BUILD/linux-guest/modules/virtio_mmio.ko" ] ||
		skip "no virtio-mmio modules beside the kernel: run tools/build-linux-guest.sh again"
	command -v busybox >/dev/null || skip "no busybox for the initramfs (busybox-static, tools/setup.sh)"
	linux_initramfs "$TMP/initramfs"
	linux_guest poweroff 3 "guest.action=poweroff"
	assert_equal "$status" 0
	assert_line --partial 'LINUX-ACPI lnro0005 3'
	assert_line --partial 'LINUX-ACPI virtio 3'
	assert_line --partial 'Guest powered off'
	# reboot without reboot=k: Linux tries the FADT's reset register first.
	linux_guest reboot 1 "guest.action=reboot"
	assert_equal "$status" 0
	assert_line --partial 'LINUX-ACPI virtio 1'
	assert_line --partial 'Guest requested a reset through the ACPI reset register'
	linux_guest acpioff 3 "acpi=off reboot=k guest.action=reboot"
	assert_equal "$status" 0
	assert_line --partial 'LINUX-ACPI lnro0005 0'
	assert_line --partial 'LINUX-ACPI virtio 3'
	assert_line --partial 'Guest requested a reset through the i8042'
}
