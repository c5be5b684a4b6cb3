#!/bin/sh
# The generic device across removal: unbind while a passthrough read on /dev/ng0n2
# (a namespace whose every request takes 2 s) is in flight and its file open; the read
# ends within a bound, the node goes with the controller, and after a rebind the node
# is back and serves passthrough again. Expects nsid 2 on the slow null-co backend.
. /guest/tests/lib.sh

check "insmod" rn_load
check "/dev/ng0n2 appears" wait_for 30 [ -c /dev/ng0n2 ]
check "/dev/nvme0n1 opens" wait_for 30 dd if=/dev/nvme0n1 of=/dev/null bs=512 count=1
fn=$(basename "$(readlink -f /sys/class/nvme/nvme0/device)")
rm -f /tmp/ngr.rc
( nvme read /dev/ng0n2 -s 0 -c 7 -z 4096 -d /tmp/ngr >/tmp/ngr.out 2>&1; echo $? > /tmp/ngr.rc ) &
sleep 0.5
check "the read is still in flight" [ ! -f /tmp/ngr.rc ]
check "unbind with it in flight" sh -c "echo $fn > /sys/bus/pci/drivers/rust_nvme/unbind"
check "the read ended (bounded)" wait_for 60 [ -f /tmp/ngr.rc ]
diag "the read ended with $(cat /tmp/ngr.rc 2>/dev/null): $(head -1 /tmp/ngr.out)"
check "/dev/ng0n2 went with the controller" wait_for 10 [ ! -e /dev/ng0n2 ]
check "and /sys/class/nvme-generic is empty" sh -c "[ -z \"\$(ls /sys/class/nvme-generic)\" ]"
check "rebind" sh -c "echo $fn > /sys/bus/pci/drivers/rust_nvme/bind"
check "/dev/ng0n2 is back" wait_for 30 [ -c /dev/ng0n2 ]
check "a passthrough read through it works" nvme read /dev/ng0n2 -s 0 -c 7 -z 4096 -d /tmp/ngr2
check "rmmod" rn_unload
finish
