#!/bin/sh
# Two controllers of one NVM subsystem. They share one nvme-subsys0 (named after the
# first, linking both), as with nvme.ko. Namespace changes made through the other
# controller reach a controller only as Namespace Attribute Changed events: nvme
# attach-ns / detach-ns issued on /dev/nvme1 for controller 0 make /dev/nvme0n2 appear
# and go with no command on nvme0 at all. Then nvme0 is unbound (the subsystem stays
# with nvme1, keeping instance 0) and bound again (as nvme2, joining nvme-subsys0).
. /guest/tests/lib.sh

check "insmod" rn_load
check "/dev/nvme0n1 appears" wait_disk nvme0n1
check "both controllers are live" wait_for 10 sh -c \
	"grep -qx live /sys/class/nvme/nvme0/state && grep -qx live /sys/class/nvme/nvme1/state"
check "nvme0 is the controller with the namespace" [ -e /sys/class/nvme/nvme0/nvme0n1 ]
check "namespace 2 starts detached" [ ! -e /dev/nvme0n2 ]
cntlid=$(cat /sys/class/nvme/nvme0/cntlid)
# Named after whichever controller identified itself first, as with C.
subsys=$(ls /sys/class/nvme-subsystem)
sd=/sys/class/nvme-subsystem/$subsys
check "one subsystem device for both ($subsys)" sh -c "[ \"$subsys\" = nvme-subsys0 -o \"$subsys\" = nvme-subsys1 ]"
check "it links nvme0 and nvme1" [ -L $sd/nvme0 -a -L $sd/nvme1 ]
expect_eq "both report its NQN" "$(cat $sd/subsysnqn)" "$(cat /sys/class/nvme/nvme0/subsysnqn)"
expect_eq "both report its NQN (nvme1)" "$(cat $sd/subsysnqn)" "$(cat /sys/class/nvme/nvme1/subsysnqn)"
# libnvme files controllers under the host NQN; without /etc/nvme/hostnqn (which a
# Debian install has) it makes up a random one per controller and lists each apart.
mkdir -p /etc/nvme
echo nqn.2014-08.org.nvmexpress:uuid:2b9e3f44-1c5d-4e6f-8a7b-9c0d1e2f3a4b >/etc/nvme/hostnqn
nvme list-subsys >/tmp/ls.out 2>&1
sed 's/^/# /' /tmp/ls.out
check "nvme list-subsys shows one subsystem with both controllers" sh -c \
	"[ \$(grep -c 'nvme-subsys' /tmp/ls.out) -eq 1 ] && grep -q 'nvme0 ' /tmp/ls.out && grep -q 'nvme1 ' /tmp/ls.out"

log_clear
check "nvme attach-ns on nvme1 for controller $cntlid" nvme attach-ns /dev/nvme1 -n 2 -c $cntlid
check "/dev/nvme0n2 appears through the event" wait_disk nvme0n2 20
check "nvme0 saw the namespace notice" \
	log_has 'nvme0: namespace attribute changed'
# Namespace 1 is shared, so nvme1 has it too (nvme1n1); namespace 2 went to nvme0 only.
check "nvme1 did not get namespace 2" sh -c "! grep -qx 2 /sys/block/nvme1n*/nsid"
check "verified I/O on nvme0n2" rn_fio --name=n2 --rw=randwrite --bs=4k --filename=/dev/nvme0n2 \
	--iodepth=8 --size=8M --verify=crc32c --verify_fatal=1
check "nvme detach-ns on nvme1" nvme detach-ns /dev/nvme1 -n 2 -c $cntlid
check "/dev/nvme0n2 goes through the event" wait_for 20 [ ! -e /dev/nvme0n2 ]
check "nvme0n1 still serves verified I/O" rn_fio --name=n1 --rw=randwrite --bs=4k \
	--filename=/dev/nvme0n1 --iodepth=8 --size=8M --verify=crc32c --verify_fatal=1
# Unbind the controller the subsystem is named after: the other keeps it, and the
# instance stays taken, so the controller comes back as nvme2.
named=nvme${subsys#nvme-subsys}
other=nvme$(( 1 - ${subsys#nvme-subsys} ))
addr=$(cat /sys/class/nvme/$named/address)
check "unbind $named" sh -c "echo $addr > /sys/bus/pci/drivers/rust_nvme/unbind"
check "the subsystem stays, linking only $other" sh -c \
	"[ -d $sd ] && [ \"\$(ls $sd | grep '^nvme[0-9]')\" = $other ]"
check "bind it again" sh -c "echo $addr > /sys/bus/pci/drivers/rust_nvme/bind"
check "it comes back as nvme2 (instance ${subsys#nvme-subsys} stays with the subsystem, as C)" \
	wait_for 20 [ -L $sd/nvme2 ]
check "with its disk nvme2n1" wait_disk nvme2n1 20
expect_eq "still one subsystem" "$subsys" "$(ls /sys/class/nvme-subsystem)"
check "rmmod" rn_unload
check "the subsystem went with its last controller" [ ! -e /sys/class/nvme-subsystem ]
finish
