// SPDX-License-Identifier: GPL-2.0

//! A submission/completion queue pair in host memory (NVMe Base Specification 2.0, §3.3).
//!
//! The SQ is a ring of [`Command`]s the host fills and the controller consumes; the CQ a
//! ring of [`Completion`]s the controller fills. The host owns SQ slots from `sq_tail`
//! until it rings SQyTDBL past them, and CQ slots whose Phase Tag matches `cq_phase` until
//! it writes CQyHDBL past them. The phase flips every time `cq_head` wraps.

use kernel::{
    device,
    pci::DevresBar,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        barrier::{
            dma_mb,
            Read, //
        },
        new_spinlock,
        Arc,
        SpinLock, //
    },
};

use crate::{
    abstractions::{
        bar_reg::BarReg32,
        dma_ring::DmaRing, //
    },
    hw::shadow_doorbell::Shadow,
    spec::cmd::{
        Command,
        Completion,
        StatusField, //
    },
    spec::regs,
};

/// BAR0 as shared by the controller and its queues.
pub(crate) type Bar0 = DevresBar<{ regs::BAR0_MIN_SIZE }>;

/// A doorbell register of BAR0.
type Db = BarReg32<{ regs::BAR0_MIN_SIZE }>;

/// Where a CQE's status field (with the Phase Tag) lies in the entry.
const STATUS_OFFSET: usize = core::mem::offset_of!(Completion, status);

/// Index arithmetic of a ring of `depth` entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ring {
    depth: u16,
}

impl Ring {
    /// A ring of `depth` entries; `depth` must be at least 2 (the spec's minimum).
    pub(crate) fn new(depth: u16) -> Result<Self> {
        if depth < 2 {
            return Err(EINVAL);
        }
        Ok(Self { depth })
    }

    /// The slot after `i`.
    pub(crate) fn next(self, i: u16) -> u16 {
        // `i < depth <= u16::MAX`: no wrap; written so that no overflow check is needed.
        let n = i.wrapping_add(1);
        if n >= self.depth {
            0
        } else {
            n
        }
    }
}

/// The completion queue consumer's position.
///
/// # Invariants
///
/// `head < ring.depth`; entries at `head` onwards whose Phase Tag equals `phase` are new.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CqCursor {
    ring: Ring,
    /// Next CQ slot to look at (C: `cq_head`).
    pub(crate) head: u16,
    /// Phase Tag of new entries (C: `cq_phase`); the controller writes 1 on its first pass.
    pub(crate) phase: bool,
}

impl CqCursor {
    /// The position of a freshly created (zeroed) CQ.
    pub(crate) fn new(ring: Ring) -> Self {
        Self {
            ring,
            head: 0,
            phase: true,
        }
    }

    /// Whether a CQE with status half-word `status` at `head` is new.
    pub(crate) fn is_new(self, status: u16) -> bool {
        StatusField::from_raw(status).p() == self.phase
    }

    /// The position packed into one word (`head`, and the phase in bit 16), for a
    /// consumer's lock-free peek ([`QueuePair::cq_pending`]).
    pub(crate) fn to_bits(self) -> u32 {
        u32::from(self.head) | u32::from(self.phase) << 16
    }

    /// Consumes the entry at `head`.
    pub(crate) fn advance(&mut self) {
        // INVARIANT: `Ring::next` stays below the depth; the phase flips on wrap.
        self.head = self.ring.next(self.head);
        if self.head == 0 {
            self.phase = !self.phase;
        }
    }
}

/// The submission queue producer's position.
///
/// # Invariants
///
/// `tail < ring.depth`, `last_tail < ring.depth`.
struct SqState {
    ring: Ring,
    /// Next SQ slot to fill (C: `sq_tail`).
    tail: u16,
    /// Tail value last written to SQyTDBL (C: `last_sq_tail`).
    last_tail: u16,
    /// Shadow doorbell slot, when Doorbell Buffer Config is in use.
    shadow: Option<Shadow>,
}

