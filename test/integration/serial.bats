#!/usr/bin/env bats
# The serial console (issue 31): PUT /serial and the `serial` config key
# (serial_out_path, a file or FIFO; rate_limiter, one token bucket that is
# also the default output cap), and a terminal on stdin in raw mode while
# ember runs, restored on the way out. See doc/api.md "Serial console".
#
# Guests: the probe's `boot` (its serial checks, through the file), `wait`,
# `serial-flood` (prints without end for probe.flood_ms, one port write a
# byte) and `serial-input` (prints each byte typed).

load helpers
load api-helpers
load boot-helpers

setup() {
	TMP=$(mktemp -d)
}

teardown() {
	api_stop
	[ -n "${SCRIPT_PID:-}" ] && kill -9 "$SCRIPT_PID" 2>/dev/null || true
	rm -rf "$TMP"
}

# uart_metric FIELD FILE: uart.FIELD summed over every line of a metrics file.
uart_metric() {
	python3 -c 'import json,sys
print(sum(json.loads(l).get("uart",{}).get(sys.argv[1],0) for l in open(sys.argv[2]) if l.strip()))' "$@"
}

# serial_config FILE SERIAL_JSON SCENARIOS [EXTRA...]: a probe config with
# that `serial` value (skipped when empty) and metrics in FILE.metrics.
serial_config() {
	local file=$1 serial=$2 scenarios=$3
	shift 3
	probe_config "$file" 1 64 "$scenarios" "$@"
	python3 - "$file" "$serial" <<-'PY'
	import json, sys
	c = json.load(open(sys.argv[1]))
	if sys.argv[2]:
	    c["serial"] = json.loads(sys.argv[2])
	c["metrics"] = {"metrics_path": sys.argv[1] + ".metrics"}
	json.dump(c, open(sys.argv[1], "w"))
	PY
	: >"$file.metrics"
}

# The probe's checks all passed, read from a file rather than $output.
assert_file_probe_all_ok() {
	output_of "$1"
	assert_probe_all_ok
}

# output_of FILE: $output and $lines from a file, for assert_line.
output_of() {
	output=$(cat "$1")
	mapfile -t lines <"$1"
}

@test "PUT /serial before boot: the guest's output goes to serial_out_path; bad bodies name their field; after boot it is refused" {
	require_kvm
	api_start
	expect_api 400 PUT /serial '{"serial_out_path": 3}' 'invalid type: integer `3`'
	expect_api 400 PUT /serial '{"out": "x"}' 'unknown field `out`'
	expect_api 400 PUT /serial '{"rate_limiter": {"size": 10}}' 'missing field `refill_time`'
	expect_api 400 PUT /serial '{"serial_out_path": ""}' 'serial_out_path'
	expect_api 400 PUT /serial "{\"serial_out_path\": \"$TMP/no/such/dir/console\"}" "$TMP/no/such/dir/console"
	expect_api 400 PUT /serial "{\"serial_out_path\": \"$TMP\"}" 'Is a directory'
	# a second PUT replaces the first whole, as in Firecracker
	expect_api 204 PUT /serial "{\"serial_out_path\": \"$TMP/first\"}"
	expect_api 204 PUT /serial "{\"serial_out_path\": \"$TMP/console\", \"rate_limiter\": {\"size\": 0, \"refill_time\": 0}}"
	# Firecracker's GET /vm/config has no serial key
	expect_api 200 GET /vm/config
	assert_equal "$(printf '%s' "$body" | python3 -c 'import json,sys; print("serial" in json.load(sys.stdin))')" False
	boot_probe probe=boot,wait
	for _ in $(seq 600); do grep -q 'PROBE-INFO wait' "$TMP/console" 2>/dev/null && break; sleep 0.1; done
	expect_api 400 PUT /serial "{\"serial_out_path\": \"$TMP/console\"}" \
		'The requested operation is not supported after starting the microVM.'
	expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	assert_file_probe_all_ok "$TMP/console"
	assert_line 'PROBE irq.serial ok'
	# nothing of the guest's went to stdout, nothing to the first file
	run grep -c '^PROBE' "$OUT"
	assert_output 0
	assert_equal "$(stat -c %s "$TMP/first")" 0
}

