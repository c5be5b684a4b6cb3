#!/bin/sh
# The controller stops answering under load: the guest keeps clearing Memory Space and
# Bus Master Enable in its PCI command register, so every MMIO read returns all ones and
# no DMA happens, exactly what the driver sees when a device vanishes. Requests time out,
# the driver notices CSTS = ~0, its reset fails, the controller is marked dead; pending
# and new I/O fail fast, and unbind and rmmod still work.
. /guest/tests/lib.sh

disk=nvme0n1
ctl=/sys/class/nvme/nvme0
check "insmod" rn_load
check "/dev/$disk appears" wait_disk $disk
fn=$(rn_bound | head -1)
echo 2000 > /sys/block/$disk/queue/io_timeout
fio --ioengine=io_uring --direct=1 --name=load --rw=randwrite --bs=4k --filename=/dev/$disk \
	--iodepth=32 --numjobs=2 --size=64M --time_based --runtime=300 >/tmp/fio.out 2>&1 &
pid=$!
sleep 2
check "fio is running" kill -0 $pid
log_clear
# PCI_COMMAND (offset 4) = 0: no memory decoding, no bus mastering. Kept at 0: each
# reset turns both on again (as nvme.ko's does), so a device that is really gone is one
# whose command register never stays on.
( while [ ! -f /tmp/gone.stop ]; do
	printf '\000\000' | dd of=/sys/bus/pci/devices/$fn/config bs=1 seek=4 count=2 conv=notrunc 2>/dev/null
done ) &
hammer=$!
check "the controller is declared dead" wait_for 120 grep -qx dead $ctl/state
touch /tmp/gone.stop; wait $hammer
check "fio ends with errors instead of hanging" wait_for 30 sh -c "! kill -0 $pid"
wait $pid
rc=$?
check "fio reported I/O errors (exit $rc)" [ $rc -ne 0 ]
diag "$(dmesg | grep rust_nvme | head -12)"
check "the driver saw the controller stop answering" log_has_re 'timeout, controller (gone|not ready)'
check "its reset failed: the controller is dead" log_has 'bring-up failed'
check "outstanding requests were failed" sh -c "dmesg | grep -q 'cancelled and failed' || dmesg | grep -q 'cancelled and requeued'"
start=$(date +%s)
# A dead disk has capacity 0 (blk_mark_disk_dead), as with the C driver: reads end at
# once with no data or an error.
check "new reads return no data" sh -c "[ \$(dd if=/dev/$disk bs=4k count=1 iflag=direct 2>/dev/null | wc -c) -eq 0 ]"
check "and end fast" [ $(( $(date +%s) - start )) -lt 5 ]
check "unbind works" sh -c "echo $fn > /sys/bus/pci/drivers/rust_nvme/unbind"
check "the disk is gone" wait_for 10 [ ! -e /sys/block/$disk ]
check "rmmod" rn_unload
finish
