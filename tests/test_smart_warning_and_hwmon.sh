#!/bin/sh
# A SMART/health critical warning raised on the host (QEMU's smart_critical_warning)
# reaches the driver as an asynchronous event: a dev_warn names the warning bits, the
# controller device sends the C driver's uevent (NVME_AEN=...), and the event request is
# re-armed, so a second warning is reported too.
. /guest/tests/lib.sh

# The hardware monitor as nvme.ko's (NVME_HWMON): the same attributes with the same
# modes and values, read under each driver on the same controller.
hwmon_dir() { for h in /sys/class/nvme/nvme0/hwmon*; do [ -d "$h" ] && echo "$h" && return; done; }
hwmon_dump() { # what both drivers must show alike
	h=$(hwmon_dir)
	[ -n "$h" ] || { echo "no hwmon"; return; }
	echo "name=$(cat $h/name)"
	for f in $(ls $h | grep '^temp' | sort); do
		case $f in *_input) v=live ;; *) v=$(cat $h/$f 2>/dev/null) ;; esac
		echo "$f $(stat -c %a $h/$f) $v"
	done
}
insmod $MODDIR/nvme-core.ko && insmod $MODDIR/nvme.ko
check "nvme.ko: /dev/nvme0n1 appears" wait_disk nvme0n1
hwmon_dump > /tmp/hwmon.c
diag "$(cat /tmp/hwmon.c)"
wait_for 10 rmmod nvme; rmmod nvme_core

check "insmod" rn_load
check "/dev/nvme0n1 appears" wait_disk nvme0n1
check "controller state is live" wait_for 10 grep -qx live /sys/class/nvme/nvme0/state
hwmon_dump > /tmp/hwmon.r
check "a hardware monitor under nvme0" grep -q '^name=nvme$' /tmp/hwmon.r
check "its attributes, modes and values are nvme.ko's" diff /tmp/hwmon.c /tmp/hwmon.r
h=$(hwmon_dir)
kelvin=$(nvme smart-log /dev/nvme0 -o json 2>/dev/null | tr -d ' \n' | grep -o '"temperature":[0-9]*' | cut -d: -f2)
expect_eq "temp1_input is the SMART log's Composite Temperature ($kelvin K)" \
	$((kelvin * 1000 - 273150)) "$(cat $h/temp1_input)"
expect_eq "no temperature alarm yet" 0 "$(cat $h/temp1_alarm)"
max=$(cat $h/temp1_max)
log_clear
check "temp1_max can be set below the temperature" sh -c "echo $(( (kelvin - 10) * 1000 - 273150 )) > $h/temp1_max"
expect_eq "and reads back (Get Features)" $(( (kelvin - 10) * 1000 - 273150 )) "$(cat $h/temp1_max)"
check "the controller raises the temperature warning (SMART event)" \
	wait_for 20 log_has 'SMART/health critical warning 0x02'
expect_eq "temp1_alarm shows it" 1 "$(cat $h/temp1_alarm)"
check "temp1_max can be set back" sh -c "echo $max > $h/temp1_max"
expect_eq "the alarm clears" 0 "$(cat $h/temp1_alarm)"
check "a threshold below absolute zero is clamped, not refused" sh -c "echo -300000 > $h/temp1_min"
check "temp1_min can be set back" sh -c "echo -273150 > $h/temp1_min"
check "a uevent helper can be installed" uevent_helper_install NVME_AEN
log_clear

echo "rn-host: qom-set /machine/peripheral/nvme0 smart_critical_warning 1"
check "the driver reports the critical warning" \
	wait_for 20 log_has 'SMART/health critical warning 0x01'
check "and names the bit" log_has 'available spare below threshold'
check "the controller sent a change uevent with NVME_AEN" \
	wait_for 10 grep -q 'nvme/nvme0 change NVME_AEN=0x' /tmp/uevents
diag "$(cat /tmp/uevents 2>/dev/null)"
nvme smart-log /dev/nvme0 >/tmp/smart.out 2>&1
check "nvme smart-log shows the warning" grep -Eq '^critical_warning[[:space:]]*: 0x1$|^critical_warning[[:space:]]*: 1$' /tmp/smart.out

# A second, different warning: the event request was re-armed and the first event
# acknowledged (health log read with RAE clear).
echo "rn-host: qom-set /machine/peripheral/nvme0 smart_critical_warning 5"
check "a second warning is reported after re-arming" \
	wait_for 20 log_has 'SMART/health critical warning 0x05'
check "naming the reliability bit" log_has 'NVM subsystem reliability degraded'
echo "rn-host: qom-set /machine/peripheral/nvme0 smart_critical_warning 0"
check "verified I/O after the events" rn_fio --name=after --rw=randwrite --bs=4k \
	--filename=/dev/nvme0n1 --iodepth=8 --size=8M --verify=crc32c --verify_fatal=1
uevent_helper_remove
check "rmmod" rn_unload
finish
