// SPDX-License-Identifier: GPL-2.0

//! The blk-mq binding layer: tag set, `blk_mq_ops`, gendisk, and request data mapping.
//!
//! C header: [`include/linux/blk-mq.h`](srctree/include/linux/blk-mq.h)
//!
//! 7.3's `kernel::block::mq` has no per-request driver data, no hctx access, no timeout
//! handler, no queue limits and no parent device, so this file owns the C objects over
//! `kernel::bindings` and offers the rest of the driver a small safe API: [`TagSet`],
//! [`Disk`], [`TagsSlot`] and [`complete_cqe`]. Inline C helpers missing from bindings
//! (`req_op`, `blk_rq_pos`, `blk_mq_tag_to_rq`, `blk_mq_request_completed`) are
//! re-expressed here, and only here.
//!
//! Every request maps its data into a scatterlist embedded in its PDU, DMA-maps it, and
//! describes it with PRPs (`crate::prp`); a PRP list page comes from a DMA pool when the
//! transfer touches more than two controller pages.

use core::{
    ffi::{
        c_int,
        c_void, //
    },
    fmt::Write,
    mem::size_of,
    ptr, //
};

use kernel::{
    bindings, pci,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        SpinLock, //
    },
};

use crate::{
    cmd::{
        build_dsm_ranges,
        Command,
        Completion,
        DsmRange,
        IoOpcode,
        Status,
        DSM_MAX_RANGES, //
    },
    ctrl::{
        Ctrl,
        TimedOut,
        TimeoutAction, //
    },
    effects::Effects,
    identify::NsIds,
    irq::raw_pdev,
    prp,
    queue::QueuePair,
    sgl::SglDesc,
    sysfs::{
        CtrlDevice,
        NS_GROUPS, //
    },
};

mod disk;
mod map;

pub(crate) use disk::{
    Disk,
    DiskRef,
    DiskView,
    Frozen,
    Limits,
    NameBuf,
    PassthruDone, //
};
use map::{
    is_passthru,
    prep_rq,
    unmap_data, //
};

/// The `struct device` of a PCI function.
fn raw_dev(pdev: &pci::Device) -> *mut bindings::device {
    // SAFETY: `raw_pdev` points to a live `struct pci_dev`; this only computes the address
    // of its embedded `struct device`.
    unsafe { &raw mut (*raw_pdev(pdev)).dev }
}

/// Most data segments of a request (the queue's `max_segments` at most): one SGL list
/// page of 16-byte descriptors, as C's `NVME_MAX_SEGS`.
pub(crate) const MAX_SEGMENTS: u16 = 256;
/// Scatterlist entries inside each request's PDU; a request with more segments gets an
/// array allocated for it (freed with its mapping). 32 entries cover 128 KiB of
/// scattered pages and keep the PDU about 1 KiB (a full array would be 8 KiB per tag).
pub(crate) const INLINE_SEGMENTS: usize = 32;

/// `blk_status_t` values (`include/linux/blk_types.h`), missing from bindings.
mod sts {
    pub(super) const OK: u8 = 0;
    pub(super) const NOTSUPP: u8 = 1;
    pub(super) const RESOURCE: u8 = 9;
    pub(super) const IOERR: u8 = 10;
    pub(super) const MEDIUM: u8 = 7;
    pub(super) const TARGET: u8 = 5;
    pub(super) const NOSPC: u8 = 3;
}

/// `BLK_FEAT_*` queue features (`include/linux/blkdev.h`), missing from bindings.
const BLK_FEAT_WRITE_CACHE: u32 = 1 << 0;
const BLK_FEAT_FUA: u32 = 1 << 1;
const BLK_FEAT_POLL: u32 = 1 << 9;

/// `req_op()`: the operation in the low `REQ_OP_BITS` of `cmd_flags`.
const REQ_OP_MASK: u32 = (1 << bindings::REQ_OP_BITS) - 1;
/// `RQF_DONTPREP`: the driver has prepared this request before (it is a requeue).
const RQF_DONTPREP: bindings::req_flags_t = 1 << bindings::rqf_flags___RQF_DONTPREP;
/// `REQ_NOUNMAP`: write zeroes must not deallocate.
const REQ_NOUNMAP: u32 = 1 << bindings::req_flag_bits___REQ_NOUNMAP;
/// `REQ_FUA`.
const REQ_FUA: u32 = 1 << bindings::req_flag_bits___REQ_FUA;
/// `REQ_FAILFAST_MASK`: the submitter wants no retries (C: `blk_noretry_request`).
const REQ_FAILFAST_MASK: u32 = (1 << bindings::req_flag_bits___REQ_FAILFAST_DEV)
    | (1 << bindings::req_flag_bits___REQ_FAILFAST_TRANSPORT)
    | (1 << bindings::req_flag_bits___REQ_FAILFAST_DRIVER);

