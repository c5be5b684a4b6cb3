#!/bin/sh
# Surprise removal under load: QEMU removes the controller (device_del through the
# host's monitor) while fio writes. The disk must go away, fio must end (with errors,
# not a hang), nothing may stay bound, and the module must unload.
. /guest/tests/lib.sh

disk=nvme0n1
check "insmod" rn_load
check "/dev/$disk appears" wait_disk $disk
fn=$(rn_bound | head -1)
fio --ioengine=io_uring --direct=1 --name=load --rw=randwrite --bs=4k --filename=/dev/$disk \
	--iodepth=32 --numjobs=2 --size=64M --time_based --runtime=120 >/tmp/fio.out 2>&1 &
pid=$!
sleep 3
check "fio is running before the removal" kill -0 $pid
dmesg -c >/dev/null
echo "rn-host: device_del nvme0"
check "the disk disappears" wait_for 60 [ ! -e /sys/block/$disk ]
check "the PCI function is gone" wait_for 30 [ ! -e /sys/bus/pci/devices/$fn ]
check "fio ends instead of hanging" wait_for 60 sh -c "! kill -0 $pid"
wait $pid
diag "fio exit status $? (errors expected: the disk went away under it)"
diag "$(dmesg | grep -E 'rust_nvme|pciehp' | head -8)"
check "nothing is bound to rust_nvme" [ -z "$(rn_bound)" ]
check "/sys/class/nvme/nvme0 is gone" [ ! -e /sys/class/nvme/nvme0 ]
check "rmmod" rn_unload
finish
