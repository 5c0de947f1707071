#!/usr/bin/env bats
# `meson install`, as an operator runs it: a fresh build of a copy of the
# checkout, installed into a prefix and into a DESTDIR. The installed jailer
# must still find its templates after the checkout moves, and the installed
# ember must boot the probe guest.

load helpers
load boot-helpers

setup_file() {
	local src
	# bats runs no skip in setup_file: the tests skip in setup() instead
	head -c 4 "$EMBER" 2>/dev/null | grep -q ELF || return 0
	export INSTALLED=1
	export T
	T=$(mktemp -d /tmp/ember-install-bats.XXXXXX)
	src="$T/src"
	mkdir "$src"
	# the checkout as it is now: tracked and new files, no build directories
	(cd "$EMBER_SRC" && git ls-files -co --exclude-standard) | while IFS= read -r f; do
		[ -e "$EMBER_SRC/$f" ] || continue
		mkdir -p "$src/$(dirname "$f")"
		cp -p "$EMBER_SRC/$f" "$src/$f"
	done
	meson setup "$T/build" "$src" --prefix="$T/prefix" >"$T/setup.log" 2>&1 || { cat "$T/setup.log" >&3; return 1; }
	# only what is installed: the tests and fuzzers are not needed here
	ninja -C "$T/build" vmm/ember jailer/installed/jailer tools/ember-seccomp tools/ember-uffd-handler doc/ember.1 \
		doc/jailer.1 doc/ember-seccomp.1 doc/ember-uffd-handler.1 >"$T/build.log" 2>&1 || { tail -30 "$T/build.log" >&3; return 1; }
	meson install -C "$T/build" --no-rebuild >"$T/install.log" 2>&1 || { cat "$T/install.log" >&3; return 1; }
	DESTDIR="$T/dest" meson install -C "$T/build" --no-rebuild >"$T/destdir.log" 2>&1 ||
		{ cat "$T/destdir.log" >&3; return 1; }
	mv "$src" "$T/src-moved"
}

teardown_file() {
	[ -n "${T:-}" ] && rm -rf "$T"
	return 0
}

setup() {
	[ -n "${INSTALLED:-}" ] || require_built_ember
}

# assert_installed ROOT: everything `meson install` installs is under ROOT (the prefix).
assert_installed() {
	local root=$1 f
	for f in bin/ember bin/jailer bin/ember-seccomp bin/ember-uffd-handler; do
		[ -x "$root/$f" ] || fail "$root/$f is missing"
		# a stripped ELF has no symbol table
		! readelf -SW "$root/$f" | grep -q ' \.symtab ' || fail "$root/$f is not stripped"
	done
	for f in share/ember/cgroup-templates/small.yaml share/ember/cgroup-templates/medium.yaml \
		etc/ember/seccomp/default.yaml; do
		[ -f "$root/$f" ] || fail "$root/$f is missing"
	done
	for f in ember jailer ember-seccomp ember-uffd-handler; do
		[ -f "$root/share/man/man1/$f.1" ] || fail "the man page $f.1 is missing"
		grep -q "^\.TH \"$f\" \"1\"" "$root/share/man/man1/$f.1" || fail "$f.1 is not a man page"
	done
}

@test "meson install into a prefix: four stripped binaries, the templates, the policy and four man pages" {
	assert_installed "$T/prefix"
}

@test "meson install into a DESTDIR: the same files under DESTDIR/prefix" {
	assert_installed "$T/dest$T/prefix"
}

@test "the man pages render and name each program's options" {
	command -v man >/dev/null || skip "no man here"
	run env MANWIDTH=100 man -l "$T/prefix/share/man/man1/jailer.1"
	assert_success
	assert_output --partial "--template-dir"
	assert_output --partial "--resource-limit"
	run env MANWIDTH=100 man -l "$T/prefix/share/man/man1/ember.1"
	assert_success
	assert_output --partial "--config-file"
}

@test "after the checkout moves, the installed jailer finds the small template" {
	[ ! -e "$T/src" ]
	run "$T/prefix/bin/jailer" --id "inst-$$" --exec-file "$T/prefix/bin/ember" --uid 4711 --gid 4711 \
		--chroot-base-dir "$T" --cgroup-template small --dry-run
	assert_success
	assert_output --partial "memory.limit_in_bytes = 268435456"
	run "$T/prefix/bin/jailer" --help
	assert_output --partial "$T/prefix/share/ember/cgroup-templates"
}

@test "the installed jailer: --template-dir overrides the compiled-in directory" {
	mkdir -p "$BATS_TEST_TMPDIR/tpl"
	printf 'pids:\n  max: 9\n' >"$BATS_TEST_TMPDIR/tpl/small.yaml"
	run "$T/prefix/bin/jailer" --id "inst-$$" --exec-file "$T/prefix/bin/ember" --uid 4711 --gid 4711 \
		--chroot-base-dir "$T" --template-dir "$BATS_TEST_TMPDIR/tpl" --cgroup-template small --dry-run
	assert_success
	assert_output --partial "pids.max = 9"
	refute_output --partial "memory.limit_in_bytes"
}

@test "the installed ember boots the probe guest" {
	require_kvm
	[ -f "$PROBE" ] || skip "the probe guest is not built ($PROBE)"
	probe_config "$BATS_TEST_TMPDIR/vm.json" 1 128 boot
	run timeout --kill-after=5 120 "$T/prefix/bin/ember" --no-api --config-file "$BATS_TEST_TMPDIR/vm.json"
	assert_success
	assert_output --regexp 'PROBE DONE pass=[1-9][0-9]* fail=0'
}
