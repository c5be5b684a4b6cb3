#!/bin/sh
# PCIe error recovery (C: nvme_err_handler) with errors injected by QEMU
# (pcie_aer_inject_error) on the ports in front of two controllers, under verified I/O:
# rnvme0 sits behind a root port (rp0) and a switch (downstream port dp0), rnvme1
# directly on a root port (rp1).
#  - an uncorrectable non-fatal error (Unsupported Request) on dp0: error_detected
#    (normal) needs no reset, I/O goes on, data intact;
#  - an uncorrectable fatal error (Surprise Down) on dp0, then on rp0: error_detected
#    (frozen) disables the controller, the link is reset, slot_reset brings it up:
#    recovered each time, fio verified across;
#  - the same on rp1, whose link QEMU 7.2 never reports active again after the reset
#    (a root port with the controller right below it): recovery fails and the function
#    is lost; the driver then fails the controller's I/O (EIO, within a bound, instead
#    of leaving it quiesced forever) and unbinds; removing the function and rescanning
#    brings a working controller back, with the data written before.
. /guest/tests/lib.sh

# The controller with QEMU serial $1.
ctrl_of() {
	for c in /sys/class/nvme/nvme*; do
		[ "$(tr -d ' ' < $c/serial)" = "$1" ] && { basename $c; return 0; }
	done
	return 1
}

check "insmod" rn_load
check "both controllers bound" wait_for 10 rn_all_bound
a=$(ctrl_of rnvme0); b=$(ctrl_of rnvme1)
diag "behind the switch: $a; on the root port: $b"
for c in $a $b; do
	check "/dev/${c}n1 opens" wait_for 30 dd if=/dev/${c}n1 of=/dev/null bs=4k count=1 iflag=direct
done
bdf_b=$(basename "$(readlink -f /sys/class/nvme/$b/device)")
dd if=/dev/urandom of=/tmp/ref bs=1M count=4 2>/dev/null
for c in $a $b; do
	check "reference data written to ${c}n1" dd if=/tmp/ref of=/dev/${c}n1 bs=1M seek=32 oflag=direct status=none
done
intact() {
	dd if=/dev/$1 bs=1M skip=32 count=4 iflag=direct status=none | cmp -s - /tmp/ref
}
fio_on() {
	local d=$1; shift
	bg_fio_start --rw=randwrite --bs=4k --filename=/dev/$d --iodepth=16 --size=8M "$@"
}

# Non-fatal, on dp0.
disk=${a}n1
fio_on $disk
sleep 1
log_clear
echo "rn-host: pcie_aer_inject_error dp0 UNSUP"
check "non-fatal: the error reached the driver" \
	wait_for 20 log_has 'non-fatal PCIe error detected'
bg_fio_check "non-fatal: fio verified across it"
expect_eq "non-fatal: still live" live "$(cat /sys/class/nvme/$a/state)"
check "non-fatal: reference data intact" intact $disk

# Fatal, recovered: on the switch's downstream port, then on the root port above it.
for port in dp0 rp0; do
	fio_on $disk
	sleep 1
	log_clear
	echo "rn-host: pcie_aer_inject_error $port SDN"
	check "fatal on $port: the error reached the driver (frozen)" \
		wait_for 20 log_has 'frozen state error detected'
	check "fatal on $port: the slot reset brought the controller back" \
		wait_for 30 log_has 'restart after slot reset'
	check "fatal on $port: recovery succeeded" \
		wait_for 30 log_has 'AER: device recovery successful'
	check "fatal on $port: live again" wait_for 30 grep -qx live /sys/class/nvme/$a/state
	bg_fio_check "fatal on $port: fio verified across the error and its recovery"
	check "fatal on $port: reference data intact" intact $disk
done

# Fatal, not recoverable: on rp1, right above rnvme1.
disk=${b}n1
fio_on $disk
sleep 1
log_clear
echo "rn-host: pcie_aer_inject_error rp1 SDN"
check "lost: the fatal error reached the driver (frozen)" \
	wait_for 20 log_has 'frozen state error detected'
check "lost: the link reset failed, recovery gave up" \
	wait_for 30 log_has 'failure state error detected'
check "lost: the driver declared the controller dead" \
	wait_for 10 log_has 'PCI error recovery failed; controller is dead'
touch /tmp/bg-stop
check "lost: fio ended (its I/O failed instead of waiting)" wait_for 60 sh -c "[ -f /tmp/bg-runs ]"
check "lost: a new read fails, without waiting" \
	timeout 10 sh -c "! dd if=/dev/$disk of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null"
expect_eq "lost: state" dead "$(cat /sys/class/nvme/$b/state)"
check "the other controller still serves verified I/O" rn_fio --name=other --rw=randwrite --bs=4k --filename=/dev/${a}n1 --iodepth=16 --size=8M --verify=crc32c --verify_fatal=1
check "rmmod ends" timeout 60 rmmod rust_nvme
check "remove the lost function" sh -c "echo 1 > /sys/bus/pci/devices/$bdf_b/remove"
check "insmod" rn_load
check "rescan the bus" sh -c "echo 1 > /sys/bus/pci/rescan"
check "both controllers bound again" wait_for 20 rn_all_bound
b=$(ctrl_of rnvme1)
check "the lost controller is back" wait_for 30 dd if=/dev/${b}n1 of=/dev/null bs=4k count=1 iflag=direct
check "its reference data is intact" intact ${b}n1
check "verified I/O on it" rn_fio --name=after --rw=randwrite --bs=4k --filename=/dev/${b}n1 --iodepth=16 --size=8M --verify=crc32c --verify_fatal=1
check "rmmod" rn_unload
finish
