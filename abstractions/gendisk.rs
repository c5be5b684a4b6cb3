// SPDX-License-Identifier: GPL-2.0

//! Disks on a blk-mq tag set: the gendisk, its queue limits and their update, queue
//! freezing, the block device operations, and driver-private requests on its queue.
//!
//! C header: [`include/linux/blkdev.h`](srctree/include/linux/blkdev.h)

use core::{
    ffi::{
        c_int,
        c_void, //
    },
    marker::PhantomData,
    ptr, //
};

use kernel::{
    bindings,
    device::Device,
    prelude::*,
    sync::Arc, //
};

use crate::abstractions::{
    blk_mq::{
        request::pdu_of,
        BlkStatus,
        Operations,
        TagSet, //
    },
    device::as_raw,
    sysfs::DataSource,
};

mod bdev;
mod limits;

use bdev::BdevVTable;

pub(crate) use bdev::{
    BlkZone,
    DiskOperations,
    ZoneReport, //
};
pub(crate) use limits::{
    IntegrityCsum,
    IntegrityLimits,
    QueueLimits,
    ZonedLimits, //
};

// `include/linux/blk-integrity.h`, which the bindings do not include (7.3's signature;
// `rq` is a `struct request *`).
extern "C" {
    fn blk_rq_integrity_map_user(rq: *mut c_void, ubuf: *mut c_void, bytes: isize) -> c_int;
}

/// `ITER_SOURCE`/`ITER_DEST` (`include/linux/uio.h`): the user memory is read (a write
/// to the device) or written.
const ITER_SOURCE: c_int = 1;
const ITER_DEST: c_int = 0;

/// A disk, borrowed for `'a`, during which something (an open block device, a
/// [`DiskRef`]) keeps its gendisk alive.
///
/// # Invariants
///
/// `disk` is a gendisk created by [`GenDisk<T>::new`], alive for `'a`.
pub(crate) struct DiskView<'a, T: Operations> {
    disk: *mut bindings::gendisk,
    _p: PhantomData<(&'a (), T)>,
}

impl<T: Operations> Clone for DiskView<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Operations> Copy for DiskView<'_, T> {}

impl<'a, T: Operations> DiskView<'a, T> {
    /// # Safety
    ///
    /// `disk` is a `GenDisk<T>`'s gendisk and stays alive for `'a`.
    unsafe fn from_raw(disk: *mut bindings::gendisk) -> Self {
        // INVARIANT: Per the function's safety requirements.
        Self {
            disk,
            _p: PhantomData,
        }
    }

