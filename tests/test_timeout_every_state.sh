#!/bin/sh
# Timeouts that recovery must end (C: nvme_timeout in every state, nvme_max_retries):
#  1. a completion lost while the controller is being unbound: the timeout handler, in
#     the deleting state, disables the controller and fails the request; unbind ends in
#     about one io_timeout and the read gets EIO (it used to hang in del_gendisk forever);
#  2. a request whose every attempt loses its completion: each reset cancels it against
#     max_retries (5), then it fails with EIO instead of being requeued forever;
#  3. a REQ_FAILFAST request (here: none from user space, so max_retries=0 stands in for
#     it) is failed by the first reset.
. /guest/tests/lib.sh

disk=nvme0n1
fi=/sys/kernel/debug/fail_io_timeout
arm() {	# arm TIMES: drop that many completions of the disk (-1: all)
	echo 1 > /sys/block/$disk/io-timeout-fail
	echo 100 > $fi/probability; echo 0 > $fi/interval; echo "$1" > $fi/times; echo 1 > $fi/verbose
}
disarm() { echo 0 > /sys/block/$disk/io-timeout-fail 2>/dev/null; echo 0 > $fi/probability; }
# read_bg LBA: one 4 KiB direct read in the background; its exit status lands in /tmp/rd.rc
read_bg() {
	rm -f /tmp/rd.rc
	( dd if=/dev/$disk of=/dev/null bs=4k skip=$1 count=1 iflag=direct 2>/tmp/rd.err; echo $? > /tmp/rd.rc ) &
}

check "insmod" rn_load
check "/dev/$disk appears" wait_disk $disk
fn=$(rn_bound | head -1)
check "fault injection is available" [ -d $fi ]

# 1. Lost completion during unbind.
echo 3000 > /sys/block/$disk/queue/io_timeout
log_clear
arm 1
read_bg 100
sleep 1
start=$(date +%s)
( echo $fn > /sys/bus/pci/drivers/rust_nvme/unbind; echo done > /tmp/unbind.done ) &
check "unbind with a lost completion in flight ends (bounded: 30 s)" wait_for 30 [ -f /tmp/unbind.done ]
took=$(( $(date +%s) - start ))
rm -f /tmp/unbind.done
check "the completion was really dropped (fault injected)" log_has 'FAULT_INJECTION: forcing a failure'
check "the timeout handler disabled the deleting controller" log_has 'timeout, disable controller'
check "unbind took about one io_timeout (${took}s)" [ $took -le 15 ]
check "the read ended" wait_for 10 [ -f /tmp/rd.rc ]
check "the read failed (dd exit $(cat /tmp/rd.rc 2>/dev/null))" [ "$(cat /tmp/rd.rc 2>/dev/null)" != 0 ]
disarm
check "bind again" sh -c "echo $fn > /sys/bus/pci/drivers/rust_nvme/bind"
check "/dev/$disk is back" wait_disk $disk
wait_for 10 dd if=/dev/$disk of=/dev/null bs=4k count=1 iflag=direct
check "verified I/O after rebinding" rn_fio --name=rebind --rw=randwrite --bs=4k --filename=/dev/$disk --offset=64M --iodepth=8 --size=4M --verify=crc32c --verify_fatal=1

# 2. Every attempt times out: EIO after max_retries resets, not forever.
echo 1000 > /sys/block/$disk/queue/io_timeout
log_clear
arm -1
start=$(date +%s)
read_bg 200
check "a read whose every completion is lost ends (bounded: 90 s)" wait_for 90 [ -f /tmp/rd.rc ]
took=$(( $(date +%s) - start ))
disarm
check "with an error (dd exit $(cat /tmp/rd.rc 2>/dev/null), ${took}s)" [ "$(cat /tmp/rd.rc 2>/dev/null)" != 0 ]
check "it was cancelled by a reset and requeued first" sh -c "dmesg | grep 'cancelled and requeued' | grep -qv ' 0 outstanding'"
n=$(log_count 'timeout after abort; resetting controller')
check "the controller was reset once per retry (5 + 1, saw $n)" [ "$n" -ge 5 -a "$n" -le 7 ]
check "the controller is live again" wait_for 30 grep -qx live /sys/class/nvme/nvme0/state
check "verified I/O afterwards" rn_fio --name=after --rw=randwrite --bs=4k --filename=/dev/$disk --offset=64M --iodepth=8 --size=4M --verify=crc32c --verify_fatal=1
check "rmmod" rn_unload

# 3. No retries: the first reset fails the request.
check "insmod max_retries=0" rn_load max_retries=0
check "/dev/$disk appears" wait_disk $disk
wait_for 10 dd if=/dev/$disk of=/dev/null bs=4k count=1 iflag=direct
echo 1000 > /sys/block/$disk/queue/io_timeout
log_clear
arm 1
read_bg 300
check "with max_retries=0 the read ends after one reset (bounded: 30 s)" wait_for 30 [ -f /tmp/rd.rc ]
disarm
check "with an error (dd exit $(cat /tmp/rd.rc 2>/dev/null))" [ "$(cat /tmp/rd.rc 2>/dev/null)" != 0 ]
n=$(log_count 'timeout after abort; resetting controller')
expect_eq "one reset" 1 "$n"
check "rmmod" rn_unload
check "insmod max_retries=256 is refused" sh -c "! insmod $RN_KO max_retries=256 2>/dev/null"
finish
