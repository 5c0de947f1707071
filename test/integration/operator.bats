#!/usr/bin/env bats
# ember as an operator meets it (issue 24): ordered shutdown on SIGTERM and
# SIGINT (also as pid 1 of a pid namespace), stale API sockets, messages that
# name files, config files that GET /vm/config wrote, the log's rate limiter
# under a real configuration sequence, vCPU threads a cgroup does not allow,
# and --help of every program.

bats_require_minimum_version 1.5.0
load helpers
load api-helpers
load operator-helpers

teardown() {
	api_stop
	declare -F jailed_teardown >/dev/null && jailed_teardown
	[ -z "${OP_TMPDIR:-}" ] || rm -rf "$OP_TMPDIR"
	for pid in ${OTHER_PIDS:-}; do kill -KILL "$pid" 2>/dev/null || true; done
}

# ---- shutdown ----

# shutdown_check SIGNAL: a running guest, then SIGNAL: vCPUs stopped,
# metrics flushed, socket removed, exit line, exit 0.
shutdown_check() {
	require_kvm
	local m=$BATS_TEST_TMPDIR/metrics sock=$BATS_TEST_TMPDIR/api.sock
	write_wait_config "$BATS_TEST_TMPDIR/vm.json" 2
	ember_bg --api-sock "$sock" --config-file "$BATS_TEST_TMPDIR/vm.json" --metrics-path "$m"
	wait_sock "$sock"
	wait_output 'PROBE-INFO wait \(ready\|tick\)'
	[ "$(wc -l <"$m")" -eq 1 ] || fail "one metrics line after the start: $(cat "$m")"
	curl_sock "$sock" GET /
	assert_equal "$code" 200
	kill "-$1" "$EMBER_PID"
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	[ ! -e "$sock" ] || fail "the API socket is left behind"
	grep -q "Received SIG$1: shutting down the microVM" "$OUT" || fail "$(tail -5 "$OUT")"
	tail -1 "$OUT" | grep -q 'exit_code=0' || fail "last line: $(tail -1 "$OUT")"
	[ "$(wc -l <"$m")" -eq 2 ] || fail "a metrics line at exit: $(cat "$m")"
	# The final line counts what happened since the first: the GET / above.
	run python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["get_api_requests"]["instance_info_count"])' "$m"
	assert_output 1
}

@test "SIGTERM: vCPUs stopped, metrics flushed, socket removed, exit 0" {
	shutdown_check TERM
}

@test "SIGINT with stdin not a terminal shuts down the same way" {
	# A shell's background job starts with SIGINT ignored; ember handles it anyway.
	shutdown_check INT
}

@test "SIGTERM before any configuration: socket removed, exit 0" {
	local sock=$BATS_TEST_TMPDIR/api.sock
	ember_bg --api-sock "$sock"
	wait_sock "$sock"
	kill -TERM "$EMBER_PID"
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	[ ! -e "$sock" ] || fail "the API socket is left behind"
}

@test "SIGTERM to ember as pid 1 of --new-pid-ns: a subreaper collects exit 0" {
	load jailer-helpers
	jailed_setup
	cat >"$JPUB/vm.json" <<-JSON
	{ "boot-source": { "kernel_image_path": "/probe.elf", "boot_args": "$(wait_args)" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 } }
	JSON
	OUT=$BATS_TEST_TMPDIR/ember.out
	# The subreaper starts the jailer, which leaves once ember runs; ember,
	# pid 1 of its namespace, is then its child.
	run timeout --kill-after=5 120 python3 - "$OUT" "$JROOT/ember.pid" "$JAILER" --id "$JID" \
		--exec-file "$EMBER" --uid 4711 --gid 4712 --chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT" \
		--new-pid-ns --bind-ro "$PROBE=probe.elf" --bind-ro "$JPUB/vm.json=vm.json" \
		-- --api-sock /api.sock --config-file /vm.json <<-'PY'
	import ctypes, os, signal, subprocess, sys, time
	out, pidfile, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
	ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
	with open(out, "w") as f:
	    rc = subprocess.call(argv, stdout=f, stderr=f, stdin=subprocess.DEVNULL)
	print("jailer", rc)
	pid = int(open(pidfile).read())
	nspid = [l for l in open(f"/proc/{pid}/status") if l.startswith("NSpid:")][0].split()
	print("pid1", nspid[-1])  # the innermost namespace's pid
	for _ in range(600):
	    if "PROBE-INFO wait" in open(out).read():
	        break
	    time.sleep(0.1)
	os.kill(pid, signal.SIGTERM)
	_, st = os.waitpid(pid, 0)
	print("ember", os.waitstatus_to_exitcode(st))
	PY
	assert_success
	assert_line "jailer 0"
	assert_line "pid1 1"
	assert_line "ember 0"
	grep -q 'Received SIGTERM' "$OUT" || fail "$(tail -5 "$OUT")"
	[ ! -e "$JROOT/api.sock" ] || fail "the API socket is left behind"
	jailed_teardown
}

