// SPDX-License-Identifier: GPL-2.0

//! Character devices: a region of device numbers, and one `struct cdev` per device whose
//! open files share an `Arc` of the device's data.
//!
//! C headers: [`include/linux/cdev.h`](srctree/include/linux/cdev.h),
//! [`include/linux/fs.h`](srctree/include/linux/fs.h)
//!
//! As C embeds a `struct cdev` in each device and finds the device from
//! `inode->i_cdev` in `open` (`container_of`), a [`Cdev`] embeds its `struct cdev` with an
//! `Arc` of the data; an open file keeps its own clone of that `Arc` in `private_data`,
//! so nothing needs a global table. The `struct cdev` may be referenced after [`Cdev`]
//! drops (an open file, an `open` in progress), so its memory is freed only when the
//! last reference goes: its parent kobject, embedded beside it, frees both when it is
//! released (C: `cdev_set_parent`).

use core::{
    marker::PhantomData,
    ptr::NonNull, //
};

use kernel::{
    bindings,
    prelude::*,
    str::CStr,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Full, //
        },
        Arc,
        ArcBorrow, //
    },
    types::Opaque,
};

use crate::abstractions::io_uring::{
    self,
    IoUringCmd,
    Queued, //
};

/// `MINORBITS`: a device number is `major << 20 | minor` (C: `MKDEV`).
const MINOR_BITS: u32 = 20;

/// `FMODE_WRITE`: the file was opened for writing.
const FMODE_WRITE: u32 = 1 << 1;

/// The device number of `major`:`minor` (C: `MKDEV`); `None` when either is out of range.
pub(crate) fn mkdev(major: u32, minor: u32) -> Option<u32> {
    if major >= 1 << (32 - MINOR_BITS) || minor >= 1 << MINOR_BITS {
        return None;
    }
    Some(major << MINOR_BITS | minor)
}

/// A range of character device numbers with a dynamically allocated major
/// (C: `alloc_chrdev_region`); released on drop.
///
/// # Invariants
///
/// `base`:`base + count` is registered to this driver until `drop`.
pub(crate) struct Region {
    base: u32,
    count: u32,
}

impl Region {
    /// Allocates `count` minors, from 0, under a new major named `name` (shown in
    /// `/proc/devices`).
    ///
    /// # Errors
    ///
    /// What the kernel says (`EBUSY` when no major is free).
    pub(crate) fn new(name: &'static CStr, count: u32) -> Result<Self> {
        let mut base: bindings::dev_t = 0;
        // SAFETY: `base` is a valid out pointer for the call; `name` is `'static`, as the
        // registration keeps it.
        let ret = unsafe { bindings::alloc_chrdev_region(&mut base, 0, count, name.as_char_ptr()) };
        kernel::error::to_result(ret)?;
        // INVARIANT: Registered just now.
        Ok(Self { base, count })
    }

    /// The major number.
    pub(crate) fn major(&self) -> u32 {
        self.base >> MINOR_BITS
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the range is registered to us.
        unsafe { bindings::unregister_chrdev_region(self.base, self.count) };
    }
}

