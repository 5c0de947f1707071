#!/bin/sh
# The README's test command: set up, build, run every tier, print one summary line.
set -eu
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh
exec python3 test/run-all.py --build build "$@"
