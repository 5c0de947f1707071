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


# ---------------------------------------------------------------------------
# The guest reads the store: the probe's `mmds` scenario through ember's stack.
# A packet socket on every TAP counts frames to or from the MMDS address or
# MAC (mmds-peer.py count): none may reach a TAP whose interface has MMDS.

MMDS_IP=169.254.169.254

# mmds_count_start MMDS_IP IFACE...: the counter on those TAPs, in $NS
# (net_teardown kills it with every process in the namespace).
mmds_count_start() {
	COUNT_OUT=$BATS_TEST_TMPDIR/count.txt
	ip netns exec "$NS" python3 "$BATS_TEST_DIRNAME/mmds-peer.py" count "$1" "$COUNT_OUT" "${@:2}" \
		>"$BATS_TEST_TMPDIR/count.log" 2>&1 &
	COUNT_PID=$!
	net_wait_ready "$BATS_TEST_TMPDIR/count.log"
}

# mmds_count_stop: stops the counter; $output holds its lines (not in `run`:
# the counter is a child of this shell).
mmds_count_stop() {
	kill -TERM "$COUNT_PID"
	wait "$COUNT_PID" || fail "the frame counter failed: $(cat "$BATS_TEST_TMPDIR/count.log")"
	output=$(cat "$COUNT_OUT")
	mapfile -t lines <"$COUNT_OUT"
}

# mmds_taps N: TAPs tap0..tapN-1 in $NS, up, without addresses.
mmds_taps() {
	for i in $(seq 0 $(($1 - 1))); do
		net_tap "tap$i"
		ip -n "$NS" link set "tap$i" up
	done
}

# mmds_api_vm N MMDS_CONFIG [ember args]: ember (API) in $NS with interfaces
# "1".."N" on tap0..tapN-1 and that MMDS config.
mmds_api_vm() {
	local n=$1 cfg=$2
	shift 2
	net_api_start "$@"
	for i in $(seq "$n"); do
		expect_api 204 PUT "/network-interfaces/$i" \
			"{\"iface_id\":\"$i\",\"host_dev_name\":\"tap$((i - 1))\",\"guest_mac\":\"06:00:0a:4d:00:0$i\"}"
	done
	[ -z "$cfg" ] || expect_api 204 PUT /mmds/config "$cfg"
}

# mmds_boot SCENARIO_ARGS...: boots the probe with those arguments and waits
# for it to end (it resets the VM: ember exits 0).
mmds_boot() {
	boot_probe "probe.net_ip=$NET_GUEST" "$@"
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
}

# mmds_line LINE: the guest printed exactly this line.
mmds_line() {
	grep -a -F -x -q -- "$1" "$OUT" || fail "no line '$1' in: $(grep -a PROBE "$OUT" | cut -c1-300)"
}

# mmds_escaped TEXT: TEXT as the probe prints a body (\ as \\, newline as \n).
mmds_escaped() {
	python3 -c 'import sys; print(sys.argv[1].replace("\\", "\\\\").replace("\n", "\\n"))' "$1"
}

mmds_done_ok() {
	mmds_line 'PROBE mmds.done ok'
	run grep -a -c 'PROBE .* FAIL' "$OUT"
	assert_output 0
}

# A store with every shape the guest reads: sorted listing, nested object,
# array, escapes, a 3000-byte value (several TCP segments).
mmds_store() {
	python3 -c 'import json
big = "".join(chr(65 + i % 26) for i in range(3000))
print(json.dumps({"latest": {"meta-data": {"ami-id": "ami-12345", "tags": {"env": "prod", "app": "web"},
    "list": ["a", "b"], "esc": "one\ntwo\\three \"q\"", "big": big}}}))'
}

