#!/usr/bin/env bats
# Seccomp: ember's filters on live threads, violations, bad policies, the
# ember-seccomp tool, and the minimality of the default policy.
# See doc/seccomp-policy.md.

load helpers
load boot-helpers
load seccomp-helpers

setup() {
	TMP=$(mktemp -d)
	EMBER_PID=
}

teardown() {
	stop_ember
	rm -rf "$TMP"
}

# ---- filters on a running ember ----

@test "every ember thread runs with Seccomp: 2 and a role stacked on the baseline" {
	require_kvm
	spin_kernel "$TMP/spin.elf"
	spin_config "$TMP/vm.json" "$TMP/spin.elf" 2
	# With the API: vmm, api, vcpu0, vcpu1; without it: vmm, vcpu0, vcpu1.
	for mode in "--api-sock $TMP/api.sock" --no-api; do
		# shellcheck disable=SC2086
		start_spinning_ember "$TMP/vm.json" $([ "$mode" = --no-api ] && echo 3 || echo 4) $mode
		run thread_field "$EMBER_PID" Seccomp
		refute_output --regexp ' [^2]$'
		[ "$mode" = --no-api ] || assert_line 'fc_api 2'
		wait_filters "$EMBER_PID" 2 ||
			fail "not every thread has baseline + role: $(thread_field "$EMBER_PID" Seccomp_filters)"
		run thread_field "$EMBER_PID" NoNewPrivs
		refute_output --regexp ' [^1]$'
		stop_ember
	done
}

@test "--no-seccomp installs nothing and says so" {
	require_kvm
	spin_kernel "$TMP/spin.elf"
	spin_config "$TMP/vm.json" "$TMP/spin.elf" 2
	start_spinning_ember "$TMP/vm.json" 3 --no-api --no-seccomp
	run thread_field "$EMBER_PID" Seccomp
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 3
	refute_output --regexp ' [^0]$'
	grep -q 'no syscall filter is installed' "$TMP/ember.log"
}

@test "--seccomp-filter and --no-seccomp together are an argument error (153)" {
	run "$EMBER" --no-api --config-file /nonexistent --no-seccomp --seccomp-filter "$DEFAULT_POLICY"
	assert_equal "$status" 153
	assert_output --partial "Argument 'no-seccomp' cannot be used together with argument 'seccomp-filter'."
}

# ---- the probe guest under the default policy ----

@test "the probe scenarios run clean under the built-in policy" {
	require_kvm
	for v in 1 2; do
		probe_config "$TMP/vm.json" "$v" 128 boot
		run_ember_config "$TMP/vm.json" --boot-timer
		refute_output --partial 'bad syscall'
		assert_probe_all_ok
		assert_equal "$status" 0
	done
	# Every scenario the probe has (test/guest/scenarios.c), whatever its
	# verdict: none may end in a seccomp kill.
	scenarios=$(sed -n 's/^[[:space:]]*{ "\([a-z0-9_-]*\)", scenario_[a-z0-9_]* },$/\1/p' "$EMBER_SRC/test/guest/scenarios.c")
	[ -n "$scenarios" ] || fail "no scenario found in test/guest/scenarios.c"
	for sc in $scenarios; do
		probe_config "$TMP/sc.json" 1 128 "$sc"
		run_ember_config "$TMP/sc.json"
		refute_output --partial 'bad syscall'
		[ "$status" -ne 148 ] || fail "scenario $sc ended in 148"
	done
}

@test "a YAML policy and its compiled bundle both boot the probe" {
	require_kvm
	require_unsanitized
	"$EMBER_SECCOMP" compile "$DEFAULT_POLICY" -o "$TMP/default.bundle"
	probe_config "$TMP/vm.json" 2 128 boot
	for f in "$DEFAULT_POLICY" "$TMP/default.bundle"; do
		run_ember_config "$TMP/vm.json" --seccomp-filter "$f"
		assert_output --partial "filters loaded from $f"
		assert_probe_all_ok
		assert_equal "$status" 0
	done
}

# ---- violations ----

@test "a policy missing one needed rule ends in 148, naming the syscall" {
	require_kvm
	require_unsanitized
	policy_without "$TMP/p.yaml" epoll_wait
	run diff "$DEFAULT_POLICY" "$TMP/p.yaml"
	assert_output --partial 'epoll_wait'
	probe_config "$TMP/vm.json" 1 128 boot
	run_ember_config "$TMP/vm.json" --seccomp-filter "$TMP/p.yaml"
	assert_equal "$status" 148
	# Firecracker's line (siginfo code 1: SYS_SECCOMP), then ember's naming the call.
	assert_output --regexp 'Shutting down VM after intercepting signal 31, code 1\.
.*Shutting down VM after intercepting a bad syscall \(232\): epoll_wait, in role vmm\.'
}

