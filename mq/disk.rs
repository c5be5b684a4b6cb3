// SPDX-License-Identifier: GPL-2.0

//! Namespace disks: the gendisk and its queue limits, the block device operations (NVMe
//! ioctls, `free_disk`), borrowed and counted references, and passthrough requests.

use super::*;

/// Limits of a namespace's request queue, from Identify Controller and Namespace.
pub(crate) struct Limits {
    /// log2 of the logical block size the disk advertises.
    pub(crate) lba_shift: u32,
    /// Capacity in 512-byte sectors (0: the block layer cannot address the namespace).
    pub(crate) capacity_sectors: u64,
    /// Largest transfer in 512-byte sectors.
    pub(crate) max_hw_sectors: u32,
    /// Controller memory page size.
    pub(crate) page_size: usize,
    /// Volatile write cache present: advertise write back + FUA.
    pub(crate) write_cache: bool,
    /// Smallest preferred I/O (bytes).
    pub(crate) io_min: u32,
    /// Optimal I/O (bytes; 0 when not reported).
    pub(crate) io_opt: u32,
    /// Largest discard in sectors (0: no discard).
    pub(crate) max_discard_sectors: u32,
    /// Discard granularity in bytes.
    pub(crate) discard_granularity: u32,
    /// Largest write zeroes in sectors (0: no write zeroes).
    pub(crate) max_write_zeroes_sectors: u32,
    /// Write zeroes may deallocate (`max_hw_wzeroes_unmap_sectors`).
    pub(crate) wzeroes_unmap: bool,
    /// The tag set has polled queues: the disk supports polled I/O.
    pub(crate) poll: bool,
    /// The controller takes SGLs on I/O queues: requests may have gaps inside a page.
    pub(crate) sgl: bool,
    /// No block interface at all (C: `GENHD_FL_HIDDEN`, for a namespace of a command set
    /// the driver has no block device for): the disk is in sysfs, but has no block
    /// device, partitions or uevent. Takes effect when the disk is added.
    pub(crate) hidden: bool,
}

impl Limits {
    /// Sets the queue limits the driver decides, leaving the rest (user settings, block
    /// layer defaults) as they are (C: `nvme_set_ctrl_limits`, `nvme_update_disk_info`).
    fn apply(&self, ql: &mut bindings::queue_limits) {
        let block = 1u32 << self.lba_shift;
        ql.logical_block_size = block;
        ql.physical_block_size = block;
        ql.io_min = self.io_min.max(block);
        ql.io_opt = self.io_opt;
        if self.max_discard_sectors != 0 {
            ql.max_hw_discard_sectors = self.max_discard_sectors;
            ql.max_discard_segments = DSM_MAX_RANGES as u16;
            ql.discard_granularity = self.discard_granularity.max(block);
        } else {
            ql.max_hw_discard_sectors = 0;
        }
        ql.max_write_zeroes_sectors = self.max_write_zeroes_sectors;
        ql.max_hw_wzeroes_unmap_sectors = if self.wzeroes_unmap {
            self.max_write_zeroes_sectors
        } else {
            0
        };
        ql.max_hw_sectors = self.max_hw_sectors;
        // As C (`nvme_max_drv_segments`): a segment per page of the largest transfer,
        // plus one for an offset start, at most an SGL list page.
        let pages =
            self.max_hw_sectors / (self.page_size >> kernel::block::SECTOR_SHIFT).max(1) as u32;
        ql.max_segments = pages.saturating_add(1).min(u32::from(MAX_SEGMENTS)) as u16;
        // PRPs need every segment boundary inside a request on a controller page
        // boundary; a request with gaps goes out as an SGL where the controller has them
        // (C: `nvme_pci_get_virt_boundary`, `nvme_set_ctrl_limits`).
        ql.virt_boundary_mask = if self.sgl {
            0
        } else {
            (self.page_size - 1) as _
        };
        ql.max_segment_size = u32::MAX;
        // PRP entries must be dword aligned.
        ql.dma_alignment = 3;
        ql.features &= !(BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA | BLK_FEAT_POLL);
        if self.write_cache {
            ql.features |= BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA;
        }
        if self.poll {
            ql.features |= BLK_FEAT_POLL;
        }
    }
}

