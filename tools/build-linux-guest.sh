#!/bin/sh
# Builds the Linux guest used by the Linux-guest boot tests and demos: Debian's
# current amd64 kernel, fetched with apt-get download and unpacked, into
# <out> (default: build/linux-guest):
#   vmlinuz  its bzImage, which ember boots on hosts with VMX or SVM;
#   vmlinux  the ELF inside it (the bzImage's xz payload), for nested PVM
#            hosts, whose instruction emulator would take minutes over the
#            bzImage's decompressor (design.md §4, the early-boot tests);
#   package  the Debian package both came from.
#
# Cached: when <out> already holds both files from the package apt names
# today, nothing is fetched, so tools/test.sh can call this every run. On
# failure <out>/unavailable says why (the tests that need the kernel skip
# quoting it) and the script exits 1.
#
# No root filesystem is built: booted without one, the kernel runs its whole
# early boot (decompression, the boot protocol, e820, serial console) and
# panics at mounting root, which with `panic=1 reboot=k` ends ember cleanly.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/build/linux-guest}
mkdir -p "$out"
rm -f "$out/unavailable"

# give_up REASON: records why there is no kernel, for the tests' skip line.
give_up() {
	echo "$1" >"$out/unavailable"
	echo "build-linux-guest: $1" >&2
	exit 1
}

# The metapackage names the current versioned image package.
resolve() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
pkg=$(resolve)
if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
	# A fresh container may have no package lists yet.
	apt-get update -q >/dev/null 2>&1 || true
	pkg=$(resolve)
fi
[ -n "$pkg" ] || give_up "apt cannot resolve linux-image-amd64 (no package lists: run apt-get update as root)"

if [ -f "$out/vmlinuz" ] && [ -f "$out/vmlinux" ] && [ "$(cat "$out/package" 2>/dev/null)" = "$pkg" ]; then
	echo "build-linux-guest: $out has $pkg already"
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
# apt drops to the _apt user for downloads: let it write the work directory.
chmod 0777 "$work"
download() { (cd "$work" && apt-get download -q "$pkg" >"$work/log" 2>&1); }
if ! download; then
	# Package lists older than the mirror name files it has dropped (404):
	# refreshed once, as root, the current version is fetched instead.
	if [ "$(id -u)" -eq 0 ] && apt-get update -q >/dev/null 2>&1; then
		pkg=$(resolve)
		download || give_up "apt-get download $pkg failed: $(grep -E '^(E|W):' "$work/log" | head -n 1 | cut -c1-300)"
	else
		give_up "apt-get download $pkg failed: $(grep -E '^(E|W):' "$work/log" | head -n 1 | cut -c1-300)"
	fi
fi
dpkg-deb -x "$work"/*.deb "$work/root" || give_up "dpkg-deb cannot unpack the $pkg package"
set -- "$work"/root/boot/vmlinuz-*
[ -f "$1" ] || give_up "$pkg has no /boot/vmlinuz-*"
cp "$1" "$work/vmlinuz"
python3 - "$work/vmlinuz" "$work/vmlinux" <<-'PY' || give_up "no ELF vmlinux in the xz payload of $pkg's bzImage"
	import lzma, sys
	data = open(sys.argv[1], 'rb').read()
	at = data.find(b'\xfd7zXZ\x00')
	if at < 0:
	    sys.exit('no xz payload in the bzImage')
	elf = lzma.LZMADecompressor().decompress(data[at:])
	if elf[:4] != b'\x7fELF':
	    sys.exit('the xz payload is not an ELF')
	open(sys.argv[2], 'wb').write(elf)
PY
mv "$work/vmlinuz" "$out/vmlinuz"
mv "$work/vmlinux" "$out/vmlinux"
echo "$pkg" >"$out/package"
echo "build-linux-guest: $out/vmlinuz and $out/vmlinux from $pkg"
