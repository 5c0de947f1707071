#!/usr/bin/env bats
# virtio-net under the jailer: a jailed ember in --netns attaches a TAP of that
# namespace (doc/jailer.md's recipe). Apart from net.bats because the seccomp
# minimality check traces only suites that do not use the jailer.

load helpers
load api-helpers
load net-helpers

FIRECTL_IFACE='{"guest_mac":"AA:FC:00:00:00:01","host_dev_name":"tap0","iface_id":"1"}'

setup() {
	net_setup
}

teardown() {
	net_teardown
}

@test "a jailed ember in --netns attaches a TAP of that namespace and talks to the host" {
	require_kvm
	[ -x "$JAILER" ] || skip "the jailer is not built"
	! readelf -lW "$EMBER" | grep -q 'program interpreter' ||
		skip "this ember is dynamically linked (a sanitizer build): only a static one can run alone in a jail"
	net_tap_up tap0
	local jid=net-bats-$$-$BATS_TEST_NUMBER base=$BATS_TEST_TMPDIR/jail
	mkdir -p "$base"
	# the jailer checks that the VMM's uid could reach a bound file: a searchable directory
	NET_PUB=$(mktemp -d /tmp/ember-net-pub.XXXXXX)
	chmod 711 "$NET_PUB"
	# the config as the jailed ember sees it: paths inside its root
	net_probe_config "$NET_PUB/vm.json" net "[$FIRECTL_IFACE]"
	sed -i "s|\"kernel_image_path\": \"$PROBE\"|\"kernel_image_path\": \"/probe.elf\"|" "$NET_PUB/vm.json"
	chmod 644 "$NET_PUB/vm.json"
	run timeout --kill-after=5 120 "$JAILER" --id "$jid" --exec-file "$EMBER" --uid 4711 --gid 4712 \
		--chroot-base-dir "$base" --netns "/var/run/netns/$NS" \
		--bind-ro "$PROBE=probe.elf" --bind-ro "$NET_PUB/vm.json=vm.json" \
		-- --no-api --config-file /vm.json
	"$JAILER" --cleanup --id "$jid" --exec-file "$EMBER" --chroot-base-dir "$base" >/dev/null 2>&1 || true
	assert_success
	assert_line 'PROBE net.arp ok'
	assert_line 'PROBE net.ping ok'
	assert_line 'PROBE net.tx_csum ok'
}
