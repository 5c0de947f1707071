#!/usr/bin/env bats
# The HTTP API over its unix socket, driven with curl as an operator would:
# every endpoint's good case and its errors (wrong type, unknown field,
# missing field, wrong VM state, bad id), the transport rules (payload limit,
# methods, connection limit, pipelining), booting the probe guest through the
# API, pause/resume, SendCtrlAltDel, metrics and the MMDS data store.

load helpers
load api-helpers

teardown() {
	api_stop
}

@test "GET / and GET /version describe the instance" {
	api_start
	expect_api 200 GET / '' '"state":"Not started"'
	expect_api 200 GET / '' '"id":"api-bats-'
	expect_api 200 GET / '' '"app_name":"ember"'
	expect_api 200 GET /version '' '"firecracker_version":"'
	expect_api 400 GET / '{"a":1}' 'GET request cannot have a body.'
}

@test "responses have Firecracker's exact shape" {
	api_start
	run curl -s -i --unix-socket "$SOCK" -X PUT -d '{"vcpu_count":1,"mem_size_mib":128}' http://localhost/machine-config
	assert_output "$(printf 'HTTP/1.1 204 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n\r')"
	run curl -s -i --unix-socket "$SOCK" http://localhost/nowhere
	assert_line --partial 'HTTP/1.1 400 '
	assert_line --partial 'Content-Type: application/json'
	assert_line --partial '{"fault_message":"Invalid request method and/or path: GET nowhere."}'
}

@test "machine-config: GET, PUT, PATCH and their errors" {
	api_start
	expect_api 200 GET /machine-config '' '"vcpu_count":1'
	expect_api 200 GET /machine-config '' '"mem_size_mib":128'
	expect_api 204 PUT /machine-config '{"vcpu_count":2,"mem_size_mib":256,"smt":false}'
	expect_api 200 GET /machine-config '' '"vcpu_count":2'
	expect_api 204 PATCH /machine-config '{"mem_size_mib":512}'
	expect_api 200 GET /machine-config '' '"mem_size_mib":512'
	expect_api 400 PUT /machine-config '{"vcpu_count":"two","mem_size_mib":256}' 'for field `vcpu_count`'
	expect_api 400 PUT /machine-config '{"vcpu_count":2,"mem_size_mib":256,"cpus":1}' 'unknown field `cpus`'
	expect_api 400 PUT /machine-config '{"vcpu_count":2}' 'missing field `mem_size_mib`'
	expect_api 400 PUT /machine-config '{"vcpu_count":33,"mem_size_mib":256}' 'Machine config error: '
	expect_api 400 PATCH /machine-config '{"smt":"yes"}' 'for field `smt`'
	expect_api 400 PATCH /machine-config '{}' 'Empty PATCH request.'
	expect_api 400 PATCH /machine-config '{"vcpus":1}' 'unknown field `vcpus`'
	expect_api 400 PATCH /boot-source '{}' 'Invalid request method and/or path: PATCH boot-source.'
	# nothing of the rejected requests stuck
	expect_api 200 GET /machine-config '' '"vcpu_count":2'
	expect_api 200 GET /machine-config '' '"mem_size_mib":512'
}

@test "boot-source: PUT and its errors; InstanceStart without a kernel" {
	api_start
	expect_api 400 PUT /actions '{"action_type":"InstanceStart"}' 'Cannot start microvm without kernel configuration.'
	expect_api 400 PUT /boot-source '{"kernel_image_path":"/nonexistent/vmlinux"}' 'Boot source error: '
	expect_api 400 PUT /boot-source '{"kernel_image_path":["x"]}' 'for field `kernel_image_path`'
	expect_api 400 PUT /boot-source '{"kernel_image_path":"x","bootargs":""}' 'unknown field `bootargs`'
	expect_api 400 PUT /boot-source '{"boot_args":"console=ttyS0"}' 'missing field `kernel_image_path`'
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"console=ttyS0\"}"
	expect_api 200 GET /vm/config '' "\"kernel_image_path\":\"$PROBE\""
}