/// Per-request driver data (the PDU blk-mq allocates after each `struct request`).
///
/// Every field is (re)initialised in `queue_rq` before the request reaches the device.
#[repr(C)]
struct Pdu {
    /// Status half-word of the completion, written by the interrupt handler.
    status: u16,
    /// Opcode sent, for error messages.
    opcode: u8,
    /// Retries of retryable errors so far (kept across requeues, see `RQF_DONTPREP`).
    retries: u8,
    /// The timeout handler already asked for an Abort of this command.
    aborted: bool,
    /// Dword 0 of the completion (the command's result, for passthrough).
    result: u32,
    /// A passthrough command (`REQ_OP_DRV_IN`/`OUT`): what userspace asked to send.
    passthru: Command,
    /// Scatterlist entries handed to `dma_map_sg` (0: no data mapped).
    nents: u32,
    /// DMA direction of the mapping.
    dir: bindings::dma_data_direction,
    /// First LBA, for error messages.
    slba: u64,
    /// PRP list page from the pool, or null.
    prp_list: *mut u64,
    /// Bus address of `prp_list`.
    prp_list_dma: u64,
    /// The request's data segments, when they fit.
    sg: [bindings::scatterlist; INLINE_SEGMENTS],
    /// The request's data segments when they do not (`KVec` raw parts with capacity
    /// `sg_ext_cap`), or null.
    sg_ext: *mut bindings::scatterlist,
    sg_ext_cap: usize,
}

/// What a namespace's request queue carries (`queuedata`).
pub(crate) struct NsInfo {
    /// Namespace identifier.
    pub(crate) nsid: u32,
    /// log2 of the namespace's logical block size; changed only while the queue is
    /// frozen (a format), so a request sees one value from preparation to completion.
    pub(crate) lba_shift: Atomic<u32>,
    /// The block layer can address the namespace (an LBA format without metadata, a
    /// block size it supports); otherwise the disk has capacity 0 and passthrough I/O is
    /// refused. Changed as `lba_shift`.
    pub(crate) block_io: Atomic<bool>,
    /// Controller instance: the disk is `nvme<instance>n<disk_id>`.
    pub(crate) instance: u32,
    /// The disk's number under the controller: the lowest free one from 1, in scan order,
    /// as C numbers them (`ns->head->instance`); not the namespace ID.
    pub(crate) disk_id: u32,
    /// Dataset Management is supported: discards become DSM deallocate.
    pub(crate) dsm: bool,
    /// Write Zeroes is supported.
    pub(crate) write_zeroes: bool,
    /// Write Zeroes may deallocate (DLFEAT: deallocated blocks read zeroes and DEAC is
    /// supported).
    pub(crate) deac: bool,
    /// Namespace identifiers, for sysfs.
    pub(crate) ids: NsIds,
    /// The controller (C: `ns->ctrl`); the namespace lives as long as its gendisk, so
    /// ioctls on an open disk can still reach the controller after it was removed.
    pub(crate) ctrl: Arc<Ctrl>,
    /// Commands Supported and Effects (for passthrough; C: `ns->head->effects`).
    pub(crate) effects: Arc<Effects>,
    /// The controller's PCI Vendor ID, serial and model, for the `wwid` fallback.
    pub(crate) vid: u16,
    /// Serial Number, space padded.
    pub(crate) sn: [u8; 20],
    /// Model Number, space padded.
    pub(crate) mn: [u8; 40],
}

impl NsInfo {
    /// log2 of the logical block size.
    pub(crate) fn lba_shift(&self) -> u32 {
        self.lba_shift.load(Relaxed)
    }

    /// Whether block I/O can address the namespace.
    pub(crate) fn block_io(&self) -> bool {
        self.block_io.load(Relaxed)
    }
}

/// The namespace of one of our disks, from its `struct device` (`disk_to_dev`).
///
/// # Safety
///
/// `dev` is the device of a disk created by [`Disk::new`] that has not been dropped.
pub(crate) unsafe fn ns_of_disk_dev<'a>(dev: *mut bindings::device) -> &'a NsInfo {
    // SAFETY: A disk's device is the `bd_device` of its whole-disk block device (C:
    // `dev_to_disk`); `Disk::new` set `private_data` to the `NsInfo`, which lives until
    // the gendisk is freed (`free_disk`).
    unsafe {
        let bdev = kernel::container_of!(dev, bindings::block_device, bd_device);
        &*(*(*bdev).bd_disk).private_data.cast::<NsInfo>()
    }
}

/// The block layer's view of the controller, shared by every hardware queue.
pub(crate) struct IoContext {
    pdev: ARef<pci::Device>,
    /// The controller, for timeouts. A reference cycle (the controller owns the tag set)
    /// that teardown breaks by dropping the tag set.
    ctrl: Arc<Ctrl>,
    /// Set when the controller is dead: requests fail fast and are not retried.
    dead: Atomic<bool>,
    /// Most retries of a request (C: nvme_core's `max_retries`), whether it failed with
    /// a retryable status or was cancelled by a reset.
    max_retries: u8,
    queues: KVec<Arc<QueuePair>>,
    pool: DmaPool,
    page_size: usize,
    /// Identify Controller SGLS.
    sgls: u32,
    /// Average segment size from which multi-segment requests use SGLs (0: never).
    sgl_threshold: u32,
    /// An unsupported request type was already reported (log once).
    warned_notsupp: Atomic<bool>,
    /// How many of the hardware queues (the last ones) are polled.
    nr_poll: Atomic<u32>,
    /// Interrupt-driven queue `i` uses MSI-X vector `i + 1` and every vector is in use:
    /// map CPUs to queues by the vectors' affinity, as looked up in `irq_map`.
    irq_mapped: Atomic<bool>,
    /// The interrupt-driven queue of each CPU by its vector's affinity, looked up before
    /// the tag set is (re)mapped: `pci_irq_get_affinity` takes the MSI descriptor mutex,
    /// under which memory is allocated, so it must not be called with the queues frozen
    /// (`blk_mq_update_nr_hw_queues` calls `map_queues` so) where reclaim could wait for
    /// them. Lock order: innermost, never held while taking another lock.
    irq_map: Pin<KBox<SpinLock<KVec<u32>>>>,
    /// Set while the hardware queues are remapped ([`TagSet::update_split`]): a request
    /// blk-mq still dispatches to a queue the controller no longer has gives up its bios
    /// to `stranded` instead of failing.
    remapping: Atomic<bool>,
    /// Bios of such requests, resubmitted once the map is new. Lock order: innermost
    /// (taken in `queue_rq` and by `update_split`, nothing is taken under it).
    stranded: Pin<KBox<SpinLock<BioList>>>,
}

