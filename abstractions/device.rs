// SPDX-License-Identifier: GPL-2.0

//! Properties of a `struct device` that 7.3's `kernel::device::Device` does not expose,
//! and using a device as bound outside the bus callbacks, for as long as the driver stays
//! bound.
//!
//! C header: [`include/linux/device.h`](srctree/include/linux/device.h)
//!
//! A [`Device<Bound>`] reference proves that a driver is bound to the device, which bus
//! callbacks get from the bus. Work items and other code that runs outside them (and may
//! outlive an unbind) borrow one from a [`Binding`] instead: each use holds a
//! [`BoundRef`], and the driver's unbind, through a devres action, first refuses new uses
//! and then waits for the running ones, before the driver core considers the device
//! unbound.

use kernel::{
    bindings,
    device::{
        Bound,
        Device,
        DeviceContext, //
    },
    devres, new_condvar, new_mutex,
    prelude::*,
    sync::{
        aref::ARef,
        Arc,
        CondVar,
        Mutex, //
    },
};

/// What [`Binding::state`] protects.
struct State {
    /// The driver is bound; [`Binding::get`] hands out uses.
    bound: bool,
    /// [`BoundRef`]s that exist.
    users: usize,
}

/// Hands out [`Device<Bound>`] references to a device for as long as the driver that
/// created it is bound.
///
/// # Invariants
///
/// - While `state.bound` is true, the driver that created `self` is bound to `dev`: the
///   flag is only cleared by the devres action registered by [`Binding::new`], which runs
///   when that binding ends (on unbind or a failed probe, before the driver core considers
///   the device unbound).
/// - That action returns only once `state.users` is 0, and `users` counts the
///   [`BoundRef`]s, so the device stays bound while one exists.
#[pin_data]
pub(crate) struct Binding {
    dev: ARef<Device>,
    #[pin]
    state: Mutex<State>,
    /// Signalled when `users` drops to 0.
    #[pin]
    idle: CondVar,
}

/// The devres action that ends a [`Binding`] when the driver unbinds.
struct Revoke(Arc<Binding>);

impl Drop for Revoke {
    fn drop(&mut self) {
        let b = &self.0;
        let mut s = b.state.lock();
        // No new uses; then wait for those that run.
        s.bound = false;
        while s.users != 0 {
            b.idle.wait(&mut s);
        }
    }
}

impl Binding {
    /// Starts handing out uses of `dev`, which the calling driver is bound to (probe),
    /// until it unbinds.
    ///
    /// # Errors
    ///
    /// `ENOMEM`.
    pub(crate) fn new(dev: &Device<Bound>) -> Result<Arc<Self>> {
        let this = Arc::pin_init(
            pin_init!(Self {
                dev: dev.into(),
                state <- new_mutex!(State {
                    bound: true,
                    users: 0
                }),
                idle <- new_condvar!(),
            }),
            GFP_KERNEL,
        )?;
        // INVARIANT: The driver is bound now (`dev` is `Bound`); the action registered here
        // clears `bound` when the binding ends. If registering fails, the action runs at
        // once and `bound` is false from the start.
        devres::register(dev.as_ref(), Revoke(this.clone()), GFP_KERNEL)?;
        Ok(this)
    }

    /// A use of the device as bound; `None` once the driver has begun to unbind.
    ///
    /// The driver's unbind waits for the use to end (its devres actions run after its
    /// remove callback), so a use must not wait for the unbind itself.
    pub(crate) fn get(&self) -> Option<BoundRef<'_>> {
        let mut s = self.state.lock();
        if !s.bound {
            return None;
        }
        s.users = s.users.checked_add(1)?;
        // INVARIANT: Counted in `users`, while `bound`.
        Some(BoundRef { binding: self })
    }
}

/// A use of a device as bound, from [`Binding::get`]; dereferences to the device.
///
/// # Invariants
///
/// Counted in `binding.state.users`, taken while `binding.state.bound` was true.
pub(crate) struct BoundRef<'a> {
    binding: &'a Binding,
}

impl core::ops::Deref for BoundRef<'_> {
    type Target = Device<Bound>;

    fn deref(&self) -> &Device<Bound> {
        // SAFETY: By the type invariants the use is counted and was taken while the driver
        // was bound, and the binding's end waits for the count to drop to 0, so the device
        // stays bound for as long as `self`, which the returned reference cannot outlive.
        unsafe { self.binding.dev.as_bound() }
    }
}

impl Drop for BoundRef<'_> {
    fn drop(&mut self) {
        let b = self.binding;
        let mut s = b.state.lock();
        // Counted by the type invariant, so at least 1.
        s.users = s.users.saturating_sub(1);
        if s.users == 0 {
            b.idle.notify_all();
        }
    }
}

/// The `struct device` behind `dev` (7.3's `Device::as_raw` is private to `kernel`).
pub(crate) fn as_raw<Ctx: DeviceContext>(dev: &Device<Ctx>) -> *mut bindings::device {
    // `Device` is `repr(transparent)` over `Opaque<struct device>`, itself transparent.
    core::ptr::from_ref(dev)
        .cast::<bindings::device>()
        .cast_mut()
}

/// The NUMA node of `dev`, `NUMA_NO_NODE` (-1) if none (C: `dev_to_node`).
pub(crate) fn numa_node(dev: &Device) -> i32 {
    #[cfg(CONFIG_NUMA)]
    {
        // SAFETY: `dev` is a live device (a reference); `numa_node` is a plain field.
        unsafe { (*as_raw(dev)).numa_node }
    }
    #[cfg(not(CONFIG_NUMA))]
    {
        let _ = dev;
        bindings::NUMA_NO_NODE
    }
}