@test "the serial config key: boot's serial checks through serial_out_path (created 0600, appended to); bad values exit 152 naming serial" {
	require_kvm
	printf 'kept\n' >"$TMP/console"
	serial_config "$TMP/vm.json" "{\"serial_out_path\": \"$TMP/console\"}" boot
	run_ember_config "$TMP/vm.json"
	assert_success
	refute_line --partial 'PROBE'
	assert_equal "$(head -n 1 "$TMP/console")" kept
	assert_file_probe_all_ok "$TMP/console"
	assert_line 'PROBE irq.serial ok'
	assert_equal "$(uart_metric write_count "$TMP/vm.json.metrics")" "$(($(stat -c %s "$TMP/console") - 5))"
	# created when missing, mode 0600
	serial_config "$TMP/vm.json" "{\"serial_out_path\": \"$TMP/new\"}" boot
	run_ember_config "$TMP/vm.json"
	assert_success
	assert_equal "$(stat -c %a "$TMP/new")" 600
	for bad in '{"x": 1}' '[]' "{\"serial_out_path\": \"$TMP/no/dir\"}" '{"rate_limiter": {"size": -1, "refill_time": 1}}'; do
		serial_config "$TMP/bad.json" "$bad" boot
		run_ember_config "$TMP/bad.json"
		assert_equal "$status" 152
		assert_output --partial 'serial: '
	done
}

@test "a limiter of 256 B/s: the file gets at most 256 bytes a second, the rest is dropped and counted" {
	require_kvm
	serial_config "$TMP/vm.json" "{\"serial_out_path\": \"$TMP/console\", \"rate_limiter\": {\"size\": 256, \"refill_time\": 1000}}" boot
	start=$(date +%s%N)
	run_ember_config "$TMP/vm.json"
	secs=$(( ($(date +%s%N) - start) / 1000000000 + 1 ))
	assert_success
	size=$(stat -c %s "$TMP/console")
	dropped=$(uart_metric rate_limiter_dropped_bytes "$TMP/vm.json.metrics")
	[ "$size" -le $((256 * (secs + 1))) ] || fail "$size bytes in $secs s through a 256 B/s limiter"
	[ "$dropped" -gt 0 ] || fail "nothing dropped: $(cat "$TMP/vm.json.metrics")"
	assert_equal "$(uart_metric write_count "$TMP/vm.json.metrics")" "$size"
	assert_equal "$(uart_metric missed_write_count "$TMP/vm.json.metrics")" 0
}

@test "the default cap holds an endless printer: a 1 MiB burst, then near 64 KiB a second; the same bucket scaled down holds it near its rate" {
	require_kvm
	require_built_ember # rates: not under the seccomp suite's tracing wrapper
	serial_config "$TMP/vm.json" "{\"serial_out_path\": \"$TMP/console\"}" serial-flood probe.flood_ms=6000 probe.flood_mode=outb
	start=$(date +%s%N)
	run_ember_config "$TMP/vm.json"
	secs=$(( ($(date +%s%N) - start) / 1000000000 + 1 ))
	assert_success
	size=$(stat -c %s "$TMP/console")
	printed=$(sed -n 's/^PROBE-INFO serial-flood.bytes //p' "$TMP/console")
	dropped=$(uart_metric rate_limiter_dropped_bytes "$TMP/vm.json.metrics")
	[ -n "$printed" ] || fail "no serial-flood.bytes line (the report should pass the refilled cap)"
	cap=$((1048576 + 65536 + 65536 * secs))
	[ "$size" -le "$cap" ] || fail "$size bytes in $secs s, more than the default cap's $cap"
	if [ "$printed" -gt "$cap" ]; then
		[ "$dropped" -gt 0 ] || fail "printed $printed, nothing dropped"
		[ "$size" -ge 1048576 ] || fail "only $size bytes passed: the 1 MiB burst is for boot logs"
	else
		# this host's guest printed below the cap: all of it passes
		echo "# the guest printed $printed bytes in $secs s, below the default cap" >&3
		assert_equal "$dropped" 0
	fi
	# the same shape at 4 KiB/s with a 16 KiB burst: the printer is held near that rate
	serial_config "$TMP/small.json" "{\"serial_out_path\": \"$TMP/small\", \"rate_limiter\": {\"size\": 4096, \"refill_time\": 1000, \"one_time_burst\": 16384}}" \
		serial-flood probe.flood_ms=4000 probe.flood_mode=outb
	start=$(date +%s%N)
	run_ember_config "$TMP/small.json"
	secs=$(( ($(date +%s%N) - start) / 1000000000 + 1 ))
	assert_success
	size=$(stat -c %s "$TMP/small")
	[ "$size" -le $((16384 + 4096 + 4096 * secs)) ] || fail "$size bytes in $secs s through 4 KiB/s + 16 KiB"
	[ "$size" -ge $((16384 + 4096 * 3)) ] || fail "only $size bytes in $secs s: not near 4 KiB/s"
	[ "$(uart_metric rate_limiter_dropped_bytes "$TMP/small.json.metrics")" -gt 0 ]
	grep -q '^PROBE serial-flood.printed ok' "$TMP/small"
}

