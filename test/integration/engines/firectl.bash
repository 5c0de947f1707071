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
	local sock=$EBASE/fc.sock args i
	net_tap_up tap0
	head -c 1048576 /dev/zero >"$EBASE/rootfs.img"
	mkfifo "$EBASE/logs.fifo" "$EBASE/metrics.fifo"
	cat "$EBASE/logs.fifo" >"$BATS_TEST_TMPDIR/log.out" &
	ENG_PIDS="$ENG_PIDS $!"
	cat "$EBASE/metrics.fifo" >"$BATS_TEST_TMPDIR/metrics.out" &
	ENG_PIDS="$ENG_PIDS $!"
	eng_vsock_listen "$EBASE/v.sock_53"
	OUT=$BATS_TEST_TMPDIR/ember.out
	ip netns exec "$NS" "$FC" --api-sock "$sock" >"$OUT" 2>&1 </dev/null &
	FC_PID=$!
	EMBER_PID=$FC_PID
	for ((i = 0; i < 500; i++)); do
		[ -S "$sock" ] && curl -s --max-time 2 --unix-socket "$sock" http://localhost/machine-config >/dev/null && break
		sleep 0.01
	done
	# the kernel options firectl's user gave (its default's words), then the probe's
	args="ro noapic reboot=k panic=1 pci=off nomodules $(eng_probe_args net,mmds,vsock,wait probe.mmds_get=/name probe.vsock_serve_ms=15000)"
	eng_expect "$sock" 204 PUT /logger "{\"level\":\"Debug\",\"log_path\":\"$EBASE/logs.fifo\",\"show_level\":true,\"show_log_origin\":false}"
	eng_expect "$sock" 204 PUT /metrics "{\"metrics_path\":\"$EBASE/metrics.fifo\"}"
	eng_expect "$sock" 204 PUT /machine-config '{"mem_size_mib":128,"smt":true,"vcpu_count":1}'
	eng_expect "$sock" 200 GET /machine-config '' '"vcpu_count":1'
	eng_expect "$sock" 204 PUT /boot-source "{\"boot_args\":\"$args\",\"kernel_image_path\":\"$PROBE\"}"
	eng_expect "$sock" 204 PUT /drives/1 "{\"drive_id\":\"1\",\"is_read_only\":false,\"is_root_device\":true,\"path_on_host\":\"$EBASE/rootfs.img\"}"
	eng_expect "$sock" 204 PUT /network-interfaces/1 '{"guest_mac":"AA:FC:00:00:00:01","host_dev_name":"tap0","iface_id":"1"}'
	eng_expect "$sock" 204 PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$EBASE/v.sock\"}"
	eng_expect "$sock" 204 PUT /mmds/config '{"network_interfaces":["1"],"version":"V1"}'
	eng_expect "$sock" 204 PUT /actions '{"action_type":"InstanceStart"}'
	eng_expect "$sock" 204 PUT /mmds '{"name":"firectl"}'
	wait_output 'PROBE vsock.rst' 900
	eng_comms "$FC_PID" 1
	eng_guest_ok net.ping mmds.arp vsock.guest_connect
	grep -a -q 'PROBE-INFO mmds GET /name -> 200 firectl' "$OUT" || fail "MMDS: $(grep -a 'PROBE-INFO mmds' "$OUT")"
	run cat "$BATS_TEST_TMPDIR/listen.out"
	assert_line 'echoed 65536 ok'
	eng_vsock_connect "$EBASE/v.sock" 52
	eng_expect "$sock" 204 PUT /actions '{"action_type":"FlushMetrics"}'
	for i in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/metrics.out" ] && break; sleep 0.1; done
	eng_kata_metrics "$(tail -n 1 "$BATS_TEST_TMPDIR/metrics.out")"
	eng_stop "$FC_PID" TERM 15
}
