#!/bin/sh
# Volatile write cache: QEMU 7.2 always reports one (VWC 0x7), so the queue says write
# back, supports FUA, and flushes reach the device. Switched to write through (as a
# controller without VWC is), the block layer sends no flush. The host counts Flush
# commands (QEMU trace pci_nvme_flush_ns) between the markers.
. /guest/tests/lib.sh

disk=${RN_DISK:-nvme0n1}
check "insmod" rn_load
check "/dev/$disk appears" wait_disk $disk
q=/sys/block/$disk/queue
expect_eq "$disk write_cache" "write back" "$(cat $q/write_cache)"
expect_eq "$disk fua" 1 "$(cat $q/fua)"
echo "rn-mark: wc-on-start"
check "fsync with the cache on" dd if=/dev/zero of=/dev/$disk bs=4k count=8 oflag=direct conv=fsync 2>/dev/null
echo "rn-mark: wc-on-end"
check "switch the queue to write through" sh -c "echo 'write through' > $q/write_cache"
echo "rn-mark: wc-off-start"
check "fsync with the cache off" dd if=/dev/zero of=/dev/$disk bs=4k count=8 oflag=direct conv=fsync 2>/dev/null
echo "rn-mark: wc-off-end"
check "verified I/O in write-through mode" rn_fio --name=wt --rw=randwrite --bs=4k --filename=/dev/$disk --offset=128M --iodepth=16 --size=8M --verify=crc32c --verify_fatal=1
check "rmmod" rn_unload
finish
