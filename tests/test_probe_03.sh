#!/bin/sh
# A namespace whose reads take far longer than io_timeout (QEMU null-co with a 10 s
# latency, io_timeout=1): the partition read of the first namespace scan (in
# device_add_disk) times out while the controller is live (abort, reset, retry) and
# again while it is being removed. rmmod, and unbind of a second probe, must still end:
# the timeout handler fails what the deleting controller holds.
. /guest/tests/lib.sh

for how in rmmod unbind; do
	dmesg -c >/dev/null
	check "$how: insmod io_timeout=1" rn_load io_timeout=1
	check "$how: the first scan found the namespace" wait_for 30 sh -c "dmesg | grep -q 'nvme0n1: namespace 1'"
	sleep 3
	start=$(date +%s)
	if [ $how = rmmod ]; then
		( rmmod rust_nvme; echo $? > /tmp/end.rc ) &
	else
		fn=$(rn_bound | head -1)
		( echo $fn > /sys/bus/pci/drivers/rust_nvme/unbind; echo $? > /tmp/end.rc ) &
	fi
	check "$how with the partition read stuck ends (bounded: 120 s)" wait_for 120 [ -f /tmp/end.rc ]
	diag "$how took $(( $(date +%s) - start )) s"
	expect_eq "$how succeeded" 0 "$(cat /tmp/end.rc 2>/dev/null)"
	rm -f /tmp/end.rc
	check "$how: the read timed out" sh -c "dmesg | grep -qE 'QID [0-9]+ timeout'"
	check "$how: the disk is gone" wait_for 10 [ ! -e /sys/block/nvme0n1 ]
	[ $how = unbind ] && check "rmmod" rn_unload
done
finish
