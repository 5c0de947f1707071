#!/usr/bin/env bats
# virtio-net: PUT/PATCH /network-interfaces and the `network-interfaces`
# config key against real TAPs, each test in its own network namespace
# (net-helpers.bash), which teardown deletes with every TAP in it.

load helpers
load api-helpers
load net-helpers

FIRECTL_IFACE='{"guest_mac":"AA:FC:00:00:00:01","host_dev_name":"tap0","iface_id":"1"}'
TAP_FAILED='Network config error: Could not create the network device: Open tap device failed: '

setup() {
	net_setup
}

teardown() {
	net_teardown
}

@test "the Go SDK's and firectl's interface is accepted and shown by GET /vm/config" {
	net_tap tap0
	net_api_start
	expect_api 204 PUT /network-interfaces/1 "$FIRECTL_IFACE"
	expect_api 200 GET /vm/config '' '"network-interfaces":[{"iface_id":"1","host_dev_name":"tap0","guest_mac":"aa:fc:00:00:00:01","mtu":null,"rx_rate_limiter":null,"tx_rate_limiter":null}]'
	# ember holds the TAP now: ip shows it attached
	run ip -n "$NS" -d link show tap0
	assert_output --partial 'tun type tap'
	assert_output --partial 'vnet_hdr'
	# the same PUT again keeps the TAP it holds (a second attach would be busy)
	expect_api 204 PUT /network-interfaces/1 "$FIRECTL_IFACE"
}

@test "Kata's empty limiters and an MTU" {
	net_tap tap_kata
	net_api_start
	expect_api 204 PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"tap_kata","guest_mac":"02:00:00:00:00:09","mtu":1400,"rx_rate_limiter":{},"tx_rate_limiter":{}}'
	expect_api 200 GET /vm/config '' '"mtu":1400,"rx_rate_limiter":{"bandwidth":null,"ops":null},"tx_rate_limiter":{"bandwidth":null,"ops":null}'
	# the TAP's own MTU is untouched
	run ip -n "$NS" link show tap_kata
	assert_output --partial 'mtu 1500'
}

@test "field errors carry Firecracker's texts" {
	net_tap tap0
	net_api_start
	expect_api 400 PUT /network-interfaces/1 '{"iface_id":"2","host_dev_name":"tap0"}' 'The id from the path does not match the id from the body!'
	expect_api 400 PUT /network-interfaces/1 '{"iface_id":"1"}' 'missing field `host_dev_name`'
	expect_api 400 PUT /network-interfaces/1 '{"iface_id":"1","host_dev_name":"tap0","allow_mmds_requests":true}' 'unknown field `allow_mmds_requests`'
	expect_api 400 PUT /network-interfaces/1 '{"iface_id":"1","host_dev_name":"tap0","guest_mac":"AA:FC:00:00:01"}' 'The provided MAC address is not valid.'
	expect_api 400 PUT /network-interfaces/1 '{"iface_id":"1","host_dev_name":"tap0","mtu":67}' 'Network config error: Could not create the network device: MTU 67 is out of range [68, 65535]'
	expect_api 400 PUT /network-interfaces/1 '{"iface_id":"1","host_dev_name":"tap0","mtu":65536}' 'expected u16'
	expect_api 400 PUT /network-interfaces/1 '{"iface_id":"1","host_dev_name":"tap0","rx_rate_limiter":{"ops":{"size":1}}}' 'missing field `refill_time`'
	expect_api 400 PUT /network-interfaces/a.b '{"iface_id":"a.b","host_dev_name":"tap0"}' 'API Resource IDs can only contain alphanumeric characters and underscores.'
	expect_api 400 PATCH /network-interfaces/1 '{"iface_id":"1"}' 'The requested operation is not supported before starting the microVM.'
	expect_api 400 DELETE /network-interfaces/1 '' 'does not provide'
	expect_api 200 GET /vm/config '' '"network-interfaces":[]'
}

