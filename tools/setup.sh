#!/bin/sh
# Installs the Debian packages that building and testing ember need. Idempotent and
# quiet when nothing is missing. Benchmarks install their own extras on demand.
set -eu

packages="build-essential pkg-config meson ninja-build clang libclang-rt-14-dev file
libseccomp-dev libcap-ng-dev libcgroup-dev libyaml-dev libjansson-dev libhttp-parser-dev
liburing-dev nettle-dev strace libcmocka-dev bats bats-support bats-assert bats-file
curl socat iproute2 iputils-ping util-linux procps python3 jq"

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
# Node.js may come from another repository whose nodejs bundles npm (Debian's npm then
# conflicts with it), so the test is for the commands, not for Debian's package names.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	missing="$missing nodejs npm"
fi
if [ -n "$missing" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "setup: missing packages:$missing (run as root to install them)" >&2; exit 1; }
	echo "setup: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The OpenAPI validator for doc/api.yaml comes from npm, into a project-local prefix.
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$here/tools/npm/package.json" ] && [ ! -d "$here/tools/npm/node_modules" ]; then
	(cd "$here/tools/npm" && npm install --silent --no-audit --no-fund >/dev/null)
fi
