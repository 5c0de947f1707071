#!/usr/bin/env bats
# huge_pages (doc/hugepages.md): 2M from the host's hugetlb pool, Transparent
# through MADV_HUGEPAGE, None; an exhausted pool ends the VM with 149; the
# machine-config's validation. The probe's `touch` scenario writes a byte per
# 4 KiB page of 64 MiB and waits for one serial byte, so the host can read the
# VMM's smaps and /proc/meminfo while the memory is in use.
#
# vm.nr_hugepages is the host's: saved in setup and restored in teardown,
# which bats runs after a failed test too.

load helpers
load boot-helpers
load api-helpers
load snapshot-helpers

THP_ENABLED=/sys/kernel/mm/transparent_hugepage/enabled

setup() {
	TMP=$(mktemp -d)
	SAVED_NR=
	[ -r "$NR_HUGEPAGES" ] && SAVED_NR=$(cat "$NR_HUGEPAGES")
}

teardown() {
	api_stop
	snap_kill_all
	[ -n "${HANDLER_PID:-}" ] && { kill -9 "$HANDLER_PID" 2>/dev/null || true; wait "$HANDLER_PID" 2>/dev/null || true; }
	[ -n "${TOUCH_PID:-}" ] && { kill -9 "$TOUCH_PID" 2>/dev/null || true; wait "$TOUCH_PID" 2>/dev/null || true; }
	exec 7>&- 2>/dev/null || true
	pool_restore
	rm -rf "$TMP"
}

# touch_config FILE HUGE_PAGES: a 128 MiB probe VM running `touch` over 64 MiB.
touch_config() {
	probe_config "$1" 1 128 touch probe.touch_mib=64
	sed -i "s/\"mem_size_mib\": 128/\"mem_size_mib\": 128, \"huge_pages\": \"$2\"/" "$1"
}

# touch_start FILE: runs ember on FILE with its serial input on a FIFO (fd 7
# holds it open) and waits until the guest has filled its 64 MiB.
touch_start() {
	OUT=$TMP/out
	mkfifo "$TMP/in"
	exec 7<>"$TMP/in"
	"$EMBER" --no-api --config-file "$1" --id "hugepages-bats-$$" <"$TMP/in" >"$OUT" 2>&1 &
	TOUCH_PID=$!
	for _ in $(seq 600); do
		grep -q '^PROBE touch.filled' "$OUT" && return 0
		kill -0 "$TOUCH_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "the guest did not fill its memory: $(tail -20 "$OUT")"
}

# touch_finish: sends the byte the guest waits for; ember must end with 0 and
# the guest's re-read must find every byte.
touch_finish() {
	printf 'x' >&7
	local st=0
	wait "$TOUCH_PID" || st=$?
	TOUCH_PID=
	output=$(cat "$OUT")
	grep -q '^PROBE touch.checked ok' "$OUT" || fail "no touch.checked ok: $(tail -20 "$OUT")"
	assert_equal "$st" 0
}

# guest_smaps FIELD: FIELD (kB) of the VMM's mapping that holds the guest's
# 64 MiB: the largest mapping of the process.
guest_smaps() {
	awk -v field="$1:" '
		/^Size:/ { size = $2 }
		$1 == field && size > best { best = size; v = $2 }
		END { print v + 0 }' "/proc/$TOUCH_PID/smaps"
}

# guest_kernel_page_size: KernelPageSize (kB) of that mapping.
guest_kernel_page_size() {
	guest_smaps KernelPageSize
}

require_elf_ember() {
	head -c 4 "$EMBER" | grep -q ELF || skip "$EMBER is a wrapper: the guest's mapping is not its process's"
}

@test "2M: the guest's memory comes from the hugetlb pool in 2 MiB pages" {
	require_kvm
	pool_set 80
	before=$(hp_free)
	touch_config "$TMP/vm.json" 2M
	touch_start "$TMP/vm.json"
	if head -c 4 "$EMBER" | grep -q ELF; then
		assert_equal "$(guest_kernel_page_size)" 2048
		used=$(( before - $(hp_free) ))
		[ "$used" -ge 32 ] || fail "HugePages_Free fell by $used, expected at least 32 (64 MiB touched)"
	fi
	touch_finish
}

