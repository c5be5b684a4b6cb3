#!/bin/sh
# `make run`'s guest script: load rust_nvme, show what it found, write and verify a little.
. /guest/tests/lib.sh
echo "== insmod rust_nvme.ko"
rn_load || exit 1
wait_for 10 rn_all_bound
# The kernel's own lines (the driver's, its KUnit suites') are already on the console:
# each step is shown once.
for d in /sys/bus/pci/drivers/rust_nvme/0000:*; do echo "== bound: $(basename "$d")"; done
wait_for 10 grep -qx live /sys/class/nvme/nvme0/state
c=/sys/class/nvme/nvme0
echo "== nvme0: $(cat $c/model | sed 's/ *$//'), firmware $(cat $c/firmware_rev | sed "s/ *$//")," \
	"state $(cat $c/state), $(cat $c/queue_count) queues"
disk=/dev/nvme0n1
if wait_for 10 [ -b $disk ]; then
	echo "== $disk: $(cat /sys/block/nvme0n1/size) sectors of 512 B," \
		"logical block $(cat /sys/block/nvme0n1/queue/logical_block_size) B"
	dd if=/dev/urandom of=/tmp/pattern bs=64k count=16 2>/dev/null
	dd if=/tmp/pattern of=$disk bs=64k count=16 oflag=direct 2>/dev/null
	dd if=$disk of=/tmp/readback bs=64k count=16 iflag=direct 2>/dev/null
	if cmp -s /tmp/pattern /tmp/readback; then
		echo "== wrote 1 MiB of random data to $disk and read it back: identical"
	else
		echo "== $disk: read-back MISMATCH"; exit 1
	fi
else
	echo "== no block device yet (the I/O path is not built)"
fi
