// SPDX-License-Identifier: GPL-2.0

//! The driver's blk-mq operations: the I/O queues behind the hardware queues, the
//! request lifecycle (dispatch, completion, retry, timeout) and the tag set's controls.
//!
//! Safe code over `crate::abstractions::blk_mq` and `crate::abstractions::gendisk`: this
//! file decides what NVMe does with a request, the abstractions own the C objects.
//! Every request maps its data into a scatterlist and describes it with PRPs or an SGL
//! (`crate::spec::prp`, `crate::spec::sgl`); a list page comes from the tag set's DMA pool.

use core::marker::PhantomData;

use kernel::{
    pci,
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
    abstractions::{
        bio::BioList,
        blk_mq::{
            self,
            Batch,
            BlkStatus,
            Completing,
            Dispatch,
            HctxType,
            HwTags,
            QueueMaps,
            RqList,
            TimeoutReturn, //
        },
    },
    diag::errors::NsDiag,
    diag::fault_inject::NvmeFault,
    hw::vectors::Vectors,
    queue::QueuePair,
    spec::cmd::Command,
    spec::cmd_effects::Effects,
    spec::identify_ns::NsIds,
    spec::pi::Metadata,
    spec::status::Status,
};

mod disk;
mod io_queue;
mod map;

pub(crate) use io_queue::IoQueue;

pub(crate) use disk::{
    io_boundary,
    Disk,
    DiskRef,
    DiskView,
    Frozen,
    Limits,
    NameBuf,
    PassthruDone, //
};

/// Most data segments of a request (the queue's `max_segments` at most): one SGL list
/// page of 16-byte descriptors, as C's `NVME_MAX_SEGS`.
pub(crate) const MAX_SEGMENTS: u16 = 256;

/// What the tag set needs from the controller that owns it.
pub(crate) trait IoController: Send + Sync + 'static {
    /// The timeout handler's decision for I/O command `cid` on `qp` (C: `nvme_timeout`).
    fn io_timeout(&self, qp: &QueuePair, cid: u16, rq: &dyn TimedOut) -> TimeoutAction;
}

/// What the blk-mq timeout handler should tell the block layer.
pub(crate) enum TimeoutAction {
    /// The request was completed (found in the CQ, or cancelled by a disable).
    Done,
    /// Keep waiting: an Abort or a reset will complete it.
    ResetTimer,
}

/// A timed-out request, as the blk-mq layer shows it to the controller.
pub(crate) trait TimedOut {
    /// Reaps the request's CQ (a missed interrupt); returns whether the request is no
    /// longer in flight (C: `blk_mq_rq_state(req) != MQ_RQ_IN_FLIGHT`).
    fn poll_done(&self) -> bool;
    /// Whether an Abort of this attempt was sent already.
    fn aborted(&self) -> bool;
    /// Records that an Abort was sent (until the request is dispatched again).
    fn set_aborted(&self);
}

/// The driver's data of each request (C: `struct nvme_iod`).
///
/// `opcode`, `slba` and `passthru` are written while the request is dispatched (or, for
/// `passthru`, by its submitter) and only read after; what completions and timeouts
/// write is atomic.
pub(crate) struct Pdu {
    /// Status half-word of the completion, written by the interrupt handler.
    status: Atomic<u32>,
    /// Dwords 0 and 1 of the completion: the command's result (for passthrough), the
    /// LBA a Zone Append wrote at.
    result: Atomic<u64>,
    /// Retries of retryable errors so far (kept across requeues).
    retries: Atomic<u32>,
    /// The timeout handler already asked for an Abort of this command.
    aborted: Atomic<bool>,
    /// First LBA, for error messages.
    slba: u64,
    /// The command as sent (C: `nvme_req(req)->cmd`): built here by `prep_rq` for block
    /// I/O; for passthrough (`REQ_OP_DRV_IN`/`OUT`) written by the submitter as the user
    /// gave it, and completed with its data pointer and cid by `prep_rq`. The SQ entry is
    /// copied from here; written only before the request starts.
    cmd: Command,
}