@test "a MAC in use on another interface is refused" {
	net_tap tap0
	net_tap tap1
	net_api_start
	expect_api 204 PUT /network-interfaces/1 "$FIRECTL_IFACE"
	expect_api 400 PUT /network-interfaces/2 '{"iface_id":"2","host_dev_name":"tap1","guest_mac":"aa:fc:00:00:00:01"}' 'Network config error: The MAC address is already in use: aa:fc:00:00:00:01'
	expect_api 204 PUT /network-interfaces/2 '{"iface_id":"2","host_dev_name":"tap1","guest_mac":"aa:fc:00:00:00:02"}'
}

@test "TAP failures name the TAP and the reason, and create nothing" {
	net_tap tapmq multi_queue
	net_api_start
	expect_api 400 PUT /network-interfaces/1 '{"iface_id":"1","host_dev_name":"tap_not_there"}' \
		"${TAP_FAILED}Error while creating ifreq structure: No such device (os error 19). Invalid TUN/TAP Backend provided by tap_not_there. Check our documentation on setting up the network devices."
	# ember runs as root here, where TUNSETIFF would have made it: it did not
	run net_has_link tap_not_there
	assert_failure
	expect_api 400 PUT /network-interfaces/1 '{"iface_id":"1","host_dev_name":"tapmq"}' \
		"${TAP_FAILED}Error while creating ifreq structure: Invalid argument (os error 22). Invalid TUN/TAP Backend provided by tapmq. Check our documentation on setting up the network devices."
	expect_api 400 PUT /network-interfaces/1 '{"iface_id":"1","host_dev_name":"a123456789abcdef"}' \
		"${TAP_FAILED}Invalid interface name \`a123456789abcdef\`"
	expect_api 400 PUT /network-interfaces/1 '{"iface_id":"1","host_dev_name":"lo"}' 'Invalid TUN/TAP Backend provided by lo.'
	expect_api 200 GET /vm/config '' '"network-interfaces":[]'
}

@test "a TAP held by another ember is busy; a failed replacement loses nothing" {
	net_tap tap0
	net_tap tap1
	# another ember in the same namespace holds tap1
	local other_sock=$BATS_TEST_TMPDIR/other.sock
	ip netns exec "$NS" "$EMBER" --api-sock "$other_sock" --id "net-bats-other-$$" >"$BATS_TEST_TMPDIR/other.out" 2>&1 &
	local other=$!
	for _ in $(seq 200); do [ -S "$other_sock" ] && break; sleep 0.05; done
	run curl -s -S --max-time 20 --unix-socket "$other_sock" -X PUT -w '%{http_code}' -o /dev/null \
		--data-binary '{"iface_id":"x","host_dev_name":"tap1"}' http://localhost/network-interfaces/x
	assert_output 204
	net_api_start
	expect_api 204 PUT /network-interfaces/1 "$FIRECTL_IFACE"
	expect_api 400 PUT /network-interfaces/1 '{"iface_id":"1","host_dev_name":"tap1"}' \
		"${TAP_FAILED}Error while creating ifreq structure: Device or resource busy (os error 16). Invalid TUN/TAP Backend provided by tap1."
	# the interface it would have replaced is still there, TAP and all
	expect_api 200 GET /vm/config '' '"host_dev_name":"tap0","guest_mac":"aa:fc:00:00:00:01"'
	expect_api 400 PUT /network-interfaces/2 '{"iface_id":"2","host_dev_name":"tap0"}' 'Device or resource busy (os error 16). Invalid TUN/TAP Backend provided by tap0.'
	kill -9 "$other"
	wait "$other" 2>/dev/null || true
	# released with its process: now it attaches
	expect_api 204 PUT /network-interfaces/1 '{"iface_id":"1","host_dev_name":"tap1"}'
	expect_api 204 PUT /network-interfaces/2 '{"iface_id":"2","host_dev_name":"tap0"}'
}

