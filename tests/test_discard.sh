#!/bin/sh
# Discard -> Dataset Management (deallocate): limits as the C driver reports them,
# discarded ranges read back as zeroes (DLFEAT 1, drive with discard=unmap), data outside
# them unchanged; fio trims verified to read zero; fstrim on ext4 keeps files intact.
# The host checks (QEMU trace pci_nvme_dsm) that multi-range DSM commands were sent.
. /guest/tests/lib.sh

disk=${RN_DISK:-nvme0n1}
M=1048576
check "insmod" rn_load
check "/dev/$disk appears" wait_disk $disk
q=/sys/block/$disk/queue
expect_eq "discard_max_bytes" "$RN_EXPECT_DISCARD_MAX" "$(cat $q/discard_max_bytes)"
expect_eq "discard_granularity" "$RN_EXPECT_DISCARD_GRAN" "$(cat $q/discard_granularity)"
check "the driver reports what deallocated blocks read as" sh -c "dmesg | grep -q '$disk: deallocated blocks read as zeroes'"

echo "rn-mark: discard-start"
# 32 MiB of random data; chunks compared after each discard.
dd if=/dev/urandom of=/tmp/p bs=$M count=32 2>/dev/null
check "write 32 MiB of known data" dd if=/tmp/p of=/dev/$disk bs=$M count=32 oflag=direct 2>/dev/null
# region_is FROM LEN zero|data: compare the disk's bytes [FROM, FROM+LEN) with zeroes
# or with the pattern.
region_is() {
	dd if=/dev/$disk bs=512 skip=$(($1 / 512)) count=$(($2 / 512)) iflag=direct 2>/dev/null > /tmp/got
	if [ "$3" = zero ]; then
		head -c $2 /dev/zero > /tmp/want
	else
		dd if=/tmp/p bs=512 skip=$(($1 / 512)) count=$(($2 / 512)) 2>/dev/null > /tmp/want
	fi
	cmp -s /tmp/got /tmp/want
}
check "blkdiscard 4 MiB at 4 MiB (aligned)" $BLKDISCARD -o $((4 * M)) -l $((4 * M)) /dev/$disk
check "  the range reads zeroes" region_is $((4 * M)) $((4 * M)) zero
check "  the MiB before is intact" region_is $((3 * M)) $M data
check "  the MiB after is intact" region_is $((8 * M)) $M data
a=$((10 * M + 512)); l=$((M + 1024))
check "blkdiscard $l bytes at $a (not granularity-aligned)" $BLKDISCARD -o $a -l $l /dev/$disk
check "  the range reads zeroes" region_is $a $l zero
check "  the 512 bytes before are intact" region_is $((a - 512)) 512 data
check "  the 4 KiB after are intact" region_is $((a + l)) 4096 data
check "blkdiscard 16 MiB at 16 MiB (a large region)" $BLKDISCARD -o $((16 * M)) -l $((16 * M)) /dev/$disk
check "  the range reads zeroes" region_is $((16 * M)) $((16 * M)) zero
check "  data before it is intact" region_is $((12 * M)) $((4 * M)) data

echo "rn-mark: fio-trim-start"
check "fio random trims at depth 32, submitted in batches" rn_fio --name=rtrim --rw=randtrim --bs=4k \
	--filename=/dev/$disk --offset=$((64 * M)) --size=$((8 * M)) --iodepth=32 \
	--iodepth_batch_submit=16 --iodepth_batch_complete_min=8
dd if=/dev/$disk bs=$M skip=64 count=8 iflag=direct 2>/dev/null > /tmp/got
check "the randomly trimmed region reads zeroes" sh -c "head -c $((8 * M)) /dev/zero | cmp -s - /tmp/got"
echo "rn-mark: fio-trim-end"

check "mkfs.ext4 (no discard at mkfs)" sh -c "mkfs.ext4 -q -F -E nodiscard /dev/$disk >/dev/null 2>&1"
mkdir -p /mnt/t
check "mount" mount -t ext4 /dev/$disk /mnt/t
i=0
while [ $i -lt 12 ]; do dd if=/dev/urandom of=/mnt/t/f$i bs=64k count=$((i * 8 + 1)) 2>/dev/null; i=$((i + 1)); done
sync
rm /mnt/t/f1 /mnt/t/f3 /mnt/t/f5 /mnt/t/f7
(cd /mnt/t && sha256sum f*) > /tmp/sums
echo "rn-mark: fstrim-start"
check "fstrim trims free space" sh -c "$FSTRIM -v /mnt/t | grep -q trimmed"
echo "rn-mark: fstrim-end"
check "umount" umount /mnt/t
echo "rn-mark: discard-end"
check "e2fsck -fn is clean" sh -c "e2fsck -fn /dev/$disk >/dev/null 2>&1"
check "remount" mount -t ext4 /dev/$disk /mnt/t
check "files intact after fstrim" sh -c "cd /mnt/t && sha256sum -c /tmp/sums >/dev/null"
umount /mnt/t
check "rmmod" rn_unload
finish
