#!/usr/bin/env bats
# Clones of one snapshot (doc/snapshots.md, "Clones"), restored several times
# at once as sandbox platforms do.
#
# Devices: each clone with its own TAP (network_overrides) and vsock socket
# (vsock_override). Each ember runs in its own network namespace whose TAP
# carries the host's side of the guest's /24, so every clone's ARP and pings
# are answered by its own host kernel; the vsock guest connects to
# <uds_path>_53, where an echoing peer listens. clock_realtime.
#
# VMGenID and VMClock: each restore gives the guest a new VMGenID and bumps
# VMClock's counters, and the GED's two GSIs reach the guest's LAPIC IRR. The
# probe's genid scenario reads both from the DSDT, routes the GSIs to fresh
# vectors, and after each `R` on its serial input (sent once a restore is
# done) checks them.

load helpers
load api-helpers
load snapshot-helpers

setup() {
	snap_setup
}

teardown() {
	snap_teardown
}

clone_require() {
	require_kvm
	snap_require_net
}

# clone_boot NAME EXTRA_ARGS: the snapshot scenario with a drive, eth0 on TAP
# snapa, a vsock at $TMP/a.vsock, and the net and vsock checks.
clone_boot() {
	local n=$1
	shift
	local args="console=ttyS0 probe=snapshot probe.snap_seed=11 probe.net_ip=$SNAP_GUEST probe.net_peer=$SNAP_PEER probe.vsock_connect=53 $*"
	is_pvm_host && args="$args probe.pvm=1"
	snap_use "$n"
	expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128}'
	expect_api 204 PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$TMP/disk.img\",\"is_root_device\":true,\"is_read_only\":false}"
	expect_api 204 PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"snapa","guest_mac":"06:00:0a:4d:00:02"}'
	expect_api 204 PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$TMP/a.vsock\"}"
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"$args\"}"
	expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
	snap_wait "$n" 'PROBE snapshot.ready ok'
}

# clone_base [EXTRA_ARGS]: the original, in its own namespace, saved to
# $TMP/state and $TMP/mem and killed.
clone_base() {
	snap_netns a snapa
	SNAP_NETNS=$NS_a snap_ember a
	clone_boot a "$@"
	snap_create a "$TMP/state" "$TMP/mem"
	snap_kill a
}

# clone_body [OVERRIDES]: a PUT /snapshot/load body of $TMP/state and $TMP/mem, resumed, with OVERRIDES added.
clone_body() {
	snap_load_body "$TMP/state" "$TMP/mem" true "${1:-}"
}

# clone_peer NAME: an echoing listener on $TMP/NAME.vsock_53 (one connection).
clone_peer() {
	snap_vsock_peer "$1" "$TMP/$1.vsock_53" 1
}

# clone_start C: ember C in a namespace of its own with TAP snapC, and an
# echoing peer on $TMP/C.vsock_53; the api helpers talk to it.
clone_start() {
	local ns=NS_$1
	snap_netns "$1" "snap$1"
	clone_peer "$1"
	SNAP_NETNS=${!ns} snap_ember "$1"
	snap_use "$1"
}

# clone_overrides C: the load's overrides giving clone C TAP snapC and the socket $TMP/C.vsock.
clone_overrides() {
	printf '"network_overrides":[{"iface_id":"eth0","host_dev_name":"snap%s"}],"vsock_override":{"uds_path":"%s"}' \
		"$1" "$TMP/$1.vsock"
}

# clone_passes NAME: after R, ember NAME's guest passed net and vsock and ended cleanly.
clone_passes() {
	snap_send "$1" R
	snap_wait "$1" 'PROBE DONE'
	snap_exit "$1"
	assert_equal "$SNAP_STATUS" 0
	run cat "$TMP/$1.out"
	assert_output --partial "PROBE snapshot.net ok"
	assert_output --partial "PROBE snapshot.vsock ok"
	assert_output --partial "PROBE snapshot.resumed ok"
	assert_output --regexp "PROBE DONE pass=[0-9]+ fail=0"
	refute_output --partial "snapshot.ready"
	run cat "$TMP/$1.peer"
	assert_output --partial "echoed 64 ok"
}

