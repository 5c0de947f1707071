# Helpers for jailer.bats: unique names per test, a private chroot base, a
# unique parent cgroup, and a teardown that removes everything even when the
# test failed half way.

STANDIN=$EMBER_BUILD/test/helpers/vmm-standin
JUID=4711
JGID=4712

# Sets JID, JBASE, JPARENT, JDIR (the <id> dir) and JROOT (the chroot).
jail_setup() {
	require_root
	[ -x "$JAILER" ] || skip "jailer not built ($JAILER)"
	[ -x "$STANDIN" ] || skip "vmm-standin not built ($STANDIN)"
	JID="bats-$$-$BATS_TEST_NUMBER"
	JID_ORIG=$JID
	STANDIN_ORIG=$STANDIN
	JBASE="$BATS_TEST_TMPDIR/base"
	JPARENT="bats-jailer-$$-$BATS_TEST_NUMBER"
	mkdir -p "$JBASE"
	JDIR="$JBASE/vmm-standin/$JID"
	JROOT="$JDIR/root"
	JNETNS=""
	# Bound files must be reachable by the VMM's uid (the jailer checks);
	# bats' own temporary directories are root's 0700.
	JPUB=$(mktemp -d /tmp/ember-jail-pub.XXXXXX)
	chmod 711 "$JPUB"
	V2_SUBTREE_BEFORE=$(cat "$(cgroup_v2_mount)/cgroup.subtree_control" 2>/dev/null || true)
}

# Kills what a test left running, then removes the tree, the cgroups (the
# jail's and the unique parent, in every hierarchy) and any test netns.
jail_teardown() {
	local pidfile="${JROOT:-/nonexistent}/vmm-standin.pid" pid m c
	if [ -f "$pidfile" ]; then
		pid=$(cat "$pidfile")
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
		sleep 0.1
	fi
	for pid in ${JAIL_BG_PIDS:-}; do kill -KILL "$pid" 2>/dev/null || true; done
	if [ -n "${JID_ORIG:-}" ]; then
		"$JAILER" --cleanup --id "$JID_ORIG" --exec-file "$STANDIN_ORIG" --chroot-base-dir "$JBASE" \
			--parent-cgroup "$JPARENT" >/dev/null 2>&1 || true
		for m in $(cgroup_mounts); do
			[ -d "$m/$JPARENT" ] || continue
			for c in "$m/$JPARENT"/*/; do [ -d "$c" ] && rmdir "$c" 2>/dev/null; done
			rmdir "$m/$JPARENT" 2>/dev/null || true
		done
		rm -rf "$JBASE"
	fi
	[ -n "${JNETNS:-}" ] && ip netns del "$JNETNS" 2>/dev/null || true
	[ -n "${JPUB:-}" ] && rm -rf "$JPUB"
	restore_v2_subtree
}

# mountinfo has optional fields before " - ": find fstype and super options after it.
cgroup_mountinfo() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { print $5, $(i + 1), $(i + 3); break } }' /proc/self/mountinfo
}

cgroup_mounts() {
	cgroup_mountinfo | awk '$2 == "cgroup" || $2 == "cgroup2" { print $1 }'
}

cgroup_v1_mount() {
	cgroup_mountinfo | awk -v c="$1" '$2 == "cgroup" { n = split($3, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $1; exit } }'
}

cgroup_v2_mount() {
	cgroup_mountinfo | awk '$2 == "cgroup2" { print $1; exit }'
}

# The v2 root's subtree_control is host-wide; the jailer enables controllers
# there and (by design, see doc/jailer.md) never disables them again. The
# suite puts back what it found.
restore_v2_subtree() {
	local f c
	f="$(cgroup_v2_mount)/cgroup.subtree_control"
	[ -w "$f" ] || return 0
	for c in $(cat "$f"); do
		case " $V2_SUBTREE_BEFORE " in *" $c "*) ;; *) echo "-$c" >"$f" 2>/dev/null || true ;; esac
	done
}

# Runs the jailer on the stand-in with the test's unique names.
jail() {
	run "$JAILER" --id "$JID" --exec-file "$STANDIN" --uid "$JUID" --gid "$JGID" \
		--chroot-base-dir "${JBASE_ARG:-$JBASE}" --parent-cgroup "${JPARENT_ARG:-$JPARENT}" "$@"
}

# Nothing of this test's jail is left on the host: no tree under the base,
# no cgroup directory named after the parent in any hierarchy.
assert_no_residue() {
	local m left
	left=$(find "$JBASE" -mindepth 1 2>/dev/null | head -5)
	[ -z "$left" ] || fail "residue under $JBASE: $left"
	for m in $(cgroup_mounts); do
		[ ! -e "$m/$JPARENT" ] || fail "residue cgroup $m/$JPARENT"
	done
}

# bad_input EXIT MESSAGE -- jailer args...: the run fails with EXIT, says
# MESSAGE, and leaves nothing behind.
bad_input() {
	local code=$1 msg=$2
	shift 2
	jail "$@" -- --report /run/report
	[ "$status" -eq "$code" ] || fail "exit $status, expected $code; output: $output"
	assert_output --partial "$msg"
	assert_no_residue
}

# Value of KEY in the stand-in's report.
report_get() {
	grep "^$1=" "$JROOT/run/report" | head -1 | cut -d= -f2-
}

# Waits (bounded) for a file to appear; the stand-in renames its report into place.
wait_for_file() {
	local i
	for i in $(seq 1 100); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
