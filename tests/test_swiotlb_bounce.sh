#!/bin/sh
# Every DMA bounced (guest booted with swiotlb=force, as in confidential VMs): O_DIRECT
# I/O from buffers that start 512 bytes into a page, with requests of several segments,
# verified, and large requests (which must not exceed what a bounce slot run holds);
# then the same with nvme.ko in the same guest. track_hiwater makes swiotlb count the
# slots it used, which shows the bouncing happened.
. /guest/tests/lib.sh

disk=nvme0n1
hiwater=/sys/kernel/debug/swiotlb/io_tlb_used_hiwater
# fio's mem_align is an offset from a page boundary.
odd_io() {
	local off=$1; shift
	rn_fio --name=odd --rw=randwrite --bsrange=8k-128k --mem_align=512 \
		--filename=/dev/$disk --iodepth=4 --size=8M --offset=$off \
		--verify=crc32c --verify_fatal=1 "$@"
}

check "the guest bounces all DMA (swiotlb=force)" grep -qw swiotlb=force /proc/cmdline
grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs none /sys/kernel/debug
check "swiotlb counts its slots" [ -r $hiwater ]

check "insmod" rn_load
check "/dev/$disk appears" wait_disk $disk
# A bounce slot run holds 256 KiB: larger transfers could never be mapped (their
# requests would be retried forever), so the transfer limit follows the DMA layer's.
rn_max=$(cat /sys/block/$disk/queue/max_hw_sectors_kb)
check "rust_nvme: transfers limited to what swiotlb can map ($rn_max KiB)" [ "$rn_max" -le 256 ]
check "rust_nvme: odd-offset multi-segment writes, verified" odd_io 0
check "rust_nvme: 1 MiB direct writes and reads from a contiguous buffer, verified" \
	rn_fio --name=big --rw=write --bs=1M --filename=/dev/$disk --iodepth=4 --size=16M \
		--offset=32M --verify=crc32c --verify_fatal=1
used=$(cat $hiwater 2>/dev/null)
diag "swiotlb slots in use at most: $used"
check "the I/O went through bounce buffers" [ "${used:-0}" -gt 0 ]
check "rmmod" rn_unload

check "nvme.ko: insmod" c_load
check "nvme.ko: /dev/$disk appears" wait_disk $disk
expect_eq "nvme.ko: the same transfer limit" "$rn_max" "$(cat /sys/block/$disk/queue/max_hw_sectors_kb)"
check "nvme.ko: odd-offset multi-segment writes, verified" odd_io 67108864
head -c 8388608 /dev/urandom > /tmp/pat
check "nvme.ko: 8 MiB pattern written" \
	dd if=/tmp/pat of=/dev/$disk bs=1M seek=96 oflag=direct status=none
check "nvme.ko: rmmod" c_unload

check "insmod again" rn_load
check "/dev/$disk back" wait_disk $disk
# What nvme.ko wrote, read back through rust_nvme.
check "rust_nvme reads back what nvme.ko wrote" sh -c \
	"dd if=/dev/$disk bs=1M skip=96 count=8 iflag=direct status=none | cmp -s - /tmp/pat"
check "rmmod" rn_unload
finish
