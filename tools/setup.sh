#!/bin/sh
# Installs the Debian packages that building and testing ember need. Idempotent; says each step, and on
# failure what failed. Benchmarks install their own extras on demand.
#
#   tools/setup.sh               everything: build, demo and tests (with the OpenAPI validator from npm)
#   tools/setup.sh --build-only  what building ember and running tools/demo.sh need, nothing more
set -eu

# Building: the compilers, meson, the libraries ember and the jailer link, cmocka (meson builds the unit
# tests with everything else), scdoc (the man pages) and file/binutils for the static-binary check.
build_packages="build-essential pkg-config meson ninja-build file scdoc libseccomp-dev libcap-ng-dev
libcgroup-dev libyaml-dev libjansson-dev libhttp-parser-dev liburing-dev nettle-dev libcmocka-dev"
# Testing: the fuzz build, bats and the tools the suites drive ember with (acpica-tools: iasl decompiles the
# ACPI tables in acpi.bats).
test_packages="clang libclang-rt-14-dev strace bats bats-support bats-assert bats-file curl socat iproute2
iputils-ping util-linux procps python3 jq man-db acpica-tools"

say() { echo "setup: $*"; }
fail() { echo "setup: FAILED: $*" >&2; exit 1; }

packages=$build_packages
case "${1:-}" in
--build-only) ;;
"") packages="$build_packages $test_packages" ;;
*) fail "unknown argument '$1' (usage: tools/setup.sh [--build-only])" ;;
esac

log=$(mktemp /tmp/ember-setup.XXXXXX)
trap 'rm -f "$log"' EXIT

# run DESCRIPTION COMMAND...: says the step; on failure, names it and shows the command's last lines.
run() {
	desc=$1
	shift
	say "$desc"
	"$@" >"$log" 2>&1 || {
		rc=$?
		tail -n 20 "$log" | sed 's/^/setup:   | /' >&2
		fail "$desc (exit $rc: $*)"
	}
}

say "checking $(echo $packages | wc -w) Debian packages"
missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
if [ -z "${1:-}" ]; then
	# Node.js may come from another repository whose nodejs bundles npm (Debian's npm then conflicts
	# with it), so the test is for the commands, not for Debian's package names.
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		missing="$missing nodejs npm"
	fi
fi
if [ -n "$missing" ]; then
	[ "$(id -u)" -eq 0 ] || fail "missing packages:$missing (run as root to install them)"
	export DEBIAN_FRONTEND=noninteractive
	run "updating the package lists (apt-get update)" apt-get update
	# shellcheck disable=SC2086
	run "installing$missing" apt-get install -y --no-install-recommends $missing
else
	say "all present"
fi

# The OpenAPI validator for doc/api.yaml comes from npm, into a project-local prefix. Only the tests use
# it, and they skip its checks, saying so, when it is absent: a registry out of reach is not fatal.
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${1:-}" ] && [ -f "$here/tools/npm/package.json" ] && [ ! -d "$here/tools/npm/node_modules" ]; then
	say "installing the OpenAPI validator (npm, into tools/npm/node_modules)"
	if ! (cd "$here/tools/npm" && npm install --silent --no-audit --no-fund) >"$log" 2>&1; then
		tail -n 5 "$log" | sed 's/^/setup:   | /' >&2
		rm -rf "$here/tools/npm/node_modules"
		say "warning: npm install failed; the tests that need the OpenAPI validator will skip"
	fi
fi
say "done"
