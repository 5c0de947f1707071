#!/usr/bin/env bats
# Guest fairness (doc/security.md "guest fairness on the vmm thread"): a guest
# that hands the block device 16 chains of 3.28 GiB each (probe scenario
# blk-hog) cannot stall the control plane. While it runs, GET / and PATCH
# /vm (pause, then resume) go out every 200 ms; each must be answered within
# 5 s, a liveness bound: before the per-wake-up budget one call took 68 s
# with Sync and 11.6 s with Async. The worst and median are printed.

load helpers
load block-helpers

setup() {
	TMP=$(mktemp -d)
}

teardown() {
	if [ -n "${HOG_PID:-}" ] && kill -0 "$HOG_PID" 2>/dev/null; then
		kill -9 "$HOG_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}

# hog ENGINE: boots blk-hog (one completion, 16 chains in flight) on a 4 GiB
# sparse disk with 512 MiB of RAM and measures the API while it runs.
hog() {
	require_kvm
	# seccomp.bats's minimality run wraps ember in strace: 3.28 GiB chains in
	# 1 MiB pieces are then thousands of traced syscalls each, and the
	# liveness bound would measure strace. The blk suites cover these calls.
	[ "$(head -c 4 "$EMBER" | od -An -c | tr -d ' ')" = '177ELF' ] ||
		skip "ember is a wrapper here (strace), not the binary: no timing under a tracer"
	truncate -s 4G "$TMP/disk.img"
	args=$(probe_boot_args 1 512 blk-hog probe.blk_hog=1)
	cat >"$TMP/vm.json" <<-JSON
	{
	  "boot-source": { "kernel_image_path": "$PROBE", "boot_args": "$args" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 512 },
	  "drives": [ $(blk_drive hog "$TMP/disk.img" false false "\"io_engine\": \"$1\"") ]
	}
	JSON
	"$EMBER" --api-sock "$TMP/api.sock" --config-file "$TMP/vm.json" --id "fairness-bats-$$" >"$TMP/out" 2>"$TMP/err" &
	HOG_PID=$!
	run timeout --kill-after=5 600 python3 - "$TMP/api.sock" "$TMP/out" "$HOG_PID" <<-'PY'
	import os, socket, statistics, sys, time
	sock, out, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
	def alive():
	    try:
	        os.kill(pid, 0)
	        return open(f'/proc/{pid}/stat').read().split()[2] != 'Z'
	    except OSError:
	        return False
	def request(method, path, body=b''):
	    s = socket.socket(socket.AF_UNIX)
	    s.settimeout(120)
	    t0 = time.monotonic()
	    s.connect(sock)
	    head = f'{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(body)}\r\n'
	    if body:
	        head += 'Content-Type: application/json\r\n'
	    s.sendall(head.encode() + b'\r\n' + body)
	    reply = s.recv(4096)
	    s.close()
	    return time.monotonic() - t0, reply.split(b' ', 2)[1].decode()
	while alive() and 'blk-hog ready' not in open(out).read():
	    time.sleep(0.05)
	def ended():
	    return not alive() or 'PROBE DONE' in open(out).read()
	def measure(name, want, method, path, body=b''):
	    t, code = request(method, path, body)
	    if code != want and ended():
	        return False  # the guest finished meanwhile: the VMM is shutting down
	    assert code == want, f'{name}: {code}'
	    lat[name].append(t)
	    return True
	lat = {'GET /': [], 'PATCH /vm': []}
	state = 'Paused'
	while not ended():
	    if not measure('GET /', '200', 'GET', '/'):
	        break
	    if not measure('PATCH /vm', '204', 'PATCH', '/vm', ('{"state": "%s"}' % state).encode()):
	        break
	    state = 'Resumed' if state == 'Paused' else 'Paused'
	    time.sleep(0.2)
	if state == 'Resumed' and alive():
	    request('PATCH', '/vm', b'{"state": "Resumed"}')
	for name, v in lat.items():
	    assert v, f'no {name} was sent while the guest ran'
	    print(f'{name}: {len(v)} requests, worst {max(v) * 1000:.0f} ms, median {statistics.median(v) * 1000:.0f} ms')
	    assert max(v) <= 5.0, f'{name} took {max(v):.1f} s'
	PY
	printf '%s\n' "$output" >&3
	assert_success
	for _ in $(seq 600); do
		kill -0 "$HOG_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$HOG_PID" || fail "ember exited $?: $(tail -20 "$TMP/err")"
	HOG_PID=
	run cat "$TMP/out"
	assert_output --partial 'PROBE blk-hog.completions ok'
	assert_output --partial 'PROBE DONE pass=1 fail=0'
}

@test "blk-hog, Sync: GET / and PATCH /vm answered within 5 s while 16 chains of 3.28 GiB are in flight" {
	hog Sync
}

@test "blk-hog, Async: GET / and PATCH /vm answered within 5 s while 16 chains of 3.28 GiB are in flight" {
	hog Async
}