    /// The disk's data (C: `disk->private_data`, also the queue's `queuedata`).
    pub(crate) fn data(&self) -> &'a T::QueueData {
        // SAFETY: By the invariant the gendisk is alive, and with it the data `free_disk`
        // frees.
        unsafe { &*(*self.disk).private_data.cast::<T::QueueData>() }
    }

    /// The disk's request queue, alive for `'a`.
    pub(in crate::abstractions) fn queue_ptr(&self) -> *mut bindings::request_queue {
        // SAFETY: By the invariant the gendisk is alive, and with it its queue.
        unsafe { (*self.disk).queue }
    }

    /// The capacity in 512-byte sectors (C: `get_capacity`).
    pub(crate) fn capacity_sectors(&self) -> u64 {
        // SAFETY: By the invariant the disk is alive; `part0` is its whole-disk device.
        unsafe { ptr::read_volatile(&raw const (*(*self.disk).part0).bd_nr_sectors) }
    }

    /// The logical block size the queue advertises.
    pub(crate) fn block_size(&self) -> u32 {
        // SAFETY: By the invariant the disk, and with it its queue, is alive; the limits
        // are replaced whole under `limits_lock`, so a torn read is at worst stale.
        unsafe { ptr::read_volatile(&raw const (*(*self.disk).queue).limits.logical_block_size) }
    }

    /// The most bytes one request can carry as a single mapping of kernel memory: its
    /// `max_hw_sectors`, and a page per segment (C bounds its zone report buffers so).
    pub(crate) fn max_transfer_bytes(&self) -> usize {
        // SAFETY: By the invariant the disk, and with it its queue, is alive; the limits
        // are replaced whole under `limits_lock`, so a torn read is at worst stale.
        let (hw, segs) = unsafe {
            let l = &raw const (*(*self.disk).queue).limits;
            (
                ptr::read_volatile(&raw const (*l).max_hw_sectors),
                ptr::read_volatile(&raw const (*l).max_segments),
            )
        };
        ((hw as usize) << kernel::block::SECTOR_SHIFT)
            .min((segs as usize) << kernel::page::PAGE_SHIFT)
    }

    /// Sets the queue's request timeout to `ms` milliseconds (C: `blk_queue_rq_timeout`),
    /// for requests started from now on.
    pub(crate) fn set_rq_timeout(&self, ms: u32) {
        let jiffies = kernel::time::msecs_to_jiffies(ms);
        // SAFETY: By the invariant the disk, and with it its queue, is alive; the C
        // function only stores the timeout (a plain word the block layer reads racily).
        unsafe { bindings::blk_queue_rq_timeout((*self.disk).queue, jiffies as u32) };
    }

    /// Runs a driver-private request on the disk's queue and waits for it (C:
    /// `blk_mq_alloc_request` + `blk_rq_map_user` or `blk_rq_map_kern` +
    /// `blk_execute_rq`): `setup` prepares the driver's data, `data` carries the data
    /// (user memory is bounds checked: a bad pointer is `EFAULT`), `timeout_ms` 0 keeps
    /// the queue's timeout, and `done` reads the outcome from the driver's data. User
    /// data is copied back (when bounced) and unpinned after `done`.
    ///
    /// # Errors
    ///
    /// `ENODEV` and others from allocating the request once the disk is being deleted,
    /// `EFAULT`/`EINVAL` from mapping the buffer, what `done` returns, and errors from
    /// copying back.
    pub(crate) fn execute_drv<R>(
        &self,
        write: bool,
        data: DrvData<'_>,
        timeout_ms: u32,
        setup: impl FnOnce(&mut T::Pdu),
        done: impl FnOnce(&T::Pdu, BlkStatus) -> Result<R>,
    ) -> Result<R> {
        let op = if write {
            bindings::req_op_REQ_OP_DRV_OUT
        } else {
            bindings::req_op_REQ_OP_DRV_IN
        };
        // SAFETY: By the invariant the disk and its queue are alive. A request holds a
        // reference on the queue's usage counter until freed, so deleting the disk waits
        // for it: the disk's data and the tag set stay until `blk_mq_free_request`. The
        // request is ours from allocation to free: its driver data is ours to change
        // before `blk_execute_rq` and after it returns. A kernel buffer is borrowed
        // mutably for the whole call, which ends after the request did.
        unsafe {
            let q = (*self.disk).queue;
            let rq = kernel::error::from_err_ptr(bindings::blk_mq_alloc_request(q, op, 0))?;
            setup(&mut *pdu_of::<T>(rq));
            if timeout_ms > 0 {
                (*rq).timeout = kernel::time::msecs_to_jiffies(timeout_ms) as u32;
            }
            let (ret, user) = map_drv_data(q, rq, data, write);
            if ret != 0 {
                bindings::blk_mq_free_request(rq);
                return Err(Error::from_errno(ret));
            }
            let bio = (*rq).bio;
            let sts = BlkStatus::from_raw(bindings::blk_execute_rq(rq, false));
            let r = done(&*pdu_of::<T>(rq), sts);
            // Copies bounced data back to the user and releases the pages; a kernel
            // buffer's bio went with the request's completion.
            let unmapped = if user && !bio.is_null() {
                bindings::blk_rq_unmap_user(bio)
            } else {
                0
            };
            bindings::blk_mq_free_request(rq);
            let r = r?;
            kernel::error::to_result(unmapped)?;
            Ok(r)
        }
    }

    /// Reads the zones of a zoned disk again and rebuilds the block layer's zone state
    /// from them (C: `blk_revalidate_disk_zones`); it calls `report_zones` and freezes
    /// the queue itself. The caller holds no lock that the disk's I/O needs and has not
    /// frozen the queue.
    ///
    /// # Errors
    ///
    /// What the block layer says (`ENODEV` for a zone geometry it refuses).
    pub(crate) fn revalidate_zones(&self) -> Result {
        // SAFETY: By the invariant the disk is alive; the block layer serialises
        // revalidation with the queue's limits lock and freezes the queue itself.
        kernel::error::to_result(unsafe { bindings::blk_revalidate_disk_zones(self.disk) })
    }
}

