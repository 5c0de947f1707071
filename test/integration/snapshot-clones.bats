#!/usr/bin/env bats
# Clones of one snapshot (doc/snapshots.md, "Clones"): each restore gives the
# guest a new VMGenID and bumps VMClock's counters, and the GED's two GSIs
# reach the guest's LAPIC IRR. The probe's genid scenario reads both from
# the DSDT, routes the GSIs to fresh vectors, and after each `R` on its
# serial input (sent once a restore is done) checks them.

load helpers
load api-helpers
load snapshot-helpers

setup() {
	TMP=$(mktemp -d)
	truncate -s 1M "$TMP/disk.img"
}

teardown() {
	snap_kill_all
	rm -rf "$TMP"
}

# genid_boot NAME GENERATIONS: the genid scenario on ember NAME, to its
# genid.ready; it ends after GENERATIONS restores. $GENID_MACHINE_EXTRA is
# added to the machine-config object (",\"irqchip\":\"split\"").
genid_boot() {
	local n=$1 args="console=ttyS0 probe=genid probe.snap_generations=$2"
	is_pvm_host && args="$args probe.pvm=1"
	snap_use "$n"
	expect_api 204 PUT /machine-config "{\"vcpu_count\":1,\"mem_size_mib\":128${GENID_MACHINE_EXTRA:-}}"
	expect_api 204 PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$TMP/disk.img\",\"is_root_device\":true,\"is_read_only\":false}"
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"$args\"}"
	expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
	snap_wait "$n" 'PROBE genid.ready ok'
}

# genid_info NAME KEY: the last PROBE-INFO KEY value ember NAME's guest printed.
genid_info() {
	grep -a "^PROBE-INFO $2 " "$TMP/$1.out" | tail -1 | cut -d' ' -f3-
}

# genid_restored NAME GEN: ember NAME's guest saw generation GEN whole: the
# four checks once each, its counter GEN, no failure.
genid_restored() {
	local c
	for c in genid.changed vmclock.restored genid.irq vmclock.irq; do
		[ "$(grep -ac "^PROBE $c ok" "$TMP/$1.out")" -eq 1 ] ||
			fail "ember $1, generation $2: not one 'PROBE $c ok': $(grep -a PROBE "$TMP/$1.out")"
	done
	assert_equal "$(genid_info "$1" vmclock.generation)" "$2"
	! grep -a '^PROBE .* FAIL' "$TMP/$1.out" || fail "ember $1: a check failed"
}

# genid_load NAME STATE MEM: a new ember NAME resumed from the snapshot.
genid_load() {
	snap_ember "$1"
	snap_use "$1"
	expect_api 204 PUT /snapshot/load "$(snap_load_body "$2" "$3" true)"
}

@test "five chained restores (snapshot, restore, snapshot the restored VM, ...): each guest sees a new ID, VMClock's counters equal to the generation, both GED GSIs in its IRR" {
	require_kvm
	local i ids
	snap_ember g0
	genid_boot g0 5
	ids=$(genid_info g0 genid.id)
	assert_equal "$(genid_info g0 vmclock.generation)" 0
	snap_create g0 "$TMP/s0" "$TMP/m0"
	snap_kill g0
	for i in 1 2 3 4 5; do
		genid_load "g$i" "$TMP/s$((i - 1))" "$TMP/m$((i - 1))"
		snap_send "g$i" R
		if [ "$i" -lt 5 ]; then
			# the next vectors are routed: this generation is done
			snap_wait "g$i" "PROBE-INFO genid.vectors $i "
			snap_create "g$i" "$TMP/s$i" "$TMP/m$i"
			snap_kill "g$i"
		else
			snap_wait "g$i" 'PROBE DONE'
			snap_exit "g$i"
			assert_equal "$SNAP_STATUS" 0
			grep -aq '^PROBE DONE pass=23 fail=0' "$TMP/g$i.out" || fail "$(grep -a PROBE "$TMP/g$i.out")"
		fi
		genid_restored "g$i" "$i"
		ids="$ids $(genid_info "g$i" genid.id)"
	done
	# six IDs, all different
	assert_equal "$(tr ' ' '\n' <<<"$ids" | sort -u | grep -c .)" 6
	# ember's own copy: the state file of generation 4 holds vm_generation_counter 4
	# (the section's VMClock copy starts at byte 40; the counter is its last field, at 104)
	assert_equal "$(python3 "$BATS_TEST_DIRNAME/snapshot-file.py" "$TMP/s4" section-get 0x40 144 8)" 0400000000000000
}

