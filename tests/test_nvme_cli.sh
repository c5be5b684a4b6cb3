#!/bin/sh
# Debian's nvme-cli against rust_nvme, unchanged: nvme list, id-ctrl, id-ns, smart-log,
# error-log, get-feature, write/read through I/O passthrough compared with dd, resets
# (nvme reset and reset_controller) under verified fio; bad and unprivileged ioctls.
# Expects RN_SERIAL and RN_MODEL (what QEMU was told).
. /guest/tests/lib.sh

check "insmod" rn_load
check "/dev/nvme0n1 appears" wait_disk nvme0n1
check "controller state is live" wait_for 10 grep -qx live /sys/class/nvme/nvme0/state
check "/dev/nvme0 is a character device" [ -c /dev/nvme0 ]
expect_eq "/dev/nvme0 is the class device's number" "$(cat /sys/class/nvme/nvme0/dev)" \
	"$(printf '%d:%d' 0x$(stat -c %t /dev/nvme0) 0x$(stat -c %T /dev/nvme0))"

# nvme list: the default table, columns at nvme-cli 2.3's fixed offsets.
nvme list >/tmp/list.out 2>&1
rc=$?
sed 's/^/# /' /tmp/list.out
row=$(grep '^/dev/nvme0n1 ' /tmp/list.out)
check "nvme list succeeds and lists /dev/nvme0n1" [ $rc -eq 0 -a -n "$row" ]
expect_eq "nvme list: serial" "$RN_SERIAL" "$(echo "$row" | cut -c45-64 | sed 's/ *$//')"
expect_eq "nvme list: model" "$RN_MODEL" "$(echo "$row" | cut -c66-105 | sed 's/ *$//')"

# Identify through ADMIN_CMD on the controller and on the namespace.
nvme id-ctrl /dev/nvme0 >/tmp/idc.out 2>&1
check "nvme id-ctrl succeeds" [ $? -eq 0 ]
expect_eq "id-ctrl: sn" "$RN_SERIAL" "$(sed -n 's/^sn *: *//p' /tmp/idc.out | sed 's/ *$//')"
expect_eq "id-ctrl: mn" "$RN_MODEL" "$(sed -n 's/^mn *: *//p' /tmp/idc.out | sed 's/ *$//')"
expect_eq "id-ctrl: cntlid matches sysfs" "$(cat /sys/class/nvme/nvme0/cntlid)" \
	"$(( $(sed -n 's/^cntlid *: *//p' /tmp/idc.out) ))"
nvme id-ns /dev/nvme0n1 >/tmp/idn.out 2>&1
check "nvme id-ns succeeds" [ $? -eq 0 ]
expect_eq "id-ns: nsze is the disk's size" "$(cat /sys/block/nvme0n1/size)" \
	"$(( $(sed -n 's/^nsze *: *//p' /tmp/idn.out) ))"
nvme smart-log /dev/nvme0 >/tmp/smart.out 2>&1
check "nvme smart-log succeeds" [ $? -eq 0 ]
check "smart-log shows no critical warning" grep -Eq '^critical_warning[[:space:]]*: 0$' /tmp/smart.out
check "nvme error-log succeeds" nvme error-log /dev/nvme0 -e 4
out=$(nvme get-feature /dev/nvme0 -f 7 2>&1)
diag "$out"
case "$out" in
*"Number of Queues"*"Current value:0x"*) ok "nvme get-feature -f 7" ;;
*) not_ok "nvme get-feature -f 7 ($out)" ;;
esac

# Data through I/O passthrough, compared with what the block device reads and writes.
dd if=/dev/urandom of=/tmp/in bs=4096 count=4 2>/dev/null
check "nvme write (16 KiB at LBA 2048)" nvme write /dev/nvme0n1 -s 2048 -c 31 -z 16384 -d /tmp/in
echo 3 > /proc/sys/vm/drop_caches
dd if=/dev/nvme0n1 of=/tmp/dd.out bs=512 skip=2048 count=32 2>/dev/null
check "dd reads back what nvme write wrote" cmp /tmp/in /tmp/dd.out
dd if=/dev/urandom of=/tmp/in2 bs=4096 count=4 2>/dev/null
dd if=/tmp/in2 of=/dev/nvme0n1 bs=512 seek=8192 conv=fsync 2>/dev/null
check "nvme read (16 KiB at LBA 8192)" nvme read /dev/nvme0n1 -s 8192 -c 31 -z 16384 -d /tmp/rd.out
check "nvme read returns what dd wrote" cmp /tmp/in2 /tmp/rd.out

# Bad and unprivileged input (the program prints its own results).
/guest/tests/nvme_ioctl_probe /dev/nvme0 /dev/nvme0n1 1 "$RN_SERIAL"
check "the ioctl probe passed" [ $? -eq 0 ]
check "an unprivileged user cannot reset" sh -c "! su nobody -s /bin/sh -c 'nvme reset /dev/nvme0' 2>/dev/null"

# Resets while fio writes and verifies: nvme reset (NVME_IOCTL_RESET) and reset_controller.
bg_fio_start --rw=randwrite --bsrange=4k-128k --filename=/dev/nvme0n1 --iodepth=16 \
	--size=16M --offset=64M
sleep 2
n=0
for i in 1 2 3; do
	nvme reset /dev/nvme0 && n=$((n + 1))
	sleep 1
	echo 1 > /sys/class/nvme/nvme0/reset_controller && n=$((n + 1))
	sleep 1
done
bg_fio_stop
fio_ok=$?
expect_eq "six resets (nvme reset, reset_controller) during I/O succeeded" 6 $n
check "no fio verify error during the resets ($(bg_fio_runs) passes)" [ $fio_ok -eq 0 ]
expect_eq "state after the resets" live "$(cat /sys/class/nvme/nvme0/state)"
check "nvme list still lists the disk" sh -c "nvme list 2>/dev/null | grep -q '^/dev/nvme0n1 '"
check "rmmod" rn_unload
finish
