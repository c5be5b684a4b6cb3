// SPDX-License-Identifier: GPL-2.0

//! An I/O queue as blk-mq sees it: a queue pair with its hardware queue's tags, who
//! consumes its CQ (the vector's handler or pollers), and the completion of the requests
//! its CQEs name (C: `struct nvme_queue`'s blk-mq side, `nvme_handle_cqe`).

use core::ops::Deref;

use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        rcu,
        Arc,
        SpinLock, //
    },
};

use super::{
    IoController,
    Ops, //
};
use crate::{
    abstractions::{
        blk_mq::{
            self,
            Batch,
            HwTags,
            Lookup, //
        },
        irq::{
            InIrq,
            IrqNumber,
            IrqOwned, //
        },
    },
    hw::shadow_doorbell::Shadow,
    queue::{
        CqState,
        QueuePair, //
    },
    spec::{
        cmd::Completion,
        status::Status, //
    },
};

/// Who consumes an I/O queue's CQ, and so how its state is reached.
enum CqOwner {
    /// An interrupt-driven CQ belongs to its vector's handler, which reaps it without a
    /// lock (C: `nvme_irq`); the timeout and teardown paths disable the vector first (C:
    /// `nvme_poll_irqdisable`).
    Irq(Pin<KBox<IrqOwned<CqState>>>),
    /// A polled CQ is reaped by whoever polls, one at a time (C: `cq_poll_lock`); no
    /// interrupt touches it. Lock order: above the SQ lock (`reset` takes it inside).
    Polled(Pin<KBox<SpinLock<CqState>>>),
}

/// One I/O queue pair as a hardware queue of the tag set: the rings, the consumer of its
/// CQ and the tags its completions name.
pub(crate) struct IoQueue<C: IoController> {
    qp: Arc<QueuePair>,
    cq: CqOwner,
    /// A polled CQ's consumer position as last left under its lock
    /// ([`CqState::cursor_bits`]): pollers look there for a new entry before taking the
    /// lock (C: `nvme_cqe_pending` in `nvme_poll`). Written under the lock after every
    /// change of the position.
    polled_cursor: Atomic<u32>,
    pub(super) tags: HwTags<Ops<C>>,
}

impl<C: IoController> Deref for IoQueue<C> {
    type Target = QueuePair;

    fn deref(&self) -> &QueuePair {
        &self.qp
    }
}

impl<C: IoController> IoQueue<C> {
    /// An I/O queue over `qp`, not yet a hardware queue of a tag set.
    pub(crate) fn new(qp: Arc<QueuePair>) -> Result<Arc<Self>> {
        let state = qp.new_cq_state();
        let polled_cursor = Atomic::new(state.cursor_bits());
        let cq = if qp.polled {
            CqOwner::Polled(KBox::pin_init(
                kernel::new_spinlock!(state, "rust_nvme:cq_poll"),
                GFP_KERNEL,
            )?)
        } else {
            CqOwner::Irq(KBox::pin_init(IrqOwned::new(state), GFP_KERNEL)?)
        };
        Ok(Arc::new(
            Self {
                qp,
                cq,
                polled_cursor,
                tags: HwTags::new(),
            },
            GFP_KERNEL,
        )?)
    }

    /// Runs `f` on the CQ's consumer state from a context that may sleep (an
    /// interrupt-driven queue's vector is disabled meanwhile).
    fn with_cq<R>(&self, f: impl FnOnce(&mut CqState) -> R) -> Option<R> {
        match &self.cq {
            CqOwner::Irq(o) => o.with_disabled(f),
            CqOwner::Polled(l) => {
                let mut cq = l.lock();
                let r = f(&mut cq);
                // A reset moves the position back: pollers must look there.
                self.polled_cursor.store(cq.cursor_bits(), Relaxed);
                Some(r)
            }
        }
    }

    /// Hands an interrupt-driven CQ to the handler of `irq` (`None`: to none) before that
    /// handler is registered. Nothing for a polled queue. May sleep.
    pub(crate) fn bind_irq(&self, irq: Option<IrqNumber>) {
        if let CqOwner::Irq(o) = &self.cq {
            o.bind(irq);
        }
    }

    /// Returns the rings to their just-created state ([`QueuePair::reset`]). May sleep.
    pub(crate) fn reset(&self) -> Result {
        self.with_cq(|cq| self.qp.reset(cq)).unwrap_or(Err(EBUSY))
    }

