#!/usr/bin/env bats
# Diff snapshots, dirty page tracking and `ember-snapshot rebase` end to end
# (doc/snapshots.md). The probe's snapshot-dirty scenario patterns 8 MiB
# and waits; the host takes a Full, sends `W`, and the guest writes every
# 16th pattern page and has its drive read sector 1 into a page the CPU
# never wrote (the DMA page). A Diff then must hold those pages; rebased
# onto the Full and loaded, the guest (`R`) finds the new pages new, the
# others old and the DMA page holding the sector.

load helpers
load api-helpers
load snapshot-helpers

setup() {
	snap_setup
	SNAP_PROBE=snapshot-dirty
	SNAP_READY='PROBE snapshot-dirty.ready ok'
	SNAPTOOL=$EMBER_BUILD/tools/ember-snapshot
}

teardown() {
	pool_restore
	if [ -n "${SMALL:-}" ]; then
		mountpoint -q "$SMALL" 2>/dev/null && umount "$SMALL"
	fi
	snap_teardown
}

# dirty_boot NAME [MACHINE_EXTRA]: the scenario on ember NAME (seed 5),
# its metrics in $TMP/NAME.metrics.
dirty_boot() {
	snap_ember "$1"
	snap_use "$1"
	expect_api 204 PUT /metrics "{\"metrics_path\":\"$TMP/$1.metrics\"}"
	SNAP_MACHINE_EXTRA=${2:-} snap_boot "$1" 1 5
}

# dirty_write NAME: `W`, the guest's writes, its report in $PAGES_GPA,
# $PAGES_STRIDE, $PAGES_COUNT and $DMA_GPA.
dirty_write() {
	snap_send "$1" W
	snap_wait "$1" 'PROBE snapshot-dirty.written ok'
	read -r PAGES_GPA PAGES_STRIDE PAGES_COUNT < <(grep -a 'PROBE-INFO snapshot-dirty.pages' "$TMP/$1.out" |
		tail -1 | awk '{ print $3, $4, $5 }')
	DMA_GPA=$(grep -a 'PROBE-INFO snapshot-dirty.dma' "$TMP/$1.out" | tail -1 | awk '{ print $3 }')
	[ -n "$PAGES_COUNT" ] && [ -n "$DMA_GPA" ] || fail "no snapshot-dirty report: $(tail "$TMP/$1.out")"
}

# dirty_diff NAME STATE MEM: pauses ember NAME (if running) and takes a Diff.
dirty_diff() {
	snap_use "$1"
	expect_api 204 PATCH /vm '{"state":"Paused"}'
	expect_api 204 PUT /snapshot/create \
		"{\"snapshot_type\":\"Diff\",\"snapshot_path\":\"$2\",\"mem_file_path\":\"$3\"}"
}

# extents FILE: the file's data extents, "start end" per line (SEEK_DATA/SEEK_HOLE).
extents() {
	python3 - "$1" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size, pos = os.fstat(fd).st_size, 0
while pos < size:
    try:
        d = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        break
    h = os.lseek(fd, d, os.SEEK_HOLE)
    print(d, h)
    pos = h
PY
}

# in_extents GPA: whether the page at GPA (below 3 GiB: its file offset) is
# wholly inside one extent of $EXTENTS.
in_extents() {
	local off=$(($1)) s e
	while read -r s e; do
		[ "$off" -ge "$s" ] && [ $((off + 4096)) -le "$e" ] && return 0
	done <<<"$EXTENTS"
	return 1
}

# check_diff DIFF: RAM-sized, every reported page and the DMA page in its
# data extents, and the DMA page holding sector 1 of the drive.
check_diff() {
	assert_equal "$(stat -c %s "$1")" $((128 << 20))
	EXTENTS=$(extents "$1")
	local i
	for ((i = 0; i < PAGES_COUNT; i++)); do
		in_extents $((PAGES_GPA + i * PAGES_STRIDE)) ||
			fail "page $(printf 0x%x $((PAGES_GPA + i * PAGES_STRIDE))) is not in the Diff's extents: $EXTENTS"
	done
	in_extents "$DMA_GPA" || fail "the DMA page $DMA_GPA is not in the Diff's extents: $EXTENTS"
	cmp <(dd if="$1" bs=512 skip=$((DMA_GPA / 512)) count=1 status=none) \
		<(dd if="$TMP/disk.img" bs=512 skip=1 count=1 status=none) ||
		fail "the Diff's DMA page does not hold sector 1"
}

