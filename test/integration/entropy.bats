#!/usr/bin/env bats
# virtio-rng: PUT /entropy and the `entropy` config key, and the device end
# to end through the probe guest's `rng` scenario (two 4096-byte reads that
# must come back full, random-looking and different; timed reads; the
# interrupt by the LAPIC IRR). See doc/entropy.md.

load helpers
load api-helpers
load boot-helpers

setup() {
	TMP=$(mktemp -d)
}

teardown() {
	api_stop
	rm -rf "$TMP"
}

# entropy_metric FIELD FILE: entropy.FIELD summed over every line of a metrics file.
entropy_metric() {
	python3 -c 'import json,sys
print(sum(json.loads(l).get("entropy",{}).get(sys.argv[1],0) for l in open(sys.argv[2]) if l.strip()))' "$@"
}

# rng_run NAME ENTROPY_JSON [EXTRA...]: boots probe=rng with that entropy
# object and a metrics file $TMP/NAME.metrics; output in $output.
rng_run() {
	local name=$1 entropy=$2
	shift 2
	probe_config "$TMP/$name.json" 1 64 rng "$@"
	python3 - "$TMP/$name.json" "$entropy" "$TMP/$name.metrics" <<-'PY'
	import json, sys
	c = json.load(open(sys.argv[1]))
	c["entropy"] = json.loads(sys.argv[2])
	c["metrics"] = {"metrics_path": sys.argv[3]}
	json.dump(c, open(sys.argv[1], "w"))
	PY
	: >"$TMP/$name.metrics"
	run_ember_config "$TMP/$name.json"
}

@test "PUT /entropy before boot, GET /vm/config shows it, bad bodies name their field, after boot it is refused" {
	api_start
	expect_api 200 GET /vm/config
	assert_equal "$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["entropy"])')" None
	expect_api 204 PUT /entropy '{}'
	expect_api 200 GET /vm/config
	assert_equal "$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["entropy"]))')" \
		'{"rate_limiter": null}'
	# a second PUT replaces the first, as Firecracker's builder does
	expect_api 204 PUT /entropy '{"rate_limiter":{"bandwidth":{"size":1000,"one_time_burst":10,"refill_time":100}}}'
	expect_api 200 GET /vm/config
	assert_equal "$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["entropy"], sort_keys=True))')" \
		'{"rate_limiter": {"bandwidth": {"one_time_burst": 10, "refill_time": 100, "size": 1000}, "ops": null}}'
	if [ -d "$EMBER_SRC/tools/npm/node_modules" ]; then
		printf '%s' "$body" >"$TMP/vm-config.json"
		run node "$EMBER_SRC/test/integration/api-openapi.js" "$EMBER_SRC/doc/api.yaml" "/vm/config=$TMP/vm-config.json"
		assert_success
	fi
	expect_api 400 PUT /entropy '{"rate_limiter":{"ops":{"size":1}}}' 'missing field `refill_time`'
	expect_api 400 PUT /entropy '{"rate":1}' 'unknown field `rate`'
	expect_api 400 PUT /entropy '[]' 'expected struct EntropyDeviceConfig'
	expect_api 400 PUT /entropy '{"rate_limiter":{"ops":{"size":-1,"refill_time":1}}}' 'size'
	# the refused PUTs changed nothing
	expect_api 200 GET /vm/config
	assert_equal "$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["entropy"]["rate_limiter"]["bandwidth"]["size"])')" 1000
	require_kvm
	boot_probe probe=rng,wait
	wait_guest_running
	expect_api 400 PUT /entropy '{}' 'The requested operation is not supported after starting the microVM.'
	expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
	api_wait_exit
	assert_equal "$EMBER_STATUS" 0
	output=$(cat "$OUT")
	assert_probe_all_ok
}

@test "the entropy config key: the guest reads random bytes (rng.read, irq.rng), entropy_bytes >= 8192; bad values exit 152 naming the key" {
	require_kvm
	rng_run plain '{}'
	assert_success
	assert_probe_all_ok
	assert_line 'PROBE rng.read ok'
	assert_line 'PROBE irq.rng ok'
	[ "$(entropy_metric entropy_bytes "$TMP/plain.metrics")" -ge 8192 ] ||
		fail "entropy_bytes $(entropy_metric entropy_bytes "$TMP/plain.metrics") < 8192: $(cat "$TMP/plain.metrics")"
	[ "$(entropy_metric entropy_event_count "$TMP/plain.metrics")" -ge 3 ]
	assert_equal "$(entropy_metric host_rng_fails "$TMP/plain.metrics")" 0
	# without the device the scenario says so
	probe_config "$TMP/none.json" 1 64 rng
	run_ember_config "$TMP/none.json"
	assert_line --partial 'PROBE rng.device FAIL'
	for bad in '{"x": 1}' '[]' '{"rate_limiter": {"ops": {"size": "1", "refill_time": 1}}}'; do
		probe_config "$TMP/bad.json" 1 64 rng
		python3 - "$TMP/bad.json" "$bad" <<-'PY'
		import json, sys
		c = json.load(open(sys.argv[1]))
		c["entropy"] = json.loads(sys.argv[2])
		json.dump(c, open(sys.argv[1], "w"))
		PY
		run_ember_config "$TMP/bad.json"
		assert_equal "$status" 152
		assert_output --partial 'entropy: '
	done
}

@test "a limiter of 1 op per 100 ms: the timed reads take several times the unlimited run's cycles; the throttle counters count" {
	require_kvm
	require_built_ember # timing: not under the seccomp suite's tracing wrapper
	rng_run free '{}' probe.rng_reads=6
	assert_success
	assert_probe_all_ok
	free=$(probe_info rng.cycles)
	assert_equal "$(entropy_metric entropy_rate_limiter_throttled "$TMP/free.metrics")" 0
	rng_run limited '{"rate_limiter": {"ops": {"size": 1, "refill_time": 100}}}' probe.rng_reads=6
	assert_success
	assert_probe_all_ok
	limited=$(probe_info rng.cycles)
	# 6 reads behind a 100 ms refill wait about 600 ms; unlimited they take
	# a few exits each. "Several times" with a wide margin for a loaded host.
	[ "$limited" -ge $((free * 5)) ] || fail "limited $limited cycles, unlimited $free: less than 5 times"
	throttled=$(entropy_metric entropy_rate_limiter_throttled "$TMP/limited.metrics")
	[ "$throttled" -ge 6 ] || fail "entropy_rate_limiter_throttled $throttled, expected at least 6"
	[ "$(entropy_metric rate_limiter_event_count "$TMP/limited.metrics")" -ge 6 ]
	[ "$(entropy_metric entropy_bytes "$TMP/limited.metrics")" -ge 8192 ]
	# a bandwidth bucket throttles too: 4096 bytes per 100 ms
	rng_run bw '{"rate_limiter": {"bandwidth": {"size": 4096, "refill_time": 100}}}'
	assert_success
	assert_probe_all_ok
	[ "$(entropy_metric entropy_rate_limiter_throttled "$TMP/bw.metrics")" -ge 1 ]
}
