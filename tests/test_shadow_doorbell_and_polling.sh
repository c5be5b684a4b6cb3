#!/bin/sh
# The fast-path features: shadow doorbells (Doorbell Buffer Config) on and off, and
# polled queues (io_uring IOPOLL / fio --hipri), each with fio crc32c verification.
# The host checks QEMU's shadow doorbell trace events between the markers.
. /guest/tests/lib.sh

disk=nvme0n1
job="--rw=randwrite --bsrange=4k-128k --filename=/dev/$disk --iodepth=16 --numjobs=2 --size=16M --offset_increment=16M --verify=crc32c --verify_fatal=1"

echo "rn-mark: dbbuf-on-start"
check "insmod (shadow doorbells on, the default)" rn_load
check "/dev/$disk appears" wait_disk $disk
check "the driver enabled shadow doorbells" log_has 'shadow doorbells enabled'
check "verified I/O with shadow doorbells" rn_fio --name=dbon $job
echo "rn-mark: dbbuf-on-end"
check "rmmod" rn_unload
log_clear

echo "rn-mark: dbbuf-off-start"
check "insmod shadow_doorbell=0" rn_load shadow_doorbell=0
check "/dev/$disk appears" wait_disk $disk
check "no shadow doorbells" sh -c "! dmesg | grep -q 'shadow doorbells enabled'"
check "verified I/O with MMIO doorbells only" rn_fio --name=dboff $job
echo "rn-mark: dbbuf-off-end"
check "rmmod" rn_unload
log_clear

check "insmod poll_queues=2" rn_load poll_queues=2
check "/dev/$disk appears" wait_disk $disk
check "two polled queues set up" log_has '2 polled queue(s)'
expect_eq "the disk supports polled I/O" 1 "$(cat /sys/block/$disk/queue/io_poll)"
check "verified polled I/O (io_uring IOPOLL, fio --hipri)" rn_fio --name=poll --hipri $job
check "verified interrupt-driven I/O alongside" rn_fio --name=irq $job --offset=64M
check "rmmod" rn_unload
check "insmod without poll queues" rn_load
check "/dev/$disk appears" wait_disk $disk
expect_eq "no polled I/O without poll queues" 0 "$(cat /sys/block/$disk/queue/io_poll)"
check "rmmod" rn_unload
finish