/// `BLK_OPEN_WRITE`: the block device was opened for writing.
const BLK_OPEN_WRITE: bindings::blk_mode_t = 1 << 1;

/// The `block_device_operations` of our disks: the owner (an open disk pins the module),
/// the NVMe ioctls, and `free_disk`, which frees the namespace with the gendisk.
struct BdevOps(bindings::block_device_operations);

// SAFETY: The table is immutable and only read by the block layer.
unsafe impl Sync for BdevOps {}

static BDEV_OPS: BdevOps = BdevOps(bindings::block_device_operations {
    owner: &raw mut bindings::__this_module,
    ioctl: Some(bdev_ioctl),
    free_disk: Some(free_disk),
    // SAFETY: All-zero is a valid table (every other callback optional).
    ..unsafe { core::mem::zeroed() }
});

/// The namespace ioctls (C: `nvme_ioctl`).
unsafe extern "C" fn bdev_ioctl(
    bdev: *mut bindings::block_device,
    mode: bindings::blk_mode_t,
    cmd: u32,
    arg: usize,
) -> i32 {
    // SAFETY: The block layer calls this for an open block device of one of our disks;
    // the open keeps the gendisk, and with it the namespace, alive. The partition number
    // in `__bd_flags` is set when the block device is created and never changes.
    let (disk, partition) = unsafe {
        (
            DiskView::from_raw((*bdev).bd_disk),
            ptr::read_volatile(&raw const (*bdev).__bd_flags.counter) as u32 & bindings::BD_PARTNO
                != 0,
        )
    };
    match crate::ioctl::ns_ioctl(disk, cmd, arg, mode & BLK_OPEN_WRITE != 0, partition) {
        Ok(v) => v,
        Err(e) => e.to_errno(),
    }
}

/// Frees the namespace once its gendisk goes (C: `nvme_free_ns`).
unsafe extern "C" fn free_disk(disk: *mut bindings::gendisk) {
    // SAFETY: `Disk::new` set `private_data` to a leaked `KBox<NsInfo>`; the block layer
    // calls this exactly once, when the last reference to the gendisk is gone.
    drop(unsafe { KBox::from_raw((*disk).private_data.cast::<NsInfo>()) });
}

/// How a passthrough command ended.
pub(crate) struct PassthruDone {
    /// The CQE status half-word (phase tag in bit 0).
    pub(crate) status: u16,
    /// Dword 0 of the completion.
    pub(crate) result: u32,
}

/// One of our added disks, borrowed for `'a`, during which something (an open block
/// device, a [`DiskRef`]) keeps its gendisk alive.
///
/// # Invariants
///
/// `disk` is a gendisk created by [`Disk::new`] and added, alive for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct DiskView<'a> {
    disk: *mut bindings::gendisk,
    _p: core::marker::PhantomData<&'a ()>,
}

impl<'a> DiskView<'a> {
    /// # Safety
    ///
    /// `disk` is one of our added gendisks and stays alive for `'a`.
    unsafe fn from_raw(disk: *mut bindings::gendisk) -> Self {
        // INVARIANT: Per the function's safety requirements.
        Self {
            disk,
            _p: core::marker::PhantomData,
        }
    }

