#!/bin/sh
# Format NVM through Debian's nvme-cli, as with nvme.ko: the driver freezes I/O around the
# command and rescans after it (C: nvme_passthru_start/end, the command's effects), and
# updates the disk in place: /dev/nvme0n1 keeps its name and capacity and gets 4096-byte
# logical blocks; I/O running across the format ends without an error; data written
# afterwards round-trips. Then back to 512-byte blocks; to 512+8 with protection
# information type 1 (separate metadata: an integrity profile, verified I/O); to 512+8
# in extended LBAs without PI, which leaves the disk with capacity 0 (as nvme.ko), and
# back.
. /guest/tests/lib.sh

lbs() { cat /sys/block/nvme0n1/queue/logical_block_size 2>/dev/null; }

check "insmod" rn_load
check "/dev/nvme0n1 appears" wait_disk nvme0n1
check "controller state is live" wait_for 10 grep -qx live /sys/class/nvme/nvme0/state
expect_eq "logical block size before the format" 512 "$(lbs)"
size=$(cat /sys/block/nvme0n1/size)

dd if=/dev/urandom of=/tmp/pat bs=4096 count=16 2>/dev/null
dd if=/tmp/pat of=/dev/nvme0n1 bs=4096 seek=100 oflag=direct conv=fsync 2>/dev/null
dd if=/dev/nvme0n1 of=/tmp/back bs=4096 skip=100 count=16 iflag=direct 2>/dev/null
check "data written before the format reads back" cmp /tmp/pat /tmp/back

# Readers of 4 KiB (valid in both formats) run across the format.
fio --ioengine=io_uring --direct=1 --name=across --rw=randread --bs=4k \
	--filename=/dev/nvme0n1 --iodepth=8 --numjobs=2 --time_based --runtime=8 \
	>/tmp/across.out 2>&1 &
fpid=$!
sleep 2
log_clear
nvme format /dev/nvme0n1 --lbaf=4 --force >/tmp/fmt.out 2>&1
rc=$?
sed 's/^/# /' /tmp/fmt.out
check "nvme format --lbaf=4 (4096-byte blocks) succeeds" [ $rc -eq 0 ]
expect_eq "logical block size right after the format" 4096 "$(lbs)"
expect_eq "capacity unchanged (512-byte sectors)" "$size" "$(cat /sys/block/nvme0n1/size)"
check "the disk kept its name" [ -b /dev/nvme0n1 -a ! -e /dev/nvme0n2 ]
check "the driver logged the new block size" \
	log_has 'nvme0n1: namespace 1 now .* blocks of 4096 bytes'
wait $fpid
frc=$?
[ $frc -eq 0 ] || sed 's/^/# /' /tmp/across.out | tail -20
check "reads across the format ended without an error" [ $frc -eq 0 ]
expect_eq "id-ns: the namespace uses LBA format 4" 4 \
	"$(( $(nvme id-ns /dev/nvme0n1 2>/dev/null | sed -n 's/^flbas *: *//p') & 0xf ))"

dd if=/dev/nvme0n1 of=/tmp/back bs=4096 skip=100 count=16 iflag=direct 2>/dev/null
cmp -s /tmp/back /tmp/pat
check "the format erased what was written before" [ $? -ne 0 ]
check "512-byte direct reads are refused at 4096-byte blocks" sh -c "! fio --ioengine=psync \
	--direct=1 --name=small --rw=read --bs=512 --size=4k --filename=/dev/nvme0n1 >/dev/null 2>&1"
check "verified I/O at 4096-byte blocks" rn_fio --name=v4k --rw=randwrite --bsrange=4k-128k \
	--filename=/dev/nvme0n1 --iodepth=16 --size=32M --verify=crc32c --verify_fatal=1
dd if=/tmp/pat of=/dev/nvme0n1 bs=4096 seek=100 oflag=direct conv=fsync 2>/dev/null
dd if=/dev/nvme0n1 of=/tmp/back bs=4096 skip=100 count=16 iflag=direct 2>/dev/null
check "dd data round-trips at 4096-byte blocks" cmp /tmp/pat /tmp/back
check "and at the very end of the disk" sh -c \
	"dd if=/tmp/pat of=/dev/nvme0n1 bs=4096 seek=$((size / 8 - 16)) oflag=direct conv=fsync 2>/dev/null &&
	 dd if=/dev/nvme0n1 bs=4096 skip=$((size / 8 - 16)) count=16 iflag=direct 2>/dev/null | cmp - /tmp/pat"

