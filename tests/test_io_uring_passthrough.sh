#!/bin/sh
# io_uring passthrough (uring_cmd) as nvme.ko serves it: fio's io_uring_cmd engine on
# /dev/ng0n1 with verification at QD1 and QD32, polled (--hipri, on a poll queue),
# with registered buffers and with an SQ polling thread, first under nvme.ko, then
# under rust_nvme (each job's outcome must be nvme.ko's, and a pass); what it wrote is
# read back through the block device; tests/nvme_uring.c for the admin commands on
# /dev/nvme0 (compared with the ioctl), vectors, registered buffers, refusals and an
# unprivileged user; controller resets and an unbind with uring commands in flight:
# every submission gets its CQE, bounded.
# Expects one controller, nvme0, with 512-byte blocks on namespace 1.
. /guest/tests/lib.sh

ng=/dev/ng0n1
ctrl=/dev/nvme0
JOB="--bs=4k --size=8M --verify=crc32c --verify_fatal=1 --do_verify=1"

# ufio NAME OFFSET ARGS...: a verified fio job through io_uring_cmd on $ng; prints its
# exit status.
ufio() {
	local name=$1 off=$2
	shift 2
	fio --ioengine=io_uring_cmd --cmd_type=nvme --filename=$ng --name=$name \
		--offset=$off $JOB "$@" >/tmp/ufio.$name 2>&1
	local rc=$?
	[ $rc -ne 0 ] && { diag "fio $name failed ($rc):"; tail -5 /tmp/ufio.$name | sed 's/^/# /'; } >&2
	echo $rc
}

# ujobs: each job's exit status, one word.
ujobs() {
	printf '%s' "qd1=$(ufio qd1 0 --rw=randwrite --iodepth=1)"
	printf '%s' " qd32=$(ufio qd32 8M --rw=randwrite --iodepth=32)"
	printf '%s' " hipri=$(ufio hipri 16M --rw=randwrite --iodepth=16 --hipri)"
	printf '%s' " fixedbufs=$(ufio fixed 24M --rw=randwrite --iodepth=16 --fixedbufs)"
	printf '%s\n' " sqpoll=$(ufio sqpoll 32M --rw=randwrite --iodepth=16 --sqthread_poll=1)"
}