@test "V1 (the Go SDK's config): host PUT and PATCH read by the guest in IMDS form; no MMDS frame reaches the TAP" {
	require_kvm
	mmds_taps 1
	mmds_count_start "$MMDS_IP" tap0
	mmds_api_vm 1 "$GO_SDK"
	expect_api 204 PUT /mmds "$(mmds_store)"
	expect_api 204 PATCH /mmds '{"latest":{"meta-data":{"hostname":"vm1","ami-id":null}}}'
	mmds_boot probe=mmds probe.mmds_get=/latest/meta-data/ probe.mmds_get=/latest/meta-data/tags/ \
		probe.mmds_get=/latest/meta-data/list/1 probe.mmds_get=/latest/meta-data/list \
		probe.mmds_get=/latest/meta-data/esc probe.mmds_get=//latest///meta-data//hostname \
		probe.mmds_get=/latest/meta-data/ami-id probe.mmds_get=/latest/meta-data/big
	mmds_line 'PROBE-INFO mmds GET /latest/meta-data/ -> 200 big\nesc\nhostname\nlist\ntags/'
	mmds_line 'PROBE-INFO mmds GET /latest/meta-data/tags/ -> 200 app\nenv'
	mmds_line 'PROBE-INFO mmds GET /latest/meta-data/list/1 -> 200 b'
	mmds_line 'PROBE-INFO mmds GET /latest/meta-data/list -> 501 Cannot retrieve value. The value has an unsupported type.'
	mmds_line "PROBE-INFO mmds GET /latest/meta-data/esc -> 200 $(mmds_escaped $'one\ntwo\\three "q"')"
	mmds_line 'PROBE-INFO mmds GET //latest///meta-data//hostname -> 200 vm1'
	mmds_line 'PROBE-INFO mmds GET /latest/meta-data/ami-id -> 404 Resource not found: /latest/meta-data/ami-id.'
	mmds_line "PROBE-INFO mmds GET /latest/meta-data/big -> 200 $(python3 -c 'print("".join(chr(65 + i % 26) for i in range(3000)))')"
	mmds_done_ok
	mmds_count_stop
	assert_output --regexp '^tap0 mmds=0 other=[0-9]+$'
}

@test "V1 with Accept: application/json: JSON text of each value" {
	require_kvm
	mmds_taps 1
	mmds_api_vm 1 "$GO_SDK"
	expect_api 204 PUT /mmds "$(mmds_store)"
	mmds_boot probe=mmds probe.mmds_accept=json probe.mmds_get=/latest/meta-data/tags \
		probe.mmds_get=/latest/meta-data/list probe.mmds_get=/latest/meta-data/ami-id \
		probe.mmds_get=/latest/meta-data/esc probe.mmds_get=/latest/nothing
	mmds_line 'PROBE-INFO mmds GET /latest/meta-data/tags -> 200 {"app":"web","env":"prod"}'
	mmds_line 'PROBE-INFO mmds GET /latest/meta-data/list -> 200 ["a","b"]'
	mmds_line 'PROBE-INFO mmds GET /latest/meta-data/ami-id -> 200 "ami-12345"'
	mmds_line "PROBE-INFO mmds GET /latest/meta-data/esc -> 200 $(mmds_escaped '"one\ntwo\\three \"q\""')"
	mmds_line 'PROBE-INFO mmds GET /latest/nothing -> 404 Resource not found: /latest/nothing.'
	mmds_done_ok
}

@test "V2: token, GETs with it, every hostile request, 40 connections; metrics" {
	require_kvm
	local m=$BATS_TEST_TMPDIR/metrics.json
	mmds_taps 1
	mmds_count_start "$MMDS_IP" tap0
	mmds_api_vm 1 '{"network_interfaces":["1"],"version":"V2"}' --metrics-path "$m"
	expect_api 204 PUT /mmds '{"latest":{"meta-data":{"hostname":"vm2"}}}'
	mmds_boot probe=mmds probe.mmds_v2=60 probe.mmds_get=/latest/meta-data/hostname probe.mmds_bad=1
	mmds_line 'PROBE-INFO mmds PUT /latest/api/token -> 200 48'
	mmds_line 'PROBE-INFO mmds GET /latest/meta-data/hostname -> 200 vm2'
	mmds_line 'PROBE-INFO mmds GET /latest/meta-data/hostname (no token) -> 401 No MMDS token provided. Use `X-metadata-token` or `X-aws-ec2-metadata-token` header to specify the session token.'
	mmds_line 'PROBE-INFO mmds GET /latest/meta-data/hostname (bad token) -> 401 MMDS token not valid.'
	mmds_line 'PROBE-INFO mmds DELETE /latest/meta-data/hostname -> 405 Not allowed HTTP method.'
	mmds_line 'PROBE-INFO mmds GET /latest/meta-data/hostname (3000-byte request) -> 000 reset'
	mmds_line 'PROBE-INFO mmds GET /latest/meta-data/hostname (bad checksum first) -> 200 vm2'
	mmds_line 'PROBE-INFO mmds GET /latest/meta-data/hostname (RST mid-response) -> 000 reset sent'
	# 40 at once: each answered or reset (Firecracker keeps 30, resetting the oldest)
	run grep -a -c -E '^PROBE-INFO mmds GET / \(parallel [0-9]+\) -> (200 latest/|000 reset$)' "$OUT"
	assert_output 40
	mmds_line 'PROBE mmds.alive ok'
	mmds_done_ok
	mmds_count_stop
	assert_output --regexp '^tap0 mmds=0 other=[0-9]+$'
	for f in rx_accepted tx_frames tx_bytes; do
		[ "$(net_metric mmds "$f" "$m")" -ge 1 ] || fail "mmds.$f is $(net_metric mmds "$f" "$m")"
	done
	[ "$(net_metric mmds connections_created "$m")" -ge 30 ] ||
		fail "mmds.connections_created is $(net_metric mmds connections_created "$m")"
}

