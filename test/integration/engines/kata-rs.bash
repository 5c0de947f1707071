# Kata Containers' Rust runtime (src/runtime-rs/crates/hypervisor/src/firecracker/
# and virt_container/src/sandbox.rs), jailed when jailer_path is set (the
# default configuration-rs-fc.toml), not jailed otherwise:
# - prepare_vm: jailed, the VM's directory is <KATA_PATH>/firecracker/<id>
#   and Kata makes root/ itself, bind-mounts it on itself MS_SHARED and
#   remounts it (remount_jailer_with_exec), then makes root/run; not jailed,
#   <KATA_PATH>/<id> and its run/;
# - prepare_vmm: `jailer --id ID --gid 0 --uid 0 --exec-file FC
#   --chroot-base-dir KATA_PATH -- --api-sock /run//fc.sock` (its join of
#   "/run/" and "fc.sock"), or `firecracker --api-sock <vm>/run/fc.sock`;
#   no --daemonize, no --netns: setns(netns) before the exec, stderr piped;
# - every request through request_with_retry: up to 500 tries 10 ms apart,
#   anything but 2xx counts as a failure (so the first one also waits for
#   the socket); bodies from serde_json's json! (keys sorted);
# - prepare_vmm_resources: jailed, the kernel and the image bind-mounted into
#   the root (jail_resource) after ember started, so they reach the jail by
#   mount propagation; PUT /boot-source, /machine-config, /drives/rootfs,
#   then drive1..drive5, placeholder files Kata creates one by one (jailed
#   path_on_host "//driveN": its join of "/" and "/driveN");
# - prepare_hvsock: PUT /vsock CID 3 on kata.hvsock, id "root"; then the
#   sandbox's vsock resource (Firecracker lacks HybridVsockSupport in
#   runtime-rs, so a plain vsock with VMADDR_CID_ANY) PUTs /vsock again on
#   the same socket with CID 4294967295 (doc/vsock.md, "Reserved CIDs");
#   the network endpoint's PUT /network-interfaces/<16 hex digits>;
#   InstanceStart;
# - the agent over hvsock://<vm>[/root]/kata.hvsock (CONNECT 1024);
# - a container's block rootfs: bind-mounted over the root's drive1 (jailed)
#   and PATCH /drives/drive1 with rate_limiter null (no disk limits set);
# - no version check, no GET / poll, no pid file, no thread names, no
#   metrics (get_thread_ids returns none, get_hypervisor_metrics is todo!());
# - stop_vm: SIGKILL (tokio's Child::kill), wait; cleanup unmounts what it
#   mounted (MNT_DETACH) and removes the VM's directory.

# kata_rs_request METHOD PATH BODY: request_with_retry on $KRS_SOCK.
kata_rs_request() {
	local i
	for ((i = 0; i < 500; i++)); do
		code=$(curl -s --max-time 5 --unix-socket "$KRS_SOCK" -X "$1" -H 'Accept: application/json' \
			-H 'Content-Type: application/json' --data-binary "$3" -o "$BATS_TEST_TMPDIR/body" \
			-w '%{http_code}' "http://localhost$2" 2>/dev/null) || code=000
		[[ "$code" == 2?? ]] && return 0
		sleep 0.01
	done
	fail "$1 $2 $3: not 2xx after 500 tries (runtime-rs gives up): $code $(cat "$BATS_TEST_TMPDIR/body" 2>/dev/null)"
}

# kata_rs_resource SRC NAME: get_resource: jailed, SRC bind-mounted at
# <root>/NAME (the file made first) and "/NAME" used; else SRC itself.
kata_rs_resource() {
	if [ "$KRS_JAILED" = 1 ]; then
		[ -e "$KRS_ROOT/$2" ] || : >"$KRS_ROOT/$2"
		mount --bind "$1" "$KRS_ROOT/$2"
		mount --make-slave "$KRS_ROOT/$2"
		KRS_RES=/$2
	else
		KRS_RES=$1
	fi
}