@test "Transparent: the guest's memory is backed by THPs (AnonHugePages > 32 MiB)" {
	require_kvm
	grep -q '\[never\]' "$THP_ENABLED" 2>/dev/null &&
		skip "the host's transparent_hugepage/enabled is never: MADV_HUGEPAGE cannot take effect"
	[ -r "$THP_ENABLED" ] || skip "no $THP_ENABLED: the host kernel has no THP"
	touch_config "$TMP/vm.json" Transparent
	touch_start "$TMP/vm.json"
	if head -c 4 "$EMBER" | grep -q ELF; then
		anon=$(guest_smaps AnonHugePages)
		[ "$anon" -gt $((32 * 1024)) ] || fail "AnonHugePages of the guest mapping is $anon kB, expected > 32768"
		assert_equal "$(guest_kernel_page_size)" 4
	fi
	touch_finish
	refute_output --partial 'transparent_hugepage/enabled is "never"'
}

@test "None: the guest's memory has no huge page (AnonHugePages 0)" {
	require_kvm
	touch_config "$TMP/vm.json" None
	touch_start "$TMP/vm.json"
	if head -c 4 "$EMBER" | grep -q ELF; then
		assert_equal "$(guest_smaps AnonHugePages)" 0
		assert_equal "$(guest_kernel_page_size)" 4
	fi
	touch_finish
}

@test "2M: a 16-page pool runs dry under the guest's touch: exit 149, naming the address" {
	require_kvm
	pool_set 16
	# Exactly 16 free pages for this VM (others' use of the pool aside).
	echo $(( $(cat "$NR_HUGEPAGES") - $(hp_free) + 16 )) >"$NR_HUGEPAGES"
	touch_config "$TMP/vm.json" 2M
	run timeout --kill-after=5 120 "$EMBER" --no-api --config-file "$TMP/vm.json" --id "hugepages-bats-$$" </dev/null
	assert_equal "$status" 149
	assert_output --regexp 'guest memory at 0x[0-9a-f]+ could not be backed \(huge page pool exhausted\?\)'
	refute_output --partial 'PROBE touch.checked ok'
}

@test "2M: an empty pool fails ember's own load of the kernel into guest memory: exit 149" {
	require_kvm
	[ -w "$NR_HUGEPAGES" ] || skip "cannot write $NR_HUGEPAGES (needs root)"
	[ "$(hp_free)" -eq 0 ] || echo $(( $(cat "$NR_HUGEPAGES") - $(hp_free) )) >"$NR_HUGEPAGES"
	[ "$(hp_free)" -eq 0 ] || skip "free huge pages remain that others hold ($(hp_free))"
	touch_config "$TMP/vm.json" 2M
	run timeout --kill-after=5 60 "$EMBER" --no-api --config-file "$TMP/vm.json" --id "hugepages-bats-$$" </dev/null
	assert_equal "$status" 149
	assert_output --partial 'guest memory could not be backed while loading the kernel (huge page pool exhausted?)'
}

@test "machine-config: huge_pages in PUT, PATCH, GET and /vm/config; sizes must be even" {
	local mem='Machine config error: The memory size (MiB) is either 0, or not a multiple of the configured page size.'
	api_start
	expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128,"huge_pages":"2M"}'
	expect_api 200 GET /machine-config '' '"huge_pages":"2M"'
	expect_api 200 GET /vm/config '' '"huge_pages":"2M"'
	expect_api 400 PATCH /machine-config '{"mem_size_mib":127}' "$mem"
	expect_api 400 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":129,"huge_pages":"Transparent"}' "$mem"
	expect_api 400 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":0,"huge_pages":"2M"}' "$mem"
	expect_api 400 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128,"huge_pages":"1G"}' \
		'unknown variant `1G`, expected one of `None`, `2M`, `Transparent`'
	expect_api 204 PATCH /machine-config '{"huge_pages":"Transparent"}'
	expect_api 200 GET /machine-config '' '"huge_pages":"Transparent"'
	expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":127}'
	expect_api 200 GET /machine-config '' '"huge_pages":"None"'
}

