# Helpers for net.bats: each test gets its own network namespace (named after
# the suite's pid and the test number, so concurrent runs never meet) with its
# TAPs in it; teardown deletes the namespace, which deletes every TAP in it,
# whatever the test left behind.

# net_setup: creates $NS with lo up. Needs root.
net_setup() {
	require_root
	command -v ip >/dev/null || skip "iproute2 is not installed"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun on this host"
	NS=ember-net-$$-$BATS_TEST_NUMBER
	ip netns add "$NS"
	ip -n "$NS" link set lo up
}

# net_teardown: stops ember and removes the namespace (and so its TAPs).
net_teardown() {
	api_stop
	if [ -n "${NS:-}" ]; then
		ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$NS" 2>/dev/null || true
	fi
}

# net_tap NAME [ip tuntap options...]: a TAP in $NS (never in the host's namespace).
net_tap() {
	local name=$1
	shift
	ip -n "$NS" tuntap add dev "$name" mode tap "$@"
}

# net_has_link NAME: whether $NS has an interface called NAME.
net_has_link() {
	ip -n "$NS" link show "$1" >/dev/null 2>&1
}

# net_api_start [ARGS...]: api_start, with ember inside $NS.
net_api_start() {
	API_EXEC_PREFIX="ip netns exec $NS" api_start "$@"
}
