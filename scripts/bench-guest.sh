#!/bin/sh
# `make bench` guest side. Per round, for each fio workload, the two drivers of RN_DRIVERS
# ("c rust" by default; "base" is rust_nvme_base.ko, another revision's module) run it
# back to back, each freshly loaded for it and unloaded after it; which of the two goes
# first alternates by round and by workload, so that neither always runs first or
# right after the other. Then null_blk (unless RN_NULLBLK=0) runs every workload once,
# as the block layer's ceiling. Output, for the host (scripts/bench.py):
#   rn-bench: <driver> <round> <workload> <fio JSON>
#   rn-bench-irq: <driver> <round> <workload> <interrupts> <I/Os completed>
#   rn-bench-setup: <driver> <round> <what the driver set up>
#   rn-bench-mem: <driver> <round> <module bytes> <load: free drop KiB>
#                 <bind: free drop KiB> <bind: kernel counters KiB>
# The memory figures, once per round and driver, each after drop_caches: the drop of free
# memory from before the module's load until its disk is up ("load", module text
# included), then from the controller unbound (module loaded) until it is bound again with
# its disk up ("bind": what one bound controller costs), and the growth of Slab +
# VmallocUsed + PageTables + KernelStack + Percpu over that bind (pages the driver takes
# straight from the page allocator, such as DMA rings and blk-mq's request pages, show only
# in the free memory). Free memory is the zones' free pages plus the pages on the per-CPU
# free lists (/proc/zoneinfo): MemFree and MemAvailable leave out the latter, where the
# pages an unload just freed wait, and would credit them to the next load.
. /guest/tests/lib.sh

rounds=${RN_ROUNDS:-8}
rt=${RN_RUNTIME:-5}
drivers=${RN_DRIVERS:-c rust}
ncpu=$(grep -c ^processor /proc/cpuinfo)
last=$((ncpu - 1))
workloads="qd1 qd32 wr32 seq128k qd1poll uringcmd"
common="--ioengine=io_uring --direct=1 --time_based --runtime=$rt --ramp_time=1 --group_reporting --output-format=json --norandommap --randrepeat=0"
# One job per vCPU, each pinned to its own; a single job on a fixed vCPU (the last: the
# first takes most of the guest's housekeeping), so that every run sees the same queue.
multi="--numjobs=$ncpu --cpus_allowed=0-$last --cpus_allowed_policy=split"
single="--numjobs=1 --cpus_allowed=$last"

run_one() { # driver round workload device
	case $3 in
	qd1) o="--rw=randread --bs=4k --iodepth=1 $single" ;;
	qd32) o="--rw=randread --bs=4k --iodepth=32 $multi" ;;
	wr32) o="--rw=randwrite --bs=4k --iodepth=32 $multi" ;;
	seq128k) o="--rw=read --bs=128k --iodepth=8 $single" ;;
	qd1poll) o="--rw=randread --bs=4k --iodepth=1 --hipri $single" ;;
	# NVMe passthrough through io_uring on the generic device (fio takes the last
	# --ioengine and --direct; the generic device has no O_DIRECT).
	uringcmd) o="--ioengine=io_uring_cmd --cmd_type=nvme --direct=0 --rw=randread --bs=4k --iodepth=32 $multi" ;;
	esac
	dev=${4#/dev/}
	i0=$(irqsum) n0=$(ios $dev)
	fio $common --name=$3 --filename=$4 $o > /tmp/b.json 2>/tmp/b.err || {
		echo "# $1 $3 failed: $(tr '\n' ' ' < /tmp/b.err)"; return 0; }
	i1=$(irqsum) n1=$(ios $dev)
	echo "rn-bench: $1 $2 $3 $(tr -d '\n' < /tmp/b.json)"
	# Passthrough requests are not counted in the disk's statistics.
	[ $1 = null_blk ] || [ $3 = uringcmd ] ||
		echo "rn-bench-irq: $1 $2 $3 $((i1 - i0)) $((n1 - n0))"
}

# The NVMe driver's interrupt lines of /proc/interrupts as "IRQ count" (C names its vectors
# nvme<N>q<M>, rust_nvme all of them rust_nvme).
drvirqs() {
	awk -v n=$ncpu '$NF ~ /^(nvme[0-9]+q[0-9]+|rust_nvme)$/ {
		s = 0; for (i = 2; i <= n + 1; i++) s += $i; sub(":", "", $1); print $1, s }' /proc/interrupts
}
irqsum() { drvirqs | awk '{ s += $2 } END { print s + 0 }'; }
# Reads and writes completed on /sys/block/$1 (fio's figures leave out the ramp).
ios() { [ -f /sys/block/$1/stat ] && awk '{ print $1 + $5 }' /sys/block/$1/stat || echo 0; }

