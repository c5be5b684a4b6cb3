#!/bin/sh
# scripts/icount.py's guest side: for each driver (nvme.ko, rust_nvme), freshly loaded
# with one poll queue, each workload runs RN_IOS I/Os (fio --number_ios) between the
# plugin's two marker instructions, RN_ROUNDS times. Output, for the host:
#   rn-icount: <driver> <round> <workload> <I/Os>     (before each marked run)
#   rn-icount-range: <driver> <module> <base> <size>  (the module's place in memory)
#   rn-icount-sym: <driver> <address> <symbol>        (the drivers' text symbols)
. /guest/tests/lib.sh

rounds=${RN_ROUNDS:-2}
ios=${RN_IOS:-2000}
workloads=${RN_WORKLOADS:-"qd1 qd32 wr32 seq128k qd1poll uringcmd"}
common="--ioengine=io_uring --direct=1 --size=256M --norandommap --randrepeat=1 --numjobs=1 --group_reporting"

opts() {
	case $1 in
	qd1) echo "--rw=randread --bs=4k --iodepth=1" ;;
	qd32) echo "--rw=randread --bs=4k --iodepth=32" ;;
	wr32) echo "--rw=randwrite --bs=4k --iodepth=32" ;;
	seq128k) echo "--rw=read --bs=128k --iodepth=8" ;;
	qd1poll) echo "--rw=randread --bs=4k --iodepth=1 --hipri" ;;
	# NVMe passthrough on the generic device (the ioengine and file below override).
	uringcmd) echo "--ioengine=io_uring_cmd --cmd_type=nvme --direct=0 --rw=randread --bs=4k --iodepth=32" ;;
	esac
}
load() {
	case $1 in
	c) insmod $MODDIR/nvme-core.ko && insmod $MODDIR/nvme.ko poll_queues=1 ;;
	*) insmod $RN_KO poll_queues=1 ;;
	esac || { echo "# cannot load $1"; exit 1; }
	wait_disk nvme0n1 || { echo "# no disk for $1"; exit 1; }
	wait_for 10 dd if=/dev/nvme0n1 of=/dev/null bs=4096 count=1 iflag=direct
	wait_for 10 [ -c /dev/ng0n1 ]
}
unload() {
	case $1 in
	c) wait_for 10 rmmod nvme && wait_for 10 rmmod nvme_core ;;
	*) wait_for 10 rmmod rust_nvme ;;
	esac
}
mods() { case $1 in c) echo "nvme nvme_core" ;; *) echo rust_nvme ;; esac; }

for d in ${RN_DRIVERS:-c rust}; do
	load $d
	for m in $(mods $d); do
		awk -v d=$d -v m=$m '$1 == m { print "rn-icount-range: " d " " m " " $6 " " $2 }' /proc/modules
		grep -E "\[$m\]\$" /proc/kallsyms | awk -v d=$d '$2 ~ /^[tT]$/ { print "rn-icount-sym: " d " " $1 " " $3 }'
	done
	r=1
	while [ $r -le $rounds ]; do
		for wl in $workloads; do
			echo "rn-icount: $d $r $wl $ios"
			before=$(dmesg | grep -c "timeout")
			/guest/tests/icount_mark start
			dev=/dev/nvme0n1
			[ $wl = uringcmd ] && dev=/dev/ng0n1
			fio $common --name=$wl --filename=$dev --number_ios=$ios $(opts $wl) >/dev/null 2>&1
			/guest/tests/icount_mark stop
			# A command timed out (and the controller was reset): the count holds the
			# recovery, not the workload; the host leaves the round out.
			[ "$(dmesg | grep -c "timeout")" = "$before" ] || echo "rn-icount-stall: $d $r $wl"
		done
		r=$((r + 1))
	done
	unload $d
done
echo "# icount done"