# Back to 512-byte blocks, through the controller device this time (nvme-cli then asks
# for a rescan itself, NVME_IOCTL_RESCAN).
check "nvme format --lbaf=0 on /dev/nvme0" nvme format /dev/nvme0 -n 1 --lbaf=0 --force
check "logical block size is 512 again" wait_for 10 [ "$(lbs)" = 512 ]
expect_eq "capacity still unchanged" "$size" "$(cat /sys/block/nvme0n1/size)"
check "verified I/O at 512-byte blocks" rn_fio --name=v512 --rw=randwrite --bsrange=512-64k \
	--filename=/dev/nvme0n1 --iodepth=16 --size=16M --verify=crc32c --verify_fatal=1

# 512 + 8 bytes of separate metadata holding PI type 1: the disk keeps its capacity and
# gets the T10 DIF profile; the block layer and the controller check every block.
check "nvme format --lbaf=1 --pi=1 (512 + 8, PI type 1)" nvme format /dev/nvme0n1 --lbaf=1 --pi=1 --force
# QEMU keeps the metadata in the same image: fewer blocks now, as Identify says.
expect_eq "capacity as Identify Namespace now says" \
	"$(( $(nvme id-ns /dev/nvme0n1 | sed -n 's/^nsze *: *//p') ))" "$(cat /sys/block/nvme0n1/size 2>/dev/null)"
expect_eq "the T10 DIF type 1 profile" T10-DIF-TYPE1-CRC "$(cat /sys/block/nvme0n1/integrity/format)"
check "verified I/O with protection information" rn_fio --name=pi1 --rw=randwrite --bsrange=512-64k \
	--filename=/dev/nvme0n1 --iodepth=16 --size=16M --verify=crc32c --verify_fatal=1

# 8 bytes of metadata per block in extended LBAs, not PI: the block layer cannot address
# it, so the disk stays (as with nvme.ko) with capacity 0, for passthrough; formatting
# back through it restores it.
check "nvme format --lbaf=1 --ms=1 (512 + 8 extended, no PI)" nvme format /dev/nvme0n1 --lbaf=1 --ms=1 --pi=0 --force
expect_eq "the disk stays, with capacity 0" 0 "$(cat /sys/block/nvme0n1/size 2>/dev/null)"
expect_eq "metadata_bytes follows the format (8)" 8 "$(cat /sys/block/nvme0n1/metadata_bytes)"
# (No RESIZE=1 uevent: the block layer sends none for a change to or from 0.)
check "the block layer saw the capacity change" \
	log_has 'nvme0n1: detected capacity change from [0-9]* to 0'
check "the driver said why" \
	log_has 'nvme0n1: namespace 1: extended LBA metadata other than protection information; capacity 0'
check "a read returns nothing" sh -c "[ \$(dd if=/dev/nvme0n1 bs=512 count=1 2>/dev/null | wc -c) -eq 0 ]"
check "I/O passthrough is refused" sh -c "! nvme read /dev/nvme0n1 -s 0 -c 0 -z 512 -d /tmp/x 2>/dev/null"
check "nvme id-ns still works on it" nvme id-ns /dev/nvme0n1
check "nvme format --lbaf=0 through it" nvme format /dev/nvme0n1 --lbaf=0 --ms=0 --force
expect_eq "the capacity is back" "$size" "$(cat /sys/block/nvme0n1/size)"
expect_eq "metadata_bytes back to 0" 0 "$(cat /sys/block/nvme0n1/metadata_bytes)"
check "verified I/O after it came back" rn_fio --name=back --rw=randwrite --bs=4k \
	--filename=/dev/nvme0n1 --iodepth=8 --size=8M --verify=crc32c --verify_fatal=1
check "rmmod" rn_unload
finish
