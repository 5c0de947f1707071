# Helpers for boot.bats: configs for the probe guest and checks of its output.

# ember's hypervisor signature in CPUID leaf 0x40000000 (vmm/core/cpuid.h,
# "EmberEmber" padded with two NULs, which end the string the guest prints).
EMBER_HV_SIG=EmberEmber

# What ember appends to boot_args for a VM without devices: Firecracker's
# " pci=off" (no virtio-pci transport). Devices add their parameters
# (root=..., virtio_mmio.device=...) after it.
ember_appended_cmdline() {
	printf ' pci=off'
}

# The host's CPUID vendor string, which ember passes through in leaf 0.
host_cpu_vendor() {
	awk -F': ' '/^vendor_id/ { print $2; exit }' /proc/cpuinfo
}

# probe_boot_args VCPUS MEM_MIB SCENARIOS [EXTRA...]: the boot_args for a probe run.
probe_boot_args() {
	local vcpus=$1 mem=$2 scenarios=$3
	shift 3
	local args="console=ttyS0 probe=$scenarios probe.mem_mib=$mem probe.vcpus=$vcpus"
	local vendor
	vendor=$(host_cpu_vendor)
	[ -n "$vendor" ] && args="$args probe.cpu_vendor=$vendor"
	args="$args probe.hv_sig=$EMBER_HV_SIG"
	is_pvm_host && args="$args probe.pvm=1"
	[ $# -gt 0 ] && args="$args $*"
	printf '%s' "$args"
}

# probe_config FILE VCPUS MEM_MIB SCENARIOS [EXTRA...]: writes an ember config
# file that boots the probe guest with those scenarios.
probe_config() {
	local file=$1 vcpus=$2 mem=$3 scenarios=$4
	shift 4
	local args
	args=$(probe_boot_args "$vcpus" "$mem" "$scenarios" "$@")
	cat >"$file" <<-JSON
	{
	  "boot-source": { "kernel_image_path": "$PROBE", "boot_args": "$args" },
	  "machine-config": { "vcpu_count": $vcpus, "mem_size_mib": $mem }
	}
	JSON
}

# run_ember_config FILE [ARGS...]: runs ember on a config file, bounded in time,
# with stdout and stderr in $output and the exit code in $status.
run_ember_config() {
	local file=$1
	shift
	run timeout --kill-after=5 60 "$EMBER" --no-api --config-file "$file" --id "boot-bats-$$" "$@"
}

# Every PROBE line is ok or skip, and the summary says fail=0.
assert_probe_all_ok() {
	local bad
	bad=$(printf '%s\n' "$output" | awk '$1 == "PROBE" && $2 != "DONE" && $3 != "ok" && $3 != "skip"')
	[ -z "$bad" ] || fail "probe checks failed:
$bad
--- full output ---
$output"
	printf '%s\n' "$output" | grep -qE '^PROBE DONE pass=[1-9][0-9]* fail=0$' ||
		fail "no 'PROBE DONE ... fail=0' line:
$output"
}

# The text of the guest's PROBE-INFO <key> line.
probe_info() {
	printf '%s\n' "$output" | sed -n "s/^PROBE-INFO $1 //p" | head -n 1
}

# Whether ember is the ASan/UBSan build (linked dynamically against libasan).
ember_is_sanitized() {
	readelf -d "$EMBER" 2>/dev/null | grep -q 'libasan'
}

# The FNV-1a 32 hash of a file in 8 lowercase hex digits, as the probe computes it.
fnv1a_hex() {
	python3 -c 'import sys
h = 2166136261
for b in open(sys.argv[1], "rb").read():
    h = ((h ^ b) * 16777619) & 0xffffffff
print("%08x" % h)' "$1"
}

# probe_config_initrd FILE INITRD VCPUS MEM_MIB SCENARIOS [EXTRA...]: like
# probe_config, with an initrd the probe checks: its size, and its hash when
# it is at most 1 MiB (the guest hashes at about 5 instructions a byte).
probe_config_initrd() {
	local file=$1 initrd=$2 vcpus=$3 mem=$4 scenarios=$5
	shift 5
	local size args check
	size=$(stat -c %s "$initrd")
	check="probe.initrd_size=$size"
	[ "$size" -le 1048576 ] && check="$check probe.initrd_fnv=$(fnv1a_hex "$initrd")"
	args=$(probe_boot_args "$vcpus" "$mem" "$scenarios" "$check" "$@")
	cat >"$file" <<-JSON
	{
	  "boot-source": { "kernel_image_path": "$PROBE", "initrd_path": "$initrd", "boot_args": "$args" },
	  "machine-config": { "vcpu_count": $vcpus, "mem_size_mib": $mem }
	}
	JSON
}
