// SPDX-License-Identifier: GPL-2.0

//! Requests the driver is handed to dispatch (C: `queue_rq`, `queue_rqs`'s list) and
//! the started ones whose completion the device now owns.

use core::{
    marker::PhantomData,
    ptr, //
};

use kernel::{bindings, sync::atomic::Release};

use super::{
    super::{
        BlkStatus,
        Operations, //
    },
    Request,
    RQF_DONTPREP, //
};
use crate::abstractions::bio::BioList;

/// The requests blk-mq hands to the driver together (C: `queue_rqs`'s `struct rq_list`):
/// each is taken with [`Self::pop`] and then started, or handed back with
/// [`Self::retry`]; blk-mq issues what is handed back (and what was not taken) one by one
/// through `queue_rq`.
///
/// # Invariants
///
/// `list` is blk-mq's list for one `queue_rqs` call: requests of a `TagSet<T>` to be
/// dispatched, not started, linked through `rq_next`; `back` links the requests handed
/// back. Both are reachable only through `self` during the call.
pub(crate) struct RqList<'a, T: Operations> {
    list: &'a mut bindings::rq_list,
    back: bindings::rq_list,
    _p: PhantomData<T>,
}

/// Appends `rq` to `l` (C: `rq_list_add_tail`).
///
/// # Safety
///
/// `rq` is a live request on no list; `l` links live requests.
unsafe fn rq_list_add_tail(l: &mut bindings::rq_list, rq: *mut bindings::request) {
    // SAFETY: Per the function's safety requirements.
    unsafe {
        (*rq).__bindgen_anon_1.rq_next = ptr::null_mut();
        if l.tail.is_null() {
            l.head = rq;
        } else {
            (*l.tail).__bindgen_anon_1.rq_next = rq;
        }
    }
    l.tail = rq;
}

impl<'a, T: Operations> RqList<'a, T> {
    /// # Safety
    ///
    /// `list` is the list blk-mq passed to `queue_rqs` of a `TagSet<T>`, valid for `'a`.
    pub(in crate::abstractions::blk_mq) unsafe fn new(list: *mut bindings::rq_list) -> Self {
        // INVARIANT: per the function's safety requirements; nothing handed back yet.
        Self {
            // SAFETY: Per the function's safety requirements.
            list: unsafe { &mut *list },
            back: bindings::rq_list {
                head: ptr::null_mut(),
                tail: ptr::null_mut(),
            },
            _p: PhantomData,
        }
    }

    /// The next request with the data of its hardware queue (C: `rq_list_pop`).
    pub(crate) fn pop(&mut self) -> Option<(&'a T::HwData, Dispatch<'a, T>)> {
        let rq = self.list.head;
        if rq.is_null() {
            return None;
        }
        // SAFETY: By the type invariant `rq` heads the list of requests to dispatch; it
        // leaves the list here. Its hardware context was initialised by `init_hctx`,
        // whose data lives as long as the tag set.
        unsafe {
            self.list.head = (*rq).__bindgen_anon_1.rq_next;
            if self.list.head.is_null() {
                self.list.tail = ptr::null_mut();
            }
            (*rq).__bindgen_anon_1.rq_next = ptr::null_mut();
            let hw = &*(*(*rq).mq_hctx).driver_data.cast::<T::HwData>();
            Some((hw, Dispatch::new(rq)))
        }
    }

    /// Hands a request back, unmapped, for blk-mq to issue through `queue_rq`.
    pub(crate) fn retry(&mut self, mut rq: Dispatch<'a, T>) {
        rq.unmap();
        // SAFETY: The request was taken off the list by `pop` and not started (type
        // invariant of `Dispatch`); it is on no list.
        unsafe { rq_list_add_tail(&mut self.back, rq.rq.as_raw()) };
    }
}

impl<T: Operations> Drop for RqList<'_, T> {
    fn drop(&mut self) {
        // What was handed back goes first, then what was not taken: blk-mq issues the
        // list again in that order.
        if self.back.head.is_null() {
            return;
        }
        if !self.list.head.is_null() {
            // SAFETY: `back.tail` is a request handed back (type invariant).
            unsafe { (*self.back.tail).__bindgen_anon_1.rq_next = self.list.head };
            self.back.tail = self.list.tail;
        }
        *self.list = bindings::rq_list {
            head: self.back.head,
            tail: self.back.tail,
        };
    }
}

