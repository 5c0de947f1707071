#!/usr/bin/env bats
# CPU templates (doc/cpu-templates.md): each static template boots where
# Firecracker's rule says it applies, and the guest's CPUID then holds the
# template's bits on the leaves KVM honours; elsewhere InstanceStart gives
# Firecracker's exact error and the VM stays unstarted, with nothing created.
# cpu-template-check.py has its own copy of the rule (from /proc/cpuinfo), so
# a wrong rule in ember fails here on Intel and on AMD.

load helpers
load api-helpers
load boot-helpers

CHECK=$EMBER_SRC/test/integration/cpu-template-check.py
FC_TEMPLATES=$EMBER_SRC/test/data/firecracker-cpu-templates

setup() {
	require_built_ember
}

teardown() {
	api_stop
}

# put_headers METHOD PATH BODY: one request, the whole answer (headers too) in $BATS_TEST_TMPDIR/resp.
put_headers() {
	curl -s -S --max-time 20 -i --unix-socket "$SOCK" -X "$1" -H 'Content-Type: application/json' \
		--data-binary "$3" "http://localhost$2" >"$BATS_TEST_TMPDIR/resp"
}

# metric GROUP FIELD FILE: the sum of a metric over the lines of a metrics file.
metric() {
	python3 -c 'import json,sys
g,f=sys.argv[1],sys.argv[2]
print(sum(json.loads(l).get(g,{}).get(f,0) for l in open(sys.argv[3]) if l.strip()))' "$@"
}

# expect_get PATH SUBSTRING: GET answers 200 with SUBSTRING in its body.
expect_get() {
	api GET "$1"
	[ "$code" = 200 ] || fail "GET $1: status $code: $body"
	[[ "$body" == *"$2"* ]] || fail "GET $1: body '$body' lacks '$2'"
}

# The VM was refused: still "Not started", and ember holds no KVM VM or vCPU fd.
assert_nothing_created() {
	expect_get / '"state":"Not started"'
	run bash -c "ls -l /proc/$EMBER_PID/fd | grep -c 'kvm-vm\|kvm-vcpu'"
	assert_output 0
}

# boot_cpuid TEMPLATE_SETUP...: boots probe=cpuid after the given requests
# (already sent by the caller) and waits for the guest to finish; output in $OUT.
boot_cpuid_and_wait() {
	boot_probe probe=cpuid
	api_wait_exit
	[ "$EMBER_STATUS" -eq 0 ] || fail "ember exited $EMBER_STATUS: $(tail -20 "$OUT")"
	grep -q '^PROBE DONE pass=1 fail=0' "$OUT" || fail "probe=cpuid did not pass: $(tail -20 "$OUT")"
}

check_leaves() {
	local pvm=
	is_pvm_host && pvm=--pvm
	run python3 "$CHECK" leaves "$1" "$OUT" $pvm
	printf '%s\n' "$output" | sed 's/^/# /' >&3
	assert_success
}

@test "each static template: where the host fits it, the guest's leaves hold its bits; elsewhere Firecracker's error and nothing is created" {
	require_kvm
	local t want
	for t in C3 T2 T2S T2CL T2A; do
		want=$(python3 "$CHECK" rule "$t")
		echo "# $t on $(host_cpu_vendor): $want" >&3
		api_start
		expect_api 204 PUT /machine-config "{\"vcpu_count\":1,\"mem_size_mib\":64,\"cpu_template\":\"$t\"}"
		expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"console=ttyS0 probe=cpuid\"}"
		api PUT /actions '{"action_type":"InstanceStart"}'
		if [ "$want" = applies ]; then
			# kvm_pvm refuses host writes to IA32_ARCH_CAPABILITIES, which T2S
			# and T2CL set: there the start fails naming the MSR
			if [ "$code" = 400 ] && is_pvm_host && grep -q msr_modifiers "$FC_TEMPLATES/$t.json" &&
				[[ "$body" == *"Failed to set MSRs: KVM refused MSR 0x10a on vcpu 0"* ]]; then
				echo "# $t: applies, but this PVM host refuses IA32_ARCH_CAPABILITIES: $body" >&3
				assert_nothing_created
				api_stop
				continue
			fi
			[ "$code" = 204 ] || fail "$t applies here, but InstanceStart answered $code: $body"
			api_wait_exit
			[ "$EMBER_STATUS" -eq 0 ] || fail "ember exited $EMBER_STATUS: $(tail -20 "$OUT")"
			grep -q '^PROBE DONE pass=1 fail=0' "$OUT" || fail "probe=cpuid did not pass: $(tail -20 "$OUT")"
			check_leaves "$FC_TEMPLATES/$t.json"
			continue
		fi
		[ "$code" = 400 ] || fail "$t: InstanceStart answered $code: $body"
		[ "$body" = "{\"fault_message\":\"$want\"}" ] || fail "$t: got $body, want $want"
		assert_nothing_created
		# the refusal changed nothing: without the template the same VM boots
		expect_api 204 PATCH /machine-config '{"cpu_template":"None"}'
		expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
		api_wait_exit
		[ "$EMBER_STATUS" -eq 0 ] || fail "$t: after the refusal the VM did not run: $(tail -5 "$OUT")"
		grep -q '^PROBE DONE pass=1 fail=0' "$OUT"
	done
}

