#!/bin/sh
# The PCI driver's life cycle beyond probe and unbind (C: nvme_driver's err_handler,
# dev_pm_ops and shutdown), each under verified I/O:
#  - a function level reset through sysfs, three times: reset_prepare disables the
#    controller before the reset, reset_done brings it back (QEMU sees no DMA to a stale
#    address: its protocol-error events stay silent for this run);
#  - suspend to RAM and resume (woken by the host): I/O resumes without waiting for a
#    timeout;
#  (PCI error recovery: tests/test_aer_error_recovery.sh.)
#  - the driver stays bound for the guest's power-off: .shutdown sets CC.SHN (the host
#    checks QEMU's pci_nvme_mmio_shutdown_set after the guest's exit report).
. /guest/tests/lib.sh

disk=nvme0n1
ctl=/sys/class/nvme/nvme0
check "insmod" rn_load
check "/dev/$disk appears" wait_disk $disk
fn=$(rn_bound | head -1)
wait_for 10 dd if=/dev/$disk of=/dev/null bs=4k count=1 iflag=direct
dd if=/dev/urandom of=/tmp/ref bs=1M count=4 2>/dev/null
check "reference data written" dd if=/tmp/ref of=/dev/$disk bs=1M seek=200 oflag=direct 2>/dev/null
intact() {
	dd if=/dev/$disk of=/tmp/back bs=1M skip=200 count=4 iflag=direct 2>/dev/null
	cmp -s /tmp/ref /tmp/back
}
fio_bg() { bg_fio_start --rw=randrw --bs=4k --filename=/dev/$disk --iodepth=16 --size=32M --runtime=3 --time_based; }


# Function level reset, three times under I/O.
log_clear
fio_bg
sleep 2
for i in 1 2 3; do
	check "FLR $i through sysfs" sh -c "echo 1 > /sys/bus/pci/devices/$fn/reset"
	check "FLR $i: the controller is live again" wait_for 30 grep -qx live $ctl/state
	sleep 1
done
n=$(log_count 'function reset: disabling')
expect_eq "reset_prepare disabled the controller before each reset" 3 "$n"
check "no request timed out across the resets" sh -c "! dmesg | grep -qE 'QID [0-9]+ timeout'"
bg_fio_check "verified fio passed through the resets"
check "data written before is intact" intact

# Suspend to RAM, woken by the host after 5 s.
if grep -qw mem /sys/power/state; then
	log_clear
	fio_bg
	sleep 2
	echo "rn-host-after: 5 system_wakeup"
	start=$(date +%s)
	check "suspend to RAM" sh -c "echo mem > /sys/power/state"
	check "the controller is live after resume" wait_for 30 grep -qx live $ctl/state
	took=$(( $(date +%s) - start ))
	check "the driver shut the controller down and brought it back" sh -c "dmesg | grep -q 'nvme0: suspending' && dmesg | grep -q 'nvme0: resuming'"
	check "I/O resumed without waiting for a timeout (${took}s)" sh -c "! dmesg | grep -qE 'QID [0-9]+ timeout'"
	bg_fio_check "verified fio passed through suspend"
	check "data intact after resume" intact
else
	not_ok "suspend to RAM is available (/sys/power/state: $(cat /sys/power/state))"
fi

# Left bound for the power-off (the host checks CC.SHN).
check "still bound for the power-off" [ -e /sys/bus/pci/drivers/rust_nvme/$fn ]
finish