/// What a namespace's request queue carries (`queuedata`).
pub(crate) struct NsInfo<C: IoController> {
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
    /// Zeroes are written by deallocating (DSM), on a controller whose deallocated
    /// blocks read zeroes (C: `NVME_QUIRK_DEALLOCATE_ZEROES`).
    pub(crate) zeroes_by_dsm: bool,
    /// Write Zeroes may deallocate (DLFEAT: deallocated blocks read zeroes and DEAC is
    /// supported).
    pub(crate) deac: bool,
    /// Zone size in 512-byte sectors of a zoned namespace on a zoned disk, 0 otherwise.
    /// Changed as `lba_shift`.
    pub(crate) zone_sectors: Atomic<u64>,
    /// How the LBA format carries metadata ([`Metadata::to_bits`]). Changed as
    /// `lba_shift`.
    pub(crate) meta: Atomic<u64>,
    /// Namespace identifiers, for sysfs.
    pub(crate) ids: NsIds,
    /// Error and retry counters, passthrough logging (`crate::diag::errors`).
    pub(crate) diag: NsDiag,
    /// Its fault injection point, made when its disk is numbered.
    pub(crate) fault: Option<NvmeFault>,
    /// The controller (C: `ns->ctrl`); the namespace lives as long as its gendisk, so
    /// ioctls on an open disk can still reach the controller after it was removed.
    pub(crate) ctrl: Arc<C>,
    /// Commands Supported and Effects (for passthrough; C: `ns->head->effects`).
    pub(crate) effects: Arc<Effects>,
    /// The controller's PCI Vendor ID, serial and model, for the `wwid` fallback.
    pub(crate) vid: u16,
    /// Serial Number, space padded.
    pub(crate) sn: [u8; 20],
    /// Model Number, space padded.
    pub(crate) mn: [u8; 40],
}

impl<C: IoController> NsInfo<C> {
    /// log2 of the logical block size.
    pub(crate) fn lba_shift(&self) -> u32 {
        self.lba_shift.load(Relaxed)
    }

    /// How the LBA format carries metadata and protection information.
    pub(crate) fn meta(&self) -> Metadata {
        Metadata::from_bits(self.meta.load(Relaxed))
    }

    /// Whether the LBA format carries metadata (cheaper than [`Self::meta`]).
    pub(crate) fn has_metadata(&self) -> bool {
        self.meta().ms != 0
    }

    /// Whether block I/O can address the namespace.
    pub(crate) fn block_io(&self) -> bool {
        self.block_io.load(Relaxed)
    }

    /// Whether passthrough I/O can carry the namespace's data: its LBA format has no
    /// metadata, or separate metadata that a metadata buffer carries; metadata
    /// interleaved with the data would move more than the command's blocks of data (any
    /// command set, any block size: the generic device reaches namespaces the block
    /// layer cannot address).
    pub(crate) fn passthru_io(&self) -> bool {
        let m = self.meta();
        m.ms == 0 || !m.ext
    }
}

impl Default for Pdu {
    fn default() -> Self {
        Self {
            status: Atomic::new(0),
            result: Atomic::new(0),
            retries: Atomic::new(0),
            aborted: Atomic::new(false),
            slba: 0,
            cmd: Command::default(),
        }
    }
}