@test "a TAP another user owns: the permission error names the TAP" {
	net_tap tapown user 4711
	net_tap tap0
	# root without capabilities, as the jailer leaves ember: a TAP owned by
	# another uid refuses TUNSETIFF (tun_not_capable)
	API_EXEC_PREFIX="ip netns exec $NS setpriv --inh-caps=-all --bounding-set=-all" api_start
	expect_api 400 PUT /network-interfaces/1 '{"iface_id":"1","host_dev_name":"tapown"}' \
		"${TAP_FAILED}Error while creating ifreq structure: Operation not permitted (os error 1). Invalid TUN/TAP Backend provided by tapown."
	expect_api 200 GET /vm/config '' '"network-interfaces":[]'
	# an unowned TAP is open to any user who may open /dev/net/tun
	expect_api 204 PUT /network-interfaces/1 '{"iface_id":"1","host_dev_name":"tap0"}'
}

@test "a /dev/net/tun ember's uid may not open: the permission error names the TAP" {
	net_tap tap0
	[ "$(stat -c %a /dev/net/tun)" = 600 ] || skip "/dev/net/tun is not 0600 on this host"
	# the seccomp minimality check runs ember through a strace script in its
	# own temporary directory, which another uid cannot run
	head -c 4 "$EMBER" | grep -q ELF || skip "ember is a wrapper script here, not runnable by another uid"
	setpriv --reuid 4711 --regid 4711 --clear-groups test -x "$EMBER" || skip "uid 4711 cannot reach $EMBER"
	NET_PUB=$(mktemp -d /tmp/ember-net-pub.XXXXXX)
	chmod 755 "$NET_PUB"
	printf '%s' '{"network-interfaces":[{"iface_id":"1","host_dev_name":"tap0"}]}' >"$NET_PUB/vm.json"
	chmod 644 "$NET_PUB/vm.json"
	run ip netns exec "$NS" setpriv --reuid 4711 --regid 4711 --clear-groups "$EMBER" --no-api --config-file "$NET_PUB/vm.json"
	assert_equal "$status" 152
	assert_output --partial "${TAP_FAILED}Couldn't open /dev/net/tun: Permission denied (os error 13) (TAP tap0)"
}

@test "the config file's network-interfaces key goes through the same validator" {
	net_tap tap0
	printf '%s' '{"network-interfaces":[{"iface_id":"1","host_dev_name":"nope0"}]}' >"$BATS_TEST_TMPDIR/vm.json"
	run ip netns exec "$NS" "$EMBER" --no-api --config-file "$BATS_TEST_TMPDIR/vm.json"
	assert_equal "$status" 152
	assert_output --partial "network-interfaces: ${TAP_FAILED}Error while creating ifreq structure: No such device (os error 19). Invalid TUN/TAP Backend provided by nope0."
	printf '%s' '{"network-interfaces":[{"iface_id":"1","host_dev_name":"tap0","mtu":10}]}' >"$BATS_TEST_TMPDIR/vm.json"
	run ip netns exec "$NS" "$EMBER" --no-api --config-file "$BATS_TEST_TMPDIR/vm.json"
	assert_equal "$status" 152
	assert_output --partial 'network-interfaces: Network config error: Could not create the network device: MTU 10 is out of range [68, 65535]'
}

@test "probe net against the host kernel: ARP, pings both ways, the checksum on the TAP, every host datagram counted" {
	require_kvm
	net_tap_up tap0
	local token=t$$
	ip netns exec "$NS" python3 "$NET_PEER_PY" listen 9000 3 >"$BATS_TEST_TMPDIR/listen.out" 2>&1 &
	local listener=$!
	ip netns exec "$NS" python3 "$NET_PEER_PY" capture tap0 9000 150 >"$BATS_TEST_TMPDIR/capture.out" 2>&1 &
	local capture=$!
	net_wait_ready "$BATS_TEST_TMPDIR/listen.out"
	net_wait_ready "$BATS_TEST_TMPDIR/capture.out"
	net_probe_config "$BATS_TEST_TMPDIR/vm.json" net "[$FIRECTL_IFACE]" "probe.net_token=$token probe.net_serve_ms=10000"
	net_ember_bg "$BATS_TEST_TMPDIR/vm.json"
	wait_output 'PROBE-INFO net.rx\|PROBE net.tx_csum' 1500
	# the serve window is open: the host pings the guest and sends it datagrams
	run ip netns exec "$NS" ping -c 3 -i 0.2 -W 5 "$NET_GUEST"
	assert_output --partial '3 packets transmitted, 3 received'
	run ip netns exec "$NS" python3 "$NET_PEER_PY" send "$NET_GUEST" 9001 20 100
	assert_success
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	run cat "$OUT"
	assert_line 'PROBE net.arp ok'
	assert_line 'PROBE irq.net ok'
	assert_line 'PROBE net.ping ok'
	assert_line 'PROBE net.tx_csum ok'
	assert_line --regexp '^PROBE-INFO net.tx_csum 0x[0-9a-f]{4}$'
	assert_line 'PROBE-INFO net.rx 20 2000'
	assert_line --partial 'PROBE DONE pass=4 fail=0'
	wait "$capture" || true
	run cat "$BATS_TEST_TMPDIR/capture.out"
	assert_line --regexp '^checksum (complete|partial) 0x[0-9a-f]{4} ok$'
	wait "$listener" || true
	run cat "$BATS_TEST_TMPDIR/listen.out"
	assert_line "datagram 1400 ember-net-$token"
}

