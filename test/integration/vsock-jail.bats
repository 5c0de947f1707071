#!/usr/bin/env bats
# vsock under the jailer: Kata's flow against a jailed ember. The host
# configures it through <chroot>/api.sock, its vsock socket appears at
# <chroot>/v.sock, and host processes reach the guest there (and the guest
# reaches <chroot>/v.sock_53). Apart from vsock.bats because the seccomp
# minimality check traces only suites that do not use the jailer.

load helpers
load api-helpers
load boot-helpers

PEER=$EMBER_SRC/test/integration/vsock-peer.py

teardown() {
	api_stop
	[ -n "${VJ_BASE:-}" ] || return 0
	"$JAILER" --cleanup --id "$VJ_ID" --exec-file "$EMBER" --chroot-base-dir "$VJ_BASE" >/dev/null 2>&1 || true
	[ -z "${LISTENER:-}" ] || kill "$LISTENER" 2>/dev/null || true
	rm -rf "$VJ_BASE"
}

@test "a jailed ember's guest is reached from the host through <chroot>/v.sock, and reaches <chroot>/v.sock_53" {
	require_root
	require_kvm
	[ -x "$JAILER" ] || skip "the jailer is not built"
	! readelf -lW "$EMBER" | grep -q 'program interpreter' ||
		skip "this ember is dynamically linked (a sanitizer build): only a static one can run alone in a jail"
	# a short base: <chroot>/v.sock_53 must fit a unix socket address
	VJ_BASE=$(mktemp -d /tmp/ember-vj.XXXXXX)
	VJ_ID=vsock-bats-$$-$BATS_TEST_NUMBER
	local root=$VJ_BASE/ember/$VJ_ID/root args
	OUT=$BATS_TEST_TMPDIR/ember.out
	"$JAILER" --id "$VJ_ID" --exec-file "$EMBER" --uid 4711 --gid 4712 --chroot-base-dir "$VJ_BASE" \
		--bind-ro "$PROBE=probe.elf" -- --api-sock /api.sock >"$OUT" 2>&1 &
	EMBER_PID=$!
	SOCK=$root/api.sock
	for _ in $(seq 200); do [ -S "$SOCK" ] && break; kill -0 "$EMBER_PID" 2>/dev/null || break; sleep 0.05; done
	[ -S "$SOCK" ] || fail "no API socket in the jail: $(cat "$OUT")"
	# Kata's Go runtime's body, its path inside the jail
	expect_api 204 PUT /vsock '{"guest_cid":3,"uds_path":"/v.sock","vsock_id":"root"}'
	[ -S "$root/v.sock" ] || fail "no socket at $root/v.sock"
	python3 "$PEER" listen "$root/v.sock_53" 1 >"$BATS_TEST_TMPDIR/listen.out" 2>&1 &
	LISTENER=$!
	for _ in $(seq 100); do grep -q listening "$BATS_TEST_TMPDIR/listen.out" && break; sleep 0.1; done
	expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64}'
	args=$(probe_boot_args 1 64 vsock probe.vsock_serve_ms=10000)
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"/probe.elf\",\"boot_args\":\"$args\"}"
	expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
	wait_output 'PROBE vsock.rst'
	# firecracker-containerd's dial: CONNECT <port> on the socket the host sees
	run timeout 60 python3 "$PEER" connect "$root/v.sock" 52 65536
	assert_success
	assert_output --regexp '^ok 1073741824 65536$'
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	output=$(cat "$OUT")
	assert_probe_all_ok
	assert_output --partial 'PROBE vsock.guest_connect ok'
	assert_output --partial 'PROBE-INFO vsock.echoed 65536'
	run cat "$BATS_TEST_TMPDIR/listen.out"
	assert_line 'echoed 65536 ok'
}
