#!/bin/sh
# Builds the Linux guest used by the Linux-guest boot test and demos on hosts
# with hardware virtualisation (VMX/SVM): Debian's current amd64 kernel,
# fetched with apt-get download and unpacked, its bzImage copied to
# <out>/vmlinuz (default: build/linux-guest/vmlinuz).
#
# No root filesystem is built: booted without one, the kernel runs its whole
# early boot (decompression, the boot protocol, e820, serial console) and
# panics at mounting root, which with `panic=1 reboot=k` ends ember cleanly.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/build/linux-guest}

# The metapackage names the current versioned image package.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || { echo "build-linux-guest: cannot resolve linux-image-amd64 (apt-get update?)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
# apt drops to the _apt user for downloads: let it write the work directory.
chmod 0777 "$work"
(cd "$work" && apt-get download -q "$pkg" >/dev/null)
dpkg-deb -x "$work"/*.deb "$work/root"
set -- "$work"/root/boot/vmlinuz-*
[ -f "$1" ] || { echo "build-linux-guest: $pkg has no /boot/vmlinuz-*" >&2; exit 1; }
mkdir -p "$out"
cp "$1" "$out/vmlinuz"
# The virtio-mmio modules of the same kernel (Debian builds them as modules),
# for the Linux-guest test's initramfs (acpi.bats): virtio, its ring, the
# mmio transport, which binds LNRO0005 devices and virtio_mmio.device= entries,
# and virtio-blk.
mkdir -p "$out/modules"
for m in drivers/virtio/virtio drivers/virtio/virtio_ring drivers/virtio/virtio_mmio drivers/block/virtio_blk; do
	set -- "$work"/root/lib/modules/*/kernel/$m.ko
	[ -f "$1" ] && cp "$1" "$out/modules/"
done
echo "build-linux-guest: $out/vmlinuz from $pkg"
