#!/bin/sh
# The controller as sysfs shows it, as nvme.ko lays it out: /sys/class/nvme/nvme0 with
# the C driver's attributes (values checked against what QEMU was told), a subsystem
# device linking to it, namespace disks as children of the controller (so
# /sys/block/nvme0n1/device resolves under the PCI function), namespace identifiers.
# First nvme.ko binds the same controller: every attribute of the controller and of
# namespace 1 (names, modes, values) must read the same under rust_nvme, except those
# listed in SYSFS_EXCEPTIONS; so must the diag/ counters after the same events and C's
# log line for a failed admin passthrough command.
# Expects RN_SERIAL, RN_MODEL, RN_SUBNQN, RN_QUEUES (QEMU's controller carries C's
# bogus_nid quirk: the UUID and EUI64 QEMU is given are ignored, as nvme.ko ignores them).
. /guest/tests/lib.sh

# Entries whose values depend on the instance, not the driver: the device numbers
# (`dev`, and `uevent`, which repeats them), the disk's sequence number (`diskseq`,
# counting every disk since boot), I/O statistics (`stat`, `inflight`).
SYSFS_EXCEPTIONS="dev uevent diskseq stat inflight"

# sysfs_dump DIR: one line per entry of DIR and DIR/diag: name, type, and for files the
# mode bits and the value (newlines as '|'; what reading fails with for unreadable ones).
sysfs_dump() {
	local d=$1 e name v
	for e in "$d"/* "$d"/diag/*; do
		[ -e "$e" ] || [ -L "$e" ] || continue
		name=${e#$d/}
		case " $SYSFS_EXCEPTIONS " in *" $name "*) continue ;; esac
		if [ -L "$e" ]; then
			echo "$name link"
		elif [ -d "$e" ]; then
			echo "$name dir"
		else
			v=$(cat "$e" 2>&1 | sed 's/^cat: .*: //' | tr '\n' '|')
			echo "$name $(stat -c %a "$e") $v"
		fi
	done
}

# The last kernel log line naming a failed admin command of nvme0 (C's passthrough
# format), without the timestamp.
admin_err_line() { dmesg | grep -E 'nvme0: .*\(0x6\), .*cdw10=0xfe' | tail -1 | sed 's/^\[[^]]*\] //'; }

c=/sys/class/nvme/nvme0
n=/sys/block/nvme0n1

# nvme.ko on the same controller.
check "nvme.ko binds the controller (reference for the comparison)" c_load
check "nvme.ko: /dev/nvme0n1 appears" wait_disk nvme0n1
check "nvme.ko: controller live" wait_for 10 grep -qx live $c/state
check "nvme.ko: nvme0n1 has its attributes" wait_for 10 [ -e $n/nsid ]
sysfs_dump $c >/tmp/ctrl.c
sysfs_dump $n >/tmp/ns.c
# A failed admin passthrough command (Identify, CNS FEh): quiet by default, logged and
# counted with passthru_err_log_enabled on.
log_clear
nvme admin-passthru /dev/nvme0 --opcode=0x06 --cdw10=0xfe --data-len=4096 -r >/dev/null 2>&1
c_quiet=$(admin_err_line); c_quiet_count=$(cat $c/diag/command_error_count)
echo on >$c/passthru_err_log_enabled
nvme admin-passthru /dev/nvme0 --opcode=0x06 --cdw10=0xfe --data-len=4096 -r >/dev/null 2>&1
c_line=$(admin_err_line); c_count=$(cat $c/diag/command_error_count)
echo 1 >$c/reset_controller
c_resets=$(cat $c/diag/reset_count)
diag "nvme.ko: '$c_line', errors $c_quiet_count then $c_count, resets $c_resets"
check "nvme.ko unloads" wait_for 10 c_unload

check "insmod" rn_load
check "/dev/nvme0n1 appears" wait_disk nvme0n1
check "controller state is live" wait_for 10 grep -qx live $c/state
check "nvme0n1 has its attributes" wait_for 10 [ -e $n/nsid ]

# Attribute by attribute as nvme.ko showed them.
sysfs_dump $c >/tmp/ctrl.rust
sysfs_dump $n >/tmp/ns.rust
for what in ctrl ns; do
	if diff /tmp/$what.c /tmp/$what.rust >/tmp/$what.diff; then
		ok "$what attributes: names, modes and values as nvme.ko's ($(wc -l </tmp/$what.c) entries)"
	else
		not_ok "$what attributes differ from nvme.ko's (< nvme.ko, > rust_nvme)"
		sed 's/^/# /' /tmp/$what.diff
	fi
done
expect_eq "quirks (bogus_nid for QEMU's 1b36:0010)" bogus_nid "$(cat $c/quirks)"
check "the ignored identifiers are logged" log_has 'Ignoring bogus Namespace Identifiers'
log_clear
nvme admin-passthru /dev/nvme0 --opcode=0x06 --cdw10=0xfe --data-len=4096 -r >/dev/null 2>&1
expect_eq "failed admin passthrough: no log line while passthru_err_log_enabled is off" \
	"$c_quiet" "$(admin_err_line)"
expect_eq "and not counted (as nvme.ko)" "$c_quiet_count" "$(cat $c/diag/command_error_count)"
echo on >$c/passthru_err_log_enabled
expect_eq "passthru_err_log_enabled reads on" on "$(cat $c/passthru_err_log_enabled)"
nvme admin-passthru /dev/nvme0 --opcode=0x06 --cdw10=0xfe --data-len=4096 -r >/dev/null 2>&1
check "with it on: a log line" [ -n "$(admin_err_line)" ]
expect_eq "the line nvme.ko logs for the same command" "$c_line" "$(admin_err_line)"
expect_eq "diag/command_error_count as nvme.ko's" "$c_count" "$(cat $c/diag/command_error_count)"
echo off >$c/passthru_err_log_enabled
echo 0 >$c/diag/command_error_count
expect_eq "diag/command_error_count can be reset" 0 "$(cat $c/diag/command_error_count)"
check "reset_controller" sh -c "echo 1 >$c/reset_controller"
expect_eq "diag/reset_count after one reset, as nvme.ko's" "$c_resets" "$(cat $c/diag/reset_count)"
check "live again after the reset" wait_for 10 grep -qx live $c/state
# Timeouts in ms, applied to the disks as nvme_core applies them.
check "io_timeout takes 7000" sh -c "echo 7000 >$c/io_timeout"
expect_eq "io_timeout reads 7000" 7000 "$(cat $c/io_timeout)"
expect_eq "and the disk's queue has it" 7000 "$(cat $n/queue/io_timeout)"
check "io_timeout refuses 0" sh -c "! echo 0 >$c/io_timeout 2>/dev/null"
echo 30000 >$c/io_timeout
check "admin_timeout takes 9000" sh -c "echo 9000 >$c/admin_timeout"
expect_eq "admin_timeout reads 9000" 9000 "$(cat $c/admin_timeout)"
echo 60000 >$c/admin_timeout

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
expect_eq "nsid" 1 "$(cat $n/nsid)"
# bogus_nid: QEMU's UUID and EUI64 are ignored, so the by-id names are nvme.ko's.
check "no uuid, nguid or eui attribute (bogus_nid, as nvme.ko)" \
	[ ! -e $n/uuid ] && [ ! -e $n/nguid ] && [ ! -e $n/eui ]
expect_eq "wwid from vendor, serial, model and NSID" \
	"nvme.1b36-$(printf %s "$RN_SERIAL" | od -An -tx1 | tr -d ' \n')-$(printf %s "$RN_MODEL" | od -An -tx1 | tr -d ' \n')-00000001" \
	"$(cat $n/wwid)"
expect_eq "csi (NVM)" 0 "$(cat $n/csi)"
expect_eq "metadata_bytes" 0 "$(cat $n/metadata_bytes)"
check "nuse is a number" sh -c "cat $n/nuse | grep -qE '^[0-9]+\$'"
expect_eq "namespace passthru_err_log_enabled: off by default" off "$(cat $n/passthru_err_log_enabled)"

check "rmmod" rn_unload
check "class devices are gone after rmmod" [ ! -e $c ] && [ ! -e $s ]
check "insmod again" rn_load
check "the instance number is reused: nvme0 again" wait_for 20 [ -b /dev/nvme0n1 ]
check "and nvme-subsys0" wait_for 10 [ -e $s/nvme0 ]
check "rmmod" rn_unload
finish