@test "two clones of one snapshot at once, each on its own TAP and vsock socket: both pass net and vsock" {
	clone_require
	clone_base
	for c in b c; do
		clone_start "$c"
		expect_api 204 PUT /snapshot/load "$(clone_body "$(clone_overrides "$c")")"
		# the overrides are the clone's configuration now
		expect_api 200 GET /vm/config
		assert_equal "$(printf '%s' "$body" | jq -r '.["network-interfaces"][0].host_dev_name')" "snap$c"
		assert_equal "$(printf '%s' "$body" | jq -r '.vsock.uds_path')" "$TMP/$c.vsock"
		[ -S "$TMP/$c.vsock" ] || fail "the clone's vsock socket was not bound at load"
	done
	clone_passes b
	clone_passes c
}

@test "a clone without overrides: 400 naming the TAP, then the socket; the process loads again and the other clone is unharmed" {
	clone_require
	clone_base
	clone_start b
	expect_api 204 PUT /snapshot/load "$(clone_body "$(clone_overrides b)")"
	# a second clone in b's namespace: the saved TAP snapa is not there (never created)
	SNAP_NETNS=$NS_b snap_ember c
	snap_use c
	expect_api 400 PUT /snapshot/load "$(clone_body)" "snapa"
	ip -n "$NS_b" link show snapa >/dev/null 2>&1 && fail "the load created the TAP snapa"
	# b's TAP is held by clone b: another attach is refused
	expect_api 400 PUT /snapshot/load "$(clone_body "\"network_overrides\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"snapb\"}],\"vsock_override\":{\"uds_path\":\"$TMP/c.vsock\"}")" "snapb"
	# the TAP overridden, the socket not: the saved path is still there (the original was killed)
	ip -n "$NS_b" tuntap add dev snapc mode tap
	expect_api 400 PUT /snapshot/load "$(clone_body "\"network_overrides\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"snapc\"}]")" "$TMP/a.vsock"
	snap_state "Not started"
	clone_passes b
}

@test "clock_realtime: after a 3 s wait the restored kvmclock advances by at least 3 s with it, by less without" {
	clone_require
	clone_base probe.snap_kvmclock=1
	ready=$(grep -a 'PROBE-INFO snapshot.kvmclock_ns' "$TMP/a.out" | head -1 | awk '{ print $3 }')
	[ -n "$ready" ] || fail "no kvmclock_ns at ready: $(tail -20 "$TMP/a.out")"
	sleep 3
	for c in b c; do
		clone_start "$c"
		rt=false
		[ "$c" = b ] && rt=true
		api PUT /snapshot/load "$(clone_body "$(clone_overrides "$c"),\"clock_realtime\":$rt")"
		case "$body" in
		*"clock_realtime requested but not present in the snapshot state"*)
			skip "KVM_GET_CLOCK gave no realtime stamp on this host (its clocksource is not the TSC)" ;;
		esac
		[ "$code" = 204 ] || fail "load: $code $body"
		snap_send "$c" R
		snap_wait "$c" 'PROBE-INFO snapshot.kvmclock_ns'
	done
	with=$(grep -a 'PROBE-INFO snapshot.kvmclock_ns' "$TMP/b.out" | head -1 | awk '{ print $3 }')
	without=$(grep -a 'PROBE-INFO snapshot.kvmclock_ns' "$TMP/c.out" | head -1 | awk '{ print $3 }')
	echo "# kvmclock at ready $ready, restored with clock_realtime $with, without $without" >&3
	[ $((with - ready)) -ge 3000000000 ] || fail "with clock_realtime the clock advanced $((with - ready)) ns"
	[ $((without - ready)) -lt 3000000000 ] || fail "without clock_realtime the clock advanced $((without - ready)) ns"
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
