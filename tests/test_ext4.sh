#!/bin/sh
# ext4 on the first disk: mkfs, files with known checksums, e2fsck -fn clean after
# umount, remount (after reloading the driver) and compare.
. /guest/tests/lib.sh

disk=${RN_FS_DISK:-nvme0n1}
check "insmod" rn_load
check "/dev/$disk appears" wait_disk $disk
check "mkfs.ext4 /dev/$disk" sh -c "mkfs.ext4 -q -F /dev/$disk >/dev/null 2>&1"
mkdir -p /mnt/t
check "mount" mount -t ext4 /dev/$disk /mnt/t
i=0
while [ $i -lt 8 ]; do
	dd if=/dev/urandom of=/mnt/t/f$i bs=64k count=$((i * 16 + 1)) 2>/dev/null
	i=$((i + 1))
done
mkdir -p /mnt/t/dir && cp /mnt/t/f3 /mnt/t/dir/copy
(cd /mnt/t && sha256sum f* dir/copy) > /tmp/sums
check "sync" sync
check "umount" umount /mnt/t
check "e2fsck -fn is clean" sh -c "e2fsck -fn /dev/$disk >/tmp/fsck 2>&1 || { cat /tmp/fsck; false; }"
check "reload driver" sh -c "rmmod rust_nvme && insmod $RN_KO"
check "/dev/$disk back" wait_disk $disk
check "remount" mount -t ext4 /dev/$disk /mnt/t
check "file checksums match after remount" sh -c "cd /mnt/t && sha256sum -c /tmp/sums >/dev/null"
check "umount" umount /mnt/t
check "rmmod" rn_unload
finish