@test "a FIFO no one reads: ember keeps running and answering, takes Ctrl-Alt-Del, counts the lost bytes" {
	require_kvm
	# the guest must outprint the 64 KiB pipe within the flood: a rate, so
	# not under the seccomp suite's tracing wrapper (output.bats covers
	# the non-blocking writes there)
	require_built_ember
	mkfifo "$TMP/console.fifo"
	serial_config "$TMP/vm.json" "{\"serial_out_path\": \"$TMP/console.fifo\", \"rate_limiter\": {\"size\": 0, \"refill_time\": 0}}" \
		serial-flood,wait probe.flood_ms=10000 probe.flood_mode=outb
	SOCK=$TMP/api.sock
	OUT=$TMP/ember.out
	"$EMBER" --api-sock "$SOCK" --id "serial-bats-$$" --config-file "$TMP/vm.json" >"$OUT" 2>&1 &
	EMBER_PID=$!
	# The API answers all along. The wait scenario's set-up writes the
	# i8042 three times: then the guest is past the flood and polls for
	# Ctrl-Alt-Del (its output, ticks included, still goes nowhere).
	missed=0 kbd=0
	for _ in $(seq 600); do
		expect_api 200 GET /
		assert_equal "$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" Running
		expect_api 204 PUT /actions '{"action_type":"FlushMetrics"}'
		missed=$(uart_metric missed_write_count "$TMP/vm.json.metrics")
		kbd=$(python3 -c 'import json,sys
print(sum(json.loads(l).get("i8042",{}).get("write_count",0) for l in open(sys.argv[1]) if l.strip()))' "$TMP/vm.json.metrics")
		[ "$missed" -gt 0 ] && [ "$kbd" -ge 3 ] && break
		kill -0 "$EMBER_PID" || break
		sleep 0.1
	done
	[ "$missed" -gt 0 ] || fail "no missed_write_count while the FIFO is full: $(tail -5 "$OUT")"
	[ "$kbd" -ge 3 ] || fail "the guest never reached the wait scenario: $(tail -5 "$OUT")"
	expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	[ "$(uart_metric missed_write_count "$TMP/vm.json.metrics")" -ge "$missed" ]
	# what the FIFO holds is what was written: 64 KiB of pipe at most
	[ "$(uart_metric write_count "$TMP/vm.json.metrics")" -le 65536 ]
}

@test "stdin a FIFO: its bytes reach the guest as they are, Ctrl-A included" {
	require_kvm
	mkfifo "$TMP/in.fifo"
	serial_config "$TMP/vm.json" "" serial-input probe.serial_input_n=3
	(sleep 1; printf '\001xy' >"$TMP/in.fifo") &
	run timeout --kill-after=5 60 "$EMBER" --no-api --config-file "$TMP/vm.json" --id "serial-bats-$$" <"$TMP/in.fifo"
	assert_success
	assert_probe_all_ok
	assert_line 'PROBE-INFO serial-input.byte 0x01'
	assert_line 'PROBE-INFO serial-input.byte 0x78'
	assert_line 'PROBE-INFO serial-input.byte 0x79'
}

# in_pty SCRIPT [TYPIST]: runs the bash SCRIPT under script(1)'s pty (stdin,
# stdout and stderr a terminal) while the bash TYPIST's output is typed on
# it; the session's output in $TMP/pty.out.
in_pty() {
	command -v script >/dev/null || skip "script (util-linux) is not installed"
	printf '%s\n' "$1" >"$TMP/inner.sh"
	chmod +x "$TMP/inner.sh"
	rm -f "$TMP/pty.done"
	# The feeder keeps script's stdin open (its end would end the session)
	# until the inner script is done, at most 30 s: a pipeline waits for
	# both sides, and a fixed sleep 30 cost each test 30 s.
	(bash -c "${2:-:}"; for _ in $(seq 300); do [ -e "$TMP/pty.done" ] && break; sleep 0.1; done) |
		timeout 60 script -qec "$TMP/inner.sh; : >$TMP/pty.done" "$TMP/pty.out" >/dev/null
}

@test "stdin a terminal: raw mode while ember runs; stty -a as before after a normal exit, after SIGTERM and after SIGHUP" {
	require_kvm
	serial_config "$TMP/vm.json" "" boot,wait
	in_pty "cd $TMP
stty -a >before
'$EMBER' --api-sock $TMP/api.sock --id serial-bats-$$ --config-file $TMP/vm.json >ember.out 2>&1 </dev/tty &
pid=\$!
for i in \$(seq 600); do grep -q 'PROBE-INFO wait' ember.out && break; sleep 0.1; done
stty -a >during
curl -s --unix-socket $TMP/api.sock -X PUT -d '{\"action_type\":\"SendCtrlAltDel\"}' http://localhost/actions
wait \$pid; echo \$? >status
stty -a >after
: >ember2.out
'$EMBER' --api-sock $TMP/api2.sock --id serial-bats-$$ --config-file $TMP/vm.json >ember2.out 2>&1 </dev/tty &
pid=\$!
for i in \$(seq 600); do grep -q 'PROBE-INFO wait' ember2.out && break; sleep 0.1; done
stty -a >during2
kill -TERM \$pid
wait \$pid; echo \$? >status2
stty -a >after2
: >ember3.out
'$EMBER' --api-sock $TMP/api3.sock --id serial-bats-$$ --config-file $TMP/vm.json >ember3.out 2>&1 </dev/tty &
pid=\$!
for i in \$(seq 600); do grep -q 'PROBE-INFO wait' ember3.out && break; sleep 0.1; done
kill -HUP \$pid
wait \$pid; echo \$? >status3
stty -a >after3"
	assert_equal "$(cat "$TMP/status")" 0
	assert_equal "$(cat "$TMP/status2")" 0
	run grep -o -- '-icanon\|-echo \|-isig' "$TMP/during"
	assert_output "$(printf -- '-isig\n-icanon\n-echo ')"
	run grep -o -- '-icanon\|-echo \|-isig' "$TMP/during2"
	assert_line -- '-icanon'
	grep -q ' icanon' "$TMP/before" || fail "the pty did not start in canonical mode: $(cat "$TMP/before")"
	diff "$TMP/before" "$TMP/after" || fail "stty -a differs after a normal exit"
	diff "$TMP/before" "$TMP/after2" || fail "stty -a differs after SIGTERM"
	grep -q 'Received SIGTERM' "$TMP/ember2.out"
	# SIGHUP is fatal, as in Firecracker (156): its handler restores the terminal too
	assert_equal "$(cat "$TMP/status3")" 156
	diff "$TMP/before" "$TMP/after3" || fail "stty -a differs after SIGHUP"
}

@test "on the terminal: Ctrl-C reaches the guest (ember lives on), Ctrl-A Ctrl-A sends Ctrl-A, Ctrl-A x ends ember with 0" {
	require_kvm
	serial_config "$TMP/vm.json" "" serial-input,wait probe.serial_input_n=3
	in_pty "cd $TMP
stty -a >before
'$EMBER' --no-api --config-file $TMP/vm.json --id serial-bats-$$ >ember.out 2>&1
echo \$? >status
stty -a >after" "cd $TMP
for i in \$(seq 600); do grep -q 'PROBE-INFO serial-input ready' ember.out 2>/dev/null && break; sleep 0.1; done
printf '\\003\\001\\001q'
for i in \$(seq 600); do grep -q 'PROBE serial-input.received' ember.out && break; sleep 0.1; done
printf '\\001x'"
	assert_equal "$(cat "$TMP/status")" 0
	output_of "$TMP/ember.out"
	assert_line 'PROBE-INFO serial-input.byte 0x03'
	assert_line 'PROBE-INFO serial-input.byte 0x01'
	assert_line 'PROBE-INFO serial-input.byte 0x71'
	assert_line 'PROBE serial-input.received ok'
	assert_output --partial 'Ctrl-A x on the console: stopping the microVM.'
	diff "$TMP/before" "$TMP/after"
}