modloaded() { grep -q "^$1 " /proc/modules; }
# Every step bounded: a driver that does not come up or go away ends the run.
load() {
	case $1 in
	c) insmod $MODDIR/nvme-core.ko && insmod $MODDIR/nvme.ko poll_queues=1 ;;
	base) insmod $MODDIR/rust_nvme_base.ko poll_queues=1 && modtext rust_nvme ;;
	*) rn_load poll_queues=1 ;;
	esac || { echo "# cannot load $1"; exit 1; }
	wait_disk nvme0n1 || { echo "# no disk for $1"; exit 1; }
}
unload() {
	# rmmod fails (EAGAIN) while the kernel's partition scan still holds a new disk open.
	case $1 in
	c) wait_for 10 rmmod nvme && wait_for 10 rmmod nvme_core ;;
	*) wait_for 10 rmmod rust_nvme ;;
	esac
	! modloaded nvme && ! modloaded rust_nvme || { echo "# cannot unload $1"; exit 1; }
}
pcidrv() { case $1 in c) echo nvme ;; *) echo rust_nvme ;; esac; }
modbytes() {
	case $1 in
	c) awk '$1 == "nvme" || $1 == "nvme_core" { s += $2 } END { print s + 0 }' /proc/modules ;;
	*) awk '$1 == "rust_nvme" { s += $2 } END { print s + 0 }' /proc/modules ;;
	esac
}
quiesce() { sync; echo 7 > /proc/sys/vm/drop_caches; sleep 1; echo 7 > /proc/sys/vm/drop_caches; }
# "free kernel-counters" in KiB.
meminfo() {
	echo $(awk '$1 == "pages" && $2 == "free" { p += $3 } $1 == "count:" { p += $2 }
		END { print p * 4 }' /proc/zoneinfo) \
		$(awk '/^(Slab|VmallocUsed|PageTables|KernelStack|Percpu):/ { k += $2 } END { print k }' /proc/meminfo)
}

# Loads driver $1 for round $2, measuring what it takes the first time in the round.
load_measured() {
	quiesce
	set -- "$1" "$2" $(meminfo)
	load $1
	quiesce
	set -- "$@" $(meminfo)
	fn=$(ls -d /sys/bus/pci/drivers/$(pcidrv $1)/0000:* | head -1)
	fn=${fn##*/}
	echo $fn > /sys/bus/pci/drivers/$(pcidrv $1)/unbind && wait_for 30 [ ! -e /sys/block/nvme0n1 ] \
		|| { echo "# cannot unbind $1"; exit 1; }
	quiesce
	set -- "$@" $(meminfo)
	echo $fn > /sys/bus/pci/drivers/$(pcidrv $1)/bind && wait_disk nvme0n1 \
		|| { echo "# cannot bind $1 again"; exit 1; }
	quiesce
	set -- "$@" $(meminfo)
	# $3 $4: before the load; $5 $6: loaded; $7 $8: unbound; $9 ${10}: bound again.
	echo "rn-bench-mem: $1 $2 $(modbytes $1) $(($3 - $5)) $(($7 - $9)) $((${10} - $8))"
}

setup_line() { # driver round
	# What the driver set up, so that a mismatch between the two cannot hide.
	echo "rn-bench-setup: $1 $2 hw_queues=$(ls -d /sys/block/nvme0n1/mq/*/ | wc -l)" \
		"nr_requests=$(cat /sys/block/nvme0n1/queue/nr_requests)" \
		"max_sectors_kb=$(cat /sys/block/nvme0n1/queue/max_sectors_kb)" \
		"poll=$(cat /sys/block/nvme0n1/queue/io_poll)" \
		"queue_cpus=$(for q in /sys/block/nvme0n1/mq/*/; do tr -d " \n" < ${q}cpu_list; echo; done | paste -sd'|')" \
		"irq_cpus=$(drvirqs | while read n c; do cat /proc/irq/$n/effective_affinity_list; done | paste -sd,)"
}

set -- $drivers
first=$1 second=$2
r=1
while [ $r -le $rounds ]; do
	i=0
	measured=
	for wl in $workloads; do
		if [ $(((r + i) % 2)) = 1 ]; then order="$first $second"; else order="$second $first"; fi
		for d in $order; do
			case " $measured " in
			*" $d "*) quiesce; load $d ;;
			*) load_measured $d $r; measured="$measured $d"; setup_line $d $r ;;
			esac
			sleep 1
			dev=/dev/nvme0n1
			if [ $wl = uringcmd ]; then
				dev=/dev/ng0n1
				wait_for 10 [ -c $dev ] || { echo "# no $dev for $d"; exit 1; }
			fi
			run_one $d $r $wl $dev
			unload $d
		done
		i=$((i + 1))
	done
	if [ "${RN_NULLBLK:-1}" = 1 ]; then
		insmod $MODDIR/null_blk.ko queue_mode=2 submit_queues=$ncpu poll_queues=1 gb=8 2>/dev/null \
			|| insmod $MODDIR/null_blk.ko queue_mode=2 submit_queues=$ncpu gb=8
		if wait_disk nullb0; then
			# null_blk has no NVMe passthrough.
			for wl in $workloads; do
				[ $wl = uringcmd ] || run_one null_blk $r $wl /dev/nullb0
			done
		fi
		wait_for 10 rmmod null_blk
	fi
	r=$((r + 1))
done
echo "# bench done"
