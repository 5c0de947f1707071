# Helpers for snapshot.bats: several embers at once, each named, each with
# its stdin a FIFO (the probe's `R` goes in there), its API on
# $TMP/<name>.sock and its output in $TMP/<name>.out.

# snap_setup: a fresh $TMP with the scenario's 1 MiB drive, no namespaces yet.
snap_setup() {
	TMP=$(mktemp -d)
	truncate -s 1M "$TMP/disk.img"
	SNAP_NS=()
}

# snap_teardown: ends every ember, vsock peer and network namespace the test
# started, then removes $TMP (kept, and named, with $KEEP set).
snap_teardown() {
	snap_kill_all
	snap_peers_kill
	snap_netns_cleanup
	if [ -n "${KEEP:-}" ]; then
		echo "# kept $TMP" >&3
	else
		rm -rf "$TMP"
	fi
}

# snap_ember NAME [ARGS...]: starts ember NAME and waits (bounded) for its socket.
# With $SNAP_NETNS set, ember runs in that network namespace.
snap_ember() {
	local n=$1
	shift
	rm -f "$TMP/$n.sock" "$TMP/$n.in"
	mkfifo "$TMP/$n.in"
	# The reader's open waits for a writer: the holder keeps the FIFO open, so
	# ember never sees end of input while the test runs.
	${SNAP_NETNS:+ip netns exec "$SNAP_NETNS"} "$EMBER" --api-sock "$TMP/$n.sock" --id "snap-$n" "$@" \
		<"$TMP/$n.in" >"$TMP/$n.out" 2>&1 3>&- &
	echo $! >"$TMP/$n.pid"
	sleep 100000 >"$TMP/$n.in" 3>&- &
	echo $! >"$TMP/$n.holder"
	for _ in $(seq 200); do
		[ -S "$TMP/$n.sock" ] && return 0
		kill -0 "$(cat "$TMP/$n.pid")" 2>/dev/null || break
		sleep 0.05
	done
	fail "ember $n did not create its socket: $(cat "$TMP/$n.out")"
}

# snap_use NAME: the api/expect_api helpers talk to ember NAME.
snap_use() {
	SOCK=$TMP/$1.sock
}

# snap_send NAME BYTES: writes to ember NAME's serial input.
# Bounded: the open of a FIFO for writing blocks until a reader exists, and an ember that already
# ended (a test expecting exit 149 races the guest's death against the send) never reads again.
snap_send() {
	timeout 10 bash -c 'printf "%s" "$1" >"$2"' snap_send "$2" "$TMP/$1.in" ||
		echo "# snap_send $1: no reader took '$2' within 10 s (ember $1 ended?)" >&3
}

# snap_wait NAME PATTERN: waits (bounded) for a line of ember NAME's output.
snap_wait() {
	for _ in $(seq 600); do
		grep -q -- "$2" "$TMP/$1.out" && return 0
		kill -0 "$(cat "$TMP/$1.pid")" 2>/dev/null || break
		sleep 0.1
	done
	grep -q -- "$2" "$TMP/$1.out" || fail "no '$2' from ember $1: $(tail -20 "$TMP/$1.out")"
}

# snap_exit NAME: waits (bounded) for ember NAME to end; its code in $SNAP_STATUS.
snap_exit() {
	local pid
	pid=$(cat "$TMP/$1.pid")
	wait_until 600 0.1 pid_ended "$pid" || fail "ember $1 still runs: $(tail -20 "$TMP/$1.out")"
	SNAP_STATUS=0
	wait "$pid" || SNAP_STATUS=$?
	snap_release "$1"
}

# snap_kill NAME: ends ember NAME at once (a crash, or teardown).
snap_kill() {
	local pid
	pid=$(cat "$TMP/$1.pid" 2>/dev/null) || return 0
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	snap_release "$1"
}

snap_release() {
	local h
	h=$(cat "$TMP/$1.holder" 2>/dev/null) || true
	[ -n "$h" ] && { kill "$h" 2>/dev/null || true; wait "$h" 2>/dev/null || true; }
	rm -f "$TMP/$1.pid" "$TMP/$1.holder"
}

