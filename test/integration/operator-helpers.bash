# Helpers for operator.bats: ember as an operator runs it (signals, stale
# sockets, file messages, config round trips, the log under load).

# wait_args: boot args of the probe's `wait` scenario (it lives until
# Ctrl-Alt-Del or a signal ends ember).
wait_args() {
	local args="console=ttyS0 probe=wait"
	is_pvm_host && args="$args probe.pvm=1"
	echo "$args"
}

# write_wait_config FILE [VCPUS]: a config file booting the wait scenario.
write_wait_config() {
	cat >"$1" <<-JSON
	{ "boot-source": { "kernel_image_path": "$PROBE", "boot_args": "$(wait_args)" },
	  "machine-config": { "vcpu_count": ${2:-1}, "mem_size_mib": 128 } }
	JSON
}

# ember_bg ARGS...: ember in the background, stdin not a terminal, output
# in $OUT; sets EMBER_PID.
ember_bg() {
	OUT=${OUT:-$BATS_TEST_TMPDIR/ember.out}
	"$EMBER" "$@" >"$OUT" 2>&1 </dev/null &
	EMBER_PID=$!
}

# wait_sock PATH: waits (bounded) for a socket to appear while ember runs.
wait_sock() {
	for _ in $(seq 300); do
		[ -S "$1" ] && return 0
		kill -0 "$EMBER_PID" 2>/dev/null || break
		sleep 0.05
	done
	fail "no socket $1: $(cat "$OUT")"
}

# curl_sock SOCK METHOD PATH [BODY]: one request; status in $code, body in $body.
curl_sock() {
	local sock=$1 method=$2 path=$3
	local args=(-s -S --max-time 20 --unix-socket "$sock" -X "$method" -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}')
	[ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	code=$(curl "${args[@]}" "http://localhost$path") || code=000
	body=$(cat "$BATS_TEST_TMPDIR/body" 2>/dev/null || true)
}

# jailed_setup: unique names for a jail of the real ember (needs root, KVM,
# a static ember and v1 pids); the teardown is jailed_teardown.
jailed_setup() {
	require_root
	require_kvm
	[ -x "$EMBER" ] && [ -x "$JAILER" ] || skip "ember or the jailer is not built"
	! readelf -lW "$EMBER" | grep -q 'program interpreter' ||
		skip "this ember is dynamically linked (a sanitizer build): only a static one can run alone in a jail"
	[ -n "$(cgroup_v1_mount pids)" ] || skip "no v1 pids controller here"
	JID="op-bats-$$-$BATS_TEST_NUMBER"
	JBASE=$BATS_TEST_TMPDIR/base
	JPARENT="op-bats-$$-$BATS_TEST_NUMBER"
	JROOT=$JBASE/ember/$JID/root
	mkdir -p "$JBASE"
	# The jailer checks that the VMM's uid could open each bound file itself;
	# bats' own temporary directories are root's 0700.
	JPUB=$(mktemp -d /tmp/ember-op-pub.XXXXXX)
	chmod 711 "$JPUB"
}

jailed_teardown() {
	[ -n "${JID:-}" ] || return 0
	if [ -f "$JROOT/ember.pid" ]; then kill -KILL "$(cat "$JROOT/ember.pid")" 2>/dev/null || true; sleep 0.2; fi
	"$JAILER" --cleanup --id "$JID" --exec-file "$EMBER" --chroot-base-dir "$JBASE" \
		--parent-cgroup "$JPARENT" >/dev/null 2>&1 || true
	local m
	for m in $(cgroup_mounts); do
		[ -d "$m/$JPARENT" ] || continue
		for c in "$m/$JPARENT"/*/; do [ -d "$c" ] && rmdir "$c" 2>/dev/null; done
		rmdir "$m/$JPARENT" 2>/dev/null || true
	done
	rm -rf "$JBASE" "${JPUB:-/nonexistent}"
	JID=
}
