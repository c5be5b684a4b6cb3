#!/bin/sh
# The controller as sysfs shows it, as nvme.ko lays it out: /sys/class/nvme/nvme0 with
# the C driver's attributes (values checked against what QEMU was told), a subsystem
# device linking to it, namespace disks as children of the controller (so
# /sys/block/nvme0n1/device resolves under the PCI function), namespace identifiers.
# Expects RN_SERIAL, RN_MODEL, RN_SUBNQN, RN_UUID, RN_EUI ("%8ph" form), RN_QUEUES.
. /guest/tests/lib.sh

c=/sys/class/nvme/nvme0
check "insmod" rn_load
check "/dev/nvme0n1 appears" wait_disk nvme0n1
check "controller state is live" wait_for 10 grep -qx live $c/state

pci=$(readlink -f $c/device)
bdf=$(basename "$pci")
expect_eq "transport" pcie "$(cat $c/transport)"
expect_eq "address is the PCI function" "$bdf" "$(cat $c/address)"
check "the controller device is a child of the PCI function" \
	[ "$(readlink -f $c)" = "$pci/nvme/nvme0" ]
# C shows serial and model with the controller's space padding (20 and 40 bytes).
expect_eq "serial (space padded to 20)" "$(printf '%-20s' "$RN_SERIAL")" "$(cat $c/serial)"
expect_eq "model (space padded to 40)" "$(printf '%-40s' "$RN_MODEL")" "$(cat $c/model)"
fw=$(cat $c/firmware_rev)
check "firmware_rev is 8 bytes ('$fw')" [ ${#fw} -eq 8 ]
expect_eq "cntlid" 0 "$(cat $c/cntlid)"
expect_eq "subsysnqn" "$RN_SUBNQN" "$(cat $c/subsysnqn)"
expect_eq "numa_node" -1 "$(cat $c/numa_node)"
expect_eq "queue_count (I/O queues + admin)" "$RN_QUEUES" "$(cat $c/queue_count)"
expect_eq "sqsize (0's based)" 1023 "$(cat $c/sqsize)"
check "reset_controller is write-only for root" [ "$(stat -c %a $c/reset_controller)" = 200 ]

s=/sys/class/nvme-subsystem/nvme-subsys0
expect_eq "subsystem subsysnqn" "$RN_SUBNQN" "$(cat $s/subsysnqn 2>&1)"
expect_eq "subsystem model" "$(cat $c/model)" "$(cat $s/model 2>&1)"
expect_eq "subsystem serial" "$(cat $c/serial)" "$(cat $s/serial 2>&1)"
expect_eq "subsystem firmware_rev" "$fw" "$(cat $s/firmware_rev 2>&1)"
expect_eq "subsystype" nvm "$(cat $s/subsystype 2>&1)"
expect_eq "the subsystem links to nvme0" "$(readlink -f $c)" "$(readlink -f $s/nvme0)"

expect_eq "/sys/block/nvme0n1/device is the controller" "$(readlink -f $c)" \
	"$(readlink -f /sys/block/nvme0n1/device)"
case "$(readlink -f /sys/block/nvme0n1/device)" in
"$pci"/*) ok "/sys/block/nvme0n1/device lies under the PCI function" ;;
*) not_ok "/sys/block/nvme0n1/device lies under the PCI function ($(readlink -f /sys/block/nvme0n1/device))" ;;
esac
check "nvme0n1 sits in the controller's directory" [ -d $c/nvme0n1 ]
n=/sys/block/nvme0n1
expect_eq "nsid" 1 "$(cat $n/nsid)"
expect_eq "uuid" "$RN_UUID" "$(cat $n/uuid)"
expect_eq "wwid from the UUID" "uuid.$RN_UUID" "$(cat $n/wwid)"
expect_eq "eui (%8ph)" "$RN_EUI" "$(cat $n/eui)"
check "no nguid attribute when the namespace reports none" [ ! -e $n/nguid ]
expect_eq "csi (NVM)" 0 "$(cat $n/csi)"

check "rmmod" rn_unload
check "class devices are gone after rmmod" [ ! -e $c ] && [ ! -e $s ]
check "insmod again" rn_load
check "the instance number is reused: nvme0 again" wait_for 20 [ -b /dev/nvme0n1 ]
check "and nvme-subsys0" wait_for 10 [ -e $s/nvme0 ]
check "rmmod" rn_unload
finish
