# Guest-side helpers for rust_nvme tests (sourced by tests/*.sh inside the guest).
# Results are printed as "rn-tap: ok - <what>" / "rn-tap: not ok - <what>"; the host
# (tests/check.py) numbers them into one TAP report together with KUnit's KTAP.

MODDIR=/guest/modules
RN_KO=$MODDIR/rust_nvme.ko
FAILED=0

ok()     { echo "rn-tap: ok - $*"; }
not_ok() { echo "rn-tap: not ok - $*"; FAILED=1; }
skip()   { echo "rn-tap: ok - $* # SKIP"; }
diag()   { echo "# $*"; }

# check "description" command...: one result from a command's exit status.
check() {
	local what=$1; shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# expect_eq "description" expected actual
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi
}

# wait_for SECONDS command...: poll until the command succeeds.
wait_for() {
	local t=$(( $1 * 10 )); shift
	while [ $t -gt 0 ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.1; t=$((t - 1))
	done
	return 1
}

# The kernel log, as the tests read it: log_clear empties it (what follows is this
# step's), log_has PATTERN and log_has_re ERE succeed when a line matches, log_count
# PATTERN prints how many do. Usable with check and wait_for.
log_clear()  { dmesg -c >/dev/null; }
log_has()    { dmesg | grep -q -- "$1"; }
log_has_re() { dmesg | grep -qE -- "$1"; }
log_count()  { dmesg | grep -c -- "$1"; }

# The text base of a loaded module, for the VM runner's stall dumps (scripts/vm.py).
modtext() { echo "rn-modtext: $1 $(cat /sys/module/$1/sections/.text 2>/dev/null)"; }
rn_load()   { insmod "$RN_KO" "$@" && modtext rust_nvme; }
# rmmod fails with EAGAIN while the kernel's own partition scan still holds a disk that
# just appeared open (as with nvme.ko); give it a few seconds.
rn_unload() { wait_for 10 rmmod rust_nvme || rmmod rust_nvme; }
rn_loaded() { grep -q '^rust_nvme ' /proc/modules; }

# The PCI functions bound to rust_nvme.
rn_bound() { ls /sys/bus/pci/drivers/rust_nvme/ 2>/dev/null | grep -E '^[0-9a-f]{4}:'; }

# The PCI function of every NVMe controller (class 0x010802).
nvme_functions() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/class")" = 0x010802 ] && basename "$d"
	done
}

# Loads the C driver on purpose (it must never bind by itself).
c_load()   { insmod $MODDIR/nvme-core.ko && insmod $MODDIR/nvme.ko && modtext nvme_core && modtext nvme; }
c_unload() { rmmod nvme && rmmod nvme_core; }

finish() { exit $FAILED; }

# Succeeds when rust_nvme is bound to exactly the NVMe functions present.
rn_all_bound() {
	[ "$(echo $(nvme_functions))" = "$(echo $(rn_bound))" ]
}

# Waits until the block device /dev/$1 exists.
wait_disk() { wait_for "${2:-30}" [ -b "/dev/$1" ]; }

# fio with direct I/O on io_uring; extra options are passed through.
rn_fio() {
	fio --ioengine=io_uring --direct=1 --group_reporting --output-format=terse \
		--terse-version=3 "$@" >/tmp/fio.out 2>/tmp/fio.err
	local rc=$?
	if [ $rc -ne 0 ]; then
		diag "fio failed ($rc):"; sed 's/^/# /' /tmp/fio.err | tail -20
	fi
	return $rc
}

# Checks disk geometry against "name:sectors:logical_block_size".
check_geometry() {
	local spec=$1 name sectors lbs
	name=${spec%%:*}; sectors=${spec#*:}; sectors=${sectors%%:*}; lbs=${spec##*:}
	expect_eq "$name capacity is $sectors sectors" "$sectors" "$(cat /sys/block/$name/size 2>/dev/null)"
	expect_eq "$name logical block size is $lbs" "$lbs" "$(cat /sys/block/$name/queue/logical_block_size 2>/dev/null)"
}

# Writes and verifies with fio in a loop in the background (a new seed per pass) until
# bg_fio_stop; arguments go to fio (device, pattern, size).
bg_fio_start() {
	rm -f /tmp/bg-stop /tmp/bg-fail /tmp/bg-runs
	(
		n=0
		while [ ! -f /tmp/bg-stop ]; do
			fio --ioengine=io_uring --direct=1 --name=bg$n --verify=crc32c --verify_fatal=1 \
				--randseed=$n "$@" >/tmp/bg-fio.out 2>&1 \
				|| { cp /tmp/bg-fio.out /tmp/bg-fail; break; }
			n=$((n + 1))
		done
		echo $n > /tmp/bg-runs
	) &
	BG_FIO_PID=$!
}

# Stops the loop; fails (showing fio's output) if any pass failed.
bg_fio_stop() {
	touch /tmp/bg-stop
	wait $BG_FIO_PID
	[ -f /tmp/bg-fail ] || return 0
	# fio's error lines, then the end of its report.
	grep -i -m 8 'err\|verify\|bad\|fail' /tmp/bg-fail | sed 's/^/# /'
	sed 's/^/# /' /tmp/bg-fail | tail -8
	return 1
}

# Passes the loop completed.
bg_fio_runs() { cat /tmp/bg-runs 2>/dev/null; }

# bg_fio_check WHAT: stops the loop; one result, naming the passes that ran.
bg_fio_check() {
	if bg_fio_stop; then ok "$1 (passes: $(bg_fio_runs))"; else not_ok "$1"; fi
}

# util-linux tools by path: busybox sh prefers its own applets of the same name, which
# lack options such as blkdiscard -z.
BLKDISCARD=/usr/bin/blkdiscard
FSTRIM=/usr/bin/fstrim

# Records uevents that carry the variable $1 in /tmp/uevents as "DEVPATH ACTION $1=value",
# through the kernel's uevent helper (no udev in the guest); uevent_helper_remove undoes it.
uevent_helper_install() {
	rm -f /tmp/uevents
	printf '#!/bin/sh\n[ -n "$%s" ] && echo "$DEVPATH $ACTION %s=$%s" >> /tmp/uevents\nexit 0\n' \
		"$1" "$1" "$1" > /tmp/uevent-helper
	chmod +x /tmp/uevent-helper
	echo /tmp/uevent-helper > /sys/kernel/uevent_helper
}
uevent_helper_remove() { echo > /sys/kernel/uevent_helper; }

# kmemleak (scanned on demand): kmemleak_start forgets what was allocated so far;
# kmemleak_check WHAT REGEX fails when a scan finds unreferenced objects whose
# allocation backtrace matches REGEX (objects younger than 5 s are not reported yet).
KMEMLEAK=/sys/kernel/debug/kmemleak
kmemleak_start() {
	grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs none /sys/kernel/debug
	echo clear > $KMEMLEAK
}
kmemleak_check() {
	sleep 6
	echo scan > $KMEMLEAK
	echo scan > $KMEMLEAK
	awk -v re="$2" '/^unreferenced object/ { if (hit) n++; hit = 0 } $0 ~ re { hit = 1 }
		END { if (hit) n++; print n + 0 }' $KMEMLEAK > /tmp/leaks
	if [ "$(cat /tmp/leaks)" = 0 ]; then
		ok "$1"
	else
		not_ok "$1 ($(cat /tmp/leaks) leaked objects)"
		head -40 $KMEMLEAK | sed 's/^/# /'
	fi
}