/// The completion queue consumer's state (C: `cq_head`, `cq_phase`), kept by whoever
/// consumes the CQ: an interrupt-driven CQ's belongs to its vector's handler, a polled
/// one's to the poller (the layers above decide how that is enforced).
pub(crate) struct CqState {
    cur: CqCursor,
    /// Shadow doorbell slot, when Doorbell Buffer Config is in use.
    shadow: Option<Shadow>,
    /// The queue it belongs to (checked: another queue's state consumes nothing).
    qid: u16,
}

impl CqState {
    /// The consumer's position ([`CqCursor::to_bits`]).
    pub(crate) fn cursor_bits(&self) -> u32 {
        self.cur.to_bits()
    }
}

/// One queue pair: an SQ and its CQ, with the same identifier.
#[pin_data]
pub(crate) struct QueuePair {
    /// Queue identifier: 0 is the admin queue.
    pub(crate) qid: u16,
    /// Number of entries in each ring.
    pub(crate) depth: u16,
    /// MSI-X vector the CQ interrupts on (unused when `polled`).
    pub(crate) vector: u16,
    /// A polled queue: its CQ raises no interrupt; blk-mq's `poll` reaps it.
    pub(crate) polled: bool,
    sq: DmaRing<Command>,
    cq: DmaRing<Completion>,
    /// SQyTDBL and CQyHDBL, their offsets checked once here.
    sq_db: Db,
    cq_db: Db,
    /// The queue exists on the enabled controller: doorbells may be written. Cleared
    /// before the controller is disabled, since writing the doorbell of a queue that no
    /// longer exists is a protocol error.
    live: Atomic<bool>,
    /// Doorbells stopped for good ([`Self::stop_doorbells`]): the controller is about
    /// to be disabled while the queue still counts as live for its waiters. Set under
    /// `sq_state` and with the CQ's consumer state held.
    stopped: Atomic<bool>,
    /// Lock order: innermost; taken by submitters (blk-mq dispatch, admin commands) and
    /// by `reset` with the CQ state held. No interrupt handler takes it.
    #[pin]
    sq_state: SpinLock<SqState>,
    ring: Ring,
}

impl QueuePair {
    /// Allocates the rings of queue pair `qid` in coherent DMA memory.
    pub(crate) fn new(
        dev: &device::Device<device::Bound>,
        bar: Arc<Bar0>,
        stride: usize,
        qid: u16,
        depth: u16,
        vector: u16,
        polled: bool,
    ) -> Result<Arc<Self>> {
        let ring = Ring::new(depth)?;
        let sq = DmaRing::<Command>::zeroed(dev, usize::from(depth))?;
        let cq = DmaRing::<Completion>::zeroed(dev, usize::from(depth))?;
        let sq_db = BarReg32::new(bar.clone(), regs::sq_tail_doorbell(qid, stride))?;
        let cq_db = BarReg32::new(bar, regs::cq_head_doorbell(qid, stride))?;
        Arc::pin_init(
            pin_init!(Self {
                qid,
                depth,
                vector,
                polled,
                sq,
                cq,
                sq_db,
                cq_db,
                live: Atomic::new(false),
                stopped: Atomic::new(false),
                sq_state <- new_spinlock!(SqState { ring, tail: 0, last_tail: 0, shadow: None }),
                ring,
            }),
            GFP_KERNEL,
        )
    }

    /// The consumer state of the queue's CQ as just created; the CQ's consumer keeps it.
    pub(crate) fn new_cq_state(&self) -> CqState {
        CqState {
            cur: CqCursor::new(self.ring),
            shadow: None,
            qid: self.qid,
        }
    }

    /// Returns the rings to their just-created state, for re-creating the queue on the
    /// controller after a reset: empty SQ, CQ zeroed (so no stale entry carries the
    /// phase the controller will write first). `cq` is the CQ's consumer state, which
    /// the caller holds exclusively.
    pub(crate) fn reset(&self, cq: &mut CqState) -> Result {
        if cq.qid != self.qid {
            return Err(EINVAL);
        }
        let mut sq = self.sq_state.lock();
        for i in 0..usize::from(self.depth) {
            self.cq.write(i, Completion::default());
        }
        sq.tail = 0;
        sq.last_tail = 0;
        sq.shadow = None;
        cq.cur = CqCursor::new(sq.ring);
        cq.shadow = None;
        Ok(())
    }