@test "rate limiters throttle both directions and lose nothing (metrics)" {
	require_kvm
	net_tap_up tap0
	local m=$BATS_TEST_TMPDIR/metrics.json token=r$$
	ip netns exec "$NS" python3 "$NET_PEER_PY" listen 9000 3 >"$BATS_TEST_TMPDIR/listen.out" 2>&1 &
	local listener=$!
	net_wait_ready "$BATS_TEST_TMPDIR/listen.out"
	net_probe_config "$BATS_TEST_TMPDIR/vm.json" net \
		'[{"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"aa:fc:00:00:00:07","rx_rate_limiter":{"ops":{"size":1,"refill_time":100}},"tx_rate_limiter":{"ops":{"size":2,"refill_time":100},"bandwidth":{"size":3000,"refill_time":100}}}]' \
		"probe.net_token=$token probe.net_serve_ms=10000"
	net_ember_bg "$BATS_TEST_TMPDIR/vm.json" --metrics-path "$m"
	wait_output 'PROBE net.tx_csum' 1500
	# 20 datagrams at once against 1 frame per 100 ms: they wait in the TAP, none dropped
	run ip netns exec "$NS" python3 "$NET_PEER_PY" send "$NET_GUEST" 9001 20 100
	assert_success
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	run cat "$OUT"
	assert_line 'PROBE net.ping ok'
	assert_line 'PROBE net.tx_csum ok'
	assert_line 'PROBE-INFO net.rx 20 2000'
	[ "$(net_metric net_eth0 tx_rate_limiter_throttled "$m")" -gt 0 ] || fail "tx never throttled: $(cat "$m")"
	[ "$(net_metric net_eth0 rx_rate_limiter_throttled "$m")" -gt 0 ] || fail "rx never throttled: $(cat "$m")"
	[ "$(net_metric net_eth0 tx_packets_count "$m")" -ge 9 ] || fail "frames lost: $(cat "$m")"
	[ "$(net_metric net_eth0 rx_packets_count "$m")" -ge 26 ] || fail "frames lost: $(cat "$m")"
	[ "$(net_metric net tx_packets_count "$m")" = "$(net_metric net_eth0 tx_packets_count "$m")" ]
	wait "$listener" || true
	run cat "$BATS_TEST_TMPDIR/listen.out"
	assert_line "datagram 1400 ember-net-$token"
}

@test "hostile-net: every bad chain is returned and counted, the device still works" {
	require_kvm
	net_tap_up tap0
	local m=$BATS_TEST_TMPDIR/metrics.json
	net_probe_config "$BATS_TEST_TMPDIR/vm.json" hostile-net "[$FIRECTL_IFACE]"
	net_ember_bg "$BATS_TEST_TMPDIR/vm.json" --metrics-path "$m"
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	run cat "$OUT"
	assert_line 'PROBE hostile-net.tx ok'
	assert_line 'PROBE hostile-net.rx ok'
	assert_line 'PROBE hostile-net.alive ok'
	[ "$(net_metric net_1 tx_malformed_frames "$m")" -ge 6 ] || fail "$(cat "$m")"
	[ "$(net_metric net_1 rx_fails "$m")" -ge 2 ] || fail "$(cat "$m")"
}

