#!/bin/sh
# Bad input stays outside: out-of-range module parameters fail insmod with a message;
# the C nvme core holding class 'nvme' makes insmod fail clearly; a controller with no
# namespace binds without a disk; a namespace with per-block metadata gets a disk of
# capacity 0 (no integrity support, as nvme.ko) that refuses I/O passthrough; malformed
# and out-of-range requests are refused.
# Expects two controllers: nvme0 without namespaces, nvme1 with RN_DISK and a second
# namespace with metadata (nvme1n2).
. /guest/tests/lib.sh

for p in io_queue_depth=1 io_queue_depth=5000 io_timeout=0 admin_timeout=0; do
	dmesg -c >/dev/null
	check "insmod with $p fails" sh -c "! insmod $RN_KO $p 2>/dev/null"
	name=${p%%=*}
	check "and says why ($name)" sh -c "dmesg | grep -q '$name'"
done
check "module not loaded after refused parameters" sh -c "! grep -q '^rust_nvme ' /proc/modules"

dmesg -c >/dev/null
check "load the C nvme core on purpose" insmod $MODDIR/nvme-core.ko
check "insmod rust_nvme fails while nvme_core holds class 'nvme'" sh -c "! insmod $RN_KO 2>/dev/null"
check "with a message naming nvme_core" sh -c "dmesg | grep -q 'nvme_core'"
check "unload nvme_core" rmmod nvme_core

check "insmod" rn_load
check "both controllers bound" wait_for 10 rn_all_bound
check "/dev/$RN_DISK appears" wait_disk $RN_DISK
check "the controller without namespaces is live" wait_for 10 grep -qx live /sys/class/nvme/nvme0/state
check "and has no disk" sh -c "! ls /sys/block | grep -q '^nvme0n'"
check "the namespace with metadata has a disk" wait_disk nvme1n2 10
expect_eq "of capacity 0" 0 "$(cat /sys/block/nvme1n2/size)"
check "the driver said why" \
	sh -c "dmesg | grep -q 'nvme1n2: namespace 2: LBA format with per-block metadata; capacity 0'"
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