    /// The namespace behind the disk.
    pub(crate) fn ns(&self) -> &'a NsInfo {
        // SAFETY: By the invariant the gendisk is alive, and with it the `NsInfo` that
        // `free_disk` frees.
        unsafe { &*(*self.disk).private_data.cast::<NsInfo>() }
    }

    /// The capacity in 512-byte sectors (C: `get_capacity`).
    pub(crate) fn capacity_sectors(&self) -> u64 {
        // SAFETY: By the invariant the disk is alive; `part0` is its whole-disk device.
        unsafe { ptr::read_volatile(&raw const (*(*self.disk).part0).bd_nr_sectors) }
    }

    /// The logical block size the queue advertises.
    pub(crate) fn block_size(&self) -> u32 {
        // SAFETY: By the invariant the disk, and with it its queue, is alive; the limits are
        // replaced whole under `limits_lock`, so a torn read is at worst stale.
        unsafe { ptr::read_volatile(&raw const (*(*self.disk).queue).limits.logical_block_size) }
    }

    /// Runs a passthrough I/O command on the disk's queue (C: `nvme_submit_user_cmd`),
    /// mapping `len` bytes of user memory at `ubuf` (bounds checked: a bad pointer is
    /// `EFAULT`). It shares the tags, timeouts and reset handling of all other I/O;
    /// `timeout_ms` 0 is the queue's timeout.
    ///
    /// # Errors
    ///
    /// `ENODEV` once the disk is being deleted, `EFAULT`/`EINVAL` from mapping the user
    /// buffer, `EINTR` when a controller reset cancelled the command (as C returns),
    /// `EIO` when the driver could not send it (controller dead).
    pub(crate) fn passthru(
        &self,
        cmd: &Command,
        ubuf: u64,
        len: u32,
        timeout_ms: u32,
    ) -> Result<PassthruDone> {
        let op = if cmd.opcode() & 1 != 0 {
            bindings::req_op_REQ_OP_DRV_OUT
        } else {
            bindings::req_op_REQ_OP_DRV_IN
        };
        // SAFETY: By the invariant the disk and its queue are alive. A request holds a
        // reference on the queue's usage counter until freed, so deleting the disk waits
        // for it: the namespace and the tag set stay until `blk_mq_free_request`.
        unsafe {
            let q = (*self.disk).queue;
            let rq = kernel::error::from_err_ptr(bindings::blk_mq_alloc_request(q, op, 0))?;
            let p = pdu(rq);
            (*p).passthru = *cmd;
            (*p).status = 0;
            (*p).result = 0;
            if timeout_ms > 0 {
                (*rq).timeout = kernel::time::msecs_to_jiffies(timeout_ms) as u32;
            }
            if ubuf != 0 && len != 0 {
                let ret = bindings::blk_rq_map_user(
                    q,
                    rq,
                    ptr::null_mut(),
                    ubuf as usize as *mut c_void,
                    len as _,
                    bindings::GFP_KERNEL,
                );
                if ret != 0 {
                    bindings::blk_mq_free_request(rq);
                    return Err(Error::from_errno(ret));
                }
            }
            let bio = (*rq).bio;
            let blk_sts = bindings::blk_execute_rq(rq, false);
            let done = PassthruDone {
                status: (*p).status,
                result: (*p).result,
            };
            // Copies bounced data back to the user and releases the pages.
            let unmapped = if bio.is_null() {
                0
            } else {
                bindings::blk_rq_unmap_user(bio)
            };
            bindings::blk_mq_free_request(rq);
            match Status::from_cqe(done.status) {
                Some(s) if s == Status::HOST_ABORTED => return Err(EINTR),
                None if blk_sts != sts::OK => return Err(EIO),
                _ => {}
            }
            kernel::error::to_result(unmapped)?;
            Ok(done)
        }
    }
}

/// A counted reference to one of our disks: keeps the gendisk and its namespace alive
/// (C: `nvme_get_ns`), though not its queue usable (a deleted disk refuses requests).
///
/// # Invariants
///
/// Holds a reference on `disk`'s device, dropped on drop.
pub(crate) struct DiskRef {
    disk: *mut bindings::gendisk,
}

impl DiskRef {
    /// The disk, for as long as this reference lives.
    pub(crate) fn view(&self) -> DiskView<'_> {
        // SAFETY: The reference (type invariant) keeps the gendisk alive for `'_`.
        unsafe { DiskView::from_raw(self.disk) }
    }
}

impl Drop for DiskRef {
    fn drop(&mut self) {
        // SAFETY: By the invariant we hold a reference on the disk's device.
        unsafe { bindings::put_device(&raw mut (*(*self.disk).part0).bd_device) };
    }
}

impl DiskRef {
    fn queue(&self) -> *mut bindings::request_queue {
        // SAFETY: The reference (type invariant) keeps the gendisk, and with it its
        // queue, alive.
        unsafe { (*self.disk).queue }
    }