# ---- vCPU threads a cgroup does not allow ----

@test "jailed with pids.max=3, 2 vCPUs and the API: the start fails naming the vCPU and pids.max" {
	load jailer-helpers
	jailed_setup
	write_wait_config "$JPUB/vm.json" 2
	sed -i "s|\"$PROBE\"|\"/probe.elf\"|" "$JPUB/vm.json"
	# The vmm thread, the api thread and vcpu0 use the three pids.
	run timeout --kill-after=5 120 "$JAILER" --id "$JID" --exec-file "$EMBER" --uid 4711 --gid 4712 \
		--chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT" --cgroup pids.max=3 \
		--bind-ro "$PROBE=probe.elf" --bind-ro "$JPUB/vm.json=vm.json" \
		-- --api-sock /api.sock --config-file /vm.json
	assert_equal "$status" 1
	refute_output --partial 'Successfully started'
	refute_output --partial 'PROBE'
	assert_output --partial 'cannot create the thread of vCPU 1: Resource temporarily unavailable'
	assert_output --partial "pids.max"
	assert_output --partial 'exit_code=1'
}

@test "jailed with pids.max=3 and 2 vCPUs, InstanceStart over the API fails naming vCPU 1 and pids.max" {
	load jailer-helpers
	jailed_setup
	OUT=$BATS_TEST_TMPDIR/ember.out
	"$JAILER" --id "$JID" --exec-file "$EMBER" --uid 4711 --gid 4712 --chroot-base-dir "$JBASE" \
		--parent-cgroup "$JPARENT" --cgroup pids.max=3 --bind-ro "$PROBE=probe.elf" \
		-- --api-sock /api.sock >"$OUT" 2>&1 </dev/null &
	EMBER_PID=$! # the jailer execs ember in place
	SOCK=$JROOT/api.sock
	wait_sock "$SOCK"
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"/probe.elf\",\"boot_args\":\"$(wait_args)\"}"
	expect_api 204 PUT /machine-config '{"vcpu_count":2,"mem_size_mib":128}'
	expect_api 400 PUT /actions '{"action_type":"InstanceStart"}' \
		"Start microvm error: cannot create the thread of vCPU 1: Resource temporarily unavailable: the cgroup's pids.max"
	api GET /
	assert_equal "$code" 200
	[[ "$body" == *'"state":"Not started"'* ]] || fail "$body"
	kill -TERM "$EMBER_PID"
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	run grep -c 'PROBE' "$OUT"
	assert_output 0
}

# ---- --help and --version ----

# help_ok PROGRAM WANT: --help prints WANT on stdout, nothing on stderr, exit 0.
help_ok() {
	run --separate-stderr "$1" --help
	assert_success
	assert_output --partial "$2"
	assert_equal "$stderr" ""
}

@test "--help of ember, jailer and ember-seccomp: stdout, exit 0; ember-seccomp --version" {
	help_ok "$EMBER" 'Usage: ember'
	help_ok "$JAILER" 'Usage: jailer'
	# The template names --cgroup-template takes, from the directory it reads.
	local names
	names=$(cd "$EMBER_SRC/cgroup-templates" && ls *.yaml | sed 's/\.yaml$//' | sort | tr '\n' ' ')
	assert_output --regexp "Cgroup templates in [^:]*: ${names% }\$"
	help_ok "$EMBER_SECCOMP" 'usage: ember-seccomp check FILE'
	run --separate-stderr "$EMBER_SECCOMP" --version
	assert_success
	assert_output --regexp '^ember-seccomp v[0-9]+\.[0-9]+\.[0-9]+$'
	run --separate-stderr "$EMBER_SECCOMP"
	assert_equal "$status" 2
	assert_output ""
}

