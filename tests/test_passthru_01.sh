#!/bin/sh
# Admin passthrough whose waiters give up while the controller may still write their
# buffers: Identify with a 1 ms timeout, in a loop, under verified I/O (the run boots
# with init_on_free=1, KFENCE watches). Each command that times out resets the
# controller (as C); its data buffer and PRP list stay with the command's admin slot
# until the completion comes or the controller is disabled, never freed under a
# controller that can still write them.
. /guest/tests/lib.sh

disk=nvme0n1
ctl=/sys/class/nvme/nvme0
check "insmod" rn_load
check "/dev/$disk appears" wait_disk $disk
wait_for 10 dd if=/dev/$disk of=/dev/null bs=4k count=1 iflag=direct
dmesg -c >/dev/null
bg_fio_start --rw=randrw --bs=4k --filename=/dev/$disk --iodepth=16 --size=32M --runtime=3 --time_based
n=0
while [ $n -lt 20 ]; do
	nvme admin-passthru /dev/nvme0 --opcode=0x06 --cdw10=1 --data-len=4096 --read --timeout=1 >/dev/null 2>&1
	wait_for 30 grep -qx live $ctl/state
	n=$((n + 1))
done
t=$(dmesg | grep -c 'admin command passthrough (cid [0-9]*) timed out')
check "the fault fired: passthrough commands gave up ($t of 20)" [ "$t" -ge 1 ]
check "the controller is live" wait_for 30 grep -qx live $ctl/state
bg_fio_check "verified fio passed through the abandoned commands"
check "Identify through passthrough afterwards" sh -c "nvme id-ctrl /dev/nvme0 | grep -q '^mn *: QEMU NVMe Ctrl'"
check "rmmod" rn_unload
finish