/// A CPU that no vector's affinity covers (`IoContext::irq_map`).
const NO_QUEUE: u32 = u32::MAX;

/// Bios taken from requests with `blk_steal_bios` (C: `struct bio_list`).
///
/// # Invariants
///
/// The list is empty or holds bios taken from requests of this driver's disks, owned by
/// the list (no request holds them) until popped.
struct BioList(bindings::bio_list);

// SAFETY: The bios belong to the list, not to a CPU or task; they may be submitted from
// any task.
unsafe impl Send for BioList {}

impl BioList {
    fn empty() -> Self {
        // INVARIANT: empty.
        Self(bindings::bio_list {
            head: ptr::null_mut(),
            tail: ptr::null_mut(),
        })
    }

    /// Takes `rq`'s bios onto the list. Bios that asked for polled completion no longer
    /// do: they may come back on an interrupt-driven queue (as C's multipath failover).
    ///
    /// # Safety
    ///
    /// `rq` is a request of one of our disks that the driver owns and has not started.
    unsafe fn steal(&mut self, rq: *mut bindings::request) {
        // SAFETY: Per the function's safety requirements the request and its bio chain
        // are ours; `blk_steal_bios` moves the chain to the list and leaves the request
        // without bios.
        unsafe {
            let mut bio = (*rq).bio;
            while !bio.is_null() {
                (*bio).bi_opf &= !(1 << bindings::req_flag_bits___REQ_POLLED);
                (*bio).__bindgen_anon_1.bi_cookie = bindings::BLK_QC_T_NONE as _;
                bio = (*bio).bi_next;
            }
            bindings::blk_steal_bios(&mut self.0, rq);
        }
        // INVARIANT: the bios came from our request, which no longer holds them.
    }

    /// Submits every bio on the list again (`submit_bio_noacct`), in order. May sleep.
    fn resubmit(mut self) -> u32 {
        let mut n = 0u32;
        while !self.0.head.is_null() {
            let bio = self.0.head;
            // SAFETY: By the type invariant `bio` is a bio of the list, owned by it:
            // unlinked here and handed to the block layer, which completes it.
            unsafe {
                self.0.head = (*bio).bi_next;
                (*bio).bi_next = ptr::null_mut();
                bindings::submit_bio_noacct(bio);
            }
            n = n.saturating_add(1);
        }
        self.0.tail = ptr::null_mut();
        n
    }
}

impl IoContext {
    /// The I/O queues in hardware-queue order (hctx `i` uses `queues[i]`).
    pub(crate) fn new(
        pdev: &pci::Device,
        ctrl: Arc<Ctrl>,
        queues: KVec<Arc<QueuePair>>,
        page_size: usize,
        sgls: u32,
        sgl_threshold: u32,
        nr_poll: u32,
        max_retries: u8,
    ) -> Result<Self> {
        Ok(Self {
            remapping: Atomic::new(false),
            irq_map: KBox::pin_init(
                kernel::new_spinlock!(KVec::new(), "rust_nvme:irq_map"),
                GFP_KERNEL,
            )?,
            stranded: KBox::pin_init(
                kernel::new_spinlock!(BioList::empty(), "rust_nvme:stranded"),
                GFP_KERNEL,
            )?,
            max_retries,
            nr_poll: Atomic::new(nr_poll),
            irq_mapped: Atomic::new(false),
            sgls,
            sgl_threshold,
            warned_notsupp: Atomic::new(false),
            pool: DmaPool::new(pdev, page_size)?,
            pdev: pdev.into(),
            ctrl,
            dead: Atomic::new(false),
            queues,
            page_size,
        })
    }

    /// Maps CPUs to the `nr_irq` interrupt-driven queues by their vectors' affinity (or,
    /// `on` false or the affinity unknown, spreads them). Call before the tag set maps
    /// its queues, without them frozen.
    pub(crate) fn set_irq_mapped(&self, on: bool, nr_irq: u32) {
        let map = if on {
            self.affinity_map(nr_irq)
        } else {
            KVec::new()
        };
        self.irq_mapped.store(!map.is_empty(), Relaxed);
        *self.irq_map.lock() = map;
    }