@test "a custom policy that denies ioctl in vcpu ends in 148" {
	require_kvm
	require_unsanitized
	policy_without "$TMP/p.yaml" ioctl
	# Only the vcpu role's ioctl rules go: startup (the baseline) keeps its
	# own, and every role keeps the terminal restore (fd 0, TCSETS) of the
	# thread-runtime group, which cannot run a vCPU.
	"$EMBER_SECCOMP" explain "$TMP/p.yaml" --names >"$TMP/names"
	grep -q '^startup ioctl$' "$TMP/names"
	run "$EMBER_SECCOMP" explain "$TMP/p.yaml" --role vcpu --syscall ioctl
	assert_success
	assert_equal "$(printf '%s\n' "$output" | grep -c 'allow if')" 1
	assert_output --partial 'allow if arg0/32 eq 0 and arg1/32 eq TCSETS'
	refute_output --partial 'KVM_RUN'
	probe_config "$TMP/vm.json" 1 128 boot
	run_ember_config "$TMP/vm.json" --seccomp-filter "$TMP/p.yaml"
	assert_equal "$status" 148
	assert_output --partial 'Shutting down VM after intercepting a bad syscall (16): ioctl, in role vcpu.'
	refute_output --partial 'PROBE DONE'
}

@test "SIGSYS from kill is no violation: Firecracker's line with code 0, exit 2, no syscall named" {
	require_kvm
	spin_kernel "$TMP/spin.elf"
	spin_config "$TMP/vm.json" "$TMP/spin.elf" 1
	for mode in "" --no-seccomp; do
		# shellcheck disable=SC2086
		start_spinning_ember "$TMP/vm.json" 2 --no-api $mode
		kill -SYS "$EMBER_PID"
		wait "$EMBER_PID" && st=0 || st=$?
		EMBER_PID=
		[ "$st" -eq 2 ] || fail "${mode:-filtered}: exit $st, want 2: $(cat "$TMP/ember.log")"
		grep -q 'Shutting down VM after intercepting signal 31, code 0\.$' "$TMP/ember.log" ||
			fail "${mode:-filtered}: no Firecracker line: $(cat "$TMP/ember.log")"
		! grep -q 'bad syscall' "$TMP/ember.log" || fail "a syscall was named: $(cat "$TMP/ember.log")"
	done
}

@test "threads carry Firecracker's comms (fc_api, fc_vcpu N; main keeps its exec name), logs keep vmm/api/vcpuN" {
	require_kvm
	spin_kernel "$TMP/spin.elf"
	spin_config "$TMP/vm.json" "$TMP/spin.elf" 2
	start_spinning_ember "$TMP/vm.json" 4 --api-sock "$TMP/api.sock" --level Debug
	run sh -c "cat /proc/$EMBER_PID/task/*/comm | grep -v '^kvm-' | sort"
	assert_output "$(printf 'ember\nfc_api\nfc_vcpu 0\nfc_vcpu 1')"
	assert_equal "$(cat "/proc/$EMBER_PID/comm")" ember
	stop_ember
	grep -q "\[seccomp-bats-$$:vmm\] Running Firecracker v" "$TMP/ember.log" || fail "$(cat "$TMP/ember.log")"
	for name in api vcpu0 vcpu1; do
		grep -q "\[seccomp-bats-$$:$name\] seccomp: role ${name%%[0-9]} filter installed" "$TMP/ember.log" ||
			fail "no $name line: $(cat "$TMP/ember.log")"
	done
}

