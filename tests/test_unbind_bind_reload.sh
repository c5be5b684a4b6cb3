#!/bin/sh
# Unbind/bind through sysfs and load/unload, with verified I/O between each step.
. /guest/tests/lib.sh

disk=nvme0n1
io_ok() {
	rn_fio --name=b --rw=randwrite --bs=4k --filename=/dev/$disk --iodepth=16 --size=4M \
		--offset=${1:-0} --verify=crc32c --verify_fatal=1
}
check "insmod" rn_load
check "/dev/$disk appears" wait_disk $disk
fn=$(rn_bound | head -1)
i=1
while [ $i -le 5 ]; do
	check "I/O before unbind #$i" io_ok $((i * 4194304))
	check "unbind #$i" sh -c "echo $fn > /sys/bus/pci/drivers/rust_nvme/unbind"
	check "disk gone after unbind #$i" wait_for 10 [ ! -e /sys/block/$disk ]
	check "bind #$i" sh -c "echo $fn > /sys/bus/pci/drivers/rust_nvme/bind"
	check "disk back after bind #$i" wait_disk $disk
	i=$((i + 1))
done
# Unbind with the disk held open: the namespace (and so the controller object) outlives
# the binding, its DMA memory must not (the DMA-API debug check at unbind); reads on the
# open descriptor return nothing (EIO, or the end of a disk of capacity 0); the next bind
# gets the disk back.
check "/dev/$disk opens" wait_for 10 sh -c "exec 3</dev/$disk"
exec 3</dev/$disk
check "unbind with /dev/$disk held open" sh -c "echo $fn > /sys/bus/pci/drivers/rust_nvme/unbind"
check "disk gone with the descriptor still open" wait_for 10 [ ! -e /sys/block/$disk ]
expect_eq "a read on the held descriptor returns no data" 0 \
	"$(dd bs=4k count=1 iflag=direct <&3 2>/dev/null | wc -c)"
exec 3<&-
check "bind after the held disk was closed" sh -c "echo $fn > /sys/bus/pci/drivers/rust_nvme/bind"
check "disk back after the held unbind" wait_disk $disk
i=1
while [ $i -le 3 ]; do
	check "I/O before rmmod #$i" io_ok $((i * 4194304 + 67108864))
	check "rmmod #$i" rn_unload
	check "insmod #$i" rn_load
	check "disk back after insmod #$i" wait_disk $disk
	i=$((i + 1))
done
check "rmmod" rn_unload
finish