@test "actions: wrong type, unknown field, missing field, wrong state" {
	api_start
	expect_api 400 PUT /actions '{"action_type":true}' 'for field `action_type`'
	expect_api 400 PUT /actions '{"action_type":"InstanceStart","now":1}' 'unknown field `now`'
	expect_api 400 PUT /actions '{}' 'missing field `action_type`'
	expect_api 400 PUT /actions '{"action_type":"Reboot"}' 'unknown variant `Reboot`'
	expect_api 400 PUT /actions '{"action_type":"FlushMetrics"}' 'not supported before starting the microVM.'
	expect_api 400 PUT /actions '{"action_type":"SendCtrlAltDel"}' 'not supported before starting the microVM.'
}

@test "logger: PUT writes Firecracker-format lines to the file; errors; pre-boot only" {
	require_kvm
	api_start
	log=$BATS_TEST_TMPDIR/ember.log
	expect_api 400 PUT /logger '{"level":5}' 'for field `level`'
	expect_api 400 PUT /logger '{"level":"Loud"}' 'unknown variant `Loud`'
	expect_api 400 PUT /logger '{"log_file":"x"}' 'unknown field `log_file`'
	expect_api 204 PUT /logger "{\"log_path\":\"$log\",\"level\":\"Info\",\"show_level\":true}"
	# Firecracker's GET /vm/config: the logger is the process's, never shown.
	expect_api 200 GET /vm/config '' '"logger":null'
	expect_api 200 GET /
	grep -q '\[api-bats-[0-9]*:api:INFO\] The API server received a Get request on "/".' "$log" ||
		fail "no request line in the log: $(cat "$log")"
	boot_wait_guest
	expect_api 400 PUT /logger '{"level":"Debug"}' 'not supported after starting the microVM.'
	expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
	api_wait_exit
}

@test "metrics: PUT once, FlushMetrics writes a JSON line with every group, pre-boot only" {
	require_kvm
	api_start
	m=$BATS_TEST_TMPDIR/metrics.json
	expect_api 400 PUT /metrics '{}' 'missing field `metrics_path`'
	expect_api 400 PUT /metrics '{"metrics_path":1}' 'for field `metrics_path`'
	expect_api 400 PUT /metrics "{\"metrics_path\":\"$m\",\"x\":1}" 'unknown field `x`'
	expect_api 204 PUT /metrics "{\"metrics_path\":\"$m\"}"
	expect_api 400 PUT /metrics "{\"metrics_path\":\"$m\"}" 'Reinitialization of metrics not allowed.'
	boot_wait_guest
	expect_api 400 PUT /metrics "{\"metrics_path\":\"$m\"}" 'not supported after starting the microVM.'
	expect_api 204 PUT /actions '{"action_type":"FlushMetrics"}'
	run python3 - "$m" <<-'PY'
	import json, sys
	lines = open(sys.argv[1]).read().splitlines()
	assert len(lines) >= 2, f"{len(lines)} lines: one after InstanceStart, one for FlushMetrics"
	groups = ["api_server", "get_api_requests", "put_api_requests", "patch_api_requests", "i8042",
	          "latencies_us", "logger", "mmds", "seccomp", "signals", "uart", "vcpu", "vmm", "block",
	          "net", "vsock", "balloon", "entropy", "deprecated_api", "rtc"]
	for line in lines:
	    m = json.loads(line)
	    assert isinstance(m["utc_timestamp_ms"], int)
	    missing = [g for g in groups if g not in m]
	    assert not missing, f"missing groups {missing}"
	last = json.loads(lines[-1])
	# counters are deltas: the FlushMetrics request itself is counted in the last line only
	assert last["put_api_requests"]["actions_count"] == 1, last["put_api_requests"]
	assert last["put_api_requests"]["metrics_count"] == 1, last["put_api_requests"]
	assert last["put_api_requests"]["metrics_fails"] == 1, last["put_api_requests"]
	first = json.loads(lines[0])
	assert first["put_api_requests"]["metrics_count"] == 5, first["put_api_requests"]
	assert first["put_api_requests"]["metrics_fails"] == 4, first["put_api_requests"]
	assert first["vcpu"]["exit_io_out"] + last["vcpu"]["exit_io_out"] > 0
	print("ok")
	PY
	assert_success
	assert_output ok
	expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	# and one more line at exit
	[ "$(wc -l <"$m")" -ge 3 ] || fail "no metrics line at exit: $(cat "$m")"
}

