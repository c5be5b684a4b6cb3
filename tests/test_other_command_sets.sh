#!/bin/sh
# Namespaces of another I/O command set (QEMU's zoned namespaces, CSI 2) beside a
# conventional one: the controller runs with all command sets enabled; the zoned
# namespace of 4 MiB zones is a host-managed zoned disk, the one whose zone size is not a
# power of two gets a hidden disk of capacity 0 with nvme.ko's message, while the
# conventional namespace keeps its data across a reset and a rescan. nvme.ko, loaded
# after, does the same with the same controller.
# Expects controller nvme1 with RN_DISK (namespace 1), a zoned namespace 3 (RN_ZNS) and
# a zoned namespace 4 of 3 MiB zones (RN_ZNS_BAD).
. /guest/tests/lib.sh

disk=${RN_DISK:-nvme1n1}
zns=${RN_ZNS:-nvme1n3}
bad=${RN_ZNS_BAD:-nvme1n4}
ctrl=${disk%n*}

# The zoned disks' sysfs view, as both drivers must show it.
zoned_disks() {
	expect_eq "$1: $zns is host-managed with 4 zones" "host-managed 4 32768" \
		"$(echo $(cat /sys/block/$zns/queue/zoned /sys/block/$zns/queue/nr_zones /sys/block/$zns/size))"
	check "$1: $zns reads" dd if=/dev/$zns of=/dev/null bs=4k count=1 iflag=direct
	expect_eq "$1: $bad (3 MiB zones) has capacity 0" 0 "$(cat /sys/block/$bad/size)"
	expect_eq "$1: $bad is hidden (no block interface)" 1 "$(cat /sys/block/$bad/hidden)"
	check "$1: $bad cannot be opened as a block device" \
		sh -c "! dd if=/dev/$bad of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null"
	# The generic device is there for it all the same: passthrough reaches it.
	check "$1: the hidden disk has its generic device /dev/${bad/nvme/ng}" \
		wait_for 10 [ -c /dev/${bad/nvme/ng} ]
	check "$1: Identify through it" nvme id-ns /dev/${bad/nvme/ng}
}

log_clear
check "insmod" rn_load
check "/dev/$disk opens" wait_for 30 dd if=/dev/$disk of=/dev/null bs=512 count=1 iflag=direct
check "the zoned namespaces have disks" wait_for 10 [ -e /sys/block/$zns -a -e /sys/block/$bad ]
zoned_disks rust_nvme
expect_eq "rust_nvme: the csi attributes" "2 2" "$(cat /sys/block/$zns/csi) $(cat /sys/block/$bad/csi)"
check "rust_nvme: says why, with nvme.ko's words" \
	log_has 'invalid zone size: 6144 for namespace: 4'
expect_eq "rust_nvme: the conventional namespace's csi" 0 "$(cat /sys/block/$disk/csi)"
check "4 MiB of random data on $disk" dd if=/dev/urandom of=/tmp/csi.in bs=1M count=4
check "written" dd if=/tmp/csi.in of=/dev/$disk bs=1M oflag=direct
check "reset the controller" sh -c "echo 1 > /sys/class/nvme/$ctrl/reset_controller"
check "rescan" sh -c "echo 1 > /sys/class/nvme/$ctrl/rescan_controller"
check "live again" wait_for 20 grep -qx live /sys/class/nvme/$ctrl/state
sleep 1
zoned_disks "after reset and rescan"
check "$disk reads back its data" \
	sh -c "dd if=/dev/$disk bs=1M count=4 iflag=direct 2>/dev/null | cmp - /tmp/csi.in"
check "verified I/O on $disk" rn_fio --name=csi --rw=randwrite --bs=4k --filename=/dev/$disk --iodepth=8 --size=4M --offset=8M --verify=crc32c --verify_fatal=1
bdf=$(basename "$(readlink -f /sys/class/nvme/$ctrl/device)")
check "rmmod" rn_unload

# nvme.ko on the same controller (found by its PCI address: nvme.ko probes
# asynchronously, so its controller numbers may differ).
log_clear
check "load nvme.ko" c_load
check "nvme.ko: a controller on $bdf" wait_for 10 sh -c "ls /sys/bus/pci/devices/$bdf/nvme | grep -q nvme"
cctrl=$(ls /sys/bus/pci/devices/$bdf/nvme | head -1)
# nvme.ko scans namespaces in parallel, so its disk numbers need not follow the NSIDs:
# find each disk by its nsid attribute.
disk_of() {
	for d in /sys/block/${cctrl}n*; do
		[ "$(cat $d/nsid 2>/dev/null)" = "$1" ] && { basename $d; return 0; }
	done
	return 1
}
four_disks() { [ "$(ls -d /sys/block/${cctrl}n* 2>/dev/null | wc -l)" -ge 4 ]; }
check "nvme.ko: a disk for each of the four namespaces" wait_for 10 four_disks
disk=$(disk_of 1)
zns=$(disk_of 3)
bad=$(disk_of 4)
diag "nvme.ko: namespace 1 is $disk, namespace 3 is $zns, namespace 4 is $bad"
check "nvme.ko: /dev/$disk opens" wait_for 30 dd if=/dev/$disk of=/dev/null bs=512 count=1 iflag=direct
check "nvme.ko: the zoned namespaces have disks" wait_for 10 [ -e /sys/block/$zns -a -e /sys/block/$bad ]
zoned_disks nvme.ko
check "nvme.ko: the same message" \
	log_has 'invalid zone size: 6144 for namespace: 4'
check "nvme.ko: $disk holds the same data" \
	sh -c "dd if=/dev/$disk bs=1M count=4 iflag=direct 2>/dev/null | cmp - /tmp/csi.in"
check "unload nvme.ko" c_unload
finish
