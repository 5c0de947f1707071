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
