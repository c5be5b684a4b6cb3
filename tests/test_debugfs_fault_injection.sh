#!/bin/sh
# nvme-core's debugfs fault injection (/sys/kernel/debug/nvme0n1/fault_inject/ and
# /sys/kernel/debug/nvme0/fault_inject/): blktests nvme/039's steps as it runs them
# (injected Unrecovered Read Error, an unknown status and Write Fault on I/O; Access
# Denied on an Identify and Invalid Command Opcode on an admin and an I/O passthrough
# command, with passthru_err_log_enabled off and on), its expected log lines, and the
# same lines under nvme.ko; then times=1 fails exactly one read with the error nvme.ko
# gives, the next read succeeds; with dont_retry=0 the read is retried (the retry
# counter moves) and succeeds; the opcode filter spares other commands.
# Expects one controller, nvme0, with 512-byte blocks on namespace 1.
. /guest/tests/lib.sh

grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs none /sys/kernel/debug
D=/sys/kernel/debug

# The last N kernel lines without their timestamps and prefixes (blktests' last_dmesg
# with its "nvme.*:" filter).
last() { dmesg | grep -v "callbacks suppressed" | tail -$1 | sed 's/^\[[^]]*\] //; s/nvme.*://g'; }

# inject DEV PROBABILITY DONT_RETRY STATUS TIMES (_nvme_enable_err_inject, verbose 0).
inject() {
	echo 0 > $D/$1/fault_inject/verbose
	echo $2 > $D/$1/fault_inject/probability
	echo $3 > $D/$1/fault_inject/dont_retry
	echo $4 > $D/$1/fault_inject/status
	echo $5 > $D/$1/fault_inject/times
}
uninject() { echo 0 > $D/$1/fault_inject/probability; echo 0 > $D/$1/fault_inject/times; }

# nvme039: the lines blktests nvme/039 compares, one per step.
nvme039() {
	sleep 5 # DEFAULT_RATELIMIT_INTERVAL, as blktests waits
	inject nvme0n1 100 1 0x281 1
	dd if=/dev/nvme0n1 of=/dev/null bs=512 count=1 iflag=direct 2>/dev/null
	uninject nvme0n1
	last 2 | grep "Unrecovered Read Error ("
	inject nvme0n1 100 1 0x375 1
	dd if=/dev/nvme0n1 of=/dev/null bs=512 count=1 iflag=direct 2>/dev/null
	uninject nvme0n1
	last 2 | grep "Unknown ("
	inject nvme0n1 100 1 0x280 1
	dd if=/dev/zero of=/dev/nvme0n1 bs=512 count=1 oflag=direct 2>/dev/null
	uninject nvme0n1
	last 2 | grep "Write Fault ("
	echo off > /sys/class/nvme/nvme0/passthru_err_log_enabled
	echo off > /sys/class/nvme/nvme0/nvme0n1/passthru_err_log_enabled
	inject nvme0 100 1 0x1 1
	nvme admin-passthru /dev/nvme0 --opcode=0x96 --data-len=512 --cdw10=1 -r >/dev/null 2>&1
	uninject nvme0
	dmesg | tail -1 | grep "Invalid Command Opcode ("
	echo on > /sys/class/nvme/nvme0/passthru_err_log_enabled
	inject nvme0 100 1 0x286 1
	nvme admin-passthru /dev/nvme0 --opcode=0x06 --data-len=4096 --cdw10=1 -r >/dev/null 2>&1
	uninject nvme0
	last 1 | grep "Access Denied ("
	inject nvme0n1 100 1 0x1 1
	nvme io-passthru /dev/nvme0n1 --opcode=0x02 --namespace-id=1 --data-len=512 --read \
		--cdw10=0 --cdw11=0 --cdw12=0 >/dev/null 2>&1
	uninject nvme0n1
	last 2 | grep "Invalid Command Opcode ("
	echo on > /sys/class/nvme/nvme0/nvme0n1/passthru_err_log_enabled
	inject nvme0n1 100 1 0x1 1
	# nvme/039 reads 2 blocks (cdw12=1) into 512 bytes here, which rust_nvme refuses
	# before sending (see below): 1 block, as the step before.
	nvme io-passthru /dev/nvme0n1 --opcode=0x02 --namespace-id=1 --data-len=512 --read \
		--cdw10=0 --cdw11=0 --cdw12=0 >/dev/null 2>&1
	uninject nvme0n1
	last 2 | grep "Invalid Command Opcode ("
	echo off > /sys/class/nvme/nvme0/passthru_err_log_enabled
	echo off > /sys/class/nvme/nvme0/nvme0n1/passthru_err_log_enabled
}