    /// Applies a namespace's new LBA format, limits and capacity to its disk in place
    /// (C: `nvme_update_ns_info_block`): under the queue's limits lock and with the queue
    /// frozen, so that no request straddles the change.
    ///
    /// The freeze waits for the disk's requests in flight; the caller holds no lock that
    /// their completion (a timeout, a reset) needs.
    ///
    /// # Errors
    ///
    /// What the block layer says of the new limits (nothing changed then).
    pub(crate) fn update(&self, lim: &Limits, lba_shift: u32, block_io: bool) -> Result {
        let q = self.queue();
        let ns = self.view().ns();
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
                // below, which orders these stores before it.
                ns.lba_shift.store(lba_shift, Relaxed);
                ns.block_io.store(block_io, Relaxed);
                bindings::set_capacity_and_notify(self.disk, lim.capacity_sectors);
            }
            bindings::blk_mq_unfreeze_queue_nomemrestore(q);
            noio_restore(noio);
            ret
        };
        kernel::error::to_result(ret)
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
    // SAFETY: As in `noio_save`.
    unsafe { (*bindings::get_current()).flags &= !set };
}

/// Disks whose queues are frozen: none of their requests is in flight and none can start
/// (C: `nvme_start_freeze` + `nvme_wait_freeze`), until this drops.
///
/// # Invariants
///
/// This task froze the queue of every disk in `disks` once (undone on drop).
pub(crate) struct Frozen {
    disks: KVec<DiskRef>,
}

impl Frozen {
    /// Freezes the queues of `disks`, waiting at most `timeout` for their requests.
    ///
    /// # Errors
    ///
    /// `EBUSY` when requests are still in flight after `timeout` (nothing stays frozen).
    pub(crate) fn new(disks: KVec<DiskRef>, timeout: kernel::time::Delta) -> Result<Self> {
        for d in disks.iter() {
            // SAFETY: The queue is alive (see `DiskRef::queue`).
            unsafe { bindings::blk_freeze_queue_start(d.queue()) };
        }
        // INVARIANT: each queue was frozen once above; dropping `f` undoes it.
        let f = Self { disks };
        let start = kernel::time::Instant::<kernel::time::Monotonic>::now();
        for d in f.disks.iter() {
            let left = timeout.as_millis() - start.elapsed().as_millis();
            let jiffies = kernel::time::msecs_to_jiffies(left.clamp(1, i64::from(u32::MAX)) as u32);
            // SAFETY: As above.
            if unsafe { bindings::blk_mq_freeze_queue_wait_timeout(d.queue(), jiffies as _) } == 0 {
                return Err(EBUSY);
            }
        }
        Ok(f)
    }
}

impl Frozen {
    /// The frozen disks.
    pub(crate) fn disks(&self) -> impl Iterator<Item = DiskView<'_>> {
        self.disks.iter().map(DiskRef::view)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for d in self.disks.iter() {
            // SAFETY: By the invariant this task froze the queue once.
            unsafe { bindings::blk_mq_unfreeze_queue_nomemrestore(d.queue()) };
        }
    }
}

/// A namespace's gendisk, added to the system.
///
/// # Invariants
///
/// `disk` was allocated on a [`TagSet`] that outlives it and added with
/// `device_add_disk`; `queuedata` and `private_data` point to its `NsInfo`, owned by the
/// gendisk (freed by `free_disk`).
pub(crate) struct Disk {
    disk: *mut bindings::gendisk,
}

// SAFETY: The gendisk is reference counted and internally locked.
unsafe impl Send for Disk {}
// SAFETY: As above.
unsafe impl Sync for Disk {}

