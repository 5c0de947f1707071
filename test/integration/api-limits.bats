#!/usr/bin/env bats
# The API server's defences over its raw unix socket: requests RFC 9112 calls
# invalid (which Debian's non-strict http-parser would serve) get 400 and a
# closed connection; the request and idle timeouts; eviction of the longest
# idle connection when all 10 slots are taken, and Firecracker's 503 when no
# connection can be evicted. Bounds are liveness bounds, never timings.

load helpers
load api-helpers

teardown() {
	api_stop
}

# limits_py SCRIPT: runs a Python script (stdin) with the socket path and a
# few helpers: conn() connects, read_all(s) reads until the peer closes (a
# reset after the answer also counts as closed).
limits_py() {
	cat >"$BATS_TEST_TMPDIR/lib.py" <<-'PY'
	import socket, sys, time
	SOCK = sys.argv[1]
	def conn(timeout=20):
	    s = socket.socket(socket.AF_UNIX)
	    s.connect(SOCK)
	    s.settimeout(timeout)
	    return s
	def read_all(s):
	    data = b""
	    while True:
	        try:
	            chunk = s.recv(65536)
	        except ConnectionResetError:
	            return data, "reset"
	        if not chunk:
	            return data, "eof"
	        data += chunk
	PY
	cat >"$BATS_TEST_TMPDIR/t.py"
	run python3 -c "exec(open('$BATS_TEST_TMPDIR/lib.py').read()); exec(open('$BATS_TEST_TMPDIR/t.py').read())" "$SOCK"
}

ember_fds() {
	find "/proc/$EMBER_PID/fd" -mindepth 1 -maxdepth 1 | wc -l
}

@test "strict HTTP: each request RFC 9112 calls invalid gets 400, also pipelined, and the connection closes" {
	api_start
	limits_py <<-'PY'
	cases = [
	    (b"PUT /mmds HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
	     "Invalid request: chunk data is not followed by CRLF."),
	    (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
	     "Invalid header. Reason: Header is incorrectly formatted. Key: Host "),
	    (b"GET  / HTTP/1.1\r\n\r\n", "Invalid URI: Empty URI not allowed."),
	    (b"GET /  HTTP/1.1\r\n\r\n", "Invalid HTTP Version: Unsupported HTTP version."),
	    (b"GET /\r\n\r\n", "Invalid request."),
	]
	for req, want in cases:
	    for first in (b"", b"GET / HTTP/1.1\r\n\r\n"):
	        s = conn()
	        s.sendall(first + req)
	        data, end = read_all(s)
	        text = data.decode()
	        assert text.count("HTTP/1.1 ") == (2 if first else 1), (req, text)
	        if first:
	            assert text.startswith("HTTP/1.1 200 "), (req, text)
	        tail = text[text.rindex("HTTP/1.1 "):]
	        assert tail.startswith("HTTP/1.1 400 "), (req, text)
	        body = '{ "error": "%s\nAll previous unanswered requests will be dropped." }' % want
	        assert tail.endswith(body), (req, tail)
	        print("ok", req[:20], end)
	PY
	assert_success
	assert_equal "$(grep -c '^ok' <<<"$output")" 10
	# the server serves on
	expect_api 200 GET /
}

@test "with 10 idle connections an operator's GET / gets 200 within 5 s" {
	api_start
	limits_py <<-'PY'
	idle = []
	for _ in range(5):      # five served a request, one after the other...
	    s = conn()
	    s.sendall(b"GET / HTTP/1.1\r\n\r\n")
	    assert s.recv(4096).startswith(b"HTTP/1.1 200 ")
	    idle.append(s)
	idle += [conn() for _ in range(5)]   # ...five never sent a byte
	s = conn(timeout=5)
	s.sendall(b"GET / HTTP/1.1\r\n\r\n")
	answer = s.recv(4096)
	print(answer.decode())
	# evicted: the first, which has gone longest without completing a request
	data, end = read_all(idle[0])
	print("evicted:", end, len(data))
	PY
	assert_success
	assert_line --index 0 --partial 'HTTP/1.1 200 '
	assert_output --partial 'evicted: eof 0'
	grep -q 'API connection closed to make room for a new one' "$OUT" || fail "no eviction line: $(cat "$OUT")"
}

