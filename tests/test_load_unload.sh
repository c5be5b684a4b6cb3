#!/bin/sh
# Load/unload five times; every load binds every controller, every unload releases it.
. /guest/tests/lib.sh

i=1
while [ $i -le 5 ]; do
	check "load #$i" rn_load
	check "load #$i binds every controller" wait_for 10 rn_all_bound
	check "unload #$i" rn_unload
	i=$((i + 1))
done
check "module is gone" sh -c '! grep -q "^rust_nvme " /proc/modules'
finish
