#!/usr/bin/env bats
# The README's test command on a fresh clone (guard): tools/test.sh sets up,
# builds from scratch and runs the runner, started from another directory.
# Inside, it runs the unit tier and the doc suite: the whole suite would run
# this file again, and double the suite's time.

load helpers

setup() {
	[ -z "${EMBER_FRESH_CLONE_INNER:-}" ] || skip "already inside a fresh-clone run"
	require_built_ember
}

teardown() {
	[ -n "${CLONE_DIR:-}" ] && rm -rf "$CLONE_DIR"
	return 0
}

@test "tools/test.sh on a fresh clone passes, run from another directory" {
	require_root
	git -C "$EMBER_SRC" rev-parse --git-dir >/dev/null 2>&1 || skip "the source tree is not a git checkout"
	CLONE_DIR=$(mktemp -d /tmp/ember-clone-bats.XXXXXX)
	chmod 755 "$CLONE_DIR"
	git clone -q "$EMBER_SRC" "$CLONE_DIR/ember"
	# the OpenAPI validator from the checkout, so that the test needs no npm registry
	[ -d "$EMBER_SRC/tools/npm/node_modules" ] && cp -a "$EMBER_SRC/tools/npm/node_modules" "$CLONE_DIR/ember/tools/npm/"
	cd /
	run env EMBER_FRESH_CLONE_INNER=1 timeout --kill-after=10 840 "$CLONE_DIR/ember/tools/test.sh" --tier unit
	assert_success
	assert_output --partial "setup: done"
	assert_output --regexp $'\n  ok   [a-z-]+: test_[a-z_0-9]+\n' # one line per test
	assert_output --regexp $'\n[1-9][0-9]* passed, 0 failed, [0-9]+ skipped$'
	run env EMBER_FRESH_CLONE_INNER=1 timeout --kill-after=10 600 python3 "$CLONE_DIR/ember/test/run-all.py" \
		--tier integration --filter docs
	assert_success
	assert_output --regexp $'\n[1-9][0-9]* passed, 0 failed, [0-9]+ skipped$'
}
