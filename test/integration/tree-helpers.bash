# Helpers for the suites that check the build on a modified copy of the tree
# (build.bats, layering.bats).

# tree_copy DIR: the files git knows in $EMBER_SRC (tracked and staged), as
# they are in the working tree, copied under DIR.
tree_copy() {
	command -v meson >/dev/null || skip "meson is not installed"
	mkdir -p "$1"
	(cd "$EMBER_SRC" && git ls-files -z | xargs -0 tar -cf - --) | tar -x -C "$1"
}
