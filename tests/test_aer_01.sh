#!/bin/sh
# PCIe error recovery (C: nvme_err_handler) with errors injected by QEMU on the root
# port in front of the controller (pcie_aer_inject_error), under verified I/O:
#  - an uncorrectable non-fatal error (Unsupported Request): error_detected(normal)
#    needs no reset, I/O goes on, data intact;
#  - an uncorrectable fatal error (Surprise Down): error_detected(frozen) disables the
#    controller for a slot reset, which QEMU 7.2's root port cannot complete (the link
#    never reports active again), so recovery fails and the function is lost: the
#    driver then fails the controller's I/O (EIO, within a bound, instead of leaving it
#    quiesced forever) and unbinds; removing the function and rescanning the bus brings
#    a working controller back, with the data written before.
. /guest/tests/lib.sh

disk=nvme0n1
ctl=/sys/class/nvme/nvme0
check "insmod" rn_load
check "/dev/$disk opens" wait_for 30 dd if=/dev/$disk of=/dev/null bs=4k count=1 iflag=direct
bdf=$(basename "$(readlink -f $ctl/device)")
dd if=/dev/urandom of=/tmp/ref bs=1M count=4 2>/dev/null
check "reference data written" dd if=/tmp/ref of=/dev/$disk bs=1M seek=100 oflag=direct status=none
intact() {
	dd if=/dev/$disk bs=1M skip=100 count=4 iflag=direct status=none | cmp -s - /tmp/ref
}

# Non-fatal.
bg_fio_start --rw=randrw --bs=4k --filename=/dev/$disk --iodepth=16 --size=32M --runtime=4 --time_based
sleep 1
dmesg -c >/dev/null
echo "rn-host: pcie_aer_inject_error rp0 UNSUP"
check "the non-fatal error reached the driver" \
	wait_for 20 sh -c "dmesg | grep -q 'non-fatal PCIe error detected'"
bg_fio_check "fio verified across the non-fatal error"
expect_eq "still live" live "$(cat $ctl/state)"
check "reference data intact" intact

# Fatal.
bg_fio_start --rw=randrw --bs=4k --filename=/dev/$disk --iodepth=16 --size=32M
sleep 1
dmesg -c >/dev/null
echo "rn-host: pcie_aer_inject_error rp0 SDN"
check "the fatal error reached the driver (frozen)" \
	wait_for 20 sh -c "dmesg | grep -q 'frozen state error detected'"
check "the slot reset failed (QEMU's root port): recovery gave up" \
	wait_for 30 sh -c "dmesg | grep -q 'failure state error detected'"
check "the driver declared the controller dead" \
	wait_for 10 sh -c "dmesg | grep -q 'PCI error recovery failed; controller is dead'"
touch /tmp/bg-stop
check "fio ended (its I/O failed instead of waiting)" wait_for 60 sh -c "[ -f /tmp/bg-runs ]"
check "a new read fails, without waiting" \
	timeout 10 sh -c "! dd if=/dev/$disk of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null"
expect_eq "state" dead "$(cat $ctl/state)"
check "rmmod ends" timeout 60 rmmod rust_nvme
check "remove the lost function" sh -c "echo 1 > /sys/bus/pci/devices/$bdf/remove"
check "insmod" rn_load
check "rescan the bus" sh -c "echo 1 > /sys/bus/pci/rescan"
check "the controller is back" wait_for 30 dd if=/dev/$disk of=/dev/null bs=4k count=1 iflag=direct
check "reference data intact after recovery by rescan" intact
check "verified I/O" rn_fio --name=after --rw=randwrite --bs=4k --filename=/dev/$disk --iodepth=16 --size=8M --verify=crc32c --verify_fatal=1
check "rmmod" rn_unload
finish
