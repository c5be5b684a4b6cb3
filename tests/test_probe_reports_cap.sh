#!/bin/sh
# The module loads, binds to the emulated controller and reports VS and CAP as QEMU
# exposes them; rmmod unbinds.
# Expects RN_EXPECT_VS ("1.4.0") and RN_EXPECT_CAP ("CAP.MQES 2047 CAP.TO 15 CAP.DSTRD 0").
. /guest/tests/lib.sh

fns=$(nvme_functions)
check "an NVMe controller is present (class 0x010802)" [ -n "$fns" ]
check "the C nvme driver did not bind by itself" [ ! -e /sys/bus/pci/drivers/nvme ]

log_clear
check "insmod rust_nvme.ko" rn_load
check "rust_nvme binds to every NVMe controller" wait_for 10 rn_all_bound
cap_line() { dmesg | grep -E '^(\[[^]]*\] )?nvme nvme[0-9]+: NVMe .* controller: CAP' | head -1; }
wait_for 30 log_has 'controller: CAP'
line=$(cap_line)
diag "$line"
case "$line" in
*"NVMe $RN_EXPECT_VS controller: $RN_EXPECT_CAP "*) ok "VS $RN_EXPECT_VS and $RN_EXPECT_CAP reported" ;;
*) not_ok "VS $RN_EXPECT_VS and $RN_EXPECT_CAP reported (got: $line)" ;;
esac
check "rmmod rust_nvme" rn_unload
check "no function is bound after rmmod" [ -z "$(rn_bound)" ]
finish
