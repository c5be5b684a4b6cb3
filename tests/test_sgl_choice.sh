#!/bin/sh
# SGLs by the rules of nvme.ko 7.3's nvme_map_data, on an SGL-capable controller. With
# sgl_threshold=4096 multi-segment requests go out as SGLs (fio verifies random sizes
# 4 KiB-1 MiB from buffers at odd, 512-byte, alignment); with sgl_threshold=0 they do
# not (page-aligned fio), but an SGL is still forced where PRPs cannot describe the data
# (a request with a gap inside a page: the queue has no virt boundary) and for user
# passthrough commands. The host counts QEMU's pci_nvme_map_sgl events by descriptor
# type (0x3: a list of segments, 0x0: one Data Block) between the markers.
. /guest/tests/lib.sh

disk=${RN_DISK:-nvme0n1}
job="--rw=randwrite --bsrange=4k-1M --filename=/dev/$disk --iodepth=32 --numjobs=3 --size=16M --offset_increment=16M --verify=crc32c --verify_fatal=1"
for t in 4096 0; do
	check "insmod sgl_threshold=$t" rn_load sgl_threshold=$t
	check "/dev/$disk opens" wait_for 30 dd if=/dev/$disk of=/dev/null bs=512 count=1 iflag=direct
	expect_eq "no virt boundary with SGLs" 0 "$(cat /sys/block/$disk/queue/virt_boundary_mask)"
	align=512
	[ $t = 0 ] && align=4096
	echo "rn-mark: sgl-$t-start"
	check "fio verify with sgl_threshold=$t, buffers $align-byte aligned" \
		rn_fio --name=sgl$t --iomem_align=$align $job
	echo "rn-mark: sgl-$t-end"
	echo "rn-mark: sgl-gap-$t-start"
	/guest/tests/sgl_gap /dev/$disk
	check "requests with a gap inside a page move the right data (sgl_threshold=$t)" [ $? -eq 0 ]
	echo "rn-mark: sgl-gap-$t-end"
	dd if=/dev/urandom of=/tmp/sgl.in bs=4096 count=4 2>/dev/null
	echo "rn-mark: sgl-user-$t-start"
	check "nvme write (passthrough, 16 KiB)" nvme write /dev/$disk -s 4096 -c 31 -z 16384 -d /tmp/sgl.in
	check "nvme read (passthrough, 16 KiB)" nvme read /dev/$disk -s 4096 -c 31 -z 16384 -d /tmp/sgl.out
	echo "rn-mark: sgl-user-$t-end"
	check "nvme read returns what nvme write wrote" cmp /tmp/sgl.in /tmp/sgl.out
	check "rmmod" rn_unload
done
finish