/// Maps `data` into the driver-private request `rq` of queue `q` (C:
/// `nvme_map_user_request`, `blk_rq_map_kern`): the status, and whether user memory
/// was mapped (to be released with `blk_rq_unmap_user`). On failure nothing stays
/// mapped.
///
/// # Safety
///
/// `rq` is a request of `q` allocated by the caller and not yet executed, for `write`'s
/// direction; a kernel buffer in `data` outlives the request.
pub(in crate::abstractions) unsafe fn map_drv_data(
    q: *mut bindings::request_queue,
    rq: *mut bindings::request,
    data: DrvData<'_>,
    write: bool,
) -> (c_int, bool) {
    let (ret, min_len, meta, meta_len) = match data {
        DrvData::User {
            addr,
            len,
            meta,
            meta_len,
        } if addr != 0 && len != 0 => {
            // SAFETY: Per the function's safety requirements; the user pointer is only
            // handed to the block layer, which checks it.
            let ret = unsafe {
                bindings::blk_rq_map_user(
                    q,
                    rq,
                    ptr::null_mut(),
                    addr as usize as *mut c_void,
                    len as _,
                    bindings::GFP_KERNEL,
                )
            };
            (ret, 0, meta, meta_len)
        }
        DrvData::UserVec {
            iov,
            count,
            min_len,
            meta,
            meta_len,
        } if iov != 0 && count != 0 => {
            let dir = if write { ITER_SOURCE } else { ITER_DEST };
            // SAFETY: As above; the block layer reads and checks the iovec array.
            let ret = unsafe {
                bindings::blk_rq_map_user_io(
                    rq,
                    ptr::null_mut(),
                    iov as usize as *mut c_void,
                    count as _,
                    bindings::GFP_KERNEL,
                    true,
                    0,
                    false,
                    dir,
                )
            };
            (ret, min_len, meta, meta_len)
        }
        DrvData::Kernel(buf) if !buf.is_empty() => {
            let ret = match u32::try_from(buf.len()) {
                // SAFETY: Per the function's safety requirements the buffer outlives the
                // request.
                Ok(len) => unsafe {
                    bindings::blk_rq_map_kern(
                        rq,
                        buf.as_mut_ptr().cast(),
                        len,
                        bindings::GFP_KERNEL,
                    )
                },
                Err(_) => EINVAL.to_errno(),
            };
            // A kernel buffer's bio goes with the request's completion.
            return (ret, false);
        }
        _ => return (0, false),
    };
    // SAFETY: `rq` is the caller's; its user data was mapped above when `ret` is 0.
    unsafe { finish_user_map(rq, ret, min_len, meta, meta_len) }
}

/// Completes the mapping of user memory into the driver-private request `rq`, whose
/// data mapping returned `ret`: the request must carry at least `min_len` bytes (a
/// vector's array is read again by the mapping: a caller that changed it meanwhile gets
/// `EINVAL`), and `meta_len` bytes of user metadata at `meta` (none when either is 0)
/// become its integrity payload. The status, and whether user memory stays mapped (to
/// be released with `blk_rq_unmap_user`); on failure nothing stays mapped.
///
/// # Safety
///
/// `rq` is a request allocated by the caller and not yet executed; when `ret` is 0 its
/// data was just mapped from user memory (`blk_rq_map_user*`) and nothing else.
pub(in crate::abstractions) unsafe fn finish_user_map(
    rq: *mut bindings::request,
    mut ret: c_int,
    min_len: u32,
    meta: u64,
    meta_len: u32,
) -> (c_int, bool) {
    // SAFETY: `rq` is the caller's; mapped if `ret` is 0.
    if ret == 0 && unsafe { (*rq).__data_len } < min_len {
        // SAFETY: Mapped: released here, so nothing stays mapped.
        unsafe { bindings::blk_rq_unmap_user((*rq).bio) };
        ret = EINVAL.to_errno();
    }
    if ret == 0 && meta != 0 && meta_len != 0 {
        // Pins or bounces the user's metadata as the request's integrity payload (C:
        // `nvme_map_user_request`); released with the data.
        // SAFETY: `rq` has its user data mapped; the block layer checks the user
        // pointer.
        ret = unsafe {
            blk_rq_integrity_map_user(rq.cast(), meta as usize as *mut c_void, meta_len as isize)
        };
        if ret != 0 {
            // SAFETY: The data was mapped: released so that nothing stays mapped.
            unsafe { bindings::blk_rq_unmap_user((*rq).bio) };
        }
    }
    (ret, ret == 0)
}