@test "10 trickling connections are closed by a 2 s request timeout with 408" {
	api_start --http-api-request-timeout-s 2
	limits_py <<-'PY'
	req = b"GET / HTTP/1.1\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
	socks = [conn() for _ in range(10)]
	start = time.monotonic()
	closed = {}
	i = 0
	while len(closed) < 10 and time.monotonic() - start < 60:
	    for n, s in enumerate(socks):
	        if n in closed:
	            continue
	        try:
	            s.sendall(req[i:i + 1])   # one byte each 0.2 s: never complete in 2 s
	        except (BrokenPipeError, ConnectionResetError):
	            closed[n] = read_all(s)
	    i += 1
	    time.sleep(0.2)
	for n in sorted(closed):
	    data, end = closed[n]
	    print(n, data.split(b"\r\n")[0].decode(), end)
	    assert data.startswith(b"HTTP/1.1 408 "), data
	    assert b"Request timeout: the request was not complete 2 s after its first byte." in data
	assert len(closed) == 10, closed
	PY
	assert_success
	expect_api 200 GET /
	grep -q 'API request timed out' "$OUT" || fail "no timeout line: $(cat "$OUT")"
}

@test "an idle connection is closed after --http-api-idle-timeout-s; 0 keeps it" {
	api_start --http-api-idle-timeout-s 1
	limits_py <<-'PY'
	s = conn()
	s.sendall(b"GET / HTTP/1.1\r\n\r\n")
	assert s.recv(4096).startswith(b"HTTP/1.1 200 ")
	data, end = read_all(s)   # closed by the server, bounded by the 20 s socket timeout
	print("closed", end, len(data))
	PY
	assert_success
	assert_output 'closed eof 0'
	api_stop
	api_start --http-api-idle-timeout-s 0 --http-api-request-timeout-s 1
	limits_py <<-'PY'
	s = conn(timeout=3)
	try:
	    print(s.recv(1))
	except socket.timeout:
	    print("still open")
	PY
	assert_output 'still open'
}

@test "10 clients pipelining without reading keep answers unsent: the 11th gets Firecracker's 503" {
	api_start --mmds-size-limit 40000 --http-api-max-payload-size 45000
	expect_api 204 PUT /mmds "{\"big\":\"$(printf '%030000d' 0)\"}"
	limits_py <<-'PY'
	clients = []
	for _ in range(10):
	    s = conn()
	    s.sendall(b"GET /mmds HTTP/1.1\r\n\r\n" * 40)   # ~1.2 MB of answers, far over a socket buffer
	    first = s.recv(1)                              # the server has begun answering it
	    clients.append((s, first))
	s = conn()
	data, end = read_all(s)
	print(data.decode())
	# every pipelining client still gets all its answers
	for c, got in clients:
	    while got.count(b"HTTP/1.1 200 ") < 40 or not got.endswith(b"}"):
	        chunk = c.recv(1 << 16)
	        assert chunk, "closed early"
	        got += chunk
	print("all answered")
	PY
	assert_success
	assert_output --partial 'HTTP/1.1 503'
	assert_output --partial '{ "error": "Too many open connections" }'
	assert_output --partial 'all answered'
	expect_api 200 GET /
}

@test "a 1000-connect burst leaves at most 10 held and the fds back to the start" {
	api_start
	expect_api 200 GET /
	start=$(ember_fds)
	limits_py <<-PY
	import os, resource
	soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
	resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
	keep = min(hard, 4096) - 64
	socks = []
	for i in range(1000):
	    socks.append(conn())
	    if len(socks) > keep:
	        socks.pop(0).close()
	held = None
	for _ in range(100):      # the api thread catches up with the backlog
	    held = len(os.listdir("/proc/$EMBER_PID/fd")) - $start
	    if held <= 10:
	        break
	    time.sleep(0.1)
	print("held", held)
	for s in socks:
	    s.close()
	PY
	assert_success
	held=$(sed -n 's/^held //p' <<<"$output")
	[ "$held" -le 10 ] || fail "ember holds $held connections: $output"
	# At most the start: the start may still count the first GET's
	# connection, which ember closes once it reads curl's EOF (seen later
	# than the count under strace).
	for _ in $(seq 100); do
		[ "$(ember_fds)" -le "$start" ] && break
		sleep 0.1
	done
	[ "$(ember_fds)" -le "$start" ] || fail "ember holds $(ember_fds) fds, $start at the start"
	expect_api 200 GET /
}

@test "the timeout flags are validated strictly and listed by --help" {
	for bad in "--http-api-request-timeout-s 0" "--http-api-request-timeout-s 86401" \
		"--http-api-request-timeout-s 1x" "--http-api-request-timeout-s -1" "--http-api-idle-timeout-s 0x10" \
		"--http-api-idle-timeout-s 99999999999999999999" "--http-api-idle-timeout-s ''"; do
		# shellcheck disable=SC2086
		eval "run $EMBER --api-sock $BATS_TEST_TMPDIR/x.sock $bad"
		assert_failure 153
		assert_output --partial "is not a decimal number of seconds from"
	done
	run "$EMBER" --help
	assert_success
	assert_output --partial '--http-api-request-timeout-s'
	assert_output --partial '--http-api-idle-timeout-s'
}
