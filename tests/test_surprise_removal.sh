#!/bin/sh
# Surprise removal under load: QEMU removes the controller (device_del through the
# host's monitor) while fio writes, passthrough reads loop on /dev/ng0n1 and io_uring
# passthrough reads are in flight on it. The disk and its generic device must go away,
# fio and the passthrough loop must end (with errors, not a hang), every io_uring
# command must get its CQE, nothing may stay bound, and the module must unload.
. /guest/tests/lib.sh

disk=nvme0n1
check "insmod" rn_load
check "/dev/$disk appears" wait_disk $disk
fn=$(rn_bound | head -1)
fio --ioengine=io_uring --direct=1 --name=load --rw=randwrite --bs=4k --filename=/dev/$disk \
	--iodepth=32 --numjobs=2 --size=64M --time_based --runtime=120 >/tmp/fio.out 2>&1 &
pid=$!
# Passthrough reads through the generic device, one after the other, until one fails.
check "/dev/ng0n1 appears" wait_for 30 [ -c /dev/ng0n1 ]
( n=0; while nvme read /dev/ng0n1 -s 0 -c 63 -z 32768 -d /tmp/ngr >/dev/null 2>&1; do
	n=$((n + 1)); done; echo $n > /tmp/ng.done ) &
ngpid=$!
( /guest/tests/nvme_uring inflight /dev/ng0n1 16 >/tmp/uring.out 2>&1; echo $? >/tmp/uring.rc ) &
sleep 3
check "fio is running before the removal" kill -0 $pid
check "and the passthrough loop" kill -0 $ngpid
log_clear
echo "rn-host: device_del nvme0"
check "the disk disappears" wait_for 60 [ ! -e /sys/block/$disk ]
check "the PCI function is gone" wait_for 30 [ ! -e /sys/bus/pci/devices/$fn ]
check "fio ends instead of hanging" wait_for 60 sh -c "! kill -0 $pid"
check "the passthrough loop on /dev/ng0n1 ends too" wait_for 60 [ -f /tmp/ng.done ]
diag "passthrough reads before the removal: $(cat /tmp/ng.done 2>/dev/null)"
check "the io_uring commands end too" wait_for 60 [ -f /tmp/uring.rc ]
diag "$(cat /tmp/uring.out)"
expect_eq "every io_uring command got its CQE" 0 "$(cat /tmp/uring.rc)"
check "/dev/ng0n1 is gone" wait_for 10 [ ! -e /dev/ng0n1 ]
wait $pid
diag "fio exit status $? (errors expected: the disk went away under it)"
diag "$(dmesg | grep -E 'rust_nvme|pciehp' | head -8)"
check "nothing is bound to rust_nvme" [ -z "$(rn_bound)" ]
check "/sys/class/nvme/nvme0 is gone" [ ! -e /sys/class/nvme/nvme0 ]
check "rmmod" rn_unload
finish