# ---- stale API sockets ----

@test "a stale API socket (nobody accepts) is replaced and served" {
	local sock=$BATS_TEST_TMPDIR/api.sock
	# What a SIGKILLed ember leaves: a bound socket file with no listener.
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$sock"
	[ -S "$sock" ]
	ember_bg --api-sock "$sock"
	for _ in $(seq 100); do
		curl_sock "$sock" GET /
		[ "$code" = 200 ] && break
		kill -0 "$EMBER_PID" 2>/dev/null || fail "ember ended: $(cat "$OUT")"
		sleep 0.1
	done
	assert_equal "$code" 200
	grep -q 'Removed the stale API socket' "$OUT" || fail "$(cat "$OUT")"
}

@test "a live API socket is still refused, and the first ember keeps serving" {
	local sock=$BATS_TEST_TMPDIR/api.sock
	ember_bg --api-sock "$sock"
	wait_sock "$sock"
	run timeout 30 "$EMBER" --api-sock "$sock" </dev/null
	assert_equal "$status" 1
	assert_output --partial "Failed to open the API socket at: $sock. Check that it is not already used."
	curl_sock "$sock" GET /
	assert_equal "$code" 200
	# Not a socket: refused as well, and left alone.
	echo data >"$BATS_TEST_TMPDIR/file"
	run timeout 30 "$EMBER" --api-sock "$BATS_TEST_TMPDIR/file" </dev/null
	assert_equal "$status" 1
	assert_output --partial 'Check that it is not already used.'
	assert_equal "$(cat "$BATS_TEST_TMPDIR/file")" data
}

@test "the API socket file appears only once it listens: bound under a temporary name, renamed into place; none left after a refusal" {
	command -v strace >/dev/null || skip "strace is not installed (tools/setup.sh installs it)"
	[ "$(head -c 4 "$EMBER" | od -An -c | tr -d ' ')" = '177ELF' ] || skip "\$EMBER is a wrapper (seccomp.bats' traced run)"
	local sock=$BATS_TEST_TMPDIR/api.sock
	# A client that waits for the file and connects at once (the Go SDK, the
	# tests) met ECONNREFUSED when the file was bound but not yet listening.
	strace -f -qq -e trace=bind,listen,renameat2 -o "$BATS_TEST_TMPDIR/trace" "$EMBER" --api-sock "$sock" \
		>"$BATS_TEST_TMPDIR/out" 2>&1 </dev/null &
	EMBER_PID=$!
	wait_sock "$sock"
	curl_sock "$sock" GET /
	assert_equal "$code" 200
	pkill -TERM -P "$EMBER_PID" # ember, strace's child; strace then ends
	wait "$EMBER_PID" || true
	EMBER_PID=
	run grep -E '^[0-9]+ +(bind|listen|renameat2)\(' "$BATS_TEST_TMPDIR/trace"
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 --regexp "bind\([0-9]+, \{sa_family=AF_UNIX, sun_path=\"$sock\.ember-[0-9]+\.bind\"\}"
	assert_line --index 1 --regexp 'listen\([0-9]+, '
	assert_line --index 2 --regexp "renameat2\(AT_FDCWD, \"$sock\.ember-[0-9]+\.bind\", AT_FDCWD, \"$sock\", RENAME_NOREPLACE\) = 0"
	# A refused start (the path is taken) leaves no temporary file behind.
	echo data >"$BATS_TEST_TMPDIR/file"
	run timeout 30 "$EMBER" --api-sock "$BATS_TEST_TMPDIR/file" </dev/null
	assert_equal "$status" 1
	run ls "$BATS_TEST_TMPDIR"
	refute_output --partial '.bind'
}

# ---- the log under a real configuration sequence, and a flood ----

