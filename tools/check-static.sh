#!/bin/sh
# Fails when the binary has a PT_INTERP (a dynamic loader) or needs shared libraries.
set -eu
bin=$1 stamp=$2
if readelf -lW "$bin" | grep -q 'INTERP'; then
	echo "error: $bin is dynamically linked (has PT_INTERP); it must be a static PIE" >&2
	exit 1
fi
if readelf -dW "$bin" | grep -q '(NEEDED)'; then
	echo "error: $bin needs shared libraries; it must be a static PIE" >&2
	exit 1
fi
readelf -hW "$bin" | grep -q 'DYN (' || { echo "error: $bin is not position independent" >&2; exit 1; }
touch "$stamp"