/// The block layer's view of the controller, shared by every hardware queue.
pub(crate) struct IoContext<C: IoController> {
    pdev: ARef<pci::Device>,
    /// The controller, for timeouts. A reference cycle (the controller owns the tag set)
    /// that teardown breaks by dropping the tag set.
    ctrl: Arc<C>,
    /// Set when the controller is dead: requests fail fast and are not retried.
    dead: Atomic<bool>,
    /// Most retries of a request (C: nvme_core's `max_retries`), whether it failed with
    /// a retryable status or was cancelled by a reset.
    max_retries: u8,
    queues: KVec<Arc<IoQueue<C>>>,
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

/// The queue of each CPU (C: `blk_mq_map_hw_queues`: queue `i` interrupts on vector
/// `i + 1`, vector 0 is the admin queue's); empty when a vector has no affinity or on
/// allocation failure. CPUs in no mask get `NO_QUEUE`.
fn affinity_map(vectors: &Vectors, nr_irq: u32) -> KVec<u32> {
    let cpus = kernel::cpu::nr_cpu_ids();
    let mut map = KVec::new();
    if map.resize(cpus as usize, NO_QUEUE, GFP_KERNEL).is_err() {
        return KVec::new();
    }
    for q in 0..nr_irq {
        let Some(mask) = vectors.affinity(q.saturating_add(1)) else {
            return KVec::new();
        };
        for (cpu, slot) in map.iter_mut().enumerate() {
            let cpu = kernel::cpu::CpuId::from_u32(cpu as u32);
            if cpu.is_some_and(|c| mask.test(c)) {
                *slot = q;
            }
        }
    }
    map
}

impl<C: IoController> IoContext<C> {
    /// The I/O queues in hardware-queue order (hctx `i` uses `queues[i]`).
    #[expect(clippy::too_many_arguments)]
    pub(crate) fn new(
        pdev: &pci::Device,
        ctrl: Arc<C>,
        queues: KVec<Arc<IoQueue<C>>>,
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
                kernel::new_spinlock!(BioList::new(), "rust_nvme:stranded"),
                GFP_KERNEL,
            )?,
            max_retries,
            nr_poll: Atomic::new(nr_poll),
            irq_mapped: Atomic::new(false),
            sgls,
            sgl_threshold,
            warned_notsupp: Atomic::new(false),
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
    pub(crate) fn set_irq_mapped(&self, on: bool, nr_irq: u32, vectors: Option<&Vectors>) {
        let map = match vectors {
            Some(v) if on => affinity_map(v, nr_irq),
            _ => KVec::new(),
        };
        self.irq_mapped.store(!map.is_empty(), Relaxed);
        *self.irq_map.lock() = map;
    }
}

/// The block status a failed NVMe status maps to (C: `nvme_error_status`): media errors
/// are `BLK_STS_MEDIUM` (ENODATA to the caller), invalid opcode/field "not supported",
/// anything else an I/O error.
fn block_status(s: &Status) -> BlkStatus {
    use crate::spec::status::{
        sc::command_specific as cs,
        sct, //
    };
    match (s.sct, s.sc) {
        _ if s.is_not_supported() => BlkStatus::NOTSUPP,
        (sct::COMMAND_SPECIFIC, cs::ZONE_TOO_MANY_ACTIVE) => BlkStatus::ZONE_ACTIVE_RESOURCE,
        (sct::COMMAND_SPECIFIC, cs::ZONE_TOO_MANY_OPEN) => BlkStatus::ZONE_OPEN_RESOURCE,
        (sct::COMMAND_SPECIFIC, cs::INVALID_PROTECTION_INFORMATION)
        | (
            sct::MEDIA,
            crate::spec::status::sc::media::GUARD_CHECK_ERROR
            | crate::spec::status::sc::media::APP_TAG_CHECK_ERROR
            | crate::spec::status::sc::media::REF_TAG_CHECK_ERROR,
        ) => BlkStatus::PROTECTION,
        (sct::GENERIC, crate::spec::status::sc::generic::LBA_OUT_OF_RANGE) => BlkStatus::TARGET,
        (sct::GENERIC, crate::spec::status::sc::generic::CAPACITY_EXCEEDED) => BlkStatus::NOSPC,
        (sct::MEDIA, _) => BlkStatus::MEDIUM,
        _ => BlkStatus::IOERR,
    }
}

/// A request in the hands of the timeout handler, for `Ctrl::io_timeout`.
struct TimedOutRq<'a, C: IoController> {
    rq: blk_mq::TimedOut<'a, Ops<C>>,
    q: &'a IoQueue<C>,
}

impl<C: IoController> TimedOut for TimedOutRq<'_, C> {
    fn poll_done(&self) -> bool {
        // A completion may be sitting in the CQ with its interrupt lost: reap it.
        self.q.reap();
        !self.rq.rq().is_in_flight()
    }

    fn aborted(&self) -> bool {
        self.rq.pdu().aborted.load(Relaxed)
    }

    fn set_aborted(&self) {
        self.rq.pdu().aborted.store(true, Relaxed);
    }
}

/// Commands per doorbell from `queue_rqs` at most (a plug holds up to 32 requests, C's
/// `BLK_MAX_REQUEST_COUNT`).
const SUBMIT_BATCH: usize = 32;

/// Started requests of one queue whose commands go to the SQ together, under one lock
/// and one doorbell (C: `nvme_submit_cmds`); at most [`SUBMIT_BATCH`] at a time.
struct SubmitBatch<'a, C: IoController> {
    q: Option<&'a IoQueue<C>>,
    started: [Option<blk_mq::Started<'a, Ops<C>>>; SUBMIT_BATCH],
    n: usize,
}

impl<'a, C: IoController> SubmitBatch<'a, C> {
    fn new() -> Self {
        Self {
            q: None,
            started: [const { None }; SUBMIT_BATCH],
            n: 0,
        }
    }