/// The data of a driver-private request ([`DiskView::execute_drv`]).
pub(crate) enum DrvData<'a> {
    /// `len` bytes of user memory at `addr` (none when either is 0), and `meta_len`
    /// bytes of metadata at `meta` (none when either is 0; only with data, on a disk
    /// with an integrity profile), which becomes the request's integrity payload.
    User {
        /// The user address.
        addr: u64,
        /// Bytes.
        len: u32,
        /// The user address of the metadata.
        meta: u64,
        /// Bytes of metadata.
        meta_len: u32,
    },
    /// A kernel buffer (kmalloc or vmalloc memory; at most the queue's transfer limit).
    Kernel(&'a mut [u8]),
    /// The user memory an array of `count` `struct iovec`s at `iov` describes (C:
    /// `blk_rq_map_user_io` with `vec`), of at least `min_len` bytes once mapped (the
    /// array is read again by the mapping: a caller that changed it meanwhile gets
    /// `EINVAL`), with metadata as for [`DrvData::User`].
    UserVec {
        /// The user address of the iovec array.
        iov: u64,
        /// Entries in the array.
        count: u32,
        /// Bytes the request must carry at least.
        min_len: u32,
        /// The user address of the metadata.
        meta: u64,
        /// Bytes of metadata.
        meta_len: u32,
    },
}

/// A counted reference to a disk: keeps the gendisk and its data alive (C: `get_device`
/// on its device), though not its queue usable (a deleted disk refuses requests).
///
/// # Invariants
///
/// Holds a reference on the device of `disk`, a `GenDisk<T>`'s gendisk.
pub(crate) struct DiskRef<T: Operations> {
    disk: *mut bindings::gendisk,
    _p: PhantomData<T>,
}

// SAFETY: The reference may be dropped from any task; the gendisk is internally locked.
unsafe impl<T: Operations> Send for DiskRef<T> {}
// SAFETY: `&DiskRef` methods only read the disk or call block-layer functions that lock
// it themselves.
unsafe impl<T: Operations> Sync for DiskRef<T> {}