# diff_bounded DIFF: the Diff allocates no more than its reported pages, the
# DMA page, and 2 MiB for what the guest and the device wrote besides
# (stack, rings): only what changed.
diff_bounded() {
	local alloc=$(($(stat -c %b "$1") * $(stat -c %B "$1")))
	[ "$alloc" -le $(((PAGES_COUNT + 1) * 4096 + (2 << 20))) ] ||
		fail "the Diff $1 allocates $alloc bytes for $PAGES_COUNT pages and the DMA page"
}

# rebase_full DIFF: the Full ($TMP/mem) copied to $TMP/rebased, DIFF rebased onto it.
rebase_full() {
	cp --sparse=always "$TMP/mem" "$TMP/rebased"
	run "$SNAPTOOL" rebase "$TMP/rebased" "$1"
	assert_success
	assert_output --partial "rebased $1 onto $TMP/rebased"
}

# restore_check NAME STATE MEM: loads into a new ember NAME, sends `R`,
# expects checked ok and a clean end.
restore_check() {
	snap_ember "$1"
	snap_use "$1"
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$2" "$3" true)"
	snap_send "$1" R
	snap_wait "$1" 'PROBE DONE'
	snap_exit "$1"
	run cat "$TMP/$1.out"
	assert_output --partial 'PROBE snapshot-dirty.checked ok'
	assert_output --regexp 'PROBE DONE pass=[0-9]+ fail=0'
	assert_equal "$SNAP_STATUS" 0
}

@test "track_dirty_pages: a Diff holds the guest's pages and the device's DMA page; rebased and loaded, the guest finds them" {
	require_kvm
	dirty_boot a ',"track_dirty_pages":true'
	expect_api 200 GET /machine-config
	case "$body" in *'"track_dirty_pages":true'*) ;; *) fail "GET /machine-config: $body" ;; esac
	snap_create a "$TMP/state" "$TMP/mem"
	expect_api 204 PATCH /vm '{"state":"Resumed"}'
	dirty_write a
	dirty_diff a "$TMP/dstate" "$TMP/diff"
	expect_api 204 PUT /actions '{"action_type":"FlushMetrics"}'
	run jq -s '.[-1].latencies_us.diff_create_snapshot > 0 and .[-1].latencies_us.vmm_diff_create_snapshot > 0' \
		"$TMP/a.metrics"
	assert_output true
	snap_kill a
	check_diff "$TMP/diff"
	# The DMA page: after the Full the guest's CPU never wrote it (the probe
	# reads it only after `R`); the drive's read filled it through ember's
	# virtqueue. KVM's dirty log holds only the guest's own writes, so a Diff
	# from it alone would leave this page out, and the restored guest would
	# find zeros there (checked ok below fails). It is in the extents
	# because ember marks what it writes into guest memory.
	diff_bounded "$TMP/diff"
	rebase_full "$TMP/diff"
	restore_check b "$TMP/dstate" "$TMP/rebased"
}

@test "without tracking: the Diff comes from mincore (a superset) and restores as well" {
	require_kvm
	dirty_boot a
	snap_create a "$TMP/state" "$TMP/mem"
	expect_api 204 PATCH /vm '{"state":"Resumed"}'
	dirty_write a
	dirty_diff a "$TMP/dstate" "$TMP/diff"
	snap_kill a
	grep -aq "Diff written to $TMP/diff: [0-9]* bytes of dirty pages (mincore)" "$TMP/a.out" ||
		fail "no mincore Diff line: $(tail "$TMP/a.out")"
	check_diff "$TMP/diff"
	# every page the guest ever touched, so the whole pattern, not only what changed
	in_extents $((PAGES_GPA + 4096)) || fail "mincore left out a resident page: $EXTENTS"
	cp --sparse=always "$TMP/mem" "$TMP/rebased"
	run "$SNAPTOOL" rebase --memory-path "$TMP/rebased" --diff-path "$TMP/diff"
	assert_success
	restore_check b "$TMP/dstate" "$TMP/rebased"
}