    /// Whether a request of `q` may join.
    fn is_for(&self, q: &IoQueue<C>) -> bool {
        self.q.is_none_or(|b| core::ptr::eq(b, q))
    }

    /// Adds a started request of `q` (the batch is empty or for `q`), its command in
    /// its PDU.
    fn push(&mut self, q: &'a IoQueue<C>, started: blk_mq::Started<'a, Ops<C>>) {
        if self.n == SUBMIT_BATCH {
            self.submit();
        }
        self.q = Some(q);
        if let Some(s) = self.started.get_mut(self.n) {
            *s = Some(started);
            self.n += 1;
        }
    }

    /// Writes the commands and rings the doorbell; fails their requests if the queue
    /// stopped existing meanwhile.
    fn submit(&mut self) {
        let n = core::mem::take(&mut self.n);
        let Some(q) = self.q.take() else {
            return;
        };
        let cmds = self.started.iter().take(n).flatten().map(|s| &s.pdu().cmd);
        let ok = q.submit_all(cmds).is_ok();
        for s in self.started.iter_mut().take(n) {
            if let Some(s) = s.take() {
                if !ok {
                    // As `queue_rq` fails a request whose queue is gone.
                    s.end_unsent(BlkStatus::IOERR);
                }
            }
        }
    }
}

/// The driver's blk-mq operations.
pub(crate) struct Ops<C: IoController>(PhantomData<C>);

#[vtable]
impl<C: IoController> blk_mq::Operations for Ops<C> {
    type TagSetData = IoContext<C>;
    type HwData = IoQueue<C>;
    type Pdu = Pdu;
    type QueueData = NsInfo<C>;

    fn hw_queue(ctx: &IoContext<C>, index: u32) -> Option<(&IoQueue<C>, &HwTags<Self>)> {
        let q = ctx.queues.get(usize::try_from(index).ok()?)?;
        Some((q, &q.tags))
    }

    fn queue_rq(q: &IoQueue<C>, mut rq: Dispatch<'_, Self>, last: bool) -> BlkStatus {
        let ctx = rq.tag_set_data();
        let r = rq.rq();
        if ctx.dead.load(Relaxed) {
            return BlkStatus::IOERR;
        }
        // A queue the controller no longer has, while the map is being updated to the
        // queues it now grants: C fails the request (`NVMEQ_ENABLED`); its bios go out
        // again once the map is new (passthrough and flush requests, which have no
        // bios to give, still fail).
        if ctx.remapping.load(Relaxed) && !q.is_live() && !r.op().is_drv() && r.has_bios() {
            let mut bios = BioList::new();
            rq.steal_bios(&mut bios);
            ctx.stranded.lock().append(bios);
            return BlkStatus::OK;
        }
        if let Err(s) = map::prep_rq(ctx, rq.queue_data(), &mut rq) {
            return s;
        }
        let started = rq.start();
        if q.submit(&started.pdu().cmd, last).is_err() {
            started.fail();
            return BlkStatus::IOERR;
        }
        BlkStatus::OK
    }

    fn queue_rqs(list: &mut RqList<'_, Self>) {
        let mut batch = SubmitBatch::new();
        while let Some((q, mut rq)) = list.pop() {
            if !batch.is_for(q) {
                batch.submit();
            }
            let ctx = rq.tag_set_data();
            // Anything but the plain case (a dead controller, a queue gone or being
            // remapped) goes the one-by-one way, which knows what to do with it (C:
            // `nvme_prep_rq_batch`).
            if ctx.dead.load(Relaxed) || ctx.remapping.load(Relaxed) || !q.is_live() {
                list.retry(rq);
                continue;
            }
            match map::prep_rq(ctx, rq.queue_data(), &mut rq) {
                Ok(()) => batch.push(q, rq.start()),
                Err(_) => list.retry(rq),
            }
        }
        batch.submit();
    }

    fn commit_rqs(q: &IoQueue<C>) {
        q.commit();
    }

    fn poll(q: &IoQueue<C>, batch: Option<&mut Batch<'_, Self>>) -> u32 {
        match batch {
            Some(b) => q.reap_polled(b),
            None => q.reap_polled(&mut Batch::new()),
        }
    }