impl<T: Operations> DiskRef<T> {
    /// The disk, for as long as this reference lives.
    pub(crate) fn view(&self) -> DiskView<'_, T> {
        // SAFETY: The reference (type invariant) keeps the gendisk alive for `'_`.
        unsafe { DiskView::from_raw(self.disk) }
    }

    fn queue(&self) -> *mut bindings::request_queue {
        // SAFETY: The reference (type invariant) keeps the gendisk, and with it its
        // queue, alive.
        unsafe { (*self.disk).queue }
    }

    /// Applies new limits and capacity to the disk in place (C:
    /// `queue_limits_start_update` ... `queue_limits_commit_update`, with the queue
    /// frozen, as `nvme_update_ns_info_block` does): `frozen` runs while no request is in
    /// flight, before the new capacity is announced, if the limits were accepted.
    ///
    /// The freeze waits for the disk's requests in flight; the caller holds no lock that
    /// their completion needs.
    ///
    /// # Errors
    ///
    /// What the block layer says of the new limits (nothing changed then).
    pub(crate) fn update_limits(
        &self,
        lim: &QueueLimits,
        capacity_sectors: u64,
        frozen: impl FnOnce(&T::QueueData),
    ) -> Result {
        let q = self.queue();
        let data = self.view().data();
        // SAFETY: The queue is alive (see `queue`). `limits_lock` is taken as
        // `queue_limits_start_update` takes it, before the freeze as C orders them, and
        // `queue_limits_commit_update` releases it on every path. The freeze taken here
        // is undone below on every path, in a NOIO scope as `blk_mq_freeze_queue` has
        // it, so that reclaim never writes to the frozen queue.
        let ret = unsafe {
            bindings::mutex_lock(&raw mut (*q).limits_lock);
            let mut ql = (*q).limits;
            lim.apply(&mut ql);
            let noio = noio_save();
            bindings::blk_mq_freeze_queue_nomemsave(q);
            let ret = bindings::queue_limits_commit_update(q, &mut ql);
            if ret == 0 {
                // Frozen: no request is in flight, and none starts until the unfreeze
                // below, which orders what `frozen` stores before it.
                frozen(data);
                bindings::set_capacity_and_notify(self.disk, capacity_sectors);
            }
            bindings::blk_mq_unfreeze_queue_nomemrestore(q);
            noio_restore(noio);
            ret
        };
        kernel::error::to_result(ret)
    }
}

impl<T: Operations> Drop for DiskRef<T> {
    fn drop(&mut self) {
        // SAFETY: By the invariant we hold a reference on the disk's device.
        unsafe { bindings::put_device(&raw mut (*(*self.disk).part0).bd_device) };
    }
}

/// `memalloc_noio_save()`, missing from bindings: the current task's allocations do no
/// I/O until [`noio_restore`]. Returns the flag bits it set.
fn noio_save() -> u32 {
    // SAFETY: `get_current` is the running task; only the task itself changes these
    // flags (C does the same non-atomic update).
    unsafe {
        let t = bindings::get_current();
        let set = !(*t).flags & bindings::PF_MEMALLOC_NOIO;
        (*t).flags |= set;
        set
    }
}

/// `memalloc_noio_restore()`: clears the bits [`noio_save`] set.
fn noio_restore(set: u32) {
    // SAFETY: As in `noio_save`: the running task's own flags.
    unsafe { (*bindings::get_current()).flags &= !set };
}

/// Disks whose queues are frozen: none of their requests is in flight and none can start
/// (C: `blk_freeze_queue_start` + `blk_mq_freeze_queue_wait_timeout`), until this drops.
///
/// While it lives the task allocates without I/O (C: `blk_mq_freeze_queue`'s
/// `memalloc_noio_save`): reclaim must not write to a frozen queue and wait for it. It
/// stays with the task that made it (not `Send`), whose flags it restores.
///
/// # Invariants
///
/// This task froze the queue of every disk in `disks` once (undone on drop) and set the
/// NOIO bits `noio` (cleared on drop).
pub(crate) struct Frozen<T: Operations> {
    disks: KVec<DiskRef<T>>,
    noio: u32,
    _not_send: PhantomData<*mut ()>,
}

impl<T: Operations> Frozen<T> {
    /// Freezes the queues of `disks`, waiting at most `timeout` for their requests.
    ///
    /// # Errors
    ///
    /// `EBUSY` when requests are still in flight after `timeout` (nothing stays frozen).
    pub(crate) fn new(disks: KVec<DiskRef<T>>, timeout: kernel::time::Delta) -> Result<Self> {
        let noio = noio_save();
        for d in disks.iter() {
            // SAFETY: The queue is alive (see `DiskRef::queue`).
            unsafe { bindings::blk_freeze_queue_start(d.queue()) };
        }
        // INVARIANT: each queue was frozen once above and the NOIO bits set; dropping `f`
        // undoes both.
        let f = Self {
            disks,
            noio,
            _not_send: PhantomData,
        };
        let start = kernel::time::Instant::<kernel::time::Monotonic>::now();
        for d in f.disks.iter() {
            let left = timeout
                .as_millis()
                .saturating_sub(start.elapsed().as_millis());
            let jiffies = kernel::time::msecs_to_jiffies(left.clamp(1, i64::from(u32::MAX)) as u32);
            // SAFETY: The queue is alive (see `DiskRef::queue`) and was frozen above.
            if unsafe { bindings::blk_mq_freeze_queue_wait_timeout(d.queue(), jiffies as _) } == 0 {
                return Err(EBUSY);
            }
        }
        Ok(f)
    }

