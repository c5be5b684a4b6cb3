#!/bin/sh
# A namespace whose reads take far longer than io_timeout (QEMU null-co with a 10 s
# latency, io_timeout=1): the partition read of the first namespace scan (in
# device_add_disk) times out while the controller is live (abort, reset, retry) and,
# once unbind begins, while it is being removed: the timeout handler then fails what the
# deleting controller holds, so unbind ends. rmmod is refused (EAGAIN) while the
# partition scan holds the disk open, as with nvme.ko, and succeeds once it gave up.
. /guest/tests/lib.sh

scan_started() { dmesg | grep -q 'nvme0n1: deallocated blocks read'; }

log_clear
check "insmod io_timeout=1" rn_load io_timeout=1
check "the first scan is adding the disk" wait_for 30 scan_started
fn=$(rn_bound | head -1)
sleep 3
start=$(date +%s)
( echo $fn > /sys/bus/pci/drivers/rust_nvme/unbind; echo $? > /tmp/end.rc ) &
check "unbind with the partition read stuck ends (bounded: 120 s)" wait_for 120 [ -f /tmp/end.rc ]
diag "unbind took $(( $(date +%s) - start )) s"
expect_eq "unbind succeeded" 0 "$(cat /tmp/end.rc 2>/dev/null)"
rm -f /tmp/end.rc
check "the read timed out" log_has_re 'QID [0-9]+ timeout'
check "the deleting controller failed it" log_has 'timeout, disable controller'
check "the disk is gone" wait_for 10 [ ! -e /sys/block/nvme0n1 ]
check "rmmod" rn_unload

log_clear
check "insmod io_timeout=1 again" rn_load io_timeout=1
check "the first scan is adding the disk" wait_for 30 scan_started
sleep 3
start=$(date +%s)
check "rmmod ends once the partition scan gave up (bounded: 180 s)" wait_for 180 rmmod rust_nvme
diag "rmmod took $(( $(date +%s) - start )) s"
check "the disk is gone" wait_for 10 [ ! -e /sys/block/nvme0n1 ]
finish
