#!/bin/sh
# The README's demo command: set up, build, then boot the probe guest in a jailed microVM.
#
# The jailer builds a fresh chroot, cgroups from the "small" template and new mount, IPC and UTS
# namespaces, shows the kernel and the VM config read-only inside the jail, drops every privilege and
# execs ember as an unprivileged uid. ember installs its seccomp filters and boots the probe guest, whose
# serial output (one PROBE line per check) appears below. The guest then resets, ember exits 0, and
# `jailer --cleanup` removes everything the jail left on the host.
set -eu
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh

[ "$(id -u)" -eq 0 ] || { echo "demo: the jailer needs root" >&2; exit 1; }
[ -c /dev/kvm ] || { echo "demo: this host has no /dev/kvm" >&2; exit 1; }

id="demo-$$"
parent="ember-demo-$$" # a parent cgroup of the demo's own, so it can remove it afterwards
uid=${EMBER_DEMO_UID:-4711}
gid=${EMBER_DEMO_GID:-4711}
work=$(mktemp -d /tmp/ember-demo.XXXXXX)
probe=build/test/guest/probe.elf
pvm=0
[ -d /sys/module/kvm_pvm ] && pvm=1

jail() {
	build/jailer/jailer --id "$id" --exec-file build/vmm/ember --uid "$uid" --gid "$gid" \
		--chroot-base-dir "$work/jails" --parent-cgroup "$parent" --cgroup-template small "$@"
}
cleanup() {
	jail --cleanup >/dev/null 2>&1 || true
	# --cleanup keeps the parent cgroup, which VMs usually share; the demo's is its own.
	find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d -name "$parent" -exec rmdir {} + 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

mkdir "$work/jails"
# The jailer checks that the VMM's uid could open each bound file itself.
chmod 711 "$work"
cat >"$work/vm.json" <<JSON
{
  "boot-source": {
    "kernel_image_path": "/probe.elf",
    "boot_args": "console=ttyS0 probe=boot probe.mem_mib=128 probe.vcpus=2 probe.pvm=$pvm probe.boot_timer=1"
  },
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 128 }
}
JSON

echo "demo: jailing ember as uid $uid (chroot $work/jails/ember/$id/root, cgroup template small)"
jail --new-ipc-ns --new-uts-ns \
	--bind-ro "$probe=probe.elf" --bind-ro "$work/vm.json=vm.json" \
	-- --no-api --config-file /vm.json --boot-timer
echo "demo: the guest reset and ember exited 0; removing the jail"
