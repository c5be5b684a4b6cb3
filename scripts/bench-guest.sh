#!/bin/sh
# `make bench` guest side: for each round, the drivers of RN_DRIVERS (default the C
# driver and rust_nvme; "base" is rust_nvme_base.ko, another revision's module) in an
# order that alternates per round, then null_blk (unless RN_NULLBLK=0), each running the
# same fio workloads on /dev/nvme0n1 (or /dev/nullb0). Each result is printed as one line
# "rn-bench: <driver> <round> <workload> <fio JSON>", and the memory a driver takes as
# "rn-bench-mem: <driver> <round> <module bytes> <MemAvailable drop KiB>", for the host.
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
load_base() { insmod $MODDIR/rust_nvme_base.ko poll_queues=1; }

drivers=${RN_DRIVERS:-c rust}
memavail() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }
# Bytes of the driver's module(s) as /proc/modules lists them.
modbytes() {
	case $1 in
	c) awk '$1 == "nvme" || $1 == "nvme_core" { s += $2 } END { print s + 0 }' /proc/modules ;;
	*) awk '$1 == "rust_nvme" { s += $2 } END { print s + 0 }' /proc/modules ;;
	esac
}

r=1
while [ $r -le $rounds ]; do
	order=$drivers
	if [ $((r % 2)) = 0 ]; then order=$(echo $drivers | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }'); fi
	for d in $order; do
		sync; echo 3 > /proc/sys/vm/drop_caches
		before=$(memavail)
		case $d in
		c) load_c ;;
		base) load_base ;;
		*) load_r ;;
		esac || { echo "# cannot load $d"; exit 1; }
		wait_disk nvme0n1 || { echo "# no disk for $d"; exit 1; }
		sleep 1
		echo "rn-bench-mem: $d $r $(modbytes $d) $((before - $(memavail)))"
		# What the driver set up, so that a mismatch between the two cannot hide.
		echo "rn-bench-setup: $d $r hw_queues=$(ls -d /sys/block/nvme0n1/mq/*/ | wc -l)" \
			"nr_requests=$(cat /sys/block/nvme0n1/queue/nr_requests)" \
			"max_sectors_kb=$(cat /sys/block/nvme0n1/queue/max_sectors_kb)" \
			"poll=$(cat /sys/block/nvme0n1/queue/io_poll)"
		run_wl $d $r /dev/nvme0n1
		if [ $d = c ]; then unload_c; else unload_r; fi
	done
	[ "${RN_NULLBLK:-1}" = 1 ] || { r=$((r + 1)); continue; }
	insmod $MODDIR/null_blk.ko queue_mode=2 submit_queues=$ncpu poll_queues=1 gb=8 2>/dev/null \
		|| insmod $MODDIR/null_blk.ko queue_mode=2 submit_queues=$ncpu gb=8
	wait_disk nullb0 && run_wl null_blk $r /dev/nullb0
	rmmod null_blk
	r=$((r + 1))
done
echo "# bench done"
