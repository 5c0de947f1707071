#!/usr/bin/env bats
# Output never blocks (issue 23): with stdout a pipe or a pty that nobody
# reads, the guest keeps running and printing (its bytes are dropped and
# counted), the API keeps answering, pause and resume work, and after ember
# ends (normally, by SIGTERM, by a seccomp kill) the parent's description of
# that pipe or pty still has O_NONBLOCK clear. stdout-hold.py plays the
# parent: it shares its own description of the write end with ember.

load helpers
load api-helpers
load boot-helpers
load seccomp-helpers

setup() {
	HOLD=$BATS_TEST_TMPDIR/hold
	mkdir -p "$HOLD"
	SOCK=$BATS_TEST_TMPDIR/api.sock
	METRICS=$BATS_TEST_TMPDIR/metrics.json
	HOLD_PID=
}

teardown() {
	local pid
	pid=$(cat "$HOLD/pid" 2>/dev/null || true)
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
	[ -n "$HOLD_PID" ] && kill -9 "$HOLD_PID" 2>/dev/null || true
	[ -n "$HOLD_PID" ] && wait "$HOLD_PID" 2>/dev/null || true
}

# hold_start KIND [--prefill] -- CMD...: CMD in the background with stdout on
# an undrained KIND (pipe or pty); waits (bounded) until it runs.
hold_start() {
	python3 "$EMBER_SRC/test/integration/stdout-hold.py" "$1" "$HOLD" "${@:2}" &
	HOLD_PID=$!
	wait_until 100 0.05 test -s "$HOLD/pid" || fail "stdout-hold.py did not start the command"
}

# hold_wait_exit: waits (bounded) for the command's end; its code in $HOLD_STATUS.
hold_wait_exit() {
	for _ in $(seq 600); do
		[ -s "$HOLD/status" ] && break
		sleep 0.1
	done
	[ -s "$HOLD/status" ] || fail "ember did not end: $(tail -c 2000 "$HOLD/out" 2>/dev/null)"
	HOLD_STATUS=$(cat "$HOLD/status")
	wait "$HOLD_PID" || true
	HOLD_PID=
}

# ember with the API on $SOCK and metrics in $METRICS, on an undrained KIND.
ember_on() {
	local kind=$1
	shift
	hold_start "$kind" "$@" -- "$EMBER" --api-sock "$SOCK" --id "output-bats-$$" --metrics-path "$METRICS"
	for _ in $(seq 200); do
		[ -S "$SOCK" ] && return 0
		sleep 0.05
	done
	fail "ember did not create $SOCK"
}