/// A request being dispatched (`queue_rq`), not yet started: the driver's data is the
/// caller's to change, and so is the data mapping.
///
/// # Invariants
///
/// `rq` is being dispatched by blk-mq and has not been started.
pub(crate) struct Dispatch<'a, T: Operations> {
    pub(super) rq: &'a Request<T>,
}

impl<'a, T: Operations> Dispatch<'a, T> {
    /// # Safety
    ///
    /// `rq` is a request of a `TagSet<T>` handed to `queue_rq` (or taken off the list
    /// of `queue_rqs`), not started.
    pub(in crate::abstractions::blk_mq) unsafe fn new(rq: *mut bindings::request) -> Self {
        // INVARIANT: Per the function's safety requirements.
        // SAFETY: Per the function's safety requirements blk-mq handed the request to the
        // driver.
        Self {
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
    pub(crate) fn pdu(&mut self) -> &mut T::Pdu {
        // SAFETY: By the type invariant the request is not started: nothing else refers to
        // its PDU (see `RequestData`), and `&mut self` makes this reference unique.
        unsafe { &mut *self.rq.data().pdu.get() }
    }

    /// Whether this is the request's first dispatch since it was allocated (not a
    /// requeue); marks it prepared (C: `RQF_DONTPREP`).
    pub(crate) fn first_dispatch(&mut self) -> bool {
        let rq = self.rq.as_raw();
        // SAFETY: The request is the driver's while it dispatches it (type invariant);
        // `rq_flags` is the driver's to set then.
        unsafe {
            if (*rq).rq_flags & RQF_DONTPREP != 0 {
                return false;
            }
            (*rq).rq_flags |= RQF_DONTPREP;
        }
        true
    }

    /// Moves the request's bios to `list` and ends it without them (C: multipath
    /// failover's `blk_steal_bios`); bios that asked for polled completion no longer do.
    pub(crate) fn steal_bios(mut self, list: &mut BioList) {
        self.unmap();
        // SAFETY: The request is the driver's and not started (type invariant): its bios
        // move to the list, then it is started and ended without them (no bio completes).
        unsafe {
            list.steal(self.rq.as_raw());
            bindings::blk_mq_start_request(self.rq.as_raw());
            bindings::blk_mq_end_request(self.rq.as_raw(), BlkStatus::OK.raw());
        }
    }

    /// Starts the request (C: `blk_mq_start_request`); from here the device may complete
    /// it at any time.
    pub(crate) fn start(self) -> Started<'a, T> {
        // Release: the dispatcher's writes to the PDU and mapping happen before a claim.
        self.rq.data().in_flight.store(true, Release);
        // SAFETY: The request is being dispatched and not started (type invariant).
        unsafe { bindings::blk_mq_start_request(self.rq.as_raw()) };
        Started { rq: self.rq }
    }
}

/// A request the driver started: the device owns it now.
pub(crate) struct Started<'a, T: Operations> {
    rq: &'a Request<T>,
}

impl<T: Operations> Started<'_, T> {
    /// The driver's data of the request, as the dispatcher left it (fields that change
    /// once it is started are the driver's atomics).
    pub(crate) fn pdu(&self) -> &T::Pdu {
        self.rq.pdu()
    }

    /// The request never reached the device (its submission failed): releases its
    /// mapping; `queue_rq` then returns an error and blk-mq ends it.
    pub(crate) fn fail(self) {
        if self.rq.claim() {
            let set = self.rq.tag_set();
            // SAFETY: Claimed above: this context owns the mapping.
            unsafe { self.rq.map() }.unmap(set);
        }
    }

    /// The request never reached the device, and no `queue_rq` returns a status for it
    /// (it came from `queue_rqs`): releases its mapping and ends it with `status`. Nothing
    /// if another context (a cancel) claimed it first: that one ends it.
    pub(crate) fn end_unsent(self, status: BlkStatus) {
        if self.rq.claim() {
            let set = self.rq.tag_set();
            // SAFETY: Claimed above: this context owns the mapping and the started
            // request, which blk-mq lets its driver end.
            unsafe {
                self.rq.map().unmap(set);
                bindings::blk_mq_end_request(self.rq.as_raw(), status.raw());
            }
        }
    }
}
