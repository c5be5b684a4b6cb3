#!/bin/sh
# Passthrough with a user buffer shorter than the command's transfer is refused with
# EINVAL, as root and unprivileged, before the controller sees it (beyond nvme.ko);
# full-length buffers still work and return the disk's data. The host checks QEMU's
# pci_nvme_map_prp events between the markers: PRP transfers were seen, and none longer
# than its PRPs describe (PRP2 = 0 with more than PRP1's page to go).
. /guest/tests/lib.sh

disk=${RN_DISK:-nvme0n1}
ctrl=${disk%n*}
nsid=$(echo "$disk" | sed 's/.*n//')
check "insmod" rn_load
check "/dev/$disk opens" wait_for 30 dd if=/dev/$disk of=/dev/null bs=512 count=1 iflag=direct
check "8 KiB of random data at LBA 0" dd if=/dev/urandom of=/dev/$disk bs=8k count=1 oflag=direct
echo "rn-mark: shortbuf-start"
/guest/tests/nvme_shortbuf /dev/$ctrl /dev/$disk "$nsid"
check "the short-buffer probe passed" [ $? -eq 0 ]
echo "rn-mark: shortbuf-end"
check "verified I/O still works" rn_fio --name=after --rw=randwrite --bs=4k --filename=/dev/$disk --iodepth=8 --size=4M --verify=crc32c --verify_fatal=1
check "rmmod" rn_unload
finish
