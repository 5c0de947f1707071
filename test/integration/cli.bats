#!/usr/bin/env bats
# ember's command line and --config-file: Firecracker's flags, messages and
# exit codes (153 for arguments, 152 for configuration).

load helpers
load cli-helpers

setup() {
	TMP=$(mktemp -d)
}

teardown() {
	stop_spinning_ember
	rm -rf "$TMP"
}

@test "--version prints the version and exits 0" {
	run_ember --version
	assert_clean_exit 0
	assert_output --regexp '^ember v[0-9]+\.[0-9]+\.[0-9]+$'
}

@test "--help lists the flags this build provides and those it does not" {
	run_ember --help
	assert_clean_exit 0
	for flag in config-file no-api id log-path level show-level show-log-origin boot-timer version help \
		api-sock metadata metrics-path mmds-size-limit http-api-max-payload-size; do
		assert_output --partial -- "--$flag"
	done
	assert_output --partial 'This build does not provide yet: --module'
}

@test "an unknown flag is refused with Firecracker's message" {
	run_ember --no-api --config-file x --foo
	assert_clean_exit 153
	assert_output --partial "Found argument 'foo' which wasn't expected, or isn't valid in this context."
}

@test "a positional argument is refused" {
	run_ember stray
	assert_clean_exit 153
	assert_output --partial "Found argument 'stray' which wasn't expected, or isn't valid in this context."
}

@test "a flag given twice is refused" {
	for flag in --no-api --boot-timer --show-level; do
		run_ember "$flag" "$flag"
		assert_clean_exit 153
		assert_output --partial "The argument '${flag#--}' was provided more than once."
	done
	run_ember --id a --id b
	assert_clean_exit 153
	assert_output --partial "The argument 'id' was provided more than once."
}

@test "a flag without its value is refused" {
	for flag in config-file id log-path level start-time-us start-time-cpu-us parent-cpu-time-us; do
		run_ember --no-api "--$flag"
		assert_clean_exit 153
		assert_output --partial "The argument '$flag' requires a value, but none was supplied."
		# A following flag is not taken as the value.
		run_ember "--$flag" --no-api
		assert_clean_exit 153
		assert_output --partial "The argument '$flag' requires a value, but none was supplied."
	done
}

@test "--no-api requires --config-file" {
	run_ember --no-api
	assert_clean_exit 153
	assert_output --partial "Argument 'config-file' required, but not found."
}

@test "without --no-api ember serves the API, and refuses a socket path that exists" {
	touch "$TMP/taken.sock"
	run_ember --api-sock "$TMP/taken.sock"
	assert_clean_exit 1
	assert_output --partial "Failed to open the API socket at: $TMP/taken.sock. Check that it is not already used."
}

@test "flags of capabilities not built yet are refused, saying so" {
	for flag in "--module vmm" --enable-pci; do
		# shellcheck disable=SC2086
		run_ember --no-api --config-file "$TMP/vm.json" $flag
		assert_clean_exit 153
		assert_output --partial "this build does not provide"
	done
}

@test "--id is checked like Firecracker's and the jailer's" {
	for id in "" "has space" "under_score" "$(printf 'a%.0s' $(seq 65))"; do
		run_ember --no-api --config-file "$TMP/vm.json" --id "$id"
		assert_clean_exit 153
		assert_output --partial 'Invalid instance ID'
	done
}

@test "the jailer's start-time flags must be decimal numbers" {
	for v in -1 12x 0x10 ""; do
		run_ember --no-api --config-file "$TMP/vm.json" --start-time-us "$v"
		assert_clean_exit 153
	done
	run_ember --no-api --config-file "$TMP/vm.json" --start-time-cpu-us abc
	assert_clean_exit 153
	assert_output --partial "--start-time-cpu-us: 'abc' is not a decimal number"
	# Valid values get past argument parsing (to the config error).
	run_ember --no-api --config-file "$TMP/missing.json" --start-time-us 1 --start-time-cpu-us 2 --parent-cpu-time-us 3
	assert_clean_exit 152
}

@test "a bad --level is a configuration error" {
	run_ember --no-api --config-file "$TMP/vm.json" --level loud
	assert_clean_exit 152
	assert_output --partial "Invalid value for --level: 'loud'"
}

@test "--log-path sends the log to a file, with --show-level and --show-log-origin" {
	run_ember --no-api --config-file "$TMP/missing.json" --id cli-log --log-path "$TMP/log" --level Debug \
		--show-level --show-log-origin
	assert_clean_exit 152
	run cat "$TMP/log"
	assert_output --regexp '\[cli-log:vmm:INFO:vmm/vmm.c:[0-9]+\] Running Firecracker v'
	assert_output --regexp '\[cli-log:vmm:ERROR:.*exiting with error. exit_code=152'
}