# A request that must be answered with CODE within 5 s (a liveness bound: the
# bug this guards made it wait until someone read stdout).
answers_within_5s() {
	local want=$1 method=$2 path=$3 data=${4-}
	local args=(-s -S --max-time 5 --unix-socket "$SOCK" -X "$method" -o /dev/null -w '%{http_code}')
	[ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
	code=$(curl "${args[@]}" "http://localhost$path") || true
	[ "$code" = "$want" ] || fail "$method $path: '$code' within 5 s, expected $want"
}

# The sum of a counter over every metrics line (they hold deltas).
metric_sum() {
	python3 -c '
import json, sys
group, name = sys.argv[2].split(".")
total = 0
for line in open(sys.argv[1]):
    if line.strip():
        total += json.loads(line)[group][name]
print(total)' "$METRICS" "$1"
}

# Flushes metrics until COUNTER is above 0 (bounded): the sink is full.
wait_metric_positive() {
	for _ in $(seq 120); do
		answers_within_5s 204 PUT /actions '{"action_type":"FlushMetrics"}'
		[ "$(metric_sum "$1")" -gt 0 ] && return 0
		sleep 0.5
	done
	fail "$1 stayed 0: the guest's output never filled the sink"
}

# The wait scenario with a heartbeat every 10 polls: it prints as fast as it can.
boot_chatty_guest() {
	local args="console=ttyS0 probe=wait probe.wait_tick=10 probe.wait_polls=400000000"
	is_pvm_host && args="$args probe.pvm=1"
	answers_within_5s 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"$args\"}"
	answers_within_5s 204 PUT /actions '{"action_type":"InstanceStart"}'
}

# The last tick number the guest printed into the drained output.
last_tick() {
	sed -n 's/.*PROBE-INFO wait tick \([0-9]*\).*/\1/p' "$HOLD/out" 2>/dev/null | tail -n 1
}

# The whole story on one kind of stdout.
undrained_stdout_story() {
	ember_on "$1"
	boot_chatty_guest
	wait_metric_positive uart.missed_write_count
	# The sink is full: every thread still answers.
	answers_within_5s 200 GET /
	answers_within_5s 204 PATCH /vm '{"state":"Paused"}'
	answers_within_5s 200 GET /
	answers_within_5s 204 PATCH /vm '{"state":"Resumed"}'
	answers_within_5s 200 GET /
	# Drained, the guest's ticks arrive again: it kept running meanwhile.
	touch "$HOLD/drain"
	local first=
	for _ in $(seq 300); do
		first=$(last_tick)
		[ -n "$first" ] && break
		sleep 0.1
	done
	[ -n "$first" ] || fail "no tick after draining: $(tail -c 500 "$HOLD/out")"
	# Exit 0 comes only from the guest's reset after it saw Ctrl-Alt-Del (its
	# PROBE lines may still be dropped: a loaded host can let the pty or pipe
	# fill again while the guest prints as fast as it can).
	answers_within_5s 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
	hold_wait_exit
	assert_equal "$HOLD_STATUS" 0
	[ "$(metric_sum uart.missed_write_count)" -gt 0 ] || fail "uart.missed_write_count is 0 at exit"
	assert_equal "$(cat "$HOLD/flags")" nonblock=0
}

@test "stdout a pipe nobody drains: the guest runs, the API answers, pause and resume work; exit 0" {
	require_kvm
	undrained_stdout_story pipe
}

@test "stdout a pty nobody drains: the guest runs, the API answers, pause and resume work; exit 0" {
	require_kvm
	undrained_stdout_story pty
}

# Log lines dropped on a full sink are counted too.
full_sink_log_story() {
	ember_on "$1" --prefill
	answers_within_5s 200 GET /
	boot_chatty_guest
	wait_metric_positive logger.missed_log_count
	answers_within_5s 200 GET /
	kill -TERM "$(cat "$HOLD/pid")"
	hold_wait_exit
	assert_equal "$(cat "$HOLD/flags")" nonblock=0
}

@test "a full pipe from the start: the API answers, log lines are dropped and counted; SIGTERM leaves O_NONBLOCK clear" {
	require_kvm
	full_sink_log_story pipe
}

@test "a full pty from the start: the API answers, log lines are dropped and counted; SIGTERM leaves O_NONBLOCK clear" {
	require_kvm
	full_sink_log_story pty
}

# A seccomp kill reports through the same sink: the SIGSYS handler must not
# wait for the reader either, or ember would never end.
seccomp_kill_story() {
	policy=$BATS_TEST_TMPDIR/p.yaml
	policy_without "$policy" epoll_wait
	probe_config "$BATS_TEST_TMPDIR/vm.json" 1 128 boot
	hold_start "$1" --prefill -- "$EMBER" --no-api --config-file "$BATS_TEST_TMPDIR/vm.json" \
		--id "output-bats-$$" --seccomp-filter "$policy"
	hold_wait_exit
	assert_equal "$HOLD_STATUS" 148
	assert_equal "$(cat "$HOLD/flags")" nonblock=0
}

@test "a full pipe: a seccomp kill still ends ember with 148 and O_NONBLOCK clear" {
	require_kvm
	require_unsanitized
	seccomp_kill_story pipe
}

@test "a full pty: a seccomp kill still ends ember with 148 and O_NONBLOCK clear" {
	require_kvm
	require_unsanitized
	seccomp_kill_story pty
}
