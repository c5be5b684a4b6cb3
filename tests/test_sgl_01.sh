#!/bin/sh
# SGLs: with sgl_threshold=4096 multi-segment requests go out as SGLs; with
# sgl_threshold=0 never. fio verifies random sizes 4 KiB-1 MiB with buffers at odd
# (512-byte) alignment, several jobs, deep queues. The host counts QEMU's
# pci_nvme_map_sgl events between the markers.
. /guest/tests/lib.sh

disk=${RN_DISK:-nvme0n1}
job="--rw=randwrite --bsrange=4k-1M --iomem_align=512 --filename=/dev/$disk --iodepth=32 --numjobs=3 --size=16M --offset_increment=16M --verify=crc32c --verify_fatal=1"
for t in 4096 0; do
	check "insmod sgl_threshold=$t" rn_load sgl_threshold=$t
	check "/dev/$disk appears" wait_disk $disk
	echo "rn-mark: sgl-$t-start"
	check "fio verify with sgl_threshold=$t" rn_fio --name=sgl$t $job
	echo "rn-mark: sgl-$t-end"
	check "rmmod" rn_unload
done
finish