@test "V2: a refused TTL is an answer, and the GETs after it lack a token" {
	require_kvm
	mmds_taps 1
	mmds_api_vm 1 '{"network_interfaces":["1"],"version":"V2"}'
	expect_api 204 PUT /mmds '{"a":"b"}'
	mmds_boot probe=mmds probe.mmds_v2=21601 probe.mmds_get=/a
	local text='Invalid time to live value provided for token: 21601. Please provide a value between 1 and 21600.'
	mmds_line "PROBE-INFO mmds PUT /latest/api/token -> 400 ${#text}"
	mmds_line 'PROBE-INFO mmds GET /a -> 401 No MMDS token provided. Use `X-metadata-token` or `X-aws-ec2-metadata-token` header to specify the session token.'
	mmds_done_ok
}

@test "the store limit: 413, and the guest still reads the old store" {
	require_kvm
	mmds_taps 1
	mmds_api_vm 1 "$GO_SDK" --mmds-size-limit 64
	expect_api 204 PUT /mmds '{"k":"old"}'
	expect_api 413 PATCH /mmds "{\"k\":\"$(printf '%080d' 0)\"}" "The MMDS patch request doesn't fit."
	expect_api 413 PUT /mmds "{\"k\":\"$(printf '%080d' 0)\"}" "The MMDS patch request doesn't fit."
	mmds_boot probe=mmds probe.mmds_get=/k
	mmds_line 'PROBE-INFO mmds GET /k -> 200 old'
	mmds_done_ok
}

@test "after boot: PUT /mmds/config 400, PATCH /mmds 204, and the guest reads the patched store next" {
	require_kvm
	mmds_taps 1
	mmds_api_vm 1 '{"network_interfaces":["1"],"version":"V2"}'
	expect_api 204 PUT /mmds '{"h":"before"}'
	boot_probe probe=wait,mmds "probe.net_ip=$NET_GUEST" probe.mmds_v2=5 probe.mmds_get=/h
	wait_guest_running
	expect_api 400 PUT /mmds/config '{"network_interfaces":["1"],"version":"V2"}' \
		'The requested operation is not supported after starting the microVM.'
	expect_api 204 PATCH /mmds '{"h":"after"}'
	expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	mmds_line 'PROBE-INFO mmds GET /h -> 200 after'
	mmds_done_ok
}

@test "imds_compat: IMDS text even when the guest asks for JSON" {
	require_kvm
	mmds_taps 1
	mmds_api_vm 1 '{"network_interfaces":["1"],"imds_compat":true}'
	expect_api 204 PUT /mmds '{"tags":{"env":"prod","app":"web"},"name":"vm1"}'
	mmds_boot probe=mmds probe.mmds_accept=json probe.mmds_get=/tags probe.mmds_get=/name
	mmds_line 'PROBE-INFO mmds GET /tags -> 200 app\nenv'
	mmds_line 'PROBE-INFO mmds GET /name -> 200 vm1'
	mmds_done_ok
}

@test "a non-default ipv4_address is reached at its address, and its frames stay off the TAP" {
	require_kvm
	mmds_taps 1
	mmds_count_start 169.254.170.2 tap0
	mmds_api_vm 1 '{"network_interfaces":["1"],"version":"V2","ipv4_address":"169.254.170.2"}'
	expect_api 204 PUT /mmds '{"name":"vm1"}'
	mmds_boot probe=mmds probe.mmds_ip=169.254.170.2 probe.mmds_v2=60 probe.mmds_get=/name
	mmds_line 'PROBE-INFO mmds GET /name -> 200 vm1'
	mmds_done_ok
	mmds_count_stop
	assert_output --regexp '^tap0 mmds=0 other=[0-9]+$'
}

@test "with MMDS on, probe=net still gets net.arp and net.ping from the host" {
	require_kvm
	net_tap_up tap0
	mmds_api_vm 1 '{"network_interfaces":["1"],"version":"V2"}'
	expect_api 204 PUT /mmds '{"name":"vm1"}'
	mmds_boot probe=net,mmds probe.net_peer=$NET_PEER probe.mmds_v2=60 probe.mmds_get=/name
	mmds_line 'PROBE net.arp ok'
	mmds_line 'PROBE net.ping ok'
	mmds_line 'PROBE-INFO mmds GET /name -> 200 vm1'
	mmds_line 'PROBE mmds.done ok'
}