    /// The queue of each CPU (C: `blk_mq_map_hw_queues`: queue `i` interrupts on vector
    /// `i + 1`, vector 0 is the admin queue's); empty when a vector has no affinity or
    /// on allocation failure. CPUs in no mask get `NO_QUEUE`.
    fn affinity_map(&self, nr_irq: u32) -> KVec<u32> {
        let cpus = kernel::cpu::nr_cpu_ids();
        let mut map = KVec::new();
        if map.resize(cpus as usize, NO_QUEUE, GFP_KERNEL).is_err() {
            return KVec::new();
        }
        for q in 0..nr_irq {
            let Ok(vector) = c_int::try_from(q.saturating_add(1)) else {
                return KVec::new();
            };
            // SAFETY: The device is bound and its vectors are allocated (the bring-up
            // that calls this allocated them); a vector beyond them returns null.
            let mask = unsafe { bindings::pci_irq_get_affinity(raw_pdev(&self.pdev), vector) };
            if mask.is_null() {
                return KVec::new();
            }
            // SAFETY: The mask belongs to the allocated vector and lives until the vectors
            // are freed, which the bring-up calling this does not do meanwhile.
            let mask = unsafe { kernel::cpumask::Cpumask::from_raw(mask) };
            for (cpu, slot) in map.iter_mut().enumerate() {
                let cpu = kernel::cpu::CpuId::from_u32(cpu as u32);
                if cpu.is_some_and(|c| mask.test(c)) {
                    *slot = q;
                }
            }
        }
        map
    }

    fn dev(&self) -> *mut bindings::device {
        raw_dev(&self.pdev)
    }
}

/// A pool of page-sized, page-aligned DMA buffers for PRP lists.
///
/// # Invariants
///
/// `pool` is a live `dma_pool` until `drop`.
struct DmaPool {
    pool: *mut bindings::dma_pool,
}

// SAFETY: `dma_pool` operations are internally locked.
unsafe impl Send for DmaPool {}
// SAFETY: As above.
unsafe impl Sync for DmaPool {}

impl DmaPool {
    fn new(pdev: &pci::Device, size: usize) -> Result<Self> {
        // SAFETY: The device is valid and bound; the name is static.
        let pool = unsafe {
            bindings::dma_pool_create_node(
                c"rust_nvme prp list".as_ptr().cast(),
                raw_dev(pdev),
                size,
                size,
                0,
                bindings::NUMA_NO_NODE,
            )
        };
        if pool.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: `pool` was just created.
        Ok(Self { pool })
    }
}

impl Drop for DmaPool {
    fn drop(&mut self) {
        // SAFETY: By the invariant `pool` is live; all buffers were freed with their
        // requests before the tag set (and with it this pool) goes away.
        unsafe { bindings::dma_pool_destroy(self.pool) };
    }
}

/// The `struct blk_mq_tags` of one hardware queue, as seen by its interrupt handler.
///
/// Holds null until the block layer initialises the hardware context (`init_hctx`).
pub(crate) struct TagsSlot(Atomic<usize>);

impl TagsSlot {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        Self(Atomic::new(0))
    }

    fn get(&self) -> *mut bindings::blk_mq_tags {
        self.0.load(Relaxed) as *mut bindings::blk_mq_tags
    }
}

/// Returns the PDU of `rq`.
///
/// # Safety
///
/// `rq` must be a request of a tag set created by [`TagSet::new`].
unsafe fn pdu(rq: *mut bindings::request) -> *mut Pdu {
    // SAFETY: The tag set's `cmd_size` is `size_of::<Pdu>()`, so the PDU follows `rq`.
    unsafe { bindings::blk_mq_rq_to_pdu(rq).cast::<Pdu>() }
}

/// Completes the request a CQE names, from the queue's interrupt handler.
///
/// Returns `false` if the command identifier names no request in flight.
pub(crate) fn complete_cqe(slot: &TagsSlot, cqe: &Completion) -> bool {
    let tags = slot.get();
    if tags.is_null() {
        return false;
    }
    // SAFETY: `tags` was set by `init_hctx` from a live hctx; the tag set (and its tags)
    // outlives the interrupt handlers, which are freed before it.
    let rq = unsafe {
        if u32::from(cqe.cid) >= (*tags).nr_tags {
            return false;
        }
        *(*tags).rqs.add(usize::from(cqe.cid))
    };
    if rq.is_null() {
        return false;
    }
    // SAFETY: `rq` is a request of our tag set whose tag the controller just completed;
    // blk-mq keeps it allocated until we end it.
    unsafe {
        if (*rq).state != bindings::mq_rq_state_MQ_RQ_IN_FLIGHT {
            return false;
        }
        // Fault injection (`io-timeout-fail`): drop the completion so the request times
        // out, as the C driver does.
        if should_fake_timeout((*rq).q) {
            return true;
        }
        (*pdu(rq)).status = cqe.status;
        (*pdu(rq)).result = cqe.result;
        if !bindings::blk_mq_complete_request_remote(rq) {
            complete_rq(rq);
        }
    }
    true
}

/// `blk_should_fake_timeout()`: whether fault injection wants this completion dropped.
///
/// # Safety
///
/// `q` is a live request queue.
#[cfg(CONFIG_FAIL_IO_TIMEOUT)]
unsafe fn should_fake_timeout(q: *mut bindings::request_queue) -> bool {
    extern "C" {
        // Declared over `void *`: `struct request_queue` is not FFI-safe as bindgen sees it.
        fn __blk_should_fake_timeout(q: *mut c_void) -> bool;
    }
    // SAFETY: `q` is live; `queue_flags` is a plain bit field.
    unsafe {
        (*q).queue_flags & (1 << bindings::QUEUE_FLAG_FAIL_IO) != 0
            && __blk_should_fake_timeout(q.cast())
    }
}

