#!/bin/sh
# Guest /init: mount the pseudo file systems, run /guest/run.sh, report its status on the
# console as "rn-exit: N" (the VM runner reads it) and power off. With /guest/shell present
# it drops to an interactive shell after the script instead.
export PATH=/usr/bin:/usr/sbin:/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
echo "rn-init: started"
cd /guest
rc=0
if [ -f /guest/run.sh ]; then
	sh /guest/run.sh </dev/console >/dev/console 2>&1
	rc=$?
fi
if [ -f /guest/shell ]; then
	echo "rn-init: guest shell; 'poweroff -f' to leave"
	setsid cttyhack sh
fi
echo "rn-exit: $rc"
sync
poweroff -f