@test "MMDS: PUT, PATCH (merge patch), GET; 413 leaves the store unchanged" {
	api_start --mmds-size-limit 100
	expect_api 200 GET /mmds '' '{}'
	expect_api 400 PATCH /mmds '{"a":1}' 'The MMDS data store is not initialized.'
	expect_api 204 PUT /mmds '{"latest":{"meta-data":{"ami-id":"ami-1","tags":["a"]}}}'
	expect_api 204 PATCH /mmds '{"latest":{"meta-data":{"tags":null,"hostname":"vm1"}}}'
	expect_api 200 GET /mmds '' '{"latest":{"meta-data":{"ami-id":"ami-1","hostname":"vm1"}}}'
	before=$body
	big=$(printf '%0100d' 0)
	expect_api 413 PATCH /mmds "{\"big\":\"$big\"}" "The MMDS patch request doesn't fit."
	expect_api 413 PUT /mmds "{\"big\":\"$big\"}" "doesn't fit."
	expect_api 200 GET /mmds
	assert_equal "$body" "$before"
	expect_api 400 PUT /mmds '{"a":' 'An error occurred when deserializing the json body of a request'
	expect_api 200 GET /mmds
	assert_equal "$body" "$before"
}

@test "--metadata preloads the MMDS; a bad file is refused at start" {
	echo '{"seed": {"x": 1}}' >"$BATS_TEST_TMPDIR/meta.json"
	api_start --metadata "$BATS_TEST_TMPDIR/meta.json"
	expect_api 200 GET /mmds '' '{"seed":{"x":1}}'
	api_stop
	echo '{"seed": ' >"$BATS_TEST_TMPDIR/bad.json"
	run "$EMBER" --api-sock "$BATS_TEST_TMPDIR/b.sock" --metadata "$BATS_TEST_TMPDIR/bad.json"
	assert_equal "$status" 152
	assert_output --partial 'MMDS error: metadata provided not valid json'
}

@test "PATCH /vm: errors, wrong state; GET /vm/config" {
	api_start
	expect_api 400 PATCH /vm '{"state":"Paused"}' 'not supported before starting the microVM.'
	expect_api 400 PATCH /vm '{"state":1}' 'for field `state`'
	expect_api 400 PATCH /vm '{"state":"Stopped"}' 'unknown variant `Stopped`'
	expect_api 400 PATCH /vm '{"state":"Paused","now":true}' 'unknown field `now`'
	expect_api 400 PATCH /vm '{}' 'missing field `state`'
	expect_api 200 GET /vm/config '' '"machine-config":{'
	expect_api 200 GET /vm/config '' '"drives":[]'
	expect_api 200 GET /vm/config '' '"balloon":null'
}

@test "pause and resume while the probe guest runs; GET / follows; SendCtrlAltDel resets it" {
	require_kvm
	api_start
	boot_wait_guest
	expect_api 200 GET / '' '"state":"Running"'
	expect_api 204 PATCH /vm '{"state":"Paused"}'
	expect_api 204 PATCH /vm '{"state":"Paused"}'
	expect_api 200 GET / '' '"state":"Paused"'
	expect_api 400 PUT /actions '{"action_type":"InstanceStart"}' 'not supported after starting the microVM.'
	paused=$(ticks)
	sleep 2
	assert_equal "$(ticks)" "$paused"
	expect_api 204 PATCH /vm '{"state":"Resumed"}'
	expect_api 204 PATCH /vm '{"state":"Resumed"}'
	expect_api 200 GET / '' '"state":"Running"'
	wait_ticks_above "$paused"
	expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	grep -q 'PROBE wait.ctrl-alt-del ok' "$OUT" || fail "the guest did not see Ctrl-Alt-Del: $(tail "$OUT")"
	grep -q 'PROBE DONE pass=1 fail=0' "$OUT" || fail "$(tail "$OUT")"
}