@test "a 20-request Kata-sized configuration sequence appears whole in the log (pairs intact)" {
	require_kvm
	api_start --level Debug
	for i in 0 1 2 3 4 5 6 7; do truncate -s 1M "$BATS_TEST_TMPDIR/d$i.img"; done
	expect_api 200 GET /
	expect_api 200 GET /version
	expect_api 204 PUT /metrics "{\"metrics_path\":\"$BATS_TEST_TMPDIR/metrics\"}"
	expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128}'
	expect_api 200 GET /machine-config
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"$(wait_args)\"}"
	for i in 0 1 2 3 4 5 6 7; do
		expect_api 204 PUT /drives/d$i "{\"drive_id\":\"d$i\",\"path_on_host\":\"$BATS_TEST_TMPDIR/d$i.img\",\"is_root_device\":false,\"is_read_only\":true}"
	done
	expect_api 204 PATCH /machine-config '{"mem_size_mib":128}'
	expect_api 204 PUT /mmds '{"k":"v"}'
	expect_api 200 GET /vm/config
	expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
	wait_guest_running
	expect_api 200 GET /
	expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	run python3 - "$OUT" <<-'PY'
	import re, sys
	lines = [l for l in open(sys.argv[1], errors="replace") if ":api]" in l]
	seq, open_req = [], None
	for l in lines:
	    m = re.search(r'The API server received a (\w+) request on "([^"]+)"', l)
	    if m:
	        assert open_req is None, "request without its duration line: " + open_req
	        open_req = m.group(1) + " " + m.group(2)
	        seq.append(open_req)
	    elif "Total previous API call duration" in l:
	        assert open_req, "a duration line without its request"
	        open_req = None
	assert open_req is None, "last request without its duration line"
	assert "suppressed" not in open(sys.argv[1]).read(), "something was suppressed"
	print(len(seq), seq[13], seq[-1])
	PY
	assert_success
	assert_output '20 Put /drives/d7 Put /actions'
}

@test "a site flooded then quiet prints its summary within one window; rate_limited_log_count counts it" {
	local m=$BATS_TEST_TMPDIR/metrics sock=$BATS_TEST_TMPDIR/api.sock
	ember_bg --api-sock "$sock" --metrics-path "$m"
	wait_sock "$sock"
	# Each SIGPIPE is logged through one rate-limited site ("Received signal 13.").
	# 40 of them: signals that arrive while one is pending merge, so send
	# more than the budget of 10 needs.
	for _ in $(seq 40); do
		kill -PIPE "$EMBER_PID"
		sleep 0.01
	done
	n=$(grep -c 'Received signal 13' "$OUT" || true)
	[ "$n" -ge 10 ] || fail "only $n lines: $(cat "$OUT")"
	# Nothing else logs now: the vmm loop's timer must write the summary
	# once the window (5 s) ends. Liveness bound: 30 s.
	for _ in $(seq 300); do
		grep -q 'messages from this site were suppressed' "$OUT" && break
		sleep 0.1
	done
	grep -q 'messages from this site were suppressed' "$OUT" || fail "no summary: $(cat "$OUT")"
	dropped=$(sed -n 's/.* \([0-9]*\) messages from this site were suppressed.*/\1/p' "$OUT")
	[ "$dropped" -ge 1 ] || fail "dropped '$dropped'"
	kill -TERM "$EMBER_PID"
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	run python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["logger"]["rate_limited_log_count"])' "$m"
	assert_output "$dropped"
}

# ---- GET /vm/config loads back as --config-file ----

# roundtrip_boot FILE: ember boots the probe from a GET /vm/config output.
roundtrip_boot() {
	run timeout --kill-after=5 120 "$EMBER" --no-api --config-file "$1"
	assert_success
	assert_probe_all_ok
}

@test "GET /vm/config with the boot source only boots the probe as --config-file" {
	require_kvm
	load boot-helpers
	api_start
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"$(probe_boot_args 1 128 boot)\"}"
	expect_api 200 GET /vm/config
	printf '%s' "$body" >"$BATS_TEST_TMPDIR/vm.json"
	grep -q '"logger":null' "$BATS_TEST_TMPDIR/vm.json" || fail "$body"
	grep -q '"metrics":null' "$BATS_TEST_TMPDIR/vm.json" || fail "$body"
	api_stop
	roundtrip_boot "$BATS_TEST_TMPDIR/vm.json"
}