snap_kill_all() {
	local f
	for f in "$TMP"/*.pid; do
		[ -e "$f" ] && snap_kill "$(basename "$f" .pid)"
	done
	return 0
}

# snap_boot NAME VCPUS SEED [EXTRA...]: configures and starts the snapshot
# scenario (with the drive $TMP/disk.img) on ember NAME and waits for it.
# $SNAP_MACHINE_EXTRA is added to the machine-config object (",\"irqchip\":...").
snap_boot() {
	local n=$1 vcpus=$2 seed=$3
	shift 3
	local args="console=ttyS0 probe=${SNAP_PROBE:-snapshot} probe.snap_seed=$seed $*"
	is_pvm_host && args="$args probe.pvm=1"
	snap_use "$n"
	expect_api 204 PUT /machine-config "{\"vcpu_count\":$vcpus,\"mem_size_mib\":128${SNAP_MACHINE_EXTRA:-}}"
	[ -z "${SNAP_ENTROPY:-}" ] || expect_api 204 PUT /entropy "$SNAP_ENTROPY"
	local pm
	for pm in ${SNAP_PMEM:-}; do # JSON objects without spaces, one per pmem device
		expect_api 204 PUT "/pmem/$(jq -r .id <<<"$pm")" "$pm"
	done
	expect_api 204 PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$TMP/disk.img\",\"is_root_device\":true,\"is_read_only\":false}"
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"$args\"}"
	expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
	snap_wait "$n" "${SNAP_READY:-PROBE snapshot.ready ok}"
	# probe=snapshot's counter line follows at once, but the serial output is
	# batched: a snapshot taken (and its ember killed) before the batch went
	# out lost it (seen under seccomp.bats's strace wrapper, where
	# snapshot.bats read an empty counter).
	[ -n "${SNAP_READY:-}" ] || snap_wait "$n" 'PROBE-INFO snapshot.counter'
}

# snap_create NAME STATE MEM: pauses ember NAME and snapshots it.
snap_create() {
	snap_use "$1"
	expect_api 204 PATCH /vm '{"state":"Paused"}'
	expect_api 204 PUT /snapshot/create "{\"snapshot_path\":\"$2\",\"mem_file_path\":\"$3\"}"
}

# snap_load_body STATE MEM RESUME [FIELDS]: a PUT /snapshot/load body with
# the File backend, and FIELDS (JSON members, "a":1,"b":2) added.
snap_load_body() {
	printf '{"snapshot_path":"%s","mem_backend":{"backend_type":"File","backend_path":"%s"},"resume_vm":%s%s}' \
		"$1" "$2" "$3" "${4:+,$4}"
}

# snap_counter NAME: the last snapshot.counter the guest of ember NAME printed.
snap_counter() {
	grep -a 'PROBE-INFO snapshot.counter' "$TMP/$1.out" | tail -1 | awk '{ print $3 }'
}

# snap_state STATE: GET / on the current ember shows that state.
snap_state() {
	api GET /
	[ "$code" = 200 ] || fail "GET /: status $code: $body"
	case "$body" in
	*"\"state\":\"$1\""*) ;;
	*) fail "GET /: state is not $1: $body" ;;
	esac
}

# snap_netns N TAP: a network namespace unique to this run and test, with
# TAP up carrying $SNAP_PEER/24 (the probe's probe.net_peer); its name in
# $NS_<N>. snap_netns_cleanup (teardown) removes them and their TAPs.
SNAP_PEER=10.77.0.1
SNAP_GUEST=10.77.0.2
snap_netns() {
	local ns=ember-snap-$$-$BATS_TEST_NUMBER-$1
	ip netns add "$ns"
	SNAP_NS+=("$ns")
	ip -n "$ns" link set lo up
	ip -n "$ns" tuntap add dev "$2" mode tap
	ip -n "$ns" addr add "$SNAP_PEER/24" dev "$2"
	ip -n "$ns" link set "$2" up
	printf -v "NS_$1" '%s' "$ns"
}

snap_netns_cleanup() {
	local ns
	for ns in "${SNAP_NS[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	SNAP_NS=()
}

# snap_require_net: root, iproute2 and /dev/net/tun, or skip.
snap_require_net() {
	require_root
	command -v ip >/dev/null || skip "iproute2 is not installed"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun on this host"
}

# snap_vsock_peer NAME PATH COUNT: an echoing listener (vsock-peer.py) on
# PATH for COUNT connections, its output in $TMP/NAME.peer; waits until it
# listens. Its pid is added to $SNAP_PEERS (snap_peers_kill).
snap_vsock_peer() {
	python3 "$BATS_TEST_DIRNAME/vsock-peer.py" listen "$2" "$3" >"$TMP/$1.peer" 2>&1 &
	SNAP_PEERS="${SNAP_PEERS:-} $!"
	wait_until 100 0.1 grep -qs listening "$TMP/$1.peer" ||
		fail "the vsock peer $1 did not listen: $(cat "$TMP/$1.peer")"
}

snap_peers_kill() {
	[ -z "${SNAP_PEERS:-}" ] || kill $SNAP_PEERS 2>/dev/null || true
	SNAP_PEERS=
}

# The host's 2 MiB pool (hugepages.bats, snapshot-diff.bats' 2M test):
# pool_set saves vm.nr_hugepages in $SAVED_NR (unless the suite's setup
# did) and teardown's pool_restore puts it back, after a failed test too.
NR_HUGEPAGES=/proc/sys/vm/nr_hugepages

hp_free() {
	awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo
}

# pool_set N: asks the kernel for N free 2 MiB pages on top of what others
# use (skips when it cannot: no root, or no memory for them).
pool_set() {
	[ -w "$NR_HUGEPAGES" ] || skip "cannot write $NR_HUGEPAGES (needs root)"
	[ -n "${SAVED_NR:-}" ] || SAVED_NR=$(cat "$NR_HUGEPAGES")
	echo $((SAVED_NR - $(hp_free) + $1)) >"$NR_HUGEPAGES"
	[ "$(hp_free)" -ge "$1" ] || skip "the host gave only $(hp_free) free huge pages of $1 asked for"
}

pool_restore() {
	if [ -n "${SAVED_NR:-}" ] && [ "$(cat "$NR_HUGEPAGES")" != "$SAVED_NR" ]; then
		echo "$SAVED_NR" >"$NR_HUGEPAGES" || true
	fi
}
