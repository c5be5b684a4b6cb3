// SPDX-License-Identifier: GPL-2.0

//! `/dev/nvme<N>`: the controller character device (C: `nvme_dev_fops`), and
//! `/dev/ng<N>n<M>`: the generic character device of each namespace (C:
//! `nvme_ns_chr_fops`).
//!
//! One character device region named `nvme` covers every instance number; minor `N` is
//! controller `nvme<N>`, whose class device carries that device number (so devtmpfs and
//! udev create `/dev/nvme<N>`). Each controller has its own character device
//! ([`Cdev<Ctrl>`](crate::abstractions::chrdev::Cdev), as C embeds a `cdev` in each
//! controller) from probe until its removal starts; an open file keeps its own reference
//! to the controller, so ioctls on a file opened before removal fail cleanly.
//!
//! A namespace's generic device (class `nvme-generic`, a child of `nvme<N>`, minors of
//! its own region, lowest free first) exists for every namespace that has a disk, also
//! those the block layer cannot address (capacity 0) or whose command set has no block
//! device: passthrough reaches them there. Its files keep a reference to the disk, whose
//! queue refuses new commands once the namespace is removed.

use core::fmt::Write;

use kernel::{
    device::Device,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        ArcBorrow, //
    },
};

use crate::{
    abstractions::{
        chrdev::{
            self,
            Cdev,
            FileOps, //
        },
        class::{
            self,
            Class,
            ClassData,
            ClassDevice, //
        },
        global::global_mutex,
        io_uring::{
            IoUringCmd,
            Queued, //
        },
        sysfs::Groups,
    },
    ctrl::{
        Ctrl,
        DiskRef,
        State,
        MAX_INSTANCES, //
    },
    mq::NameBuf,
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
        crate::uapi::ioctl::ctrl_ioctl(ctrl, cmd, arg, writable)
    }

    const URING_CMD: bool = true;

    fn uring_cmd(
        ctrl: ArcBorrow<'_, Ctrl>,
        cmd: IoUringCmd<'_>,
        _writable: bool,
    ) -> Result<Queued> {
        // Admin commands wait for their completion: a reference of their own is cheap
        // next to that.
        crate::uapi::uring::ctrl_uring_cmd(&ctrl.into(), cmd)
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

/// The registered character device regions (`nvme`, `nvme-generic`) and the class
/// `nvme-generic`; unregistered on drop.
pub(crate) struct Region {
    /// Declared first: the class goes before the regions, as C unregisters it first.
    _ng_class: class::Registration,
    _ng: chrdev::Region,
    _nvme: chrdev::Region,
}

impl Region {
    /// Registers the `nvme` and `nvme-generic` character device regions and the
    /// `nvme-generic` class (C: `nvme_core_init`).
    pub(crate) fn new() -> Result<Self> {
        let complain = |e: &Error| {
            pr_err!(
                "cannot register the nvme character devices ({})\n",
                e.to_errno()
            )
        };
        let nvme = chrdev::Region::new(c"nvme", MAX_INSTANCES).inspect_err(complain)?;
        let ng = chrdev::Region::new(c"nvme-generic", NG_MINORS).inspect_err(complain)?;
        let ng_class = NG_CLASS.register().inspect_err(complain)?;
        MAJOR.store(nvme.major(), Relaxed);
        NG_MAJOR.store(ng.major(), Relaxed);
        Ok(Self {
            _ng_class: ng_class,
            _ng: ng,
            _nvme: nvme,
        })
    }
}

/// The major number of the `nvme-generic` region (0 until registered).
static NG_MAJOR: Atomic<u32> = Atomic::new(0);

/// Minors of the `nvme-generic` region (C: `NVME_MINORS`).
const NG_MINORS: u32 = 1 << 20;

/// `/sys/class/nvme-generic`: the namespaces' generic character devices.
static NG_CLASS: Class = Class::new(c"nvme-generic");

/// The attribute groups of a generic device: none, as C's.
static NG_GROUPS: Groups<ClassData<NsChr>, 0> = Groups::new([]);

global_mutex! {
    /// The minors of the `nvme-generic` region in use, one bit each (C:
    /// `nvme_ns_chr_minor_ida`). Lock order: innermost.
    static NG_USED: KVec<u64> = KVec::new();
}

/// A minor of the `nvme-generic` region, taken (lowest free first) until drop.
struct NgMinor(u32);

impl NgMinor {
    fn new() -> Result<Self> {
        let mut used = NG_USED.lock();
        let word = match used.iter().position(|w| *w != u64::MAX) {
            Some(i) => i,
            None => {
                used.push(0, GFP_KERNEL)?;
                used.len() - 1
            }
        };
        let bit = used.get(word).map_or(0, |w| (!w).trailing_zeros());
        let minor = u32::try_from(word)
            .ok()
            .and_then(|w| w.checked_mul(u64::BITS))
            .and_then(|m| m.checked_add(bit))
            .filter(|m| *m < NG_MINORS)
            .ok_or(ENOSPC)?;
        if let Some(w) = used.get_mut(word) {
            *w |= 1 << bit;
        }
        Ok(Self(minor))
    }
}

impl Drop for NgMinor {
    fn drop(&mut self) {
        let mut used = NG_USED.lock();
        if let Some(w) = used.get_mut((self.0 / u64::BITS) as usize) {
            *w &= !(1 << (self.0 % u64::BITS));
        }
    }
}

/// What a file of `/dev/ng<N>n<M>` reaches: the namespace's disk, kept (not its queue:
/// once the namespace is removed, commands fail with `ENODEV`).
pub(crate) struct NsChr {
    disk: DiskRef,
}

impl FileOps for NsChr {
    const COMPAT_IOCTL: bool = true;

    /// C: `nvme_ns_chr_open` takes a reference to the namespace, nothing else.
    fn ioctl(this: &Arc<NsChr>, cmd: u32, arg: usize, writable: bool) -> Result<isize> {
        crate::uapi::ioctl::generic_ioctl(this.disk.view(), cmd, arg, writable)
    }

    const URING_CMD: bool = true;
    // Every queued command is a request on the namespace's queue.
    const URING_CMD_IOPOLL: bool = true;

    fn uring_cmd(
        this: ArcBorrow<'_, NsChr>,
        cmd: IoUringCmd<'_>,
        writable: bool,
    ) -> Result<Queued> {
        crate::uapi::uring::ns_uring_cmd(this.disk.view(), cmd, writable)
    }
}

/// A namespace's generic character device `/dev/ng<N>n<M>` (C: `nvme_add_ns_cdev`),
/// in class `nvme-generic` under the controller's device; deleted on drop.
pub(crate) struct NgDev {
    /// Declared first: the device goes before its character device, as in C's
    /// `cdev_device_del`.
    _dev: ClassDevice<NsChr>,
    _cdev: Cdev<NsChr>,
    _minor: NgMinor,
}

/// Creates `/dev/ng<instance>n<disk_id>` for `disk` under the controller device `parent`.
///
/// # Errors
///
/// `ENOSPC` when no minor is free, `ENOMEM`, what the driver core says.
pub(crate) fn ng_device(
    disk: DiskRef,
    instance: u32,
    disk_id: u32,
    parent: &Device,
) -> Result<KBox<dyn Send + Sync>> {
    let minor = NgMinor::new()?;
    let devt = chrdev::mkdev(NG_MAJOR.load(Relaxed), minor.0).ok_or(ENODEV)?;
    let data = Arc::new(NsChr { disk }, GFP_KERNEL)?;
    let mut name = NameBuf::default();
    write!(name, "ng{instance}n{disk_id}").map_err(|_| EINVAL)?;
    let name = CStr::from_bytes_with_nul(name.bytes()).map_err(|_| EINVAL)?;
    // The character device first, so that it opens once udev hears of the device.
    let cdev = Cdev::new(devt, data.clone())?;
    let dev = ClassDevice::new(&NG_CLASS, Some(parent), devt, data, &NG_GROUPS, name)?;
    Ok(KBox::new(
        NgDev {
            _dev: dev,
            _cdev: cdev,
            _minor: minor,
        },
        GFP_KERNEL,
    )?)
}