@test "two clones of one snapshot at once: their genid.id differ from each other and from the original's; both at generation 1 with both IRR bits" {
	require_kvm
	local orig b c
	snap_ember a
	genid_boot a 1
	orig=$(genid_info a genid.id)
	snap_create a "$TMP/state" "$TMP/mem"
	snap_kill a
	genid_load b "$TMP/state" "$TMP/mem"
	genid_load c "$TMP/state" "$TMP/mem"
	snap_send b R
	snap_send c R
	snap_wait b 'PROBE DONE'
	snap_wait c 'PROBE DONE'
	snap_exit b
	assert_equal "$SNAP_STATUS" 0
	snap_exit c
	assert_equal "$SNAP_STATUS" 0
	genid_restored b 1
	genid_restored c 1
	b=$(genid_info b genid.id)
	c=$(genid_info c genid.id)
	[ ${#orig} -eq 32 ] && [ ${#b} -eq 32 ] && [ ${#c} -eq 32 ] || fail "IDs: '$orig' '$b' '$c'"
	[ "$b" != "$c" ] && [ "$b" != "$orig" ] && [ "$c" != "$orig" ] || fail "IDs not all different: $orig $b $c"
}

@test "irqchip split (ember's IOAPIC, the GED's irqfds on its GSI -> MSI routes): two chained restores, both GSIs in the IRR each time" {
	require_kvm
	GENID_MACHINE_EXTRA=',"irqchip":"split"'
	snap_ember s0
	genid_boot s0 2
	snap_create s0 "$TMP/s0" "$TMP/m0"
	snap_kill s0
	genid_load s1 "$TMP/s0" "$TMP/m0"
	snap_send s1 R
	snap_wait s1 'PROBE-INFO genid.vectors 1 '
	snap_create s1 "$TMP/s1" "$TMP/m1"
	snap_kill s1
	genid_restored s1 1
	genid_load s2 "$TMP/s1" "$TMP/m1"
	snap_send s2 R
	snap_wait s2 'PROBE DONE'
	snap_exit s2
	assert_equal "$SNAP_STATUS" 0
	genid_restored s2 2
}

# genid_bad_load NAME STATE WHY: PUT /snapshot/load refused with 400 naming
# the state file and WHY, before KVM: the process lives on.
genid_bad_load() {
	snap_use "$1"
	expect_api 400 PUT /snapshot/load "$(snap_load_body "$2" "$TMP/mem" true)" "$3"
	case "$body" in
	*"$2"*) ;;
	*) fail "the answer does not name $2: $body" ;;
	esac
	kill -0 "$(cat "$TMP/$1.pid")" || fail "ember $1 died on a bad load"
	snap_state "Not started"
}

@test "a hostile generation section: wrong length, addresses, magic, flags, an odd seq_count, missing in a v1.1 file: 400 naming the reason, the process lives; other GSIs: 400, exit 1; then a good load" {
	require_kvm
	local tool=$BATS_TEST_DIRNAME/snapshot-file.py S=$TMP/bad
	snap_ember a
	genid_boot a 1
	snap_create a "$TMP/state" "$TMP/mem"
	snap_kill a
	snap_ember b
	cp "$TMP/state" "$S.addr"
	python3 "$tool" "$S.addr" section-patch 0x40 8 00001000
	genid_bad_load b "$S.addr" "generation section: the ID at 0x100000 and the VMClock page at 0xdf000, ember puts them at 0xdeff0 and 0xdf000"
	cp "$TMP/state" "$S.magic"
	python3 "$tool" "$S.magic" section-patch 0x40 40 00000000
	genid_bad_load b "$S.magic" "generation section: not a VMClock structure ember writes (magic 0x0,"
	cp "$TMP/state" "$S.flags"
	python3 "$tool" "$S.flags" section-patch 0x40 64 ff
	genid_bad_load b "$S.flags" "flags 0x3ff"
	cp "$TMP/state" "$S.seq"
	python3 "$tool" "$S.seq" section-patch 0x40 52 01
	genid_bad_load b "$S.seq" "seq_count 1)"
	cp "$TMP/state" "$S.len"
	python3 "$tool" "$S.len" section-drop 0x40
	genid_bad_load b "$S.len" "no generation section (VMGenID and VMClock) in a v1.1 snapshot"
	# other GSIs: found once the VM is built from the configuration (exit 1)
	cp "$TMP/state" "$S.gsi"
	python3 "$tool" "$S.gsi" section-patch 0x40 0 09000000
	snap_use b
	expect_api 400 PUT /snapshot/load "$(snap_load_body "$S.gsi" "$TMP/mem" true)" \
		"generation section: VMGenID and VMClock on GSIs 9 and 7, the snapshot's configuration puts them on 6 and 7"
	snap_exit b
	assert_equal "$SNAP_STATUS" 1
	# the untouched file still loads
	genid_load c "$TMP/state" "$TMP/mem"
	snap_send c R
	snap_wait c 'PROBE DONE'
	snap_exit c
	assert_equal "$SNAP_STATUS" 0
	genid_restored c 1
}