@test "two interfaces, MMDS on the second: the first passes 169.254.169.254 to its TAP, where a host server answers" {
	require_kvm
	mmds_taps 2
	ip -n "$NS" addr add "$MMDS_IP/32" dev tap0
	ip -n "$NS" route add "$NET_GUEST/32" dev tap0
	ip netns exec "$NS" python3 "$BATS_TEST_DIRNAME/mmds-peer.py" serve "$MMDS_IP" >"$BATS_TEST_TMPDIR/peer.log" 2>&1 &
	net_wait_ready "$BATS_TEST_TMPDIR/peer.log"
	mmds_count_start "$MMDS_IP" tap0 tap1
	mmds_api_vm 2 '{"network_interfaces":["2"],"version":"V1"}'
	expect_api 204 PUT /mmds '{"name":"from-ember"}'
	mmds_boot probe=mmds probe.mmds_get=/name
	mmds_line 'PROBE-INFO mmds GET /name -> 200 host-peer /name'
	grep -q '^request GET /name$' "$BATS_TEST_TMPDIR/peer.log"
	mmds_count_stop
	assert_line --regexp '^tap0 mmds=[1-9][0-9]* other=[0-9]+$'
	assert_line --regexp '^tap1 mmds=0 other=[0-9]+$'
}

# flintlock writes the whole VM as a config file: drives with cache_type,
# logger, metrics, its mmds-config, and the store from --metadata.
mmds_flintlock_config() {
	local mmds=$1 args=$2
	truncate -s 1M "$BATS_TEST_TMPDIR/root.img"
	is_pvm_host && args="$args probe.pvm=1"
	write_config "$BATS_TEST_TMPDIR/vm.json" "{
	  \"boot-source\": { \"kernel_image_path\": \"$PROBE\",
	    \"boot_args\": \"console=ttyS0 reboot=k panic=1 pci=off probe=mmds probe.net_ip=$NET_GUEST $args\" },
	  \"drives\": [ { \"drive_id\": \"root\", \"path_on_host\": \"$BATS_TEST_TMPDIR/root.img\", \"is_root_device\": true,
	    \"is_read_only\": false, \"cache_type\": \"Unsafe\" } ],
	  \"machine-config\": { \"vcpu_count\": 1, \"mem_size_mib\": 64, \"smt\": true, \"track_dirty_pages\": false },
	  \"logger\": { \"log_path\": \"$BATS_TEST_TMPDIR/fc.log\", \"level\": \"Debug\", \"show_level\": true, \"show_log_origin\": true },
	  \"metrics\": { \"metrics_path\": \"$BATS_TEST_TMPDIR/metrics.json\" },
	  \"mmds-config\": $mmds,
	  \"network-interfaces\": [ { \"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"06:00:0a:4d:00:02\" } ]
	}"
	printf '%s\n' '{"latest":{"meta-data":{"instance-id":"ns/vm1","local-hostname":"vm1"},"user-data":"#cloud-config\nhostname: vm1\n"}}' \
		>"$BATS_TEST_TMPDIR/metadata.json"
}

@test "flintlock's config file: mmds-config V1 and V2 with --metadata" {
	require_kvm
	mmds_taps 1
	for v in V1 V2; do
		local extra=""
		[ "$v" = V2 ] && extra="probe.mmds_v2=60"
		mmds_flintlock_config "{\"version\":\"$v\",\"network_interfaces\":[\"eth0\"]}" \
			"probe.mmds_get=/latest/meta-data/instance-id probe.mmds_get=/latest/user-data $extra"
		run ip netns exec "$NS" timeout --kill-after=5 120 "$EMBER" --no-api --id "mmds-bats-$$" \
			--config-file "$BATS_TEST_TMPDIR/vm.json" --metadata "$BATS_TEST_TMPDIR/metadata.json"
		assert_clean_exit 0
		OUT=$BATS_TEST_TMPDIR/out-$v
		printf '%s\n' "$output" >"$OUT"
		mmds_line 'PROBE-INFO mmds GET /latest/meta-data/instance-id -> 200 ns/vm1'
		mmds_line 'PROBE-INFO mmds GET /latest/user-data -> 200 #cloud-config\nhostname: vm1\n'
		mmds_done_ok
	done
}
