#!/bin/sh
# Bus mastering lost under verified I/O (blktests block/011): the guest clears Bus Master
# Enable in the function's PCI command register. The controller's DMA fails (it reports
# CSTS.CFS), requests time out, and the reset turns bus mastering back on itself, as
# nvme.ko's nvme_pci_enable does: the disk keeps serving, nothing is lost, data written
# before is intact. Then the same with the whole command register cleared (memory
# decoding too).
. /guest/tests/lib.sh

disk=nvme0n1
check "insmod" rn_load
check "/dev/$disk appears" wait_disk $disk
fn=$(rn_bound | head -1)
cfg=/sys/bus/pci/devices/$fn/config
echo 2000 > /sys/block/$disk/queue/io_timeout
# Reference data outside the region fio uses (and away from the run's injected read
# errors at LBAs 2048 and 4096).
dd if=/dev/urandom of=/tmp/ref bs=1M count=4 2>/dev/null
check "reference data written" dd if=/tmp/ref of=/dev/$disk bs=1M seek=200 oflag=direct 2>/dev/null
cmd_word() { od -An -tx2 -j4 -N2 $cfg | tr -d ' '; }
set_cmd() { printf "$(printf '\\%03o\\%03o' $(( $1 & 255 )) $(( $1 >> 8 )))" | dd of=$cfg bs=1 seek=4 count=2 conv=notrunc 2>/dev/null; }

for what in busmaster command; do
	log_clear
	orig=$((0x$(cmd_word)))
	bg_fio_start --rw=randrw --bs=4k --filename=/dev/$disk --offset=64M --iodepth=16 --size=32M --runtime=4 --time_based
	sleep 2
	if [ $what = busmaster ]; then set_cmd $(( orig & ~4 )); else set_cmd 0; fi
	check "$what: the fault fired (timeout on a fatal/absent controller)" \
		wait_for 60 log_has_re 'timeout, controller (fatal|not ready|gone)'
	check "$what: the reset re-enabled the function" \
		wait_for 60 log_has 'bus mastering was off; re-enabled'
	check "$what: the controller is live again" wait_for 60 grep -qx live /sys/class/nvme/nvme0/state
	set_cmd $orig
	sleep 3
	bg_fio_check "$what: verified fio passed through it"
	check "$what: verified I/O afterwards" rn_fio --name=after --rw=randwrite --bs=4k --filename=/dev/$disk --offset=64M --iodepth=16 --size=8M --verify=crc32c --verify_fatal=1
	dd if=/dev/$disk of=/tmp/back bs=1M skip=200 count=4 iflag=direct 2>/dev/null
	check "$what: data written before is intact" cmp -s /tmp/ref /tmp/back
	expect_eq "$what: capacity unchanged" 524288 "$(cat /sys/block/$disk/size)"
done
check "rmmod" rn_unload
finish
