# firecracker-containerd's shim (runtime/service.go, noop_jailer.go,
# helpers.go, config/config.go) through the Go SDK, not jailed (the noop
# jailer): in the VM's directory `firecracker --api-sock firecracker.sock
# --id VMID`; GET /machine-config until it answers; PUT /logger and /metrics
# on fc-logs.fifo and fc-metrics.fifo; PUT /machine-config with its defaults
# (cpu_template "T2" where SupportCPUTemplate says Intel, 1 vCPU, 128 MiB,
# smt false); the boot source with its default kernel args; the root drive;
# the network interface that may reach the MMDS; PUT /vsock with the SDK's
# zero CID, the relative firecracker.vsock and id agent_api; PUT /mmds/config;
# InstanceStart; then it dials the agent (CONNECT 10789, retried), sets the
# VM's metadata (SetVMMetadata: PUT /mmds) and at the end stops ember with
# SIGTERM (StopVMM) when the guest did not end by itself.

fc_containerd_replay() {
	local dir=$EBASE/default#$ENG_ID sock mc='"mem_size_mib":128,"smt":false,"vcpu_count":1'
	mkdir "$dir"
	sock=$dir/firecracker.sock
	net_tap_up tap0
	head -c 1048576 /dev/zero >"$EBASE/rootfs.img"
	eng_fifos "$dir/fc-logs.fifo" "$dir/fc-metrics.fifo"
	chmod 0700 "$dir/fc-logs.fifo" "$dir/fc-metrics.fifo"
	eng_vsock_listen "$dir/firecracker.vsock_53"
	OUT=$BATS_TEST_TMPDIR/ember.out
	(cd "$dir" && exec ip netns exec "$NS" "$FC" --api-sock firecracker.sock --id "$ENG_ID") >"$OUT" 2>&1 </dev/null &
	FC_PID=$!
	EMBER_PID=$FC_PID
	eng_wait_socket "$sock"
	# On Intel the shim defaults cpu_template to T2. On an Intel model
	# Firecracker refuses T2 for (fc_containerd_t2_replay checks that
	# refusal), its operators set "cpu_template": "" in
	# firecracker-runtime.json, and the shim then sends none, as on AMD.
	if grep -q '^vendor_id.*GenuineIntel' /proc/cpuinfo &&
		[ "$(python3 "$BATS_TEST_DIRNAME/cpu-template-check.py" rule T2)" = applies ]; then
		mc="\"cpu_template\":\"T2\",$mc"
	fi
	# config.go's defaultKernelArgs, then the probe's. The shim's VsockDevice
	# leaves CID unset: the SDK sends 0, which Firecracker takes unchecked and
	# ember takes with a warning (doc/vsock.md); the agent is reached through
	# the socket, where the CID plays no part.
	local SDK_LOG_LEVEL=Info SDK_LOG=$dir/fc-logs.fifo SDK_METRICS=$dir/fc-metrics.fifo SDK_VCPUS=1 \
		SDK_MACHINE="{$mc}" SDK_KERNEL=$PROBE \
		SDK_ARGS="console=ttyS0 noapic reboot=k panic=1 pci=off nomodules rw $(eng_probe_args vsock,net,mmds,wait probe.mmds_get=/vm/id probe.vsock_listen=10789 probe.vsock_serve_ms=20000)" \
		SDK_DRIVE=root_drive SDK_DRIVE_RO=true SDK_ROOTFS=$EBASE/rootfs.img SDK_MAC=06:00:ac:10:00:03 \
		SDK_VSOCK='{"guest_cid":0,"uds_path":"firecracker.vsock","vsock_id":"agent_api"}' SDK_MMDS=V1 SDK_METADATA=
	eng_sdk_init "$sock"
	# the agent's dial (vsock.DialContext retries until the guest listens)
	eng_vsock_connect "$dir/firecracker.vsock" 10789
	eng_expect "$sock" 204 PUT /mmds "{\"vm\":{\"id\":\"$ENG_ID\"}}"
	wait_output 'PROBE mmds.done' 900
	eng_comms "$FC_PID" 1
	eng_guest_mmds_vsock /vm/id "$ENG_ID"
	# the warning, in the log the shim set (fc-logs.fifo)
	grep -a -q 'vsock: guest_cid 0 is reserved (VMADDR_CID_HYPERVISOR' "$BATS_TEST_TMPDIR/log.out" ||
		fail "no reserved-CID warning: $(cat "$BATS_TEST_TMPDIR/log.out")"
	eng_flush_metrics "$sock"
	eng_stop "$FC_PID" TERM 5
}

# fc_containerd_t2_replay: the shim as it runs on Intel, where
# SupportCPUTemplate (internal/cpu_template.go: vendor_id GenuineIntel) makes
# config.go default cpu_template to "T2" (on AMD service.go clears it, which
# fc_containerd_replay follows). Firecracker's rule then decides: where T2
# applies the VM starts; elsewhere InstanceStart answers Firecracker's exact
# error (vendor, or model) and the VM stays unstarted, as the shim would
# report. cpu-template-check.py computes the rule apart from ember's code.
fc_containerd_t2_replay() {
	local dir=$EBASE/default#$ENG_ID sock want
	mkdir "$dir"
	sock=$dir/firecracker.sock
	net_tap_up tap0
	head -c 1048576 /dev/zero >"$EBASE/rootfs.img"
	eng_fifos "$dir/fc-logs.fifo" "$dir/fc-metrics.fifo"
	OUT=$BATS_TEST_TMPDIR/ember.out
	(cd "$dir" && exec ip netns exec "$NS" "$FC" --api-sock firecracker.sock --id "$ENG_ID") >"$OUT" 2>&1 </dev/null &
	FC_PID=$!
	EMBER_PID=$FC_PID
	eng_wait_socket "$sock"
	local SDK_LOG_LEVEL=Info SDK_LOG=$dir/fc-logs.fifo SDK_METRICS=$dir/fc-metrics.fifo SDK_VCPUS=1 \
		SDK_MACHINE='{"cpu_template":"T2","mem_size_mib":128,"smt":false,"vcpu_count":1}' SDK_KERNEL=$PROBE \
		SDK_ARGS="console=ttyS0 noapic reboot=k panic=1 pci=off nomodules rw $(eng_probe_args wait)" \
		SDK_DRIVE=root_drive SDK_DRIVE_RO=true SDK_ROOTFS=$EBASE/rootfs.img SDK_MAC=06:00:ac:10:00:03 \
		SDK_VSOCK='{"guest_cid":0,"uds_path":"firecracker.vsock","vsock_id":"agent_api"}' SDK_MMDS=V1 SDK_METADATA= \
		SDK_NO_START=1
	eng_sdk_init "$sock"
	# GET /machine-config shows the template the shim set
	eng_expect "$sock" 200 GET /machine-config '' '"cpu_template":"T2"'
	want=$(python3 "$BATS_TEST_DIRNAME/cpu-template-check.py" rule T2)
	echo "# T2 on this host: $want" >&3
	if [ "$want" = applies ]; then
		eng_expect "$sock" 204 PUT /actions '{"action_type":"InstanceStart"}'
		eng_wait_running "$sock" 10
	else
		eng_expect "$sock" 400 PUT /actions '{"action_type":"InstanceStart"}'
		[ "$body" = "{\"fault_message\":\"$want\"}" ] || fail "InstanceStart: got $body, want $want"
		eng_expect "$sock" 200 GET / '' '"state":"Not started"'
	fi
	eng_stop "$FC_PID" TERM 5
}