    /// The frozen disks.
    pub(crate) fn disks(&self) -> impl Iterator<Item = DiskView<'_, T>> {
        self.disks.iter().map(DiskRef::view)
    }
}

impl<T: Operations> Drop for Frozen<T> {
    fn drop(&mut self) {
        for d in self.disks.iter() {
            // SAFETY: By the invariant this task froze the queue once.
            unsafe { bindings::blk_mq_unfreeze_queue_nomemrestore(d.queue()) };
        }
        // The task that set them (the type is not `Send`).
        noio_restore(self.noio);
    }
}

/// The source of a disk's sysfs attributes: the disk's data.
pub(crate) struct DiskData<T: DiskOperations>(PhantomData<T>);

// SAFETY: Attached devices: the devices of `GenDisk<T>`s, the only users of groups of
// this source (`GenDisk::new`, through `DiskOperations::GROUPS`). Such a disk's `private_data` is its
// `T::QueueData`, which lives until the gendisk is freed, after its attribute files.
unsafe impl<T: DiskOperations> DataSource for DiskData<T> {
    type Data = T::QueueData;

    unsafe fn data<'a>(dev: &'a Device) -> &'a T::QueueData {
        let dev = as_raw(dev);
        // SAFETY: Per the function's safety requirements `dev` is the device of a live
        // `GenDisk<T>`: the `bd_device` of its whole-disk block device (C: `dev_to_disk`),
        // whose data is a `T::QueueData` (type invariant of `GenDisk`).
        unsafe {
            let bdev = kernel::container_of!(dev, bindings::block_device, bd_device);
            &*(*(*bdev).bd_disk).private_data.cast::<T::QueueData>()
        }
    }
}

/// How to add a disk ([`GenDisk::new`]).
pub(crate) struct DiskParams<'a> {
    /// The disk's name (`/dev/<name>`), at most 31 bytes.
    pub(crate) name: &'a [u8],
    /// Queue limits.
    pub(crate) limits: QueueLimits,
    /// Capacity in 512-byte sectors.
    pub(crate) capacity_sectors: u64,
    /// No block interface (C: `GENHD_FL_HIDDEN`): in sysfs, but no block device,
    /// partitions or uevent.
    pub(crate) hidden: bool,
    /// Read-only (C: `set_disk_ro`).
    pub(crate) read_only: bool,
}

/// A gendisk on a [`TagSet<T>`], added to the system, owning a `T::QueueData`.
///
/// # Invariants
///
/// `disk` was allocated on `tagset` and added with `device_add_disk`; its `queuedata`
/// and `private_data` point to its `T::QueueData`, owned by the gendisk (freed by
/// `free_disk`); its `fops` are `BdevVTable<T>`'s.
pub(crate) struct GenDisk<T: DiskOperations> {
    disk: *mut bindings::gendisk,
    /// The disk's queue uses the tag set until the disk is deleted.
    _tagset: Arc<TagSet<T>>,
}

// SAFETY: The gendisk is reference counted and internally locked.
unsafe impl<T: DiskOperations> Send for GenDisk<T> {}
// SAFETY: `&GenDisk` methods only read the disk or call block-layer functions that lock
// it themselves.
unsafe impl<T: DiskOperations> Sync for GenDisk<T> {}

