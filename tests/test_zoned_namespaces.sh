#!/bin/sh
# Zoned namespaces as host-managed zoned block devices, as nvme.ko serves them: the
# zone limits in sysfs equal nvme.ko's on the same namespaces; blkzone's report and the
# zone management operations change zone conditions as ZNS says; the open-zone limit
# and writes off the write pointer are refused (as with nvme.ko); fio writes and
# verifies across zones; a zoned btrfs writes with Zone Append (QEMU's trace, between
# the btrfs marks) and keeps its files across a remount; a controller reset and a
# rescan leave the zones and their data as they were, and so does a format of the
# conventional namespace beside them.
# Expects nsid 1 zoned (16 MiB zones of 12 MiB capacity, max_open 4, max_active 6),
# nsid 2 conventional, nsid 3 zoned without limits (for btrfs).
. /guest/tests/lib.sh

BLKZONE=/usr/bin/blkzone
ATTRS="zoned nr_zones chunk_sectors max_open_zones max_active_zones zone_append_max_bytes logical_block_size max_hw_sectors_kb"

# The queue attributes of disk $1, one line.
attrs() { for a in $ATTRS; do printf '%s=%s ' $a "$(cat /sys/block/$1/queue/$a)"; done; }

# The disk of namespace $2 of controller $1 (disks are found by their nsid: nvme.ko
# scans in parallel, so its disk numbers need not follow the NSIDs).
disk_of() {
	for d in /sys/block/${1}n*; do
		[ "$(cat $d/nsid 2>/dev/null)" = "$2" ] && { basename $d; return 0; }
	done
	return 1
}

# Zone $2's condition and write pointer (sectors from the zone start) on /dev/$1, as
# blkzone reports them ("cond wptr").
ZONE=32768
zone() {
	$BLKZONE report -o $(($2 * ZONE)) -c 1 /dev/$1 |
		sed -n 's/.*wptr 0x\([0-9a-f]*\).*cond:[ ]*[0-9]*(\([a-z]*\)).*/\2 \1/p'
}

# Opens zones 0..4 explicitly after resetting all of them: "0 0 0 0 1" when the fifth
# open is refused (max_open 4).
open_limit() {
	$BLKZONE reset /dev/$1
	r=""
	for z in 0 1 2 3 4; do
		$BLKZONE open -o $((z * ZONE)) -c 1 /dev/$1 2>/dev/null && r="$r 0" || r="$r 1"
	done
	$BLKZONE reset /dev/$1
	echo $r
}

# A write at 4 KiB into empty zone 5, not at its write pointer: "refused" or "written".
unaligned() {
	dd if=/dev/zero of=/dev/$1 bs=4k count=1 seek=$(( (5 * ZONE + 8) / 8 )) oflag=direct \
		2>/dev/null && echo written || echo refused
}

# --- nvme.ko on the same controller, for reference.
check "nvme.ko binds (reference)" c_load
three_disks() { [ "$(ls -d /sys/block/nvme0n* 2>/dev/null | wc -l)" -ge 3 ]; }
check "nvme.ko: three disks" wait_for 30 three_disks
cz=$(disk_of nvme0 1); cb=$(disk_of nvme0 3)
check "nvme.ko: /dev/$cz opens" wait_for 30 dd if=/dev/$cz of=/dev/null bs=4k count=1 iflag=direct
c_attrs=$(attrs $cz)
c_battrs=$(attrs $cb)
diag "nvme.ko: $c_attrs"
$BLKZONE reset /dev/$cz
c_report=$($BLKZONE report /dev/$cz)
c_open=$(open_limit $cz)
c_unaligned=$(unaligned $cz)
diag "nvme.ko: open limit '$c_open', off-pointer write $c_unaligned"
check "nvme.ko unloads" wait_for 10 c_unload

# --- rust_nvme.
log_clear
check "insmod" rn_load
check "/dev/nvme0n1 opens" wait_for 30 dd if=/dev/nvme0n1 of=/dev/null bs=4k count=1 iflag=direct
check "/dev/nvme0n3 opens" wait_for 30 dd if=/dev/nvme0n3 of=/dev/null bs=4k count=1 iflag=direct
expect_eq "nvme0n1 is host-managed" host-managed "$(cat /sys/block/nvme0n1/queue/zoned)"
expect_eq "nvme0n2 (conventional) is not zoned" none "$(cat /sys/block/nvme0n2/queue/zoned)"
expect_eq "nvme0n1's zone limits as nvme.ko's" "$c_attrs" "$(attrs nvme0n1)"
expect_eq "nvme0n3's zone limits as nvme.ko's" "$c_battrs" "$(attrs nvme0n3)"
expect_eq "16 zones of 16 MiB" 16 "$(cat /sys/block/nvme0n1/queue/nr_zones)"
expect_eq "zone append limit from ZASL 5 (128 KiB)" 131072 \
	"$(cat /sys/block/nvme0n1/queue/zone_append_max_bytes)"

check "reset all zones" $BLKZONE reset /dev/nvme0n1
expect_eq "blkzone report as under nvme.ko" "$c_report" "$($BLKZONE report /dev/nvme0n1)"
check "every zone empty with 12 MiB capacity" \
	sh -c "[ \$($BLKZONE report /dev/nvme0n1 | grep -c 'cap 0x006000.*cond: 1(em)') -eq 16 ]"

