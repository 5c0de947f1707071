#!/usr/bin/env bats
# ember as Firecracker (issue 29): the version engines check, the default API
# socket, the behaviour when installed as `firecracker`, the log words tools
# wait for, and what the guest sees (` pci=off`).

load helpers
load boot-helpers
load api-helpers
load operator-helpers

setup() {
	TMP=$(mktemp -d)
}

teardown() {
	api_stop
	if [ -n "${JID:-}" ]; then
		load jailer-helpers
		jailed_teardown
	fi
	rm -rf "$TMP"
}

# semver_ge A B: A >= B for plain MAJOR.MINOR.PATCH (Kata's semver.Make and LT).
semver_ge() {
	python3 -c 'import sys; a, b = (tuple(map(int, v.split("."))) for v in sys.argv[1:]); sys.exit(a < b)' "$1" "$2"
}

# ---- identity ----

@test "--version: line 1, field 2 is a semver >= 0.21.1 (Kata's parse); GET /version and GET / say it without v" {
	run "$EMBER" --version
	assert_success
	# Kata (fc.go parseVersion): the first line, split at spaces, field 2, "v" trimmed.
	version=$(printf '%s\n' "$output" | head -n 1 | cut -d' ' -f2)
	version=${version#v}
	[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "not a semver: '$version' in: $output"
	semver_ge "$version" 0.21.1 || fail "$version < 0.21.1: Kata refuses it"
	api_start
	expect_api 200 GET /version
	assert_equal "$body" "{\"firecracker_version\":\"$version\"}"
	expect_api 200 GET /
	[[ "$body" == *"\"vmm_version\":\"$version\""* ]] || fail "GET /: $body"
	grep -q "Running Firecracker v$version\$" "$OUT" || fail "no start line: $(cat "$OUT")"
}

@test "the default API socket is /run/firecracker.socket (private mount namespace, tmpfs on /run)" {
	require_root
	command -v unshare >/dev/null || skip "unshare is not installed"
	cat >"$TMP/inside.sh" <<-SH
	set -u
	mount -t tmpfs -o mode=0755 tmpfs /run || exit 90
	"$EMBER" --id identity-bats-$$ >"$TMP/out" 2>&1 </dev/null &
	pid=\$!
	for _ in \$(seq 200); do [ -S /run/firecracker.socket ] && break; sleep 0.05; done
	ls -l /run >"$TMP/ls"
	curl -s --max-time 20 --unix-socket /run/firecracker.socket http://localhost/ >"$TMP/get" || echo fail >"$TMP/get"
	kill -TERM \$pid
	wait \$pid
	echo "exit=\$?" >"$TMP/exit"
	[ -e /run/firecracker.socket ] && echo left >"$TMP/left"
	exit 0
	SH
	host_before=$(stat -c %i /run/firecracker.socket 2>/dev/null || echo none)
	run timeout --kill-after=5 60 unshare -m --propagation private sh "$TMP/inside.sh"
	assert_success
	grep -q '"state":"Not started"' "$TMP/get" || fail "GET / on the default socket: $(cat "$TMP/get"); $(cat "$TMP/out")"
	assert_equal "$(cat "$TMP/exit")" "exit=0"
	[ ! -e "$TMP/left" ] || fail "the socket was left behind"
	grep -q 'firecracker.socket' "$TMP/ls" || fail "$(cat "$TMP/ls")"
	grep -q 'Firecracker exiting successfully. exit_code=0' "$TMP/out" || fail "$(cat "$TMP/out")"
	# The host's /run never saw it.
	assert_equal "$(stat -c %i /run/firecracker.socket 2>/dev/null || echo none)" "$host_before"
}

@test "the API socket's mode is 0755 whatever ember's umask (Firecracker's); connecting needs write access" {
	for mask in 077 000 022; do
		umask "$mask"
		api_start
		umask 022
		assert_equal "$(stat -c %a "$SOCK")" 755
		expect_api 200 GET /version
		api_stop
	done
	# Write access is the owner's alone: another user cannot connect.
	require_root
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	chmod 0755 "$TMP"
	"$EMBER" --api-sock "$TMP/api.sock" --id "identity-$$" >"$TMP/out" 2>&1 &
	EMBER_PID=$!
	for _ in $(seq 200); do [ -S "$TMP/api.sock" ] && break; sleep 0.05; done
	SOCK=$TMP/api.sock
	expect_api 200 GET /version
	# The other user reaches the socket (so a refusal is the socket's mode, not the path's)...
	run setpriv --reuid 4713 --regid 4713 --clear-groups stat -c %a "$TMP/api.sock"
	assert_success
	assert_output 755
	# ...and cannot connect.
	run setpriv --reuid 4713 --regid 4713 --clear-groups python3 -c \
		'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$TMP/api.sock"
	assert_failure
	assert_output --partial 'PermissionError: [Errno 13] Permission denied'
}

@test "jailed as firecracker: <base>/firecracker/<id>/root, firecracker.pid, main comm firecracker, default socket" {
	load jailer-helpers
	jailed_setup
	JROOT=$JBASE/firecracker/$JID/root
	cp "$EMBER" "$JPUB/firecracker"
	EXEC=$JPUB/firecracker
	OUT=$BATS_TEST_TMPDIR/ember.out
	# Kata's jailed start: no --api-sock (the default, inside the jail), --daemonize.
	run timeout --kill-after=5 60 "$JAILER" --id "$JID" --exec-file "$EXEC" --uid 4711 --gid 4712 \
		--chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT" --bind-ro "$PROBE=probe.elf" --daemonize
	assert_success
	SOCK=$JROOT/run/firecracker.socket
	for _ in $(seq 200); do [ -S "$SOCK" ] && break; sleep 0.05; done
	[ -S "$SOCK" ] || fail "no $SOCK: $(ls -lR "$JBASE" | head -30)"
	# The jailer's umask is 077; the socket is still Firecracker's 0755, owned by the jail's uid.
	assert_equal "$(stat -c '%a %u' "$SOCK")" "755 4711"
	pid=$(cat "$JROOT/firecracker.pid")
	[ -n "$pid" ] && kill -0 "$pid" || fail "firecracker.pid: '$pid'"
	assert_equal "$(cat "/proc/$pid/comm")" firecracker
	expect_api 200 GET /
	[[ "$body" == *'"state":"Not started"'* ]] || fail "$body"
	# Kata finds the vCPU threads by comm: 2 vCPUs, "fc_vcpu 0" and "fc_vcpu 1".
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"/probe.elf\",\"boot_args\":\"$(wait_args)\"}"
	expect_api 204 PUT /machine-config '{"vcpu_count":2,"mem_size_mib":128}'
	expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
	run sh -c "cat /proc/$pid/task/*/comm | grep -v '^kvm-' | sort"
	assert_output "$(printf 'fc_api\nfc_vcpu 0\nfc_vcpu 1\nfirecracker')"
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null || fail "firecracker $pid did not stop on SIGTERM"
}

@test "the log says Firecracker's start and exit lines, with error too" {
	run timeout --kill-after=5 30 "$EMBER" --no-api --config-file /nonexistent-identity-$$ --id "identity-$$"
	assert_equal "$status" 152
	assert_output --regexp '\[identity-[0-9]+:vmm\] Running Firecracker v[0-9]+\.[0-9]+\.[0-9]+'
	assert_output --partial 'Firecracker exiting with error. exit_code=152'
}

# ---- what the guest sees ----

@test "the guest's command line ends in Firecracker's pci=off, before the devices' parts (PROBE-INFO cmdline)" {
	require_kvm
	probe_config "$TMP/vm.json" 1 128 boot
	run_ember_config "$TMP/vm.json"
	assert_equal "$status" 0
	seen=$(probe_info cmdline)
	assert_equal "$seen" "$(probe_boot_args 1 128 boot) pci=off"
	assert_output --partial 'Firecracker exiting successfully. exit_code=0'
}

# ---- parsed output ----

@test "GET /vm/config in Firecracker's shape: boot-source before a PUT, unset fields null, logger and metrics null" {
	api_start
	expect_api 200 GET /vm/config
	run python3 -c 'import json,sys; c=json.loads(sys.argv[1]); print(json.dumps(c["boot-source"], separators=(",",":")), json.dumps(c["logger"]), json.dumps(c["metrics"]))' "$body"
	assert_output '{"kernel_image_path":"","initrd_path":null,"boot_args":null} null null'
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\"}"
	expect_api 204 PUT /logger "{\"log_path\":\"$TMP/log\",\"level\":\"Info\"}"
	expect_api 204 PUT /metrics "{\"metrics_path\":\"$TMP/metrics\"}"
	expect_api 200 GET /vm/config
	[[ "$body" == *"\"boot-source\":{\"kernel_image_path\":\"$PROBE\",\"initrd_path\":null,\"boot_args\":null}"* ]] ||
		fail "$body"
	[[ "$body" == *'"logger":null'* && "$body" == *'"metrics":null'* ]] || fail "$body"
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"initrd_path\":\"$PROBE\",\"boot_args\":\"console=ttyS0\"}"
	expect_api 200 GET /vm/config '' "\"boot-source\":{\"kernel_image_path\":\"$PROBE\",\"initrd_path\":\"$PROBE\",\"boot_args\":\"console=ttyS0\"}"
}

# metrics_head FILE: the first line's first keys, comma-separated, and its id and properties.
metrics_head() {
	python3 -c 'import json, sys
l = json.loads(open(sys.argv[1]).readline())
print(",".join(list(l)[:4]), json.dumps(l.get("id")), json.dumps(l.get("properties"), separators=(",", ":")))' "$1"
}

@test "PUT /metrics emit_id and properties: top-level id and properties after utc_timestamp_ms; off: neither" {
	api_start
	expect_api 400 PUT /metrics "{\"metrics_path\":\"$TMP/m\",\"properties\":{\"zone\":\"a\",\"n\":5}}" \
		'invalid type: integer `5`, expected a string for field `properties.n`'
	expect_api 400 PUT /metrics "{\"metrics_path\":\"$TMP/m\",\"properties\":[\"a\"]}" 'for field `properties`'
	expect_api 400 PUT /metrics "{\"metrics_path\":\"$TMP/m\",\"emit_id\":1}" 'for field `emit_id`'
	[ ! -e "$TMP/m" ] || fail "a refused PUT /metrics opened the file"
	expect_api 204 PUT /metrics "{\"metrics_path\":\"$TMP/m\",\"emit_id\":true,\"properties\":{\"zone\":\"a\",\"host\":\"h1\"}}"
	kill -TERM "$EMBER_PID"
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	run metrics_head "$TMP/m"
	assert_output "utc_timestamp_ms,id,properties,api_server \"api-bats-$$\" {\"zone\":\"a\",\"host\":\"h1\"}"
	# Off: emit_id false and no properties.
	api_start
	expect_api 204 PUT /metrics "{\"metrics_path\":\"$TMP/m2\",\"emit_id\":false}"
	kill -TERM "$EMBER_PID"
	api_wait_exit
	run metrics_head "$TMP/m2"
	assert_output --regexp '^utc_timestamp_ms,api_server,[a-z_]+,[a-z_]+ null null$'
}

@test "config key metrics: emit_id and properties on and off; a non-string property refused with 152, named" {
	require_kvm
	for mode in on off bad; do
		probe_config "$TMP/vm.json" 1 128 boot
		python3 - "$TMP/vm.json" "$TMP/m-$mode" "$mode" <<-'PY'
		import json, sys
		c = json.load(open(sys.argv[1]))
		c["metrics"] = {"metrics_path": sys.argv[2]}
		if sys.argv[3] == "on":
		    c["metrics"].update(emit_id=True, properties={"k": "v"})
		if sys.argv[3] == "bad":
		    c["metrics"].update(properties={"k": ["v"]})
		json.dump(c, open(sys.argv[1], "w"))
		PY
		run_ember_config "$TMP/vm.json"
		case $mode in
		on)
			assert_equal "$status" 0
			run metrics_head "$TMP/m-on"
			assert_output "utc_timestamp_ms,id,properties,api_server \"boot-bats-$$\" {\"k\":\"v\"}" ;;
		off)
			assert_equal "$status" 0
			run metrics_head "$TMP/m-off"
			assert_output --regexp '^utc_timestamp_ms,api_server,[a-z_]+,[a-z_]+ null null$' ;;
		bad)
			assert_equal "$status" 152
			assert_output --partial 'invalid type: sequence, expected a string for field `properties.k`'
			[ ! -e "$TMP/m-bad" ] || fail "the refused config opened the metrics file" ;;
		esac
	done
}