@test "a custom template's bits reach the guest on the leaves KVM honours; the checker fails a wrong bit" {
	require_kvm
	local tmpl=$BATS_TEST_TMPDIR/custom.json
	# 0x80000001 ECX[8] (3DNowPrefetch) and EDX[26] (1 GiB pages) off,
	# 0x80000008 EAX[7:0] = 39 physical address bits, EBX[9] (WBNOINVD) off
	cat >"$tmpl" <<-'JSON'
	{"cpuid_modifiers": [
	  {"leaf": "0x80000001", "subleaf": "0x0", "flags": 0, "modifiers": [
	    {"register": "ecx", "bitmap": "0bxxxxxxxxxxxxxxxxxxxxxxx0xxxxxxxx"},
	    {"register": "edx", "bitmap": "0bxxxxx0xxxxxxxxxxxxxxxxxxxxxxxxxx"}]},
	  {"leaf": "0x80000008", "subleaf": "0x0", "flags": 0, "modifiers": [
	    {"register": "eax", "bitmap": "0bxxxxxxxxxxxxxxxxxxxxxxxx00100111"},
	    {"register": "ebx", "bitmap": "0bxxxxxxxxxxxxxxxxxxxxxx0xxxxxxxxx"}]}]}
	JSON
	api_start
	expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64}'
	expect_api 204 PUT /cpu-config "$(cat "$tmpl")"
	boot_cpuid_and_wait
	check_leaves "$tmpl"
	grep -q '^PROBE-INFO cpuid 0x80000008 0x0 0x0000..27 ' "$OUT"
	# the same output against a template it does not hold: the checker must fail
	sed -i 's/00100111/00100110/' "$tmpl"
	run python3 "$CHECK" leaves "$tmpl" "$OUT"
	assert_failure
	assert_output --partial 'FAIL leaf 0x80000008.0 eax'
}

@test "probe=cpuid prints leaf 0, the hypervisor and the extended leaves; AMD 0x80000000 as KVM reports it" {
	require_kvm
	api_start
	expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64}'
	boot_cpuid_and_wait
	grep -qE '^PROBE-INFO cpuid 0x0 0x0 0x[0-9a-f]{8} 0x[0-9a-f]{8} 0x[0-9a-f]{8} 0x[0-9a-f]{8}$' "$OUT"
	grep -q '^PROBE-INFO cpuid 0x40000000 0x0 0x40000010 ' "$OUT"
	grep -q '^PROBE-INFO cpuid 0x40000010 0x0 ' "$OUT"
	grep -q '^PROBE-INFO cpuid 0x40000100 0x0 0x40000101 0x4b4d564b 0x564b4d56 0x0000004d$' "$OUT"
	grep -q '^PROBE-INFO cpuid 0x80000001 0x0 ' "$OUT"
	# the guest's highest extended leaf is what the host reports to KVM's
	# table (ember leaves it alone): every leaf up to it was printed
	local max
	max=$(sed -n 's/^PROBE-INFO cpuid 0x80000000 0x0 0x\([0-9a-f]*\) .*/\1/p' "$OUT")
	[ -n "$max" ]
	grep -q "^PROBE-INFO cpuid 0x$(printf '%x' $((0x$max))) 0x0 " "$OUT"
	if [ "$(host_cpu_vendor)" = AuthenticAMD ]; then
		local host_max
		host_max=$(python3 -c 'import fcntl,struct,os
KVM_GET_SUPPORTED_CPUID=0xc008ae05
fd=os.open("/dev/kvm",os.O_RDWR)
buf=bytearray(struct.pack("II",256,0)+bytes(40*256))
fcntl.ioctl(fd,KVM_GET_SUPPORTED_CPUID,buf)
n=struct.unpack_from("I",buf,0)[0]
for i in range(n):
    f,idx,fl,a,b,c,d=struct.unpack_from("IIIIIII",buf,8+40*i)
    if f==0x80000000: print("%08x"%a)')
		[ "$max" = "$host_max" ] || fail "AMD leaf 0x80000000 EAX: guest $max, KVM $host_max"
	fi
	# the probe never reads an MSR a template may change (a #GP triple-faults
	# under PVM): the only rdmsr in it is EFER's, in the entry code
	run bash -c "objdump -d '$PROBE' | awk '/^[0-9a-f]+ <.*>:\$/ { f = \$2 } /\trdmsr/ { print f }' |
		grep -v -x -e '<probe_entry64>:' -e '<probe_entry_pvh>:' | wc -l"
	assert_output 0
	run bash -c "objdump -d '$PROBE' | grep -B1 -w rdmsr | grep -c 'mov  *\\\$0xc0000080,%ecx'"
	assert_output 2
}

