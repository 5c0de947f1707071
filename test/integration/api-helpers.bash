# Helpers for api.bats: an ember serving its API on a private socket, and curl.

# api_start [ARGS...]: starts ember on $SOCK (under $BATS_TEST_TMPDIR) with its
# output in $OUT, and waits (bounded) for the socket to appear. A command in
# $API_EXEC_PREFIX (words without spaces, e.g. `ip netns exec NS`) runs ember.
api_start() {
	SOCK=$BATS_TEST_TMPDIR/api.sock
	OUT=$BATS_TEST_TMPDIR/ember.out
	rm -f "$SOCK"
	# shellcheck disable=SC2086
	${API_EXEC_PREFIX:-} "$EMBER" --api-sock "$SOCK" --id "api-bats-$$" "$@" >"$OUT" 2>&1 &
	EMBER_PID=$!
	for _ in $(seq 200); do
		[ -S "$SOCK" ] && return 0
		kill -0 "$EMBER_PID" 2>/dev/null || break
		sleep 0.05
	done
	fail "ember did not create $SOCK: $(cat "$OUT")"
}

# api_stop: kills ember if it still runs (teardown).
api_stop() {
	if [ -n "${EMBER_PID:-}" ] && kill -0 "$EMBER_PID" 2>/dev/null; then
		kill -9 "$EMBER_PID" 2>/dev/null || true
		wait "$EMBER_PID" 2>/dev/null || true
	fi
	EMBER_PID=
}

# api_wait_exit: waits (bounded) for ember to end; its exit code in $EMBER_STATUS.
api_wait_exit() {
	for _ in $(seq 600); do
		kill -0 "$EMBER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$EMBER_PID" 2>/dev/null && fail "ember still runs: $(tail -20 "$OUT")"
	EMBER_STATUS=0
	wait "$EMBER_PID" || EMBER_STATUS=$?
	EMBER_PID=
}

# api METHOD PATH [BODY]: one request; the status code in $code, the body in $body.
api() {
	local method=$1 path=$2 data=${3-}
	local args=(-s -S --max-time 20 --unix-socket "$SOCK" -X "$method" -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}')
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
	code=$(curl "${args[@]}" "http://localhost$path")
	body=$(cat "$BATS_TEST_TMPDIR/body")
}

# expect_api CODE METHOD PATH [BODY] [SUBSTRING]: a request whose answer must
# have that status and, when given, contain SUBSTRING.
expect_api() {
	local want=$1 method=$2 path=$3
	shift 3
	if [ $# -ge 1 ]; then api "$method" "$path" "$1"; else api "$method" "$path"; fi
	[ "$code" = "$want" ] || fail "$method $path ${1-}: status $code, expected $want; body: $body"
	if [ $# -ge 2 ]; then
		case "$body" in
		*"$2"*) ;;
		*) fail "$method $path: body '$body' lacks '$2'" ;;
		esac
	fi
}

# wait_output PATTERN [TRIES]: waits (bounded, 0.1 s a try) for a line in $OUT.
wait_output() {
	local tries=${2:-600}
	for _ in $(seq "$tries"); do
		grep -q -- "$1" "$OUT" && return 0
		kill -0 "$EMBER_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "no '$1' in ember's output: $(tail -20 "$OUT")"
}

# boot_probe ARGS...: boots the probe through the API with those boot
# arguments (console and, under PVM, probe.pvm added).
boot_probe() {
	local args="console=ttyS0 $*"
	is_pvm_host && args="$args probe.pvm=1"
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"$args\"}"
	expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
}

# boot_wait_guest: boots the probe's `wait` scenario through the API and waits
# until it runs (it then lives until Ctrl-Alt-Del).
boot_wait_guest() {
	boot_probe probe=wait
	wait_guest_running
}

# wait_guest_running: the wait scenario runs. ember's own log lines may land
# inside a guest line on the shared stdout, so a later tick also counts.
wait_guest_running() {
	wait_output 'PROBE-INFO wait \(ready\|tick\)'
}

# ticks: how many heartbeats the wait scenario printed so far.
ticks() {
	grep -c 'PROBE-INFO wait tick' "$OUT" || true
}

# wait_ticks_above N: waits (bounded) until the guest printed more than N ticks.
wait_ticks_above() {
	for _ in $(seq 600); do
		[ "$(ticks)" -gt "$1" ] && return 0
		kill -0 "$EMBER_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "the guest printed no tick after $1: $(tail -5 "$OUT")"
}
