#!/usr/bin/env bats
# tools/check-layering on the build under test, and on a copy of the tree
# that breaks the layering the way a shortcut would: the core build gets
# -I vmm/devices/legacy and vm.c includes "serial.h" (no "devices/" in the
# text, so only the compiler's own dependency list can tell), and the metrics
# writer includes a group owner's header.

load helpers
load tree-helpers

@test "check-layering: the build keeps core, devices, metrics and the transport apart" {
	run "$EMBER_SRC/tools/check-layering" "$EMBER_BUILD"
	assert_success
	assert_output 'check-layering: ok'
}

@test "check-layering fails on a core build that reaches a device header through -I, and on a metrics writer that knows an owner" {
	tree=$BATS_TEST_TMPDIR/tree
	tree_copy "$tree"
	sed -i "s|^  include_directories: \[vmm_inc\],|  include_directories: [vmm_inc, include_directories('devices/legacy')],|" "$tree/vmm/meson.build"
	grep -q "include_directories('devices/legacy')" "$tree/vmm/meson.build" || fail "the meson.build patch did not apply"
	sed -i 's|^#include "vm.h"$|#include "vm.h"\n#include "serial.h"|' "$tree/vmm/core/vm.c"
	grep -q '^#include "serial.h"' "$tree/vmm/core/vm.c" || fail "the vm.c patch did not apply"
	sed -i 's|^#include "metrics.h"$|#include "metrics.h"\n#include "logger.h"|' "$tree/vmm/metrics.c"
	grep -q '^#include "logger.h"' "$tree/vmm/metrics.c" || fail "the metrics.c patch did not apply"
	meson setup "$BATS_TEST_TMPDIR/build" "$tree" >/dev/null
	ninja -C "$BATS_TEST_TMPDIR/build" vmm/libvmm.a.p/core_vm.c.o vmm/libvmm.a.p/metrics.c.o >/dev/null
	run "$tree/tools/check-layering" "$BATS_TEST_TMPDIR/build"
	assert_failure 1
	assert_output --partial 'vmm/core/vm.c: a vmm/core object includes vmm/devices/legacy/serial.h'
	assert_output --partial 'vmm/metrics.c: the metrics writer includes vmm/logger.h'
}
