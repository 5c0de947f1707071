# The shared part of the engine replays (test/integration/engines-*.bats): each
# replay starts ember the way one engine does (its argv, its config file or its
# requests in order, with their bodies) and then checks what that engine checks.
# The net, vsock and MMDS parts run for real against the probe guest, with the
# TAP in a private network namespace (net-helpers.bash); everything a replay
# makes (netns, jail, cgroups, files) goes in eng_teardown, even on failure.

load helpers
load api-helpers
load boot-helpers
load net-helpers

ENG_DIR=$BATS_TEST_DIRNAME/engines
VSOCK_PEER=$BATS_TEST_DIRNAME/vsock-peer.py

# eng_setup: needs root and KVM; a netns ($NS) with a TAP-less lo, a short base
# directory ($EBASE: unix socket paths must fit 108 bytes) and ember and its
# jailer installed there under Firecracker's names ($FC, $FC_JAILER): the
# jailer copies the exec file and refuses a symbolic link.
eng_setup() {
	require_root
	require_kvm
	require_built_ember
	[ -x "$JAILER" ] || skip "the jailer is not built"
	! readelf -lW "$EMBER" | grep -q 'program interpreter' ||
		skip "this ember is dynamically linked (a sanitizer build): only a static one runs alone in a jail"
	net_setup
	EBASE=$(mktemp -d /tmp/ember-eng.XXXXXX)
	chmod 711 "$EBASE"
	mkdir -p "$EBASE/bin"
	cp "$EMBER" "$EBASE/bin/firecracker"
	cp "$JAILER" "$EBASE/bin/jailer"
	FC=$EBASE/bin/firecracker
	FC_JAILER=$EBASE/bin/jailer
	ENG_ID=eng-$$-$BATS_TEST_NUMBER
	ENG_PIDS=
}

# eng_teardown: kills what the replay started, undoes its mounts, removes the
# jail (the jailer's own cleanup, cgroups included), the netns and the base.
eng_teardown() {
	local p m
	[ -n "${FC_PID:-}" ] && kill -KILL "$FC_PID" 2>/dev/null || true
	for p in ${ENG_PIDS:-}; do kill -KILL "$p" 2>/dev/null || true; done
	net_teardown
	[ -n "${EBASE:-}" ] || return 0
	sleep 0.2
	# the mounts a replay made under the base (Kata bind-mounts its files into the root), deepest first
	awk -v b="$EBASE/" 'index($5, b) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
	"$FC_JAILER" --cleanup --id "$ENG_ID" --exec-file "$FC" --chroot-base-dir "$EBASE/jail" >/dev/null 2>&1 || true
	rm -rf "$EBASE"
	EBASE=
}

