// SPDX-License-Identifier: GPL-2.0

//! Controller instance numbers (`nvme<N>`, the minor of `/dev/nvme<N>`), shared with the
//! subsystems named after a controller (C: `nvme_instance_ida`).

use kernel::{
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
};

/// Controllers the instance allocator can number (and minors of `/dev/nvme<N>`).
pub(crate) const MAX_INSTANCES: u32 = 64;

/// Instance numbers (`nvme<N>`) in use by controllers, one bit each.
static INSTANCES: Atomic<u64> = Atomic::new(0);
/// Instance numbers that name a subsystem (`nvme-subsys<N>`), which outlives the
/// controller it was named after; not given to a new controller while held (C keeps the
/// instance with the subsystem).
static HELD: Atomic<u64> = Atomic::new(0);

/// Takes the lowest instance number neither a controller nor a subsystem uses.
pub(super) fn instance_get() -> Result<u32> {
    loop {
        let used = INSTANCES.load(Relaxed);
        let n = (!(used | HELD.load(Relaxed))).trailing_zeros();
        if n >= MAX_INSTANCES {
            return Err(ENOSPC);
        }
        if INSTANCES.cmpxchg(used, used | (1 << n), Relaxed).is_ok() {
            return Ok(n);
        }
    }
}

/// Marks instance `n` as naming a subsystem (`crate::subsys`).
pub(crate) fn instance_hold(n: u32) {
    update_bits(&HELD, |b| b | 1 << n);
}

/// Ends [`instance_hold`].
pub(crate) fn instance_release(n: u32) {
    update_bits(&HELD, |b| b & !(1 << n));
}

/// Replaces the bits of `a` with `f` of them, atomically.
fn update_bits(a: &Atomic<u64>, f: impl Fn(u64) -> u64) {
    loop {
        let old = a.load(Relaxed);
        if a.cmpxchg(old, f(old), Relaxed).is_ok() {
            return;
        }
    }
}

/// Returns an instance number taken by [`instance_get`].
pub(super) fn instance_put(n: u32) {
    update_bits(&INSTANCES, |b| b & !(1 << n));
}