/// Without `CONFIG_FAIL_IO_TIMEOUT` nothing is ever dropped.
#[cfg(not(CONFIG_FAIL_IO_TIMEOUT))]
unsafe fn should_fake_timeout(_q: *mut bindings::request_queue) -> bool {
    false
}

/// The tag set's context of a request.
///
/// # Safety
///
/// `rq` is a live request of a [`TagSet`].
unsafe fn ctx_of<'a>(rq: *mut bindings::request) -> &'a IoContext {
    // SAFETY: Every queue of our tag sets has `tag_set->driver_data` pointing at the
    // tag set's `IoContext`, which outlives all requests.
    unsafe { &*(*(*(*rq).q).tag_set).driver_data.cast::<IoContext>() }
}

/// Ends a request whose completion was recorded in its PDU.
///
/// # Safety
///
/// `rq` is a request of a [`TagSet`] that has been marked complete.
unsafe fn complete_rq(rq: *mut bindings::request) {
    // SAFETY: Per the function's safety requirements.
    let ctx = unsafe { ctx_of(rq) };
    // SAFETY: As above.
    unsafe { unmap_data(ctx, rq) };
    // SAFETY: As above.
    let p = unsafe { &mut *pdu(rq) };
    let dead = ctx.dead.load(Relaxed);
    // SAFETY: As above.
    if is_passthru(unsafe { (*rq).cmd_flags }) {
        // The caller reads status and result from the PDU; no retry, no requeue (C:
        // passthrough requests are REQ_FAILFAST_DRIVER), no log.
        let sts = Status::from_cqe(p.status).map_or(sts::OK, |s| block_status(&s));
        // SAFETY: The request is ours and complete; this ends it exactly once.
        unsafe { bindings::blk_mq_end_request(rq, sts) };
        return;
    }
    // SAFETY: As above.
    let failfast = unsafe { (*rq).cmd_flags } & REQ_FAILFAST_MASK != 0;
    // C: `nvme_decide_disposition`: no retry once dead, for REQ_FAILFAST requests, or
    // after `max_retries`.
    let may_retry = !dead && !failfast && p.retries < ctx.max_retries;
    let sts = match Status::from_cqe(p.status) {
        None => sts::OK,
        // Cancelled by a controller reset: resubmitted once the controller is back.
        Some(s) if s == Status::HOST_ABORTED && may_retry => {
            p.retries += 1;
            // SAFETY: `rq` is complete and unmapped; requeueing hands it back to blk-mq,
            // which dispatches it once the queues are unquiesced.
            unsafe { bindings::blk_mq_requeue_request(rq, true) };
            return;
        }
        Some(s) => {
            // SAFETY: The queue's `queuedata` is the namespace's `NsInfo`.
            let ns = unsafe { &*(*(*rq).q).queuedata.cast::<NsInfo>() };
            let retry = may_retry && s.is_retryable();
            dev_err!(
                ctx.pdev.as_ref(),
                "nvme{}n{}: {} (opcode {:#04x}) at LBA {}: {}{}\n",
                ns.instance,
                ns.disk_id,
                io_opcode_name(p.opcode),
                p.opcode,
                p.slba,
                s,
                if retry {
                    "; retrying"
                } else if dead {
                    "; controller dead"
                } else {
                    ""
                }
            );
            if retry {
                p.retries += 1;
                // SAFETY: As above; `true` kicks the requeue list.
                unsafe { bindings::blk_mq_requeue_request(rq, true) };
                return;
            }
            if dead {
                sts::IOERR
            } else {
                block_status(&s)
            }
        }
    };
    // SAFETY: The request is ours and complete; this ends it exactly once.
    unsafe { bindings::blk_mq_end_request(rq, sts) };
}

fn io_opcode_name(opcode: u8) -> &'static str {
    [
        IoOpcode::Read,
        IoOpcode::Write,
        IoOpcode::Flush,
        IoOpcode::WriteZeroes,
        IoOpcode::Dsm,
    ]
    .into_iter()
    .find(|o| *o as u8 == opcode)
    .map_or("I/O command", IoOpcode::name)
}

/// The block status a failed NVMe status maps to (C: `nvme_error_status`): media errors
/// are `BLK_STS_MEDIUM` (ENODATA to the caller), invalid opcode/field "not supported",
/// anything else an I/O error.
fn block_status(s: &Status) -> u8 {
    use crate::cmd::sct;
    match (s.sct, s.sc) {
        _ if s.is_not_supported() => sts::NOTSUPP,
        // LBA Out of Range.
        (sct::GENERIC, crate::cmd::sc::generic::LBA_OUT_OF_RANGE) => sts::TARGET,
        // Capacity Exceeded.
        (sct::GENERIC, crate::cmd::sc::generic::CAPACITY_EXCEEDED) => sts::NOSPC,
        (sct::MEDIA, _) => sts::MEDIUM,
        _ => sts::IOERR,
    }
}

/// A request in the hands of the timeout handler.
///
/// # Invariants
///
/// `rq` is a request of a [`TagSet`] whose timeout handler is running (blk-mq keeps it
/// allocated meanwhile) on `qp`'s hardware queue.
struct TimedOutRq<'a> {
    rq: *mut bindings::request,
    qp: &'a QueuePair,
}

