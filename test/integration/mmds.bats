#!/usr/bin/env bats
# MMDS: PUT /mmds/config and the `mmds-config` config key (Firecracker's
# checks, order and texts), and the guest reading the store through the
# in-VMM stack. Each test runs in its own network namespace with its own
# TAPs (net-helpers.bash); teardown deletes them whatever happened.

load helpers
load api-helpers
load cli-helpers
load net-helpers

LINK_LOCAL='MMMDS config error: The MMDS IPv4 address is not link local.'
EMPTY='MMMDS config error: The list of network interface IDs that allow forwarding MMDS requests is empty.'
UNKNOWN='MMMDS config error: The list of network interface IDs provided contains at least one ID that does not correspond to any existing network interface.'
# The Go SDK's body when an interface allows MMDS (firectl --metadata).
GO_SDK='{"network_interfaces":["1"],"version":"V1"}'

setup() {
	require_built_ember
	net_setup
}

teardown() {
	net_teardown
}

# mmds_ifaces N: TAPs tap0..tapN-1 in $NS, and ember (API) holding them as
# interfaces "1".."N".
mmds_ifaces() {
	net_api_start "${@:2}"
	for i in $(seq "$1"); do
		net_tap "tap$((i - 1))"
		expect_api 204 PUT "/network-interfaces/$i" "{\"iface_id\":\"$i\",\"host_dev_name\":\"tap$((i - 1))\"}"
	done
}

# has_deprecation: the last curl -i answer in $BATS_TEST_TMPDIR/resp carries the header.
put_config_headers() {
	curl -s -S --max-time 20 -i --unix-socket "$SOCK" -X PUT -H 'Content-Type: application/json' \
		--data-binary "$1" http://localhost/mmds/config >"$BATS_TEST_TMPDIR/resp"
}

@test "PUT /mmds/config: Firecracker's checks in its order and its texts" {
	net_api_start
	# no interface yet: every id is unknown
	expect_api 400 PUT /mmds/config '{"network_interfaces":["1"]}' "$UNKNOWN"
	net_tap tap0
	expect_api 204 PUT /network-interfaces/1 '{"iface_id":"1","host_dev_name":"tap0"}'
	# the address first, then the empty list, then the unknown id
	expect_api 400 PUT /mmds/config '{"network_interfaces":["nope"],"ipv4_address":"1.1.1.1"}' "$LINK_LOCAL"
	expect_api 400 PUT /mmds/config '{"network_interfaces":[],"ipv4_address":"169.254.0.7"}' "$LINK_LOCAL"
	expect_api 400 PUT /mmds/config '{"network_interfaces":["1"],"ipv4_address":"169.254.255.1"}' "$LINK_LOCAL"
	expect_api 400 PUT /mmds/config '{"network_interfaces":[]}' "$EMPTY"
	expect_api 400 PUT /mmds/config '{"network_interfaces":["1","foo"]}' "$UNKNOWN"
	# deserialisation: serde's words, the field named
	expect_api 400 PUT /mmds/config '{"network_interfaces":["1"],"version":"foo"}' \
		'An error occurred when deserializing the json body of a request: unknown variant `foo`, expected `V1` or `V2`'
	expect_api 400 PUT /mmds/config '{"network_interfaces":["1"],"allow":true}' \
		'unknown field `allow`, expected one of `version`, `network_interfaces`, `ipv4_address`, `imds_compat`'
	expect_api 400 PUT /mmds/config '{"version":"V2"}' 'missing field `network_interfaces`'
	expect_api 400 PUT /mmds/config '{"network_interfaces":["1"],"ipv4_address":""}' 'invalid IPv4 address syntax'
	expect_api 400 PUT /mmds/config '{"network_interfaces":["1"],"imds_compat":"yes"}' 'expected a boolean for field `imds_compat`'
	expect_api 400 PUT /mmds/config '{"network_interfaces":"1"}' 'expected a sequence'
	expect_api 400 PUT /mmds/foo '{"network_interfaces":["1"]}' 'Invalid request method and/or path'
	# nothing of the refused ones stuck
	expect_api 200 GET /vm/config '' '"mmds-config":null'
	# the bounds of 169.254.1.0-169.254.254.255 are accepted
	expect_api 204 PUT /mmds/config '{"network_interfaces":["1"],"ipv4_address":"169.254.254.255"}'
	expect_api 204 PUT /mmds/config '{"network_interfaces":["1"],"ipv4_address":"169.254.1.0"}'
}

