#!/bin/sh
# Device-side I/O errors injected by QEMU's blkdebug: reads touching RN_BAD_LBA always
# fail (Unrecovered Read Error), the first read touching RN_FLAKY_LBA fails once.
# The driver retries (DNR clear) up to 5 times, fails only the bad request with EIO,
# logs command/namespace/LBA/status, and other I/O keeps flowing.
. /guest/tests/lib.sh

disk=nvme0n1
check "insmod" rn_load
check "/dev/$disk appears" wait_disk $disk
dd if=/dev/urandom of=/tmp/pattern bs=4k count=1024 2>/dev/null
check "write 4 MiB of known data at LBA 0 (writes are not injected)" \
	dd if=/tmp/pattern of=/dev/$disk bs=4k count=1024 oflag=direct 2>/dev/null
dmesg -c >/dev/null

# The flaky block: fails once, then the driver's retry reads it.
check "read of the flaky block succeeds after a retry" \
	dd if=/dev/$disk of=/tmp/flaky bs=4k skip=$((RN_FLAKY_LBA / 8)) count=1 iflag=direct 2>/dev/null
check "and returns the data written" sh -c "dd if=/tmp/pattern bs=4k skip=$((RN_FLAKY_LBA / 8)) count=1 2>/dev/null | cmp -s - /tmp/flaky"
check "the error was injected and retried" sh -c "dmesg | grep 'LBA $RN_FLAKY_LBA' | grep -q 'Unrecovered Read Error.*retrying'"

# The bad block: every attempt fails.
dmesg -c >/dev/null
dd if=/dev/$disk of=/dev/null bs=4k skip=$((RN_BAD_LBA / 8)) count=1 iflag=direct 2>/tmp/dd.err
rc=$?
diag "dd: $(cat /tmp/dd.err)"
# Unrecovered Read Error is a medium error: the block layer returns ENODATA for it, as
# with the C driver (BLK_STS_MEDIUM).
check "read of the bad block fails (medium error: ENODATA)" sh -c "[ $rc -ne 0 ] && grep -qiE 'No data available' /tmp/dd.err"
tries=$(dmesg | grep "LBA $RN_BAD_LBA" | grep -c 'Unrecovered Read Error')
expect_eq "the bad read was tried 6 times (1 + 5 retries)" 6 "$tries"
check "the final error names the command, namespace, LBA and status" \
	sh -c "dmesg | grep 'nvme0n1: Read (opcode 0x02) at LBA $RN_BAD_LBA: Unrecovered Read Error (SCT 0x2 SC 0x81)' | grep -qv retrying"

# Everything else still reads back right.
dd if=/tmp/pattern of=/tmp/before bs=4k count=$((RN_BAD_LBA / 8)) 2>/dev/null
check "blocks before the bad one read back intact" sh -c "dd if=/dev/$disk bs=4k count=$((RN_BAD_LBA / 8)) iflag=direct 2>/dev/null | cmp -s - /tmp/before"
check "verified I/O elsewhere keeps flowing" rn_fio --name=e --rw=randwrite --bs=4k --filename=/dev/$disk --offset=64M --iodepth=16 --size=8M --verify=crc32c --verify_fatal=1
check "rmmod" rn_unload
finish