@test "config file: an odd size with 2M is refused before boot (exit 152)" {
	touch_config "$TMP/vm.json" 2M
	sed -i 's/"mem_size_mib": 128/"mem_size_mib": 127/' "$TMP/vm.json"
	run timeout 30 "$EMBER" --no-api --config-file "$TMP/vm.json" --id "hugepages-bats-$$" </dev/null
	assert_equal "$status" 152
	assert_output --partial 'not a multiple of the configured page size'
}

@test "2M with a balloon: inflated pages cannot be freed on hugetlb, said once" {
	require_kvm
	pool_set 80
	probe_config "$TMP/vm.json" 1 128 balloon probe.balloon_wait_ms=100
	python3 - "$TMP/vm.json" <<-'PY'
	import json, sys
	c = json.load(open(sys.argv[1]))
	c["balloon"] = {"amount_mib": 8, "deflate_on_oom": False}
	c["machine-config"]["huge_pages"] = "2M"
	json.dump(c, open(sys.argv[1], "w"))
	PY
	run_ember_config "$TMP/vm.json"
	assert_success
	assert_line 'PROBE-INFO balloon.inflated 2048'
	assert_equal "$(printf '%s\n' "$output" | grep -c 'balloon: guest memory is in 2 MiB huge pages')" 1
}

# ---- snapshots: huge_pages at PUT /snapshot/load (Firecracker's matrix) ----

HANDLER=$EMBER_BUILD/tools/ember-uffd-handler
UFFD_PEER=$BATS_TEST_DIRNAME/uffd-peer.py

# hp_snapshot HUGE_PAGES: the snapshot scenario (seed 7, 8 MiB of pattern) of
# a 128 MiB VM with that huge_pages, saved at $TMP/state and $TMP/mem.
hp_snapshot() {
	truncate -s 1M "$TMP/disk.img"
	snap_ember src
	SNAP_MACHINE_EXTRA=",\"huge_pages\":\"$1\"" snap_boot src 1 7
	snap_create src "$TMP/state" "$TMP/mem"
	snap_kill src
}

# hp_body BACKEND PATH HUGE: a load body (HUGE "" leaves huge_pages out), resumed.
hp_body() {
	printf '{"snapshot_path":"%s","mem_backend":{"backend_type":"%s","backend_path":"%s"},"resume_vm":true%s}' \
		"$TMP/state" "$1" "$2" "${3:+,\"huge_pages\":\"$3\"}"
}

# hp_handler: ember-uffd-handler on $TMP/uffd.sock, summary in $TMP/handler.out.
hp_handler() {
	rm -f "$TMP/uffd.sock"
	"$HANDLER" "$TMP/uffd.sock" "$TMP/mem" >"$TMP/handler.out" 2>&1 &
	HANDLER_PID=$!
	wait_socket "$TMP/uffd.sock"
}

# hp_restored NAME WANT: the loaded ember NAME reports huge_pages WANT, its
# guest finds its pattern after R and ends cleanly.
hp_restored() {
	snap_use "$1"
	expect_api 200 GET /machine-config '' "\"huge_pages\":\"$2\""
	snap_send "$1" R
	snap_wait "$1" 'PROBE DONE'
	snap_exit "$1"
	assert_equal "$SNAP_STATUS" 0
	grep -q 'PROBE snapshot.pattern ok' "$TMP/$1.out" || fail "no pattern ok: $(tail "$TMP/$1.out")"
	grep -Eq 'PROBE DONE pass=[0-9]+ fail=0' "$TMP/$1.out" || fail "$(tail "$TMP/$1.out")"
}

# hp_handler_end: the handler's summary in $SUMMARY once ember closed its socket.
hp_handler_end() {
	wait_until 100 0.1 pid_ended "$HANDLER_PID" || fail "the handler still runs: $(cat "$TMP/handler.out")"
	wait "$HANDLER_PID" || fail "the handler failed: $(cat "$TMP/handler.out")"
	HANDLER_PID=
	SUMMARY=$(grep '^faults=' "$TMP/handler.out")
}

