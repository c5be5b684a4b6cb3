// SPDX-License-Identifier: GPL-2.0

//! Completing requests: looking up a tag named by the device, claiming its completion
//! (once), ending it alone or in a batch, and the timeout handler's view of it.

use core::{
    marker::PhantomData,
    ptr, //
};

use kernel::{
    bindings,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Release, //
        },
        rcu,
    },
};

use super::{
    super::{
        BlkStatus,
        Operations, //
    },
    ReqOp,
    Request, //
};

/// The tags of one hardware queue, for finding a request by tag from an interrupt
/// handler (C: `blk_mq_tag_to_rq` on `hctx->tags`). Set when blk-mq initialises the
/// hardware context; cleared before the tags are freed.
///
/// # Invariants
///
/// Holds null or the `struct blk_mq_tags` of a hardware queue of a live `TagSet<T>`;
/// it is cleared, followed by an RCU grace period, before those tags are freed.
pub(crate) struct HwTags<T: Operations> {
    tags: Atomic<usize>,
    _p: PhantomData<T>,
}

/// What a tag names, from the interrupt handler's side.
pub(crate) enum Lookup<'a, T: Operations> {
    /// No request in flight has this tag (a spurious or duplicate completion).
    NotFound,
    /// Fault injection dropped the completion: the request will time out.
    Dropped,
    /// The caller now owns the request's completion.
    Claimed(Claimed<'a, T>),
}

impl<T: Operations> HwTags<T> {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        Self {
            tags: Atomic::new(0),
            _p: PhantomData,
        }
    }

    pub(in crate::abstractions::blk_mq) fn set(&self, tags: *mut bindings::blk_mq_tags) {
        self.tags.store(tags as usize, Release);
    }

    pub(in crate::abstractions::blk_mq) fn clear(&self) {
        self.tags.store(0, Release);
    }

    /// Claims the completion of the request in flight with `tag`, under `_rcu` (which
    /// keeps the tags from being freed meanwhile).
    pub(crate) fn claim<'a>(&'a self, tag: u16, _rcu: &'a rcu::Guard) -> Lookup<'a, T> {
        let tags = self.tags.load(Acquire) as *mut bindings::blk_mq_tags;
        if tags.is_null() {
            return Lookup::NotFound;
        }
        // SAFETY: By the invariant `tags` are live tags of a `TagSet<T>` and stay so under
        // the RCU read lock held for `'a`; `rqs` has `nr_tags` entries.
        let rq = unsafe {
            if u32::from(tag) >= (*tags).nr_tags {
                return Lookup::NotFound;
            }
            ptr::read_volatile((*tags).rqs.add(usize::from(tag)))
        };
        if rq.is_null() {
            return Lookup::NotFound;
        }
        // SAFETY: A request of the tag set (the tags' requests are its static requests,
        // allocated until the tags are freed). It may not be the driver's right now: only
        // its state is read before the claim proves ownership.
        let rq = unsafe { Request::<T>::from_raw(rq) };
        if !rq.is_in_flight() {
            return Lookup::NotFound;
        }
        if rq.should_fake_timeout() {
            return Lookup::Dropped;
        }
        if !rq.claim() {
            return Lookup::NotFound;
        }
        Lookup::Claimed(Claimed { rq })
    }
}

/// A started request whose completion the holder owns (exactly one per start).
pub(crate) struct Claimed<'a, T: Operations> {
    rq: &'a Request<T>,
}

impl<'a, T: Operations> Claimed<'a, T> {
    pub(in crate::abstractions::blk_mq) fn new(rq: &'a Request<T>) -> Option<Self> {
        rq.claim().then_some(Self { rq })
    }

    /// The data of the request's queue (its disk outlives the request in flight).
    pub(crate) fn queue_data(&self) -> &'a T::QueueData {
        self.rq.queue_data()
    }

    /// The driver's data of the request.
    pub(crate) fn pdu(&self) -> &T::Pdu {
        self.rq.pdu()
    }

    /// What the request asks for.
    pub(crate) fn op(&self) -> ReqOp {
        self.rq.op()
    }

    /// Completes the request: `Operations::complete` runs on the submitting CPU or here
    /// (C: `blk_mq_complete_request_remote`, then the local completion).
    pub(crate) fn complete(self) {
        let rq = self.rq.as_raw();
        // SAFETY: The request is started and its completion claimed by this context.
        if !unsafe { bindings::blk_mq_complete_request_remote(rq) } {
            T::complete(Completing { rq: self.rq });
        }
    }
}

/// A request in the `complete` callback: the callee ends or requeues it.
///
/// # Invariants
///
/// `rq` is started and its completion was claimed, by a [`Claimed`] handed over here.
pub(crate) struct Completing<'a, T: Operations> {
    rq: &'a Request<T>,
}

