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
	[ -n "${NET_PUB:-}" ] && rm -rf "$NET_PUB"
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

NET_PEER=10.77.0.1
NET_GUEST=10.77.0.2
NET_PEER_PY=$BATS_TEST_DIRNAME/net-peer.py

# net_tap_up NAME: a TAP in $NS carrying the host's side of the guest's /24.
net_tap_up() {
	net_tap "$1"
	ip -n "$NS" addr add "$NET_PEER/24" dev "$1"
	ip -n "$NS" link set "$1" up
}

# net_probe_config FILE SCENARIO IFACES_JSON [EXTRA boot args...]: a config
# file booting the probe with SCENARIO against $NET_PEER, with those
# network-interfaces.
net_probe_config() {
	local file=$1 scenario=$2 ifaces=$3
	shift 3
	local args="console=ttyS0 probe=$scenario probe.net_ip=$NET_GUEST probe.net_peer=$NET_PEER $*"
	is_pvm_host && args="$args probe.pvm=1"
	cat >"$file" <<-JSON
	{
	  "boot-source": { "kernel_image_path": "$PROBE", "boot_args": "$args" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
	  "network-interfaces": $ifaces
	}
	JSON
}

# net_ember_bg FILE [ARGS...]: ember in $NS on a config file, in the
# background, output in $OUT; EMBER_PID is set (net_teardown stops it).
net_ember_bg() {
	local file=$1
	shift
	OUT=$BATS_TEST_TMPDIR/ember.out
	ip netns exec "$NS" timeout --kill-after=5 180 "$EMBER" --no-api --config-file "$file" --id "net-bats-$$" "$@" \
		>"$OUT" 2>&1 &
	EMBER_PID=$!
}

# net_metric GROUP FIELD FILE: the sum of a metric over every line of a metrics file.
net_metric() {
	python3 -c 'import json,sys
g,f=sys.argv[1],sys.argv[2]
print(sum(json.loads(l).get(g,{}).get(f,0) for l in open(sys.argv[3]) if l.strip()))' "$@"
}

# net_wait_ready FILE: waits (bounded) until a net-peer.py helper printed "ready".
net_wait_ready() {
	for _ in $(seq 300); do
		grep -q '^ready$' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "net-peer.py did not start: $(cat "$1")"
}