impl TimedOut for TimedOutRq<'_> {
    fn poll_done(&self) -> bool {
        // A completion may be sitting in the CQ with its interrupt lost: reap it.
        self.qp.process_cq(|cqe| {
            complete_cqe(&self.qp.tags, cqe);
        });
        // SAFETY: `rq` is live (type invariant); `state` is read as blk-mq does.
        unsafe { (*self.rq).state != bindings::mq_rq_state_MQ_RQ_IN_FLIGHT }
    }

    fn aborted(&self) -> bool {
        // SAFETY: `rq` is live (type invariant); its PDU is the driver's, and only the
        // timeout handler touches `aborted` while the request is in flight.
        unsafe { (*pdu(self.rq)).aborted }
    }

    fn set_aborted(&self) {
        // SAFETY: As in `aborted`.
        unsafe { (*pdu(self.rq)).aborted = true };
    }
}

/// The `blk_mq_ops` callbacks.
struct Ops;

impl Ops {
    unsafe extern "C" fn queue_rq(
        hctx: *mut bindings::blk_mq_hw_ctx,
        bd: *const bindings::blk_mq_queue_data,
    ) -> bindings::blk_status_t {
        // SAFETY: blk-mq passes a live hctx of our tag set, whose `driver_data` was set to
        // its queue pair in `init_hctx`, and a request of that hctx.
        let (qp, rq, last) = unsafe {
            (
                &*(*hctx).driver_data.cast::<QueuePair>(),
                (*bd).rq,
                (*bd).last,
            )
        };
        // SAFETY: `rq` is a live request of our tag set.
        let ctx = unsafe { ctx_of(rq) };
        if ctx.dead.load(Relaxed) {
            return sts::IOERR;
        }
        // A queue the controller no longer has, while the map is being updated to the
        // queues it now grants: C fails the request (`NVMEQ_ENABLED`); its bios go out
        // again once the map is new (passthrough and flush requests, which have no
        // bios to give, still fail).
        if ctx.remapping.load(Relaxed) && !qp.is_live() {
            // SAFETY: `rq` is a live request owned by the driver.
            let has_bios = unsafe { !is_passthru((*rq).cmd_flags) && !(*rq).bio.is_null() };
            if has_bios {
                // SAFETY: Ours and not started: its bios go to the list; it is then
                // started and ended without them (no bio completes), as C's multipath
                // failover does.
                unsafe {
                    ctx.stranded.lock().steal(rq);
                    bindings::blk_mq_start_request(rq);
                    bindings::blk_mq_end_request(rq, sts::OK);
                }
                return sts::OK;
            }
        }
        // SAFETY: Our disks set `queuedata` to their `NsInfo`, which outlives the disk.
        let ns = unsafe { &*(*(*rq).q).queuedata.cast::<NsInfo>() };
        // SAFETY: `rq` is being dispatched to `ctx` for namespace `ns`.
        let cmd = match unsafe { prep_rq(ctx, ns, rq) } {
            Ok(c) => c,
            Err(s) => return s,
        };
        // SAFETY: `rq` is a valid request about to be issued.
        unsafe { bindings::blk_mq_start_request(rq) };
        if qp.submit(&cmd, last).is_err() {
            // SAFETY: `rq`'s PDU was set up by `prep_rq`.
            unsafe { unmap_data(ctx, rq) };
            return sts::IOERR;
        }
        sts::OK
    }

    unsafe extern "C" fn poll(
        hctx: *mut bindings::blk_mq_hw_ctx,
        _iob: *mut bindings::io_comp_batch,
    ) -> i32 {
        // SAFETY: As in `queue_rq`.
        let qp = unsafe { &*(*hctx).driver_data.cast::<QueuePair>() };
        qp.process_cq(|cqe| {
            complete_cqe(&qp.tags, cqe);
        }) as i32
    }

    unsafe extern "C" fn map_queues(set: *mut bindings::blk_mq_tag_set) {
        // SAFETY: blk-mq passes one of our tag sets, whose `driver_data` is its context.
        let (set, ctx) = unsafe { (&mut *set, &*(*set).driver_data.cast::<IoContext>()) };
        let poll = ctx
            .nr_poll
            .load(Relaxed)
            .min(set.nr_hw_queues.saturating_sub(1));
        let default = set.nr_hw_queues - poll;
        // Interrupt-driven queues first, then polled ones (C: `nvme_pci_map_queues`);
        // no separate read queues. Without managed interrupt affinity the CPUs are
        // spread over the queues.
        let maps = [
            (bindings::hctx_type_HCTX_TYPE_DEFAULT, default, 0),
            (bindings::hctx_type_HCTX_TYPE_READ, 0, 0),
            (bindings::hctx_type_HCTX_TYPE_POLL, poll, default),
        ];
        for (ty, nr, offset) in maps.into_iter().take(set.nr_maps as usize) {
            let map = &mut set.map[ty as usize];
            map.nr_queues = nr;
            map.queue_offset = offset;
            if nr == 0 {
                continue;
            }
            if ty == bindings::hctx_type_HCTX_TYPE_DEFAULT && ctx.irq_mapped.load(Relaxed) {
                // By the affinity looked up before (see `IoContext::irq_map`); blk-mq
                // cleared `mq_map` (every CPU on the first queue) before calling us.
                let cpu_queue = ctx.irq_map.lock();
                // SAFETY: `mq_map` has `nr_cpu_ids` entries (blk-mq allocates it so), as
                // many as `cpu_queue` at most.
                let mq_map = unsafe {
                    core::slice::from_raw_parts_mut(map.mq_map, kernel::cpu::nr_cpu_ids() as usize)
                };
                for (slot, q) in mq_map.iter_mut().zip(cpu_queue.iter()) {
                    if *q < nr {
                        *slot = offset + *q;
                    }
                }
            } else {
                // SAFETY: As above.
                unsafe { bindings::blk_mq_map_queues(map) };
            }
        }
    }

