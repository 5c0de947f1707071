#!/usr/bin/env bats
# tools/setup.sh says each step and, on failure, which one failed; --build-only
# (what tools/demo.sh uses) asks for no test tools and no npm.

load helpers

teardown() {
	[ -n "${FAKE_DIR:-}" ] && rm -rf "$FAKE_DIR"
	return 0
}

# A PATH where dpkg-query finds nothing installed and apt-get fails as a host
# without a reachable mirror does; each call is logged in $BATS_TEST_TMPDIR/calls.
fake_apt() {
	local bin
	FAKE_DIR=$(mktemp -d /tmp/ember-setup-bats.XXXXXX)
	chmod 755 "$FAKE_DIR" # the unprivileged run must reach it too
	bin="$FAKE_DIR/bin"
	mkdir -p "$bin"
	printf '#!/bin/sh\necho "dpkg-query $*" >>%s/calls\nexit 1\n' "$BATS_TEST_TMPDIR" >"$bin/dpkg-query"
	printf '#!/bin/sh\necho "apt-get $*" >>%s/calls\necho "E: Failed to fetch http://deb.debian.org (fake)" >&2\nexit 100\n' \
		"$BATS_TEST_TMPDIR" >"$bin/apt-get"
	chmod +x "$bin/dpkg-query" "$bin/apt-get"
	FAKE_PATH="$bin:$PATH"
}

@test "setup.sh names the step that failed and shows the command's error" {
	require_root
	fake_apt
	run env PATH="$FAKE_PATH" "$EMBER_SRC/tools/setup.sh" --build-only
	assert_failure
	assert_output --partial "setup: checking"
	assert_output --partial "setup: updating the package lists (apt-get update)"
	assert_output --partial "E: Failed to fetch"
	assert_output --partial "setup: FAILED: updating the package lists (apt-get update) (exit 100"
}

@test "setup.sh --build-only asks only for the build's packages: no test tools, no npm" {
	require_root
	fake_apt
	run env PATH="$FAKE_PATH" "$EMBER_SRC/tools/setup.sh" --build-only
	run cat "$BATS_TEST_TMPDIR/calls"
	assert_output --partial "dpkg-query -W -f=\${Status} meson"
	assert_output --partial "dpkg-query -W -f=\${Status} scdoc"
	refute_output --partial " bats"
	refute_output --partial " curl"
	refute_output --partial "npm"
	refute_output --partial "nodejs"
}

@test "setup.sh without root names the missing packages" {
	[ "$(id -u)" -ne 0 ] || command -v setpriv >/dev/null || skip "needs setpriv to drop root"
	fake_apt
	run setpriv --reuid 65534 --regid 65534 --clear-groups env PATH="$FAKE_PATH" sh "$EMBER_SRC/tools/setup.sh" --build-only
	assert_failure
	assert_output --partial "setup: FAILED: missing packages: build-essential"
	assert_output --partial "(run as root to install them)"
}