    /// Starts (or stops, with `None`) using shadow doorbells for this queue. Called while
    /// the queue is idle, right after it is created; `cq` as for [`Self::reset`].
    pub(crate) fn set_shadows(
        &self,
        cq: &mut CqState,
        sq_shadow: Option<Shadow>,
        cq_shadow: Option<Shadow>,
    ) {
        self.sq_state.lock().shadow = sq_shadow;
        cq.shadow = cq_shadow;
    }

    /// Bus address of the SQ ring (for ASQ / Create I/O SQ).
    pub(crate) fn sq_dma(&self) -> u64 {
        self.sq.dma_address()
    }

    /// Bus address of the CQ ring (for ACQ / Create I/O CQ).
    pub(crate) fn cq_dma(&self) -> u64 {
        self.cq.dma_address()
    }

    /// Marks the queue as created on the controller (doorbells allowed) or not.
    pub(crate) fn set_live(&self, live: bool) {
        self.live.store(live, Relaxed);
    }

    /// Whether the queue exists on an enabled controller (see [`Self::set_live`]).
    pub(crate) fn is_live(&self) -> bool {
        self.live.load(Relaxed)
    }

    /// Stops the queue's doorbells for good before the controller is disabled (C
    /// quiesces its admin queue first): once this returns no submission is accepted or
    /// announced, and no CQ head written, though waiters still see the queue live until
    /// the disable is done. `cq`, the CQ's consumer state, shows that the caller holds
    /// the CQ: no reaper is between its check and its doorbell write.
    pub(crate) fn stop_doorbells(&self, cq: &mut CqState) {
        let _ = cq;
        let _sq = self.sq_state.lock();
        self.stopped.store(true, Relaxed);
    }

    /// Whether doorbells may be written: the queue is live and not stopped.
    fn doorbells_open(&self) -> bool {
        self.live.load(Relaxed) && !self.stopped.load(Relaxed)
    }

    /// Writes `value` to doorbell `db`; nothing if the queue is not live,
    /// stopped or the device is gone, or if the shadow doorbell says the controller does
    /// not need it.
    fn ring_doorbell(&self, value: u16, db: &Db, shadow: Option<&Shadow>) {
        if self.doorbells_open() {
            self.write_doorbell(value, db, shadow);
        }
    }

    /// [`Self::ring_doorbell`] for a caller that checked under the SQ lock, which
    /// [`Self::stop_doorbells`] takes, that doorbells are open.
    fn write_doorbell(&self, value: u16, db: &Db, shadow: Option<&Shadow>) {
        if let Some(s) = shadow {
            if !s.update(value) {
                return;
            }
        }
        // A non-relaxed write (writel): the SQE / CQ consumption before it is visible to
        // the device first. Nothing is written once the BAR is unmapped (device gone).
        db.write(u32::from(value));
    }

    /// Copies `cmd` into the next SQ slot; rings SQyTDBL when `ring` is set.
    ///
    /// # Errors
    ///
    /// `ENODEV` when the queue does not exist on the controller (any more): nothing is
    /// written, so that the caller fails the command instead of leaving it in a ring no
    /// doorbell will announce (C: `queue_rq` checks `NVMEQ_ENABLED`).
    pub(crate) fn submit(&self, cmd: &Command, ring: bool) -> Result {
        let mut sq = self.sq_state.lock();
        if !self.doorbells_open() {
            return Err(ENODEV);
        }
        self.sq.write(usize::from(sq.tail), *cmd);
        // INVARIANT: `Ring::next` stays below the depth.
        sq.tail = sq.ring.next(sq.tail);
        if ring {
            sq.last_tail = sq.tail;
            // Checked open above, under the lock.
            self.write_doorbell(sq.tail, &self.sq_db, sq.shadow.as_ref());
        }
        Ok(())
    }

