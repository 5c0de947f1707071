#!/bin/sh
# Configures (once) and builds ember into ./build. Extra arguments go to meson setup.
# EMBER_BUILD_PROGRESS=1 shows ninja's progress ([N/M] per step); otherwise it is quiet unless it fails.
set -eu
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
	meson setup build "$@" >/dev/null || { echo "build: FAILED: meson setup build $*" >&2; exit 1; }
fi
if [ "${EMBER_BUILD_PROGRESS:-0}" = 1 ]; then
	ninja -C build || { echo "build: FAILED: ninja -C build (the error is above)" >&2; exit 1; }
else
	ninja -C build >/dev/null || { ninja -C build; echo "build: FAILED: ninja -C build (the error is above)" >&2; exit 1; }
fi
