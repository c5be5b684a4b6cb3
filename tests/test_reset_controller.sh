#!/bin/sh
# User-triggered resets through /sys/class/nvme/nvme0/reset_controller (the C driver's
# file): idle, then ten while fio writes and verifies in a loop; no I/O may fail or
# mismatch, and requests caught in flight are requeued.
. /guest/tests/lib.sh

disk=nvme0n1
ctl=/sys/class/nvme/nvme0
check "insmod" rn_load
check "/dev/$disk appears" wait_disk $disk
check "controller state is live" wait_for 10 grep -qx live $ctl/state
check "reset_controller (idle) succeeds" sh -c "echo 1 > $ctl/reset_controller"
expect_eq "state after reset" live "$(cat $ctl/state)"
check "writing 0 to reset_controller is refused" sh -c "! echo 0 > $ctl/reset_controller 2>/dev/null"
check "verified I/O after an idle reset" rn_fio --name=idle --rw=randwrite --bs=4k --filename=/dev/$disk --iodepth=16 --size=8M --verify=crc32c --verify_fatal=1

log_clear
bg_fio_start --rw=randwrite --bsrange=4k-256k --filename=/dev/$disk --iodepth=32 \
	--numjobs=2 --size=16M --offset_increment=16M
# Requests the disk has in flight (reads + writes).
inflight_any() { set -- $(cat /sys/block/$disk/inflight); [ $(($1 + $2)) -gt 0 ]; }
sleep 2
n=0; i=1
while [ $i -le 10 ]; do
	# On the slow device, reset while requests are in flight (a loaded host can leave
	# fio between passes for a while).
	[ "${RN_EXPECT_REQUEUE:-0}" = 1 ] && wait_for 10 inflight_any
	echo 1 > $ctl/reset_controller && n=$((n + 1))
	sleep 1
	i=$((i + 1))
done
bg_fio_stop
fio_ok=$?
expect_eq "ten resets during I/O returned success" 10 $n
check "every fio write+verify pass during the resets succeeded ($(bg_fio_runs) passes)" [ $fio_ok -eq 0 ]
resets=$(log_count 'resetting controller')
check "the driver logged ten resets (got $resets)" [ "$resets" -ge 10 ]
requeued=$(dmesg | grep 'cancelled and requeued' | grep -vc ' 0 outstanding')
diag "$(dmesg | grep 'cancelled and requeued' | head -3)"
# Only a slow (throttled) device reliably has requests in flight when a reset starts.
if [ "${RN_EXPECT_REQUEUE:-0}" = 1 ]; then
	check "resets caught requests in flight and requeued them (in $requeued resets)" [ "$requeued" -ge 1 ]
fi
expect_eq "state after the resets" live "$(cat $ctl/state)"
check "verified I/O after the resets" rn_fio --name=after --rw=randwrite --bs=64k --filename=/dev/$disk --iodepth=8 --size=16M --verify=crc32c --verify_fatal=1
check "rmmod" rn_unload
finish