@test "cpu_template in PUT/PATCH /machine-config, even None: Deprecation header, the counter, the log line; GET shows a static one" {
	local m=$BATS_TEST_TMPDIR/metrics.json
	api_start --metrics-path "$m"
	put_headers PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128,"cpu_template":"None"}'
	grep -q '^HTTP/1.1 204 ' "$BATS_TEST_TMPDIR/resp"
	grep -q -i '^Deprecation: true' "$BATS_TEST_TMPDIR/resp"
	put_headers PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128,"cpu_template":"T2S"}'
	grep -q -i '^Deprecation: true' "$BATS_TEST_TMPDIR/resp"
	expect_get /machine-config '"cpu_template":"T2S"'
	# absent keeps it, PUT included; no Deprecation then
	put_headers PUT /machine-config '{"vcpu_count":2,"mem_size_mib":128}'
	run grep -c -i '^Deprecation' "$BATS_TEST_TMPDIR/resp"
	assert_output 0
	expect_get /machine-config '"cpu_template":"T2S"'
	expect_get /vm/config '"cpu_template":"T2S"'
	put_headers PATCH /machine-config '{"cpu_template":"T2A"}'
	grep -q -i '^Deprecation: true' "$BATS_TEST_TMPDIR/resp"
	expect_get /machine-config '"cpu_template":"T2A"'
	# a refusal after parsing is still flagged (Firecracker flags at parse)
	put_headers PATCH /machine-config '{"cpu_template":"None","vcpu_count":3,"smt":true}'
	grep -q '^HTTP/1.1 400 ' "$BATS_TEST_TMPDIR/resp"
	grep -q -i '^Deprecation: true' "$BATS_TEST_TMPDIR/resp"
	# an unknown name is serde's error, not a deprecated call
	put_headers PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128,"cpu_template":"V1N1"}'
	grep -q 'unknown variant `V1N1`, expected one of `C3`, `T2`, `T2S`, `None`, `T2CL`, `T2A`' "$BATS_TEST_TMPDIR/resp"
	run grep -c -i '^Deprecation' "$BATS_TEST_TMPDIR/resp"
	assert_output 0
	# None clears it: GET no longer shows the field
	expect_api 204 PATCH /machine-config '{"cpu_template":"None"}'
	api GET /machine-config
	[[ "$body" != *cpu_template* ]] || fail "cpu_template still shown: $body"
	grep -q 'PUT /machine-config: cpu_template field is deprecated.' "$OUT"
	grep -q 'PATCH /machine-config: cpu_template field is deprecated.' "$OUT"
	kill -TERM "$EMBER_PID"
	api_wait_exit
	run metric deprecated_api deprecated_http_api_calls "$m"
	assert_output 5
}

@test "PUT /cpu-config: Firecracker's errors naming the field, replaces a static template, refused after boot" {
	require_kvm
	local DESER='An error occurred when deserializing the json body of a request: '
	api_start
	expect_api 400 PUT /cpu-config '{"cpuid_modifiers":[{"leaf":"1","subleaf":"0x0","flags":0,"modifiers":[]}]}' \
		"${DESER}No supported number system prefix found in value [1]."
	expect_api 400 PUT /cpu-config '{"msr_modifiers":[{"addr":"0x10a","bitmap":"0b2"}]}' \
		"${DESER}Failed to parse string [0b2] as a bitmap - unknown character: 50."
	expect_api 400 PUT /cpu-config '{"cpuid_modifiers":[{"leaf":"0x1","subleaf":"0x0","flags":0,"modifiers":[{"register":"esp","bitmap":"0b1"}]}]}' \
		'Invalid CPUID register. Must be one of [eax, ebx, ecx, edx] (field `register` in cpuid_modifiers[0].modifiers[0])'
	expect_api 400 PUT /cpu-config '{"kvm_capabilities":["x"]}' 'as a kvm capability - can not convert to numeric'
	expect_api 400 PUT /cpu-config '{"vcpu_features":[]}' 'unknown field `vcpu_features`'
	expect_api 204 PUT /cpu-config '{}'
	# the body is logged only at Debug, as Firecracker does
	grep -q 'received a Put request on "/cpu-config".' "$OUT"
	run grep -c 'request on "/cpu-config" with body' "$OUT"
	assert_output 0
	# a static template set before is replaced: GET no longer shows it, and
	# the start is not refused for the host
	expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64,"cpu_template":"T2"}'
	expect_api 204 PUT /cpu-config '{"cpuid_modifiers":[]}'
	api GET /machine-config
	[[ "$body" != *cpu_template* ]] || fail "cpu_template still shown: $body"
	boot_wait_guest
	expect_api 400 PUT /cpu-config '{}' 'The requested operation is not supported after starting the microVM.'
}

