#!/bin/sh
# `make bench` guest side: for each round, the C driver and rust_nvme (order alternating
# per round), then null_blk, each running the same fio workloads on /dev/nvme0n1 (or
# /dev/nullb0). Each result is printed as one line "rn-bench: <driver> <round>
# <workload> <fio JSON>" for the host to parse.
. /guest/tests/lib.sh

rounds=${RN_ROUNDS:-3}
rt=${RN_RUNTIME:-6}
ncpu=$(grep -c ^processor /proc/cpuinfo)
common="--ioengine=io_uring --direct=1 --time_based --runtime=$rt --ramp_time=1 --group_reporting --output-format=json --norandommap --randrepeat=0"

run_wl() { # driver round device
	for wl in qd1 qd32 wr32 seq128k qd1poll; do
		case $wl in
		qd1) o="--rw=randread --bs=4k --iodepth=1 --numjobs=1" ;;
		qd32) o="--rw=randread --bs=4k --iodepth=32 --numjobs=$ncpu" ;;
		wr32) o="--rw=randwrite --bs=4k --iodepth=32 --numjobs=$ncpu" ;;
		seq128k) o="--rw=read --bs=128k --iodepth=8 --numjobs=1" ;;
		qd1poll) o="--rw=randread --bs=4k --iodepth=1 --numjobs=1 --hipri" ;;
		esac
		fio $common --name=$wl --filename=$3 $o > /tmp/b.json 2>/tmp/b.err || {
			echo "# $1 $wl failed: $(tr '\n' ' ' < /tmp/b.err)"; continue; }
		echo "rn-bench: $1 $2 $wl $(tr -d '\n' < /tmp/b.json)"
	done
}
load_c()    { insmod $MODDIR/nvme-core.ko && insmod $MODDIR/nvme.ko poll_queues=1; }
unload_c()  { wait_for 10 rmmod nvme; rmmod nvme_core; }
load_r()    { rn_load poll_queues=1; }
unload_r()  { rn_unload; }

r=1
while [ $r -le $rounds ]; do
	if [ $((r % 2)) = 1 ]; then order="c rust"; else order="rust c"; fi
	for d in $order; do
		if [ $d = c ]; then load_c; else load_r; fi || { echo "# cannot load $d"; exit 1; }
		wait_disk nvme0n1 || { echo "# no disk for $d"; exit 1; }
		sleep 1
		run_wl $d $r /dev/nvme0n1
		if [ $d = c ]; then unload_c; else unload_r; fi
	done
	insmod $MODDIR/null_blk.ko queue_mode=2 submit_queues=$ncpu poll_queues=1 gb=8 2>/dev/null \
		|| insmod $MODDIR/null_blk.ko queue_mode=2 submit_queues=$ncpu gb=8
	wait_disk nullb0 && run_wl null_blk $r /dev/nullb0
	rmmod null_blk
	r=$((r + 1))
done
echo "# bench done"
