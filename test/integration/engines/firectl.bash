# firectl (main.go, options.go) through the Go SDK (machine.go, handlers.go),
# not jailed: `firecracker --api-sock PATH` (VMCommandBuilder, stdio the
# user's), then the SDK's FcInit handlers in order: GET /machine-config until
# it answers (waitForSocket), PUT /logger and /metrics on its FIFOs, PUT
# /machine-config and GET it back (refreshMachineConfiguration), PUT
# /boot-source, the root drive "1", the TAP as interface "1", the vsock, PUT
# /mmds/config (with --metadata every NIC may reach the MMDS), InstanceStart,
# then SetMetadata's PUT /mmds; at exit StopVMM sends SIGTERM. Bodies are
# go-swagger's: fields in struct order, omitempty strings dropped, pointers kept.
#
# firectl --firecracker-binary $FC --kernel $PROBE --root-drive rootfs.img
#   --tap-device tap0/AA:FC:00:00:00:01 --vsock-device v.sock:3
#   --vmm-log-fifo logs.fifo --metrics-fifo metrics.fifo -m 128
#   --kernel-opts '...' --metadata '{"name":"firectl"}' --socket-path fc.sock

firectl_replay() {
	local sock=$EBASE/fc.sock
	net_tap_up tap0
	head -c 1048576 /dev/zero >"$EBASE/rootfs.img"
	eng_fifos "$EBASE/logs.fifo" "$EBASE/metrics.fifo"
	eng_vsock_listen "$EBASE/v.sock_53"
	OUT=$BATS_TEST_TMPDIR/ember.out
	ip netns exec "$NS" "$FC" --api-sock "$sock" >"$OUT" 2>&1 </dev/null &
	FC_PID=$!
	EMBER_PID=$FC_PID
	eng_wait_socket "$sock"
	# the kernel options firectl's user gave (its default's words), then the probe's
	local SDK_LOG_LEVEL=Debug SDK_LOG=$EBASE/logs.fifo SDK_METRICS=$EBASE/metrics.fifo SDK_VCPUS=1 \
		SDK_MACHINE='{"mem_size_mib":128,"smt":true,"vcpu_count":1}' SDK_KERNEL=$PROBE \
		SDK_ARGS="ro noapic reboot=k panic=1 pci=off nomodules $(eng_probe_args net,mmds,vsock,wait probe.mmds_get=/name probe.vsock_serve_ms=15000)" \
		SDK_DRIVE=1 SDK_DRIVE_RO=false SDK_ROOTFS=$EBASE/rootfs.img SDK_MAC=AA:FC:00:00:00:01 \
		SDK_VSOCK="{\"guest_cid\":3,\"uds_path\":\"$EBASE/v.sock\"}" SDK_MMDS=V1 SDK_METADATA=
	eng_sdk_init "$sock"
	# --metadata: firectl sets it after the start
	eng_expect "$sock" 204 PUT /mmds '{"name":"firectl"}'
	wait_output 'PROBE vsock.rst' 900
	eng_comms "$FC_PID" 1
	eng_guest_mmds_vsock /name firectl
	eng_vsock_connect "$EBASE/v.sock" 52
	eng_flush_metrics "$sock"
	eng_stop "$FC_PID" TERM 15
}
