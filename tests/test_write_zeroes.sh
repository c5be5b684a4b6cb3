#!/bin/sh
# Write Zeroes: $BLKDISCARD -z reads back zeroes, neighbours unchanged, limits as C.
. /guest/tests/lib.sh

disk=${RN_DISK:-nvme0n1}
M=1048576
check "insmod" rn_load
check "/dev/$disk appears" wait_disk $disk
expect_eq "write_zeroes_max_bytes" "$RN_EXPECT_WZ_MAX" "$(cat /sys/block/$disk/queue/write_zeroes_max_bytes)"
dd if=/dev/urandom of=/tmp/p bs=$M count=16 2>/dev/null
check "write 16 MiB of known data" dd if=/tmp/p of=/dev/$disk bs=$M count=16 oflag=direct 2>/dev/null
region_is() {
	dd if=/dev/$disk bs=512 skip=$(($1 / 512)) count=$(($2 / 512)) iflag=direct 2>/dev/null > /tmp/got
	if [ "$3" = zero ]; then head -c $2 /dev/zero > /tmp/want
	else dd if=/tmp/p bs=512 skip=$(($1 / 512)) count=$(($2 / 512)) 2>/dev/null > /tmp/want; fi
	cmp -s /tmp/got /tmp/want
}
echo "rn-mark: wz-start"
check "$BLKDISCARD -z 64 KiB + 512 at 1 MiB + 512" $BLKDISCARD -z -o $((M + 512)) -l $((65536 + 512)) /dev/$disk
check "  reads zeroes" region_is $((M + 512)) $((65536 + 512)) zero
check "  the sector before is intact" region_is $M 512 data
check "  the 4 KiB after are intact" region_is $((M + 65536 + 1024)) 4096 data
check "$BLKDISCARD -z 6 MiB (beyond one command's limit) at 8 MiB" $BLKDISCARD -z -o $((8 * M)) -l $((6 * M)) /dev/$disk
check "  reads zeroes" region_is $((8 * M)) $((6 * M)) zero
check "  MiB 7 intact" region_is $((7 * M)) $M data
check "  MiB 14 intact" region_is $((14 * M)) $M data
i=0; ok=1
while [ $i -lt 20 ]; do
	off=$(( (i * 37 % 120 + 16) * 65536 + 32 * M ))
	$BLKDISCARD -z -o $off -l 65536 /dev/$disk || ok=0
	region_is $off 65536 zero || ok=0
	i=$((i + 1))
done
echo "rn-mark: wz-end"
check "20 more write-zeroes at scattered offsets read back zeroes" [ $ok = 1 ]
check "rmmod" rn_unload
finish