    unsafe extern "C" fn commit_rqs(hctx: *mut bindings::blk_mq_hw_ctx) {
        // SAFETY: As in `queue_rq`.
        let qp = unsafe { &*(*hctx).driver_data.cast::<QueuePair>() };
        qp.commit();
    }

    unsafe extern "C" fn complete(rq: *mut bindings::request) {
        // SAFETY: blk-mq calls this for a request of our tag set that `complete_cqe`
        // marked complete.
        unsafe { complete_rq(rq) };
    }

    unsafe extern "C" fn init_hctx(
        hctx: *mut bindings::blk_mq_hw_ctx,
        data: *mut c_void,
        hctx_idx: u32,
    ) -> i32 {
        // SAFETY: `data` is the tag set's `driver_data`, our `IoContext`.
        let ctx = unsafe { &*data.cast::<IoContext>() };
        let Some(qp) = ctx.queues.get(hctx_idx as usize) else {
            return EINVAL.to_errno();
        };
        // SAFETY: `hctx` is being initialised by blk-mq and is ours to annotate; `qp` is
        // kept alive by `ctx` for as long as the tag set.
        unsafe {
            (*hctx).driver_data = Arc::as_ptr(qp).cast_mut().cast::<c_void>();
            qp.tags.0.store((*hctx).tags as usize, Relaxed);
        }
        0
    }

    unsafe extern "C" fn timeout(rq: *mut bindings::request) -> bindings::blk_eh_timer_return {
        // SAFETY: blk-mq passes a request of our tag set; its hctx's `driver_data` is set.
        let (ctx, qp) = unsafe {
            (
                ctx_of(rq),
                &*(*(*rq).mq_hctx).driver_data.cast::<QueuePair>(),
            )
        };
        // SAFETY: `rq` stays valid while its timeout handler runs.
        let tag = unsafe { (*rq).tag } as u16;
        let timed_out = TimedOutRq { rq, qp };
        match ctx.ctrl.io_timeout(qp, tag, &timed_out) {
            TimeoutAction::Done => bindings::blk_eh_timer_return_BLK_EH_DONE,
            TimeoutAction::ResetTimer => bindings::blk_eh_timer_return_BLK_EH_RESET_TIMER,
        }
    }

    const VTABLE: bindings::blk_mq_ops = bindings::blk_mq_ops {
        queue_rq: Some(Self::queue_rq),
        commit_rqs: Some(Self::commit_rqs),
        complete: Some(Self::complete),
        init_hctx: Some(Self::init_hctx),
        timeout: Some(Self::timeout),
        poll: Some(Self::poll),
        map_queues: Some(Self::map_queues),
        // SAFETY: All-zero is a valid `blk_mq_ops` (every callback optional).
        ..unsafe { core::mem::zeroed() }
    };
}

/// The driver's `blk_mq_ops`, shared by every tag set.
static OPS: bindings::blk_mq_ops = Ops::VTABLE;

/// A blk-mq tag set over the controller's I/O queues.
///
/// # Invariants
///
/// `set` was successfully passed to `blk_mq_alloc_tag_set` and is freed in `drop`;
/// `set.driver_data` points to `ctx`, which lives as long as `set`.
pub(crate) struct TagSet {
    set: Pin<KBox<bindings::blk_mq_tag_set>>,
    ctx: Pin<KBox<IoContext>>,
    /// Whether `quiesce` was called without `unquiesce` (blk-mq counts, and warns on an
    /// unbalanced unquiesce).
    quiesced: Atomic<bool>,
}

// SAFETY: The tag set is only mutated by blk-mq under its own locks.
unsafe impl Send for TagSet {}
// SAFETY: As above.
unsafe impl Sync for TagSet {}

impl TagSet {
    /// Allocates a tag set of `depth` tags per hardware queue, one per queue in `ctx`.
    ///
    /// With `poll_maps`, the set has the default, read and poll maps (the last
    /// `nr_poll` hardware queues serve polled I/O).
    pub(crate) fn new(
        ctx: IoContext,
        depth: u32,
        timeout_jiffies: u32,
        poll_maps: bool,
    ) -> Result<Self> {
        let nr_hw_queues = u32::try_from(ctx.queues.len())?;
        if nr_hw_queues == 0 {
            return Err(EINVAL);
        }
        let ctx = KBox::pin(ctx, GFP_KERNEL)?;
        // SAFETY: All-zero is the documented initial state of a tag set.
        let mut set: bindings::blk_mq_tag_set = unsafe { core::mem::zeroed() };
        set.ops = &OPS;
        set.nr_hw_queues = nr_hw_queues;
        set.nr_maps = if poll_maps {
            bindings::hctx_type_HCTX_MAX_TYPES
        } else {
            1
        };
        set.queue_depth = depth;
        set.cmd_size = size_of::<Pdu>() as u32;
        set.numa_node = bindings::NUMA_NO_NODE;
        set.timeout = timeout_jiffies;
        set.driver_data = ptr::from_ref::<IoContext>(&ctx).cast_mut().cast::<c_void>();
        let mut set = KBox::pin(set, GFP_KERNEL)?;
        // SAFETY: `set` is pinned (blk-mq keeps pointers into it) and initialised above.
        let ret = unsafe { bindings::blk_mq_alloc_tag_set(set.as_mut().get_unchecked_mut()) };
        kernel::error::to_result(ret)?;
        // INVARIANT: allocated above; `driver_data` points to the pinned `ctx`.
        Ok(Self {
            set,
            ctx,
            quiesced: Atomic::new(false),
        })
    }

