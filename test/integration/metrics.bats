#!/usr/bin/env bats
# The metrics line against Firecracker's field list (test/data/firecracker-metrics.txt,
# derived from Firecracker's source by tools/firecracker-metrics-fields.py): both ways,
# so a renamed field or a lost group fails; and what a booted guest did is counted.

load helpers
load block-helpers

FIELDS=$EMBER_SRC/test/data/firecracker-metrics.txt

setup() {
	TMP=$(mktemp -d)
}

teardown() {
	rm -rf "$TMP"
}

# The second vCPU's port writes in the smp scenario: far more exits than the
# boot CPU makes in boot,blk (about 1 600), so the sum shows both.
AP_OUTS=20000

# check_metrics FILE: compares every line of the metrics file FILE with the field list
# and checks the counters of a boot,blk,smp run of two vCPUs with the drive "disk1".
check_metrics() {
	python3 - "$FIELDS" "$1" "$AP_OUTS" <<-'PY'
	import json, sys
	fields, path, ap_outs = sys.argv[1], sys.argv[2], int(sys.argv[3])
	want, keeps, section, reason, in_comment = set(), set(), 'fc', '', False
	for line in open(fields):
	    line = line.strip()
	    if line.startswith('#') and section == 'keeps':
	        # A comment block is the reason of the fields below it, up to the next block.
	        reason = (reason if in_comment else '') + ' ' + line
	        in_comment = True
	        continue
	    if not line or line.startswith('#'):
	        continue
	    if line == '[ember keeps]':
	        section = 'keeps'
	        continue
	    name, *arches = line.split()
	    if section == 'keeps':
	        # Each kept field sits under a comment that names its group or itself: its reason.
	        group, leaf = name.split('.', 1)
	        assert group + ':' in reason or leaf in reason, f'{name}: no reason in the comment above it'
	        in_comment = False
	        keeps.add(name)
	    elif 'x86' in arches:
	        want.add(name)
	def flatten(obj, prefix=''):
	    for k, v in obj.items():
	        if isinstance(v, dict):
	            yield from flatten(v, prefix + k + '.')
	        else:
	            yield prefix + k, v
	lines = [json.loads(l) for l in open(path)]
	assert len(lines) >= 2, f'{len(lines)} metrics lines'
	totals = {}
	for l in lines:
	    flat = dict(flatten({k: v for k, v in l.items() if k != 'utc_timestamp_ms'}))
	    per_drive = {k for k in flat if k.startswith('block_')}
	    got = set(flat) - per_drive
	    missing, extra = (want | keeps) - got, got - (want | keeps)
	    assert not missing and not extra, \
	        f'missing from the line: {sorted(missing)}; not in the field list: {sorted(extra)}'
	    assert {k.split('.', 1)[1] for k in per_drive} == {k.split('.', 1)[1] for k in flat if k.startswith('block.')}, \
	        'block_<id> has other fields than block'
	    assert {k.split('.', 1)[0] for k in per_drive} <= {'block_disk1'}, sorted(per_drive)
	    for k, v in flat.items():
	        assert isinstance(v, int) and v >= 0, (k, v)
	        totals[k] = totals.get(k, 0) + v if not k.endswith(('min_us', 'max_us')) else max(totals.get(k, 0), v)
	assert any('block_disk1.read_count' in dict(flatten(l)) for l in lines), 'no block_disk1 group'
	for k in ('vcpu.exit_io_in', 'vcpu.exit_io_out', 'vcpu.exit_mmio_read', 'vcpu.exit_mmio_write',
	          'uart.write_count', 'i8042.reset_count', 'i8042.write_count', 'block.read_count',
	          'block.write_count', 'block.read_bytes', 'block.write_bytes', 'block.queue_event_count',
	          'block_disk1.read_count', 'block_disk1.write_count', 'interrupts.triggers',
	          'block.read_agg.sum_us', 'block.write_agg.sum_us', 'block_disk1.read_agg.sum_us'):
	    assert totals.get(k, 0) > 0, f'{k} counted nothing: {totals.get(k)}'
	for k in ('read_count', 'write_count', 'read_bytes', 'write_bytes', 'flush_count', 'invalid_reqs_count'):
	    assert totals['block.' + k] == totals['block_disk1.' + k], k
	# Both vCPUs' exits are in the sum: the boot CPU writes every serial byte
	# (uart.write_count) with an OUT, the second vCPU AP_OUTS more to a sink.
	assert totals['vcpu.exit_io_out'] >= totals['uart.write_count'] + ap_outs, \
	    f"vcpu.exit_io_out {totals['vcpu.exit_io_out']} < uart.write_count {totals['uart.write_count']} + {ap_outs}"
	for agg in ('exit_io_in_agg', 'exit_io_out_agg', 'exit_mmio_read_agg', 'exit_mmio_write_agg'):
	    lo, hi = totals[f'vcpu.{agg}.min_us'], totals[f'vcpu.{agg}.max_us']
	    assert lo <= hi, (agg, lo, hi)
	print('ok', len(lines), 'lines', len(want), 'Firecracker fields', len(keeps), 'kept')
	PY
}