@test "a Diff into an existing file of the RAM's size is merged in place, and that file loads" {
	require_kvm
	dirty_boot a ',"track_dirty_pages":true'
	snap_create a "$TMP/state" "$TMP/mem"
	cp --sparse=always "$TMP/mem" "$TMP/merged"
	ino=$(stat -c %i "$TMP/merged")
	expect_api 204 PATCH /vm '{"state":"Resumed"}'
	dirty_write a
	dirty_diff a "$TMP/dstate" "$TMP/merged"
	snap_kill a
	grep -aq "Diff merged into $TMP/merged" "$TMP/a.out" || fail "no merge line: $(tail "$TMP/a.out")"
	assert_equal "$(stat -c %i "$TMP/merged")" "$ino"
	ls "$TMP" | grep -q '\.tmp$' && fail "a temporary file was left: $(ls "$TMP")"
	# the base's pages are still there beside the Diff's
	cmp -s "$TMP/mem" "$TMP/merged" && fail "the merged file did not change"
	restore_check b "$TMP/dstate" "$TMP/merged"
}

@test "a restored VM (File backend, track_dirty_pages at load) takes a Diff against the file it was loaded from" {
	require_kvm
	dirty_boot a ',"track_dirty_pages":true'
	snap_create a "$TMP/state" "$TMP/mem"
	snap_kill a
	snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true '"track_dirty_pages":true')"
	expect_api 200 GET /vm/config
	case "$body" in *'"track_dirty_pages":true'*) ;; *) fail "GET /vm/config: $body" ;; esac
	dirty_write b
	dirty_diff b "$TMP/dstate" "$TMP/diff"
	snap_kill b
	check_diff "$TMP/diff"
	diff_bounded "$TMP/diff"
	rebase_full "$TMP/diff"
	restore_check c "$TMP/dstate" "$TMP/rebased"
}

@test "the deprecated enable_diff_snapshots at load turns tracking on too" {
	require_kvm
	dirty_boot a
	snap_create a "$TMP/state" "$TMP/mem"
	snap_kill a
	snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true '"enable_diff_snapshots":true')"
	dirty_write b
	dirty_diff b "$TMP/dstate" "$TMP/diff"
	grep -aq "Diff written to $TMP/diff: [0-9]* bytes of dirty pages (dirty logs)" "$TMP/b.out" ||
		fail "no dirty-log Diff line: $(tail "$TMP/b.out")"
}

@test "a Diff that runs out of space (ENOSPC) fails, leaves no file, and the next one has every page" {
	require_kvm
	require_root
	SMALL=$TMP/small
	mkdir "$SMALL"
	mount -t tmpfs -o size=1m "ember-diff-$$" "$SMALL"
	dirty_boot a ',"track_dirty_pages":true'
	snap_create a "$TMP/state" "$TMP/mem"
	expect_api 204 PATCH /vm '{"state":"Resumed"}'
	dirty_write a
	# leave 64 KiB: the Diff's pages (over 512 KiB) do not fit
	dd if=/dev/zero of="$SMALL/filler" bs=64k count=15 status=none
	dirty_diff_fail() {
		snap_use a
		expect_api 204 PATCH /vm '{"state":"Paused"}'
		expect_api 400 PUT /snapshot/create \
			"{\"snapshot_type\":\"Diff\",\"snapshot_path\":\"$TMP/dstate\",\"mem_file_path\":\"$SMALL/diff\"}" \
			"Cannot write memory file: $SMALL/diff: No space left on device"
	}
	dirty_diff_fail
	[ "$(ls "$SMALL")" = filler ] || fail "the failed Diff left files: $(ls "$SMALL")"
	# space freed: the next Diff holds every page, those of the failed one included
	rm "$SMALL/filler"
	expect_api 204 PUT /snapshot/create \
		"{\"snapshot_type\":\"Diff\",\"snapshot_path\":\"$TMP/dstate\",\"mem_file_path\":\"$SMALL/diff\"}"
	snap_kill a
	check_diff "$SMALL/diff"
	rebase_full "$SMALL/diff"
	restore_check b "$TMP/dstate" "$TMP/rebased"
}

