# Kata Containers' Go runtime, jailed (src/runtime/virtcontainers/fc.go):
# fcInitConfiguration makes <base>/firecracker/<id>/root/run itself and
# bind-mounts the root on itself with exec, bind-mounts the kernel (vmlinux),
# the rootfs, 8 empty pool drives (drive_N), its log and metrics FIFOs and the
# config file (fcConfig.json) into it; fcInit checks `firecracker --version`,
# runs the jailer with uid 0, --daemonize, --netns and `-- --config-file
# /fcConfig.json`, waits 10 s for GET / to say Running, reads firecracker.pid,
# chmods the hybrid vsock socket 0640; GetThreadIDs reads the fc_vcpu comms;
# the metrics FIFO feeds FirecrackerMetrics; fcEnd sends SIGTERM and waits 15 s.

kata_go_replay() {
	local vm=$EBASE/jail/firecracker/$ENG_ID root version args i
	vm=$EBASE/jail/firecracker/$ENG_ID
	root=$vm/root
	version=$(eng_version_check "$FC")
	# the pod's network: a TAP in its netns (Kata's tap0_kata), the guest's peer on it
	net_tap_up tap0_kata
	# fcInitConfiguration: the root and its run/ made by Kata, then remounted with exec
	mkdir -p "$root/run"
	mount --bind "$root" "$root"
	mount -o remount,bind,nosuid,relatime "$root"
	touch "$root/vmlinux" "$root/rootfs"
	mount --bind "$PROBE" "$root/vmlinux"
	head -c 1048576 /dev/zero >"$EBASE/rootfs.img"
	mount --bind "$EBASE/rootfs.img" "$root/rootfs"
	for i in 0 1 2 3 4 5 6 7; do : >"$root/drive_$i"; done
	# Kata reads both FIFOs for the VM's life (fcListenToFifo)
	eng_fifos "$vm/logs.fifo" "$vm/metrics.fifo"
	touch "$root/logs.fifo" "$root/metrics.fifo" "$root/fcConfig.json"
	mount --bind "$vm/logs.fifo" "$root/logs.fifo"
	mount --bind "$vm/metrics.fifo" "$root/metrics.fifo"
	# Kata's kernel parameters (debug: console=ttyS0), then the probe's: net and vsock
	args="root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4 pci=off reboot=k panic=1"
	args="$args iommu=off net.ifnames=0 random.trust_cpu=on $(eng_probe_args vsock,net,wait probe.vsock_listen=1024 probe.vsock_serve_ms=20000 probe.net_serve_ms=30000)"
	# json.MarshalIndent(fc.fcConfig): the models' field order, omitempty
	cat >"$vm/fcConfig.json" <<-JSON
	{
		"boot-source": {
			"boot_args": "$args",
			"kernel_image_path": "/vmlinux"
		},
		"drives": [
			{ "drive_id": "rootfs", "is_read_only": true, "is_root_device": false, "path_on_host": "/rootfs" },
			$(for i in 0 1 2 3 4 5 6 7; do printf '{ "drive_id": "drive_%d", "is_read_only": false, "is_root_device": false, "path_on_host": "/drive_%d" }%s\n' "$i" "$i" "$([ $i = 7 ] || echo ,)"; done)
		],
		"logger": { "level": "Debug", "log_path": "/logs.fifo" },
		"machine-config": { "mem_size_mib": 128, "smt": false, "vcpu_count": 1 },
		"metrics": { "metrics_path": "/metrics.fifo" },
		"network-interfaces": [
			{ "guest_mac": "02:00:ca:fe:00:01", "host_dev_name": "tap0_kata", "iface_id": "eth0", "rx_rate_limiter": {}, "tx_rate_limiter": {} }
		],
		"vsock": { "guest_cid": 3, "uds_path": "/kata.hvsock", "vsock_id": "root" }
	}
	JSON
	mount --bind "$vm/fcConfig.json" "$root/fcConfig.json"
	# the guest's connection to host port 53 lands on <hvsock>_53
	eng_vsock_listen "$root/kata.hvsock_53"
	OUT=$BATS_TEST_TMPDIR/ember.out
	# fcInit, jailed; the guest's serial console on Kata's console (debug)
	run timeout --kill-after=5 60 "$FC_JAILER" --id "$ENG_ID" --exec-file "$FC" --uid 0 --gid 0 \
		--chroot-base-dir "$EBASE/jail" --daemonize --netns "/var/run/netns/$NS" -- --config-file /fcConfig.json
	assert_success
	eng_wait_running "$root/run/firecracker.socket" 10
	eng_pid_file "$root/firecracker.pid"
	chmod 0640 "$root/kata.hvsock"
	eng_comms "$FC_PID" 1
	eng_expect "$root/run/firecracker.socket" 200 GET /version '' "\"firecracker_version\":\"$version\""
	# the agent's channel: Kata dials CONNECT 1024 on the hybrid vsock socket
	eng_vsock_connect "$root/kata.hvsock" 1024
	run cat "$BATS_TEST_TMPDIR/listen.out"
	assert_line 'echoed 65536 ok'
	# the pod's network: the guest answers pings across the TAP
	eng_ping_guest
	# one metrics line (Firecracker writes one a minute; the replay asks for it now)
	eng_flush_metrics "$root/run/firecracker.socket"
	# the log FIFO Kata forwards carries the log from the config file on
	grep -q "Successfully started microvm" "$BATS_TEST_TMPDIR/log.out" || fail "log FIFO: $(cat "$BATS_TEST_TMPDIR/log.out")"
	# fcEnd
	eng_stop "$FC_PID" TERM 15
}