impl Disk {
    /// Creates and adds the disk `nvme<instance>n<disk_id>` under the controller device
    /// `parent`, which must outlive it.
    pub(crate) fn new(
        tagset: &TagSet,
        ns: NsInfo,
        lim: &Limits,
        parent: &CtrlDevice,
    ) -> Result<Self> {
        let ns = KBox::new(ns, GFP_KERNEL)?;
        let mut name = NameBuf::default();
        write!(name, "nvme{}n{}", ns.instance, ns.disk_id).map_err(|_| EINVAL)?;
        // SAFETY: All-zero queue limits mean "use the defaults".
        let mut ql: bindings::queue_limits = unsafe { core::mem::zeroed() };
        lim.apply(&mut ql);
        let ns = KBox::into_raw(ns);
        let key = kernel::static_lock_class!();
        // SAFETY: The tag set is allocated; `ql` is initialised; `ns` lives as long as the
        // disk; the lock class key is static.
        let disk = unsafe {
            bindings::__blk_mq_alloc_disk(tagset.raw(), &mut ql, ns.cast::<c_void>(), key.as_ptr())
        };
        let disk = match kernel::error::from_err_ptr(disk) {
            Ok(d) => d,
            Err(e) => {
                // SAFETY: Leaked above and not handed to anyone.
                drop(unsafe { KBox::from_raw(ns) });
                return Err(e);
            }
        };
        // SAFETY: `disk` was just allocated and is not visible to anyone else yet.
        unsafe {
            let dst = &mut (*disk).disk_name;
            for (d, s) in dst.iter_mut().zip(name.bytes()) {
                *d = *s as _;
            }
            (*disk).fops = &BDEV_OPS.0;
            (*disk).private_data = ns.cast::<c_void>();
            if lim.hidden {
                (*disk).flags |= bindings::GENHD_FL_HIDDEN as c_int;
            }
            bindings::set_capacity(disk, lim.capacity_sectors);
        }
        // SAFETY: `disk` is set up; `parent` is a live device that outlives the disk; the
        // attribute groups are static and read the disk's `NsInfo`.
        let ret = unsafe { bindings::device_add_disk(parent.as_raw(), disk, NS_GROUPS.as_ptr()) };
        if ret != 0 {
            // SAFETY: `disk` was never added, so `free_disk` will not run: this drops our
            // reference and then frees the namespace.
            unsafe {
                bindings::put_disk(disk);
                drop(KBox::from_raw(ns));
            }
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: allocated on `tagset` and added; the gendisk owns `ns` from here.
        Ok(Self { disk })
    }

    /// The capacity in 512-byte sectors (C: `get_capacity`).
    pub(crate) fn capacity_sectors(&self) -> u64 {
        self.view().capacity_sectors()
    }

    /// The logical block size the queue advertises.
    pub(crate) fn block_size(&self) -> u32 {
        self.view().block_size()
    }

    /// Fails all future I/O on the disk (C: `blk_mark_disk_dead`).
    pub(crate) fn mark_dead(&self) {
        // SAFETY: By the invariant the disk is added.
        unsafe { bindings::blk_mark_disk_dead(self.disk) };
    }

    /// The namespace behind the disk.
    pub(crate) fn ns(&self) -> &NsInfo {
        self.view().ns()
    }

    /// The disk, borrowed.
    pub(crate) fn view(&self) -> DiskView<'_> {
        // SAFETY: By the invariant the disk is added and alive until `self` drops.
        unsafe { DiskView::from_raw(self.disk) }
    }

    /// A counted reference to the disk.
    pub(crate) fn get(&self) -> DiskRef {
        // SAFETY: By the invariant the disk is alive; this takes a reference on its
        // device.
        unsafe { bindings::get_device(&raw mut (*(*self.disk).part0).bd_device) };
        // INVARIANT: taken above.
        DiskRef { disk: self.disk }
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        // SAFETY: By the invariant the disk was added; `del_gendisk` waits for I/O to
        // drain; the namespace goes with the last reference to the gendisk.
        unsafe {
            bindings::del_gendisk(self.disk);
            bindings::put_disk(self.disk);
        }
    }
}

/// A NUL-terminated device name of at most 31 bytes.
#[derive(Default)]
pub(crate) struct NameBuf {
    buf: [u8; 32],
    len: usize,
}

impl NameBuf {
    /// The name and its terminating NUL.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[..=self.len]
    }
}

impl Write for NameBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let b = s.as_bytes();
        if self.len + b.len() >= self.buf.len() {
            return Err(core::fmt::Error);
        }
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
        Ok(())
    }
}