# ---- config-file errors: exit 152, a clear message, no core dump ----

@test "a missing config file" {
	run_ember --no-api --config-file "$TMP/missing.json"
	assert_clean_exit 152
	assert_output --partial "cannot open the configuration file $TMP/missing.json: No such file or directory"
}

@test "malformed JSON" {
	write_config "$TMP/vm.json" '{"machine-config": {"vcpu_count": 1,'
	run_ember --no-api --config-file "$TMP/vm.json"
	assert_clean_exit 152
	assert_output --regexp 'Invalid JSON: .* at line [0-9]+ column [0-9]+'
}

@test "an unknown top-level key is named" {
	write_config "$TMP/vm.json" '{"boot-sauce": {}}'
	run_ember --no-api --config-file "$TMP/vm.json"
	assert_clean_exit 152
	assert_output --partial 'unknown configuration key "boot-sauce"'
}

@test "an unknown field inside a resource is named" {
	probe_like_config "$TMP/vm.json" "$PROBE"
	sed -i 's/"mem_size_mib"/"mem_size_mb"/' "$TMP/vm.json"
	run_ember --no-api --config-file "$TMP/vm.json"
	assert_clean_exit 152
	assert_output --partial 'machine-config: An error occurred when deserializing the json body of a request: unknown field `mem_size_mb`'
}

@test "a wrong type names the key and the expected type" {
	write_config "$TMP/vm.json" '{"machine-config": {"vcpu_count": "two", "mem_size_mib": 128}}'
	run_ember --no-api --config-file "$TMP/vm.json"
	assert_clean_exit 152
	assert_output --partial 'machine-config: An error occurred when deserializing the json body of a request: invalid type: string "two", expected u8 for field `vcpu_count`.'
}

@test "out-of-range machine config values" {
	for vm in '"vcpu_count": 0, "mem_size_mib": 128' '"vcpu_count": 33, "mem_size_mib": 128' \
		'"vcpu_count": 3, "mem_size_mib": 128, "smt": true' '"vcpu_count": 1, "mem_size_mib": 0'; do
		write_config "$TMP/vm.json" "{\"machine-config\": {$vm}}"
		run_ember --no-api --config-file "$TMP/vm.json"
		assert_clean_exit 152
		assert_output --partial 'Machine config error: '
	done
}

@test "config keys of capabilities not built yet are refused, saying so" {
	for key in memory-hotplug; do
		write_config "$TMP/vm.json" "{\"$key\": {\"x\": 1}}"
		run_ember --no-api --config-file "$TMP/vm.json"
		assert_clean_exit 152
		assert_output --partial "$key: this build does not provide"
	done
}

@test "no boot-source: Firecracker's start error" {
	write_config "$TMP/vm.json" '{"machine-config": {"vcpu_count": 1, "mem_size_mib": 128}}'
	run_ember --no-api --config-file "$TMP/vm.json"
	assert_clean_exit 152
	assert_output --partial 'Cannot start microvm without kernel configuration.'
}

@test "a missing kernel" {
	probe_like_config "$TMP/vm.json" "$TMP/no-such-vmlinux"
	run_ember --no-api --config-file "$TMP/vm.json"
	assert_clean_exit 152
	assert_output --partial "Boot source error: The kernel file cannot be opened: $TMP/no-such-vmlinux: No such file or directory (os error 2)"
}

@test "a kernel that is not ELF or bzImage" {
	printf 'this is not a kernel\n%.0s' $(seq 100) >"$TMP/vmlinux"
	probe_like_config "$TMP/vm.json" "$TMP/vmlinux"
	run_ember --no-api --config-file "$TMP/vm.json"
	assert_clean_exit 152
	assert_output --partial 'Cannot load kernel'
}

@test "a kernel or initrd path naming a FIFO is refused at once, not waited on" {
	mkfifo "$TMP/fifo"
	probe_like_config "$TMP/vm.json" "$TMP/fifo"
	run timeout 20 "$EMBER" --no-api --config-file "$TMP/vm.json"
	assert_clean_exit 152
	assert_output --partial 'The kernel file cannot be opened'
	probe_like_config "$TMP/vm.json" "$PROBE"
	sed -i 's|"kernel_image_path"|"initrd_path": "'"$TMP/fifo"'", "kernel_image_path"|' "$TMP/vm.json"
	run timeout 20 "$EMBER" --no-api --config-file "$TMP/vm.json"
	assert_clean_exit 152
	assert_output --partial 'The initrd file cannot be opened'
}

@test "a truncated ELF kernel" {
	[ -f "$PROBE" ] || skip "probe guest not built"
	for size in 32 100 4096; do
		head -c "$size" "$PROBE" >"$TMP/vmlinux"
		probe_like_config "$TMP/vm.json" "$TMP/vmlinux"
		run_ember --no-api --config-file "$TMP/vm.json"
		assert_clean_exit 152
		assert_output --partial 'Cannot load kernel'
	done
}