    fn raw(&self) -> *mut bindings::blk_mq_tag_set {
        ptr::from_ref::<bindings::blk_mq_tag_set>(&self.set).cast_mut()
    }

    /// The I/O queues behind the hardware queues.
    pub(crate) fn queues(&self) -> &[Arc<QueuePair>] {
        &self.ctx.queues
    }

    /// Maps CPUs to the `nr_irq` interrupt-driven queues by their vectors' affinity (or
    /// not) from the next remap on.
    pub(crate) fn set_irq_mapped(&self, on: bool, nr_irq: u32) {
        self.ctx.set_irq_mapped(on, nr_irq);
    }

    /// (interrupt-driven, polled) hardware queues.
    pub(crate) fn split(&self) -> (u32, u32) {
        let poll = self.ctx.nr_poll.load(Relaxed);
        (self.set.nr_hw_queues - poll, poll)
    }

    /// Changes the number of hardware queues of each kind to what the controller now
    /// grants, resuming dispatch (the remap waits for every request: requeued ones must
    /// run). Requests blk-mq still sends to a queue that is gone give up their bios,
    /// which are submitted again on the new map; returns how many.
    ///
    /// May sleep; the caller holds no lock that I/O completion needs.
    pub(crate) fn update_split(&self, irq: u32, poll: u32) -> u32 {
        self.ctx.nr_poll.store(poll, Relaxed);
        self.ctx.remapping.store(true, Relaxed);
        self.unquiesce();
        self.update_nr_hw_queues(irq + poll);
        self.ctx.remapping.store(false, Relaxed);
        // After the remap no request of the old map is left (blk-mq froze the queues).
        let list = core::mem::replace(&mut *self.ctx.stranded.lock(), BioList::empty());
        list.resubmit()
    }

    /// Stops dispatching to the driver (C: `nvme_quiesce_io_queues`); idempotent.
    pub(crate) fn quiesce(&self) {
        if self.quiesced.xchg(true, Relaxed) {
            return;
        }
        // SAFETY: The set is allocated (type invariant).
        unsafe { bindings::blk_mq_quiesce_tagset(self.raw()) };
    }

    /// Resumes dispatching and resubmits requeued requests.
    pub(crate) fn unquiesce(&self) {
        if !self.quiesced.xchg(false, Relaxed) {
            return;
        }
        // Requests cancelled by a reset were requeued (and their requeue lists kicked)
        // while quiesced; unquiescing runs the queues and dispatches them.
        // SAFETY: The set is allocated (type invariant).
        unsafe { bindings::blk_mq_unquiesce_tagset(self.raw()) };
    }

    /// Completes every request still owned by the driver with Host Aborted Command
    /// (C: `nvme_cancel_request`), then waits for the completions to finish. With the
    /// controller alive they are requeued; dead, they fail.
    ///
    /// The caller has disabled the controller and freed its interrupt handlers, so no
    /// completion can race with this.
    ///
    /// Returns the number of requests cancelled.
    pub(crate) fn cancel_all(&self) -> u32 {
        extern "C" fn cancel(rq: *mut bindings::request, data: *mut c_void) -> bool {
            // SAFETY: `rq` is a request of our set handed over by the iterator; `data` is
            // the counter below.
            unsafe {
                if (*rq).state != bindings::mq_rq_state_MQ_RQ_IN_FLIGHT {
                    return true;
                }
                *data.cast::<u32>() += 1;
                (*pdu(rq)).status = Status::HOST_ABORTED.to_cqe();
                bindings::blk_mq_complete_request(rq);
            }
            true
        }
        let mut n = 0u32;
        // SAFETY: The set is allocated; `cancel` matches `busy_tag_iter_fn`; `n` outlives
        // the iteration.
        unsafe {
            bindings::blk_mq_tagset_busy_iter(self.raw(), Some(cancel), (&raw mut n).cast());
            bindings::blk_mq_tagset_wait_completed_request(self.raw());
        }
        n
    }

    /// Marks the controller dead: new requests fail, cancelled ones are not retried.
    pub(crate) fn set_dead(&self) {
        self.ctx.dead.store(true, Relaxed);
    }

    /// Whether [`Self::set_dead`] was called.
    pub(crate) fn is_dead(&self) -> bool {
        self.ctx.dead.load(Relaxed)
    }

    /// Changes the number of hardware queues (the controller granted a different count).
    pub(crate) fn update_nr_hw_queues(&self, n: u32) {
        // SAFETY: The set is allocated; blk-mq freezes its queues while it remaps.
        unsafe { bindings::blk_mq_update_nr_hw_queues(self.raw(), n as i32) };
    }
}

impl Drop for TagSet {
    fn drop(&mut self) {
        for qp in self.ctx.queues.iter() {
            qp.tags.0.store(0, Relaxed);
        }
        // SAFETY: By the invariant the set is allocated; every disk using it is gone
        // (disks hold a reference to the owner of this tag set and are dropped first).
        unsafe { bindings::blk_mq_free_tag_set(self.raw()) };
    }
}