@test "huge_pages 2M with track_dirty_pages: Full and Diff are created, the Diff in 4 KiB pages" {
	require_kvm
	pool_set 64
	dirty_boot a ',"huge_pages":"2M","track_dirty_pages":true'
	snap_create a "$TMP/state" "$TMP/mem"
	expect_api 204 PATCH /vm '{"state":"Resumed"}'
	dirty_write a
	dirty_diff a "$TMP/dstate" "$TMP/diff"
	snap_kill a
	check_diff "$TMP/diff"
	# KVM logs 4 KiB pages under dirty logging, whatever backs them: a 2 MiB
	# granule would take the whole 8 MiB pattern
	diff_bounded "$TMP/diff"
	rebase_full "$TMP/diff"
	# the rebased file is the Full with the Diff's pages: every page the Diff
	# carries equals the rebased file's, and the rest equals the Full's
	cmp <(dd if="$TMP/rebased" bs=4096 skip=$((DMA_GPA / 4096)) count=1 status=none) \
		<(dd if="$TMP/diff" bs=4096 skip=$((DMA_GPA / 4096)) count=1 status=none) || fail "the DMA page was not rebased"
}

@test "rebase copies only the diff's data extents and refuses unequal sizes, one file twice, and bad arguments" {
	truncate -s 4M "$TMP/base" "$TMP/diff"
	printf 'B%.0s' $(seq 8192) | dd of="$TMP/base" conv=notrunc status=none
	printf 'D%.0s' $(seq 4096) | dd of="$TMP/diff" bs=4096 seek=1 conv=notrunc status=none
	run "$SNAPTOOL" rebase "$TMP/base" "$TMP/diff"
	assert_success
	assert_output --partial "4096 bytes in 1 extents"
	# page 0 kept the base's bytes, page 1 took the diff's, the rest stays a hole
	assert_equal "$(head -c 4096 "$TMP/base" | tr -d B | wc -c)" 0
	assert_equal "$(dd if="$TMP/base" bs=4096 skip=1 count=1 status=none | tr -d D | wc -c)" 0
	[ "$(stat -c %b "$TMP/base")" -lt 64 ] || fail "the base lost its holes: $(stat -c %b "$TMP/base") blocks"
	truncate -s 8M "$TMP/other"
	run "$SNAPTOOL" rebase "$TMP/base" "$TMP/other"
	assert_failure 1
	assert_output --partial "sizes differ"
	run "$SNAPTOOL" rebase "$TMP/base" "$TMP/base"
	assert_failure 1
	assert_output --partial "are the same file"
	ln "$TMP/base" "$TMP/link"
	run "$SNAPTOOL" rebase --memory-path "$TMP/base" --diff-path "$TMP/link"
	assert_failure 1
	assert_output --partial "are the same file"
	run "$SNAPTOOL" rebase "$TMP/base" "$TMP"
	assert_failure 1
	assert_output --partial "not a regular file"
	run "$SNAPTOOL" rebase "$TMP/base" "$TMP/missing"
	assert_failure 1
	assert_output --partial "No such file or directory"
	run "$SNAPTOOL" rebase --memory-path "$TMP/base"
	assert_failure 2
	run "$SNAPTOOL" rebase --diff-path "$TMP/base" --diff-path "$TMP/diff"
	assert_failure 2
}

@test "a restored VM merges its Diff into the very file it was loaded from, and that file loads" {
	require_kvm
	dirty_boot a ',"track_dirty_pages":true'
	snap_create a "$TMP/state" "$TMP/mem"
	snap_kill a
	ino=$(stat -c %i "$TMP/mem")
	snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$TMP/state" "$TMP/mem" true '"track_dirty_pages":true')"
	dirty_write b
	# its mapping of mem is private: the pages merged are its own copies, the
	# rest the file's own, so the running guest sees no change
	dirty_diff b "$TMP/dstate" "$TMP/mem"
	grep -aq "Diff merged into $TMP/mem" "$TMP/b.out" || fail "no merge line: $(tail "$TMP/b.out")"
	assert_equal "$(stat -c %i "$TMP/mem")" "$ino"
	expect_api 204 PATCH /vm '{"state":"Resumed"}'
	snap_send b R
	snap_wait b 'PROBE snapshot-dirty.checked'
	grep -aq 'PROBE snapshot-dirty.checked ok' "$TMP/b.out" || fail "the running guest saw a change: $(tail "$TMP/b.out")"
	snap_kill b
	restore_check c "$TMP/dstate" "$TMP/mem"
}
