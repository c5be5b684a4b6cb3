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

rn_load()   { insmod "$RN_KO" "$@"; }
rn_unload() { rmmod rust_nvme; }
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
c_load()   { insmod $MODDIR/nvme-core.ko && insmod $MODDIR/nvme.ko; }
c_unload() { rmmod nvme && rmmod nvme_core; }

finish() { exit $FAILED; }

# Succeeds when rust_nvme is bound to exactly the NVMe functions present.
rn_all_bound() {
	[ "$(echo $(nvme_functions))" = "$(echo $(rn_bound))" ]
}
