// SPDX-License-Identifier: GPL-2.0

//! The driver's blk-mq operations and the `blk_mq_ops` trampolines into them.
//!
//! C header: [`include/linux/blk-mq.h`](srctree/include/linux/blk-mq.h)

use core::{
    ffi::{
        c_int,
        c_uint,
        c_void, //
    },
    marker::PhantomData,
};

use kernel::{
    bindings,
    prelude::*, //
};

use super::{
    request::{
        Batch,
        Completing,
        Dispatch,
        HwTags,
        RequestData,
        RqList,
        TimedOut, //
    },
    tag_set::{
        QueueMaps,
        TagSetInner, //
    },
    BlkStatus,
};

/// What the timeout handler decided (C: `enum blk_eh_timer_return`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum TimeoutReturn {
    /// The driver completed the request or will (`BLK_EH_DONE`).
    Done,
    /// Give the request another timeout period (`BLK_EH_RESET_TIMER`).
    ResetTimer,
}

/// A blk-mq driver: the callbacks of its tag set and the types they share.
#[vtable]
pub(crate) trait Operations: Sized + 'static {
    /// Shared by every hardware queue of the tag set; lives as long as the tag set.
    type TagSetData: Send + Sync;
    /// One hardware queue's data, found in [`Self::TagSetData`].
    type HwData: Send + Sync;
    /// The driver's data of each request (C: the PDU). Created with `Default` when blk-mq
    /// allocates the request; changed through `&mut` only while the request is
    /// dispatched and not started, so what completions change needs interior mutability.
    type Pdu: Default + Send + Sync;
    /// The data of each request queue (a disk's; C: `queuedata`), owned by the disk.
    type QueueData: Send + Sync;

    /// The data and the tags slot of hardware queue `index` (C: `init_hctx`). The
    /// references must stay valid while the tag set lives: they are kept by blk-mq.
    fn hw_queue(set: &Self::TagSetData, index: u32) -> Option<(&Self::HwData, &HwTags<Self>)>;

    /// Sends a request to the device (C: `queue_rq`). With `last` false the driver may
    /// defer the doorbell until [`Self::commit_rqs`] or a later `last` request.
    fn queue_rq(hw: &Self::HwData, rq: Dispatch<'_, Self>, last: bool) -> BlkStatus;

    /// Sends the requests of a plugged batch, all of one request queue (C: `queue_rqs`);
    /// those handed back with [`RqList::retry`] or not taken go through
    /// [`Self::queue_rq`] one by one.
    fn queue_rqs(_list: &mut RqList<'_, Self>) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Rings the doorbell for requests queued with `last` false (C: `commit_rqs`).
    fn commit_rqs(_hw: &Self::HwData) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Ends or requeues a request whose completion the driver claimed (C: `complete`).
    fn complete(rq: Completing<'_, Self>);

    /// A request's timer expired (C: `timeout`); it may complete concurrently.
    fn timeout(_hw: &Self::HwData, _rq: TimedOut<'_, Self>) -> TimeoutReturn {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reaps completions of a polled queue into `batch` (blk-mq's, which its caller ends;
    /// `None`: end them one by one); returns how many (C: `poll`).
    fn poll(_hw: &Self::HwData, _batch: Option<&mut Batch<'_, Self>>) -> u32 {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Maps CPUs to hardware queues (C: `map_queues`).
    fn map_queues(_set: &Self::TagSetData, _maps: &mut QueueMaps<'_>) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The `blk_mq_ops` of a [`super::TagSet<T>`].
pub(super) struct OperationsVTable<T: Operations>(PhantomData<T>);

impl<T: Operations> OperationsVTable<T> {
    /// The hardware queue's data.
    ///
    /// # Safety
    ///
    /// `hctx` is a hardware context of a `TagSet<T>` initialised by `init_hctx`.
    unsafe fn hw<'a>(hctx: *mut bindings::blk_mq_hw_ctx) -> &'a T::HwData {
        // SAFETY: `init_hctx` set `driver_data` to a `T::HwData` that lives as long as the
        // tag set, which outlives its hardware contexts.
        unsafe { &*(*hctx).driver_data.cast::<T::HwData>() }
    }

    /// # Safety
    ///
    /// - `hctx` is a hardware context of a `TagSet<T>` initialised by `init_hctx`.
    /// - `bd` is valid for reads during the call; `(*bd).rq` is a request of `hctx` that
    ///   blk-mq hands to the driver, not started.
    unsafe extern "C" fn queue_rq(
        hctx: *mut bindings::blk_mq_hw_ctx,
        bd: *const bindings::blk_mq_queue_data,
    ) -> bindings::blk_status_t {
        // SAFETY: Per the function's safety requirements.
        let (hw, rq, last) = unsafe { (Self::hw(hctx), (*bd).rq, (*bd).last) };
        // SAFETY: Per the function's safety requirements `rq` is being dispatched.
        let rq = unsafe { Dispatch::new(rq) };
        T::queue_rq(hw, rq, last).raw()
    }

    /// # Safety
    ///
    /// `list` is a list of requests of a `TagSet<T>` that blk-mq hands to the driver for
    /// the call, not started, each of a hardware context initialised by `init_hctx`.
    unsafe extern "C" fn queue_rqs(list: *mut bindings::rq_list) {
        // SAFETY: Per the function's safety requirements.
        let mut list = unsafe { RqList::<T>::new(list) };
        T::queue_rqs(&mut list);
    }

    /// # Safety
    ///
    /// `hctx` is a hardware context of a `TagSet<T>` initialised by `init_hctx`.
    unsafe extern "C" fn commit_rqs(hctx: *mut bindings::blk_mq_hw_ctx) {
        // SAFETY: Per the function's safety requirements.
        T::commit_rqs(unsafe { Self::hw(hctx) });
    }

    /// # Safety
    ///
    /// `rq` is a request of a `TagSet<T>` whose completion the driver claimed and handed
    /// to `blk_mq_complete_request_remote`.
    unsafe extern "C" fn complete(rq: *mut bindings::request) {
        // SAFETY: Per the function's safety requirements.
        T::complete(unsafe { Completing::from_raw(rq) });
    }

    /// # Safety
    ///
    /// - `hctx` is a hardware context being initialised by blk-mq.
    /// - `data` is the tag set's `driver_data`, a `TagSetInner<T>`.
    unsafe extern "C" fn init_hctx(
        hctx: *mut bindings::blk_mq_hw_ctx,
        data: *mut c_void,
        hctx_idx: c_uint,
    ) -> c_int {
        // SAFETY: Per the function's safety requirements; the tag set's data outlives
        // its hardware contexts.
        let set = unsafe { &*data.cast::<TagSetInner<T>>() };
        let Some((hw, tags)) = T::hw_queue(&set.data, hctx_idx) else {
            return EINVAL.to_errno();
        };
        // SAFETY: The hardware context is blk-mq's to set up and ours to annotate; `hw`
        // and `tags` are borrowed from the tag set's data, which is neither moved nor
        // dropped until the tag set is freed (after its hardware contexts), so the
        // pointer stays valid for them. The tags are freed only after `TagSet` cleared the
        // slot (`HwTags` invariant).
        unsafe {
            (*hctx).driver_data = core::ptr::from_ref(hw).cast_mut().cast::<c_void>();
            tags.set((*hctx).tags);
        }
        0
    }

    /// # Safety
    ///
    /// `rq` is a started request of a `TagSet<T>` whose timer expired; blk-mq holds a
    /// reference on it during the call. Its hardware context was initialised.
    unsafe extern "C" fn timeout(rq: *mut bindings::request) -> bindings::blk_eh_timer_return {
        // SAFETY: Per the function's safety requirements.
        let (hw, rq) = unsafe { (Self::hw((*rq).mq_hctx), TimedOut::from_raw(rq)) };
        match T::timeout(hw, rq) {
            TimeoutReturn::Done => bindings::blk_eh_timer_return_BLK_EH_DONE,
            TimeoutReturn::ResetTimer => bindings::blk_eh_timer_return_BLK_EH_RESET_TIMER,
        }
    }

    /// # Safety
    ///
    /// - `hctx` is a polled hardware context of a `TagSet<T>` initialised by `init_hctx`.
    /// - `iob` is null or a live batch for the call that blk-mq's poll set up.
    unsafe extern "C" fn poll(
        hctx: *mut bindings::blk_mq_hw_ctx,
        iob: *mut bindings::io_comp_batch,
    ) -> c_int {
        // SAFETY: Per the function's safety requirements; `iob` is blk-mq's batch for
        // this poll (or null), which only this queue's completions join.
        let (hw, mut batch) = unsafe { (Self::hw(hctx), Batch::<T>::from_raw(iob)) };
        let n = T::poll(hw, batch.as_mut());
        c_int::try_from(n).unwrap_or(c_int::MAX)
    }

    /// # Safety
    ///
    /// `set` is a `TagSet<T>`'s tag set, being mapped by blk-mq (which serialises it).
    unsafe extern "C" fn map_queues(set: *mut bindings::blk_mq_tag_set) {
        // SAFETY: Per the function's safety requirements; `driver_data` is the
        // `TagSetInner<T>`.
        let (maps, inner) = unsafe {
            (
                QueueMaps::from_raw(set),
                &*(*set).driver_data.cast::<TagSetInner<T>>(),
            )
        };
        let mut maps = maps;
        T::map_queues(&inner.data, &mut maps);
    }

    /// # Safety
    ///
    /// `rq` is a request of a `TagSet<T>` just allocated; its driver data is
    /// `cmd_size = size_of::<RequestData<T>>()` bytes holding no value yet.
    unsafe extern "C" fn init_request(
        _set: *mut bindings::blk_mq_tag_set,
        rq: *mut bindings::request,
        _hctx_idx: c_uint,
        _numa_node: c_int,
    ) -> c_int {
        // SAFETY: Per the function's safety requirements; the driver data follows the
        // request (C: `blk_mq_rq_to_pdu`), aligned as `struct request` (8 bytes at least,
        // as `RequestData<T>` needs for `T::Pdu`s of plain integers).
        unsafe { RequestData::<T>::init(rq.add(1).cast()) };
        0
    }

    /// # Safety
    ///
    /// `rq` is a request of a `TagSet<T>` that blk-mq frees; `init_request` ran for it.
    unsafe extern "C" fn exit_request(
        _set: *mut bindings::blk_mq_tag_set,
        rq: *mut bindings::request,
        _hctx_idx: c_uint,
    ) {
        // SAFETY: Per the function's safety requirements; no request being freed is in
        // flight, so nothing is mapped.
        unsafe { RequestData::<T>::exit(rq.add(1).cast()) };
    }

    const VTABLE: bindings::blk_mq_ops = bindings::blk_mq_ops {
        queue_rq: Some(Self::queue_rq),
        queue_rqs: if T::HAS_QUEUE_RQS {
            Some(Self::queue_rqs)
        } else {
            None
        },
        commit_rqs: if T::HAS_COMMIT_RQS {
            Some(Self::commit_rqs)
        } else {
            None
        },
        complete: Some(Self::complete),
        init_hctx: Some(Self::init_hctx),
        init_request: Some(Self::init_request),
        exit_request: Some(Self::exit_request),
        timeout: if T::HAS_TIMEOUT {
            Some(Self::timeout)
        } else {
            None
        },
        poll: if T::HAS_POLL { Some(Self::poll) } else { None },
        map_queues: if T::HAS_MAP_QUEUES {
            Some(Self::map_queues)
        } else {
            None
        },
        // All-zero is a valid `blk_mq_ops` (every other callback optional).
        ..pin_init::zeroed()
    };

    /// The table, for `blk_mq_tag_set::ops`.
    pub(super) const fn build() -> &'static bindings::blk_mq_ops {
        &Self::VTABLE
    }
}
