#!/bin/sh
# Metadata, end-to-end protection information and logical blocks above PAGE_SIZE, as
# nvme.ko serves them: for each of QEMU's formats the disk's capacity, block size,
# integrity profile and metadata size equal nvme.ko's on the same namespace, and each
# usable one passes fio with verification (the block layer generates and checks the
# protection information; QEMU checks it too, and any error it raises fails the run).
# Expects one controller with nsids 1..6: 512+8 separate PI type 1, 4096+8 type 3,
# 512+16 metadata without PI, 512+8 extended LBA type 1 (PRACT), 4096+16 type 1 with
# the 64-bit guard, 16 KiB blocks.
. /guest/tests/lib.sh

NSIDS="1 2 3 4 5 6"

# Disk $2's view of namespace format $1, one line.
view() {
	q=/sys/block/$2
	printf 'ns%s size=%s lbs=%s format=%s tag=%s interval=%s ms=%s\n' "$1" \
		"$(cat $q/size)" "$(cat $q/queue/logical_block_size)" \
		"$(cat $q/integrity/format 2>/dev/null)" "$(cat $q/integrity/tag_size 2>/dev/null)" \
		"$(cat $q/integrity/protection_interval_bytes 2>/dev/null)" "$(cat $q/metadata_bytes 2>/dev/null)"
}

# The disk of namespace $1 of nvme0 (nvme.ko scans in parallel: found by nsid).
disk_of() {
	for d in /sys/block/nvme0n*; do
		[ "$(cat $d/nsid 2>/dev/null)" = "$1" ] && { basename $d; return 0; }
	done
	return 1
}
all_disks() { [ "$(ls -d /sys/block/nvme0n* 2>/dev/null | wc -l)" -ge 6 ]; }

check "nvme.ko binds (reference)" c_load
check "nvme.ko: a disk per namespace" wait_for 30 all_disks
sleep 1
c_views=""
for n in $NSIDS; do
	c_views="$c_views$(view $n $(disk_of $n));"
done
diag "nvme.ko: $c_views"
check "nvme.ko unloads" wait_for 10 c_unload

log_clear
check "insmod" rn_load
check "rust_nvme: a disk per namespace" wait_for 30 all_disks
check "/dev/nvme0n1 opens" wait_for 30 dd if=/dev/nvme0n1 of=/dev/null bs=4k count=1 iflag=direct
i=1
for n in $NSIDS; do
	expect_eq "namespace $n as nvme.ko shows it" \
		"$(echo "$c_views" | cut -d';' -f$i)" "$(view $n nvme0n$n)"
	i=$((i + 1))
done
expect_eq "nvme0n1: T10 DIF type 1 profile" T10-DIF-TYPE1-CRC "$(cat /sys/block/nvme0n1/integrity/format)"
expect_eq "nvme0n2: type 3 on 4 KiB blocks" "T10-DIF-TYPE3-CRC 4096" \
	"$(cat /sys/block/nvme0n2/integrity/format) $(cat /sys/block/nvme0n2/queue/logical_block_size)"
expect_eq "nvme0n3: metadata without PI" nop "$(cat /sys/block/nvme0n3/integrity/format)"
expect_eq "nvme0n5: 64-bit guard" EXT-DIF-TYPE1-CRC64 "$(cat /sys/block/nvme0n5/integrity/format)"
expect_eq "nvme0n6: 16 KiB blocks" 16384 "$(cat /sys/block/nvme0n6/queue/logical_block_size)"

# Verified I/O on every format: separate metadata generated and checked by the block
# layer and the controller, PRACT on the extended one.
for n in $NSIDS; do
	bs=$(cat /sys/block/nvme0n$n/queue/logical_block_size)
	check "nvme0n$n: fio random writes, verified (blocks of $bs)" \
		rn_fio --name=pi$n --filename=/dev/nvme0n$n --rw=randwrite --bsrange=$bs-$((bs * 16)) \
		--bs_unaligned=0 --blockalign=$bs --iodepth=8 --size=8M --verify=crc32c --verify_fatal=1
	check "nvme0n$n: read back after a cache drop" \
		sh -c "echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/nvme0n$n of=/dev/null bs=1M count=8 iflag=direct 2>/dev/null"
done

# 16 KiB blocks: direct I/O smaller than a block is refused (fio: busybox dd retries a
# refused O_DIRECT read without it).
check "nvme0n6: 4 KiB direct reads are refused" \
	sh -c "! fio --name=small --filename=/dev/nvme0n6 --rw=read --bs=4k --direct=1 --size=64k >/dev/null 2>&1"
dd if=/dev/urandom of=/tmp/b16 bs=16k count=4 2>/dev/null
check "nvme0n6: 64 KiB written and read back" sh -c \
	"dd if=/tmp/b16 of=/dev/nvme0n6 bs=16k seek=3 oflag=direct 2>/dev/null &&
	 dd if=/dev/nvme0n6 bs=16k skip=3 count=4 iflag=direct 2>/dev/null | cmp - /tmp/b16"

# A filesystem on 16 KiB blocks (ext4's large block size support).
check "mkfs.ext4 -b 16384 on nvme0n6" sh -c "mkfs.ext4 -q -F -b 16384 /dev/nvme0n6 >/tmp/mkfs.out 2>&1 || { cat /tmp/mkfs.out; false; }"
mkdir -p /mnt/b16
check "mount it" mount -t ext4 /dev/nvme0n6 /mnt/b16
dd if=/dev/urandom of=/tmp/f16 bs=1M count=4 2>/dev/null
check "a file written and synced" sh -c "cp /tmp/f16 /mnt/b16/f && sync"
check "unmount" umount /mnt/b16
check "e2fsck finds it clean" e2fsck -fn /dev/nvme0n6
check "mount again" mount -t ext4 /dev/nvme0n6 /mnt/b16
check "the file reads back" cmp /tmp/f16 /mnt/b16/f
check "unmount again" umount /mnt/b16

# Data with PI survives a controller reset.
dd if=/dev/urandom of=/tmp/p1 bs=4k count=16 2>/dev/null
dd if=/tmp/p1 of=/dev/nvme0n1 bs=4k seek=100 oflag=direct 2>/dev/null
check "reset the controller" sh -c "echo 1 > /sys/class/nvme/nvme0/reset_controller"
check "live again" wait_for 20 grep -qx live /sys/class/nvme/nvme0/state
check "nvme0n1's data and PI check out after the reset" \
	sh -c "dd if=/dev/nvme0n1 bs=4k skip=100 count=16 iflag=direct 2>/dev/null | cmp - /tmp/p1"
expect_eq "nvme0n1 keeps its profile" T10-DIF-TYPE1-CRC "$(cat /sys/block/nvme0n1/integrity/format)"
check "no protection errors logged" sh -c "! dmesg | grep -qi 'check error\|protection'"
check "rmmod" rn_unload
finish