@test "GET /vm/config with nine drives boots the probe as --config-file (metrics and logger: null, as Firecracker's)" {
	require_kvm
	load boot-helpers
	api_start
	local m=$BATS_TEST_TMPDIR/metrics
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"$(probe_boot_args 2 128 boot)\"}"
	expect_api 204 PUT /machine-config '{"vcpu_count":2,"mem_size_mib":128}'
	for i in 0 1 2 3 4 5 6 7 8; do
		truncate -s 1M "$BATS_TEST_TMPDIR/d$i.img"
		local rl=''
		[ "$i" = 3 ] && rl=',"rate_limiter":{"bandwidth":{"size":1048576,"refill_time":100},"ops":null}'
		expect_api 204 PUT /drives/d$i "{\"drive_id\":\"d$i\",\"path_on_host\":\"$BATS_TEST_TMPDIR/d$i.img\",\"is_root_device\":$([ $i = 0 ] && echo true || echo false),\"is_read_only\":$([ $((i % 2)) = 1 ] && echo true || echo false)$rl}"
	done
	expect_api 204 PUT /metrics "{\"metrics_path\":\"$m\"}"
	expect_api 204 PUT /logger "{\"log_path\":\"$BATS_TEST_TMPDIR/log\",\"level\":\"Debug\",\"show_level\":true}"
	expect_api 200 GET /vm/config
	printf '%s' "$body" >"$BATS_TEST_TMPDIR/vm.json"
	# Firecracker leaves the process's metrics and logger out of the VM's configuration.
	grep -q '"logger":null' "$BATS_TEST_TMPDIR/vm.json" || fail "$body"
	grep -q '"metrics":null' "$BATS_TEST_TMPDIR/vm.json" || fail "$body"
	api_stop
	rm -f "$m" "$BATS_TEST_TMPDIR/log"
	roundtrip_boot "$BATS_TEST_TMPDIR/vm.json"
	# The loaded config is the same configuration: nine drives, the rate limiter, two vCPUs.
	python3 - "$BATS_TEST_TMPDIR/vm.json" <<-'PY'
	import json, sys
	c = json.load(open(sys.argv[1]))
	assert len(c["drives"]) == 9, c["drives"]
	assert c["drives"][3]["rate_limiter"]["bandwidth"]["size"] == 1048576, c["drives"][3]
	assert c["machine-config"]["vcpu_count"] == 2, c["machine-config"]
	PY
	[ ! -e "$m" ] || fail "the metrics file came back from a config that has no metrics"
}

# ---- messages about files ----

# expect_both_forms REL: the output names REL as given and resolved against $PWD.
expect_both_forms() {
	assert_output --partial "$1 (resolved: $PWD/$1): No such file or directory (os error 2)"
}

@test "each kind of file, missing at a relative path, is named as given and resolved" {
	cd "$BATS_TEST_TMPDIR"
	local k=no/vmlinux
	echo "{\"boot-source\": {\"kernel_image_path\": \"$k\"}}" >kernel.json
	run timeout 30 "$EMBER" --no-api --config-file kernel.json
	assert_equal "$status" 152
	assert_output --partial 'Boot source error: The kernel file cannot be opened: '
	expect_both_forms "$k"

	echo "{\"boot-source\": {\"kernel_image_path\": \"$PROBE\", \"initrd_path\": \"no/initrd\"}}" >initrd.json
	run timeout 30 "$EMBER" --no-api --config-file initrd.json
	assert_equal "$status" 152
	expect_both_forms no/initrd

	echo "{\"boot-source\": {\"kernel_image_path\": \"$PROBE\"}, \"drives\": [{\"drive_id\": \"d\",
		\"path_on_host\": \"no/disk.img\", \"is_root_device\": false}]}" >drive.json
	run timeout 30 "$EMBER" --no-api --config-file drive.json
	assert_equal "$status" 152
	assert_output --partial 'Error manipulating the backing file: '
	expect_both_forms no/disk.img

	echo "{\"boot-source\": {\"kernel_image_path\": \"$PROBE\"}, \"logger\": {\"log_path\": \"no/log\"}}" >log.json
	run timeout 30 "$EMBER" --no-api --config-file log.json
	assert_equal "$status" 152
	assert_output --partial 'Logger error: Failed to open target file: '
	expect_both_forms no/log
	run timeout 30 "$EMBER" --no-api --config-file kernel.json --log-path no/log2
	assert_output --partial 'Failed to open the log file '
	expect_both_forms no/log2

	echo "{\"boot-source\": {\"kernel_image_path\": \"$PROBE\"}, \"metrics\": {\"metrics_path\": \"no/m\"}}" >metrics.json
	run timeout 30 "$EMBER" --no-api --config-file metrics.json
	assert_equal "$status" 152
	expect_both_forms no/m
	echo "{\"boot-source\": {\"kernel_image_path\": \"$PROBE\"}}" >good.json
	run timeout 30 "$EMBER" --no-api --config-file good.json --metrics-path no/m2
	assert_equal "$status" 152
	expect_both_forms no/m2

	run timeout 30 "$EMBER" --no-api --config-file kernel.json --seccomp-filter no/policy.yaml
	assert_equal "$status" 152
	assert_output --partial 'Seccomp error: '
	expect_both_forms no/policy.yaml

	run timeout 30 "$EMBER" --no-api --config-file no/vm.json
	assert_equal "$status" 152
	assert_output --partial 'cannot open the configuration file '
	expect_both_forms no/vm.json

	run timeout 30 "$EMBER" --no-api --config-file good.json --metadata no/meta.json
	assert_equal "$status" 152
	expect_both_forms no/meta.json
}

