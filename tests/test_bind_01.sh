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