@test "seccomp-usage.py maps comms to roles and fails when a role took no thread" {
	printf 'startup seccomp\nstartup clone3\nvmm read\napi accept4\nvcpu ioctl\n' >"$TMP/allowed"
	: >"$TMP/unused"
	# trace_lines [VCPU]: the baseline, the api thread, a vCPU thread when
	# VCPU is given, then the main thread taking the vmm role.
	trace_lines() {
		echo '10<ember> seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, {len=1}) = 0'
		echo '10<ember> clone3({flags=CLONE_VM}, 88) = 11<ember>'
		echo '11<fc_api> seccomp(SECCOMP_SET_MODE_FILTER, 0, {len=1}) = 0'
		echo '11<fc_api> accept4(3, NULL, NULL, SOCK_CLOEXEC) = 4'
		if [ -n "${1:-}" ]; then
			echo '10<ember> clone3({flags=CLONE_VM}, 88) = 12<ember>'
			echo '12<fc_vcpu 0> seccomp(SECCOMP_SET_MODE_FILTER, 0, {len=1}) = 0'
			echo '12<fc_vcpu 0> ioctl(9, KVM_RUN, 0) = 0'
		fi
		echo '10<ember> seccomp(SECCOMP_SET_MODE_FILTER, 0, {len=1}) = 0'
		echo '10<ember> read(4, "", 1) = 0'
	}
	trace_lines >"$TMP/trace.novcpu"
	run python3 "$EMBER_SRC/test/integration/seccomp-usage.py" --allowed "$TMP/allowed" --unused "$TMP/unused" \
		"$TMP/trace.novcpu"
	assert_failure
	assert_output --partial 'NO THREAD TOOK ROLE vcpu'
	assert_output --partial 'minimality: FAIL (1 problem)'
	trace_lines vcpu >"$TMP/trace.all"
	run python3 "$EMBER_SRC/test/integration/seccomp-usage.py" --allowed "$TMP/allowed" --unused "$TMP/unused" \
		"$TMP/trace.all"
	assert_success
	assert_output --partial 'vcpu: 1 allowed, 1 used'
	assert_output --partial 'minimality: ok'
}

# ---- bad policies stop ember before boot ----

@test "bad policy files are refused at start-up with 152 and the loader's message" {
	printf 'version: 1\narches: [x86_64]\ndefaults: {action: trap, bad_arch: kill_process}\nroles: yes\n' >"$TMP/bool.yaml"
	sed '0,/^      - syscall: epoll_wait$/s//      - syscall: epoll_wiat/' "$DEFAULT_POLICY" >"$TMP/typo.yaml"
	sed 's/^version: 1$/version: 1\nextra: 1/' "$DEFAULT_POLICY" >"$TMP/key.yaml"
	line=$(grep -n '^      - syscall: epoll_wiat$' "$TMP/typo.yaml" | head -1 | cut -d: -f1)
	extra=$(grep -n '^extra: 1$' "$TMP/key.yaml" | cut -d: -f1)
	"$EMBER_SECCOMP" compile "$DEFAULT_POLICY" -o "$TMP/b.bundle"
	head -c 200 "$TMP/b.bundle" >"$TMP/short.bundle"
	# Firecracker's seccompiler output: bincode, a map's u64 length first (NUL bytes).
	printf '\003\000\000\000\000\000\000\000\003\000\000\000\000\000\000\000vmm\040\000\000\000' >"$TMP/fc.bpf"
	# Text that is not a policy: the YAML loader's own error, not the binary one.
	printf 'not a policy\n' >"$TMP/text.bpf"
	declare -A want=(
		[bool.yaml]="bool.yaml:4:8: 'yes' is a boolean in YAML 1.1 and a string in 1.2: quote it"
		[typo.yaml]="typo.yaml:$line:18: unknown syscall 'epoll_wiat' on x86_64"
		[key.yaml]="key.yaml:$extra:1: unknown key 'extra' in the policy"
		[short.bundle]="short.bundle: bundle digest mismatch: the file is truncated or corrupt"
		[missing.yaml]="missing.yaml: No such file or directory (os error 2)"
		[fc.bpf]="fc.bpf is not a YAML policy or an ember-seccomp bundle; Firecracker's compiled filters are not read: write the policy in YAML (doc/seccomp-policy.md)"
		[text.bpf]="text.bpf:1:1: expected a mapping for the policy"
	)
	for f in "${!want[@]}"; do
		run "$EMBER" --no-api --config-file /nonexistent --seccomp-filter "$TMP/$f"
		assert_equal "$status" 152
		assert_output --partial "Seccomp error: $TMP/${want[$f]}"
		refute_output --partial 'Configuration for VMM'
	done
}

# ---- policy lint ----

# The vcpu role from the report that found it passing: execve, ptrace,
# unshare, any mprotect and any socket (appended to the default policy's vcpu
# role, its last section). With REASON, each rule says why it is dangerous.
permissive_policy() {
	local out=$1 reason=${2:-} name
	cp "$DEFAULT_POLICY" "$out"
	for name in execve ptrace unshare mprotect socket; do
		printf '      - syscall: %s\n        comment: "lint test"\n' "$name" >>"$out"
		[ -z "$reason" ] || printf '        dangerous: "%s"\n' "$reason" >>"$out"
	done
}