@test "the API's fault_messages name a relative missing file in both forms" {
	cd "$BATS_TEST_TMPDIR"
	api_start
	expect_api 400 PUT /boot-source '{"kernel_image_path":"no/vmlinux"}' \
		"The kernel file cannot be opened: no/vmlinux (resolved: $PWD/no/vmlinux): No such file or directory (os error 2)"
	expect_api 400 PUT /drives/d '{"drive_id":"d","path_on_host":"no/d.img","is_root_device":false}' \
		"no/d.img (resolved: $PWD/no/d.img): No such file or directory (os error 2)"
	expect_api 400 PUT /metrics '{"metrics_path":"no/m"}' "no/m (resolved: $PWD/no/m): No such file"
	expect_api 400 PUT /logger '{"log_path":"no/l"}' "no/l (resolved: $PWD/no/l): No such file"
}

@test "a kernel uid 65534 cannot read: the message names the path, uid 65534 and gid 65534" {
	require_root
	local d
	d=$(mktemp -d /tmp/ember-op-XXXXXX)
	OP_TMPDIR=$d
	chmod 1777 "$d" # uid 65534 makes its API socket here
	cp "$PROBE" "$d/vmlinux"
	chmod 600 "$d/vmlinux"
	echo "{\"boot-source\": {\"kernel_image_path\": \"$d/vmlinux\"}}" >"$d/vm.json"
	chmod 644 "$d/vm.json"
	run timeout 30 setpriv --reuid 65534 --regid 65534 --clear-groups "$EMBER" --no-api --config-file "$d/vm.json"
	local out=$output st=$status
	# The same through the API, with a relative path from ember's working directory.
	cd "$d"
	SOCK=$d/api.sock
	OUT=$d/ember.out
	setpriv --reuid 65534 --regid 65534 --clear-groups "$EMBER" --api-sock "$SOCK" >"$OUT" 2>&1 </dev/null &
	EMBER_PID=$!
	wait_sock "$SOCK"
	api PUT /boot-source '{"kernel_image_path":"vmlinux"}'
	api_stop
	output=$out status=$st
	assert_equal "$status" 152
	assert_output --partial "The kernel file cannot be opened: $d/vmlinux: Permission denied (os error 13; uid 65534, gid 65534)"
	assert_equal "$code" 400
	[[ "$body" == *"vmlinux (resolved: $d/vmlinux): Permission denied (os error 13; uid 65534, gid 65534)"* ]] || fail "$body"
}

@test "the jailer names a relative missing template in both forms" {
	require_root
	cd "$BATS_TEST_TMPDIR"
	mkdir base
	# The stand-in: static in every build, as the jailer requires.
	run "$JAILER" --id "op-$$" --exec-file "$EMBER_BUILD/test/helpers/vmm-standin" --uid 4711 --gid 4712 --chroot-base-dir "$BATS_TEST_TMPDIR/base" \
		--cgroup-template no/small.yaml --dry-run -- --no-api
	assert_failure
	assert_output --partial 'Cannot open cgroup template '
	expect_both_forms no/small.yaml
}
