// SPDX-License-Identifier: GPL-2.0

//! The controller's devices beside its disks: the class device `nvme<N>` (the disks'
//! parent in sysfs), its place in the subsystem `nvme-subsys<N>` and its hardware
//! monitor. One part of the composed [`Ctrl`]: made by probe and the first bring-up,
//! removed by removal after the disks.

use kernel::{
    device::Device,
    new_mutex,
    prelude::*,
    sync::Mutex, //
};

use super::{
    subsys::Membership,
    Ctrl,
    Interfaces, //
};
use crate::{
    abstractions::class::ClassDevice,
    diag::log::{
        ctrl_err,
        ctrl_warn, //
    },
};

/// The class device, the subsystem membership and the hardware monitor.
///
/// # Lock order
///
/// After the controller's `inner`, before its `hw`: `subsys` -> `class_dev`, and
/// `hwmon` -> `class_dev`. Three locks, not one: a namespace scan holds `class_dev`
/// while its new disk reads the partition table, a read that may wait for a reset, and
/// the reset takes `subsys` (to see that the controller has joined already) and the
/// monitor's readers take `hwmon`; neither may wait for the scan.
#[pin_data]
pub(super) struct Devices {
    /// What the interface layers provide (the subsystem device, the monitor, the
    /// generic character devices of the disks).
    ifaces: &'static Interfaces,
    /// `/sys/class/nvme/nvme<N>`, the parent of the disks; removed after them. It holds
    /// a reference to the controller (its attributes' data): removal breaks the cycle.
    #[pin]
    class_dev: Mutex<Option<ClassDevice<Ctrl>>>,
    /// `/sys/class/nvme-subsystem/nvme-subsys<N>`, joined by the first Identify (the
    /// subsystem list nests inside both this and `class_dev`).
    #[pin]
    subsys: Mutex<Option<Membership>>,
    /// The hardware monitor (`/sys/class/hwmon/hwmon<M>` under `nvme<N>`), from the first
    /// bring-up to removal.
    #[pin]
    hwmon: Mutex<Option<KBox<dyn Send + Sync>>>,
}

impl Devices {
    pub(super) fn new(ifaces: &'static Interfaces) -> impl PinInit<Self> {
        pin_init!(Self {
            ifaces,
            class_dev <- new_mutex!(None),
            subsys <- new_mutex!(None),
            hwmon <- new_mutex!(None),
        })
    }

    pub(super) fn ifaces(&self) -> &'static Interfaces {
        self.ifaces
    }

    /// Takes the locks in their order, for lockdep (see `Ctrl::teach_lock_order`):
    /// `subsys` -> `class_dev` -> what `inside` takes, then `hwmon` -> `class_dev`.
    pub(super) fn teach_lock_order(&self, inside: impl FnOnce()) {
        {
            let subsys = self.subsys.lock();
            let class_dev = self.class_dev.lock();
            inside();
            drop((class_dev, subsys));
        }
        let hwmon = self.hwmon.lock();
        let class_dev = self.class_dev.lock();
        drop((class_dev, hwmon));
    }
}

impl Ctrl {
    /// Gives the controller its class device `nvme<N>` (sysfs attributes, made by the
    /// glue at probe); it goes with the controller's removal.
    pub(crate) fn set_class_device(&self, dev: ClassDevice<Ctrl>) {
        *self.devices.class_dev.lock() = Some(dev);
    }

    /// Runs `f` with the class device, the parent of the controller's disks, held
    /// (removal waits for `f`).
    ///
    /// # Errors
    ///
    /// `ENODEV` when the controller has none (not yet, or no longer); what `f` returns.
    pub(super) fn with_class_device<R>(&self, f: impl FnOnce(&Device) -> Result<R>) -> Result<R> {
        let class_dev = self.devices.class_dev.lock();
        f(class_dev.as_ref().ok_or(ENODEV)?.as_ref())
    }

    /// Sends `KOBJ_CHANGE` with `env` on `nvme<N>`, if it exists.
    pub(super) fn class_device_uevent(&self, env: &CStr) {
        if let Some(d) = self.devices.class_dev.lock().as_ref() {
            d.uevent_change(env);
        }
    }

    /// What the first identification makes visible: the attributes that depend on it
    /// (`hmb`, `cmb*`: C's `nvme_update_attrs`) and the hardware monitor. Later
    /// bring-ups (resets) do not come here (C: `!ctrl->identified`): they may run while
    /// a namespace scan holds `class_dev`, its partition read waiting for that reset.
    pub(super) fn show_identified(&self) {
        if let Some(cd) = self.devices.class_dev.lock().as_ref() {
            if let Err(e) = (self.devices.ifaces.update_ctrl_attrs)(cd) {
                ctrl_warn!(self.instance, "sysfs update failed ({:?})\n", e);
            }
        }
        self.register_hwmon();
    }

    /// Keeps the hardware monitor registration (made by the interfaces' `hwmon`) until
    /// removal.
    fn register_hwmon(&self) {
        let Some(register) = self.devices.ifaces.hwmon else {
            return;
        };
        let mut hw = self.devices.hwmon.lock();
        if hw.is_some() {
            return;
        }
        let (Some(this), Some(cd)) = (
            self.arc(),
            self.devices
                .class_dev
                .lock()
                .as_ref()
                .map(|d| kernel::sync::aref::ARef::from(d.as_ref())),
        ) else {
            return;
        };
        match register(this, &cd) {
            Ok(r) => *hw = Some(r),
            // As C: a controller without a monitor still works.
            Err(e) => ctrl_warn!(self.instance, "no hardware monitor ({:?})\n", e),
        }
    }

    /// Puts the controller into its subsystem (`nvme-subsys<N>`, shared with the other
    /// controllers of its NQN) once it has identified itself (C: `nvme_init_subsystem`).
    ///
    /// # Errors
    ///
    /// As [`Membership::join`]: the subsystem refuses the controller (as C, which then
    /// fails it), or sysfs fails.
    pub(super) fn add_subsystem(&self) -> Result {
        let mut subsys = self.devices.subsys.lock();
        // Joined by the first bring-up. Every later one (a reset) returns here without
        // `class_dev`, which a namespace scan holds while its disk reads the partition
        // table: that read may be waiting for this very reset.
        if subsys.is_some() {
            return Ok(());
        }
        let class_dev = self.devices.class_dev.lock();
        let (Some(cd), Some(ident)) = (class_dev.as_ref(), self.facts.identity()) else {
            return Ok(());
        };
        let m = Membership::join(self, cd, &ident)
            .inspect_err(|e| ctrl_err!(self.instance, "cannot join its subsystem ({:?})\n", e))?;
        *subsys = Some(m);
        Ok(())
    }

    /// Removes the hardware monitor: its readers send admin commands, so it goes before
    /// the teardown.
    pub(super) fn remove_hwmon(&self) {
        drop(self.devices.hwmon.lock().take());
    }

    /// Leaves the subsystem and removes `nvme<N>` (after the disks, its children).
    /// Sysfs users (a `reset_controller` write, refused since `Deleting`) finish before
    /// this returns.
    pub(super) fn remove_devices(&self) {
        drop(self.devices.subsys.lock().take());
        drop(self.devices.class_dev.lock().take());
    }
}