# Zone state changes.
dd if=/dev/urandom of=/tmp/z0 bs=1M count=1 2>/dev/null
check "1 MiB written at zone 0's start" dd if=/tmp/z0 of=/dev/nvme0n1 bs=1M oflag=direct
expect_eq "zone 0: implicitly open, write pointer 1 MiB on" "oi 000800" "$(zone nvme0n1 0)"
check "zone 0 reads back" sh -c "dd if=/dev/nvme0n1 bs=1M count=1 iflag=direct 2>/dev/null | cmp - /tmp/z0"
check "blkzone close zone 0" $BLKZONE close -o 0 -c 1 /dev/nvme0n1
expect_eq "zone 0: closed" "cl 000800" "$(zone nvme0n1 0)"
check "blkzone open zone 1" $BLKZONE open -o $ZONE -c 1 /dev/nvme0n1
expect_eq "zone 1: explicitly open" "oe 000000" "$(zone nvme0n1 1)"
check "blkzone finish zone 2" $BLKZONE finish -o $((2 * ZONE)) -c 1 /dev/nvme0n1
expect_eq "zone 2: full, write pointer at the zone's end" "fu 008000" "$(zone nvme0n1 2)"
check "blkzone reset zone 0" $BLKZONE reset -o 0 -c 1 /dev/nvme0n1
expect_eq "zone 0: empty again" "em 000000" "$(zone nvme0n1 0)"
check "reset of all zones" $BLKZONE reset /dev/nvme0n1
expect_eq "zones 1 and 2 empty after it" "em 000000 em 000000" "$(zone nvme0n1 1) $(zone nvme0n1 2)"

# Limits and errors: the same outcomes as nvme.ko's.
expect_eq "a fifth explicitly open zone is refused (max_open 4), as with nvme.ko" \
	"$c_open" "$(open_limit nvme0n1)"
expect_eq "open limit outcome" "0 0 0 0 1" "$(open_limit nvme0n1)"
expect_eq "a write off the write pointer is refused, as with nvme.ko" "$c_unaligned" "$(unaligned nvme0n1)"
expect_eq "off-pointer write" refused "$(unaligned nvme0n1)"

# fio across zones, verified.
check "fio zonemode=zbd random writes across 8 zones, verified" \
	rn_fio --name=zbd --filename=/dev/nvme0n1 --zonemode=zbd --max_open_zones=4 \
	--rw=randwrite --bs=64k --iodepth=8 --size=128M --verify=crc32c --verify_fatal=1
$BLKZONE reset /dev/nvme0n1

# Data and zones across a reset and a rescan.
dd if=/dev/urandom of=/tmp/z6 bs=1M count=3 2>/dev/null
check "3 MiB written at zone 6" dd if=/tmp/z6 of=/dev/nvme0n1 bs=1M seek=$((6 * 16)) oflag=direct
check "zone 0 finished" $BLKZONE finish -o 0 -c 1 /dev/nvme0n1
before=$($BLKZONE report /dev/nvme0n1 | sed 's/cond:.*oi)/cond: 4(cl)/')
check "reset the controller" sh -c "echo 1 > /sys/class/nvme/nvme0/reset_controller"
check "rescan" sh -c "echo 1 > /sys/class/nvme/nvme0/rescan_controller"
check "live again" wait_for 20 grep -qx live /sys/class/nvme/nvme0/state
sleep 1
# A reset closes implicitly open zones (QEMU, as the spec allows): compare so.
expect_eq "the zone report after reset and rescan" "$before" \
	"$($BLKZONE report /dev/nvme0n1 | sed 's/cond:.*oi)/cond: 4(cl)/')"
check "zone 6's data intact" \
	sh -c "dd if=/dev/nvme0n1 bs=1M skip=96 count=3 iflag=direct 2>/dev/null | cmp - /tmp/z6"
expect_eq "still host-managed with 16 zones" "host-managed 16" \
	"$(cat /sys/block/nvme0n1/queue/zoned) $(cat /sys/block/nvme0n1/queue/nr_zones)"

# Format NVM of the conventional namespace beside the zoned ones: it takes the new
# block size, the zoned disk keeps its zones and data.
before=$($BLKZONE report /dev/nvme0n1)
check "nvme format of nvme0n2 to 4 KiB blocks" nvme format /dev/nvme0n2 --lbaf=4 --force
check "nvme0n2 has 4 KiB blocks" wait_for 10 [ "$(cat /sys/block/nvme0n2/queue/logical_block_size)" = 4096 ]
check "verified I/O on nvme0n2 after its format" rn_fio --name=fmt --filename=/dev/nvme0n2 \
	--rw=randwrite --bs=4k --iodepth=8 --size=8M --verify=crc32c --verify_fatal=1
expect_eq "nvme0n1's zones unchanged by the format" "$before" "$($BLKZONE report /dev/nvme0n1)"
check "zone 6's data still intact" \
	sh -c "dd if=/dev/nvme0n1 bs=1M skip=96 count=3 iflag=direct 2>/dev/null | cmp - /tmp/z6"

# A zoned btrfs: data goes out as Zone Append.
echo "rn-mark: btrfs-start"
check "mkfs.btrfs on the zoned nvme0n3" sh -c "mkfs.btrfs -f /dev/nvme0n3 >/tmp/mkfs.out 2>&1 || { cat /tmp/mkfs.out; false; }"
mkdir -p /mnt/z
check "mount" mount -t btrfs /dev/nvme0n3 /mnt/z
dd if=/dev/urandom of=/tmp/f1 bs=1M count=8 2>/dev/null
check "write 8 MiB and sync" sh -c "cp /tmp/f1 /mnt/z/f1 && sync"
sum=$(sha256sum < /tmp/f1)
check "unmount" umount /mnt/z
check "mount again" mount -t btrfs /dev/nvme0n3 /mnt/z
expect_eq "the file's checksum after the remount" "$sum" "$(sha256sum < /mnt/z/f1)"
check "unmount again" umount /mnt/z
echo "rn-mark: btrfs-end"

check "no zone errors logged by the driver" sh -c "! dmesg | grep -q 'zone revalidation failed\|invalid zone'"
check "rmmod" rn_unload
finish