@test "the probe guest boots entirely through the API" {
	require_kvm
	api_start
	args="console=ttyS0 probe=boot probe.mem_mib=256 probe.vcpus=2"
	is_pvm_host && args="$args probe.pvm=1"
	expect_api 204 PUT /machine-config '{"vcpu_count":2,"mem_size_mib":256}'
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"$args\"}"
	expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	grep -q 'PROBE DONE pass=[1-9][0-9]* fail=0' "$OUT" || fail "$(cat "$OUT")"
}

@test "Firecracker's getting-started curl flow boots the probe unchanged but for socket and kernel" {
	require_kvm
	api_start
	kernel_path=$PROBE
	# From Firecracker's docs/getting-started.md, verbatim but for the paths.
	curl --unix-socket "$SOCK" -i \
		-X PUT 'http://localhost/boot-source' \
		-H 'Accept: application/json' \
		-H 'Content-Type: application/json' \
		-d "{
			\"kernel_image_path\": \"${kernel_path}\",
			\"boot_args\": \"console=ttyS0 reboot=k panic=1 pci=off\"
		}" >"$BATS_TEST_TMPDIR/r1"
	curl --unix-socket "$SOCK" -i \
		-X PUT 'http://localhost/machine-config' \
		-H 'Accept: application/json' \
		-H 'Content-Type: application/json' \
		-d '{
			"vcpu_count": 2,
			"mem_size_mib": 1024
		}' >"$BATS_TEST_TMPDIR/r2"
	curl --unix-socket "$SOCK" -i \
		-X PUT 'http://localhost/actions' \
		-H 'Accept: application/json' \
		-H 'Content-Type: application/json' \
		-d '{
			"action_type": "InstanceStart"
		}' >"$BATS_TEST_TMPDIR/r3"
	for r in r1 r2 r3; do
		head -1 "$BATS_TEST_TMPDIR/$r" | grep -q '^HTTP/1.1 204 ' || fail "$r: $(cat "$BATS_TEST_TMPDIR/$r")"
	done
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	grep -q 'PROBE DONE pass=[1-9][0-9]* fail=0' "$OUT" || fail "$(cat "$OUT")"
}

@test "--config-file without --no-api boots from the file and still serves the API" {
	require_kvm
	args="console=ttyS0 probe=wait"
	is_pvm_host && args="$args probe.pvm=1"
	cat >"$BATS_TEST_TMPDIR/vm.json" <<-JSON
	{ "boot-source": { "kernel_image_path": "$PROBE", "boot_args": "$args" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 } }
	JSON
	api_start --config-file "$BATS_TEST_TMPDIR/vm.json"
	wait_guest_running
	expect_api 200 GET / '' '"state":"Running"'
	expect_api 400 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128}' 'not supported after starting'
	expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
}

@test "ids in paths: empty or bad characters; capabilities this build lacks say so" {
	api_start
	expect_api 400 PUT /drives/root-fs '{"drive_id":"root-fs"}' 'API Resource IDs can only contain alphanumeric characters and underscores.'
	expect_api 400 PUT /network-interfaces/eth0.1 '{}' 'API Resource IDs can only contain'
	expect_api 400 PUT /pmem/ '{}' 'The ID cannot be empty.'
	expect_api 400 PUT /drives/rootfs '{"drive_id":"other"}' 'The id from the path does not match the id from the body!'
	expect_api 400 PUT /vsock '{}' 'missing field `guest_cid`'
	expect_api 400 PUT /balloon '{}' 'missing field `amount_mib`'
	expect_api 400 PUT /entropy '{"x":1}' 'unknown field `x`'
	expect_api 400 PUT /snapshot/create '{}' 'missing field `snapshot_path`'
	expect_api 400 PUT /serial '{"x":1}' 'unknown field `x`'
}

