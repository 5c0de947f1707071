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

@test "InstanceStart with an interface fails clearly while this build has no virtio-net device" {
	require_kvm
	net_tap tap0
	printf '%s' "{\"boot-source\":{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"console=ttyS0 probe=boot\"},\"network-interfaces\":[$FIRECTL_IFACE]}" >"$BATS_TEST_TMPDIR/vm.json"
	run ip netns exec "$NS" timeout 60 "$EMBER" --no-api --config-file "$BATS_TEST_TMPDIR/vm.json"
	assert_equal "$status" 1
	assert_output --partial 'network devices'
	refute_output --partial 'PROBE DONE'
}
