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

# blk_large_file PATH: the blk-large scenario's 4 GiB sparse file. The first and
# last 4 KiB of each of the 7 chunks of 480 MiB hold the 8-byte words
# MAGIC ^ file offset (test/guest/scenario-blk-large.c); the rest is a hole.
blk_large_file() {
	python3 - "$1" <<-'PY'
	import struct, sys
	MAGIC = 0x4c41524745424c4b
	chunk = 480 << 20
	with open(sys.argv[1], 'wb') as f:
	    f.truncate(4 << 30)
	    for k in range(7):
	        for off in (k * chunk, (k + 1) * chunk - 4096):
	            f.seek(off)
	            f.write(b''.join(struct.pack('<Q', MAGIC ^ (off + 8 * i)) for i in range(512)))
	PY
}

# blk_large_run ENGINE: the blk-large scenario, one 3.28 GiB read, in a
# 512 MiB guest. The file lives on tmpfs when there is one: a hole read there
# costs no page cache (ext4 would fill 3.28 GiB of it with zeros).
blk_large_run() {
	local dir=/dev/shm args
	[ -d "$dir" ] && [ -w "$dir" ] || dir=$TMP
	LARGE=$(mktemp "$dir/ember-blk-large-XXXXXX")
	blk_large_file "$LARGE"
	args=$(probe_boot_args 1 512 blk-large)
	cat >"$TMP/vm.json" <<-JSON
	{
	  "boot-source": { "kernel_image_path": "$PROBE", "boot_args": "$args" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 512 },
	  "drives": [ $(blk_drive data "$LARGE" false true "\"io_engine\": \"$1\"") ]
	}
	JSON
	run timeout --kill-after=5 120 "$EMBER" --no-api --config-file "$TMP/vm.json" --id "block-bats-$$"
	rm -f "$LARGE"
}
