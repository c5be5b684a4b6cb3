#!/bin/sh
# A long admin passthrough command: Format NVM of a namespace whose backend takes 2 s
# per request (nvme0n2), with admin_timeout=1. The caller's timeout is honoured
# (the format, Format NVM through nvme admin-passthru --timeout, completes with no reset;
# Debian's nvme format passes no timeout), and admin commands run beside it: nvme id-ctrl
# finishes while the format is still going. Then removal during such a format: the
# ioctl is interrupted (EINTR) instead of holding up unbind for its timeout. Last,
# 1 ms timeouts on such a format with a data buffer: the waiter gives up, the buffer
# stays the command's. While the format runs, its ioctl sleeps instead of polling.
. /guest/tests/lib.sh

check "insmod admin_timeout=1" rn_load admin_timeout=1
check "/dev/nvme0n1 appears" wait_disk nvme0n1
check "/dev/nvme0n2 (the slow one) appears" wait_disk nvme0n2
check "controller state is live" wait_for 10 grep -qx live /sys/class/nvme/nvme0/state
addr=$(cat /sys/class/nvme/nvme0/address)
log_clear

start=$(date +%s)
nvme admin-passthru /dev/nvme0 --opcode=0x80 --namespace-id=2 --timeout=120000 >/tmp/fmt.out 2>&1 &
fpid=$!
sleep 1.5
check "the format is still running past admin_timeout" kill -0 $fpid
# Its ioctl sleeps until the completion's interrupt (looking again every 20 ms), as C's
# blk_execute_rq does, rather than polling every 100 us (under TCG some 280 wake-ups a second).
cs() { sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' /proc/$fpid/status; }
c0=$(cs)
sleep 0.5
c1=$(cs)
check "the format was still running across the look" kill -0 $fpid
check "its waiter sleeps: woken $((c1 - c0)) times in 0.5 s (polling every 100 us: over a hundred)" \
	[ $((c1 - c0)) -lt 60 ]
# (I/O to every namespace waits meanwhile: Format NVM runs with all queues frozen.)
check "nvme id-ctrl runs beside it" sh -c "nvme id-ctrl /dev/nvme0 >/dev/null"
check "and was done while the format still ran" kill -0 $fpid
wait $fpid
rc=$?
elapsed=$(( $(date +%s) - start ))
sed 's/^/# /' /tmp/fmt.out
check "the format succeeds after ${elapsed}s (timeout_ms honoured past admin_timeout)" [ $rc -eq 0 ]
check "it took longer than admin_timeout" [ $elapsed -ge 2 ]
check "no reset happened" sh -c "! dmesg | grep -q 'resetting controller'"
check "verified I/O afterwards" rn_fio --name=after --rw=randwrite --bs=4k \
	--filename=/dev/nvme0n1 --iodepth=8 --size=8M --verify=crc32c --verify_fatal=1

nvme admin-passthru /dev/nvme0 --opcode=0x80 --namespace-id=2 --timeout=120000 >/tmp/fmt2.out 2>&1 &
fpid=$!
sleep 1
check "a second format is running" kill -0 $fpid
t0=$(date +%s)
check "unbind during the format" sh -c "echo $addr > /sys/bus/pci/drivers/rust_nvme/unbind"
t=$(( $(date +%s) - t0 ))
# Unbind stops waiting for the command at once (EINTR); shutting the controller down
# then waits for QEMU to drain the format's writes, not for the 120 s timeout.
check "unbind took ${t}s, not the format's timeout" [ $t -lt 30 ]
wait $fpid
rc=$?
sed 's/^/# /' /tmp/fmt2.out
check "the interrupted format's ioctl failed with EINTR" \
	sh -c "[ $rc -ne 0 ] && grep -q 'Interrupted system call' /tmp/fmt2.out"
check "bind again" sh -c "echo $addr > /sys/bus/pci/drivers/rust_nvme/bind"
check "/dev/nvme0n1 is back" wait_disk nvme0n1 30
check "verified I/O after rebinding" rn_fio --name=rebound --rw=randwrite --bs=4k \
	--filename=/dev/nvme0n1 --iodepth=8 --size=8M --verify=crc32c --verify_fatal=1

# Admin commands whose waiter gives up while the controller still holds them: a 1 ms
# timeout on a Format NVM that takes 2 s, with a 4 KiB data buffer attached (the
# controller may write a command's buffer until it completes it or is disabled). The
# ioctl ends at once (EINTR), the controller is reset as after any admin timeout, and
# the buffer stays the command's until then: freed memory is zeroed (init_on_free=1)
# and KFENCE watches, so a buffer freed early and written later would show.
dd if=/dev/urandom of=/tmp/keep bs=1M count=4 2>/dev/null
check "reference data on nvme0n1" dd if=/tmp/keep of=/dev/nvme0n1 bs=1M seek=32 oflag=direct status=none
log_clear
n=0
for i in 1 2 3; do
	t0=$(date +%s)
	nvme admin-passthru /dev/nvme0 --opcode=0x80 --namespace-id=2 --timeout=1 \
		--data-len=4096 --read >/tmp/fmt3.out 2>&1 && continue
	grep -q 'Interrupted system call' /tmp/fmt3.out || continue
	[ $(( $(date +%s) - t0 )) -lt 10 ] || continue
	wait_for 30 grep -qx live /sys/class/nvme/nvme0/state || continue
	n=$((n + 1))
done
expect_eq "three 1 ms Format timeouts ended the ioctl (EINTR) and the controller came back" 3 $n
check "each timed out after 1 ms" \
	sh -c "[ \$(dmesg | grep -c 'admin command passthrough .* timed out after 1 ms') -ge 3 ]"
check "and reset the controller" sh -c "[ \$(dmesg | grep -c 'resetting controller') -ge 3 ]"
check "reference data intact" \
	sh -c "dd if=/dev/nvme0n1 bs=1M skip=32 count=4 iflag=direct status=none | cmp -s - /tmp/keep"
check "verified I/O after the timeouts" rn_fio --name=late --rw=randwrite --bs=4k \
	--filename=/dev/nvme0n1 --iodepth=8 --size=8M --verify=crc32c --verify_fatal=1

check "rmmod" rn_unload
finish
