#!/bin/sh
# NVME_IOCTL_IO64_CMD_VEC on the namespace's block device and on its generic device
# (tests/nvme_vec.c): three iovecs written and read back split differently compare
# equal; a vector short of the transfer, one with a bad pointer, one of too many entries
# and an unreadable array are refused with nothing written into or around the buffers
# (beyond nvme.ko, which sends the short vector to the controller).
# Expects RN_SERIAL's controller as nvme0 with /dev/nvme0n1 (512-byte blocks).
. /guest/tests/lib.sh

check "insmod" rn_load
check "/dev/ng0n1 appears" wait_for 30 [ -c /dev/ng0n1 ]
check "/dev/nvme0n1 opens" wait_for 30 dd if=/dev/nvme0n1 of=/dev/null bs=512 count=1
/guest/tests/nvme_vec /dev/nvme0n1 1 20480 | sed 's/rn-tap: \(not ok\|ok\) - /&nvme0n1: /'
/guest/tests/nvme_vec /dev/ng0n1 1 24576 | sed 's/rn-tap: \(not ok\|ok\) - /&ng0n1: /'
dd if=/dev/nvme0n1 of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null
check "the block device still serves verified I/O" rn_fio --name=after --rw=randwrite --bs=4k \
	--filename=/dev/nvme0n1 --iodepth=8 --size=4M --offset=32M --verify=crc32c --verify_fatal=1
check "rmmod" rn_unload
finish
