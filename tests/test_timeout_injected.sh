#!/bin/sh
# Timeouts through the block layer's fault injection (io-timeout-fail + fail_io_timeout):
# the driver drops one completion; the request times out after the disk's io_timeout,
# the driver polls the CQ, aborts, times out again and resets the controller; the
# request is requeued and the write/verify still succeeds.
. /guest/tests/lib.sh

disk=nvme0n1
check "insmod" rn_load
check "/dev/$disk appears" wait_disk $disk
check "io_timeout is settable (3000 ms)" sh -c "echo 3000 > /sys/block/$disk/queue/io_timeout"
expect_eq "io_timeout reads back" 3000 "$(cat /sys/block/$disk/queue/io_timeout)"
fi=/sys/kernel/debug/fail_io_timeout
check "fault injection is available" [ -d $fi ]
log_clear
echo 1 > /sys/block/$disk/io-timeout-fail
echo 100 > $fi/probability
echo 0 > $fi/interval
echo 1 > $fi/times
echo 1 > $fi/verbose
start=$(date +%s)
check "a verified write survives a lost completion" rn_fio --name=t --rw=write --bs=4k --filename=/dev/$disk --offset=64M --iodepth=1 --size=64k --verify=crc32c --verify_fatal=1
took=$(( $(date +%s) - start ))
echo 0 > /sys/block/$disk/io-timeout-fail
check "the completion was really dropped (fault injected)" log_has 'FAULT_INJECTION: forcing a failure'
check "the driver saw the timeout and sent an Abort" log_has 'timeout, aborting'
check "after the second timeout it reset the controller" log_has 'timeout after abort; resetting controller'
check "the reset requeued the request" sh -c "dmesg | grep 'cancelled and requeued' | grep -qv ' 0 outstanding'"
check "recovery took two timeouts, not forever (${took}s)" [ $took -ge 6 -a $took -lt 60 ]
expect_eq "controller is live again" live "$(cat /sys/class/nvme/nvme0/state)"
check "verified I/O afterwards" rn_fio --name=after --rw=randwrite --bs=4k --filename=/dev/$disk --offset=64M --iodepth=16 --size=8M --verify=crc32c --verify_fatal=1

# Timeouts under load: the timeout handler reaps the CQ with the queue's vector disabled
# while that vector's handler reaps it without a lock for the other requests in flight
# (lockless reaping against C's nvme_poll_irqdisable), then a reset cancels and requeues
# what is in flight, with batched completions on both sides.
log_clear
echo 1 > /sys/block/$disk/io-timeout-fail
echo 1 > $fi/probability
echo 2 > $fi/times
echo 0 > $fi/verbose
check "verified random I/O at QD16 x 2 jobs survives lost completions" rn_fio --name=load --rw=randwrite --bs=4k --filename=/dev/$disk --offset=64M --iodepth=16 --numjobs=2 --size=16M --offset_increment=16M --verify=crc32c --verify_fatal=1
echo 0 > /sys/block/$disk/io-timeout-fail
check "both completions were really dropped (times left: $(cat $fi/times))" [ "$(cat $fi/times)" = 0 ]
check "the timeouts led to a reset under load" log_has 'resetting controller'
expect_eq "controller is live again" live "$(cat /sys/class/nvme/nvme0/state)"
check "rmmod" rn_unload
finish