/// The file operations of a character device whose data is a `T` (shared by `Arc`).
pub(crate) trait FileOps: Send + Sync + Sized + 'static {
    /// Whether 32-bit callers' ioctls go to [`FileOps::ioctl`] unchanged (the ioctl
    /// structures have the same layout for them; C: `compat_ptr_ioctl` on 64-bit x86).
    const COMPAT_IOCTL: bool = false;

    /// A file of the device is being opened (C: `file_operations.open`); an error refuses
    /// the open.
    fn open(_this: &Arc<Self>) -> Result {
        Ok(())
    }

    /// An ioctl on an open file (C: `file_operations.unlocked_ioctl`); `writable` says
    /// whether the file was opened for writing (C: `FMODE_WRITE`).
    fn ioctl(this: &Arc<Self>, cmd: u32, arg: usize, writable: bool) -> Result<isize>;

    /// Whether files take io_uring commands ([`FileOps::uring_cmd`]).
    const URING_CMD: bool = false;

    /// Whether commands queued through
    /// [`DiskView::execute_drv_uring`](crate::abstractions::gendisk::DiskView) may be
    /// polled (`IORING_SETUP_IOPOLL`; C: `uring_cmd_iopoll`). Only for files whose
    /// queued commands all run through it.
    const URING_CMD_IOPOLL: bool = false;

    /// An io_uring command on an open file (C: `file_operations.uring_cmd`), completed
    /// or queued; an error completes it with that error. The file's data is borrowed, not
    /// counted again: this is the I/O path of passthrough.
    fn uring_cmd(
        _this: ArcBorrow<'_, Self>,
        _cmd: IoUringCmd<'_>,
        _writable: bool,
    ) -> Result<Queued> {
        Err(EOPNOTSUPP)
    }
}

/// What a [`Cdev`] allocates: the `struct cdev`, the kobject whose release frees it all,
/// and the data.
///
/// # Invariants
///
/// - `kobj` was initialised with `Vtable::<T>::KTYPE`; it is the parent of `cdev`, which was
///   initialised with `Vtable::<T>::FOPS`. The allocation is a `KBox<Inner<T>>` freed (only)
///   by the release of `kobj`.
/// - `live` is cleared before the `Cdev` deletes `cdev`.
#[repr(C)]
struct Inner<T> {
    kobj: Opaque<bindings::kobject>,
    cdev: Opaque<bindings::cdev>,
    live: Atomic<bool>,
    data: Arc<T>,
}

/// A registered character device (C: `cdev_add`) whose files see `data` ([`FileOps`]);
/// deleted on drop or by [`Cdev::remove`] (C: `cdev_del`).
///
/// # Invariants
///
/// `inner` points to a live `Inner<T>` on which `self` holds one reference to `kobj`;
/// the `struct cdev` was added (until [`Cdev::remove`] clears `live`).
pub(crate) struct Cdev<T: FileOps> {
    inner: NonNull<Inner<T>>,
}

// SAFETY: A `Cdev` only shares the `Inner<T>` (whose fields are the kernel's, synchronised
// by it, an atomic and an `Arc<T>` with `T: Send + Sync`), so it may move between threads.
unsafe impl<T: FileOps> Send for Cdev<T> {}
// SAFETY: As above; `&Cdev` only allows `remove`, which is synchronised by `live`.
unsafe impl<T: FileOps> Sync for Cdev<T> {}

impl<T: FileOps> Cdev<T> {
    /// Registers a character device for device number `devt` whose files see `data`.
    ///
    /// # Errors
    ///
    /// `ENOMEM`; what the kernel says when the number cannot be mapped.
    pub(crate) fn new(devt: u32, data: Arc<T>) -> Result<Self> {
        let inner = KBox::new(
            Inner {
                kobj: Opaque::zeroed(),
                cdev: Opaque::zeroed(),
                live: Atomic::new(true),
                data,
            },
            GFP_KERNEL,
        )?;
        let inner = KBox::into_raw(inner);
        // SAFETY: `inner` is a valid, zeroed (as `kobject_init` and `cdev_init` need), not
        // yet shared allocation. The tables are `'static`. After `kobject_init` the
        // allocation is owned by `kobj`'s reference count (its release frees it): this
        // function holds the one reference. `cdev_set_parent` only records the parent;
        // `cdev_add` takes a reference to it when it succeeds.
        let ret = unsafe {
            let kobj = Opaque::cast_into(&raw const (*inner).kobj);
            let cdev = Opaque::cast_into(&raw const (*inner).cdev);
            bindings::kobject_init(kobj, Vtable::<T>::KTYPE);
            bindings::cdev_init(cdev, Vtable::<T>::FOPS);
            (*cdev).owner = &raw mut bindings::__this_module;
            bindings::cdev_set_parent(cdev, kobj);
            bindings::cdev_add(cdev, devt, 1)
        };
        if let Err(e) = kernel::error::to_result(ret) {
            // SAFETY: The `struct cdev` was not added, so nothing else references `inner`:
            // dropping the one reference to `kobj` frees it.
            unsafe { bindings::kobject_put(Opaque::cast_into(&raw const (*inner).kobj)) };
            return Err(e);
        }
        // INVARIANT: `inner` is live; the reference `kobject_init` made is now `self`'s; the
        // device was added.
        Ok(Self {
            // SAFETY: `KBox::into_raw` does not return null.
            inner: unsafe { NonNull::new_unchecked(inner) },
        })
    }