    /// Starts (or stops) using shadow doorbells ([`QueuePair::set_shadows`]). May sleep.
    pub(crate) fn set_shadows(&self, sq: Option<Shadow>, cq: Option<Shadow>) {
        self.with_cq(|c| self.qp.set_shadows(c, sq, cq));
    }

    /// Completes the requests the queue's CQ names, from a context that may sleep (a
    /// timeout, the disable path); returns how many CQEs it reaped.
    pub(crate) fn reap(&self) -> u32 {
        // The successful completions end together once the CQ head is published (C:
        // `nvme_irq`'s `io_comp_batch`): `batch` drops after the reap.
        let mut batch = Batch::new();
        let n = self
            .with_cq(|cq| {
                // Inside: disabling the vector sleeps.
                let rcu = rcu::read_lock();
                self.qp.process_cq(cq, |cqe| {
                    complete_cqe(&self.tags, cqe, &rcu, &mut batch);
                })
            })
            .unwrap_or(0);
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// [`Self::reap`] from the handler of the queue's vector: no lock, nothing disabled.
    pub(crate) fn reap_irq(&self, irq: &InIrq) -> u32 {
        let CqOwner::Irq(o) = &self.cq else {
            return 0;
        };
        let mut batch = Batch::new();
        let rcu = rcu::read_lock();
        let n = o
            .with_handler(irq, |cq| {
                self.qp.process_cq(cq, |cqe| {
                    complete_cqe(&self.tags, cqe, &rcu, &mut batch);
                })
            })
            .unwrap_or(0);
        drop(rcu);
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Reaps a polled queue's CQ (blk-mq's `poll`, which may run under RCU), the requests
    /// that succeeded going into `batch`; nothing for an interrupt-driven queue.
    ///
    /// Inline up to the first look at the CQ: most polls find nothing, and then cost that
    /// look (C: `nvme_cqe_pending` in `nvme_poll`), without a call or the reaping's frame.
    #[inline]
    pub(super) fn reap_polled(&self, batch: &mut Batch<'_, Ops<C>>) -> u32 {
        let CqOwner::Polled(l) = &self.cq else {
            return 0;
        };
        // Look without the lock first.
        if !self.qp.cq_pending(self.polled_cursor.load(Relaxed)) {
            return 0;
        }
        self.reap_polled_locked(l, batch)
    }

    /// [`Self::reap_polled`] once the CQ has something.
    #[inline(never)]
    fn reap_polled_locked(&self, l: &SpinLock<CqState>, batch: &mut Batch<'_, Ops<C>>) -> u32 {
        let rcu = rcu::read_lock();
        let mut cq = l.lock();
        let n = self.qp.process_cq(&mut cq, |cqe| {
            complete_cqe(&self.tags, cqe, &rcu, batch);
        });
        self.polled_cursor.store(cq.cursor_bits(), Relaxed);
        drop(cq);
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

/// Completes the request a CQE names (C: `nvme_handle_cqe`). Returns `false` if the
/// command identifier names no request in flight.
#[inline]
fn complete_cqe<C: IoController>(
    tags: &HwTags<Ops<C>>,
    cqe: &Completion,
    rcu: &rcu::Guard,
    batch: &mut Batch<'_, Ops<C>>,
) -> bool {
    match tags.claim(cqe.cid, rcu) {
        Lookup::NotFound => false,
        // Fault injection (`io-timeout-fail`): the request times out, as with C.
        Lookup::Dropped => true,
        Lookup::Claimed(c) => {
            // C: `nvme_should_fail` in `nvme_try_complete_req`.
            let fault = c.queue_data().fault.as_ref();
            let status = fault
                .and_then(|f| f.inject(c.pdu().cmd.opcode()))
                .unwrap_or(cqe.status);
            c.pdu().status.store(u32::from(status), Relaxed);
            let result = u64::from(cqe.result) | (u64::from(cqe.dw1) << 32);
            c.pdu().result.store(result, Relaxed);
            // A Zone Append reports where it wrote, which its own completion passes on.
            let alone = Status::from_cqe(status).is_some() || c.op() == blk_mq::ReqOp::ZoneAppend;
            c.complete_in(batch, alone);
            true
        }
    }
}
