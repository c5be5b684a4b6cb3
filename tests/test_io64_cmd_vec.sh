#!/bin/sh
# NVME_IOCTL_IO64_CMD_VEC on the namespace's block device and on its generic device
# (tests/nvme_vec.c): three iovecs written and read back split differently compare
# equal; a vector short of the transfer, one with a bad pointer, one of too many entries
# and an unreadable array are refused with nothing written into or around the buffers
# (beyond nvme.ko, which sends the short vector to the controller); controller resets
# with passthrough reads looping on /dev/ng0n1.
# Expects RN_SERIAL's controller as nvme0 with /dev/nvme0n1 (512-byte blocks).
. /guest/tests/lib.sh

check "insmod" rn_load
check "/dev/ng0n1 appears" wait_for 30 [ -c /dev/ng0n1 ]
check "/dev/nvme0n1 opens" wait_for 30 dd if=/dev/nvme0n1 of=/dev/null bs=512 count=1
/guest/tests/nvme_vec /dev/nvme0n1 1 20480 | sed 's/rn-tap: \(not ok\|ok\) - /&nvme0n1: /'
/guest/tests/nvme_vec /dev/ng0n1 1 24576 | sed 's/rn-tap: \(not ok\|ok\) - /&ng0n1: /'
# Controller resets while passthrough reads loop on /dev/ng0n1: each read ends (a read
# a reset cancels gets EINTR, as with nvme.ko), the loop finishes, reads work after.
( i=0; while [ $i -lt 40 ]; do
	nvme read /dev/ng0n1 -s 0 -c 63 -z 32768 -d /tmp/vr >/dev/null 2>&1; i=$((i + 1)); done
	echo done > /tmp/vloop ) &
for r in 1 2 3; do
	check "reset $r with passthrough reads on /dev/ng0n1" nvme reset /dev/nvme0
	wait_for 20 grep -qx live /sys/class/nvme/nvme0/state
done
check "the passthrough loop finished (bounded)" wait_for 120 [ -f /tmp/vloop ]
check "a passthrough read through /dev/ng0n1 after the resets" \
	nvme read /dev/ng0n1 -s 0 -c 7 -z 4096 -d /tmp/vr
check "the block device still serves verified I/O" rn_fio --name=after --rw=randwrite --bs=4k \
	--filename=/dev/nvme0n1 --iodepth=8 --size=4M --offset=32M --verify=crc32c --verify_fatal=1
check "rmmod" rn_unload
finish