    fn map_queues(ctx: &IoContext<C>, maps: &mut QueueMaps<'_>) {
        let nr = maps.nr_hw_queues();
        let poll = ctx.nr_poll.load(Relaxed).min(nr.saturating_sub(1));
        let default = nr - poll;
        // Interrupt-driven queues first, then polled ones (C: `nvme_pci_map_queues`);
        // no separate read queues. Without managed interrupt affinity the CPUs are
        // spread over the queues.
        if ctx.irq_mapped.load(Relaxed) {
            // By the affinity looked up before (see `IoContext::irq_map`); blk-mq
            // cleared the map (every CPU on the first queue) before calling us.
            let cpu_queue = ctx.irq_map.lock();
            maps.assign(HctxType::Default, default, 0, |cpu| {
                cpu_queue.get(cpu).copied()
            });
        } else {
            maps.spread(HctxType::Default, default, 0);
        }
        maps.spread(HctxType::Read, 0, 0);
        maps.spread(HctxType::Poll, poll, default);
    }

    fn complete(rq: Completing<'_, Self>) {
        complete_rq(rq);
    }

    fn timeout(q: &IoQueue<C>, rq: blk_mq::TimedOut<'_, Self>) -> TimeoutReturn {
        let r = rq.rq();
        let (ctx, tag) = (r.tag_set_data(), r.tag());
        let timed_out = TimedOutRq { rq, q };
        match ctx.ctrl.io_timeout(q, tag, &timed_out) {
            TimeoutAction::Done => TimeoutReturn::Done,
            TimeoutAction::ResetTimer => TimeoutReturn::ResetTimer,
        }
    }
}

/// Ends a request whose completion was recorded in its PDU (C: `nvme_pci_complete_rq` +
/// `nvme_decide_disposition`).
fn complete_rq<C: IoController>(mut rq: Completing<'_, Ops<C>>) {
    let ctx = rq.tag_set_data();
    let r = rq.rq();
    let p = rq.pdu();
    let status = p.status.load(Relaxed) as u16;
    let dead = ctx.dead.load(Relaxed);
    if r.op().is_drv() {
        // The caller reads status and result from the PDU; no retry, no requeue (C:
        // passthrough requests are REQ_FAILFAST_DRIVER), logged only if asked.
        let sts = Status::from_cqe(status).map_or(BlkStatus::OK, |s| {
            let ns = rq.queue_data();
            let disk = format_args!("nvme{}n{}", ns.instance, ns.disk_id);
            ns.diag.passthru_failed(disk, &p.cmd, status);
            block_status(&s)
        });
        rq.end(sts);
        return;
    }
    // C: `nvme_decide_disposition`: no retry once dead, for REQ_FAILFAST requests, or
    // after `max_retries`.
    let retries = p.retries.load(Relaxed);
    let may_retry = !dead && !r.is_failfast() && retries < u32::from(ctx.max_retries);
    let sts = match Status::from_cqe(status) {
        None if r.op() == blk_mq::ReqOp::ZoneAppend => {
            // Where the data landed (C: `nvme_end_req_zoned`).
            let lba = p.result.load(Relaxed);
            let sector = crate::spec::lba::lba_to_sectors(lba, rq.queue_data().lba_shift());
            rq.set_sector(sector);
            BlkStatus::OK
        }
        None => BlkStatus::OK,
        // Cancelled by a controller reset: resubmitted once the controller is back.
        Some(s) if s == Status::HOST_ABORTED && may_retry => {
            p.retries.store(retries + 1, Relaxed);
            rq.queue_data().diag.retried();
            rq.requeue();
            return;
        }
        Some(s) => {
            let ns = rq.queue_data();
            if may_retry && s.is_retryable() {
                p.retries.store(retries + 1, Relaxed);
                ns.diag.retried();
                rq.requeue();
                return;
            }
            // C's line, once the request fails for good (`nvme_log_error`).
            let disk = format_args!("nvme{}n{}", ns.instance, ns.disk_id);
            let shift = ns.lba_shift();
            let lba = crate::spec::lba::sector_to_lba(r.sector(), shift);
            ns.diag
                .io_failed(disk, p.cmd.opcode(), lba, r.bytes() >> shift, status);
            if dead {
                BlkStatus::IOERR
            } else {
                block_status(&s)
            }
        }
    };
    rq.end(sts);
}

/// The controller's blk-mq tag set over its I/O queues.
pub(crate) struct TagSet<C: IoController> {
    set: Arc<blk_mq::TagSet<Ops<C>>>,
}