# What blktests nvme/039 expects (tests/nvme/039.out, with NVME_VERBOSE_ERRORS), its last
# Read of 1 block instead of 2.
EXPECTED=" Read(0x2) @ LBA 0, 1 blocks, Unrecovered Read Error (sct 0x2 / sc 0x81) DNR 
 Read(0x2) @ LBA 0, 1 blocks, Unknown (sct 0x3 / sc 0x75) DNR 
 Write(0x1) @ LBA 0, 1 blocks, Write Fault (sct 0x2 / sc 0x80) DNR 
 Identify(0x6), Access Denied (sct 0x2 / sc 0x86) DNR cdw10=0x1 cdw11=0x0 cdw12=0x0 cdw13=0x0 cdw14=0x0 cdw15=0x0
 Read(0x2), Invalid Command Opcode (sct 0x0 / sc 0x1) DNR cdw10=0x0 cdw11=0x0 cdw12=0x0 cdw13=0x0 cdw14=0x0 cdw15=0x0"

# times=1 on reads: the error dd reports, then whether the next read works.
one_fault() {
	inject nvme0n1 100 1 0x281 1
	dd if=/dev/nvme0n1 of=/dev/null bs=512 count=1 iflag=direct 2>&1 | grep -o 'No data available\|I/O error\|Input/output error' | head -1
	dd if=/dev/nvme0n1 of=/dev/null bs=512 count=1 iflag=direct 2>/dev/null && echo next-ok
	uninject nvme0n1
}

check "nvme.ko binds the controller (reference)" c_load
check "nvme.ko: /dev/nvme0n1 appears" wait_disk nvme0n1
check "nvme.ko: the namespace's fault_inject directory" [ -d $D/nvme0n1/fault_inject ]
c_files=$(ls $D/nvme0n1/fault_inject | tr '\n' ' ')
c_defaults="$(cat $D/nvme0n1/fault_inject/status $D/nvme0n1/fault_inject/dont_retry $D/nvme0n1/fault_inject/opcode | tr '\n' ' ')"
c_039=$(nvme039)
c_one=$(one_fault)
diag "nvme.ko: $c_one"
check "nvme.ko unloads" wait_for 10 c_unload

check "insmod" rn_load
check "/dev/nvme0n1 appears" wait_disk nvme0n1
check "the namespace's fault_inject directory" [ -d $D/nvme0n1/fault_inject ]
check "the controller's fault_inject directory" [ -d $D/nvme0/fault_inject ]
expect_eq "its files as nvme.ko's" "$c_files" "$(ls $D/nvme0n1/fault_inject | tr '\n' ' ')"
expect_eq "status, dont_retry and opcode default as nvme.ko's" "$c_defaults" \
	"$(cat $D/nvme0n1/fault_inject/status $D/nvme0n1/fault_inject/dont_retry $D/nvme0n1/fault_inject/opcode | tr '\n' ' ')"
rn_039=$(nvme039)
expect_eq "blktests nvme/039: the expected error log lines" "$EXPECTED" "$rn_039"
expect_eq "blktests nvme/039: as nvme.ko's" "$c_039" "$rn_039"
rn_one=$(one_fault)
diag "rust_nvme: $rn_one"
expect_eq "times=1: one read fails with nvme.ko's error, the next succeeds" "$c_one" "$rn_one"
check "and the error was the injected one" sh -c "echo '$rn_one' | grep -q 'No data available'"

# nvme/039's own last step: a Read of 2 blocks into a 512-byte buffer, which nvme.ko
# sends (the controller would write past the buffer's PRP) and rust_nvme refuses.
check "nvme/039's 2-block read into 512 bytes is refused before it is sent (EINVAL)" sh -c \
	"nvme io-passthru /dev/nvme0n1 --opcode=0x02 --namespace-id=1 --data-len=512 --read \
	--cdw10=0 --cdw11=0 --cdw12=1 2>&1 | grep -q 'Invalid argument'"

# A retryable status without DNR: retried, and the read succeeds.
echo 0 > /sys/block/nvme0n1/diag/command_retries_count
inject nvme0n1 100 0 0x281 1
check "dont_retry=0: the read succeeds" dd if=/dev/nvme0n1 of=/dev/null bs=512 count=1 iflag=direct
uninject nvme0n1
expect_eq "after one retry" 1 "$(cat /sys/block/nvme0n1/diag/command_retries_count)"

# The opcode filter: a fault for writes spares reads.
inject nvme0n1 100 1 0x280 1
echo 0x1 > $D/nvme0n1/fault_inject/opcode
check "opcode=0x1: reads are spared" dd if=/dev/nvme0n1 of=/dev/null bs=4096 count=4 iflag=direct
check "the write fails" sh -c "! dd if=/dev/zero of=/dev/nvme0n1 bs=512 count=1 oflag=direct 2>/dev/null"
uninject nvme0n1
echo 0xffff > $D/nvme0n1/fault_inject/opcode
check "verified I/O afterwards" rn_fio --name=after --rw=randwrite --bs=4k --filename=/dev/nvme0n1 \
	--iodepth=8 --size=4M --verify=crc32c --verify_fatal=1
check "rmmod" rn_unload
check "the debugfs directories go with the driver" [ ! -e $D/nvme0n1 -a ! -e $D/nvme0 ]
finish