# kata_rs_replay jailed|direct
kata_rs_replay() {
	local vm args i drive_dir iface=3f9a0c1d5e7b2468 hvsock uds
	KRS_JAILED=0
	[ "$1" = jailed ] && KRS_JAILED=1
	net_tap_up tap0_kata
	head -c 1048576 /dev/zero >"$EBASE/rootfs.img"
	head -c 1048576 /dev/zero >"$EBASE/container.img"
	# prepare_vm
	if [ "$KRS_JAILED" = 1 ]; then
		vm=$EBASE/jail/firecracker/$ENG_ID
		KRS_ROOT=$vm/root
		mkdir -p "$KRS_ROOT"
		mount --bind "$KRS_ROOT" "$KRS_ROOT"
		mount --make-shared "$KRS_ROOT"
		mount -o remount,bind "$KRS_ROOT"
		KRS_SOCK=$KRS_ROOT/run/fc.sock
		mkdir -p "$KRS_ROOT/run"
	else
		vm=$EBASE/kata/$ENG_ID
		KRS_ROOT=$vm/root
		KRS_SOCK=$vm/run/fc.sock
		mkdir -p "$vm/run"
	fi
	# the guest's connection to host port 53 lands on <hvsock>_53
	hvsock=$vm/kata.hvsock
	[ "$KRS_JAILED" = 1 ] && hvsock=$KRS_ROOT/kata.hvsock
	eng_vsock_listen "${hvsock}_53"
	# prepare_vmm: its argv, in the pod's netns (setns only), stderr piped
	OUT=$BATS_TEST_TMPDIR/ember.out
	if [ "$KRS_JAILED" = 1 ]; then
		nsenter --net="/var/run/netns/$NS" "$FC_JAILER" --id "$ENG_ID" --gid 0 --uid 0 --exec-file "$FC" \
			--chroot-base-dir "$EBASE/jail" -- --api-sock /run//fc.sock >"$OUT" 2>&1 </dev/null &
	else
		nsenter --net="/var/run/netns/$NS" "$FC" --api-sock "$KRS_SOCK" >"$OUT" 2>&1 </dev/null &
	fi
	FC_PID=$!
	EMBER_PID=$FC_PID
	# prepare_vmm_resources: KernelParams::new(debug off), pci and iommu off,
	# the rootfs params for virtio-mmio ext4, then the configured
	# kernel_params (the probe's here)
	args="reboot=k panic=1 systemd.unit=kata-containers.target systemd.mask=systemd-networkd.service"
	args="$args systemd.mask=systemd-networkd.socket pci=off iommu=off root=/dev/vda1"
	args="$args rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4"
	args="$args $(eng_probe_args vsock,net,wait probe.vsock_listen=1024 probe.vsock_serve_ms=20000 probe.net_serve_ms=30000)"
	# the kernel and the image reach a running jail through the shared root
	kata_rs_resource "$PROBE" vmlinux
	kata_rs_request PUT /boot-source "{\"boot_args\":\"$args\",\"kernel_image_path\":\"$KRS_RES\"}"
	kata_rs_request PUT /machine-config '{"mem_size_mib":128,"vcpu_count":1}'
	kata_rs_resource "$EBASE/rootfs.img" rootfs
	kata_rs_request PUT /drives/rootfs \
		"{\"drive_id\":\"rootfs\",\"is_read_only\":true,\"is_root_device\":false,\"path_on_host\":\"$KRS_RES\"}"
	mkdir -p "$KRS_ROOT"
	drive_dir=$KRS_ROOT
	[ "$KRS_JAILED" = 1 ] && drive_dir=/
	for i in 1 2 3 4 5; do
		: >"$KRS_ROOT/drive$i"
		kata_rs_request PUT "/drives/drive$i" \
			"{\"drive_id\":\"drive$i\",\"is_read_only\":false,\"is_root_device\":false,\"path_on_host\":\"$drive_dir/drive$i\"}"
	done
	# prepare_hvsock, then the sandbox's vsock resource on the same socket
	uds=$vm/kata.hvsock
	[ "$KRS_JAILED" = 1 ] && uds=kata.hvsock
	kata_rs_request PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$uds\",\"vsock_id\":\"root\"}"
	kata_rs_request PUT /vsock "{\"guest_cid\":4294967295,\"uds_path\":\"$uds\",\"vsock_id\":\"root\"}"
	# the veth endpoint's TAP, its id the device manager's 8 random bytes in hex
	kata_rs_request PUT "/network-interfaces/$iface" \
		"{\"guest_mac\":\"02:00:ca:fe:00:02\",\"host_dev_name\":\"tap0_kata\",\"iface_id\":\"$iface\"}"
	kata_rs_request PUT /actions '{"action_type":"InstanceStart"}'
	# the pid runtime-rs keeps is its child's: ember, exec'd by the jailer
	assert_equal "$(cat "/proc/$FC_PID/comm")" firecracker
	# the agent's channel: CONNECT 1024 on the hybrid vsock socket
	eng_vsock_connect "$hvsock" 1024
	run cat "$BATS_TEST_TMPDIR/listen.out"
	assert_line 'echoed 65536 ok'
	# the guest holds the CID runtime-rs sent last; the warning says what it costs
	grep -a -q 'PROBE-INFO vsock.cid 4294967295' "$OUT" || fail "guest CID: $(grep -a 'vsock.cid' "$OUT")"
	grep -a -q 'vsock: guest_cid 4294967295 is reserved (VMADDR_CID_ANY' "$OUT" ||
		fail "no reserved-CID warning: $(grep -a vsock: "$OUT")"
	eng_ping_guest
	eng_guest_ok vsock.guest_connect
	# a container's block rootfs on the first pool drive (hotplug_block_device)
	kata_rs_resource "$EBASE/container.img" drive1
	kata_rs_request PATCH /drives/drive1 "{\"drive_id\":\"drive1\",\"path_on_host\":\"$KRS_RES\",\"rate_limiter\":null}"
	# (not Kata's check: that the PATCH took the container's image)
	eng_api "$KRS_SOCK" GET /vm/config
	python3 -c 'import json, sys; d = {x["drive_id"]: x for x in json.loads(sys.argv[1])["drives"]}
sys.exit(d["drive1"]["path_on_host"] != sys.argv[2])' "$body" "$KRS_RES" || fail "drive1 after PATCH: $body"
	# stop_vm: SIGKILL; wait_vm
	eng_stop "$FC_PID" KILL 15
	wait "$FC_PID" 2>/dev/null || true
	FC_PID=
	# cleanup_resource: its unmounts, then the VM's directory goes
	if [ "$KRS_JAILED" = 1 ]; then
		for i in vmlinux rootfs drive1 drive2 drive3 drive4 drive5 ""; do umount -l "$KRS_ROOT/$i" 2>/dev/null || true; done
	fi
	rm -r "$vm" || fail "cleanup could not remove $vm"
}
