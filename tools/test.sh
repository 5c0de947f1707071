#!/bin/sh
# The README's test command: set up, build, run every tier, print one summary line.
set -eu
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh
# The Linux guest the integration tier's Linux-boot tests run (Debian's kernel, cached in build/linux-guest;
# fetched once, checked in a second after). Without it those tests skip, quoting the reason recorded here.
case " $* " in
*" --tier unit "* | *" --tier=unit "*) ;;
*) tools/build-linux-guest.sh ||
	echo "test: no Linux guest kernel, the Linux boot tests will skip: $(cat build/linux-guest/unavailable 2>/dev/null)" ;;
esac
exec python3 test/run-all.py --build build "$@"