impl<'a, T: Operations> Completing<'a, T> {
    /// # Safety
    ///
    /// `rq` is a request of a `TagSet<T>` whose completion was claimed and handed to
    /// blk-mq (`blk_mq_complete_request_remote`), which now calls `complete` for it.
    pub(in crate::abstractions::blk_mq) unsafe fn from_raw(rq: *mut bindings::request) -> Self {
        // INVARIANT: Per the function's safety requirements.
        Self {
            // SAFETY: Per the function's safety requirements.
            rq: unsafe { Request::from_raw(rq) },
        }
    }

    /// The request, while this handle owns it.
    pub(crate) fn rq(&self) -> &Request<T> {
        self.rq
    }

    /// The tag set's data (it outlives the callback this handle lives in).
    pub(crate) fn tag_set_data(&self) -> &'a T::TagSetData {
        self.rq.tag_set_data()
    }

    /// The data of the request's queue (its disk lives while the callback runs).
    pub(crate) fn queue_data(&self) -> &'a T::QueueData {
        self.rq.queue_data()
    }

    /// The driver's data of the request.
    pub(crate) fn pdu(&self) -> &T::Pdu {
        self.rq.pdu()
    }

    fn unmap(&self) {
        let set = self.rq.tag_set();
        // SAFETY: The completion was claimed (type invariant): this context owns the
        // mapping.
        unsafe { self.rq.map() }.unmap(set);
    }

    /// Records where the data of a zone append landed, before the request ends (C:
    /// `req->__sector = ...` in `nvme_end_req_zoned`): the block layer hands it to the
    /// submitter as the bio's sector.
    pub(crate) fn set_sector(&mut self, sector: u64) {
        // SAFETY: The completion was claimed (type invariant): this context owns the
        // request until it ends it, and nothing else reads `__sector` meanwhile.
        unsafe { (*self.rq.as_raw()).__sector = sector };
    }

    /// Releases the data mapping and ends the request with `status` (C:
    /// `blk_mq_end_request`).
    pub(crate) fn end(self, status: BlkStatus) {
        self.unmap();
        // SAFETY: The driver owns the request and ends it exactly once (consumes `self`).
        unsafe { bindings::blk_mq_end_request(self.rq.as_raw(), status.raw()) };
    }

    /// Releases the data mapping and gives the request back to blk-mq to dispatch again
    /// (C: `blk_mq_requeue_request(rq, true)`: the requeue list is kicked).
    pub(crate) fn requeue(self) {
        self.unmap();
        // SAFETY: As in `end`.
        unsafe { bindings::blk_mq_requeue_request(self.rq.as_raw(), true) };
    }
}

/// A request whose timer expired (the `timeout` callback); blk-mq holds a reference on it
/// meanwhile. It may complete concurrently.
pub(crate) struct TimedOut<'a, T: Operations> {
    rq: &'a Request<T>,
}

impl<'a, T: Operations> TimedOut<'a, T> {
    /// # Safety
    ///
    /// `rq` is a request of a `TagSet<T>` handed to the `timeout` callback.
    pub(in crate::abstractions::blk_mq) unsafe fn from_raw(rq: *mut bindings::request) -> Self {
        Self {
            // SAFETY: Per the function's safety requirements; blk-mq keeps the request
            // allocated and its fields stable while the handler runs.
            rq: unsafe { Request::from_raw(rq) },
        }
    }

    /// The request.
    pub(crate) fn rq(&self) -> &'a Request<T> {
        self.rq
    }

    /// The driver's data of the request.
    pub(crate) fn pdu(&self) -> &'a T::Pdu {
        self.rq.pdu()
    }
}

/// `RQF_SCHED_TAGS`: the request has scheduler data (never batched).
const RQF_SCHED_TAGS: bindings::req_flags_t = 1 << bindings::rqf_flags___RQF_SCHED_TAGS;
/// What makes blk-mq take a completion timestamp (C: `blk_mq_need_time_stamp`).
const RQF_NEED_TIMESTAMP: bindings::req_flags_t = (1 << bindings::rqf_flags___RQF_IO_STAT)
    | (1 << bindings::rqf_flags___RQF_STATS)
    | (1 << bindings::rqf_flags___RQF_USE_SCHED);

/// Completions gathered to be ended together (C: `struct io_comp_batch`): one timestamp
/// and one pass over the tags for all of them, with `blk_mq_end_request_batch`.
///
/// Either the driver's own ([`Batch::new`], ended on drop, as C's `nvme_irq` ends its
/// `DEFINE_IO_COMP_BATCH`), or the one blk-mq passes to `poll`, which its caller ends.
///
/// # Invariants
///
/// The batch (`Own`, or `*External`, live for `'a`) holds on its list only requests of a
/// `TagSet<T>` whose completion was claimed, and its `complete` is null or
/// `complete_batch::<T>`. (Its list points to the requests only, so `Own` may move.)
pub(crate) struct Batch<'a, T: Operations> {
    iob: Iob,
    _p: PhantomData<(&'a mut bindings::io_comp_batch, T)>,
}

