# Shared set-up for the bats suites. EMBER_SRC and EMBER_BUILD come from test/run-all.py;
# running a suite by hand from the source root works too.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load '/usr/lib/bats/bats-file/load'

EMBER_SRC=${EMBER_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
EMBER_BUILD=${EMBER_BUILD:-$EMBER_SRC/build}
EMBER=$EMBER_BUILD/vmm/ember
JAILER=$EMBER_BUILD/jailer/jailer
EMBER_SECCOMP=$EMBER_BUILD/tools/ember-seccomp
PROBE=$EMBER_BUILD/test/guest/probe.elf

# Skips the current test, saying why, when the host cannot run guests.
require_kvm() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no usable /dev/kvm on this host"
}

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

is_pvm_host() {
	[ -d /sys/module/kvm_pvm ]
}

# Skips a suite that builds and runs its own ember when $EMBER is not the
# build's binary: seccomp.bats runs the suites with a strace wrapper script in
# its place, and these suites would add nothing to its traces but minutes.
# WHY, when given, says why this test adds nothing there.
require_built_ember() {
	head -c 4 "$EMBER" 2>/dev/null | grep -q 'ELF' ||
		skip "$EMBER is not an ELF binary (a traced build's wrapper)${1:+: $1}"
}

# A test that boots the real Linux kernel: under seccomp.bats's tracing
# wrapper its syscalls are the probe boots' (Linux's early boot reaches ember
# only through the same port, MMIO and KVM exits), and each boot takes minutes.
require_built_ember_linux() {
	require_built_ember "Linux boots make no syscall the probe boots do not, and take minutes under strace (seccomp.bats)"
}

# require_linux_guest: the kernel of tools/build-linux-guest.sh (tools/test.sh
# runs it), or a skip saying why there is none.
require_linux_guest() {
	local dir=$EMBER_BUILD/linux-guest
	[ -f "$dir/vmlinuz" ] && [ -f "$dir/vmlinux" ] && return 0
	[ -f "$dir/unavailable" ] && skip "no Linux guest kernel: $(cat "$dir/unavailable")"
	skip "no Linux guest kernel: run tools/build-linux-guest.sh first (tools/test.sh does)"
}

# wait_until TRIES DELAY CMD...: runs CMD until it succeeds, at most TRIES
# times DELAY seconds apart; fails (returns 1) when it never did, for the
# caller's `|| fail "why"`.
wait_until() {
	local tries=$1 delay=$2 i
	shift 2
	for ((i = 0; i < tries; i++)); do
		"$@" && return 0
		sleep "$delay"
	done
	return 1
}

# pid_ended PID: PID no longer runs (for wait_until).
pid_ended() {
	! kill -0 "$1" 2>/dev/null
}

# wait_socket PATH: waits (bounded, 5 s) for a unix socket at PATH.
wait_socket() {
	wait_until 100 0.05 test -S "$1" || fail "no socket $1"
}