# line_of PATTERN FILE: the number of the first line of FILE with PATTERN (fixed string), or 0.
line_of() {
	grep -n -F -m1 -- "$1" "$2" | cut -d: -f1 | grep . || echo 0
}

@test "--metadata: Firecracker's four messages, the file read after \"API server started.\"" {
	echo '{"latest": {"meta-data": {"ami-id": "ami-1"}}}' >"$TMP/meta.json"
	api_start --metadata "$TMP/meta.json"
	expect_api 200 GET /mmds '' '{"latest":{"meta-data":{"ami-id":"ami-1"}}}'
	started=$(line_of 'API server started.' "$OUT")
	added=$(line_of 'Successfully added metadata to mmds from file' "$OUT")
	[ "$started" -gt 0 ] && [ "$added" -gt "$started" ] || fail "order: started $started, added $added: $(cat "$OUT")"
	api_stop
	echo '{"seed": ' >"$TMP/bad.json"
	declare -A want=(
		[missing]="Unable to open or read from the mmds content file: $TMP/missing.json: No such file or directory"
		[bad]="MMDS error: metadata provided not valid json: "
		[big]="Populating MMDS from file failed: The MMDS patch request doesn't fit."
	)
	declare -A file=([missing]="$TMP/missing.json" [bad]="$TMP/bad.json" [big]="$TMP/meta.json")
	for k in missing bad big; do
		rm -f "$TMP/api.sock"
		run timeout --kill-after=5 30 "$EMBER" --api-sock "$TMP/api.sock" --metadata "${file[$k]}" --mmds-size-limit 20
		assert_equal "$status" 152
		printf '%s\n' "$output" >"$TMP/out-$k"
		started=$(line_of 'API server started.' "$TMP/out-$k")
		failed=$(line_of "${want[$k]}" "$TMP/out-$k")
		[ "$started" -gt 0 ] && [ "$failed" -gt "$started" ] || fail "$k: started $started, failed $failed: $output"
		assert_output --partial 'Firecracker exiting with error. exit_code=152'
		refute_output --partial 'Successfully added metadata'
		[ ! -e "$TMP/api.sock" ] || fail "$k: the API socket was left behind"
	done
}
