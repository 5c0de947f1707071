#!/usr/bin/env bats
# The build's own rules: no meson.build guards a source with fs.exists(), so a
# missing source fails `meson setup` instead of building part of the tree.

load helpers
load tree-helpers

@test "no meson.build uses fs.exists() or imports the fs module" {
	run git -C "$EMBER_SRC" grep -nE "fs\.exists|import\('fs'\)" -- '*meson.build'
	assert_failure 1
	assert_output ''
}

@test "a source file missing from the tree fails meson setup, naming it" {
	tree=$BATS_TEST_TMPDIR/tree
	tree_copy "$tree"
	rm "$tree/vmm/devices/virtio/queue.c"
	run meson setup "$BATS_TEST_TMPDIR/build" "$tree"
	assert_failure
	assert_output --partial 'queue.c does not exist'
}
