#!/bin/sh
# Data integrity: for each disk in RN_DISKS ("name:sectors:lbs ..."), check its geometry,
# then fio writes with crc32c verification (random sizes from the LBA size to beyond
# MDTS, several jobs, queue depth 32), and a second, read-only pass compares again.
# RN_FIO_SIZE: bytes per job (default 32M); RN_FIO_AT_END=1 also tests the last 16 MiB.
# RN_EXPECT_NSIDS ("name:nsid ..."): disks are numbered in scan order, not by NSID.
# RN_EXPECT_MAX_KB / RN_EXPECT_MAX_SEGS: the queue's transfer and segment limits;
# RN_BIG_BS: also sequential writes of that size, verified; RN_COMPARE_C_LIMITS=1:
# nvme.ko, loaded after, must show the same limits.
. /guest/tests/lib.sh

size=${RN_FIO_SIZE:-32M}
jobs=${RN_FIO_JOBS:-4}
check "insmod rust_nvme.ko ${RN_PARAMS:-}" rn_load ${RN_PARAMS:-}
if [ -n "${RN_EXPECT_QUEUES:-}" ]; then
	wait_for 30 log_has 'I/O queue(s) of depth'
	line=$(dmesg | grep 'I/O queue(s) of depth' | tail -1)
	case "$line" in
	*"$RN_EXPECT_QUEUES"*) ok "queue negotiation: $RN_EXPECT_QUEUES" ;;
	*) not_ok "queue negotiation: expected '$RN_EXPECT_QUEUES', got '$line'" ;;
	esac
fi
for spec in $RN_DISKS; do
	name=${spec%%:*}; lbs=${spec##*:}
	check "/dev/$name appears" wait_disk $name
	check_geometry "$spec"
	for n in ${RN_EXPECT_NSIDS:-}; do
		[ "${n%%:*}" = "$name" ] && expect_eq "$name is namespace ${n#*:}" "${n#*:}" "$(cat /sys/block/$name/nsid)"
	done
	[ -n "${RN_EXPECT_MAX_KB:-}" ] && expect_eq "$name max_hw_sectors_kb" "$RN_EXPECT_MAX_KB" \
		"$(cat /sys/block/$name/queue/max_hw_sectors_kb)"
	[ -n "${RN_EXPECT_MAX_SEGS:-}" ] && expect_eq "$name max_segments" "$RN_EXPECT_MAX_SEGS" \
		"$(cat /sys/block/$name/queue/max_segments)"
	common="--filename=/dev/$name --iodepth=32 --numjobs=$jobs --size=$size --offset_increment=$size --verify=crc32c --verify_fatal=1 --randseed=42"
	check "$name: random writes ${lbs}B-1M, $jobs jobs, QD32, verified" \
		rn_fio --name=rand --rw=randwrite --bsrange=$lbs-1M $common
	check "$name: read-back pass verifies the same data" \
		rn_fio --name=rand --rw=randwrite --bsrange=$lbs-1M $common --verify_only
	check "$name: sequential 128k writes, verified" \
		rn_fio --name=seq --rw=write --bs=128k --filename=/dev/$name --iodepth=16 --size=$size --offset=$((jobs * 33554432)) --verify=crc32c --verify_fatal=1
	if [ -n "${RN_BIG_BS:-}" ]; then
		check "$name: sequential $RN_BIG_BS writes, verified" \
			rn_fio --name=big --rw=write --bs=$RN_BIG_BS --filename=/dev/$name --iodepth=4 --size=64M --offset=$((jobs * 33554432 + 33554432)) --verify=crc32c --verify_fatal=1
	fi
	if [ "${RN_FIO_AT_END:-0}" = 1 ]; then
		bytes=$(( $(cat /sys/block/$name/size) * 512 ))
		check "$name: writes at the end of the disk (byte $((bytes - 16777216))), verified" \
			rn_fio --name=end --rw=randwrite --bsrange=$lbs-256k --filename=/dev/$name --iodepth=8 --offset=$((bytes - 16777216)) --size=16M --verify=crc32c --verify_fatal=1
		check "$name: the last block reads back $lbs bytes" sh -c "[ \$(dd if=/dev/$name bs=$lbs skip=$((bytes / lbs - 1)) count=1 iflag=direct 2>/dev/null | wc -c) -eq $lbs ]"
	fi
done
check "rmmod rust_nvme" rn_unload
if [ "${RN_COMPARE_C_LIMITS:-0}" = 1 ]; then
	name=${RN_DISKS%%:*}
	check "nvme.ko: insmod" c_load
	check "nvme.ko: /dev/$name opens" wait_for 30 dd if=/dev/$name of=/dev/null bs=4k count=1 iflag=direct
	[ -n "${RN_EXPECT_MAX_KB:-}" ] && expect_eq "nvme.ko: the same max_hw_sectors_kb" "$RN_EXPECT_MAX_KB" \
		"$(cat /sys/block/$name/queue/max_hw_sectors_kb)"
	[ -n "${RN_EXPECT_MAX_SEGS:-}" ] && expect_eq "nvme.ko: the same max_segments" "$RN_EXPECT_MAX_SEGS" \
		"$(cat /sys/block/$name/queue/max_segments)"
	check "nvme.ko: rmmod" c_unload
fi
finish
