#!/usr/bin/env bats
# vsock: PUT /vsock and the `vsock` config key, driven as Kata Containers,
# firecracker-containerd and flintlock drive them. Each test binds its
# sockets under its own $BATS_TEST_TMPDIR, so concurrent runs never meet.
#
# This build binds the host-side socket at PUT and validates everything; the
# virtio-vsock device itself is not built yet, so InstanceStart with a vsock
# device refuses with a clear error (tested below).

load helpers
load api-helpers

BIND_FAILED='Cannot create backend for vsock device: Error binding to the host-side Unix socket: '

teardown() {
	api_stop
}

# is_listening PATH: a unix stream socket at PATH accepts a connection.
is_listening() {
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])' "$1"
}

@test "Kata's PUT /vsock binds the socket, is marked deprecated for vsock_id, and GET /vm/config shows it" {
	api_start
	local v=$BATS_TEST_TMPDIR/kata.hvsock
	run curl -s -i --max-time 20 --unix-socket "$SOCK" -X PUT -H 'Content-Type: application/json' \
		-d "{\"guest_cid\":3,\"uds_path\":\"$v\",\"vsock_id\":\"root\"}" http://localhost/vsock
	assert_line --partial 'HTTP/1.1 204 '
	assert_line --partial 'Deprecation: true'
	[ -S "$v" ] || fail "no socket at $v"
	is_listening "$v"
	expect_api 200 GET /vm/config '' "\"vsock\":{\"guest_cid\":3,\"uds_path\":\"$v\"}"
	# firecracker-containerd's and flintlock's body: no vsock_id, no Deprecation header
	run curl -s -i --max-time 20 --unix-socket "$SOCK" -X PUT -H 'Content-Type: application/json' \
		-d "{\"guest_cid\":52,\"uds_path\":\"$v\"}" http://localhost/vsock
	assert_line --partial 'HTTP/1.1 204 '
	refute_line --partial 'Deprecation'
	expect_api 200 GET /vm/config '' "\"vsock\":{\"guest_cid\":52,\"uds_path\":\"$v\"}"
	# the answer matches doc/api.yaml, when its validator is installed
	if [ -d "$EMBER_SRC/tools/npm/node_modules" ]; then
		printf '%s' "$body" >"$BATS_TEST_TMPDIR/vm-config.json"
		run node "$EMBER_SRC/test/integration/api-openapi.js" "$EMBER_SRC/doc/api.yaml" "/vm/config=$BATS_TEST_TMPDIR/vm-config.json"
		assert_success
	fi
}

@test "each bad input is refused naming its field, and nothing is bound" {
	api_start
	local d=$BATS_TEST_TMPDIR
	expect_api 400 PUT /vsock "{\"uds_path\":\"$d/a\"}" 'missing field `guest_cid`'
	expect_api 400 PUT /vsock '{"guest_cid":3}' 'missing field `uds_path`'
	expect_api 400 PUT /vsock "{\"guest_cid\":\"3\",\"uds_path\":\"$d/a\"}" 'expected u32 for field `guest_cid`'
	expect_api 400 PUT /vsock "{\"guest_cid\":4294967296,\"uds_path\":\"$d/a\"}" 'expected u32 for field `guest_cid`'
	expect_api 400 PUT /vsock "{\"guest_cid\":2,\"uds_path\":\"$d/a\"}" 'Invalid guest_cid 2: it must be in [3, 4294967294]'
	expect_api 400 PUT /vsock "{\"guest_cid\":4294967295,\"uds_path\":\"$d/a\"}" 'Invalid guest_cid 4294967295'
	expect_api 400 PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$d/a\",\"x\":1}" 'unknown field `x`'
	expect_api 400 PUT /vsock '{"guest_cid":3,"uds_path":""}' 'Invalid uds_path'
	expect_api 400 PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$d/no/such/dir/v.sock\"}" \
		"${BIND_FAILED}$d/no/such/dir/v.sock: No such file or directory (os error 2)"
	: >"$d/file"
	expect_api 400 PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$d/file\"}" \
		"${BIND_FAILED}$d/file: Address already in use (os error 98)"
	[ -f "$d/file" ] || fail "the existing file was removed"
	[ ! -e "$d/a" ] || fail "a refused PUT bound $d/a"
	expect_api 200 GET /vm/config '' '"vsock":null'
}