@test "transport: oversized body, unsupported method, malformed JSON, bad Content-Length" {
	api_start
	head -c 51201 /dev/zero | tr '\0' 'a' >"$BATS_TEST_TMPDIR/big"
	run curl -s -i --unix-socket "$SOCK" -X PUT -H 'Expect:' --data-binary @"$BATS_TEST_TMPDIR/big" http://localhost/mmds
	assert_line --partial 'HTTP/1.1 400 '
	assert_line --partial 'Content-Length: 149'
	assert_output --partial '{ "error": "Request payload with size 51201 is larger than the limit of 51200 allowed by server.'
	assert_output --partial 'All previous unanswered requests will be dropped." }'
	expect_api 400 POST / '' 'Invalid HTTP Method: Unsupported HTTP method.'
	expect_api 400 PUT /machine-config '{"vcpu_count":1,' 'An error occurred when deserializing the json body of a request'
	run python3 - "$SOCK" <<-'PY'
	import socket, sys
	s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
	s.sendall(b"PUT /mmds HTTP/1.1\r\nContent-Length: 12x\r\n\r\n")
	print(s.recv(4096).decode())
	PY
	assert_output --partial 'Invalid header. Reason: Invalid value. Key:Content-Length'
	# the server survives all of it
	expect_api 200 GET /
}

@test "a smaller --http-api-max-payload-size is enforced" {
	api_start --http-api-max-payload-size 64
	expect_api 204 PUT /mmds '{"a":"0123456789"}'
	expect_api 400 PUT /mmds "{\"a\":\"$(printf '%080d' 0)\"}" 'larger than the limit of 64 allowed by server.'
}

@test "keep-alive and pipelining: two requests in one write, two answers in order" {
	api_start
	run python3 - "$SOCK" <<-'PY'
	import socket, sys
	s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
	body = b'{"vcpu_count":2,"mem_size_mib":256}'
	s.sendall(b"PUT /machine-config HTTP/1.1\r\nContent-Length: %d\r\n\r\n%sGET /machine-config HTTP/1.1\r\n\r\n" % (len(body), body))
	data = b""
	while data.count(b"HTTP/1.1") < 2 or not data.endswith(b"}"):
	    chunk = s.recv(4096)
	    if not chunk: break
	    data += chunk
	print(data.decode())
	PY
	assert_success
	assert_line --index 0 --partial 'HTTP/1.1 204 '
	assert_output --partial '"vcpu_count":2'
}

@test "an existing socket path is refused with Firecracker's message" {
	touch "$BATS_TEST_TMPDIR/taken.sock"
	run "$EMBER" --api-sock "$BATS_TEST_TMPDIR/taken.sock"
	assert_failure
	assert_output --partial "Failed to open the API socket at: $BATS_TEST_TMPDIR/taken.sock. Check that it is not already used."
}

@test "every request is logged; the call duration at Debug" {
	api_start --level Debug
	expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128}'
	grep -q 'The API server received a Put request on "/machine-config" with body "{\\"vcpu_count\\":1,\\"mem_size_mib\\":128}".' "$OUT" ||
		fail "$(cat "$OUT")"
	grep -q 'Total previous API call duration: [0-9]* us.' "$OUT" || fail "$(cat "$OUT")"
}