impl<C: IoController> TagSet<C> {
    /// Allocates a tag set of `depth` tags per hardware queue, one per queue in `ctx`;
    /// requests map their data for `dev`.
    ///
    /// With `poll_maps`, the set has the default, read and poll maps (the last
    /// `nr_poll` hardware queues serve polled I/O).
    pub(crate) fn new(
        ctx: IoContext<C>,
        dev: &kernel::device::Device<kernel::device::Bound>,
        depth: u32,
        timeout_jiffies: u32,
        poll_maps: bool,
    ) -> Result<Self> {
        let p = blk_mq::TagSetParams {
            nr_hw_queues: u32::try_from(ctx.queues.len())?,
            depth,
            timeout_jiffies,
            poll_maps,
            list_page_size: ctx.page_size,
            max_segments: MAX_SEGMENTS,
        };
        Ok(Self {
            set: Arc::new(blk_mq::TagSet::new(ctx, dev, p)?, GFP_KERNEL)?,
        })
    }

    fn ctx(&self) -> &IoContext<C> {
        self.set.data()
    }

    /// The tag set, for its disks.
    pub(crate) fn raw_set(&self) -> &Arc<blk_mq::TagSet<Ops<C>>> {
        &self.set
    }

    /// The I/O queues behind the hardware queues.
    pub(crate) fn queues(&self) -> &[Arc<IoQueue<C>>] {
        &self.ctx().queues
    }

    /// Maps CPUs to the `nr_irq` interrupt-driven queues by their vectors' affinity (or
    /// not) from the next remap on.
    pub(crate) fn set_irq_mapped(&self, on: bool, nr_irq: u32, vectors: Option<&Vectors>) {
        self.ctx().set_irq_mapped(on, nr_irq, vectors);
    }

    /// (interrupt-driven, polled) hardware queues.
    pub(crate) fn split(&self) -> (u32, u32) {
        let poll = self.ctx().nr_poll.load(Relaxed);
        (self.set.nr_hw_queues().saturating_sub(poll), poll)
    }

    /// Changes the number of hardware queues of each kind to what the controller now
    /// grants, resuming dispatch (the remap waits for every request: requeued ones must
    /// run). Requests blk-mq still sends to a queue that is gone give up their bios,
    /// which are submitted again on the new map; returns how many.
    ///
    /// May sleep; the caller holds no lock that I/O completion needs.
    pub(crate) fn update_split(&self, irq: u32, poll: u32) -> u32 {
        let ctx = self.ctx();
        ctx.nr_poll.store(poll, Relaxed);
        ctx.remapping.store(true, Relaxed);
        self.unquiesce();
        self.update_nr_hw_queues(irq.saturating_add(poll));
        ctx.remapping.store(false, Relaxed);
        // After the remap no request of the old map is left (blk-mq froze the queues).
        let list = core::mem::replace(&mut *ctx.stranded.lock(), BioList::new());
        list.resubmit()
    }

    /// Stops dispatching to the driver (C: `nvme_quiesce_io_queues`); idempotent.
    pub(crate) fn quiesce(&self) {
        self.set.quiesce();
    }

    /// Resumes dispatching and resubmits requeued requests.
    pub(crate) fn unquiesce(&self) {
        // Requests cancelled by a reset were requeued (and their requeue lists kicked)
        // while quiesced; unquiescing runs the queues and dispatches them.
        self.set.unquiesce();
    }

    /// Completes every request still owned by the driver with Host Aborted Command
    /// (C: `nvme_cancel_request`), then waits for the completions to finish. With the
    /// controller alive they are requeued; dead, they fail.
    ///
    /// The caller has disabled the controller and freed its interrupt handlers, so no
    /// completion races with this (and if one did, exactly one of them would win).
    ///
    /// Returns the number of requests cancelled.
    pub(crate) fn cancel_all(&self) -> u32 {
        self.set.cancel_each(|c| {
            c.pdu()
                .status
                .store(u32::from(Status::HOST_ABORTED.to_cqe()), Relaxed);
            c.complete();
        })
    }

    /// Marks the controller dead: new requests fail, cancelled ones are not retried.
    pub(crate) fn set_dead(&self) {
        self.ctx().dead.store(true, Relaxed);
    }

    /// Whether [`Self::set_dead`] was called.
    pub(crate) fn is_dead(&self) -> bool {
        self.ctx().dead.load(Relaxed)
    }

    /// Changes the number of hardware queues (the controller granted a different count).
    pub(crate) fn update_nr_hw_queues(&self, n: u32) {
        self.set.update_nr_hw_queues(n);
    }
}