/// Where a [`Batch`] lives. blk-mq's is only pointed to: a poll that finds nothing costs
/// no clearing of a batch of the driver's own.
enum Iob {
    /// The driver's own, ended when the [`Batch`] drops.
    Own(bindings::io_comp_batch),
    /// blk-mq's, ended by its caller.
    External(*mut bindings::io_comp_batch),
}

impl<T: Operations> Batch<'_, T> {
    /// The driver's own batch, on the stack of the reaping context, ended when it drops.
    pub(crate) fn new() -> Batch<'static, T> {
        // INVARIANT: empty.
        Batch {
            // All-zero is an empty batch (C: `DEFINE_IO_COMP_BATCH`).
            iob: Iob::Own(pin_init::zeroed()),
            _p: PhantomData,
        }
    }

    fn iob(&mut self) -> *mut bindings::io_comp_batch {
        match &mut self.iob {
            Iob::Own(b) => b,
            Iob::External(p) => *p,
        }
    }

    /// The batch blk-mq hands to `poll` (null: none).
    ///
    /// # Safety
    ///
    /// `iob` is null or a live batch for `'a` that only this tag set's completions join
    /// (blk-mq's poll of one queue).
    pub(in crate::abstractions::blk_mq) unsafe fn from_raw<'a>(
        iob: *mut bindings::io_comp_batch,
    ) -> Option<Batch<'a, T>> {
        if iob.is_null() {
            return None;
        }
        // INVARIANT: Per the function's safety requirements.
        Some(Batch {
            iob: Iob::External(iob),
            _p: PhantomData,
        })
    }

    /// Adds a claimed completion that ends without error; false (nothing done) when the
    /// request cannot be batched (C: `blk_mq_add_to_batch`).
    fn add(&mut self, rq: &Request<T>) -> bool {
        let iob = self.iob();
        let r = rq.as_raw();
        // SAFETY: The request's completion was claimed by the caller, so the driver owns
        // it; the batch is live (type invariant).
        unsafe {
            if (*r).rq_flags & RQF_SCHED_TAGS != 0 || (*r).end_io.is_some() {
                return false;
            }
            let iob = &mut *iob;
            match iob.complete {
                None => iob.complete = Some(complete_batch::<T>),
                // Ours (the same function's address; another driver's batch is refused).
                Some(f)
                    if core::ptr::fn_addr_eq(f, complete_batch::<T> as unsafe extern "C" fn(_)) => {
                }
                Some(_) => return false,
            }
            iob.need_ts |= (*r).rq_flags & RQF_NEED_TIMESTAMP != 0;
            // C: `rq_list_add_tail`.
            (*r).__bindgen_anon_1.rq_next = ptr::null_mut();
            if iob.req_list.tail.is_null() {
                iob.req_list.head = r;
            } else {
                (*iob.req_list.tail).__bindgen_anon_1.rq_next = r;
            }
            iob.req_list.tail = r;
        }
        // INVARIANT: a claimed request of a `TagSet<T>`, `complete` ours.
        true
    }
}

impl<T: Operations> Drop for Batch<'_, T> {
    fn drop(&mut self) {
        if let Iob::Own(b) = &mut self.iob {
            if !b.req_list.head.is_null() {
                // SAFETY: The driver's own batch (type invariant), ended here, once.
                unsafe { complete_batch::<T>(b) };
            }
        }
    }
}

/// Ends a batch of claimed completions: releases each request's data mapping, then ends
/// them together (C: `nvme_pci_complete_batch`, `nvme_complete_batch`).
///
/// # Safety
///
/// `iob` is a live batch that satisfies the invariants of [`Batch`] for `T`.
unsafe extern "C" fn complete_batch<T: Operations>(iob: *mut bindings::io_comp_batch) {
    // SAFETY: Per the function's safety requirements every request on the list is a
    // claimed request of a `TagSet<T>`: this context owns its mapping until it is ended.
    unsafe {
        let mut r = (*iob).req_list.head;
        while !r.is_null() {
            let rq = Request::<T>::from_raw(r);
            let set = rq.tag_set();
            rq.map().unmap(set);
            r = (*r).__bindgen_anon_1.rq_next;
        }
        bindings::blk_mq_end_request_batch(iob);
    }
}

impl<'a, T: Operations> Claimed<'a, T> {
    /// Completes a request that ended without error in `batch` when it can go there,
    /// else as [`Claimed::complete`] does (C: `blk_mq_add_to_batch`, else
    /// `nvme_pci_complete_rq`). Requests that ended with an error, and driver-private
    /// ones, always go through `Operations::complete`.
    pub(crate) fn complete_in(self, batch: &mut Batch<'_, T>, is_error: bool) {
        if is_error || self.rq.op().is_drv() || !batch.add(self.rq) {
            self.complete();
        }
    }
}