    fn inner(&self) -> &Inner<T> {
        // SAFETY: By the type invariant, `inner` is live while `self` holds its reference.
        unsafe { self.inner.as_ref() }
    }

    /// Deletes the device (C: `cdev_del`): new opens fail with `ENXIO`; files already open
    /// keep working with their data. Idempotent.
    pub(crate) fn remove(&self) {
        if self.inner().live.xchg(false, Full) {
            // SAFETY: The device was added (type invariant) and not deleted yet: only the
            // caller that cleared `live` gets here. `cdev_del` drops the `struct cdev`'s own
            // reference; open files keep theirs, and `kobj` (which `self` holds) outlives it.
            unsafe { bindings::cdev_del(self.inner().cdev.get()) };
        }
    }
}

impl<T: FileOps> Drop for Cdev<T> {
    fn drop(&mut self) {
        self.remove();
        // SAFETY: `self` holds a reference to `kobj` (type invariant), dropped here; the
        // release frees `inner` when it was the last (no `struct cdev` reference is left).
        unsafe { bindings::kobject_put(self.inner().kobj.get()) };
    }
}

/// The C tables of a [`Cdev`] with data `T`.
struct Vtable<T>(PhantomData<T>);

impl<T: FileOps> Vtable<T> {
    /// `'static` by constant promotion (which the compiler checks for a `&'static`).
    const FOPS: &'static bindings::file_operations = &bindings::file_operations {
        owner: &raw mut bindings::__this_module,
        open: Some(Self::open),
        release: Some(Self::release),
        unlocked_ioctl: Some(Self::ioctl),
        compat_ioctl: if T::COMPAT_IOCTL {
            Some(Self::ioctl)
        } else {
            None
        },
        uring_cmd: if T::URING_CMD {
            Some(Self::uring_cmd)
        } else {
            None
        },
        uring_cmd_iopoll: if T::URING_CMD && T::URING_CMD_IOPOLL {
            Some(io_uring::iopoll)
        } else {
            None
        },
        // All-zero is a valid table for the remaining fields (all optional).
        ..pin_init::zeroed()
    };

    const KTYPE: &'static bindings::kobj_type = &bindings::kobj_type {
        release: Some(Self::release_kobj),
        // All-zero is valid for the remaining fields (all optional).
        ..pin_init::zeroed()
    };

    /// Frees the `Inner<T>` of a kobject.
    ///
    /// # Safety
    ///
    /// - Called by the kobject core only, when the last reference to `kobj` goes.
    /// - `KTYPE` is only used for the `kobj` of an `Inner<T>`, so `kobj` is one.
    unsafe extern "C" fn release_kobj(kobj: *mut bindings::kobject) {
        let kobj = kobj.cast::<Opaque<bindings::kobject>>();
        // SAFETY: Per the function's safety requirements, `kobj` is the `kobj` field of an
        // `Inner<T>`, which was allocated as a `KBox` (type invariant of `Inner`); nothing
        // references it any more (its last reference went, and the `struct cdev` holds one
        // until its own release).
        drop(unsafe { KBox::from_raw(kernel::container_of!(kobj, Inner<T>, kobj)) });
    }

    /// The `Inner<T>` of a file's inode.
    ///
    /// # Safety
    ///
    /// `inode` is the inode a file of a `Cdev<T>` is being opened on, by `chrdev_open`,
    /// which holds a reference to `inode->i_cdev` (that `Cdev`'s `struct cdev`) for the
    /// call.
    unsafe fn inner_of<'a>(inode: *mut bindings::inode) -> &'a Inner<T> {
        // SAFETY: The inode is a character device's, so `i_cdev` is the member of its union
        // in use, set by `chrdev_open`; it is the `cdev` of an `Inner<T>` (only `FOPS` of
        // `Cdev<T>` lead here), kept alive by the reference the caller holds, which keeps its parent
        // `kobj` and thus the allocation alive for the call.
        unsafe {
            let cdev = (*inode)
                .__bindgen_anon_5
                .i_cdev
                .cast::<Opaque<bindings::cdev>>();
            &*kernel::container_of!(cdev, Inner<T>, cdev)
        }
    }

    /// # Safety
    ///
    /// - Called by `chrdev_open` only, on the inode of a `Cdev<T>` (whose `struct cdev` it
    ///   holds a reference to).
    /// - `file` is the file being opened; its `private_data` is ours.
    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: Per the function's safety requirements.
        let inner = unsafe { Self::inner_of(inode) };
        if !inner.live.load(Acquire) {
            return ENXIO.to_errno();
        }
        if let Err(e) = T::open(&inner.data) {
            return e.to_errno();
        }
        // SAFETY: `file` is being opened (safety requirements); the reference stored here is
        // dropped by `release`, once per successful open.
        unsafe { (*file).private_data = Arc::into_raw(inner.data.clone()).cast_mut().cast() };
        0
    }

    /// # Safety
    ///
    /// - Called by the VFS only, once, when the last reference to a file that
    ///   [`Self::open`] opened goes.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: `open` stored an `Arc<T>` in `private_data` (safety requirements); this
        // is the one call that gives it back.
        drop(unsafe { Arc::<T>::from_raw((*file).private_data.cast::<T>()) });
        0
    }

    /// # Safety
    ///
    /// - Called by the VFS only, on a file that [`Self::open`] opened, held for the call.
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: `file` is open (safety requirements), so `private_data` holds the
        // `Arc<T>` that `open` stored, released only by `release`, which cannot run during
        // the call; `f_mode` does not change after open.
        let (data, writable) = unsafe {
            (
                ArcBorrow::<T>::from_raw((*file).private_data.cast::<T>()),
                (*file).f_mode & FMODE_WRITE != 0,
            )
        };
        let data: Arc<T> = data.into();
        match T::ioctl(&data, cmd, arg as usize, writable) {
            Ok(v) => v as c_long,
            Err(e) => e.to_errno() as c_long,
        }
    }

    /// # Safety
    ///
    /// - Called by io_uring only, for a command on a file that [`Self::open`] opened
    ///   (held by the command), with the issue flags io_uring chose.
    unsafe extern "C" fn uring_cmd(cmd: *mut bindings::io_uring_cmd, issue_flags: c_uint) -> c_int {
        // SAFETY: The command is live and its file open (safety requirements), so
        // `private_data` holds the `Arc<T>` that `open` stored; `f_mode` does not change
        // after open. The command is only used during this call or until completed.
        let (data, writable, cmd) = unsafe {
            let cmd = IoUringCmd::from_raw(cmd, issue_flags);
            let file = cmd.file();
            (
                ArcBorrow::<T>::from_raw((*file).private_data.cast::<T>()),
                (*file).f_mode & FMODE_WRITE != 0,
                cmd,
            )
        };
        match T::uring_cmd(data, cmd, writable) {
            Ok(_queued) => -io_uring::EIOCBQUEUED,
            Err(e) => e.to_errno(),
        }
    }
}
