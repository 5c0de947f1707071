# The Firecracker Go SDK with a JailerCfg (jailer.go, machine.go, handlers.go):
# `jailer --id ID --uid U --gid G --exec-file FC --chroot-base-dir BASE
# --netns NS -- --no-seccomp --api-sock /run/firecracker.socket` (seccompArgs:
# the zero Config has Seccomp.Enabled false; Daemonize false, so the jailer
# execs ember in the foreground); waitForSocket: GET /machine-config on
# <root>/run/firecracker.socket; LinkFilesHandler hard-links the kernel
# (vmlinux), the drives and the FIFOs into the root (chowning the FIFOs) and
# uses their names inside it; then the FcInit handlers' requests in order,
# MMDS through the NIC the config allows, InstanceStart, and SIGTERM at StopVMM.

go_sdk_replay() {
	local root=$EBASE/jail/firecracker/$ENG_ID/root sock i args
	sock=$root/run/firecracker.socket
	net_tap_up tap0
	# the SDK hard-links: the files must be on the jail's filesystem
	cp "$PROBE" "$EBASE/vmlinux"
	head -c 1048576 /dev/zero >"$EBASE/rootfs.img"
	chown 4711:4712 "$EBASE/rootfs.img"
	mkfifo "$EBASE/logs.fifo" "$EBASE/metrics.fifo"
	mkdir "$EBASE/jail"
	OUT=$BATS_TEST_TMPDIR/ember.out
	"$FC_JAILER" --id "$ENG_ID" --uid 4711 --gid 4712 --exec-file "$FC" --chroot-base-dir "$EBASE/jail" \
		--netns "/var/run/netns/$NS" -- --no-seccomp --api-sock /run/firecracker.socket >"$OUT" 2>&1 </dev/null &
	FC_PID=$!
	EMBER_PID=$FC_PID
	for ((i = 0; i < 1000; i++)); do
		[ -S "$sock" ] && curl -s --max-time 2 --unix-socket "$sock" http://localhost/machine-config >/dev/null && break
		kill -0 "$FC_PID" 2>/dev/null || fail "the jailer ended: $(cat "$OUT")"
		sleep 0.01
	done
	# LinkFilesHandler
	ln "$EBASE/vmlinux" "$root/vmlinux"
	ln "$EBASE/rootfs.img" "$root/rootfs.img"
	ln "$EBASE/logs.fifo" "$root/logs.fifo"
	chown 4711:4712 "$root/logs.fifo"
	ln "$EBASE/metrics.fifo" "$root/metrics.fifo"
	chown 4711:4712 "$root/metrics.fifo"
	cat "$EBASE/logs.fifo" >"$BATS_TEST_TMPDIR/log.out" &
	ENG_PIDS="$ENG_PIDS $!"
	cat "$EBASE/metrics.fifo" >"$BATS_TEST_TMPDIR/metrics.out" &
	ENG_PIDS="$ENG_PIDS $!"
	eng_vsock_listen "$root/v.sock_53"
	chown 4711:4712 "$root/v.sock_53"
	args="console=ttyS0 reboot=k panic=1 pci=off $(eng_probe_args balloon,net,mmds,vsock,wait probe.balloon_wait_ms=1500 probe.mmds_v2=60 probe.mmds_get=/sdk/name probe.vsock_serve_ms=15000)"
	eng_expect "$sock" 204 PUT /logger '{"level":"Debug","log_path":"logs.fifo","show_level":true,"show_log_origin":false}'
	eng_expect "$sock" 204 PUT /metrics '{"metrics_path":"metrics.fifo"}'
	eng_expect "$sock" 204 PUT /machine-config '{"mem_size_mib":128,"smt":false,"vcpu_count":2}'
	eng_expect "$sock" 200 GET /machine-config '' '"vcpu_count":2'
	eng_expect "$sock" 204 PUT /boot-source "{\"boot_args\":\"$args\",\"kernel_image_path\":\"vmlinux\"}"
	eng_expect "$sock" 204 PUT /drives/1 '{"drive_id":"1","is_read_only":false,"is_root_device":true,"path_on_host":"rootfs.img"}'
	eng_expect "$sock" 204 PUT /network-interfaces/1 '{"guest_mac":"06:00:ac:10:00:02","host_dev_name":"tap0","iface_id":"1"}'
	eng_expect "$sock" 204 PUT /vsock '{"guest_cid":3,"uds_path":"v.sock","vsock_id":"1"}'
	eng_expect "$sock" 204 PUT /mmds/config '{"network_interfaces":["1"],"version":"V2"}'
	# WithMetadata's handler (NewSetMetadataHandler), before the start
	eng_expect "$sock" 204 PUT /mmds '{"sdk":{"name":"go-sdk"}}'
	# a balloon (NewCreateBalloonHandler, one of the FcInit handlers: before the start)
	eng_expect "$sock" 204 PUT /balloon '{"amount_mib":16,"deflate_on_oom":true,"stats_polling_interval_s":1}'
	eng_expect "$sock" 204 PUT /actions '{"action_type":"InstanceStart"}'
	# GetBalloonConfig
	eng_expect "$sock" 200 GET /balloon '' '"amount_mib":16,"deflate_on_oom":true,"stats_polling_interval_s":1'
	# a snapshot of a paused VM (PauseVM, CreateSnapshot, ResumeVM): this VM
	# has a net device, vsock and a balloon, which ember cannot snapshot yet;
	# nothing is written and the VM goes on
	eng_expect "$sock" 204 PATCH /vm '{"state":"Paused"}'
	eng_expect "$sock" 400 PUT /snapshot/create '{"mem_file_path":"mem","snapshot_path":"snap","snapshot_type":"Full"}' \
		"Devices without snapshot support are present: net(id: 1), vsock, balloon"
	eng_expect "$sock" 204 PATCH /vm '{"state":"Resumed"}'
	wait_output 'PROBE vsock.rst' 900
	# the probe's balloon scenario ran first: GetBalloonStats, UpdateBalloonStats, UpdateBalloon
	eng_expect "$sock" 200 GET /balloon/statistics '' '"target_mib":16,"actual_mib":16,"swap_in":1,'
	eng_expect "$sock" 204 PATCH /balloon/statistics '{"stats_polling_interval_s":2}'
	eng_expect "$sock" 204 PATCH /balloon '{"amount_mib":8}'
	assert_equal "$(cat "/proc/$FC_PID/comm")" firecracker
	eng_comms "$FC_PID" 2
	eng_guest_ok balloon.inflate balloon.stats net.ping mmds.arp vsock.guest_connect
	grep -a -q 'PROBE-INFO mmds GET /sdk/name -> 200 go-sdk' "$OUT" || fail "MMDS: $(grep -a 'PROBE-INFO mmds' "$OUT")"
	run cat "$BATS_TEST_TMPDIR/listen.out"
	assert_line 'echoed 65536 ok'
	eng_vsock_connect "$root/v.sock" 52
	eng_expect "$sock" 204 PUT /actions '{"action_type":"FlushMetrics"}'
	for i in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/metrics.out" ] && break; sleep 0.1; done
	eng_kata_metrics "$(tail -n 1 "$BATS_TEST_TMPDIR/metrics.out")"
	eng_stop "$FC_PID" TERM 15
}