@test "doc/api.yaml validates, and GET responses match its schemas" {
	[ -d "$EMBER_SRC/tools/npm/node_modules/@apidevtools/swagger-parser" ] ||
		skip "tools/npm not installed (run tools/setup.sh)"
	api_start
	echo '{"k":"v"}' >"$BATS_TEST_TMPDIR/meta.json"
	expect_api 204 PUT /logger "{\"log_path\":\"$BATS_TEST_TMPDIR/l.log\"}"
	expect_api 204 PUT /metrics "{\"metrics_path\":\"$BATS_TEST_TMPDIR/m.json\"}"
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\"}"
	pairs=()
	for p in / /version /machine-config /vm/config /mmds; do
		f=$BATS_TEST_TMPDIR/get$(echo "$p" | tr / _).json
		curl -s --unix-socket "$SOCK" "http://localhost$p" >"$f"
		pairs+=("$p=$f")
	done
	run node "$EMBER_SRC/test/integration/api-openapi.js" "$EMBER_SRC/doc/api.yaml" "${pairs[@]}"
	assert_success
	assert_output --partial 'ok GET /vm/config matches its schema'
}

@test "a client that pipelines many requests before reading gets every answer (back-pressure)" {
	api_start --mmds-size-limit 40000 --http-api-max-payload-size 45000
	big=$(printf '%030000d' 0)
	expect_api 204 PUT /mmds "{\"big\":\"$big\"}"
	run python3 - "$SOCK" <<-'PY'
	import socket, sys
	s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(30)
	n = 300
	s.sendall(b"GET /mmds HTTP/1.1\r\n\r\n" * n)   # ~9 MB of answers, not read yet
	data = b""
	while data.count(b"HTTP/1.1 200 ") < n or not data.endswith(b"}"):
	    chunk = s.recv(1 << 16)
	    if not chunk: break
	    data += chunk
	print(data.count(b"HTTP/1.1 200 "))
	PY
	assert_success
	assert_output 300
	expect_api 200 GET /
}

@test "a fatal signal still flushes a metrics line (the exit hook)" {
	m=$BATS_TEST_TMPDIR/metrics.json
	api_start --metrics-path "$m"
	expect_api 200 GET /
	kill -BUS "$EMBER_PID"
	api_wait_exit
	assert_equal "$EMBER_STATUS" 149
	run python3 -c '
import json, sys
line = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert line["signals"]["sigbus"] == 1, line["signals"]
assert line["get_api_requests"]["instance_info_count"] == 1, line["get_api_requests"]
print("ok")' "$m"
	assert_output ok
}

@test "the config file's logger and metrics keys use the API's validators" {
	require_kvm
	log=$BATS_TEST_TMPDIR/vm.log
	m=$BATS_TEST_TMPDIR/vm.metrics
	args="console=ttyS0 probe=boot"
	is_pvm_host && args="$args probe.pvm=1"
	cat >"$BATS_TEST_TMPDIR/vm.json" <<-JSON
	{ "boot-source": { "kernel_image_path": "$PROBE", "boot_args": "$args" },
	  "logger": { "log_path": "$log", "level": "Info", "show_level": true },
	  "metrics": { "metrics_path": "$m" } }
	JSON
	run timeout 60 "$EMBER" --no-api --config-file "$BATS_TEST_TMPDIR/vm.json"
	assert_success
	grep -q ':INFO\] Successfully started microvm' "$log" || fail "log: $(cat "$log")"
	[ "$(wc -l <"$m")" -ge 2 ] || fail "metrics after start and at exit: $(cat "$m")"
	run timeout 60 "$EMBER" --no-api --config-file "$BATS_TEST_TMPDIR/vm.json" --metrics-path "$m"
	assert_equal "$status" 152
	grep -q 'Reinitialization of metrics not allowed' "$log" || fail "log: $(tail -3 "$log")"
	echo '{ "logger": { "level": "Loud" } }' >"$BATS_TEST_TMPDIR/bad.json"
	run timeout 60 "$EMBER" --no-api --config-file "$BATS_TEST_TMPDIR/bad.json"
	assert_equal "$status" 152
	assert_output --partial 'logger: An error occurred when deserializing the json body of a request: unknown variant `Loud`'
}
