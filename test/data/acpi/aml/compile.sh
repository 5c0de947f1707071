#!/bin/sh
# Recompiles the ASL sources beside this script with iasl (Debian acpica-tools). The .aml files are kept in
# git so the unit test (test/unit/acpi/test-aml.c) needs no iasl at run time. -on: no namepath optimisation,
# so names stay as written, as ember's encoder writes them.
set -eu
cd "$(dirname "$0")"
for f in *.asl; do
	iasl -on -p "${f%.asl}" "$f" >/dev/null 2>&1 || { echo "iasl failed on $f" >&2; exit 1; }
done