impl<T: DiskOperations> GenDisk<T> {
    /// Creates and adds a disk on `tagset` under `parent` with the attribute groups
    /// `T::GROUPS` (C: `blk_mq_alloc_disk` + `device_add_disk`). A zoned disk has its
    /// zones read before it is added, as C orders it; how that went is the second value
    /// (the disk is added either way, as C adds it on a first scan).
    pub(crate) fn new(
        tagset: Arc<TagSet<T>>,
        data: T::QueueData,
        p: &DiskParams<'_>,
        parent: &Device,
    ) -> Result<(Self, Result)> {
        if p.name.len() >= bindings::DISK_NAME_LEN as usize {
            return Err(EINVAL);
        }
        let data = KBox::into_raw(KBox::new(data, GFP_KERNEL)?);
        // All-zero queue limits mean "use the defaults".
        let mut ql: bindings::queue_limits = pin_init::zeroed();
        p.limits.apply(&mut ql);
        let key = kernel::static_lock_class!();
        // SAFETY: The tag set is allocated; `ql` is initialised; `data` lives as long as
        // the disk; the lock class key is static.
        let disk = unsafe {
            bindings::__blk_mq_alloc_disk(
                tagset.raw(),
                &mut ql,
                data.cast::<c_void>(),
                key.as_ptr(),
            )
        };
        let disk = match kernel::error::from_err_ptr(disk) {
            Ok(d) => d,
            Err(e) => {
                // SAFETY: Leaked above and not handed to anyone.
                drop(unsafe { KBox::from_raw(data) });
                return Err(e);
            }
        };
        // SAFETY: `disk` was just allocated and is not visible to anyone else yet; the
        // name fits (checked above) and the rest of `disk_name` is zero.
        unsafe {
            for (d, s) in (*disk).disk_name.iter_mut().zip(p.name) {
                *d = *s as _;
            }
            (*disk).fops = BdevVTable::<T>::build();
            (*disk).private_data = data.cast::<c_void>();
            if p.hidden {
                (*disk).flags |= bindings::GENHD_FL_HIDDEN as c_int;
            }
            bindings::set_capacity(disk, p.capacity_sectors);
            if p.read_only {
                bindings::set_disk_ro(disk, true);
            }
        }
        let zones = if p.limits.zoned.is_some() && p.capacity_sectors != 0 {
            // SAFETY: `disk` is set up (its operations and data are in place, so the
            // block layer's `report_zones` reaches this disk's data); it is not added
            // yet, so nothing else revalidates it.
            unsafe { DiskView::<T>::from_raw(disk) }.revalidate_zones()
        } else {
            Ok(())
        };
        // SAFETY: `disk` is set up; `parent` is a live device, which the block layer
        // references while the disk is added; the attribute groups are static, and their
        // source `DiskData<T>` finds this disk's data (set above).
        let ret = unsafe { bindings::device_add_disk(as_raw(parent), disk, T::GROUPS.as_ptr()) };
        if ret != 0 {
            // SAFETY: `disk` was never added, so `free_disk` will not run: this drops our
            // reference and then frees the data.
            unsafe {
                bindings::put_disk(disk);
                drop(KBox::from_raw(data));
            }
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: allocated on `tagset` and added; the gendisk owns `data` from here.
        Ok((
            Self {
                disk,
                _tagset: tagset,
            },
            zones,
        ))
    }

    /// Fails all future I/O on the disk (C: `blk_mark_disk_dead`).
    pub(crate) fn mark_dead(&self) {
        // SAFETY: By the invariant the disk is added.
        unsafe { bindings::blk_mark_disk_dead(self.disk) };
    }

    /// The disk, borrowed.
    pub(crate) fn view(&self) -> DiskView<'_, T> {
        // SAFETY: By the invariant the disk is added and alive until `self` drops.
        unsafe { DiskView::from_raw(self.disk) }
    }

    /// A counted reference to the disk.
    pub(crate) fn get(&self) -> DiskRef<T> {
        // SAFETY: By the invariant the disk is alive; this takes a reference on its
        // device.
        unsafe { bindings::get_device(&raw mut (*(*self.disk).part0).bd_device) };
        // INVARIANT: taken above.
        DiskRef {
            disk: self.disk,
            _p: PhantomData,
        }
    }
}

impl<T: DiskOperations> Drop for GenDisk<T> {
    fn drop(&mut self) {
        // SAFETY: By the invariant the disk was added; `del_gendisk` waits for I/O to
        // drain; the data goes with the last reference to the gendisk.
        unsafe {
            bindings::del_gendisk(self.disk);
            bindings::put_disk(self.disk);
        }
    }
}