@test "a kernel that does not fit guest memory" {
	[ -f "$PROBE" ] || skip "probe guest not built"
	probe_like_config "$TMP/vm.json" "$PROBE" 1
	run_ember --no-api --config-file "$TMP/vm.json"
	assert_clean_exit 152
	assert_output --partial 'Cannot load kernel'
}

@test "a memory size that cannot be mapped" {
	[ -f "$PROBE" ] || skip "probe guest not built"
	! is_asan_build || skip "ASan's shadow memory does not fit under an RLIMIT_AS"
	probe_like_config "$TMP/vm.json" "$PROBE" 1048576
	# 1 TiB of address space under a 4 GiB RLIMIT_AS.
	run timeout 30 bash -c 'ulimit -v 4194304 && exec "$0" --no-api --config-file "$1"' "$EMBER" "$TMP/vm.json"
	assert_clean_exit 152
	assert_output --partial 'Invalid Memory Configuration: Cannot create mmap region: Cannot allocate memory (os error 12)'
}

@test "a config error leaves no core dump and no stray files" {
	write_config "$TMP/vm.json" '{"machine-config": 7}'
	(cd "$TMP" && ulimit -c unlimited && timeout 30 "$EMBER" --no-api --config-file vm.json >out 2>&1) || status=$?
	assert_equal "${status:-0}" 152
	run ls "$TMP"
	assert_output "$(printf 'out\nvm.json')"
}

# ---- signals: Firecracker's codes and log line ----

@test "fatal signals end ember with Firecracker's exit codes and log line" {
	require_kvm
	for pair in HUP:156 BUS:149 SEGV:150 XFSZ:151 XCPU:154 ILL:157; do
		sig=${pair%:*} code=${pair#*:}
		start_spinning_ember "$TMP"
		kill -"$sig" "$EMBER_PID"
		wait_ember_status
		[ "$status" -eq "$code" ] || fail "SIG$sig: exit $status, want $code: $(cat "$TMP/out")"
		# "code" is the siginfo's, as Firecracker prints it: 0 (SI_USER) from kill.
		grep -q "Shutting down VM after intercepting signal $(kill -l "$sig"), code 0\." "$TMP/out" ||
			fail "SIG$sig: no shutdown line: $(cat "$TMP/out")"
	done
}

@test "SIGPIPE is logged and ignored" {
	require_kvm
	start_spinning_ember "$TMP"
	kill -PIPE "$EMBER_PID"
	sleep 0.3
	kill -0 "$EMBER_PID" || fail "ember died on SIGPIPE: $(cat "$TMP/out")"
	kill -HUP "$EMBER_PID"
	wait_ember_status
	assert_equal "$status" 156
	run cat "$TMP/out"
	assert_output --partial 'Received signal 13'
}

@test "closed standard streams are reopened on /dev/null before anything else is opened" {
	require_kvm
	[ -f "$PROBE" ] || skip "probe guest not built"
	probe_like_config "$TMP/vm.json" "$PROBE"
	cp "$TMP/vm.json" "$TMP/vm.json.orig"
	timeout 30 "$EMBER" --no-api --config-file "$TMP/vm.json" <&- >&- 2>"$TMP/err" || fail "exit $?: $(cat "$TMP/err")"
	# The guest's serial output went nowhere, in particular not into a file ember opened.
	cmp "$TMP/vm.json" "$TMP/vm.json.orig"
}

@test "initrd: a missing file and one that does not fit are configuration errors; one that fits boots" {
	[ -f "$PROBE" ] || skip "probe guest not built"
	initrd_config() {
		write_config "$TMP/vm.json" "{\"boot-source\": {\"kernel_image_path\": \"$PROBE\", \"initrd_path\": \"$1\",
			\"boot_args\": \"console=ttyS0 probe=boot\"}, \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128}}"
	}
	initrd_config "$TMP/none.img"
	run_ember --no-api --config-file "$TMP/vm.json"
	assert_clean_exit 152
	assert_output --partial "The initrd file cannot be opened due to invalid path or invalid permissions. $TMP/none.img: No such file or directory (os error 2)"

	truncate -s 200M "$TMP/big.img"
	initrd_config "$TMP/big.img"
	run_ember --no-api --config-file "$TMP/vm.json"
	assert_clean_exit 152
	assert_output --partial 'Cannot load initrd'

	require_kvm
	head -c 65536 /dev/urandom >"$TMP/small.img"
	initrd_config "$TMP/small.img"
	run_ember --no-api --config-file "$TMP/vm.json"
	assert_clean_exit 0
	assert_output --regexp 'PROBE DONE pass=[0-9]+ fail=0'
}
