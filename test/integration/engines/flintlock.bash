# flintlock's Firecracker provider (infrastructure/microvm/firecracker/
# create.go, config.go, types.go, provider.go): a config file in its types'
# shape (logger and metrics files, Unsafe-cache root drive, the TAP as a
# network interface the MMDS v1 serves, no vsock or balloon), the metadata file
# `{"latest": ...}`, `firecracker --id UID --boot-timer --no-api --config-file
# FILE --metadata FILE`, its pid kept; Delete sends SIGHUP.

flintlock_replay() {
	local dir=$EBASE/vm args i
	mkdir "$dir"
	net_tap_up tap0
	head -c 1048576 /dev/zero >"$EBASE/rootfs.img"
	args="console=ttyS0 reboot=k panic=1 pci=off $(eng_probe_args net,mmds,wait probe.mmds_get=/latest/meta-data/instance-id)"
	cat >"$dir/firecracker.cfg" <<-JSON
	{"drives":[{"drive_id":"root","path_on_host":"$EBASE/rootfs.img","is_root_device":true,"is_read_only":false,"cache_type":"Unsafe","rate_limiter":null}],
	"boot-source":{"kernel_image_path":"$PROBE","boot_args":"$args"},
	"logger":{"log_path":"$dir/firecracker.log","level":"Debug","show_level":true,"show_log_origin":true},
	"machine-config":{"vcpu_count":2,"mem_size_mib":128,"smt":false,"track_dirty_pages":false},
	"metrics":{"metrics_path":"$dir/firecracker.metrics"},
	"mmds-config":{"version":"V1","network_interfaces":["eth0"]},
	"network-interfaces":[{"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"02:00:00:00:f1:01"}]}
	JSON
	echo '{"latest":{"meta-data":{"instance-id":"flintlock-vm"}}}' >"$dir/metadata.json"
	OUT=$BATS_TEST_TMPDIR/ember.out
	ip netns exec "$NS" "$FC" --id "$ENG_ID" --boot-timer --no-api --config-file "$dir/firecracker.cfg" \
		--metadata "$dir/metadata.json" >"$OUT" 2>&1 </dev/null &
	FC_PID=$!
	EMBER_PID=$FC_PID
	wait_output 'PROBE-INFO wait \(ready\|tick\)' 900
	eng_comms "$FC_PID" 2 0
	eng_guest_ok net.ping mmds.arp mmds.done
	grep -a -q 'PROBE-INFO mmds GET /latest/meta-data/instance-id -> 200 flintlock-vm' "$OUT" ||
		fail "MMDS: $(grep -a 'PROBE-INFO mmds' "$OUT")"
	grep -q 'Successfully added metadata to mmds from file' "$dir/firecracker.log" "$OUT" ||
		fail "no metadata line: $(cat "$dir/firecracker.log")"
	eng_stop "$FC_PID" HUP 15
}
