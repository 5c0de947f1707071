#!/usr/bin/env bats
# Every libFuzzer target builds with clang under ASan and UBSan, and survives a short run from its
# seeds. The long runs (10 minutes and more) are in doc/fuzzing.md; this suite keeps the targets from
# rotting between them: a clang-only warning or a crash on a seed fails here, in CI.

load helpers

FUZZ_BUILD=${EMBER_FUZZ_BUILD:-$EMBER_SRC/build-fuzz-smoke}

setup_file() {
	# seccomp.bats's re-run under its tracing wrapper: no target runs ember,
	# so this suite adds no syscall there, only minutes of clang and fuzzing;
	# setup() skips each test there (a skip in setup_file fails the file).
	head -c 4 "$EMBER" 2>/dev/null | grep -q 'ELF' || return 0
	command -v clang >/dev/null || skip "clang is not installed"
	if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
		CC=clang meson setup "$FUZZ_BUILD" "$EMBER_SRC" -Dfuzz=true -Dsanitize=true >/dev/null
	fi
	ninja -C "$FUZZ_BUILD" >"$BATS_FILE_TMPDIR/ninja.log" 2>&1 || {
		cat "$BATS_FILE_TMPDIR/ninja.log" >&3
		return 1
	}
}

setup() {
	require_built_ember "the fuzz targets run no ember"
}

fuzz_targets() {
	find "$FUZZ_BUILD/test/fuzz" -type f -executable -name 'fuzz-*' | sort
}

@test "the fuzz tree builds with clang, and every area has its target" {
	run fuzz_targets
	assert_success
	for area in "$EMBER_SRC"/test/fuzz/*/; do
		area=$(basename "$area")
		# corpus-* are the local corpora doc/fuzzing.md has one make (ignored by git), not areas
		[[ $area == corpus-* ]] && continue
		assert_output --partial "/test/fuzz/$area/fuzz-"
	done
}

@test "every fuzz target survives 20000 runs from its seeds" {
	local corpus seeds t
	for t in $(fuzz_targets); do
		corpus=$(mktemp -d "$BATS_TEST_TMPDIR/corpus.XXXXXX")
		seeds=$(find "$EMBER_SRC/test/fuzz/$(basename "$(dirname "$t")")" -maxdepth 1 -type d -name 'seeds*')
		# shellcheck disable=SC2086
		run "$t" -runs=20000 -max_total_time=60 "$corpus" $seeds
		[ "$status" -eq 0 ] || {
			echo "$t failed:" >&3
			echo "$output" | tail -30 >&3
			return 1
		}
	done
}
