// SPDX-License-Identifier: GPL-2.0

//! `/dev/nvme<N>`: the controller character device (C: `nvme_dev_fops`).
//!
//! One character device region named `nvme` covers every instance number; minor `N` is
//! controller `nvme<N>`, whose class device carries that device number (so devtmpfs and
//! udev create `/dev/nvme<N>`). Each controller has its own character device
//! ([`Cdev<Ctrl>`](crate::abstractions::chrdev::Cdev), as C embeds a `cdev` in each
//! controller) from probe until its removal starts; an open file keeps its own reference
//! to the controller, so ioctls on a file opened before removal fail cleanly.

use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    },
};

use crate::{
    abstractions::chrdev::{
        self,
        Cdev,
        FileOps, //
    },
    ctrl::{
        Ctrl,
        State,
        MAX_INSTANCES, //
    },
};

/// The major number of the region (0 until registered).
static MAJOR: Atomic<u32> = Atomic::new(0);

/// The device number of `/dev/nvme<instance>` (0, no device, for an instance out of
/// range, which `Ctrl::new` never hands out).
pub(crate) fn devt(instance: u32) -> u32 {
    chrdev::mkdev(MAJOR.load(Relaxed), instance).unwrap_or(0)
}

impl FileOps for Ctrl {
    // The structures have the same layout for 32-bit callers (C: `compat_ptr_ioctl`).
    const COMPAT_IOCTL: bool = true;

    /// Opens `/dev/nvme<N>`: only while the controller is live (C: `nvme_dev_open`).
    fn open(ctrl: &Arc<Ctrl>) -> Result {
        if ctrl.state() != State::Live {
            return Err(EAGAIN);
        }
        Ok(())
    }

    fn ioctl(ctrl: &Arc<Ctrl>, cmd: u32, arg: usize, writable: bool) -> Result<isize> {
        crate::ioctl::ctrl_ioctl(ctrl, cmd, arg, writable)
    }
}

/// Makes `/dev/nvme<N>` open `ctrl` (from probe) until the returned device is removed or
/// dropped.
///
/// # Errors
///
/// `ENOMEM`, or what the kernel says when the device number cannot be mapped.
pub(crate) fn publish(ctrl: &Arc<Ctrl>) -> Result<Cdev<Ctrl>> {
    Cdev::new(devt(ctrl.instance), ctrl.clone())
}

/// The registered character device region; unregistered on drop.
pub(crate) struct Region(#[expect(dead_code, reason = "held for its drop")] chrdev::Region);

impl Region {
    /// Registers the `nvme` character device region.
    pub(crate) fn new() -> Result<Self> {
        let region = chrdev::Region::new(c"nvme", MAX_INSTANCES).inspect_err(|e| {
            pr_err!(
                "cannot register the nvme character devices ({})\n",
                e.to_errno()
            )
        })?;
        MAJOR.store(region.major(), Relaxed);
        Ok(Self(region))
    }
}
