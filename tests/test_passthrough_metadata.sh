#!/bin/sh
# Protection information end to end through passthrough metadata buffers (nvme-cli's
# --metadata on /dev/nvme0n1, 512+8 separate, PI type 1): the block layer's PI reads
# back with the right reference tags; a passthrough write with the guard and reference
# tag checked succeeds; with a corrupted guard the controller refuses it and the caller
# gets End-to-end Guard Check Error, as with nvme.ko; written unchecked, the corrupted
# guard makes a block-layer read fail instead of returning data. A metadata buffer that
# is not the command's (short, or none on this namespace) is refused before anything is
# sent (beyond nvme.ko, which sends it).
. /guest/tests/lib.sh

check "insmod" rn_load
check "/dev/nvme0n1 opens" wait_for 30 dd if=/dev/nvme0n1 of=/dev/null bs=4k count=1 iflag=direct

# 4 KiB at LBA 200 through the block layer, which generates the PI.
dd if=/dev/urandom of=/tmp/d bs=4k count=1 2>/dev/null
check "4 KiB written at LBA 200 through the block device" \
	dd if=/tmp/d of=/dev/nvme0n1 bs=4k seek=25 oflag=direct
check "passthrough read of the data and its 64 bytes of metadata" \
	nvme read /dev/nvme0n1 -s 200 -c 7 -z 4096 -d /tmp/rd -y 64 -M /tmp/md
check "the data as written" cmp /tmp/d /tmp/rd
# The reference tag of block i (bytes 4-7 of its tuple, big endian) is its LBA.
tags=""
for i in 0 1 2 3 4 5 6 7; do
	tags="$tags$(od -An -tx1 -j $((i * 8 + 4)) -N 4 /tmp/md | tr -d ' \n') "
done
expect_eq "reference tags 200..207, as the block layer made them" \
	"000000c8 000000c9 000000ca 000000cb 000000cc 000000cd 000000ce 000000cf " "$tags"

check "passthrough write with guard and reference tag checked (PRINFO 5, ref 200)" \
	nvme write /dev/nvme0n1 -s 200 -c 7 -z 4096 -d /tmp/d -y 64 -M /tmp/md -p 5 -r 200
# Block 0's guard with its first byte flipped.
{ printf "\\$(printf '%03o' $(( $(od -An -tu1 -N1 /tmp/md) ^ 255 )))"; tail -c +2 /tmp/md; } > /tmp/mdbad
check "the corrupted metadata differs" sh -c "! cmp -s /tmp/md /tmp/mdbad"
nvme write /dev/nvme0n1 -s 200 -c 7 -z 4096 -d /tmp/d -y 64 -M /tmp/mdbad -p 4 >/tmp/bad.out 2>&1
rc=$?
r_bad=$(grep -i status /tmp/bad.out | head -1)
diag "rust_nvme: $r_bad (exit $rc)"
check "a write whose guard does not match is refused" [ $rc -ne 0 ]
check "with End-to-end Guard Check Error" sh -c "grep -qi 'guard' /tmp/bad.out"
check "written unchecked (PRINFO 0), the controller keeps the bad guard" \
	nvme write /dev/nvme0n1 -s 200 -c 7 -z 4096 -d /tmp/d -y 64 -M /tmp/mdbad -p 0
log_clear
check "a block-layer read of it fails instead of returning data" \
	sh -c "! dd if=/dev/nvme0n1 of=/tmp/x bs=4k skip=25 count=1 iflag=direct 2>/dev/null"
check "logged as a guard check error" sh -c "dmesg | grep -qi 'guard check error'"
check "the neighbours still read" dd if=/dev/nvme0n1 of=/dev/null bs=4k skip=26 count=4 iflag=direct

# Buffers that are not the command's metadata.
log_clear
check "a 32-byte metadata buffer for 8 blocks is refused" \
	sh -c "! nvme read /dev/nvme0n1 -s 200 -c 7 -z 4096 -d /tmp/rd -y 32 -M /tmp/md32 2>/dev/null"
check "with a message" log_has 'metadata buffer of 32 bytes, 64 expected'
check "a read without metadata on this namespace is refused" \
	sh -c "! nvme read /dev/nvme0n1 -s 200 -c 7 -z 4096 -d /tmp/rd 2>/dev/null"
check "metadata on a namespace without separate metadata is refused" \
	sh -c "! nvme read /dev/nvme0n6 -s 0 -c 0 -z 16384 -d /tmp/rd -y 8 -M /tmp/m6 2>/dev/null"
check "rmmod" rn_unload

# nvme.ko: the same corrupted write gets the same status.
check "nvme.ko binds (reference)" c_load
all6() { [ "$(ls -d /sys/block/nvme0n* 2>/dev/null | wc -l)" -ge 6 ]; }
check "nvme.ko: its disks" wait_for 30 all6
for d in /sys/block/nvme0n*; do [ "$(cat $d/nsid)" = 1 ] && cd1=$(basename $d); done
check "nvme.ko: /dev/$cd1 opens" wait_for 30 dd if=/dev/$cd1 of=/dev/null bs=4k count=1 iflag=direct
nvme write /dev/$cd1 -s 200 -c 7 -z 4096 -d /tmp/d -y 64 -M /tmp/mdbad -p 4 >/tmp/cbad.out 2>&1
crc=$?
c_bad=$(grep -i status /tmp/cbad.out | head -1)
diag "nvme.ko: $c_bad (exit $crc)"
expect_eq "the caller's status as under nvme.ko" "$c_bad (exit $crc)" "$r_bad (exit $rc)"
check "nvme.ko unloads" wait_for 10 c_unload
finish