# boot_blk_two_vcpus: boots boot,blk with 2 vCPUs and the drive disk1, then
# smp (the second vCPU makes AP_OUTS port exits), the metrics in
# $TMP/metrics.json; ember's output and status in $output/$status.
boot_blk_two_vcpus() {
	require_kvm
	truncate -s 1M "$TMP/disk.img"
	args=$(probe_boot_args 2 128 boot,blk,smp probe.smp_outs=$AP_OUTS probe.smp_ms=60000)
	cat >"$TMP/vm.json" <<-JSON
	{
	  "boot-source": { "kernel_image_path": "$PROBE", "boot_args": "$args" },
	  "machine-config": { "vcpu_count": 2, "mem_size_mib": 128 },
	  "drives": [ $(blk_drive disk1 "$TMP/disk.img" false false) ],
	  "metrics": { "metrics_path": "$TMP/metrics.json" }
	}
	JSON
	run timeout --kill-after=5 60 "$EMBER" --no-api --config-file "$TMP/vm.json" --id "metrics-bats-$$"
}

@test "metrics: a boot,blk run with 2 vCPUs writes Firecracker's field list, both ways, and counts what happened" {
	boot_blk_two_vcpus
	assert_probe_all_ok
	assert_output --partial 'PROBE smp.ap ok'
	assert_equal "$status" 0
	run check_metrics "$TMP/metrics.json"
	assert_success
	assert_output --partial 'ok '
}

@test "metrics: the field list is the one the extractor derives (header names tag, commit, files)" {
	run grep -E '^# tag v[0-9]+\.[0-9]+\.[0-9]+ commit [0-9a-f]{40}$' "$FIELDS"
	assert_success
	run grep -c '^# file src/' "$FIELDS"
	[ "$output" -ge 9 ] || fail "the header names $output files"
	run grep -cE '^vcpu\.exit_io_in_agg\.min_us x86' "$FIELDS"
	assert_output 1
	run grep -E '^rtc\.error_count aarch64$' "$FIELDS"
	assert_success
}

@test "metrics: a line missing a group or with a renamed field fails the comparison" {
	boot_blk_two_vcpus
	assert_equal "$status" 0
	sed 's/"exit_io_in":/"exit_io_inn":/' "$TMP/metrics.json" >"$TMP/renamed.json"
	run check_metrics "$TMP/renamed.json"
	assert_failure
	assert_output --partial 'vcpu.exit_io_inn'
	python3 -c 'import json,sys
for l in open(sys.argv[1]):
    d = json.loads(l); d.pop("rtc"); print(json.dumps(d))' "$TMP/metrics.json" >"$TMP/lost.json"
	run check_metrics "$TMP/lost.json"
	assert_failure
	assert_output --partial 'rtc.error_count'
}
