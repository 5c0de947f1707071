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