@test "a re-PUT replaces the config (unlisted interfaces lose MMDS), a refused one changes nothing; GET /vm/config shows it" {
	mmds_ifaces 2
	expect_api 204 PUT /mmds/config "$GO_SDK"
	expect_api 200 GET /vm/config '' '"mmds-config":{"version":"V1","network_interfaces":["1"],"ipv4_address":"169.254.169.254","imds_compat":false}'
	expect_api 204 PUT /mmds/config '{"version":"V2","network_interfaces":["2","1"],"ipv4_address":"169.254.170.2","imds_compat":true}'
	expect_api 200 GET /vm/config '' '"mmds-config":{"version":"V2","network_interfaces":["1","2"],"ipv4_address":"169.254.170.2","imds_compat":true}'
	expect_api 204 PUT /mmds/config '{"version":"V2","network_interfaces":["2"]}'
	expect_api 200 GET /vm/config '' '"mmds-config":{"version":"V2","network_interfaces":["2"],"ipv4_address":"169.254.169.254","imds_compat":false}'
	expect_api 400 PUT /mmds/config '{"version":"V1","network_interfaces":["1","3"],"imds_compat":true}' "$UNKNOWN"
	expect_api 400 PUT /mmds/config '{"version":"V1","network_interfaces":["1"],"ipv4_address":"10.0.0.1"}' "$LINK_LOCAL"
	expect_api 200 GET /vm/config '' '"mmds-config":{"version":"V2","network_interfaces":["2"],"ipv4_address":"169.254.169.254","imds_compat":false}'
	# GET /vm/config's answer matches doc/api.yaml, when its validator is installed
	if [ -d "$EMBER_SRC/tools/npm/node_modules/@apidevtools/swagger-parser" ]; then
		curl -s --unix-socket "$SOCK" http://localhost/vm/config >"$BATS_TEST_TMPDIR/vm-config.json"
		run node "$EMBER_SRC/test/integration/api-openapi.js" "$EMBER_SRC/doc/api.yaml" "/vm/config=$BATS_TEST_TMPDIR/vm-config.json"
		assert_success
	fi
}

@test "V1, the default included, answers with Deprecation and counts deprecated_api; V2 does not" {
	local m=$BATS_TEST_TMPDIR/metrics.json
	mmds_ifaces 1 --metrics-path "$m"
	put_config_headers '{"network_interfaces":["1"]}'
	run grep -c -i '^Deprecation: true' "$BATS_TEST_TMPDIR/resp"
	assert_output 1
	grep -q '^HTTP/1.1 204 ' "$BATS_TEST_TMPDIR/resp"
	put_config_headers "$GO_SDK"
	run grep -c -i '^Deprecation: true' "$BATS_TEST_TMPDIR/resp"
	assert_output 1
	put_config_headers '{"network_interfaces":["1"],"version":"V2"}'
	run grep -c -i '^Deprecation' "$BATS_TEST_TMPDIR/resp"
	assert_output 0
	grep -q '^HTTP/1.1 204 ' "$BATS_TEST_TMPDIR/resp"
	# a body that does not deserialise is no V1 call
	put_config_headers '{"network_interfaces":["1"],"version":"V9"}'
	run grep -c -i '^Deprecation' "$BATS_TEST_TMPDIR/resp"
	assert_output 0
	# Firecracker's test: V1 twice sums to 2 (the line written at exit)
	kill -TERM "$EMBER_PID"
	api_wait_exit
	run net_metric deprecated_api deprecated_http_api_calls "$m"
	assert_output 2
	run net_metric put_api_requests mmds_count "$m"
	assert_output 4
	run net_metric put_api_requests mmds_fails "$m"
	assert_output 1
}

