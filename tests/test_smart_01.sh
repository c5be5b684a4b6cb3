#!/bin/sh
# A SMART/health critical warning raised on the host (QEMU's smart_critical_warning)
# reaches the driver as an asynchronous event: a dev_warn names the warning bits, the
# controller device sends the C driver's uevent (NVME_AEN=...), and the event request is
# re-armed, so a second warning is reported too.
. /guest/tests/lib.sh

check "insmod" rn_load
check "/dev/nvme0n1 appears" wait_disk nvme0n1
check "controller state is live" wait_for 10 grep -qx live /sys/class/nvme/nvme0/state
check "a uevent helper can be installed" uevent_helper_install NVME_AEN
dmesg -c >/dev/null

echo "rn-host: qom-set /machine/peripheral/nvme0 smart_critical_warning 1"
check "the driver reports the critical warning" \
	wait_for 20 sh -c "dmesg | grep -q 'SMART/health critical warning 0x01'"
check "and names the bit" sh -c "dmesg | grep -q 'available spare below threshold'"
check "the controller sent a change uevent with NVME_AEN" \
	wait_for 10 grep -q 'nvme/nvme0 change NVME_AEN=0x' /tmp/uevents
diag "$(cat /tmp/uevents 2>/dev/null)"
nvme smart-log /dev/nvme0 >/tmp/smart.out 2>&1
check "nvme smart-log shows the warning" grep -Eq '^critical_warning[[:space:]]*: 0x1$|^critical_warning[[:space:]]*: 1$' /tmp/smart.out

# A second, different warning: the event request was re-armed and the first event
# acknowledged (health log read with RAE clear).
echo "rn-host: qom-set /machine/peripheral/nvme0 smart_critical_warning 5"
check "a second warning is reported after re-arming" \
	wait_for 20 sh -c "dmesg | grep -q 'SMART/health critical warning 0x05'"
check "naming the reliability bit" sh -c "dmesg | grep -q 'NVM subsystem reliability degraded'"
echo "rn-host: qom-set /machine/peripheral/nvme0 smart_critical_warning 0"
check "verified I/O after the events" rn_fio --name=after --rw=randwrite --bs=4k \
	--filename=/dev/nvme0n1 --iodepth=8 --size=8M --verify=crc32c --verify_fatal=1
uevent_helper_remove
check "rmmod" rn_unload
finish