@test "InstanceStart names a leaf KVM lacks, an MSR KVM lacks, a missing capability; the VM stays unstarted" {
	require_kvm
	api_start
	expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64}'
	expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$PROBE\",\"boot_args\":\"console=ttyS0 probe=cpuid\"}"
	expect_api 204 PUT /cpu-config '{"cpuid_modifiers":[{"leaf":"0x8fffff00","subleaf":"0x3","flags":0,"modifiers":[{"register":"eax","bitmap":"0b1"}]}]}'
	expect_api 400 PUT /actions '{"action_type":"InstanceStart"}' \
		'Start microvm error: System configuration error: Failed to create guest config: Template changes a CPUID entry not supported by KVM: Leaf: 8fffff00, Subleaf: 3'
	assert_nothing_created
	expect_api 204 PUT /cpu-config '{"msr_modifiers":[{"addr":"0x12345","bitmap":"0b1"}]}'
	expect_api 400 PUT /actions '{"action_type":"InstanceStart"}' \
		'Template changes an MSR entry not supported by KVM: Register Address: 12345'
	assert_nothing_created
	expect_api 204 PUT /cpu-config '{"kvm_capabilities":["!9999","99999"]}'
	expect_api 400 PUT /actions '{"action_type":"InstanceStart"}' 'Start microvm error: Kvm error: Missing KVM capabilities: 0x1869f'
	assert_nothing_created
	expect_api 204 PUT /cpu-config '{"kvm_capabilities":["!9999"]}'
	expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
	api_wait_exit
	[ "$EMBER_STATUS" -eq 0 ]
}

@test "the config file's cpu-config: same validator, its template reaches the guest, it wins over cpu_template" {
	require_kvm
	local cfg=$BATS_TEST_TMPDIR/vm.json
	cat >"$cfg" <<-JSON
	{ "boot-source": { "kernel_image_path": "$PROBE", "boot_args": "console=ttyS0 probe=cpuid" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64, "cpu_template": "T2" },
	  "cpu-config": { "cpuid_modifiers": [ { "leaf": "0x80000008", "subleaf": "0x0", "flags": 0,
	      "modifiers": [ { "register": "eax", "bitmap": "0bxxxxxxxxxxxxxxxxxxxxxxxx00100111" } ] } ] } }
	JSON
	run_ember_config "$cfg"
	assert_success
	assert_output --regexp 'PROBE-INFO cpuid 0x80000008 0x0 0x0000..27 '
	sed -i 's/"eax"/"esp"/' "$cfg"
	run_ember_config "$cfg"
	assert_failure 152
	assert_output --partial 'cpu-config: An error occurred when deserializing the json body of a request: Invalid CPUID register.'
	# Firecracker's other form: a string names a file holding the template
	local tmpl=$BATS_TEST_TMPDIR/template.json
	echo '{"cpuid_modifiers": [{"leaf": "0x80000008", "subleaf": "0x0", "flags": 0, "modifiers": [{"register": "eax", "bitmap": "0bxxxxxxxxxxxxxxxxxxxxxxxx00100110"}]}]}' >"$tmpl"
	cat >"$cfg" <<-JSON
	{ "boot-source": { "kernel_image_path": "$PROBE", "boot_args": "console=ttyS0 probe=cpuid" },
	  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
	  "cpu-config": "$tmpl" }
	JSON
	run_ember_config "$cfg"
	assert_success
	assert_output --regexp 'PROBE-INFO cpuid 0x80000008 0x0 0x0000..26 '
	sed -i "s|$tmpl|$tmpl.missing|" "$cfg"
	run_ember_config "$cfg"
	assert_failure 152
	assert_output --partial "cpu-config: cannot open the CPU template"
}