@test "after boot: PUT /mmds/config is refused (V1 still flagged and counted), the store stays writable" {
	require_kvm
	mmds_ifaces 1
	expect_api 204 PUT /mmds '{"a":"1"}'
	boot_wait_guest
	put_config_headers "$GO_SDK"
	grep -q '^HTTP/1.1 400 ' "$BATS_TEST_TMPDIR/resp"
	grep -q 'The requested operation is not supported after starting the microVM.' "$BATS_TEST_TMPDIR/resp"
	grep -q -i '^Deprecation: true' "$BATS_TEST_TMPDIR/resp"
	expect_api 400 PUT /mmds/config '{"network_interfaces":["1"],"version":"V2"}' 'after starting'
	expect_api 204 PATCH /mmds '{"b":{"c":"2"}}'
	expect_api 200 GET /mmds '' '{"a":"1","b":{"c":"2"}}'
	expect_api 204 PUT /mmds '{"z":"3"}'
	expect_api 200 GET /mmds '' '{"z":"3"}'
	expect_api 200 GET /vm/config '' '"mmds-config":null'
}

# mmds_config_file FILE MMDS_JSON [IFACES_JSON]: a probe config with one
# interface on tap0 (or IFACES_JSON) and that mmds-config, MMDS first in the file.
mmds_config_file() {
	local ifaces=${3:-'[{"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"06:00:ac:10:00:02"}]'}
	write_config "$1" "{
	  \"mmds-config\": $2,
	  \"boot-source\": { \"kernel_image_path\": \"$PROBE\", \"boot_args\": \"console=ttyS0 probe=boot\" },
	  \"machine-config\": { \"vcpu_count\": 1, \"mem_size_mib\": 64 },
	  \"network-interfaces\": $ifaces
	}"
}

# mmds_config_refused MMDS_JSON TEXT: ember on a config file with that
# mmds-config exits 152 saying `mmds-config: TEXT`.
mmds_config_refused() {
	mmds_config_file "$BATS_TEST_TMPDIR/vm.json" "$1"
	run ip netns exec "$NS" timeout --kill-after=5 30 "$EMBER" --no-api --config-file "$BATS_TEST_TMPDIR/vm.json"
	assert_clean_exit 152
	assert_output --partial "mmds-config: $2"
}

@test "the mmds-config key: the same checks, exit 152 naming the key and the reason" {
	net_tap tap0
	local f=$BATS_TEST_TMPDIR/vm.json
	mmds_config_refused '{"network_interfaces":["eth0"],"ipv4_address":"169.254.0.1"}' \
		'The MMDS IPv4 address is not link local.'
	mmds_config_refused '{"network_interfaces":[]}' \
		'The list of network interface IDs that allow forwarding MMDS requests is empty.'
	mmds_config_refused '{"network_interfaces":["eth1"],"version":"V2"}' \
		'The list of network interface IDs provided contains at least one ID that does not correspond to any existing network interface.'
	mmds_config_refused '{"network_interfaces":["eth0"],"version":"V3"}' \
		'An error occurred when deserializing the json body of a request: unknown variant `V3`, expected `V1` or `V2`.'
	mmds_config_refused '{"network_interfaces":["eth0"],"token_ttl":1}' \
		'An error occurred when deserializing the json body of a request: unknown field `token_ttl`'
	# null is "not configured", as GET /vm/config prints it: the probe boots
	mmds_config_file "$f" 'null'
	run ip netns exec "$NS" timeout --kill-after=5 60 "$EMBER" --no-api --config-file "$f"
	assert_clean_exit 0
	assert_output --partial 'PROBE DONE pass='
}