# The controller's interrupts so far (all its vectors: nvme.ko names them nvme0q<N>,
# rust_nvme rust_nvme).
irqs() { awk '/nvme0q|rust_nvme/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts; }

# nvme.ko on the same controller, with a poll queue.
check "nvme.ko binds the controller with a poll queue (reference)" \
	sh -c "insmod $MODDIR/nvme-core.ko && insmod $MODDIR/nvme.ko poll_queues=1"
check "nvme.ko: $ng appears" wait_for 30 [ -c $ng ]
check "nvme.ko: /dev/nvme0n1 opens" wait_for 30 dd if=/dev/nvme0n1 of=/dev/null bs=512 count=1
c_jobs=$(ujobs)
diag "nvme.ko: $c_jobs"
check "nvme.ko unloads" wait_for 10 c_unload

kmemleak_start
check "insmod poll_queues=1" rn_load poll_queues=1
check "$ng appears" wait_for 30 [ -c $ng ]
check "/dev/nvme0n1 opens" wait_for 30 dd if=/dev/nvme0n1 of=/dev/null bs=512 count=1
rn_jobs=$(ujobs)
diag "rust_nvme: $rn_jobs"
expect_eq "fio io_uring_cmd jobs pass (QD1, QD32, hipri, fixedbufs, sqthread_poll)" \
	"qd1=0 qd32=0 hipri=0 fixedbufs=0 sqpoll=0" "$rn_jobs"
expect_eq "and as under nvme.ko" "$c_jobs" "$rn_jobs"
check "what io_uring_cmd wrote reads back through /dev/nvme0n1" \
	fio --ioengine=psync --direct=1 --filename=/dev/nvme0n1 --name=qd32 --offset=8M \
	--rw=randwrite $JOB --iodepth=1 --verify_only
# The polled job: its completions were polled, not interrupts (about 2048 writes and
# their verifying reads went through the poll queue).
before=$(irqs)
r=$(ufio hipri2 40M --rw=randwrite --iodepth=16 --hipri)
after=$(irqs)
diag "interrupts during the polled job: $((after - before))"
check "a polled job passes" [ "$r" = 0 ]
check "its completions were polled (fewer than 200 interrupts for 4096 commands)" \
	[ $((after - before)) -lt 200 ]

# blktests nvme/049's jobs as it runs them: random reads of the namespace's minimum I/O
# size at QD16 for 2 s, plain, polled and with registered buffers.
nvme049() {
	fio --size=1M --filename=$ng --bs=$(cat /sys/block/nvme0n1/queue/minimum_io_size) \
		--rw=randread --numjobs=1 --iodepth=16 --name=randread --ioengine=io_uring_cmd \
		--cmd_type=nvme --time_based --runtime=2 "$@" >/tmp/n049 2>&1
}
check "blktests nvme/049: plain read" nvme049
check "blktests nvme/049: read with iopoll" nvme049 --hipri
check "blktests nvme/049: read with fixedbufs" nvme049 --fixedbufs

/guest/tests/nvme_uring admin $ctrl
/guest/tests/nvme_uring io $ng 1 131072
chmod o+r $ctrl
chmod o+rw $ng
su nobody -s /bin/sh -c "/guest/tests/nvme_uring deny $ctrl $ng"
chmod o-rw $ctrl $ng

# Resets with uring commands in flight: every submission gets its CQE.
( /guest/tests/nvme_uring inflight $ng 16 >/tmp/inflight.out 2>&1; echo $? >/tmp/inflight.rc ) &
sleep 2
for r in 1 2; do
	check "reset $r with uring commands in flight" nvme reset $ctrl
	check "live again" wait_for 20 grep -qx live /sys/class/nvme/nvme0/state
done
check "the uring loop ends (bounded)" wait_for 60 [ -f /tmp/inflight.rc ]
diag "$(cat /tmp/inflight.out)"
expect_eq "every uring command across the resets got its CQE" 0 "$(cat /tmp/inflight.rc)"

# The ring torn down with commands in flight (the process killed): it goes, bounded.
/guest/tests/nvme_uring inflight $ng 32 >/dev/null 2>&1 &
upid=$!
sleep 2
check "a process with uring commands in flight is running" kill -0 $upid
kill -9 $upid
check "killed, its ring is torn down (bounded)" wait_for 30 sh -c "! kill -0 $upid 2>/dev/null"
wait $upid 2>/dev/null
check "verified I/O through the block device after it" rn_fio --name=after-kill --rw=randwrite \
	--bs=4k --filename=/dev/nvme0n1 --iodepth=8 --size=4M --offset=96M --verify=crc32c \
	--verify_fatal=1

# Unbind with uring commands in flight.
fn=$(rn_bound | head -1)
rm -f /tmp/inflight.rc
( /guest/tests/nvme_uring inflight $ng 16 >/tmp/inflight.out 2>&1; echo $? >/tmp/inflight.rc ) &
sleep 2
check "unbind with uring commands in flight" sh -c "echo $fn > /sys/bus/pci/drivers/rust_nvme/unbind"
check "the uring loop ends after the unbind (bounded)" wait_for 60 [ -f /tmp/inflight.rc ]
diag "$(cat /tmp/inflight.out)"
expect_eq "every uring command across the unbind got its CQE" 0 "$(cat /tmp/inflight.rc)"
check "$ng went with the controller" wait_for 10 [ ! -e $ng ]
check "rebind" sh -c "echo $fn > /sys/bus/pci/drivers/rust_nvme/bind"
check "$ng is back" wait_for 30 [ -c $ng ]
check "a verified io_uring_cmd job after the rebind" [ "$(ufio after 48M --rw=randwrite --iodepth=8)" = 0 ]
kmemleak_check "kmemleak: nothing rust_nvme, io_uring or the block layer allocated leaked" \
	"rust_nvme|io_uring|blk_|bio_"
check "rmmod" rn_unload
finish
