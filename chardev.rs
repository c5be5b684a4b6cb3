// SPDX-License-Identifier: GPL-2.0

//! `/dev/nvme<N>`: the controller character device (C: `nvme_dev_fops`).
//!
//! One character device region named `nvme` covers every instance number; minor `N` is
//! controller `nvme<N>`, whose class device carries that device number (so devtmpfs and
//! udev create `/dev/nvme<N>`). Opening looks the controller up in [`CTRLS`], which
//! holds each controller from probe until its removal starts; an open file keeps its
//! own reference, so ioctls on a file opened before removal fail cleanly.

use kernel::{
    bindings,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    },
};

use crate::ctrl::{
    Ctrl,
    State,
    MAX_INSTANCES, //
};

kernel::sync::global_lock! {
    // SAFETY: Initialised by `Region::new` (module init) before the PCI driver registers.
    unsafe(uninit) static CTRLS: Mutex<[Option<Arc<Ctrl>>; MAX_INSTANCES as usize]> =
        [const { None }; MAX_INSTANCES as usize];
}

/// The major number of the region (0 until registered).
static MAJOR: Atomic<u32> = Atomic::new(0);

/// `MINORBITS`: a device number is `major << 20 | minor`.
const MINOR_BITS: u32 = 20;

/// `FMODE_WRITE`: the file was opened for writing.
const FMODE_WRITE: u32 = 1 << 1;

/// The device number of `/dev/nvme<instance>`.
pub(crate) fn devt(instance: u32) -> bindings::dev_t {
    MAJOR.load(Relaxed) << MINOR_BITS | instance
}

/// Makes `/dev/nvme<N>` open `ctrl` (from probe).
pub(crate) fn publish(ctrl: &Arc<Ctrl>) {
    if let Some(slot) = CTRLS.lock().get_mut(ctrl.instance as usize) {
        *slot = Some(ctrl.clone());
    }
}

/// Stops new opens of `/dev/nvme<instance>` (at the start of removal).
pub(crate) fn unpublish(instance: u32) {
    let old = CTRLS
        .lock()
        .get_mut(instance as usize)
        .and_then(Option::take);
    drop(old);
}

/// The registered character device region; unregistered on drop.
pub(crate) struct Region;

impl Region {
    /// Registers the `nvme` character device region.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: Called once, from module init, before anything uses `CTRLS`.
        unsafe { CTRLS.init() };
        // SAFETY: `FOPS` is a static table; the name is static.
        let major = unsafe {
            bindings::__register_chrdev(0, 0, MAX_INSTANCES, c"nvme".as_ptr().cast(), &FOPS.0)
        };
        if major < 0 {
            pr_err!("cannot register the nvme character devices ({})\n", major);
            return Err(Error::from_errno(major));
        }
        MAJOR.store(major as u32, Relaxed);
        Ok(Self)
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: Registered in `new` with these arguments; every controller is gone and
        // open files pin the module, so no file of this region is open.
        unsafe {
            bindings::__unregister_chrdev(
                MAJOR.load(Relaxed),
                0,
                MAX_INSTANCES,
                c"nvme".as_ptr().cast(),
            )
        };
    }
}

struct Fops(bindings::file_operations);
// SAFETY: The table is immutable.
unsafe impl Sync for Fops {}

static FOPS: Fops = Fops(bindings::file_operations {
    owner: &raw mut bindings::__this_module,
    open: Some(open),
    release: Some(release),
    unlocked_ioctl: Some(ioctl),
    // The structures have the same layout for 32-bit callers (C: `compat_ptr_ioctl`).
    compat_ioctl: Some(ioctl),
    // SAFETY: All-zero is a valid table for the remaining fields.
    ..unsafe { core::mem::zeroed() }
});

/// Opens `/dev/nvme<N>`: only while the controller is live (C: `nvme_dev_open`).
unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> i32 {
    // SAFETY: The VFS passes a live inode of our region.
    let minor = unsafe { (*inode).i_rdev } & ((1 << MINOR_BITS) - 1);
    let ctrl = CTRLS
        .lock()
        .get(minor as usize)
        .and_then(|c| c.as_ref().cloned());
    let Some(ctrl) = ctrl else {
        return ENXIO.to_errno();
    };
    if ctrl.state() != State::Live {
        return EAGAIN.to_errno();
    }
    // SAFETY: `file` is being opened; `private_data` is ours. The reference is returned
    // in `release`.
    unsafe { (*file).private_data = Arc::into_raw(ctrl).cast_mut().cast() };
    0
}

unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> i32 {
    // SAFETY: `open` stored an `Arc<Ctrl>` here; release runs once per open.
    drop(unsafe { Arc::from_raw((*file).private_data.cast::<Ctrl>()) });
    0
}

unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: u32, arg: usize) -> isize {
    // SAFETY: `file` is open (the VFS holds it for the call); `open` stored an
    // `Arc<Ctrl>` in `private_data`, released only in `release`.
    let (ctrl, write) = unsafe {
        let p = (*file).private_data.cast::<Ctrl>();
        (
            kernel::sync::ArcBorrow::from_raw(p),
            (*file).f_mode & FMODE_WRITE != 0,
        )
    };
    let ctrl: Arc<Ctrl> = ctrl.into();
    match crate::ioctl::ctrl_ioctl(&ctrl, cmd, arg, write) {
        Ok(v) => v,
        Err(e) => e.to_errno() as isize,
    }
}
