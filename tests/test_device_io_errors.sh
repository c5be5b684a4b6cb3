#!/bin/sh
# Device-side I/O errors injected by QEMU's blkdebug: reads touching RN_BAD_LBA always
# fail (Unrecovered Read Error), the first read touching RN_FLAKY_LBA fails once.
# The driver retries (DNR clear) up to 5 times, fails only the bad request (ENODATA),
# logs it once in C's format (nvme_log_error) and counts retries and the error in the
# namespace's diag/ attributes, and other I/O keeps flowing. nvme.ko reads the bad block
# first in the same guest: rust_nvme's log line and counters must be the same.
. /guest/tests/lib.sh

# The kernel log lines of failed commands on nvme0n1 (C's formats), without timestamps.
err_lines() { dmesg | grep -E 'nvme0n1: .*\((0x[0-9a-f]+)\)( @ LBA|, )' | sed 's/^\[[^]]*\] //'; }
# The namespace's diag counters: "<retries> <errors>".
counters() { echo "$(cat /sys/block/nvme0n1/diag/command_retries_count) $(cat /sys/block/nvme0n1/diag/command_error_count)"; }
bad_read() { dd if=/dev/nvme0n1 of=/dev/null bs=4k skip=$((RN_BAD_LBA / 8)) count=1 iflag=direct 2>/tmp/dd.err; }
# The bad block through passthrough (NVME_IOCTL_SUBMIT_IO: one 512-byte block).
bad_passthru() { nvme read /dev/nvme0n1 -s $RN_BAD_LBA -c 0 -z 512 -d /tmp/pt.out >/dev/null 2>&1; }

# nvme.ko, same guest, same controller: the reference (the flaky block is left alone).
check "nvme.ko binds the controller (reference)" c_load
check "nvme.ko: /dev/nvme0n1 appears" wait_disk nvme0n1
wait_for 10 [ -e /sys/block/nvme0n1/diag/command_error_count ]
log_clear
bad_read
c_block=$(err_lines); c_counts=$(counters)
log_clear
bad_passthru
c_pt_quiet=$(err_lines); c_pt_quiet_counts=$(counters)
echo on >/sys/block/nvme0n1/passthru_err_log_enabled
bad_passthru
c_pt=$(err_lines); c_pt_counts=$(counters)
diag "nvme.ko: '$c_block' ($c_counts), passthrough '$c_pt' ($c_pt_quiet_counts, then $c_pt_counts)"
check "nvme.ko unloads" wait_for 10 c_unload

disk=nvme0n1
check "insmod" rn_load
check "/dev/$disk appears" wait_disk $disk
dd if=/dev/urandom of=/tmp/pattern bs=4k count=1024 2>/dev/null
check "write 4 MiB of known data at LBA 0 (writes are not injected)" \
	dd if=/tmp/pattern of=/dev/$disk bs=4k count=1024 oflag=direct 2>/dev/null
log_clear
expect_eq "diag counters start at 0 (retries, errors)" "0 0" "$(counters)"

# The flaky block: fails once, then the driver's retry reads it; a retry logs nothing.
check "read of the flaky block succeeds after a retry" \
	dd if=/dev/$disk of=/tmp/flaky bs=4k skip=$((RN_FLAKY_LBA / 8)) count=1 iflag=direct 2>/dev/null
check "and returns the data written" sh -c "dd if=/tmp/pattern bs=4k skip=$((RN_FLAKY_LBA / 8)) count=1 2>/dev/null | cmp -s - /tmp/flaky"
expect_eq "the error was injected and retried once: diag/command_retries_count 1, no error" \
	"1 0" "$(counters)"
expect_eq "a retried request logs no error line" "" "$(err_lines)"
echo 0 >/sys/block/$disk/diag/command_retries_count

# The bad block: every attempt fails.
log_clear
bad_read
rc=$?
diag "dd: $(cat /tmp/dd.err)"
# Unrecovered Read Error is a medium error: the block layer returns ENODATA for it, as
# with the C driver (BLK_STS_MEDIUM).
check "read of the bad block fails (medium error: ENODATA)" sh -c "[ $rc -ne 0 ] && grep -qiE 'No data available' /tmp/dd.err"
expect_eq "tried 6 times (1 + 5 retries) and failed once, as nvme.ko counted" \
	"5 1" "$(counters)"
expect_eq "nvme.ko's counters for the same read" "5 1" "$c_counts"
diag "rust_nvme: '$(err_lines)'"
check "one error line, in C's format" \
	sh -c "[ \"\$(dmesg | grep -c '@ LBA')\" = 1 ] && dmesg | grep -qE 'nvme0n1: [^(]+\(0x2\) @ LBA $RN_BAD_LBA, 8 blocks, [^(]+ \(sct 0x2 / sc 0x81\) \$'"
expect_eq "the line nvme.ko logs for the same failed read" "$c_block" "$(err_lines)"
# Passthrough: quiet unless the namespace's passthru_err_log_enabled is on.
log_clear
bad_passthru
expect_eq "failed passthrough read: no line while passthru_err_log_enabled is off (as nvme.ko)" \
	"$c_pt_quiet" "$(err_lines)"
expect_eq "and not counted (as nvme.ko)" "$c_pt_quiet_counts" "$(counters)"
echo on >/sys/block/$disk/passthru_err_log_enabled
bad_passthru
check "with it on: a line" [ -n "$(err_lines)" ]
expect_eq "the passthrough line nvme.ko logs" "$c_pt" "$(err_lines)"
expect_eq "counted as nvme.ko counts it" "$c_pt_counts" "$(counters)"
echo off >/sys/block/$disk/passthru_err_log_enabled

# Everything else still reads back right.
dd if=/tmp/pattern of=/tmp/before bs=4k count=$((RN_BAD_LBA / 8)) 2>/dev/null
check "blocks before the bad one read back intact" sh -c "dd if=/dev/$disk bs=4k count=$((RN_BAD_LBA / 8)) iflag=direct 2>/dev/null | cmp -s - /tmp/before"
check "verified I/O elsewhere keeps flowing" rn_fio --name=e --rw=randwrite --bs=4k --filename=/dev/$disk --offset=64M --iodepth=16 --size=8M --verify=crc32c --verify_fatal=1
check "rmmod" rn_unload
finish
