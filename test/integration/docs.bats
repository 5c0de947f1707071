#!/usr/bin/env bats
# The pages under doc/ against the programs: getting-started.md §3 run as
# written, and the doc check (test/doc-check.py) on every page.

load helpers

# Writes §3 of getting-started.md into DIR: each ```json block to the file the
# prose before it names last (`name.json`), the ```sh blocks, in order, to
# DIR/section3.sh with the id vm1 replaced by ID.
extract_section3() {
	python3 - "$EMBER_SRC/doc/getting-started.md" "$1" "$2" <<-'PY'
	import os, re, sys
	page, out, vmid = sys.argv[1:]
	text = open(page).read()
	m = re.search(r'^## 3\..*?(?=^## )', text, re.S | re.M)
	sec = m.group(0)
	script, last_name, pos = [], None, 0
	for b in re.finditer(r'^```(\w*)\n(.*?)^```$', sec, re.S | re.M):
	    names = re.findall(r'`([\w.-]+\.json)`', sec[pos:b.start()])
	    last_name = names[-1] if names else last_name
	    pos = b.end()
	    if b.group(1) == 'json':
	        open(os.path.join(out, last_name), 'w').write(b.group(2))
	    elif b.group(1) == 'sh':
	        script.append(re.sub(r'\bvm1\b', vmid, b.group(2)))
	open(os.path.join(out, 'section3.sh'), 'w').write('set -ex\n' + '\n'.join(script))
	PY
}

@test "getting-started.md §3 works as written (private mount namespace, tmpfs on /srv, a unique id)" {
	require_root
	require_kvm
	[ -d /srv ] || skip "no /srv to mount a tmpfs on"
	[ -x "$JAILER" ] || skip "the jailer is not built ($JAILER)"
	require_built_ember
	! readelf -lW "$EMBER" | grep -q 'program interpreter' || skip "a dynamically linked (sanitizer) ember cannot run alone in a jail"
	local work id m had_parent=""
	id="gs-$$-$BATS_TEST_NUMBER"
	for m in /sys/fs/cgroup/*/ember; do [ -d "$m" ] && had_parent="$had_parent $m"; done
	work=$(mktemp -d /tmp/ember-gs.XXXXXX)
	chmod 755 "$work" # the VMM's uid reads vm.json through the bind
	mkdir "$work/build" # the build is bound here inside the namespace: the jailer refuses symlinked paths
	extract_section3 "$work" "$id"
	[ -s "$work/vm.json" ] && grep -q '"/probe.elf"' "$work/vm.json" || fail "§3 has no vm.json naming /probe.elf"
	grep -q "build/jailer/jailer --id $id " "$work/section3.sh" || fail "§3 runs no jailer by a path that exists"
	run timeout --kill-after=5 240 unshare -m --propagation private \
		sh -c 'mount -t tmpfs ember-gs /srv && mount --bind "$2" "$1/build" && cd "$1" && sh section3.sh' \
		sh "$work" "$EMBER_BUILD"
	# the host is as before: no jail under the real /srv, no cgroup of the id
	[ ! -e /srv/jailer/ember/$id ] || fail "the jail reached the host's /srv"
	for m in /sys/fs/cgroup/*/ember/$id; do [ ! -e "$m" ] || fail "cgroup $m left behind"; done
	for m in /sys/fs/cgroup/*/ember; do
		case " $had_parent " in *" $m "*) ;; *) rmdir "$m" 2>/dev/null || true ;; esac
	done
	rm -rf "$work"
	assert_success
	[ "$(printf '%s\n' "$output" | grep -cE '^PROBE DONE pass=[1-9][0-9]* fail=0')" -eq 2 ] ||
		fail "the jailed and the unjailed run must each end with PROBE DONE fail=0"
}

@test "the doc check passes on every page" {
	run python3 "$EMBER_SRC/test/doc-check.py" --src "$EMBER_SRC" --build "$EMBER_BUILD"
	assert_success
	assert_output --regexp 'doc check: [0-9]+ pages, 0 findings'
}

# copy_tree: the checkout's files (tracked and new, not the build) in $BATS_TEST_TMPDIR/src, so that
# the pages' links into the tree still resolve.
copy_tree() {
	copy="$BATS_TEST_TMPDIR/src"
	rm -rf "$copy"
	mkdir -p "$copy"
	(cd "$EMBER_SRC" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$copy" 2>/dev/null) || true
	[ -f "$copy/doc/api.md" ] || cp -r "$EMBER_SRC/doc" "$EMBER_SRC/README.md" "$copy/"
}

# check_planted TEXT MESSAGE: a copy of the docs with TEXT added to api.md fails the check with MESSAGE.
check_planted() {
	local copy
	copy_tree
	printf '\n%s\n' "$1" >>"$copy/doc/api.md"
	run python3 "$EMBER_SRC/test/doc-check.py" --src "$copy" --build "$EMBER_BUILD"
	assert_failure 1
	assert_output --partial "doc/api.md: $2"
}

@test "the doc check fails when a page says a served route is not provided" {
	check_planted 'This build does not provide `/drives/{id}` yet.' "says /drives/{id} is not provided, but the API serves it"
	check_planted 'Drive hot-plug is not provided: PUT /drives is refused.' "says /drives is not provided, but the API serves it"
	check_planted 'This build does not provide: machine-config, vsock.' "says machine-config is not provided"
}

@test "the doc check fails when a page says a flag --help lists is not provided" {
	check_planted 'The flag `--metrics-path` is not provided.' "says --metrics-path is not provided, but --help lists it"
}

@test "the doc check fails on a link to a page that does not exist or lies outside the repository" {
	check_planted 'See [the plan](no-such-page.md).' "links no-such-page.md, which does not exist"
	check_planted 'See [the design](../../shared/design.md).' "links ../../shared/design.md, which is outside the repository"
}

@test "the doc check passes a page that says an unserved route is not provided" {
	local copy
	copy_tree
	printf '\nThis build does not provide `/hotplug/memory` or `--enable-pci`.\n' >>"$copy/doc/api.md"
	run python3 "$EMBER_SRC/test/doc-check.py" --src "$copy" --build "$EMBER_BUILD"
	assert_success
}
