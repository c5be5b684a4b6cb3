#!/bin/sh
# The quirks parameter as nvme.ko's (quirks=VID:DID:name,^name-...): a malformed string
# or an unknown quirk fails the load with C's messages (nvme.ko refuses the same
# strings); ^bogus_nid gives QEMU's namespace identifiers back, as under nvme.ko; the
# parameter reads back, read-only. Then quirks QEMU can show change what the driver
# does: qdepth_one (I/O queues of depth 2, sqsize 1, as nvme.ko), single_vector (one
# vector), stripe_size (chunk_sectors at the largest transfer, as nvme.ko),
# medium_prio_sq (QEMU's trace shows the SQ priority, checked on the host),
# deallocate_zeroes (Write Zeroes goes out as Dataset Management, also on the host);
# each with verified I/O. A quirk rust_nvme cannot honour is refused with a message.
. /guest/tests/lib.sh

Q=1b36:0010

# load_fails MODULE-COMMAND: the command fails and nothing stays loaded.
load_fails() { ! sh -c "$1" 2>/dev/null && ! grep -qE '^(rust_nvme|nvme) ' /proc/modules; }

log_clear
check "rust_nvme: an unknown quirk fails the load" load_fails "insmod $RN_KO quirks=$Q:bogus"
check "with C's messages" sh -c "dmesg | grep -q 'unrecognized quirk bogus' &&
	dmesg | grep -q 'failed to parse quirk string $Q:bogus'"
check "rust_nvme: a malformed string fails the load" load_fails "insmod $RN_KO quirks=1b36"
check "with C's message" sh -c "dmesg | grep -q 'failed to parse quirk string 1b36\$'"
check "rust_nvme: a second malformed entry fails the load" \
	load_fails "insmod $RN_KO quirks=$Q:qdepth_one-xyz:1:bogus_nid"
check "rust_nvme: a quirk it cannot honour is refused" \
	load_fails "insmod $RN_KO quirks=$Q:shared_tags"
check "with a message naming it" log_has 'quirk shared_tags is not supported by rust_nvme'
insmod $MODDIR/nvme-core.ko
check "nvme.ko refuses the unknown quirk too" load_fails "insmod $MODDIR/nvme.ko quirks=$Q:bogus"
check "and the malformed string" load_fails "insmod $MODDIR/nvme.ko quirks=1b36"

# ^bogus_nid under nvme.ko, then rust_nvme.
check "nvme.ko quirks=$Q:^bogus_nid" insmod $MODDIR/nvme.ko quirks=$Q:^bogus_nid
check "nvme.ko: /dev/nvme0n1 appears" wait_disk nvme0n1
c_uuid=$(cat /sys/block/nvme0n1/uuid 2>/dev/null)
c_wwid=$(cat /sys/block/nvme0n1/wwid)
c_quirks=$(cat /sys/class/nvme/nvme0/quirks)
diag "nvme.ko: uuid '$c_uuid' wwid '$c_wwid' quirks '$c_quirks'"
check "nvme.ko unloads" wait_for 10 c_unload
check "insmod quirks=$Q:^bogus_nid" rn_load quirks=$Q:^bogus_nid
check "/dev/nvme0n1 appears" wait_disk nvme0n1
expect_eq "the parameter reads back" "$Q:^bogus_nid" "$(cat /sys/module/rust_nvme/parameters/quirks)"
expect_eq "and is read-only" 444 "$(stat -c %a /sys/module/rust_nvme/parameters/quirks)"
expect_eq "the controller's quirks: none left, as nvme.ko" "$c_quirks" "$(cat /sys/class/nvme/nvme0/quirks)"
check "the namespace UUID is back" [ -n "$(cat /sys/block/nvme0n1/uuid 2>/dev/null)" ]
expect_eq "uuid as under nvme.ko" "$c_uuid" "$(cat /sys/block/nvme0n1/uuid 2>/dev/null)"
expect_eq "wwid as under nvme.ko" "$c_wwid" "$(cat /sys/block/nvme0n1/wwid)"
check "rmmod" rn_unload

# Quirks that change what the driver does; nvme.ko with the same ones for comparison.
QS=$Q:qdepth_one,single_vector,stripe_size,medium_prio_sq
insmod $MODDIR/nvme-core.ko
check "nvme.ko quirks=$QS" insmod $MODDIR/nvme.ko quirks=$QS
check "nvme.ko: /dev/nvme0n1 appears" wait_disk nvme0n1
c_sqsize=$(cat /sys/class/nvme/nvme0/sqsize)
c_chunk=$(cat /sys/block/nvme0n1/queue/chunk_sectors)
c_q=$(cat /sys/class/nvme/nvme0/quirks)
diag "nvme.ko: sqsize $c_sqsize chunk_sectors $c_chunk quirks $(echo $c_q)"
check "nvme.ko unloads" wait_for 10 c_unload
echo "rn-mark: prio-start"
check "insmod quirks=$QS" rn_load quirks=$QS
check "/dev/nvme0n1 appears" wait_disk nvme0n1
echo "rn-mark: prio-end"
expect_eq "the controller's quirks, as nvme.ko's" "$c_q" "$(cat /sys/class/nvme/nvme0/quirks)"
expect_eq "qdepth_one: sqsize 1, as nvme.ko" "$c_sqsize" "$(cat /sys/class/nvme/nvme0/sqsize)"
expect_eq "qdepth_one: sqsize is 1" 1 "$(cat /sys/class/nvme/nvme0/sqsize)"
check "single_vector: one vector" log_has ' 1 vector(s)'
expect_eq "single_vector: one interrupt line" 1 "$(grep -c rust_nvme /proc/interrupts)"
mhs=$(cat /sys/block/nvme0n1/queue/max_hw_sectors_kb)
expect_eq "stripe_size: chunk_sectors is the largest transfer" $((mhs * 2)) \
	"$(cat /sys/block/nvme0n1/queue/chunk_sectors)"
expect_eq "stripe_size: as nvme.ko" "$c_chunk" "$(cat /sys/block/nvme0n1/queue/chunk_sectors)"
check "verified I/O one command at a time" rn_fio --name=q1 --rw=randwrite --bs=4k \
	--filename=/dev/nvme0n1 --iodepth=8 --size=4M --verify=crc32c --verify_fatal=1
check "rmmod" rn_unload

check "insmod quirks=$Q:deallocate_zeroes" rn_load quirks=$Q:deallocate_zeroes
check "/dev/nvme0n1 appears" wait_disk nvme0n1
check "deallocate_zeroes: Write Zeroes unbounded (by deallocation)" \
	[ "$(cat /sys/block/nvme0n1/queue/write_zeroes_max_bytes)" -ge 4294967296 ]
echo "rn-mark: wz-start"
check "blkdiscard -z of 1 MiB" $BLKDISCARD -z -o 1048576 -l 1048576 /dev/nvme0n1
echo "rn-mark: wz-end"
check "verified I/O after" rn_fio --name=dz --rw=randwrite --bs=4k \
	--filename=/dev/nvme0n1 --iodepth=8 --size=4M --verify=crc32c --verify_fatal=1
check "rmmod" rn_unload
finish
