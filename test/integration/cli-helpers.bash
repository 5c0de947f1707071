# Helpers for cli.bats: ember's command line and config-file errors.

# run_ember [ARGS...]: ember bounded in time, output and status captured.
run_ember() {
	run timeout --kill-after=5 30 "$EMBER" "$@"
}

# write_config FILE JSON: a config file with that content.
write_config() {
	printf '%s\n' "$2" >"$1"
}

# A config that would boot the probe guest, with a replaceable kernel and memory size.
probe_like_config() {
	local file=$1 kernel=$2 mem=${3:-128}
	write_config "$file" "{
	  \"boot-source\": { \"kernel_image_path\": \"$kernel\", \"boot_args\": \"console=ttyS0 probe=boot\" },
	  \"machine-config\": { \"vcpu_count\": 1, \"mem_size_mib\": $mem }
	}"
}

# The exit was the wanted one and not a crash: no signal, no core dump.
assert_clean_exit() {
	assert_equal "$status" "$1"
	refute_output --partial 'core dumped'
	refute_output --partial 'Segmentation fault'
	refute_output --partial 'AddressSanitizer'
}

# ASan builds reserve terabytes of shadow address space, so RLIMIT_AS tests cannot run there.
is_asan_build() {
	readelf -dW "$EMBER" 2>/dev/null | grep -q 'libasan'
}

# write_spin_elf FILE: a minimal ELF64 vmlinux whose entry at 1 MiB is `jmp .`,
# a guest that runs until ember is stopped from outside.
write_spin_elf() {
	python3 - "$1" <<-'PY'
	import struct, sys
	code = b"\xeb\xfe"
	ehdr = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + b"\0" * 9, 2, 62, 1,
	                   0x100000, 64, 0, 0, 64, 56, 1, 0, 0, 0)
	phdr = struct.pack("<IIQQQQQQ", 1, 5, 0x1000, 0x100000, 0x100000, len(code), len(code), 0x1000)
	data = ehdr + phdr
	data += b"\0" * (0x1000 - len(data)) + code
	open(sys.argv[1], "wb").write(data)
	PY
}

# Stops a background ember left by a failed test (by its pid only).
stop_spinning_ember() {
	if [ -n "${EMBER_PID:-}" ] && kill -0 "$EMBER_PID" 2>/dev/null; then
		kill -KILL "$EMBER_PID" 2>/dev/null
		wait "$EMBER_PID" 2>/dev/null || true
	fi
	EMBER_PID=
}

# start_spinning_ember DIR: ember running the spin guest in the background; sets EMBER_PID.
start_spinning_ember() {
	write_spin_elf "$1/spin.elf"
	write_config "$1/spin.json" "{\"boot-source\": {\"kernel_image_path\": \"$1/spin.elf\"},
		\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 64}}"
	"$EMBER" --no-api --config-file "$1/spin.json" >"$1/out" 2>&1 &
	EMBER_PID=$!
	# Wait (bounded) until the vCPUs run.
	for _ in $(seq 100); do
		grep -q 'Successfully started microvm' "$1/out" && [ -d "/proc/$EMBER_PID/task" ] &&
			[ "$(ls "/proc/$EMBER_PID/task" | wc -l)" -ge 3 ] && return 0
		sleep 0.1
	done
	cat "$1/out"
	return 1
}

# wait_ember_status: waits for EMBER_PID (killing it after 20 s) and sets status.
wait_ember_status() {
	local i
	for i in $(seq 200); do
		kill -0 "$EMBER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$EMBER_PID" 2>/dev/null && kill -KILL "$EMBER_PID"
	status=0
	wait "$EMBER_PID" || status=$?
}