hp_field() {
	echo "$SUMMARY" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

@test "2M snapshot through ember-uffd-handler: the handshake says 2097152, each copy is a whole 2 MiB page" {
	require_kvm
	pool_set 80
	hp_snapshot 2M
	# the handshake, field by field
	python3 "$UFFD_PEER" check "$TMP/uffd.sock" 128 2097152 >"$TMP/peer.out" 2>&1 &
	peer=$!
	wait_socket "$TMP/uffd.sock"
	snap_ember p
	snap_use p
	expect_api 204 PUT /snapshot/load "$(hp_body Uffd "$TMP/uffd.sock" "")"
	wait "$peer" || fail "the peer: $(cat "$TMP/peer.out")"
	assert_equal "$(cat "$TMP/peer.out")" "uffd-peer: ok"
	snap_kill p
	# served by the handler: the guest's RAM is hugetlb again
	hp_handler
	free_before=$(hp_free)
	snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(hp_body Uffd "$TMP/uffd.sock" "")"
	# the resumed guest runs (its code and stack faulted in) before R: hugetlb pages from the pool
	for _ in $(seq 50); do [ "$(hp_free)" -lt "$free_before" ] && break; sleep 0.1; done
	[ "$(hp_free)" -lt "$free_before" ] || fail "HugePages_Free did not fall ($free_before -> $(hp_free))"
	if head -c 4 "$EMBER" | grep -q ELF; then
		TOUCH_PID=$(cat "$TMP/b.pid")
		assert_equal "$(guest_kernel_page_size)" 2048
		TOUCH_PID=
	fi
	hp_restored b 2M
	hp_handler_end
	copied=$(hp_field copied_bytes)
	[ "$copied" -ge $((8 << 20)) ] || fail "copied: $SUMMARY"
	assert_equal $((copied % (2 << 20))) 0
	# 8 MiB of pattern in 2 MiB pages: a handful of faults, not 2048
	[ "$(hp_field faults)" -ge 4 ] && [ "$(hp_field faults)" -lt 512 ] || fail "faults: $SUMMARY"
}

@test "the load-time matrix: huge_pages Snapshot, None, Transparent, 2M against File and Uffd, as Firecracker" {
	require_kvm
	pool_set 80
	hugetlb="Load snapshot error: Failed to restore from snapshot: Failed to load guest memory: Error creating guest memory from file: Cannot restore hugetlbfs backed snapshot by mapping the memory file. Please use uffd."
	# a 2M snapshot: File refuses it (the default resolves to the snapshot's 2M) unless None is asked
	hp_snapshot 2M
	snap_ember f
	snap_use f
	expect_api 400 PUT /snapshot/load "$(hp_body File "$TMP/mem" "")" "$hugetlb"
	expect_api 400 PUT /snapshot/load "$(hp_body File "$TMP/mem" Snapshot)" "$hugetlb"
	expect_api 400 PUT /snapshot/load "$(hp_body File "$TMP/mem" 2M)" "$hugetlb"
	expect_api 400 PUT /snapshot/load "$(hp_body File "$TMP/mem" 1G)" "unknown variant \`1G\`"
	snap_state "Not started"
	expect_api 204 PUT /snapshot/load "$(hp_body File "$TMP/mem" None)"
	hp_restored f None
	# a None snapshot: Transparent with File; 2M with File refused; 2M and Transparent with Uffd
	hp_snapshot None
	snap_ember t
	snap_use t
	expect_api 400 PUT /snapshot/load "$(hp_body File "$TMP/mem" 2M)" "$hugetlb"
	expect_api 204 PUT /snapshot/load "$(hp_body File "$TMP/mem" Transparent)"
	hp_restored t Transparent
	hp_handler
	snap_ember u
	snap_use u
	expect_api 204 PUT /snapshot/load "$(hp_body Uffd "$TMP/uffd.sock" 2M)"
	hp_restored u 2M
	hp_handler_end
	assert_equal $(($(hp_field copied_bytes) % (2 << 20))) 0
	python3 "$UFFD_PEER" check "$TMP/uffd.sock" 128 4096 >"$TMP/peer.out" 2>&1 &
	peer=$!
	wait_socket "$TMP/uffd.sock"
	snap_ember v
	snap_use v
	expect_api 204 PUT /snapshot/load "$(hp_body Uffd "$TMP/uffd.sock" Transparent)"
	wait "$peer" || fail "Transparent's handshake: $(cat "$TMP/peer.out")"
	expect_api 200 GET /machine-config '' '"huge_pages":"Transparent"'
}
