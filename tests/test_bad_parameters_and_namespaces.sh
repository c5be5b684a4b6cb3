#!/bin/sh
# Bad input stays outside: out-of-range module parameters fail insmod with a message;
# the C nvme core holding class 'nvme' makes insmod fail clearly; a controller with no
# namespace binds without a disk; a namespace with metadata in extended LBAs that is not
# protection information gets a disk of capacity 0 (as nvme.ko) that refuses I/O
# passthrough; malformed and out-of-range requests are refused.
# Expects two controllers: nvme0 without namespaces, nvme1 with RN_DISK and a second
# namespace with metadata (nvme1n2).
. /guest/tests/lib.sh

for p in io_queue_depth=1 io_queue_depth=5000 io_timeout=0 admin_timeout=0; do
	log_clear
	check "insmod with $p fails" sh -c "! insmod $RN_KO $p 2>/dev/null"
	name=${p%%=*}
	check "and says why ($name)" sh -c "dmesg | grep -q '$name'"
done
check "module not loaded after refused parameters" sh -c "! grep -q '^rust_nvme ' /proc/modules"

log_clear
check "load the C nvme core on purpose" insmod $MODDIR/nvme-core.ko
# nvme_core's parameters that rust_nvme shares, with their permissions (compared below).
c_modes=""
for n in io_timeout admin_timeout max_retries shutdown_timeout; do
	c_modes="$c_modes $n=$(stat -c %a /sys/module/nvme_core/parameters/$n 2>/dev/null)"
done
check "insmod rust_nvme fails while nvme_core holds class 'nvme'" sh -c "! insmod $RN_KO 2>/dev/null"
check "with a message naming nvme_core" log_has 'nvme_core'
check "unload nvme_core" rmmod nvme_core

check "insmod" rn_load
check "both controllers bound" wait_for 10 rn_all_bound
check "/dev/$RN_DISK appears" wait_disk $RN_DISK

# Module parameters in sysfs as nvme.ko's: same names and permissions, settable at run
# time where C's are, range-checked at the write, applied to the next bound controller.
pp=/sys/module/rust_nvme/parameters
r_modes=""
for n in io_timeout admin_timeout max_retries shutdown_timeout; do
	r_modes="$r_modes $n=$(stat -c %a $pp/$n 2>/dev/null)"
done
expect_eq "shared parameters have nvme_core's permissions" "$c_modes" "$r_modes"
for n in io_queue_depth poll_queues sgl_threshold; do
	expect_eq "$n is 0644 as nvme.ko's" 644 "$(stat -c %a $pp/$n 2>/dev/null)"
done
for n in max_io_queues shadow_doorbell; do
	expect_eq "$n (rust_nvme's own) is read-only" 444 "$(stat -c %a $pp/$n 2>/dev/null)"
done
expect_eq "io_timeout reads its default" 30 "$(cat $pp/io_timeout)"
expect_eq "shadow_doorbell reads as C's bools" Y "$(cat $pp/shadow_doorbell)"
check "a read-only parameter cannot be written" sh -c "! echo 4 > $pp/max_io_queues 2>/dev/null"
check "io_timeout=0 is refused at the write" sh -c "! echo 0 > $pp/io_timeout 2>/dev/null"
check "io_queue_depth=5000 is refused at the write" sh -c "! echo 5000 > $pp/io_queue_depth 2>/dev/null"
check "io_timeout=7 is taken" sh -c "echo 7 > $pp/io_timeout"
expect_eq "and reads back" 7 "$(cat $pp/io_timeout)"
fn1=$(basename "$(readlink -f /sys/class/nvme/nvme1/device)")
check "rebind nvme1" sh -c "echo $fn1 > /sys/bus/pci/drivers/rust_nvme/unbind && echo $fn1 > /sys/bus/pci/drivers/rust_nvme/bind"
check "/dev/$RN_DISK is back" wait_disk $RN_DISK
expect_eq "the new binding's disk uses io_timeout=7 (ms)" 7000 "$(cat /sys/block/$RN_DISK/queue/io_timeout)"
echo 30 > $pp/io_timeout
check "the controller without namespaces is live" wait_for 10 grep -qx live /sys/class/nvme/nvme0/state
check "and has no disk" sh -c "! ls /sys/block | grep -q '^nvme0n'"
check "the namespace with metadata has a disk" wait_disk nvme1n2 10
expect_eq "of capacity 0" 0 "$(cat /sys/block/nvme1n2/size)"
check "the driver said why" \
	log_has 'nvme1n2: namespace 2: extended LBA metadata other than protection information; capacity 0'
check "Identify through it works" nvme id-ns /dev/nvme1n2
check "I/O passthrough to it is refused" \
	sh -c "! nvme read /dev/nvme1n2 -s 0 -c 0 -z 512 -d /tmp/md.out 2>/dev/null"
bytes=$(( $(cat /sys/block/$RN_DISK/size) * 512 ))
check "a read past the end returns nothing" sh -c "[ \$(dd if=/dev/$RN_DISK bs=4k skip=$((bytes / 4096)) count=1 iflag=direct 2>/dev/null | wc -c) -eq 0 ]"
check "a write past the end is refused" sh -c "! dd if=/dev/zero of=/dev/$RN_DISK bs=4k seek=$((bytes / 4096)) count=1 oflag=direct 2>/dev/null"
check "a write straddling the end is cut at the end" sh -c "dd if=/dev/zero of=/dev/$RN_DISK bs=4k seek=$((bytes / 4096 - 1)) count=2 oflag=direct 2>/dev/null; true"
check "verified I/O still works" rn_fio --name=ok --rw=randwrite --bs=4k --filename=/dev/$RN_DISK --iodepth=16 --size=8M --verify=crc32c --verify_fatal=1
check "rmmod" rn_unload
finish