@test "the Go SDK's sequence: PUT before boot, PATCH of the limiters after, Kata's {} removes one" {
	require_kvm
	net_tap tap0
	net_api_start
	expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64}'
	expect_api 204 PUT /network-interfaces/1 "$FIRECTL_IFACE"
	boot_wait_guest
	expect_api 400 PUT /network-interfaces/1 "$FIRECTL_IFACE" 'The requested operation is not supported after starting the microVM.'
	expect_api 204 PATCH /network-interfaces/1 '{"iface_id":"1","rx_rate_limiter":{"bandwidth":{"size":10000,"refill_time":100}},"tx_rate_limiter":{"ops":{"size":100,"refill_time":1000}}}'
	expect_api 200 GET /vm/config '' '"rx_rate_limiter":{"bandwidth":{"size":10000,"one_time_burst":null,"refill_time":100},"ops":null},"tx_rate_limiter":{"bandwidth":null,"ops":{"size":100,"one_time_burst":null,"refill_time":1000}}'
	# an absent limiter stays; a size of 0 switches a bucket off
	expect_api 204 PATCH /network-interfaces/1 '{"iface_id":"1","tx_rate_limiter":{"ops":{"size":0,"refill_time":0}}}'
	expect_api 200 GET /vm/config '' '"rx_rate_limiter":{"bandwidth":{"size":10000'
	expect_api 200 GET /vm/config '' '"tx_rate_limiter":{"bandwidth":null,"ops":{"size":0,'
	expect_api 204 PATCH /network-interfaces/1 '{"iface_id":"1","rx_rate_limiter":{}}'
	expect_api 200 GET /vm/config '' '"rx_rate_limiter":null'
	expect_api 400 PATCH /network-interfaces/2 '{"iface_id":"2"}' 'no network interface with id `2` exists'
	expect_api 400 PATCH /network-interfaces/1 '{"iface_id":"1","host_dev_name":"tap0"}' 'unknown field `host_dev_name`'
	# a refused PATCH changes nothing, not even its valid half
	expect_api 400 PATCH /network-interfaces/1 '{"iface_id":"1","tx_rate_limiter":{"ops":{"size":5,"refill_time":10}},"rx_rate_limiter":{"ops":{"size":1}}}' 'missing field `refill_time`'
	expect_api 200 GET /vm/config '' '"rx_rate_limiter":null,"tx_rate_limiter":{"bandwidth":null,"ops":{"size":0,'
	expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
	api_wait_exit
}

@test "interfaces share the 17 virtio slots with drives (VMGenID and VMClock take the last two GSIs): past them InstanceStart fails" {
	require_kvm
	local drives="" i
	for i in $(seq 14); do
		truncate -s 4096 "$BATS_TEST_TMPDIR/d$i.img"
		drives="$drives${drives:+,}{\"drive_id\":\"d$i\",\"path_on_host\":\"$BATS_TEST_TMPDIR/d$i.img\",\"is_root_device\":false}"
	done
	for i in 0 1 2 3; do net_tap "tap$i"; done
	local ifaces='[{"iface_id":"n0","host_dev_name":"tap0"},{"iface_id":"n1","host_dev_name":"tap1"},{"iface_id":"n2","host_dev_name":"tap2"},{"iface_id":"n3","host_dev_name":"tap3"}]'
	net_probe_config "$BATS_TEST_TMPDIR/vm.json" boot "$ifaces"
	python3 - "$BATS_TEST_TMPDIR/vm.json" "[$drives]" <<-'PY'
	import json, sys
	c = json.load(open(sys.argv[1])); c["drives"] = json.loads(sys.argv[2]); json.dump(c, open(sys.argv[1], "w"))
	PY
	run ip netns exec "$NS" timeout 60 "$EMBER" --no-api --config-file "$BATS_TEST_TMPDIR/vm.json"
	assert_equal "$status" 1
	assert_output --partial 'Could not allocate GSI: The requested resource is not available.'
}