@test "a second PUT replaces the device and its socket; a refused one leaves the first working" {
	api_start
	local a=$BATS_TEST_TMPDIR/a.sock b=$BATS_TEST_TMPDIR/b.sock
	expect_api 204 PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$a\"}"
	expect_api 204 PUT /vsock "{\"guest_cid\":4,\"uds_path\":\"$b\"}"
	[ ! -e "$a" ] || fail "the replaced socket $a is still there"
	is_listening "$b"
	: >"$BATS_TEST_TMPDIR/taken"
	expect_api 400 PUT /vsock "{\"guest_cid\":5,\"uds_path\":\"$BATS_TEST_TMPDIR/taken\"}" 'Address already in use'
	is_listening "$b"
	expect_api 200 GET /vm/config '' "\"vsock\":{\"guest_cid\":4,\"uds_path\":\"$b\"}"
	# the same path again keeps its socket
	expect_api 204 PUT /vsock "{\"guest_cid\":6,\"uds_path\":\"$b\"}"
	is_listening "$b"
}

@test "InstanceStart with a vsock device says this build does not provide it yet" {
	api_start
	local v=$BATS_TEST_TMPDIR/v.sock
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"console=ttyS0 probe=wait\"}"
	expect_api 204 PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$v\"}"
	expect_api 400 PUT /actions '{"action_type":"InstanceStart"}' \
		"this build does not provide the virtio-vsock device yet (vsock at $v)"
}

@test "PUT /vsock after boot is refused" {
	require_kvm
	api_start
	boot_wait_guest
	expect_api 400 PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$BATS_TEST_TMPDIR/v.sock\"}" 'after starting'
	[ ! -e "$BATS_TEST_TMPDIR/v.sock" ] || fail "bound after boot"
}

@test "the config file's vsock key: one object; two devices exit 152 naming vsock and bind nothing" {
	local v=$BATS_TEST_TMPDIR/cfg.sock w=$BATS_TEST_TMPDIR/cfg2.sock
	printf '{"vsock":[{"guest_cid":3,"uds_path":"%s"},{"guest_cid":4,"uds_path":"%s"}]}' "$v" "$w" >"$BATS_TEST_TMPDIR/vm.json"
	run timeout 60 "$EMBER" --no-api --config-file "$BATS_TEST_TMPDIR/vm.json"
	assert_equal "$status" 152
	assert_output --partial 'vsock: expected one vsock device object (one device per VM)'
	[ ! -e "$v" ] && [ ! -e "$w" ] || fail "a refused config bound a socket"
	printf '{"vsock":{"guest_cid":1,"uds_path":"%s"}}' "$v" >"$BATS_TEST_TMPDIR/vm.json"
	run timeout 60 "$EMBER" --no-api --config-file "$BATS_TEST_TMPDIR/vm.json"
	assert_equal "$status" 152
	assert_output --partial 'vsock: Invalid guest_cid 1'
	# a good key is bound at load; the device is not built yet, so the start
	# fails saying so, and the socket goes with ember
	printf '{"boot-source":{"kernel_image_path":"%s","boot_args":"console=ttyS0 probe=wait"},"vsock":{"guest_cid":3,"uds_path":"%s"}}' \
		"$PROBE" "$v" >"$BATS_TEST_TMPDIR/vm.json"
	run timeout 60 "$EMBER" --no-api --config-file "$BATS_TEST_TMPDIR/vm.json"
	assert_failure
	assert_output --partial "this build does not provide the virtio-vsock device yet (vsock at $v)"
	[ ! -e "$v" ] || fail "the socket outlived ember"
}
