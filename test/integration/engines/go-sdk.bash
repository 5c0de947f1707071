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
	local root=$EBASE/jail/firecracker/$ENG_ID/root sock
	sock=$root/run/firecracker.socket
	net_tap_up tap0
	# the SDK hard-links: the files must be on the jail's filesystem
	cp "$PROBE" "$EBASE/vmlinux"
	head -c 1048576 /dev/zero >"$EBASE/rootfs.img"
	chown 4711:4712 "$EBASE/rootfs.img"
	mkdir "$EBASE/jail"
	OUT=$BATS_TEST_TMPDIR/ember.out
	"$FC_JAILER" --id "$ENG_ID" --uid 4711 --gid 4712 --exec-file "$FC" --chroot-base-dir "$EBASE/jail" \
		--netns "/var/run/netns/$NS" -- --no-seccomp --api-sock /run/firecracker.socket >"$OUT" 2>&1 </dev/null &
	FC_PID=$!
	EMBER_PID=$FC_PID
	eng_wait_socket "$sock"
	# LinkFilesHandler
	ln "$EBASE/vmlinux" "$root/vmlinux"
	ln "$EBASE/rootfs.img" "$root/rootfs.img"
	eng_fifos "$EBASE/logs.fifo" "$EBASE/metrics.fifo"
	ln "$EBASE/logs.fifo" "$root/logs.fifo"
	ln "$EBASE/metrics.fifo" "$root/metrics.fifo"
	chown 4711:4712 "$root/logs.fifo" "$root/metrics.fifo"
	eng_vsock_listen "$root/v.sock_53"
	chown 4711:4712 "$root/v.sock_53"
	local SDK_LOG_LEVEL=Debug SDK_LOG=logs.fifo SDK_METRICS=metrics.fifo SDK_VCPUS=2 \
		SDK_MACHINE='{"mem_size_mib":128,"smt":false,"vcpu_count":2}' SDK_KERNEL=vmlinux \
		SDK_ARGS="console=ttyS0 reboot=k panic=1 pci=off $(eng_probe_args balloon,net,mmds,vsock,wait probe.balloon_wait_ms=1500 probe.mmds_v2=60 probe.mmds_get=/sdk/name probe.vsock_serve_ms=15000)" \
		SDK_DRIVE=1 SDK_DRIVE_RO=false SDK_ROOTFS=rootfs.img SDK_MAC=06:00:ac:10:00:02 \
		SDK_VSOCK='{"guest_cid":3,"uds_path":"v.sock","vsock_id":"1"}' SDK_MMDS=V2 \
		SDK_METADATA='{"sdk":{"name":"go-sdk"}}' SDK_NO_START=1
	# WithMetadata's handler (NewSetMetadataHandler) runs before the start
	eng_sdk_init "$sock"
	# a balloon (NewCreateBalloonHandler, one of the FcInit handlers: before the start)
	eng_expect "$sock" 204 PUT /balloon '{"amount_mib":16,"deflate_on_oom":true,"stats_polling_interval_s":1}'
	eng_expect "$sock" 204 PUT /actions '{"action_type":"InstanceStart"}'
	# GetBalloonConfig
	eng_expect "$sock" 200 GET /balloon '' '"amount_mib":16,"deflate_on_oom":true,"stats_polling_interval_s":1'
	# a snapshot of a paused VM (PauseVM, CreateSnapshot, ResumeVM): its net
	# device, vsock and balloon are saved with it (paths inside the jail), and
	# the VM goes on
	eng_expect "$sock" 204 PATCH /vm '{"state":"Paused"}'
	eng_expect "$sock" 204 PUT /snapshot/create '{"mem_file_path":"mem","snapshot_path":"snap","snapshot_type":"Full"}'
	[ "$(stat -c %s "$root/mem")" = $((128 << 20)) ] || fail "the jail's memory file: $(ls -l "$root")"
	run "$EMBER_BUILD/tools/ember-snapshot" info "$root/snap"
	assert_success
	assert_output --partial "net"
	assert_output --partial "vsock"
	assert_output --partial "balloon"
	eng_expect "$sock" 204 PATCH /vm '{"state":"Resumed"}'
	wait_output 'PROBE vsock.rst' 900
	# the probe's balloon scenario ran first: GetBalloonStats, UpdateBalloonStats, UpdateBalloon
	eng_expect "$sock" 200 GET /balloon/statistics '' '"target_mib":16,"actual_mib":16,"swap_in":1,'
	eng_expect "$sock" 204 PATCH /balloon/statistics '{"stats_polling_interval_s":2}'
	eng_expect "$sock" 204 PATCH /balloon '{"amount_mib":8}'
	assert_equal "$(cat "/proc/$FC_PID/comm")" firecracker
	eng_comms "$FC_PID" 2
	eng_guest_ok balloon.inflate balloon.stats
	eng_guest_mmds_vsock /sdk/name go-sdk
	eng_vsock_connect "$root/v.sock" 52
	eng_flush_metrics "$sock"
	eng_stop "$FC_PID" TERM 15
}
