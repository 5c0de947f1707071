# Helpers for block.bats: probe configs with drives, and host-side checks of
# the backing files. Loads boot-helpers for probe_boot_args and the asserts.

load boot-helpers

# blk_pattern SEED: the 4096 bytes the probe's blk scenario writes at sector 8.
blk_pattern_hex() {
	python3 -c "import sys; s=int(sys.argv[1]); print(bytes((s + i*31) & 0xff for i in range(4096)).hex())" "$1"
}

# The 4096 bytes at sector 8 of FILE, in hex.
blk_sector8_hex() {
	python3 -c "import sys; f=open(sys.argv[1],'rb'); f.seek(4096); print(f.read(4096).hex())" "$1"
}

# Firecracker's GET_ID for FILE: decimal st_dev, st_rdev, st_ino, cut at 20.
blk_expected_id() {
	python3 -c "import os,sys; s=os.stat(sys.argv[1]); print(('%d%d%d' % (s.st_dev, s.st_rdev, s.st_ino))[:20])" "$1"
}

# blk_drive ID PATH ROOT RO [EXTRA_JSON]: one Drive object.
blk_drive() {
	local extra=${5:+, $5}
	printf '{ "drive_id": "%s", "path_on_host": "%s", "is_root_device": %s, "is_read_only": %s%s }' \
		"$1" "$2" "$3" "$4" "$extra"
}

# blk_config FILE SCENARIOS PROBE_EXTRA DRIVE_JSON...: a probe config with drives.
blk_config() {
	local file=$1 scenarios=$2 extra=$3
	shift 3
	local args drives
	args=$(probe_boot_args 1 128 "$scenarios" $extra)
	drives=$(IFS=,; printf '%s' "$*")
	cat >"$file" <<-JSON
	{
	  "boot-source": { "kernel_image_path": "$PROBE", "boot_args": "$args" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
	  "drives": [ $drives ]
	}
	JSON
}

# run_blk_config FILE [ARGS...]: ember on FILE, bounded in time.
run_blk_config() {
	local file=$1
	shift
	run timeout --kill-after=5 60 "$EMBER" --no-api --config-file "$file" --id "block-bats-$$" "$@"
}