@test "policy lint: the permissive vcpu role is refused by check, compile and ember" {
	permissive_policy "$TMP/perm.yaml"
	line=$(grep -n '^      - syscall: execve$' "$TMP/perm.yaml" | cut -d: -f1)
	want="$TMP/perm.yaml:$line:18: rule allows 'execve', which runs another program: refused unless the rule says why with dangerous: \"<reason>\""
	run "$EMBER_SECCOMP" check "$TMP/perm.yaml"
	assert_equal "$status" 1
	assert_output "$want"
	run "$EMBER_SECCOMP" compile "$TMP/perm.yaml" -o "$TMP/perm.bundle"
	assert_equal "$status" 1
	assert_output "$want"
	assert_file_not_exist "$TMP/perm.bundle"
	run "$EMBER" --no-api --config-file /nonexistent --seccomp-filter "$TMP/perm.yaml"
	assert_equal "$status" 152
	assert_output --partial "Seccomp error: $want"
	refute_output --partial 'Configuration for VMM'
}

@test "policy lint: dangerous lets a rule pass, explain shows the reason, the default policy needs none" {
	run grep -c '^ *dangerous:' "$DEFAULT_POLICY"
	assert_output 0
	permissive_policy "$TMP/perm.yaml" "the lint test allows it on purpose"
	run "$EMBER_SECCOMP" check "$TMP/perm.yaml"
	assert_success
	assert_line "$TMP/perm.yaml: 5 rules marked dangerous: \`ember-seccomp explain\` prints why"
	run "$EMBER_SECCOMP" explain "$TMP/perm.yaml" --role vcpu --syscall unshare
	assert_success
	assert_output --partial 'dangerous: the lint test allows it on purpose'
	# The default policy's own explain shows no such line.
	run "$EMBER_SECCOMP" explain "$DEFAULT_POLICY"
	refute_output --partial 'dangerous:'
}

# ---- ember-seccomp ----

@test "ember-seccomp check accepts the default policy and points at errors" {
	run "$EMBER_SECCOMP" check "$DEFAULT_POLICY"
	assert_success
	assert_output --regexp 'ok \(BPF instructions: vmm [0-9]+, api [0-9]+, vcpu [0-9]+, baseline [0-9]+\)'
	printf 'version: 1\narches: [x86_64]\ndefaults: {action: trap, bad_arch: kill_process}\nroles:\n  vmm: &r {rules: []}\n' >"$TMP/a.yaml"
	run "$EMBER_SECCOMP" check "$TMP/a.yaml"
	assert_equal "$status" 1
	assert_output "$TMP/a.yaml:5:8: anchors are not allowed (&r)"
	run "$EMBER_SECCOMP" check "$TMP/none.yaml"
	assert_equal "$status" 1
	run "$EMBER_SECCOMP" frobnicate
	assert_equal "$status" 2
}

@test "ember-seccomp compile writes a bundle with header, programs and digest" {
	run "$EMBER_SECCOMP" compile "$DEFAULT_POLICY" -o "$TMP/d.bundle"
	assert_success
	assert_equal "$(head -c 8 "$TMP/d.bundle")" EMBSECCB
	size=$(stat -c %s "$TMP/d.bundle")
	head -c $((size - 32)) "$TMP/d.bundle" | sha256sum | cut -d' ' -f1 >"$TMP/want"
	tail -c 32 "$TMP/d.bundle" | od -An -tx1 | tr -d ' \n' >"$TMP/got"
	assert_equal "$(cat "$TMP/got")" "$(cat "$TMP/want")"
	run "$EMBER_SECCOMP" compile "$TMP/none.yaml" -o "$TMP/x.bundle"
	assert_equal "$status" 1
	assert_file_not_exist "$TMP/x.bundle"
}

