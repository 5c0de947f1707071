#!/usr/bin/env bats
# Clones: one snapshot restored several times at once, each clone with its
# own TAP (network_overrides) and vsock socket (vsock_override), as sandbox
# platforms do (doc/snapshots.md). Each ember runs in its own network
# namespace whose TAP carries the host's side of the guest's /24, so every
# clone's ARP and pings are answered by its own host kernel; the vsock
# guest connects to <uds_path>_53, where an echoing peer listens.

load helpers
load api-helpers
load snapshot-helpers

setup() {
	TMP=$(mktemp -d)
	truncate -s 1M "$TMP/disk.img"
	SNAP_NS=()
}

teardown() {
	snap_kill_all
	snap_netns_cleanup
	snap_peers_kill
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}

clone_ns() {
	snap_netns "$@"
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
	clone_ns a snapa
	SNAP_NETNS=$NS_a snap_ember a
	clone_boot a "$@"
	snap_create a "$TMP/state" "$TMP/mem"
	snap_kill a
}

# clone_load NAME OVERRIDES_JSON: PUT /snapshot/load with ,OVERRIDES added, resumed.
clone_body() {
	printf '{"snapshot_path":"%s","mem_backend":{"backend_type":"File","backend_path":"%s"},"resume_vm":true%s}' \
		"$TMP/state" "$TMP/mem" "${1:+,$1}"
}

# clone_peer NAME: an echoing listener on $TMP/NAME.vsock_53 (one connection).
clone_peer() {
	snap_vsock_peer "$1" "$TMP/$1.vsock_53" 1
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
		clone_ns "$c" "snap$c"
		clone_peer "$c"
		ns=NS_$c
		SNAP_NETNS=${!ns} snap_ember "$c"
		snap_use "$c"
		expect_api 204 PUT /snapshot/load "$(clone_body "\"network_overrides\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"snap$c\"}],\"vsock_override\":{\"uds_path\":\"$TMP/$c.vsock\"}")"
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
	clone_ns b snapb
	clone_peer b
	SNAP_NETNS=$NS_b snap_ember b
	snap_use b
	expect_api 204 PUT /snapshot/load "$(clone_body "\"network_overrides\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"snapb\"}],\"vsock_override\":{\"uds_path\":\"$TMP/b.vsock\"}")"
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
		clone_ns "$c" "snap$c"
		clone_peer "$c"
		ns=NS_$c
		SNAP_NETNS=${!ns} snap_ember "$c"
		snap_use "$c"
		rt=false
		[ "$c" = b ] && rt=true
		api PUT /snapshot/load "$(clone_body "\"network_overrides\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"snap$c\"}],\"vsock_override\":{\"uds_path\":\"$TMP/$c.vsock\"},\"clock_realtime\":$rt")"
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
