#!/bin/sh
# A reset that is granted fewer I/O queues, then more again, under verified I/O. QEMU's
# SR-IOV flexible resources: Virtualization Management (Primary Flexible Allocation)
# gives the primary controller more or fewer queues, which takes effect at its next
# function level reset. The driver must remap its hardware contexts to the queues it
# now has without losing or failing a request (requests blk-mq still sends to a removed
# queue give their bios up and go out again), and grow back when the queues return.
. /guest/tests/lib.sh

disk=nvme0n1
flex=${RN_FLEX_QUEUES:-2}
few=${RN_PRIVATE_QUEUES:-2}
all=$((few + flex))
ctrl=/sys/class/nvme/nvme0

flr() { echo 1 > /sys/bus/pci/devices/$bdf/reset; }

# Hardware queue i serves the CPUs of its interrupt's affinity (vector i + 1; vector 0
# is the admin queue's), as C maps them (one CPU per queue here: 4 queues, 4 CPUs).
by_affinity() {
	irqs=$(ls /sys/bus/pci/devices/$bdf/msi_irqs | sort -n)
	i=0
	for irq in $(echo "$irqs" | tail -n +2); do
		[ -d /sys/block/$disk/mq/$i ] || break
		[ "$(cat /proc/irq/$irq/smp_affinity_list)" = "$(tr -d ' ' < /sys/block/$disk/mq/$i/cpu_list)" ] || return 1
		i=$((i + 1))
	done
	[ $i -eq $all ]
}

check "insmod" rn_load
check "/dev/$disk opens" wait_for 30 dd if=/dev/$disk of=/dev/null bs=512 count=1 iflag=direct
bdf=$(basename "$(readlink -f $ctrl/device)")
cntlid=$(cat $ctrl/cntlid)
expect_eq "the private queues only at first" $((few + 1)) "$(cat $ctrl/queue_count)"
# The flexible queues to the primary controller, applied by a function reset without
# the driver; the driver's first bring-up then gets them all.
check "give the flexible queues to the primary controller (virt-mgmt)" \
	nvme virt-mgmt /dev/nvme0 --cntlid=$cntlid --rt=0 --act=1 --nr=$flex
check "rmmod" rn_unload
check "function reset while unbound" flr
check "insmod" rn_load
check "/dev/$disk opens again" wait_for 30 dd if=/dev/$disk of=/dev/null bs=512 count=1 iflag=direct
expect_eq "every queue granted" $((all + 1)) "$(cat $ctrl/queue_count)"
check "CPUs mapped to queues by their vectors' affinity" by_affinity

dd if=/dev/urandom of=/tmp/q.in bs=1M count=4 2>/dev/null
check "4 MiB pattern written" dd if=/tmp/q.in of=/dev/$disk bs=1M seek=64 oflag=direct status=none
bg_fio_start --rw=randwrite --bsrange=4k-64k --filename=/dev/$disk --iodepth=16 --numjobs=4 \
	--size=8M --offset_increment=8M
sleep 3
log_clear
check "take the flexible queues away (virt-mgmt)" \
	nvme virt-mgmt /dev/nvme0 --cntlid=$cntlid --rt=0 --act=1 --nr=0
check "function reset under I/O" flr
check "live after it" wait_for 30 grep -qx live $ctrl/state
expect_eq "queue_count with the private queues only" $((few + 1)) "$(cat $ctrl/queue_count)"
check "the driver remapped its hardware queues" \
	sh -c "dmesg | grep -q '$few+0 hardware queues instead of $all+0'"
diag "$(dmesg | grep 'submitted again')"
sleep 3
check "give them back (virt-mgmt)" \
	nvme virt-mgmt /dev/nvme0 --cntlid=$cntlid --rt=0 --act=1 --nr=$flex
check "function reset under I/O again" flr
check "live after the second" wait_for 30 grep -qx live $ctrl/state
expect_eq "queue_count back to every queue" $((all + 1)) "$(cat $ctrl/queue_count)"
check "and remapped back" sh -c "dmesg | grep -q '$all+0 hardware queues instead of $few+0'"
check "by their vectors' affinity again" by_affinity
sleep 3
bg_fio_stop
fio_ok=$?
check "fio verified every write across both resets ($(bg_fio_runs) passes)" [ $fio_ok -eq 0 ]
check "the pattern written before is intact" \
	sh -c "dd if=/dev/$disk bs=1M skip=64 count=4 iflag=direct status=none | cmp -s - /tmp/q.in"
check "verified I/O after" rn_fio --name=after --rw=randrw --bs=4k --filename=/dev/$disk --iodepth=32 --numjobs=4 --size=4M --offset_increment=4M --verify=crc32c --verify_fatal=1
check "rmmod" rn_unload
finish