    /// Copies `cmds` into the next SQ slots and rings SQyTDBL once (C:
    /// `nvme_submit_cmds`).
    ///
    /// # Errors
    ///
    /// `ENODEV` as for [`Self::submit`]: none of them is written.
    pub(crate) fn submit_all<'c>(&self, cmds: impl IntoIterator<Item = &'c Command>) -> Result {
        let mut sq = self.sq_state.lock();
        if !self.doorbells_open() {
            return Err(ENODEV);
        }
        for cmd in cmds {
            self.sq.write(usize::from(sq.tail), *cmd);
            // INVARIANT: `Ring::next` stays below the depth.
            sq.tail = sq.ring.next(sq.tail);
        }
        if sq.tail == sq.last_tail {
            // Nothing to announce.
            return Ok(());
        }
        sq.last_tail = sq.tail;
        // Checked open above, under the lock.
        self.write_doorbell(sq.tail, &self.sq_db, sq.shadow.as_ref());
        Ok(())
    }

    /// Rings SQyTDBL if commands were queued without ringing it (blk-mq `commit_rqs`).
    pub(crate) fn commit(&self) {
        let mut sq = self.sq_state.lock();
        if sq.tail != sq.last_tail {
            sq.last_tail = sq.tail;
            self.ring_doorbell(sq.tail, &self.sq_db, sq.shadow.as_ref());
        }
    }

    /// Whether the CQ has a new entry at the position `bits` ([`CqCursor::to_bits`]),
    /// read without the consumer's state (C: `nvme_cqe_pending`, before a poller takes
    /// the CQ's lock). A stale position only makes the answer stale: at worst the caller
    /// takes the lock for nothing, or polls again. Out of range: yes.
    #[inline]
    pub(crate) fn cq_pending(&self, bits: u32) -> bool {
        let head = usize::from(bits as u16);
        let phase = bits >> 16 & 1 != 0;
        match self.cq.read_part::<u16>(head, STATUS_OFFSET) {
            Some(status) => StatusField::from_raw(status).p() == phase,
            None => true,
        }
    }

    /// Consumes every new CQE, calling `f` for each, then writes CQyHDBL once. `cq` is the
    /// CQ's consumer state, which the caller holds exclusively (the CQ's interrupt
    /// handler, or a context that keeps it from running: C's `nvme_process_cq` relies
    /// on the same).
    ///
    /// Returns the number of entries consumed (none with another queue's state).
    pub(crate) fn process_cq(&self, cq: &mut CqState, mut f: impl FnMut(&Completion)) -> usize {
        if cq.qid != self.qid {
            return 0;
        }
        let mut n = 0;
        loop {
            let slot = usize::from(cq.cur.head);
            match self.cq.read_part::<u16>(slot, STATUS_OFFSET) {
                Some(status) if cq.cur.is_new(status) => {}
                _ => break,
            }
            // The phase tag is read first; the rest of the entry only after this barrier,
            // or the CPU could return stale contents from before the device wrote it.
            dma_mb(Read);
            let Some(cqe) = self.cq.read(slot) else {
                break;
            };
            cq.cur.advance();
            n += 1;
            f(&cqe);
        }
        if n > 0 {
            self.ring_doorbell(cq.cur.head, &self.cq_db, cq.shadow.as_ref());
        }
        n
    }
}

#[kunit_tests(rust_nvme_queue)]
mod tests {
    use super::*;

    #[test]
    fn ring_wraps() -> Result {
        let r = Ring::new(4)?;
        assert_eq!(r.next(0), 1);
        assert_eq!(r.next(2), 3);
        assert_eq!(r.next(3), 0);
        assert_eq!(Ring::new(1), Err(EINVAL));
        assert_eq!(Ring::new(0), Err(EINVAL));
        Ok(())
    }

    #[test]
    fn phase_flips_on_wrap() -> Result {
        let mut c = CqCursor::new(Ring::new(3)?);
        assert!(c.phase);
        // A zeroed CQ has phase 0 everywhere: nothing is new.
        assert!(!c.is_new(0));
        assert!(c.is_new(1));
        c.advance();
        c.advance();
        assert_eq!((c.head, c.phase), (2, true));
        assert_eq!(c.to_bits(), 2 | 1 << 16);
        c.advance();
        assert_eq!((c.head, c.phase), (0, false));
        assert_eq!(c.to_bits(), 0);
        // Second pass: entries written with phase 0 are new, stale phase-1 ones are not.
        assert!(c.is_new(0));
        assert!(!c.is_new(1));
        for _ in 0..3 {
            c.advance();
        }
        assert_eq!((c.head, c.phase), (0, true));
        Ok(())
    }
}
