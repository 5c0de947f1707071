# Helpers for seccomp.bats.

DEFAULT_POLICY=$EMBER_SRC/seccomp-profiles/default.yaml

# A sanitizer build (meson -Dsanitize=true) links the ASan runtime, whose own
# syscalls (shadow mappings) lie outside ember's policy: it embeds the policy
# in log mode, and tests that need a trapping policy skip there.
require_unsanitized() {
	if readelf -d "$EMBER" 2>/dev/null | grep -q 'libasan'; then
		skip "sanitizer build: the ASan runtime makes syscalls outside ember's policy"
	fi
}

# spin_kernel FILE: a minimal vmlinux-shaped ELF whose entry is `jmp .`, so a
# VM stays up (its vCPU in KVM_RUN) until the test kills ember.
spin_kernel() {
	python3 - "$1" <<-'PY'
	import struct, sys
	base, code = 0x100000, b'\xeb\xfe'
	ehdr_size, phdr_size = 64, 56
	entry = base + ehdr_size + phdr_size
	size = ehdr_size + phdr_size + len(code)
	ehdr = b'\x7fELF' + bytes([2, 1, 1, 0]) + bytes(8) + struct.pack(
	    '<HHIQQQIHHHHHH', 2, 62, 1, entry, ehdr_size, 0, 0, ehdr_size, phdr_size, 1, 64, 0, 0)
	phdr = struct.pack('<IIQQQQQQ', 1, 5, 0, base, base, size, size, 0x1000)
	open(sys.argv[1], 'wb').write(ehdr + phdr + code)
	PY
}

# spin_config FILE KERNEL VCPUS: an ember config for the spinning kernel.
spin_config() {
	cat >"$1" <<-JSON
	{
	  "boot-source": { "kernel_image_path": "$2", "boot_args": "console=ttyS0" },
	  "machine-config": { "vcpu_count": $3, "mem_size_mib": 64 }
	}
	JSON
}

# start_spinning_ember CONFIG THREADS [ARGS...]: starts ember in the
# background; sets EMBER_PID and waits until its THREADS threads exist and
# have their names (at most 10 s).
start_spinning_ember() {
	local cfg=$1 want=$2
	shift 2
	"$EMBER" --config-file "$cfg" --id "seccomp-bats-$$" "$@" >"$TMP/ember.log" 2>&1 &
	EMBER_PID=$!
	for _ in $(seq 100); do
		local n
		n=$(ember_tasks "$EMBER_PID" | wc -l)
		[ "$n" -ge "$want" ] && threads_settled "$EMBER_PID" && return 0
		kill -0 "$EMBER_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "ember did not reach $want threads; log: $(cat "$TMP/ember.log")"
}

# ember's own threads: KVM may attach a kernel worker to the process (its
# NX huge page recovery thread, "kvm-nx-lpage-re"), which runs no ember code.
ember_tasks() {
	for t in /proc/"$1"/task/*; do
		case "$(cat "$t/comm" 2>/dev/null)" in kvm-*) ;; *) printf '%s\n' "$t" ;; esac
	done
}

# True once only the main thread has a name other than Firecracker's thread
# names: a new thread inherits the exec name (ember) and renames itself
# (fc_vcpu N, fc_api) first, then takes its role.
threads_settled() {
	local main=0
	for t in $(ember_tasks "$1"); do
		case "$(cat "$t/comm" 2>/dev/null)" in fc_api | "fc_vcpu "[0-9]*) ;; *) main=$((main + 1)) ;; esac
	done
	[ "$main" -eq 1 ]
}

# wait_filters PID COUNT: waits (at most 5 s) until every thread has COUNT
# stacked filters; returns 1 if that never happens.
wait_filters() {
	for _ in $(seq 50); do
		thread_field "$1" Seccomp_filters | awk -v c="$2" '$2 != c { bad = 1 } END { exit bad }' && return 0
		sleep 0.1
	done
	return 1
}

stop_ember() {
	[ -n "${EMBER_PID:-}" ] || return 0
	kill -KILL "$EMBER_PID" 2>/dev/null || true
	wait "$EMBER_PID" 2>/dev/null || true
	EMBER_PID=
}

# thread_field PID FIELD: "comm value" for each ember thread of PID (the
# comm with its space removed: "fc_vcpu 0" prints as fc_vcpu0).
thread_field() {
	for t in $(ember_tasks "$1"); do
		printf '%s %s\n' "$(tr -d ' ' <"$t/comm")" "$(awk -v f="$2:" '$1 == f { print $2 }' "$t/status")"
	done
}

# policy_without FILE PATTERN: the default policy with the rule whose
# `syscall:` line matches PATTERN (and that rule's following lines) removed.
policy_without() {
	awk -v pat="$2" '
		$0 ~ "^      - syscall: " pat "$" { skip = 1; next }
		skip && $0 ~ /^      - / { skip = 0 }
		skip && $0 ~ /^  [a-z]/ { skip = 0 }
		!skip { print }
	' "$DEFAULT_POLICY" >"$1"
}

# A copy of the build tree whose ember runs under strace with every filter in
# log mode (the default action becomes `log`), for the minimality check.
traced_build() {
	local dir=$1 traces=$2
	mkdir -p "$dir/vmm" "$traces"
	for f in "$EMBER_BUILD"/*; do
		[ "$(basename "$f")" = vmm ] || ln -s "$f" "$dir/"
	done
	for f in "$EMBER_BUILD"/vmm/*; do
		[ "$(basename "$f")" = ember ] || ln -s "$f" "$dir/vmm/"
	done
	sed 's/^  action: trap .*/  action: log/' "$DEFAULT_POLICY" >"$dir/log-mode.yaml"
	cat >"$dir/vmm/ember" <<-SH
	#!/bin/sh
	# ember under strace, its filters in log mode unless the test picks its own.
	case " \$* " in
	*" --no-seccomp "*|*" --seccomp-filter "*) set -- "\$@" ;;
	*) set -- --seccomp-filter "$dir/log-mode.yaml" "\$@" ;;
	esac
	# -D: strace runs as a detached grandchild, so this pid becomes ember itself
	# and a suite's signals (kill \$pid) reach ember, not the tracer.
	exec strace -D -f -qq -Y -o "$traces/trace.\$\$" "$EMBER_BUILD/vmm/ember" "\$@"
	SH
	chmod +x "$dir/vmm/ember"
}