# eng_version_check BINARY: Kata's check (fc.go getVersionNumber, parseVersion,
# checkVersion): `BINARY --version`, line 1, field 2 without "v", a semver not
# below 0.21.1. Prints the version.
eng_version_check() {
	local out version
	out=$("$1" --version) || fail "$1 --version failed: $out"
	version=$(printf '%s\n' "$out" | head -n 1 | cut -d' ' -f2)
	version=${version#v}
	[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "Malformed firecracker version: '$version'"
	python3 -c 'import sys; a = tuple(map(int, sys.argv[1].split("."))); sys.exit(a < (0, 21, 1))' "$version" ||
		fail "version $version is not supported. Minimum supported version of firecracker is 0.21.1"
	printf '%s' "$version"
}

# eng_api SOCK METHOD PATH [BODY]: one request on SOCK; $code and $body.
eng_api() {
	SOCK=$1
	shift
	api "$@"
}

# eng_expect SOCK CODE METHOD PATH [BODY] [SUBSTRING]
eng_expect() {
	SOCK=$1
	shift
	expect_api "$@"
}

# eng_wait_running SOCK SECONDS: GET / until "state":"Running" (Kata's
# waitVMMRunning: every 10 ms, a connection refused counts as not yet).
eng_wait_running() {
	local sock=$1 limit=$(($2 * 10)) i
	for ((i = 0; i < limit; i++)); do
		if [ -S "$sock" ] &&
			curl -s --max-time 2 --unix-socket "$sock" http://localhost/ 2>/dev/null | grep -q '"state":"Running"'; then
			return 0
		fi
		sleep 0.1
	done
	fail "not Running within $2 s on $sock: $(tail -20 "${OUT:-/dev/null}" 2>/dev/null)"
}

# eng_pid_file FILE: the pid in FILE (Kata reads <root>/firecracker.pid, 5 s at
# most after the VM runs); it must be a live process named firecracker.
eng_pid_file() {
	local i
	for ((i = 0; i < 100; i++)); do [ -s "$1" ] && break; sleep 0.05; done
	FC_PID=$(tr -d '[:space:]' <"$1" 2>/dev/null)
	[[ "$FC_PID" =~ ^[0-9]+$ ]] && kill -0 "$FC_PID" || fail "no live pid in $1: '$FC_PID'"
	assert_equal "$(cat "/proc/$FC_PID/comm")" firecracker
}

# eng_comms PID VCPUS [API]: Kata's GetThreadIDs: the tasks whose comm starts with
# fc_vcpu, the number after it each vCPU's index, 0 to VCPUS-1; and fc_api. (API 0: --no-api, no API thread).
eng_comms() {
	local pid=$1 n=$2 got want i
	got=$(cat /proc/"$pid"/task/*/comm | grep '^fc_vcpu' | sort)
	want=$(for ((i = 0; i < n; i++)); do echo "fc_vcpu $i"; done | sort)
	assert_equal "$got" "$want"
	[ "${3:-1}" = 0 ] && return 0
	grep -qx fc_api /proc/"$pid"/task/*/comm || fail "no fc_api thread: $(cat /proc/"$pid"/task/*/comm)"
}

# eng_kata_metrics LINE: every field Kata's FirecrackerMetrics reads that
# Firecracker writes on x86 (test/data/firecracker-metrics.txt, the contract) is
# a non-negative integer in LINE: its json.Unmarshal takes uint64s, so a missing
# field silently reads 0 and a wrong type loses the whole line. The fields Kata
# reads that Firecracker no longer writes read 0 from Firecracker too.
eng_kata_metrics() {
	python3 - "$1" "$ENG_DIR/kata-metrics-fields.txt" "$EMBER_SRC/test/data/firecracker-metrics.txt" <<-'PY'
	import json, sys
	line = json.loads(sys.argv[1])
	def fields(path):
	    return [l.split()[0] for l in open(path) if l.strip() and not l.startswith('#')]
	fc = {f for f in fields(sys.argv[3])}
	checked, bad = 0, []
	for f in fields(sys.argv[2]):
	    if f not in fc:
	        continue
	    v = line
	    for part in f.split('.'):
	        v = v.get(part) if isinstance(v, dict) else None
	    checked += 1
	    if not (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
	        bad.append(f'{f}={v!r}')
	if bad or checked < 100:
	    sys.exit(f'fields Kata reads, missing or not a uint64 ({checked} checked): ' + ', '.join(bad))
	PY
}

# eng_stop PID SIGNAL SECONDS: the engine's stop: SIGNAL, then PID must be
# gone within SECONDS (Kata: SIGTERM, 15 s, WaitLocalProcess).
eng_stop() {
	local pid=$1 sig=$2 limit=$(($3 * 10)) i
	kill -"$sig" "$pid"
	for ((i = 0; i < limit; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	fail "$pid still runs $3 s after SIG$sig"
}

# eng_probe_args SCENARIOS [EXTRA...]: the probe's own boot args for SCENARIOS
# with the netns peer addresses (an engine's own args go before them).
eng_probe_args() {
	local s=$1
	shift
	probe_boot_args 1 128 "$s" "probe.net_ip=$NET_GUEST" "probe.net_peer=$NET_PEER" "$@"
}

# eng_vsock_listen PATH: a host listener for the guest's connection to its
# port (PATH is <uds_path>_<port>), echoing and checking one connection.
eng_vsock_listen() {
	python3 "$VSOCK_PEER" listen "$1" 1 >"$BATS_TEST_TMPDIR/listen.out" 2>&1 &
	ENG_PIDS="$ENG_PIDS $!"
	for _ in $(seq 100); do grep -q listening "$BATS_TEST_TMPDIR/listen.out" && return 0; sleep 0.1; done
	fail "vsock listener did not start: $(cat "$BATS_TEST_TMPDIR/listen.out")"
}

# eng_vsock_connect UDS PORT: host -> guest through the vsock socket
# (CONNECT PORT), 64 KiB echoed and checked; retried while the guest is not
# listening yet (bounded: 60 s).
eng_vsock_connect() {
	local i
	for ((i = 0; i < 120; i++)); do
		run timeout 30 python3 "$VSOCK_PEER" connect "$1" "$2" 65536
		[ "$status" -eq 0 ] && break
		sleep 0.5
	done
	assert_success
	assert_output --regexp '^ok [0-9]+ 65536$'
}

# eng_ping_guest: the guest answers pings from its peer in the netns
# (the probe's net scenario serves them for probe.net_serve_ms); bounded.
eng_ping_guest() {
	local i
	for ((i = 0; i < 60; i++)); do
		ip netns exec "$NS" ping -c 3 -i 0.2 -W 1 "$NET_GUEST" >"$BATS_TEST_TMPDIR/ping.out" 2>&1 && return 0
		sleep 0.5
	done
	fail "the guest at $NET_GUEST did not answer pings: $(cat "$BATS_TEST_TMPDIR/ping.out")"
}

# eng_guest_ok CHECK...: the probe's output in $OUT so far has no failed
# check, and each named check (e.g. net.ping) passed. The replays end the
# probe with the `wait` scenario, alive until the engine stops ember, so
# there is no PROBE DONE line to read.
eng_guest_ok() {
	local c bad serial
	serial=$(eng_serial)
	bad=$(printf '%s\n' "$serial" | awk '$1 == "PROBE" && $2 != "DONE" && $3 != "ok" && $3 != "skip"')
	[ -z "$bad" ] || fail "probe checks failed: $bad"
	for c in "$@"; do
		printf '%s\n' "$serial" | grep -a -q "^PROBE $c ok" || fail "no 'PROBE $c ok': $(grep -a PROBE "$OUT")"
	done
}

# eng_serial: $OUT with the guest's lines whole. The engines leave ember's log
# on stdout, as Firecracker's, beside the serial console: a log line written
# while the guest is half-way through a line (a partial batch flushed after
# 1 ms) sits inside it. Each log line is written whole with its newline, so
# cutting it out rejoins the guest's line.
eng_serial() {
	perl -0pe 's/(?<=[^\n])\d{4}-\d\d-\d\dT[\d:.]+ \[[^\]\n]*\][^\n]*\n//g' "$OUT"
}

# eng_unprovided SOCK METHOD PATH BODY ISSUE: a call the engine makes that ember
# does not serve yet: 400 with its clear "not provided" fault; the replay goes on.
eng_unprovided() {
	local sock=$1 method=$2 path=$3 data=$4 issue=$5
	eng_api "$sock" "$method" "$path" "$data"
	[ "$code" = 400 ] || fail "$method $path: status $code, expected ember's 400 (waits for \"$issue\"): $body"
	[[ "$body" == *"does not provide"* ]] || fail "$method $path: no clear 'does not provide' fault: $body"
	echo "# $method $path: not provided yet (waits for \"$issue\")" >&3
}

# eng_fifos LOG METRICS: the log and metrics FIFOs an engine makes, each read
# for the VM's life (into log.out and metrics.out), as the engines do.
eng_fifos() {
	mkfifo "$1" "$2"
	cat "$1" >"$BATS_TEST_TMPDIR/log.out" &
	ENG_PIDS="$ENG_PIDS $!"
	cat "$2" >"$BATS_TEST_TMPDIR/metrics.out" &
	ENG_PIDS="$ENG_PIDS $!"
}

# eng_wait_socket SOCK: the Go SDK's waitForSocket: GET /machine-config on
# SOCK until it answers (bounded), failing early when ember ($FC_PID) ended.
eng_wait_socket() {
	local i
	for ((i = 0; i < 1000; i++)); do
		[ -S "$1" ] && curl -s --max-time 2 --unix-socket "$1" http://localhost/machine-config >/dev/null && return 0
		kill -0 "$FC_PID" 2>/dev/null || fail "ember ended before its socket answered: $(cat "$OUT")"
		sleep 0.01
	done
	fail "$1 did not answer: $(tail -20 "$OUT")"
}

# eng_sdk_init SOCK: the Go SDK's FcInit handlers in order (handlers.go:
# logger and metrics on their FIFOs, machine config and its read-back, boot
# source, the root drive, the TAP as interface 1, vsock, MMDS config,
# WithMetadata's PUT /mmds when set, InstanceStart), with go-swagger's
# bodies (struct order, omitempty strings dropped). Each engine's values:
#   SDK_LOG_LEVEL SDK_LOG SDK_METRICS  logger level, log and metrics paths
#   SDK_MACHINE SDK_VCPUS              PUT /machine-config body, vCPUs read back
#   SDK_KERNEL SDK_ARGS                kernel path and boot args
#   SDK_DRIVE SDK_DRIVE_RO SDK_ROOTFS  root drive id, read-only, path
#   SDK_MAC SDK_VSOCK SDK_MMDS         guest MAC, PUT /vsock body, MMDS version
#   SDK_METADATA                       PUT /mmds body before the start, or empty
#   SDK_NO_START                       1: stop before InstanceStart (the caller sends it)
eng_sdk_init() {
	local s=$1
	eng_expect "$s" 204 PUT /logger \
		"{\"level\":\"$SDK_LOG_LEVEL\",\"log_path\":\"$SDK_LOG\",\"show_level\":true,\"show_log_origin\":false}"
	eng_expect "$s" 204 PUT /metrics "{\"metrics_path\":\"$SDK_METRICS\"}"
	eng_expect "$s" 204 PUT /machine-config "$SDK_MACHINE"
	eng_expect "$s" 200 GET /machine-config '' "\"vcpu_count\":$SDK_VCPUS"
	eng_expect "$s" 204 PUT /boot-source "{\"boot_args\":\"$SDK_ARGS\",\"kernel_image_path\":\"$SDK_KERNEL\"}"
	eng_expect "$s" 204 PUT "/drives/$SDK_DRIVE" \
		"{\"drive_id\":\"$SDK_DRIVE\",\"is_read_only\":$SDK_DRIVE_RO,\"is_root_device\":true,\"path_on_host\":\"$SDK_ROOTFS\"}"
	eng_expect "$s" 204 PUT /network-interfaces/1 "{\"guest_mac\":\"$SDK_MAC\",\"host_dev_name\":\"tap0\",\"iface_id\":\"1\"}"
	eng_expect "$s" 204 PUT /vsock "$SDK_VSOCK"
	eng_expect "$s" 204 PUT /mmds/config "{\"network_interfaces\":[\"1\"],\"version\":\"$SDK_MMDS\"}"
	[ -z "${SDK_METADATA:-}" ] || eng_expect "$s" 204 PUT /mmds "$SDK_METADATA"
	[ "${SDK_NO_START:-}" = 1 ] || eng_expect "$s" 204 PUT /actions '{"action_type":"InstanceStart"}'
}

# eng_flush_metrics SOCK: one metrics line now (Firecracker writes one a
# minute), checked against the fields Kata reads (eng_kata_metrics).
eng_flush_metrics() {
	local i
	eng_expect "$1" 204 PUT /actions '{"action_type":"FlushMetrics"}'
	for i in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/metrics.out" ] && break; sleep 0.1; done
	eng_kata_metrics "$(tail -n 1 "$BATS_TEST_TMPDIR/metrics.out")"
}

# eng_guest_mmds_vsock PATH VALUE: the probe's net, MMDS and guest-initiated
# vsock checks passed, the guest read VALUE at PATH from the MMDS, and the
# host listener echoed its bytes.
eng_guest_mmds_vsock() {
	eng_guest_ok net.ping mmds.arp vsock.guest_connect
	grep -a -q "PROBE-INFO mmds GET $1 -> 200 $2" "$OUT" || fail "MMDS: $(grep -a 'PROBE-INFO mmds' "$OUT")"
	run cat "$BATS_TEST_TMPDIR/listen.out"
	assert_line 'echoed 65536 ok'
}
