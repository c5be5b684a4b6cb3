#!/bin/sh
# Namespace changes made through another controller of the subsystem reach this one only
# as Namespace Attribute Changed events: nvme attach-ns / detach-ns issued on /dev/nvme1
# for controller 0 make /dev/nvme0n2 appear and go with no command on nvme0 at all.
. /guest/tests/lib.sh

check "insmod" rn_load
check "/dev/nvme0n1 appears" wait_disk nvme0n1
check "both controllers are live" wait_for 10 sh -c \
	"grep -qx live /sys/class/nvme/nvme0/state && grep -qx live /sys/class/nvme/nvme1/state"
check "nvme0 is the controller with the namespace" [ -e /sys/class/nvme/nvme0/nvme0n1 ]
check "namespace 2 starts detached" [ ! -e /dev/nvme0n2 ]
cntlid=$(cat /sys/class/nvme/nvme0/cntlid)

dmesg -c >/dev/null
check "nvme attach-ns on nvme1 for controller $cntlid" nvme attach-ns /dev/nvme1 -n 2 -c $cntlid
check "/dev/nvme0n2 appears through the event" wait_disk nvme0n2 20
check "nvme0 saw the namespace notice" \
	sh -c "dmesg | grep -q 'nvme0: namespace attribute changed'"
# Namespace 1 is shared, so nvme1 has it too (nvme1n1); namespace 2 went to nvme0 only.
check "nvme1 did not get namespace 2" sh -c "! grep -qx 2 /sys/block/nvme1n*/nsid"
check "verified I/O on nvme0n2" rn_fio --name=n2 --rw=randwrite --bs=4k --filename=/dev/nvme0n2 \
	--iodepth=8 --size=8M --verify=crc32c --verify_fatal=1
check "nvme detach-ns on nvme1" nvme detach-ns /dev/nvme1 -n 2 -c $cntlid
check "/dev/nvme0n2 goes through the event" wait_for 20 [ ! -e /dev/nvme0n2 ]
check "nvme0n1 still serves verified I/O" rn_fio --name=n1 --rw=randwrite --bs=4k \
	--filename=/dev/nvme0n1 --iodepth=8 --size=8M --verify=crc32c --verify_fatal=1
check "rmmod" rn_unload
finish
