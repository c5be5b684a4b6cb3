// SPDX-License-Identifier: GPL-2.0

//! Properties of a `struct device` that 7.3's `kernel::device::Device` does not expose.
//!
//! C header: [`include/linux/device.h`](srctree/include/linux/device.h)

use kernel::{
    bindings,
    device::{
        Device,
        DeviceContext, //
    },
};

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
