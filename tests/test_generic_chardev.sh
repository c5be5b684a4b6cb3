#!/bin/sh
# The generic character device /dev/ng0n1 as nvme.ko gives it: its device number in
# class nvme-generic, a child of the controller, nvme-cli's Generic column, Identify
# and I/O passthrough through it (data written there is read back through the block
# device and the other way round), and blktests nvme/046's unprivileged rules: each
# command's outcome for an unprivileged user (the device made world-readable) must be
# what it is under nvme.ko on the same controller, and what nvme/046 expects.
# Expects RN_SERIAL.
. /guest/tests/lib.sh

ng=/dev/ng0n1

# as_nobody CMD: runs CMD as an unprivileged user; prints 0 on success, 1 on failure.
as_nobody() { su nobody -s /bin/sh -c "$1" >/dev/null 2>&1 && echo 0 || echo 1; }

# unpriv_rules: the outcomes of blktests nvme/046's five commands, one word.
unpriv_rules() {
	chmod o+r $ng
	printf '%s' "read=$(as_nobody "nvme io-passthru $ng --opcode 2 --data-len 4096 --namespace-id 1 --read")"
	printf '%s' " write=$(as_nobody "echo hello | nvme io-passthru $ng --opcode 1 --data-len 4096 --namespace-id 1 --read")"
	printf '%s' " id-ns=$(as_nobody "nvme id-ns $ng")"
	printf '%s' " id-ctrl=$(as_nobody "nvme id-ctrl $ng")"
	printf '%s\n' " ns-descs=$(as_nobody "nvme ns-descs $ng")"
	chmod o-r $ng
}

# What nvme/046 expects: reads and the Identify structures needed to form I/O commands
# succeed, writing through a read-only open and other Identify structures do not.
NVME046="read=0 write=1 id-ns=0 id-ctrl=0 ns-descs=1"

# priv_rules: what an unprivileged user with the node open for writing may not do: a
# Format NVM through it, a vendor-specific I/O command (opcode 80h), a Write through a
# read-only open; one word.
priv_rules() {
	chmod o+rw $ng
	printf '%s' "format=$(as_nobody "nvme format $ng --lbaf=0 --force")"
	printf '%s' " vendor=$(as_nobody "nvme io-passthru $ng --opcode 0x80 --data-len 4096 --namespace-id 1 --read")"
	printf '%s\n' " read-rw=$(as_nobody "nvme io-passthru $ng --opcode 2 --data-len 4096 --namespace-id 1 --read")"
	chmod o-rw $ng
}

# The device's row of `nvme list` (nvme-cli 2.3: Generic in columns 23-43).
list_row() { nvme list 2>/dev/null | grep '^/dev/nvme0n1 '; }

# nvme.ko on the same controller.
check "nvme.ko binds the controller (reference)" c_load
check "nvme.ko: $ng appears" wait_for 30 [ -c $ng ]
check "nvme.ko: /dev/nvme0n1 opens" wait_for 30 dd if=/dev/nvme0n1 of=/dev/null bs=512 count=1
c_row=$(list_row)
c_listv=$(nvme list -v 2>&1)
c_idns=$(nvme id-ns $ng 2>&1)
c_rules=$(unpriv_rules)
c_priv=$(priv_rules)
c_mode=$(stat -c %a $ng)
diag "nvme.ko: $c_rules, mode $c_mode"
diag "nvme.ko: $c_row"
check "nvme.ko unloads" wait_for 10 c_unload
check "$ng goes with nvme.ko" wait_for 10 [ ! -e $ng ]

check "insmod" rn_load
check "$ng appears" wait_for 30 [ -c $ng ]
check "/dev/nvme0n1 opens" wait_for 30 dd if=/dev/nvme0n1 of=/dev/null bs=512 count=1
expect_eq "$ng is the class device's number" "$(cat /sys/class/nvme-generic/ng0n1/dev)" \
	"$(printf '%d:%d' 0x$(stat -c %t $ng) 0x$(stat -c %T $ng))"
check "ng0n1 is a child of the controller" [ -d /sys/class/nvme/nvme0/ng0n1 ]
expect_eq "ng0n1 links to the controller's device" "$(readlink -f /sys/class/nvme/nvme0)" \
	"$(readlink -f /sys/class/nvme-generic/ng0n1/device)"
expect_eq "$ng's mode as nvme.ko's" "$c_mode" "$(stat -c %a $ng)"
row=$(list_row)
diag "rust_nvme: $row"
expect_eq "nvme list: the Generic column" $ng "$(echo "$row" | cut -c23-43 | sed 's/ *$//')"
expect_eq "nvme list: the row as nvme.ko's" "$c_row" "$row"
listv=$(nvme list -v 2>&1)
expect_eq "nvme list -v as under nvme.ko" "$c_listv" "$listv"
check "nvme list -v names the generic device" sh -c "echo \"\$1\" | grep -q ng0n1" _ "$listv"
expect_eq "nvme id-ns $ng as under nvme.ko" "$c_idns" "$(nvme id-ns $ng 2>&1)"
expect_eq "nvme id-ns $ng: nsze is the disk's size" "$(cat /sys/block/nvme0n1/size)" \
	"$(( $(nvme id-ns $ng | sed -n 's/^nsze *: *//p') ))"

# Data through the generic device, compared with the block device.
dd if=/dev/urandom of=/tmp/in bs=4096 count=4 2>/dev/null
check "nvme write through $ng (16 KiB at LBA 4096)" \
	nvme write $ng -s 4096 -c 31 -z 16384 -d /tmp/in
echo 3 > /proc/sys/vm/drop_caches
dd if=/dev/nvme0n1 of=/tmp/dd.out bs=512 skip=4096 count=32 iflag=direct 2>/dev/null
check "dd reads back what was written through $ng" cmp /tmp/in /tmp/dd.out
dd if=/dev/urandom of=/tmp/in2 bs=4096 count=4 2>/dev/null
dd if=/tmp/in2 of=/dev/nvme0n1 bs=512 seek=12288 oflag=direct conv=fsync 2>/dev/null
check "nvme read through $ng (16 KiB at LBA 12288)" \
	nvme read $ng -s 12288 -c 31 -z 16384 -d /tmp/rd.out
check "$ng reads what dd wrote" cmp /tmp/in2 /tmp/rd.out

# Unprivileged, as nvme/046 runs it.
rules=$(unpriv_rules)
diag "rust_nvme: $rules"
expect_eq "unprivileged commands on $ng: as nvme/046 expects" "$NVME046" "$rules"
expect_eq "unprivileged commands on $ng: as under nvme.ko" "$c_rules" "$rules"
priv=$(priv_rules)
diag "rust_nvme: $priv; nvme.ko: $c_priv"
expect_eq "unprivileged Format and vendor-specific commands refused, reads allowed" \
	"format=1 vendor=1 read-rw=0" "$priv"
expect_eq "and as under nvme.ko" "$c_priv" "$priv"

# The device goes with the driver.
check "rmmod" rn_unload
check "$ng goes with the driver" wait_for 10 [ ! -e $ng ]
check "/sys/class/nvme-generic is empty" [ -z "$(ls /sys/class/nvme-generic 2>/dev/null)" ]
finish
