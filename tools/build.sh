#!/bin/sh
# Configures (once) and builds ember into ./build. Extra arguments go to meson setup.
set -eu
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
	meson setup build "$@" >/dev/null
fi
ninja -C build >/dev/null || { ninja -C build; exit 1; }
