#!/bin/sh
# Namespace changes: QEMU's subsystem has namespace 2 detached; nvme attach-ns makes
# /dev/nvme0n2 appear (no manual rescan: the command's effects and the Namespace Attribute
# Changed event both rescan), data round-trips on it, nvme detach-ns removes it,
# while nvme0n1 serves verified I/O throughout. Then rescan on demand.
. /guest/tests/lib.sh

check "insmod" rn_load
check "/dev/nvme0n1 appears" wait_disk nvme0n1
check "controller state is live" wait_for 10 grep -qx live /sys/class/nvme/nvme0/state
check "namespace 2 starts detached" [ ! -e /dev/nvme0n2 ]
cntlid=$(cat /sys/class/nvme/nvme0/cntlid)

bg_fio_start --rw=randwrite --bs=4k --filename=/dev/nvme0n1 --iodepth=8 --size=8M
sleep 1

log_clear
check "nvme attach-ns -n 2" nvme attach-ns /dev/nvme0 -n 2 -c $cntlid
# Namespace Attachment's effects say Namespace Inventory Change: the driver rescans
# before the ioctl returns, as C does (the event alone is test_shared_subsystem).
check "/dev/nvme0n2 is there when nvme attach-ns returns" [ -b /dev/nvme0n2 ]
check "/dev/nvme0n2 appears" wait_disk nvme0n2 20
check "the driver saw the namespace notice" log_has 'namespace attribute changed'
check "nvme0n2 is a child of the controller" [ -d /sys/class/nvme/nvme0/nvme0n2 ]
expect_eq "nvme0n2 nsid" 2 "$(cat /sys/block/nvme0n2/nsid)"
expect_eq "nvme0n2 capacity (128 MiB)" 262144 "$(cat /sys/block/nvme0n2/size)"
check "verified I/O on nvme0n2" rn_fio --name=n2 --rw=randwrite --bs=4k --filename=/dev/nvme0n2 \
	--iodepth=16 --size=16M --verify=crc32c --verify_fatal=1
dd if=/dev/urandom of=/tmp/n2.in bs=4096 count=4 2>/dev/null
check "nvme write on nvme0n2" nvme write /dev/nvme0n2 -s 0 -c 31 -z 16384 -d /tmp/n2.in
check "nvme read on nvme0n2" nvme read /dev/nvme0n2 -s 0 -c 31 -z 16384 -d /tmp/n2.out
check "nvme0n2 data round-trips" cmp /tmp/n2.in /tmp/n2.out
# Its generic device comes with it, in nvme-generic's region next to ng0n1's.
check "/dev/ng0n2 appears with the namespace" wait_for 10 [ -c /dev/ng0n2 ]
expect_eq "ng0n2 shares ng0n1's major" "$(stat -c %t /dev/ng0n1)" "$(stat -c %t /dev/ng0n2)"
check "ng0n2 has its own minor" [ "$(stat -c %T /dev/ng0n1)" != "$(stat -c %T /dev/ng0n2)" ]
expect_eq "ng0n2 mode and owner as C's" "600 root" "$(stat -c '%a %U' /dev/ng0n2)"
check "ng0n2 is a child of the controller" [ -d /sys/class/nvme/nvme0/ng0n2 ]
check "nvme read on /dev/ng0n2" nvme read /dev/ng0n2 -s 0 -c 31 -z 16384 -d /tmp/n2.ng
check "what the block device wrote reads back through ng0n2" cmp /tmp/n2.in /tmp/n2.ng

check "nvme detach-ns -n 2" nvme detach-ns /dev/nvme0 -n 2 -c $cntlid
check "/dev/nvme0n2 goes away after the event" wait_for 20 [ ! -e /dev/nvme0n2 ]
check "/dev/ng0n2 goes with it" wait_for 10 [ ! -e /dev/ng0n2 ]
check "the driver logged the removal" log_has 'nvme0n2: namespace 2 removed'

# Attach again, then rescan on demand (a scan that finds nothing new changes nothing).
check "attach again" nvme attach-ns /dev/nvme0 -n 2 -c $cntlid
check "/dev/nvme0n2 appears again" wait_disk nvme0n2 20
check "echo 1 > rescan_controller" sh -c "echo 1 > /sys/class/nvme/nvme0/rescan_controller"
check "nvme ns-rescan (NVME_IOCTL_RESCAN)" nvme ns-rescan /dev/nvme0
sleep 1
check "both disks remain after rescans" [ -b /dev/nvme0n1 -a -b /dev/nvme0n2 ]
# Detach while I/O runs on the namespace: the I/O fails cleanly, the disk goes.
fio --ioengine=io_uring --direct=1 --name=gone --rw=randread --bs=4k --filename=/dev/nvme0n2 \
	--iodepth=8 --time_based --runtime=30 >/dev/null 2>&1 &
fpid=$!
sleep 1
check "detach under I/O" nvme detach-ns /dev/nvme0 -n 2 -c $cntlid
check "/dev/nvme0n2 goes away under I/O" wait_for 20 [ ! -e /dev/nvme0n2 ]
check "fio on the detached namespace ends" wait_for 30 sh -c "! kill -0 $fpid 2>/dev/null"
wait $fpid 2>/dev/null

bg_fio_stop
fio_ok=$?
check "nvme0n1 served verified I/O throughout ($(bg_fio_runs) passes)" [ $fio_ok -eq 0 ]
check "rmmod" rn_unload
finish