@test "ember-seccomp explain shows roles, conditions, reasons and differences" {
	run "$EMBER_SECCOMP" explain "$DEFAULT_POLICY"
	assert_success
	for role in vmm api vcpu; do
		assert_output --regexp "role $role: [0-9]+ syscalls, [0-9]+ rules, [0-9]+ BPF instructions"
	done
	assert_output --partial 'section startup:'
	assert_output --partial 'allow if arg1/32 one_of [KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, TUNSETOFFLOAD, KVM_SET_GSI_ROUTING, KVM_SIGNAL_MSI]'
	assert_output --partial 'KVM_RUN (core/vcpu.c vcpu_loop)'
	assert_output --regexp 'in vcpu, not in vmm: .*gettid'
	run "$EMBER_SECCOMP" explain "$DEFAULT_POLICY" --role vcpu --syscall ioctl
	assert_success
	assert_output --partial 'role vcpu:'
	refute_output --partial 'role vmm:'
	assert_equal "$(printf '%s\n' "$output" | grep -c '^  [a-z_0-9]* (')" 1
	run "$EMBER_SECCOMP" explain "$DEFAULT_POLICY" --role nope
	assert_equal "$status" 2
}

@test "ember-seccomp diff shows what a change allows or denies" {
	run "$EMBER_SECCOMP" diff "$DEFAULT_POLICY" "$DEFAULT_POLICY"
	assert_success
	assert_output '0 changes (- no longer allowed, + newly allowed)'
	policy_without "$TMP/p.yaml" epoll_wait
	sed -i 's/value: \[KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, TUNSETOFFLOAD, KVM_SET_GSI_ROUTING, KVM_SIGNAL_MSI\]/value: [KVM_RUN]/' "$TMP/p.yaml"
	run "$EMBER_SECCOMP" diff "$DEFAULT_POLICY" "$TMP/p.yaml"
	assert_equal "$status" 1
	assert_output --regexp '^- vmm +epoll_wait +allow'
	assert_output --regexp '- api +epoll_wait +allow'
	assert_output --regexp '- vcpu +ioctl +allow if arg1/32 one_of \[KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, TUNSETOFFLOAD, KVM_SET_GSI_ROUTING, KVM_SIGNAL_MSI\]'
	assert_output --regexp '\+ vcpu +ioctl +allow if arg1/32 one_of \[KVM_RUN\]'
	assert_output --partial '4 changes'
	run "$EMBER_SECCOMP" diff "$DEFAULT_POLICY" "$TMP/none.yaml"
	assert_equal "$status" 2
}

# ---- minimality ----

@test "minimality: each role allows only what its threads did in the suites" {
	require_kvm
	require_unsanitized
	command -v strace >/dev/null || skip "strace is not installed (tools/setup.sh installs it)"
	traced_build "$TMP/build" "$TMP/traces"
	# Tests skip their parts that add no syscall here but minutes
	# (require_built_ember): timing checks, suites that run their own build
	# or no ember (fuzz.bats), and the boots of the real Linux kernel
	# (irqchip.bats, acpi.bats, boot.bats), whose syscalls are the probe
	# boots': Linux's early boot reaches ember through the same port, MMIO
	# and KVM exits as the probe, and each boot takes minutes under strace.
	for suite in "$EMBER_SRC"/test/integration/*.bats; do
		# Suites that run ember through the jailer cannot use the traced
		# build: the jailer copies the exec file alone into the jail, where
		# the strace wrapper script has no shell to run under.
		[ "$(basename "$suite")" = seccomp.bats ] && continue
		grep -q 'JAILER\|demo\.sh' "$suite" && continue
		EMBER_BUILD="$TMP/build" run bats "$suite"
		[ "$status" -eq 0 ] || fail "$(basename "$suite") failed under strace with log-mode filters:
$output"
	done
	# The probe scenarios, also with 2 vCPUs and the boot timer.
	probe_config "$TMP/vm.json" 2 128 boot
	EMBER="$TMP/build/vmm/ember" run_ember_config "$TMP/vm.json" --boot-timer
	# strace -D leaves the tracer running briefly after ember exits: let the traces complete.
	for _ in $(seq 100); do
		pgrep -f "$TMP/traces/trace" >/dev/null || break
		sleep 0.1
	done
	"$EMBER_SECCOMP" explain "$TMP/build/log-mode.yaml" --names >"$TMP/allowed"
	run python3 "$EMBER_SRC/test/integration/seccomp-usage.py" --allowed "$TMP/allowed" \
		--unused "$EMBER_SRC/test/integration/seccomp-unused.txt" "$TMP"/traces/trace.*
	printf '%s\n' "$output"
	assert_success
	assert_output --partial 'minimality: ok'
	assert_output --regexp 'vmm: [0-9]+ allowed'
	assert_output --regexp 'vcpu: [0-9]+ allowed'
}
